//! Packet codes and payload codecs of waku/1 (6/WAKU1 "Packet Codes") and
//! whisper/6 (EIP-627 "Packet Codes").
//!
//! RLPx delivers a capability message as a code relative to the capability
//! and a payload; [`Packet::decode`] and [`ShhPacket::decode`] turn that
//! pair into a typed packet, checking the packet size limit *before*
//! decoding anything (6/WAKU1 "Maximum Packet Size") and each envelope
//! against the envelope size limit. Unknown codes decode to `Unknown`
//! without error: they "MUST be ignored without generating any error".

use bytes::Bytes;

use crate::rlp_strict::{self, ListIter};
use crate::status::{decode_bloom, ShhStatus, StatusOptions};
use crate::{Bloom, Envelope, Error};

/// Default limit on a packet's payload (6/WAKU1: 1.5 MB; status-go
/// `DefaultMaxMessageSize` = 1.5 MiB).
pub const DEFAULT_MAX_PACKET_SIZE: usize = 1024 * 1024 * 3 / 2;

/// Message codes a waku/1 or whisper/6 capability reserves (0..=127).
pub const NUMBER_OF_CODES: u64 = 128;

/// waku/1 packet codes (6/WAKU1 "Packet Codes"; 10/WAKU-USAGE).
pub mod code {
    /// Status: the handshake, status options.
    pub const STATUS: u64 = 0;
    /// Messages: a batch of envelopes.
    pub const MESSAGES: u64 = 1;
    /// Batch Ack: keccak256 of a received Messages payload (deprecated).
    pub const BATCH_ACK: u64 = 11;
    /// Message Response: versioned confirmation with envelope errors.
    pub const MESSAGE_RESPONSE: u64 = 12;
    /// Status Update: changed status options.
    pub const STATUS_UPDATE: u64 = 22;
    /// P2P Request Complete: a mailserver finished a request.
    pub const P2P_REQUEST_COMPLETE: u64 = 125;
    /// P2P Request: a request to a mailserver (one envelope).
    pub const P2P_REQUEST: u64 = 126;
    /// P2P Message: envelopes not to be forwarded (mailserver answers).
    pub const P2P_MESSAGE: u64 = 127;
}

/// whisper/6 packet codes (EIP-627 "Packet Codes").
pub mod shh_code {
    /// Status: `[version, pow, bloom, light]`.
    pub const STATUS: u64 = 0;
    /// Messages: a batch of envelopes.
    pub const MESSAGES: u64 = 1;
    /// PoW Requirement: an f64's bits.
    pub const POW_REQUIREMENT: u64 = 2;
    /// Bloom Filter: 64 bytes.
    pub const BLOOM_FILTER: u64 = 3;
    /// P2P Request: one envelope.
    pub const P2P_REQUEST: u64 = 126;
    /// P2P Message: one envelope.
    pub const P2P_MESSAGE: u64 = 127;
}

/// Size limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest packet payload accepted, checked before decoding.
    pub max_packet_size: usize,
    /// Largest encoded envelope accepted.
    pub max_envelope_size: usize,
}

impl Default for Limits {
    /// 6/WAKU1 defaults: 1.5 MB packets, 1 MB envelopes.
    fn default() -> Self {
        Limits {
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            max_envelope_size: crate::envelope::DEFAULT_MAX_ENVELOPE_SIZE,
        }
    }
}

impl Limits {
    /// Fails if `payload` is larger than `max_packet_size`.
    pub fn check_packet(&self, payload: &[u8]) -> Result<(), Error> {
        if payload.len() > self.max_packet_size {
            return Err(Error::PacketTooLarge {
                size: payload.len(),
                max: self.max_packet_size,
            });
        }
        Ok(())
    }
}

/// One envelope error of a Message Response: `[hash, code, description]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError {
    /// Hash of the envelope concerned.
    pub hash: [u8; 32],
    /// Error code; 1 is a time-sync error (6/WAKU1 "Batch Ack and Message
    /// Response").
    pub code: u64,
    /// What went wrong (decoded lossily if not UTF-8).
    pub description: String,
}

