//! RLPx frames captured from go-ethereum v1.9.5 as vendored in status-go
//! v0.55.1 (`status-go/rlpx.json`), kind `frames` (each over the
//! `handshake` case of the same `name`): every frame, in its case's order,
//! is re-encoded byte for byte and decoded, whole and one byte at a time,
//! with the snappy setting and the expected outcome (`decode_ok`) the frame
//! records; the vector's own lengths, header and MACs agree with its bytes.
//! The first frame each side sent in each case is also flipped bit by bit,
//! cut short and decoded under a too small frame limit.

use serde_json::Value;
use status_rlpx::frame::{frame_len, FrameCodec, MAX_FRAME_SIZE};
use status_rlpx::{Error, Secrets};
use status_vectors::hex_field;

const FILE: &str = "status-go/rlpx.json";

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string field {key}"))
}

fn bool_field(v: &Value, key: &str) -> bool {
    v.get(key)
        .and_then(Value::as_bool)
        .unwrap_or_else(|| panic!("missing bool field {key}"))
}

fn u64_field(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("missing integer field {key}"))
}

fn arr32(v: &Value, key: &str) -> [u8; 32] {
    hex_field(v, key)
        .try_into()
        .unwrap_or_else(|_| panic!("{key} is not 32 bytes"))
}

/// Secrets of one side, from `initiator_secrets` / `recipient_secrets`.
fn secrets(side: &Value) -> Secrets {
    let s = Secrets::from_parts(
        arr32(side, "aes_secret"),
        arr32(side, "mac_secret"),
        &hex_field(side, "egress_mac_seed"),
        &hex_field(side, "ingress_mac_seed"),
    );
    assert_eq!(
        s.egress_mac_digest().to_vec(),
        hex_field(side, "egress_mac_initial_digest")
    );
    assert_eq!(
        s.ingress_mac_digest().to_vec(),
        hex_field(side, "ingress_mac_initial_digest")
    );
    s
}

/// The handshake case whose name matches a frames case, and its frames.
fn frames_cases() -> Vec<(Value, Value)> {
    let cases = status_vectors::cases(FILE);
    let out: Vec<(Value, Value)> = cases
        .iter()
        .filter(|c| str_field(c, "kind") == "frames")
        .map(|frames| {
            let name = str_field(frames, "name");
            let hs = cases
                .iter()
                .find(|c| str_field(c, "kind") == "handshake" && str_field(c, "name") == name)
                .unwrap_or_else(|| panic!("no handshake case named {name}"));
            (hs.clone(), frames.clone())
        })
        .collect();
    assert!(!out.is_empty(), "no frames cases in {FILE}");
    out
}

fn frames(case: &Value) -> &Vec<Value> {
    case.get("frames")
        .and_then(Value::as_array)
        .expect("frames array")
}

/// Which side sends a frame.
fn from_initiator(frame: &Value) -> bool {
    match str_field(frame, "direction") {
        "initiator->recipient" => true,
        "recipient->initiator" => false,
        other => panic!("unknown direction {other}"),
    }
}

/// Feeds `bytes` one at a time; returns the decoded message, checking that
/// nothing comes out before the last byte.
fn decode_bytewise(rx: &mut FrameCodec, bytes: &[u8]) -> Result<(u64, Vec<u8>), Error> {
    let mut pending = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        pending.push(*b);
        if let Some(d) = rx.decode(&mut pending)? {
            assert_eq!(i + 1, bytes.len(), "frame decoded before its last byte");
            assert_eq!(d.consumed, bytes.len());
            return Ok((d.code, d.payload.to_vec()));
        }
    }
    panic!("frame never completed");
}

