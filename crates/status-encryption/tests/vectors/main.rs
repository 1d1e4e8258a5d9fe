//! status-go v0.55.1 vectors (`status-go/encryption.json`, or the file of
//! the same name under `$STATUS_RS_VECTORS`): X3DH, bundles, and the
//! recorded session replayed through our `Encryptor`s in both directions,
//! to every recipient installation.
//!
//! Every test goes through every case of its kinds and takes every input
//! and expected value from the case; failures name the case. Messages are
//! compared decoded (Go marshals map entries in random order, so a
//! ProtocolMessage or Bundle with two or more map entries has no one
//! encoding); bytes are compared where bytes are what status-go signs or
//! encrypts: bundle signatures, ratchet and DH-only ciphertexts, headers.
//!
//! The same checks then run on a multi-device session recorded from our
//! own Encryptors in status-go's JSON shape (`recording.rs`), and on that
//! recording with its map entries permuted.

mod case;
mod recording;
mod replay;

use serde_json::Value;
use status_encryption::bundle::{build_bundle, signature_material, verify_bundle};
use status_encryption::generate_secret;
use status_encryption::x3dh::{x3dh_active, x3dh_passive};
use status_proto::encryption::{Bundle, ProtocolMessage};
use status_proto::Message;
use status_vectors::generate::{permute_map_entries, Encoded};

use case::{
    bundle, bundle_list, derive, hex, int, key_object, kind, label, private, protocol_message,
    text, u32_field, Checked, Draws, KEY_DRAW,
};
use replay::{replay, MESSAGE_KINDS};

const FILE: &str = "status-go/encryption.json";

/// Every kind this suite knows; each must be in the file, and a case of
/// another kind fails the suite (it would go unchecked).
const KINDS: [&str; 7] = [
    "x3dh",
    "x3dh_active",
    "bundle",
    "direct_message",
    "session_tape",
    "dh_message",
    "public_message",
];

fn set() -> Vec<Value> {
    status_vectors::cases(FILE)
}

#[test]
fn every_case_kind_is_known_and_present() {
    let cases = set();
    for (i, c) in cases.iter().enumerate() {
        assert!(
            KINDS.contains(&kind(c)),
            "{}: a kind this suite does not check",
            label(i, c)
        );
    }
    for k in KINDS {
        assert!(
            cases.iter().any(|c| kind(c) == k),
            "{FILE} has no `{k}` case"
        );
    }
}

/// `x3dh` cases: the three DH terms and the secret, on both sides.
fn check_x3dh(cases: &[Value]) -> Checked {
    let mut checked = Checked::default();
    for (i, c) in cases.iter().enumerate().filter(|(_, c)| kind(c) == "x3dh") {
        let l = label(i, c);
        let ika = key_object(c, "alice_identity", &l);
        let ikb = key_object(c, "bob_identity", &l);
        let eka = key_object(c, "alice_ephemeral", &l);
        let spkb = key_object(c, "bob_signed_prekey", &l);
        let expected = hex(c, "shared_secret", &l);
        let passive = x3dh_passive(&ikb, &spkb, &ika.public_key(), &eka.public_key());
        let active = x3dh_active(&ika, &eka, &ikb.public_key(), &spkb.public_key());
        assert_eq!(&passive[..], &expected[..], "{l}: passive secret");
        assert_eq!(&active[..], &expected[..], "{l}: active secret");
        let dh1 = status_core::ecdh_x(&ika, &spkb.public_key());
        assert_eq!(&dh1[..], &hex(c, "dh1", &l)[..], "{l}: DH(IK_A, SPK_B)");
        let dh2 = status_core::ecdh_x(&eka, &ikb.public_key());
        assert_eq!(&dh2[..], &hex(c, "dh2", &l)[..], "{l}: DH(EK_A, IK_B)");
        let dh3 = status_core::ecdh_x(&eka, &spkb.public_key());
        assert_eq!(&dh3[..], &hex(c, "dh3", &l)[..], "{l}: DH(EK_A, SPK_B)");
        checked.mark(i);
    }
    checked
}

