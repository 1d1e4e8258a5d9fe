//! The handshake against recorded bytes: the EIP-8 spec vectors and what
//! status-go v0.55.1's (go-ethereum v1.9.5) RLPx code sends.
//!
//! - spec/eip8-handshake.json, `rlpx_handshake`: every `auth` packet is read
//!   by B (A's static and ephemeral keys and nonce; the format told by the
//!   packet's length, as go-ethereum tells it), and paired with every `ack`
//!   gives the recorded AES and MAC secrets; the pair the
//!   `connection_secrets_node_B_for_<Auth>_<Ack>` key names also gives B's
//!   recorded ingress MAC of "foo"; B answering any auth derives the same
//!   secrets.
//! - status-go/rlpx.json, kind `handshake`: both packets rebuilt byte for
//!   byte from the recorded randomness, read by the other side, and every
//!   derived secret and MAC digest of both sides.

use serde_json::Value;
use status_core::{PublicKey, SecretKey};
use status_rlpx::handshake::{AuthFormat, Initiator, Recipient};
use status_vectors::Tape;
use status_vectors::{description, hex_field, load_json, Coverage};

fn key(v: &Value, field: &str) -> SecretKey {
    SecretKey::from_bytes(&hex_field(v, field)).expect("vector key")
}

fn arr32(v: &Value, field: &str) -> [u8; 32] {
    hex_field(v, field).try_into().expect("32 bytes")
}

#[test]
fn eip8_spec_vectors_decode_and_derive_the_spec_secrets() {
    let doc = load_json("spec/eip8-handshake.json");
    let hs = &doc["rlpx_handshake"];
    let key_a = key(hs, "Static Key A");
    let key_b = key(hs, "Static Key B");
    let eph_a = key(hs, "Ephemeral Key A");
    let eph_b = key(hs, "Ephemeral Key B");
    let nonce_a = arr32(hs, "Nonce A");
    let nonce_b = arr32(hs, "Nonce B");
    // The pair whose secrets and ingress MAC the file records, named by the
    // key `connection_secrets_node_B_for_<Auth>_<Ack>`.
    let (secrets_key, mac_pair) = hs
        .as_object()
        .expect("rlpx_handshake object")
        .keys()
        .find_map(|k| {
            let pair = k.strip_prefix("connection_secrets_node_B_for_")?;
            let (a, b) = pair.split_once('_')?;
            Some((k.clone(), (a.to_lowercase(), b.to_lowercase())))
        })
        .expect("a connection_secrets_node_B_for_<Auth>_<Ack> object");
    let secrets = &hs[&secrets_key];
    let want_aes = hex_field(secrets, "aes-secret");
    let want_mac = hex_field(secrets, "mac-secret");
    let mut mac_checked = 0;

    let packets = hs["packets"].as_array().expect("packets");
    let (auths, acks): (Vec<&Value>, Vec<&Value>) =
        packets.iter().partition(|p| p["kind"] == "auth");
    assert!(!auths.is_empty() && !acks.is_empty());

    let recipient = Recipient::new(key_b.clone());
    for auth in &auths {
        let name = auth["name_ascii"].as_str().unwrap_or("?");
        let packet = hex_field(auth, "hex");
        let (parsed, used) = recipient
            .read_auth(&packet)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .unwrap_or_else(|| panic!("{name}: incomplete"));
        assert_eq!(used, packet.len(), "{name}");
        assert_eq!(parsed.remote, key_a.public_key(), "{name}");
        assert_eq!(parsed.remote_ephemeral, eph_a.public_key(), "{name}");
        assert_eq!(parsed.nonce, nonce_a, "{name}");
        // go-ethereum reads an auth of exactly the legacy size as legacy.
        let legacy = packet.len() == status_rlpx::handshake::LEGACY_AUTH_LEN;
        let want = if legacy {
            AuthFormat::Legacy
        } else {
            AuthFormat::Eip8
        };
        assert_eq!(parsed.format, want, "{name}");

        // Pair the auth with every ack: the AES and MAC secrets depend only
        // on keys and nonces, so every pair must give the spec's values.
        for ack in &acks {
            let ack_name = ack["name_ascii"].as_str().unwrap_or("?");
            let ack_packet = hex_field(ack, "hex");
            let initiator = Initiator::from_parts(
                key_a.clone(),
                key_b.public_key(),
                eph_a.clone(),
                nonce_a,
                packet.clone(),
            );
            let (done, used) = initiator
                .handle_ack(&ack_packet)
                .unwrap_or_else(|e| panic!("{ack_name}: {e}"))
                .unwrap_or_else(|| panic!("{ack_name}: incomplete"));
            assert_eq!(used, ack_packet.len(), "{ack_name}");
            assert_eq!(done.remote, key_b.public_key());
            assert_eq!(
                done.secrets.aes_secret()[..],
                want_aes[..],
                "{name}/{ack_name}"
            );
            assert_eq!(
                done.secrets.mac_secret()[..],
                want_mac[..],
                "{name}/{ack_name}"
            );
            if (name, ack_name) == (mac_pair.0.as_str(), mac_pair.1.as_str()) {
                // B's ingress MAC is A's egress MAC.
                let foo = done.secrets.egress_mac_digest_after(b"foo");
                let want = hex_field(&hs["ingress_mac_node_B"], "ingress-mac(\"foo\")");
                assert_eq!(foo[..], want[..], "{name}/{ack_name}: ingress-mac(\"foo\")");
                mac_checked += 1;
            }
        }
    }
    assert!(
        mac_checked > 0,
        "no auth/ack pair named {mac_pair:?} for the ingress MAC"
    );
    // Every ack carries B's ephemeral key and nonce: B, answering any auth
    // with them, derives the same AES and MAC secrets.
    for auth_v in &auths {
        let name = auth_v["name_ascii"].as_str().unwrap_or("?");
        let packet = hex_field(auth_v, "hex");
        let (auth, _) = recipient
            .read_auth(&packet)
            .expect("auth")
            .expect("complete");
        let mut tape = Tape::new();
        tape.push(&eph_b.to_bytes()[..]);
        tape.push(&nonce_b);
        tape.push(&[0u8; 4]);
        tape.push(&[1u8; 48]);
        let (_, done) = recipient.respond(&mut tape, &auth, &packet);
        assert_eq!(done.secrets.aes_secret()[..], want_aes[..], "{name}");
        assert_eq!(done.secrets.mac_secret()[..], want_mac[..], "{name}");
    }
}

