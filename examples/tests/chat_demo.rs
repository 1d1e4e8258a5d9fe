//! Runs the chat demo (`examples/chat-demo.rs`) as a process and checks
//! its summary against what it says it sent: every message read exactly
//! once by each of its readers, every 1:1 and group message acknowledged
//! exactly once by each recipient, what bob missed offline reached him
//! after he came back, and his history request ran to its end.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

#[test]
fn the_chat_demo_delivers_every_message_exactly_once_and_completes_history() {
    let bin = common::example_binary("chat-demo", "CHAT_DEMO_EXAMPLE_BIN");
    let started = Instant::now();
    let out = Command::new(bin)
        .arg("--json")
        .output()
        .expect("run chat-demo");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chat-demo failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("the last line is the JSON summary");
    let sent = summary["sent"].as_array().expect("sent messages");
    assert!(!sent.is_empty());
    assert_eq!(summary["messages_sent"].as_u64(), Some(sent.len() as u64));

    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|n| n.as_str().expect("a name").to_string())
            .collect()
    };
    let (mut receipts, mut acks, mut history) = (0u64, 0u64, 0u64);
    let mut kinds = std::collections::BTreeSet::new();
    for s in sent {
        let text = &s["text"];
        kinds.insert(s["kind"].as_str().expect("kind").to_string());
        let readers = names(&s["readers"]);
        assert!(!readers.is_empty(), "{text}: someone reads it");
        let received = s["received"].as_object().expect("received");
        for r in &readers {
            assert_eq!(
                received.get(r).and_then(Value::as_u64),
                Some(1),
                "{text}: {r} reads it once"
            );
        }
        let may_read = names(&s["may_read"]);
        for (r, n) in received {
            if !readers.contains(r) {
                assert!(may_read.contains(r), "{text}: {r} should not read it");
                assert_eq!(n.as_u64(), Some(1), "{text}: {r} reads it at most once");
            }
        }
        receipts += received.len() as u64;

        let ackers = names(&s["ackers"]);
        if s["kind"] == "public" {
            assert!(ackers.is_empty(), "{text}: public chats have no acks");
        } else {
            assert_eq!(ackers, readers, "{text}: every recipient acknowledges");
        }
        let got = s["acks"].as_object().expect("acks");
        for a in &ackers {
            assert_eq!(
                got.get(a).and_then(Value::as_u64),
                Some(1),
                "{text}: acked once by {a}"
            );
        }
        assert_eq!(got.len(), ackers.len(), "{text}: no other acks");
        acks += ackers.len() as u64;

        let from_history = names(&s["from_history"]);
        if s["while_bob_offline"] == true && readers.iter().any(|r| r == "bob") {
            if s["kind"] == "public" {
                // nothing retransmits a public message: only the mailserver has it
                assert_eq!(from_history, ["bob"], "{text}: bob got it from history");
            }
        } else {
            assert!(from_history.is_empty(), "{text}: read live");
        }
        history += from_history.len() as u64;
    }
    assert!(
        sent.iter().any(|s| s["while_bob_offline"] == true),
        "some messages are sent while bob is offline"
    );
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["1:1", "group", "public"]
    );
    assert_eq!(summary["receipts"].as_u64(), Some(receipts));
    assert_eq!(summary["delivery_acks"].as_u64(), Some(acks));
    assert_eq!(summary["fetched_from_history"].as_u64(), Some(history));
    assert!(history >= 1);
    assert_eq!(summary["history_complete"], true);
    assert!(summary["history_pages"].as_u64() >= Some(1));
    assert!(summary["bytes_on_the_wire"].as_u64() > Some(0));
    assert!(
        took < Duration::from_secs(60),
        "the demo took {took:?} (its budget is 30 s in release)"
    );
}
