//! An initiator reading an `ack` packet: arbitrary bytes through the ECIES
//! layer, and the body parsers of both formats.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use status_core::SecretKey;
use status_rlpx::fuzzing::{parse_ack, AuthFormat};
use status_rlpx::handshake::Initiator;

fuzz_target!(|data: &[u8]| {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0);
    let ours = SecretKey::from_bytes(&[0x42; 32]).expect("valid key");
    let theirs = SecretKey::from_bytes(&[0x43; 32])
        .expect("valid key")
        .public_key();
    let initiator = Initiator::new(&mut rng, ours, theirs, AuthFormat::Eip8);
    let _ = initiator.handle_ack(data);
    let _ = parse_ack(data, AuthFormat::Eip8);
    let _ = parse_ack(data, AuthFormat::Legacy);
});
