//! The sans-IO discv5 node: sessions and handshakes, requests and their
//! timeouts, the node table with liveness checks, and lookups.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use status_core::{PublicKey, SecretKey, Timestamp};

use super::crypto::{
    decrypt_message, derive_keys, ecdh, encrypt_message, id_sign, id_verify, initiator_keys,
};
use super::distance::{log2_distance, random_at_distance};
use super::kbucket::{Insert, KBucketTable};
use super::lookup::{Lookup, LookupId, LookupStats};
use super::message::{Message, RequestId};
use super::packet::{
    decode_packet, encode_packet, Nonce, PacketHeader, PacketKind, MAX_PACKET_SIZE,
};
use super::session::{Challenge, Session};
use super::Error;
use crate::enr::{Enr, NodeId};

/// Room for records in one NODES packet: 1280 minus masking IV, static
/// header, src-id authdata, GCM tag, message type, and worst-case RLP
/// headers for the list, request-id and total.
const NODES_RECORD_BUDGET: usize = MAX_PACKET_SIZE - 112;

/// Tunables of a [`Discv5`] node. Every queue and cache is bounded here.
#[derive(Debug, Clone)]
pub struct Config {
    /// Time to wait for a response (and for WHOAREYOU); discv5-wire
    /// suggests 500 ms per request and 1 s for the handshake.
    pub request_timeout: Duration,
    /// How long a WHOAREYOU challenge we sent stays answerable.
    pub challenge_timeout: Duration,
    /// Bucket size `k` (16 in the spec); also the lookup result size.
    pub k: usize,
    /// Replacement cache entries per bucket.
    pub replacement_cache: usize,
    /// Lookup concurrency `α` (typically 3).
    pub alpha: usize,
    /// Interval between liveness checks (one PING to the stalest entry).
    pub liveness_interval: Duration,
    /// Interval between table refresh lookups (`None`: never).
    pub refresh_interval: Option<Duration>,
    /// Records returned for one FINDNODE (16 recommended).
    pub max_nodes_response: usize,
    /// Largest `total` of NODES messages accepted for one request.
    pub max_nodes_messages: u64,
    /// Sessions kept (least recently used evicted).
    pub max_sessions: usize,
    /// WHOAREYOU challenges outstanding.
    pub max_challenges: usize,
    /// Requests in flight.
    pub max_pending_requests: usize,
    /// Lookups running.
    pub max_lookups: usize,
    /// Datagrams queued for [`Discv5::poll_transmit`] (then dropped).
    pub max_transmits: usize,
    /// Events queued for [`Discv5::poll_event`] (then the oldest dropped).
    pub max_events: usize,
    /// Verified node records remembered by their bytes, to skip repeated
    /// signature checks of NODES answers.
    pub record_cache: usize,
    /// TALKREQ protocols the application answers (through
    /// [`Event::TalkRequest`] and [`Discv5::talk_resp`]); the node answers
    /// any other protocol itself with an empty TALKRESP, as the spec asks.
    pub talk_protocols: Vec<Vec<u8>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            request_timeout: Duration::from_secs(1),
            challenge_timeout: Duration::from_secs(2),
            k: 16,
            replacement_cache: 8,
            alpha: 3,
            liveness_interval: Duration::from_secs(5),
            refresh_interval: Some(Duration::from_secs(60)),
            max_nodes_response: 16,
            max_nodes_messages: 16,
            max_sessions: 1000,
            max_challenges: 1000,
            max_pending_requests: 256,
            max_lookups: 16,
            max_transmits: 1024,
            max_events: 1024,
            record_cache: 512,
            talk_protocols: Vec::new(),
        }
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// Destination endpoint.
    pub to: SocketAddr,
    /// The packet.
    pub datagram: Vec<u8>,
}

/// What happened, for the application.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A handshake completed (either direction).
    SessionEstablished {
        /// The peer's record.
        enr: Enr,
        /// Its endpoint.
        addr: SocketAddr,
    },
    /// Answer to [`Discv5::ping`].
    Pong {
        /// The request.
        request_id: RequestId,
        /// Responder.
        node_id: NodeId,
        /// Responder's record sequence.
        enr_seq: u64,
        /// Our endpoint as the responder saw it.
        ip: IpAddr,
        /// Our port as the responder saw it.
        port: u16,
    },
    /// Answer to [`Discv5::find_node`] (all NODES messages, or what had
    /// arrived when the request timed out).
    Nodes {
        /// The request.
        request_id: RequestId,
        /// Responder.
        node_id: NodeId,
        /// Verified records at the requested distances.
        enrs: Vec<Enr>,
    },
    /// Answer to [`Discv5::talk_req`].
    TalkResp {
        /// The request.
        request_id: RequestId,
        /// Responder.
        node_id: NodeId,
        /// Response payload.
        response: Vec<u8>,
    },
    /// A TALKREQ for one of [`Config::talk_protocols`]: answer it with
    /// [`Discv5::talk_resp`].
    TalkRequest {
        /// Requester.
        node_id: NodeId,
        /// Its endpoint (the response goes there).
        addr: SocketAddr,
        /// To mirror.
        request_id: RequestId,
        /// Protocol name.
        protocol: Vec<u8>,
        /// Payload.
        request: Vec<u8>,
    },
    /// An application request got no (complete) answer.
    RequestFailed {
        /// The request.
        request_id: RequestId,
        /// Whom it was for.
        node_id: NodeId,
        /// Why.
        reason: &'static str,
    },
    /// A lookup from [`Discv5::lookup`] finished.
    LookupFinished {
        /// Its handle.
        id: LookupId,
        /// What was looked for.
        target: NodeId,
        /// The k closest nodes found that answered, closest first.
        closest: Vec<Enr>,
        /// Hops and messages it took.
        stats: LookupStats,
    },
    /// A newer record of a table entry was fetched (after a PING or PONG
    /// announced a higher seq).
    EnrUpdated(Enr),
    /// A node failed its liveness check and left the table.
    NodeEvicted(NodeId),
}

/// Counters, for monitoring and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams accepted by `handle_input`.
    pub packets_in: u64,
    /// Datagrams queued for sending.
    pub packets_out: u64,
    /// Datagrams dropped because the transmit queue was full.
    pub dropped_transmits: u64,
    /// Events dropped because the event queue was full.
    pub dropped_events: u64,
    /// Handshakes completed.
    pub handshakes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    App,
    Lookup(LookupId),
    Liveness,
    EnrRefresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestState {
    /// Sent; waiting for a response or WHOAREYOU.
    Sent { nonce: Nonce, handshaken: bool },
    /// Another request to the same node is handshaking; re-sent when the
    /// session proves itself.
    AwaitingSession,
}

