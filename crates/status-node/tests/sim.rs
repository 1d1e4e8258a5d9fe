//! Many real Nodes in status-sim: virtual TCP streams over the
//! simulator's links (constant latency per link, so a stream stays in
//! order; a lost or cut packet breaks the stream, as TCP would), one seed
//! for the simulator and every node.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use status_core::{Enode, SecretKey, Timestamp};
use status_node::{Config, ConnectionId, Event, Input, Node, Output, Post, PostKey};
use status_sim::{Ctx, Latency, LinkConfig, NodeIndex, Sim, SimConfig};
use status_waku::filter::Filter;
use status_waku::Topic;

const CHAT_KEY: [u8; 32] = [9; 32];
const BASE_PORT: u16 = 20_000;

fn key(seed: u64, i: u32) -> SecretKey {
    let mut h = Sha256::new();
    h.update(seed.to_be_bytes());
    h.update(i.to_be_bytes());
    SecretKey::from_bytes(&h.finalize()).unwrap()
}

fn addr(i: u32) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], BASE_PORT + i as u16))
}

fn index_of(a: SocketAddr) -> Option<NodeIndex> {
    a.port()
        .checked_sub(BASE_PORT)
        .map(|p| NodeIndex(u32::from(p)))
}

/// What travels on a simulated link: a TCP connection's life.
#[derive(Clone, Debug)]
enum Packet {
    /// SYN: the dialer's connection id.
    Connect { dialer: u64 },
    /// SYN-ACK: the acceptor's id for it, or a refusal.
    Accept { dialer: u64, conn: Option<u64> },
    /// Stream bytes, for the receiver's connection `conn`.
    Data { conn: u64, bytes: Vec<u8> },
    /// RST / FIN: the receiver's connection `conn` is over.
    Reset { conn: u64 },
}

/// One Node plus the bookkeeping of its virtual TCP connections.
struct SimNode {
    node: Node,
    /// Our connection -> (peer, its id for the same connection).
    links: BTreeMap<ConnectionId, (NodeIndex, Option<u64>)>,
    /// Bytes waiting for the peer's Accept.
    early: BTreeMap<ConnectionId, Vec<Vec<u8>>>,
    /// Every output, hashed: two runs are equal iff these are.
    digest: Sha256,
    messages: Vec<(Topic, Vec<u8>)>,
    up: usize,
}

impl SimNode {
    fn new(node: Node) -> Self {
        SimNode {
            node,
            links: BTreeMap::new(),
            early: BTreeMap::new(),
            digest: Sha256::new(),
            messages: Vec::new(),
            up: 0,
        }
    }

    fn local(&self, peer: NodeIndex, remote: u64) -> Option<ConnectionId> {
        self.links
            .iter()
            .find(|(_, (p, r))| *p == peer && *r == Some(remote))
            .map(|(c, _)| *c)
    }

    /// Drains the node's outputs onto the links.
    fn drain(&mut self, ctx: &mut Ctx<'_, Packet>) {
        let now = ctx.now();
        while let Some(o) = self.node.poll_output() {
            match o {
                Output::Dial { conn, addr } => {
                    self.digest.update(format!("dial {conn} {addr}"));
                    match index_of(addr) {
                        Some(to) if to != ctx.me() => {
                            self.links.insert(conn, (to, None));
                            ctx.send(
                                to,
                                Packet::Connect {
                                    dialer: conn.as_u64(),
                                },
                            );
                        }
                        _ => {
                            let _ = self.node.handle_input(now, Input::DialFailed { conn });
                        }
                    }
                }
                Output::Transmit { conn, data } => {
                    self.digest.update(format!("tx {conn}"));
                    self.digest.update(&data);
                    let _ = self.node.handle_input(
                        now,
                        Input::Written {
                            conn,
                            bytes: data.len(),
                        },
                    );
                    match self.links.get(&conn) {
                        Some((to, Some(remote))) => ctx.send(
                            *to,
                            Packet::Data {
                                conn: *remote,
                                bytes: data,
                            },
                        ),
                        Some((_, None)) => self.early.entry(conn).or_default().push(data),
                        None => {}
                    }
                }
                Output::Close { conn } => {
                    self.digest.update(format!("close {conn}"));
                    self.early.remove(&conn);
                    if let Some((to, Some(remote))) = self.links.remove(&conn) {
                        ctx.send(to, Packet::Reset { conn: remote });
                    }
                }
                Output::Event(e) => {
                    self.digest.update(format!("{e:?}"));
                    match e {
                        Event::Message(m) => {
                            ctx.record_delivery(Duration::ZERO);
                            self.messages
                                .push((m.envelope.topic, m.message.payload().to_vec()));
                        }
                        Event::PeerConnected(_) => self.up += 1,
                        Event::PeerDisconnected { .. } => self.up -= 1,
                        _ => {}
                    }
                }
                other => self.digest.update(format!("{other:?}")),
            }
        }
    }

