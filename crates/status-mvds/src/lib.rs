//! 2/MVDS (minimum viable data synchronization) as a sans-IO state machine.
//!
//! An [`Mvds`] node keeps, per peer and message, the records of 2/MVDS
//! "State" (OFFER, REQUEST, MESSAGE with `Send Count` and `Send Epoch`)
//! in a [`StateStore`], sends at most one [`Payload`] per peer per epoch
//! with acks, offers, requests and messages piggy-backed together, and
//! retransmits on the epoch-based exponential [`Backoff`]. Both modes of
//! 2/MVDS "Flow" are supported: [`Mode::Batch`] (MESSAGE -> ACK, what
//! status-go uses) and [`Mode::Interactive`] (OFFER -> REQUEST -> MESSAGE
//! -> ACK). Wire bytes and [`MessageId`]s match vacp2p/mvds as vendored in
//! status-go v0.55.1.
//!
//! The node does no I/O and reads no clock: time comes in as
//! [`Timestamp`](status_core::Timestamp) arguments. The run loop:
//!
//! ```
//! use status_core::Timestamp;
//! use status_mvds::{decode_payload, encode_payload, Config, GroupId, Mode, Mvds, Output};
//!
//! let t0 = Timestamp::from_secs(1_600_000_000);
//! let config = Config { mode: Mode::Interactive, ..Config::default() };
//! let mut alice: Mvds<&str> = Mvds::new(config.clone(), t0);
//! let mut bob: Mvds<&str> = Mvds::new(config, t0);
//! let id = alice.send(t0, GroupId([7; 32]), &["bob"], b"hi".to_vec())?;
//!
//! let (mut now, mut got, mut acked) = (t0, None, false);
//! let mut wire = Vec::new();
//! // Sleep until the earliest timeout (a driver would), until both are idle.
//! while let Some((next, _why)) = [alice.poll_timeout(), bob.poll_timeout()]
//!     .into_iter().flatten().min()
//! {
//!     now = next;
//!     alice.handle_timeout(now);
//!     bob.handle_timeout(now);
//!     // Drain both until quiet; transmits go through bytes, as over a transport.
//!     let mut busy = true;
//!     while busy {
//!         busy = false;
//!         while let Some(out) = alice.poll_output() {
//!             busy = true;
//!             match out {
//!                 Output::Transmit { payload, .. } => {
//!                     wire.clear();
//!                     encode_payload(&payload, &mut wire);
//!                     bob.handle_payload(now, &"alice", decode_payload(&wire, 1000)?)?;
//!                 }
//!                 Output::Delivered { id: acked_id, .. } => acked = acked_id == id,
//!                 Output::Received { .. } => unreachable!(),
//!             }
//!         }
//!         while let Some(out) = bob.poll_output() {
//!             busy = true;
//!             match out {
//!                 Output::Transmit { payload, .. } => alice.handle_payload(now, &"bob", payload)?,
//!                 Output::Received { message, .. } => got = Some(message.body),
//!                 Output::Delivered { .. } => {}
//!             }
//!         }
//!     }
//! }
//! assert!(acked);
//! assert_eq!(got.as_deref(), Some(&b"hi"[..]));
//! // offer, request, message, ack: one epoch (300 ms) each.
//! assert_eq!(alice.epoch_at(now) - alice.epoch_at(t0), 4);
//! assert_eq!(alice.in_flight() + bob.in_flight(), 0);
//! # Ok::<(), status_mvds::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backoff;
mod error;
mod message_id;
mod node;
mod payload;
mod store;

pub use backoff::Backoff;
pub use error::Error;
pub use message_id::{GroupId, MessageId};
pub use node::{Config, Mode, Mvds, Output, Stats};
pub use payload::{decode_payload, encode_payload, record_count, validate_payload};
pub use status_proto::mvds::{Message, Payload};
pub use store::{MemoryStore, Peer, Record, RecordType, StateStore};
