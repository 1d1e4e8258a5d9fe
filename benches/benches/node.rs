//! One Node relaying for 50 connected peers: RLPx frames in, the Waku
//! router, RLPx frames out to the other 49, counted as envelope
//! deliveries (one envelope written to one peer counts once). Beside it,
//! the floor on the same bytes: a bare RLPx frame codec decoding the
//! frames the node reads, the bare Waku router, and the frame codec
//! encoding what the router sends. Then the heap per idle peer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use status_core::{NodeId, SecretKey, Timestamp};
use status_node::{Config, ConnectionId, Input, Node, Output};
use status_rlpx::frame::FrameCodec;
use status_rlpx::p2p::{Capability, CapabilityConfig};
use status_rlpx::session::{self, Session};
use status_rlpx::Secrets;
use status_waku::packet::code;
use status_waku::peer::{PeerId, Protocol};
use status_waku::{Envelope, StatusOptions, Topic, Waku, WakuConfig};

/// Counts live heap bytes, for the memory per idle peer.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const T0: u64 = 1_700_000_000;
const PEERS: usize = 50;
/// A one-block Status message (as the waku_router bench).
const DATA: usize = 284;

fn key(i: usize) -> SecretKey {
    let mut b = [0x33u8; 32];
    b[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    SecretKey::from_bytes(&b).unwrap()
}

fn caps() -> Arc<session::Config> {
    Arc::new(session::Config {
        capabilities: vec![CapabilityConfig {
            cap: Capability::new("waku", 1),
            length: 128,
        }],
        ..session::Config::default()
    })
}

/// Messages packets of one envelope with fresh nonces.
struct Feed {
    packet: Vec<u8>,
    nonce_at: usize,
    counter: u64,
}

impl Feed {
    fn new() -> Feed {
        let e = Envelope {
            expiry: T0 as u32 + 60,
            ttl: 60,
            topic: Topic([1, 1, 2, 3]),
            data: vec![0x5a; DATA].into(),
            nonce: 1 << 63,
        };
        let mut packet = Vec::new();
        status_waku::packet::encode_envelopes(std::slice::from_ref(&e), &mut packet);
        let nonce_at = packet.len() - 8;
        Feed {
            packet,
            nonce_at,
            counter: 1 << 63,
        }
    }

    fn next(&mut self) -> &[u8] {
        self.counter += 1;
        let at = self.nonce_at;
        self.packet[at..at + 8].copy_from_slice(&self.counter.to_be_bytes());
        &self.packet
    }
}

/// A relaying node with `n` established peers (bare sessions) that sent
/// their Waku Status.
struct Hub {
    node: Node,
    peers: Vec<(ConnectionId, Session)>,
}

fn node_config(n: usize) -> Config {
    let mut config = Config::builder(key(0))
        .listen(SocketAddr::from(([127, 0, 0, 1], 30303)))
        .min_pow(0.0)
        .max_peers(n + 10)
        .build()
        .unwrap();
    // Forward at the end of every input, as the router floor does.
    config.waku.transmit_interval = Duration::ZERO;
    config.max_pending_inbound = n + 10;
    config
}

fn hub(n: usize) -> Hub {
    let now = Timestamp::from_secs(T0);
    let mut node = Node::new(node_config(n), now, [1; 32]).unwrap();
    let node_pk = key(0).public_key();
    let mut peers = Vec::new();
    for i in 1..=n {
        let addr = SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 30303));
        let conn = node.accept(now, addr).unwrap();
        let s = Session::initiator(caps(), key(i), node_pk, now, [i as u8; 32]);
        peers.push((conn, s));
    }
    let status = StatusOptions {
        pow_requirement: Some(0.0),
        ..StatusOptions::default()
    }
    .to_vec();
    let mut greeted = vec![false; n];
    let mut wire = Vec::new();
    loop {
        let mut moved = false;
        for (k, (conn, s)) in peers.iter_mut().enumerate() {
            if s.is_established() && !greeted[k] {
                greeted[k] = true;
                s.send("waku", code::STATUS, &status).unwrap();
            }
            s.poll_transmit(&mut wire);
            if !wire.is_empty() {
                moved = true;
                node.handle_input(
                    now,
                    Input::Received {
                        conn: *conn,
                        data: &wire,
                    },
                )
                .unwrap();
                wire.clear();
            }
        }
        while let Some(o) = node.poll_output() {
            if let Output::Transmit { conn, data } = o {
                moved = true;
                node.handle_input(
                    now,
                    Input::Written {
                        conn,
                        bytes: data.len(),
                    },
                )
                .unwrap();
                let k = peers.iter().position(|(c, _)| *c == conn).unwrap();
                let _ = peers[k].1.handle_input(now, &data);
                while peers[k].1.poll_event().is_some() {}
            }
        }
        if !moved {
            break;
        }
    }
    assert_eq!(node.peer_count(), n);
    Hub { node, peers }
}

