//! One connected peer as the Waku machine sees it: its handshake state and
//! its view (what it asked for in Status and Status Update).

use std::net::IpAddr;

use bytes::Bytes;
use status_core::{NodeId, Timestamp};

use crate::rate_limit::Limiter;
use crate::status::{RateLimits, StatusOptions};
use crate::{Bloom, Topic};

/// Identifies a peer of a [`crate::node::Waku`] machine; assigned by
/// [`crate::node::Waku::add_peer`], never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u64);

/// The subprotocol a peer speaks: both carry the same envelopes, so one
/// node bridges them (6/WAKU1 "Waku-Whisper bridging").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `waku/1` (6/WAKU1).
    Waku1,
    /// `shh/6`, Whisper v6 (EIP-627).
    Shh6,
}

impl Protocol {
    /// The RLPx capability name: `"waku"` or `"shh"`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Waku1 => "waku",
            Protocol::Shh6 => "shh",
        }
    }

    /// The RLPx capability version: 1 or 6.
    pub fn version(self) -> u32 {
        match self {
            Protocol::Waku1 => 1,
            Protocol::Shh6 => 6,
        }
    }
}

/// status-go's PoW requirement for a peer whose Status omits it
/// (`defaultMinPoW` in `StatusOptions.WithDefaults`).
pub const DEFAULT_PEER_POW: f64 = 0.001;

/// What a peer asked for: the routing decision for every envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerView {
    /// Minimum PoW it accepts: weaker envelopes are never sent to it.
    pub pow_requirement: f64,
    /// Its bloom filter (used when `topic_interest` is `None`).
    pub bloom: Bloom,
    /// Its exact topics, sorted; takes precedence over `bloom`. Empty:
    /// wants nothing.
    pub topic_interest: Option<Vec<Topic>>,
    /// Whether it is a light node.
    pub light_node: bool,
    /// Whether it sends confirmations.
    pub confirmations_enabled: bool,
    /// Its packet rate limits (we stay under its per-peer-id limit).
    pub packet_rate_limits: RateLimits,
    /// Its byte rate limits, likewise.
    pub bytes_rate_limits: RateLimits,
}

impl Default for PeerView {
    /// What status-go assumes of a peer before its Status: full node,
    /// requirement 0.001, no limits.
    fn default() -> Self {
        PeerView {
            pow_requirement: DEFAULT_PEER_POW,
            bloom: Bloom::FULL,
            topic_interest: None,
            light_node: false,
            confirmations_enabled: false,
            packet_rate_limits: RateLimits::default(),
            bytes_rate_limits: RateLimits::default(),
        }
    }
}

impl PeerView {
    /// Applies Status / Status Update options with the 6/WAKU1 semantics:
    /// omitted fields are unchanged; topic interest replaces the bloom (and
    /// wins if both are sent); a bloom alone replaces the topic interest.
    /// Call [`StatusOptions::validate`] first.
    pub fn apply(&mut self, o: &StatusOptions) {
        if let Some(p) = o.pow_requirement {
            self.pow_requirement = p;
        }
        if let Some(topics) = &o.topic_interest {
            let mut t = topics.clone();
            t.sort_unstable();
            t.dedup();
            self.topic_interest = Some(t);
        } else if let Some(b) = o.bloom_filter {
            self.bloom = b;
            self.topic_interest = None;
        }
        if let Some(l) = o.light_node {
            self.light_node = l;
        }
        if let Some(c) = o.confirmations_enabled {
            self.confirmations_enabled = c;
        }
        if let Some(r) = o.packet_rate_limits {
            self.packet_rate_limits = r;
        }
        if let Some(r) = o.bytes_rate_limits {
            self.bytes_rate_limits = r;
        }
    }

    /// Whether an envelope on `topic` (whose bloom is `topic_bloom`) with
    /// `pow` may be sent to this peer.
    pub fn wants(&self, topic: Topic, topic_bloom: &Bloom, pow: f64) -> bool {
        if pow < self.pow_requirement {
            return false;
        }
        match &self.topic_interest {
            Some(t) => t.binary_search(&topic).is_ok(),
            None => self.bloom.contains(topic_bloom),
        }
    }

