//! The crate's one error type.
//!
//! Split as rustls does: most variants mean "the peer (or a DNS server) sent
//! something invalid" and are normal input; a few mean "the API was used
//! wrongly" and say so in their doc.

use status_core::KeyError;

/// Everything that can go wrong in status-discovery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- ENR (EIP-778) ----
    /// The bytes are not valid (canonical) RLP.
    #[error("invalid RLP: {0}")]
    Rlp(#[from] rlp::DecoderError),
    /// A node record is larger than the 300 bytes EIP-778 allows.
    #[error("node record is {size} bytes, the limit is {max}")]
    RecordTooLarge {
        /// Encoded size.
        size: usize,
        /// The limit ([`crate::enr::MAX_RECORD_SIZE`]).
        max: usize,
    },
    /// More discovery topics than a record carries
    /// ([`crate::discv5::topic::MAX_TOPICS`]).
    #[error("{got} discovery topics, the limit is {max}")]
    TooManyTopics {
        /// Topics given.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes follow the record's RLP list.
    #[error("{0} trailing bytes after the node record")]
    TrailingBytes(usize),
    /// The record's list is too short to hold `[signature, seq]`, or the
    /// key/value part has an odd number of items.
    #[error("node record has an invalid shape: {0}")]
    RecordShape(&'static str),
    /// Keys are not sorted or not unique (EIP-778: "must be sorted by key and
    /// must be unique").
    #[error("node record keys are not sorted and unique")]
    UnsortedKeys,
    /// The text form does not start with `enr:` or is not unpadded
    /// URL-safe base64.
    #[error("invalid ENR text form: {0}")]
    EnrText(&'static str),
    /// The record has no `id` key.
    #[error("node record has no identity scheme (\"id\" key)")]
    MissingIdentityScheme,
    /// The identity scheme is not "v4", the only one defined.
    #[error("unsupported identity scheme {0:?}")]
    UnknownIdentityScheme(String),
    /// The "v4" record has no `secp256k1` key or its value is not a
    /// compressed public key.
    #[error("node record has no valid \"secp256k1\" public key")]
    InvalidPublicKey,
    /// The record signature does not verify under its public key (or is not
    /// 64 bytes).
    #[error("node record signature is invalid")]
    InvalidSignature,
    /// A key error from status-core (bad secret key, bad point).
    #[error("key error: {0}")]
    Key(#[from] KeyError),

    // ---- EIP-1459 DNS node lists ----
    /// An `enrtree://<key>@<domain>` link is malformed.
    #[error("invalid enrtree link: {0}")]
    InvalidLink(&'static str),
    /// A TXT entry of a node tree is malformed.
    #[error("invalid DNS tree entry: {0}")]
    InvalidEntry(&'static str),
    /// A TXT entry's content does not hash to the subdomain it was found at.
    #[error("DNS tree entry does not match its hash")]
    HashMismatch,
    /// The tree root's signature does not verify under the list's key.
    #[error("DNS tree root signature is invalid")]
    InvalidRootSignature,
    /// The tree root's sequence number went down.
    #[error("DNS tree root sequence went back from {previous} to {got}")]
    SequenceRegression {
        /// Highest sequence seen before.
        previous: u64,
        /// Sequence now served.
        got: u64,
    },
    /// An entry type appeared where the spec forbids it (an ENR in the link
    /// subtree, a link in the ENR subtree, a root below the root).
    #[error("DNS tree entry of the wrong kind in the {0} subtree")]
    MisplacedEntry(&'static str),
    /// A bound from the resolver's config was hit (entries, links or
    /// lookups in flight).
    #[error("DNS tree limit reached: {what} (max {max})")]
    TreeLimit {
        /// Which bound.
        what: &'static str,
        /// Its value.
        max: usize,
    },
    /// API misuse: an answer arrived for a lookup the resolver did not ask
    /// for (or already has the answer to).
    #[error("no lookup in flight for {0:?}")]
    UnexpectedAnswer(String),
    /// API misuse: a tree builder input cannot be turned into a tree (no
    /// entries fit in a TXT record, a domain is empty, ...).
    #[error("cannot build DNS tree: {0}")]
    TreeBuild(&'static str),

    // ---- Rendezvous (status-im flavour) ----
    /// A rendezvous message type other than 1..=6.
    #[error("unknown rendezvous message type {0}")]
    UnknownMessageType(u64),
    /// A rendezvous message body does not have the expected fields.
    #[error("invalid rendezvous message: {0}")]
    InvalidMessage(&'static str),
    /// A rendezvous response status code outside the table of the spec.
    #[error("unknown rendezvous status code {0}")]
    UnknownStatus(u64),
    /// A rendezvous response arrived that matches no request in flight.
    #[error("unexpected rendezvous response")]
    UnexpectedResponse,
    /// API misuse: the rendezvous client has no servers to ask.
    #[error("no rendezvous servers configured")]
    NoServers,

    // ---- discv5 ----
    /// A discv5 packet, message or call was refused (see
    /// [`crate::discv5::Error`]).
    #[error("discv5: {0}")]
    Discv5(#[from] crate::discv5::Error),

    // ---- PeerPool ----
    /// API misuse: a topic was named that the pool has no limits for.
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    /// API misuse: a topic's limits have `min > max` or `max == 0`.
    #[error("invalid topic limits: min {min} max {max}")]
    InvalidLimits {
        /// Requested minimum.
        min: usize,
        /// Requested maximum.
        max: usize,
    },
}
