#![allow(clippy::needless_range_loop)] // devices are addressed by index, names beside them
//! Messengers over real Waku machines in status-sim: public, 1:1 (first
//! contact included) and group chats with latency, reordering, loss and
//! partitions, on two seeds each. Every message must reach every intended
//! device exactly once and no one else.

use std::collections::BTreeMap;

use status_core::{PublicKey, Timestamp};
use status_protocol::sim::{Net, T0};
use status_protocol::{ChatId, ChatKind, Command, Event, MessageId, Outcome};
use status_sim::{Latency, LinkConfig};

const SEEDS: [u64; 2] = [7, 1234];

fn jittery() -> LinkConfig {
    LinkConfig {
        latency: Latency::Uniform { min: 5, max: 80 },
        duplicate: 0.05,
        reorder: 0.1,
        reorder_delay: 200,
        ..LinkConfig::default()
    }
}

fn lossy(loss: f64) -> LinkConfig {
    LinkConfig { loss, ..jittery() }
}

fn chat_of(o: Outcome) -> ChatId {
    match o {
        Outcome::Chat(c) => c,
        other => panic!("expected a chat, got {other:?}"),
    }
}

fn msg_of(o: Outcome) -> MessageId {
    match o {
        Outcome::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn text(net: &mut Net, from: usize, chat: &ChatId, body: &str) -> MessageId {
    let chat = chat.clone();
    let body = body.to_owned();
    msg_of(net.with(from, move |d, ctx| {
        d.command(
            ctx,
            Command::SendText {
                chat,
                text: body,
                response_to: None,
            },
        )
    }))
}

/// Each id reached exactly the devices in `to` exactly once, and nobody else.
fn assert_exactly_once(net: &Net, sent: &[(MessageId, Vec<usize>)]) {
    let got: Vec<BTreeMap<MessageId, usize>> = (0..net.nodes.len())
        .map(|i| net.dev(i).received())
        .collect();
    for (id, to) in sent {
        for (i, g) in got.iter().enumerate() {
            let n = g.get(id).copied().unwrap_or(0);
            let want = usize::from(to.contains(&i));
            assert_eq!(
                n,
                want,
                "{}: message {id:?} arrived {n} times, expected {want}; rejected: {:?}",
                net.dev(i).name,
                net.dev(i).rejected
            );
        }
    }
}

#[test]
fn public_chat_reaches_every_member_once() {
    for seed in SEEDS {
        let mut net = Net::new(seed, &["alice", "bob", "carol", "dave"], jittery());
        let mut chat = None;
        for i in 0..3 {
            chat = Some(chat_of(net.with(i, |d, ctx| {
                d.command(
                    ctx,
                    Command::JoinPublic {
                        name: "status".into(),
                    },
                )
            })));
        }
        let chat = chat.unwrap();
        net.run_for(2_000);
        let mut sent = Vec::new();
        for round in 0..3 {
            for i in 0..3 {
                let id = text(&mut net, i, &chat, &format!("hello {round} from {i}"));
                // everyone in the channel but the author (who stores it as sent)
                sent.push((id, (0..3).filter(|j| *j != i).collect()));
                net.run_for(150);
            }
        }
        net.run_for(5_000);
        assert_exactly_once(&net, &sent);
        // dave never joined: nothing, and the chat kind is right everywhere
        assert!(net.dev(3).received().is_empty());
        for i in 0..3 {
            let c = net.dev(i).messenger.as_ref().unwrap().chat(&chat).unwrap();
            assert_eq!(c.kind(), ChatKind::Public);
            assert_eq!(c.unread(), 6, "{}", net.dev(i).name);
        }
    }
}

#[test]
fn one_to_one_first_contact_both_ways_with_loss() {
    for seed in SEEDS {
        let mut net = Net::new(seed, &["alice", "bob", "eve"], lossy(0.2));
        let bob_key = net.dev(1).public();
        let alice_key = net.dev(0).public();
        net.run_for(1_000);
        // alice knows only bob's key; bob knows nothing of alice
        let chat = chat_of(net.with(0, move |d, ctx| {
            d.command(ctx, Command::StartOneToOne { key: bob_key })
        }));
        let mut sent = Vec::new();
        for i in 0..5 {
            sent.push((text(&mut net, 0, &chat, &format!("hi bob {i}")), vec![1]));
            net.run_for(400);
        }
        net.run_for(120_000);
        let bob_chat = ChatId::one_to_one(&alice_key);
        for i in 0..5 {
            sent.push((
                text(&mut net, 1, &bob_chat, &format!("hi alice {i}")),
                vec![0],
            ));
            net.run_for(400);
        }
        // MVDS backs off 27 s, 54 s, 108 s... after lost acks: give it time
        net.run_for(600_000);
        assert_exactly_once(&net, &sent);
        // delivery acks came back for every message, each side
        let delivered_to_bob = net.dev(0).delivered();
        let delivered_to_alice = net.dev(1).delivered();
        for (id, to) in &sent {
            let d = if to == &vec![1] {
                &delivered_to_bob
            } else {
                &delivered_to_alice
            };
            assert!(
                d.contains(id),
                "seed {seed}: no delivery ack for {id:?} to {to:?}; in flight {} / {}; stats {:?} / {:?}",
                net.dev(0).messenger.as_ref().unwrap().in_flight(),
                net.dev(1).messenger.as_ref().unwrap().in_flight(),
                net.dev(0).messenger.as_ref().unwrap().stats(),
                net.dev(1).messenger.as_ref().unwrap().stats(),
            );
        }
        // bob's side: a 1:1 chat with alice appeared, with her messages
        let got = net.dev(1).received_in(&bob_chat);
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|(from, _)| *from == alice_key));
        // nothing left to retransmit on either side
        assert_eq!(net.dev(0).messenger.as_ref().unwrap().in_flight(), 0);
        assert_eq!(net.dev(1).messenger.as_ref().unwrap().in_flight(), 0);
    }
}

