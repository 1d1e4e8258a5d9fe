//! p2p base-protocol message decoders on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_rlpx::p2p::{decode_disconnect, Hello};

fuzz_target!(|data: &[u8]| {
    if let Ok(hello) = Hello::decode(data) {
        // Whatever we accept, we can write back and read again.
        let again = Hello::decode(&hello.encode()).expect("re-decode");
        assert_eq!(again, hello);
    }
    let _ = decode_disconnect(data);
});
