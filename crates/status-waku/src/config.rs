//! Settings of the Waku machine ([`crate::node::Waku`]).

use std::net::IpAddr;
use std::time::Duration;

use status_core::NodeId;

use crate::packet::Limits;
use crate::status::RateLimits;

/// What the node advertises as its interest (6/WAKU1 "Bloom Filter Field",
/// "Topic Interest Field").
///
/// What each choice puts in our Status:
///
/// ```
/// use status_core::Timestamp;
/// use status_waku::filter::Filter;
/// use status_waku::node::Waku;
/// use status_waku::{Bloom, Interest, Topic, WakuConfig};
///
/// let now = Timestamp::from_secs(1_700_000_000);
/// let topic = Topic([1, 2, 3, 4]);
/// let filter = || Filter::symmetric(vec![topic], [7; 32]);
///
/// let full = Waku::new(WakuConfig::default(), now);
/// assert_eq!(full.status_options().bloom_filter, Some(Bloom::FULL));
///
/// let config = WakuConfig { interest: Interest::Bloom, ..WakuConfig::default() };
/// let mut bloom = Waku::new(config, now);
/// bloom.subscribe(filter());
/// assert_eq!(bloom.status_options().bloom_filter, Some(Bloom::from_topic(topic)));
/// assert_eq!(bloom.status_options().topic_interest, None);
///
/// let mut light = Waku::new(WakuConfig::light(), now); // Interest::Topics
/// light.subscribe(filter());
/// assert_eq!(light.status_options().topic_interest, Some(vec![topic]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interest {
    /// Everything: the full bloom. What a relaying full node advertises.
    #[default]
    Full,
    /// The bloom of the subscribed topics (more private, less precise).
    Bloom,
    /// The exact list of subscribed topics (precise, less private; what
    /// light clients use to save bandwidth).
    Topics,
}

/// Settings of a [`crate::node::Waku`] machine. `Default` gives a relaying
/// full node with the spec's size limits and status-go's timings.
///
/// ```
/// use std::time::Duration;
/// use status_waku::{Interest, WakuConfig};
///
/// // A full node that confirms every batch and sends at the end of each
/// // call instead of every 300 ms.
/// let config = WakuConfig {
///     confirmations_enabled: true,
///     transmit_interval: Duration::ZERO,
///     ..WakuConfig::default()
/// };
/// assert_eq!(config.interest, Interest::Full);
/// assert_eq!(config.min_pow, 0.000_002);
///
/// let light = WakuConfig::light();
/// assert!(light.light_node);
/// assert_eq!(light.interest, Interest::Topics);
/// ```
#[derive(Debug, Clone)]
pub struct WakuConfig {
    /// Packet and envelope size limits (6/WAKU1 "Maximum Packet Size":
    /// 1.5 MB and 1 MB).
    pub limits: Limits,
    /// Minimum PoW of accepted envelopes, advertised in Status. Default
    /// 0.000002: what a default statusd host advertises (the status-go
    /// vectors) and the largest requirement 10/WAKU-USAGE allows for
    /// payloads of 50,000 bytes or more, so every Status message passes.
    pub min_pow: f64,
    /// Light node: never forwards envelopes from peers, only its own
    /// (6/WAKU1 "Light node").
    pub light_node: bool,
    /// Whether two light nodes drop each other ("When light nodes happen
    /// to connect to each other, they SHOULD disconnect").
    pub restrict_light_connections: bool,
    /// Send Message Response and Batch Ack for every Messages packet
    /// received (6/WAKU1 "Confirmations Enabled Field").
    pub confirmations_enabled: bool,
    /// What we advertise as our interest, and accept from peers.
    pub interest: Interest,
    /// Our limits on packets per second, per IP / peer id / topic (topic:
    /// envelopes per second); advertised and enforced. 0 = unlimited.
    pub packet_rate_limits: RateLimits,
    /// Our limits on bytes per second, likewise.
    pub bytes_rate_limits: RateLimits,
    /// Times a peer may exceed the rate limits (its packets dropped each
    /// time) before it is dropped; 0 never drops (status-go's
    /// `DropPeerRateLimiterHandler.Tolerance`).
    pub rate_limit_tolerance: u32,
    /// Peers never rate limited, by node id.
    pub rate_limit_exempt_ids: Vec<NodeId>,
    /// Peers never rate limited, by IP address.
    pub rate_limit_exempt_ips: Vec<IpAddr>,
    /// Topics tracked for topic rate limits at most; past this, envelopes
    /// of new topics are dropped until idle buckets are swept.
    pub max_topic_buckets: usize,
    /// Time a peer has to send its Status before it is dropped.
    pub status_timeout: Duration,
    /// How far in the future an envelope may have been created, and (twice
    /// this) how long after expiry it is a time-sync error rather than a
    /// silent drop (status-go `DefaultSyncAllowance`, 10 s).
    pub sync_allowance: Duration,
    /// How often queued envelopes go out as one Messages packet per peer
    /// (status-go `TransmissionCycle`, 300 ms). Zero sends at the end of
    /// every `handle_*`/`post` call.
    pub transmit_interval: Duration,
    /// Envelope hashes remembered to drop duplicates, until their expiry;
    /// past this the earliest-expiring ones are forgotten first.
    pub max_seen: usize,
    /// Envelopes kept (until expiry) to hand to peers that connect later.
    pub max_stored: usize,
    /// Bytes of envelopes kept, likewise.
    pub max_stored_bytes: usize,
    /// Events waiting for [`crate::node::Waku::poll_event`] at most; past
    /// this, messages, acknowledgements and mailserver events are dropped
    /// (and counted in `Stats::events_dropped`) rather than queued.
    pub max_events: usize,
    /// Whether a mailserver runs on this machine: P2P Requests (126) are
    /// then decoded (a malformed one drops the peer) and reported as
    /// [`crate::node::Event::P2PRequest`]. Off, they are ignored, as
    /// status-go ignores them without a registered mailserver.
    pub mailserver: bool,
}

impl Default for WakuConfig {
    fn default() -> Self {
        WakuConfig {
            limits: Limits::default(),
            min_pow: 0.000_002,
            light_node: false,
            restrict_light_connections: true,
            confirmations_enabled: false,
            interest: Interest::Full,
            packet_rate_limits: RateLimits::default(),
            bytes_rate_limits: RateLimits::default(),
            rate_limit_tolerance: 0,
            rate_limit_exempt_ids: Vec::new(),
            rate_limit_exempt_ips: Vec::new(),
            max_topic_buckets: 10_000,
            status_timeout: Duration::from_secs(10),
            sync_allowance: Duration::from_secs(10),
            transmit_interval: Duration::from_millis(300),
            max_seen: 100_000,
            max_stored: 10_000,
            max_stored_bytes: 32 << 20,
            max_events: 10_000,
            mailserver: false,
        }
    }
}

impl WakuConfig {
    /// A light client: forwards nothing and advertises the exact topics
    /// it subscribes to.
    pub fn light() -> Self {
        WakuConfig {
            light_node: true,
            interest: Interest::Topics,
            ..WakuConfig::default()
        }
    }
}
