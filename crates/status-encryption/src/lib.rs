//! status-encryption: 5/SECURE-TRANSPORT (X3DH, Double Ratchet, bundles,
//! multi-device) as status-go v0.55.1 puts it on the wire.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod aead;
pub mod bundle;
mod dh;
mod encryptor;
mod error;
mod installation;
mod kdf;
mod keypair;
mod ratchet;
mod snapshot;
mod store;
pub mod x3dh;

pub use dh::{dh_decrypt, dh_encrypt};
pub use encryptor::{
    Config, DecryptedPayload, Encryptor, Event, PayloadKind, NO_INSTALLATION_ID, PROTOCOL_VERSION,
};
pub use error::Error;
pub use keypair::generate_secret;
pub use installation::{Installation, InstallationMetadata};
pub use ratchet::{DoubleRatchet, Header};
pub use store::{KeyBytes, MemoryStore, OurPreKey, Session, SessionId, SessionStore, TheirPreKey};
