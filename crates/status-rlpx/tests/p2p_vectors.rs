//! Base-protocol messages from the vectors: EIP-8's forward-compatible Hello
//! and the Hellos status-go v0.55.1 sent in `status-go/rlpx.json`.

use serde_json::Value;
use status_rlpx::p2p::{self, Hello};
use status_vectors::{description, hex_field};

/// EIP-8, "Test Vectors": Hellos with extra list elements decode, and the
/// additional elements are dropped on re-encoding. (The EIP's prose says
/// "version 22"; the bytes say 55: see the erratum note in the vector file.
/// The values themselves are prose there, so only the bytes are checked.)
#[test]
fn eip8_hello_with_additional_elements_decodes() {
    let top = status_vectors::load_json("spec/eip8-handshake.json");
    let hellos = top
        .get("devp2p_base_protocol")
        .and_then(Value::as_array)
        .expect("devp2p_base_protocol array");
    let mut seen = 0;
    for entry in hellos
        .iter()
        .filter(|e| e.get("name").and_then(Value::as_str) == Some("hello"))
    {
        let what = description(entry);
        let data = hex_field(entry, "hex");
        let hello = Hello::decode(&data).unwrap_or_else(|e| panic!("{what}: {e}"));
        let again = hello.encode();
        assert!(again.len() < data.len(), "{what}: nothing dropped");
        assert_eq!(Hello::decode(&again).as_ref(), Ok(&hello), "{what}");
        seen += 1;
    }
    assert!(seen > 0, "no EIP-8 hello");
}

/// Every Hello frame status-go sent decodes, speaks our base protocol
/// version, names the sender's static key as node id, and re-encodes to the same
/// bytes (Hello is RLP: one encoding).
#[test]
fn status_go_hellos_round_trip() {
    let cases = status_vectors::cases("status-go/rlpx.json");
    let mut seen = 0;
    for case in cases
        .iter()
        .filter(|c| c.get("kind").and_then(Value::as_str) == Some("frames"))
    {
        let handshake = cases
            .iter()
            .find(|c| {
                c.get("kind").and_then(Value::as_str) == Some("handshake")
                    && c.get("name") == case.get("name")
            })
            .expect("the frames' handshake case");
        let frames = case
            .get("frames")
            .and_then(Value::as_array)
            .expect("frames array");
        for frame in frames
            .iter()
            .filter(|f| f.get("code").and_then(Value::as_u64) == Some(p2p::HELLO))
        {
            let what = format!("{}: {}", description(case), description(frame));
            let payload = hex_field(frame, "payload");
            let hello = Hello::decode(&payload).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(hello.protocol_version, p2p::BASE_PROTOCOL_VERSION, "{what}");
            assert!(!hello.capabilities.is_empty(), "{what}: no capability");
            // the node id is the sender's static public key
            let sender = match frame.get("direction").and_then(Value::as_str) {
                Some("initiator->recipient") => "initiator_static",
                Some("recipient->initiator") => "recipient_static",
                other => panic!("unknown direction {other:?}"),
            };
            let public = hex_field(&handshake[sender], "public_uncompressed");
            assert_eq!(hello.node_id.as_bytes()[..], public[1..], "{what}");
            assert_eq!(hex::encode(hello.encode()), hex::encode(&payload), "{what}");
            seen += 1;
        }
    }
    assert!(seen > 0, "no Hello frame in the status-go captures");
}

/// Ping and Pong carry `rlp([])` in the vectors, as [`p2p::PING_PAYLOAD`].
#[test]
fn status_go_ping_pong_payloads() {
    let mut seen = 0;
    for case in status_vectors::cases("status-go/rlpx.json")
        .iter()
        .filter(|c| c.get("kind").and_then(Value::as_str) == Some("frames"))
    {
        for frame in case
            .get("frames")
            .and_then(Value::as_array)
            .expect("frames array")
        {
            let code = frame.get("code").and_then(Value::as_u64);
            if code == Some(p2p::PING) || code == Some(p2p::PONG) {
                assert_eq!(
                    hex_field(frame, "payload"),
                    p2p::PING_PAYLOAD,
                    "{}: {}",
                    description(case),
                    description(frame)
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 0, "no Ping or Pong frame in the status-go captures");
}
