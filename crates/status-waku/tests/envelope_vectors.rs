//! status-go v0.55.1 vectors for envelopes, envelope hash, PoW, Seal and the
//! topic bloom (status-go/waku_envelope.json), every case of each kind.
//!
//! Kinds checked here, and how:
//! - envelope (cases without `kind` and without `pow_target`): built from
//!   `expiry`, `ttl`, `topic`, `data`, `nonce`, it encodes to `rlp`; `rlp`
//!   decodes (owned and shared) to it; `hash`, `size`, the length of
//!   `rlp_without_nonce`, `pow_float64_bits` (bit-exact) and the topic's
//!   `bloom` match. Every strict prefix of `rlp` is rejected.
//! - seal (no `kind`, with `pow_target`): from nonce 0, Seal finds the
//!   case's `nonce` first, with `target_leading_zero_bits`, and the sealed
//!   envelope has the case's `rlp`, `hash` and PoW bits.
//! - `topic_to_bloom`: `bloom` and `waku_common_bloom` of `topic`.
//! - `full_node_bloom`: `bloom` is the all-ones filter.
//!
//! `status_options`, `message_codes` and `message_response` are wire
//! packets, checked by tests/status_vectors.rs.

use bytes::Bytes;
use serde_json::Value;
use status_vectors::{cases, description, f64_field, hex_field, u64_field, Coverage};
use status_waku::envelope::DEFAULT_MAX_ENVELOPE_SIZE;
use status_waku::{Bloom, Envelope, SealOutcome, Topic};

const FILE: &str = "status-go/waku_envelope.json";
/// Kinds of this file that belong to the wire-packet tests.
const PACKET_KINDS: &[&str] = &["status_options", "message_codes", "message_response"];

fn u32_field(c: &Value, k: &str) -> u32 {
    u32::try_from(u64_field(c, k))
        .unwrap_or_else(|_| panic!("{}: `{k}` overflows u32", description(c)))
}

fn topic(c: &Value, k: &str) -> Topic {
    Topic::from_slice(&hex_field(c, k))
        .unwrap_or_else(|| panic!("{}: `{k}` is not a 4-byte topic", description(c)))
}

fn envelope_from_fields(c: &Value) -> Envelope {
    Envelope {
        expiry: u32_field(c, "expiry"),
        ttl: u32_field(c, "ttl"),
        topic: topic(c, "topic"),
        data: Bytes::from(hex_field(c, "data")),
        nonce: u64_field(c, "nonce"),
    }
}

/// The kind a case is checked as: its `kind`, or for the untyped envelope
/// cases `envelope` / `seal`.
fn kind(c: &Value) -> &str {
    match c.get("kind").and_then(Value::as_str) {
        Some(k) => k,
        None if c.get("pow_target").is_some() => "seal",
        None => "envelope",
    }
}

fn check_envelope(c: &Value) {
    let what = description(c);
    let e = envelope_from_fields(c);
    let rlp = hex_field(c, "rlp");
    assert_eq!(hex::encode(e.to_vec()), hex::encode(&rlp), "{what}: encode");
    assert_eq!(e.encoded_len(), rlp.len(), "{what}: encoded_len");
    let d = Envelope::decode(&rlp, DEFAULT_MAX_ENVELOPE_SIZE)
        .unwrap_or_else(|err| panic!("{what}: decode: {err}"));
    assert_eq!(d, e, "{what}: decode");
    let shared = Envelope::decode_shared(&Bytes::from(rlp.clone()), DEFAULT_MAX_ENVELOPE_SIZE)
        .unwrap_or_else(|err| panic!("{what}: decode_shared: {err}"));
    assert_eq!(shared, e, "{what}: decode_shared");
    assert_eq!(e.hash().to_vec(), hex_field(c, "hash"), "{what}: hash");
    assert_eq!(e.size() as u64, u64_field(c, "size"), "{what}: size");
    assert_eq!(
        e.rlp_without_nonce_len(),
        hex_field(c, "rlp_without_nonce").len(),
        "{what}: rlp_without_nonce"
    );
    assert_eq!(
        e.pow().to_bits(),
        u64_field(c, "pow_float64_bits"),
        "{what}: pow {} vs {}",
        e.pow(),
        c["pow"]
    );
    assert_eq!(
        Bloom::from_topic(e.topic).0.to_vec(),
        hex_field(c, "bloom"),
        "{what}: bloom"
    );
}

