//! Encode/decode round-trips: hand-picked messages, wire-format details
//! that matter for status-go compatibility, and proptest over every field.

use std::collections::BTreeMap;

use proptest::prelude::*;
use status_proto::protobuf::{
    application_metadata_message, chat_message, image_message, ApplicationMetadataMessage,
    ChatMessage, ImageMessage, MembershipUpdateEvent, MembershipUpdateMessage, StickerMessage,
};
use status_proto::{applicationmetadata, encryption, mvds, Message};

fn roundtrip<M: Message + Default + PartialEq + std::fmt::Debug>(msg: &M) -> Vec<u8> {
    let bytes = msg.encode_to_vec();
    assert_eq!(bytes.len(), msg.encoded_len());
    let decoded = M::decode(bytes.as_slice()).expect("own encoding decodes");
    assert_eq!(&decoded, msg);
    assert_eq!(decoded.encode_to_vec(), bytes, "re-encoding is stable");
    bytes
}

#[test]
fn chat_message_with_sticker_roundtrips() {
    roundtrip(&ChatMessage {
        clock: 7,
        chat_id: "status".into(),
        message_type: chat_message::MessageType::PublicGroup.into(),
        content_type: chat_message::ContentType::Sticker.into(),
        payload: Some(chat_message::Payload::Sticker(StickerMessage {
            hash: "e30101".into(),
            pack: 1,
        })),
        ..Default::default()
    });
}

#[test]
fn chat_message_with_image_roundtrips() {
    roundtrip(&ChatMessage {
        content_type: chat_message::ContentType::Image.into(),
        payload: Some(chat_message::Payload::Image(ImageMessage {
            payload: vec![0x89, b'P', b'N', b'G'],
            r#type: image_message::ImageType::Png.into(),
        })),
        ..Default::default()
    });
}

#[test]
fn membership_update_message_carries_a_chat_message() {
    let event = MembershipUpdateEvent {
        clock: 1,
        members: vec!["0x04aa".into()],
        r#type: 3,
        ..Default::default()
    };
    roundtrip(&MembershipUpdateMessage {
        chat_id: "group".into(),
        events: vec![[vec![0u8; 65], event.encode_to_vec()].concat()],
        message: Some(ChatMessage {
            text: "hi".into(),
            ..Default::default()
        }),
    });
}

#[test]
fn legacy_applicationmetadata_message_uses_fields_4001_and_4002() {
    let bytes = roundtrip(&applicationmetadata::Message {
        signature: vec![1],
        payload: vec![2],
    });
    // tag 4001 << 3 | 2 = 0x7d0a, tag 4002 << 3 | 2 = 0x7d12, as varints.
    assert_eq!(
        bytes,
        [0x8a, 0xfa, 0x01, 0x01, 0x01, 0x92, 0xfa, 0x01, 0x01, 0x02]
    );
}

#[test]
fn fields_encode_in_field_number_order_like_go() {
    // DH_header (101) is declared before payload (3); Go marshals by field
    // number, so payload must come first.
    let dmp = encryption::DirectMessageProtocol {
        dh_header: Some(encryption::DhHeader { key: vec![0xaa] }),
        payload: vec![0xbb],
        ..Default::default()
    };
    assert_eq!(
        roundtrip(&dmp),
        [0x1a, 0x01, 0xbb, 0xaa, 0x06, 0x03, 0x0a, 0x01, 0xaa]
    );
}

