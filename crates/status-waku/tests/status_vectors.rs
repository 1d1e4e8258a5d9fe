//! status-go v0.55.1 vectors for the waku/1 wire: status options, packet
//! codes and Message Response (status-go/waku_envelope.json).

use bytes::Bytes;
use serde_json::Value;
use status_vectors::{cases, hex_field};
use status_waku::packet::{code, Limits, MessageResponse, Packet, NUMBER_OF_CODES};
use status_waku::StatusOptions;

fn kind(case: &Value) -> &str {
    case["kind"].as_str().unwrap_or("")
}

#[test]
fn status_options_decode_and_reencode_like_status_go() {
    let mut seen = 0;
    for case in cases("status-go/waku_envelope.json") {
        if kind(&case) != "status_options" {
            continue;
        }
        let desc = case["description"].as_str().unwrap();
        let rlp = hex_field(&case, "rlp");
        let decoded = StatusOptions::decode(&rlp).unwrap_or_else(|e| panic!("{desc}: {e}"));
        assert_eq!(
            decoded.to_vec(),
            hex_field(&case, "reencoded_after_decode"),
            "{desc}"
        );
        // status-go's Validate() accepted every case.
        assert_eq!(case["validate_error"].as_str(), Some(""), "{desc}");
        decoded.validate().unwrap();
        // As a Status packet and a Status Update packet too.
        let payload = Bytes::from(rlp.clone());
        for c in [code::STATUS, code::STATUS_UPDATE] {
            let p = Packet::decode(c, &payload, &Limits::default()).unwrap();
            assert_eq!(p.to_vec(), rlp, "{desc}");
        }
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} status option cases");
}

#[test]
fn default_statusd_host_options_have_the_expected_values() {
    // One case names its values in prose; check them as numbers too.
    for case in cases("status-go/waku_envelope.json") {
        let desc = case["description"].as_str().unwrap_or("");
        if kind(&case) != "status_options" || !desc.contains("default statusd host") {
            continue;
        }
        let o = StatusOptions::decode(&hex_field(&case, "rlp")).unwrap();
        assert_eq!(o.pow_requirement, Some(0.000002));
        assert_eq!(o.light_node, Some(false));
        assert_eq!(o.confirmations_enabled, Some(false));
        assert!(o.packet_rate_limits.unwrap().is_zero());
        assert!(o.bytes_rate_limits.unwrap().is_zero());
        assert_eq!(o.topic_interest, None);
    }
}

#[test]
fn message_codes_match_status_go() {
    let mut seen = 0;
    for case in cases("status-go/waku_envelope.json") {
        if kind(&case) != "message_codes" {
            continue;
        }
        assert_eq!(case["name"], "waku");
        assert_eq!(case["version"], 1);
        assert_eq!(case["number_of_message_codes"], NUMBER_OF_CODES);
        let codes = &case["codes"];
        let want = [
            ("status", code::STATUS),
            ("messages", code::MESSAGES),
            ("batchAcknowledged", code::BATCH_ACK),
            ("messageResponse", code::MESSAGE_RESPONSE),
            ("statusUpdate", code::STATUS_UPDATE),
            ("p2pRequestComplete", code::P2P_REQUEST_COMPLETE),
            ("p2pRequest", code::P2P_REQUEST),
            ("p2pMessage", code::P2P_MESSAGE),
        ];
        assert_eq!(codes.as_object().unwrap().len(), want.len());
        for (name, c) in want {
            assert_eq!(codes[name], c, "{name}");
        }
        seen += 1;
    }
    assert_eq!(seen, 1);
}

#[test]
fn message_response_round_trips_status_go_bytes() {
    let mut seen = 0;
    for case in cases("status-go/waku_envelope.json") {
        if kind(&case) != "message_response" {
            continue;
        }
        let batch: [u8; 32] = hex_field(&case, "batch_hash").try_into().unwrap();
        for field in ["rlp", "rlp_no_errors"] {
            let rlp = hex_field(&case, field);
            let r = MessageResponse::decode(&rlp).unwrap().unwrap();
            assert_eq!(r.batch_hash, batch);
            assert_eq!(r.errors.is_empty(), field == "rlp_no_errors");
            let mut out = Vec::new();
            r.encode(&mut out);
            assert_eq!(out, rlp, "{field}");
            let p = Packet::decode(
                code::MESSAGE_RESPONSE,
                &Bytes::from(rlp),
                &Limits::default(),
            );
            assert_eq!(p.unwrap(), Packet::MessageResponse(r));
        }
        seen += 1;
    }
    assert_eq!(seen, 1);
}

#[test]
fn envelopes_decode_as_messages_packets_with_their_hashes() {
    // Every envelope case, wrapped in a Messages packet the way status-go's
    // SendBundle does (`rlp.EncodeToBytes([]*Envelope)`), decodes back with
    // the recorded hash.
    let mut seen = 0;
    for case in cases("status-go/waku_envelope.json") {
        let Some(rlp) = case.get("rlp").filter(|_| case.get("hash").is_some()) else {
            continue;
        };
        let env = hex::decode(rlp.as_str().unwrap()).unwrap();
        let mut payload = Vec::new();
        if env.len() < 56 {
            payload.push(0xc0 + env.len() as u8);
        } else {
            let be = (env.len() as u32).to_be_bytes();
            let skip = be.iter().take_while(|b| **b == 0).count();
            payload.push(0xf7 + (4 - skip) as u8);
            payload.extend_from_slice(&be[skip..]);
        }
        payload.extend_from_slice(&env);
        let p = Packet::decode(code::MESSAGES, &Bytes::from(payload), &Limits::default()).unwrap();
        let Packet::Messages(es) = p else {
            panic!("not messages")
        };
        assert_eq!(es.len(), 1);
        assert_eq!(es[0].hash().to_vec(), hex_field(&case, "hash"));
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} envelope cases");
}
