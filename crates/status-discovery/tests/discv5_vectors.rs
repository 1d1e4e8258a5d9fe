//! The discv5 wire test vectors (devp2p discv5-wire-test-vectors.md, copied
//! into `status-vectors/vectors/spec/discv5-wire.json`): every packet is
//! decoded and authenticated with node B's key, and rebuilt byte for byte
//! from its inputs; every crypto primitive case is checked both ways.

use serde_json::Value;
use status_core::{PublicKey, SecretKey};
use status_discovery::discv5::crypto::{
    decrypt_message, derive_keys, ecdh, encrypt_message, id_sign, id_verify, initiator_keys,
};
use status_discovery::discv5::message::{Message, RequestId};
use status_discovery::discv5::packet::{decode_packet, encode_packet, PacketHeader, PacketKind};
use status_discovery::{Enr, NodeId};

const FILE: &str = "spec/discv5-wire.json";

fn file() -> Value {
    status_vectors::load_json(FILE)
}

fn hex_of(v: &Value, key: &str) -> Vec<u8> {
    let s = v[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key} missing"));
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).unwrap_or_else(|e| panic!("{key}: {e}"))
}

fn arr<const N: usize>(v: &Value, key: &str) -> [u8; N] {
    hex_of(v, key)
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("{key} has {} bytes, want {N}", b.len()))
}

fn dec(v: &Value, key: &str) -> u64 {
    v[key].as_str().unwrap().parse().unwrap()
}

fn key(v: &Value, name: &str) -> SecretKey {
    SecretKey::from_bytes(&hex_of(&v["keys"], name)).unwrap()
}

