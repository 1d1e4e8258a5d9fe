//! The Waku machine: handshakes, per-peer views, the relay and local
//! filters of one node, as a sans-IO state machine (6/WAKU1, EIP-627).
//!
//! [`Waku`] knows nothing of sockets or RLPx: the caller tells it about
//! peers ([`Waku::add_peer`]) and feeds it their capability messages
//! (code relative to `waku`/`shh`, payload) as
//! `status_rlpx::session::Event::Message` delivers them
//! ([`Waku::handle_input`]). It answers with packets to send
//! ([`Waku::poll_transmit`]), events for the application
//! ([`Waku::poll_event`]) and its next deadline ([`Waku::poll_timeout`]).
//!
//! A mailserver runs beside the relay on the same machine: with
//! [`WakuConfig::mailserver`] set, each P2P Request arrives as
//! [`Event::P2PRequest`] and is answered with [`Waku::send_p2p_messages`]
//! and [`Waku::send_p2p_request_complete`]; the requesting client marks us
//! trusted ([`Waku::set_trusted`]) so that our P2P Messages reach its
//! filters.
//!
//! The canonical run loop, after every `handle_*`, `add_peer`, `post`,
//! `subscribe` or other command:
//!
//! 1. send every [`Transmit`] from [`Waku::poll_transmit`] to its peer;
//! 2. drain [`Waku::poll_event`]; on [`Event::PeerDropped`] disconnect
//!    that peer;
//! 3. re-arm the timer with [`Waku::poll_timeout`] and call
//!    [`Waku::handle_timeout`] when it fires.
//!
//! ```
//! use std::time::Duration;
//! use status_core::{NodeId, Timestamp};
//! use status_waku::node::{Event, Waku};
//! use status_waku::peer::{PeerId, Protocol};
//! use status_waku::{Envelope, Topic, WakuConfig};
//!
//! let now = Timestamp::from_secs(1_700_000_000);
//! let config = WakuConfig { min_pow: 0.0, ..WakuConfig::default() };
//! let mut a = Waku::new(config.clone(), now);
//! let mut b = Waku::new(config, now);
//! let pa = a.add_peer(now, NodeId([2; 64]), None, Protocol::Waku1); // b, seen from a
//! let pb = b.add_peer(now, NodeId([1; 64]), None, Protocol::Waku1); // a, seen from b
//!
//! // The run loop of two nodes joined by a perfect link.
//! fn pump(now: Timestamp, from: &mut Waku, to: &mut Waku, peer: PeerId) {
//!     if from.poll_timeout().is_some_and(|(t, _)| t <= now) {
//!         from.handle_timeout(now);
//!     }
//!     while let Some(t) = from.poll_transmit() {
//!         to.handle_input(now, peer, t.code, t.payload).unwrap();
//!     }
//! }
//! fn shuttle(now: Timestamp, a: &mut Waku, pa: PeerId, b: &mut Waku, pb: PeerId) {
//!     for _ in 0..4 {
//!         pump(now, a, b, pb);
//!         pump(now, b, a, pa);
//!     }
//! }
//! shuttle(now, &mut a, pa, &mut b, pb); // Status both ways
//! assert!(matches!(b.poll_event(), Some(Event::PeerReady { .. })));
//!
//! let env = Envelope::new(1_700_000_000, 60, Topic([1, 2, 3, 4]), &b"hi"[..]);
//! let hash = a.post(now, env).unwrap();
//! // Queued envelopes leave at the next transmission cycle (300 ms).
//! let later = now + Duration::from_millis(300);
//! shuttle(later, &mut a, pa, &mut b, pb);
//! assert!(b.has_envelope(&hash));
//! ```

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use bytes::Bytes;
use status_core::{NodeId, Timestamp};

use crate::config::{Interest, WakuConfig};
use crate::expiry::ExpiryQueue;
use crate::filter::{Filter, FilterId, Filters};
use crate::message::ReceivedMessage;
use crate::packet::{
    code, encode_raw_list, shh_code, EnvelopeError, MessageResponse, Packet, RawEnvelopes,
    ShhPacket,
};
use crate::peer::{BloomProbe, Handshake, Peer, PeerId, PeerView, Protocol};
use crate::rate_limit::Limiter;
use crate::rlp_strict;
use crate::status::{decode_bloom, ShhStatus, StatusOptions};
use crate::tolerance::{OldInterest, Tolerance};
use crate::{Bloom, Envelope, EnvelopeRejection, Error, Topic};

/// A packet for one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// To whom.
    pub peer: PeerId,
    /// Over which capability (`protocol.name()` for the RLPx send).
    pub protocol: Protocol,
    /// Packet code relative to the capability.
    pub code: u64,
    /// The packet payload.
    pub payload: Bytes,
}

/// Why the machine dropped a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// No Status within [`WakuConfig::status_timeout`].
    StatusTimeout,
    /// It sent something malformed or forbidden.
    Misbehaved(Error),
    /// It exceeded our rate limits more than [`WakuConfig::rate_limit_tolerance`] times.
    RateLimited,
    /// We are both light nodes ([`WakuConfig::restrict_light_connections`]).
    BothLight,
}

/// A message a local filter opened.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The filter that opened it.
    pub filter: FilterId,
    /// The envelope hash.
    pub hash: [u8; 32],
    /// The envelope.
    pub envelope: Envelope,
    /// What the filter's key revealed: payload, signer.
    pub message: ReceivedMessage,
    /// Whether it came in a P2P Message (a mailserver answer) rather than
    /// through the relay.
    pub p2p: bool,
}

/// What the machine reports to the application.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The peer's Status arrived: the handshake is complete.
    PeerReady {
        /// The peer.
        peer: PeerId,
        /// Its Status options (a whisper/6 Status mapped onto them).
        status: StatusOptions,
    },
    /// The machine dropped the peer: disconnect it. Nothing more is sent
    /// to or accepted from it.
    PeerDropped {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: DropReason,
    },
    /// A filter opened an envelope.
    Message(Box<Delivered>),
    /// A Messages packet went to a peer that sends confirmations; its
    /// Batch Ack / Message Response will carry this hash.
    BatchSent {
        /// The peer.
        peer: PeerId,
        /// keccak256 of the Messages payload.
        batch_hash: [u8; 32],
    },
    /// A peer confirmed one of our batches (Batch Ack or Message Response).
    BatchAcknowledged {
        /// The peer.
        peer: PeerId,
        /// keccak256 of the Messages payload it received.
        batch_hash: [u8; 32],
        /// Envelopes of that batch it rejected (Message Response only).
        errors: Vec<EnvelopeError>,
    },
    /// A trusted peer (a mailserver) completed a request: the P2P Request
    /// Complete payload, for [`crate::mailserver`] to parse.
    P2PRequestComplete {
        /// The peer.
        peer: PeerId,
        /// The raw payload.
        payload: Bytes,
    },
    /// A new envelope was accepted (from a peer or posted): with
    /// [`WakuConfig::mailserver`] set, the mailserver archives it
    /// (status-go calls `MailServer.Archive` at the same point). Like other
    /// repeatable events it counts against [`WakuConfig::max_events`].
    Archive {
        /// The envelope hash.
        hash: [u8; 32],
        /// The envelope's RLP, as received.
        raw: Bytes,
    },
    /// A peer sent a P2P Request (126): a history request for a mailserver
    /// (11/WAKU-MAILSERVER); only with [`WakuConfig::mailserver`] set. The
    /// machine answers none itself; a mailserver built on it opens the
    /// envelope with [`crate::mailserver::MessagesRequest::open_envelope`]
    /// and answers with [`Waku::send_p2p_messages`] and
    /// [`Waku::send_p2p_request_complete`].
    P2PRequest {
        /// The peer.
        peer: PeerId,
        /// The request envelope; `None` for status-go's newer direct form
        /// (a bare `MessagesRequest` RLP, see
        /// [`crate::mailserver::DirectMessagesRequest`]).
        envelope: Option<Envelope>,
        /// The packet payload as received.
        payload: Bytes,
    },
}

