//! Sans-IO node discovery for Status (1/CLIENT, "Discovery").
//!
//! A Status client MUST find peers through static nodes or a discovery
//! method. This crate holds the pieces, each a pure state machine or codec
//! that never touches a socket or a clock:
//!
//! - [`enr`]: Ethereum Node Records (EIP-778), the "v4" identity scheme.
//! - [`dnsdisc`]: EIP-1459 DNS node lists: tree builder and resolver.
//! - [`peerpool`]: the PeerPool that keeps 2-3 relay peers and a mailserver
//!   and starts or suspends discovery.
//! - [`rendezvous`]: Status rendezvous (`/rend/0.1.0`) codecs and client.
//!
//! ```
//! use status_discovery::enr::Enr;
//!
//! let text = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8";
//! let enr: Enr = text.parse()?;
//! assert_eq!(enr.udp(), Some(30303));
//! # Ok::<(), status_discovery::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod discv5;
pub mod dnsdisc;
pub mod enr;
mod error;
pub mod peerpool;
pub mod rendezvous;
mod rlp_strict;

pub use enr::{Enr, EnrBuilder, NodeId};
pub use error::Error;
