//! One error type for the crate, split (like rustls) into what the peer did
//! wrong and what the caller did wrong.

/// Everything that can go wrong in an RLPx session.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // ---- the peer misbehaved -------------------------------------------
    /// A handshake message could not be decrypted or authenticated.
    #[error("handshake: {0}")]
    Handshake(#[from] status_core::ecies::EciesError),
    /// A handshake message decrypted but its body is malformed.
    #[error("malformed {which} message: {reason}")]
    MalformedHandshake {
        /// `"auth"` or `"ack"`; `"handshake"` when the size prefix is
        /// already wrong, before we know which of the two it claims to be.
        which: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// The auth message's signature does not recover to a valid key.
    #[error("auth signature does not recover a public key")]
    BadSignature,
    /// The handshake packet announces a size larger than we accept.
    #[error("handshake packet of {got} bytes exceeds the limit of {max}")]
    HandshakeTooLarge {
        /// Announced size.
        got: usize,
        /// Our limit.
        max: usize,
    },
    /// A frame header's MAC does not match.
    #[error("bad frame header MAC")]
    BadHeaderMac,
    /// A frame body's MAC does not match.
    #[error("bad frame MAC")]
    BadFrameMac,
    /// A frame announces a size larger than the configured maximum.
    #[error("frame of {got} bytes exceeds the maximum frame size {max}")]
    FrameTooLarge {
        /// Announced or requested size.
        got: usize,
        /// Configured limit.
        max: usize,
    },
    /// The frame's message-id prefix is not a valid RLP integer.
    #[error("frame has a malformed message code")]
    BadMessageCode,
    /// Snappy data is corrupt.
    #[error("snappy: corrupt compressed payload")]
    Snappy,
    /// Snappy data would decompress past the configured limit.
    #[error("snappy payload decompresses to {got} bytes, over the limit of {max}")]
    DecompressedTooLarge {
        /// Announced decompressed length.
        got: usize,
        /// Configured limit.
        max: usize,
    },
    /// A p2p base-protocol message could not be decoded.
    #[error("malformed p2p {which} message: {reason}")]
    MalformedP2p {
        /// Message name (`"hello"`, `"disconnect"`, ...).
        which: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The peer speaks an older p2p base-protocol version than we accept.
    #[error("peer speaks p2p version {got}, we need at least {min}")]
    UnsupportedP2pVersion {
        /// Announced version.
        got: u64,
        /// Minimum we accept.
        min: u64,
    },
    /// The peer's Hello names a different node id than the handshake proved.
    #[error("hello node id does not match the handshake identity")]
    NodeIdMismatch,
    /// The peer's Hello carries the null (all-zero) node id, which the spec
    /// calls automatically invalid.
    #[error("hello carries the null node id")]
    InvalidIdentity,
    /// The peer sent a message before Hello, or a second Hello.
    #[error("unexpected {0} message in this state")]
    UnexpectedMessage(&'static str),
    /// The peer used a message id no shared capability owns.
    #[error("message code {0:#x} belongs to no shared capability")]
    UnknownMessageCode(u64),
    /// No capability is shared with the peer.
    #[error("no shared capability")]
    UselessPeer,
    /// The peer did not complete a step in time.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// The peer disconnected.
    #[error("disconnected by peer: {0}")]
    Disconnected(crate::p2p::DisconnectReason),

    // ---- the caller used the API wrongly --------------------------------
    /// The session is not (or no longer) established.
    #[error("session is not established")]
    NotConnected,
    /// The named capability is not shared with this peer.
    #[error("capability {0} is not shared with this peer")]
    CapabilityNotShared(String),
    /// The code is outside the capability's message-id space.
    #[error("message code {code} is outside the {len} ids of the capability")]
    CodeOutOfRange {
        /// Requested code (relative to the capability).
        code: u64,
        /// The capability's message-id space.
        len: u64,
    },
    /// Too many bytes are queued for sending; drain `poll_transmit` first.
    #[error("send buffer full ({queued} bytes queued, limit {max})")]
    SendBufferFull {
        /// Bytes already queued.
        queued: usize,
        /// Configured limit.
        max: usize,
    },
    /// A capability string is not `name/version` (e.g. `waku/1`).
    #[error("invalid capability {0:?}: expected name/version")]
    InvalidCapability(String),
}
