//! An in-memory network for `Node` tests: nodes and raw endpoints (a bare
//! RLPx session plus a bare Waku machine, to play mailservers and hostile
//! peers) joined by perfect links, on a virtual clock.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use status_core::{Enode, SecretKey, Timestamp};
use status_node::{Config, ConnectionId, Event, Input, Node, Output};
use status_rlpx::p2p::{Capability, CapabilityConfig};
use status_rlpx::session::{self, Session};
use status_waku::mailserver::MessagesRequest;
use status_waku::node::{Event as WakuEvent, Waku};
use status_waku::peer::{PeerId, Protocol};
use status_waku::{Envelope, RequestComplete, WakuConfig};

pub const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

pub fn key(i: u32) -> SecretKey {
    let mut b = [0u8; 32];
    b[28..].copy_from_slice(&(i + 1).to_be_bytes());
    b[0] = 0x42;
    SecretKey::from_bytes(&b).unwrap()
}

pub fn addr(i: u32) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 20_000 + i as u16))
}

pub fn enode(i: u32) -> Enode {
    Enode::new(&key(i).public_key(), addr(i))
}

/// A relayer config for node `i` listening on `addr(i)`, PoW off.
pub fn relayer(i: u32) -> status_node::ConfigBuilder {
    Config::builder(key(i)).listen(addr(i)).min_pow(0.0)
}

pub fn waku_caps() -> Arc<session::Config> {
    Arc::new(session::Config {
        capabilities: vec![CapabilityConfig {
            cap: Capability::new("waku", 1),
            length: 128,
        }],
        ..session::Config::default()
    })
}

/// What a raw endpoint does with Waku traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers history requests from its archive, `page` envelopes a page.
    Mailserver { page: usize },
    /// Never answers history requests.
    SilentMailserver,
    /// Runs the Waku handshake and nothing more.
    Passive,
    /// Only the TCP connection: no RLPx at all.
    Mute,
}

/// A bare RLPx session plus a bare Waku machine.
pub struct Raw {
    pub key: SecretKey,
    pub behaviour: Behaviour,
    pub session: Option<Session>,
    pub waku: Waku,
    pub peer: Option<PeerId>,
    pub archive: Vec<Envelope>,
    pub requests: usize,
    pub closed: bool,
    pub mailserver_key: [u8; 32],
}

impl Raw {
    pub fn new(key: SecretKey, behaviour: Behaviour) -> Raw {
        let waku = Waku::new(
            WakuConfig {
                min_pow: 0.0,
                mailserver: true,
                transmit_interval: Duration::ZERO,
                ..WakuConfig::default()
            },
            T0,
        );
        Raw {
            key,
            behaviour,
            session: None,
            waku,
            peer: None,
            archive: Vec::new(),
            requests: 0,
            closed: false,
            mailserver_key: *status_waku::topic::symmetric_key_from_password(
                status_node::DEFAULT_MAILSERVER_PASSWORD,
            ),
        }
    }

    fn step(&mut self, now: Timestamp) {
        if self.session.is_none() {
            return;
        }
        while let Some(ev) = self.session.as_mut().and_then(|s| s.poll_event()) {
            match ev {
                session::Event::Established { hello, .. } => {
                    if self.behaviour != Behaviour::Mute {
                        self.peer =
                            Some(
                                self.waku
                                    .add_peer(now, hello.node_id, None, Protocol::Waku1),
                            );
                    }
                }
                session::Event::Message { code, payload, .. } => {
                    if let Some(p) = self.peer {
                        let _ = self.waku.handle_input(now, p, code, payload);
                    }
                }
                session::Event::Closed { .. } => self.closed = true,
                session::Event::Pong { .. } => {}
            }
        }
        while let Some(ev) = self.waku.poll_event() {
            if let WakuEvent::P2PRequest {
                peer,
                envelope: Some(env),
                ..
            } = ev
            {
                self.requests += 1;
                if let Behaviour::Mailserver { page } = self.behaviour {
                    self.serve(peer, &env, page);
                }
            }
        }
        while let Some(t) = self.waku.poll_transmit() {
            if let Some(s) = self.session.as_mut() {
                let _ = s.send(t.protocol.name(), t.code, &t.payload);
            }
        }
    }

