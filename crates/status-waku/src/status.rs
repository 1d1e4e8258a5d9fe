//! The waku/1 status options (6/WAKU1 "Status", "Status Update";
//! 10/WAKU-USAGE "Status") and the whisper/6 status (EIP-627 "Status").
//!
//! waku/1 sends its settings as an association list of `[key, value]`
//! pairs, in the Status packet (code 0, the handshake) and in Status Update
//! packets (code 22):
//!
//! | key | option | value |
//! | --- | --- | --- |
//! | 0 | PoW requirement | IEEE-754 bits of an f64, as a u64 |
//! | 1 | bloom filter | 64 bytes |
//! | 2 | light node | bool |
//! | 3 | confirmations enabled | bool |
//! | 4 | packet rate limits | `[ip, peer id, topic]` |
//! | 5 | topic interest | up to 10,000 4-byte topics |
//! | 6 | bytes rate limits | `[ip, peer id, topic]` |
//!
//! Every option is optional, the order is not relied on, and unknown keys
//! are skipped (6/WAKU1 "Status"). Encoding follows status-go
//! (`waku/v1/statusoptions.go`): present options in key order.

use crate::rlp_strict::{self, Item, ListIter};
use crate::{Bloom, Error, Topic};

/// Status option keys (6/WAKU1 ABNF `*-key`).
pub mod key {
    /// `pow-requirement-key`.
    pub const POW_REQUIREMENT: u64 = 0;
    /// `bloom-filter-key`.
    pub const BLOOM_FILTER: u64 = 1;
    /// `light-node-key`.
    pub const LIGHT_NODE: u64 = 2;
    /// `confirmations-enabled-key`.
    pub const CONFIRMATIONS_ENABLED: u64 = 3;
    /// `packet-rate-limits-key`.
    pub const PACKET_RATE_LIMITS: u64 = 4;
    /// `topic-interest-key`.
    pub const TOPIC_INTEREST: u64 = 5;
    /// `bytes-rate-limits-key`.
    pub const BYTES_RATE_LIMITS: u64 = 6;
}

/// Most topics a topic-interest option may carry (6/WAKU1 `*10000topic`).
pub const MAX_TOPIC_INTEREST: usize = 10_000;

/// Rate limits a node applies to what it receives, per second
/// (6/WAKU1 "Rate Limits Field"); 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RateLimits {
    /// Limit per remote IP address.
    pub ip: u64,
    /// Limit per remote peer id.
    pub peer_id: u64,
    /// Limit per envelope topic.
    pub topic: u64,
}

impl RateLimits {
    /// Whether no limit is set.
    pub fn is_zero(&self) -> bool {
        *self == RateLimits::default()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let p = rlp_strict::uint_len(self.ip)
            + rlp_strict::uint_len(self.peer_id)
            + rlp_strict::uint_len(self.topic);
        let mut w = |b: &[u8]| out.extend_from_slice(b);
        rlp_strict::write_header(p, 0xc0, &mut w);
        rlp_strict::write_uint(self.ip, &mut w);
        rlp_strict::write_uint(self.peer_id, &mut w);
        rlp_strict::write_uint(self.topic, &mut w);
    }

    /// Exactly three integers, as go-ethereum decodes status-go's
    /// `RateLimits` struct.
    fn decode(item: Item<'_>) -> Result<RateLimits, Error> {
        let mut it = ListIter::new(item)?;
        let limits = RateLimits {
            ip: it.next_item()?.uint()?,
            peer_id: it.next_item()?.uint()?,
            topic: it.next_item()?.uint()?,
        };
        it.finish()?;
        Ok(limits)
    }
}