/// Counters of what the machine did, for metrics and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Envelopes received from peers or posted.
    pub envelopes_received: u64,
    /// Envelopes accepted (new and valid).
    pub accepted: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Expired envelopes dropped.
    pub expired: u64,
    /// Envelopes from the future or long expired (time-sync errors).
    pub time_sync_errors: u64,
    /// Envelopes below our PoW requirement.
    pub low_pow: u64,
    /// Envelopes on topics we did not ask for.
    pub not_interested: u64,
    /// Packets dropped by the IP / peer-id rate limits.
    pub rate_limited_packets: u64,
    /// Envelopes dropped by the topic rate limits.
    pub rate_limited_envelopes: u64,
    /// Envelope copies queued for peers.
    pub forwarded: u64,
    /// Envelope copies dropped because a throttled peer's batch was full.
    pub forward_dropped: u64,
    /// Messages packets sent.
    pub batches_sent: u64,
    /// Packets received before the peer's Status (ignored).
    pub ignored_before_status: u64,
    /// Events dropped because the event queue was full (see
    /// [`WakuConfig::max_events`]).
    pub events_dropped: u64,
}

/// A seen-cache key: an envelope hash. Only its first 8 bytes are hashed
/// (keccak output is uniform), but through the map's keyed SipHash: a peer
/// can grind nonces until many envelope hashes share low bits, and with an
/// unkeyed hash those would pile into one probe sequence. The map is never
/// iterated, so the random keys change no output.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key([u8; 32]);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut x = [0u8; 8];
        x.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(x));
    }
}

/// An envelope kept to hand to peers that connect later.
struct Stored {
    raw: Bytes,
    topic: Topic,
    pow: f64,
    expiry: u32,
}

/// A seen-cache entry: 40 bytes with its key, so the 100,000 default
/// entries stay within a few MB of cache; the few stored envelopes live in
/// their own map.
struct Seen {
    expiry: u32,
    stored: bool,
}

/// Why an envelope was not accepted.
enum Reject {
    /// Dropped without blame (expired, duplicate, not wanted).
    Silent,
    /// Reported to the peer in confirmations, with the rejection's code.
    Refused(EnvelopeRejection),
    /// The peer misbehaved: drop it.
    Fatal(Error),
}

/// One Waku node (see the module docs for the run loop).
pub struct Waku {
    config: WakuConfig,
    peers: Vec<Peer>,
    next_peer: u64,
    seen: HashMap<Key, Seen>,
    /// The stored envelopes (a subset of `seen`), by hash.
    kept: HashMap<Key, Stored>,
    expiries: ExpiryQueue,
    stored: usize,
    stored_bytes: usize,
    filters: Filters,
    interest_bloom: Bloom,
    ip_limits: BTreeMap<IpAddr, Limiter>,
    topic_limits: BTreeMap<Topic, Limiter>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Envelopes forwarded in this transmission cycle; peers queue indices.
    batch: Vec<Bytes>,
    next_flush: Option<Timestamp>,
    last_sweep: Timestamp,
    /// The latest `now` any call brought: when a setting changes, its
    /// tolerance window starts here.
    last_now: Timestamp,
    tolerance: Tolerance,
    stats: Stats,
}

impl std::fmt::Debug for Waku {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waku")
            .field("peers", &self.peers.len())
            .field("seen", &self.seen.len())
            .field("stored", &self.stored)
            .finish_non_exhaustive()
    }
}

impl Waku {
    /// A node with `config`, starting at `now`.
    ///
    /// Adding a peer queues our Status at once; the peer is ready when its
    /// own Status comes in through [`Waku::handle_input`]:
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::{NodeId, Timestamp};
    /// use status_waku::node::{Event, Waku};
    /// use status_waku::packet::code;
    /// use status_waku::peer::Protocol;
    /// use status_waku::{StatusOptions, WakuConfig};
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut node = Waku::new(WakuConfig::light(), now);
    /// let peer = node.add_peer(now, NodeId([2; 64]), None, Protocol::Waku1);
    ///
    /// // Our Status goes out first: a light node with no topics yet.
    /// let t = node.poll_transmit().unwrap();
    /// assert_eq!((t.peer, t.code), (peer, code::STATUS));
    /// let ours = StatusOptions::decode(&t.payload)?;
    /// assert_eq!(ours.light_node, Some(true));
    /// assert_eq!(ours.topic_interest, Some(vec![]));
    /// // Theirs is awaited until the status timeout.
    /// assert_eq!(node.poll_timeout(), Some((now + Duration::from_secs(10), "status")));
    ///
    /// let theirs = StatusOptions { pow_requirement: Some(0.0), ..StatusOptions::default() };
    /// node.handle_input(now, peer, code::STATUS, theirs.to_vec().into())?;
    /// assert!(node.is_ready(peer));
    /// assert!(matches!(node.poll_event(), Some(Event::PeerReady { peer: p, .. }) if p == peer));
    /// assert_eq!(node.poll_timeout(), None);
    /// # Ok::<(), status_waku::Error>(())
    /// ```
    pub fn new(config: WakuConfig, now: Timestamp) -> Waku {
        let interest_bloom = match config.interest {
            Interest::Full => Bloom::FULL,
            _ => Bloom::EMPTY,
        };
        Waku {
            config,
            peers: Vec::new(),
            next_peer: 0,
            seen: HashMap::default(),
            kept: HashMap::default(),
            expiries: ExpiryQueue::default(),
            stored: 0,
            stored_bytes: 0,
            filters: Filters::default(),
            interest_bloom,
            ip_limits: BTreeMap::new(),
            topic_limits: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            batch: Vec::new(),
            next_flush: None,
            last_sweep: now,
            last_now: now,
            tolerance: Tolerance::default(),
            stats: Stats::default(),
        }
    }