#[test]
fn x3dh_shared_secret_matches_status_go() {
    let cases = set();
    check_x3dh(&cases).assert_all(&cases, &["x3dh"]);
}

/// `x3dh_active` cases record status-go's `PerformActiveX3DH` with an
/// ephemeral from its tape; the identities and prekey it ran with are
/// those of an `x3dh` case (the case does not repeat them), so one of the
/// file's `x3dh` parties must give both recorded secrets.
fn check_x3dh_active(cases: &[Value]) -> Checked {
    let parties: Vec<_> = cases
        .iter()
        .enumerate()
        .filter(|(_, c)| kind(c) == "x3dh")
        .map(|(i, c)| {
            let l = label(i, c);
            (
                key_object(c, "alice_identity", &l),
                key_object(c, "bob_identity", &l),
                key_object(c, "bob_signed_prekey", &l),
            )
        })
        .collect();
    let mut checked = Checked::default();
    for (i, c) in cases
        .iter()
        .enumerate()
        .filter(|(_, c)| kind(c) == "x3dh_active")
    {
        let l = label(i, c);
        let mut tape = Draws::new(format!("{l}: the ephemeral"), hex(c, "rng_tape", &l));
        let eph = generate_secret(&mut tape);
        assert_eq!(tape.consumed(), tape.len(), "{l}: the tape is one key draw");
        assert_eq!(
            &eph.to_bytes()[..],
            &hex(c, "ephemeral_private", &l)[..],
            "{l}: the ephemeral Go derives from the tape"
        );
        assert_eq!(
            eph.public_key().to_uncompressed().to_vec(),
            hex(c, "ephemeral_public", &l),
            "{l}: ephemeral public key"
        );
        let secret = hex(c, "shared_secret", &l);
        let passive_secret = hex(c, "passive_shared_secret", &l);
        let found = parties.iter().any(|(alice, bob, spk)| {
            let active = x3dh_active(alice, &eph, &bob.public_key(), &spk.public_key());
            let passive = x3dh_passive(bob, spk, &alice.public_key(), &eph.public_key());
            active[..] == secret[..] && passive[..] == passive_secret[..]
        });
        assert!(
            found,
            "{l}: no x3dh case's parties give the recorded active and passive secrets"
        );
        checked.mark(i);
    }
    checked
}

#[test]
fn x3dh_active_ephemeral_replays_from_tape() {
    let cases = set();
    check_x3dh_active(&cases).assert_all(&cases, &["x3dh_active"]);
}

/// `bundle` cases (status-go `GetBundle`): the installation's signed
/// prekey from the tape, and our bundle over the decoded prekeys signed to
/// status-go's signature bytes. status-go signs keccak256 of the signature
/// material (ids sorted, `id || spk || decimal(version)`, then
/// `decimal(timestamp)`), not the protobuf, so the bundle itself is
/// compared decoded.
fn check_bundles(cases: &[Value]) -> Checked {
    let mut checked = Checked::default();
    for (i, c) in cases
        .iter()
        .enumerate()
        .filter(|(_, c)| kind(c) == "bundle")
    {
        let l = label(i, c);
        let identity = key_object(c, "identity", &l);
        let installation = text(c, "installation_id", &l);
        let mut tape = Draws::new(format!("{l}: the signed prekey"), hex(c, "rng_tape", &l));
        let spk = generate_secret(&mut tape);
        assert_eq!(tape.consumed(), tape.len(), "{l}: the tape is one key draw");
        assert_eq!(
            &spk.to_bytes()[..],
            &hex(c, "signed_pre_key_private", &l)[..],
            "{l}: the signed prekey Go derives from the tape"
        );
        assert_eq!(
            spk.public_key().to_compressed().to_vec(),
            hex(c, "signed_pre_key", &l),
            "{l}: signed_pre_key"
        );
        let decoded = bundle(&hex(c, "bundle_protobuf", &l), &l);
        assert_eq!(
            decoded.identity,
            identity.public_key().to_compressed(),
            "{l}: bundle identity"
        );
        assert_eq!(decoded.timestamp, int(c, "timestamp", &l), "{l}: timestamp");
        let own = decoded
            .signed_pre_keys
            .get(installation)
            .unwrap_or_else(|| panic!("{l}: no signed prekey for {installation}"));
        assert_eq!(
            own.signed_pre_key,
            spk.public_key().to_compressed(),
            "{l}: the installation's prekey in the bundle"
        );
        assert_eq!(
            own.version,
            u32_field(c, "signed_pre_key_version", &l),
            "{l}: version"
        );
        assert_eq!(
            own.protocol_version,
            u32_field(c, "protocol_version", &l),
            "{l}: protocol_version"
        );
        let ours = build_bundle(
            &identity,
            decoded.signed_pre_keys.clone(),
            decoded.timestamp,
        );
        assert_eq!(ours.signature, hex(c, "signature", &l), "{l}: signature");
        assert_eq!(ours, decoded, "{l}: our bundle");
        let verify_error = text(c, "verify_error", &l);
        match verify_bundle(&decoded) {
            Ok(id) if verify_error.is_empty() => {
                assert_eq!(id, identity.public_key(), "{l}: recovered identity")
            }
            Err(_) if !verify_error.is_empty() => {}
            other => panic!("{l}: status-go's verification said {verify_error:?}, ours {other:?}"),
        }
        checked.mark(i);
    }
    checked
}

