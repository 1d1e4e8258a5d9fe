//! status-go v0.55.1 vectors (status-go/encryption.json): X3DH, bundles,
//! and a whole alice/bob session replayed from status-go's recorded RNG
//! tape, checking that our bytes equal status-go's and that status-go's
//! bytes decrypt here, in both directions.

use serde_json::Value;
use status_core::{PublicKey, SecretKey, Timestamp};
use status_encryption::bundle::{build_bundle, sign_bundle, signature_material, verify_bundle};
use status_encryption::x3dh::{x3dh_active, x3dh_passive};
use status_encryption::{
    generate_secret, Config, Encryptor, MemoryStore, PayloadKind, NO_INSTALLATION_ID,
};
use status_proto::encryption::{Bundle, ProtocolMessage};
use status_proto::Message;
use status_vectors::Tape;
use status_vectors::{cases, hex_field};

const FILE: &str = "status-go/encryption.json";

fn sk(v: &Value, key: &str) -> SecretKey {
    SecretKey::from_bytes(&hex_field(&v[key], "private")).unwrap()
}

fn pk(v: &Value, key: &str) -> PublicKey {
    PublicKey::from_slice(&hex_field(&v[key], "public_compressed")).unwrap()
}

fn by_kind(kind: &str) -> Vec<Value> {
    cases(FILE)
        .into_iter()
        .filter(|c| c["kind"] == kind)
        .collect()
}

fn ms_of_ns(ns: i64) -> Timestamp {
    Timestamp::from_millis(u64::try_from(ns / 1_000_000).unwrap())
}

#[test]
fn every_case_kind_is_covered() {
    let known = [
        "x3dh",
        "x3dh_active",
        "bundle",
        "direct_message",
        "session_tape",
        "dh_message",
        "public_message",
    ];
    let all = cases(FILE);
    assert_eq!(all.len(), 11);
    for c in &all {
        assert!(known.contains(&c["kind"].as_str().unwrap()), "{c}");
    }
}

#[test]
fn x3dh_shared_secret_matches_status_go() {
    let list = by_kind("x3dh");
    assert!(!list.is_empty());
    for c in list {
        let (ika, ikb) = (sk(&c, "alice_identity"), sk(&c, "bob_identity"));
        let (eka, spkb) = (sk(&c, "alice_ephemeral"), sk(&c, "bob_signed_prekey"));
        let expected = hex_field(&c, "shared_secret");
        let passive = x3dh_passive(&ikb, &spkb, &ika.public_key(), &eka.public_key());
        let active = x3dh_active(&ika, &eka, &ikb.public_key(), &spkb.public_key());
        assert_eq!(&passive[..], &expected[..]);
        assert_eq!(&active[..], &expected[..]);
        // the individual DH terms as recorded
        let dh1 = status_core::ecdh_x(&ika, &spkb.public_key());
        assert_eq!(&dh1[..], &hex_field(&c, "dh1")[..]);
        let dh2 = status_core::ecdh_x(&eka, &ikb.public_key());
        assert_eq!(&dh2[..], &hex_field(&c, "dh2")[..]);
        let dh3 = status_core::ecdh_x(&eka, &spkb.public_key());
        assert_eq!(&dh3[..], &hex_field(&c, "dh3")[..]);
    }
}

#[test]
fn x3dh_active_ephemeral_replays_from_tape() {
    let fixtures = &by_kind("x3dh")[0];
    let list = by_kind("x3dh_active");
    assert!(!list.is_empty());
    for c in list {
        let mut t = Tape::new();
        t.push(&hex_field(&c, "rng_tape"));
        let eph = generate_secret(&mut t);
        assert!(t.is_empty());
        assert_eq!(&eph.to_bytes()[..], &hex_field(&c, "ephemeral_private")[..]);
        assert_eq!(
            eph.public_key().to_uncompressed().to_vec(),
            hex_field(&c, "ephemeral_public")
        );
        // PerformActiveX3DH(bob IK, bob SPK = the "carol" key, alice)
        let alice = sk(fixtures, "alice_identity");
        let bob = pk(fixtures, "bob_identity");
        let spk = pk(fixtures, "bob_signed_prekey");
        let secret = x3dh_active(&alice, &eph, &bob, &spk);
        assert_eq!(&secret[..], &hex_field(&c, "shared_secret")[..]);
        let passive = x3dh_passive(
            &sk(fixtures, "bob_identity"),
            &sk(fixtures, "bob_signed_prekey"),
            &alice.public_key(),
            &eph.public_key(),
        );
        assert_eq!(&passive[..], &hex_field(&c, "passive_shared_secret")[..]);
    }
}