/// Seal searches from nonce 0 upward: the case's nonce is the first that
/// reaches the target, so a budget of nonce + 1 attempts is enough.
fn check_seal(c: &Value) {
    let what = description(c);
    let expected = envelope_from_fields(c);
    let target = f64_field(c, "pow_target");
    let mut e = Envelope {
        nonce: 0,
        ..expected.clone()
    };
    assert_eq!(
        u64::from(e.pow_target_bits(target)),
        u64_field(c, "target_leading_zero_bits"),
        "{what}: target bits"
    );
    let out = e
        .seal(target, expected.nonce.saturating_add(1))
        .unwrap_or_else(|err| panic!("{what}: seal: {err}"));
    assert!(
        matches!(out, SealOutcome::Sealed { nonce, .. } if nonce == expected.nonce),
        "{what}: {out:?}"
    );
    assert_eq!(e, expected, "{what}");
    assert_eq!(
        hex::encode(e.to_vec()),
        hex::encode(hex_field(c, "rlp")),
        "{what}: rlp"
    );
    assert_eq!(e.hash().to_vec(), hex_field(c, "hash"), "{what}: hash");
    assert_eq!(
        e.pow().to_bits(),
        u64_field(c, "pow_float64_bits"),
        "{what}: pow"
    );
}

#[test]
fn every_envelope_bloom_and_seal_case_matches_status_go() {
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for c in &all {
        let what = description(c);
        match kind(c) {
            "envelope" => check_envelope(c),
            "seal" => check_seal(c),
            "topic_to_bloom" => {
                let t = topic(c, "topic");
                let bloom = Bloom::from_topic(t);
                assert_eq!(bloom.0.to_vec(), hex_field(c, "bloom"), "{what}: bloom");
                assert_eq!(
                    bloom.0.to_vec(),
                    hex_field(c, "waku_common_bloom"),
                    "{what}: waku_common_bloom"
                );
                assert!(bloom.matches(t), "{what}: matches its topic");
            }
            "full_node_bloom" => {
                assert_eq!(Bloom::FULL.0.to_vec(), hex_field(c, "bloom"), "{what}")
            }
            k if PACKET_KINDS.contains(&k) => {
                seen.elsewhere();
                continue;
            }
            k => panic!("{what}: unknown case kind {k}"),
        }
        seen.check(kind(c));
    }
    seen.finish(&["envelope", "seal", "topic_to_bloom", "full_node_bloom"]);
}

#[test]
fn decoding_rejects_every_strict_prefix_and_bit_flip_without_panicking() {
    let mut checked = 0;
    for c in cases(FILE) {
        if !matches!(kind(&c), "envelope" | "seal") {
            continue;
        }
        let what = description(&c);
        let rlp = hex_field(&c, "rlp");
        for n in 0..rlp.len() {
            assert!(
                Envelope::decode(&rlp[..n], DEFAULT_MAX_ENVELOPE_SIZE).is_err(),
                "{what}: prefix of {n} bytes decodes"
            );
        }
        for i in 0..rlp.len().min(64) {
            let mut m = rlp.clone();
            m[i] ^= 0x80;
            // must not panic; may or may not decode
            let _ = Envelope::decode(&m, DEFAULT_MAX_ENVELOPE_SIZE);
        }
        checked += 1;
    }
    assert!(checked > 0, "{FILE}: no envelope cases");
}