    fn closed(&mut self, now: Timestamp, conn: ConnectionId) {
        self.links.remove(&conn);
        self.early.remove(&conn);
        let _ = self.node.handle_input(now, Input::Closed { conn });
    }
}

impl status_sim::Node for SimNode {
    type Packet = Packet;

    fn handle_packet(&mut self, ctx: &mut Ctx<'_, Packet>, from: NodeIndex, p: Packet) {
        let now = ctx.now();
        match p {
            Packet::Connect { dialer } => {
                let from_addr = addr(from.0);
                match self.node.accept(now, from_addr) {
                    Ok(conn) => {
                        self.links.insert(conn, (from, Some(dialer)));
                        ctx.send(
                            from,
                            Packet::Accept {
                                dialer,
                                conn: Some(conn.as_u64()),
                            },
                        );
                    }
                    Err(_) => ctx.send(from, Packet::Accept { dialer, conn: None }),
                }
            }
            Packet::Accept { dialer, conn } => {
                let ours = ConnectionId::from_u64(dialer);
                match (conn, self.links.get_mut(&ours)) {
                    (Some(remote), Some(link)) => {
                        link.1 = Some(remote);
                        for bytes in self.early.remove(&ours).unwrap_or_default() {
                            ctx.send(
                                from,
                                Packet::Data {
                                    conn: remote,
                                    bytes,
                                },
                            );
                        }
                        if self
                            .node
                            .handle_input(now, Input::Connected { conn: ours })
                            .is_err()
                        {
                            // The dial timed out meanwhile.
                            self.links.remove(&ours);
                            ctx.send(from, Packet::Reset { conn: remote });
                        }
                    }
                    (Some(remote), None) => ctx.send(from, Packet::Reset { conn: remote }),
                    (None, _) => {
                        self.links.remove(&ours);
                        let _ = self
                            .node
                            .handle_input(now, Input::DialFailed { conn: ours });
                    }
                }
            }
            Packet::Data { conn, bytes } => {
                let conn = ConnectionId::from_u64(conn);
                if self.links.contains_key(&conn) {
                    let _ = self
                        .node
                        .handle_input(now, Input::Received { conn, data: &bytes });
                }
            }
            Packet::Reset { conn } => {
                let conn = ConnectionId::from_u64(conn);
                if self.links.contains_key(&conn) {
                    self.closed(now, conn);
                }
            }
        }
        self.drain(ctx);
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Packet>) {
        self.node.handle_timeout(ctx.now());
        self.drain(ctx);
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.node.poll_timeout().map(|(t, _)| t)
    }

    fn packet_size(p: &Packet) -> usize {
        match p {
            Packet::Data { bytes, .. } => bytes.len() + 40,
            _ => 40,
        }
    }

    /// A lost segment breaks the connection (TCP gives up; it never shows
    /// a gap): both ends learn it, the far one through the reset (if that
    /// gets through) or its own next loss or ping timeout.
    fn handle_lost(&mut self, ctx: &mut Ctx<'_, Packet>, to: NodeIndex, p: Packet) {
        let now = ctx.now();
        let conn = match p {
            Packet::Connect { dialer } => {
                let c = ConnectionId::from_u64(dialer);
                self.links.remove(&c);
                let _ = self.node.handle_input(now, Input::DialFailed { conn: c });
                None
            }
            Packet::Accept { dialer, conn } => conn.and_then(|_| self.local(to, dialer)),
            Packet::Data { conn, .. } | Packet::Reset { conn } => self.local(to, conn),
        };
        if let Some(c) = conn {
            if let Some((_, Some(remote))) = self.links.get(&c).copied() {
                ctx.send(to, Packet::Reset { conn: remote });
            }
            self.closed(now, c);
        }
        self.drain(ctx);
    }
}