/// The waku/1 status options: the payload of Status (0) and Status Update
/// (22). `None` means "not sent": in a Status Update, unchanged.
///
/// ```
/// use status_waku::{Bloom, Error, StatusOptions, Topic};
///
/// let options = StatusOptions {
///     pow_requirement: Some(0.002),
///     light_node: Some(true),
///     topic_interest: Some(vec![Topic([1, 2, 3, 4])]),
///     ..StatusOptions::default()
/// };
/// assert_eq!(StatusOptions::decode(&options.to_vec())?, options);
///
/// // `[]`: a Status Update that changes nothing.
/// assert!(StatusOptions::decode(&[0xc0])?.is_empty());
/// // `[[1, ""]]`: an empty bloom is a full node's, as status-go reads it.
/// assert_eq!(StatusOptions::decode(&[0xc3, 0xc2, 0x01, 0x80])?.bloom_filter, Some(Bloom::FULL));
/// // `[[1, <3 bytes>]]`: any other length is an error.
/// assert_eq!(
///     StatusOptions::decode(&[0xc6, 0xc5, 0x01, 0x83, 1, 2, 3]),
///     Err(Error::InvalidBloomLength(3))
/// );
/// // Decoding checks the shape; `validate` the values.
/// let nan = StatusOptions { pow_requirement: Some(f64::NAN), ..StatusOptions::default() };
/// let decoded = StatusOptions::decode(&nan.to_vec())?;
/// assert_eq!(decoded.validate(), Err(Error::InvalidPowRequirement));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusOptions {
    /// Minimum PoW the sender accepts (sent as the f64's IEEE-754 bits).
    pub pow_requirement: Option<f64>,
    /// Topics the sender wants, as a bloom filter.
    ///
    /// An empty byte string on the wire decodes as [`Bloom::FULL`]: status-go
    /// (`isFullNode`) treats an empty bloom as a full node.
    pub bloom_filter: Option<Bloom>,
    /// Whether the sender is a light node (forwards nothing).
    pub light_node: Option<bool>,
    /// Whether the sender sends message confirmations.
    pub confirmations_enabled: Option<bool>,
    /// The sender's limits on packets per second.
    pub packet_rate_limits: Option<RateLimits>,
    /// Topics the sender wants; takes precedence over the bloom filter.
    /// An empty list means "nothing".
    pub topic_interest: Option<Vec<Topic>>,
    /// The sender's limits on bytes per second.
    pub bytes_rate_limits: Option<RateLimits>,
}

impl StatusOptions {
    /// Whether no option is set (a Status Update without options is a
    /// no-op, 6/WAKU1 "Status Update").
    pub fn is_empty(&self) -> bool {
        *self == StatusOptions::default()
    }

