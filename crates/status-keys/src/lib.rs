//! Status accounts and keys (2/ACCOUNT): everything a Status identity is
//! derived from, as a pure library (no I/O; randomness is injected).
//!
//! - [`Mnemonic`]: BIP39 words <-> entropy, words + passphrase -> [`Seed`].
//! - [`ExtendedPrivateKey`] / [`ExtendedPublicKey`] / [`DerivationPath`]:
//!   BIP32 derivation and `xprv`/`xpub`.
//! - [`Account`]: the chat identity key at `m/43'/60'/1581'/0'/0`
//!   (EIP-1581) and wallet keys at `m/44'/60'/0'/0/i` (BIP44) with their
//!   [`Address`]es.
//! - [`encode_public_key`] / [`decode_public_key`] and status-go's
//!   [`serialize_public_key`] / [`deserialize_public_key`]: multicodec +
//!   [`Multibase`] public keys (`zQ3sh...`).
//! - [`alias`] and [`Identicon`]: the 3-word name and identicon, bit-exact
//!   with status-go.
//!
//! ```
//! use rand_core::SeedableRng;
//! use status_keys::{Account, Mnemonic, WordCount};
//!
//! // An injected RNG (drivers seed it from the OS).
//! let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
//! let mnemonic = Mnemonic::generate(&mut rng, WordCount::Words12);
//! let account = Account::from_mnemonic(mnemonic.phrase(), "").unwrap();
//! let chat = account.chat_key_base58(); // "zQ3sh..."
//! assert!(chat.starts_with("zQ3sh"));
//! assert_eq!(status_keys::decode_public_key(&chat).unwrap(), account.chat_public_key());
//! let name = account.name(); // "Adjective Adjective Animal"
//! assert_eq!(name.split(' ').count(), 3);
//! let address = account.wallet_address(0).unwrap(); // "0x..." (EIP-55)
//! assert_eq!(address.to_string().len(), 42);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod account;
mod address;
pub mod alias;
mod error;
mod extended_key;
mod identicon;
mod mnemonic;
mod path;
mod serialization;

pub use account::{Account, CHAT_KEY_PATH, WALLET_ROOT_PATH};
pub use address::Address;
pub use error::Error;
pub use extended_key::{ExtendedPrivateKey, ExtendedPublicKey, XPRV_VERSION, XPUB_VERSION};
pub use identicon::Identicon;
pub use mnemonic::{Mnemonic, Seed, WordCount};
pub use path::{ChildNumber, DerivationPath, HARDENED, MAX_DEPTH};
pub use serialization::{
    decode_public_key, deserialize_public_key, encode_public_key, serialize_public_key, KeyForm,
    Multibase, SECP256K1_PUB_CODE,
};
