//! The whole Node with arbitrary connection events and bytes: accepts,
//! dials answered or failed, raw bytes on any connection, writes, closes,
//! datagrams, DNS answers, time passing, and Waku packets carried by an
//! honest RLPx session (so that fuzzed packets reach the Waku router past
//! the MACs). Checks the node's own bounds after every step.
#![no_main]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use status_core::{SecretKey, Timestamp};
use status_discovery::dnsdisc::TxtRecord;
use status_node::{Config, ConnectionId, Input, Node, Output};
use status_rlpx::p2p::{Capability, CapabilityConfig};
use status_rlpx::session::{self, Session};
use status_waku::filter::Filter;
use status_waku::{StatusOptions, Topic};

fn key(b: u8) -> SecretKey {
    SecretKey::from_bytes(&[b; 32]).expect("a valid key")
}

fuzz_target!(|data: &[u8]| {
    let mut now = Timestamp::from_secs(1_700_000_000);
    let node_key = key(1);
    let peer_enode = status_core::Enode::new(
        &key(3).public_key(),
        SocketAddr::from(([127, 0, 0, 1], 30303)),
    );
    let mut config = Config::builder(node_key.clone())
        .listen(SocketAddr::from(([127, 0, 0, 1], 30300)))
        .static_node(peer_enode)
        .min_pow(0.0)
        .build()
        .expect("a valid config");
    config.max_pending_inbound = 8;
    config.max_peers = 4;
    let mut node = Node::new(config, now, [5; 32]).expect("a node");
    node.subscribe(now, Filter::symmetric(vec![Topic([0; 4])], [7; 32]));

    // An honest peer: its session carries fuzzed Waku packets.
    let caps = Arc::new(session::Config {
        capabilities: vec![CapabilityConfig {
            cap: Capability::new("waku", 1),
            length: 128,
        }],
        ..session::Config::default()
    });
    let honest_conn = node.accept(now, SocketAddr::from(([10, 0, 0, 2], 1))).ok();
    let mut honest = Session::initiator(caps, key(2), node_key.public_key(), now, [6; 32]);
    let mut dials: Vec<ConnectionId> = Vec::new();
    let mut conns: Vec<ConnectionId> = honest_conn.into_iter().collect();
    let mut wire = Vec::new();
    let mut greeted = false;

    let mut rest = data;
    let mut steps = 0;
    while let [op, a, len, tail @ ..] = rest {
        steps += 1;
        if steps > 64 {
            break;
        }
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        let pick = |v: &[ConnectionId]| v.get(usize::from(*a) % v.len().max(1)).copied();
        match op % 10 {
            0 => {
                if let Ok(c) = node.accept(now, SocketAddr::from(([10, 0, 0, *a], 2))) {
                    conns.push(c);
                }
            }
            1 => {
                if let Some(c) = pick(&dials) {
                    dials.retain(|d| *d != c);
                    if node.handle_input(now, Input::Connected { conn: c }).is_ok() {
                        conns.push(c);
                    }
                }
            }
            2 => {
                if let Some(c) = pick(&dials) {
                    dials.retain(|d| *d != c);
                    let _ = node.handle_input(now, Input::DialFailed { conn: c });
                }
            }
            3 => {
                let c = pick(&conns).unwrap_or(ConnectionId::from_u64(u64::from(*a)));
                let _ = node.handle_input(
                    now,
                    Input::Received {
                        conn: c,
                        data: payload,
                    },
                );
            }
            4 => {
                if let Some(c) = pick(&conns) {
                    let _ = node.handle_input(now, Input::Closed { conn: c });
                }
            }
            5 => {
                let from = SocketAddr::from(([10, 0, 0, *a], 30303));
                let _ = node.handle_input(
                    now,
                    Input::Datagram {
                        from,
                        data: payload,
                    },
                );
            }
            6 => {
                let text = String::from_utf8_lossy(payload);
                let records = [TxtRecord {
                    ttl_secs: u32::from(*a),
                    text: &text,
                }];
                let _ = node.handle_input(
                    now,
                    Input::TxtAnswer {
                        name: "nodes.example.org",
                        records: &records,
                    },
                );
            }
            7 => {
                now = now.saturating_add(Duration::from_millis(u64::from(*a) * 97));
                node.handle_timeout(now);
            }
            _ => {
                // A Waku packet (code = a % 32) from the honest peer.
                if honest.is_established() {
                    if !greeted {
                        greeted = true;
                        let status = StatusOptions {
                            pow_requirement: Some(0.0),
                            ..StatusOptions::default()
                        };
                        let _ = honest.send("waku", 0, &status.to_vec());
                    }
                    let _ = honest.send("waku", u64::from(*a % 32), payload);
                }
            }
        }
        // The honest peer's bytes, and the node's outputs.
        if let Some(c) = honest_conn {
            honest.poll_transmit(&mut wire);
            if !wire.is_empty() {
                let _ = node.handle_input(
                    now,
                    Input::Received {
                        conn: c,
                        data: &wire,
                    },
                );
                wire.clear();
            }
        }
        while let Some(o) = node.poll_output() {
            match o {
                Output::Dial { conn, .. } => dials.push(conn),
                Output::Transmit { conn, data } => {
                    let _ = node.handle_input(
                        now,
                        Input::Written {
                            conn,
                            bytes: data.len(),
                        },
                    );
                    if Some(conn) == honest_conn {
                        let _ = honest.handle_input(now, &data);
                        while honest.poll_event().is_some() {}
                    }
                }
                Output::Close { conn } => conns.retain(|c| *c != conn),
                _ => {}
            }
        }
        assert!(node.peer_count() <= 4 + 1);
        assert!(node.waku().seen_len() <= node.config().waku.max_seen);
    }
});
