//! Multibase + multicodec public key parsing (2/ACCOUNT) and xprv/xpub
//! parsing on arbitrary text: typed errors, or keys that re-encode to
//! strings that decode to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_keys::{
    decode_public_key, encode_public_key, ExtendedPrivateKey, ExtendedPublicKey, KeyForm, Multibase,
};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = decode_public_key(s) {
        for base in Multibase::ALL {
            for form in [KeyForm::Compressed, KeyForm::Uncompressed] {
                let again = encode_public_key(&key, form, base);
                assert_eq!(decode_public_key(&again), Ok(key));
            }
        }
    }
    if let Ok((base, bytes)) = Multibase::decode(s) {
        assert_eq!(Multibase::decode(&base.encode(&bytes)), Ok((base, bytes)));
    }
    if let Ok(k) = ExtendedPrivateKey::from_xprv(s) {
        assert_eq!(&k.to_xprv()[..], s);
    }
    if let Ok(k) = ExtendedPublicKey::from_xpub(s) {
        assert_eq!(k.to_string(), s);
    }
});
