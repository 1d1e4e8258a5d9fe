//! Message open(): arbitrary envelope data against symmetric and asymmetric
//! keys, and arbitrary *plaintexts* (encrypted with a fixed key first, so the
//! fuzzer reaches the Whisper v6 payload parser and signature recovery).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use status_core::SecretKey;
use status_waku::message::encrypt;
use status_waku::{open, Encryption, OpenKey};

fuzz_target!(|data: &[u8]| {
    let sym = [0x11u8; 32];
    let sk = SecretKey::from_bytes(&[0x42; 32]).expect("valid key");
    let keys = [OpenKey::Symmetric(&sym), OpenKey::Asymmetric(&sk)];
    let _ = open(data, &keys);

    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0);
    let sealed = encrypt(&mut rng, data, Encryption::Symmetric(&sym));
    if let Ok(m) = open(&sealed, &keys) {
        assert_eq!(m.plaintext(), data);
        assert!(m.payload().len() + m.padding().len() < data.len());
    }
});
