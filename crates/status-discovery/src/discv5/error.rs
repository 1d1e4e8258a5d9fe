//! The one error type of the discv5 layer.

/// Why a discv5 datagram, message or call was refused.
///
/// Variants before [`Error::TooManyRequests`] mean "the peer sent something
/// we reject" (the machine drops the datagram and carries on); the later ones
/// mean "the caller asked for something impossible".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Datagram shorter than the 63-byte minimum (discv5-wire "UDP Communication").
    #[error("packet of {0} bytes is below the 63-byte minimum")]
    PacketTooSmall(usize),
    /// Datagram longer than the 1280-byte maximum.
    #[error("packet of {0} bytes is above the 1280-byte maximum")]
    PacketTooLarge(usize),
    /// The unmasked header does not start with `"discv5"`: not for us, or
    /// masked with another node id.
    #[error("protocol-id is not \"discv5\"")]
    InvalidProtocolId,
    /// Header version other than 0x0001.
    #[error("unsupported protocol version {0:#06x}")]
    UnsupportedVersion(u16),
    /// Packet `flag` other than 0, 1, 2.
    #[error("unknown packet flag {0}")]
    UnknownFlag(u8),
    /// `authdata-size` does not fit the flag or the datagram.
    #[error("authdata of {got} bytes is invalid for flag {flag}")]
    InvalidAuthdataSize {
        /// Packet flag.
        flag: u8,
        /// Size found in the header.
        got: usize,
    },
    /// WHOAREYOU carried a message body.
    #[error("WHOAREYOU packet carries {0} bytes of message")]
    WhoAreYouWithMessage(usize),
    /// Handshake authdata with signature or key sizes other than v4's 64/33.
    #[error("handshake sizes sig={sig} key={key} are not the v4 scheme's 64/33")]
    UnsupportedIdScheme {
        /// `sig-size` field.
        sig: u8,
        /// `eph-key-size` field.
        key: u8,
    },
    /// AES-GCM authentication of the message failed (wrong or no session).
    #[error("message authentication failed")]
    DecryptionFailed,
    /// Message plaintext is not valid RLP of the expected shape.
    #[error("malformed message: {0}")]
    InvalidMessage(&'static str),
    /// Unknown `message-type` byte.
    #[error("unknown message type {0:#04x}")]
    UnknownMessageType(u8),
    /// `request-id` longer than 8 bytes.
    #[error("request-id of {0} bytes exceeds 8")]
    RequestIdTooLong(usize),
    /// A public key (ephemeral or from a record) is not on the curve.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// The handshake `id-signature` does not verify.
    #[error("invalid id-signature")]
    InvalidIdSignature,
    /// A node record failed to decode or verify, or names another node.
    #[error("invalid node record: {0}")]
    InvalidRecord(&'static str),
    /// A handshake arrived for which we sent no WHOAREYOU (or it expired).
    #[error("handshake without a matching challenge")]
    UnexpectedHandshake,
    /// A WHOAREYOU that answers none of our pending requests.
    #[error("WHOAREYOU without a matching request")]
    UnexpectedWhoAreYou,
    /// A response whose request-id we do not know (late, or spoofed).
    #[error("response to an unknown request")]
    UnexpectedResponse,
    /// The peer sent more NODES messages or records than we accept.
    #[error("NODES response too large: total {total}, limit {limit}")]
    TooManyNodes {
        /// Announced or received count.
        total: u64,
        /// Our bound.
        limit: u64,
    },
    /// More requests in flight than `Config::max_pending_requests`.
    #[error("too many requests in flight (limit {0})")]
    TooManyRequests(usize),
    /// The record has no `ip`/`udp` endpoint to send to.
    #[error("node record has no UDP endpoint")]
    NoEndpoint,
    /// More lookups running than `Config::max_lookups`.
    #[error("too many lookups running (limit {0})")]
    TooManyLookups(usize),
    /// No session with that node and endpoint (a response can only go
    /// where a request came from).
    #[error("no session with that node and endpoint")]
    NoSession,
    /// The local record is not signed by the machine's key.
    #[error("local record does not belong to the local key")]
    ForeignRecord,
    /// A TALKREQ/TALKRESP payload that would not fit a 1280-byte packet.
    #[error("payload of {0} bytes does not fit a packet")]
    PayloadTooLarge(usize),
}

impl From<rlp::DecoderError> for Error {
    fn from(_: rlp::DecoderError) -> Self {
        Error::InvalidMessage("rlp")
    }
}
