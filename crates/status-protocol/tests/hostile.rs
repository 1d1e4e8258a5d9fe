//! Hostile input: unsigned, wrongly signed, replayed, oversized and
//! garbage messages each get a typed error (or the silent drop the spec
//! prescribes) and are counted; nothing panics; honest traffic still works.

use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{SecretKey, Timestamp};
use status_proto::protobuf::{ChatMessage, MembershipUpdateMessage};
use status_proto::Message as _;
use status_protocol::store::MemoryStore;
use status_protocol::{
    metadata, Bridge, ChatId, Config, Error, Event, Filter, Input, MessageType, Messenger, Output,
    Purpose, WakuMessage,
};
use status_waku::Envelope;

const T0: u64 = 1_700_000_000_000;

struct Side {
    m: Messenger<MemoryStore>,
    bridge: Bridge,
    rng: ChaCha20Rng,
    filters: Vec<Filter>,
    events: Vec<Event>,
}

impl Side {
    fn new(b: u8) -> Side {
        let key = SecretKey::from_bytes(&[b; 32]).unwrap();
        let config = Config {
            installation_id: Some(format!("dev-{b}")),
            ..Config::default()
        };
        let m = Messenger::open(config, key.clone(), MemoryStore::new(), now(0), [b; 32]).unwrap();
        Side {
            m,
            bridge: Bridge::new(key),
            rng: ChaCha20Rng::seed_from_u64(b.into()),
            filters: Vec::new(),
            events: Vec::new(),
        }
    }

    fn drain(&mut self, at: Timestamp) -> Vec<Envelope> {
        let mut out = Vec::new();
        while let Some(o) = self.m.poll_output() {
            self.bridge.track(&o);
            match o {
                Output::Post(p) => out.push(self.bridge.seal(&mut self.rng, at, &p).unwrap()),
                Output::Subscribe(f) => self.filters.push(f),
                Output::Event(e) => self.events.push(e),
                Output::Unsubscribe(_) => {}
            }
        }
        out
    }

    fn deliver(&mut self, at: Timestamp, envs: &[Envelope]) {
        for e in envs {
            if let Some(input) = self.bridge.open(e) {
                let _ = self.m.handle_input(at, input);
            }
        }
    }

    fn filter(&self, pick: impl Fn(&Purpose) -> bool) -> Filter {
        self.filters
            .iter()
            .find(|f| pick(&f.purpose))
            .cloned()
            .unwrap()
    }

    fn received(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::MessageReceived(_)))
            .count()
    }
}

fn now(ms: u64) -> Timestamp {
    Timestamp::from_millis(T0 + ms)
}

fn raw(filter: &Filter, payload: Vec<u8>, signer: Option<&SecretKey>) -> Input {
    Input::Received(WakuMessage {
        filter: filter.id,
        payload,
        signer: signer.map(SecretKey::public_key),
        hash: [0; 32],
        sent: now(0),
    })
}

/// Runs both sides for `ms`, shuttling envelopes.
fn run(a: &mut Side, b: &mut Side, from: u64, ms: u64) {
    let mut t = from;
    while t <= from + ms {
        let at = now(t);
        for s in [&mut *a, &mut *b] {
            if s.m.poll_timeout().is_some_and(|(d, _)| d <= at) {
                s.m.handle_timeout(at).unwrap();
            }
        }
        let ea = a.drain(at);
        let eb = b.drain(at);
        b.deliver(at, &ea);
        a.deliver(at, &eb);
        t += 100;
    }
}

