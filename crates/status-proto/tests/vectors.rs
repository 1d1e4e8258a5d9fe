//! Every protobuf byte string in the status-go v0.55.1 vectors (mvds.json,
//! status_payloads.json, encryption.json) decodes with our types; where a
//! case also documents the decoded fields, those match too.
//!
//! Bytes or decoded messages:
//! - Messages without map fields (MVDS Message and Payload,
//!   ApplicationMetadataMessage, ChatMessage, MembershipUpdateEvent) have one
//!   encoding, and status-go hashes or signs their bytes, so they must
//!   re-encode to status-go's bytes exactly ([`reencodes`]):
//!   WrapMessageV1 signs keccak256(ChatMessage bytes) into the
//!   ApplicationMetadataMessage, MembershipUpdateEvent.Sign signs
//!   keccak256(chat_id || raw_payload), and a message id is
//!   keccak256(author's uncompressed key || the received payload bytes).
//! - `encryption.ProtocolMessage` (map `direct_message`) and `Bundle` (map
//!   `signed_pre_keys`) are compared decoded ([`decodes`]): Go marshals map
//!   entries in random order, so no encoder reproduces status-go's bytes
//!   once a map has two entries. Nothing status-go checks depends on those
//!   bytes: a bundle's signature is over keccak256 of its installation ids
//!   in sorted order, each with its signed prekey and decimal version, then
//!   the decimal timestamp (x3dh.go buildSignatureMaterial; verified in
//!   status-encryption's vector tests), and the Double Ratchet authenticates
//!   the payload and header fields, not the ProtocolMessage.
//!
//! Kinds: mvds.json `message`, `payload`; status_payloads.json
//! `chat_message`, `wrap_unsigned`, `membership_update_event`;
//! encryption.json `bundle`, `direct_message`, `dh_message`,
//! `public_message` (and `x3dh`, `x3dh_active`, `session_tape`, which carry
//! no protobuf). Each test asserts that every kind it knows occurs and that
//! every case was checked.

use std::collections::BTreeSet;

use serde_json::Value;
use status_proto::protobuf::application_metadata_message::Type;
use status_proto::protobuf::{ApplicationMetadataMessage, ChatMessage, MembershipUpdateEvent};
use status_proto::{encryption, mvds, Message};
use status_vectors::{cases, description, hex_field, i64_field, str_field, u64_field, Coverage};

/// Decodes `bytes` as `M`, asserts that re-encoding gives `bytes` back,
/// and returns the decoded message. Only for messages without map fields.
fn reencodes<M: Message + Default>(bytes: &[u8], what: &str) -> M {
    let msg = M::decode(bytes).unwrap_or_else(|e| panic!("{what}: does not decode: {e}"));
    assert_eq!(
        hex::encode(msg.encode_to_vec()),
        hex::encode(bytes),
        "{what}: re-encoding differs from status-go's bytes"
    );
    assert_eq!(msg.encoded_len(), bytes.len(), "{what}: encoded_len");
    msg
}

/// Decodes `bytes` as `M` (a message with map fields) and checks that our
/// encoding of it decodes to the same message; the bytes may differ.
fn decodes<M: Message + Default + PartialEq + std::fmt::Debug>(bytes: &[u8], what: &str) -> M {
    let msg = M::decode(bytes).unwrap_or_else(|e| panic!("{what}: does not decode: {e}"));
    let again = M::decode(msg.encode_to_vec().as_slice())
        .unwrap_or_else(|e| panic!("{what}: our encoding does not decode: {e}"));
    assert_eq!(
        again, msg,
        "{what}: our encoding decodes to another message"
    );
    msg
}

fn kind(case: &Value) -> &str {
    str_field(case, "kind")
}

fn i32_field(case: &Value, key: &str) -> i32 {
    i32::try_from(i64_field(case, key))
        .unwrap_or_else(|_| panic!("{}: `{key}` overflows i32", description(case)))
}

/// Kinds that carry no protobuf bytes must stay that way: if a new vector
/// set adds some, this test has to learn about them.
fn assert_no_protobuf(case: &Value) {
    let keys: Vec<&String> = case
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| k.contains("protobuf") || *k == "raw_payload")
                .collect()
        })
        .unwrap_or_default();
    assert!(
        keys.is_empty(),
        "{}: unchecked protobuf fields {keys:?}",
        description(case)
    );
}

