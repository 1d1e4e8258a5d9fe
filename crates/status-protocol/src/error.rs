//! The one error type of status-protocol.
//!
//! Split as rustls does: the first group says a peer sent something we
//! refuse (the message is dropped and counted in
//! [`Stats`](crate::Stats)); the second says the caller asked for
//! something impossible; the last says the store failed.

/// Everything that can go wrong in this crate.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- the peer misbehaved (or the message is not for us) ----
    /// A protobuf did not decode.
    #[error("malformed {what} protobuf")]
    Malformed {
        /// Which message.
        what: &'static str,
    },
    /// A message arrived without the Waku-level signature that
    /// 10/WAKU-USAGE makes mandatory.
    #[error("message is not signed")]
    Unsigned,
    /// An `ApplicationMetadataMessage` carries no signature.
    #[error("application metadata message is not signed")]
    MetadataUnsigned,
    /// A signature does not recover a public key.
    #[error("invalid signature on {what}")]
    BadSignature {
        /// What was signed.
        what: &'static str,
    },
    /// The application-layer signer is not the key that signed the Waku
    /// message (a relayed message must come from its author here).
    #[error("application signer does not match the transport signer")]
    SignerMismatch,
    /// A payload is larger than [`Config::max_payload_size`](crate::Config::max_payload_size).
    #[error("payload of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message id was seen before.
    #[error("duplicate message")]
    Duplicate,
    /// A clock value is zero or too far ahead of the sender's timestamp
    /// (status-go `validateClockValue`: 120 s).
    #[error("invalid clock value {clock} (timestamp {timestamp})")]
    InvalidClock {
        /// The clock.
        clock: u64,
        /// The transport timestamp in ms it was checked against.
        timestamp: u64,
    },
    /// A field of a payload is missing or invalid.
    #[error("invalid {what}")]
    Invalid {
        /// What was wrong.
        what: &'static str,
    },
    /// An application message type we do not handle.
    #[error("unsupported message type {0}")]
    UnsupportedType(i32),
    /// A message names a chat we are not in, or a sender not allowed to
    /// post there (status-go `matchMessage`).
    #[error("no matching chat: {0}")]
    NoMatchingChat(&'static str),
    /// A membership update refused (7/GROUP-CHAT).
    #[error("invalid membership update: {0}")]
    InvalidMembershipUpdate(&'static str),
    /// A message from one of our own identity's messages that only our own
    /// devices may send, signed by someone else.
    #[error("only our own devices may send this")]
    NotFromUs,
    /// The secure-transport layer refused the message.
    #[error("encryption: {0}")]
    Encryption(#[from] status_encryption::Error),
    /// The data-sync layer refused the message.
    #[error("data sync: {0}")]
    DataSync(#[from] status_mvds::Error),
    /// A message arrived through a filter this machine does not know.
    #[error("unknown filter")]
    UnknownFilter,

    // ---- the caller asked for something impossible ----
    /// No chat with that id.
    #[error("no chat {0:?}")]
    ChatNotFound(String),
    /// The key is not a valid chat key (hex `0x04…`, compressed hex or a
    /// `zQ3…` multibase key).
    #[error("not a chat key: {0}")]
    InvalidChatKey(String),
    /// A public chat name must match `[a-z0-9\-]+` and not be a public key
    /// (2/ACCOUNT).
    #[error("invalid public chat name {0:?}")]
    InvalidChatName(String),
    /// The operation does not apply to this kind of chat.
    #[error("operation not supported for this chat")]
    WrongChatKind,
    /// We may not do this in the group (not an admin, not a member...).
    #[error("not allowed in this group: {0}")]
    NotAllowed(&'static str),
    /// Too much is queued or in flight; try later.
    #[error("{what} is full ({max})")]
    Full {
        /// Which bound.
        what: &'static str,
        /// The bound.
        max: usize,
    },
    /// An earlier store failure left memory and store apart: reopen the
    /// messenger from its store.
    #[error("messenger must be reopened after a store failure")]
    Poisoned,

    // ---- the store failed ----
    /// The persistent store failed; nothing of the input was applied or
    /// emitted.
    #[error("store: {0}")]
    Store(String),
}

impl Error {
    /// Whether the error is about a received message (dropped and counted)
    /// rather than about the caller or the store.
    pub fn is_peer_error(&self) -> bool {
        !matches!(
            self,
            Error::ChatNotFound(_)
                | Error::InvalidChatKey(_)
                | Error::InvalidChatName(_)
                | Error::WrongChatKind
                | Error::NotAllowed(_)
                | Error::Full { .. }
                | Error::Poisoned
                | Error::Store(_)
        )
    }
}
