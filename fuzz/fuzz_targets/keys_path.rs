//! BIP32 path parsing on arbitrary text: a typed error, or a path whose
//! display form parses back to itself. Valid short paths are also derived
//! (private and, for normal levels, public) to exercise CKDpriv/CKDpub.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_keys::{DerivationPath, ExtendedPrivateKey};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = DerivationPath::parse(s) else {
        return;
    };
    assert_eq!(DerivationPath::parse(&path.to_string()).as_ref(), Ok(&path));
    if path.len() <= 4 {
        let master = ExtendedPrivateKey::new_master(&[0x5a; 32]).expect("valid seed");
        let key = master.derive_path(&path).expect("derivation");
        let by_public = master.to_extended_public_key().derive_path(&path);
        if path.children().iter().all(|c| !c.is_hardened()) {
            assert_eq!(
                by_public.expect("normal path").public_key(),
                key.public_key()
            );
        } else {
            assert!(by_public.is_err());
        }
    }
});
