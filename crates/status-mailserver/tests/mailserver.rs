//! The mailserver machine against status-go v0.55.1's rules, one test per
//! rule: paging and the limit, bundling, the legacy unbatched form, every
//! refusal with status-go's text, the rate limit, the cleaner, hostile
//! requests; and the role gluing it to a node's events.

mod common;

use std::time::Duration;

use common::{archived, envelope, topic};
use rand_chacha::rand_core::SeedableRng;
use status_core::{NodeId, SecretKey, Timestamp};
use status_mailserver::{
    Archive, Decision, Mailserver, MailserverConfig, MailserverRole, MemoryArchive, Order, Reply,
    RoleConfig, Selector,
};
use status_node::{ConnectionId, Event};
use status_waku::mailserver::{DirectMessagesRequest, MessagesRequest};
use status_waku::peer::Protocol;
use status_waku::{wrap, Bloom, Encryption, Envelope, MessageParams, RequestComplete, Topic};

const KEY: [u8; 32] = [3; 32];

fn t0() -> Timestamp {
    Timestamp::from_secs(1_700_000_000)
}

fn config() -> MailserverConfig {
    MailserverConfig {
        request_key: Some(KEY),
        ..MailserverConfig::default()
    }
}

fn client(i: u8) -> SecretKey {
    SecretKey::from_bytes(&[i.max(1); 32]).expect("a valid key")
}

fn request_envelope(req: &MessagesRequest, signer: &SecretKey, seed: u8) -> Envelope {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([seed; 32]);
    req.to_envelope(&mut rng, signer, &KEY, t0(), 10, 0.0, 1)
        .expect("request envelope")
}

fn ask(ms: &mut Mailserver, now: Timestamp, req: &MessagesRequest, who: u8) -> Decision {
    let signer = client(who);
    let env = request_envelope(req, &signer, who);
    ms.handle_request(
        now,
        signer.public_key().node_id(),
        Protocol::Waku1,
        Some(&env),
        &[],
    )
}

fn refusal(d: &Decision) -> &str {
    match d {
        Decision::Refuse {
            complete: RequestComplete::Failed { error, .. },
            ..
        } => error,
        other => panic!("not refused: {other:?}"),
    }
}

fn serve(ms: &mut Mailserver, archive: &dyn Archive, d: Decision) -> status_mailserver::Response {
    let Decision::Serve(r) = d else {
        panic!("not served: {d:?}")
    };
    let rows = match &r.query {
        Some(q) => archive.query(q).expect("query"),
        None => Vec::new(),
    };
    ms.respond(&r, rows)
}

fn completed(c: &RequestComplete) -> (&[u8; 32], &[u8; 32], &[u8]) {
    match c {
        RequestComplete::Completed {
            request_id,
            last_envelope_hash,
            cursor,
        } => (request_id, last_envelope_hash, cursor),
        other => panic!("{other:?}"),
    }
}

/// status-go's TestRequestPaginationLimit: 10 envelopes, limit 6: six in
/// order, the sixth alone in the last P2P Message, its cursor; then the
/// other four and no cursor.
#[test]
fn a_page_stops_at_the_limit_with_the_cursor_of_its_last_envelope() {
    let archive = MemoryArchive::default();
    let t = topic(1);
    let all: Vec<_> = (0..10)
        .map(|i| archived(1_699_999_000 + i, t, u64::from(i)))
        .collect();
    archive.archive(&all).unwrap();
    let mut ms = Mailserver::new(config(), t0());
    let mut req = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[t], 6);
    let first = {
        let d = ask(&mut ms, t0(), &req, 1);
        serve(&mut ms, &archive, d)
    };
    let raws: Vec<_> = all.iter().map(|e| e.raw.clone()).collect();
    assert_eq!(first.messages, [raws[..5].to_vec(), raws[5..6].to_vec()]);
    let (_, last, cursor) = completed(&first.complete);
    assert_eq!(*last, all[5].key.hash());
    assert_eq!(cursor, all[5].key.cursor());

    req.cursor = cursor.to_vec();
    let second = {
        let d = ask(&mut ms, t0(), &req, 1);
        serve(&mut ms, &archive, d)
    };
    assert_eq!(second.messages, [raws[6..].to_vec()]);
    let (_, last, cursor) = completed(&second.complete);
    assert_eq!(*last, all[9].key.hash());
    assert!(cursor.is_empty(), "fewer than the limit: no more pages");
}

