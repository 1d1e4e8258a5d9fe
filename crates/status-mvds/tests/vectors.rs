//! status-go v0.55.1 (vacp2p/mvds) vectors, every case of
//! `status-go/mvds.json`.
//!
//! Kinds checked here, and how:
//! - `message`: the Message built from `group_id`, `timestamp` and `body`
//!   encodes to `protobuf`, `protobuf` decodes to it, and its id is `id`.
//! - `payload`: `protobuf` decodes with a record bound of exactly its
//!   `n_acks + n_offers + n_requests + n_messages` (and fails one below),
//!   each list has its documented length, every carried message re-encodes
//!   to its own bytes, and the payload re-encodes to `protobuf` (MVDS
//!   payloads have no map fields, so vacp2p/mvds's bytes are canonical).
//!
//! Nothing here assumes what a payload's ids name: MVDS lets acks, offers
//! and requests name any message, carried or not.

use status_mvds::{decode_payload, encode_payload, Error, Message, MessageId, Payload};
use status_proto::Message as _;
use status_vectors::{cases, description, hex_field, i64_field, u64_field, Coverage};

const FILE: &str = "status-go/mvds.json";

#[test]
fn every_mvds_vector_matches() {
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        let desc = description(case);
        let wire = hex_field(case, "protobuf");
        match case["kind"].as_str() {
            Some("message") => {
                let msg = Message {
                    group_id: hex_field(case, "group_id"),
                    timestamp: i64_field(case, "timestamp"),
                    body: hex_field(case, "body"),
                };
                assert_eq!(msg.encode_to_vec(), wire, "{desc}: encoding");
                let decoded = Message::decode(wire.as_slice())
                    .unwrap_or_else(|e| panic!("{desc}: decode: {e}"));
                assert_eq!(decoded, msg, "{desc}: decode");
                assert_eq!(
                    MessageId::of(&msg).0.as_slice(),
                    hex_field(case, "id"),
                    "{desc}: id"
                );
                seen.check("message");
            }
            Some("payload") => {
                let n = |field| {
                    usize::try_from(u64_field(case, field))
                        .unwrap_or_else(|_| panic!("{desc}: {field} overflows usize"))
                };
                let records = n("n_acks") + n("n_offers") + n("n_requests") + n("n_messages");
                let p: Payload = decode_payload(&wire, records)
                    .unwrap_or_else(|e| panic!("{desc}: decode: {e}"));
                if records > 0 {
                    assert_eq!(
                        decode_payload(&wire, records - 1),
                        Err(Error::TooManyRecords {
                            got: records,
                            max: records - 1
                        }),
                        "{desc}: record bound"
                    );
                }
                for (field, got) in [
                    ("n_acks", p.acks.len()),
                    ("n_offers", p.offers.len()),
                    ("n_requests", p.requests.len()),
                    ("n_messages", p.messages.len()),
                ] {
                    assert_eq!(n(field), got, "{desc}: {field}");
                }
                for m in &p.messages {
                    let bytes = m.encode_to_vec();
                    assert_eq!(
                        Message::decode(bytes.as_slice()).as_ref(),
                        Ok(m),
                        "{desc}: carried message"
                    );
                }
                let mut again = Vec::new();
                encode_payload(&p, &mut again);
                assert_eq!(
                    hex::encode(again),
                    hex::encode(&wire),
                    "{desc}: re-encoding"
                );
                seen.check("payload");
            }
            other => panic!("{desc}: unknown kind {other:?}"),
        }
    }
    seen.finish(&["message", "payload"]);
}
