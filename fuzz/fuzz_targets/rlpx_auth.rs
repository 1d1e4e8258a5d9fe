//! A recipient reading an `auth` packet: arbitrary bytes through the ECIES
//! layer, and (behind the MAC, which random bytes never pass) the body
//! parsers of both formats.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_core::SecretKey;
use status_rlpx::fuzzing::{parse_auth, AuthFormat};
use status_rlpx::handshake::Recipient;

fuzz_target!(|data: &[u8]| {
    let key = SecretKey::from_bytes(&[0x42; 32]).expect("valid key");
    let _ = Recipient::new(key).read_auth(data);
    let _ = parse_auth(data, AuthFormat::Eip8);
    let _ = parse_auth(data, AuthFormat::Legacy);
});