#[test]
fn mvds_vectors_reencode_byte_for_byte() {
    const FILE: &str = "status-go/mvds.json";
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        let what = description(case);
        let bytes = hex_field(case, "protobuf");
        match kind(case) {
            "message" => {
                let msg: mvds::Message = reencodes(&bytes, what);
                assert_eq!(
                    msg.group_id,
                    hex_field(case, "group_id"),
                    "{what}: group_id"
                );
                assert_eq!(
                    msg.timestamp,
                    i64_field(case, "timestamp"),
                    "{what}: timestamp"
                );
                assert_eq!(msg.body, hex_field(case, "body"), "{what}: body");
            }
            "payload" => {
                let payload: mvds::Payload = reencodes(&bytes, what);
                let n = |key| usize::try_from(u64_field(case, key)).unwrap();
                assert_eq!(payload.acks.len(), n("n_acks"), "{what}: acks");
                assert_eq!(payload.offers.len(), n("n_offers"), "{what}: offers");
                assert_eq!(payload.requests.len(), n("n_requests"), "{what}: requests");
                assert_eq!(payload.messages.len(), n("n_messages"), "{what}: messages");
            }
            other => panic!("{what}: unknown mvds case kind {other:?}"),
        }
        seen.check(kind(case));
    }
    seen.finish(&["message", "payload"]);
}

