//! alice, bob and carol chat through real nodes on loopback TCP, in one
//! process, with no setup: a relay + mailserver node with a SQLite
//! archive, and one node per person (the Tokio driver), each with a
//! Messenger over a SQLite store in a temporary data dir.
//!
//! ```sh
//! cargo run --release --example chat-demo [-- --json]
//! ```
//!
//! A public chat, a 1:1 chat started from bob's contact code (delivery
//! acks shown), a group with carol; then bob goes offline, messages are
//! sent, and bob comes back and fetches them from the mailserver. The
//! conversation is printed as a person reads it, then a summary. With
//! `--json` the last line is the summary as one JSON object (the test in
//! `tests/chat_demo.rs` reads it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;
use status_cli::{Client, Update};
use status_core::{Enode, PublicKey, SecretKey, Timestamp};
use status_driver::os;
use status_node::Event as NodeEvent;
use status_protocol::{
    ChatId, ChatKind, Command, Event, MessageId, Messenger, Outcome, SqliteStore,
};
use status_tokio::{start_node, NodeHandle, NodeOptions};

type Error = Box<dyn std::error::Error>;

const NAMES: [&str; 3] = ["alice", "bob", "carol"];
const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;
/// Longest one step of the story may take.
const STEP: Duration = Duration::from_secs(15);

fn random_key() -> Result<SecretKey, Error> {
    Ok(SecretKey::from_bytes(&os::rng_seed()?)?)
}

/// One person: an identity, a data dir and (while online) a client.
struct Person {
    key: SecretKey,
    public: PublicKey,
    dir: tempfile::TempDir,
    client: Option<Client<SqliteStore>>,
    /// Bytes the nodes of earlier sessions put on the wire.
    bytes_before: u64,
}

/// A message of the story and what became of it.
struct Sent {
    id: MessageId,
    from: usize,
    chat: ChatId,
    kind: ChatKind,
    place: String,
    text: String,
    /// Who should read it.
    readers: Vec<usize>,
    /// Who should acknowledge it (MVDS: 1:1 and group chats).
    ackers: Vec<usize>,
    /// Sent while bob was offline.
    while_bob_offline: bool,
}

#[derive(Default)]
struct Log {
    /// (message, reader) -> times received.
    received: BTreeMap<(MessageId, usize), u32>,
    /// (message, reader) received from a mailserver's answer.
    from_history: BTreeSet<(MessageId, usize)>,
    /// (message, acknowledger) -> delivery acks seen by the sender.
    acks: BTreeMap<(MessageId, usize), u32>,
    /// Chats each person has seen change (group invitations).
    chats: BTreeSet<(usize, ChatId)>,
    mailserver_up: BTreeSet<usize>,
    history_pages: u32,
    history_complete: bool,
}

struct Demo {
    people: Vec<Person>,
    mailserver: Enode,
    log: Log,
    sent: Vec<Sent>,
    json: bool,
}

impl Demo {
    fn index(&self, key: &PublicKey) -> Option<usize> {
        self.people.iter().position(|p| &p.public == key)
    }

    fn client(&mut self, i: usize) -> Result<&mut Client<SqliteStore>, Error> {
        self.people[i]
            .client
            .as_mut()
            .ok_or_else(|| format!("{} is offline", NAMES[i]).into())
    }

    /// Starts person `i`'s node and messenger (over the store in their
    /// data dir: a restart continues where the last session ended).
    async fn go_online(&mut self, i: usize) -> Result<(), Error> {
        let config = status_node::Config::builder(random_key()?)
            .listen("127.0.0.1:0".parse()?)
            .mailserver_client(vec![self.mailserver])
            .build()?;
        let node = start_node(config, NodeOptions::default()).await?;
        let p = &mut self.people[i];
        let store = SqliteStore::open(p.dir.path().join("messenger.db"))?;
        let messenger = Messenger::open(
            status_protocol::Config::default(),
            p.key.clone(),
            store,
            os::now(),
            os::rng_seed()?,
        )?;
        p.client = Some(Client::start(node, messenger, p.key.clone()).await?);
        Ok(())
    }

