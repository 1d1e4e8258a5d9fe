//! The one error type of this crate.

/// What went wrong: either the peer sent something malformed
/// (`InvalidPayload`, `InvalidMessageId`, `TooManyRecords`) or the caller
/// asked for something the configured bounds forbid (`InFlightFull`,
/// `NoPeers`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a protobuf `mvds.Payload`.
    #[error("invalid mvds payload: {0}")]
    InvalidPayload(#[from] prost::DecodeError),
    /// An ack, offer or request is not a 32-byte message id (2/MVDS ids are
    /// sha256 digests).
    #[error("invalid message id length {0}, expected 32")]
    InvalidMessageId(usize),
    /// A payload carries more records than [`Config::max_payload_records`](crate::Config::max_payload_records).
    #[error("payload carries {got} records, at most {max} accepted")]
    TooManyRecords {
        /// Records (acks + offers + requests + messages) in the payload.
        got: usize,
        /// The configured bound.
        max: usize,
    },
    /// Sending would grow the sync state past
    /// [`Config::max_in_flight`](crate::Config::max_in_flight).
    #[error("in-flight state full: {records} records, {needed} more needed, bound {max}")]
    InFlightFull {
        /// Records held now.
        records: usize,
        /// Records the call would add.
        needed: usize,
        /// The configured bound.
        max: usize,
    },
    /// `send` was called with an empty peer list.
    #[error("send to an empty peer list")]
    NoPeers,
}
