//! The PeerPool: keeps an optimal number of peers per topic and starts or
//! suspends discovery (1/CLIENT, "Discovery").
//!
//! 1/CLIENT: "For mobile nodes, there is no significant advantage to have
//! more than 2-3 peers and one Mailserver. PeerPool can notify peers
//! discovery protocol implementations that they should suspend their
//! execution because the optimal number of peers is found. They should
//! resume if the number of connected peers drops or a Mailserver
//! disconnects." and "Discovered peers can be cached [...] there might be
//! no need to even start peers discovery protocols because cached peers will
//! satisfy the optimal number of peers."
//!
//! The pool makes decisions ([`Decision`]) that the node carries out:
//! dial or drop a peer, start, speed up/slow down, or stop the search for a
//! topic (over discv5, rendezvous or DNS lists, as the node has them). It
//! follows status-go v0.55.1 `peers/peerpool.go` and `peers/topicpool.go`:
//!
//! - a topic search starts in *fast* mode (one query every
//!   [`Config::fast_sync`], 3 s) while below `min`, switches to *slow* mode
//!   ([`Config::slow_sync`], 30 s) when `min` is reached or after
//!   [`Config::fast_mode_timeout`] (30 s);
//! - when a topic reaches `max` (and [`Config::allow_stop`]), its search
//!   stops after [`Config::stop_search_delay`] (10 s); all discovery stops
//!   after [`Config::discovery_timeout`] (3 min) in any case;
//! - a dropped peer is replaced from the discovered candidates (discovered
//!   less than [`Config::expiration`], 60 min, ago), and the search restarts
//!   if the topic falls below `min`;
//! - on start, peers from the [`PeerCache`] are dialled first (status-go
//!   asks the cache for 5 per topic); a peer enters the cache when a dial to
//!   it succeeds and leaves it when it drops.
//!
//! Departures from status-go, on purpose: static nodes belong to a topic,
//! are dialled first, re-dialled after back-off and never dropped for a
//! discovered peer (status-go hands them to the p2p server apart from the
//! pool); a topic never has more than `max` dials and connections together
//! (status-go dials every found peer and drops the excess once connected);
//! failing peers back off exponentially ([`Config::backoff_base`] doubling
//! up to [`Config::backoff_max`]) and are forgotten after
//! [`Config::max_dial_failures`]; discovery is not started at all when the
//! cache and static nodes already give every topic its `min`.
//!
//! Run loop: after `start`, every `handle_*` and `handle_timeout`, drain
//! [`PeerPool::poll_decision`], then sleep until [`PeerPool::poll_timeout`].
//!
//! ```
//! use status_core::{Enode, SecretKey, Timestamp};
//! use status_discovery::peerpool::{
//!     Config, Decision, MemoryPeerCache, PeerPool, SearchMode, MAILSERVER_TOPIC,
//! };
//!
//! let now = Timestamp::from_secs(1_700_000_000);
//! let mut pool = PeerPool::new(Config::default(), MemoryPeerCache::default())?;
//! pool.start(now);
//! // Nothing cached: search both topics, fast.
//! while let Some(d) = pool.poll_decision() {
//!     assert!(matches!(d, Decision::StartDiscovery { mode: SearchMode::Fast, .. }));
//! }
//! // Discovery (discv5, rendezvous, DNS) finds a mailserver: dial it.
//! let key = SecretKey::from_bytes(&[1; 32])?;
//! let mailserver = Enode::new(&key.public_key(), "10.0.0.1:30303".parse().unwrap());
//! pool.handle_found(now, MAILSERVER_TOPIC, mailserver)?;
//! assert_eq!(
//!     pool.poll_decision(),
//!     Some(Decision::Dial { topic: MAILSERVER_TOPIC.into(), enode: mailserver })
//! );
//! // Connected: the topic has its one mailserver, its search slows down
//! // (and stops 10 s later).
//! pool.handle_connected(now, &mailserver.id);
//! assert!(matches!(
//!     pool.poll_decision(),
//!     Some(Decision::StartDiscovery { mode: SearchMode::Slow, .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use status_core::{Enode, NodeId, Timestamp};

use crate::Error;

/// Topic under which Status relay (Whisper/Waku) nodes register (1/CLIENT).
pub const WHISPER_TOPIC: &str = "whisper";
/// Topic under which Status mailservers register (1/CLIENT).
pub const MAILSERVER_TOPIC: &str = "whispermail";

/// How many peers a topic wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Below this, the search runs in fast mode.
    pub min: usize,
    /// Never more than this many connected (plus dialling).
    pub max: usize,
}

/// One topic's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    /// The discovery topic ([`WHISPER_TOPIC`], [`MAILSERVER_TOPIC`], ...).
    pub name: String,
    /// Its peer limits.
    pub limits: Limits,
    /// Nodes always dialled first for this topic and never dropped for a
    /// discovered one.
    pub static_nodes: Vec<Enode>,
}

