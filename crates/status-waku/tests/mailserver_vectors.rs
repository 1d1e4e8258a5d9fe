//! status-go v0.55.1 vectors for the mailserver wire
//! (status-go/mailserver.json): request payloads, the signed and encrypted
//! request envelope, direct requests, Request Complete and cursors.

use bytes::Bytes;
use serde_json::Value;
use status_core::{SecretKey, Timestamp};
use status_vectors::Tape;
use status_vectors::{cases, hex_field};
use status_waku::envelope::DEFAULT_MAX_ENVELOPE_SIZE;
use status_waku::mailserver::{
    cursor, db_key, DirectMessagesRequest, DEFAULT_MAILSERVER_PASSWORD, DEFAULT_REQUEST_TTL,
};
use status_waku::topic::symmetric_key_from_password;
use status_waku::{Bloom, Envelope, MessagesRequest, RequestComplete, Topic};

const FILE: &str = "status-go/mailserver.json";

fn u32_field(c: &Value, k: &str) -> u32 {
    c[k].as_u64().unwrap_or_else(|| panic!("{k}")) as u32
}

fn check_payload(c: &Value) {
    let rlp = hex_field(c, "rlp");
    let bloom = Bloom::from_slice(&hex_field(c, "bloom")).unwrap();
    let req = MessagesRequest {
        lower: u32_field(c, "from"),
        upper: u32_field(c, "to"),
        bloom: Some(bloom),
        topics: vec![],
        limit: u32_field(c, "limit"),
        cursor: hex_field(c, "cursor"),
        batch: true,
    };
    assert_eq!(req.to_vec(), rlp, "{}", c["description"]);
    assert_eq!(MessagesRequest::decode(&rlp).unwrap(), req);
}

fn check_request_envelope(c: &Value) {
    let password = c["password"].as_str().unwrap();
    assert_eq!(password, DEFAULT_MAILSERVER_PASSWORD);
    let key = symmetric_key_from_password(password);
    assert_eq!(key.to_vec(), hex_field(c, "sym_key"));
    let client = SecretKey::from_bytes(&hex_field(&c["client"], "private")).unwrap();

    // status-go's bytes open to the request, signed by the client.
    let env_rlp = hex_field(c, "envelope_rlp");
    let env = Envelope::decode(&env_rlp, DEFAULT_MAX_ENVELOPE_SIZE).unwrap();
    assert_eq!(env.hash().to_vec(), hex_field(c, "envelope_hash"));
    let (req, msg) = MessagesRequest::open_envelope(&env, &key).unwrap();
    assert_eq!(msg.payload(), hex_field(c, "decrypted_payload"));
    assert_eq!(req.to_vec(), hex_field(c, "request_payload"));
    assert_eq!(msg.signer(), Some(&client.public_key()));

    // Our builder reproduces them from the tape: random padding, then the
    // AES-GCM nonce. The tape ends with the padding and 12 bytes that
    // status-go mixed with math/rand into the nonce, so the nonce status-go
    // used is replayed instead; the 32 bytes before the padding were drawn
    // by the vector generator before Wrap and are not part of the request.
    let tape_bytes = hex_field(c, "rng_tape");
    let pad_end = tape_bytes.len() - 12;
    let pad_start = pad_end - msg.padding().len();
    assert_eq!(&tape_bytes[pad_start..pad_end], msg.padding());
    let mut t = Tape::new();
    t.push(&tape_bytes[pad_start..pad_end]);
    t.push(&env.data[env.data.len() - 12..]);
    let now = Timestamp::from_secs(u64::from(env.expiry - env.ttl));
    assert_eq!(env.ttl, DEFAULT_REQUEST_TTL);
    let built = req
        .to_envelope(&mut t, &client, &key, now, DEFAULT_REQUEST_TTL, 0.0, 0)
        .unwrap();
    assert!(t.is_empty());
    assert_eq!(built.to_vec(), env_rlp);
}

#[test]
fn every_mailserver_case_matches_status_go() {
    let mut n = 0;
    for c in cases(FILE) {
        match c["kind"].as_str().unwrap() {
            "messages_request_payload" => check_payload(&c),
            "messages_request_payload_topics" => {
                let rlp = hex_field(&c, "rlp");
                let req = MessagesRequest::decode(&rlp).unwrap();
                assert_eq!(req.bloom, None);
                assert_eq!(
                    req.topics,
                    vec![Topic([0xf8, 0x94, 0x6a, 0xac]), Topic([1, 2, 3, 4])]
                );
                assert_eq!((req.lower, req.upper, req.limit), (10, 20, 50));
                assert!(req.cursor.is_empty() && req.batch);
                assert_eq!(req.to_vec(), rlp);
            }
            "db_key" => {
                let hash: [u8; 32] = hex_field(&c, "envelope_hash").try_into().unwrap();
                let topic = Topic::from_slice(&hex_field(&c, "topic")).unwrap();
                let ts = u32_field(&c, "timestamp");
                assert_eq!(db_key(ts, &hash, topic).to_vec(), hex_field(&c, "db_key"));
                assert_eq!(cursor(ts, &hash).to_vec(), hex_field(&c, "cursor"));
            }
            "request_complete" => {
                let payload = hex_field(&c, "payload");
                let rc = RequestComplete::decode(&payload).unwrap();
                assert_eq!(
                    rc,
                    RequestComplete::Completed {
                        request_id: hex_field(&c, "request_id").try_into().unwrap(),
                        last_envelope_hash: hex_field(&c, "last_envelope_hash").try_into().unwrap(),
                        cursor: hex_field(&c, "cursor"),
                    }
                );
                assert_eq!(rc.to_vec(), payload);
            }
            "waku_messages_request" => {
                let rlp = hex_field(&c, "rlp");
                let req = DirectMessagesRequest::decode(&rlp).unwrap();
                assert_eq!(req.to_vec(), rlp);
                let expected_ok = c["validate_error"].as_str().unwrap().is_empty();
                assert_eq!(req.validate().is_ok(), expected_ok);
                // The packet decoder hands the same bytes over as a direct request.
                let limits = status_waku::packet::Limits::default();
                let p =
                    status_waku::Packet::decode(126, &Bytes::from(rlp.clone()), &limits).unwrap();
                assert_eq!(p, status_waku::Packet::P2PRequestDirect(Bytes::from(rlp)));
            }
            "request_envelope" => check_request_envelope(&c),
            k => panic!("unknown case kind {k}"),
        }
        n += 1;
    }
    assert_eq!(n, 7);
}

#[test]
fn request_complete_follows_status_go_size_rules() {
    let id = [7u8; 32];
    let h = [9u8; 32];
    assert!(RequestComplete::decode(&id[..31]).is_err());
    // id alone, id + short tail, id + hash, id + hash + short tail
    for (payload, hash) in [
        (id.to_vec(), [0; 32]),
        ([&id[..], &[1, 2, 3]].concat(), [0; 32]),
        ([&id[..], &h[..]].concat(), h),
        ([&id[..], &h[..], &[5; 10]].concat(), h),
    ] {
        assert_eq!(
            RequestComplete::decode(&payload).unwrap(),
            RequestComplete::Completed {
                request_id: id,
                last_envelope_hash: hash,
                cursor: vec![]
            }
        );
    }
    assert!(RequestComplete::decode(&[0u8; 101]).is_err());
    let failed = RequestComplete::Failed {
        request_id: id,
        error: "rate limited".into(),
    };
    assert_eq!(RequestComplete::decode(&failed.to_vec()).unwrap(), failed);
}