    /// Appends the RLP association list to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        let mut pair = |key: u64, value: &dyn Fn(&mut Vec<u8>)| {
            let mut v = Vec::new();
            value(&mut v);
            let p = rlp_strict::uint_len(key) + v.len();
            let mut w = |b: &[u8]| body.extend_from_slice(b);
            rlp_strict::write_header(p, 0xc0, &mut w);
            rlp_strict::write_uint(key, &mut w);
            body.extend_from_slice(&v);
        };
        if let Some(pow) = self.pow_requirement {
            pair(key::POW_REQUIREMENT, &|v| {
                rlp_strict::write_uint(pow.to_bits(), &mut |b| v.extend_from_slice(b))
            });
        }
        if let Some(bloom) = &self.bloom_filter {
            pair(key::BLOOM_FILTER, &|v| {
                rlp_strict::write_bytes(&bloom.0, &mut |b| v.extend_from_slice(b))
            });
        }
        if let Some(light) = self.light_node {
            pair(key::LIGHT_NODE, &|v| {
                rlp_strict::write_uint(u64::from(light), &mut |b| v.extend_from_slice(b))
            });
        }
        if let Some(conf) = self.confirmations_enabled {
            pair(key::CONFIRMATIONS_ENABLED, &|v| {
                rlp_strict::write_uint(u64::from(conf), &mut |b| v.extend_from_slice(b))
            });
        }
        if let Some(limits) = &self.packet_rate_limits {
            pair(key::PACKET_RATE_LIMITS, &|v| limits.encode(v));
        }
        if let Some(topics) = &self.topic_interest {
            pair(key::TOPIC_INTEREST, &|v| {
                let mut w = |b: &[u8]| v.extend_from_slice(b);
                rlp_strict::write_header(topics.len() * 5, 0xc0, &mut w);
                for t in topics {
                    rlp_strict::write_bytes(&t.0, &mut w);
                }
            });
        }
        if let Some(limits) = &self.bytes_rate_limits {
            pair(key::BYTES_RATE_LIMITS, &|v| limits.encode(v));
        }
        rlp_strict::write_header(body.len(), 0xc0, &mut |b| out.extend_from_slice(b));
        out.extend_from_slice(&body);
    }

    /// The RLP association list in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// Decodes an association list.
    ///
    /// Unknown keys are skipped whatever their value (6/WAKU1: "Unknown keys
    /// in the association list SHOULD be ignored"; status-go stops parsing at
    /// the first unknown key instead, which the spec does not ask for). A
    /// repeated key overrides the earlier one, as in status-go. Known keys
    /// must be `[key, value]` pairs of the right type; a bloom filter must
    /// be 0 or 64 bytes and topic interest at most [`MAX_TOPIC_INTEREST`]
    /// topics (checked while decoding, so a hostile list allocates nothing
    /// beyond that). Bytes after the list are ignored, like go-ethereum's
    /// `Msg.Decode`.
    pub fn decode(bytes: &[u8]) -> Result<StatusOptions, Error> {
        let (item, _trailing) = rlp_strict::split_item(bytes)?;
        let mut pairs = ListIter::new(item)?;
        let mut o = StatusOptions::default();
        while let Some(pair) = pairs.next_opt()? {
            let mut it = ListIter::new(pair)?;
            let k = it.next_item()?.uint()?;
            match k {
                key::POW_REQUIREMENT => {
                    o.pow_requirement = Some(f64::from_bits(it.next_item()?.uint()?))
                }
                key::BLOOM_FILTER => o.bloom_filter = Some(decode_bloom(it.next_item()?)?),
                key::LIGHT_NODE => o.light_node = Some(it.next_item()?.boolean()?),
                key::CONFIRMATIONS_ENABLED => {
                    o.confirmations_enabled = Some(it.next_item()?.boolean()?)
                }
                key::PACKET_RATE_LIMITS => {
                    o.packet_rate_limits = Some(RateLimits::decode(it.next_item()?)?)
                }
                key::TOPIC_INTEREST => {
                    o.topic_interest = Some(decode_topics(it.next_item()?)?);
                }
                key::BYTES_RATE_LIMITS => {
                    o.bytes_rate_limits = Some(RateLimits::decode(it.next_item()?)?)
                }
                _ => continue,
            }
            it.finish()?;
        }
        Ok(o)
    }

    /// Checks what status-go's `setOptions` checks before applying options:
    /// a PoW requirement that is a finite, non-negative number.
    pub fn validate(&self) -> Result<(), Error> {
        match self.pow_requirement {
            Some(p) if !p.is_finite() || p < 0.0 => Err(Error::InvalidPowRequirement),
            _ => Ok(()),
        }
    }
}

/// A bloom of 64 bytes, or an empty string meaning "full node".
pub(crate) fn decode_bloom(item: Item<'_>) -> Result<Bloom, Error> {
    let b = item.bytes()?;
    if b.is_empty() {
        return Ok(Bloom::FULL);
    }
    Bloom::from_slice(b).ok_or(Error::InvalidBloomLength(b.len()))
}

