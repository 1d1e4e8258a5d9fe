//! discv5 packet decode + handle: arbitrary datagrams, and arbitrary message
//! plaintexts sealed under a real session (to reach message handling past
//! AES-GCM), fed to a node with timeouts in between. Never a panic, and
//! the node's queues stay within their bounds.
//!
//! The two nodes and their session are built once (a handshake costs
//! milliseconds in a `--dev` build) and carry their state from one input
//! to the next, like a long-running node would.
#![no_main]

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use status_core::{SecretKey, Timestamp};
use status_discovery::discv5::packet::decode_packet;
use status_discovery::discv5::{Config, Discv5};
use status_discovery::Enr;

fn node(b: u8, now: Timestamp) -> (Discv5, Enr, SocketAddr) {
    let key = SecretKey::from_bytes(&[b; 32]).expect("key");
    let addr = SocketAddr::from(([127, 0, 0, 1], 30_000 + u16::from(b)));
    let enr = Enr::builder()
        .ip(addr.ip())
        .udp(addr.port())
        .sign(&key)
        .expect("enr");
    let node = Discv5::new(key, enr.clone(), Config::default(), [b; 32], now).expect("node");
    (node, enr, addr)
}

struct Pair {
    now: Timestamp,
    a: Discv5,
    a_addr: SocketAddr,
    b: Discv5,
    b_addr: SocketAddr,
}

static PAIR: Mutex<Option<Pair>> = Mutex::new(None);

fn pair() -> Pair {
    let now = Timestamp::from_secs(1_000_000);
    let (mut a, _, a_addr) = node(1, now);
    let (mut b, b_enr, b_addr) = node(2, now);
    // Establish a session a -> b.
    a.ping(now, &b_enr).expect("ping");
    for _ in 0..4 {
        while let Some(t) = a.poll_transmit() {
            let _ = b.handle_input(now, a_addr, &t.datagram);
        }
        while let Some(t) = b.poll_transmit() {
            let _ = a.handle_input(now, b_addr, &t.datagram);
        }
    }
    Pair {
        now,
        a,
        a_addr,
        b,
        b_addr,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut guard = PAIR.lock().unwrap_or_else(|e| e.into_inner());
    let Pair {
        now,
        a,
        a_addr,
        b,
        b_addr,
    } = guard.get_or_insert_with(pair);
    let (a_addr, b_addr) = (*a_addr, *b_addr);
    let _ = decode_packet(&b.local_id(), data);
    let mut rest = data;
    while let Some((&head, tail)) = rest.split_first() {
        let n = usize::from(head >> 2).min(tail.len()) * 8;
        let n = n.min(tail.len());
        let (chunk, tail) = tail.split_at(n);
        rest = tail;
        match head & 3 {
            0 => {
                let _ = b.handle_input(*now, a_addr, chunk);
            }
            1 | 2 => {
                if let Some(p) = a.fuzz_seal(b.local_id(), b_addr, chunk) {
                    let _ = b.handle_input(*now, a_addr, &p);
                }
            }
            _ => {
                *now = *now + Duration::from_millis(700);
                b.handle_timeout(*now);
            }
        }
        while let Some(t) = b.poll_transmit() {
            assert!(t.datagram.len() <= 1280);
            let _ = a.handle_input(*now, b_addr, &t.datagram);
        }
        while a.poll_transmit().is_some() {}
        while b.poll_event().is_some() {}
        while a.poll_event().is_some() {}
    }
});
