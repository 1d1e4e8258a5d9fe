//! The [`Node`] machine.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use status_core::{Enode, NodeId, Timestamp};
use status_discovery::discv5::{self, Discv5};
use status_discovery::dnsdisc::{self, Link, Resolver};
use status_discovery::peerpool::{
    Decision, MemoryPeerCache, PeerPool, MAILSERVER_TOPIC, WHISPER_TOPIC,
};
use status_discovery::{rendezvous, Enr};
use status_rlpx::p2p::{DisconnectReason, Hello, SharedCapability};
use status_rlpx::session::{self, Session};
use status_waku::filter::{Filter, FilterId};
use status_waku::node::{self as waku_node, DropReason, Waku};
use status_waku::peer::{PeerId, Protocol};
use status_waku::{wrap, Encryption, Envelope, MessageParams};

use crate::config::{Config, Role};
use crate::connection::{Conn, Dial};
use crate::history::History;
use crate::io::{
    Cause, ConnectionId, Direction, Event, HistoryId, HistoryRequest, Input, Output, PeerInfo,
    Post, PostKey, Stats,
};
use crate::Error;

/// A discv5 topic search: one random lookup every `period`.
#[derive(Debug, Clone, Copy)]
struct Search {
    period: Duration,
    next: Timestamp,
}

/// One Status node: every connection's RLPx session, one Waku router,
/// the PeerPool and the discovery machines that feed it, and the
/// mailserver client; see the [crate docs](crate) for the run loop.
///
/// Methods come in the four kinds of the workspace:
/// - getters (`&self`): [`node_id`](Self::node_id), [`peers`](Self::peers), [`stats`](Self::stats), ...;
/// - `handle_*` for what happened: [`handle_input`](Self::handle_input),
///   [`accept`](Self::accept) (a TCP connection was accepted),
///   [`handle_timeout`](Self::handle_timeout);
/// - commands: [`post`](Self::post), [`subscribe`](Self::subscribe),
///   [`request_history`](Self::request_history),
///   [`add_static_peer`](Self::add_static_peer), [`shutdown`](Self::shutdown), ...;
/// - [`poll_output`](Self::poll_output) until `None`, then
///   [`poll_timeout`](Self::poll_timeout).
pub struct Node {
    pub(crate) config: Config,
    node_id: NodeId,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) waku: Waku,
    pub(crate) pool: PeerPool<MemoryPeerCache>,
    discv5: Option<Discv5>,
    dns: Resolver,
    rendezvous: rendezvous::Client,
    pub(crate) conns: BTreeMap<ConnectionId, Conn>,
    by_node: BTreeMap<NodeId, ConnectionId>,
    by_waku: BTreeMap<PeerId, ConnectionId>,
    next_conn: u64,
    pub(crate) outputs: VecDeque<Output>,
    dirty: VecDeque<ConnectionId>,
    bans: BTreeMap<NodeId, Timestamp>,
    searches: BTreeMap<String, Search>,
    pub(crate) history: Option<History>,
    /// The trusted mailserver's connection.
    pub(crate) mailserver: Option<ConnectionId>,
    shutting_down: bool,
    stats: Stats,
    bad_datagrams: u64,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("node_id", &self.node_id)
            .field("connections", &self.conns.len())
            .field("peers", &self.by_node.len())
            .finish_non_exhaustive()
    }
}

impl Node {
    /// A node with `config`, starting at `now`; `rng_seed` seeds every
    /// random choice (session keys and nonces, padding, lookups, DNS walk
    /// order), so one seed replays a run. Static nodes are dialled at
    /// once: drain [`poll_output`](Self::poll_output).
    ///
    /// # Errors
    /// Inconsistent PeerPool limits, too many DNS lists, or a discv5
    /// record that cannot be signed.
    pub fn new(mut config: Config, now: Timestamp, rng_seed: [u8; 32]) -> Result<Node, Error> {
        let mut rng = ChaCha20Rng::from_seed(rng_seed);
        let node_id = config.key.public_key().node_id();
        if config.exempt_static_nodes {
            for t in &config.peer_pool.topics {
                for e in &t.static_nodes {
                    config.waku.rate_limit_exempt_ids.push(e.id);
                }
            }
        }
        let waku = Waku::new(config.waku.clone(), now);
        let pool = PeerPool::new(config.peer_pool.clone(), MemoryPeerCache::default())?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let dns = Resolver::new(dnsdisc::Config {
            rng_seed: seed,
            ..config.dns.clone()
        });
        rng.fill_bytes(&mut seed);
        let rendezvous = rendezvous::Client::new(rendezvous::Config {
            rng_seed: seed,
            ..config.rendezvous.clone()
        });
        let discv5 = match &config.discv5 {
            Some(d) => {
                let enr = local_enr(&config, d.addr)?;
                rng.fill_bytes(&mut seed);
                let mut m = Discv5::new(config.key.clone(), enr, d.machine.clone(), seed, now)?;
                for b in &d.bootnodes {
                    m.add_node(now, b.clone());
                }
                Some(m)
            }
            None => None,
        };
        let history = config.mailserver_client.clone().map(History::new);
        let mut node = Node {
            config,
            node_id,
            rng,
            waku,
            pool,
            discv5,
            dns,
            rendezvous,
            conns: BTreeMap::new(),
            by_node: BTreeMap::new(),
            by_waku: BTreeMap::new(),
            next_conn: 0,
            outputs: VecDeque::new(),
            dirty: VecDeque::new(),
            bans: BTreeMap::new(),
            searches: BTreeMap::new(),
            history,
            mailserver: None,
            shutting_down: false,
            stats: Stats::default(),
            bad_datagrams: 0,
        };
        for link in node.config.dns_lists.clone() {
            node.dns.add_tree(now, link)?;
        }
        if node.config.role == Role::Relayer && !node.config.rendezvous.servers.is_empty() {
            if let Some(enr) = node.local_enr() {
                node.rendezvous.register(now, WHISPER_TOPIC, enr)?;
            }
        }
        node.pool.start(now);
        node.feed_mailservers(now);
        node.pump(now);
        Ok(node)
    }

