//! The client side of the mailserver wire (11/WAKU-MAILSERVER, status-go
//! `mailserver/request.go`, `services/ext`, `waku/mailserver.go`): historic
//! message requests, and the Request Complete answer. The server side (a
//! later crate) reuses these codecs.
//!
//! ```text
//! P2P Request (126)  = envelope{ topic 0, data = wrap(signed by the client,
//!                        AES-GCM with PBKDF2(password), payload = MessagesRequest) }
//! MessagesRequest    = [lower, upper, bloom(64 or empty), [topic...], limit, cursor, batch]
//! request id         = hash of the request envelope
//! P2P Message (127)  = [envelope...]            (decoded by crate::packet)
//! Request Complete (125) payload = request_id(32) ++ last_envelope_hash(32) ++ cursor(36)
//!                    | "ERROR=" ++ request_id(32) ++ error text
//! ```
//!
//! 11/WAKU-MAILSERVER lists `[Lower, Upper, Bloom, Limit, Cursor]`; status-go
//! v0.55.1 clients send the 7-field form above, and status-go's bytes win.

use rand_core::CryptoRng;
use status_core::{SecretKey, Timestamp};

use crate::message::{Encryption, MessageParams, OpenKey, SymmetricKey};
use crate::rlp_strict::{self, ListIter};
use crate::{Bloom, Envelope, Error, ReceivedMessage, Topic};

/// The password status-go mailservers derive their symmetric key from.
pub const DEFAULT_MAILSERVER_PASSWORD: &str = "status-offline-inbox";
/// Size of a cursor: `u32be(timestamp) ++ envelope hash`.
pub const CURSOR_SIZE: usize = 36;
/// Largest `limit` status-go accepts in a request (`MaxLimitInMessagesRequest`).
pub const MAX_LIMIT: u32 = 1000;
/// TTL status-go-compatible clients give request envelopes, in seconds.
pub const DEFAULT_REQUEST_TTL: u32 = 10;
/// Prefix of a failed Request Complete payload.
pub const FAILED_PAYLOAD_PREFIX: &[u8] = b"ERROR=";

/// A request for historic envelopes (status-go `MessagesRequestPayload`),
/// carried in a signed, encrypted envelope.
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_core::{SecretKey, Timestamp};
/// use status_waku::mailserver::DEFAULT_REQUEST_TTL;
/// use status_waku::{wrap, Bloom, Encryption, Error, MessageParams, MessagesRequest, Topic};
///
/// let topic = Topic([0xca, 0xfe, 0, 1]);
/// let request = MessagesRequest::for_topics(1_699_913_600, 1_700_000_000, &[topic], 100);
/// assert_eq!(request.bloom, Some(Bloom::from_topic(topic)));
/// let bytes = request.to_vec();
/// assert_eq!(MessagesRequest::decode(&bytes)?, request);
/// assert!(matches!(MessagesRequest::decode(&bytes[..bytes.len() - 1]), Err(Error::Rlp(_))));
///
/// // In its envelope: signed by the client, encrypted to the mailserver key.
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
/// let client = SecretKey::from_bytes(&[0x11; 32]).expect("a valid key");
/// let key = [3u8; 32];
/// let now = Timestamp::from_secs(1_700_000_000);
/// let envelope = request.to_envelope(&mut rng, &client, &key, now, DEFAULT_REQUEST_TTL, 0.0, 1)?;
/// let (opened, message) = MessagesRequest::open_envelope(&envelope, &key)?;
/// assert_eq!(opened, request);
/// assert_eq!(message.signer(), Some(&client.public_key()));
///
/// // The mailserver must know who asks: unsigned requests are refused.
/// let params = MessageParams::new(&bytes, Encryption::Symmetric(&key), Topic::default());
/// let unsigned = wrap(&mut rng, &params, now)?;
/// let err = MessagesRequest::open_envelope(&unsigned, &key).unwrap_err();
/// assert_eq!(err, Error::InvalidSignature);
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessagesRequest {
    /// Oldest creation time wanted, Unix seconds.
    pub lower: u32,
    /// Newest creation time wanted, Unix seconds.
    pub upper: u32,
    /// Bloom of the wanted topics; `None` when `topics` lists them.
    pub bloom: Option<Bloom>,
    /// The wanted topics; empty when `bloom` is used.
    pub topics: Vec<Topic>,
    /// Maximum number of envelopes to return.
    pub limit: u32,
    /// Resume point from a previous Request Complete (empty: from the start).
    pub cursor: Vec<u8>,
    /// Whether the mailserver sends envelopes in batches (status-go sends true).
    pub batch: bool,
}

