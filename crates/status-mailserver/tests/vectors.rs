//! status-go v0.55.1 vectors (status-go/mailserver.json) through the
//! mailserver: every case of the file, each value taken from the case.
//! Request payloads and envelopes become the query status-go would run,
//! DB keys are the keys the archive stores and the cursor it answers
//! with, Request Complete payloads are laid out as status-go lays them.

mod common;

use rand_chacha::rand_core::SeedableRng;
use serde_json::Value;
use status_core::{NodeId, SecretKey, Timestamp};
use status_mailserver::{
    ArchivedEnvelope, DbKey, Decision, Mailserver, MailserverConfig, Order, Request, Selector,
};
use status_vectors::{cases, description, hex_field, str_field, u64_field, Coverage};
use status_waku::mailserver::{DirectMessagesRequest, MessagesRequest};
use status_waku::peer::Protocol;
use status_waku::topic::symmetric_key_from_password;
use status_waku::{Bloom, Envelope, RequestComplete, Topic};

const FILE: &str = "status-go/mailserver.json";

fn now() -> Timestamp {
    Timestamp::from_secs(1_700_000_000)
}

fn server(key: [u8; 32]) -> Mailserver {
    let config = MailserverConfig {
        request_key: Some(key),
        ..MailserverConfig::default()
    };
    Mailserver::new(config, now())
}

fn client() -> SecretKey {
    SecretKey::from_bytes(&[0x42; 32]).expect("a valid key")
}

fn peer() -> NodeId {
    client().public_key().node_id()
}

/// The request as the server decides on it, from the decrypted payload.
fn serve_payload(case: &Value, payload: &[u8]) -> Request {
    let key = [9u8; 32];
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
    let request = MessagesRequest::decode(payload)
        .unwrap_or_else(|e| panic!("{}: payload does not decode: {e}", description(case)));
    let envelope = request
        .to_envelope(&mut rng, &client(), &key, now(), 10, 0.0, 1)
        .expect("request envelope");
    match server(key).handle_request(now(), peer(), Protocol::Waku1, Some(&envelope), &[]) {
        Decision::Serve(r) => {
            assert_eq!(r.id, envelope.hash(), "{}: request id", description(case));
            r
        }
        other => panic!("{}: not served: {other:?}", description(case)),
    }
}

fn cursor_of(case: &Value) -> Option<[u8; 36]> {
    hex_field(case, "cursor").as_slice().try_into().ok()
}

fn check_request_payload(case: &Value) {
    let r = serve_payload(case, &hex_field(case, "rlp"));
    let q = r.query.expect("a query");
    let d = description(case);
    assert_eq!(u64::from(q.lower), u64_field(case, "from"), "{d}: lower");
    assert_eq!(u64::from(q.upper), u64_field(case, "to"), "{d}: upper");
    assert_eq!(u64::from(q.limit), u64_field(case, "limit"), "{d}: limit");
    let bloom = Bloom::from_slice(&hex_field(case, "bloom")).expect("a 64-byte bloom");
    assert_eq!(q.selector, Selector::Bloom(bloom), "{d}: bloom");
    assert_eq!(q.cursor, cursor_of(case), "{d}: cursor");
    assert_eq!(
        q.order,
        Order::Ascending,
        "{d}: status-go's default archive order"
    );
    assert!(r.batch, "{d}: batched answers");
}

fn check_topics_payload(case: &Value) {
    let raw = hex_field(case, "rlp");
    let decoded = MessagesRequest::decode(&raw).expect("decodes");
    let r = serve_payload(case, &raw);
    let q = r.query.expect("a query");
    let d = description(case);
    assert!(decoded.bloom.is_none() && !decoded.topics.is_empty(), "{d}");
    // served by exact topic (status-go refuses: no bloom)
    assert_eq!(q.selector, Selector::Topics(decoded.topics.clone()), "{d}");
    assert_eq!((q.lower, q.upper), (decoded.lower, decoded.upper), "{d}");
    let limit = if decoded.limit == 0 {
        1000
    } else {
        decoded.limit
    };
    assert_eq!(q.limit, limit, "{d}");
}

fn check_db_key(case: &Value) {
    let d = description(case);
    let hash: [u8; 32] = hex_field(case, "envelope_hash")
        .try_into()
        .expect("32 bytes");
    let topic = Topic::from_slice(&hex_field(case, "topic")).expect("4 bytes");
    let ts = u64_field(case, "timestamp") as u32;
    let key = DbKey::new(ts, &hash, topic);
    assert_eq!(key.0.to_vec(), hex_field(case, "db_key"), "{d}: key");
    assert_eq!(
        key.cursor().to_vec(),
        hex_field(case, "cursor"),
        "{d}: cursor"
    );
    assert_eq!(
        (key.sent(), key.hash(), key.topic()),
        (ts, hash, topic),
        "{d}"
    );
    // A page that ends on this envelope answers with this cursor.
    let mut ms = server([1; 32]);
    let request = Request {
        id: [7; 32],
        peer: peer(),
        query: Some(status_mailserver::Query {
            lower: ts,
            upper: ts,
            selector: Selector::Topics(vec![topic]),
            limit: 1,
            cursor: None,
            order: Order::Ascending,
        }),
        batch: true,
    };
    let row = ArchivedEnvelope {
        key,
        raw: vec![0xc0].into(),
    };
    match ms.respond(&request, vec![row]).complete {
        RequestComplete::Completed {
            last_envelope_hash,
            cursor,
            ..
        } => {
            assert_eq!(cursor, hex_field(case, "cursor"), "{d}: answered cursor");
            assert_eq!(last_envelope_hash, hash, "{d}: last envelope hash");
        }
        other => panic!("{d}: {other:?}"),
    }
}