#[test]
fn each_kind_of_bad_message_is_a_typed_error_and_counted() {
    let (mut alice, mut bob) = (Side::new(1), Side::new(2));
    let chat = bob.m.join_public(now(0), "status").unwrap();
    alice.m.join_public(now(0), "status").unwrap();
    alice.drain(now(0));
    bob.drain(now(0));
    let public = bob.filter(|p| matches!(p, Purpose::Public(_)));
    let partitioned = bob.filter(|p| *p == Purpose::Partitioned);
    let mallory = SecretKey::from_bytes(&[9; 32]).unwrap();

    // unsigned at the Waku layer
    assert_eq!(
        bob.m
            .handle_input(now(1), raw(&public, vec![1, 2, 3], None)),
        Err(Error::Unsigned)
    );
    // garbage on every kind of topic
    assert!(matches!(
        bob.m
            .handle_input(now(1), raw(&public, vec![0xff; 40], Some(&mallory))),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        bob.m
            .handle_input(now(1), raw(&partitioned, vec![0xff; 40], Some(&mallory))),
        Err(Error::Malformed { .. })
    ));
    // oversized
    let big = vec![0; bob.m.config().max_payload_size + 1];
    assert!(matches!(
        bob.m
            .handle_input(now(1), raw(&public, big, Some(&mallory))),
        Err(Error::TooLarge { .. })
    ));
    // unsigned application layer
    let cm = ChatMessage {
        clock: T0,
        timestamp: T0,
        text: "hi".into(),
        chat_id: chat.as_str().into(),
        message_type: 2,
        content_type: 1,
        ..Default::default()
    };
    let unsigned = metadata::wrap(&cm.encode_to_vec(), MessageType::ChatMessage, None);
    assert_eq!(
        bob.m
            .handle_input(now(1), raw(&public, unsigned, Some(&mallory))),
        Err(Error::MetadataUnsigned)
    );
    // a signature that recovers nothing (v out of range)
    let mut bad = status_proto::protobuf::ApplicationMetadataMessage::decode(
        metadata::wrap(
            &cm.encode_to_vec(),
            MessageType::ChatMessage,
            Some(&mallory),
        )
        .as_slice(),
    )
    .unwrap();
    bad.signature[64] = 7;
    assert!(matches!(
        bob.m
            .handle_input(now(1), raw(&public, bad.encode_to_vec(), Some(&mallory))),
        Err(Error::BadSignature { .. })
    ));
    // a clock far in the future
    let future = ChatMessage {
        clock: T0 + 3_600_000,
        ..cm.clone()
    };
    let w = metadata::wrap(
        &future.encode_to_vec(),
        MessageType::ChatMessage,
        Some(&mallory),
    );
    assert!(matches!(
        bob.m.handle_input(now(1), raw(&public, w, Some(&mallory))),
        Err(Error::InvalidClock { .. })
    ));
    // a public message for a chat bob is not in
    let elsewhere = ChatMessage {
        chat_id: "other".into(),
        ..cm.clone()
    };
    let w = metadata::wrap(
        &elsewhere.encode_to_vec(),
        MessageType::ChatMessage,
        Some(&mallory),
    );
    assert!(matches!(
        bob.m.handle_input(now(1), raw(&public, w, Some(&mallory))),
        Err(Error::NoMatchingChat(_))
    ));
    // a group message for no group, and a forged membership update
    let forged = MembershipUpdateMessage {
        chat_id: "x-0x04".into(),
        events: vec![vec![0; 80]],
        message: None,
    };
    let w = metadata::wrap(
        &forged.encode_to_vec(),
        MessageType::MembershipUpdateMessage,
        Some(&mallory),
    );
    assert!(bob
        .m
        .handle_input(now(1), raw(&public, w, Some(&mallory)))
        .is_err());
    // a pairing message from someone else
    let pair = status_proto::protobuf::PairInstallation {
        clock: T0,
        installation_id: "x".into(),
        device_type: "d".into(),
        name: "n".into(),
    };
    let w = metadata::wrap(
        &pair.encode_to_vec(),
        MessageType::PairInstallation,
        Some(&mallory),
    );
    assert_eq!(
        bob.m.handle_input(now(1), raw(&public, w, Some(&mallory))),
        Err(Error::NotFromUs)
    );
    // an unknown filter
    let unknown = Filter {
        id: status_protocol::FilterId(999_999),
        ..public.clone()
    };
    assert_eq!(
        bob.m
            .handle_input(now(1), raw(&unknown, vec![1], Some(&mallory))),
        Err(Error::UnknownFilter)
    );

    let rejected: u64 = bob.m.stats().rejected.values().sum();
    assert_eq!(rejected, 11, "{:?}", bob.m.stats().rejected);
    assert_eq!(bob.received(), 0);

    // a valid public message is accepted once; its replay is a silent, counted drop
    let ok = metadata::wrap(
        &cm.encode_to_vec(),
        MessageType::ChatMessage,
        Some(&mallory),
    );
    bob.m
        .handle_input(now(1), raw(&public, ok.clone(), Some(&mallory)))
        .unwrap();
    bob.drain(now(1));
    bob.m
        .handle_input(now(2), raw(&public, ok, Some(&mallory)))
        .unwrap();
    bob.drain(now(2));
    assert_eq!(bob.received(), 1);
    assert_eq!(bob.m.stats().duplicates, 1);

    // honest traffic still flows, and a replayed 1:1 envelope is refused
    let bob_key = *bob.m.identity();
    let c = alice
        .m
        .start_one_to_one(now(3), &status_protocol::contact_id(&bob_key))
        .unwrap();
    alice.m.send_text(now(3), &c, "hello").unwrap();
    let mut t = 3;
    let mut seen = Vec::new();
    while t < 3_000 {
        let at = now(t);
        if alice.m.poll_timeout().is_some_and(|(d, _)| d <= at) {
            alice.m.handle_timeout(at).unwrap();
        }
        let envs = alice.drain(at);
        seen.extend(envs.iter().cloned());
        bob.deliver(at, &envs);
        bob.drain(at);
        t += 100;
    }
    assert_eq!(bob.received(), 2);
    let before = bob.m.stats().rejected.values().sum::<u64>();
    bob.deliver(now(4_000), &seen);
    bob.drain(now(4_000));
    assert_eq!(bob.received(), 2, "a replay delivered nothing new");
    assert!(bob.m.stats().rejected.values().sum::<u64>() + bob.m.stats().duplicates > before);
    let _ = ChatId::one_to_one(&bob_key);
}