#[test]
fn a_page_of_exactly_the_limit_carries_a_cursor_and_the_next_is_empty() {
    let archive = MemoryArchive::default();
    let t = topic(2);
    let all: Vec<_> = (0..4)
        .map(|i| archived(1_699_999_000 + i, t, u64::from(i)))
        .collect();
    archive.archive(&all).unwrap();
    let mut ms = Mailserver::new(config(), t0());
    let mut req = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[t], 4);
    let first = {
        let d = ask(&mut ms, t0(), &req, 1);
        serve(&mut ms, &archive, d)
    };
    let (_, _, cursor) = completed(&first.complete);
    assert_eq!(cursor, all[3].key.cursor());
    req.cursor = cursor.to_vec();
    let second = {
        let d = ask(&mut ms, t0(), &req, 1);
        serve(&mut ms, &archive, d)
    };
    assert!(second.messages.is_empty());
    let (_, last, cursor) = completed(&second.complete);
    assert_eq!(
        (*last, cursor.len()),
        ([0; 32], 0),
        "nothing sent: zero hash, no cursor"
    );
}

#[test]
fn envelopes_are_bundled_below_the_message_size() {
    let archive = MemoryArchive::default();
    let t = topic(3);
    let big = |i: u64| {
        let mut e = Envelope::new(1_699_999_000 + i as u32, 60, t, vec![i as u8; 400_000]);
        e.nonce = i;
        status_mailserver::ArchivedEnvelope::new(&e)
    };
    let all: Vec<_> = (0..5).map(big).collect();
    archive.archive(&all).unwrap();
    let mut ms = Mailserver::new(config(), t0());
    let req = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[t], 100);
    let r = {
        let d = ask(&mut ms, t0(), &req, 1);
        serve(&mut ms, &archive, d)
    };
    // two of ~400 kB stay below 1 MiB, a third would not
    let sizes: Vec<usize> = r.messages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1]);
    for m in &r.messages {
        let total: usize = m.iter().map(|e| e.len()).sum();
        assert!(total < status_mailserver::DEFAULT_MAX_MESSAGE_SIZE);
    }
}

#[test]
fn status_go_defaults_apply_to_limit_and_upper() {
    let mut ms = Mailserver::new(config(), t0());
    let mut req = MessagesRequest::for_topics(1_699_000_000, 0, &[topic(1)], 0);
    req.batch = false;
    let Decision::Serve(r) = ask(&mut ms, t0(), &req, 1) else {
        panic!()
    };
    let q = r.query.unwrap();
    assert_eq!(q.limit, 1000, "limit 0 means status-go's maximum");
    assert_eq!(
        u64::from(q.upper),
        t0().as_secs() + 60,
        "no upper: now + 60 s"
    );
    assert!(!r.batch);
}

#[test]
fn an_unbatched_request_gets_one_envelope_per_message() {
    let archive = MemoryArchive::default();
    let t = topic(4);
    archive
        .archive(
            &(0..3)
                .map(|i| archived(1_699_999_000 + i, t, u64::from(i)))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let mut ms = Mailserver::new(config(), t0());
    let mut req = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[t], 10);
    req.batch = false;
    let r = {
        let d = ask(&mut ms, t0(), &req, 1);
        serve(&mut ms, &archive, d)
    };
    assert_eq!(
        r.messages.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 1, 1]
    );
}

#[test]
fn refusals_carry_status_gos_error_texts() {
    let mut ms = Mailserver::new(config(), t0());
    let good = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[topic(1)], 10);
    let me = client(1);
    let peer = me.public_key().node_id();
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([8; 32]);

    // unsigned
    let payload = good.to_vec();
    let params = MessageParams::new(&payload, Encryption::Symmetric(&KEY), Topic::default());
    let unsigned = wrap(&mut rng, &params, t0()).unwrap();
    let d = ms.handle_request(t0(), peer, Protocol::Waku1, Some(&unsigned), &[]);
    assert_eq!(
        refusal(&d),
        "check message signature failed: wrong signature of p2p request"
    );
    // answered under the request envelope's hash
    assert!(
        matches!(&d, Decision::Refuse { complete, .. } if *complete.request_id() == unsigned.hash())
    );

    // another key
    let other = good
        .to_envelope(&mut rng, &me, &[0x77; 32], t0(), 10, 0.0, 1)
        .unwrap();
    let d = ms.handle_request(t0(), peer, Protocol::Waku1, Some(&other), &[]);
    assert_eq!(refusal(&d), "failed to decrypt p2p request");

    // a garbage payload, signed and encrypted
    let mut params = MessageParams::new(
        b"\xff\x00garbage",
        Encryption::Symmetric(&KEY),
        Topic::default(),
    );
    params.signer = Some(&me);
    let garbage = wrap(&mut rng, &params, t0()).unwrap();
    let d = ms.handle_request(t0(), peer, Protocol::Waku1, Some(&garbage), &[]);
    assert!(refusal(&d).starts_with("failed to decode data: "), "{d:?}");

    // reversed range
    let reversed = MessagesRequest::for_topics(1_700_000_000, 1_699_990_000, &[topic(1)], 10);
    let d = ask(&mut ms, t0(), &reversed, 1);
    assert_eq!(refusal(&d), "query range is invalid: lower > upper");

    // a huge limit
    let huge = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[topic(1)], u32::MAX);
    let d = ask(&mut ms, t0(), &huge, 1);
    assert_eq!(
        refusal(&d),
        "request is invalid: limit exceeds the maximum allowed value"
    );

    // neither a bloom nor topics
    let mut none = good.clone();
    none.bloom = None;
    let d = ask(&mut ms, t0(), &none, 1);
    assert_eq!(refusal(&d), "request is invalid: bloom filter is empty");

    // PoW below the requirement, when there is one
    let mut strict = Mailserver::new(
        MailserverConfig {
            min_request_pow: 1.0,
            ..config()
        },
        t0(),
    );
    let d = ask(&mut strict, t0(), &good, 1);
    assert_eq!(refusal(&d), "PoW too low");

    // the good one is served
    assert!(matches!(ask(&mut ms, t0(), &good, 1), Decision::Serve(_)));
    assert_eq!(ms.stats().refused, 6);
}