/// Every packet case, dispatched on the flag decoded from its bytes.
#[test]
fn every_packet_decodes_authenticates_and_re_encodes() {
    let f = file();
    let node_a = key(&f, "node-a-key");
    let node_b = key(&f, "node-b-key");
    let id_a = NodeId::from_public_key(&node_a.public_key());
    let id_b = NodeId::from_public_key(&node_b.public_key());
    let packets = f["packets"].as_array().unwrap();
    assert!(!packets.is_empty());
    let mut seen_flags = Vec::new();
    for case in packets {
        let name = case["name"].as_str().unwrap();
        let inputs = &case["inputs"];
        let packet = hex_of(case, "packet");
        assert_eq!(id_a.0, arr::<32>(inputs, "src-node-id"), "{name}");
        assert_eq!(id_b.0, arr::<32>(inputs, "dest-node-id"), "{name}");

        let decoded = decode_packet(&id_b, &packet).unwrap_or_else(|e| panic!("{name}: {e}"));
        let header = decoded.header.clone();
        seen_flags.push(header.kind.flag());
        let mut rebuilt = Vec::new();
        match &header.kind {
            PacketKind::Message { src_id } => {
                assert_eq!(*src_id, id_a, "{name}");
                assert_eq!(header.nonce, arr::<12>(inputs, "nonce"), "{name}");
                let read_key = arr::<16>(inputs, "read-key");
                let pt = decrypt_message(
                    &read_key,
                    &header.nonce,
                    decoded.message,
                    &decoded.authenticated_data,
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                check_ping(name, inputs, &pt);
                // Re-encode from the inputs: same iv, nonce, key -> same bytes.
                let mut sealed = Vec::new();
                encrypt_message(
                    &read_key,
                    &header.nonce,
                    &pt,
                    &header.authenticated_data(),
                    &mut sealed,
                );
                encode_packet(&id_b, &header, &sealed, &mut rebuilt);
            }
            PacketKind::WhoAreYou { id_nonce, enr_seq } => {
                assert_eq!(
                    decoded.authenticated_data,
                    hex_of(inputs, "whoareyou.challenge-data"),
                    "{name}: challenge-data"
                );
                assert_eq!(header.nonce, arr::<12>(inputs, "whoareyou.request-nonce"));
                assert_eq!(*id_nonce, arr::<16>(inputs, "whoareyou.id-nonce"));
                assert_eq!(*enr_seq, dec(inputs, "whoareyou.enr-seq"));
                assert!(decoded.message.is_empty());
                encode_packet(&id_b, &header, &[], &mut rebuilt);
            }
            PacketKind::Handshake {
                src_id,
                id_signature,
                eph_pubkey,
                record,
            } => {
                let hs = &case["handshake_inputs"];
                let challenge = hex_of(hs, "whoareyou.challenge-data");
                assert_eq!(*src_id, id_a, "{name}");
                assert_eq!(header.nonce, arr::<12>(inputs, "nonce"), "{name}");
                assert_eq!(*eph_pubkey, arr::<33>(hs, "ephemeral-pubkey"), "{name}");
                // The challenge in the inputs is the WHOAREYOU the record
                // rule was applied to: a record is sent iff enr-seq is
                // below the sender's (ping.enr-seq here is A's seq).
                let whoareyou_seq = dec(hs, "whoareyou.enr-seq");
                assert_eq!(
                    record.is_some(),
                    whoareyou_seq < dec(inputs, "ping.enr-seq"),
                    "{name}: record presence"
                );
                if let Some(r) = record {
                    let enr = Enr::decode(r).unwrap_or_else(|e| panic!("{name}: record {e}"));
                    assert_eq!(enr.node_id(), id_a);
                }

                // Recipient side (node B): verify, derive, decrypt.
                id_verify(
                    &node_a.public_key(),
                    id_signature,
                    &challenge,
                    eph_pubkey,
                    &id_b,
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                let eph = PublicKey::from_slice(eph_pubkey).unwrap();
                let secret = ecdh(&eph, &node_b).unwrap();
                let keys = derive_keys(&secret, &challenge, &id_a, &id_b);
                assert_eq!(keys.initiator_key, arr::<16>(inputs, "read-key"), "{name}");
                let pt = decrypt_message(
                    &keys.initiator_key,
                    &header.nonce,
                    decoded.message,
                    &decoded.authenticated_data,
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
                check_ping(name, inputs, &pt);

                // Initiator side (node A): the same packet from the inputs.
                let eph_key = SecretKey::from_bytes(&hex_of(hs, "ephemeral-key")).unwrap();
                assert_eq!(eph_key.public_key().to_compressed(), *eph_pubkey);
                let keys_a =
                    initiator_keys(&eph_key, &node_b.public_key(), &challenge, &id_a, &id_b)
                        .unwrap();
                assert_eq!(keys_a, keys);
                let sig = id_sign(&node_a, &challenge, eph_pubkey, &id_b);
                assert_eq!(&sig, id_signature, "{name}: id-signature");
                let header_a = PacketHeader {
                    masking_iv: header.masking_iv,
                    nonce: header.nonce,
                    kind: PacketKind::Handshake {
                        src_id: id_a,
                        id_signature: sig,
                        eph_pubkey: *eph_pubkey,
                        record: record.clone(),
                    },
                };
                let mut sealed = Vec::new();
                encrypt_message(
                    &keys_a.initiator_key,
                    &header.nonce,
                    &pt,
                    &header_a.authenticated_data(),
                    &mut sealed,
                );
                encode_packet(&id_b, &header_a, &sealed, &mut rebuilt);
            }
        }
        assert_eq!(
            hex::encode(&rebuilt),
            hex::encode(&packet),
            "{name}: re-encode"
        );
        // Masked with another id, the same bytes are not a discv5 packet.
        assert!(decode_packet(&id_a, &packet).is_err(), "{name}");
    }
    seen_flags.sort();
    seen_flags.dedup();
    assert_eq!(seen_flags, [0, 1, 2], "every packet flag is covered");
}

fn check_ping(name: &str, inputs: &Value, pt: &[u8]) {
    let expected = Message::Ping {
        request_id: RequestId::from_slice(&hex_of(inputs, "ping.req-id")).unwrap(),
        enr_seq: dec(inputs, "ping.enr-seq"),
    };
    assert_eq!(Message::decode(pt).unwrap(), expected, "{name}");
    assert_eq!(expected.encode(), pt, "{name}: message re-encode");
}

#[test]
fn every_crypto_case() {
    let f = file();
    let crypto = f["crypto"].as_object().unwrap();
    let mut done = Vec::new();
    for (name, case) in crypto {
        let i = &case["inputs"];
        let o = &case["outputs"];
        match name.as_str() {
            "ECDH" => {
                let pk = PublicKey::from_slice(&hex_of(i, "public-key")).unwrap();
                let sk = SecretKey::from_bytes(&hex_of(i, "secret-key")).unwrap();
                assert_eq!(ecdh(&pk, &sk).unwrap().to_vec(), hex_of(o, "shared-secret"));
            }
            "Key Derivation" => {
                let eph = SecretKey::from_bytes(&hex_of(i, "ephemeral-key")).unwrap();
                let dest = PublicKey::from_slice(&hex_of(i, "dest-pubkey")).unwrap();
                let keys = initiator_keys(
                    &eph,
                    &dest,
                    &hex_of(i, "challenge-data"),
                    &NodeId(arr(i, "node-id-a")),
                    &NodeId(arr(i, "node-id-b")),
                )
                .unwrap();
                assert_eq!(keys.initiator_key, arr::<16>(o, "initiator-key"));
                assert_eq!(keys.recipient_key, arr::<16>(o, "recipient-key"));
            }
            "ID Nonce Signing" => {
                let sk = SecretKey::from_bytes(&hex_of(i, "static-key")).unwrap();
                let challenge = hex_of(i, "challenge-data");
                let eph = arr::<33>(i, "ephemeral-pubkey");
                let dest = NodeId(arr(i, "node-id-B"));
                let sig = id_sign(&sk, &challenge, &eph, &dest);
                assert_eq!(sig, arr::<64>(o, "id-signature"));
                // "apply this test vector in reverse"
                id_verify(&sk.public_key(), &sig, &challenge, &eph, &dest).unwrap();
                assert!(
                    id_verify(&sk.public_key(), &sig, &challenge, &eph, &NodeId([0; 32])).is_err()
                );
            }
            "Encryption/Decryption" => {
                let k = arr::<16>(i, "encryption-key");
                let n = arr::<12>(i, "nonce");
                let pt = hex_of(i, "pt");
                let ad = hex_of(i, "ad");
                let mut ct = Vec::new();
                encrypt_message(&k, &n, &pt, &ad, &mut ct);
                assert_eq!(ct, hex_of(o, "message-ciphertext"));
                assert_eq!(decrypt_message(&k, &n, &ct, &ad).unwrap(), pt);
            }
            other => panic!("unhandled crypto case {other:?}: extend this test"),
        }
        done.push(name.as_str());
    }
    for name in [
        "ECDH",
        "Key Derivation",
        "ID Nonce Signing",
        "Encryption/Decryption",
    ] {
        assert!(done.contains(&name), "{FILE}: no {name:?} crypto case");
    }
}

/// The embedded JSON is a transcription of the spec's markdown: when the
/// markdown is at hand (the shared specs folder), every packet hex block
/// and crypto output in it must appear in the JSON, so nothing was lost in
/// copying. This checks the embedded copy itself, so it reads that copy
/// whatever `STATUS_RS_VECTORS` says (another set is not this markdown).
#[test]
fn json_matches_the_spec_markdown() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/devp2p-discv5-wire-test-vectors.md");
    let Ok(md) = std::fs::read_to_string(&path) else {
        eprintln!("SKIP: {} not found", path.display());
        return;
    };
    let embedded: Value = serde_json::from_str(
        &std::fs::read_to_string(status_vectors::embedded_dir().join(FILE)).unwrap(),
    )
    .unwrap();
    let json = embedded.to_string();
    // Packet blocks: runs of 4-space-indented pure-hex lines.
    let mut blocks = Vec::new();
    let mut cur = String::new();
    for line in md.lines() {
        let t = line.trim();
        let is_hex = line.starts_with("    ")
            && !t.is_empty()
            && t.len() % 2 == 0
            && t.chars().all(|c| c.is_ascii_hexdigit());
        if is_hex {
            cur.push_str(t);
        } else if !cur.is_empty() {
            blocks.push(std::mem::take(&mut cur));
        }
    }
    assert_eq!(
        blocks.len(),
        embedded["packets"].as_array().unwrap().len(),
        "one packet block in the markdown per JSON packet"
    );
    for b in &blocks {
        assert!(
            json.contains(b.as_str()),
            "packet {}.. missing from JSON",
            &b[..40]
        );
        assert!(decode_packet(
            &NodeId::from_public_key(&key(&embedded, "node-b-key").public_key()),
            &hex::decode(b).unwrap()
        )
        .is_ok());
    }
    // `name = 0x...` and `name: 0x...` lines.
    let mut n = 0;
    for line in md.lines() {
        if let Some((_, v)) = line.split_once(" 0x") {
            let v = v.trim();
            if v.chars().all(|c| c.is_ascii_hexdigit()) {
                assert!(json.contains(&format!("0x{v}")), "value 0x{v} missing");
                n += 1;
            }
        }
    }
    assert!(n > 0, "no hex values found in the markdown");
    // And the other way: every 0x value of the JSON is in the markdown.
    fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(&embedded, &mut all);
    for s in all.iter().filter(|s| s.starts_with("0x")) {
        assert!(md.contains(s), "JSON value {s} is not in the markdown");
    }
}