/// Error code of an envelope that is too old or from the future.
pub const ENVELOPE_TIME_NOT_SYNCED: u64 = 1;
/// Error code of any other envelope rejection (status-go `EnvelopeOtherError`).
pub const ENVELOPE_OTHER_ERROR: u64 = 2;

/// A version-1 Message Response: `[1, [batch_hash, [errors...]]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageResponse {
    /// keccak256 of the Messages payload confirmed.
    pub batch_hash: [u8; 32],
    /// The envelopes of that batch that were rejected.
    pub errors: Vec<EnvelopeError>,
}

/// The confirmation version this crate speaks.
pub const MESSAGE_RESPONSE_VERSION: u64 = 1;

impl MessageResponse {
    /// Appends `[1, [batch_hash, [[hash, code, description]...]]]`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut errs = Vec::new();
        for e in &self.errors {
            let p =
                33 + rlp_strict::uint_len(e.code) + rlp_strict::bytes_len(e.description.as_bytes());
            let mut w = |b: &[u8]| errs.extend_from_slice(b);
            rlp_strict::write_header(p, 0xc0, &mut w);
            rlp_strict::write_bytes(&e.hash, &mut w);
            rlp_strict::write_uint(e.code, &mut w);
            rlp_strict::write_bytes(e.description.as_bytes(), &mut w);
        }
        let errs_len = rlp_strict::header_len(errs.len()) + errs.len();
        let resp_len = 33 + errs_len;
        let outer = 1 + rlp_strict::header_len(resp_len) + resp_len;
        let mut w = |b: &[u8]| out.extend_from_slice(b);
        rlp_strict::write_header(outer, 0xc0, &mut w);
        rlp_strict::write_uint(MESSAGE_RESPONSE_VERSION, &mut w);
        rlp_strict::write_header(resp_len, 0xc0, &mut w);
        rlp_strict::write_bytes(&self.batch_hash, &mut w);
        rlp_strict::write_header(errs.len(), 0xc0, &mut w);
        out.extend_from_slice(&errs);
    }

    /// Decodes a Message Response; `Ok(None)` for a version other than 1,
    /// which status-go ignores.
    pub fn decode(bytes: &[u8]) -> Result<Option<MessageResponse>, Error> {
        let (item, _) = rlp_strict::split_item(bytes)?;
        let mut it = ListIter::new(item)?;
        let version = it.next_item()?.uint()?;
        if version != MESSAGE_RESPONSE_VERSION {
            return Ok(None);
        }
        let mut resp = ListIter::new(it.next_item()?)?;
        let batch_hash = hash32(resp.next_item()?.bytes()?)?;
        let mut list = ListIter::new(resp.next_item()?)?;
        resp.finish()?;
        let mut errors = Vec::new();
        while let Some(e) = list.next_opt()? {
            let mut f = ListIter::new(e)?;
            let hash = hash32(f.next_item()?.bytes()?)?;
            let code = f.next_item()?.uint()?;
            let description = String::from_utf8_lossy(f.next_item()?.bytes()?).into_owned();
            f.finish()?;
            errors.push(EnvelopeError {
                hash,
                code,
                description,
            });
        }
        Ok(Some(MessageResponse { batch_hash, errors }))
    }
}

fn hash32(b: &[u8]) -> Result<[u8; 32], Error> {
    b.try_into().map_err(|_| Error::InvalidHashLength(b.len()))
}