#[derive(Debug, Clone)]
struct PendingRequest {
    enr: Enr,
    addr: SocketAddr,
    message: Message,
    origin: Origin,
    state: RequestState,
    deadline: Timestamp,
    /// NODES collected so far, and how many messages.
    nodes: Vec<Enr>,
    nodes_messages: u64,
}

impl PendingRequest {
    fn node_id(&self) -> NodeId {
        self.enr.node_id()
    }
}

/// A discv5 node as a pure state machine.
///
/// - getters: [`local_enr`](Self::local_enr), [`table_len`](Self::table_len),
///   [`contains`](Self::contains), [`closest`](Self::closest), [`stats`](Self::stats);
/// - `handle_*`: [`handle_input`](Self::handle_input) for every datagram
///   that arrived, [`handle_timeout`](Self::handle_timeout) when the time
///   from [`poll_timeout`](Self::poll_timeout) has come;
/// - commands: [`add_node`](Self::add_node), [`ping`](Self::ping),
///   [`find_node`](Self::find_node), [`talk_req`](Self::talk_req),
///   [`talk_resp`](Self::talk_resp), [`lookup`](Self::lookup);
/// - `poll_*`: after every `handle_*` or command, drain
///   [`poll_transmit`](Self::poll_transmit), then
///   [`poll_event`](Self::poll_event), then ask
///   [`poll_timeout`](Self::poll_timeout).
pub struct Discv5 {
    key: SecretKey,
    local_enr: Enr,
    local_id: NodeId,
    config: Config,
    rng: ChaCha20Rng,
    table: KBucketTable,
    sessions: BTreeMap<(NodeId, SocketAddr), Session>,
    challenges: BTreeMap<(NodeId, SocketAddr), Challenge>,
    pending: BTreeMap<RequestId, PendingRequest>,
    nonces: BTreeMap<Nonce, RequestId>,
    lookups: BTreeMap<LookupId, Lookup>,
    next_lookup: u64,
    next_request: u64,
    next_liveness: Timestamp,
    next_refresh: Option<Timestamp>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
    /// Verified records by their exact bytes, oldest first out.
    record_cache: BTreeMap<Vec<u8>, Enr>,
    record_cache_order: VecDeque<Vec<u8>>,
}