    // ---- getters -------------------------------------------------------------

    /// Our node id.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// Our enode URL, when listening.
    pub fn enode(&self) -> Option<Enode> {
        self.config.enode()
    }

    /// Our discv5 record, when discv5 runs.
    pub fn local_enr(&self) -> Option<Enr> {
        self.discv5.as_ref().map(|d| d.local_enr().clone())
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Peers that finished both handshakes, by connection id.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.by_node
            .values()
            .filter_map(|id| self.peer_info(*id))
            .collect()
    }

    /// How many peers finished both handshakes.
    pub fn peer_count(&self) -> usize {
        self.by_node
            .values()
            .filter(|id| self.conns.get(id).is_some_and(|c| c.ready))
            .count()
    }

    /// Connections in any state (dialling, handshaking, established,
    /// closing).
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Whether `node_id` is kept off at `now`.
    pub fn is_banned(&self, node_id: &NodeId, now: Timestamp) -> bool {
        self.bans.get(node_id).is_some_and(|until| *until > now)
    }

    /// Peers currently remembered as kept off (some may have expired).
    pub fn ban_count(&self) -> usize {
        self.bans.len()
    }

    /// The trusted mailserver's connection, if one is up.
    pub fn mailserver(&self) -> Option<ConnectionId> {
        self.mailserver
    }

    /// Counters of peer management.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The Waku machine's counters (envelopes, duplicates, drops).
    pub fn waku_stats(&self) -> &waku_node::Stats {
        self.waku.stats()
    }

    /// The Waku machine, to read its caches and peer views.
    pub fn waku(&self) -> &Waku {
        &self.waku
    }

    /// The PeerPool, to read its topics.
    pub fn peer_pool(&self) -> &PeerPool<MemoryPeerCache> {
        &self.pool
    }

    /// The discv5 machine, when it runs.
    pub fn discv5(&self) -> Option<&Discv5> {
        self.discv5.as_ref()
    }

    /// Datagrams the discv5 machine rejected.
    pub fn bad_datagrams(&self) -> u64 {
        self.bad_datagrams
    }

    /// Whether [`shutdown`](Self::shutdown) was called and every
    /// connection is closed.
    pub fn is_shut_down(&self) -> bool {
        self.shutting_down && self.conns.is_empty()
    }

    fn peer_info(&self, id: ConnectionId) -> Option<PeerInfo> {
        let c = self.conns.get(&id)?;
        if !c.ready {
            return None;
        }
        let hello = c.hello.as_ref()?;
        Some(PeerInfo {
            conn: id,
            node_id: c.node_id?,
            addr: c.addr,
            direction: c.direction,
            client_id: hello.client_id.clone(),
            capabilities: hello.capabilities.clone(),
            protocol: c.waku.map(|(_, p)| p)?,
            light: c.light,
            mailserver: self.mailserver == Some(id),
        })
    }

    // ---- inputs --------------------------------------------------------------

    /// A TCP connection was accepted from `remote`: the node answers its
    /// RLPx handshake on the returned connection.
    ///
    /// # Errors
    /// [`Error::TooManyPending`] past
    /// [`Config::max_pending_inbound`] handshakes in flight and
    /// [`Error::ShuttingDown`]: close the socket.
    pub fn accept(&mut self, now: Timestamp, remote: SocketAddr) -> Result<ConnectionId, Error> {
        if self.shutting_down {
            self.stats.refused += 1;
            return Err(Error::ShuttingDown);
        }
        let pending = self
            .conns
            .values()
            .filter(|c| c.direction == Direction::Inbound && c.is_pending())
            .count();
        if pending >= self.config.max_pending_inbound {
            self.stats.refused += 1;
            return Err(Error::TooManyPending {
                max: self.config.max_pending_inbound,
            });
        }
        let id = self.new_conn(Direction::Inbound, remote);
        let seed = self.seed();
        let session =
            Session::recipient(self.config.rlpx.clone(), self.config.key.clone(), now, seed);
        if let Some(c) = self.conns.get_mut(&id) {
            c.session = Some(Box::new(session));
        }
        self.stats.accepted += 1;
        Ok(id)
    }

    /// Feeds one [`Input`]. Bad bytes from a peer are not an error of the
    /// call: they end that peer's connection (an
    /// [`Event::PeerDisconnected`] and an [`Output::Close`]).
    ///
    /// # Errors
    /// [`Error::UnknownConnection`] for a connection the node closed or
    /// never handed out; [`Error::WrongState`] for input that does not
    /// fit the connection; [`Error::Discovery`] for a DNS or rendezvous
    /// answer nobody asked for.
    pub fn handle_input(&mut self, now: Timestamp, input: Input<'_>) -> Result<(), Error> {
        let r = self.input(now, input);
        self.pump(now);
        r
    }

