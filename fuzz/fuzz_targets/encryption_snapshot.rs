//! MemoryStore::restore on hostile bytes: a typed error or a store whose
//! snapshot restores again, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_encryption::MemoryStore;

fuzz_target!(|data: &[u8]| {
    if let Ok(store) = MemoryStore::restore(data) {
        let again = store.snapshot();
        assert!(MemoryStore::restore(&again).is_ok());
    }
});
