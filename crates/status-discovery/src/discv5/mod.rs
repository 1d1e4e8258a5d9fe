//! Node Discovery Protocol v5 (wire protocol v5.1), sans-IO.
//!
//! Layers, bottom up, one file per concept: [`packet`] (masking, headers,
//! authdata), [`crypto`] (ECDH, HKDF session keys, id-signature, AES-GCM),
//! [`message`] (PING/PONG, FINDNODE/NODES, TALKREQ/TALKRESP), [`distance`].
//!
//! Scope: status-go of 2020 used go-ethereum's older experimental discv5
//! draft; this is the final v5.1 wire, which today's networks speak.

pub mod crypto;
pub mod distance;
mod error;
mod kbucket;
mod lookup;
pub mod message;
mod node;
pub mod packet;
mod session;

pub use error::Error;
pub use lookup::{LookupId, LookupStats};
pub use message::RequestId;
pub use node::{Config, Discv5, Event, Stats, Transmit};
