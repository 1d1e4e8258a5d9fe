//! Every protobuf byte string in the status-go v0.55.1 vectors (mvds.json,
//! status_payloads.json, encryption.json) decodes with our types and
//! re-encodes to the very same bytes; where a case also documents the
//! decoded fields, those match too.

use serde_json::Value;
use status_proto::protobuf::application_metadata_message::Type;
use status_proto::protobuf::{ApplicationMetadataMessage, ChatMessage, MembershipUpdateEvent};
use status_proto::{encryption, mvds, Message};
use status_vectors::{cases, hex_field};

/// Decodes `bytes` as `M`, asserts that re-encoding gives `bytes` back,
/// and returns the decoded message.
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

fn desc(case: &Value) -> &str {
    case["description"].as_str().unwrap_or("<no description>")
}

fn kind(case: &Value) -> &str {
    case["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("case without kind: {}", desc(case)))
}

fn u64_field(case: &Value, key: &str) -> u64 {
    case[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: `{key}` is not a u64", desc(case)))
}

fn i64_field(case: &Value, key: &str) -> i64 {
    case[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{}: `{key}` is not an i64", desc(case)))
}

fn i32_field(case: &Value, key: &str) -> i32 {
    i32::try_from(i64_field(case, key))
        .unwrap_or_else(|_| panic!("{}: `{key}` overflows i32", desc(case)))
}

fn str_field<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: `{key}` is not a string", desc(case)))
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
        desc(case)
    );
}

#[test]
fn mvds_vectors_reencode_byte_for_byte() {
    let mut checked = 0;
    for case in cases("status-go/mvds.json") {
        let what = desc(&case);
        let bytes = hex_field(&case, "protobuf");
        match kind(&case) {
            "message" => {
                let msg: mvds::Message = reencodes(&bytes, what);
                assert_eq!(
                    msg.group_id,
                    hex_field(&case, "group_id"),
                    "{what}: group_id"
                );
                assert_eq!(
                    msg.timestamp,
                    i64_field(&case, "timestamp"),
                    "{what}: timestamp"
                );
                assert_eq!(msg.body, hex_field(&case, "body"), "{what}: body");
            }
            "payload" => {
                let payload: mvds::Payload = reencodes(&bytes, what);
                let n = |key| usize::try_from(u64_field(&case, key)).unwrap();
                assert_eq!(payload.acks.len(), n("n_acks"), "{what}: acks");
                assert_eq!(payload.offers.len(), n("n_offers"), "{what}: offers");
                assert_eq!(payload.requests.len(), n("n_requests"), "{what}: requests");
                assert_eq!(payload.messages.len(), n("n_messages"), "{what}: messages");
            }
            other => panic!("{what}: unknown mvds case kind {other:?}"),
        }
        checked += 1;
    }
    assert!(checked > 0, "mvds.json has no cases");
}

#[test]
fn status_payload_vectors_reencode_byte_for_byte() {
    let mut checked = 0;
    for case in cases("status-go/status_payloads.json") {
        let what = desc(&case);
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
                checked += 2;
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
                checked += 1;
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
                checked += 1;
            }
            other => panic!("{what}: unknown status_payloads case kind {other:?}"),
        }
    }
    assert!(checked > 0, "status_payloads.json has no protobuf cases");
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
    let installation = str_field(case, "installation_id");
    assert_eq!(
        bundle.signed_pre_keys.keys().collect::<Vec<_>>(),
        [installation],
        "{what}: installations"
    );
    let spk = &bundle.signed_pre_keys[installation];
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
        reencodes(&hex_field(case, "protocol_message_protobuf"), what);
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
            let standalone: encryption::Bundle = reencodes(&bytes, what);
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
            pm.direct_message.keys().collect::<Vec<_>>(),
            docs.keys().collect::<Vec<_>>(),
            "{what}: direct_message installations"
        );
        for (installation, doc) in docs {
            check_direct_message(&pm.direct_message[installation], doc, what);
        }
    }
}

#[test]
fn encryption_vectors_reencode_byte_for_byte() {
    let mut checked = 0;
    for case in cases("status-go/encryption.json") {
        let what = desc(&case);
        match kind(&case) {
            "bundle" => {
                let bundle: encryption::Bundle =
                    reencodes(&hex_field(&case, "bundle_protobuf"), what);
                check_bundle(&bundle, &case, what);
                checked += 1;
            }
            "direct_message" | "dh_message" | "public_message" => {
                check_protocol_message(&case, what);
                checked += 1;
            }
            "x3dh" | "x3dh_active" | "session_tape" => assert_no_protobuf(&case),
            other => panic!("{what}: unknown encryption case kind {other:?}"),
        }
    }
    assert!(checked > 0, "encryption.json has no protobuf cases");
}
