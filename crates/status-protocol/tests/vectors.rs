//! status-go v0.55.1 vectors: status_payloads.json (ApplicationMetadataMessage
//! wrap, signature, signer recovery, message id; ChatMessage; membership
//! update events) and status_topics.json (the topics and keys of every
//! filter the messenger installs, the MVDS 1:1 group id). Every case of
//! both files; every input and expected value comes from the case.

use serde_json::Value;
use status_core::{PublicKey, SecretKey};
use status_proto::protobuf::{
    membership_update_event::EventType, ApplicationMetadataMessage, ChatMessage,
};
use status_proto::Message as _;
use status_protocol::group::MembershipEvent;
use status_protocol::{
    contact_id, metadata, one_to_one_group_id, Error, FilterKey, MessageId, MessageType, Purpose,
};
use status_vectors::{cases, hex_field};

const PAYLOADS: &str = "status-go/status_payloads.json";
const TOPICS: &str = "status-go/status_topics.json";

fn name(c: &Value) -> &str {
    c["description"].as_str().unwrap_or("?")
}

fn secret(c: &Value, key: &str) -> SecretKey {
    SecretKey::from_bytes(&hex_field(&c[key], "private")).unwrap()
}

fn public(c: &Value, key: &str) -> PublicKey {
    PublicKey::from_slice(&hex_field(&c[key], "public_uncompressed")).unwrap()
}

fn u64_field(c: &Value, key: &str) -> u64 {
    c[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: `{key}` is not a u64", name(c)))
}

fn str_field<'a>(c: &'a Value, key: &str) -> &'a str {
    c[key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: `{key}` is not a string", name(c)))
}

/// Runs `check` on every case of `kind`, and says how many there were.
fn each(file: &str, kind: &str, mut check: impl FnMut(&Value)) -> usize {
    let list: Vec<Value> = cases(file)
        .into_iter()
        .filter(|c| c["kind"] == kind)
        .collect();
    for c in &list {
        check(c);
    }
    list.len()
}

#[test]
fn every_case_kind_is_known_and_checked() {
    for (file, known) in [
        (
            PAYLOADS,
            &["chat_message", "wrap_unsigned", "membership_update_event"][..],
        ),
        (
            TOPICS,
            &[
                "public_chat",
                "discovery_topic",
                "identity_topics",
                "negotiated",
                "one_to_one_group_id",
            ][..],
        ),
    ] {
        let all = cases(file);
        assert!(!all.is_empty(), "{file}: no cases");
        for c in &all {
            let kind = c["kind"].as_str().unwrap_or("");
            assert!(
                known.contains(&kind),
                "{file}: case {:?} of unknown kind {kind:?}",
                name(c)
            );
        }
        for kind in known {
            assert!(
                all.iter().any(|c| c["kind"] == *kind),
                "{file}: no case of kind {kind}"
            );
        }
    }
}

#[test]
fn chat_messages_wrap_sign_and_name_as_status_go() {
    let n = each(PAYLOADS, "chat_message", |c| {
        let what = name(c);
        let key = secret(c, "signer");
        let inner = hex_field(c, "chat_message_protobuf");
        // the ChatMessage fields
        let m = ChatMessage::decode(inner.as_slice()).unwrap();
        assert_eq!(m.clock, u64_field(c, "clock"), "{what}");
        assert_eq!(m.timestamp, u64_field(c, "timestamp"), "{what}");
        assert_eq!(m.text, str_field(c, "text"), "{what}");
        assert_eq!(m.chat_id, str_field(c, "chat_id"), "{what}");
        assert_eq!(
            i64::from(m.content_type),
            c["content_type"].as_i64().unwrap(),
            "{what}"
        );
        assert_eq!(
            i64::from(m.message_type),
            c["message_type"].as_i64().unwrap(),
            "{what}"
        );
        // ChatMessage has no map fields: its encoding is canonical
        assert_eq!(m.encode_to_vec(), inner, "{what}: ChatMessage re-encoding");

        // wrap: the signature is deterministic (RFC 6979), so bytes match
        let wrapped = metadata::wrap(&inner, MessageType::ChatMessage, Some(&key));
        assert_eq!(
            wrapped,
            hex_field(c, "application_metadata_protobuf"),
            "{what}: wrapped bytes"
        );
        let envelope = ApplicationMetadataMessage::decode(wrapped.as_slice()).unwrap();
        assert_eq!(
            envelope.signature,
            hex_field(c, "signature"),
            "{what}: signature"
        );

        // unwrap status-go's bytes: signer and id
        let got = metadata::unwrap(&hex_field(c, "application_metadata_protobuf")).unwrap();
        let recovered = PublicKey::from_slice(&hex_field(c, "recovered_signer")).unwrap();
        assert_eq!(got.signer, recovered, "{what}: recovered signer");
        assert_eq!(got.signer, public(c, "signer"), "{what}: signer");
        assert_eq!(
            got.id.0.to_vec(),
            hex_field(c, "message_id"),
            "{what}: message id"
        );
        assert_eq!(
            got.id,
            MessageId::of(&recovered, &hex_field(c, "application_metadata_protobuf"))
        );
        assert_eq!(got.payload, inner, "{what}: payload");
    });
    assert!(n > 0);
}