/// How fast a topic search should query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// Aggressive search: below `min`.
    Fast,
    /// Background search: `min` reached, or fast mode timed out.
    Slow,
}

/// What the pool wants the node to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    /// Connect to this peer for `topic`; answer with
    /// [`PeerPool::handle_connected`] or [`PeerPool::handle_dial_failed`].
    Dial {
        /// The topic the peer serves.
        topic: String,
        /// Where to dial.
        enode: Enode,
    },
    /// Disconnect this peer (a topic is over its `max`).
    Drop {
        /// The topic it was connected for.
        topic: String,
        /// The peer.
        enode: Enode,
    },
    /// Start searching `topic` (or change the search speed): one query
    /// every `period`.
    StartDiscovery {
        /// The topic to search.
        topic: String,
        /// Fast or slow.
        mode: SearchMode,
        /// Query period for that mode.
        period: Duration,
    },
    /// Suspend the search for `topic`.
    StopDiscovery {
        /// The topic.
        topic: String,
    },
}

/// Where discovered peers persist between runs (status-go keeps them in
/// LevelDB); consulted first on start.
pub trait PeerCache {
    /// Remembers `enode` as a good peer for `topic`.
    fn add_peer(&mut self, topic: &str, enode: &Enode);
    /// Forgets the peer `id` for `topic`.
    fn remove_peer(&mut self, topic: &str, id: &NodeId);
    /// Up to `limit` cached peers for `topic`.
    fn peers(&self, topic: &str, limit: usize) -> Vec<Enode>;
}

/// A bounded in-memory [`PeerCache`]: at most `capacity` peers per topic,
/// the oldest forgotten first.
#[derive(Debug, Clone)]
pub struct MemoryPeerCache {
    capacity: usize,
    topics: BTreeMap<String, VecDeque<Enode>>,
}

impl MemoryPeerCache {
    /// A cache holding up to `capacity` peers per topic.
    pub fn new(capacity: usize) -> Self {
        MemoryPeerCache {
            capacity,
            topics: BTreeMap::new(),
        }
    }
}

impl Default for MemoryPeerCache {
    fn default() -> Self {
        Self::new(64)
    }
}

impl PeerCache for MemoryPeerCache {
    fn add_peer(&mut self, topic: &str, enode: &Enode) {
        if self.capacity == 0 {
            return;
        }
        let list = self.topics.entry(topic.to_owned()).or_default();
        list.retain(|e| e.id != enode.id);
        if list.len() >= self.capacity {
            list.pop_front();
        }
        list.push_back(*enode);
    }

    fn remove_peer(&mut self, topic: &str, id: &NodeId) {
        if let Some(list) = self.topics.get_mut(topic) {
            list.retain(|e| e.id != *id);
        }
    }

    fn peers(&self, topic: &str, limit: usize) -> Vec<Enode> {
        self.topics
            .get(topic)
            .map(|l| l.iter().rev().take(limit).copied().collect())
            .unwrap_or_default()
    }
}

/// PeerPool configuration. Defaults are status-go's and 1/CLIENT's mobile
/// numbers.
#[derive(Debug, Clone)]
pub struct Config {
    /// Topics and their limits. Default: [`WHISPER_TOPIC`] 2..=3 and
    /// [`MAILSERVER_TOPIC`] 1..=1 (1/CLIENT: "2-3 peers and one
    /// Mailserver").
    pub topics: Vec<TopicConfig>,
    /// Query period in fast mode (status-go `DefaultFastSync`, 3 s).
    pub fast_sync: Duration,
    /// Query period in slow mode (status-go `DefaultSlowSync`, 30 s).
    pub slow_sync: Duration,
    /// Fast mode lasts at most this long (`DefaultTopicFastModeTimeout`).
    pub fast_mode_timeout: Duration,
    /// Whether searches stop when topics are full (status-go `AllowStop`;
    /// on for mobile).
    pub allow_stop: bool,
    /// Delay between reaching `max` and stopping the topic search
    /// (`DefaultTopicStopSearchDelay`, 10 s).
    pub stop_search_delay: Duration,
    /// All discovery stops this long after it started, full or not
    /// (`DefaultDiscV5Timeout`, 3 min; only with `allow_stop`).
    pub discovery_timeout: Duration,
    /// A discovered peer stays dialable this long (`expirationPeriod`).
    pub expiration: Duration,
    /// Cached peers asked for per topic on start (status-go: 5).
    pub cache_peers_on_start: usize,
    /// Most candidates remembered per topic.
    pub max_candidates: usize,
    /// A dial not answered in this time counts as failed.
    pub dial_timeout: Duration,
    /// First back-off after a failure; doubles with each further one.
    pub backoff_base: Duration,
    /// Longest back-off.
    pub backoff_max: Duration,
    /// A discovered peer that failed this many times in a row is forgotten
    /// (static nodes never are).
    pub max_dial_failures: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            topics: vec![
                TopicConfig {
                    name: WHISPER_TOPIC.into(),
                    limits: Limits { min: 2, max: 3 },
                    static_nodes: Vec::new(),
                },
                TopicConfig {
                    name: MAILSERVER_TOPIC.into(),
                    limits: Limits { min: 1, max: 1 },
                    static_nodes: Vec::new(),
                },
            ],
            fast_sync: Duration::from_secs(3),
            slow_sync: Duration::from_secs(30),
            fast_mode_timeout: Duration::from_secs(30),
            allow_stop: true,
            stop_search_delay: Duration::from_secs(10),
            discovery_timeout: Duration::from_secs(3 * 60),
            expiration: Duration::from_secs(60 * 60),
            cache_peers_on_start: 5,
            max_candidates: 64,
            dial_timeout: Duration::from_secs(30),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(10 * 60),
            max_dial_failures: 5,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    enode: Enode,
    is_static: bool,
}