/// A decoded waku/1 packet.
///
/// ```
/// use bytes::Bytes;
/// use status_waku::packet::{code, Limits};
/// use status_waku::{Envelope, Error, Packet, Topic};
///
/// let limits = Limits::default();
/// let envelope = Envelope::new(1_700_000_000, 50, Topic([1, 2, 3, 4]), &b"data"[..]);
/// let packet = Packet::Messages(vec![envelope]);
/// let payload = Bytes::from(packet.to_vec());
/// assert_eq!(Packet::decode(packet.code(), &payload, &limits)?, packet);
///
/// // Unknown codes are no error: the caller ignores them.
/// assert_eq!(Packet::decode(99, &payload, &limits)?, Packet::Unknown(99));
/// // The size limit is checked before decoding.
/// let tight = Limits { max_packet_size: 8, ..limits };
/// assert_eq!(
///     Packet::decode(code::MESSAGES, &payload, &tight),
///     Err(Error::PacketTooLarge { size: payload.len(), max: 8 })
/// );
/// // A Batch Ack carries a 32-byte hash.
/// let short = Bytes::from(Packet::Unknown(0).to_vec()); // []
/// assert!(Packet::decode(code::BATCH_ACK, &short, &limits).is_err());
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// Status (0): the handshake.
    Status(StatusOptions),
    /// Messages (1): envelopes to relay.
    Messages(Vec<Envelope>),
    /// Batch Ack (11): keccak256 of a Messages payload we sent.
    BatchAck([u8; 32]),
    /// Message Response (12), version 1.
    MessageResponse(MessageResponse),
    /// Message Response (12) of another version: status-go ignores it.
    UnsupportedMessageResponse(u64),
    /// Status Update (22): changed options.
    StatusUpdate(StatusOptions),
    /// P2P Request Complete (125): the raw payload, parsed by
    /// [`crate::mailserver`].
    P2PRequestComplete(Bytes),
    /// P2P Request (126): a request envelope for a mailserver.
    P2PRequest(Envelope),
    /// P2P Request (126) that is not an envelope (status-go's newer direct
    /// `MessagesRequest` RLP): the raw payload, for a mailserver to decode.
    P2PRequestDirect(Bytes),
    /// P2P Message (127): envelopes that are not to be forwarded.
    P2PMessage(Vec<Envelope>),
    /// Any other code: ignored (6/WAKU1 "Packet Codes").
    Unknown(u64),
}

impl Packet {
    /// Decodes the payload of waku/1 packet `code`, after checking
    /// `limits.max_packet_size`.
    pub fn decode(code: u64, payload: &Bytes, limits: &Limits) -> Result<Packet, Error> {
        limits.check_packet(payload)?;
        Ok(match code {
            code::STATUS => Packet::Status(StatusOptions::decode(payload)?),
            code::MESSAGES => Packet::Messages(decode_envelopes(payload, limits)?),
            code::BATCH_ACK => Packet::BatchAck(decode_hash(payload)?),
            code::MESSAGE_RESPONSE => match MessageResponse::decode(payload)? {
                Some(r) => Packet::MessageResponse(r),
                None => {
                    let (item, _) = rlp_strict::split_item(payload)?;
                    let version = ListIter::new(item)?.next_item()?.uint()?;
                    Packet::UnsupportedMessageResponse(version)
                }
            },
            code::STATUS_UPDATE => Packet::StatusUpdate(StatusOptions::decode(payload)?),
            code::P2P_REQUEST_COMPLETE => {
                let (item, _) = rlp_strict::split_item(payload)?;
                Packet::P2PRequestComplete(payload.slice_ref(item.bytes()?))
            }
            code::P2P_REQUEST => {
                let (item, rest) = rlp_strict::split_item(payload)?;
                let raw = payload.slice(..payload.len() - rest.len());
                match Envelope::decode_shared(&raw, limits.max_envelope_size) {
                    Ok(e) => Packet::P2PRequest(e),
                    Err(_) if item.is_list => Packet::P2PRequestDirect(raw),
                    Err(e) => return Err(e),
                }
            }
            code::P2P_MESSAGE => Packet::P2PMessage(decode_envelopes(payload, limits)?),
            other => Packet::Unknown(other),
        })
    }