impl MessagesRequest {
    /// A request for `topics` between `lower` and `upper`, expressed as a
    /// bloom as status-go's `MakeMessagesRequestPayload` does.
    pub fn for_topics(lower: u32, upper: u32, topics: &[Topic], limit: u32) -> Self {
        MessagesRequest {
            lower,
            upper,
            bloom: Some(Bloom::from_topics(topics)),
            topics: Vec::new(),
            limit,
            cursor: Vec::new(),
            batch: true,
        }
    }

    fn payload_len(&self) -> usize {
        let topics: usize = self.topics.iter().map(|_| 5).sum();
        rlp_strict::uint_len(u64::from(self.lower))
            + rlp_strict::uint_len(u64::from(self.upper))
            + self.bloom.map_or(1, |b| rlp_strict::bytes_len(&b.0))
            + rlp_strict::header_len(topics)
            + topics
            + rlp_strict::uint_len(u64::from(self.limit))
            + rlp_strict::bytes_len(&self.cursor)
            + 1
    }

    /// Appends the RLP encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let w = &mut |b: &[u8]| out.extend_from_slice(b);
        rlp_strict::write_header(self.payload_len(), 0xc0, w);
        rlp_strict::write_uint(u64::from(self.lower), w);
        rlp_strict::write_uint(u64::from(self.upper), w);
        match &self.bloom {
            Some(b) => rlp_strict::write_bytes(&b.0, w),
            None => rlp_strict::write_bytes(&[], w),
        }
        rlp_strict::write_header(self.topics.len() * 5, 0xc0, w);
        for t in &self.topics {
            rlp_strict::write_bytes(&t.0, w);
        }
        rlp_strict::write_uint(u64::from(self.limit), w);
        rlp_strict::write_bytes(&self.cursor, w);
        rlp_strict::write_uint(u64::from(self.batch), w);
    }

    /// The RLP encoding in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Decodes the 7-field RLP strictly: the bloom is empty or 64 bytes and
    /// every topic 4 bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut it = ListIter::new(rlp_strict::single_item(bytes)?)?;
        let lower = it.next_item()?.u32()?;
        let upper = it.next_item()?.u32()?;
        let bloom = decode_bloom(it.next_item()?.bytes()?)?;
        let topics = decode_topics(it.next_item()?)?;
        let limit = it.next_item()?.u32()?;
        let cursor = it.next_item()?.bytes()?.to_vec();
        let batch = it.next_item()?.boolean()?;
        it.finish()?;
        Ok(MessagesRequest {
            lower,
            upper,
            bloom,
            topics,
            limit,
            cursor,
            batch,
        })
    }

    /// Builds the P2P Request envelope as status-go's `makeEnvelop` does:
    /// zero topic, payload signed by `client` (the mailserver checks the
    /// signer is the requesting peer) and encrypted with `key`
    /// ([`crate::topic::symmetric_key_from_password`] of the mailserver
    /// password), sealed to `pow_target` within `max_pow_attempts`.
    ///
    /// The request id the mailserver answers with is the envelope's hash.
    #[allow(clippy::too_many_arguments)]
    pub fn to_envelope<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        client: &SecretKey,
        key: &SymmetricKey,
        now: Timestamp,
        ttl: u32,
        pow_target: f64,
        max_pow_attempts: u64,
    ) -> Result<Envelope, Error> {
        let payload = self.to_vec();
        let params = MessageParams {
            payload: &payload,
            padding: None,
            signer: Some(client),
            encryption: Encryption::Symmetric(key),
            topic: Topic::default(),
            ttl,
            pow_target,
            max_pow_attempts,
        };
        crate::message::wrap(rng, &params, now)
    }

    /// Opens a request envelope with the mailserver key, returning the
    /// request and the opened message (whose signer is the requester).
    /// Unsigned requests are rejected, as status-go's mailserver does.
    pub fn open_envelope(
        envelope: &Envelope,
        key: &SymmetricKey,
    ) -> Result<(MessagesRequest, ReceivedMessage), Error> {
        let msg = envelope.open(&[OpenKey::Symmetric(key)])?;
        if msg.signer().is_none() {
            return Err(Error::InvalidSignature);
        }
        let req = MessagesRequest::decode(msg.payload())?;
        Ok((req, msg))
    }
}

fn decode_bloom(b: &[u8]) -> Result<Option<Bloom>, Error> {
    match b.len() {
        0 => Ok(None),
        _ => Bloom::from_slice(b)
            .map(Some)
            .ok_or(Error::Rlp("bloom must be empty or 64 bytes")),
    }
}