/// Frames from the peers in turn: (connection, bytes), made before the
/// clock starts.
fn frames(
    h: &mut Hub,
    feed: &mut Feed,
    count: usize,
    turn: &mut usize,
) -> Vec<(ConnectionId, Vec<u8>)> {
    (0..count)
        .map(|_| {
            *turn = (*turn + 1) % h.peers.len();
            let (conn, s) = &mut h.peers[*turn];
            s.send("waku", code::MESSAGES, feed.next()).unwrap();
            let mut wire = Vec::new();
            s.poll_transmit(&mut wire);
            (*conn, wire)
        })
        .collect()
}

/// Feeds the frames, drains the node as a driver would; returns the
/// envelope deliveries (Messages packets written to peers).
fn relay(node: &mut Node, input: &[(ConnectionId, Vec<u8>)]) -> u64 {
    let now = Timestamp::from_secs(T0);
    let mut deliveries = 0;
    for (conn, data) in input {
        node.handle_input(now, Input::Received { conn: *conn, data })
            .unwrap();
        while let Some(o) = node.poll_output() {
            if let Output::Transmit { conn, data } = o {
                deliveries += 1;
                node.handle_input(
                    now,
                    Input::Written {
                        conn,
                        bytes: data.len(),
                    },
                )
                .unwrap();
            }
        }
    }
    deliveries
}

/// The floor: the bare pieces a node cannot do without, on the same
/// packets: decode the frame, route in a bare Waku machine, encode one
/// frame per receiving peer.
struct Floor {
    waku: Waku,
    peers: Vec<PeerId>,
    ingress: Vec<(FrameCodec, FrameCodec)>,
    egress: Vec<FrameCodec>,
}

fn codec_pair(i: usize) -> (FrameCodec, FrameCodec) {
    let seed_a = [b'a', i as u8];
    let seed_b = [b'b', i as u8];
    let a = Secrets::from_parts([i as u8; 32], [2; 32], &seed_a, &seed_b);
    let b = Secrets::from_parts([i as u8; 32], [2; 32], &seed_b, &seed_a);
    let max = status_rlpx::frame::MAX_FRAME_SIZE;
    let (mut a, mut b) = (FrameCodec::new(a, max), FrameCodec::new(b, max));
    a.set_snappy(true, max);
    b.set_snappy(true, max);
    (a, b)
}

fn floor(n: usize) -> Floor {
    let now = Timestamp::from_secs(T0);
    let mut waku = Waku::new(
        WakuConfig {
            min_pow: 0.0,
            transmit_interval: Duration::ZERO,
            ..WakuConfig::default()
        },
        now,
    );
    let status: Bytes = StatusOptions {
        pow_requirement: Some(0.0),
        ..StatusOptions::default()
    }
    .to_vec()
    .into();
    let peers: Vec<PeerId> = (0..n)
        .map(|i| {
            let p = waku.add_peer(now, NodeId([i as u8 + 1; 64]), None, Protocol::Waku1);
            waku.handle_input(now, p, code::STATUS, status.clone())
                .unwrap();
            p
        })
        .collect();
    while waku.poll_transmit().is_some() {}
    while waku.poll_event().is_some() {}
    Floor {
        waku,
        peers,
        ingress: (0..n).map(codec_pair).collect(),
        egress: (0..n).map(|i| codec_pair(100 + i).0).collect(),
    }
}