    async fn go_offline(&mut self, i: usize) -> Result<(), Error> {
        if let Some(c) = self.people[i].client.take() {
            let stats = c.node().stats().await?;
            self.people[i].bytes_before += stats.bytes_sent;
            drop(c.shutdown().await);
        }
        self.log.mailserver_up.remove(&i);
        Ok(())
    }

    /// Waits for one wake-up of anyone online and handles it.
    async fn pump(&mut self) -> Result<(), Error> {
        let [a, b, c] = &mut self.people[..] else {
            unreachable!("three people")
        };
        let (a, b, c) = (a.client.as_mut(), b.client.as_mut(), c.client.as_mut());
        macro_rules! wait {
            ($c:expr) => {
                async move {
                    match $c {
                        Some(c) => {
                            let w = c.wait().await;
                            c.handle(w).await
                        }
                        None => std::future::pending().await,
                    }
                }
            };
        }
        tokio::select! {
            r = wait!(a) => { r?; }
            r = wait!(b) => { r?; }
            r = wait!(c) => { r?; }
        }
        self.drain();
        Ok(())
    }

    fn drain(&mut self) {
        for i in 0..self.people.len() {
            let mut updates = Vec::new();
            if let Some(c) = self.people[i].client.as_mut() {
                while let Some(u) = c.poll_update() {
                    updates.push(u);
                }
            }
            for u in updates {
                self.note(i, u);
            }
        }
    }

    fn note(&mut self, i: usize, u: Update) {
        match u {
            Update::Messenger { event, history } => match event {
                Event::MessageReceived(m) => {
                    *self.log.received.entry((m.id, i)).or_default() += 1;
                    if history {
                        self.log.from_history.insert((m.id, i));
                    }
                }
                Event::MessageDelivered { id, by, .. } => {
                    if let Some(j) = self.index(&by) {
                        *self.log.acks.entry((id, j)).or_default() += 1;
                    }
                }
                Event::ChatChanged(chat) => {
                    self.log.chats.insert((i, chat));
                }
                _ => {}
            },
            Update::Node(NodeEvent::MailserverAvailable { .. }) => {
                self.log.mailserver_up.insert(i);
            }
            Update::Node(NodeEvent::HistoryPage { pages, .. }) => {
                self.log.history_pages = pages;
                if !self.json {
                    println!("  ... {} fetching history: page {pages}", NAMES[i]);
                }
            }
            Update::Node(NodeEvent::HistoryComplete { pages, .. }) => {
                self.log.history_pages = pages;
                self.log.history_complete = true;
            }
            Update::Node(NodeEvent::HistoryFailed { error, .. }) => {
                eprintln!("{}: history request failed: {error:?}", NAMES[i]);
            }
            Update::Node(_) => {}
        }
    }