    fn input(&mut self, now: Timestamp, input: Input<'_>) -> Result<(), Error> {
        match input {
            Input::Connected { conn } => {
                let c = self.conn_mut(conn)?;
                let (Some(dial), None) = (c.dial.as_ref(), c.session.as_ref()) else {
                    return Err(wrong(conn, c, "Connected"));
                };
                let remote = dial.enode.public_key();
                match remote {
                    Ok(pk) => {
                        let seed = self.seed();
                        let s = Session::initiator(
                            self.config.rlpx.clone(),
                            self.config.key.clone(),
                            pk,
                            now,
                            seed,
                        );
                        if let Some(c) = self.conns.get_mut(&conn) {
                            c.session = Some(Box::new(s));
                        }
                        self.touch(conn);
                    }
                    Err(_) => self.end_dial(now, conn, true),
                }
                Ok(())
            }
            Input::DialFailed { conn } => {
                let c = self.conn_mut(conn)?;
                if c.dial.is_none() || c.session.is_some() {
                    return Err(wrong(conn, c, "DialFailed"));
                }
                self.end_dial(now, conn, false);
                Ok(())
            }
            Input::Received { conn, data } => {
                self.stats.bytes_received += data.len() as u64;
                let c = self.conn_mut(conn)?;
                if c.closing {
                    return Ok(());
                }
                let Some(s) = c.session.as_mut() else {
                    return Err(wrong(conn, c, "Received"));
                };
                // An error also arrives as the session's Closed event.
                let _ = s.handle_input(now, data);
                self.drain_session(now, conn);
                Ok(())
            }
            Input::Written { conn, bytes } => {
                let c = self.conn_mut(conn)?;
                c.unwritten = c.unwritten.saturating_sub(bytes);
                self.touch(conn);
                Ok(())
            }
            Input::Closed { conn } => {
                let c = self.conn_mut(conn)?;
                if c.session.is_none() && c.dial.is_some() {
                    self.end_dial(now, conn, false);
                    // end_dial queued a Close the driver does not need.
                    self.outputs
                        .retain(|o| !matches!(o, Output::Close { conn: c } if *c == conn));
                    return Ok(());
                }
                if c.cause.is_none() && !c.closing {
                    c.cause = Some(Cause::SocketClosed);
                }
                self.teardown(now, conn);
                self.conns.remove(&conn);
                Ok(())
            }
            Input::Datagram { from, data } => {
                if let Some(d) = self.discv5.as_mut() {
                    if d.handle_input(now, from, data).is_err() {
                        self.bad_datagrams += 1;
                    }
                }
                Ok(())
            }
            Input::TxtAnswer { name, records } => Ok(self.dns.handle_answer(now, name, records)?),
            Input::TxtFailed { name } => Ok(self.dns.handle_failure(now, name)?),
            Input::RendezvousResponse { id, data } => {
                Ok(self.rendezvous.handle_response(now, id, data)?)
            }
            Input::RendezvousFailed { id } => Ok(self.rendezvous.handle_request_failed(now, id)?),
        }
    }

    /// Tells the node time has passed: dial and handshake deadlines,
    /// pings, Waku transmission cycles and expiry, PeerPool timers,
    /// discovery lookups and history request timeouts. Call at or after
    /// [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let due: Vec<ConnectionId> = self
            .conns
            .iter()
            .filter(|(_, c)| conn_deadline(c).is_some_and(|(t, _)| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            match c.session.as_mut() {
                Some(s) => {
                    s.handle_timeout(now);
                    self.drain_session(now, id);
                }
                None => self.end_dial(now, id, true),
            }
        }
        if self.waku.poll_timeout().is_some_and(|(t, _)| t <= now) {
            self.waku.handle_timeout(now);
        }
        if self.pool.poll_timeout().is_some_and(|(t, _)| t <= now) {
            self.pool.handle_timeout(now);
        }
        if let Some(d) = self.discv5.as_mut() {
            if d.poll_timeout().is_some_and(|(t, _)| t <= now) {
                d.handle_timeout(now);
            }
        }
        if self.dns.poll_timeout().is_some_and(|(t, _)| t <= now) {
            self.dns.handle_timeout(now);
        }
        if self
            .rendezvous
            .poll_timeout()
            .is_some_and(|(t, _)| t <= now)
        {
            self.rendezvous.handle_timeout(now);
        }
        let due: Vec<String> = self
            .searches
            .iter()
            .filter(|(_, s)| s.next <= now)
            .map(|(t, _)| t.clone())
            .collect();
        for topic in due {
            let mut target = [0u8; 32];
            self.rng.fill_bytes(&mut target);
            self.reseed_discv5(now);
            if let Some(d) = self.discv5.as_mut() {
                // Too many lookups running: this period is skipped.
                let _ = d.lookup(now, status_discovery::NodeId(target));
            }
            if let Some(s) = self.searches.get_mut(&topic) {
                s.next = now.saturating_add(s.period);
            }
        }
        self.history_timeouts(now);
        self.pump(now);
    }

