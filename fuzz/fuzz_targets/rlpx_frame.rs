//! The frame decoder on hostile input, past the MACs.
//!
//! The input is split into an arbitrary message (code + payload) that an
//! honest sender frames, optionally corrupted at a fuzzer-chosen position,
//! and fed to the receiver in fuzzer-chosen chunks. The receiver must return
//! the message intact or a typed error, never panic. Snappy is on for the
//! receiver only half the time, so arbitrary payload bytes also reach the
//! snappy decoder as if compressed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_rlpx::frame::FrameCodec;
use status_rlpx::Secrets;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let a = Secrets::from_parts([1; 32], [2; 32], b"a", b"b");
    let b = Secrets::from_parts([1; 32], [2; 32], b"b", b"a");
    let mut tx = FrameCodec::new(a, 1 << 16);
    let mut rx = FrameCodec::new(b, 1 << 16);
    let sender_snappy = ctl & 1 != 0;
    let receiver_snappy = ctl & 2 != 0;
    tx.set_snappy(sender_snappy, 1 << 16);
    rx.set_snappy(receiver_snappy, 1 << 16);

    let code = u64::from(ctl >> 2);
    let mut wire = Vec::new();
    if tx.encode(code, rest, &mut wire).is_err() {
        return;
    }
    if ctl & 0x80 != 0 && !wire.is_empty() {
        let at = usize::from(rest.first().copied().unwrap_or(0)) % wire.len();
        wire[at] ^= 0x01;
    }
    let chunk = usize::from(rest.get(1).copied().unwrap_or(1)).max(1);
    let mut buf = Vec::new();
    for piece in wire.chunks(chunk) {
        buf.extend_from_slice(piece);
        match rx.decode(&mut buf) {
            Ok(Some(frame)) => {
                let consumed = frame.consumed;
                if sender_snappy == receiver_snappy && ctl & 0x80 == 0 {
                    assert_eq!(frame.code, code);
                    assert_eq!(frame.payload, rest);
                }
                buf.drain(..consumed);
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
});