#[test]
fn the_rate_limit_serves_a_peer_once_per_period() {
    let period = Duration::from_secs(5);
    let mut ms = Mailserver::new(
        MailserverConfig {
            rate_limit: Some(period),
            ..config()
        },
        t0(),
    );
    let good = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[topic(1)], 10);
    let bad = MessagesRequest::for_topics(1_700_000_000, 1_699_990_000, &[topic(1)], 10);
    assert!(matches!(ask(&mut ms, t0(), &good, 1), Decision::Serve(_)));
    // within the period: refused; another peer is not affected
    let soon = t0() + Duration::from_secs(2);
    assert_eq!(
        refusal(&ask(&mut ms, soon, &good, 1)),
        "rate limit exceeded"
    );
    assert!(matches!(ask(&mut ms, soon, &good, 2), Decision::Serve(_)));
    // exactly at the end of the period still refused (status-go: strictly after)
    let at = t0() + period;
    assert_eq!(refusal(&ask(&mut ms, at, &good, 1)), "rate limit exceeded");
    let after = at + Duration::from_millis(1);
    assert!(matches!(ask(&mut ms, after, &good, 1), Decision::Serve(_)));
    // invalid requests are refused before the limit and do not use it up
    let later = after + Duration::from_secs(6);
    assert_eq!(
        refusal(&ask(&mut ms, later, &bad, 3)),
        "query range is invalid: lower > upper"
    );
    assert!(matches!(ask(&mut ms, later, &good, 3), Decision::Serve(_)));
    assert_eq!(ms.stats().rate_limited, 2);
}

#[test]
fn a_flood_from_many_peers_is_bounded_and_others_are_served() {
    let mut ms = Mailserver::new(
        MailserverConfig {
            rate_limit: Some(Duration::from_secs(60)),
            max_rate_limited_peers: 100,
            ..config()
        },
        t0(),
    );
    let good = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[topic(1)], 10);
    // direct requests cost no decryption: a flood of them from 5,000 ids
    let mut served = 0;
    for i in 0..5_000u32 {
        let mut id = [0u8; 64];
        id[..4].copy_from_slice(&i.to_be_bytes());
        let direct = DirectMessagesRequest {
            id: [1; 32],
            from: 1,
            to: 2,
            limit: 10,
            cursor: Vec::new(),
            bloom: Some(Bloom::FULL),
            topics: Vec::new(),
        };
        for _ in 0..3 {
            if let Decision::Serve(_) =
                ms.handle_request(t0(), NodeId(id), Protocol::Waku1, None, &direct.to_vec())
            {
                served += 1;
            }
        }
    }
    assert_eq!(served, 5_000, "each id once");
    assert_eq!(ms.stats().rate_limited, 10_000);
    // garbage direct requests have no id to answer: dropped
    let d = ms.handle_request(
        t0(),
        NodeId([9; 64]),
        Protocol::Waku1,
        None,
        b"\xc3\x01\x02\x03",
    );
    assert_eq!(d, Decision::Ignore);
    // an honest peer is still served
    assert!(matches!(ask(&mut ms, t0(), &good, 7), Decision::Serve(_)));
}

