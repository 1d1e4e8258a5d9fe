//! status-go v0.55.1 vectors for the Whisper v6 message payload
//! (status-go/waku_message.json), in both directions: our `open` reads
//! status-go's envelope data, and our `wrap` reproduces status-go's bytes
//! from its recorded randomness.
//!
//! The file's cases have no `kind`; they are told apart by their fields:
//! - a message (`decrypt_ok`): symmetric when it has `sym_key`, else
//!   asymmetric to `recipient`; signed when it has `signer`. `open`, behind
//!   two wrong keys, gives `plaintext`, `decrypted_payload`,
//!   `decrypted_padding`, `signature`, `recovered_signer_public` and the
//!   AES-GCM nonce; `wrap`, fed the recorded padding (when not given),
//!   nonce or ECIES key and IV, gives `envelope_data`, `expiry`,
//!   `envelope_nonce` and `envelope_hash`.
//! - a failure (`error`): `envelope_data` does not open with `sym_key`.
//!
//! Every case, tampered with or cut short, never opens and never panics.

use serde_json::Value;
use status_core::{PublicKey, SecretKey, Timestamp};
use status_vectors::Tape;
use status_vectors::{bool_field, cases, description, hex_field, u64_field, Coverage};
use status_waku::message::{build_plaintext, SymmetricKey};
use status_waku::{open, wrap, Encryption, Error, MessageParams, OpenKey, Topic};

const FILE: &str = "status-go/waku_message.json";

fn sym_key(c: &Value) -> SymmetricKey {
    hex_field(c, "sym_key")
        .try_into()
        .unwrap_or_else(|_| panic!("{}: sym_key is not 32 bytes", description(c)))
}

fn secret(c: &Value, who: &str) -> SecretKey {
    SecretKey::from_bytes(&hex_field(&c[who], "private"))
        .unwrap_or_else(|e| panic!("{}: {who}: {e:?}", description(c)))
}

fn public(c: &Value, who: &str) -> PublicKey {
    PublicKey::from_slice(&hex_field(&c[who], "public_uncompressed"))
        .unwrap_or_else(|e| panic!("{}: {who}: {e:?}", description(c)))
}

/// A key of the same kind that is not the case's: one bit flipped.
fn other_sym(key: &SymmetricKey) -> SymmetricKey {
    let mut k = *key;
    k[0] ^= 1;
    k
}

/// Opening status-go's bytes gives its payload, padding, signature, signer.
fn check_open(c: &Value) {
    let what = description(c);
    let data = hex_field(c, "envelope_data");
    let sym;
    let bob;
    let key = if c.get("sym_key").is_some() {
        sym = sym_key(c);
        OpenKey::Symmetric(&sym)
    } else {
        bob = secret(c, "recipient");
        OpenKey::Asymmetric(&bob)
    };
    // Wrong keys first: open must skip them and report the right index.
    let wrong_sym = match key {
        OpenKey::Symmetric(k) => other_sym(k),
        OpenKey::Asymmetric(_) => [0x33u8; 32],
    };
    let wrong_sk = match key {
        OpenKey::Asymmetric(k) => SecretKey::from_bytes(&status_core::keccak256(&k.to_bytes()[..]))
            .expect("a hash is a valid key"),
        OpenKey::Symmetric(_) => SecretKey::from_bytes(&[0x44; 32]).unwrap(),
    };
    let keys = [
        OpenKey::Symmetric(&wrong_sym),
        OpenKey::Asymmetric(&wrong_sk),
        key,
    ];
    let m = open(&data, &keys).unwrap_or_else(|e| panic!("{what}: open: {e}"));
    assert_eq!(m.key_index(), 2, "{what}");
    assert_eq!(
        m.plaintext(),
        hex_field(c, "plaintext"),
        "{what}: plaintext"
    );
    assert_eq!(
        m.payload(),
        hex_field(c, "decrypted_payload"),
        "{what}: payload"
    );
    assert_eq!(
        m.padding(),
        hex_field(c, "decrypted_padding"),
        "{what}: padding"
    );
    let sig = hex_field(c, "signature");
    if sig.is_empty() {
        assert!(
            m.signature().is_none() && m.signer().is_none(),
            "{what}: signed"
        );
    } else {
        let got = m.signature().unwrap_or_else(|| panic!("{what}: unsigned"));
        assert_eq!(got.as_bytes().to_vec(), sig, "{what}: signature");
        assert_eq!(
            m.signer()
                .unwrap_or_else(|| panic!("{what}: no signer"))
                .to_uncompressed()
                .to_vec(),
            hex_field(c, "recovered_signer_public"),
            "{what}: signer"
        );
    }
    if let Some(n) = m.aes_nonce() {
        assert_eq!(
            n.to_vec(),
            hex_field(c, "aes_gcm_nonce_salt"),
            "{what}: nonce"
        );
    }
}