/// Replays one status-go handshake case through our code with the recorded
/// randomness and checks every byte and secret.
fn check_status_go_handshake(case: &Value) {
    let name = description(case);
    let auth_v = &case["auth"];
    let ack_v = &case["ack"];
    let init_static = key(&case["initiator_static"], "private");
    let resp_static = key(&case["recipient_static"], "private");
    let format = if hex_field(auth_v, "packet").len() == status_rlpx::handshake::LEGACY_AUTH_LEN {
        AuthFormat::Legacy
    } else {
        AuthFormat::Eip8
    };

    let padding = |v: &Value| -> [u8; 4] {
        let n = v["padding_len"].as_u64().expect("padding_len") as u32;
        (n - 100).to_le_bytes()
    };
    let mut tape = Tape::new();
    tape.push(&hex_field(case, "init_nonce"));
    tape.push(&hex_field(&case["initiator_ephemeral"], "private"));
    if format == AuthFormat::Eip8 {
        tape.push(&padding(auth_v));
    }
    tape.push(&hex_field(auth_v, "ecies_ephemeral_private"));
    tape.push(&hex_field(auth_v, "ecies_iv"));
    let initiator = Initiator::new(
        &mut tape,
        init_static.clone(),
        resp_static.public_key(),
        format,
    );
    assert!(
        tape.is_empty(),
        "{name}: auth used less randomness than recorded"
    );
    let auth_packet = hex_field(auth_v, "packet");
    assert_eq!(
        hex::encode(initiator.auth_packet()),
        hex::encode(&auth_packet),
        "{name}: auth bytes"
    );

    let recipient = Recipient::new(resp_static.clone());
    let (auth, used) = recipient
        .read_auth(&auth_packet)
        .expect("auth")
        .expect("complete");
    assert_eq!(used, auth_packet.len());
    assert_eq!(auth.remote, init_static.public_key(), "{name}");
    let eph_pub = PublicKey::from_slice(&hex_field(
        &case["initiator_ephemeral"],
        "public_uncompressed",
    ))
    .unwrap();
    assert_eq!(auth.remote_ephemeral, eph_pub, "{name}");

    let mut tape = Tape::new();
    tape.push(&hex_field(&case["recipient_ephemeral"], "private"));
    tape.push(&hex_field(case, "resp_nonce"));
    if format == AuthFormat::Eip8 {
        tape.push(&padding(ack_v));
    }
    tape.push(&hex_field(ack_v, "ecies_ephemeral_private"));
    tape.push(&hex_field(ack_v, "ecies_iv"));
    let (ack, resp_done) = recipient.respond(&mut tape, &auth, &auth_packet);
    assert!(
        tape.is_empty(),
        "{name}: ack used less randomness than recorded"
    );
    assert_eq!(
        hex::encode(&ack),
        hex::encode(hex_field(ack_v, "packet")),
        "{name}: ack bytes"
    );

    let (init_done, used) = initiator.handle_ack(&ack).expect("ack").expect("complete");
    assert_eq!(used, ack.len());
    for (side, done) in [
        ("initiator_secrets", &init_done),
        ("recipient_secrets", &resp_done),
    ] {
        let want = &case[side];
        let s = &done.secrets;
        assert_eq!(
            s.aes_secret()[..],
            hex_field(want, "aes_secret")[..],
            "{name} {side}"
        );
        assert_eq!(
            s.mac_secret()[..],
            hex_field(want, "mac_secret")[..],
            "{name} {side}"
        );
        assert_eq!(
            s.egress_mac_digest()[..],
            hex_field(want, "egress_mac_initial_digest")[..],
            "{name} {side}"
        );
        assert_eq!(
            s.ingress_mac_digest()[..],
            hex_field(want, "ingress_mac_initial_digest")[..],
            "{name} {side}"
        );
    }
}

#[test]
fn status_go_handshakes_reproduce_byte_for_byte() {
    const FILE: &str = "status-go/rlpx.json";
    let cases = status_vectors::cases(FILE);
    let mut seen = Coverage::new(FILE, cases.len());
    for case in &cases {
        if case["kind"] == "handshake" {
            check_status_go_handshake(case);
            seen.check("handshake");
        } else {
            // frames: tests/frame_vectors.rs and tests/p2p_vectors.rs
            seen.elsewhere();
        }
    }
    seen.finish(&["handshake"]);
}
