//! Arbitrary bytes as an ENR (RLP form) and as its `enr:` text form. A
//! record that decodes must re-encode to the very same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_discovery::enr::Enr;

fuzz_target!(|data: &[u8]| {
    if let Ok(enr) = Enr::decode(data) {
        assert_eq!(enr.as_bytes(), data);
        let _ = (enr.ip4(), enr.ip6(), enr.tcp6(), enr.udp6(), enr.to_enode());
        assert_eq!(Enr::from_text(&enr.to_text()).ok().as_ref(), Some(&enr));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Enr::from_text(text);
    }
});
