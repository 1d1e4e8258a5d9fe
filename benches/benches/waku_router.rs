//! Waku router hot path: Messages packets from 50 peers through one node
//! (decode + validate (time, size, PoW) + dedup + filter + forward to the
//! other 49), beside the two keccak passes per envelope that no router can
//! skip (the envelope hash for dedup, the PoW hash for validation).

use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use keccak_asm::Keccak256;
use status_core::{NodeId, Timestamp};
use status_waku::packet::code;
use status_waku::peer::{PeerId, Protocol};
use status_waku::{Envelope, StatusOptions, Topic, Waku, WakuConfig};

const T0: u64 = 1_700_000_000;
const PEERS: usize = 50;
/// A one-block Status message: 256 bytes of padded plaintext, the 16-byte
/// GCM tag and the 12-byte nonce.
const DATA: usize = 284;

/// A Messages payload of `n` envelopes whose 8-byte nonces sit at the
/// returned offsets, so each iteration can make them new.
fn template(n: usize) -> (Vec<u8>, Vec<usize>) {
    let mut body = Vec::new();
    let mut offsets = Vec::new();
    for i in 0..n {
        let e = Envelope {
            expiry: T0 as u32 + 60,
            ttl: 60,
            topic: Topic([i as u8, 1, 2, 3]),
            data: vec![0x5a; DATA].into(),
            nonce: 1 << 63,
        };
        let start = body.len();
        e.encode(&mut body);
        offsets.push(start + e.encoded_len() - 8);
    }
    let mut v = Vec::new();
    let be = (body.len() as u32).to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    v.push(0xf7 + (4 - skip) as u8);
    v.extend_from_slice(&be[skip..]);
    let shift = v.len();
    v.extend_from_slice(&body);
    (v, offsets.into_iter().map(|o| o + shift).collect())
}

/// Messages packets from the peers in turn, each with fresh nonces so that
/// every envelope is new to the node.
struct Feed {
    packet: Vec<u8>,
    nonces: Vec<usize>,
    counter: u64,
    turn: usize,
}

impl Feed {
    fn new(envelopes_per_packet: usize) -> Feed {
        let (packet, nonces) = template(envelopes_per_packet);
        Feed {
            packet,
            nonces,
            counter: 1 << 63,
            turn: 0,
        }
    }

    /// The next packet and the index of the peer that sends it.
    fn next(&mut self) -> (usize, Bytes) {
        for &o in &self.nonces {
            self.counter += 1;
            self.packet[o..o + 8].copy_from_slice(&self.counter.to_be_bytes());
        }
        self.turn = (self.turn + 1) % PEERS;
        (self.turn, Bytes::copy_from_slice(&self.packet))
    }
}

/// Takes every queued packet, as a driver would; returns the bytes sent.
fn drain(w: &mut Waku) -> usize {
    let mut sent = 0;
    while let Some(t) = w.poll_transmit() {
        sent += t.payload.len();
    }
    sent
}

fn node(transmit_interval: Duration) -> (Waku, Vec<PeerId>) {
    let now = Timestamp::from_secs(T0);
    let mut w = Waku::new(
        WakuConfig {
            transmit_interval,
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
    let peers: Vec<PeerId> = (0..PEERS)
        .map(|i| {
            let p = w.add_peer(now, NodeId([i as u8 + 1; 64]), None, Protocol::Waku1);
            w.handle_input(now, p, code::STATUS, status.clone())
                .unwrap();
            p
        })
        .collect();
    while w.poll_transmit().is_some() {}
    while w.poll_event().is_some() {}
    (w, peers)
}

fn router(c: &mut Criterion) {
    let mut group = c.benchmark_group("waku_router/50_peers");
    for batch in [1usize, 20] {
        let (mut w, peers) = node(Duration::ZERO);
        let mut feed = Feed::new(batch);
        let now = Timestamp::from_secs(T0);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::new("envelopes_per_packet", batch), |b| {
            b.iter(|| {
                let (from, payload) = feed.next();
                w.handle_input(now, peers[from], code::MESSAGES, payload)
                    .unwrap();
                assert!(drain(&mut w) > 0);
            })
        });
        let s = w.stats();
        assert_eq!(s.accepted, s.envelopes_received, "{s:?}");
    }
    group.finish();

    // The default configuration: forwarded envelopes wait for the 300 ms
    // transmission cycle (status-go's), so each peer gets one Messages
    // packet per cycle. A cycle here ends every CYCLE input packets, far
    // fewer than 300 ms holds at these rates, so this is conservative.
    const CYCLE: usize = 50;
    let mut group = c.benchmark_group("waku_router/50_peers_300ms_cycle");
    {
        let (mut w, peers) = node(WakuConfig::default().transmit_interval);
        let mut feed = Feed::new(1);
        let now = Timestamp::from_secs(T0);
        let mut packets = 0usize;
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("envelopes_per_packet", 1), |b| {
            b.iter(|| {
                let (from, payload) = feed.next();
                w.handle_input(now, peers[from], code::MESSAGES, payload)
                    .unwrap();
                packets += 1;
                if packets.is_multiple_of(CYCLE) {
                    w.send_pending(now);
                    assert!(drain(&mut w) > 0);
                }
            })
        });
        let s = w.stats();
        assert_eq!(s.accepted, s.envelopes_received, "{s:?}");
        assert!(s.batches_sent > 0, "{s:?}");
    }
    group.finish();

    // The limit: the envelope hash and the PoW hash of each envelope.
    let mut group = c.benchmark_group("waku_router/limit");
    let e = Envelope::new(T0 as u32, 60, Topic([1, 2, 3, 4]), vec![0x5a; DATA]);
    let full = e.to_vec();
    let pow_input = {
        let mut v = full[..full.len() - 1].to_vec();
        v.extend_from_slice(&[0; 8]);
        v
    };
    group.throughput(Throughput::Elements(1));
    group.bench_function("two_keccaks_per_envelope", |b| {
        b.iter(|| {
            let h1 = Keccak256::digest(&full);
            let h2 = Keccak256::digest(&pow_input);
            std::hint::black_box((h1, h2));
        })
    });
    group.finish();
}

criterion_group!(benches, router);
criterion_main!(benches);