fn decode_topics(item: Item<'_>) -> Result<Vec<Topic>, Error> {
    let mut it = ListIter::new(item)?;
    // Each topic takes 5 bytes: bound the allocation by the input.
    let mut topics = Vec::with_capacity((item.payload.len() / 5).min(MAX_TOPIC_INTEREST));
    while let Some(t) = it.next_opt()? {
        if topics.len() == MAX_TOPIC_INTEREST {
            return Err(Error::TooManyTopics {
                max: MAX_TOPIC_INTEREST,
            });
        }
        let b = t.bytes()?;
        topics.push(Topic::from_slice(b).ok_or(Error::InvalidTopicLength(b.len()))?);
    }
    Ok(topics)
}

/// Protocol version carried by the whisper/6 Status packet.
pub const SHH_VERSION: u64 = 6;

/// The whisper/6 (shh) Status packet: `[version, pow, bloom, light]`
/// (EIP-627 "Status"; go-ethereum `whisperv6/peer.go` handshake).
///
/// Only the version is mandatory. A missing PoW is 0 (go-ethereum's initial
/// requirement), a missing or empty bloom is a full node, a missing light
/// flag is false.
#[derive(Debug, Clone, PartialEq)]
pub struct ShhStatus {
    /// Minimum PoW the sender accepts.
    pub pow_requirement: f64,
    /// Topics the sender wants.
    pub bloom_filter: Bloom,
    /// Whether the sender is a light node.
    pub light_node: bool,
}

impl Default for ShhStatus {
    fn default() -> Self {
        ShhStatus {
            pow_requirement: 0.0,
            bloom_filter: Bloom::FULL,
            light_node: false,
        }
    }
}