#[test]
fn bundle_is_created_and_signed_like_status_go() {
    let cases = set();
    check_bundles(&cases).assert_all(&cases, &["bundle"]);
}

/// Every bundle anywhere in the file (bundle cases, `bundles_protobuf`,
/// the bundles inside each ProtocolMessage) verifies to its identity, and
/// changing a signed field breaks it. A message's `bundles_protobuf` are
/// its ProtocolMessage's bundles, decoded; its sender's bundle is there.
fn check_every_bundle(cases: &[Value]) -> Checked {
    let mut checked = Checked::default();
    for (i, c) in cases.iter().enumerate() {
        let l = label(i, c);
        let mut bundles: Vec<(String, Bundle)> = Vec::new();
        if c.get("bundle_protobuf").is_some() {
            let b = bundle(&hex(c, "bundle_protobuf", &l), &l);
            if !text(c, "verify_error", &l).is_empty() {
                assert!(verify_bundle(&b).is_err(), "{l}: status-go rejects it");
                checked.mark(i);
                continue;
            }
            bundles.push(("bundle_protobuf".into(), b));
        }
        if c.get("protocol_message_protobuf").is_some() {
            let pm: ProtocolMessage = protocol_message(c, "protocol_message_protobuf", &l);
            if c.get("bundles_protobuf").is_some() {
                assert_eq!(
                    bundle_list(c, "bundles_protobuf", &l),
                    pm.bundles,
                    "{l}: bundles_protobuf are the message's bundles"
                );
            }
            let sender = key_object(c, "sender_identity", &l).public_key();
            assert!(
                pm.bundles
                    .iter()
                    .any(|b| b.identity == sender.to_compressed()),
                "{l}: the message carries its sender's bundle"
            );
            for (n, b) in pm.bundles.into_iter().enumerate() {
                bundles.push((format!("bundle {n} of the message"), b));
            }
        }
        if bundles.is_empty() {
            continue;
        }
        for (what, b) in &bundles {
            let id = verify_bundle(b).unwrap_or_else(|e| panic!("{l}, {what}: {e}"));
            assert_eq!(id.to_compressed().to_vec(), b.identity, "{l}, {what}");
            assert!(!signature_material(b).is_empty(), "{l}, {what}");
            let mut later = b.clone();
            later.timestamp += 1;
            assert!(
                verify_bundle(&later).is_err(),
                "{l}, {what}: timestamp is signed"
            );
            for (installation, spk) in &b.signed_pre_keys {
                let mut bumped = b.clone();
                let entry = bumped.signed_pre_keys.get_mut(installation).expect("entry");
                entry.version = spk.version.wrapping_add(1);
                assert!(
                    verify_bundle(&bumped).is_err(),
                    "{l}, {what}: the version of {installation} is signed"
                );
            }
        }
        checked.mark(i);
    }
    checked
}