#[test]
fn group_chat_with_members_added_and_removed_midway() {
    for seed in SEEDS {
        let names = ["alice", "bob", "carol", "dave", "eve"];
        let mut net = Net::new(seed, &names, lossy(0.1));
        let keys: Vec<PublicKey> = (0..5).map(|i| net.dev(i).public()).collect();
        net.run_for(1_000);
        let members = vec![keys[1], keys[2], keys[3]];
        let chat = chat_of(net.with(0, move |d, ctx| {
            d.command(
                ctx,
                Command::CreateGroup {
                    name: "friends".into(),
                    members,
                },
            )
        }));
        net.run_for(60_000);
        for i in 1..4 {
            let c = chat.clone();
            assert!(
                net.dev(i).messenger.as_ref().unwrap().chat(&chat).is_some(),
                "{} did not get the invitation: {:?}",
                names[i],
                net.dev(i).rejected
            );
            net.with(i, move |d, ctx| {
                d.command(ctx, Command::JoinGroup { chat: c })
            });
        }
        net.run_for(90_000);

        let mut sent = Vec::new();
        for i in 0..4 {
            let id = text(
                &mut net,
                i,
                &chat,
                &format!("first round from {}", names[i]),
            );
            sent.push((id, (0..4).filter(|j| *j != i).collect::<Vec<_>>()));
            net.run_for(500);
        }
        net.run_for(90_000);

        // eve is added, carol removed
        let (c1, c2, eve, carol) = (chat.clone(), chat.clone(), keys[4], keys[2]);
        net.with(0, move |d, ctx| {
            d.command(
                ctx,
                Command::AddMembers {
                    chat: c1,
                    members: vec![eve],
                },
            )
        });
        net.run_for(60_000);
        let c3 = chat.clone();
        net.with(4, move |d, ctx| {
            d.command(ctx, Command::JoinGroup { chat: c3 })
        });
        net.with(0, move |d, ctx| {
            d.command(
                ctx,
                Command::RemoveMember {
                    chat: c2,
                    member: carol,
                },
            )
        });
        net.run_for(90_000);

        let now_members = [0usize, 1, 3, 4];
        for &i in &now_members {
            let id = text(
                &mut net,
                i,
                &chat,
                &format!("second round from {}", names[i]),
            );
            sent.push((
                id,
                now_members.iter().copied().filter(|j| *j != i).collect(),
            ));
            net.run_for(500);
        }
        net.run_for(120_000);
        assert_exactly_once(&net, &sent);

        // every member that saw the same events holds the same group
        let groups: Vec<_> = [0usize, 1, 3, 4]
            .iter()
            .map(|&i| {
                net.dev(i)
                    .messenger
                    .as_ref()
                    .unwrap()
                    .chat(&chat)
                    .unwrap()
                    .group()
                    .unwrap()
                    .clone()
            })
            .collect();
        for g in &groups[1..] {
            assert_eq!(g, &groups[0]);
        }
        assert!(!groups[0].is_member(&status_protocol::contact_id(&keys[2])));
        // carol learnt of her removal
        let carol_view = net
            .dev(2)
            .messenger
            .as_ref()
            .unwrap()
            .chat(&chat)
            .unwrap()
            .group()
            .unwrap()
            .clone();
        assert!(!carol_view.is_member(&status_protocol::contact_id(&keys[2])));
    }
}

