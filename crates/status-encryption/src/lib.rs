//! status-encryption: 5/SECURE-TRANSPORT (X3DH, Double Ratchet, prekey
//! bundles, multi-device) byte-compatible with status-go v0.55.1, as a
//! sans-IO state machine.
//!
//! One [`Encryptor`] is one installation of one identity. It never reads a
//! clock or the OS RNG: every call that needs them takes `now`
//! ([`Timestamp`](status_core::Timestamp)) and a `rand_core` RNG. State
//! lives in a [`SessionStore`] ([`MemoryStore`] here, which
//! [`snapshot`](MemoryStore::snapshot)s and [`restore`](MemoryStore::restore)s).
//!
//! - [`Encryptor::encrypt`] builds a `ProtocolMessage` for every active
//!   installation of the recipient (X3DH from their bundle, then the Double
//!   Ratchet), or DH-only when no bundle is known; our bundle rides along.
//! - [`Encryptor::decrypt`] processes bundles, then the direct message for
//!   this installation. Afterwards drain [`Encryptor::poll_event`]: new
//!   installations, and requests to send our bundle back
//!   ([`Encryptor::bundle_advertisement`]) when a message did not decrypt.
//! - [`Encryptor::shared_secret`] / [`Encryptor::secret_agreed`] give
//!   status-waku the negotiated-topic input.
//!
//! Where the spec and status-go disagree, status-go's bytes win; each place
//! is documented where it is implemented (secp256k1 DH in the ratchet,
//! Keccak-256 X3DH combiner, the bundle signature's timestamp suffix, the
//! KDF info strings, nanosecond bundle timestamps) and listed in README.md.
//!
//! ```
//! use rand_chacha::rand_core::SeedableRng;
//! use status_core::{SecretKey, Timestamp};
//! use status_encryption::{Config, Encryptor, MemoryStore, PayloadKind};
//!
//! let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
//! let now = Timestamp::from_secs(1_700_000_000);
//! let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
//! let (a_pub, b_pub) = (a.public_key(), b.public_key());
//! let mut alice = Encryptor::new(Config::default(), a, "alice-phone".into(), MemoryStore::new());
//! let mut bob = Encryptor::new(Config::default(), b, "bob-laptop".into(), MemoryStore::new());
//!
//! // Bob's bundle reaches Alice (any of his messages carries it).
//! let contact = bob.encrypt_public(now, &mut rng, b"")?;
//! let _ = alice.decrypt(now, &mut rng, &b_pub, &contact); // no payload: an error, bundle kept
//! while let Some(event) = alice.poll_event() { /* NewInstallations { .. } */ let _ = event; }
//!
//! // X3DH + Double Ratchet, one entry per Bob installation.
//! let msg = alice.encrypt(now, &mut rng, &b_pub, b"hello bob")?;
//! assert!(msg.direct_message.contains_key("bob-laptop"));
//! let got = bob.decrypt(now, &mut rng, &a_pub, &msg)?;
//! assert_eq!((got.payload.as_slice(), got.kind), (&b"hello bob"[..], PayloadKind::Ratchet));
//!
//! // State survives a restart mid-conversation.
//! let saved = bob.store().snapshot();
//! let store = MemoryStore::restore(&saved)?;
//! assert_eq!(store.session_count(), 1);
//! # Ok::<(), status_encryption::Error>(())
//! ```
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
pub use installation::{Installation, InstallationMetadata};
pub use keypair::generate_secret;
pub use ratchet::{DoubleRatchet, Header};
pub use store::{KeyBytes, MemoryStore, OurPreKey, Session, SessionId, SessionStore, TheirPreKey};
