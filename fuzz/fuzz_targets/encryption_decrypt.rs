//! ProtocolMessage decode + decrypt on hostile bytes.
//!
//! A receiver with a live session (restored from a snapshot made once) gets
//! either the raw fuzzer bytes as a ProtocolMessage, or a genuine encoded
//! message from its peer with fuzzer-chosen bytes XORed in (so mutations of
//! headers, keys and ciphertext reach the ratchet). It must return a typed
//! error or the plaintext, never panic; a failed decrypt must leave the
//! store unchanged.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{PublicKey, SecretKey, Timestamp};
use status_encryption::{Config, Encryptor, MemoryStore};
use status_proto::encryption::ProtocolMessage;
use status_proto::Message;

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

struct Fixture {
    bob_key: SecretKey,
    alice: PublicKey,
    bob: Encryptor<MemoryStore>,
    messages: Vec<Vec<u8>>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let a = SecretKey::from_bytes(&[0xaa; 32]).unwrap();
        let b = SecretKey::from_bytes(&[0xbb; 32]).unwrap();
        let mut alice =
            Encryptor::new(Config::default(), a.clone(), "a".into(), MemoryStore::new());
        let mut bob = Encryptor::new(Config::default(), b.clone(), "b".into(), MemoryStore::new());
        let code = bob.encrypt_public(T0, &mut rng, b"c").unwrap();
        alice.decrypt(T0, &mut rng, &b.public_key(), &code).unwrap();
        let first = alice
            .encrypt(T0, &mut rng, &b.public_key(), b"first")
            .unwrap();
        bob.decrypt(T0, &mut rng, &a.public_key(), &first).unwrap();
        let mut messages = Vec::new();
        for i in 0..3u8 {
            let m = alice
                .encrypt(T0, &mut rng, &b.public_key(), &[i; 40])
                .unwrap();
            messages.push(m.encode_to_vec());
        }
        let dh = alice
            .encrypt_dh(T0, &mut rng, &b.public_key(), b"dh")
            .unwrap();
        messages.push(dh.encode_to_vec());
        Fixture {
            bob_key: b,
            alice: a.public_key(),
            bob,
            messages,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let bytes = if ctl & 0x80 == 0 {
        rest.to_vec()
    } else {
        let mut m = f.messages[usize::from(ctl) % f.messages.len()].clone();
        // pairs of (position, xor) bytes
        for pair in rest.chunks_exact(2) {
            if !m.is_empty() {
                let i = usize::from(pair[0]) * 7 % m.len();
                m[i] ^= pair[1];
            }
        }
        m
    };
    let Ok(msg) = ProtocolMessage::decode(bytes.as_slice()) else {
        return;
    };
    let mut bob = f.bob.clone();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let before = bob.store().session_count();
    let sender = if ctl & 0x40 == 0 {
        f.alice
    } else {
        f.bob_key.public_key()
    };
    match bob.decrypt(T0, &mut rng, &sender, &msg) {
        Ok(_) => {}
        // bundles may have been recorded, sessions must not appear
        Err(_) => assert_eq!(bob.store().session_count(), before),
    }
    while bob.poll_event().is_some() {}
});