#[test]
fn a_partition_heals_and_one_to_one_messages_arrive_once() {
    for seed in SEEDS {
        let mut net = Net::new(seed, &["alice", "bob"], jittery());
        let bob_key = net.dev(1).public();
        net.run_for(1_000);
        let chat = chat_of(net.with(0, move |d, ctx| {
            d.command(ctx, Command::StartOneToOne { key: bob_key })
        }));
        let first = text(&mut net, 0, &chat, "before the split");
        net.run_for(10_000);
        let start = net.now();
        let until = Timestamp::from_millis(start.as_millis() + 60_000);
        let side = [net.nodes[0]];
        net.sim.partition(start, until, &side);
        let during: Vec<MessageId> = (0..3)
            .map(|i| {
                let id = text(&mut net, 0, &chat, &format!("during {i}"));
                net.run_for(1_000);
                id
            })
            .collect();
        net.run_for(240_000);
        let mut sent = vec![(first, vec![1])];
        sent.extend(during.into_iter().map(|id| (id, vec![1])));
        assert_exactly_once(&net, &sent);
        assert!(net.now().as_millis() > T0);
    }
}

#[test]
fn a_crash_mid_conversation_loses_nothing_and_decrypts_nothing_twice() {
    for seed in SEEDS {
        let mut net = Net::new(seed, &["alice", "bob"], lossy(0.1));
        let bob_key = net.dev(1).public();
        let alice_key = net.dev(0).public();
        net.run_for(1_000);
        let chat = chat_of(net.with(0, move |d, ctx| {
            d.command(ctx, Command::StartOneToOne { key: bob_key })
        }));
        let mut sent = Vec::new();
        for i in 0..4 {
            sent.push((text(&mut net, 0, &chat, &format!("a{i}")), vec![1]));
            net.run_for(300);
            if i == 1 {
                // bob dies between two messages and comes back
                let now = net.now();
                net.with(1, move |d, ctx| {
                    d.restart(now);
                    d.pump(ctx);
                });
            }
        }
        net.run_for(120_000);
        let back = ChatId::one_to_one(&alice_key);
        for i in 0..3 {
            sent.push((text(&mut net, 1, &back, &format!("b{i}")), vec![0]));
            net.run_for(300);
            if i == 0 {
                let now = net.now();
                net.with(0, move |d, ctx| {
                    d.restart(now);
                    d.pump(ctx);
                });
            }
        }
        net.run_for(240_000);
        assert_exactly_once(&net, &sent);
        let stored = net
            .dev(1)
            .messenger
            .as_ref()
            .unwrap()
            .messages(&back, 100)
            .unwrap();
        let from_alice = stored.iter().filter(|m| m.from == alice_key).count();
        assert_eq!(
            from_alice, 4,
            "bob keeps alice's 4 messages across his restart"
        );
        let _ = Event::ChatChanged(chat);
    }
}

#[test]
fn our_other_device_pairs_and_sees_both_sides_of_a_conversation() {
    for seed in SEEDS {
        let alice = status_core::SecretKey::from_bytes(&[0x11; 32]).unwrap();
        let bob = status_core::SecretKey::from_bytes(&[0x22; 32]).unwrap();
        let (alice_pub, bob_pub) = (alice.public_key(), bob.public_key());
        let mut net = Net::with_keys(
            seed,
            &["alice-phone", "alice-laptop", "bob"],
            vec![alice.clone(), alice, bob],
            lossy(0.05),
        );
        net.run_for(5_000);
        // each alice device saw the other's bundle on her contact-code topic
        for (i, other) in [(0, "alice-laptop-device"), (1, "alice-phone-device")] {
            let seen = net.dev(i).events.iter().any(|e| match e {
                Event::NewInstallations(list) => list.iter().any(|inst| inst.id == other),
                _ => false,
            });
            assert!(seen, "{} did not see {other}", net.dev(i).name);
            let id = other.to_owned();
            net.with(i, move |d, ctx| {
                d.command(ctx, Command::EnableInstallation { id })
            });
        }
        net.with(1, |d, ctx| d.command(ctx, Command::PairDevices));
        net.run_for(5_000);
        assert!(
            net.dev(0).events.iter().any(|e| matches!(e, Event::InstallationMetadata { id, .. } if id == "alice-laptop-device")),
            "the phone learnt the laptop's name"
        );

        let chat = chat_of(net.with(0, move |d, ctx| {
            d.command(ctx, Command::StartOneToOne { key: bob_pub })
        }));
        let mut sent = vec![(
            text(&mut net, 0, &chat, "hi bob, from my phone"),
            vec![1, 2],
        )];
        net.run_for(120_000);
        let back = ChatId::one_to_one(&alice_pub);
        sent.push((text(&mut net, 2, &back, "hi alice"), vec![0, 1]));
        net.run_for(120_000);
        sent.push((text(&mut net, 1, &chat, "and from my laptop"), vec![0, 2]));
        net.run_for(240_000);
        assert_exactly_once(&net, &sent);
        // the laptop has the conversation with bob, our own line included
        let laptop = net.dev(1).messenger.as_ref().unwrap();
        let lines = laptop.messages(&chat, 10).unwrap();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines
            .iter()
            .filter(|m| m.from == alice_pub)
            .all(|m| m.outgoing.is_some()));
    }
}
