//! The crate's one error type.

/// Everything that can go wrong in status-mailserver.
///
/// The first group is about bytes that came from a peer (they also travel
/// back to it, as status-go's error texts, in a failed Request Complete:
/// see [`crate::RequestError`]); the second about the archive's store;
/// the last about calls the caller got wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- the peer misbehaved ----
    /// An envelope handed to the archive does not decode.
    #[error("envelope does not decode: {0}")]
    Envelope(#[from] status_waku::Error),

    // ---- the store ----
    /// SQLite failed (I/O, corruption, a full disk).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (connection, query, constraint).
    #[cfg(feature = "postgres")]
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    /// No PostgreSQL connection could be had from the pool in time.
    #[cfg(feature = "postgres")]
    #[error("postgres pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// The archive's schema is newer than this build knows.
    #[error("archive schema version {found} is newer than this build's {known}")]
    SchemaTooNew {
        /// The version in the store.
        found: i64,
        /// The newest migration this build has.
        known: i64,
    },
    /// A row in the store is not what this crate writes (a key of the wrong
    /// length, a corrupt value).
    #[error("corrupt archive row: {0}")]
    CorruptRow(&'static str),

    // ---- the caller used the API wrongly ----
    /// An archive URL that names no store this build has
    /// (`sqlite:PATH`, `postgres://...`).
    #[error("unknown archive {0:?}: expected sqlite:PATH or postgres://...")]
    UnknownArchive(String),
    /// A configuration value that cannot work.
    #[error("invalid mailserver config: {0}")]
    InvalidConfig(&'static str),
}

impl From<rusqlite::types::FromSqlError> for Error {
    fn from(_: rusqlite::types::FromSqlError) -> Self {
        Error::CorruptRow("column of an unexpected type")
    }
}