    fn serve(&mut self, peer: PeerId, env: &Envelope, page: usize) {
        let Ok((req, _)) = MessagesRequest::open_envelope(env, &self.mailserver_key) else {
            return;
        };
        let start = if req.cursor.is_empty() {
            0
        } else {
            u32::from_be_bytes(req.cursor[..4].try_into().unwrap()) as usize
        };
        let matching: Vec<Envelope> = self
            .archive
            .iter()
            .filter(|e| {
                req.topics.contains(&e.topic) || req.bloom.is_some_and(|b| b.matches(e.topic))
            })
            .filter(|e| e.expiry - e.ttl >= req.lower && e.expiry - e.ttl <= req.upper)
            .cloned()
            .collect();
        let end = (start + page).min(matching.len());
        let batch = &matching[start.min(end)..end];
        self.waku.send_p2p_messages(peer, batch).unwrap();
        let cursor = if end < matching.len() {
            let mut c = (end as u32).to_be_bytes().to_vec();
            c.resize(status_waku::mailserver::CURSOR_SIZE, 0);
            c
        } else {
            Vec::new()
        };
        let done = RequestComplete::Completed {
            request_id: env.hash(),
            last_envelope_hash: batch.last().map_or([0; 32], |e| e.hash()),
            cursor,
        };
        self.waku
            .send_p2p_request_complete(peer, &done.to_vec())
            .unwrap();
    }
}

/// A rendezvous server: request message in, answer out.
pub type RendezvousServer = Box<dyn FnMut(&[u8]) -> Option<Vec<u8>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum End {
    Node(usize),
    Raw(usize),
}

/// Nodes and raw endpoints joined by perfect links on a virtual clock.
pub struct Net {
    pub now: Timestamp,
    pub nodes: Vec<Option<Node>>,
    pub raws: Vec<Raw>,
    pub events: Vec<Vec<Event>>,
    listen: BTreeMap<SocketAddr, End>,
    /// (end, its connection id) -> the other side.
    links: BTreeMap<(End, u64), (End, u64)>,
    next_raw_conn: u64,
    /// Corrupts the next transmit of this node on this connection.
    pub corrupt: Option<(usize, ConnectionId)>,
    /// Every output of every node, for replay comparisons.
    pub trace: Vec<String>,
    pub record_trace: bool,
    /// The DNS zone the network answers TXT look-ups from.
    pub dns: BTreeMap<String, String>,
    /// A rendezvous server: request message in, answer out (`None`: the
    /// request fails, as with a driver without libp2p).
    pub rendezvous: Option<RendezvousServer>,
    /// Rendezvous requests seen, by server.
    pub rendezvous_requests: Vec<String>,
}

impl Net {
    pub fn new() -> Net {
        Net {
            now: T0,
            nodes: Vec::new(),
            raws: Vec::new(),
            events: Vec::new(),
            listen: BTreeMap::new(),
            links: BTreeMap::new(),
            next_raw_conn: 0,
            corrupt: None,
            trace: Vec::new(),
            record_trace: false,
            dns: BTreeMap::new(),
            rendezvous: None,
            rendezvous_requests: Vec::new(),
        }
    }

    pub fn add(&mut self, config: Config) -> usize {
        let seed = [self.nodes.len() as u8 + 1; 32];
        self.add_seeded(config, seed)
    }

    pub fn add_seeded(&mut self, config: Config, seed: [u8; 32]) -> usize {
        let listen = config.listen;
        let node = Node::new(config, self.now, seed).unwrap();
        let i = self.nodes.len();
        if let Some(a) = listen {
            self.listen.insert(a, End::Node(i));
        }
        self.nodes.push(Some(node));
        self.events.push(Vec::new());
        i
    }

