//! Node Discovery Protocol v5 (wire protocol v5.1), sans-IO.
//!
//! [`Discv5`] is one node as a pure state machine: datagrams in with the
//! time and their source address ([`Discv5::handle_input`]), datagrams out
//! ([`Discv5::poll_transmit`]), events ([`Discv5::poll_event`]) and a
//! wake-up time with its reason ([`Discv5::poll_timeout`],
//! [`Discv5::handle_timeout`]). It keeps sessions per (node id, endpoint),
//! answers PING/FINDNODE/TALKREQ, runs handshakes (WHOAREYOU, id-signature,
//! ECDH + HKDF), times requests out, keeps a Kademlia table with
//! replacement caches and liveness checks, fetches newer records when a
//! PING/PONG announces a higher seq, and runs iterative lookups (α = 3).
//!
//! Layers, one file per concept: [`packet`] (masking, header, authdata),
//! [`crypto`] (ECDH, session keys, id-signature, AES-GCM), [`message`]
//! (PING/PONG, FINDNODE/NODES, TALKREQ/TALKRESP), [`distance`], the table
//! (`kbucket`), `lookup`, `session`, [`topic`] (Status topics as an ENR
//! key) and the machine (`node`).
//!
//! Scope: status-go of 2020 used go-ethereum's older experimental discv5
//! draft; this is the final v5.1 wire, which today's networks speak.
//! Topic messages (REGTOPIC..TOPICNODES) are not implemented.
//!
//! The run loop, here with two nodes joined by an in-memory "network":
//!
//! ```
//! use std::net::SocketAddr;
//! use status_core::{SecretKey, Timestamp};
//! use status_discovery::discv5::{Config, Discv5, Event};
//! use status_discovery::Enr;
//!
//! let now = Timestamp::from_secs(1_700_000_000);
//! let mk = |b: u8| {
//!     let key = SecretKey::from_bytes(&[b; 32]).unwrap();
//!     let addr = SocketAddr::from(([127, 0, 0, 1], 30300 + u16::from(b)));
//!     let enr = Enr::builder().ip(addr.ip()).udp(addr.port()).sign(&key).unwrap();
//!     (Discv5::new(key, enr, Config::default(), [b; 32], now).unwrap(), addr)
//! };
//! let (mut a, a_addr) = mk(1);
//! let (mut b, b_addr) = mk(2);
//! let b_enr = b.local_enr().clone();
//! let ping = a.ping(now, &b_enr)?;
//! // Drain transmits after every call; a driver would use a UDP socket.
//! loop {
//!     let mut moved = false;
//!     while let Some(t) = a.poll_transmit() {
//!         b.handle_input(now, a_addr, &t.datagram)?;
//!         moved = true;
//!     }
//!     while let Some(t) = b.poll_transmit() {
//!         a.handle_input(now, b_addr, &t.datagram)?;
//!         moved = true;
//!     }
//!     if !moved {
//!         break;
//!     }
//! }
//! let pong = std::iter::from_fn(|| a.poll_event())
//!     .find_map(|e| match e {
//!         Event::Pong { request_id, ip, .. } if request_id == ping => Some(ip),
//!         _ => None,
//!     });
//! assert_eq!(pong, Some(a_addr.ip()));
//! // Then sleep until a.poll_timeout() and call a.handle_timeout(now).
//! # Ok::<(), status_discovery::discv5::Error>(())
//! ```

pub mod crypto;
pub mod distance;
mod error;
mod kbucket;
mod lookup;
pub mod message;
mod node;
pub mod packet;
mod session;
pub mod topic;

pub use error::Error;
pub use lookup::{LookupId, LookupStats};
pub use message::RequestId;
pub use node::{Config, Discv5, Event, Stats, Transmit};
