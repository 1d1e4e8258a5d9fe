//! Mailserver wire decoders: MessagesRequest, the direct request and
//! Request Complete. Whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_waku::mailserver::DirectMessagesRequest;
use status_waku::{MessagesRequest, RequestComplete};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = MessagesRequest::decode(data) {
        assert_eq!(r.to_vec(), data);
    }
    if let Ok(r) = DirectMessagesRequest::decode(data) {
        assert_eq!(r.to_vec(), data);
        let _ = r.validate();
    }
    if let Ok(rc) = RequestComplete::decode(data) {
        let _ = rc.to_vec();
    }
});