fn decode_topics(item: rlp_strict::Item<'_>) -> Result<Vec<Topic>, Error> {
    let mut it = ListIter::new(item)?;
    // Each topic takes 5 bytes: the payload length bounds the allocation.
    let mut topics = Vec::with_capacity(item.payload.len() / 5);
    while let Some(t) = it.next_opt()? {
        let b = t.bytes()?;
        topics.push(Topic::from_slice(b).ok_or(Error::InvalidTopicLength(b.len()))?);
    }
    Ok(topics)
}

/// status-go's newer direct request (`waku/common.MessagesRequest`), sent
/// as the P2P Request body without an envelope:
/// `[id, from, to, limit, cursor, bloom, [topic...]]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectMessagesRequest {
    /// Request id (32 bytes), echoed in Request Complete.
    pub id: [u8; 32],
    /// Oldest creation time wanted, Unix seconds.
    pub from: u32,
    /// Newest creation time wanted, Unix seconds.
    pub to: u32,
    /// Maximum number of envelopes to return (at most [`MAX_LIMIT`]).
    pub limit: u32,
    /// Resume point from a previous Request Complete.
    pub cursor: Vec<u8>,
    /// Bloom of the wanted topics, if given that way.
    pub bloom: Option<Bloom>,
    /// The wanted topics.
    pub topics: Vec<Topic>,
}

impl DirectMessagesRequest {
    /// Appends the RLP encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let topics = self.topics.len() * 5;
        let payload = 33
            + rlp_strict::uint_len(u64::from(self.from))
            + rlp_strict::uint_len(u64::from(self.to))
            + rlp_strict::uint_len(u64::from(self.limit))
            + rlp_strict::bytes_len(&self.cursor)
            + self.bloom.map_or(1, |b| rlp_strict::bytes_len(&b.0))
            + rlp_strict::header_len(topics)
            + topics;
        let w = &mut |b: &[u8]| out.extend_from_slice(b);
        rlp_strict::write_header(payload, 0xc0, w);
        rlp_strict::write_bytes(&self.id, w);
        rlp_strict::write_uint(u64::from(self.from), w);
        rlp_strict::write_uint(u64::from(self.to), w);
        rlp_strict::write_uint(u64::from(self.limit), w);
        rlp_strict::write_bytes(&self.cursor, w);
        match &self.bloom {
            Some(b) => rlp_strict::write_bytes(&b.0, w),
            None => rlp_strict::write_bytes(&[], w),
        }
        rlp_strict::write_header(topics, 0xc0, w);
        for t in &self.topics {
            rlp_strict::write_bytes(&t.0, w);
        }
    }

    /// The RLP encoding in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Decodes the RLP strictly (then call [`DirectMessagesRequest::validate`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut it = ListIter::new(rlp_strict::single_item(bytes)?)?;
        let id = it.next_item()?.bytes()?;
        let id: [u8; 32] = id
            .try_into()
            .map_err(|_| Error::Rlp("request id must be 32 bytes"))?;
        let from = it.next_item()?.u32()?;
        let to = it.next_item()?.u32()?;
        let limit = it.next_item()?.u32()?;
        let cursor = it.next_item()?.bytes()?.to_vec();
        let bloom = decode_bloom(it.next_item()?.bytes()?)?;
        let topics = decode_topics(it.next_item()?)?;
        it.finish()?;
        Ok(DirectMessagesRequest {
            id,
            from,
            to,
            limit,
            cursor,
            bloom,
            topics,
        })
    }

    /// status-go's `MessagesRequest.Validate`: `from <= to`, `limit <= 1000`,
    /// and a bloom or topics.
    pub fn validate(&self) -> Result<(), Error> {
        if self.from > self.to {
            return Err(Error::InvalidMessagesRequest("from is greater than to"));
        }
        if self.limit > MAX_LIMIT {
            return Err(Error::InvalidMessagesRequest("limit above 1000"));
        }
        if self.bloom.is_none() && self.topics.is_empty() {
            return Err(Error::InvalidMessagesRequest("neither bloom nor topics"));
        }
        Ok(())
    }
}