fn check_request_complete(case: &Value) {
    let d = description(case);
    let id: [u8; 32] = hex_field(case, "request_id").try_into().expect("32 bytes");
    let last: [u8; 32] = hex_field(case, "last_envelope_hash")
        .try_into()
        .expect("32 bytes");
    let cursor = hex_field(case, "cursor");
    let done = RequestComplete::Completed {
        request_id: id,
        last_envelope_hash: last,
        cursor: cursor.clone(),
    };
    assert_eq!(done.to_vec(), hex_field(case, "payload"), "{d}: payload");
    // The server lays out its own answers the same way: id, the last
    // envelope's hash, the cursor (its key's first 36 bytes).
    let c: [u8; 36] = cursor.as_slice().try_into().expect("36 bytes");
    let key = DbKey(
        [&c[..], &[0, 0, 0, 0]]
            .concat()
            .try_into()
            .expect("40 bytes"),
    );
    let mut ms = server([1; 32]);
    let request = Request {
        id,
        peer: peer(),
        query: Some(status_mailserver::Query {
            lower: 0,
            upper: u32::MAX - 1,
            selector: Selector::Bloom(Bloom::FULL),
            limit: 1,
            cursor: None,
            order: Order::Ascending,
        }),
        batch: true,
    };
    let row = ArchivedEnvelope {
        key,
        raw: vec![0xc0].into(),
    };
    let payload = ms.respond(&request, vec![row]).complete.to_vec();
    assert_eq!(
        payload,
        [&id[..], &key.hash()[..], &cursor[..]].concat(),
        "{d}"
    );
}

fn check_direct_request(case: &Value) {
    let d = description(case);
    let raw = hex_field(case, "rlp");
    let decoded = DirectMessagesRequest::decode(&raw).expect("decodes");
    let expect_valid = str_field(case, "validate_error").is_empty();
    assert_eq!(
        decoded.validate().is_ok(),
        expect_valid,
        "{d}: waku's Validate"
    );
    let decision = server([1; 32]).handle_request(now(), peer(), Protocol::Waku1, None, &raw);
    if !expect_valid {
        // status-go's mailserver refuses what waku's Validate refuses
        assert!(
            matches!(decision, Decision::Refuse { .. }),
            "{d}: {decision:?}"
        );
        return;
    }
    let Decision::Serve(r) = decision else {
        panic!("{d}: not served: {decision:?}");
    };
    assert_eq!(r.id, decoded.id, "{d}: the request's own id");
    let q = r.query.expect("a query");
    assert_eq!((q.lower, q.upper), (decoded.from, decoded.to), "{d}");
    let want = match decoded.bloom {
        Some(b) => Selector::Bloom(b),
        None => Selector::Topics(decoded.topics.clone()),
    };
    assert_eq!(q.selector, want, "{d}");
    assert_eq!(q.cursor, decoded.cursor.as_slice().try_into().ok(), "{d}");
    assert!(r.batch, "{d}");
}

fn check_request_envelope(case: &Value) {
    let d = description(case);
    let key: [u8; 32] = hex_field(case, "sym_key").try_into().expect("32 bytes");
    assert_eq!(
        *symmetric_key_from_password(str_field(case, "password")),
        key,
        "{d}: key"
    );
    let envelope = Envelope::decode(&hex_field(case, "envelope_rlp"), 1 << 20).expect("envelope");
    assert_eq!(
        envelope.hash().to_vec(),
        hex_field(case, "envelope_hash"),
        "{d}"
    );
    let payload = MessagesRequest::decode(&hex_field(case, "decrypted_payload")).expect("payload");
    // status-go v0.55.1 checks that the request is signed, not by whom:
    // any peer id is served.
    for peer in [peer(), NodeId([0xee; 64])] {
        let decision =
            server(key).handle_request(now(), peer, Protocol::Waku1, Some(&envelope), &[]);
        let Decision::Serve(r) = decision else {
            panic!("{d}: not served: {decision:?}");
        };
        assert_eq!(
            r.id.to_vec(),
            hex_field(case, "envelope_hash"),
            "{d}: request id"
        );
        let q = r.query.expect("a query");
        assert_eq!((q.lower, q.upper), (payload.lower, payload.upper), "{d}");
        assert_eq!(
            q.selector,
            Selector::Bloom(payload.bloom.expect("bloom")),
            "{d}"
        );
        assert_eq!(q.limit, payload.limit, "{d}");
    }
    // Another key cannot open it: status-go's error, under its request id.
    let decision =
        server([0x55; 32]).handle_request(now(), peer(), Protocol::Waku1, Some(&envelope), &[]);
    assert_eq!(
        decision,
        Decision::Refuse {
            peer: peer(),
            complete: RequestComplete::Failed {
                request_id: envelope.hash(),
                error: "failed to decrypt p2p request".into(),
            },
        },
        "{d}"
    );
}

#[test]
fn every_mailserver_case_through_the_mailserver() {
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        let kind = str_field(case, "kind");
        match kind {
            "messages_request_payload" => check_request_payload(case),
            "messages_request_payload_topics" => check_topics_payload(case),
            "db_key" => check_db_key(case),
            "request_complete" => check_request_complete(case),
            "waku_messages_request" => check_direct_request(case),
            "request_envelope" => check_request_envelope(case),
            other => panic!("{FILE}: unknown kind {other:?} ({})", description(case)),
        }
        seen.check(kind);
    }
    seen.finish(&[
        "messages_request_payload",
        "messages_request_payload_topics",
        "db_key",
        "request_complete",
        "waku_messages_request",
        "request_envelope",
    ]);
}
