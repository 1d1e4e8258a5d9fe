//! A flood of 1,000,000 distinct envelopes through one node: the dedup
//! cache and the envelope store stay within their configured bounds the
//! whole time, and nothing outlives its expiry.

use std::time::Duration;

use bytes::Bytes;
use status_core::{NodeId, Timestamp};
use status_waku::packet::code;
use status_waku::peer::Protocol;
use status_waku::{Envelope, StatusOptions, Topic, Waku, WakuConfig};

const T0: u64 = 1_700_000_000;
const TOTAL: u32 = 1_000_000;
const PER_PACKET: u32 = 500;

fn packet(first: u32) -> Bytes {
    let mut body = Vec::new();
    for i in first..first + PER_PACKET {
        let e = Envelope {
            expiry: T0 as u32 + 60,
            ttl: 60,
            topic: Topic((i % 64).to_be_bytes()),
            data: Bytes::copy_from_slice(&i.to_be_bytes()),
            nonce: 0,
        };
        e.encode(&mut body);
    }
    let mut v = Vec::with_capacity(body.len() + 5);
    let be = (body.len() as u32).to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    v.push(0xf7 + (4 - skip) as u8);
    v.extend_from_slice(&be[skip..]);
    v.extend_from_slice(&body);
    v.into()
}

#[test]
fn a_million_envelopes_keep_cache_and_store_bounded() {
    let config = WakuConfig {
        min_pow: 0.0,
        max_seen: 20_000,
        max_stored: 2_000,
        max_stored_bytes: 64 << 10,
        transmit_interval: Duration::ZERO,
        ..WakuConfig::default()
    };
    let now = Timestamp::from_secs(T0);
    let mut w = Waku::new(config.clone(), now);
    let full = StatusOptions {
        pow_requirement: Some(0.0),
        ..StatusOptions::default()
    };
    let src = w.add_peer(now, NodeId([1; 64]), None, Protocol::Waku1);
    let dst = w.add_peer(now, NodeId([2; 64]), None, Protocol::Waku1);
    for p in [src, dst] {
        w.handle_input(now, p, code::STATUS, full.to_vec().into())
            .unwrap();
    }
    while w.poll_transmit().is_some() {}

    let mut forwarded_packets = 0u64;
    for first in (0..TOTAL).step_by(PER_PACKET as usize) {
        w.handle_input(now, src, code::MESSAGES, packet(first))
            .unwrap();
        while let Some(t) = w.poll_transmit() {
            assert_eq!((t.peer, t.code), (dst, code::MESSAGES));
            forwarded_packets += 1;
        }
        while w.poll_event().is_some() {}
        assert!(w.seen_len() <= config.max_seen, "seen {}", w.seen_len());
        assert!(w.stored_len() <= config.max_stored);
        assert!(w.stored_bytes() <= config.max_stored_bytes);
    }
    let s = w.stats().clone();
    assert_eq!(s.accepted, u64::from(TOTAL));
    assert_eq!(s.forwarded, u64::from(TOTAL));
    assert_eq!(forwarded_packets, u64::from(TOTAL / PER_PACKET));
    assert_eq!(w.seen_len(), config.max_seen);
    assert!(w.stored_len() > 0);

    // The most recent envelopes are still known: a replay is a duplicate
    // and goes nowhere.
    w.handle_input(now, src, code::MESSAGES, packet(TOTAL - PER_PACKET))
        .unwrap();
    assert_eq!(w.stats().duplicates, u64::from(PER_PACKET));
    assert!(w.poll_transmit().is_none());

    // After expiry, handle_timeout empties both.
    let (t, why) = w.poll_timeout().unwrap();
    assert_eq!((t, why), (Timestamp::from_secs(T0 + 61), "expiry"));
    w.handle_timeout(t);
    assert_eq!((w.seen_len(), w.stored_len(), w.stored_bytes()), (0, 0, 0));
}