    /// The packet code.
    pub fn code(&self) -> u64 {
        match self {
            Packet::Status(_) => code::STATUS,
            Packet::Messages(_) => code::MESSAGES,
            Packet::BatchAck(_) => code::BATCH_ACK,
            Packet::MessageResponse(_) | Packet::UnsupportedMessageResponse(_) => {
                code::MESSAGE_RESPONSE
            }
            Packet::StatusUpdate(_) => code::STATUS_UPDATE,
            Packet::P2PRequestComplete(_) => code::P2P_REQUEST_COMPLETE,
            Packet::P2PRequest(_) | Packet::P2PRequestDirect(_) => code::P2P_REQUEST,
            Packet::P2PMessage(_) => code::P2P_MESSAGE,
            Packet::Unknown(c) => *c,
        }
    }

    /// Appends the payload (what follows the code) to `out`. `Unknown`
    /// encodes as an empty list, an unsupported Message Response as
    /// `[version]`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Packet::Status(o) | Packet::StatusUpdate(o) => o.encode(out),
            Packet::Messages(es) | Packet::P2PMessage(es) => encode_envelopes(es, out),
            Packet::BatchAck(h) => rlp_strict::write_bytes(h, &mut |b| out.extend_from_slice(b)),
            Packet::MessageResponse(r) => r.encode(out),
            Packet::UnsupportedMessageResponse(v) => {
                let mut w = |b: &[u8]| out.extend_from_slice(b);
                rlp_strict::write_header(rlp_strict::uint_len(*v), 0xc0, &mut w);
                rlp_strict::write_uint(*v, &mut w);
            }
            Packet::Unknown(_) => out.push(0xc0),
            Packet::P2PRequestComplete(p) => {
                rlp_strict::write_bytes(p, &mut |b| out.extend_from_slice(b))
            }
            Packet::P2PRequest(e) => e.encode(out),
            Packet::P2PRequestDirect(raw) => out.extend_from_slice(raw),
        }
    }

    /// The payload in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }
}

/// A decoded whisper/6 packet.
///
/// ```
/// use bytes::Bytes;
/// use status_waku::packet::{shh_code, Limits};
/// use status_waku::{Envelope, Error, ShhPacket, Topic};
///
/// let limits = Limits::default();
/// let pow = ShhPacket::PowRequirement(0.2);
/// let payload = Bytes::from(pow.to_vec());
/// assert_eq!(ShhPacket::decode(shh_code::POW_REQUIREMENT, &payload, &limits)?, pow);
///
/// // A P2P Message of one envelope goes bare, as EIP-627 specifies.
/// let envelope = Envelope::new(1_700_000_000, 50, Topic([1, 2, 3, 4]), &b"data"[..]);
/// let p2p = ShhPacket::P2PMessage(vec![envelope.clone()]);
/// assert_eq!(p2p.to_vec(), envelope.to_vec());
/// let payload = Bytes::from(p2p.to_vec());
/// assert_eq!(ShhPacket::decode(shh_code::P2P_MESSAGE, &payload, &limits)?, p2p);
///
/// // An empty Bloom Filter packet is an error (whisper/6 has no "full" shorthand).
/// let empty = Bytes::from_static(&[0x80]);
/// assert_eq!(
///     ShhPacket::decode(shh_code::BLOOM_FILTER, &empty, &limits),
///     Err(Error::InvalidBloomLength(0))
/// );
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ShhPacket {
    /// Status (0).
    Status(ShhStatus),
    /// Messages (1).
    Messages(Vec<Envelope>),
    /// PoW Requirement (2).
    PowRequirement(f64),
    /// Bloom Filter (3).
    BloomFilter(Bloom),
    /// P2P Request (126).
    P2PRequest(Envelope),
    /// P2P Message (127): one envelope in EIP-627; a list of envelopes (as
    /// waku/1 and status-go's Whisper send) is accepted too.
    P2PMessage(Vec<Envelope>),
    /// Any other code: ignored.
    Unknown(u64),
}