    pub fn node(&mut self, i: usize) -> &mut Node {
        self.nodes[i].as_mut().unwrap()
    }

    pub fn add_raw(&mut self, raw: Raw, listen: Option<SocketAddr>) -> usize {
        let i = self.raws.len();
        if let Some(a) = listen {
            self.listen.insert(a, End::Raw(i));
        }
        self.raws.push(raw);
        i
    }

    /// Raw endpoint `r` dials node `n`; returns the node's connection.
    pub fn raw_dial(&mut self, r: usize, n: usize) -> Option<ConnectionId> {
        let now = self.now;
        let node_conn = self.nodes[n].as_mut()?.accept(now, addr(9999)).ok()?;
        let raw_conn = self.next_raw_conn;
        self.next_raw_conn += 1;
        let node_key = self.nodes[n].as_ref()?.config().key.public_key();
        let raw = &mut self.raws[r];
        if raw.behaviour != Behaviour::Mute {
            raw.session = Some(Session::initiator(
                waku_caps(),
                raw.key.clone(),
                node_key,
                now,
                [7; 32],
            ));
        }
        self.links
            .insert((End::Raw(r), raw_conn), (End::Node(n), node_conn.as_u64()));
        self.links
            .insert((End::Node(n), node_conn.as_u64()), (End::Raw(r), raw_conn));
        Some(node_conn)
    }

    /// Bytes from raw endpoint `r` on its connection to node `n`.
    pub fn raw_send(&mut self, n: usize, conn: ConnectionId, data: &[u8]) {
        let now = self.now;
        if let Some(node) = self.nodes[n].as_mut() {
            let _ = node.handle_input(now, Input::Received { conn, data });
        }
    }

