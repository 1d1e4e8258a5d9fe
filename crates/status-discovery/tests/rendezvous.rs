//! Status rendezvous: the wire layout of `status-rendezvous.md` byte for
//! byte, and the client's TTL renewal, search periods, timeouts and back-off
//! (status-go v0.55.1 `discovery/rendezvous.go`).

use std::time::Duration;

use status_core::{SecretKey, Timestamp};
use status_discovery::enr::Enr;
use status_discovery::rendezvous::{Client, Config, Event, Message, Status, PROTOCOL_ID};
use status_discovery::Error;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn enr(i: u8) -> Enr {
    Enr::builder()
        .ip4([10, 0, 0, i].into())
        .tcp(30303)
        .udp(30303)
        .sign(&SecretKey::from_bytes(&[i.max(1); 32]).unwrap())
        .unwrap()
}

#[test]
fn message_types_and_status_codes_match_the_spec() {
    assert_eq!(PROTOCOL_ID, "/rend/0.1.0");
    let kinds = [
        Message::Register {
            topic: "t".into(),
            record: enr(1),
            ttl: Duration::ZERO,
        },
        Message::RegisterResponse {
            status: Status::Ok,
            message: String::new(),
        },
        Message::Discover {
            topic: "t".into(),
            limit: 1,
        },
        Message::DiscoverResponse {
            status: Status::Ok,
            message: String::new(),
            records: vec![],
        },
        Message::RemoteIp,
        Message::RemoteIpResponse {
            status: Status::Ok,
            ip: String::new(),
        },
    ];
    for (i, m) in kinds.iter().enumerate() {
        assert_eq!(m.kind(), i as u64 + 1);
    }
    for (status, code) in [
        (Status::Ok, 0),
        (Status::InvalidNamespace, 100),
        (Status::InvalidEnr, 101),
        (Status::InvalidTtl, 102),
        (Status::InvalidLimit, 103),
        (Status::InvalidContent, 104),
        (Status::NotAuthorized, 200),
        (Status::InternalError, 300),
    ] {
        assert_eq!(status.code(), code);
        assert_eq!(Status::from_code(code), Ok(status));
    }
    assert_eq!(Status::from_code(1), Err(Error::UnknownStatus(1)));
}

#[test]
fn small_messages_have_the_exact_go_rlp_layout() {
    // DISCOVER: type 3, then [limit=10, "whisper"].
    let d = Message::Discover {
        topic: "whisper".into(),
        limit: 10,
    };
    assert_eq!(hex::encode(d.to_bytes()), "03c90a8777686973706572");
    // REGISTER_RESPONSE OK "": type 2, then [0, ""].
    let r = Message::RegisterResponse {
        status: Status::Ok,
        message: String::new(),
    };
    assert_eq!(hex::encode(r.to_bytes()), "02c28080");
    // REMOTEIP: type 5, then the empty list.
    assert_eq!(hex::encode(Message::RemoteIp.to_bytes()), "05c0");
    for m in [d, r, Message::RemoteIp] {
        assert_eq!(Message::decode(&m.to_bytes()).unwrap(), m);
    }
}

#[test]
fn register_and_discover_response_embed_records_as_rlp_lists() {
    // Built independently with the `rlp` crate, as go-ethereum's encoder
    // lays out `Register{Topic, Record, TTL}` (TTL: time.Duration in ns).
    let rec = enr(1);
    let m = Message::Register {
        topic: "whisper".into(),
        record: rec.clone(),
        ttl: Duration::from_secs(10),
    };
    let mut body = rlp::RlpStream::new_list(3);
    body.append(&"whisper");
    body.append_raw(rec.as_bytes(), 1);
    body.append(&10_000_000_000u64);
    let mut expected = rlp::encode(&1u64).to_vec();
    expected.extend_from_slice(&body.out());
    assert_eq!(m.to_bytes(), expected);
    assert_eq!(Message::decode(&expected).unwrap(), m);

    let m = Message::DiscoverResponse {
        status: Status::Ok,
        message: "ok".into(),
        records: vec![enr(1), enr(2)],
    };
    let mut body = rlp::RlpStream::new_list(3);
    body.append(&0u64);
    body.append(&"ok");
    body.begin_list(2);
    body.append_raw(enr(1).as_bytes(), 1);
    body.append_raw(enr(2).as_bytes(), 1);
    let mut expected = rlp::encode(&4u64).to_vec();
    expected.extend_from_slice(&body.out());
    assert_eq!(m.to_bytes(), expected);
    assert_eq!(Message::decode(&expected).unwrap(), m);
}

