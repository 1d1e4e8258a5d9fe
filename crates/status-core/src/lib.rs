//! Shared primitives of status-rs.
//!
//! Everything here is used by more than one layer: the workspace-wide
//! [`Timestamp`], secp256k1 key forms ([`SecretKey`], [`PublicKey`],
//! [`NodeId`]), [`keccak256`], 65-byte recoverable signatures and the
//! devp2p/Whisper flavour of [`ecies`].
//!
//! ```
//! use status_core::{keccak256, SecretKey};
//!
//! let key = SecretKey::from_bytes(&[7u8; 32]).unwrap();
//! let digest = keccak256(b"status");
//! let sig = key.sign_recoverable(&digest);
//! assert_eq!(sig.recover(&digest).unwrap(), key.public_key());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ecies;
pub mod enode;
mod error;
mod hash;
mod keys;
mod time;

pub use enode::Enode;
pub use error::KeyError;
pub use hash::{keccak256, Digest, Keccak256};
pub use keys::{ecdh_x, NodeId, PublicKey, RecoverableSignature, SecretKey};
pub use time::Timestamp;