    /// Kills node `i` (no goodbye): its peers see their sockets close.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i] = None;
        let dead: Vec<((End, u64), (End, u64))> = self
            .links
            .iter()
            .filter(|(k, _)| k.0 == End::Node(i))
            .map(|(k, v)| (*k, *v))
            .collect();
        for (k, v) in dead {
            self.links.remove(&k);
            self.links.remove(&v);
            self.close_end(v);
        }
    }

    /// Restarts node `i` with `config` (same listen address).
    pub fn restart(&mut self, i: usize, config: Config, seed: [u8; 32]) {
        let node = Node::new(config, self.now, seed).unwrap();
        self.nodes[i] = Some(node);
    }

    fn close_end(&mut self, (end, conn): (End, u64)) {
        let now = self.now;
        match end {
            End::Node(n) => {
                if let Some(node) = self.nodes[n].as_mut() {
                    let _ = node.handle_input(
                        now,
                        Input::Closed {
                            conn: ConnectionId::from_u64(conn),
                        },
                    );
                }
            }
            End::Raw(r) => self.raws[r].closed = true,
        }
    }

    fn deliver(&mut self, to: (End, u64), data: &[u8]) {
        let now = self.now;
        match to.0 {
            End::Node(n) => {
                if let Some(node) = self.nodes[n].as_mut() {
                    let _ = node.handle_input(
                        now,
                        Input::Received {
                            conn: ConnectionId::from_u64(to.1),
                            data,
                        },
                    );
                }
            }
            End::Raw(r) => {
                let raw = &mut self.raws[r];
                if let Some(s) = raw.session.as_mut() {
                    let _ = s.handle_input(now, data);
                }
                raw.step(now);
            }
        }
    }

    /// Moves everything until every endpoint is quiet; returns whether
    /// anything moved.
    pub fn settle(&mut self) -> bool {
        let mut any = false;
        loop {
            let mut moved = false;
            for n in 0..self.nodes.len() {
                while let Some(o) = self.nodes[n].as_mut().and_then(|x| x.poll_output()) {
                    moved = true;
                    self.on_output(n, o);
                }
            }
            for r in 0..self.raws.len() {
                self.raws[r].step(self.now);
                let mut wire = Vec::new();
                if let Some(s) = self.raws[r].session.as_mut() {
                    s.poll_transmit(&mut wire);
                }
                if !wire.is_empty() {
                    moved = true;
                    let from: Vec<(End, u64)> = self
                        .links
                        .iter()
                        .filter(|(k, _)| k.0 == End::Raw(r))
                        .map(|(_, v)| *v)
                        .collect();
                    if let Some(to) = from.first() {
                        self.deliver(*to, &wire);
                    }
                }
                let closed = self.raws[r].session.as_ref().is_some_and(|s| s.is_closed());
                if closed && !self.raws[r].closed {
                    self.raws[r].closed = true;
                    let links: Vec<((End, u64), (End, u64))> = self
                        .links
                        .iter()
                        .filter(|(k, _)| k.0 == End::Raw(r))
                        .map(|(k, v)| (*k, *v))
                        .collect();
                    for (k, v) in links {
                        self.links.remove(&k);
                        self.links.remove(&v);
                        self.close_end(v);
                    }
                    moved = true;
                }
            }
            if !moved {
                return any;
            }
            any = true;
        }
    }

    fn on_output(&mut self, n: usize, o: Output) {
        let now = self.now;
        if self.record_trace {
            let line = match &o {
                Output::Transmit { conn, data } => format!("{n} {now} tx {conn} {}", hex(data)),
                Output::Event(e) => format!("{n} {now} {}", event_line(e)),
                other => format!("{n} {now} {other:?}"),
            };
            self.trace.push(line);
        }
        match o {
            Output::Dial { conn, addr } => {
                let target = self.listen.get(&addr).copied();
                match target {
                    Some(End::Node(t)) if self.nodes[t].is_some() => {
                        let from_addr = self.nodes[n]
                            .as_ref()
                            .and_then(|x| x.config().listen)
                            .unwrap_or(addr);
                        let Ok(tc) = self.nodes[t].as_mut().unwrap().accept(now, from_addr) else {
                            let _ = self.node(n).handle_input(now, Input::DialFailed { conn });
                            return;
                        };
                        self.links
                            .insert((End::Node(n), conn.as_u64()), (End::Node(t), tc.as_u64()));
                        self.links
                            .insert((End::Node(t), tc.as_u64()), (End::Node(n), conn.as_u64()));
                        let _ = self.node(n).handle_input(now, Input::Connected { conn });
                    }
                    Some(End::Raw(r)) => {
                        let rc = self.next_raw_conn;
                        self.next_raw_conn += 1;
                        let raw = &mut self.raws[r];
                        raw.session = Some(Session::recipient(
                            waku_caps(),
                            raw.key.clone(),
                            now,
                            [9; 32],
                        ));
                        raw.closed = false;
                        raw.peer = None;
                        self.links
                            .insert((End::Node(n), conn.as_u64()), (End::Raw(r), rc));
                        self.links
                            .insert((End::Raw(r), rc), (End::Node(n), conn.as_u64()));
                        let _ = self.node(n).handle_input(now, Input::Connected { conn });
                    }
                    _ => {
                        let _ = self.node(n).handle_input(now, Input::DialFailed { conn });
                    }
                }
            }
            Output::Transmit { conn, mut data } => {
                let _ = self.node(n).handle_input(
                    now,
                    Input::Written {
                        conn,
                        bytes: data.len(),
                    },
                );
                if self.corrupt == Some((n, conn)) {
                    self.corrupt = None;
                    if let Some(b) = data.last_mut() {
                        *b ^= 0xff;
                    }
                }
                if let Some(to) = self.links.get(&(End::Node(n), conn.as_u64())).copied() {
                    self.deliver(to, &data);
                }
            }
            Output::Close { conn } => {
                if let Some(to) = self.links.remove(&(End::Node(n), conn.as_u64())) {
                    self.links.remove(&to);
                    self.close_end(to);
                }
            }
            Output::Event(e) => self.events[n].push(e),
            Output::Datagram { .. } => {}
            Output::ResolveTxt { name } => match self.dns.get(&name).cloned() {
                Some(text) => {
                    let records = [status_discovery::dnsdisc::TxtRecord {
                        ttl_secs: 300,
                        text: &text,
                    }];
                    let _ = self.node(n).handle_input(
                        now,
                        Input::TxtAnswer {
                            name: &name,
                            records: &records,
                        },
                    );
                }
                None => {
                    let _ = self
                        .node(n)
                        .handle_input(now, Input::TxtFailed { name: &name });
                }
            },
            Output::Rendezvous {
                id,
                server,
                message,
            } => {
                self.rendezvous_requests.push(server);
                let answer = self.rendezvous.as_mut().and_then(|f| f(&message));
                let input = match &answer {
                    Some(data) => Input::RendezvousResponse { id, data },
                    None => Input::RendezvousFailed { id },
                };
                let _ = self.node(n).handle_input(now, input);
            }
        }
    }

    /// The earliest deadline of any node or raw endpoint.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let nodes = self
            .nodes
            .iter()
            .flatten()
            .filter_map(|n| n.poll_timeout().map(|(t, _)| t));
        let raws = self.raws.iter().flat_map(|r| {
            [
                r.session
                    .as_ref()
                    .and_then(|s| s.poll_timeout())
                    .map(|(t, _)| t),
                r.waku.poll_timeout().map(|(t, _)| t),
            ]
            .into_iter()
            .flatten()
        });
        nodes.chain(raws).min()
    }

    /// Settles, then advances the clock deadline by deadline for `d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now.saturating_add(d);
        self.settle();
        loop {
            let next = self.next_deadline().filter(|t| *t <= end);
            let Some(t) = next else { break };
            self.now = self.now.max(t);
            self.fire();
            self.settle();
        }
        self.now = end;
        self.fire();
        self.settle();
    }

    fn fire(&mut self) {
        let now = self.now;
        for n in self.nodes.iter_mut().flatten() {
            if n.poll_timeout().is_some_and(|(t, _)| t <= now) {
                n.handle_timeout(now);
            }
        }
        for r in &mut self.raws {
            if let Some(s) = r.session.as_mut() {
                if s.poll_timeout().is_some_and(|(t, _)| t <= now) {
                    s.handle_timeout(now);
                }
            }
            if r.waku.poll_timeout().is_some_and(|(t, _)| t <= now) {
                r.waku.handle_timeout(now);
            }
            r.step(now);
        }
    }

    /// Runs until `cond` holds (checked after every settle), at most `d`.
    pub fn run_until(&mut self, d: Duration, mut cond: impl FnMut(&mut Net) -> bool) -> bool {
        let end = self.now.saturating_add(d);
        self.settle();
        loop {
            if cond(self) {
                return true;
            }
            let next = self.next_deadline().filter(|t| *t <= end);
            let Some(t) = next else {
                self.now = end;
                self.fire();
                self.settle();
                return cond(self);
            };
            self.now = self.now.max(t);
            self.fire();
            self.settle();
        }
    }

    /// Events of node `i` so far, taken.
    pub fn take_events(&mut self, i: usize) -> Vec<Event> {
        std::mem::take(&mut self.events[i])
    }

    /// Payloads node `i` received for its filters so far (not taken).
    pub fn messages(&self, i: usize) -> Vec<Vec<u8>> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.message.payload().to_vec()),
                _ => None,
            })
            .collect()
    }
}

impl Default for Net {
    fn default() -> Self {
        Net::new()
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn event_line(e: &Event) -> String {
    match e {
        Event::Message(m) => format!(
            "message {} {} p2p={}",
            hex(&m.hash),
            hex(m.message.payload()),
            m.p2p
        ),
        other => format!("{other:?}"),
    }
}

pub fn bytes(v: &[u8]) -> Bytes {
    Bytes::copy_from_slice(v)
}