#[test]
fn bundle_is_created_and_signed_like_status_go() {
    let list = by_kind("bundle");
    assert!(!list.is_empty());
    for c in list {
        let identity = sk(&c, "identity");
        let mut t = Tape::new();
        t.push(&hex_field(&c, "rng_tape"));
        let spk = generate_secret(&mut t);
        assert!(t.is_empty());
        assert_eq!(
            &spk.to_bytes()[..],
            &hex_field(&c, "signed_pre_key_private")[..]
        );
        assert_eq!(
            spk.public_key().to_compressed().to_vec(),
            hex_field(&c, "signed_pre_key")
        );
        let wire = hex_field(&c, "bundle_protobuf");
        let decoded = Bundle::decode(wire.as_slice()).unwrap();
        let mut spks = std::collections::BTreeMap::new();
        spks.insert(
            c["installation_id"].as_str().unwrap().to_owned(),
            status_proto::encryption::SignedPreKey {
                signed_pre_key: spk.public_key().to_compressed().to_vec(),
                version: u32::try_from(c["signed_pre_key_version"].as_u64().unwrap()).unwrap(),
                protocol_version: u32::try_from(c["protocol_version"].as_u64().unwrap()).unwrap(),
            },
        );
        let ours = build_bundle(&identity, spks, c["timestamp"].as_i64().unwrap());
        assert_eq!(ours.signature, hex_field(&c, "signature"));
        assert_eq!(ours.encode_to_vec(), wire);
        assert_eq!(ours, decoded);
        let recovered = verify_bundle(&decoded).unwrap();
        assert_eq!(recovered, identity.public_key());
        assert!(c["verify_error"].as_str().unwrap().is_empty());
    }
}

#[test]
fn every_bundle_in_every_message_verifies() {
    let mut n = 0;
    for c in cases(FILE) {
        let Some(bytes) = c.get("protocol_message_protobuf") else {
            continue;
        };
        let msg = ProtocolMessage::decode(hex::decode(bytes.as_str().unwrap()).unwrap().as_slice())
            .unwrap();
        assert_eq!(
            msg.encode_to_vec(),
            hex_field(&c, "protocol_message_protobuf"),
            "prost re-encodes status-go's bytes exactly"
        );
        for b in &msg.bundles {
            let id = verify_bundle(b).unwrap();
            assert_eq!(id.to_compressed().to_vec(), b.identity);
            // a flipped byte in the signed material breaks it
            let mut bad = b.clone();
            bad.timestamp += 1;
            assert!(verify_bundle(&bad).is_err());
            n += 1;
        }
        assert!(!signature_material(&msg.bundles[0]).is_empty());
    }
    assert_eq!(n, 7);
}

/// Re-signs `ours` with status-go's nanosecond timestamp (our Timestamp is
/// in milliseconds) and checks it then equals status-go's bundle.
fn assert_same_bundle(identity: &SecretKey, ours: &Bundle, theirs: &Bundle) {
    assert_eq!(ours.identity, theirs.identity);
    assert_eq!(ours.signed_pre_keys, theirs.signed_pre_keys);
    let mut resigned = ours.clone();
    resigned.timestamp = theirs.timestamp;
    sign_bundle(identity, &mut resigned);
    assert_eq!(resigned.encode_to_vec(), theirs.encode_to_vec());
}

