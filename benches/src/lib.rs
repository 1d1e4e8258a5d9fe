//! Shared fixtures for the criterion benches in `benches/`.
//!
//! `cargo bench -p status-benches` runs them all; each layer has one bench
//! file and one criterion group per hot path, with the bare primitives that
//! bound it measured in the same run so results can be read as ratios.

use status_rlpx::frame::FrameCodec;
use status_rlpx::Secrets;

/// Two frame codecs facing each other, as a completed handshake leaves them.
pub fn codec_pair(max_frame_size: usize) -> (FrameCodec, FrameCodec) {
    let a = Secrets::from_parts([1; 32], [2; 32], b"initiator egress", b"initiator ingress");
    let b = Secrets::from_parts([1; 32], [2; 32], b"initiator ingress", b"initiator egress");
    (
        FrameCodec::new(a, max_frame_size),
        FrameCodec::new(b, max_frame_size),
    )
}

/// Text-like payload (compresses roughly like chat traffic), deterministic.
pub fn text_payload(len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "status ",
        "waku ",
        "envelope ",
        "topic ",
        "message ",
        "hello ",
        "ratchet ",
        "bundle ",
        "the ",
        "a ",
        "of ",
        "peer ",
        "chat ",
        "public ",
        "key ",
    ];
    let mut out = Vec::with_capacity(len + 16);
    let mut x: u32 = 0x9e37_79b9;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(WORDS[(x as usize) % WORDS.len()].as_bytes());
    }
    out.truncate(len);
    out
}