/// Wrapping with status-go's recorded randomness reproduces its bytes.
fn check_wrap(c: &Value) {
    let what = description(c);
    let payload = hex_field(c, "payload");
    let padding_given = hex_field(c, "padding_given");
    let mut t = Tape::new();
    if padding_given.is_empty() {
        // Random padding is read first, straight from crypto/rand.
        let pad = hex_field(c, "decrypted_padding");
        assert!(
            hex_field(c, "rng_tape").starts_with(&pad),
            "{what}: the tape starts with the padding"
        );
        t.push(&pad);
    }
    let sym;
    let bob_pub;
    let encryption = if c.get("sym_key").is_some() {
        sym = sym_key(c);
        // status-go mixes math/rand into the AES-GCM nonce: replay the nonce it used.
        t.push(&hex_field(c, "aes_gcm_nonce_salt"));
        Encryption::Symmetric(&sym)
    } else {
        bob_pub = public(c, "recipient");
        // Go's elliptic.GenerateKey flips a bit of the tape bytes; the vector
        // records the resulting key, which is what our ECIES draws.
        t.push(&hex_field(c, "ecies_ephemeral_private"));
        t.push(&hex_field(c, "ecies_iv"));
        Encryption::Asymmetric(&bob_pub)
    };
    let alice;
    let signer = if c.get("signer").is_some() {
        alice = secret(c, "signer");
        Some(&alice)
    } else {
        None
    };
    let topic = Topic::from_slice(&hex_field(c, "topic"))
        .unwrap_or_else(|| panic!("{what}: topic is not 4 bytes"));
    let params = MessageParams {
        payload: &payload,
        padding: (!padding_given.is_empty()).then_some(&padding_given[..]),
        signer,
        encryption,
        topic,
        ttl: u32::try_from(u64_field(c, "ttl")).expect("ttl fits u32"),
        pow_target: 0.0,
        max_pow_attempts: 0,
    };
    // The plaintext alone (same tape prefix) matches too.
    let mut t2 = Tape::new();
    t2.push(&hex_field(c, "decrypted_padding"));
    let raw = build_plaintext(&mut t2, &payload, params.padding, signer)
        .unwrap_or_else(|e| panic!("{what}: build_plaintext: {e}"));
    assert_eq!(*raw, hex_field(c, "plaintext"), "{what}: plaintext");

    let now = Timestamp::from_secs(u64_field(c, "now_unix"));
    let env = wrap(&mut t, &params, now).unwrap_or_else(|e| panic!("{what}: wrap: {e}"));
    assert!(t.is_empty(), "{what}: all recorded randomness consumed");
    assert_eq!(
        hex::encode(&env.data),
        hex::encode(hex_field(c, "envelope_data")),
        "{what}: envelope data"
    );
    assert_eq!(
        u64::from(env.expiry),
        u64_field(c, "expiry"),
        "{what}: expiry"
    );
    assert_eq!(env.nonce, u64_field(c, "envelope_nonce"), "{what}: nonce");
    assert_eq!(
        env.hash().to_vec(),
        hex_field(c, "envelope_hash"),
        "{what}: hash"
    );
}

#[test]
fn every_message_case_opens_and_reproduces_status_go_bytes() {
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for c in &all {
        let what = description(c);
        if c.get("error").is_some() {
            // Decryption with a wrong key fails.
            let data = hex_field(c, "envelope_data");
            let k = sym_key(c);
            assert_eq!(
                open(&data, &[OpenKey::Symmetric(&k)]).err(),
                Some(Error::NoMatchingKey),
                "{what}"
            );
            seen.check("failure");
        } else {
            assert!(bool_field(c, "decrypt_ok"), "{what}: status-go failed it");
            check_open(c);
            check_wrap(c);
            let sym = c.get("sym_key").is_some();
            let signed = c.get("signer").is_some();
            seen.check(match (sym, signed) {
                (true, false) => "symmetric",
                (true, true) => "symmetric signed",
                (false, false) => "asymmetric",
                (false, true) => "asymmetric signed",
            });
        }
    }
    seen.finish(&["symmetric", "asymmetric", "failure"]);
}

#[test]
fn tampered_envelope_data_never_opens_and_never_panics() {
    for c in cases(FILE) {
        let data = hex_field(&c, "envelope_data");
        let sym;
        let sk;
        let key = if c.get("sym_key").is_some() {
            sym = sym_key(&c);
            OpenKey::Symmetric(&sym)
        } else {
            sk = secret(&c, "recipient");
            OpenKey::Asymmetric(&sk)
        };
        let what = description(&c);
        for i in (0..data.len()).step_by(7) {
            let mut d = data.clone();
            d[i] ^= 1;
            assert!(open(&d, &[key]).is_err(), "{what}: byte {i} flipped opens");
        }
        for n in (0..data.len()).step_by(13) {
            assert!(open(&data[..n], &[key]).is_err(), "{what}: {n} bytes open");
        }
    }
}