/// The whole recorded alice/bob session: both Encryptors draw from one
/// tape in status-go's order, so every key, header and ciphertext must be
/// status-go's, and every status-go message must decrypt on our side.
#[test]
fn session_replays_status_go_bytes_in_both_directions() {
    let session_tape = &by_kind("session_tape")[0];
    let fixtures = &by_kind("x3dh")[0];
    let alice_key = sk(fixtures, "alice_identity");
    let bob_key = sk(fixtures, "bob_identity");
    let alice_pub = alice_key.public_key();
    let bob_pub = bob_key.public_key();
    let bundle_case = &by_kind("bundle")[0];
    let t0 = ms_of_ns(bundle_case["timestamp"].as_i64().unwrap());

    let mut tape = Tape::new();
    tape.push(&hex_field(session_tape, "rng_tape"));
    let mut alice = Encryptor::new(
        Config::default(),
        alice_key.clone(),
        "alice-installation".into(),
        MemoryStore::new(),
    );
    let mut bob = Encryptor::new(
        Config::default(),
        bob_key.clone(),
        bundle_case["installation_id"].as_str().unwrap().into(),
        MemoryStore::new(),
    );

    // bob's bundle comes first on the tape; alice learns it (no randomness)
    let contact_code = bob.encrypt_public(t0, &mut tape, &[]).unwrap();
    let status_go_bundle =
        Bundle::decode(hex_field(bundle_case, "bundle_protobuf").as_slice()).unwrap();
    assert_same_bundle(&bob_key, &contact_code.bundles[0], &status_go_bundle);
    alice
        .decrypt(
            t0,
            &mut tape,
            &bob_pub,
            &ProtocolMessage {
                bundles: vec![status_go_bundle],
                installation_id: "bob-installation".into(),
                public_message: b"hi".to_vec(),
                ..Default::default()
            },
        )
        .unwrap();

    let mut checked = 0;
    for c in by_kind("direct_message") {
        let from_alice = c["sender"] == "alice";
        let (sender, receiver, sender_key, to) = if from_alice {
            (&mut alice, &mut bob, &alice_key, &bob_pub)
        } else {
            (&mut bob, &mut alice, &bob_key, &alice_pub)
        };
        let from = sender_key.public_key();
        let wire = hex_field(&c, "protocol_message_protobuf");
        let theirs = ProtocolMessage::decode(wire.as_slice()).unwrap();
        let now = ms_of_ns(theirs.bundles[0].timestamp);
        let plaintext = hex_field(&c, "plaintext");

        let ours = sender.encrypt(now, &mut tape, to, &plaintext).unwrap();
        assert_eq!(ours.installation_id, c["installation_id"].as_str().unwrap());
        assert_eq!(
            ours.direct_message, theirs.direct_message,
            "{}",
            c["description"]
        );
        assert_same_bundle(sender_key, &ours.bundles[0], &theirs.bundles[0]);
        let mut same_bundle = ours.clone();
        same_bundle.bundles = theirs.bundles.clone();
        assert_eq!(same_bundle.encode_to_vec(), wire);

        // the negotiated secret, once every targeted installation answered
        let expected_secret = hex_field(&c, "shared_secret_for_negotiated_topic");
        let agreed = sender.secret_agreed(to).unwrap();
        assert_eq!(agreed, !expected_secret.is_empty());
        if agreed {
            assert_eq!(&sender.shared_secret(to)[..], &expected_secret[..]);
        }

        // the receiver decrypts status-go's bytes
        let got = receiver.decrypt(now, &mut tape, &from, &theirs).unwrap();
        assert_eq!(got.payload, hex_field(&c, "decrypted"));
        assert_eq!(got.kind, PayloadKind::Ratchet);
        assert!(c["decrypt_error"].as_str().unwrap().is_empty());
        checked += 1;
    }
    assert_eq!(checked, 5);
    assert!(
        tape.is_empty(),
        "the session drew exactly status-go's randomness"
    );

    // DH-only message alice -> carol: ephemeral then nonce from the tape
    for c in by_kind("dh_message") {
        let wire = hex_field(&c, "protocol_message_protobuf");
        let theirs = ProtocolMessage::decode(wire.as_slice()).unwrap();
        let carol_key = sk(&c, "recipient_identity");
        let carol_pub = carol_key.public_key();
        let now = ms_of_ns(theirs.bundles[0].timestamp);
        let mut t = Tape::new();
        t.push(&hex_field(&c, "rng_tape"));
        let ours = alice
            .encrypt(now, &mut t, &carol_pub, &hex_field(&c, "plaintext"))
            .unwrap();
        assert!(t.is_empty());
        assert_eq!(ours.direct_message, theirs.direct_message);
        assert!(ours.direct_message.contains_key(NO_INSTALLATION_ID));
        assert_same_bundle(&alice_key, &ours.bundles[0], &theirs.bundles[0]);
        let mut carol = Encryptor::new(
            Config::default(),
            carol_key,
            "carol-installation".into(),
            MemoryStore::new(),
        );
        let got = carol.decrypt(now, &mut t, &alice_pub, &theirs).unwrap();
        assert_eq!(got.payload, hex_field(&c, "plaintext"));
        assert_eq!(got.kind, PayloadKind::DhOnly);
    }

    for c in by_kind("public_message") {
        let wire = hex_field(&c, "protocol_message_protobuf");
        let theirs = ProtocolMessage::decode(wire.as_slice()).unwrap();
        let now = ms_of_ns(theirs.bundles[0].timestamp);
        let ours = alice
            .encrypt_public(now, &mut Tape::new(), &hex_field(&c, "plaintext"))
            .unwrap();
        assert_same_bundle(&alice_key, &ours.bundles[0], &theirs.bundles[0]);
        let mut same = ours.clone();
        same.bundles = theirs.bundles.clone();
        assert_eq!(same.encode_to_vec(), wire);
        let got = bob
            .decrypt(now, &mut Tape::new(), &alice_pub, &theirs)
            .unwrap();
        assert_eq!(got.payload, hex_field(&c, "plaintext"));
        assert_eq!(got.kind, PayloadKind::Public);
    }
}