    /// When [`handle_timeout`](Self::handle_timeout) wants to be called,
    /// and why.
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let mut best: Option<(Timestamp, &'static str)> = None;
        let mut consider = |t: Option<(Timestamp, &'static str)>| {
            if let Some((at, why)) = t {
                if best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, why));
                }
            }
        };
        for c in self.conns.values() {
            consider(conn_deadline(c));
        }
        consider(self.waku.poll_timeout());
        consider(self.pool.poll_timeout());
        consider(self.discv5.as_ref().and_then(Discv5::poll_timeout));
        consider(self.dns.poll_timeout());
        consider(self.rendezvous.poll_timeout());
        if self.discv5.is_some() {
            for s in self.searches.values() {
                consider(Some((s.next, "discovery lookup")));
            }
        }
        consider(self.history_timeout());
        best
    }

    /// The next thing to do: queued events, dials, datagrams and lookups
    /// first, then bytes to write for each connection with some, then the
    /// [`Output::Close`] of connections whose session ended.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(o) = self.outputs.pop_front() {
            return Some(o);
        }
        let high = self.config.write_high_water;
        while let Some(id) = self.dirty.pop_front() {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            c.queued = false;
            let pending = c.session.as_ref().map_or(0, |s| s.pending_transmit());
            // A closing connection flushes regardless of the high-water
            // mark (its session holds at most max_send_buffer), so that a
            // driver that stops reporting writes cannot keep it alive.
            if pending > 0 && (c.unwritten < high || c.closing) {
                let mut data = Vec::new();
                if let Some(s) = c.session.as_mut() {
                    s.poll_transmit(&mut data);
                }
                c.unwritten += data.len();
                self.stats.bytes_sent += data.len() as u64;
                if c.closing {
                    c.queued = true;
                    self.dirty.push_back(id);
                }
                return Some(Output::Transmit { conn: id, data });
            }
            if c.closing && pending == 0 {
                self.conns.remove(&id);
                return Some(Output::Close { conn: id });
            }
        }
        None
    }

    // ---- commands ------------------------------------------------------------

    /// Installs a filter: envelopes on its topics that one of its keys
    /// opens arrive as [`Event::Message`]. A light node announces its new
    /// topic interest to its peers.
    pub fn subscribe(&mut self, now: Timestamp, filter: Filter) -> FilterId {
        let id = self.waku.subscribe(filter);
        self.pump(now);
        id
    }

    /// Removes a filter; false if it was not installed.
    pub fn unsubscribe(&mut self, now: Timestamp, id: FilterId) -> bool {
        let r = self.waku.unsubscribe(id);
        self.pump(now);
        r
    }

    /// Wraps `post` into an envelope (encrypt, sign, seal with PoW, using
    /// the node's RNG) and routes it: to our own filters and to every
    /// peer that wants it, at the next transmission cycle. Returns the
    /// envelope hash.
    ///
    /// # Errors
    /// [`Error::Waku`]: the PoW target was not reached within the attempt
    /// budget, or the envelope is too large; [`Error::ShuttingDown`].
    pub fn post(&mut self, now: Timestamp, post: Post) -> Result<[u8; 32], Error> {
        if self.shutting_down {
            return Err(Error::ShuttingDown);
        }
        let encryption = match &post.key {
            PostKey::Symmetric(k) => Encryption::Symmetric(k),
            PostKey::Asymmetric(pk) => Encryption::Asymmetric(pk),
        };
        let mut params = MessageParams::new(&post.payload, encryption, post.topic);
        params.signer = post.signer.as_ref();
        params.ttl = post.ttl.unwrap_or(self.config.post_ttl);
        params.pow_target = post.pow_target.unwrap_or(self.waku.config().min_pow);
        let envelope = wrap(&mut self.rng, &params, now)?;
        self.post_envelope(now, envelope)
    }

    /// Routes an envelope built elsewhere (checked like one from a peer).
    pub fn post_envelope(&mut self, now: Timestamp, envelope: Envelope) -> Result<[u8; 32], Error> {
        if self.shutting_down {
            return Err(Error::ShuttingDown);
        }
        let r = self.waku.post(now, envelope);
        self.pump(now);
        Ok(r?)
    }

    /// Asks the trusted mailserver for the history of `request.topics`
    /// between `from` and `to`, page after page (cursor) until complete;
    /// on a timeout the request moves to another mailserver. Messages
    /// arrive as [`Event::Message`] (with `p2p` set), the end as
    /// [`Event::HistoryComplete`] or [`Event::HistoryFailed`]. Waits for a
    /// mailserver when none is connected.
    ///
    /// # Errors
    /// [`Error::NoMailserverClient`] without the role;
    /// [`Error::TooManyHistoryRequests`] past its limit.
    pub fn request_history(
        &mut self,
        now: Timestamp,
        request: HistoryRequest,
    ) -> Result<HistoryId, Error> {
        let h = self.history.as_mut().ok_or(Error::NoMailserverClient)?;
        let id = h.add(request)?;
        self.send_history(now);
        self.pump(now);
        Ok(id)
    }

    /// (Mailserver role) sends archived envelopes (their RLP) to the peer
    /// on `conn` in one P2P Message: an answer to
    /// [`Event::MailserverRequest`].
    ///
    /// # Errors
    /// [`Error::UnknownConnection`] for a connection without a Waku peer;
    /// [`Error::Waku`] when the packet would be too large.
    pub fn send_p2p_messages<B: AsRef<[u8]>>(
        &mut self,
        now: Timestamp,
        conn: ConnectionId,
        envelopes: &[B],
    ) -> Result<(), Error> {
        let (peer, _) = self
            .conns
            .get(&conn)
            .and_then(|c| c.waku)
            .ok_or(Error::UnknownConnection(conn))?;
        self.waku.send_p2p_raw_messages(peer, envelopes)?;
        self.pump(now);
        Ok(())
    }

    /// (Mailserver role) ends an answer to [`Event::MailserverRequest`]
    /// with a P2P Request Complete (build the payload with
    /// [`status_waku::RequestComplete`]).
    ///
    /// # Errors
    /// [`Error::UnknownConnection`] for a connection without a Waku peer;
    /// [`Error::Waku`] for a whisper/6 peer.
    pub fn send_p2p_request_complete(
        &mut self,
        now: Timestamp,
        conn: ConnectionId,
        payload: &[u8],
    ) -> Result<(), Error> {
        let (peer, _) = self
            .conns
            .get(&conn)
            .and_then(|c| c.waku)
            .ok_or(Error::UnknownConnection(conn))?;
        self.waku.send_p2p_request_complete(peer, payload)?;
        self.pump(now);
        Ok(())
    }

    /// Adds a static peer: dialled now (unless connected) and again after
    /// every disconnect, never dropped for a discovered one. (Unlike the
    /// configured static nodes it is not exempt from the Waku rate limits,
    /// which the Waku machine fixes at construction.)
    pub fn add_static_peer(&mut self, now: Timestamp, enode: Enode) -> Result<(), Error> {
        self.pool.add_static_node(now, WHISPER_TOPIC, enode)?;
        self.pump(now);
        Ok(())
    }

    /// Removes a static peer and disconnects it; returns whether it was
    /// one.
    pub fn remove_static_peer(&mut self, now: Timestamp, node_id: &NodeId) -> Result<bool, Error> {
        let was = self.pool.remove_static_node(now, WHISPER_TOPIC, node_id)?;
        if was {
            if let Some(&id) = self.by_node.get(node_id) {
                self.disconnect(
                    now,
                    id,
                    DisconnectReason::Requested,
                    Cause::Disconnect {
                        reason: DisconnectReason::Requested,
                        by_peer: false,
                    },
                );
            }
        }
        self.pump(now);
        Ok(was)
    }

    /// Follows one more EIP-1459 list.
    pub fn add_dns_list(&mut self, now: Timestamp, link: Link) -> Result<(), Error> {
        self.dns.add_tree(now, link)?;
        self.pump(now);
        Ok(())
    }

    /// Disconnects the peer `node_id` (it may be found and dialled again).
    pub fn disconnect_peer(&mut self, now: Timestamp, node_id: &NodeId) -> bool {
        let Some(&id) = self.by_node.get(node_id) else {
            return false;
        };
        self.disconnect(
            now,
            id,
            DisconnectReason::Requested,
            Cause::Disconnect {
                reason: DisconnectReason::Requested,
                by_peer: false,
            },
        );
        self.pump(now);
        true
    }

    /// Says goodbye (`ClientQuitting`) to every peer, cancels dials and
    /// stops discovery; the driver writes the goodbyes and closes each
    /// socket as the [`Output::Close`]s come. Takes no new connections.
    /// [`is_shut_down`](Self::is_shut_down) tells when it is over.
    pub fn shutdown(&mut self, now: Timestamp) {
        self.shutting_down = true;
        self.searches.clear();
        let ids: Vec<ConnectionId> = self.conns.keys().copied().collect();
        for id in ids {
            let dialling = self.conns.get(&id).is_some_and(|c| c.session.is_none());
            if dialling {
                self.end_dial(now, id, true);
            } else {
                self.disconnect(
                    now,
                    id,
                    DisconnectReason::ClientQuitting,
                    Cause::Disconnect {
                        reason: DisconnectReason::ClientQuitting,
                        by_peer: false,
                    },
                );
            }
        }
        self.pump(now);
    }

    // ---- internals: connections ----------------------------------------------

    fn seed(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        self.rng.fill_bytes(&mut s);
        s
    }

    fn new_conn(&mut self, direction: Direction, addr: SocketAddr) -> ConnectionId {
        let id = ConnectionId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(id, Conn::new(direction, addr));
        id
    }

    fn conn_mut(&mut self, id: ConnectionId) -> Result<&mut Conn, Error> {
        self.conns.get_mut(&id).ok_or(Error::UnknownConnection(id))
    }

    /// Queues the connection to be looked at by `poll_output`.
    pub(crate) fn touch(&mut self, id: ConnectionId) {
        if let Some(c) = self.conns.get_mut(&id) {
            if !c.queued {
                c.queued = true;
                self.dirty.push_back(id);
            }
        }
    }

    /// A dial that got no session: failed, timed out or cancelled.
    fn end_dial(&mut self, now: Timestamp, id: ConnectionId, close: bool) {
        self.stats.dial_failures += 1;
        if let Some(c) = self.conns.get_mut(&id) {
            c.cause = Some(Cause::DialFailed);
        }
        self.teardown(now, id);
        self.conns.remove(&id);
        if close {
            self.outputs.push_back(Output::Close { conn: id });
        }
    }

    /// Ends a session with a Disconnect: the goodbye is flushed, then the
    /// connection closed.
    pub(crate) fn disconnect(
        &mut self,
        now: Timestamp,
        id: ConnectionId,
        reason: DisconnectReason,
        cause: Cause,
    ) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.closing {
            return;
        }
        if c.cause.is_none() {
            c.cause = Some(cause);
        }
        match c.session.as_mut() {
            Some(s) => {
                s.disconnect(reason);
                self.drain_session(now, id);
            }
            None => self.end_dial(now, id, true),
        }
    }

    /// Takes every event the connection's session has.
    fn drain_session(&mut self, now: Timestamp, id: ConnectionId) {
        loop {
            let Some(ev) = self
                .conns
                .get_mut(&id)
                .and_then(|c| c.session.as_mut())
                .and_then(|s| s.poll_event())
            else {
                break;
            };
            match ev {
                session::Event::Established { hello, shared } => {
                    self.on_established(now, id, hello, shared);
                }
                session::Event::Message { cap, code, payload } => {
                    let Some(c) = self.conns.get(&id) else { break };
                    let (Some((peer, protocol)), Some(s)) = (c.waku, c.session.as_ref()) else {
                        continue;
                    };
                    let ours = s
                        .shared_capabilities()
                        .get(cap)
                        .is_some_and(|sc| sc.cap.name == protocol.name());
                    if ours {
                        // An error drops the peer: PeerDropped follows.
                        let _ = self.waku.handle_input(now, peer, code, payload);
                    }
                }
                session::Event::Pong { .. } => {}
                session::Event::Closed {
                    reason,
                    by_peer,
                    error,
                } => {
                    if let Some(c) = self.conns.get_mut(&id) {
                        c.closing = true;
                        if c.cause.is_none() {
                            c.cause = Some(match error {
                                Some(e) => Cause::Rlpx(e),
                                None => Cause::Disconnect { reason, by_peer },
                            });
                        }
                    }
                    self.teardown(now, id);
                }
            }
        }
        self.touch(id);
    }

    fn on_established(
        &mut self,
        now: Timestamp,
        id: ConnectionId,
        hello: Hello,
        shared: Vec<SharedCapability>,
    ) {
        self.stats.established += 1;
        let node_id = hello.node_id;
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.node_id = Some(node_id);
        let direction = c.direction;
        let ip = c.addr.ip();
        c.hello = Some(hello);
        if node_id == self.node_id {
            self.disconnect_with(now, id, DisconnectReason::ConnectedToSelf);
            return;
        }
        if self.is_banned(&node_id, now) {
            self.stats.refused_banned += 1;
            self.disconnect(now, id, DisconnectReason::Requested, Cause::Banned);
            return;
        }
        if let Some(&other) = self.by_node.get(&node_id) {
            let other_dir = self.conns.get(&other).map(|c| c.direction);
            // Both sides keep the connection dialled by the smaller node
            // id; two in the same direction (a peer that restarted): the
            // newer one.
            let dialer_dir = if self.node_id < node_id {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            let keep_new = other_dir != Some(direction) && direction == dialer_dir
                || other_dir == Some(direction);
            self.stats.duplicates += 1;
            if !keep_new {
                self.disconnect_with(now, id, DisconnectReason::AlreadyConnected);
                return;
            }
            self.disconnect_with(now, other, DisconnectReason::AlreadyConnected);
        }
        let is_static = self
            .config
            .peer_pool
            .topics
            .iter()
            .any(|t| t.static_nodes.iter().any(|e| e.id == node_id));
        let dialled = self.conns.get(&id).is_some_and(|c| c.dial.is_some());
        if !dialled && !is_static && self.by_node.len() >= self.config.max_peers {
            self.stats.too_many_peers += 1;
            self.disconnect_with(now, id, DisconnectReason::TooManyPeers);
            return;
        }
        let has = |name: &str| shared.iter().any(|s| s.cap.name == name);
        let protocol = if has("waku") {
            Protocol::Waku1
        } else if has("shh") {
            Protocol::Shh6
        } else {
            self.disconnect_with(now, id, DisconnectReason::UselessPeer);
            return;
        };
        if self.shutting_down {
            self.disconnect_with(now, id, DisconnectReason::ClientQuitting);
            return;
        }
        let peer = self.waku.add_peer(now, node_id, Some(ip), protocol);
        self.by_waku.insert(peer, id);
        self.by_node.insert(node_id, id);
        if let Some(c) = self.conns.get_mut(&id) {
            c.waku = Some((peer, protocol));
            if let Some(d) = c.dial.as_mut() {
                d.pool = false;
            }
        }
        self.pool.handle_connected(now, &node_id);
    }

    fn disconnect_with(&mut self, now: Timestamp, id: ConnectionId, reason: DisconnectReason) {
        if reason == DisconnectReason::AlreadyConnected {
            // The node id stays connected through the other connection: a
            // PeerPool dial that led here is done.
            let c = self.conns.get_mut(&id);
            if let Some(d) = c.and_then(|c| c.dial.as_mut()) {
                if d.pool {
                    d.pool = false;
                    let nid = d.enode.id;
                    self.pool.handle_connected(now, &nid);
                }
            }
        }
        self.disconnect(
            now,
            id,
            reason,
            Cause::Disconnect {
                reason,
                by_peer: false,
            },
        );
    }

    /// Updates the Waku machine, the maps and the PeerPool for the end of
    /// a connection (once).
    fn teardown(&mut self, now: Timestamp, id: ConnectionId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if c.torn_down {
            return;
        }
        c.torn_down = true;
        let cause = c.cause.clone().unwrap_or(Cause::SocketClosed);
        let node_id = c.node_id;
        let waku = c.waku.take();
        let ready = c.ready;
        let pool_dial = c.dial.as_ref().filter(|d| d.pool).map(|d| d.enode.id);
        if let Some((peer, _)) = waku {
            self.waku.remove_peer(peer);
            self.by_waku.remove(&peer);
        }
        if let Some(nid) = node_id {
            if self.by_node.get(&nid) == Some(&id) {
                self.by_node.remove(&nid);
                self.pool.handle_disconnected(now, &nid);
                if ready {
                    self.outputs
                        .push_back(Output::Event(Event::PeerDisconnected {
                            conn: id,
                            node_id: nid,
                            cause: cause.clone(),
                        }));
                }
                if self.mailserver == Some(id) {
                    self.mailserver = None;
                    self.outputs
                        .push_back(Output::Event(Event::MailserverUnavailable { node_id: nid }));
                    self.mailserver_lost(now, id);
                }
            }
            if cause.is_misbehaviour() {
                self.ban(now, nid);
            }
        }
        if let Some(nid) = pool_dial {
            if self.by_node.contains_key(&nid) {
                self.pool.handle_connected(now, &nid);
            } else {
                self.pool.handle_dial_failed(now, &nid);
            }
        }
    }

    fn ban(&mut self, now: Timestamp, id: NodeId) {
        if self.config.max_bans == 0 {
            return;
        }
        self.bans.retain(|_, until| *until > now);
        if self.bans.len() >= self.config.max_bans && !self.bans.contains_key(&id) {
            if let Some(first) = self
                .bans
                .iter()
                .min_by_key(|(k, until)| (**until, **k))
                .map(|(k, _)| *k)
            {
                self.bans.remove(&first);
            }
        }
        self.stats.banned += 1;
        self.bans
            .insert(id, now.saturating_add(self.config.ban_duration));
    }

    // ---- internals: children -------------------------------------------------

    /// Drains the children until none has anything left: a Waku packet
    /// becomes session bytes, a PeerPool decision a dial, a lookup answer
    /// a PeerPool candidate.
    pub(crate) fn pump(&mut self, now: Timestamp) {
        loop {
            let mut progress = false;
            while let Some(t) = self.waku.poll_transmit() {
                progress = true;
                self.on_waku_transmit(t);
            }
            while let Some(e) = self.waku.poll_event() {
                progress = true;
                self.on_waku_event(now, e);
            }
            while let Some(d) = self.pool.poll_decision() {
                progress = true;
                self.on_decision(now, d);
            }
            progress |= self.drain_discovery(now);
            if !progress {
                break;
            }
        }
    }

    fn on_waku_transmit(&mut self, t: waku_node::Transmit) {
        let Some(&id) = self.by_waku.get(&t.peer) else {
            return;
        };
        let Some(s) = self.conns.get_mut(&id).and_then(|c| c.session.as_mut()) else {
            return;
        };
        match s.send(t.protocol.name(), t.code, &t.payload) {
            Ok(()) => self.touch(id),
            Err(status_rlpx::Error::SendBufferFull { .. }) => self.stats.send_buffer_full += 1,
            Err(_) => {}
        }
    }

    fn on_waku_event(&mut self, now: Timestamp, e: waku_node::Event) {
        match e {
            waku_node::Event::PeerReady { peer, status } => {
                let Some(&id) = self.by_waku.get(&peer) else {
                    return;
                };
                if let Some(c) = self.conns.get_mut(&id) {
                    c.ready = true;
                    c.light = status.light_node.unwrap_or(false);
                }
                if let Some(info) = self.peer_info(id) {
                    self.outputs
                        .push_back(Output::Event(Event::PeerConnected(info)));
                }
                self.refresh_mailserver(now);
            }
            waku_node::Event::PeerDropped { peer, reason } => {
                let Some(id) = self.by_waku.remove(&peer) else {
                    return;
                };
                let disconnect = match &reason {
                    DropReason::StatusTimeout => DisconnectReason::SubprotocolError,
                    DropReason::BothLight => DisconnectReason::UselessPeer,
                    _ => DisconnectReason::BreachOfProtocol,
                };
                if let Some(c) = self.conns.get_mut(&id) {
                    c.waku = None;
                }
                self.disconnect(now, id, disconnect, Cause::Waku(reason));
            }
            waku_node::Event::Message(d) => {
                self.outputs.push_back(Output::Event(Event::Message(d)));
            }
            waku_node::Event::P2PRequestComplete { peer, payload } => {
                if let Some(&id) = self.by_waku.get(&peer) {
                    self.on_request_complete(now, id, &payload);
                }
            }
            waku_node::Event::Archive { hash, raw } => {
                self.outputs
                    .push_back(Output::Event(Event::Archive { hash, raw }));
            }
            waku_node::Event::P2PRequest {
                peer,
                envelope,
                payload,
            } => {
                let Some(&conn) = self.by_waku.get(&peer) else {
                    return;
                };
                let Some(c) = self.conns.get(&conn) else {
                    return;
                };
                let (Some(node_id), Some((_, protocol))) = (c.node_id, c.waku) else {
                    return;
                };
                self.outputs
                    .push_back(Output::Event(Event::MailserverRequest {
                        conn,
                        node_id,
                        protocol,
                        envelope,
                        payload,
                    }));
            }
            _ => {}
        }
    }

    fn on_decision(&mut self, now: Timestamp, d: Decision) {
        match d {
            Decision::Dial { topic: _, enode } => {
                if self.shutting_down || enode.id == self.node_id {
                    self.pool.handle_dial_failed(now, &enode.id);
                    return;
                }
                if self.is_banned(&enode.id, now) {
                    self.stats.refused_banned += 1;
                    self.pool.handle_dial_failed(now, &enode.id);
                    return;
                }
                if self.by_node.contains_key(&enode.id) {
                    self.pool.handle_connected(now, &enode.id);
                    self.refresh_mailserver(now);
                    return;
                }
                let dialling = self.conns.values().any(|c| {
                    c.dial
                        .as_ref()
                        .is_some_and(|d| d.pool && d.enode.id == enode.id)
                });
                if dialling {
                    return;
                }
                let id = self.new_conn(Direction::Outbound, enode.addr);
                if let Some(c) = self.conns.get_mut(&id) {
                    c.dial = Some(Dial {
                        enode,
                        pool: true,
                        deadline: now.saturating_add(self.config.dial_timeout),
                    });
                }
                self.stats.dials += 1;
                self.outputs.push_back(Output::Dial {
                    conn: id,
                    addr: enode.addr,
                });
            }
            Decision::Drop { enode, .. } => {
                if let Some(&id) = self.by_node.get(&enode.id) {
                    self.disconnect_with(now, id, DisconnectReason::TooManyPeers);
                }
            }
            Decision::StartDiscovery {
                topic,
                mode: _,
                period,
            } => {
                if self.shutting_down {
                    return;
                }
                if topic == MAILSERVER_TOPIC {
                    self.feed_mailservers(now);
                }
                if self.discv5.is_some() {
                    let next = self
                        .searches
                        .get(&topic)
                        .map_or(now, |s| s.next.min(now.saturating_add(period)));
                    self.searches.insert(topic.clone(), Search { period, next });
                }
                if !self.config.rendezvous.servers.is_empty() {
                    let _ = self.rendezvous.discover(now, &topic, period);
                }
            }
            Decision::StopDiscovery { topic } => {
                self.searches.remove(&topic);
                self.rendezvous.stop_discover(&topic);
            }
        }
    }

    /// Offers the fleet's mailservers to the PeerPool, in an order drawn
    /// from the RNG (the pool dials the last one offered first).
    fn feed_mailservers(&mut self, now: Timestamp) {
        let Some(h) = self.history.as_ref() else {
            return;
        };
        let mut list = h.config.mailservers.clone();
        for i in (1..list.len()).rev() {
            let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
            list.swap(i, j);
        }
        for ms in list {
            let _ = self.pool.handle_found(now, MAILSERVER_TOPIC, ms);
        }
    }

    /// Selects the PeerPool's mailserver once it is connected and ready.
    fn refresh_mailserver(&mut self, now: Timestamp) {
        if self.history.is_none() || self.mailserver.is_some() {
            return;
        }
        for enode in self.pool.connected(MAILSERVER_TOPIC) {
            let Some(&id) = self.by_node.get(&enode.id) else {
                continue;
            };
            let Some(c) = self.conns.get(&id) else {
                continue;
            };
            let (true, Some((peer, _))) = (c.ready, c.waku) else {
                continue;
            };
            if self.waku.set_trusted(peer, true).is_err() {
                continue;
            }
            self.mailserver = Some(id);
            self.outputs
                .push_back(Output::Event(Event::MailserverAvailable {
                    conn: id,
                    enode,
                }));
            self.send_history(now);
            return;
        }
    }

    /// Moves discovery machines' output out and their findings into the
    /// PeerPool; returns whether anything moved.
    fn drain_discovery(&mut self, now: Timestamp) -> bool {
        let mut progress = false;
        // discv5 records count only for the topics they advertise; DNS list
        // records without any are relays (the lists name relays).
        let mut found: Vec<Enr> = Vec::new();
        let mut listed: Vec<Enr> = Vec::new();
        if let Some(d) = self.discv5.as_mut() {
            while let Some(t) = d.poll_transmit() {
                progress = true;
                self.outputs.push_back(Output::Datagram {
                    to: t.to,
                    data: t.datagram,
                });
            }
            while let Some(e) = d.poll_event() {
                progress = true;
                match e {
                    discv5::Event::LookupFinished { closest, .. } => {
                        found.extend(closest);
                        for topic in self.searches.keys() {
                            found.extend(d.nodes_with_topic(topic));
                        }
                    }
                    discv5::Event::SessionEstablished { enr, .. } => found.push(enr),
                    discv5::Event::Nodes { enrs, .. } => found.extend(enrs),
                    _ => {}
                }
            }
        }
        while let Some(l) = self.dns.poll_lookup() {
            progress = true;
            self.outputs.push_back(Output::ResolveTxt { name: l.name });
        }
        while let Some(e) = self.dns.poll_event() {
            progress = true;
            if let dnsdisc::Event::Node { enr, .. } = e {
                if let Some(d) = self.discv5.as_mut() {
                    d.add_node(now, enr.clone());
                }
                listed.push(enr);
            }
        }
        while let Some(r) = self.rendezvous.poll_request() {
            progress = true;
            self.outputs.push_back(Output::Rendezvous {
                id: r.id,
                server: r.server,
                message: r.message.to_bytes(),
            });
        }
        while let Some(e) = self.rendezvous.poll_event() {
            progress = true;
            if let rendezvous::Event::Found { topic, records } = e {
                for enr in records {
                    if let Some(enode) = enr.to_enode() {
                        let _ = self.pool.handle_found(now, &topic, enode);
                    }
                }
            }
        }
        if !found.is_empty() {
            self.offer(now, found, false);
        }
        if !listed.is_empty() {
            self.offer(now, listed, true);
        }
        progress
    }

    /// An empty table (every bootnode failed its liveness check, say
    /// while it was busy) is seeded from the bootnodes again, as
    /// go-ethereum's discovery does: a lookup from nowhere finds nothing.
    fn reseed_discv5(&mut self, now: Timestamp) {
        let (Some(d), Some(c)) = (self.discv5.as_mut(), self.config.discv5.as_ref()) else {
            return;
        };
        if d.table_len() == 0 {
            for b in &c.bootnodes {
                d.add_node(now, b.clone());
            }
        }
    }

    /// Hands records to the PeerPool under the topics they advertise; with
    /// `untagged_relay` a record without any counts as a relay node.
    fn offer(&mut self, now: Timestamp, records: Vec<Enr>, untagged_relay: bool) {
        let mut seen = BTreeSet::new();
        for enr in records {
            let Some(enode) = enr.to_enode() else {
                continue;
            };
            if enode.id == self.node_id || !seen.insert(enode.id) {
                continue;
            }
            let mut topics = status_discovery::discv5::topic::topics(&enr);
            if topics.is_empty() && untagged_relay {
                topics.push(WHISPER_TOPIC.to_string());
            }
            for t in topics {
                // Topics the pool does not keep are not ours to dial.
                let _ = self.pool.handle_found(now, &t, enode);
            }
        }
    }
}

