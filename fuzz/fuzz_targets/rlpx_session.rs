//! A whole recipient session fed arbitrary bytes in arbitrary chunks, with
//! timeouts in between: it must end in an event or an error, never a panic,
//! and never hold more than a bounded amount of input.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use status_core::{SecretKey, Timestamp};
use status_rlpx::p2p::{Capability, CapabilityConfig};
use status_rlpx::session::{Config, Session};

fuzz_target!(|data: &[u8]| {
    let config = Arc::new(Config {
        capabilities: vec![CapabilityConfig {
            cap: Capability::new("waku", 1),
            length: 128,
        }],
        ..Config::default()
    });
    let key = SecretKey::from_bytes(&[0x42; 32]).expect("valid key");
    let mut now = Timestamp::from_secs(1_000_000);
    let mut session = Session::recipient(config, key, now, [0; 32]);
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (chunk, tail) = tail.split_at(n);
        rest = tail;
        if session.handle_input(now, chunk).is_err() {
            break;
        }
        if len == 0 {
            now = now + std::time::Duration::from_secs(3);
            session.handle_timeout(now);
        }
        out.clear();
        session.poll_transmit(&mut out);
        while session.poll_event().is_some() {}
    }
});
