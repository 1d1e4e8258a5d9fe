//! BIP39 mnemonic parsing on arbitrary text: a typed error or a valid
//! mnemonic whose canonical phrase parses back to the same words.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_keys::Mnemonic;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Mnemonic::parse(s) {
        let again = Mnemonic::parse(m.phrase()).expect("canonical phrase parses");
        assert_eq!(again, m);
        let back = Mnemonic::from_entropy(&m.to_entropy()).expect("entropy re-encodes");
        assert_eq!(back, m);
    }
});
