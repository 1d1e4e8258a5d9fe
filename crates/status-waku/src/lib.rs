//! status-waku (under construction).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub use error::Error;

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
pub mod filter;
pub mod node;
pub mod peer;
mod rate_limit;
pub use config::{Interest, WakuConfig};
pub use node::Waku;
pub use bloom::Bloom;
pub use envelope::Envelope;
pub use mailserver::{MessagesRequest, RequestComplete};
pub use message::{open, wrap, Encryption, MessageParams, OpenKey, ReceivedMessage};
pub use pow::{PowSearch, SealOutcome};
pub use topic::Topic;
