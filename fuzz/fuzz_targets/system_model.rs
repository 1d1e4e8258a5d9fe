//! Whole-system model: 3-8 devices (real Messengers over real Waku
//! machines, `status_protocol::sim::Net`) driven by arbitrary operations
//! read from the input (send in any chat, partition and heal, crash and
//! restore from the store, jump the clock, garbage packets), over links
//! that also duplicate and reorder (replayed frames). After every step:
//! no panic, nothing delivered to a non-member or from a non-sender, no
//! message delivered twice, the Waku stores within their bounds. At the
//! end, once every partition healed and time passed, every 1:1 message
//! reached its recipient exactly once (MVDS retransmits; public chats
//! have no retransmission, so they are checked for at most once).
//!
//! Shared by the cargo-fuzz target `system_messengers` and the proptest
//! in `examples/tests/system.rs`.

use std::collections::BTreeSet;

use bytes::Bytes;
use status_core::PublicKey;
use status_protocol::sim::Net;
use status_protocol::{ChatId, Command, Event, Input};
use status_sim::{Latency, LinkConfig, NodeIndex};

/// Reads the input a byte at a time; zeros once it is used up.
struct Bytes8<'a>(&'a [u8]);

impl Bytes8<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

const PUBLIC: &str = "fuzz-chat";
const MAX_OPS: usize = 24;

/// A 1:1 message sent: (from, to, text).
type Sent = (usize, usize, String);

pub fn run(data: &[u8]) {
    let mut u = Bytes8(data);
    let n = 3 + usize::from(u.byte() % 6);
    let seed = u64::from(u.byte());
    let names: Vec<String> = (0..n).map(|i| format!("d{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let link = LinkConfig {
        latency: Latency::Uniform { min: 10, max: 60 },
        duplicate: 0.05,
        reorder: 0.05,
        ..LinkConfig::default()
    };
    let mut net = Net::new(seed, &names, link);
    let keys: Vec<PublicKey> = (0..n).map(|i| net.dev(i).public()).collect();
    let public = ChatId::public(PUBLIC).expect("a valid name");
    let mask = u.byte();
    let members: BTreeSet<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
    for &i in &members {
        command(
            &mut net,
            i,
            Command::JoinPublic {
                name: PUBLIC.into(),
            },
        );
    }
    net.run_for(500);

    let mut sent: Vec<Sent> = Vec::new();
    let mut public_sent: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut heal_at = net.now();
    let mut ops = 0;
    while !u.is_empty() && ops < MAX_OPS {
        ops += 1;
        let op = u.byte();
        let i = usize::from(u.byte()) % n;
        let text = format!("m{ops}");
        match op % 6 {
            0 if members.contains(&i) => {
                if command(&mut net, i, send(&public, &text)) {
                    public_sent.insert((i, text));
                }
            }
            0 | 1 => {
                let j = (i + 1 + usize::from(u.byte()) % (n - 1)) % n;
                let chat = ChatId::one_to_one(&keys[j]);
                command(&mut net, i, Command::StartOneToOne { key: keys[j] });
                if command(&mut net, i, send(&chat, &text)) {
                    sent.push((i, j, text));
                }
            }
            2 => {
                let side: Vec<NodeIndex> = (0..n)
                    .filter(|k| u.byte() & 1 == 1 || *k == i)
                    .map(|k| net.nodes[k])
                    .collect();
                let now = net.now();
                let until = now.saturating_add(std::time::Duration::from_secs(
                    1 + u64::from(u.byte() % 120),
                ));
                net.sim.partition(now, until, &side);
                heal_at = heal_at.max(until);
            }
            3 => net.with(i, |d, ctx| {
                d.restart(ctx.now());
                d.pump(ctx);
            }),
            4 => net.run_for(1_000 * u64::from(u.byte())),
            _ => {
                let to = net.nodes[(i + 1) % n];
                let code = u64::from(u.byte() % 4) * 21 + u64::from(u.byte() % 2);
                let len = usize::from(u.byte());
                let junk: Vec<u8> = (0..len).map(|_| u.byte()).collect();
                net.with(i, |_, ctx| ctx.send(to, (code, Bytes::from(junk))));
            }
        }
        net.run_for(300);
        check(&net, &keys, &members, &sent);
    }
    // Heal, let MVDS retransmit, then every 1:1 message is there once.
    let now = net.now();
    let rest = heal_at.as_millis().saturating_sub(now.as_millis());
    net.run_for(rest + 15 * 60_000);
    check(&net, &keys, &members, &sent);
    for (from, to, text) in &sent {
        let chat = ChatId::one_to_one(&keys[*from]);
        let got = net
            .dev(*to)
            .received_in(&chat)
            .iter()
            .filter(|(a, t)| a == &keys[*from] && t == text)
            .count();
        assert_eq!(
            got, 1,
            "1:1 {text} from d{from} to d{to} arrived {got} times"
        );
    }
    for (from, text) in &public_sent {
        for &m in members.iter().filter(|m| **m != *from) {
            let got = net
                .dev(m)
                .received_in(&public)
                .iter()
                .filter(|(a, t)| a == &keys[*from] && t == text)
                .count();
            assert!(got <= 1, "public {text} reached d{m} {got} times");
        }
    }
}

fn send(chat: &ChatId, text: &str) -> Command {
    Command::SendText {
        chat: chat.clone(),
        text: text.into(),
        response_to: None,
    }
}

/// Runs `cmd` on device `i`; `false` if the messenger refused it.
fn command(net: &mut Net, i: usize, cmd: Command) -> bool {
    net.with(i, |d, ctx| {
        let ok = d.m().handle_input(ctx.now(), Input::Command(cmd)).is_ok();
        d.pump(ctx);
        ok
    })
}

/// The invariants that hold after every step.
fn check(net: &Net, keys: &[PublicKey], members: &BTreeSet<usize>, sent: &[Sent]) {
    let public = ChatId::public(PUBLIC).expect("a valid name");
    for (i, _) in keys.iter().enumerate() {
        let d = net.dev(i);
        for e in &d.events {
            let Event::MessageReceived(m) = e else {
                continue;
            };
            let from = keys.iter().position(|k| *k == m.from);
            if m.chat == public {
                assert!(
                    members.contains(&i),
                    "d{i} got {} in a chat it is not in",
                    m.text
                );
                assert!(
                    from.is_some_and(|f| members.contains(&f)),
                    "d{i} got {} from a non-member",
                    m.text
                );
            } else {
                let ok = from.is_some_and(|f| {
                    m.chat == ChatId::one_to_one(&keys[f])
                        && sent
                            .iter()
                            .any(|(a, b, t)| *a == f && *b == i && *t == m.text)
                });
                assert!(
                    ok,
                    "d{i} got {:?} in {:?}: never sent to it",
                    m.text, m.chat
                );
            }
        }
        for (id, count) in d.received() {
            assert_eq!(count, 1, "d{i} got message {id:?} {count} times");
        }
        let w = &d.waku;
        assert!(
            w.stored_len() <= w.config().max_stored,
            "d{i} store over its bound"
        );
        assert!(
            w.seen_len() <= w.config().max_seen,
            "d{i} seen cache over its bound"
        );
    }
}
