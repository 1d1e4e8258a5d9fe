//! MVDS payload decoding and the node machine on hostile input.
//!
//! The first byte picks the mode and which peer the bytes come from; the
//! rest is split at 0xfe bytes into payloads, each decoded and handed to a
//! node that has in-flight offers and messages of its own, with time
//! advancing between payloads. Decoding must give a payload or a typed
//! error, and the node must never panic nor exceed its bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_core::Timestamp;
use status_mvds::{decode_payload, Backoff, Config, GroupId, Mode, Mvds};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let config = Config {
        mode: if ctl & 1 == 0 {
            Mode::Batch
        } else {
            Mode::Interactive
        },
        backoff: Backoff { base: 1, max: 4 },
        max_in_flight: 64,
        max_pending_acks: 32,
        max_payload_records: 128,
        max_received_ids: 16,
        ..Config::default()
    };
    let mut now = Timestamp::from_secs(1_600_000_000);
    let mut node: Mvds<u8> = Mvds::new(config, now);
    for (i, body) in [&b"a"[..], b"b", b"c"].iter().enumerate() {
        let _ = node.send(now, GroupId([i as u8; 32]), &[0, 1, 2], body.to_vec());
    }
    let from = (ctl >> 1) & 3;
    for chunk in rest.split(|b| *b == 0xfe) {
        if let Ok(payload) = decode_payload(chunk, 128) {
            let _ = node.handle_payload(now, &from, payload);
        }
        now = now
            + std::time::Duration::from_millis(u64::from(chunk.first().copied().unwrap_or(0)) * 10);
        node.handle_timeout(now);
        while node.poll_output().is_some() {}
        assert!(node.in_flight() <= 64);
    }
});