#[test]
fn a_conversation_survives_a_flood_of_garbage() {
    let (mut alice, mut bob) = (Side::new(3), Side::new(4));
    let bob_key = *bob.m.identity();
    bob.drain(now(0));
    let c = alice
        .m
        .start_one_to_one(now(0), &status_protocol::contact_id(&bob_key))
        .unwrap();
    let filters = bob.filters.clone();
    let mallory = SecretKey::from_bytes(&[7; 32]).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..2_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = &filters[(x % filters.len() as u64) as usize];
        let len = (x >> 8) as usize % 300;
        let payload: Vec<u8> = (0..len).map(|j| (x >> (j % 56)) as u8).collect();
        let _ = bob.m.handle_input(now(i), raw(f, payload, Some(&mallory)));
    }
    for i in 0..5 {
        alice.m.send_text(now(10), &c, &format!("m{i}")).unwrap();
    }
    run(&mut alice, &mut bob, 10, 3_000);
    assert_eq!(bob.received(), 5);
    assert!(bob.m.stats().rejected.values().sum::<u64>() >= 1_900);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn arbitrary_bytes_on_any_filter_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..600), which in 0usize..8, signed in any::<bool>()) {
        let mut bob = Side::new(5);
        bob.m.join_public(now(0), "status").unwrap();
        bob.drain(now(0));
        let f = bob.filters[which % bob.filters.len()].clone();
        let key = SecretKey::from_bytes(&[6; 32]).unwrap();
        let _ = bob.m.handle_input(now(1), raw(&f, payload, signed.then_some(&key)));
        bob.drain(now(1));
    }
}