#[test]
fn hostile_messages_get_typed_errors() {
    assert_eq!(
        Message::decode(&[0x07, 0xc0]),
        Err(Error::UnknownMessageType(7))
    );
    assert!(matches!(
        Message::decode(&[0x05, 0xc1, 0x01]),
        Err(Error::InvalidMessage(_))
    ));
    assert!(matches!(
        Message::decode(&[0x02, 0xc2, 0x05, 0x80]),
        Err(Error::UnknownStatus(5))
    ));
    // A forged record (flipped signature byte) is rejected.
    let mut bytes = Message::DiscoverResponse {
        status: Status::Ok,
        message: String::new(),
        records: vec![enr(3)],
    }
    .to_bytes();
    let n = bytes.len();
    bytes[n - 80] ^= 1;
    assert!(Message::decode(&bytes).is_err());
    // Trailing bytes and oversized input.
    let mut ok = Message::RemoteIp.to_bytes();
    ok.push(0);
    assert!(Message::decode(&ok).is_err());
    assert!(Message::decode(&vec![0u8; 9000]).is_err());
    assert!(Message::decode(&[]).is_err());
}

fn client(servers: &[&str]) -> Client {
    Client::new(Config {
        servers: servers.iter().map(|s| s.to_string()).collect(),
        rng_seed: [9; 32],
        ..Config::default()
    })
}

#[test]
fn registrations_are_sent_at_once_and_renewed_every_half_ttl() {
    let mut c = client(&["/ip4/127.0.0.1/tcp/9090/ethv4/a"]);
    c.register(T0, "whisper", enr(1)).unwrap();
    let req = c.poll_request().unwrap();
    assert_eq!(
        req.message,
        Message::Register {
            topic: "whisper".into(),
            record: enr(1),
            ttl: Duration::from_secs(10)
        }
    );
    let ok = Message::RegisterResponse {
        status: Status::Ok,
        message: String::new(),
    };
    c.handle_response(T0, req.id, &ok.to_bytes()).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::Registered {
            topic: "whisper".into(),
            server: req.server.clone()
        })
    );
    assert_eq!(
        c.poll_timeout(),
        Some((T0 + Duration::from_secs(5), "rendezvous register"))
    );
    c.handle_timeout(T0 + Duration::from_secs(5));
    assert!(matches!(
        c.poll_request().unwrap().message,
        Message::Register { .. }
    ));
    // After unregister nothing is renewed.
    c.unregister("whisper");
    c.handle_timeout(T0 + Duration::from_secs(20));
    assert!(c.poll_request().is_none());
}

#[test]
fn discover_runs_every_period_and_reports_records() {
    let mut c = client(&["a"]);
    c.discover(T0, "whispermail", Duration::from_secs(3))
        .unwrap();
    let req = c.poll_request().unwrap();
    assert_eq!(
        req.message,
        Message::Discover {
            topic: "whispermail".into(),
            limit: 10
        }
    );
    let resp = Message::DiscoverResponse {
        status: Status::Ok,
        message: String::new(),
        records: vec![enr(4), enr(5)],
    };
    c.handle_response(T0, req.id, &resp.to_bytes()).unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::Found {
            topic: "whispermail".into(),
            records: vec![enr(4), enr(5)]
        })
    );
    assert_eq!(
        c.poll_timeout(),
        Some((T0 + Duration::from_secs(3), "rendezvous discover"))
    );
    // The PeerPool switches to slow mode: 30 s, counted from the last query.
    c.discover(
        T0 + Duration::from_secs(1),
        "whispermail",
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(c.poll_request().is_none());
    c.handle_timeout(T0 + Duration::from_secs(3));
    assert!(c.poll_request().is_some());
    c.stop_discover("whispermail");
}

