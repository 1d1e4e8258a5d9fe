//! The crate's one error type.

/// Everything that can go wrong in status-waku.
///
/// Variants are split in two groups: the peer (or the bytes it sent)
/// misbehaved, and the caller used the API wrongly. Variants carry the numbers
/// that explain them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- the peer misbehaved: malformed or hostile input ----
    /// The bytes are not canonical RLP of the expected shape.
    #[error("malformed rlp: {0}")]
    Rlp(&'static str),
    /// An envelope is larger than the configured limit (checked before decoding).
    #[error("envelope of {size} bytes exceeds the limit of {max} bytes")]
    EnvelopeTooLarge {
        /// Encoded size of the envelope.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A topic field is not exactly 4 bytes long.
    #[error("topic must be 4 bytes, got {0}")]
    InvalidTopicLength(usize),
    /// A decrypted message payload does not follow the Whisper v6 layout.
    #[error("malformed message payload: {0}")]
    MalformedMessage(&'static str),
    /// None of the keys given to `open` decrypts the envelope data.
    #[error("no key opens this envelope")]
    NoMatchingKey,
    /// The message carries a signature from which no public key is recoverable.
    #[error("invalid message signature")]
    InvalidSignature,
    /// A mailserver response has the wrong size or shape.
    #[error("malformed mailserver response: {0}")]
    MalformedMailserverResponse(&'static str),

    // -- wire packets and the machine (packet.rs, status.rs, node.rs) --
    /// A packet is larger than the configured limit (checked before decoding).
    #[error("packet of {size} bytes exceeds the limit of {max} bytes")]
    PacketTooLarge {
        /// Payload size of the packet.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A PoW requirement is NaN, infinite or negative.
    #[error("PoW requirement must be finite and non-negative")]
    InvalidPowRequirement,
    /// A bloom filter is neither 64 bytes nor empty.
    #[error("bloom filter must be 64 bytes, got {0}")]
    InvalidBloomLength(usize),
    /// A topic-interest list is longer than the protocol allows.
    #[error("topic interest of more than {max} topics")]
    TooManyTopics {
        /// The limit (10,000 in 6/WAKU1).
        max: usize,
    },
    /// A whisper/6 Status with a version other than 6.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u64),
    /// A hash field is not 32 bytes.
    #[error("hash must be 32 bytes, got {0}")]
    InvalidHashLength(usize),
    /// [`Waku::post`](crate::Waku::post) refused an envelope; which check
    /// it failed is typed, so callers need not match on text.
    #[error("invalid envelope: {0}")]
    InvalidEnvelope(EnvelopeRejection),
    /// The peer exceeded our rate limits more often than tolerated.
    #[error("rate limit exceeded")]
    RateLimitExceeded,
    /// (Caller error) the peer id is not, or no longer, known to the machine.
    #[error("unknown peer {0}")]
    UnknownPeer(u64),
    /// A mailserver request fails status-go's validation.
    #[error("invalid messages request: {0}")]
    InvalidMessagesRequest(&'static str),

    // ---- the caller used the API wrongly ----
    /// (Caller error) the packet exists only in waku/1 and the peer speaks
    /// whisper/6.
    #[error("peer {0} speaks whisper/6, which has no such packet")]
    NotWaku1(u64),
    /// The payload (plus padding) does not fit the 4-byte payload size field.
    #[error("payload of {0} bytes is too large for a message")]
    PayloadTooLarge(usize),
    /// A public key given to the API is invalid.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// The PoW target is not a finite, non-negative number.
    #[error("PoW target must be finite and non-negative")]
    InvalidPowTarget,
    /// [`crate::wrap`] ran out of PoW attempts before reaching the target
    /// (status-go's `Seal` fails the same way when its work time runs out).
    #[error("PoW target of {target_bits} zero bits not reached (best {best_bits}) in {attempts} attempts")]
    PowTargetNotReached {
        /// Leading zero bits the target needs.
        target_bits: u32,
        /// The best found.
        best_bits: u32,
        /// Nonces tried.
        attempts: u64,
    },
}

/// Why an envelope was refused: status-go's checks in `add`, in the order
/// they run. Peers' envelopes failing them are reported back in Batch
/// Acknowledged / Message Response with [`code`](Self::code) and
/// [`description`](Self::description).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnvelopeRejection {
    /// Created more than `sync_allowance` ahead of our clock.
    FromFuture,
    /// Expired more than twice `sync_allowance` ago.
    VeryOld,
    /// Expired, but recently (peers' envelopes are dropped silently).
    Expired,
    /// Below our PoW requirement (and any tolerated older one).
    LowPow,
}

impl EnvelopeRejection {
    /// status-go's description text, as it goes on the wire.
    pub fn description(self) -> &'static str {
        match self {
            EnvelopeRejection::FromFuture => "envelope from future",
            EnvelopeRejection::VeryOld => "very old envelope",
            EnvelopeRejection::Expired => "expired",
            EnvelopeRejection::LowPow => "envelope with low PoW",
        }
    }

    /// The wire error code: [`ENVELOPE_TIME_NOT_SYNCED`](crate::packet::ENVELOPE_TIME_NOT_SYNCED)
    /// for clock problems, [`ENVELOPE_OTHER_ERROR`](crate::packet::ENVELOPE_OTHER_ERROR)
    /// otherwise.
    pub fn code(self) -> u64 {
        match self {
            EnvelopeRejection::FromFuture | EnvelopeRejection::VeryOld => {
                crate::packet::ENVELOPE_TIME_NOT_SYNCED
            }
            EnvelopeRejection::Expired | EnvelopeRejection::LowPow => {
                crate::packet::ENVELOPE_OTHER_ERROR
            }
        }
    }
}

impl std::fmt::Display for EnvelopeRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}
