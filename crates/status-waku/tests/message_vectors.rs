//! status-go v0.55.1 vectors for the Whisper v6 message payload
//! (status-go/waku_message.json), in both directions: our `open` reads
//! status-go's envelope data, and our `wrap` reproduces status-go's bytes
//! from its recorded randomness.

use serde_json::Value;
use status_core::{PublicKey, SecretKey, Timestamp};
use status_vectors::Tape;
use status_vectors::{cases, hex_field};
use status_waku::message::{build_plaintext, SymmetricKey};
use status_waku::{open, wrap, Encryption, Error, MessageParams, OpenKey, Topic};

const FILE: &str = "status-go/waku_message.json";

fn sym_key(c: &Value) -> SymmetricKey {
    hex_field(c, "sym_key").try_into().expect("32-byte key")
}

fn secret(c: &Value, who: &str) -> SecretKey {
    SecretKey::from_bytes(&hex_field(&c[who], "private")).expect("key")
}

fn public(c: &Value, who: &str) -> PublicKey {
    PublicKey::from_slice(&hex_field(&c[who], "public_uncompressed")).expect("key")
}

/// Opening status-go's bytes gives its payload, padding, signature, signer.
fn check_open(c: &Value) {
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
    // A wrong key first: open must skip it and report the right index.
    let wrong_sym = [0x33u8; 32];
    let wrong_sk = SecretKey::from_bytes(&[0x44; 32]).unwrap();
    let keys = [
        OpenKey::Symmetric(&wrong_sym),
        OpenKey::Asymmetric(&wrong_sk),
        key,
    ];
    let m = open(&data, &keys).expect("open");
    assert_eq!(m.key_index(), 2);
    assert_eq!(m.plaintext(), hex_field(c, "plaintext"));
    assert_eq!(m.payload(), hex_field(c, "decrypted_payload"));
    assert_eq!(m.padding(), hex_field(c, "decrypted_padding"));
    let sig = hex_field(c, "signature");
    if sig.is_empty() {
        assert!(m.signature().is_none() && m.signer().is_none());
    } else {
        assert_eq!(m.signature().unwrap().as_bytes().to_vec(), sig);
        assert_eq!(
            m.signer().unwrap().to_uncompressed().to_vec(),
            hex_field(c, "recovered_signer_public")
        );
    }
    if let Some(n) = m.aes_nonce() {
        assert_eq!(n.to_vec(), hex_field(c, "aes_gcm_nonce_salt"));
    }
}

/// Wrapping with status-go's recorded randomness reproduces its bytes.
fn check_wrap(c: &Value) {
    let payload = hex_field(c, "payload");
    let padding_given = hex_field(c, "padding_given");
    let mut t = Tape::new();
    if padding_given.is_empty() {
        // Random padding is read first, straight from crypto/rand.
        let pad = hex_field(c, "decrypted_padding");
        assert!(hex_field(c, "rng_tape").starts_with(&pad));
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
    let topic = Topic::from_slice(&hex_field(c, "topic")).unwrap();
    let params = MessageParams {
        payload: &payload,
        padding: (!padding_given.is_empty()).then_some(&padding_given[..]),
        signer,
        encryption,
        topic,
        ttl: c["ttl"].as_u64().unwrap() as u32,
        pow_target: 0.0,
        max_pow_attempts: 0,
    };
    // The plaintext alone (same tape prefix) matches too.
    let mut t2 = Tape::new();
    t2.push(&hex_field(c, "decrypted_padding"));
    let raw = build_plaintext(&mut t2, &payload, params.padding, signer).unwrap();
    assert_eq!(*raw, hex_field(c, "plaintext"));

    let now = Timestamp::from_secs(c["now_unix"].as_u64().unwrap());
    let env = wrap(&mut t, &params, now).expect("wrap");
    assert!(t.is_empty(), "all recorded randomness consumed");
    assert_eq!(
        env.data.to_vec(),
        hex_field(c, "envelope_data"),
        "{}",
        c["description"]
    );
    assert_eq!(u64::from(env.expiry), c["expiry"].as_u64().unwrap());
    assert_eq!(env.nonce, c["envelope_nonce"].as_u64().unwrap());
    assert_eq!(env.hash().to_vec(), hex_field(c, "envelope_hash"));
}

#[test]
fn every_message_case_opens_and_reproduces_status_go_bytes() {
    let mut n = 0;
    for c in cases(FILE) {
        if c.get("error").is_some() {
            // Decryption with a wrong key fails.
            let data = hex_field(&c, "envelope_data");
            let k = sym_key(&c);
            assert_eq!(
                open(&data, &[OpenKey::Symmetric(&k)]).unwrap_err(),
                Error::NoMatchingKey
            );
        } else {
            assert_eq!(c["decrypt_ok"], Value::Bool(true));
            check_open(&c);
            check_wrap(&c);
        }
        n += 1;
    }
    assert_eq!(n, 8);
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
        for i in (0..data.len()).step_by(7) {
            let mut d = data.clone();
            d[i] ^= 1;
            assert!(open(&d, &[key]).is_err());
        }
        for n in (0..data.len()).step_by(13) {
            assert!(open(&data[..n], &[key]).is_err());
        }
    }
}
