//! Envelope decoding (and PoW/hash of whatever decodes): arbitrary bytes
//! must give a typed error or an envelope that re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_waku::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Envelope::decode(data, 1 << 20) {
        assert_eq!(e.to_vec(), data);
        let _ = e.pow();
        let _ = e.hash();
    }
});