impl ShhPacket {
    /// Decodes the payload of whisper/6 packet `code`, after checking
    /// `limits.max_packet_size`.
    pub fn decode(code: u64, payload: &Bytes, limits: &Limits) -> Result<ShhPacket, Error> {
        limits.check_packet(payload)?;
        Ok(match code {
            shh_code::STATUS => ShhPacket::Status(ShhStatus::decode(payload)?),
            shh_code::MESSAGES => ShhPacket::Messages(decode_envelopes(payload, limits)?),
            shh_code::POW_REQUIREMENT => {
                let (item, _) = rlp_strict::split_item(payload)?;
                ShhPacket::PowRequirement(f64::from_bits(item.uint()?))
            }
            shh_code::BLOOM_FILTER => {
                let (item, _) = rlp_strict::split_item(payload)?;
                let b = item.bytes()?;
                if b.is_empty() {
                    return Err(Error::InvalidBloomLength(0));
                }
                ShhPacket::BloomFilter(decode_bloom(item)?)
            }
            shh_code::P2P_REQUEST => ShhPacket::P2PRequest(decode_one(payload, limits)?),
            shh_code::P2P_MESSAGE => {
                let (item, _) = rlp_strict::split_item(payload)?;
                let first_is_list = ListIter::new(item)?.next_opt()?.is_some_and(|i| i.is_list);
                if first_is_list {
                    ShhPacket::P2PMessage(decode_envelopes(payload, limits)?)
                } else {
                    ShhPacket::P2PMessage(vec![decode_one(payload, limits)?])
                }
            }
            other => ShhPacket::Unknown(other),
        })
    }

    /// The packet code.
    pub fn code(&self) -> u64 {
        match self {
            ShhPacket::Status(_) => shh_code::STATUS,
            ShhPacket::Messages(_) => shh_code::MESSAGES,
            ShhPacket::PowRequirement(_) => shh_code::POW_REQUIREMENT,
            ShhPacket::BloomFilter(_) => shh_code::BLOOM_FILTER,
            ShhPacket::P2PRequest(_) => shh_code::P2P_REQUEST,
            ShhPacket::P2PMessage(_) => shh_code::P2P_MESSAGE,
            ShhPacket::Unknown(c) => *c,
        }
    }

    /// Appends the payload to `out`. A P2P Message of exactly one envelope
    /// is sent bare, as EIP-627 specifies; `Unknown` encodes as `[]`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ShhPacket::Status(s) => s.encode(out),
            ShhPacket::Messages(es) => encode_envelopes(es, out),
            ShhPacket::PowRequirement(p) => {
                rlp_strict::write_uint(p.to_bits(), &mut |b| out.extend_from_slice(b))
            }
            ShhPacket::BloomFilter(b) => {
                rlp_strict::write_bytes(&b.0, &mut |x| out.extend_from_slice(x))
            }
            ShhPacket::P2PRequest(e) => e.encode(out),
            ShhPacket::P2PMessage(es) if es.len() == 1 => es[0].encode(out),
            ShhPacket::P2PMessage(es) => encode_envelopes(es, out),
            ShhPacket::Unknown(_) => out.push(0xc0),
        }
    }

    /// The payload in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }
}

fn decode_one(payload: &Bytes, limits: &Limits) -> Result<Envelope, Error> {
    let (_, rest) = rlp_strict::split_item(payload)?;
    let raw = payload.slice(..payload.len() - rest.len());
    Envelope::decode_shared(&raw, limits.max_envelope_size)
}

fn decode_hash(payload: &[u8]) -> Result<[u8; 32], Error> {
    let (item, _) = rlp_strict::split_item(payload)?;
    hash32(item.bytes()?)
}

/// Iterates the raw encodings (header included) of the envelopes in a
/// Messages / P2P Message payload, without decoding them: the machine's hot
/// path hashes and decodes each from its own bytes. The list must fill the
/// payload (go-ethereum's `DecodeBytes`).
pub(crate) struct RawEnvelopes<'a> {
    rest: &'a [u8],
}

impl<'a> RawEnvelopes<'a> {
    pub(crate) fn new(payload: &'a [u8]) -> Result<Self, Error> {
        let item = rlp_strict::single_item(payload)?;
        if !item.is_list {
            return Err(Error::Rlp("expected a list"));
        }
        Ok(RawEnvelopes { rest: item.payload })
    }
}

