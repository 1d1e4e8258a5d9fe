//! Arbitrary bytes as a rendezvous message, and as the answer to a
//! client's DISCOVER and REGISTER. A message that decodes re-encodes to
//! the same bytes (the codec is canonical).
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use status_core::{SecretKey, Timestamp};
use status_discovery::enr::Enr;
use status_discovery::rendezvous::{Client, Config, Message};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        assert_eq!(m.to_bytes(), data);
    }
    let now = Timestamp::from_secs(1_700_000_000);
    let mut c = Client::new(Config {
        servers: vec!["a".into(), "b".into()],
        ..Config::default()
    });
    static RECORD: OnceLock<Enr> = OnceLock::new();
    let record = RECORD
        .get_or_init(|| {
            let key = SecretKey::from_bytes(&[3; 32]).expect("valid key");
            Enr::builder().udp(1).sign(&key).expect("small record")
        })
        .clone();
    c.discover(now, "whisper", Duration::from_secs(3))
        .expect("topic");
    c.register(now, "whispermail", record).expect("topic");
    while let Some(req) = c.poll_request() {
        let _ = c.handle_response(now, req.id, data);
    }
    while c.poll_event().is_some() {}
    let _ = c.poll_timeout();
});