#[test]
fn unknown_enum_values_survive_a_roundtrip() {
    // proto3 enums are open: a newer sender's type must not be lost.
    let amm = ApplicationMetadataMessage {
        r#type: 21,
        ..Default::default()
    };
    let decoded = ApplicationMetadataMessage::decode(roundtrip(&amm).as_slice()).unwrap();
    assert_eq!(decoded.r#type, 21);
    assert_eq!(
        decoded.r#type(),
        application_metadata_message::Type::Unknown
    );
}

#[test]
fn truncated_input_is_an_error_not_a_panic() {
    let bytes = ChatMessage {
        text: "hello".into(),
        ..Default::default()
    }
    .encode_to_vec();
    for len in 1..bytes.len() {
        assert!(
            ChatMessage::decode(&bytes[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..40)
}

fn text() -> impl Strategy<Value = String> {
    ".{0,16}"
}

fn chat_message() -> impl Strategy<Value = ChatMessage> {
    let payload = prop_oneof![
        Just(None),
        (text(), any::<i32>()).prop_map(|(hash, pack)| Some(chat_message::Payload::Sticker(
            StickerMessage { hash, pack }
        ))),
        (bytes(), any::<i32>()).prop_map(|(payload, r#type)| Some(chat_message::Payload::Image(
            ImageMessage { payload, r#type }
        ))),
    ];
    (
        any::<u64>(),
        any::<u64>(),
        (text(), text(), text(), text()),
        any::<i32>(),
        any::<i32>(),
        payload,
    )
        .prop_map(
            |(
                clock,
                timestamp,
                (text, response_to, ens_name, chat_id),
                message_type,
                content_type,
                payload,
            )| {
                ChatMessage {
                    clock,
                    timestamp,
                    text,
                    response_to,
                    ens_name,
                    chat_id,
                    message_type,
                    content_type,
                    payload,
                }
            },
        )
}

fn application_metadata_message() -> impl Strategy<Value = ApplicationMetadataMessage> {
    (bytes(), bytes(), any::<i32>()).prop_map(|(signature, payload, r#type)| {
        ApplicationMetadataMessage {
            signature,
            payload,
            r#type,
        }
    })
}

fn mvds_payload() -> impl Strategy<Value = mvds::Payload> {
    let ids = || proptest::collection::vec(bytes(), 0..4);
    let message =
        (bytes(), any::<i64>(), bytes()).prop_map(|(group_id, timestamp, body)| mvds::Message {
            group_id,
            timestamp,
            body,
        });
    (
        ids(),
        ids(),
        ids(),
        proptest::collection::vec(message, 0..4),
    )
        .prop_map(|(acks, offers, requests, messages)| mvds::Payload {
            acks,
            offers,
            requests,
            messages,
        })
}

fn bundle() -> impl Strategy<Value = encryption::Bundle> {
    let spk = (bytes(), any::<u32>(), any::<u32>()).prop_map(
        |(signed_pre_key, version, protocol_version)| encryption::SignedPreKey {
            signed_pre_key,
            version,
            protocol_version,
        },
    );
    (
        bytes(),
        proptest::collection::btree_map(text(), spk, 0..3),
        bytes(),
        any::<i64>(),
    )
        .prop_map(
            |(identity, signed_pre_keys, signature, timestamp)| encryption::Bundle {
                identity,
                signed_pre_keys,
                signature,
                timestamp,
            },
        )
}

fn direct_message_protocol() -> impl Strategy<Value = encryption::DirectMessageProtocol> {
    let x3dh = proptest::option::of(
        (bytes(), bytes()).prop_map(|(key, id)| encryption::X3dhHeader { key, id }),
    );
    let dr = proptest::option::of(
        (bytes(), any::<u32>(), any::<u32>(), bytes())
            .prop_map(|(key, n, pn, id)| encryption::DrHeader { key, n, pn, id }),
    );
    let dh = proptest::option::of(bytes().prop_map(|key| encryption::DhHeader { key }));
    (x3dh, dr, dh, bytes()).prop_map(|(x3dh_header, dr_header, dh_header, payload)| {
        encryption::DirectMessageProtocol {
            x3dh_header,
            dr_header,
            dh_header,
            payload,
        }
    })
}

fn protocol_message() -> impl Strategy<Value = encryption::ProtocolMessage> {
    (
        text(),
        proptest::collection::vec(bundle(), 0..3),
        proptest::collection::btree_map(text(), direct_message_protocol(), 0..3),
        bytes(),
    )
        .prop_map(
            |(installation_id, bundles, direct_message, public_message)| {
                encryption::ProtocolMessage {
                    installation_id,
                    bundles,
                    direct_message: BTreeMap::from_iter(direct_message),
                    public_message,
                }
            },
        )
}

proptest! {
    #[test]
    fn chat_message_roundtrips(msg in chat_message()) {
        roundtrip(&msg);
    }

    #[test]
    fn application_metadata_message_roundtrips(msg in application_metadata_message()) {
        roundtrip(&msg);
    }

    #[test]
    fn mvds_payload_roundtrips(payload in mvds_payload()) {
        roundtrip(&payload);
    }

    #[test]
    fn protocol_message_roundtrips(msg in protocol_message()) {
        roundtrip(&msg);
    }

    #[test]
    fn membership_update_event_roundtrips(
        clock in any::<u64>(),
        members in proptest::collection::vec(text(), 0..4),
        name in text(),
        r#type in any::<i32>(),
    ) {
        roundtrip(&MembershipUpdateEvent { clock, members, name, r#type });
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(input in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = ChatMessage::decode(input.as_slice());
        let _ = ApplicationMetadataMessage::decode(input.as_slice());
        let _ = mvds::Payload::decode(input.as_slice());
        let _ = encryption::ProtocolMessage::decode(input.as_slice());
        let _ = MembershipUpdateMessage::decode(input.as_slice());
    }
}