impl std::fmt::Debug for Discv5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discv5")
            .field("local_id", &self.local_id)
            .field("table", &self.table.len())
            .field("sessions", &self.sessions.len())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Discv5 {
    /// A node with identity `key` publishing `local_enr` (which `key` must
    /// have signed). `seed` drives every random choice (nonces, masking
    /// IVs, ephemeral keys, id-nonces), so one seed replays a run.
    pub fn new(
        key: SecretKey,
        local_enr: Enr,
        config: Config,
        seed: [u8; 32],
        now: Timestamp,
    ) -> Result<Discv5, Error> {
        if local_enr.public_key() != &key.public_key() {
            return Err(Error::ForeignRecord);
        }
        let local_id = local_enr.node_id();
        let mut rng = ChaCha20Rng::from_seed(seed);
        let next_request = rng.next_u64();
        Ok(Discv5 {
            table: KBucketTable::new(local_id, config.k, config.replacement_cache),
            next_liveness: now + config.liveness_interval,
            next_refresh: config.refresh_interval.map(|d| now + d),
            key,
            local_enr,
            local_id,
            config,
            rng,
            sessions: BTreeMap::new(),
            challenges: BTreeMap::new(),
            pending: BTreeMap::new(),
            nonces: BTreeMap::new(),
            lookups: BTreeMap::new(),
            next_lookup: 0,
            next_request,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            record_cache: BTreeMap::new(),
            record_cache_order: VecDeque::new(),
        })
    }

    // ---- getters ----

    /// Our record.
    pub fn local_enr(&self) -> &Enr {
        &self.local_enr
    }

    /// Our node id.
    pub fn local_id(&self) -> NodeId {
        self.local_id
    }

    /// Entries in the node table.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Whether `id` is in the node table.
    pub fn contains(&self, id: &NodeId) -> bool {
        self.table.get(id).is_some()
    }

    /// Records in the node table, with their liveness flag.
    pub fn table_entries(&self) -> impl Iterator<Item = (&Enr, bool)> {
        self.table.iter().map(|e| (&e.enr, e.verified))
    }

    /// Up to `n` table records closest to `target`.
    pub fn closest(&self, target: &NodeId, n: usize) -> Vec<Enr> {
        self.table
            .closest(target, n, false)
            .into_iter()
            .map(|e| e.enr.clone())
            .collect()
    }

    /// Table records advertising a Status topic (see [`super::topic`]).
    pub fn nodes_with_topic(&self, topic: &str) -> Vec<Enr> {
        self.table
            .iter()
            .filter(|e| super::topic::advertises(&e.enr, topic))
            .map(|e| e.enr.clone())
            .collect()
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Sessions held.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    // ---- commands ----

    /// Replaces our record (e.g. a new endpoint with a higher seq); peers
    /// learn of it through the seq in PING/PONG.
    pub fn set_local_enr(&mut self, enr: Enr) -> Result<(), Error> {
        if enr.public_key() != &self.key.public_key() {
            return Err(Error::ForeignRecord);
        }
        self.local_enr = enr;
        Ok(())
    }

    /// Adds a known node (bootstrap node, or one found elsewhere) to the
    /// table and checks its liveness. `false` if it was not added (our own
    /// record, no UDP endpoint, or its bucket is full).
    pub fn add_node(&mut self, now: Timestamp, enr: Enr) -> bool {
        let Some(addr) = enr.udp_socket() else {
            return false;
        };
        let added = self.offer(now, &enr, addr);
        if added {
            self.check_liveness(now, &enr.node_id());
        }
        added
    }

    /// Sends PING; answered by [`Event::Pong`].
    pub fn ping(&mut self, now: Timestamp, enr: &Enr) -> Result<RequestId, Error> {
        let addr = enr.udp_socket().ok_or(Error::NoEndpoint)?;
        let seq = self.local_enr.seq();
        self.send_request(now, enr, addr, Origin::App, |request_id| Message::Ping {
            request_id,
            enr_seq: seq,
        })
    }

    /// Sends FINDNODE for `distances` (each 0..=256); answered by
    /// [`Event::Nodes`].
    ///
    /// The answer holds the records the peer has *verified* (answered its
    /// PING) at those log-distances from itself. Three nodes on an
    /// in-memory network, routed by the transmit's address:
    ///
    /// ```
    /// use status_core::{SecretKey, Timestamp};
    /// use status_discovery::discv5::distance::log2_distance;
    /// use status_discovery::discv5::{Config, Discv5, Event};
    /// use status_discovery::Enr;
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut nodes: Vec<Discv5> = (1..=3u8)
    ///     .map(|b| {
    ///         let key = SecretKey::from_bytes(&[b; 32]).unwrap();
    ///         let port = 30300 + u16::from(b);
    ///         let enr = Enr::builder().ip4([127, 0, 0, 1].into()).udp(port).sign(&key).unwrap();
    ///         Discv5::new(key, enr, Config::default(), [b; 32], now).unwrap()
    ///     })
    ///     .collect();
    /// // Delivers datagrams until every node is quiet.
    /// let run = |nodes: &mut Vec<Discv5>| loop {
    ///     let mut moved = false;
    ///     for i in 0..nodes.len() {
    ///         let from = nodes[i].local_enr().udp_socket().unwrap();
    ///         while let Some(t) = nodes[i].poll_transmit() {
    ///             let to = nodes.iter().position(|n| n.local_enr().udp_socket() == Some(t.to));
    ///             nodes[to.unwrap()].handle_input(now, from, &t.datagram).unwrap();
    ///             moved = true;
    ///         }
    ///     }
    ///     if !moved {
    ///         break;
    ///     }
    /// };
    /// let (b, c) = (nodes[1].local_enr().clone(), nodes[2].local_enr().clone());
    /// // B learns of C; add_node PINGs it, and the PONG verifies it.
    /// assert!(nodes[1].add_node(now, c.clone()));
    /// run(&mut nodes);
    /// assert_eq!(nodes[1].table_entries().next(), Some((&c, true)));
    ///
    /// // A asks B for its nodes at C's distance from B.
    /// let d = log2_distance(&b.node_id(), &c.node_id());
    /// let request = nodes[0].find_node(now, &b, &[d])?;
    /// run(&mut nodes);
    /// let found = std::iter::from_fn(|| nodes[0].poll_event()).find_map(|e| match e {
    ///     Event::Nodes { request_id, enrs, .. } if request_id == request => Some(enrs),
    ///     _ => None,
    /// });
    /// assert!(found.unwrap().contains(&c));
    /// assert!(nodes[0].find_node(now, &b, &[257]).is_err());
    /// # Ok::<(), status_discovery::discv5::Error>(())
    /// ```
    pub fn find_node(
        &mut self,
        now: Timestamp,
        enr: &Enr,
        distances: &[u16],
    ) -> Result<RequestId, Error> {
        let addr = enr.udp_socket().ok_or(Error::NoEndpoint)?;
        if distances.iter().any(|d| *d > 256) || distances.len() > 64 {
            return Err(Error::InvalidMessage("distances"));
        }
        let distances = distances.to_vec();
        self.send_request(now, enr, addr, Origin::App, |request_id| {
            Message::FindNode {
                request_id,
                distances,
            }
        })
    }

    /// Sends TALKREQ; answered by [`Event::TalkResp`].
    pub fn talk_req(
        &mut self,
        now: Timestamp,
        enr: &Enr,
        protocol: &[u8],
        request: &[u8],
    ) -> Result<RequestId, Error> {
        let addr = enr.udp_socket().ok_or(Error::NoEndpoint)?;
        if protocol.len() + request.len() > 1000 {
            return Err(Error::PayloadTooLarge(protocol.len() + request.len()));
        }
        let (protocol, request) = (protocol.to_vec(), request.to_vec());
        self.send_request(now, enr, addr, Origin::App, |request_id| Message::TalkReq {
            request_id,
            protocol,
            request,
        })
    }

    /// Answers an [`Event::TalkRequest`].
    ///
    /// Only protocols in [`Config::talk_protocols`] reach the application;
    /// the answer goes back over the session the request came in on.
    ///
    /// ```
    /// use status_core::{SecretKey, Timestamp};
    /// use status_discovery::discv5::{Config, Discv5, Event};
    /// use status_discovery::Enr;
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mk = |b: u8, config: Config| {
    ///     let key = SecretKey::from_bytes(&[b; 32]).unwrap();
    ///     let port = 30300 + u16::from(b);
    ///     let enr = Enr::builder().ip4([127, 0, 0, 1].into()).udp(port).sign(&key).unwrap();
    ///     Discv5::new(key, enr, config, [b; 32], now).unwrap()
    /// };
    /// let mut a = mk(1, Config::default());
    /// let echo = Config { talk_protocols: vec![b"echo".to_vec()], ..Config::default() };
    /// let mut b = mk(2, echo);
    /// let pump = |a: &mut Discv5, b: &mut Discv5| {
    ///     let a_addr = a.local_enr().udp_socket().unwrap();
    ///     let b_addr = b.local_enr().udp_socket().unwrap();
    ///     let mut moved = true;
    ///     while moved {
    ///         moved = false;
    ///         while let Some(t) = a.poll_transmit() {
    ///             b.handle_input(now, a_addr, &t.datagram).unwrap();
    ///             moved = true;
    ///         }
    ///         while let Some(t) = b.poll_transmit() {
    ///             a.handle_input(now, b_addr, &t.datagram).unwrap();
    ///             moved = true;
    ///         }
    ///     }
    /// };
    /// let b_enr = b.local_enr().clone();
    /// let request = a.talk_req(now, &b_enr, b"echo", b"hello")?;
    /// pump(&mut a, &mut b);
    /// let asked = std::iter::from_fn(|| b.poll_event()).find_map(|e| match e {
    ///     Event::TalkRequest { node_id, addr, request_id, request, .. } => {
    ///         Some((node_id, addr, request_id, request))
    ///     }
    ///     _ => None,
    /// });
    /// let (node_id, addr, request_id, payload) = asked.unwrap();
    /// assert_eq!(payload, b"hello");
    /// b.talk_resp(now, node_id, addr, request_id, &payload)?;
    /// pump(&mut a, &mut b);
    /// let answer = std::iter::from_fn(|| a.poll_event()).find_map(|e| match e {
    ///     Event::TalkResp { request_id, response, .. } if request_id == request => Some(response),
    ///     _ => None,
    /// });
    /// assert_eq!(answer.as_deref(), Some(&b"hello"[..]));
    /// # Ok::<(), status_discovery::discv5::Error>(())
    /// ```
    pub fn talk_resp(
        &mut self,
        now: Timestamp,
        node_id: NodeId,
        addr: SocketAddr,
        request_id: RequestId,
        response: &[u8],
    ) -> Result<(), Error> {
        if response.len() > 1100 {
            return Err(Error::PayloadTooLarge(response.len()));
        }
        self.send_message(
            now,
            node_id,
            addr,
            &Message::TalkResp {
                request_id,
                response: response.to_vec(),
            },
        )
    }

    /// Starts an iterative lookup for `target`; ends with
    /// [`Event::LookupFinished`].
    pub fn lookup(&mut self, now: Timestamp, target: NodeId) -> Result<LookupId, Error> {
        self.start_lookup(now, target, false)
    }

    fn start_lookup(
        &mut self,
        now: Timestamp,
        target: NodeId,
        internal: bool,
    ) -> Result<LookupId, Error> {
        if self.lookups.len() >= self.config.max_lookups {
            return Err(Error::TooManyLookups(self.config.max_lookups));
        }
        let seeds = self
            .table
            .closest(&target, self.config.k, false)
            .into_iter()
            .map(|e| e.enr.clone())
            .collect();
        let id = LookupId(self.next_lookup);
        self.next_lookup += 1;
        self.lookups.insert(
            id,
            Lookup::new(target, seeds, self.config.k, self.config.alpha, internal),
        );
        self.advance_lookup(now, id);
        Ok(id)
    }

    // ---- poll ----

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) wants to run, and why.
    ///
    /// A request nobody answers fails at the deadline shown here:
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::{SecretKey, Timestamp};
    /// use status_discovery::discv5::{Config, Discv5, Event};
    /// use status_discovery::Enr;
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// let enr = Enr::builder().ip4([127, 0, 0, 1].into()).udp(30301).sign(&key).unwrap();
    /// let mut node = Discv5::new(key, enr, Config::default(), [1; 32], now)?;
    /// let (deadline, why) = node.poll_timeout().unwrap();
    /// assert_eq!((deadline, why), (now + Duration::from_secs(5), "liveness check"));
    ///
    /// let gone = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// let gone = Enr::builder().ip4([10, 0, 0, 2].into()).udp(30302).sign(&gone).unwrap();
    /// let ping = node.ping(now, &gone)?;
    /// assert!(node.poll_transmit().is_some()); // lost on the way
    /// let (deadline, why) = node.poll_timeout().unwrap();
    /// assert_eq!((deadline, why), (now + Duration::from_secs(1), "request timeout"));
    ///
    /// node.handle_timeout(deadline);
    /// assert!(matches!(
    ///     node.poll_event(),
    ///     Some(Event::RequestFailed { request_id, .. }) if request_id == ping
    /// ));
    /// # Ok::<(), status_discovery::discv5::Error>(())
    /// ```
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let mut best = (self.next_liveness, "liveness check");
        if let Some(t) = self.next_refresh {
            if t < best.0 {
                best = (t, "table refresh");
            }
        }
        if let Some(t) = self.pending.values().map(|p| p.deadline).min() {
            if t < best.0 {
                best = (t, "request timeout");
            }
        }
        if let Some(t) = self.challenges.values().map(|c| c.expires).min() {
            if t < best.0 {
                best = (t, "challenge expiry");
            }
        }
        Some(best)
    }

    // ---- timers ----

    /// Expires requests and challenges, runs liveness checks and refreshes.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.challenges.retain(|_, c| c.expires > now);
        let expired: Vec<RequestId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(p) = self.pending.remove(&id) {
                if let RequestState::Sent { nonce, .. } = p.state {
                    self.nonces.remove(&nonce);
                }
                self.request_failed(now, id, p, "timeout");
            }
        }
        if now >= self.next_liveness {
            self.next_liveness = now + self.config.liveness_interval;
            if let Some(id) = self.table.stalest() {
                self.check_liveness(now, &id);
            }
        }
        if let (Some(t), Some(every)) = (self.next_refresh, self.config.refresh_interval) {
            if now >= t {
                self.next_refresh = Some(now + every);
                self.refresh(now);
            }
        }
    }

    fn refresh(&mut self, now: Timestamp) {
        if self.table.is_empty() {
            return;
        }
        // Target a random id in a random populated bucket, or our own
        // neighbourhood one time in four.
        let buckets: Vec<u16> = self.table.non_empty_buckets().collect();
        let mut r = [0u8; 32];
        self.rng.fill_bytes(&mut r);
        let pick = r[0] as usize;
        let target = if pick.is_multiple_of(4) || buckets.is_empty() {
            self.local_id
        } else {
            let d = buckets[pick % buckets.len()];
            random_at_distance(&self.local_id, d, r)
        };
        let _ = self.start_lookup(now, target, true);
    }

    fn request_failed(
        &mut self,
        now: Timestamp,
        id: RequestId,
        p: PendingRequest,
        why: &'static str,
    ) {
        let node = p.node_id();
        match p.origin {
            Origin::App => {
                if let Message::FindNode { .. } = p.message {
                    if p.nodes_messages > 0 {
                        // A partial answer is still an answer.
                        self.push_event(Event::Nodes {
                            request_id: id,
                            node_id: node,
                            enrs: p.nodes,
                        });
                        return;
                    }
                }
                self.push_event(Event::RequestFailed {
                    request_id: id,
                    node_id: node,
                    reason: why,
                });
            }
            Origin::Lookup(l) => {
                let messages = p.nodes_messages as u32;
                let found = self.usable_for_lookup(p.nodes);
                if let Some(lookup) = self.lookups.get_mut(&l) {
                    if messages > 0 {
                        // Partial answer: no follow-up.
                        let _ = lookup.on_response(&node, found, messages, false);
                    } else {
                        lookup.on_failure(&node);
                    }
                }
                self.note_failure(now, &node, false);
                self.advance_lookup(now, l);
            }
            Origin::Liveness => self.note_failure(now, &node, true),
            Origin::EnrRefresh => self.note_failure(now, &node, false),
        }
    }

    fn note_failure(&mut self, now: Timestamp, node: &NodeId, liveness: bool) {
        let evict = match self.table.get_mut(node) {
            Some(e) => {
                e.failures = e.failures.saturating_add(1);
                liveness || e.failures >= 3 || !e.verified
            }
            None => false,
        };
        if evict {
            let (removed, promoted) = self.table.remove(node);
            if removed {
                self.push_event(Event::NodeEvicted(*node));
            }
            if let Some(p) = promoted {
                self.check_liveness(now, &p.node_id());
            }
        }
    }

    fn check_liveness(&mut self, now: Timestamp, id: &NodeId) {
        let already = self
            .pending
            .values()
            .any(|p| p.origin == Origin::Liveness && p.node_id() == *id);
        // Keep half the request budget for the application and lookups.
        if already || self.pending.len() * 2 >= self.config.max_pending_requests {
            return;
        }
        let Some(entry) = self.table.get_mut(id) else {
            return;
        };
        entry.last_checked = now;
        let (enr, addr) = (entry.enr.clone(), entry.addr);
        let seq = self.local_enr.seq();
        let _ = self.send_request(now, &enr, addr, Origin::Liveness, |request_id| {
            Message::Ping {
                request_id,
                enr_seq: seq,
            }
        });
    }

    /// Offers a node to the table; `true` if newly inserted.
    fn offer(&mut self, now: Timestamp, enr: &Enr, addr: SocketAddr) -> bool {
        match self.table.insert(enr, addr, now) {
            Insert::Inserted => true,
            Insert::Full { lrs } => {
                self.check_liveness(now, &lrs);
                false
            }
            Insert::Updated | Insert::Ignored => false,
        }
    }

    // ---- sending ----

    fn push_transmit(&mut self, to: SocketAddr, datagram: Vec<u8>) {
        if self.transmits.len() >= self.config.max_transmits {
            self.stats.dropped_transmits += 1;
            return;
        }
        self.stats.packets_out += 1;
        self.transmits.push_back(Transmit { to, datagram });
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= self.config.max_events {
            self.events.pop_front();
            self.stats.dropped_events += 1;
        }
        self.events.push_back(e);
    }

    fn random_iv(&mut self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        self.rng.fill_bytes(&mut iv);
        iv
    }

    /// Seals `pt` in an ordinary message packet with the session's key.
    fn ordinary_packet(
        &mut self,
        dest: NodeId,
        addr: SocketAddr,
        pt: &[u8],
    ) -> Option<(Nonce, Vec<u8>)> {
        let iv = self.random_iv();
        let session = self.sessions.get_mut(&(dest, addr))?;
        let nonce = session.next_nonce(&mut self.rng);
        let header = PacketHeader {
            masking_iv: iv,
            nonce,
            kind: PacketKind::Message {
                src_id: self.local_id,
            },
        };
        let ad = header.authenticated_data();
        let mut sealed = Vec::with_capacity(pt.len() + 16);
        encrypt_message(session.encrypt_key(), &nonce, pt, &ad, &mut sealed);
        let mut out = Vec::new();
        encode_packet(&dest, &header, &sealed, &mut out);
        Some((nonce, out))
    }

    /// A message packet with random content, to provoke WHOAREYOU
    /// (handshake step 1 without session keys).
    fn random_packet(&mut self, dest: NodeId) -> (Nonce, Vec<u8>) {
        let iv = self.random_iv();
        let mut nonce = [0u8; 12];
        self.rng.fill_bytes(&mut nonce);
        let mut body = [0u8; 20];
        self.rng.fill_bytes(&mut body);
        let header = PacketHeader {
            masking_iv: iv,
            nonce,
            kind: PacketKind::Message {
                src_id: self.local_id,
            },
        };
        let mut out = Vec::new();
        encode_packet(&dest, &header, &body, &mut out);
        (nonce, out)
    }

    fn send_message(
        &mut self,
        now: Timestamp,
        dest: NodeId,
        addr: SocketAddr,
        msg: &Message,
    ) -> Result<(), Error> {
        let pt = msg.encode();
        let (_, packet) = self
            .ordinary_packet(dest, addr, &pt)
            .ok_or(Error::NoSession)?;
        if let Some(s) = self.sessions.get_mut(&(dest, addr)) {
            s.last_used = now;
        }
        self.push_transmit(addr, packet);
        Ok(())
    }

    fn send_request(
        &mut self,
        now: Timestamp,
        enr: &Enr,
        addr: SocketAddr,
        origin: Origin,
        build: impl FnOnce(RequestId) -> Message,
    ) -> Result<RequestId, Error> {
        if self.pending.len() >= self.config.max_pending_requests {
            return Err(Error::TooManyRequests(self.config.max_pending_requests));
        }
        let dest = enr.node_id();
        if dest == self.local_id {
            return Err(Error::InvalidRecord("that is our own record"));
        }
        self.next_request = self.next_request.wrapping_add(1);
        let request_id = RequestId::from_u64(self.next_request);
        let message = build(request_id);
        // Wait while a handshake with this node is under way: our session
        // is not confirmed yet, or another request already provoked (or is
        // about to provoke) a WHOAREYOU.
        let handshaking = match self.sessions.get(&(dest, addr)) {
            Some(s) => !s.confirmed,
            None => self.pending.values().any(|p| {
                p.node_id() == dest
                    && p.addr == addr
                    && matches!(p.state, RequestState::Sent { .. })
            }),
        };
        let state = if handshaking {
            RequestState::AwaitingSession
        } else {
            let pt = message.encode();
            let (nonce, packet) = match self.ordinary_packet(dest, addr, &pt) {
                Some(x) => x,
                None => self.random_packet(dest),
            };
            self.nonces.insert(nonce, request_id);
            self.push_transmit(addr, packet);
            RequestState::Sent {
                nonce,
                handshaken: false,
            }
        };
        self.pending.insert(
            request_id,
            PendingRequest {
                enr: enr.clone(),
                addr,
                message,
                origin,
                state,
                deadline: now + self.config.request_timeout,
                nodes: Vec::new(),
                nodes_messages: 0,
            },
        );
        Ok(request_id)
    }

    /// Re-sends requests that waited for the session with `(node, addr)`.
    fn flush_awaiting(&mut self, now: Timestamp, node: NodeId, addr: SocketAddr) {
        let waiting: Vec<RequestId> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                p.state == RequestState::AwaitingSession && p.node_id() == node && p.addr == addr
            })
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            let Some(pt) = self.pending.get(&id).map(|p| p.message.encode()) else {
                continue;
            };
            let Some((nonce, packet)) = self.ordinary_packet(node, addr, &pt) else {
                return;
            };
            self.nonces.insert(nonce, id);
            self.push_transmit(addr, packet);
            if let Some(p) = self.pending.get_mut(&id) {
                p.state = RequestState::Sent {
                    nonce,
                    handshaken: false,
                };
                p.deadline = now + self.config.request_timeout;
            }
        }
    }

    /// Fuzzing only: seals `pt` as an ordinary message packet under the
    /// session with `(dest, addr)`, so a fuzzer can reach message handling
    /// past AES-GCM.
    #[cfg(fuzzing)]
    pub fn fuzz_seal(&mut self, dest: NodeId, addr: SocketAddr, pt: &[u8]) -> Option<Vec<u8>> {
        self.ordinary_packet(dest, addr, pt).map(|(_, p)| p)
    }

    // ---- receiving ----

    /// Handles one datagram from `from`. Errors describe a datagram that
    /// was dropped; the machine stays usable.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use status_core::{SecretKey, Timestamp};
    /// use status_discovery::discv5::{Config, Discv5, Error};
    /// use status_discovery::Enr;
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// let enr = Enr::builder().ip4([127, 0, 0, 1].into()).udp(30301).sign(&key).unwrap();
    /// let other = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// let foreign = Discv5::new(other, enr.clone(), Config::default(), [1; 32], now);
    /// assert!(matches!(foreign, Err(Error::ForeignRecord))); // not our record
    /// let mut node = Discv5::new(key, enr, Config::default(), [1; 32], now)?;
    /// let from: SocketAddr = "10.0.0.9:9000".parse().unwrap();
    ///
    /// assert_eq!(node.handle_input(now, from, &[0; 20]), Err(Error::PacketTooSmall(20)));
    /// // Not masked with our node id: not a discv5 packet for us.
    /// assert_eq!(node.handle_input(now, from, &[0; 100]), Err(Error::InvalidProtocolId));
    /// assert_eq!(node.stats().packets_in, 0);
    /// assert!(node.poll_transmit().is_none());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn handle_input(
        &mut self,
        now: Timestamp,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Error> {
        let packet = decode_packet(&self.local_id, datagram)?;
        self.stats.packets_in += 1;
        let nonce = packet.header.nonce;
        match packet.header.kind {
            PacketKind::Message { src_id } => {
                let key = (src_id, from);
                if let Some(session) = self.sessions.get_mut(&key) {
                    if let Ok(pt) =
                        session.decrypt(&nonce, packet.message, &packet.authenticated_data)
                    {
                        session.last_used = now;
                        session.confirmed = true;
                        self.flush_awaiting(now, src_id, from);
                        return self.handle_message(now, src_id, from, &pt);
                    }
                }
                self.send_whoareyou(now, src_id, from, nonce);
                Ok(())
            }
            PacketKind::WhoAreYou { enr_seq, .. } => {
                self.handle_whoareyou(now, from, nonce, enr_seq, &packet.authenticated_data)
            }
            PacketKind::Handshake {
                src_id,
                id_signature,
                eph_pubkey,
                record,
            } => {
                let pt = self.handle_handshake(
                    now,
                    from,
                    src_id,
                    &id_signature,
                    &eph_pubkey,
                    record.as_deref(),
                    &nonce,
                    packet.message,
                    &packet.authenticated_data,
                )?;
                self.handle_message(now, src_id, from, &pt)
            }
        }
    }

    /// Step 2: challenge a packet we cannot decrypt.
    fn send_whoareyou(&mut self, now: Timestamp, src_id: NodeId, from: SocketAddr, nonce: Nonce) {
        let key = (src_id, from);
        if !self.challenges.contains_key(&key)
            && self.challenges.len() >= self.config.max_challenges
        {
            return;
        }
        let known_enr = self.table.get(&src_id).map(|e| e.enr.clone());
        let mut id_nonce = [0u8; 16];
        self.rng.fill_bytes(&mut id_nonce);
        let header = PacketHeader {
            masking_iv: self.random_iv(),
            nonce,
            kind: PacketKind::WhoAreYou {
                id_nonce,
                enr_seq: known_enr.as_ref().map_or(0, Enr::seq),
            },
        };
        let mut out = Vec::new();
        encode_packet(&src_id, &header, &[], &mut out);
        self.challenges.insert(
            key,
            Challenge {
                challenge_data: header.authenticated_data(),
                known_enr,
                expires: now + self.config.challenge_timeout,
            },
        );
        self.push_transmit(from, out);
    }

    /// Step 3: answer WHOAREYOU by re-sending the request as a handshake.
    fn handle_whoareyou(
        &mut self,
        now: Timestamp,
        from: SocketAddr,
        nonce: Nonce,
        enr_seq: u64,
        challenge_data: &[u8],
    ) -> Result<(), Error> {
        let request_id = *self.nonces.get(&nonce).ok_or(Error::UnexpectedWhoAreYou)?;
        let Some(p) = self.pending.get(&request_id) else {
            return Err(Error::UnexpectedWhoAreYou);
        };
        if p.addr != from {
            return Err(Error::UnexpectedWhoAreYou);
        }
        if matches!(
            p.state,
            RequestState::Sent {
                handshaken: true,
                ..
            }
        ) {
            // One handshake per request: a second challenge means the peer
            // rejects ours.
            self.nonces.remove(&nonce);
            if let Some(p) = self.pending.remove(&request_id) {
                self.request_failed(now, request_id, p, "handshake rejected");
            }
            return Ok(());
        }
        let dest = p.node_id();
        let dest_pk: PublicKey = *p.enr.public_key();
        let pt = p.message.encode();

        let eph = SecretKey::random(&mut self.rng);
        let eph_pubkey = eph.public_key().to_compressed();
        let keys = initiator_keys(&eph, &dest_pk, challenge_data, &self.local_id, &dest)?;
        let id_signature = id_sign(&self.key, challenge_data, &eph_pubkey, &dest);
        let record = (enr_seq < self.local_enr.seq()).then(|| self.local_enr.as_bytes().to_vec());
        let mut session = Session::new(keys, true, now);
        let new_nonce = session.next_nonce(&mut self.rng);
        let header = PacketHeader {
            masking_iv: self.random_iv(),
            nonce: new_nonce,
            kind: PacketKind::Handshake {
                src_id: self.local_id,
                id_signature,
                eph_pubkey,
                record,
            },
        };
        let ad = header.authenticated_data();
        let mut sealed = Vec::with_capacity(pt.len() + 16);
        encrypt_message(session.encrypt_key(), &new_nonce, &pt, &ad, &mut sealed);
        let mut out = Vec::new();
        encode_packet(&dest, &header, &sealed, &mut out);
        self.insert_session((dest, from), session);
        self.nonces.remove(&nonce);
        self.nonces.insert(new_nonce, request_id);
        if let Some(p) = self.pending.get_mut(&request_id) {
            p.state = RequestState::Sent {
                nonce: new_nonce,
                handshaken: true,
            };
            p.deadline = now + self.config.request_timeout;
        }
        // Other requests sent to this node under the old (or no) keys
        // cannot be decrypted: park them until the session answers.
        let others: Vec<RequestId> = self
            .pending
            .iter()
            .filter(|(id, p)| {
                **id != request_id
                    && p.node_id() == dest
                    && p.addr == from
                    && matches!(
                        p.state,
                        RequestState::Sent {
                            handshaken: false,
                            ..
                        }
                    )
            })
            .map(|(id, _)| *id)
            .collect();
        for id in others {
            if let Some(p) = self.pending.get_mut(&id) {
                if let RequestState::Sent { nonce, .. } = p.state {
                    self.nonces.remove(&nonce);
                }
                p.state = RequestState::AwaitingSession;
            }
        }
        self.push_transmit(from, out);
        Ok(())
    }

    fn insert_session(&mut self, key: (NodeId, SocketAddr), session: Session) {
        if !self.sessions.contains_key(&key) && self.sessions.len() >= self.config.max_sessions {
            let oldest = self
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.sessions.remove(&k);
            }
        }
        let session = match self.sessions.remove(&key) {
            Some(old) => session.replacing(old),
            None => session,
        };
        self.sessions.insert(key, session);
    }

    /// Step 4: verify the handshake, derive keys, open the message.
    #[allow(clippy::too_many_arguments)]
    fn handle_handshake(
        &mut self,
        now: Timestamp,
        from: SocketAddr,
        src_id: NodeId,
        id_signature: &[u8; 64],
        eph_pubkey: &[u8; 33],
        record: Option<&[u8]>,
        nonce: &Nonce,
        sealed: &[u8],
        ad: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let key = (src_id, from);
        let challenge = match self.challenges.get(&key) {
            Some(c) if c.expires > now => c.clone(),
            _ => return Err(Error::UnexpectedHandshake),
        };
        let enr = match (record, &challenge.known_enr) {
            (Some(r), known) => {
                let enr = Enr::decode(r).map_err(|_| Error::InvalidRecord("does not verify"))?;
                if enr.node_id() != src_id {
                    return Err(Error::InvalidRecord("record of another node"));
                }
                match known {
                    Some(k) if k.seq() > enr.seq() => k.clone(),
                    _ => enr,
                }
            }
            (None, Some(k)) => k.clone(),
            (None, None) => return Err(Error::InvalidRecord("unknown node sent no record")),
        };
        id_verify(
            enr.public_key(),
            id_signature,
            &challenge.challenge_data,
            eph_pubkey,
            &self.local_id,
        )?;
        let eph = PublicKey::from_slice(eph_pubkey).map_err(|_| Error::InvalidPublicKey)?;
        let secret = ecdh(&eph, &self.key)?;
        let keys = derive_keys(&secret, &challenge.challenge_data, &src_id, &self.local_id);
        let pt = decrypt_message(&keys.initiator_key, nonce, sealed, ad)?;
        self.challenges.remove(&key);
        self.insert_session(key, Session::new(keys, false, now));
        self.stats.handshakes += 1;
        self.push_event(Event::SessionEstablished {
            enr: enr.clone(),
            addr: from,
        });
        if self.offer(now, &enr, from) {
            self.check_liveness(now, &src_id);
        }
        Ok(pt)
    }

    fn handle_message(
        &mut self,
        now: Timestamp,
        src_id: NodeId,
        from: SocketAddr,
        pt: &[u8],
    ) -> Result<(), Error> {
        let msg = Message::decode(pt)?;
        if msg.is_request() {
            return self.handle_request(now, src_id, from, msg);
        }
        let request_id = *msg.request_id();
        let matches = self
            .pending
            .get(&request_id)
            .is_some_and(|p| p.node_id() == src_id && p.addr == from);
        if !matches {
            return Err(Error::UnexpectedResponse);
        }
        if let Some(p) = self.pending.get(&request_id) {
            if p.state == RequestState::AwaitingSession {
                return Err(Error::UnexpectedResponse);
            }
        }
        // A response is the liveness proof the table wants.
        self.table.mark_alive(&src_id);
        match msg {
            Message::Pong {
                enr_seq, ip, port, ..
            } => {
                let Some(p) = self.take_pending(&request_id, |m| matches!(m, Message::Ping { .. }))
                else {
                    return Err(Error::UnexpectedResponse);
                };
                self.maybe_refresh_enr(now, &p.enr, from, enr_seq);
                if p.origin == Origin::App {
                    self.push_event(Event::Pong {
                        request_id,
                        node_id: src_id,
                        enr_seq,
                        ip,
                        port,
                    });
                }
                Ok(())
            }
            Message::TalkResp { response, .. } => {
                let Some(p) =
                    self.take_pending(&request_id, |m| matches!(m, Message::TalkReq { .. }))
                else {
                    return Err(Error::UnexpectedResponse);
                };
                if p.origin == Origin::App {
                    self.push_event(Event::TalkResp {
                        request_id,
                        node_id: src_id,
                        response,
                    });
                }
                Ok(())
            }
            Message::Nodes { total, enrs, .. } => {
                self.handle_nodes(now, request_id, src_id, total, enrs)
            }
            _ => Err(Error::UnexpectedResponse),
        }
    }

    /// Removes the pending request if its message has the right kind.
    fn take_pending(
        &mut self,
        id: &RequestId,
        kind: impl Fn(&Message) -> bool,
    ) -> Option<PendingRequest> {
        if !self.pending.get(id).is_some_and(|p| kind(&p.message)) {
            return None;
        }
        let p = self.pending.remove(id)?;
        if let RequestState::Sent { nonce, .. } = p.state {
            self.nonces.remove(&nonce);
        }
        Some(p)
    }

    /// PING/PONG announced `seq`: fetch the newer record with FINDNODE [0].
    fn maybe_refresh_enr(&mut self, now: Timestamp, enr: &Enr, addr: SocketAddr, seq: u64) {
        let known = self
            .table
            .get(&enr.node_id())
            .map_or(enr.seq(), |e| e.enr.seq());
        if seq <= known {
            return;
        }
        let already = self
            .pending
            .values()
            .any(|p| p.origin == Origin::EnrRefresh && p.node_id() == enr.node_id());
        if !already {
            let _ = self.send_request(now, enr, addr, Origin::EnrRefresh, |request_id| {
                Message::FindNode {
                    request_id,
                    distances: vec![0],
                }
            });
        }
    }

    fn handle_nodes(
        &mut self,
        now: Timestamp,
        request_id: RequestId,
        src_id: NodeId,
        total: u64,
        records: Vec<Vec<u8>>,
    ) -> Result<(), Error> {
        let limit = self.config.max_nodes_messages;
        let max_records = self.config.max_nodes_response;
        let distances = match self.pending.get(&request_id).map(|p| &p.message) {
            Some(Message::FindNode { distances, .. }) => distances.clone(),
            _ => return Err(Error::UnexpectedResponse),
        };
        if total > limit {
            return Err(Error::TooManyNodes { total, limit });
        }
        let mut bad = false;
        for r in records {
            // A record we already hold verified needs no second signature
            // check (most NODES answers repeat known records).
            let decoded = match self.record_cache.get(&r) {
                Some(e) => Ok(e.clone()),
                None => Enr::decode(&r).inspect(|e| self.cache_record(e)),
            };
            let Ok(enr) = decoded else {
                bad = true;
                continue;
            };
            // "verify that the received nodes match the requested distances"
            if !distances.contains(&log2_distance(&enr.node_id(), &src_id)) {
                bad = true;
                continue;
            }
            let Some(p) = self.pending.get_mut(&request_id) else {
                break;
            };
            if p.nodes.len() < max_records && !p.nodes.iter().any(|e| e.node_id() == enr.node_id())
            {
                p.nodes.push(enr);
            }
        }
        let Some(p) = self.pending.get_mut(&request_id) else {
            return Err(Error::UnexpectedResponse);
        };
        p.nodes_messages += 1;
        let done = p.nodes_messages >= total.max(1);
        if done {
            if let Some(p) = self.take_pending(&request_id, |_| true) {
                self.nodes_complete(now, request_id, src_id, p);
            }
        }
        if bad {
            Err(Error::InvalidRecord(
                "NODES record invalid or at a distance not asked for",
            ))
        } else {
            Ok(())
        }
    }

    /// Remembers a verified record so that the same bytes in a later NODES
    /// answer skip the signature check (lookups see the same records again
    /// and again). Bounded by `Config::record_cache`.
    fn cache_record(&mut self, enr: &Enr) {
        if self.config.record_cache == 0 || self.record_cache.contains_key(enr.as_bytes()) {
            return;
        }
        while self.record_cache_order.len() >= self.config.record_cache {
            if let Some(old) = self.record_cache_order.pop_front() {
                self.record_cache.remove(&old);
            }
        }
        self.record_cache_order.push_back(enr.as_bytes().to_vec());
        self.record_cache
            .insert(enr.as_bytes().to_vec(), enr.clone());
    }

    fn usable_for_lookup(&self, enrs: Vec<Enr>) -> Vec<Enr> {
        enrs.into_iter()
            .filter(|e| e.node_id() != self.local_id && e.udp_socket().is_some())
            .collect()
    }

    fn nodes_complete(
        &mut self,
        now: Timestamp,
        request_id: RequestId,
        src: NodeId,
        p: PendingRequest,
    ) {
        match p.origin {
            Origin::App => self.push_event(Event::Nodes {
                request_id,
                node_id: src,
                enrs: p.nodes,
            }),
            Origin::Lookup(l) => {
                let full = p.nodes.len() >= self.config.max_nodes_response;
                let found = self.usable_for_lookup(p.nodes);
                for e in &found {
                    if let Some(addr) = e.udp_socket() {
                        if self.offer(now, e, addr) {
                            self.check_liveness(now, &e.node_id());
                        }
                    }
                }
                let follow_up = self.lookups.get_mut(&l).and_then(|lookup| {
                    lookup.on_response(&src, found, p.nodes_messages as u32, full)
                });
                if let Some((enr, distances)) = follow_up {
                    let sent =
                        self.send_request(now, &enr, p.addr, Origin::Lookup(l), |request_id| {
                            Message::FindNode {
                                request_id,
                                distances,
                            }
                        });
                    if sent.is_err() {
                        if let Some(lookup) = self.lookups.get_mut(&l) {
                            lookup.follow_up_failed(&src);
                        }
                    }
                }
                self.advance_lookup(now, l);
            }
            Origin::EnrRefresh => {
                for e in p.nodes {
                    if e.node_id() == src {
                        let newer = self.table.get(&src).is_some_and(|t| t.enr.seq() < e.seq());
                        if newer {
                            let addr = e.udp_socket().unwrap_or(p.addr);
                            self.table.insert(&e, addr, now);
                            self.push_event(Event::EnrUpdated(e));
                        }
                    }
                }
            }
            Origin::Liveness => {}
        }
    }

    fn advance_lookup(&mut self, now: Timestamp, id: LookupId) {
        loop {
            let Some(lookup) = self.lookups.get_mut(&id) else {
                return;
            };
            let queries = lookup.next_queries();
            if queries.is_empty() {
                break;
            }
            let mut failed = Vec::new();
            for (enr, distances) in queries {
                let node = enr.node_id();
                let addr = self
                    .table
                    .get(&node)
                    .map(|e| e.addr)
                    .or_else(|| enr.udp_socket());
                let sent = match addr {
                    Some(addr) => self
                        .send_request(now, &enr, addr, Origin::Lookup(id), |request_id| {
                            Message::FindNode {
                                request_id,
                                distances,
                            }
                        })
                        .is_ok(),
                    None => false,
                };
                if !sent {
                    failed.push(node);
                }
            }
            if failed.is_empty() {
                break;
            }
            if let Some(lookup) = self.lookups.get_mut(&id) {
                for n in &failed {
                    lookup.on_failure(n);
                }
            }
        }
        let finished = self.lookups.get(&id).is_some_and(Lookup::is_finished);
        if finished {
            if let Some(lookup) = self.lookups.remove(&id) {
                if !lookup.internal {
                    self.push_event(Event::LookupFinished {
                        id,
                        target: lookup.target,
                        closest: lookup.result(),
                        stats: lookup.stats,
                    });
                }
            }
        }
    }

    fn handle_request(
        &mut self,
        now: Timestamp,
        src_id: NodeId,
        from: SocketAddr,
        msg: Message,
    ) -> Result<(), Error> {
        match msg {
            Message::Ping {
                request_id,
                enr_seq,
            } => {
                let pong = Message::Pong {
                    request_id,
                    enr_seq: self.local_enr.seq(),
                    ip: from.ip(),
                    port: from.port(),
                };
                self.send_message(now, src_id, from, &pong)?;
                if let Some(known) = self.table.get(&src_id).map(|e| e.enr.clone()) {
                    self.maybe_refresh_enr(now, &known, from, enr_seq);
                }
                Ok(())
            }
            Message::FindNode {
                request_id,
                distances,
            } => {
                let records = self.collect_nodes(&distances);
                self.send_nodes(now, src_id, from, request_id, records)
            }
            Message::TalkReq {
                request_id,
                protocol,
                request,
            } => {
                if self.config.talk_protocols.contains(&protocol) {
                    self.push_event(Event::TalkRequest {
                        node_id: src_id,
                        addr: from,
                        request_id,
                        protocol,
                        request,
                    });
                    Ok(())
                } else {
                    // "If the protocol is unknown to the recipient, it must
                    // respond with a TALKRESP response containing empty
                    // response data."
                    self.send_message(
                        now,
                        src_id,
                        from,
                        &Message::TalkResp {
                            request_id,
                            response: Vec::new(),
                        },
                    )
                }
            }
            _ => Err(Error::UnexpectedResponse),
        }
    }

    fn collect_nodes(&self, distances: &[u16]) -> Vec<Vec<u8>> {
        let max = self.config.max_nodes_response;
        let mut out: Vec<Vec<u8>> = Vec::new();
        let mut seen = Vec::new();
        for &d in distances {
            if out.len() >= max {
                break;
            }
            if seen.contains(&d) {
                continue;
            }
            seen.push(d);
            if d == 0 {
                out.push(self.local_enr.as_bytes().to_vec());
                continue;
            }
            for e in self.table.at_distance(d) {
                if out.len() >= max {
                    break;
                }
                out.push(e.enr.as_bytes().to_vec());
            }
        }
        out
    }

    fn send_nodes(
        &mut self,
        now: Timestamp,
        dest: NodeId,
        addr: SocketAddr,
        request_id: RequestId,
        records: Vec<Vec<u8>>,
    ) -> Result<(), Error> {
        let mut chunks: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
        let mut size = 0;
        for r in records {
            if size + r.len() > NODES_RECORD_BUDGET && !chunks.last().is_some_and(Vec::is_empty) {
                chunks.push(Vec::new());
                size = 0;
            }
            size += r.len();
            if let Some(c) = chunks.last_mut() {
                c.push(r);
            }
        }
        let total = chunks.len() as u64;
        for enrs in chunks {
            self.send_message(
                now,
                dest,
                addr,
                &Message::Nodes {
                    request_id,
                    total,
                    enrs,
                },
            )?;
        }
        Ok(())
    }
}