/// The payload of P2P Request Complete (125): how a mailserver ends a
/// request (status-go `CreateMailServerEvent`).
///
/// ```
/// use status_waku::mailserver::cursor;
/// use status_waku::{Error, RequestComplete};
///
/// // More to come: the cursor says where to resume.
/// let done = RequestComplete::Completed {
///     request_id: [1; 32],
///     last_envelope_hash: [2; 32],
///     cursor: cursor(1_700_000_000, &[2; 32]).to_vec(),
/// };
/// let payload = done.to_vec();
/// assert_eq!(payload.len(), 32 + 32 + 36);
/// assert_eq!(RequestComplete::decode(&payload)?, done);
///
/// let failed = RequestComplete::Failed { request_id: [1; 32], error: "rate limited".into() };
/// assert_eq!(RequestComplete::decode(&failed.to_vec())?, failed);
/// assert_eq!(failed.request_id(), &[1; 32]);
///
/// assert!(matches!(
///     RequestComplete::decode(&[0; 31]),
///     Err(Error::MalformedMailserverResponse(_))
/// ));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestComplete {
    /// The request was served.
    Completed {
        /// Hash of the request envelope (or the direct request's id).
        request_id: [u8; 32],
        /// Hash of the last envelope sent; zero if the payload had none.
        last_envelope_hash: [u8; 32],
        /// Where to resume: empty when everything was sent.
        cursor: Vec<u8>,
    },
    /// The mailserver refused or failed the request.
    Failed {
        /// Hash of the request envelope.
        request_id: [u8; 32],
        /// The mailserver's error text (lossily decoded as UTF-8).
        error: String,
    },
}

impl RequestComplete {
    /// Parses the payload (the RLP string inside the packet, already
    /// unwrapped by [`crate::packet`]) exactly as status-go does: shorter
    /// than 32 bytes or longer than 32+32+36 is an error; a trailing part
    /// shorter than a hash or a cursor is ignored.
    pub fn decode(payload: &[u8]) -> Result<RequestComplete, Error> {
        if payload.len() < 32 {
            return Err(Error::MalformedMailserverResponse(
                "shorter than a request id",
            ));
        }
        if payload.len() >= 32 + FAILED_PAYLOAD_PREFIX.len() {
            if let Some(rest) = payload.strip_prefix(FAILED_PAYLOAD_PREFIX) {
                let (id, text) = rest.split_at(32);
                return Ok(RequestComplete::Failed {
                    request_id: hash32(id)?,
                    error: String::from_utf8_lossy(text).into_owned(),
                });
            }
        }
        if payload.len() > 32 * 2 + CURSOR_SIZE {
            return Err(Error::MalformedMailserverResponse(
                "longer than id, hash and cursor",
            ));
        }
        let (id, mut rest) = payload.split_at(32);
        let mut last_envelope_hash = [0u8; 32];
        if rest.len() >= 32 {
            let (h, r) = rest.split_at(32);
            last_envelope_hash = hash32(h)?;
            rest = r;
        }
        let cursor = if rest.len() >= CURSOR_SIZE {
            rest.to_vec()
        } else {
            Vec::new()
        };
        Ok(RequestComplete::Completed {
            request_id: hash32(id)?,
            last_envelope_hash,
            cursor,
        })
    }

    /// The payload, as status-go's `CreateMailServerRequestCompletedPayload`
    /// / `...FailedPayload` build it.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            RequestComplete::Completed {
                request_id,
                last_envelope_hash,
                cursor,
            } => [&request_id[..], &last_envelope_hash[..], cursor].concat(),
            RequestComplete::Failed { request_id, error } => {
                [FAILED_PAYLOAD_PREFIX, &request_id[..], error.as_bytes()].concat()
            }
        }
    }

    /// The request this answers.
    pub fn request_id(&self) -> &[u8; 32] {
        match self {
            RequestComplete::Completed { request_id, .. }
            | RequestComplete::Failed { request_id, .. } => request_id,
        }
    }
}

fn hash32(b: &[u8]) -> Result<[u8; 32], Error> {
    b.try_into()
        .map_err(|_| Error::MalformedMailserverResponse("hash is not 32 bytes"))
}

/// The key a status-go mailserver stores an envelope under:
/// `u32be(timestamp) ++ envelope hash ++ topic`; its first 36 bytes are the
/// cursor of that envelope.
pub fn db_key(timestamp: u32, envelope_hash: &[u8; 32], topic: Topic) -> [u8; CURSOR_SIZE + 4] {
    let mut k = [0u8; CURSOR_SIZE + 4];
    k[..4].copy_from_slice(&timestamp.to_be_bytes());
    k[4..CURSOR_SIZE].copy_from_slice(envelope_hash);
    k[CURSOR_SIZE..].copy_from_slice(&topic.0);
    k
}

/// The cursor of an envelope: the first 36 bytes of its [`db_key`].
pub fn cursor(timestamp: u32, envelope_hash: &[u8; 32]) -> [u8; CURSOR_SIZE] {
    let mut c = [0u8; CURSOR_SIZE];
    c[..4].copy_from_slice(&timestamp.to_be_bytes());
    c[4..].copy_from_slice(envelope_hash);
    c
}
