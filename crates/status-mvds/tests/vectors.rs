//! status-go v0.55.1 (vacp2p/mvds) vectors: message encoding, message ids
//! and payload encoding, every case of `status-go/mvds.json`.

use status_mvds::{decode_payload, encode_payload, Message, MessageId, Payload};
use status_proto::Message as _;

fn i64_field(case: &serde_json::Value, name: &str) -> i64 {
    case[name]
        .as_i64()
        .unwrap_or_else(|| panic!("field {name} is not an integer"))
}

#[test]
fn every_mvds_vector_matches() {
    let cases = status_vectors::cases("status-go/mvds.json");
    let (mut messages, mut payloads) = (0, 0);
    for case in &cases {
        let desc = case["description"].as_str().unwrap_or("?");
        let wire = status_vectors::hex_field(case, "protobuf");
        match case["kind"].as_str() {
            Some("message") => {
                let msg = Message {
                    group_id: status_vectors::hex_field(case, "group_id"),
                    timestamp: i64_field(case, "timestamp"),
                    body: status_vectors::hex_field(case, "body"),
                };
                assert_eq!(msg.encode_to_vec(), wire, "{desc}: encoding");
                assert_eq!(Message::decode(wire.as_slice()).unwrap(), msg, "{desc}");
                let id = status_vectors::hex_field(case, "id");
                assert_eq!(MessageId::of(&msg).0.as_slice(), id, "{desc}: id");
                messages += 1;
            }
            Some("payload") => {
                let p: Payload = decode_payload(&wire, 10_000).unwrap();
                for (field, got) in [
                    ("n_acks", p.acks.len()),
                    ("n_offers", p.offers.len()),
                    ("n_requests", p.requests.len()),
                    ("n_messages", p.messages.len()),
                ] {
                    assert_eq!(i64_field(case, field) as usize, got, "{desc}: {field}");
                }
                let mut again = Vec::new();
                encode_payload(&p, &mut again);
                assert_eq!(again, wire, "{desc}: re-encoding");
                payloads += 1;
            }
            other => panic!("{desc}: unknown kind {other:?}"),
        }
    }
    assert_eq!(messages + payloads, cases.len());
    assert!(messages > 0 && payloads > 0);
}

#[test]
fn payload_ids_are_message_ids_of_the_vector_messages() {
    // The "acks + offers + requests + messages" case carries the ids of the
    // messages it carries: check that ids and messages agree.
    for case in status_vectors::cases("status-go/mvds.json") {
        if case["kind"] != "payload" {
            continue;
        }
        let p = decode_payload(&status_vectors::hex_field(&case, "protobuf"), 10_000).unwrap();
        let ids: Vec<Vec<u8>> = p
            .messages
            .iter()
            .map(|m| MessageId::of(m).0.to_vec())
            .collect();
        for id in p.acks.iter().chain(&p.offers).chain(&p.requests) {
            if !p.messages.is_empty() {
                assert!(ids.contains(id), "{}", case["description"]);
            }
        }
    }
}