#[derive(Debug)]
struct TopicState {
    name: String,
    limits: Limits,
    static_nodes: Vec<Enode>,
    connected: BTreeMap<NodeId, Peer>,
    /// Dials in flight and their deadlines.
    dialing: BTreeMap<NodeId, (Peer, Timestamp)>,
    /// Peers we asked to drop and whose disconnect is not yet confirmed.
    dismissed: BTreeMap<NodeId, Peer>,
    /// Discovered peers, most recent last, with when they were found.
    candidates: VecDeque<(Enode, Timestamp)>,
    search: Option<SearchMode>,
    fast_until: Option<Timestamp>,
    stop_at: Option<Timestamp>,
}

impl TopicState {
    fn occupied(&self) -> usize {
        self.connected.len() + self.dialing.len()
    }

    fn below_min(&self) -> bool {
        self.connected.len() < self.limits.min
    }

    fn knows(&self, id: &NodeId) -> bool {
        self.connected.contains_key(id) || self.dialing.contains_key(id)
    }
}

#[derive(Debug, Clone, Copy)]
struct Backoff {
    failures: u32,
    until: Timestamp,
}

/// The PeerPool machine. See the module docs for its rules and run loop.
#[derive(Debug)]
pub struct PeerPool<C: PeerCache = MemoryPeerCache> {
    config: Config,
    cache: C,
    topics: Vec<TopicState>,
    backoff: HashMap<NodeId, Backoff>,
    decisions: VecDeque<Decision>,
    discovery_deadline: Option<Timestamp>,
    started: bool,
    /// Time of the latest call, so `poll_timeout` skips past back-offs.
    last_now: Timestamp,
}

