//! The Waku machine's handle_input with arbitrary packets from two peers
//! (one waku/1 and trusted, one whisper/6), after a valid handshake so the
//! input reaches the relay, and with time moving.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use status_core::{NodeId, Timestamp};
use status_waku::filter::Filter;
use status_waku::packet::Limits;
use status_waku::peer::Protocol;
use status_waku::status::ShhStatus;
use status_waku::{Interest, RateLimits, StatusOptions, Topic, Waku, WakuConfig};

fuzz_target!(|data: &[u8]| {
    let mut now = Timestamp::from_secs(1_700_000_000);
    let config = WakuConfig {
        min_pow: 0.0,
        confirmations_enabled: data.first().is_some_and(|b| b & 1 == 1),
        mailserver: data.first().is_some_and(|b| b & 2 == 2),
        interest: match data.first().map_or(0, |b| (b >> 2) & 3) {
            0 => Interest::Full,
            1 => Interest::Bloom,
            _ => Interest::Topics,
        },
        limits: Limits {
            max_packet_size: 64 << 10,
            max_envelope_size: 16 << 10,
        },
        packet_rate_limits: RateLimits {
            ip: 0,
            peer_id: 1000,
            topic: 100,
        },
        max_seen: 256,
        max_stored: 64,
        max_stored_bytes: 16 << 10,
        transmit_interval: Duration::from_millis(300),
        ..WakuConfig::default()
    };
    let mut w = Waku::new(config, now);
    w.subscribe(Filter::symmetric(vec![Topic([0; 4])], [7; 32]));
    let mut extra = None;
    let a = w.add_peer(now, NodeId([1; 64]), None, Protocol::Waku1);
    let b = w.add_peer(now, NodeId([2; 64]), None, Protocol::Shh6);
    let c = w.add_peer(now, NodeId([3; 64]), None, Protocol::Waku1);
    let status = StatusOptions {
        pow_requirement: Some(0.0),
        ..StatusOptions::default()
    };
    let _ = w.handle_input(now, a, 0, status.to_vec().into());
    let mut shh = Vec::new();
    ShhStatus::default().encode(&mut shh);
    let _ = w.handle_input(now, b, 0, shh.into());
    let _ = w.set_trusted(a, true);

    // Records: [peer, code, len, payload...]; peer's high bits move time.
    let mut rest = data.get(1..).unwrap_or_default();
    while let [sel, code, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        let peer = [a, b, c][usize::from(sel % 3)];
        if sel & 0x80 != 0 {
            now = now.saturating_add(Duration::from_millis(u64::from(sel & 0x7f) * 100));
            w.handle_timeout(now);
        } else if sel & 0x40 != 0 {
            // our own settings change mid-stream: tolerance windows start
            let _ = w.set_min_pow(f64::from(*code) / 64.0);
            match extra.take() {
                Some(id) => {
                    w.unsubscribe(id);
                }
                None => {
                    extra = Some(w.subscribe(Filter::symmetric(vec![Topic([*len; 4])], [8; 32])))
                }
            }
        }
        let _ = w.handle_input(now, peer, u64::from(*code % 130), payload.to_vec().into());
        while w.poll_transmit().is_some() {}
        while w.poll_event().is_some() {}
        assert!(w.seen_len() <= 256);
        assert!(w.stored_len() <= 64 && w.stored_bytes() <= 16 << 10);
    }
    let _ = w.poll_timeout();
});