#[test]
fn every_bundle_in_every_message_verifies() {
    let cases = set();
    check_every_bundle(&cases).assert_all(
        &cases,
        &["bundle", "direct_message", "dh_message", "public_message"],
    );
}

/// The `session_tape` is the cumulative randomness of the bundle +
/// ratchet session: every `*_private` key of a direct message with a
/// `*_private_tape.offset` derives from its 40 bytes there, and each bundle
/// case's and direct message's own `rng_tape` is a contiguous part of it.
/// In the other cases (outside the session) an offset indexes the case's
/// own `rng_tape`.
fn check_session_tape(cases: &[Value]) -> Checked {
    let tapes: Vec<(usize, Vec<u8>)> = cases
        .iter()
        .enumerate()
        .filter(|(_, c)| kind(c) == "session_tape")
        .map(|(i, c)| (i, hex(c, "rng_tape", &label(i, c))))
        .collect();
    let mut checked = Checked::default();
    let mut use_tape = |at: Option<usize>, what: &str, hit: &dyn Fn(&[u8]) -> bool| {
        let used: Vec<usize> = tapes
            .iter()
            .filter(|(_, t)| hit(t))
            .map(|(i, _)| *i)
            .collect();
        assert!(
            !used.is_empty(),
            "{what}: in no session tape (offset {at:?})"
        );
        used.into_iter().for_each(|i| checked.mark(i));
    };
    for (i, c) in cases.iter().enumerate() {
        let l = label(i, c);
        let mut found = Vec::new();
        offsets(c, &l, &mut found);
        for (what, sk, offset) in found {
            let at = usize::try_from(offset).unwrap_or(usize::MAX);
            let derives = |t: &[u8]| {
                t.get(at..at.saturating_add(KEY_DRAW))
                    .is_some_and(|w| derive(w).public_key() == sk.public_key())
            };
            if kind(c) == "direct_message" {
                use_tape(Some(at), &what, &derives);
            } else {
                let own = hex(c, "rng_tape", &l);
                assert!(
                    derives(&own),
                    "{what}: not at offset {at} of the case's rng_tape"
                );
            }
        }
        if ["bundle", "direct_message"].contains(&kind(c)) {
            let own = hex(c, "rng_tape", &l);
            if !own.is_empty() {
                use_tape(None, &format!("{l}: rng_tape"), &|t: &[u8]| {
                    t.windows(own.len()).any(|w| w == own)
                });
            }
        }
    }
    checked
}

/// (what, key, offset) of every `X_private` beside an `X_private_tape`
/// object with an `offset`, anywhere in `v`.
fn offsets(v: &Value, l: &str, out: &mut Vec<(String, status_core::SecretKey, u64)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if let (Some(key), Some(offset)) = (
                    k.strip_suffix("_tape"),
                    x.get("offset").and_then(Value::as_u64),
                ) {
                    if map.contains_key(key) {
                        let what = format!("{l}, `{key}`");
                        out.push((what.clone(), private(v, key, &what), offset));
                    }
                }
                offsets(x, l, out);
            }
        }
        Value::Array(list) => list.iter().for_each(|x| offsets(x, l, out)),
        _ => {}
    }
}

#[test]
fn every_recorded_key_derives_from_its_session_tape_window() {
    let cases = set();
    check_session_tape(&cases).assert_all(&cases, &["session_tape"]);
}

/// The recorded session, from status-go's randomness: every direct
/// message comes out of our sender with status-go's headers, ciphertexts
/// and (re-signed) bundle, the negotiated secret appears when status-go's
/// does, and status-go's message decrypts on every installation it is for;
/// then the DH-only and public messages.
#[test]
fn session_replays_every_message_to_every_recipient_installation() {
    let cases = set();
    replay(&cases).checked.assert_all(&cases, &MESSAGE_KINDS);
}

