//! The node's heap per idle peer (target: at most 64 KiB), counted by a
//! global allocator in this one-test binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use status_core::{SecretKey, Timestamp};
use status_node::{Config, Input, Node, Output};
use status_rlpx::p2p::{Capability, CapabilityConfig};
use status_rlpx::session::{self, Session};
use status_waku::StatusOptions;

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

fn key(i: usize) -> SecretKey {
    let mut b = [0x33u8; 32];
    b[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    SecretKey::from_bytes(&b).unwrap()
}

#[test]
fn an_idle_peer_costs_the_node_at_most_64_kib() {
    let n = 100;
    let now = Timestamp::from_secs(1_700_000_000);
    let config = || {
        let mut c = Config::builder(key(0))
            .listen(SocketAddr::from(([127, 0, 0, 1], 30303)))
            .min_pow(0.0)
            .max_peers(n + 1)
            .build()
            .unwrap();
        c.max_pending_inbound = n + 1;
        c
    };
    let caps = Arc::new(session::Config {
        capabilities: vec![CapabilityConfig {
            cap: Capability::new("waku", 1),
            length: 128,
        }],
        ..session::Config::default()
    });
    let status = StatusOptions {
        pow_requirement: Some(0.0),
        ..StatusOptions::default()
    }
    .to_vec();

    let before = LIVE.load(Ordering::Relaxed);
    let node = Node::new(config(), now, [1; 32]).unwrap();
    let alone = LIVE.load(Ordering::Relaxed) - before;
    drop(node);

    let before = LIVE.load(Ordering::Relaxed);
    let mut node = Node::new(config(), now, [1; 32]).unwrap();
    {
        let mut peers: Vec<_> = (1..=n)
            .map(|i| {
                let addr = SocketAddr::from(([10, 0, 0, i as u8], 30303));
                let conn = node.accept(now, addr).unwrap();
                let s = Session::initiator(caps.clone(), key(i), key(0).public_key(), now, [7; 32]);
                (conn, s, false)
            })
            .collect();
        let mut wire = Vec::new();
        loop {
            let mut moved = false;
            for (conn, s, greeted) in peers.iter_mut() {
                if s.is_established() && !*greeted {
                    *greeted = true;
                    s.send("waku", 0, &status).unwrap();
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
                    let p = peers.iter_mut().find(|(c, _, _)| *c == conn).unwrap();
                    let _ = p.1.handle_input(now, &data);
                    while p.1.poll_event().is_some() {}
                }
            }
            if !moved {
                break;
            }
        }
        assert_eq!(node.peer_count(), n);
    } // the peers' own sessions are gone: what is left is the node's
    let per_peer = (LIVE.load(Ordering::Relaxed) - before - alone) / n;
    assert!(per_peer <= 64 << 10, "{per_peer} bytes per idle peer");
    drop(node);
}
