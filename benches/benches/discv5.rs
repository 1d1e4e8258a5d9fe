//! discv5 hot paths: an established-session packet decoded and handled
//! (PING in, PONG out), a full handshake between two nodes, and the bare
//! primitives a handled PING cannot avoid (AES-128-GCM open + seal and the
//! AES-128-CTR header masks).

use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use status_core::{SecretKey, Timestamp};
use status_discovery::discv5::crypto::{decrypt_message, encrypt_message};
use status_discovery::discv5::packet::decode_packet;
use status_discovery::discv5::{Config, Discv5, Event};
use status_discovery::{Enr, NodeId};

fn node(b: u8) -> (Discv5, Enr, SocketAddr) {
    let key = SecretKey::from_bytes(&[b; 32]).expect("key");
    let addr = SocketAddr::from(([127, 0, 0, 1], 30_000 + u16::from(b)));
    let enr = Enr::builder()
        .ip(addr.ip())
        .udp(addr.port())
        .sign(&key)
        .expect("enr");
    let config = Config {
        refresh_interval: None,
        ..Config::default()
    };
    let n = Discv5::new(key, enr.clone(), config, [b; 32], Timestamp::from_secs(1)).expect("node");
    (n, enr, addr)
}

/// Moves datagrams between `a` and `b` until both are quiet; returns how
/// many moved.
fn exchange(a: &mut Discv5, a_addr: SocketAddr, b: &mut Discv5, b_addr: SocketAddr) -> usize {
    let now = Timestamp::from_secs(1);
    let mut moved = 0;
    loop {
        let mut any = false;
        while let Some(t) = a.poll_transmit() {
            let _ = b.handle_input(now, a_addr, &t.datagram);
            any = true;
            moved += 1;
        }
        while let Some(t) = b.poll_transmit() {
            let _ = a.handle_input(now, b_addr, &t.datagram);
            any = true;
            moved += 1;
        }
        if !any {
            return moved;
        }
    }
}

/// One PING (captured once from an established session) decoded and
/// handled by the receiver, which seals and queues a PONG.
fn handle_ping(c: &mut Criterion) {
    let (mut a, _, a_addr) = node(1);
    let (mut b, b_enr, b_addr) = node(2);
    let now = Timestamp::from_secs(1);
    a.ping(now, &b_enr).expect("ping");
    exchange(&mut a, a_addr, &mut b, b_addr);
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    // Session up: capture one ordinary PING packet.
    a.ping(now, &b_enr).expect("ping");
    let ping = a.poll_transmit().expect("ping packet").datagram;
    let b_id: NodeId = b.local_id();

    let mut group = c.benchmark_group("discv5/packet");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode", |bench| {
        bench.iter(|| decode_packet(&b_id, &ping).expect("decode"))
    });
    group.bench_function("decode+handle (PING in, PONG out)", |bench| {
        bench.iter(|| {
            b.handle_input(now, a_addr, &ping).expect("handled");
            let pong = b.poll_transmit().expect("pong");
            assert!(pong.datagram.len() > 63);
        })
    });
    // An unknown sender: decode, fail to find a session, answer WHOAREYOU.
    let (mut c_node, c_enr, _) = node(3);
    c_node.ping(now, &b_enr).expect("ping");
    let random = c_node.poll_transmit().expect("packet").datagram;
    let c_addr = c_enr.udp_socket().expect("addr");
    group.bench_function("decode+handle (unknown sender, WHOAREYOU out)", |bench| {
        bench.iter(|| {
            b.handle_input(now, c_addr, &random).expect("handled");
            let whoareyou = b.poll_transmit().expect("whoareyou");
            assert_eq!(whoareyou.datagram.len(), 63);
        })
    });
    group.finish();
}

/// A full handshake: random packet, WHOAREYOU, handshake packet, PONG.
fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("discv5/handshake");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.bench_function("ping over a new session, both sides", |bench| {
        bench.iter_batched(
            || (node(1), node(2)),
            |((mut a, _, a_addr), (mut b, b_enr, b_addr))| {
                a.ping(Timestamp::from_secs(1), &b_enr).expect("ping");
                exchange(&mut a, a_addr, &mut b, b_addr);
                assert!(matches!(a.poll_event(), Some(Event::Pong { .. })));
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// The limit for a handled PING: AES-128-GCM open of the PING and seal of
/// the PONG (with their header bytes as associated data), plus the two
/// AES-128-CTR header masks. Nothing else is cryptographically required.
fn primitives(c: &mut Criterion) {
    use aes::cipher::{KeyIvInit, StreamCipher};
    type Ctr = ctr::Ctr128BE<aes::Aes128>;
    let key = [7u8; 16];
    let nonce = [9u8; 12];
    let ad = [1u8; 71];
    let ping_pt = [0x01, 0xcc, 0x88, 1, 2, 3, 4, 5, 6, 7, 8, 0x01];
    let pong_pt = [0u8; 22];
    let mut sealed_ping = Vec::new();
    encrypt_message(&key, &nonce, &ping_pt, &ad, &mut sealed_ping);
    let mut group = c.benchmark_group("discv5/limit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("gcm open + gcm seal + 2 ctr header masks", |bench| {
        let mut out = Vec::with_capacity(64);
        let mut header = [0u8; 55];
        bench.iter(|| {
            let mut m = Ctr::new(&key.into(), &[3u8; 16].into());
            m.apply_keystream(&mut header);
            let pt = decrypt_message(&key, &nonce, &sealed_ping, &ad).expect("open");
            out.clear();
            encrypt_message(&key, &nonce, &pong_pt, &ad, &mut out);
            let mut m = Ctr::new(&key.into(), &[4u8; 16].into());
            m.apply_keystream(&mut header);
            pt.len() + out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, handle_ping, handshake, primitives);
criterion_main!(benches);