/// Our recording through JSON text, as a file would hold it.
fn our_recording() -> Vec<Value> {
    let cases = recording::record(&set());
    let text = serde_json::to_string(&cases).expect("JSON");
    serde_json::from_str(&text).expect("JSON")
}

/// Two paired installations per side, recorded from our Encryptors: the
/// replay that runs status-go's recording reproduces our bytes exactly
/// from the recorded randomness, and every check above holds on it.
#[test]
fn multi_device_recording_of_our_encryptors_replays_to_our_bytes() {
    let cases = our_recording();
    let messages: Vec<(usize, ProtocolMessage)> = cases
        .iter()
        .enumerate()
        .filter(|(_, c)| kind(c) == "direct_message")
        .map(|(i, c)| {
            (
                i,
                protocol_message(c, "protocol_message_protobuf", &label(i, c)),
            )
        })
        .collect();
    // what makes it a multi-device recording
    assert!(messages.iter().any(|(_, m)| m.direct_message.len() >= 2));
    assert!(messages.iter().any(|(i, m)| {
        let c = &cases[*i];
        c["sender_identity"] == c["recipient_identity"] && !m.direct_message.is_empty()
    }));
    for (i, c) in cases
        .iter()
        .enumerate()
        .filter(|(_, c)| kind(c) == "direct_message")
    {
        let senders_of_side = messages
            .iter()
            .filter(|(j, _)| cases[*j]["sender_identity"] == c["sender_identity"])
            .map(|(_, m)| m.installation_id.clone())
            .collect::<std::collections::BTreeSet<_>>();
        assert!(senders_of_side.len() >= 2, "{}", label(i, c));
    }

    check_bundles(&cases).assert_all(&cases, &["bundle"]);
    check_every_bundle(&cases).assert_all(&cases, &["bundle", "direct_message"]);
    check_session_tape(&cases).assert_all(&cases, &["session_tape"]);
    let outcome = replay(&cases);
    outcome.checked.assert_all(&cases, &["direct_message"]);
    for (i, _) in &messages {
        let l = label(*i, &cases[*i]);
        assert_eq!(
            outcome.ours[i].encode_to_vec(),
            hex(&cases[*i], "protocol_message_protobuf", &l),
            "{l}: the replay gives our recorded bytes"
        );
    }
}

/// The same recording with the map entries of every ProtocolMessage and
/// Bundle in another order on the wire, as Go marshals them: the replay
/// compares decoded messages, and every receiver decrypts the permuted
/// bytes (no path of ours needs a received message's original encoding).
#[test]
fn recording_with_permuted_map_entries_replays_the_same() {
    let mut cases = our_recording();
    let mut changed = 0;
    for (i, c) in cases.iter_mut().enumerate() {
        let l = format!("case {i}");
        let mut permute = |v: &mut Value, kind: Encoded| {
            let bytes = hex::decode(v.as_str().expect("hex")).expect("hex");
            let out = permute_map_entries(&bytes, kind, 19 + i as u64)
                .unwrap_or_else(|e| panic!("{l}: {e}"));
            if out != bytes {
                changed += 1;
            }
            *v = hex::encode(out).into();
        };
        if let Some(v) = c.get_mut("protocol_message_protobuf") {
            permute(v, Encoded::ProtocolMessage);
        }
        if let Some(v) = c.get_mut("bundle_protobuf") {
            permute(v, Encoded::Bundle);
        }
        if let Some(Value::Array(list)) = c.get_mut("bundles_protobuf") {
            list.iter_mut().for_each(|v| permute(v, Encoded::Bundle));
        }
    }
    assert!(changed > 0, "no encoding had two map entries to permute");
    check_bundles(&cases).assert_all(&cases, &["bundle"]);
    check_every_bundle(&cases).assert_all(&cases, &["bundle", "direct_message"]);
    replay(&cases)
        .checked
        .assert_all(&cases, &["direct_message"]);
}
