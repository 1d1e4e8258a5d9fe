//! Sans-IO Waku v1 (6/WAKU1) and Whisper v6 (EIP-627) for Status: envelopes
//! and proof of work, the Whisper v6 message payload (symmetric and
//! asymmetric, signed), the 10/WAKU-USAGE topic and key derivations, the
//! 11/WAKU-MAILSERVER client wire, and the relay machine ([`node`]; its docs
//! show the run loop).
//!
//! Posting to a public chat and reading it back, byte-compatible with
//! status-go v0.55.1:
//!
//! ```
//! use rand_chacha::rand_core::SeedableRng;
//! use status_core::Timestamp;
//! use status_waku::topic::symmetric_key_from_password;
//! use status_waku::{wrap, Encryption, Envelope, MessageParams, OpenKey, Topic};
//!
//! let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
//! let topic = Topic::from_name("status");
//! let key = symmetric_key_from_password("status");
//! let mut params = MessageParams::new(b"hello", Encryption::Symmetric(&key), topic);
//! params.pow_target = 0.002;
//! params.max_pow_attempts = 1 << 20;
//! let envelope = wrap(&mut rng, &params, Timestamp::from_secs(1_600_000_000))?;
//!
//! // On the wire and back.
//! let bytes = envelope.to_vec();
//! let received = Envelope::decode(&bytes, status_waku::envelope::DEFAULT_MAX_ENVELOPE_SIZE)?;
//! assert!(received.pow() >= 0.002);
//! let message = received.open(&[OpenKey::Symmetric(&key)])?;
//! assert_eq!(message.payload(), b"hello");
//! # Ok::<(), status_waku::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub use error::{EnvelopeRejection, Error};

mod rlp_strict;

pub mod bloom;
pub mod envelope;
pub mod mailserver;
pub mod message;
pub mod pow;
pub mod topic;
// waku-b: wire packets and the machine
pub mod packet;
pub mod status;
pub use packet::{Packet, ShhPacket};
pub use status::{RateLimits, StatusOptions};
pub mod config;
mod expiry;
pub mod filter;
pub mod node;
pub mod peer;
mod rate_limit;
mod tolerance;
pub use config::{Interest, WakuConfig};
pub use node::Waku;

pub use bloom::Bloom;
pub use envelope::Envelope;
pub use mailserver::{MessagesRequest, RequestComplete};
pub use message::{open, wrap, Encryption, MessageParams, OpenKey, ReceivedMessage};
pub use pow::{PowSearch, SealOutcome};
pub use topic::Topic;
