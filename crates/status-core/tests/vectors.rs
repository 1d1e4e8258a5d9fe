//! status-core's primitives against the status-go v0.55.1 vectors, every
//! case, on any vector set of the layout (`STATUS_RS_VECTORS`; `.ci/run`
//! also runs this on a generated tree).
//!
//! - Every key pair any status-go file records (an object with `private`
//!   and `public_compressed` / `public_uncompressed`): the public key
//!   derived from the private one, in both forms, and each form parsed and
//!   re-serialised.
//! - status_payloads.json `chat_message`: status-go's WrapMessageV1 signs
//!   keccak256 of the ChatMessage bytes; our RFC 6979 signature with
//!   `signer` is `signature`, it recovers `recovered_signer`, and the message
//!   id is keccak256(uncompressed signer key || the ApplicationMetadataMessage
//!   bytes as received), as status-go's MessageID computes it.
//! - status_payloads.json `membership_update_event`: MembershipUpdateEvent.Sign
//!   signs keccak256(chat_id || raw_payload); our signature is `signature`
//!   and it recovers `signer` (`from`).
//!
//! ECIES, ECDH and keccak are also checked through the RLPx and Waku vector
//! suites, which replay status-go's handshakes and asymmetric messages.

use serde_json::Value;
use status_core::{keccak256, PublicKey, RecoverableSignature, SecretKey};
use status_vectors::{cases, description, hex_field, str_field, Coverage};

const STATUS_GO_FILES: &[&str] = &[
    "status-go/rlpx.json",
    "status-go/waku_envelope.json",
    "status-go/waku_message.json",
    "status-go/status_topics.json",
    "status-go/encryption.json",
    "status-go/mvds.json",
    "status-go/status_payloads.json",
    "status-go/mailserver.json",
];

/// Calls `f(path, object)` for every key pair object below `v`.
fn key_pairs<'a>(v: &'a Value, path: &str, f: &mut impl FnMut(&str, &'a Value)) {
    match v {
        Value::Object(o) => {
            if o.contains_key("private")
                && (o.contains_key("public_compressed") || o.contains_key("public_uncompressed"))
            {
                f(path, v);
            }
            for (k, x) in o {
                key_pairs(x, &format!("{path}.{k}"), f);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                key_pairs(x, &format!("{path}[{i}]"), f);
            }
        }
        _ => {}
    }
}

#[test]
fn every_recorded_key_pair_derives_and_serialises_like_status_go() {
    let mut pairs = 0;
    for file in STATUS_GO_FILES {
        for case in cases(file) {
            let what = format!("{file}: {}", description(&case));
            key_pairs(&case, "", &mut |path, pair| {
                let sk = SecretKey::from_bytes(&hex_field(pair, "private"))
                    .unwrap_or_else(|e| panic!("{what}{path}: {e:?}"));
                let pk = sk.public_key();
                for (field, len) in [("public_compressed", 33), ("public_uncompressed", 65)] {
                    if pair.get(field).is_none() {
                        continue;
                    }
                    let bytes = hex_field(pair, field);
                    let ours = if len == 33 {
                        pk.to_compressed().to_vec()
                    } else {
                        pk.to_uncompressed().to_vec()
                    };
                    assert_eq!(ours, bytes, "{what}{path}.{field}");
                    let parsed = PublicKey::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("{what}{path}.{field}: {e:?}"));
                    assert_eq!(parsed, pk, "{what}{path}.{field}");
                }
                pairs += 1;
            });
        }
    }
    assert!(pairs > 0, "no key pair in the status-go vectors");
}

fn check_signature(what: &str, signer: &Value, digest: &[u8; 32], signature: &[u8]) -> PublicKey {
    let sk = SecretKey::from_bytes(&hex_field(signer, "private"))
        .unwrap_or_else(|e| panic!("{what}: signer: {e:?}"));
    let ours = sk.sign_recoverable(digest);
    assert_eq!(
        hex::encode(ours.as_bytes()),
        hex::encode(signature),
        "{what}: signature (RFC 6979)"
    );
    let theirs = RecoverableSignature::from_slice(signature)
        .unwrap_or_else(|e| panic!("{what}: signature: {e:?}"));
    let recovered = theirs
        .recover(digest)
        .unwrap_or_else(|e| panic!("{what}: recover: {e:?}"));
    assert_eq!(recovered, sk.public_key(), "{what}: recovered key");
    recovered
}

#[test]
fn payload_signatures_and_message_ids_match_status_go() {
    const FILE: &str = "status-go/status_payloads.json";
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        let what = description(case);
        match str_field(case, "kind") {
            "chat_message" => {
                let chat = hex_field(case, "chat_message_protobuf");
                let digest = keccak256(&chat);
                let signer = check_signature(
                    what,
                    &case["signer"],
                    &digest,
                    &hex_field(case, "signature"),
                );
                let uncompressed = signer.to_uncompressed();
                assert_eq!(
                    uncompressed.to_vec(),
                    hex_field(case, "recovered_signer"),
                    "{what}: recovered_signer"
                );
                let wrapped = hex_field(case, "application_metadata_protobuf");
                let id = keccak256(&[&uncompressed[..], &wrapped].concat());
                assert_eq!(
                    id.to_vec(),
                    hex_field(case, "message_id"),
                    "{what}: message id"
                );
                seen.check("chat_message");
            }
            "membership_update_event" => {
                let material = [
                    str_field(case, "chat_id").as_bytes(),
                    &hex_field(case, "raw_payload"),
                ]
                .concat();
                let signer = check_signature(
                    what,
                    &case["signer"],
                    &keccak256(&material),
                    &hex_field(case, "signature"),
                );
                let from = str_field(case, "from");
                assert_eq!(
                    format!("0x{}", hex::encode(signer.to_uncompressed())),
                    from,
                    "{what}: from"
                );
                seen.check("membership_update_event");
            }
            // No signature: the unsigned wrap is checked by status-proto.
            _ => seen.elsewhere(),
        }
    }
    seen.finish(&["chat_message", "membership_update_event"]);
}
