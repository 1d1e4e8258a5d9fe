//! Properties: a group is a pure function of its event set (any
//! interleaving of membership events gives every member the same group),
//! and the payload codecs round-trip.

use proptest::prelude::*;
use status_core::SecretKey;
use status_proto::protobuf::chat_message::{ContentType, MessageType};
use status_proto::protobuf::membership_update_event::EventType;
use status_proto::protobuf::{ChatMessage, MembershipUpdateMessage};
use status_proto::Message as _;
use status_protocol::group::{Group, MembershipEvent};
use status_protocol::{contact_id, metadata, MessageType as Kind};

fn key(i: u8) -> SecretKey {
    SecretKey::from_bytes(&[i + 1; 32]).unwrap()
}

const KINDS: [EventType; 6] = [
    EventType::NameChanged,
    EventType::MembersAdded,
    EventType::MemberJoined,
    EventType::MemberRemoved,
    EventType::AdminsAdded,
    EventType::AdminRemoved,
];

/// Events a set of concurrent members might sign: any author, kind,
/// target and clock, valid or not at their place.
fn events() -> impl Strategy<Value = Vec<(u8, usize, u8, u64)>> {
    let ev = (0u8..5, 0usize..KINDS.len(), 0u8..5, 2u64..40);
    proptest::collection::vec(ev, 0..24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_order_of_the_same_events_gives_the_same_group(
        spec in events(),
        orders in proptest::collection::vec(any::<u64>(), 3),
    ) {
        let creator = key(0);
        let mut g = Group::create("5f0e0e0a-1234-4abc-8def-0123456789ab", "g", 1, &creator);
        let chat_id = g.chat_id().to_owned();
        let mut all: Vec<MembershipEvent> = g.events().cloned().collect();
        for (author, kind, target, clock) in spec {
            let kind = KINDS[kind];
            let members = match kind {
                EventType::NameChanged | EventType::MemberJoined => Vec::new(),
                _ => vec![contact_id(&key(target).public_key())],
            };
            let name = if kind == EventType::NameChanged { format!("n{clock}") } else { String::new() };
            all.push(MembershipEvent::sign(&chat_id, kind, clock, members, name, &key(author)));
        }
        g.merge(all.clone()).unwrap();
        for seed in orders {
            // a deterministic shuffle per seed, delivered in chunks as a
            // member receiving several updates would merge them
            let mut shuffled = all.clone();
            let mut s = seed | 1;
            for i in (1..shuffled.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                shuffled.swap(i, (s % (i as u64 + 1)) as usize);
            }
            let mut other = Group::from_events(&chat_id, shuffled[..1].to_vec())
                .or_else(|_| Group::from_events(&chat_id, all[..1].to_vec()))
                .unwrap();
            for chunk in shuffled.chunks(3) {
                other.merge(chunk.to_vec()).unwrap();
            }
            prop_assert_eq!(&other, &g);
            // and over the wire
            let wire: Vec<MembershipEvent> = shuffled
                .iter()
                .map(|e| MembershipEvent::verify(&chat_id, &e.encode()).unwrap())
                .collect();
            prop_assert_eq!(&Group::from_events(&chat_id, wire).unwrap(), &g);
        }
        // the creator is always a member unless they removed themselves
        prop_assert!(g.events().count() >= 1);
    }

    #[test]
    fn chat_messages_round_trip(
        clock in any::<u64>(),
        timestamp in any::<u64>(),
        text in ".{0,200}",
        response_to in "[0-9a-f]{0,64}",
        ens in "[a-z.]{0,30}",
        chat_id in "[a-z0-9-]{0,40}",
        kind in 0i32..5,
        content in 0i32..8,
    ) {
        let m = ChatMessage {
            clock, timestamp, text, response_to, ens_name: ens, chat_id,
            message_type: MessageType::try_from(kind).unwrap().into(),
            content_type: ContentType::try_from(content).unwrap().into(),
            payload: None,
        };
        let bytes = m.encode_to_vec();
        prop_assert_eq!(ChatMessage::decode(bytes.as_slice()).unwrap(), m);
    }

    #[test]
    fn membership_update_messages_round_trip(
        n in 0usize..6,
        text in ".{1,50}",
        signer in 0u8..5,
    ) {
        let mut g = Group::create("u", "g", 1, &key(signer));
        for i in 0..n {
            g.apply_local(EventType::NameChanged, 2 + i as u64, Vec::new(), format!("name {i}"), &key(signer)).unwrap();
        }
        let msg = MembershipUpdateMessage {
            chat_id: g.chat_id().to_owned(),
            events: g.events().map(MembershipEvent::encode).collect(),
            message: Some(ChatMessage { clock: 9, text, ..Default::default() }),
        };
        let wrapped = metadata::wrap(&msg.encode_to_vec(), Kind::MembershipUpdateMessage, Some(&key(signer)));
        let u = metadata::unwrap(&wrapped).unwrap();
        let back = MembershipUpdateMessage::decode(u.payload.as_slice()).unwrap();
        prop_assert_eq!(&back, &msg);
        let events: Vec<_> = back.events.iter().map(|e| MembershipEvent::verify(&back.chat_id, e).unwrap()).collect();
        prop_assert_eq!(Group::from_events(&back.chat_id, events).unwrap(), g);
    }
}
