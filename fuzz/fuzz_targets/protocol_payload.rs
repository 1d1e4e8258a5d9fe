//! The payload layer on hostile bytes: `ApplicationMetadataMessage`
//! unwrap (signature recovery, message id), the application payloads, and
//! membership update events folded into a group. Every path must end in a
//! value or a typed error, and a group must stay within its bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_proto::protobuf::{ChatMessage, MembershipUpdateMessage};
use status_proto::Message as _;
use status_protocol::group::{Group, MembershipEvent, MAX_EVENTS, MAX_MEMBERS};
use status_protocol::{metadata, MessageType};

fuzz_target!(|data: &[u8]| {
    if let Ok(u) = metadata::unwrap(data) {
        match MessageType::try_from(u.kind) {
            Ok(MessageType::ChatMessage) => {
                let _ = ChatMessage::decode(u.payload.as_slice());
            }
            Ok(MessageType::MembershipUpdateMessage) => {
                if let Ok(m) = MembershipUpdateMessage::decode(u.payload.as_slice()) {
                    let events: Vec<_> = m
                        .events
                        .iter()
                        .take(MAX_EVENTS)
                        .filter_map(|e| MembershipEvent::verify(&m.chat_id, e).ok())
                        .collect();
                    if let Ok(g) = Group::from_events(&m.chat_id, events) {
                        assert!(g.members().len() <= MAX_MEMBERS);
                        assert!(g.events().count() <= MAX_EVENTS);
                    }
                }
            }
            _ => {}
        }
    }
    // the same bytes as one encoded event of a fixed chat
    let _ = MembershipEvent::verify("fuzz-0x04", data);
});
