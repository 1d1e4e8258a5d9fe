//! Other decoders of outside bytes: signed transactions (decode + recover),
//! EIP-1577 contenthashes, EIP-712 documents, signatures.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_eth::ens::Contenthash;
use status_eth::transaction::SignedTransaction;
use status_eth::{message, typed_data};

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTransaction::decode(data) {
        assert_eq!(tx.raw.as_ref(), data);
    }
    if let Ok(h) = Contenthash::decode(data) {
        let _ = h.to_uri();
        assert_eq!(Contenthash::decode(&h.encode()), Ok(h));
    }
    let _ = message::recover_personal_message(b"m", data);
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(doc) = typed_data::parse(s) {
            let _ = typed_data::signing_hash(&doc);
        }
    }
});
