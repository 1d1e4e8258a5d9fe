//! The one error type of this crate.

use status_core::KeyError;

/// Everything that can go wrong in the secure transport.
///
/// Split as rustls does: most variants say the peer (or the network) sent
/// something we cannot accept; [`Error::Store`] and [`Error::Snapshot`] are
/// about our own state. A failed decryption never changes the session state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key on the wire is not a valid secp256k1 key.
    #[error("invalid key: {0}")]
    InvalidKey(#[from] KeyError),
    /// A field has the wrong length.
    #[error("invalid {what} length: expected {expected}, got {got}")]
    InvalidLength {
        /// Which field.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// The bytes are not a protobuf message of the expected type.
    #[error("protobuf decode error: {0}")]
    Decode(String),
    /// A bundle's signature does not recover its identity key.
    #[error("bundle signature does not match its identity")]
    BundleSignature,
    /// A payload's MAC (HMAC-SHA256 or the GCM tag) did not verify.
    #[error("message authentication failed")]
    Mac,
    /// The ciphertext is shorter than IV plus MAC.
    #[error("ciphertext too short: {got} bytes, need at least {min}")]
    CiphertextTooShort {
        /// Length received.
        got: usize,
        /// Minimum length.
        min: usize,
    },
    /// The message needs more skipped keys than `Config::max_skip` allows.
    #[error("message gap too big: {got} skipped keys, max {max}")]
    TooBigMessageGap {
        /// Keys the message would make us skip.
        got: u64,
        /// The configured bound.
        max: u32,
    },
    /// The message key was already used (replay) or deleted.
    #[error("message key already used or deleted (replay or too old)")]
    DuplicateOrOld,
    /// No direct message in the `ProtocolMessage` is for our installation.
    #[error("no message for this installation (device not found)")]
    DeviceNotFound,
    /// A message from our own identity, not addressed to this installation.
    #[error("message from one of our own devices that is not paired")]
    NotPairedDevice,
    /// A ratchet message for a session we do not have.
    #[error("session not found")]
    SessionNotFound,
    /// An X3DH header names a signed prekey of ours we do not have.
    #[error("unknown signed prekey")]
    UnknownSignedPreKey,
    /// A direct message without any of the X3DH, DR or DH headers.
    #[error("no key header in direct message")]
    NoKeyHeader,
    /// A `ProtocolMessage` with neither direct nor public payload.
    #[error("no payload")]
    NoPayload,
    /// A peer tried to open more sessions than `Config::max_sessions_per_identity`.
    #[error("too many sessions with this identity (max {max})")]
    TooManySessions {
        /// The configured bound.
        max: usize,
    },
    /// The storage backend failed.
    #[error("store error: {0}")]
    Store(String),
    /// A serialized snapshot could not be restored.
    #[error("invalid snapshot: {0}")]
    Snapshot(&'static str),
}