/// `n` relayers; each has up to three static peers drawn from the seed
/// (a ring plus two chords), links of 20-80 ms drawn from the seed too.
fn network(seed: u64, n: u32, tune: impl Fn(&mut Config)) -> Sim<SimNode> {
    let start = Timestamp::from_secs(1_700_000_000);
    let mut sim = Sim::new(SimConfig {
        seed,
        start,
        default_link: LinkConfig {
            latency: Latency::Constant(40),
            ..LinkConfig::default()
        },
    });
    let mut h = Sha256::new();
    h.update(seed.to_be_bytes());
    let mut stream = h.finalize().to_vec();
    let mut draw = move |m: u32| {
        let d = Sha256::digest(&stream);
        stream = d.to_vec();
        u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % m
    };
    let enode = |i: u32| Enode::new(&key(seed, i).public_key(), addr(i));
    for i in 0..n {
        let mut b = Config::builder(key(seed, i))
            .listen(addr(i))
            .min_pow(0.0)
            .static_node(enode((i + 1) % n));
        for _ in 0..2 {
            let j = draw(n);
            if j != i {
                b = b.static_node(enode(j));
            }
        }
        let mut config = b.build().unwrap();
        config.peer_pool.backoff_base = Duration::from_secs(2);
        config.peer_pool.backoff_max = Duration::from_secs(10);
        tune(&mut config);
        let mut node_seed = [0u8; 32];
        node_seed[..8].copy_from_slice(&seed.to_be_bytes());
        node_seed[8..12].copy_from_slice(&i.to_be_bytes());
        let node = Node::new(config, start, node_seed).unwrap();
        sim.add_node(SimNode::new(node));
    }
    for i in 0..n {
        for j in 0..n {
            if i < j && draw(4) == 0 {
                let ms = 20 + u64::from(draw(61));
                let link = LinkConfig {
                    latency: Latency::Constant(ms),
                    ..LinkConfig::default()
                };
                sim.set_link(NodeIndex(i), NodeIndex(j), link);
                sim.set_link(NodeIndex(j), NodeIndex(i), link);
            }
        }
    }
    // Every node starts by dialling its static peers.
    for i in 0..n {
        sim.with_node(NodeIndex(i), |node, ctx| node.drain(ctx));
    }
    sim
}

fn subscribe_all(sim: &mut Sim<SimNode>, topic: Topic) {
    for i in 0..sim.len() as u32 {
        sim.with_node(NodeIndex(i), |n, ctx| {
            n.node
                .subscribe(ctx.now(), Filter::symmetric(vec![topic], CHAT_KEY));
            n.drain(ctx);
        });
    }
}

fn post(sim: &mut Sim<SimNode>, i: u32, topic: Topic, text: &[u8]) {
    sim.with_node(NodeIndex(i), |n, ctx| {
        n.node
            .post(
                ctx.now(),
                Post::new(topic, PostKey::Symmetric(CHAT_KEY), text),
            )
            .unwrap();
        n.drain(ctx);
    });
}

fn got(sim: &Sim<SimNode>, i: u32, text: &[u8]) -> usize {
    sim.node(NodeIndex(i))
        .unwrap()
        .messages
        .iter()
        .filter(|(_, m)| m == text)
        .count()
}

fn later(sim: &Sim<SimNode>, s: u64) -> Timestamp {
    sim.now().saturating_add(Duration::from_secs(s))
}

/// The whole run of 200 nodes: connect, one post from each of four
/// nodes, everyone gets each exactly once. Returns every node's output
/// digest and the simulator's metrics.
fn two_hundred(seed: u64) -> (Vec<[u8; 32]>, String) {
    let mut sim = network(seed, 200, |_| {});
    let topic = Topic::from_name("sim");
    subscribe_all(&mut sim, topic);
    let t = later(&sim, 10);
    sim.run_until(t);
    for i in (0..200).step_by(50) {
        post(&mut sim, i, topic, format!("from {i}").as_bytes());
    }
    let t = later(&sim, 10);
    sim.run_until(t);
    for i in 0..200u32 {
        for from in (0..200).step_by(50) {
            assert_eq!(
                got(&sim, i, format!("from {from}").as_bytes()),
                1,
                "node {i} from {from}"
            );
        }
        let up = sim.node(NodeIndex(i)).unwrap().up;
        assert!((1..=25).contains(&up), "node {i} has {up} peers");
    }
    let digests = (0..200u32)
        .map(|i| {
            sim.node(NodeIndex(i))
                .unwrap()
                .digest
                .clone()
                .finalize()
                .into()
        })
        .collect();
    (digests, sim.to_json())
}