#[test]
fn status_payload_vectors_reencode_byte_for_byte() {
    const FILE: &str = "status-go/status_payloads.json";
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        let case = case.clone();
        let what = description(&case);
        match kind(&case) {
            "chat_message" => {
                let wrapped = hex_field(&case, "application_metadata_protobuf");
                let amm: ApplicationMetadataMessage = reencodes(&wrapped, what);
                let chat_bytes = hex_field(&case, "chat_message_protobuf");
                assert_eq!(
                    amm.signature,
                    hex_field(&case, "signature"),
                    "{what}: signature"
                );
                assert_eq!(amm.payload, chat_bytes, "{what}: payload");
                assert_eq!(amm.r#type(), Type::ChatMessage, "{what}: type");

                let chat: ChatMessage = reencodes(&chat_bytes, what);
                assert_eq!(chat.clock, u64_field(&case, "clock"), "{what}: clock");
                assert_eq!(
                    chat.timestamp,
                    u64_field(&case, "timestamp"),
                    "{what}: timestamp"
                );
                assert_eq!(chat.text, str_field(&case, "text"), "{what}: text");
                assert_eq!(chat.chat_id, str_field(&case, "chat_id"), "{what}: chat_id");
                assert_eq!(
                    chat.message_type,
                    i32_field(&case, "message_type"),
                    "{what}: message_type"
                );
                assert_eq!(
                    chat.content_type,
                    i32_field(&case, "content_type"),
                    "{what}: content_type"
                );
                for (key, got) in [
                    ("response_to", &chat.response_to),
                    ("ens_name", &chat.ens_name),
                ] {
                    if case.get(key).is_some() {
                        assert_eq!(got, str_field(&case, key), "{what}: {key}");
                    }
                }
            }
            "wrap_unsigned" => {
                let amm: ApplicationMetadataMessage =
                    reencodes(&hex_field(&case, "application_metadata_protobuf"), what);
                assert!(
                    amm.signature.is_empty(),
                    "{what}: unsigned wrap has a signature"
                );
                assert_eq!(amm.payload, hex_field(&case, "payload"), "{what}: payload");
                if case.get("type").is_some() {
                    assert_eq!(amm.r#type, i32_field(&case, "type"), "{what}: type");
                }
            }
            "membership_update_event" => {
                let event: MembershipUpdateEvent =
                    reencodes(&hex_field(&case, "raw_payload"), what);
                assert_eq!(event.clock, u64_field(&case, "clock"), "{what}: clock");
                assert_eq!(event.name, str_field(&case, "name"), "{what}: name");
                assert_eq!(event.r#type, i32_field(&case, "type"), "{what}: type");
                // Go's nil slice is JSON null.
                let members: Vec<String> = match &case["members"] {
                    Value::Null => Vec::new(),
                    Value::Array(list) => list
                        .iter()
                        .map(|m| m.as_str().expect("member is a string").to_owned())
                        .collect(),
                    other => panic!("{what}: members is {other}"),
                };
                assert_eq!(event.members, members, "{what}: members");
            }
            other => panic!("{what}: unknown status_payloads case kind {other:?}"),
        }
        seen.check(kind(&case));
    }
    seen.finish(&["chat_message", "wrap_unsigned", "membership_update_event"]);
}

fn check_bundle(bundle: &encryption::Bundle, case: &Value, what: &str) {
    assert_eq!(
        bundle.identity,
        hex_field(&case["identity"], "public_compressed"),
        "{what}: identity"
    );
    assert_eq!(
        bundle.signature,
        hex_field(case, "signature"),
        "{what}: signature"
    );
    assert_eq!(
        bundle.timestamp,
        i64_field(case, "timestamp"),
        "{what}: timestamp"
    );
    // The case documents one installation of the bundle (status-go's
    // GetBundle of one device); others it may hold are not documented.
    let installation = str_field(case, "installation_id");
    let spk = bundle
        .signed_pre_keys
        .get(installation)
        .unwrap_or_else(|| panic!("{what}: no signed prekey for {installation:?}"));
    assert_eq!(
        spk.signed_pre_key,
        hex_field(case, "signed_pre_key"),
        "{what}: signed_pre_key"
    );
    assert_eq!(
        u64::from(spk.version),
        u64_field(case, "signed_pre_key_version"),
        "{what}: version"
    );
    assert_eq!(
        u64::from(spk.protocol_version),
        u64_field(case, "protocol_version"),
        "{what}: protocol_version"
    );
}

/// Compares one `DirectMessageProtocol` with the JSON that documents it
/// (`dr_header`, `x3dh_header`, `dh_header`, `payload_ciphertext`).
fn check_direct_message(dmp: &encryption::DirectMessageProtocol, doc: &Value, what: &str) {
    assert_eq!(
        dmp.payload,
        hex_field(doc, "payload_ciphertext"),
        "{what}: payload"
    );
    match (&dmp.dr_header, doc.get("dr_header")) {
        (Some(dr), Some(d)) => {
            assert_eq!(dr.key, hex_field(d, "key"), "{what}: DR key");
            assert_eq!(dr.id, hex_field(d, "id"), "{what}: DR id");
            assert_eq!(u64::from(dr.n), u64_field(d, "n"), "{what}: DR n");
            assert_eq!(u64::from(dr.pn), u64_field(d, "pn"), "{what}: DR pn");
        }
        (None, None) => {}
        (got, _) => panic!("{what}: DR header presence differs (decoded {got:?})"),
    }
    match (&dmp.x3dh_header, doc.get("x3dh_header")) {
        (Some(x3dh), Some(d)) => {
            assert_eq!(
                x3dh.key,
                hex_field(d, "key_ephemeral_compressed"),
                "{what}: X3DH key"
            );
            assert_eq!(x3dh.id, hex_field(d, "id_signed_prekey"), "{what}: X3DH id");
        }
        (None, None) => {}
        (got, _) => panic!("{what}: X3DH header presence differs (decoded {got:?})"),
    }
    match (&dmp.dh_header, doc.get("dh_header")) {
        (Some(dh), Some(d)) => assert_eq!(dh.key, hex_field(d, "key"), "{what}: DH key"),
        (None, None) => {}
        (got, _) => panic!("{what}: DH header presence differs (decoded {got:?})"),
    }
}

fn check_protocol_message(case: &Value, what: &str) {
    let pm: encryption::ProtocolMessage =
        decodes(&hex_field(case, "protocol_message_protobuf"), what);
    if case.get("installation_id").is_some() {
        assert_eq!(
            pm.installation_id,
            str_field(case, "installation_id"),
            "{what}: installation_id"
        );
    }
    if let Some(bundles) = case.get("bundles_protobuf") {
        let bundles = bundles.as_array().expect("bundles_protobuf is an array");
        assert_eq!(pm.bundles.len(), bundles.len(), "{what}: bundle count");
        for (decoded, hex) in pm.bundles.iter().zip(bundles) {
            let bytes = hex::decode(hex.as_str().expect("bundle hex")).expect("bundle hex");
            let standalone: encryption::Bundle = decodes(&bytes, what);
            assert_eq!(&standalone, decoded, "{what}: bundle");
        }
    }
    if kind(case) == "public_message" {
        assert_eq!(
            pm.public_message,
            hex_field(case, "plaintext"),
            "{what}: public_message"
        );
        assert!(
            pm.direct_message.is_empty(),
            "{what}: public message with direct messages"
        );
    } else {
        assert!(
            pm.public_message.is_empty(),
            "{what}: direct message with public_message"
        );
        let docs = case["direct_messages"]
            .as_object()
            .unwrap_or_else(|| panic!("{what}: direct_messages is not an object"));
        assert_eq!(
            pm.direct_message.keys().collect::<BTreeSet<_>>(),
            docs.keys().collect::<BTreeSet<_>>(),
            "{what}: direct_message installations"
        );
        for (installation, doc) in docs {
            check_direct_message(&pm.direct_message[installation], doc, what);
        }
    }
}

#[test]
fn encryption_vectors_decode_to_what_the_cases_document() {
    const FILE: &str = "status-go/encryption.json";
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        let what = description(case);
        match kind(case) {
            "bundle" => {
                let bundle: encryption::Bundle = decodes(&hex_field(case, "bundle_protobuf"), what);
                check_bundle(&bundle, case, what);
            }
            "direct_message" | "dh_message" | "public_message" => {
                check_protocol_message(case, what)
            }
            "x3dh" | "x3dh_active" | "session_tape" => {
                assert_no_protobuf(case);
                seen.elsewhere();
                continue;
            }
            other => panic!("{what}: unknown encryption case kind {other:?}"),
        }
        seen.check(kind(case));
    }
    seen.finish(&["bundle", "direct_message", "dh_message", "public_message"]);
}