impl<C: PeerCache> PeerPool<C> {
    /// A pool over `cache`. Fails with [`Error::InvalidLimits`] for a topic
    /// with `max == 0` or `min > max`.
    ///
    /// ```
    /// use status_core::Timestamp;
    /// use status_discovery::peerpool::{Config, Limits, MemoryPeerCache, PeerPool, TopicConfig};
    /// use status_discovery::Error;
    /// # use status_core::{Enode, SecretKey};
    /// # let enode = |b: u8| {
    /// #     let key = SecretKey::from_bytes(&[b; 32]).unwrap();
    /// #     Enode::new(&key.public_key(), ([10, 0, 0, b], 30303).into())
    /// # };
    ///
    /// let topic = TopicConfig {
    ///     name: "whisper".into(),
    ///     limits: Limits { min: 4, max: 3 },
    ///     static_nodes: Vec::new(),
    /// };
    /// let config = Config { topics: vec![topic], ..Config::default() };
    /// let pool = PeerPool::new(config, MemoryPeerCache::default());
    /// assert_eq!(pool.err(), Some(Error::InvalidLimits { min: 4, max: 3 }));
    ///
    /// // The default pool knows "whisper" and "whispermail" only.
    /// let mut pool = PeerPool::new(Config::default(), MemoryPeerCache::default())?;
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let err = pool.handle_found(now, "waku2", enode(1));
    /// assert_eq!(err, Err(Error::UnknownTopic("waku2".into())));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn new(config: Config, cache: C) -> Result<Self, Error> {
        let mut topics = Vec::with_capacity(config.topics.len());
        for t in &config.topics {
            if t.limits.max == 0 || t.limits.min > t.limits.max {
                return Err(Error::InvalidLimits {
                    min: t.limits.min,
                    max: t.limits.max,
                });
            }
            topics.push(TopicState {
                name: t.name.clone(),
                limits: t.limits,
                static_nodes: t.static_nodes.clone(),
                connected: BTreeMap::new(),
                dialing: BTreeMap::new(),
                dismissed: BTreeMap::new(),
                candidates: VecDeque::new(),
                search: None,
                fast_until: None,
                stop_at: None,
            });
        }
        Ok(PeerPool {
            config,
            cache,
            topics,
            backoff: HashMap::new(),
            decisions: VecDeque::new(),
            discovery_deadline: None,
            started: false,
            last_now: Timestamp::ZERO,
        })
    }

    /// The cache (to persist it, for instance).
    pub fn cache(&self) -> &C {
        &self.cache
    }

    /// Connected peers of `topic`.
    pub fn connected(&self, topic: &str) -> Vec<Enode> {
        self.topics
            .iter()
            .find(|t| t.name == topic)
            .map(|t| t.connected.values().map(|p| p.enode).collect())
            .unwrap_or_default()
    }

    /// The search mode of `topic`, `None` when its search is stopped.
    pub fn search_mode(&self, topic: &str) -> Option<SearchMode> {
        self.topics.iter().find(|t| t.name == topic)?.search
    }

    /// Next decision to carry out.
    pub fn poll_decision(&mut self) -> Option<Decision> {
        self.decisions.pop_front()
    }

    /// Starts the pool: dials static nodes, then cached peers, and starts
    /// the search of every topic they leave below `min`.
    ///
    /// When the cache and static nodes cover every `min`, no discovery
    /// starts at all:
    ///
    /// ```
    /// use status_core::Timestamp;
    /// use status_discovery::peerpool::{
    ///     Config, Decision, MemoryPeerCache, PeerCache, PeerPool, MAILSERVER_TOPIC, WHISPER_TOPIC,
    /// };
    /// # use status_core::{Enode, SecretKey};
    /// # let enode = |b: u8| {
    /// #     let key = SecretKey::from_bytes(&[b; 32]).unwrap();
    /// #     Enode::new(&key.public_key(), ([10, 0, 0, b], 30303).into())
    /// # };
    ///
    /// let mut cache = MemoryPeerCache::default();
    /// cache.add_peer(WHISPER_TOPIC, &enode(1));
    /// cache.add_peer(WHISPER_TOPIC, &enode(2));
    /// let mut config = Config::default();
    /// config.topics[1].static_nodes = vec![enode(9)]; // our own mailserver
    /// let mut pool = PeerPool::new(config, cache)?;
    ///
    /// pool.start(Timestamp::from_secs(1_700_000_000));
    /// let decisions: Vec<Decision> = std::iter::from_fn(|| pool.poll_decision()).collect();
    /// let dial = |topic: &str, enode| Decision::Dial { topic: topic.into(), enode };
    /// assert_eq!(
    ///     decisions,
    ///     [
    ///         dial(WHISPER_TOPIC, enode(2)),
    ///         dial(WHISPER_TOPIC, enode(1)),
    ///         dial(MAILSERVER_TOPIC, enode(9)),
    ///     ]
    /// );
    /// assert_eq!(pool.search_mode(WHISPER_TOPIC), None);
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn start(&mut self, now: Timestamp) {
        self.last_now = now;
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.topics.len() {
            let statics = self.topics.get(i).map(|t| t.static_nodes.clone());
            for enode in statics.unwrap_or_default() {
                self.dial(now, i, enode, true);
            }
            let name = self
                .topics
                .get(i)
                .map(|t| t.name.clone())
                .unwrap_or_default();
            for enode in self.cache.peers(&name, self.config.cache_peers_on_start) {
                self.dial(now, i, enode, false);
            }
            let needs_search = self
                .topics
                .get(i)
                .is_some_and(|t| t.occupied() < t.limits.min);
            if needs_search {
                self.start_search(now, i);
            }
        }
    }

    /// Makes `enode` a static node of `topic` from now on (a user adds a
    /// trusted peer at run time): it is dialled at once if not connected,
    /// re-dialled after back-off, and never dropped for a discovered peer.
    /// A peer already connected for the topic just becomes static. Adding
    /// it twice is a no-op; an unknown topic is an [`Error::UnknownTopic`].
    ///
    /// ```
    /// use status_core::Timestamp;
    /// use status_discovery::peerpool::{Config, Decision, MemoryPeerCache, PeerPool, WHISPER_TOPIC};
    /// # use status_core::{Enode, SecretKey};
    /// # let enode = |b: u8| {
    /// #     let key = SecretKey::from_bytes(&[b; 32]).unwrap();
    /// #     Enode::new(&key.public_key(), ([10, 0, 0, b], 30303).into())
    /// # };
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut pool = PeerPool::new(Config::default(), MemoryPeerCache::default())?;
    /// pool.start(now);
    /// while pool.poll_decision().is_some() {}
    /// pool.add_static_node(now, WHISPER_TOPIC, enode(7))?;
    /// assert_eq!(
    ///     pool.poll_decision(),
    ///     Some(Decision::Dial { topic: WHISPER_TOPIC.into(), enode: enode(7) })
    /// );
    /// assert!(pool.remove_static_node(now, WHISPER_TOPIC, &enode(7).id)?);
    /// assert!(!pool.remove_static_node(now, WHISPER_TOPIC, &enode(7).id)?);
    /// // Forgotten: the end of its dial is not the pool's business any more.
    /// pool.handle_dial_failed(now, &enode(7).id);
    /// assert_eq!(pool.poll_decision(), None);
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn add_static_node(
        &mut self,
        now: Timestamp,
        topic: &str,
        enode: Enode,
    ) -> Result<(), Error> {
        self.last_now = now;
        let i = self.topic_index(topic)?;
        let Some(t) = self.topics.get_mut(i) else {
            return Ok(());
        };
        if !t.static_nodes.iter().any(|e| e.id == enode.id) {
            t.static_nodes.push(enode);
        }
        t.candidates.retain(|(e, _)| e.id != enode.id);
        if let Some(p) = t.connected.get_mut(&enode.id) {
            p.is_static = true;
        }
        if let Some((p, _)) = t.dialing.get_mut(&enode.id) {
            p.is_static = true;
        }
        // A static node is not kept off by an earlier failure.
        self.backoff.remove(&enode.id);
        if self.started {
            self.fill(now, i);
        }
        Ok(())
    }

    /// Stops treating the peer `id` as a static node of `topic` and
    /// forgets it: a connection or dial to it no longer counts for the
    /// topic (its end is not reported back, nor is it re-dialled), and
    /// its place is filled from the candidates. Disconnect it to be rid
    /// of it. Returns whether it was a static node.
    pub fn remove_static_node(
        &mut self,
        now: Timestamp,
        topic: &str,
        id: &NodeId,
    ) -> Result<bool, Error> {
        self.last_now = now;
        let i = self.topic_index(topic)?;
        let Some(t) = self.topics.get_mut(i) else {
            return Ok(false);
        };
        let before = t.static_nodes.len();
        t.static_nodes.retain(|e| e.id != *id);
        let was = t.static_nodes.len() != before;
        if was {
            t.connected.remove(id);
            t.dialing.remove(id);
            t.candidates.retain(|(e, _)| e.id != *id);
            self.backoff.remove(id);
            if self.started {
                self.fill(now, i);
                self.update_mode(now, i);
            }
        }
        Ok(was)
    }

    /// A discovery method found `enode` for `topic`.
    ///
    /// The peer is dialled at once if the topic has room, else kept as a
    /// candidate; an unknown topic is an [`Error::UnknownTopic`].
    pub fn handle_found(&mut self, now: Timestamp, topic: &str, enode: Enode) -> Result<(), Error> {
        self.last_now = now;
        let i = self.topic_index(topic)?;
        let busy_elsewhere = self.topics.iter().any(|t| t.knows(&enode.id));
        let max_candidates = self.config.max_candidates;
        let Some(t) = self.topics.get_mut(i) else {
            return Ok(());
        };
        t.candidates.retain(|(e, _)| e.id != enode.id);
        if busy_elsewhere {
            return Ok(());
        }
        if t.candidates.len() >= max_candidates {
            t.candidates.pop_front();
        }
        t.candidates.push_back((enode, now));
        self.fill(now, i);
        Ok(())
    }

    /// A peer connected. Inbound peers (not dialled by the pool) are
    /// ignored, as in status-go.
    pub fn handle_connected(&mut self, now: Timestamp, id: &NodeId) {
        self.last_now = now;
        let Some(i) = self.topics.iter().position(|t| t.dialing.contains_key(id)) else {
            return;
        };
        self.backoff.remove(id);
        let allow_stop = self.config.allow_stop;
        let delay = self.config.stop_search_delay;
        let Some(t) = self.topics.get_mut(i) else {
            return;
        };
        let Some((peer, _)) = t.dialing.remove(id) else {
            return;
        };
        if !peer.is_static {
            self.cache.add_peer(&t.name, &peer.enode);
        }
        t.connected.insert(*id, peer);
        if t.connected.len() > t.limits.max {
            // Over max (static nodes may push us there): drop a discovered
            // peer, never a static one.
            let victim = t
                .connected
                .iter()
                .find(|(vid, p)| !p.is_static && *vid != id)
                .or_else(|| t.connected.iter().find(|(_, p)| !p.is_static))
                .map(|(vid, p)| (*vid, *p));
            if let Some((vid, p)) = victim {
                t.connected.remove(&vid);
                t.dismissed.insert(vid, p);
                self.decisions.push_back(Decision::Drop {
                    topic: t.name.clone(),
                    enode: p.enode,
                });
            }
        }
        if allow_stop && t.connected.len() >= t.limits.max && t.search.is_some() {
            t.stop_at.get_or_insert(now.saturating_add(delay));
        }
        self.update_mode(now, i);
    }

    /// A peer disconnected (or its connection broke).
    ///
    /// The pool replaces it from the candidates and speeds the search up
    /// again if the topic fell below `min`:
    ///
    /// ```
    /// use status_core::Timestamp;
    /// use status_discovery::peerpool::{
    ///     Config, Decision, MemoryPeerCache, PeerPool, SearchMode, MAILSERVER_TOPIC,
    /// };
    /// # use status_core::{Enode, SecretKey};
    /// # let enode = |b: u8| {
    /// #     let key = SecretKey::from_bytes(&[b; 32]).unwrap();
    /// #     Enode::new(&key.public_key(), ([10, 0, 0, b], 30303).into())
    /// # };
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut pool = PeerPool::new(Config::default(), MemoryPeerCache::default())?;
    /// pool.start(now);
    /// pool.handle_found(now, MAILSERVER_TOPIC, enode(1))?;
    /// pool.handle_found(now, MAILSERVER_TOPIC, enode(2))?; // max is 1: a candidate
    /// pool.handle_connected(now, &enode(1).id);
    /// while pool.poll_decision().is_some() {}
    /// assert_eq!(pool.search_mode(MAILSERVER_TOPIC), Some(SearchMode::Slow));
    ///
    /// pool.handle_disconnected(now, &enode(1).id);
    /// assert_eq!(
    ///     pool.poll_decision(),
    ///     Some(Decision::Dial { topic: MAILSERVER_TOPIC.into(), enode: enode(2) })
    /// );
    /// assert!(matches!(
    ///     pool.poll_decision(),
    ///     Some(Decision::StartDiscovery { mode: SearchMode::Fast, .. })
    /// ));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn handle_disconnected(&mut self, now: Timestamp, id: &NodeId) {
        self.last_now = now;
        for i in 0..self.topics.len() {
            let Some(t) = self.topics.get_mut(i) else {
                continue;
            };
            if let Some(peer) = t.dismissed.remove(id) {
                // We dropped it for being over max: keep it as a candidate.
                t.candidates.push_back((peer.enode, now));
                continue;
            }
            let Some(peer) = t.connected.remove(id) else {
                continue;
            };
            let name = t.name.clone();
            if !peer.is_static {
                self.cache.remove_peer(&name, id);
            }
            self.fail(now, i, peer);
        }
    }

    /// A dial the pool asked for failed.
    ///
    /// The peer backs off ([`Config::backoff_base`], doubling) and is
    /// dialled again when [`PeerPool::handle_timeout`] runs after it:
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::Timestamp;
    /// use status_discovery::peerpool::{
    ///     Config, Decision, MemoryPeerCache, PeerPool, WHISPER_TOPIC,
    /// };
    /// # use status_core::{Enode, SecretKey};
    /// # let enode = |b: u8| {
    /// #     let key = SecretKey::from_bytes(&[b; 32]).unwrap();
    /// #     Enode::new(&key.public_key(), ([10, 0, 0, b], 30303).into())
    /// # };
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut pool = PeerPool::new(Config::default(), MemoryPeerCache::default())?;
    /// pool.start(now);
    /// pool.handle_found(now, WHISPER_TOPIC, enode(1))?;
    /// while pool.poll_decision().is_some() {}
    ///
    /// pool.handle_dial_failed(now, &enode(1).id);
    /// assert_eq!(pool.poll_decision(), None);
    /// let retry = now + Duration::from_secs(5);
    /// assert_eq!(pool.poll_timeout(), Some((retry, "peer back-off")));
    /// pool.handle_timeout(retry);
    /// assert_eq!(
    ///     pool.poll_decision(),
    ///     Some(Decision::Dial { topic: WHISPER_TOPIC.into(), enode: enode(1) })
    /// );
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn handle_dial_failed(&mut self, now: Timestamp, id: &NodeId) {
        self.last_now = now;
        let Some(i) = self.topics.iter().position(|t| t.dialing.contains_key(id)) else {
            return;
        };
        let Some((peer, _)) = self.topics.get_mut(i).and_then(|t| t.dialing.remove(id)) else {
            return;
        };
        let name = self
            .topics
            .get(i)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        if !peer.is_static {
            self.cache.remove_peer(&name, id);
        }
        self.fail(now, i, peer);
    }

    /// Records a failure of `peer` in topic `i`, then refills the topic.
    fn fail(&mut self, now: Timestamp, i: usize, peer: Peer) {
        let b = self.backoff.entry(peer.enode.id).or_insert(Backoff {
            failures: 0,
            until: now,
        });
        b.failures = b.failures.saturating_add(1);
        let factor = 1u32 << b.failures.saturating_sub(1).min(20);
        let wait = self
            .config
            .backoff_base
            .saturating_mul(factor)
            .min(self.config.backoff_max);
        b.until = now.saturating_add(wait);
        let forget = !peer.is_static && b.failures >= self.config.max_dial_failures;
        if let Some(t) = self.topics.get_mut(i) {
            // A pending stop was for a full topic; below max the search
            // goes on, and reaching max again starts a new delay.
            if t.connected.len() < t.limits.max {
                t.stop_at = None;
            }
            if forget {
                t.candidates.retain(|(e, _)| e.id != peer.enode.id);
                self.backoff.remove(&peer.enode.id);
            } else if !peer.is_static {
                t.candidates.retain(|(e, _)| e.id != peer.enode.id);
                t.candidates.push_front((peer.enode, now));
            }
        }
        self.fill(now, i);
        let restart = self
            .topics
            .get(i)
            .is_some_and(|t| t.below_min() && t.search.is_none());
        if restart {
            self.start_search(now, i);
        } else {
            self.update_mode(now, i);
        }
    }

    /// When [`PeerPool::handle_timeout`] should next be called, and why.
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let mut best: Option<(Timestamp, &'static str)> = None;
        let mut consider = |at: Timestamp, why: &'static str| {
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, why));
            }
        };
        if let Some(at) = self.discovery_deadline {
            consider(at, "discovery timeout");
        }
        for t in &self.topics {
            if let Some(at) = t.fast_until {
                consider(at, "fast mode timeout");
            }
            if let Some(at) = t.stop_at {
                consider(at, "stop search delay");
            }
            for (_, deadline) in t.dialing.values() {
                consider(*deadline, "dial timeout");
            }
        }
        // Back-offs matter only when some topic wants more peers.
        let wants_more = self.topics.iter().any(|t| t.occupied() < t.limits.max);
        if wants_more {
            for b in self.backoff.values().filter(|b| b.until > self.last_now) {
                consider(b.until, "peer back-off");
            }
        }
        best
    }

    /// Fires due timers: dial timeouts, fast-mode and stop-search delays,
    /// the discovery timeout, and ended back-offs (re-dials).
    ///
    /// A search that finds nothing slows down after 30 s and stops after
    /// 3 min (with [`Config::allow_stop`]):
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::Timestamp;
    /// use status_discovery::peerpool::{Config, Decision, MemoryPeerCache, PeerPool, SearchMode};
    ///
    /// let start = Timestamp::from_secs(1_700_000_000);
    /// let mut pool = PeerPool::new(Config::default(), MemoryPeerCache::default())?;
    /// pool.start(start);
    /// while pool.poll_decision().is_some() {}
    ///
    /// let (at, why) = pool.poll_timeout().unwrap();
    /// assert_eq!((at, why), (start + Duration::from_secs(30), "fast mode timeout"));
    /// pool.handle_timeout(at);
    /// let slow = std::iter::from_fn(|| pool.poll_decision())
    ///     .filter(|d| matches!(d, Decision::StartDiscovery { mode: SearchMode::Slow, .. }))
    ///     .count();
    /// assert_eq!(slow, 2); // both topics
    ///
    /// let (at, why) = pool.poll_timeout().unwrap();
    /// assert_eq!((at, why), (start + Duration::from_secs(180), "discovery timeout"));
    /// pool.handle_timeout(at);
    /// assert!(matches!(pool.poll_decision(), Some(Decision::StopDiscovery { .. })));
    /// assert!(matches!(pool.poll_decision(), Some(Decision::StopDiscovery { .. })));
    /// assert_eq!(pool.poll_timeout(), None);
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.last_now = now;
        for i in 0..self.topics.len() {
            let expired: Vec<Peer> = self
                .topics
                .get(i)
                .map(|t| {
                    t.dialing
                        .values()
                        .filter(|(_, d)| *d <= now)
                        .map(|(p, _)| *p)
                        .collect()
                })
                .unwrap_or_default();
            for p in expired {
                if let Some(t) = self.topics.get_mut(i) {
                    t.dialing.remove(&p.enode.id);
                }
                self.fail(now, i, p);
            }
            let Some(t) = self.topics.get_mut(i) else {
                continue;
            };
            if t.fast_until.is_some_and(|at| at <= now) {
                t.fast_until = None;
                if t.search == Some(SearchMode::Fast) {
                    t.search = Some(SearchMode::Slow);
                    self.decisions.push_back(Decision::StartDiscovery {
                        topic: t.name.clone(),
                        mode: SearchMode::Slow,
                        period: self.config.slow_sync,
                    });
                }
            }
            if t.stop_at.is_some_and(|at| at <= now) {
                t.stop_at = None;
                self.stop_search(i);
            }
        }
        if self.discovery_deadline.is_some_and(|at| at <= now) {
            self.discovery_deadline = None;
            for i in 0..self.topics.len() {
                self.stop_search(i);
            }
        }
        // A failure long past is forgiven: this bounds the map.
        let keep = self.config.backoff_max;
        self.backoff
            .retain(|_, b| now.saturating_duration_since(b.until) < keep);
        for i in 0..self.topics.len() {
            self.fill(now, i);
        }
    }

    fn topic_index(&self, topic: &str) -> Result<usize, Error> {
        self.topics
            .iter()
            .position(|t| t.name == topic)
            .ok_or_else(|| Error::UnknownTopic(topic.to_owned()))
    }

    fn backed_off(&self, now: Timestamp, id: &NodeId) -> bool {
        self.backoff.get(id).is_some_and(|b| b.until > now)
    }

    fn dial(&mut self, now: Timestamp, i: usize, enode: Enode, is_static: bool) -> bool {
        if self.topics.iter().any(|t| t.knows(&enode.id)) || self.backed_off(now, &enode.id) {
            return false;
        }
        let deadline = now.saturating_add(self.config.dial_timeout);
        let Some(t) = self.topics.get_mut(i) else {
            return false;
        };
        // Static nodes are dialled even when the topic is full: once
        // connected, a discovered peer makes room for them.
        if t.occupied() >= t.limits.max && !is_static {
            return false;
        }
        t.dialing
            .insert(enode.id, (Peer { enode, is_static }, deadline));
        self.decisions.push_back(Decision::Dial {
            topic: t.name.clone(),
            enode,
        });
        true
    }

    /// Dials static nodes first, then the most recent live candidates,
    /// until the topic has `max` peers and dials.
    fn fill(&mut self, now: Timestamp, i: usize) {
        let Some(t) = self.topics.get(i) else { return };
        let statics: Vec<Enode> = t
            .static_nodes
            .iter()
            .filter(|e| !t.knows(&e.id))
            .copied()
            .collect();
        for e in statics {
            self.dial(now, i, e, true);
        }
        let expiration = self.config.expiration;
        loop {
            let Some(t) = self.topics.get_mut(i) else {
                return;
            };
            if t.occupied() >= t.limits.max {
                return;
            }
            t.candidates
                .retain(|(_, found)| now.saturating_duration_since(*found) < expiration);
            let pick = t
                .candidates
                .iter()
                .rposition(|(e, _)| self.backoff.get(&e.id).is_none_or(|b| b.until <= now));
            let Some(pos) = pick else { return };
            let Some((enode, _)) = self
                .topics
                .get_mut(i)
                .and_then(|t| t.candidates.remove(pos))
            else {
                return;
            };
            self.dial(now, i, enode, false);
        }
    }

    fn start_search(&mut self, now: Timestamp, i: usize) {
        let fast_until = now.saturating_add(self.config.fast_mode_timeout);
        let period = self.config.fast_sync;
        let Some(t) = self.topics.get_mut(i) else {
            return;
        };
        if t.search.is_some() {
            return;
        }
        t.search = Some(SearchMode::Fast);
        t.fast_until = Some(fast_until);
        t.stop_at = None;
        self.decisions.push_back(Decision::StartDiscovery {
            topic: t.name.clone(),
            mode: SearchMode::Fast,
            period,
        });
        if self.config.allow_stop && self.discovery_deadline.is_none() {
            self.discovery_deadline = Some(now.saturating_add(self.config.discovery_timeout));
        }
    }

    fn stop_search(&mut self, i: usize) {
        let Some(t) = self.topics.get_mut(i) else {
            return;
        };
        if t.search.take().is_some() {
            t.fast_until = None;
            t.stop_at = None;
            self.decisions.push_back(Decision::StopDiscovery {
                topic: t.name.clone(),
            });
        }
        if self.topics.iter().all(|t| t.search.is_none()) {
            self.discovery_deadline = None;
        }
    }

    /// status-go `updateSyncMode`: fast below `min`, slow otherwise.
    fn update_mode(&mut self, now: Timestamp, i: usize) {
        let (fast, slow, fast_timeout) = (
            self.config.fast_sync,
            self.config.slow_sync,
            self.config.fast_mode_timeout,
        );
        let Some(t) = self.topics.get_mut(i) else {
            return;
        };
        let Some(current) = t.search else { return };
        let want = if t.below_min() {
            SearchMode::Fast
        } else {
            SearchMode::Slow
        };
        if want == current {
            return;
        }
        t.search = Some(want);
        let period = match want {
            SearchMode::Fast => {
                t.fast_until = Some(now.saturating_add(fast_timeout));
                fast
            }
            SearchMode::Slow => {
                t.fast_until = None;
                slow
            }
        };
        self.decisions.push_back(Decision::StartDiscovery {
            topic: t.name.clone(),
            mode: want,
            period,
        });
    }
}