    // ---- getters -------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &WakuConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Peers currently known (handshaking or ready).
    pub fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.peers.iter().map(|p| p.id)
    }

    /// A peer's view (what it asked for); `None` for an unknown peer.
    pub fn peer_view(&self, peer: PeerId) -> Option<&PeerView> {
        self.peer(peer).map(|p| &p.view)
    }

    /// The node id a peer was added with.
    pub fn peer_node_id(&self, peer: PeerId) -> Option<NodeId> {
        self.peer(peer).map(|p| p.node_id)
    }

    /// Whether the peer's Status has arrived.
    pub fn is_ready(&self, peer: PeerId) -> bool {
        self.peer(peer).is_some_and(Peer::is_ready)
    }

    /// Whether an envelope with this hash is in the seen cache.
    pub fn has_envelope(&self, hash: &[u8; 32]) -> bool {
        self.seen.contains_key(&Key(*hash))
    }

    /// Entries in the seen (dedup) cache; at most [`WakuConfig::max_seen`].
    pub fn seen_len(&self) -> usize {
        self.seen.len()
    }

    /// Envelopes stored for late peers; at most [`WakuConfig::max_stored`].
    pub fn stored_len(&self) -> usize {
        self.stored
    }

    /// Bytes of stored envelopes; at most [`WakuConfig::max_stored_bytes`].
    pub fn stored_bytes(&self) -> usize {
        self.stored_bytes
    }

    /// The Status options we send.
    pub fn status_options(&self) -> StatusOptions {
        let c = &self.config;
        let mut o = StatusOptions {
            pow_requirement: Some(c.min_pow),
            light_node: Some(c.light_node),
            confirmations_enabled: Some(c.confirmations_enabled),
            packet_rate_limits: Some(c.packet_rate_limits),
            bytes_rate_limits: Some(c.bytes_rate_limits),
            ..StatusOptions::default()
        };
        match c.interest {
            Interest::Full | Interest::Bloom => o.bloom_filter = Some(self.interest_bloom),
            Interest::Topics => o.topic_interest = Some(self.filters.topics()),
        }
        o
    }

    fn peer(&self, id: PeerId) -> Option<&Peer> {
        self.index(id).map(|i| &self.peers[i])
    }

    fn index(&self, id: PeerId) -> Option<usize> {
        self.peers.binary_search_by_key(&id, |p| p.id).ok()
    }

    // ---- peers ---------------------------------------------------------------

    /// A peer whose RLPx session shares `protocol` with us is connected:
    /// our Status is queued at once and its Status is awaited until
    /// `now + status_timeout`. `ip` enables the per-IP rate limit.
    pub fn add_peer(
        &mut self,
        now: Timestamp,
        node_id: NodeId,
        ip: Option<IpAddr>,
        protocol: Protocol,
    ) -> PeerId {
        let id = PeerId(self.next_peer);
        self.next_peer += 1;
        let exempt = self.config.rate_limit_exempt_ids.contains(&node_id)
            || ip.is_some_and(|ip| self.config.rate_limit_exempt_ips.contains(&ip));
        self.peers.push(Peer {
            id,
            node_id,
            ip,
            protocol,
            handshake: Handshake::AwaitingStatus {
                deadline: now.saturating_add(self.config.status_timeout),
            },
            view: PeerView::default(),
            trusted: false,
            exempt,
            inbound: Limiter::new(now),
            exceeded: 0,
            outbound: Limiter::new(now),
            pending: Vec::new(),
            carry: Vec::new(),
            pending_bytes: 0,
            ignored_before_status: 0,
        });
        let payload = match protocol {
            Protocol::Waku1 => self.status_options().to_vec(),
            Protocol::Shh6 => {
                let mut v = Vec::new();
                self.shh_status().encode(&mut v);
                v
            }
        };
        self.send(id, protocol, code::STATUS, payload.into());
        id
    }

    /// Forgets a peer the caller disconnected (no event).
    pub fn remove_peer(&mut self, peer: PeerId) {
        if let Some(i) = self.index(peer) {
            self.peers.remove(i);
        }
    }

    /// Marks a peer trusted: its P2P Messages and P2P Request Complete
    /// packets are accepted (a mailserver; 11/WAKU-MAILSERVER "a node MUST
    /// trust the selected Mailserver"). Others' are ignored.
    pub fn set_trusted(&mut self, peer: PeerId, trusted: bool) -> Result<(), Error> {
        let i = self.index(peer).ok_or(Error::UnknownPeer(peer.0))?;
        self.peers[i].trusted = trusted;
        Ok(())
    }

    /// Queues an event a peer can cause again and again; past
    /// `max_events` it is dropped and counted instead. Peer lifecycle
    /// events (ready, dropped) bypass this: at most two per peer.
    fn push_event(&mut self, event: Event) {
        if self.events.len() >= self.config.max_events {
            self.stats.events_dropped += 1;
        } else {
            self.events.push_back(event);
        }
    }

    fn drop_peer(&mut self, id: PeerId, reason: DropReason) {
        if let Some(i) = self.index(id) {
            self.peers.remove(i);
            self.events
                .push_back(Event::PeerDropped { peer: id, reason });
        }
    }

    fn shh_status(&self) -> ShhStatus {
        ShhStatus {
            pow_requirement: self.config.min_pow,
            bloom_filter: self.our_bloom(),
            light_node: self.config.light_node,
        }
    }

    fn our_bloom(&self) -> Bloom {
        match self.config.interest {
            Interest::Topics => Bloom::from_topics(&self.filters.topics()),
            _ => self.interest_bloom,
        }
    }

    fn send(&mut self, peer: PeerId, protocol: Protocol, code: u64, payload: Bytes) {
        self.transmits.push_back(Transmit {
            peer,
            protocol,
            code,
            payload,
        });
    }

    // ---- inputs --------------------------------------------------------------

    /// Feeds one capability message from `peer`: `code` relative to its
    /// protocol, `payload` as RLPx delivered it.
    ///
    /// The packet size is checked first, then our rate limits (a packet
    /// over them is dropped; past the tolerance the peer is). Before the
    /// peer's Status every other packet is ignored; Status after the
    /// handshake is ignored; unknown codes are ignored.
    ///
    /// # Errors
    /// On malformed or forbidden input the peer is dropped
    /// ([`Event::PeerDropped`]) and the error returned;
    /// [`Error::UnknownPeer`] for a peer not (or no longer) known.
    ///
    /// ```
    /// use status_core::{NodeId, Timestamp};
    /// use status_waku::node::{DropReason, Event, Waku};
    /// use status_waku::packet::code;
    /// use status_waku::peer::Protocol;
    /// use status_waku::{Error, WakuConfig};
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut node = Waku::new(WakuConfig::default(), now);
    /// let peer = node.add_peer(now, NodeId([2; 64]), None, Protocol::Waku1);
    ///
    /// // A Status that is not RLP: the peer is dropped and the error returned.
    /// let err = node.handle_input(now, peer, code::STATUS, vec![0xff].into()).unwrap_err();
    /// assert!(matches!(err, Error::Rlp(_)));
    /// match node.poll_event() {
    ///     Some(Event::PeerDropped { peer: p, reason: DropReason::Misbehaved(e) }) => {
    ///         assert_eq!((p, e), (peer, err));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// // It is forgotten: more input from it is a caller error.
    /// let again = node.handle_input(now, peer, code::STATUS, vec![0xc0].into());
    /// assert_eq!(again, Err(Error::UnknownPeer(peer.0)));
    /// ```
    pub fn handle_input(
        &mut self,
        now: Timestamp,
        peer: PeerId,
        code: u64,
        payload: Bytes,
    ) -> Result<(), Error> {
        let i = self.index(peer).ok_or(Error::UnknownPeer(peer.0))?;
        let result = self.input(now, i, code, &payload);
        if let Err(e) = &result {
            let reason = match e {
                Error::RateLimitExceeded => DropReason::RateLimited,
                e => DropReason::Misbehaved(e.clone()),
            };
            self.drop_peer(peer, reason);
        }
        self.end_of_call(now);
        result
    }

    fn input(&mut self, now: Timestamp, i: usize, code: u64, payload: &Bytes) -> Result<(), Error> {
        self.config.limits.check_packet(payload)?;
        if !self.inbound_allowed(now, i, payload.len()) {
            let p = &mut self.peers[i];
            p.exceeded = p.exceeded.saturating_add(1);
            self.stats.rate_limited_packets += 1;
            let t = self.config.rate_limit_tolerance;
            if t > 0 && p.exceeded >= t {
                return Err(Error::RateLimitExceeded);
            }
            return Ok(());
        }
        let peer = &self.peers[i];
        let id = peer.id;
        let protocol = peer.protocol;
        if !peer.is_ready() {
            if code != code::STATUS {
                self.peers[i].ignored_before_status += 1;
                self.stats.ignored_before_status += 1;
                return Ok(());
            }
            let options = match protocol {
                Protocol::Waku1 => StatusOptions::decode(payload)?,
                Protocol::Shh6 => ShhStatus::decode(payload)?.to_options(),
            };
            options.validate()?;
            let mut view = PeerView::default();
            view.apply(&options);
            if view.light_node && self.config.light_node && self.config.restrict_light_connections {
                self.drop_peer(id, DropReason::BothLight);
                return Ok(());
            }
            let p = &mut self.peers[i];
            p.view = view;
            p.handshake = Handshake::Ready;
            self.events.push_back(Event::PeerReady {
                peer: id,
                status: options,
            });
            self.send_stored(now, i);
            return Ok(());
        }
        match (protocol, code) {
            (_, code::STATUS) => Ok(()),
            (_, code::MESSAGES) => self.handle_messages(now, id, payload),
            (_, code::P2P_MESSAGE) => {
                if self.peers[i].trusted {
                    self.handle_p2p_messages(id, protocol, payload)
                } else {
                    Ok(())
                }
            }
            (Protocol::Waku1, code::STATUS_UPDATE) => {
                let options = StatusOptions::decode(payload)?;
                options.validate()?;
                self.apply_update(i, &options);
                Ok(())
            }
            (Protocol::Waku1, code::BATCH_ACK) => {
                let (item, _) = rlp_strict::split_item(payload)?;
                let b = item.bytes()?;
                let batch_hash = b
                    .try_into()
                    .map_err(|_| Error::InvalidHashLength(b.len()))?;
                self.push_event(Event::BatchAcknowledged {
                    peer: id,
                    batch_hash,
                    errors: Vec::new(),
                });
                Ok(())
            }
            (Protocol::Waku1, code::MESSAGE_RESPONSE) => {
                if let Some(r) = MessageResponse::decode(payload)? {
                    self.push_event(Event::BatchAcknowledged {
                        peer: id,
                        batch_hash: r.batch_hash,
                        errors: r.errors,
                    });
                }
                Ok(())
            }
            (Protocol::Waku1, code::P2P_REQUEST_COMPLETE) => {
                if self.peers[i].trusted {
                    let (item, _) = rlp_strict::split_item(payload)?;
                    let payload = payload.slice_ref(item.bytes()?);
                    self.push_event(Event::P2PRequestComplete { peer: id, payload });
                }
                Ok(())
            }
            (Protocol::Shh6, shh_code::POW_REQUIREMENT) => {
                let (item, _) = rlp_strict::split_item(payload)?;
                let options = StatusOptions {
                    pow_requirement: Some(f64::from_bits(item.uint()?)),
                    ..StatusOptions::default()
                };
                options.validate()?;
                self.apply_update(i, &options);
                Ok(())
            }
            (Protocol::Shh6, shh_code::BLOOM_FILTER) => {
                let (item, _) = rlp_strict::split_item(payload)?;
                if item.bytes()?.is_empty() {
                    return Err(Error::InvalidBloomLength(0));
                }
                let options = StatusOptions {
                    bloom_filter: Some(decode_bloom(item)?),
                    ..StatusOptions::default()
                };
                self.apply_update(i, &options);
                Ok(())
            }
            (_, code::P2P_REQUEST) if !self.config.mailserver => Ok(()),
            (Protocol::Waku1, code::P2P_REQUEST) => {
                let envelope = match Packet::decode(code, payload, &self.config.limits)? {
                    Packet::P2PRequest(e) => Some(e),
                    _ => None,
                };
                self.push_event(Event::P2PRequest {
                    peer: id,
                    envelope,
                    payload: payload.clone(),
                });
                Ok(())
            }
            (Protocol::Shh6, shh_code::P2P_REQUEST) => {
                if let ShhPacket::P2PRequest(e) =
                    ShhPacket::decode(code, payload, &self.config.limits)?
                {
                    self.push_event(Event::P2PRequest {
                        peer: id,
                        envelope: Some(e),
                        payload: payload.clone(),
                    });
                }
                Ok(())
            }
            // Unknown codes are ignored for forward compatibility.
            _ => Ok(()),
        }
    }

    fn apply_update(&mut self, i: usize, options: &StatusOptions) {
        if options.is_empty() {
            return; // "If none of the options are specified ... a noop"
        }
        let p = &mut self.peers[i];
        p.view.apply(options);
        if p.view.light_node && self.config.light_node && self.config.restrict_light_connections {
            let id = p.id;
            self.drop_peer(id, DropReason::BothLight);
        }
    }

    /// Whether our IP and peer-id limits let a packet of `size` through.
    fn inbound_allowed(&mut self, now: Timestamp, i: usize, size: usize) -> bool {
        let p = &mut self.peers[i];
        if p.exempt {
            return true;
        }
        let (pl, bl) = (
            self.config.packet_rate_limits,
            self.config.bytes_rate_limits,
        );
        let size = size as u64;
        let ip_ok = match p.ip {
            Some(ip) if pl.ip != 0 || bl.ip != 0 => self
                .ip_limits
                .entry(ip)
                .or_insert_with(|| Limiter::new(now))
                .allow(now, pl.ip, bl.ip, size),
            _ => true,
        };
        let peer_ok = p.inbound.allow(now, pl.peer_id, bl.peer_id, size);
        ip_ok && peer_ok
    }

    fn handle_messages(
        &mut self,
        now: Timestamp,
        from: PeerId,
        payload: &Bytes,
    ) -> Result<(), Error> {
        let mut errors = Vec::new();
        for raw in RawEnvelopes::new(payload)? {
            let raw = payload.slice_ref(raw?);
            match self.receive(now, Some(from), raw) {
                Ok(_) | Err((_, Reject::Silent)) => {}
                Err((hash, Reject::Refused(why))) => errors.push(EnvelopeError {
                    hash,
                    code: why.code(),
                    description: why.description().into(),
                }),
                Err((_, Reject::Fatal(e))) => return Err(e),
            }
        }
        if self.config.confirmations_enabled {
            if let Some(p) = self.peer(from).filter(|p| p.protocol == Protocol::Waku1) {
                let protocol = p.protocol;
                let batch_hash = keccak256(payload);
                let mut v = Vec::new();
                MessageResponse { batch_hash, errors }.encode(&mut v);
                self.send(from, protocol, code::MESSAGE_RESPONSE, v.into());
                let mut v = Vec::with_capacity(33);
                rlp_strict::write_bytes(&batch_hash, &mut |b| v.extend_from_slice(b));
                self.send(from, protocol, code::BATCH_ACK, v.into());
            }
        }
        Ok(())
    }

    /// P2P envelopes from a trusted peer: straight to the local filters,
    /// without expiry or PoW checks, never stored or forwarded (6/WAKU1
    /// "P2P Message").
    fn handle_p2p_messages(
        &mut self,
        _from: PeerId,
        protocol: Protocol,
        payload: &Bytes,
    ) -> Result<(), Error> {
        let envelopes = match protocol {
            Protocol::Waku1 => {
                match Packet::decode(code::P2P_MESSAGE, payload, &self.config.limits)? {
                    Packet::P2PMessage(es) => es,
                    _ => Vec::new(),
                }
            }
            Protocol::Shh6 => {
                match ShhPacket::decode(shh_code::P2P_MESSAGE, payload, &self.config.limits)? {
                    ShhPacket::P2PMessage(es) => es,
                    _ => Vec::new(),
                }
            }
        };
        for e in envelopes {
            if self.filters.wants(e.topic) {
                let hash = e.hash();
                self.deliver(hash, &e, true);
            }
        }
        Ok(())
    }

    /// Validates, dedups, stores, delivers and forwards one envelope.
    fn receive(
        &mut self,
        now: Timestamp,
        origin: Option<PeerId>,
        raw: Bytes,
    ) -> Result<[u8; 32], ([u8; 32], Reject)> {
        let max = self.config.limits.max_envelope_size;
        if raw.len() > max {
            let e = Error::EnvelopeTooLarge {
                size: raw.len(),
                max,
            };
            return Err(([0; 32], Reject::Fatal(e)));
        }
        self.stats.envelopes_received += 1;
        let hash = keccak256(&raw);
        if self.seen.contains_key(&Key(hash)) {
            self.stats.duplicates += 1;
            return Ok(hash);
        }
        let env = Envelope::decode_shared(&raw, max).map_err(|e| (hash, Reject::Fatal(e)))?;

        // Time (status-go `add`): creation time at most `sync_allowance`
        // ahead; an expired envelope is dropped, a long-expired one is a
        // time-sync error.
        let now_s = now.as_secs();
        let allowance = self.config.sync_allowance.as_secs();
        let sent = u64::from(env.sent_secs());
        let mut ahead = 0;
        if sent > now_s {
            if sent - allowance.min(sent) > now_s {
                self.stats.time_sync_errors += 1;
                return Err((hash, Reject::Refused(EnvelopeRejection::FromFuture)));
            }
            ahead = sent - now_s + 1;
        }
        let expiry = u64::from(env.expiry);
        if expiry < now_s {
            if expiry.saturating_add(2 * allowance) < now_s {
                self.stats.time_sync_errors += 1;
                return Err((hash, Reject::Refused(EnvelopeRejection::VeryOld)));
            }
            self.stats.expired += 1;
            return Err((hash, Reject::Silent));
        }

        // PoW, adjusted like status-go for an envelope created in the
        // future: its TTL counts from now, plus one second of latency.
        let pow = if ahead == 0 {
            env.pow()
        } else {
            2f64.powi(env.pow_leading_zero_bits() as i32)
                / env.rlp_without_nonce_len() as f64
                / (f64::from(env.ttl) + ahead as f64)
        };
        if pow < self.config.min_pow && !self.tolerance.pow_ok(now, pow) {
            self.stats.low_pow += 1;
            return Err((hash, Reject::Refused(EnvelopeRejection::LowPow)));
        }

        if origin.is_some() {
            if !self.we_want(env.topic) && !self.tolerance.interest_ok(now, env.topic) {
                self.stats.not_interested += 1;
                return Err((hash, Reject::Silent));
            }
            if !self.topic_allowed(now, env.topic, raw.len()) {
                self.stats.rate_limited_envelopes += 1;
                return Err((hash, Reject::Silent));
            }
        }
        self.accept(now, origin, hash, env, raw, pow);
        Ok(hash)
    }

    fn we_want(&self, topic: Topic) -> bool {
        match self.config.interest {
            Interest::Full => true,
            Interest::Bloom => self.interest_bloom.matches(topic),
            Interest::Topics => self.filters.wants(topic),
        }
    }

    fn topic_allowed(&mut self, now: Timestamp, topic: Topic, size: usize) -> bool {
        let (p, b) = (
            self.config.packet_rate_limits.topic,
            self.config.bytes_rate_limits.topic,
        );
        if p == 0 && b == 0 {
            return true;
        }
        if !self.topic_limits.contains_key(&topic)
            && self.topic_limits.len() >= self.config.max_topic_buckets
        {
            self.topic_limits.retain(|_, l| !l.is_idle(now, p, b));
            if self.topic_limits.len() >= self.config.max_topic_buckets {
                return false;
            }
        }
        self.topic_limits
            .entry(topic)
            .or_insert_with(|| Limiter::new(now))
            .allow(now, p, b, size as u64)
    }

    fn accept(
        &mut self,
        now: Timestamp,
        origin: Option<PeerId>,
        hash: [u8; 32],
        env: Envelope,
        raw: Bytes,
        pow: f64,
    ) {
        self.stats.accepted += 1;
        // Forgetting the earliest-expiring hash keeps the cache bounded.
        while self.seen.len() >= self.config.max_seen.max(1) {
            if !self.evict_earliest() {
                break;
            }
        }
        let relay = origin.is_none() || !self.config.light_node;
        let store = relay
            && self.stored < self.config.max_stored
            && self.stored_bytes + raw.len() <= self.config.max_stored_bytes;
        // A stored envelope gets its own buffer rather than pinning the
        // whole packet it came in.
        let body = if store {
            Bytes::copy_from_slice(&raw)
        } else {
            raw
        };
        if store {
            self.stored += 1;
            self.stored_bytes += body.len();
            self.kept.insert(
                Key(hash),
                Stored {
                    raw: body.clone(),
                    topic: env.topic,
                    pow,
                    expiry: env.expiry,
                },
            );
        }
        self.seen.insert(
            Key(hash),
            Seen {
                expiry: env.expiry,
                stored: store,
            },
        );
        self.expiries.push(env.expiry, hash);

        if self.filters.wants(env.topic) {
            self.deliver(hash, &env, false);
        }
        if self.config.mailserver {
            self.push_event(Event::Archive {
                hash,
                raw: body.clone(),
            });
        }
        if relay {
            let probe = BloomProbe::of(env.topic);
            let mut slot = None;
            for i in 0..self.peers.len() {
                let p = &self.peers[i];
                if p.is_ready()
                    && Some(p.id) != origin
                    && p.view.wants_probe(env.topic, &probe, pow)
                {
                    let idx = *slot.get_or_insert_with(|| self.batch_push(body.clone()));
                    self.queue(now, i, idx, body.len());
                }
            }
        }
    }

    fn batch_push(&mut self, body: Bytes) -> u32 {
        self.batch.push(body);
        (self.batch.len() - 1) as u32
    }

    fn deliver(&mut self, hash: [u8; 32], env: &Envelope, p2p: bool) {
        for (filter, message) in self.filters.open(env, p2p) {
            self.push_event(Event::Message(Box::new(Delivered {
                filter,
                hash,
                envelope: env.clone(),
                message,
                p2p,
            })));
        }
    }

    /// Adds batch envelope `idx` (`len` bytes) to a peer's next Messages
    /// packet, sending that packet first if it would grow too large.
    fn queue(&mut self, now: Timestamp, i: usize, idx: u32, len: usize) {
        let max = self.config.limits.max_packet_size;
        let p = &self.peers[i];
        if p.pending_bytes + len + 9 > max && p.has_pending() {
            self.flush_peer(now, i, None);
        }
        if self.next_flush.is_none() {
            self.next_flush = Some(now.saturating_add(self.config.transmit_interval));
        }
        let p = &mut self.peers[i];
        if p.pending_bytes + len + 9 > max && p.has_pending() {
            self.stats.forward_dropped += 1;
            return;
        }
        p.pending_bytes += len;
        p.pending.push(idx);
        self.stats.forwarded += 1;
    }

    /// Sends a peer its pending envelopes as one Messages packet, if its
    /// advertised limits allow; `shared` is the last packet built with the
    /// batch indices it holds, reused when this peer's list is the same (all
    /// full peers but the sender usually get the same list).
    fn flush_peer(
        &mut self,
        now: Timestamp,
        i: usize,
        shared: Option<&mut (Vec<u32>, Bytes)>,
    ) -> bool {
        let p = &mut self.peers[i];
        if !p.has_pending() {
            return true;
        }
        let size = p.pending_bytes as u64 + 9;
        let (pl, bl) = (
            p.view.packet_rate_limits.peer_id,
            p.view.bytes_rate_limits.peer_id,
        );
        if !p.outbound.allow(now, pl, bl, size) {
            return false;
        }
        // `pending` is cleared, not taken, so its allocation is reused by
        // the next cycle (one peer list per peer per packet otherwise)
        let carry = std::mem::take(&mut p.carry);
        p.pending_bytes = 0;
        let (id, protocol, confirm) = (p.id, p.protocol, p.view.confirmations_enabled);
        let pending = &p.pending;
        let batch = &self.batch;
        let encode = |carry: &[Bytes], pending: &[u32]| {
            let items = carry.iter().map(|b| &b[..]).chain(
                pending
                    .iter()
                    .filter_map(|&i| batch.get(i as usize))
                    .map(|b| &b[..]),
            );
            let mut v = Vec::new();
            encode_raw_list(items, &mut v);
            Bytes::from(v)
        };
        let payload = match shared {
            Some(s) if carry.is_empty() && s.0 == *pending => s.1.clone(),
            Some(s) if carry.is_empty() => {
                let payload = encode(&[], pending);
                s.0.clear();
                s.0.extend_from_slice(pending);
                s.1 = payload.clone();
                payload
            }
            _ => encode(&carry, pending),
        };
        p.pending.clear();
        if confirm && protocol == Protocol::Waku1 {
            self.push_event(Event::BatchSent {
                peer: id,
                batch_hash: keccak256(&payload),
            });
        }
        self.stats.batches_sent += 1;
        self.send(id, protocol, code::MESSAGES, payload);
        true
    }

    fn flush(&mut self, now: Timestamp) {
        self.next_flush = None;
        let mut shared = (Vec::new(), Bytes::new());
        let mut behind = false;
        for i in 0..self.peers.len() {
            behind |= !self.flush_peer(now, i, Some(&mut shared));
        }
        // Throttled peers keep their envelopes for the next cycle; the
        // batch itself starts afresh.
        if behind {
            for p in &mut self.peers {
                let idx = std::mem::take(&mut p.pending);
                p.carry.extend(
                    idx.iter()
                        .filter_map(|&i| self.batch.get(i as usize).cloned()),
                );
            }
            let interval = self
                .config
                .transmit_interval
                .max(std::time::Duration::from_millis(100));
            self.next_flush = Some(now.saturating_add(interval));
        }
        self.batch.clear();
    }

    /// Sends every queued envelope now rather than at the next
    /// transmission cycle (a client that just posted and will not wait).
    pub fn send_pending(&mut self, now: Timestamp) {
        self.flush(now);
    }

    fn end_of_call(&mut self, now: Timestamp) {
        self.last_now = self.last_now.max(now);
        if self.config.transmit_interval.is_zero() && self.next_flush.is_some() {
            self.flush(now);
        }
    }

    /// Queues every stored envelope a newly ready peer wants.
    fn send_stored(&mut self, now: Timestamp, i: usize) {
        let now_s = now.as_secs();
        let view = &self.peers[i].view;
        let mut bodies: Vec<(u32, [u8; 32], Bytes)> = self
            .kept
            .iter()
            .filter(|(_, s)| u64::from(s.expiry) >= now_s)
            .filter(|(_, s)| view.wants_probe(s.topic, &BloomProbe::of(s.topic), s.pow))
            .map(|(k, s)| (s.expiry, k.0, s.raw.clone()))
            .collect();
        // the map's order comes from its random hash keys: sort, so that a
        // seeded run replays byte for byte
        bodies.sort_unstable_by_key(|b| (b.0, b.1));
        for (_, _, b) in bodies {
            let len = b.len();
            let idx = self.batch_push(b);
            self.queue(now, i, idx, len);
        }
    }

    /// Removes the seen entry that expires first; false if none is left.
    fn evict_earliest(&mut self) -> bool {
        while let Some((expiry, hash)) = self.expiries.pop() {
            if self.remove_seen(expiry, &hash) {
                return true;
            }
        }
        false
    }

    fn remove_seen(&mut self, expiry: u32, hash: &[u8; 32]) -> bool {
        let key = Key(*hash);
        let stored = match self.seen.entry(key) {
            Entry::Occupied(e) if e.get().expiry == expiry => e.remove().stored,
            _ => return false,
        };
        if stored {
            if let Some(st) = self.kept.remove(&key) {
                self.stored -= 1;
                self.stored_bytes -= st.raw.len();
            }
        }
        true
    }

    /// Tells the machine time has passed: sends due batches, drops peers
    /// whose Status is late, forgets expired envelopes, sweeps idle rate
    /// limit buckets. Call at or after [`Waku::poll_timeout`].
    ///
    /// A peer that never sends its Status is dropped at the deadline:
    ///
    /// ```
    /// use status_core::{NodeId, Timestamp};
    /// use status_waku::node::{DropReason, Event, Waku};
    /// use status_waku::peer::Protocol;
    /// use status_waku::WakuConfig;
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut node = Waku::new(WakuConfig::default(), now);
    /// let peer = node.add_peer(now, NodeId([2; 64]), None, Protocol::Waku1);
    /// let (deadline, why) = node.poll_timeout().unwrap();
    /// assert_eq!(why, "status");
    ///
    /// node.handle_timeout(deadline);
    /// assert!(matches!(
    ///     node.poll_event(),
    ///     Some(Event::PeerDropped { peer: p, reason: DropReason::StatusTimeout }) if p == peer
    /// ));
    /// assert_eq!(node.peers().count(), 0);
    /// ```
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.next_flush.is_some_and(|t| t <= now) {
            self.flush(now);
        }
        let late: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|p| matches!(p.handshake, Handshake::AwaitingStatus { deadline } if deadline <= now))
            .map(|p| p.id)
            .collect();
        for id in late {
            self.drop_peer(id, DropReason::StatusTimeout);
        }
        let now_s = now.as_secs();
        while let Some(expiry) = self.expiries.next_expiry() {
            if u64::from(expiry) >= now_s {
                break;
            }
            if let Some((expiry, hash)) = self.expiries.pop() {
                self.remove_seen(expiry, &hash);
            }
        }
        if now.saturating_duration_since(self.last_sweep).as_secs() >= 10 {
            self.last_sweep = now;
            let (pl, bl) = (
                self.config.packet_rate_limits,
                self.config.bytes_rate_limits,
            );
            self.ip_limits.retain(|_, l| !l.is_idle(now, pl.ip, bl.ip));
            self.topic_limits
                .retain(|_, l| !l.is_idle(now, pl.topic, bl.topic));
        }
        self.end_of_call(now);
    }

    // ---- commands ------------------------------------------------------------

    /// Posts an envelope from the local application: checked like one from
    /// a peer (expiry, time, size, our PoW requirement), delivered to our
    /// own filters and sent to every ready peer that wants it, even by a
    /// light node. Returns its hash; posting a known envelope again is a
    /// no-op.
    ///
    /// # Errors
    /// [`Error::InvalidEnvelope`] when it fails a check,
    /// [`Error::EnvelopeTooLarge`] over the envelope limit.
    ///
    /// ```
    /// use rand_chacha::rand_core::SeedableRng;
    /// use status_core::Timestamp;
    /// use status_waku::filter::Filter;
    /// use status_waku::node::{Event, Waku};
    /// use status_waku::{wrap, Encryption, Envelope, EnvelopeRejection, Error, MessageParams, Topic, WakuConfig};
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut node = Waku::new(WakuConfig::default(), now);
    /// let (key, topic) = ([7u8; 32], Topic::from_name("my-chat"));
    /// let filter = node.subscribe(Filter::symmetric(vec![topic], key));
    ///
    /// let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
    /// let params = MessageParams::new(b"hi", Encryption::Symmetric(&key), topic);
    /// let envelope = wrap(&mut rng, &params, now)?;
    /// let hash = node.post(now, envelope.clone())?;
    /// assert_eq!(hash, envelope.hash());
    /// // Our own filters see it too.
    /// match node.poll_event() {
    ///     Some(Event::Message(d)) => {
    ///         assert_eq!((d.filter, d.hash, d.p2p), (filter, hash, false));
    ///         assert_eq!(d.message.payload(), b"hi");
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// // Posting it again changes nothing.
    /// assert_eq!(node.post(now, envelope)?, hash);
    /// assert!(node.poll_event().is_none());
    ///
    /// // Created 60 s ago with a TTL of 50 s: expired.
    /// let stale = Envelope::new(1_700_000_000 - 60, 50, topic, &b"late"[..]);
    /// assert_eq!(node.post(now, stale), Err(Error::InvalidEnvelope(EnvelopeRejection::Expired)));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn post(&mut self, now: Timestamp, envelope: Envelope) -> Result<[u8; 32], Error> {
        let raw = Bytes::from(envelope.to_vec());
        let r = match self.receive(now, None, raw) {
            Ok(h) => Ok(h),
            // without an origin only expiry drops silently
            Err((_, Reject::Silent)) => Err(Error::InvalidEnvelope(EnvelopeRejection::Expired)),
            Err((_, Reject::Refused(why))) => Err(Error::InvalidEnvelope(why)),
            Err((_, Reject::Fatal(e))) => Err(e),
        };
        self.end_of_call(now);
        r
    }

    /// Installs a local filter. With [`Interest::Bloom`] or
    /// [`Interest::Topics`] a changed interest is announced to every peer
    /// (Status Update, or whisper/6 Bloom Filter); the previous one stays
    /// accepted for `sync_allowance`.
    ///
    /// ```
    /// use status_core::{NodeId, Timestamp};
    /// use status_waku::filter::Filter;
    /// use status_waku::node::Waku;
    /// use status_waku::packet::code;
    /// use status_waku::peer::Protocol;
    /// use status_waku::{StatusOptions, Topic, WakuConfig};
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut node = Waku::new(WakuConfig::light(), now); // Interest::Topics
    /// let peer = node.add_peer(now, NodeId([2; 64]), None, Protocol::Waku1);
    /// # while node.poll_transmit().is_some() {}
    /// let topic = Topic([1, 2, 3, 4]);
    /// let id = node.subscribe(Filter::symmetric(vec![topic], [7; 32]));
    ///
    /// // The peer learns our new topic list.
    /// let t = node.poll_transmit().unwrap();
    /// assert_eq!((t.peer, t.code), (peer, code::STATUS_UPDATE));
    /// assert_eq!(StatusOptions::decode(&t.payload)?.topic_interest, Some(vec![topic]));
    ///
    /// assert!(node.unsubscribe(id));
    /// assert!(!node.unsubscribe(id));
    /// assert_eq!(node.status_options().topic_interest, Some(vec![]));
    /// # Ok::<(), status_waku::Error>(())
    /// ```
    pub fn subscribe(&mut self, filter: Filter) -> FilterId {
        let old = self.current_interest();
        let id = self.filters.install(filter);
        self.interest_changed(old);
        id
    }

    /// Removes a local filter; false if it was not installed.
    pub fn unsubscribe(&mut self, id: FilterId) -> bool {
        let old = self.current_interest();
        let removed = self.filters.uninstall(id);
        if removed {
            self.interest_changed(old);
        }
        removed
    }

    fn current_interest(&self) -> OldInterest {
        match self.config.interest {
            Interest::Full => OldInterest::Full,
            Interest::Bloom => OldInterest::Bloom(self.interest_bloom),
            Interest::Topics => OldInterest::Topics(self.filters.topics()),
        }
    }

    /// Announces the interest after a filter change; what we asked for
    /// before stays accepted for `sync_allowance` (see [`crate::tolerance`]).
    fn interest_changed(&mut self, old: OldInterest) {
        let update = match self.config.interest {
            Interest::Full => return,
            Interest::Bloom => {
                let bloom = Bloom::from_topics(&self.filters.topics());
                if bloom == self.interest_bloom {
                    return;
                }
                self.interest_bloom = bloom;
                StatusOptions {
                    bloom_filter: Some(bloom),
                    ..StatusOptions::default()
                }
            }
            Interest::Topics => {
                let topics = self.filters.topics();
                if matches!(&old, OldInterest::Topics(t) if *t == topics) {
                    return;
                }
                StatusOptions {
                    topic_interest: Some(topics),
                    ..StatusOptions::default()
                }
            }
        };
        let until = self.last_now.saturating_add(self.config.sync_allowance);
        self.tolerance.interest_changed(old, self.last_now, until);
        self.announce(&update);
    }

    /// Changes our PoW requirement and tells every peer. Envelopes that
    /// meet the previous requirement are still accepted for
    /// `sync_allowance` (from the latest `now` the machine was given),
    /// while the update travels (status-go `MinPowTolerance`).
    ///
    /// # Errors
    /// [`Error::InvalidPowRequirement`] for a NaN, infinite or negative
    /// `pow`; nothing changes then.
    ///
    /// ```
    /// use status_core::{NodeId, Timestamp};
    /// use status_waku::node::Waku;
    /// use status_waku::packet::code;
    /// use status_waku::peer::Protocol;
    /// use status_waku::{Error, StatusOptions, WakuConfig};
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut node = Waku::new(WakuConfig::default(), now);
    /// let peer = node.add_peer(now, NodeId([2; 64]), None, Protocol::Waku1);
    /// # while node.poll_transmit().is_some() {}
    /// node.set_min_pow(0.002)?;
    /// let t = node.poll_transmit().unwrap();
    /// assert_eq!((t.peer, t.code), (peer, code::STATUS_UPDATE));
    /// assert_eq!(StatusOptions::decode(&t.payload)?.pow_requirement, Some(0.002));
    ///
    /// assert_eq!(node.set_min_pow(f64::NAN), Err(Error::InvalidPowRequirement));
    /// assert_eq!(node.config().min_pow, 0.002);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn set_min_pow(&mut self, pow: f64) -> Result<(), Error> {
        let update = StatusOptions {
            pow_requirement: Some(pow),
            ..StatusOptions::default()
        };
        update.validate()?;
        let until = self.last_now.saturating_add(self.config.sync_allowance);
        self.tolerance
            .pow_changed(self.config.min_pow, self.last_now, until);
        self.config.min_pow = pow;
        self.announce(&update);
        Ok(())
    }

    /// Sends a Status Update (whisper/6: the equivalent packets) to all.
    fn announce(&mut self, update: &StatusOptions) {
        let waku = Bytes::from(update.to_vec());
        let shh_bloom = update.bloom_filter.is_some() || update.topic_interest.is_some();
        let bloom = self.our_bloom();
        let targets: Vec<(PeerId, Protocol)> =
            self.peers.iter().map(|p| (p.id, p.protocol)).collect();
        for (id, protocol) in targets {
            match protocol {
                Protocol::Waku1 => self.send(id, protocol, code::STATUS_UPDATE, waku.clone()),
                Protocol::Shh6 => {
                    if let Some(pow) = update.pow_requirement {
                        let mut v = Vec::new();
                        rlp_strict::write_uint(pow.to_bits(), &mut |b| v.extend_from_slice(b));
                        self.send(id, protocol, shh_code::POW_REQUIREMENT, v.into());
                    }
                    if shh_bloom {
                        let mut v = Vec::new();
                        rlp_strict::write_bytes(&bloom.0, &mut |b| v.extend_from_slice(b));
                        self.send(id, protocol, shh_code::BLOOM_FILTER, v.into());
                    }
                }
            }
        }
    }

    /// Sends `envelopes` to `peer` in one P2P Message (127): a mailserver's
    /// answer to a [`Event::P2PRequest`]. They are not checked for expiry or
    /// PoW, nor stored or forwarded (the receiver delivers them to its
    /// filters only if it trusts us).
    ///
    /// # Errors
    /// [`Error::UnknownPeer`]; [`Error::PacketTooLarge`] when the packet
    /// would exceed our `max_packet_size` (split the batch).
    ///
    /// A whole history request, client and mailserver each a machine:
    ///
    /// ```
    /// use rand_chacha::rand_core::SeedableRng;
    /// use status_core::{NodeId, SecretKey, Timestamp};
    /// use status_waku::filter::Filter;
    /// use status_waku::mailserver::MessagesRequest;
    /// use status_waku::node::{Event, Waku};
    /// use status_waku::peer::{PeerId, Protocol};
    /// use status_waku::{wrap, Encryption, MessageParams, RequestComplete, Topic, WakuConfig};
    ///
    /// fn pump(now: Timestamp, from: &mut Waku, to: &mut Waku, peer: PeerId) {
    ///     while let Some(t) = from.poll_transmit() {
    ///         to.handle_input(now, peer, t.code, t.payload).unwrap();
    ///     }
    /// }
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut rng = rand_chacha::ChaCha20Rng::from_seed([9; 32]);
    /// let client_key = SecretKey::from_bytes(&[0x11; 32]).expect("a valid key");
    /// // status-go derives it from the mailserver password
    /// // (`symmetric_key_from_password`); a fixed key keeps this quick.
    /// let ms_key = [3u8; 32];
    /// let (chat_key, topic) = ([5u8; 32], Topic([0xca, 0xfe, 0, 1]));
    ///
    /// let mut client = Waku::new(WakuConfig::default(), now);
    /// let ms_config = WakuConfig { mailserver: true, ..WakuConfig::default() };
    /// let mut server = Waku::new(ms_config, now);
    /// client.subscribe(Filter::symmetric(vec![topic], chat_key));
    /// let to_server = client.add_peer(now, NodeId([2; 64]), None, Protocol::Waku1);
    /// let client_id = client_key.public_key().node_id();
    /// let to_client = server.add_peer(now, client_id, None, Protocol::Waku1);
    /// pump(now, &mut client, &mut server, to_client);
    /// pump(now, &mut server, &mut client, to_server);
    /// # while client.poll_event().is_some() {}
    /// # while server.poll_event().is_some() {}
    ///
    /// // The client asks for the last day on its topic, and trusts the answer.
    /// let day_ago = 1_700_000_000 - 86_400;
    /// let request = MessagesRequest::for_topics(day_ago, 1_700_000_000, &[topic], 100);
    /// let envelope = request.to_envelope(&mut rng, &client_key, &ms_key, now, 10, 0.0, 1)?;
    /// client.set_trusted(to_server, true)?;
    /// client.send_p2p_request(to_server, &envelope)?;
    /// pump(now, &mut client, &mut server, to_client);
    ///
    /// // The server opens the request and sees who signed it.
    /// let Some(Event::P2PRequest { peer, envelope: Some(req), .. }) = server.poll_event() else {
    ///     panic!("no request");
    /// };
    /// assert_eq!(peer, to_client);
    /// let (opened, msg) = MessagesRequest::open_envelope(&req, &ms_key)?;
    /// assert_eq!(opened, request);
    /// assert_eq!(msg.signer(), Some(&client_key.public_key()));
    ///
    /// // It answers with an envelope from an hour ago, then Request Complete.
    /// let params = MessageParams::new(b"from yesterday", Encryption::Symmetric(&chat_key), topic);
    /// let old = wrap(&mut rng, &params, Timestamp::from_secs(1_700_000_000 - 3600))?;
    /// server.send_p2p_messages(to_client, std::slice::from_ref(&old))?;
    /// let done = RequestComplete::Completed {
    ///     request_id: req.hash(),
    ///     last_envelope_hash: old.hash(),
    ///     cursor: Vec::new(),
    /// };
    /// server.send_p2p_request_complete(to_client, &done.to_vec())?;
    /// pump(now, &mut server, &mut client, to_server);
    ///
    /// // Expired, but a P2P Message from a trusted peer reaches the filter.
    /// assert!(matches!(
    ///     client.poll_event(),
    ///     Some(Event::Message(d)) if d.p2p && d.message.payload() == b"from yesterday"
    /// ));
    /// let Some(Event::P2PRequestComplete { payload, .. }) = client.poll_event() else {
    ///     panic!("no Request Complete");
    /// };
    /// assert_eq!(RequestComplete::decode(&payload)?, done);
    /// # Ok::<(), status_waku::Error>(())
    /// ```
    pub fn send_p2p_messages(&mut self, peer: PeerId, envelopes: &[Envelope]) -> Result<(), Error> {
        let p = self.peer(peer).ok_or(Error::UnknownPeer(peer.0))?;
        let protocol = p.protocol;
        let mut v = Vec::new();
        crate::packet::encode_envelopes(envelopes, &mut v);
        let max = self.config.limits.max_packet_size;
        if v.len() > max {
            return Err(Error::PacketTooLarge { size: v.len(), max });
        }
        // the same code on waku/1 and shh/6
        self.send(peer, protocol, code::P2P_MESSAGE, v.into());
        Ok(())
    }

    /// Sends envelopes already encoded (an archive's rows) to `peer` in one
    /// P2P Message, as [`Waku::send_p2p_messages`] does, without decoding
    /// them again (status-go `SendRawP2PDirect`).
    ///
    /// # Errors
    /// [`Error::UnknownPeer`]; [`Error::PacketTooLarge`] over our
    /// `max_packet_size`.
    pub fn send_p2p_raw_messages<B: AsRef<[u8]>>(
        &mut self,
        peer: PeerId,
        envelopes: &[B],
    ) -> Result<(), Error> {
        let p = self.peer(peer).ok_or(Error::UnknownPeer(peer.0))?;
        let protocol = p.protocol;
        let mut v = Vec::new();
        encode_raw_list(envelopes.iter().map(AsRef::as_ref), &mut v);
        let max = self.config.limits.max_packet_size;
        if v.len() > max {
            return Err(Error::PacketTooLarge { size: v.len(), max });
        }
        self.send(peer, protocol, code::P2P_MESSAGE, v.into());
        Ok(())
    }

    /// Sends a P2P Request Complete (125) with `payload` (build it with
    /// [`crate::mailserver::RequestComplete`]) to a waku/1 `peer`.
    ///
    /// # Errors
    /// [`Error::UnknownPeer`]; [`Error::NotWaku1`] for a whisper/6 peer,
    /// whose protocol has no such packet.
    ///
    /// ```
    /// use status_core::{NodeId, Timestamp};
    /// use status_waku::node::Waku;
    /// use status_waku::peer::{PeerId, Protocol};
    /// use status_waku::{Error, WakuConfig};
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut node = Waku::new(WakuConfig { mailserver: true, ..WakuConfig::default() }, now);
    /// let shh = node.add_peer(now, NodeId([2; 64]), None, Protocol::Shh6);
    /// assert_eq!(node.send_p2p_request_complete(shh, &[0; 32]), Err(Error::NotWaku1(shh.0)));
    /// assert_eq!(node.send_p2p_request_complete(PeerId(9), &[0; 32]), Err(Error::UnknownPeer(9)));
    /// ```
    pub fn send_p2p_request_complete(&mut self, peer: PeerId, payload: &[u8]) -> Result<(), Error> {
        let p = self.peer(peer).ok_or(Error::UnknownPeer(peer.0))?;
        if p.protocol != Protocol::Waku1 {
            return Err(Error::NotWaku1(peer.0));
        }
        let mut v = Vec::with_capacity(payload.len() + 9);
        rlp_strict::write_bytes(payload, &mut |b| v.extend_from_slice(b));
        self.send(peer, Protocol::Waku1, code::P2P_REQUEST_COMPLETE, v.into());
        Ok(())
    }

    /// Sends a P2P Request (a mailserver request envelope, see
    /// [`crate::mailserver`]) to `peer`.
    pub fn send_p2p_request(&mut self, peer: PeerId, envelope: &Envelope) -> Result<(), Error> {
        let p = self.peer(peer).ok_or(Error::UnknownPeer(peer.0))?;
        let protocol = p.protocol;
        self.send(peer, protocol, code::P2P_REQUEST, envelope.to_vec().into());
        Ok(())
    }

    // ---- outputs -------------------------------------------------------------

    /// The next packet to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Waku::handle_timeout`] wants to be called, and why:
    /// `"transmit"`, `"status"` or `"expiry"`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::{NodeId, Timestamp};
    /// use status_waku::node::Waku;
    /// use status_waku::packet::code;
    /// use status_waku::peer::Protocol;
    /// use status_waku::{Envelope, StatusOptions, Topic, WakuConfig};
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut node = Waku::new(WakuConfig::default(), now);
    /// let peer = node.add_peer(now, NodeId([2; 64]), None, Protocol::Waku1);
    /// let theirs = StatusOptions { pow_requirement: Some(0.0), ..StatusOptions::default() };
    /// node.handle_input(now, peer, code::STATUS, theirs.to_vec().into())?;
    /// # while node.poll_transmit().is_some() {}
    ///
    /// node.post(now, Envelope::new(1_700_000_000, 60, Topic([1, 2, 3, 4]), &b"hi"[..]))?;
    /// // Queued for the next transmission cycle, 300 ms away.
    /// assert!(node.poll_transmit().is_none());
    /// let (at, why) = node.poll_timeout().unwrap();
    /// assert_eq!((at, why), (now + Duration::from_millis(300), "transmit"));
    /// node.handle_timeout(at);
    /// assert_eq!(node.poll_transmit().map(|t| t.code), Some(code::MESSAGES));
    /// // Next: forgetting the envelope once it has expired.
    /// assert_eq!(node.poll_timeout(), Some((Timestamp::from_secs(1_700_000_061), "expiry")));
    /// # Ok::<(), status_waku::Error>(())
    /// ```
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let mut best: Option<(Timestamp, &'static str)> = None;
        let mut consider = |t: Timestamp, why: &'static str| {
            if best.is_none_or(|(b, _)| t < b) {
                best = Some((t, why));
            }
        };
        if let Some(t) = self.next_flush {
            consider(t, "transmit");
        }
        for p in &self.peers {
            if let Handshake::AwaitingStatus { deadline } = p.handshake {
                consider(deadline, "status");
            }
        }
        if let Some(expiry) = self.expiries.next_expiry() {
            consider(Timestamp::from_secs(u64::from(expiry) + 1), "expiry");
        }
        best
    }
}

/// keccak256 through keccak-asm (the crate's fast keccak, instantiated
/// here so it is optimised even where status-core is not).
fn keccak256(data: &[u8]) -> [u8; 32] {
    keccak_asm::Keccak256::digest(data).into()
}