    /// Pumps until `done` holds, for at most [`STEP`].
    async fn until(&mut self, what: &str, done: impl Fn(&Demo) -> bool) -> Result<(), Error> {
        let deadline = Instant::now() + STEP;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, self.pump()).await.is_err() {
                return Err(format!("timed out waiting for {what}").into());
            }
        }
        Ok(())
    }

    async fn command(&mut self, i: usize, command: Command) -> Result<Outcome, Error> {
        let o = self.client(i)?.command(command).await?;
        self.drain();
        Ok(o)
    }

    /// Where a chat is, from its sender's side: `#name`, `alice → bob`,
    /// `"name"`.
    fn place(&mut self, from: usize, chat: &ChatId) -> Result<(ChatKind, String), Error> {
        let c = self
            .client(from)?
            .messenger()
            .chat(chat)
            .ok_or("no such chat")?;
        let (kind, name, partner) = (c.kind(), c.name().to_owned(), c.partner().copied());
        let place = match kind {
            ChatKind::Public => format!("#{name}"),
            ChatKind::OneToOne => {
                let to = partner
                    .and_then(|p| self.index(&p))
                    .map_or("?", |j| NAMES[j]);
                format!("{} → {to}", NAMES[from])
            }
            ChatKind::Group => format!("\"{name}\""),
        };
        Ok((kind, place))
    }

    /// `from` says `text` in `chat`, read by `readers`; waits until every
    /// one online has it (and acknowledged it, outside public chats).
    async fn say(
        &mut self,
        from: usize,
        chat: &ChatId,
        text: &str,
        readers: &[usize],
    ) -> Result<(), Error> {
        let (kind, place) = self.place(from, chat)?;
        let id = match self
            .command(
                from,
                Command::SendText {
                    chat: chat.clone(),
                    text: text.into(),
                    response_to: None,
                },
            )
            .await?
        {
            Outcome::Message(id) => id,
            other => return Err(format!("send gave {other:?}").into()),
        };
        let ackers = if kind == ChatKind::Public {
            Vec::new()
        } else {
            readers.to_vec()
        };
        let bob_offline = self.people[BOB].client.is_none();
        self.sent.push(Sent {
            id,
            from,
            chat: chat.clone(),
            kind,
            place,
            text: text.into(),
            readers: readers.to_vec(),
            ackers,
            while_bob_offline: bob_offline,
        });
        let n = self.sent.len() - 1;
        self.until(&format!("{text:?} to arrive"), |d| d.settled(n))
            .await?;
        self.print(n, false);
        Ok(())
    }

    /// Whether every online reader of sent message `n` has it and every
    /// online acknowledger acknowledged it.
    fn settled(&self, n: usize) -> bool {
        let s = &self.sent[n];
        let online = |j: &&usize| self.people[**j].client.is_some();
        s.readers
            .iter()
            .filter(online)
            .all(|j| self.log.received.contains_key(&(s.id, *j)))
            && s.ackers
                .iter()
                .filter(online)
                .all(|j| self.log.acks.contains_key(&(s.id, *j)))
    }

    fn print(&self, n: usize, late: bool) {
        if self.json {
            return;
        }
        let s = &self.sent[n];
        let names =
            |v: &mut dyn Iterator<Item = usize>| v.map(|j| NAMES[j]).collect::<Vec<_>>().join(", ");
        let read = names(
            &mut s
                .readers
                .iter()
                .copied()
                .filter(|j| self.log.received.contains_key(&(s.id, *j))),
        );
        let history = names(
            &mut s
                .readers
                .iter()
                .copied()
                .filter(|j| self.log.from_history.contains(&(s.id, *j))),
        );
        let acked = names(
            &mut s
                .ackers
                .iter()
                .copied()
                .filter(|j| self.log.acks.contains_key(&(s.id, *j))),
        );
        let mut tail = if read.is_empty() {
            "not read yet".to_string()
        } else {
            format!("read by {read}")
        };
        if !history.is_empty() {
            tail += &format!(" ({history} from history)");
        }
        if !s.ackers.is_empty() {
            tail += &if acked.is_empty() {
                " ✓ sent".to_string()
            } else {
                format!(" ✓✓ delivered to {acked}")
            };
        }
        println!(
            "{}[{:<6}] {:<14} {:>5}: {:<34} {tail}",
            if late { "  later: " } else { "" },
            s.kind.label(),
            s.place,
            NAMES[s.from],
            s.text,
        );
    }

    fn narrate(&self, line: &str) {
        if !self.json {
            println!("-- {line}");
        }
    }
}

async fn start_mailserver(dir: &Path) -> Result<NodeHandle, Error> {
    let config = status_node::Config::builder(random_key()?)
        .listen("127.0.0.1:0".parse()?)
        .mailserver()
        .build()?;
    let node = start_node(config, NodeOptions::default()).await?;
    let archive = status_mailserver::SqliteArchive::open(dir.join("archive.db"))?;
    let role = status_mailserver::MailserverRole::new(
        status_mailserver::RoleConfig::default(),
        archive,
        os::now(),
    )?;
    tokio::spawn(status_cli::mailserver::run(node.clone(), role, |_| {}));
    Ok(node)
}