#[test]
fn every_frame_encodes_and_decodes_exactly() {
    for (hs, case) in frames_cases() {
        let mode = str_field(&case, "mode");
        let init = secrets(&hs["initiator_secrets"]);
        let resp = secrets(&hs["recipient_secrets"]);
        let mut initiator = FrameCodec::new(init.clone(), MAX_FRAME_SIZE);
        let mut recipient = FrameCodec::new(resp.clone(), MAX_FRAME_SIZE);
        // separate receivers for byte-at-a-time decoding
        let mut initiator_slow = FrameCodec::new(init, MAX_FRAME_SIZE);
        let mut recipient_slow = FrameCodec::new(resp, MAX_FRAME_SIZE);

        let mut count = 0;
        for frame in frames(&case) {
            let what = format!(
                "{} (mode {mode}), frame {}",
                status_vectors::description(&case),
                str_field(frame, "description")
            );
            let code = u64_field(frame, "code");
            let payload = hex_field(frame, "payload");
            let on_wire = hex_field(frame, "payload_on_wire");
            let snappy = bool_field(frame, "snappy");
            let bytes = hex_field(frame, "frame");

            // the vector's own fields agree with each other
            assert_eq!(bytes.len() as u64, u64_field(frame, "frame_len"), "{what}");
            assert_eq!(
                payload.len() as u64,
                u64_field(frame, "payload_len"),
                "{what}"
            );
            assert_eq!(
                on_wire.len() as u64,
                u64_field(frame, "payload_on_wire_len"),
                "{what}"
            );
            assert_eq!(
                bytes[..16],
                hex_field(frame, "header_ciphertext")[..],
                "{what}"
            );
            assert_eq!(bytes[16..32], hex_field(frame, "header_mac")[..], "{what}");
            assert_eq!(
                bytes[bytes.len() - 16..],
                hex_field(frame, "frame_mac")[..],
                "{what}"
            );
            if snappy {
                let compressed = snap::raw::Encoder::new().compress_vec(&payload).unwrap();
                assert_eq!(compressed, on_wire, "{what}: snappy block encoding");
            } else {
                assert_eq!(payload, on_wire, "{what}");
            }
            let code_len = if code < 0x80 { 1 } else { 2 };
            assert_eq!(bytes.len(), frame_len(code_len + on_wire.len()), "{what}");

            let (tx, rx, rx_slow) = if from_initiator(frame) {
                (&mut initiator, &mut recipient, &mut recipient_slow)
            } else {
                (&mut recipient, &mut initiator, &mut initiator_slow)
            };
            for codec in [&mut *tx, &mut *rx, &mut *rx_slow] {
                codec.set_snappy(snappy, MAX_FRAME_SIZE);
            }

            let mut out = Vec::new();
            tx.encode(code, &payload, &mut out).unwrap();
            assert_eq!(
                hex::encode(&out),
                hex::encode(&bytes),
                "{what}: encoded bytes"
            );

            let result = {
                let mut buf = bytes.clone();
                rx.decode(&mut buf)
                    .map(|d| d.map(|d| (d.consumed, d.code, d.payload.to_vec())))
            };
            let slow = decode_bytewise(rx_slow, &bytes);
            if bool_field(frame, "decode_ok") {
                assert_eq!(
                    result,
                    Ok(Some((bytes.len(), code, payload.clone()))),
                    "{what}"
                );
                assert_eq!(slow, Ok((code, payload)), "{what}: byte at a time");
            } else {
                assert!(result.is_err(), "{what}: should fail to decode");
                assert!(slow.is_err(), "{what}: should fail to decode");
            }
            count += 1;
        }
        assert!(count > 0, "frames case {mode} has no frames");
    }
}

/// The first frame each side sent in every frames case (the only frames a
/// fresh receiving codec can take), with the receiver's secrets and the
/// frame's size before padding.
fn first_frames() -> Vec<(String, Secrets, Vec<u8>, usize)> {
    let mut out = Vec::new();
    for (hs, case) in frames_cases() {
        for initiator_sends in [true, false] {
            let Some(frame) = frames(&case)
                .iter()
                .find(|f| from_initiator(f) == initiator_sends)
            else {
                continue;
            };
            let on_wire = hex_field(frame, "payload_on_wire");
            let code_len = if u64_field(frame, "code") < 0x80 {
                1
            } else {
                2
            };
            let receiver = if initiator_sends {
                "recipient_secrets"
            } else {
                "initiator_secrets"
            };
            out.push((
                format!(
                    "{}: {}",
                    status_vectors::description(&case),
                    str_field(frame, "description")
                ),
                secrets(&hs[receiver]),
                hex_field(frame, "frame"),
                code_len + on_wire.len(),
            ));
        }
    }
    assert!(!out.is_empty(), "no frames in {FILE}");
    out
}

#[test]
fn any_flipped_bit_fails_its_mac() {
    for (what, resp, bytes, _) in first_frames() {
        any_flipped_bit_fails(&what, &resp, &bytes);
    }
}

fn any_flipped_bit_fails(what: &str, resp: &Secrets, bytes: &[u8]) {
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut bad = bytes.to_vec();
            bad[i] ^= 1 << bit;
            let mut rx = FrameCodec::new(resp.clone(), MAX_FRAME_SIZE);
            let want = if i < 32 {
                Error::BadHeaderMac
            } else {
                Error::BadFrameMac
            };
            assert_eq!(
                rx.decode(&mut bad),
                Err(want.clone()),
                "{what}: byte {i} bit {bit}"
            );
            // poisoned: the intact frame does not help any more
            assert_eq!(rx.decode(&mut bytes.to_vec()), Err(want), "{what}");
        }
    }
}

#[test]
fn truncated_input_needs_more_bytes() {
    for (what, resp, bytes, _) in first_frames() {
        for n in 0..bytes.len() {
            let mut rx = FrameCodec::new(resp.clone(), MAX_FRAME_SIZE);
            let mut prefix = bytes[..n].to_vec();
            assert_eq!(
                rx.decode(&mut prefix),
                Ok(None),
                "{what}: prefix of {n} bytes"
            );
            // and the rest completes it
            let mut whole = bytes.clone();
            assert!(
                matches!(rx.decode(&mut whole), Ok(Some(_))),
                "{what}: prefix of {n} bytes"
            );
        }
    }
}

#[test]
fn oversize_header_is_frame_too_large() {
    for (what, resp, bytes, frame_size) in first_frames() {
        let mut rx = FrameCodec::new(resp.clone(), frame_size - 1);
        let mut header = bytes[..32].to_vec();
        assert_eq!(
            rx.decode(&mut header),
            Err(Error::FrameTooLarge {
                got: frame_size,
                max: frame_size - 1
            }),
            "{what}"
        );
        let mut rx = FrameCodec::new(resp, frame_size);
        assert!(
            matches!(rx.decode(&mut bytes.clone()), Ok(Some(_))),
            "{what}"
        );
    }
}