impl ShhStatus {
    /// Appends `[6, pow bits, bloom, light]`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let bits = self.pow_requirement.to_bits();
        let p = 1 + rlp_strict::uint_len(bits) + 2 + 64 + 1;
        let mut w = |b: &[u8]| out.extend_from_slice(b);
        rlp_strict::write_header(p, 0xc0, &mut w);
        rlp_strict::write_uint(SHH_VERSION, &mut w);
        rlp_strict::write_uint(bits, &mut w);
        rlp_strict::write_bytes(&self.bloom_filter.0, &mut w);
        rlp_strict::write_uint(u64::from(self.light_node), &mut w);
    }

    /// Decodes a whisper/6 Status; fails on a version other than 6 (as
    /// go-ethereum does). Items after the light flag are ignored.
    pub fn decode(bytes: &[u8]) -> Result<ShhStatus, Error> {
        let (item, _trailing) = rlp_strict::split_item(bytes)?;
        let mut it = ListIter::new(item)?;
        let version = it.next_item()?.uint()?;
        if version != SHH_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let mut s = ShhStatus::default();
        if let Some(pow) = it.next_opt()? {
            s.pow_requirement = f64::from_bits(pow.uint()?);
            if let Some(bloom) = it.next_opt()? {
                s.bloom_filter = decode_bloom(bloom)?;
                if let Some(light) = it.next_opt()? {
                    s.light_node = light.boolean()?;
                }
            }
        }
        Ok(s)
    }

    /// The same settings as waku/1 status options.
    pub fn to_options(&self) -> StatusOptions {
        StatusOptions {
            pow_requirement: Some(self.pow_requirement),
            bloom_filter: Some(self.bloom_filter),
            light_node: Some(self.light_node),
            ..StatusOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_limits() -> impl Strategy<Value = RateLimits> {
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(ip, peer_id, topic)| RateLimits {
            ip,
            peer_id,
            topic,
        })
    }

    pub(crate) fn arb_options() -> impl Strategy<Value = StatusOptions> {
        (
            proptest::option::of(0.0f64..1e9),
            proptest::option::of(proptest::array::uniform32(any::<u8>())),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(arb_limits()),
            proptest::option::of(proptest::collection::vec(any::<[u8; 4]>(), 0..40)),
            proptest::option::of(arb_limits()),
        )
            .prop_map(
                |(pow, bloom, light, conf, plim, topics, blim)| StatusOptions {
                    pow_requirement: pow,
                    bloom_filter: bloom.map(|h| {
                        let mut b = [0u8; 64];
                        b[..32].copy_from_slice(&h);
                        b[32..].copy_from_slice(&h);
                        Bloom(b)
                    }),
                    light_node: light,
                    confirmations_enabled: conf,
                    packet_rate_limits: plim,
                    topic_interest: topics.map(|t| t.into_iter().map(Topic).collect()),
                    bytes_rate_limits: blim,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn options_round_trip(o in arb_options()) {
            let bytes = o.to_vec();
            prop_assert_eq!(StatusOptions::decode(&bytes).unwrap(), o);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = StatusOptions::decode(&bytes);
            let _ = ShhStatus::decode(&bytes);
        }

        #[test]
        fn shh_status_round_trips(pow in 0.0f64..1e9, light in any::<bool>(), byte in any::<u8>()) {
            let s = ShhStatus { pow_requirement: pow, bloom_filter: Bloom([byte; 64]), light_node: light };
            let mut v = Vec::new();
            s.encode(&mut v);
            prop_assert_eq!(ShhStatus::decode(&v).unwrap(), s);
        }
    }

    #[test]
    fn unknown_keys_are_ignored_wherever_they_are() {
        // [[9, [1, 2]], [2, 1], [200, 0x80, 0x80], [3, 1]]
        let bytes = hex::decode("d0c409c20102c20201c481c88080c20301").unwrap();
        let o = StatusOptions::decode(&bytes).unwrap();
        assert_eq!(o.light_node, Some(true));
        assert_eq!(o.confirmations_enabled, Some(true));
    }

    #[test]
    fn order_is_not_relied_on() {
        let a = StatusOptions::decode(&hex::decode("c6c20301c20201").unwrap()).unwrap();
        let b = StatusOptions::decode(&hex::decode("c6c20201c20301").unwrap()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.light_node, Some(true));
    }

    #[test]
    fn topic_interest_is_bounded_to_ten_thousand() {
        let ok = StatusOptions {
            topic_interest: Some(vec![Topic([1, 2, 3, 4]); MAX_TOPIC_INTEREST]),
            ..Default::default()
        };
        assert!(StatusOptions::decode(&ok.to_vec()).is_ok());
        let too_many = StatusOptions {
            topic_interest: Some(vec![Topic([1, 2, 3, 4]); MAX_TOPIC_INTEREST + 1]),
            ..Default::default()
        };
        assert_eq!(
            StatusOptions::decode(&too_many.to_vec()),
            Err(Error::TooManyTopics {
                max: MAX_TOPIC_INTEREST
            })
        );
    }

    #[test]
    fn empty_bloom_means_full_node_and_other_sizes_fail() {
        // [[1, ""]]
        let o = StatusOptions::decode(&hex::decode("c3c20180").unwrap()).unwrap();
        assert_eq!(o.bloom_filter, Some(Bloom::FULL));
        // [[1, 0x0102]]
        assert_eq!(
            StatusOptions::decode(&hex::decode("c5c401820102").unwrap()),
            Err(Error::InvalidBloomLength(2))
        );
    }

    #[test]
    fn bad_pow_requirements_fail_validation() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0] {
            let o = StatusOptions {
                pow_requirement: Some(bad),
                ..Default::default()
            };
            let decoded = StatusOptions::decode(&o.to_vec()).unwrap();
            assert_eq!(decoded.validate(), Err(Error::InvalidPowRequirement));
        }
    }

    #[test]
    fn shh_status_with_only_a_version_is_a_full_node() {
        let s = ShhStatus::decode(&[0xc1, 0x06]).unwrap();
        assert_eq!(s, ShhStatus::default());
        assert_eq!(
            ShhStatus::decode(&[0xc1, 0x05]),
            Err(Error::UnsupportedVersion(5))
        );
    }
}