#[test]
fn unsigned_wraps_match_and_are_refused_on_receipt() {
    let n = each(PAYLOADS, "wrap_unsigned", |c| {
        let what = name(c);
        let expected = hex_field(c, "application_metadata_protobuf");
        // the type is whatever status-go wrote; read it from its bytes
        let decoded = ApplicationMetadataMessage::decode(expected.as_slice()).unwrap();
        let kind = MessageType::try_from(decoded.r#type).unwrap();
        let wrapped = metadata::wrap(&hex_field(c, "payload"), kind, None);
        assert_eq!(wrapped, expected, "{what}");
        // status-go's RecoverKey fails on an empty signature; so do we
        assert_eq!(
            metadata::unwrap(&expected),
            Err(Error::MetadataUnsigned),
            "{what}"
        );
    });
    assert!(n > 0);
}

#[test]
fn membership_update_events_sign_and_verify_as_status_go() {
    let n = each(PAYLOADS, "membership_update_event", |c| {
        let what = name(c);
        let key = secret(c, "signer");
        let chat_id = str_field(c, "chat_id");
        let members: Vec<String> = match &c["members"] {
            Value::Array(a) => a.iter().map(|m| m.as_str().unwrap().to_owned()).collect(),
            _ => Vec::new(),
        };
        let kind = EventType::try_from(c["type"].as_i64().unwrap() as i32).unwrap();
        let event = MembershipEvent::sign(
            chat_id,
            kind,
            u64_field(c, "clock"),
            members.clone(),
            str_field(c, "name").to_owned(),
            &key,
        );
        assert_eq!(
            event.raw(),
            hex_field(c, "raw_payload"),
            "{what}: raw payload"
        );
        assert_eq!(
            event.signature().to_vec(),
            hex_field(c, "signature"),
            "{what}: signature"
        );
        assert_eq!(event.from, str_field(c, "from"), "{what}: from");
        assert_eq!(event.from, contact_id(&public(c, "signer")), "{what}");

        // status-go's bytes on the wire verify here, to the same event
        let mut wire = hex_field(c, "signature");
        wire.extend_from_slice(&hex_field(c, "raw_payload"));
        let back = MembershipEvent::verify(chat_id, &wire).unwrap();
        assert_eq!(back, event, "{what}: verified event");
        assert_eq!(back.members, members, "{what}");
        // under another chat id the signature names someone else
        let other = MembershipEvent::verify(&format!("x{chat_id}"), &wire).map(|e| e.from);
        assert_ne!(other.ok().as_deref(), Some(str_field(c, "from")), "{what}");
    });
    assert!(n > 0);
}

fn symmetric(k: &FilterKey) -> Vec<u8> {
    match k {
        FilterKey::Symmetric(k) => k.to_vec(),
        FilterKey::Identity => panic!("expected a symmetric key"),
    }
}

#[test]
fn public_chat_filters_match_status_go() {
    let n = each(TOPICS, "public_chat", |c| {
        let what = name(c);
        let chat = str_field(c, "name");
        let f = status_protocol::filter::derive(
            &Purpose::Public(chat.into()),
            &SecretKey::from_bytes(&[1; 32]).unwrap(),
        );
        assert_eq!(f.0 .0.to_vec(), hex_field(c, "topic"), "{what}: topic");
        assert_eq!(symmetric(&f.1), hex_field(c, "sym_key"), "{what}: key");
    });
    assert!(n > 0);
}

#[test]
fn discovery_topic_matches_status_go() {
    let n = each(TOPICS, "discovery_topic", |c| {
        assert_eq!(
            str_field(c, "name"),
            status_waku::topic::CONTACT_DISCOVERY,
            "{}",
            name(c)
        );
        assert_eq!(
            status_waku::Topic::contact_discovery().0.to_vec(),
            hex_field(c, "topic"),
            "{}",
            name(c)
        );
    });
    assert!(n > 0);
}

#[test]
fn identity_filters_match_status_go() {
    let n = each(TOPICS, "identity_topics", |c| {
        let what = name(c);
        let me = secret(c, "key");
        let pk = me.public_key();
        assert_eq!(pk, public(c, "key"), "{what}");
        let (topic, key) = status_protocol::filter::derive(&Purpose::Partitioned, &me);
        assert_eq!(
            topic.0.to_vec(),
            hex_field(c, "partitioned_topic"),
            "{what}: partitioned"
        );
        assert_eq!(key, FilterKey::Identity, "{what}");
        assert_eq!(
            status_waku::topic::partitioned_topic_name(&pk),
            str_field(c, "partitioned_topic_name")
        );
        let (topic, _) = status_protocol::filter::derive(&Purpose::Discovery, &me);
        assert_eq!(
            topic.0.to_vec(),
            hex_field(c, "personal_discovery_topic"),
            "{what}: discovery"
        );
        assert_eq!(
            status_waku::topic::personal_discovery_topic_name(&pk),
            str_field(c, "personal_discovery_topic_name")
        );
        let (topic, key) = status_protocol::filter::derive(&Purpose::ContactCode(pk), &me);
        assert_eq!(
            topic.0.to_vec(),
            hex_field(c, "contact_code_topic"),
            "{what}: contact code"
        );
        assert_eq!(
            symmetric(&key),
            hex_field(c, "contact_code_sym_key"),
            "{what}: contact code key"
        );
        assert_eq!(
            status_waku::topic::contact_code_topic_name(&pk),
            str_field(c, "contact_code_topic_name")
        );
    });
    assert!(n > 0);
}

#[test]
fn negotiated_filters_match_status_go_from_both_sides() {
    let n = each(TOPICS, "negotiated", |c| {
        let what = name(c);
        let (alice, bob) = (secret(c, "alice"), secret(c, "bob"));
        for (ours, theirs, secret_key) in [
            (&alice, bob.public_key(), "shared_secret"),
            (&bob, alice.public_key(), "shared_secret_from_bob_side"),
        ] {
            let (topic, key) = status_protocol::filter::derive(&Purpose::Negotiated(theirs), ours);
            assert_eq!(topic.0.to_vec(), hex_field(c, "topic"), "{what}: topic");
            assert_eq!(symmetric(&key), hex_field(c, "sym_key"), "{what}: key");
            let secret = status_waku::topic::negotiated_secret(ours, &theirs);
            assert_eq!(secret.to_vec(), hex_field(c, secret_key), "{what}: secret");
        }
        assert_eq!(
            format!("{}-negotiated", contact_id(&bob.public_key())),
            str_field(c, "negotiated_chat_id_on_alice_side"),
            "{what}: status-go's filter chat id"
        );
    });
    assert!(n > 0);
}

#[test]
fn one_to_one_group_ids_match_status_go() {
    let n = each(TOPICS, "one_to_one_group_id", |c| {
        let (a, b) = (public(c, "alice"), public(c, "bob"));
        assert_eq!(
            one_to_one_group_id(&a, &b).to_vec(),
            hex_field(c, "group_id"),
            "{}",
            name(c)
        );
        assert_eq!(
            one_to_one_group_id(&b, &a),
            one_to_one_group_id(&a, &b),
            "{}",
            name(c)
        );
    });
    assert!(n > 0);
}
