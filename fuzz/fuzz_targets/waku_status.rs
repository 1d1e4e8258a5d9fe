//! waku/1 status options and the whisper/6 status on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_waku::status::ShhStatus;
use status_waku::StatusOptions;

fuzz_target!(|data: &[u8]| {
    if let Ok(o) = StatusOptions::decode(data) {
        let _ = o.validate();
        let once = o.to_vec();
        let again = StatusOptions::decode(&once).expect("re-decode");
        assert_eq!(again.to_vec(), once);
    }
    if let Ok(s) = ShhStatus::decode(data) {
        let mut once = Vec::new();
        s.encode(&mut once);
        let again = ShhStatus::decode(&once).expect("re-decode");
        let mut twice = Vec::new();
        again.encode(&mut twice);
        assert_eq!(twice, once);
    }
});