#[test]
fn answers_are_checked_against_the_request() {
    let mut c = client(&["a"]);
    c.discover(T0, "whisper", Duration::from_secs(3)).unwrap();
    let req = c.poll_request().unwrap();
    // A REGISTER_RESPONSE to a DISCOVER.
    let wrong = Message::RegisterResponse {
        status: Status::Ok,
        message: String::new(),
    };
    assert_eq!(
        c.handle_response(T0, req.id, &wrong.to_bytes()),
        Err(Error::UnexpectedResponse)
    );
    // Unknown id.
    assert_eq!(
        c.handle_response(T0, 999, &wrong.to_bytes()),
        Err(Error::UnexpectedResponse)
    );
    // More records than the limit (10).
    c.handle_timeout(T0 + Duration::from_secs(600));
    let req = c.poll_request().unwrap();
    let too_many = Message::DiscoverResponse {
        status: Status::Ok,
        message: String::new(),
        records: (1..=11).map(enr).collect(),
    };
    assert!(matches!(
        c.handle_response(T0 + Duration::from_secs(600), req.id, &too_many.to_bytes()),
        Err(Error::InvalidMessage(_))
    ));
}

#[test]
fn failing_servers_back_off_and_others_are_used() {
    let mut c = client(&["a", "b"]);
    c.discover(T0, "whisper", Duration::from_secs(3)).unwrap();
    let first = c.poll_request().unwrap();
    let refused = Message::DiscoverResponse {
        status: Status::InternalError,
        message: "busy".into(),
        records: vec![],
    };
    c.handle_response(T0, first.id, &refused.to_bytes())
        .unwrap();
    assert_eq!(
        c.poll_event(),
        Some(Event::Failed {
            server: first.server.clone(),
            status: Some(Status::InternalError)
        })
    );
    // The next queries (within the 1 s back-off) go to the other server.
    c.handle_timeout(T0 + Duration::from_millis(500));
    assert!(c.poll_request().is_none());
    let other = if first.server == "a" { "b" } else { "a" };
    // An unanswered request times out after 5 s: that server backs off too.
    c.discover(
        T0 + Duration::from_millis(900),
        "whispermail",
        Duration::from_secs(3),
    )
    .unwrap();
    let second = c.poll_request().unwrap();
    assert_eq!(second.server, other);
    assert_eq!(c.poll_timeout().unwrap().0, T0 + Duration::from_secs(3));
    c.handle_timeout(T0 + Duration::from_millis(5900));
    let evs: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        evs.contains(&Event::Failed {
            server: other.into(),
            status: None
        }),
        "{evs:?}"
    );
}

#[test]
fn backoff_doubles_and_all_servers_down_defers_work() {
    let mut c = client(&["a"]);
    c.discover(T0, "whisper", Duration::from_secs(1)).unwrap();
    let mut now = T0;
    let mut sent_at = vec![T0];
    let mut req = c.poll_request().unwrap();
    while sent_at.len() < 5 {
        c.handle_request_failed(now, req.id).unwrap();
        // Wake up until the server is usable again; no request before.
        req = loop {
            let (at, why) = c.poll_timeout().unwrap();
            assert_eq!(why, "rendezvous discover");
            now = at;
            c.handle_timeout(now);
            if let Some(r) = c.poll_request() {
                break r;
            }
        };
        sent_at.push(now);
    }
    let gaps: Vec<Duration> = sent_at
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]))
        .collect();
    assert_eq!(gaps, [1, 2, 4, 8].map(Duration::from_secs));
}

#[test]
fn a_client_without_servers_refuses_work() {
    let mut c = client(&[]);
    assert_eq!(c.register(T0, "whisper", enr(1)), Err(Error::NoServers));
    assert_eq!(
        c.discover(T0, "whisper", Duration::from_secs(3)),
        Err(Error::NoServers)
    );
    assert_eq!(c.poll_timeout(), None);
}
