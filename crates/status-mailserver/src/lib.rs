//! The Status mailserver role (11/WAKU-MAILSERVER, status-go v0.55.1
//! `mailserver/`): an archive of every envelope the node sees, and the
//! answers to history requests, byte for byte as status-go gives them.
//!
//! - [`Archive`] is where envelopes are kept: [`SqliteArchive`] (embedded,
//!   the default), [`PostgresArchive`] (fleets), [`MemoryArchive`] (tests).
//!   Only the store touches a disk or a database.
//! - [`Mailserver`] is the protocol logic, sans IO: a P2P Request becomes
//!   a [`Query`] or a refusal, a query's rows become P2P Messages and a
//!   Request Complete, a timer becomes a cleaner run.
//! - [`MailserverRole`] runs both beside a `status_node::Node` built with
//!   `ConfigBuilder::mailserver()`: it archives the node's
//!   `Event::Archive`s in batches and answers its
//!   `Event::MailserverRequest`s.
//!
//! Where this crate and status-go v0.55.1 part ways, on purpose:
//! - a request with a topic list and no bloom (status-go's newer direct
//!   request) is served by exact topic; status-go refuses it ("bloom filter
//!   is empty");
//! - a cursor continues strictly after (or before) its own key, so a page
//!   whose last envelope was pruned meanwhile still loses nothing
//!   (status-go's LevelDB seek skips one envelope then), and a cursor
//!   outside the request's range cannot widen it;
//! - "failed to decode data: " is followed by this crate's RLP error, not
//!   Go's;
//! - [`MailserverConfig::allowed_peers`] can restrict who may ask.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod archive;
mod error;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod role;
mod server;
mod sqlite;

pub use archive::{Archive, ArchivedEnvelope, DbKey, Order, Query, Selector, DB_KEY_SIZE};
pub use error::Error;
pub use memory::MemoryArchive;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresArchive, PostgresConfig};
pub use role::{MailserverRole, Reply, RoleConfig, RoleStats};
pub use server::{
    Decision, Mailserver, MailserverConfig, Request, Response, Stats, DEFAULT_MAX_MESSAGE_SIZE,
    MAX_LEGACY_QUERY_RANGE, TTL_SAFE_THRESHOLD,
};
pub use sqlite::{SqliteArchive, SqliteConfig, Synchronous};

/// Opens the archive an operator names: `sqlite:PATH` (the embedded
/// default) or a PostgreSQL URL (`postgres://user@host:port/db`, or
/// `postgresql://`), with each store's defaults.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let spec = format!("sqlite:{}", dir.path().join("a.db").display());
/// let archive = status_mailserver::open_archive(&spec)?;
/// assert_eq!(archive.count()?, 0);
/// assert!(matches!(
///     status_mailserver::open_archive("leveldb:/tmp/x"),
///     Err(status_mailserver::Error::UnknownArchive(_))
/// ));
/// # Ok::<(), status_mailserver::Error>(())
/// ```
pub fn open_archive(spec: &str) -> Result<Box<dyn Archive>, Error> {
    if let Some(path) = spec.strip_prefix("sqlite:") {
        return Ok(Box::new(SqliteArchive::open(path)?));
    }
    #[cfg(feature = "postgres")]
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        return Ok(Box::new(PostgresArchive::open(PostgresConfig::new(spec))?));
    }
    Err(Error::UnknownArchive(spec.to_string()))
}