impl<'a> Iterator for RawEnvelopes<'a> {
    type Item = Result<&'a [u8], Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match rlp_strict::split_item(self.rest) {
            Ok((_, rest)) => {
                let raw = &self.rest[..self.rest.len() - rest.len()];
                self.rest = rest;
                Some(Ok(raw))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

fn decode_envelopes(payload: &Bytes, limits: &Limits) -> Result<Vec<Envelope>, Error> {
    let mut out = Vec::new();
    for raw in RawEnvelopes::new(payload)? {
        let raw = payload.slice_ref(raw?);
        out.push(Envelope::decode_shared(&raw, limits.max_envelope_size)?);
    }
    Ok(out)
}

/// Appends `[e1, e2, ...]`.
pub fn encode_envelopes(envelopes: &[Envelope], out: &mut Vec<u8>) {
    let len: usize = envelopes.iter().map(Envelope::encoded_len).sum();
    rlp_strict::write_header(len, 0xc0, &mut |b| out.extend_from_slice(b));
    for e in envelopes {
        e.encode(out);
    }
}

/// Appends a list whose items are already-encoded envelopes.
pub(crate) fn encode_raw_list<'a>(
    items: impl Iterator<Item = &'a [u8]> + Clone,
    out: &mut Vec<u8>,
) {
    let len: usize = items.clone().map(<[u8]>::len).sum();
    out.reserve(rlp_strict::header_len(len) + len);
    rlp_strict::write_header(len, 0xc0, &mut |b| out.extend_from_slice(b));
    for i in items {
        out.extend_from_slice(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::RateLimits;
    use crate::Topic;
    use proptest::prelude::*;

    fn arb_envelope() -> impl Strategy<Value = Envelope> {
        (
            any::<u32>(),
            any::<u32>(),
            any::<[u8; 4]>(),
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<u64>(),
        )
            .prop_map(|(expiry, ttl, topic, data, nonce)| Envelope {
                expiry,
                ttl,
                topic: Topic(topic),
                data: data.into(),
                nonce,
            })
    }

    fn arb_hash() -> impl Strategy<Value = [u8; 32]> {
        any::<[u8; 32]>()
    }

    fn arb_packet() -> impl Strategy<Value = Packet> {
        let envs = || proptest::collection::vec(arb_envelope(), 0..5);
        prop_oneof![
            envs().prop_map(Packet::Messages),
            envs().prop_map(Packet::P2PMessage),
            arb_hash().prop_map(Packet::BatchAck),
            arb_envelope().prop_map(Packet::P2PRequest),
            proptest::collection::vec(any::<u8>(), 0..100)
                .prop_map(|v| Packet::P2PRequestComplete(v.into())),
            (
                arb_hash(),
                proptest::collection::vec((arb_hash(), any::<u64>(), "[a-z ]{0,60}"), 0..4)
            )
                .prop_map(|(batch_hash, errs)| Packet::MessageResponse(
                    MessageResponse {
                        batch_hash,
                        errors: errs
                            .into_iter()
                            .map(|(hash, code, description)| EnvelopeError {
                                hash,
                                code,
                                description
                            })
                            .collect()
                    }
                )),
            (2u64..1000).prop_map(Packet::UnsupportedMessageResponse),
            (any::<bool>(), any::<u64>()).prop_map(|(l, r)| Packet::StatusUpdate(StatusOptions {
                light_node: Some(l),
                packet_rate_limits: Some(RateLimits {
                    ip: r,
                    peer_id: 1,
                    topic: 2
                }),
                ..Default::default()
            })),
            (0.0f64..10.0).prop_map(|p| Packet::Status(StatusOptions {
                pow_requirement: Some(p),
                ..Default::default()
            })),
            (13u64..22).prop_map(Packet::Unknown),
        ]
    }

    fn arb_shh_packet() -> impl Strategy<Value = ShhPacket> {
        prop_oneof![
            proptest::collection::vec(arb_envelope(), 0..5).prop_map(ShhPacket::Messages),
            proptest::collection::vec(arb_envelope(), 1..4).prop_map(ShhPacket::P2PMessage),
            arb_envelope().prop_map(ShhPacket::P2PRequest),
            (0.0f64..100.0).prop_map(ShhPacket::PowRequirement),
            any::<u8>().prop_map(|b| ShhPacket::BloomFilter(Bloom([b | 1; 64]))),
            (0.0f64..1.0, any::<bool>()).prop_map(|(p, l)| ShhPacket::Status(ShhStatus {
                pow_requirement: p,
                bloom_filter: Bloom([7; 64]),
                light_node: l
            })),
            (4u64..126).prop_map(ShhPacket::Unknown),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn waku_packets_round_trip(p in arb_packet()) {
            let bytes = Bytes::from(p.to_vec());
            prop_assert_eq!(Packet::decode(p.code(), &bytes, &Limits::default()).unwrap(), p);
        }

        #[test]
        fn shh_packets_round_trip(p in arb_shh_packet()) {
            let bytes = Bytes::from(p.to_vec());
            prop_assert_eq!(ShhPacket::decode(p.code(), &bytes, &Limits::default()).unwrap(), p);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(code in 0u64..130, bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let bytes = Bytes::from(bytes);
            let _ = Packet::decode(code, &bytes, &Limits::default());
            let _ = ShhPacket::decode(code, &bytes, &Limits::default());
        }
    }

    #[test]
    fn packet_size_is_checked_before_decoding() {
        let limits = Limits {
            max_packet_size: 10,
            max_envelope_size: 10,
        };
        // 11 bytes of garbage: the size error wins over the RLP error.
        let junk = Bytes::from(vec![0xff; 11]);
        for code in [0, 1, 11, 12, 22, 125, 126, 127, 99] {
            assert_eq!(
                Packet::decode(code, &junk, &limits),
                Err(Error::PacketTooLarge { size: 11, max: 10 })
            );
        }
    }

    #[test]
    fn each_envelope_is_checked_against_the_envelope_limit() {
        let e = Envelope {
            expiry: 1,
            ttl: 1,
            topic: Topic([0; 4]),
            data: vec![0; 100].into(),
            nonce: 0,
        };
        let bytes = Bytes::from(Packet::Messages(vec![e.clone()]).to_vec());
        let limits = Limits {
            max_packet_size: 1000,
            max_envelope_size: 50,
        };
        assert!(matches!(
            Packet::decode(code::MESSAGES, &bytes, &limits),
            Err(Error::EnvelopeTooLarge { .. })
        ));
    }

    #[test]
    fn unknown_codes_are_not_errors() {
        let junk = Bytes::from_static(&[0xff, 0x00]);
        assert_eq!(
            Packet::decode(50, &junk, &Limits::default()),
            Ok(Packet::Unknown(50))
        );
        // whisper/6's codes 2 and 3 are not waku/1 codes.
        assert_eq!(
            Packet::decode(2, &junk, &Limits::default()),
            Ok(Packet::Unknown(2))
        );
    }

    #[test]
    fn shh_p2p_message_accepts_a_bare_envelope_or_a_list() {
        let e = Envelope {
            expiry: 5,
            ttl: 1,
            topic: Topic([1; 4]),
            data: vec![9; 3].into(),
            nonce: 7,
        };
        let bare = Bytes::from(e.to_vec());
        let list = Bytes::from(Packet::Messages(vec![e.clone(), e.clone()]).to_vec());
        let l = Limits::default();
        assert_eq!(
            ShhPacket::decode(127, &bare, &l).unwrap(),
            ShhPacket::P2PMessage(vec![e.clone()])
        );
        assert_eq!(
            ShhPacket::decode(127, &list, &l).unwrap(),
            ShhPacket::P2PMessage(vec![e.clone(), e])
        );
    }
}