async fn run(json: bool) -> Result<(), Error> {
    let started = Instant::now();
    let ms_dir = tempfile::tempdir()?;
    let ms = start_mailserver(ms_dir.path()).await?;
    let mut people = Vec::new();
    for _ in NAMES {
        let key = random_key()?;
        people.push(Person {
            public: key.public_key(),
            key,
            dir: tempfile::tempdir()?,
            client: None,
            bytes_before: 0,
        });
    }
    let mut d = Demo {
        people,
        mailserver: ms.enode(),
        log: Log::default(),
        sent: Vec::new(),
        json,
    };
    if !json {
        println!("mailserver + relay at {}", ms.enode());
    }
    for i in [ALICE, BOB] {
        d.go_online(i).await?;
    }
    d.until("alice and bob to reach the relay", |d| {
        [ALICE, BOB].iter().all(|i| d.log.mailserver_up.contains(i))
    })
    .await?;

    // a public chat
    d.narrate("alice and bob join #status");
    let status = ChatId::public("status")?;
    for i in [ALICE, BOB] {
        d.command(
            i,
            Command::JoinPublic {
                name: "status".into(),
            },
        )
        .await?;
    }
    d.say(ALICE, &status, "hello #status!", &[BOB]).await?;
    d.say(BOB, &status, "hi alice, hi everyone", &[ALICE])
        .await?;

    // 1:1 from bob's contact code
    let bob_code = status_keys::encode_public_key(
        &d.people[BOB].public,
        status_keys::KeyForm::Compressed,
        status_keys::Multibase::Base58Btc,
    );
    d.narrate(&format!(
        "alice starts a 1:1 chat with bob's contact code {bob_code}"
    ));
    let key = status_protocol::parse_chat_key(&bob_code)?;
    let dm = match d.command(ALICE, Command::StartOneToOne { key }).await? {
        Outcome::Chat(c) => c,
        other => return Err(format!("start 1:1 gave {other:?}").into()),
    };
    d.say(ALICE, &dm, "bob, it's alice: got a minute?", &[BOB])
        .await?;
    let back = ChatId::one_to_one(&d.people[ALICE].public);
    d.say(BOB, &back, "sure, what's up?", &[ALICE]).await?;
    d.say(ALICE, &dm, "making a group with carol", &[BOB])
        .await?;

    // carol joins; a group
    d.narrate("carol comes online and joins #status; alice makes a group");
    d.go_online(CAROL).await?;
    d.until("carol to reach the relay", |d| {
        d.log.mailserver_up.contains(&CAROL)
    })
    .await?;
    d.command(
        CAROL,
        Command::JoinPublic {
            name: "status".into(),
        },
    )
    .await?;
    let members = vec![d.people[BOB].public, d.people[CAROL].public];
    let group = match d
        .command(
            ALICE,
            Command::CreateGroup {
                name: "weekend".into(),
                members,
            },
        )
        .await?
    {
        Outcome::Chat(c) => c,
        other => return Err(format!("create group gave {other:?}").into()),
    };
    let g = group.clone();
    d.until("the invitations", move |d| {
        [BOB, CAROL]
            .iter()
            .all(|i| d.log.chats.contains(&(*i, g.clone())))
    })
    .await?;
    for i in [BOB, CAROL] {
        d.command(
            i,
            Command::JoinGroup {
                chat: group.clone(),
            },
        )
        .await?;
    }
    let g = group.clone();
    d.until("everyone to have joined", move |d| {
        let ids: Vec<String> = d
            .people
            .iter()
            .map(|p| status_protocol::contact_id(&p.public))
            .collect();
        d.people.iter().all(|p| {
            p.client
                .as_ref()
                .and_then(|c| c.messenger().chat(&g))
                .and_then(|c| c.group())
                .is_some_and(|grp| ids.iter().all(|id| grp.has_joined(id)))
        })
    })
    .await?;
    d.say(ALICE, &group, "hiking on saturday?", &[BOB, CAROL])
        .await?;
    d.say(CAROL, &group, "I'm in", &[ALICE, BOB]).await?;
    d.say(CAROL, &status, "hello from carol", &[ALICE, BOB])
        .await?;

    // bob goes offline; history
    d.narrate("bob goes offline");
    d.go_offline(BOB).await?;
    let offline_at = os::now();
    d.say(
        ALICE,
        &status,
        "bob left, I'll post the plan here",
        &[BOB, CAROL],
    )
    .await?;
    d.say(ALICE, &dm, "saturday 9:00 at the station", &[BOB])
        .await?;
    d.say(CAROL, &group, "bob, bring snacks!", &[ALICE, BOB])
        .await?;
    d.narrate("bob comes back and asks the mailserver what he missed");
    d.go_online(BOB).await?;
    d.until("bob to reach the mailserver", |d| {
        d.log.mailserver_up.contains(&BOB)
    })
    .await?;
    let from = Timestamp::from_millis(offline_at.as_millis().saturating_sub(60_000));
    d.client(BOB)?.request_history(from, os::now()).await?;
    let missed: Vec<usize> = (0..d.sent.len())
        .filter(|n| d.sent[*n].while_bob_offline)
        .collect();
    let m = missed.clone();
    d.until("bob's history", move |d| {
        d.log.history_complete && m.iter().all(|n| d.settled(*n))
    })
    .await?;
    for n in missed {
        d.print(n, true);
    }
    d.say(BOB, &group, "back! snacks: on it", &[ALICE, CAROL])
        .await?;
    // let late retransmissions and acks land before counting
    let settle = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < settle {
        let _ =
            tokio::time::timeout(settle.saturating_duration_since(Instant::now()), d.pump()).await;
    }

    // the summary
    let mut bytes = ms.stats().await?.bytes_sent;
    for i in 0..NAMES.len() {
        bytes += d.people[i].bytes_before;
        if let Some(c) = &d.people[i].client {
            bytes += c.node().stats().await?.bytes_sent;
        }
    }
    let receipts: u32 = d.log.received.values().sum();
    let acks: u32 = d.log.acks.values().sum();
    let history = d.log.from_history.len();
    let elapsed = started.elapsed();
    if json {
        let sent: Vec<_> = d
            .sent
            .iter()
            .map(|s| {
                let per = |m: &BTreeMap<(MessageId, usize), u32>| {
                    NAMES
                        .iter()
                        .enumerate()
                        .filter_map(|(j, n)| m.get(&(s.id, j)).map(|c| (n.to_string(), json!(c))))
                        .collect::<serde_json::Map<_, _>>()
                };
                json!({
                    "id": s.id.to_hex(),
                    "chat": s.chat.as_str(),
                    "kind": s.kind.label(),
                    "from": NAMES[s.from],
                    "text": s.text,
                    "readers": s.readers.iter().map(|j| NAMES[*j]).collect::<Vec<_>>(),
                    "ackers": s.ackers.iter().map(|j| NAMES[*j]).collect::<Vec<_>>(),
                    // a public chat's envelopes stay in the relays' pools
                    // for their TTL: who joins meanwhile may read it too
                    "may_read": if s.kind == ChatKind::Public {
                        (0..NAMES.len())
                            .filter(|j| *j != s.from && !s.readers.contains(j))
                            .map(|j| NAMES[j])
                            .collect::<Vec<_>>()
                    } else {
                        Vec::new()
                    },
                    "while_bob_offline": s.while_bob_offline,
                    "received": per(&d.log.received),
                    "acks": per(&d.log.acks),
                    "from_history": NAMES.iter().enumerate()
                        .filter(|(j, _)| d.log.from_history.contains(&(s.id, *j)))
                        .map(|(_, n)| *n).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "sent": sent,
                "messages_sent": d.sent.len(),
                "receipts": receipts,
                "delivery_acks": acks,
                "fetched_from_history": history,
                "history_complete": d.log.history_complete,
                "history_pages": d.log.history_pages,
                "bytes_on_the_wire": bytes,
                "elapsed_ms": elapsed.as_millis() as u64,
            })
        );
    } else {
        println!(
            "\n{} messages sent, {receipts} receipts, {acks} delivery acks, {history} fetched from \
             history ({} page{}, complete: {}), {bytes} bytes on the wire, {:.1} s",
            d.sent.len(),
            d.log.history_pages,
            if d.log.history_pages == 1 { "" } else { "s" },
            d.log.history_complete,
            elapsed.as_secs_f64()
        );
    }
    for i in 0..NAMES.len() {
        d.go_offline(i).await?;
    }
    ms.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let mut json = false;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--json" => json = true,
            "-h" | "--help" => {
                println!("usage: chat-demo [--json]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("error: unknown argument {other:?} (usage: chat-demo [--json])");
                return ExitCode::from(2);
            }
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(json)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
