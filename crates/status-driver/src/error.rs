//! The driver's one error type.

use std::sync::Arc;

use status_rlpx::p2p::DisconnectReason;

/// Why connecting, sending or pinging failed, or why a connection ended.
///
/// `Clone` so that one failure can be handed to every waiter (the pending
/// `connect`, pings in flight and the final [`Event::Closed`](crate::Event)).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The socket failed, or the peer closed it without a Disconnect.
    #[error("i/o error: {0}")]
    Io(Arc<std::io::Error>),
    /// The enode's node id is not a secp256k1 public key.
    #[error("remote node id is not a valid public key: {0}")]
    InvalidNodeId(#[from] status_core::KeyError),
    /// The RLPx handshake (auth/ack or Hello) failed.
    #[error("rlpx handshake failed: {0}")]
    Handshake(status_rlpx::Error),
    /// The session machine gave up waiting: `"handshake"` or `"pong"`.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The session ended with a Disconnect message (sent or received).
    #[error("disconnected by {}: {reason}", if *.by_peer { "peer" } else { "us" })]
    Disconnected {
        /// The reason carried by the Disconnect message.
        reason: DisconnectReason,
        /// Whether the peer sent it.
        by_peer: bool,
    },
    /// The established session failed (bad MAC, malformed message, ...).
    #[error("rlpx session failed: {0}")]
    Protocol(status_rlpx::Error),
    /// The session refused a command: capability not shared, code out of
    /// range, message too large.
    #[error("rejected: {0}")]
    Rejected(status_rlpx::Error),
    /// The connection is already closed.
    #[error("connection closed")]
    Closed,
    /// The OS random number generator failed.
    #[error("os random number generator failed: {0}")]
    Rng(String),
}

impl From<std::io::Error> for DriverError {
    fn from(e: std::io::Error) -> Self {
        DriverError::Io(Arc::new(e))
    }
}

impl DriverError {
    /// The error for a session that closed with `error` (or cleanly, with
    /// `reason`), before or after Hello was exchanged.
    pub(crate) fn from_close(
        error: Option<status_rlpx::Error>,
        reason: DisconnectReason,
        by_peer: bool,
        established: bool,
    ) -> Self {
        match error {
            None => DriverError::Disconnected { reason, by_peer },
            Some(status_rlpx::Error::Timeout(what)) => DriverError::Timeout(what),
            Some(e) if established => DriverError::Protocol(e),
            Some(e) => DriverError::Handshake(e),
        }
    }
}