#[test]
fn only_allowed_peers_are_served_when_configured() {
    let allowed = client(1).public_key().node_id();
    let mut ms = Mailserver::new(
        MailserverConfig {
            allowed_peers: Some([allowed].into_iter().collect()),
            ..config()
        },
        t0(),
    );
    let good = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[topic(1)], 10);
    assert!(matches!(ask(&mut ms, t0(), &good, 1), Decision::Serve(_)));
    assert_eq!(
        refusal(&ask(&mut ms, t0(), &good, 2)),
        "peer is not allowed to request history"
    );
}

#[test]
fn the_end_of_time_wraps_as_in_status_go_and_answers_nothing() {
    let archive = MemoryArchive::default();
    archive
        .archive(&[archived(1_699_999_000, topic(1), 1)])
        .unwrap();
    let mut ms = Mailserver::new(config(), t0());
    let req = MessagesRequest::for_topics(0, u32::MAX, &[topic(1)], 10);
    let d = ask(&mut ms, t0(), &req, 1);
    let Decision::Serve(r) = &d else { panic!() };
    assert!(r.query.is_none());
    let resp = serve(&mut ms, &archive, d);
    assert!(resp.messages.is_empty());
    assert_eq!(completed(&resp.complete).2.len(), 0);
}

#[test]
fn a_topic_list_without_bloom_is_served_by_exact_topic() {
    let archive = MemoryArchive::default();
    let (a, b) = (topic(1), topic(2));
    archive
        .archive(&[archived(1_699_999_000, a, 1), archived(1_699_999_001, b, 2)])
        .unwrap();
    let mut ms = Mailserver::new(config(), t0());
    let req = MessagesRequest {
        lower: 1_699_990_000,
        upper: 1_700_000_000,
        bloom: None,
        topics: vec![b],
        limit: 10,
        cursor: Vec::new(),
        batch: true,
    };
    let d = ask(&mut ms, t0(), &req, 1);
    let Decision::Serve(r) = &d else { panic!() };
    assert_eq!(
        r.query.as_ref().unwrap().selector,
        Selector::Topics(vec![b])
    );
    let resp = serve(&mut ms, &archive, d);
    assert_eq!(resp.messages.concat().len(), 1);
}

#[test]
fn the_legacy_whisper_request_is_read_from_shh_peers() {
    let archive = MemoryArchive::default();
    let t = topic(6);
    archive
        .archive(
            &(0..3)
                .map(|i| archived(1_699_999_000 + i, t, u64::from(i)))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let mut ms = Mailserver::new(config(), t0());
    let me = client(1);
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
    let legacy = |lower: u32, upper: u32, limit: Option<u32>| {
        let mut p = [lower.to_be_bytes(), upper.to_be_bytes()].concat();
        p.extend_from_slice(&Bloom::from_topic(t).0);
        if let Some(l) = limit {
            p.extend_from_slice(&l.to_be_bytes());
        }
        p
    };
    let open = |payload: &[u8], rng: &mut rand_chacha::ChaCha20Rng| {
        let mut params = MessageParams::new(payload, Encryption::Symmetric(&KEY), Topic::default());
        params.signer = Some(&me);
        wrap(rng, &params, t0()).unwrap()
    };
    let peer = me.public_key().node_id();
    let env = open(&legacy(1_699_990_000, 1_700_000_000, Some(2)), &mut rng);
    let d = ms.handle_request(t0(), peer, Protocol::Shh6, Some(&env), &[]);
    let r = serve(&mut ms, &archive, d);
    assert_eq!(
        r.messages.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 1],
        "unbatched, limit 2"
    );
    // a waku/1 peer gets no such fallback
    let d = ms.handle_request(t0(), peer, Protocol::Waku1, Some(&env), &[]);
    assert!(refusal(&d).starts_with("failed to decode data"));
    // more than a day
    let env = open(&legacy(1_600_000_000, 1_700_000_000, None), &mut rng);
    let d = ms.handle_request(t0(), peer, Protocol::Shh6, Some(&env), &[]);
    assert!(refusal(&d).starts_with("query range too big for peer "));
}

#[test]
fn the_cleaner_runs_each_period_and_prunes_past_the_retention() {
    let day = Duration::from_secs(86_400);
    let mut ms = Mailserver::new(
        MailserverConfig {
            retention: Some(day),
            ..config()
        },
        t0(),
    );
    let (at, why) = ms.poll_timeout().unwrap();
    assert_eq!((at, why), (t0() + Duration::from_secs(3600), "cleaner"));
    assert_eq!(
        ms.handle_timeout(Timestamp::from_secs(at.as_secs() - 1)),
        None
    );
    let before = ms.handle_timeout(at).expect("due");
    assert_eq!(u64::from(before), at.as_secs() - 86_400);
    assert_eq!(ms.poll_timeout().unwrap().0, at + Duration::from_secs(3600));
}