/// A connection's next deadline: its dial's, or its session's.
fn conn_deadline(c: &Conn) -> Option<(Timestamp, &'static str)> {
    if c.closing {
        return None;
    }
    match c.session.as_ref() {
        Some(s) => s.poll_timeout(),
        None => c.dial.as_ref().map(|d| (d.deadline, "dial")),
    }
}

fn wrong(conn: ConnectionId, c: &Conn, input: &'static str) -> Error {
    Error::WrongState {
        conn,
        state: c.state(),
        input,
    }
}

/// Our discv5 record: the UDP endpoint, the TCP port we listen on and the
/// topics we serve (a relayer serves `whisper`, a mailserver
/// `whispermail`; a light node serves none).
fn local_enr(config: &Config, udp: SocketAddr) -> Result<Enr, Error> {
    let mut b = Enr::builder().ip(udp.ip()).udp(udp.port());
    if let Some(l) = config.listen {
        b = b.tcp(l.port());
    }
    let mut topics = Vec::new();
    if config.role == Role::Relayer && config.listen.is_some() {
        topics.push(WHISPER_TOPIC);
    }
    if config.waku.mailserver {
        topics.push(MAILSERVER_TOPIC);
    }
    if !topics.is_empty() {
        b = status_discovery::discv5::topic::with_topics(b, &topics)?;
    }
    Ok(b.sign(&config.key)?)
}
