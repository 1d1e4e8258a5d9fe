//! status-go v0.55.1 vectors for envelopes, envelope hash, PoW, Seal and the
//! topic bloom (status-go/waku_envelope.json).
//!
//! The file also holds status options, message codes and message responses:
//! those kinds are wire packets and are checked by the packet vector tests.

use bytes::Bytes;
use serde_json::Value;
use status_vectors::{cases, hex_field};
use status_waku::envelope::DEFAULT_MAX_ENVELOPE_SIZE;
use status_waku::{Bloom, Envelope, SealOutcome, Topic};

const FILE: &str = "status-go/waku_envelope.json";
/// Kinds of this file that belong to the wire-packet tests.
const PACKET_KINDS: &[&str] = &["status_options", "message_codes", "message_response"];

fn u64_field(c: &Value, k: &str) -> u64 {
    c[k].as_u64().unwrap_or_else(|| panic!("{k} missing"))
}

fn topic(c: &Value, k: &str) -> Topic {
    Topic::from_slice(&hex_field(c, k)).expect("4-byte topic")
}

fn envelope_from_fields(c: &Value) -> Envelope {
    Envelope {
        expiry: u64_field(c, "expiry") as u32,
        ttl: u64_field(c, "ttl") as u32,
        topic: topic(c, "topic"),
        data: Bytes::from(hex_field(c, "data")),
        nonce: u64_field(c, "nonce"),
    }
}

/// Every plain envelope case: encoding, decoding, hash, size, PoW (bit-exact
/// float), bloom of the topic.
fn check_envelope(c: &Value) {
    let e = envelope_from_fields(c);
    let rlp = hex_field(c, "rlp");
    assert_eq!(e.to_vec(), rlp, "encode: {}", c["description"]);
    assert_eq!(e.encoded_len(), rlp.len());
    let d = Envelope::decode(&rlp, DEFAULT_MAX_ENVELOPE_SIZE).expect("decode");
    assert_eq!(d, e);
    let shared = Envelope::decode_shared(&Bytes::from(rlp.clone()), DEFAULT_MAX_ENVELOPE_SIZE)
        .expect("decode_shared");
    assert_eq!(shared, e);
    assert_eq!(e.hash().to_vec(), hex_field(c, "hash"));
    assert_eq!(e.size() as u64, u64_field(c, "size"));
    assert_eq!(
        e.rlp_without_nonce_len(),
        hex_field(c, "rlp_without_nonce").len()
    );
    assert_eq!(
        e.pow().to_bits(),
        u64_field(c, "pow_float64_bits"),
        "pow of {}: {} vs {}",
        c["description"],
        e.pow(),
        c["pow"]
    );
    assert_eq!(Bloom::from_topic(e.topic).0.to_vec(), hex_field(c, "bloom"));
}

/// Seal cases: from nonce 0, the first nonce reaching the target bits.
fn check_seal(c: &Value) {
    let expected = envelope_from_fields(c);
    let target = c["pow_target"].as_f64().expect("pow_target");
    let mut e = Envelope {
        nonce: 0,
        ..expected.clone()
    };
    assert_eq!(
        u64::from(e.pow_target_bits(target)),
        u64_field(c, "target_leading_zero_bits")
    );
    let out = e.seal(target, 1 << 24).expect("seal");
    assert!(
        matches!(out, SealOutcome::Sealed { nonce, .. } if nonce == expected.nonce),
        "{out:?}"
    );
    assert_eq!(e, expected);
    assert_eq!(e.to_vec(), hex_field(c, "rlp"));
    assert_eq!(e.hash().to_vec(), hex_field(c, "hash"));
    assert_eq!(e.pow().to_bits(), u64_field(c, "pow_float64_bits"));
}

#[test]
fn every_envelope_bloom_and_seal_case_matches_status_go() {
    let mut counts = [0usize; 4];
    for c in cases(FILE) {
        match c.get("kind").and_then(Value::as_str) {
            None if c.get("pow_target").is_some() => {
                check_seal(&c);
                counts[1] += 1;
            }
            None => {
                check_envelope(&c);
                counts[0] += 1;
            }
            Some("topic_to_bloom") => {
                let t = topic(&c, "topic");
                assert_eq!(Bloom::from_topic(t).0.to_vec(), hex_field(&c, "bloom"));
                assert_eq!(
                    Bloom::from_topic(t).0.to_vec(),
                    hex_field(&c, "waku_common_bloom")
                );
                assert!(Bloom::from_topic(t).matches(t));
                counts[2] += 1;
            }
            Some("full_node_bloom") => {
                assert_eq!(Bloom::FULL.0.to_vec(), hex_field(&c, "bloom"));
                counts[3] += 1;
            }
            Some(k) if PACKET_KINDS.contains(&k) => {}
            Some(k) => panic!("unknown case kind {k}"),
        }
    }
    assert_eq!(counts, [5, 3, 5, 1], "cases per kind");
}

#[test]
fn decoding_rejects_every_strict_prefix_and_bit_flip_without_panicking() {
    for c in cases(FILE) {
        if c.get("rlp").is_none() || c.get("kind").is_some() {
            continue;
        }
        let rlp = hex_field(&c, "rlp");
        for n in 0..rlp.len() {
            assert!(Envelope::decode(&rlp[..n], DEFAULT_MAX_ENVELOPE_SIZE).is_err());
        }
        for i in 0..rlp.len().min(64) {
            let mut m = rlp.clone();
            m[i] ^= 0x80;
            // must not panic; may or may not decode
            let _ = Envelope::decode(&m, DEFAULT_MAX_ENVELOPE_SIZE);
        }
    }
}