fn floor_frames(
    f: &mut Floor,
    feed: &mut Feed,
    count: usize,
    turn: &mut usize,
) -> Vec<(usize, Vec<u8>)> {
    (0..count)
        .map(|_| {
            *turn = (*turn + 1) % f.peers.len();
            let mut wire = Vec::new();
            // The code the session would use: Waku's offset after p2p (16).
            f.ingress[*turn]
                .0
                .encode(16 + code::MESSAGES, feed.next(), &mut wire)
                .unwrap();
            (*turn, wire)
        })
        .collect()
}

fn floor_relay(f: &mut Floor, input: &mut [(usize, Vec<u8>)]) -> u64 {
    let now = Timestamp::from_secs(T0);
    let mut deliveries = 0;
    let mut out = Vec::new();
    for (from, wire) in input.iter_mut() {
        let frame = f.ingress[*from].1.decode(wire).unwrap().unwrap();
        let payload = Bytes::copy_from_slice(frame.payload);
        f.waku
            .handle_input(now, f.peers[*from], frame.code - 16, payload)
            .unwrap();
        while let Some(t) = f.waku.poll_transmit() {
            let k = t.peer.0 as usize;
            out.clear();
            f.egress[k]
                .encode(16 + t.code, &t.payload, &mut out)
                .unwrap();
            deliveries += 1;
        }
    }
    deliveries
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("node/relay_50_peers");
    // Each input envelope is written to the 49 other peers.
    group.throughput(Throughput::Elements(PEERS as u64 - 1));
    {
        let mut h = hub(PEERS);
        let mut feed = Feed::new();
        let mut turn = 0;
        group.bench_function("node", |b| {
            b.iter_custom(|iters| {
                let input = frames(&mut h, &mut feed, iters as usize, &mut turn);
                let start = Instant::now();
                let d = relay(&mut h.node, &input);
                let t = start.elapsed();
                assert_eq!(d, iters * (PEERS as u64 - 1));
                t
            })
        });
    }
    {
        let mut f = floor(PEERS);
        let mut feed = Feed::new();
        let mut turn = 0;
        group.bench_function("floor_router_plus_frame_codec", |b| {
            b.iter_custom(|iters| {
                let mut input = floor_frames(&mut f, &mut feed, iters as usize, &mut turn);
                let start = Instant::now();
                let d = floor_relay(&mut f, &mut input);
                let t = start.elapsed();
                assert_eq!(d, iters * (PEERS as u64 - 1));
                t
            })
        });
    }
    group.finish();

    // The same comparison once more, interleaved, for the ratio.
    let (mut h, mut f) = (hub(PEERS), floor(PEERS));
    let (mut fa, mut fb) = (Feed::new(), Feed::new());
    let (mut ta, mut tb) = (0, 0);
    let (mut node_t, mut floor_t) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..20 {
        let input = frames(&mut h, &mut fa, 500, &mut ta);
        let s = Instant::now();
        relay(&mut h.node, &input);
        node_t += s.elapsed();
        let mut input = floor_frames(&mut f, &mut fb, 500, &mut tb);
        let s = Instant::now();
        floor_relay(&mut f, &mut input);
        floor_t += s.elapsed();
    }
    let deliveries = 20.0 * 500.0 * (PEERS as f64 - 1.0);
    eprintln!(
        "node: {:.0} deliveries/s, floor: {:.0} deliveries/s, node/floor = {:.2}",
        deliveries / node_t.as_secs_f64(),
        deliveries / floor_t.as_secs_f64(),
        floor_t.as_secs_f64() / node_t.as_secs_f64()
    );

    // Heap per idle peer: the node's growth from 0 to 200 established,
    // idle peers (their own sessions dropped before counting).
    let n = 200;
    let now = Timestamp::from_secs(T0);
    let before = LIVE.load(Ordering::Relaxed);
    let node = Node::new(node_config(n), now, [1; 32]).unwrap();
    let empty = LIVE.load(Ordering::Relaxed) - before;
    drop(node);
    let before = LIVE.load(Ordering::Relaxed);
    let Hub { node, peers } = hub(n);
    drop(peers);
    let with_peers = LIVE.load(Ordering::Relaxed) - before;
    eprintln!(
        "memory per idle peer: {} bytes ({} peers, node alone {} bytes)",
        (with_peers - empty) / n,
        n,
        empty
    );
    assert!((with_peers - empty) / n <= 64 << 10);
    drop(node);
}

criterion_group!(benches, bench);
criterion_main!(benches);