#[test]
fn two_hundred_nodes_from_one_seed_replay_byte_for_byte() {
    let (a, a_json) = two_hundred(7);
    let (b, b_json) = two_hundred(7);
    assert_eq!(a, b);
    assert_eq!(a_json, b_json);
    let (c, _) = two_hundred(8);
    assert_ne!(a, c);
}

#[test]
fn a_partition_heals_and_what_was_posted_on_one_side_reaches_the_other() {
    let n = 40;
    let mut sim = network(11, n, |_| {});
    let topic = Topic::from_name("split");
    subscribe_all(&mut sim, topic);
    let t = later(&sim, 5);
    sim.run_until(t);
    let side: Vec<NodeIndex> = (0..n / 2).map(NodeIndex).collect();
    let (from, until) = (later(&sim, 1), later(&sim, 61));
    sim.partition(from, until, &side);
    let t = later(&sim, 20);
    sim.run_until(t);
    post(&mut sim, 0, topic, b"during");
    let t = later(&sim, 10);
    sim.run_until(t);
    // Only the poster's side has it.
    assert_eq!(got(&sim, 1, b"during"), 1);
    for i in n / 2..n {
        assert_eq!(got(&sim, i, b"during"), 0, "node {i} across the cut");
    }
    // The cut heals at `until`; static peers are dialled again after
    // back-off, and the stored envelope crosses with the new connections.
    let t = until.saturating_add(Duration::from_secs(40));
    sim.run_until(t);
    post(&mut sim, n - 1, topic, b"after");
    let t = later(&sim, 10);
    sim.run_until(t);
    for i in 0..n {
        assert_eq!(got(&sim, i, b"during"), 1, "node {i}");
        assert_eq!(got(&sim, i, b"after"), 1, "node {i}");
    }
}

#[test]
fn flooding_is_bounded_by_the_receivers_limits() {
    let n = 20;
    let max_stored = 300;
    let mut sim = network(5, n, |c| {
        // Batches of at most 64 KiB: a peer's byte limit then bounds
        // what it sends each second (a larger batch passes once a second
        // whatever its size, as in status-go).
        c.waku.limits.max_packet_size = 64 << 10;
        c.waku.limits.max_envelope_size = 32 << 10;
        c.waku.max_stored = max_stored;
        c.waku.max_seen = 2_000;
        c.waku.packet_rate_limits = status_waku::RateLimits {
            ip: 0,
            peer_id: 20,
            topic: 0,
        };
        c.waku.bytes_rate_limits = status_waku::RateLimits {
            ip: 0,
            peer_id: 64 << 10,
            topic: 0,
        };
    });
    let topic = Topic::from_name("flood");
    subscribe_all(&mut sim, topic);
    let t = later(&sim, 5);
    sim.run_until(t);
    let before: Vec<u64> = sim
        .metrics()
        .nodes
        .iter()
        .map(|m| m.bytes_received)
        .collect();
    // Node 0 posts 5000 envelopes of 1 KiB within one second.
    for k in 0..5000u32 {
        let mut text = k.to_be_bytes().to_vec();
        text.resize(1024, 0);
        post(&mut sim, 0, topic, &text);
    }
    let secs = 20;
    let t = later(&sim, secs);
    sim.run_until(t);
    for i in 0..n {
        let node = &sim.node(NodeIndex(i)).unwrap().node;
        assert!(node.waku().stored_len() <= max_stored, "node {i} stored");
        assert!(node.waku().seen_len() <= 2_000, "node {i} seen");
        // Each peer sends it at most its advertised byte rate (plus one
        // batch per cycle over it, and RLPx framing).
        let peers = node.peer_count().max(1) as u64;
        let got = sim.metrics().nodes[i as usize].bytes_received - before[i as usize];
        let bound = peers * (64 << 10) * (secs + 2) * 2;
        assert!(got <= bound, "node {i} received {got} bytes, bound {bound}");
        assert!(node.peer_count() >= 1, "node {i} lost its peers");
    }
    // The flood was throttled at its source: most copies never left.
    let source = sim.node(NodeIndex(0)).unwrap().node.waku_stats().clone();
    assert!(source.forward_dropped > source.forwarded, "{source:?}");
}
