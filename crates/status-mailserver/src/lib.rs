//! The Status mailserver role (11/WAKU-MAILSERVER, status-go v0.55.1
//! `mailserver/`): an archive of every envelope the node sees, and the
//! answers to history requests, byte for byte as status-go gives them.
//!
//! - [`Archive`] is where envelopes are kept: [`SqliteArchive`] (embedded,
//!   the default), [`PostgresArchive`] (fleets), [`MemoryArchive`] (tests).
//!   Only the store touches a disk or a database.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod archive;
mod error;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

pub use archive::{Archive, ArchivedEnvelope, DbKey, Order, Query, Selector, DB_KEY_SIZE};
pub use error::Error;
pub use memory::MemoryArchive;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresArchive, PostgresConfig};
pub use sqlite::{SqliteArchive, SqliteConfig, Synchronous};
