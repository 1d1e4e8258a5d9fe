//! Arbitrary TXT text through the EIP-1459 entry parsers, then through a
//! resolver as the answer to its root lookup and to every entry lookup
//! that follows (records separated by newlines).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use status_core::{SecretKey, Timestamp};
use status_discovery::dnsdisc::{Config, Entry, Link, Resolver, Root, TxtRecord};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = text.parse::<Entry>();
    let _ = text.parse::<Root>();
    let _ = text.parse::<Link>();

    static LINK: OnceLock<Link> = OnceLock::new();
    let link = LINK
        .get_or_init(|| {
            let key = SecretKey::from_bytes(&[7; 32]).expect("valid key");
            Link::new(key.public_key(), "n.example").expect("valid domain")
        })
        .clone();
    let now = Timestamp::from_secs(1_700_000_000);
    let mut r = Resolver::new(Config::default());
    r.add_tree(now, link).expect("first tree");
    let records: Vec<TxtRecord<'_>> = text
        .split('\n')
        .map(|t| TxtRecord {
            ttl_secs: 60,
            text: t,
        })
        .collect();
    for _ in 0..64 {
        let Some(lookup) = r.poll_lookup() else { break };
        let _ = r.handle_answer(now, &lookup.name, &records);
        while r.poll_event().is_some() {}
    }
    let _ = r.poll_timeout();
});
