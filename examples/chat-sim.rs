//! alice, bob and carol chat in the simulator: a public channel, a 1:1
//! conversation started from a contact code, and a group chat. Every
//! device is a real Messenger over a real Waku machine on lossy, jittery
//! virtual links; one seed replays the whole run.
//!
//! ```sh
//! cargo run --release --example chat-sim -- [--seed N] [--loss 0.1]
//! ```
//!
//! Prints the conversation as each message reached its readers, each line
//! labelled with its chat's kind (`public`, `1:1`, `group`) and sender,
//! then a summary.

use std::collections::BTreeMap;

use lexopt::ValueExt;

use status_core::{PublicKey, SecretKey};
use status_protocol::sim::Net;
use status_protocol::{ChatId, ChatKind, Command, Event, MessageId, Outcome};
use status_sim::{Latency, LinkConfig};

const NAMES: [&str; 3] = ["alice", "bob", "carol"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut seed, mut loss) = (7u64, 0.1f64);
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            lexopt::Arg::Long("seed") => seed = args.value()?.parse()?,
            lexopt::Arg::Long("loss") => loss = args.value()?.parse()?,
            lexopt::Arg::Long("help") => {
                println!("usage: chat-sim [--seed N] [--loss FRACTION]");
                return Ok(());
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let link = LinkConfig {
        latency: Latency::Uniform { min: 20, max: 120 },
        loss,
        reorder: 0.1,
        reorder_delay: 200,
        ..LinkConfig::default()
    };
    let keys: Vec<SecretKey> = (0..3u8)
        .map(|i| SecretKey::from_bytes(&[0x10 + i; 32]).expect("a valid key"))
        .collect();
    let mut net = Net::with_keys(seed, &NAMES, keys, link);
    let who: std::collections::HashMap<PublicKey, &str> =
        (0..3).map(|i| (net.dev(i).public(), NAMES[i])).collect();
    let mut sent: Vec<(MessageId, usize, ChatId)> = Vec::new();
    let mut say = |net: &mut Net, from: usize, chat: &ChatId, text: &str| {
        let (c, t) = (chat.clone(), text.to_owned());
        let id = match net.with(from, move |d, ctx| {
            d.command(
                ctx,
                Command::SendText {
                    chat: c,
                    text: t,
                    response_to: None,
                },
            )
        }) {
            Outcome::Message(id) => id,
            other => panic!("{other:?}"),
        };
        sent.push((id, from, chat.clone()));
        net.run_for(2_000);
    };

    // a public channel
    for i in 0..3 {
        net.with(i, |d, ctx| {
            d.command(
                ctx,
                Command::JoinPublic {
                    name: "status".into(),
                },
            )
        });
    }
    let status = ChatId::public("status")?;
    net.run_for(1_000);
    say(&mut net, 0, &status, "hello #status!");
    say(&mut net, 1, &status, "hi alice, hi everyone");

    // 1:1: alice has bob's contact code (his chat key, as zQ3... or 0x04...)
    let bob_code = status_keys::encode_public_key(
        &net.dev(1).public(),
        status_keys::KeyForm::Compressed,
        status_keys::Multibase::Base58Btc,
    );
    let key = status_protocol::parse_chat_key(&bob_code)?;
    let dm = match net.with(0, move |d, ctx| {
        d.command(ctx, Command::StartOneToOne { key })
    }) {
        Outcome::Chat(c) => c,
        other => panic!("{other:?}"),
    };
    say(&mut net, 0, &dm, "bob, it's alice: got a minute?");
    net.run_for(30_000);
    let back = ChatId::one_to_one(&net.dev(0).public());
    say(&mut net, 1, &back, "sure, what's up?");
    say(&mut net, 0, &dm, "making a group with carol");

    // a group
    let members = vec![net.dev(1).public(), net.dev(2).public()];
    let group = match net.with(0, move |d, ctx| {
        d.command(
            ctx,
            Command::CreateGroup {
                name: "weekend".into(),
                members,
            },
        )
    }) {
        Outcome::Chat(c) => c,
        other => panic!("{other:?}"),
    };
    net.run_for(60_000);
    for i in 1..3 {
        let c = group.clone();
        net.with(i, move |d, ctx| {
            d.command(ctx, Command::JoinGroup { chat: c })
        });
    }
    net.run_for(60_000);
    say(&mut net, 0, &group, "hiking on saturday?");
    say(&mut net, 2, &group, "I'm in");
    say(&mut net, 1, &group, "me too, I'll bring snacks");
    net.run_for(300_000);

    // the conversation, as it reached its readers
    let mut read_by: BTreeMap<MessageId, Vec<&str>> = BTreeMap::new();
    let mut texts: BTreeMap<MessageId, String> = BTreeMap::new();
    let mut delivered = 0usize;
    for (i, name) in NAMES.iter().enumerate() {
        for e in &net.dev(i).events {
            match e {
                Event::MessageReceived(m) => {
                    read_by.entry(m.id).or_default().push(name);
                    texts.insert(m.id, m.text.clone());
                }
                Event::MessageDelivered { .. } => delivered += 1,
                _ => {}
            }
        }
    }
    println!(
        "seed {seed}, loss {loss}: {}s of simulated time\n",
        (net.now().as_millis() - status_protocol::sim::T0) / 1000
    );
    for (id, from, chat) in &sent {
        let dev = net.dev(*from).messenger.as_ref().expect("running");
        let c = dev.chat(chat).expect("the sender has the chat");
        let place = match c.kind() {
            ChatKind::Public => format!("#{}", c.name()),
            ChatKind::OneToOne => format!(
                "with {}",
                who.get(c.partner().expect("1:1")).copied().unwrap_or("?")
            ),
            ChatKind::Group => format!("\"{}\"", c.name()),
        };
        let text = dev
            .message(id)?
            .map(|m| m.text)
            .or_else(|| texts.get(id).cloned())
            .unwrap_or_default();
        let readers = read_by
            .get(id)
            .map(|r| r.join(", "))
            .unwrap_or_else(|| "nobody yet".into());
        println!(
            "[{:<6}] {:<14} {:>5}: {:<32} (read by {readers})",
            c.kind().label(),
            place,
            NAMES[*from],
            text
        );
    }
    let bytes: u64 = net.sim.summary().bytes_sent;
    let receipts: usize = read_by.values().map(Vec::len).sum();
    println!(
        "\n{} messages sent, {} receipts, {} delivery acks, {} bytes of Waku packets sent",
        sent.len(),
        receipts,
        delivered,
        bytes
    );
    Ok(())
}
