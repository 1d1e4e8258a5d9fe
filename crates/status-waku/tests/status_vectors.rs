//! status-go v0.55.1 vectors for the waku/1 wire: status options, packet
//! codes and Message Response (status-go/waku_envelope.json).
//!
//! Kinds checked here, and how:
//! - `status_options`: `rlp` decodes, re-encodes to status-go's
//!   `reencoded_after_decode`, validates as status-go's Validate() did
//!   (`validate_error` empty), and is the payload of a Status and a Status
//!   Update packet that re-encode to `rlp`.
//! - `message_codes`: our capability name and version equal the case's, our
//!   `NUMBER_OF_CODES` equals `number_of_message_codes`, and every code
//!   status-go names in `codes` has our constant's value.
//! - `message_response`: `rlp` and `rlp_no_errors` decode to a response for
//!   `batch_hash` (with and without errors), re-encode byte for byte, and
//!   decode the same as Message Response packets.
//! - every envelope case (with `rlp` and `hash`), wrapped in a Messages
//!   packet, decodes back with its hash.

use bytes::Bytes;
use serde_json::Value;
use status_vectors::{cases, description, hex_field, str_field, u64_field, Coverage};
use status_waku::packet::{code, Limits, MessageResponse, Packet, NUMBER_OF_CODES};
use status_waku::peer::Protocol;
use status_waku::StatusOptions;

const FILE: &str = "status-go/waku_envelope.json";

fn kind(case: &Value) -> &str {
    case.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// Runs `check` on every case of `wanted` kind and asserts there was one.
fn each_of_kind(wanted: &str, mut check: impl FnMut(&Value, &str)) {
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        if kind(case) == wanted {
            check(case, description(case));
            seen.check(wanted);
        } else {
            seen.elsewhere();
        }
    }
    seen.finish(&[wanted]);
}

#[test]
fn status_options_decode_and_reencode_like_status_go() {
    each_of_kind("status_options", |case, desc| {
        let rlp = hex_field(case, "rlp");
        let decoded = StatusOptions::decode(&rlp).unwrap_or_else(|e| panic!("{desc}: {e}"));
        assert_eq!(
            hex::encode(decoded.to_vec()),
            hex::encode(hex_field(case, "reencoded_after_decode")),
            "{desc}"
        );
        let status_go_accepted = str_field(case, "validate_error").is_empty();
        assert_eq!(
            decoded.validate().is_ok(),
            status_go_accepted,
            "{desc}: validate ({:?})",
            decoded.validate()
        );
        // As a Status packet and a Status Update packet too.
        let payload = Bytes::from(rlp.clone());
        for c in [code::STATUS, code::STATUS_UPDATE] {
            let p = Packet::decode(c, &payload, &Limits::default())
                .unwrap_or_else(|e| panic!("{desc}: packet {c}: {e}"));
            assert_eq!(p.to_vec(), rlp, "{desc}: packet {c}");
        }
    });
}

/// Our constant for each message code name status-go uses.
fn our_code(name: &str) -> Option<u64> {
    Some(match name {
        "status" => code::STATUS,
        "messages" => code::MESSAGES,
        "batchAcknowledged" => code::BATCH_ACK,
        "messageResponse" => code::MESSAGE_RESPONSE,
        "statusUpdate" => code::STATUS_UPDATE,
        "p2pRequestComplete" => code::P2P_REQUEST_COMPLETE,
        "p2pRequest" => code::P2P_REQUEST,
        "p2pMessage" => code::P2P_MESSAGE,
        _ => return None,
    })
}

#[test]
fn message_codes_match_status_go() {
    each_of_kind("message_codes", |case, desc| {
        assert_eq!(str_field(case, "name"), Protocol::Waku1.name(), "{desc}");
        assert_eq!(
            u64_field(case, "version"),
            u64::from(Protocol::Waku1.version()),
            "{desc}"
        );
        assert_eq!(
            u64_field(case, "number_of_message_codes"),
            NUMBER_OF_CODES,
            "{desc}"
        );
        let codes = case["codes"]
            .as_object()
            .unwrap_or_else(|| panic!("{desc}: `codes` is not an object"));
        assert!(!codes.is_empty(), "{desc}: no codes");
        for (name, value) in codes {
            let ours = our_code(name)
                .unwrap_or_else(|| panic!("{desc}: status-go code {name:?} unknown here"));
            assert_eq!(value.as_u64(), Some(ours), "{desc}: code {name}");
        }
    });
}

#[test]
fn message_response_round_trips_status_go_bytes() {
    each_of_kind("message_response", |case, desc| {
        let batch: [u8; 32] = hex_field(case, "batch_hash")
            .try_into()
            .unwrap_or_else(|_| panic!("{desc}: batch_hash is not 32 bytes"));
        for field in ["rlp", "rlp_no_errors"] {
            let rlp = hex_field(case, field);
            let r = MessageResponse::decode(&rlp)
                .unwrap_or_else(|e| panic!("{desc}: {field}: {e}"))
                .unwrap_or_else(|| panic!("{desc}: {field}: not a version 1 response"));
            assert_eq!(r.batch_hash, batch, "{desc}: {field}");
            assert_eq!(
                r.errors.is_empty(),
                field == "rlp_no_errors",
                "{desc}: {field}"
            );
            let mut out = Vec::new();
            r.encode(&mut out);
            assert_eq!(out, rlp, "{desc}: {field}");
            let p = Packet::decode(
                code::MESSAGE_RESPONSE,
                &Bytes::from(rlp),
                &Limits::default(),
            );
            assert_eq!(p.unwrap(), Packet::MessageResponse(r), "{desc}: {field}");
        }
    });
}

/// An RLP list header for `len` payload bytes.
fn list_header(len: usize) -> Vec<u8> {
    if len < 56 {
        vec![0xc0 + len as u8]
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        let mut out = vec![0xf7 + (8 - skip) as u8];
        out.extend_from_slice(&be[skip..]);
        out
    }
}

#[test]
fn envelopes_decode_as_messages_packets_with_their_hashes() {
    // Every envelope case, wrapped in a Messages packet the way status-go's
    // SendBundle does (`rlp.EncodeToBytes([]*Envelope)`), decodes back with
    // the recorded hash.
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        if case.get("kind").is_some() {
            seen.elsewhere();
            continue;
        }
        let desc = description(case);
        let env = hex_field(case, "rlp");
        let mut payload = list_header(env.len());
        payload.extend_from_slice(&env);
        let p = Packet::decode(code::MESSAGES, &Bytes::from(payload), &Limits::default())
            .unwrap_or_else(|e| panic!("{desc}: {e}"));
        let Packet::Messages(es) = p else {
            panic!("{desc}: not a Messages packet")
        };
        assert_eq!(es.len(), 1, "{desc}");
        assert_eq!(es[0].hash().to_vec(), hex_field(case, "hash"), "{desc}");
        seen.check("envelope");
    }
    seen.finish(&["envelope"]);
}