    /// [`PeerView::wants`] with the topic's bloom reduced to its set bytes.
    #[inline]
    pub(crate) fn wants_probe(&self, topic: Topic, probe: &BloomProbe, pow: f64) -> bool {
        if pow < self.pow_requirement {
            return false;
        }
        match &self.topic_interest {
            Some(t) => t.binary_search(&topic).is_ok(),
            None => probe.within(&self.bloom),
        }
    }
}

/// A topic's bloom as its (at most 3) non-zero bytes: checking a peer's
/// filter then reads 3 bytes instead of 64, with the same answer as
/// [`Bloom::contains`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct BloomProbe {
    /// (byte index < 64, bit) per topic byte; a bit of 0 checks nothing.
    at: [(u8, u8); 3],
}

impl BloomProbe {
    /// The probe of `topic`'s bloom, computed from the topic without
    /// building the 64-byte bloom ([`Bloom::from_topic`]).
    #[inline]
    pub(crate) fn of(topic: Topic) -> Self {
        let [a, b, c] = crate::bloom::topic_bits(topic);
        // a later index in the same byte replaces the earlier bit, as in
        // `Bloom::from_topic` (status-go assigns, it does not OR)
        let keep = |(byte, bit): (u8, u8), later: &[(u8, u8)]| {
            if later.iter().any(|l| l.0 == byte) {
                (byte, 0)
            } else {
                (byte, bit)
            }
        };
        BloomProbe {
            at: [keep(a, &[b, c]), keep(b, &[c]), c],
        }
    }

    #[inline]
    pub(crate) fn within(&self, filter: &Bloom) -> bool {
        self.at
            .iter()
            .all(|&(i, b)| filter.0.get(usize::from(i)).is_some_and(|f| f & b == b))
    }
}

/// Handshake progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handshake {
    /// Our Status is out; theirs must come before `deadline`.
    AwaitingStatus { deadline: Timestamp },
    /// Status exchanged.
    Ready,
}

/// A peer's state inside the machine.
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) id: PeerId,
    pub(crate) node_id: NodeId,
    pub(crate) ip: Option<IpAddr>,
    pub(crate) protocol: Protocol,
    pub(crate) handshake: Handshake,
    pub(crate) view: PeerView,
    pub(crate) trusted: bool,
    /// Exempt from our rate limits.
    pub(crate) exempt: bool,
    /// Inbound limits for this peer id.
    pub(crate) inbound: Limiter,
    /// Times it exceeded our limits.
    pub(crate) exceeded: u32,
    /// Outbound limiter honouring its advertised per-peer-id limits.
    pub(crate) outbound: Limiter,
    /// Envelopes waiting for the next Messages packet to it: indices into
    /// the machine's batch of this transmission cycle (no per-peer copy or
    /// refcount), then envelopes carried over a cycle it was throttled in.
    pub(crate) pending: Vec<u32>,
    pub(crate) carry: Vec<Bytes>,
    pub(crate) pending_bytes: usize,
    /// Packets received before its Status (ignored).
    pub(crate) ignored_before_status: u64,
}

impl Peer {
    pub(crate) fn is_ready(&self) -> bool {
        self.handshake == Handshake::Ready
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty() || !self.carry.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_agrees_with_bloom_contains() {
        let filters = [
            Bloom::FULL,
            Bloom::EMPTY,
            Bloom::from_topics(&[Topic([1, 2, 3, 4]), Topic([0xf8, 0x94, 0x6a, 0xac])]),
            Bloom([0x55; 64]),
        ];
        for t in 0..2000u32 {
            let topic = Topic((t.wrapping_mul(2_654_435_761)).to_be_bytes());
            let probe = BloomProbe::of(topic);
            let sample = Bloom::from_topic(topic);
            for f in &filters {
                assert_eq!(probe.within(f), f.contains(&sample), "{topic:?}");
            }
        }
    }
}