#[test]
fn descending_order_pages_newest_first() {
    let archive = MemoryArchive::default();
    let t = topic(8);
    let all: Vec<_> = (0..7)
        .map(|i| archived(1_699_999_000 + i, t, u64::from(i)))
        .collect();
    archive.archive(&all).unwrap();
    let mut ms = Mailserver::new(
        MailserverConfig {
            order: Order::Descending,
            ..config()
        },
        t0(),
    );
    let mut req = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[t], 3);
    let mut got = Vec::new();
    loop {
        let r = {
            let d = ask(&mut ms, t0(), &req, 1);
            serve(&mut ms, &archive, d)
        };
        got.extend(r.messages.concat());
        let (_, _, c) = completed(&r.complete);
        if c.is_empty() {
            break;
        }
        req.cursor = c.to_vec();
    }
    let want: Vec<_> = all.iter().rev().map(|e| e.raw.clone()).collect();
    assert_eq!(got, want);
}

// ---- the role over node events ----------------------------------------

fn archive_event(e: &Envelope) -> Event {
    Event::Archive {
        hash: e.hash(),
        raw: e.to_vec().into(),
    }
}

#[test]
fn the_role_archives_in_batches_and_flushes_before_a_query() {
    let role_config = RoleConfig {
        mailserver: config(),
        batch_size: 10,
        flush_interval: Duration::from_millis(200),
        ..RoleConfig::default()
    };
    let mut role = MailserverRole::new(role_config, MemoryArchive::default(), t0()).unwrap();
    let t = topic(1);
    for i in 0..25 {
        let replies = role
            .handle_event(
                t0(),
                &archive_event(&envelope(1_699_999_000 + i, t, u64::from(i))),
            )
            .unwrap();
        assert!(replies.is_empty());
    }
    assert_eq!(
        role.archive().count().unwrap(),
        20,
        "two full batches written"
    );
    assert_eq!(role.pending(), 5);
    assert_eq!(role.poll_timeout().map(|(_, w)| w), Some("archive flush"));
    // the same envelope again is a duplicate
    role.handle_event(t0(), &archive_event(&envelope(1_699_999_000, t, 0)))
        .unwrap();

    // a request sees the pending ones too
    let signer = client(1);
    let req = MessagesRequest::for_topics(1_699_990_000, 1_700_000_000, &[t], 100);
    let env = request_envelope(&req, &signer, 1);
    let conn = ConnectionId::from_u64(4);
    let ev = Event::MailserverRequest {
        conn,
        node_id: signer.public_key().node_id(),
        protocol: Protocol::Waku1,
        envelope: Some(env.clone()),
        payload: env.to_vec().into(),
    };
    let replies = role.handle_event(t0(), &ev).unwrap();
    assert_eq!(role.archive().count().unwrap(), 25);
    assert_eq!(role.stats().duplicates, 1);
    let (messages, last) = replies.split_at(replies.len() - 1);
    let sent: usize = messages
        .iter()
        .map(|r| match r {
            Reply::P2PMessages { conn: c, envelopes } => {
                assert_eq!(*c, conn);
                envelopes.len()
            }
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(sent, 25);
    let Reply::RequestComplete { payload, .. } = &last[0] else {
        panic!()
    };
    let done = RequestComplete::decode(payload).unwrap();
    assert_eq!(*done.request_id(), env.hash());

    // nothing pending: the flush timer is off; a flush is due after it
    assert_eq!(role.poll_timeout(), None);
    role.handle_event(t0(), &archive_event(&envelope(1_699_999_100, t, 99)))
        .unwrap();
    let (at, _) = role.poll_timeout().unwrap();
    role.handle_timeout(at).unwrap();
    assert_eq!(role.archive().count().unwrap(), 26);
}

#[test]
fn the_role_drops_undecodable_archive_events_and_ignores_others() {
    let mut role =
        MailserverRole::new(RoleConfig::default(), MemoryArchive::default(), t0()).unwrap();
    let bad = Event::Archive {
        hash: [0; 32],
        raw: vec![0xff, 0x00].into(),
    };
    assert!(role.handle_event(t0(), &bad).unwrap().is_empty());
    assert_eq!(role.stats().undecodable, 1);
    let other = Event::MailserverUnavailable {
        node_id: NodeId([1; 64]),
    };
    assert!(role.handle_event(t0(), &other).unwrap().is_empty());
}
