//! Nothing acknowledged is lost: bob runs in a child process over a SQLite
//! store and is killed with SIGKILL in the middle of a conversation, more
//! than once; each time he is reopened from the same file and the
//! conversation goes on. Every message of alice's reaches bob exactly once
//! over all his lives (nothing lost, nothing decrypted twice), every one of
//! bob's replies reaches alice, and alice sees a delivery ack only for
//! messages bob had stored.
//!
//! The two processes talk in lines over the child's stdin/stdout:
//! `ENV <hex>` is a Waku envelope, `TICK <ms>` advances bob's clock,
//! `SEND <text>` makes bob reply; bob answers with `ENV` lines, `RECV <id>`
//! for each message he stored, and `DONE` when an input is fully handled.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{SecretKey, Timestamp};
use status_protocol::store::MemoryStore;
use status_protocol::{Bridge, ChatId, Config, Event, MessageId, Messenger, Output, SqliteStore};
use status_waku::Envelope;

const CHILD_ENV: &str = "STATUS_PROTOCOL_SIGKILL_DB";
const T0: u64 = 1_700_000_000_000;

fn alice_key() -> SecretKey {
    SecretKey::from_bytes(&[0xa1; 32]).unwrap()
}
fn bob_key() -> SecretKey {
    SecretKey::from_bytes(&[0xb0; 32]).unwrap()
}

/// Drains a messenger: posts become envelopes, filters are tracked.
fn drain<S: status_protocol::store::Store>(
    m: &mut Messenger<S>,
    bridge: &mut Bridge,
    rng: &mut ChaCha20Rng,
    now: Timestamp,
    mut on_event: impl FnMut(Event),
) -> Vec<Envelope> {
    let mut out = Vec::new();
    while let Some(o) = m.poll_output() {
        bridge.track(&o);
        match o {
            Output::Post(p) => out.push(bridge.seal(rng, now, &p).unwrap()),
            Output::Event(e) => on_event(e),
            _ => {}
        }
    }
    out
}

fn child(path: &str) {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    // libtest has written "test <name> ... " without a newline
    writeln!(stdout).unwrap();
    let mut now = Timestamp::from_millis(T0);
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&std::process::id().to_le_bytes().repeat(2));
    let store = SqliteStore::open(path).unwrap();
    let config = Config {
        installation_id: Some("bob-desktop".into()),
        ..Config::default()
    };
    let mut m = Messenger::open(config, bob_key(), store, now, seed).unwrap();
    let mut bridge = Bridge::new(bob_key());
    let mut rng = ChaCha20Rng::from_seed(seed);
    let alice_chat = ChatId::one_to_one(&alice_key().public_key());
    let emit = |m: &mut Messenger<SqliteStore>,
                bridge: &mut Bridge,
                rng: &mut ChaCha20Rng,
                now,
                out: &mut dyn Write| {
        let mut recv = Vec::new();
        for env in drain(m, bridge, rng, now, |e| {
            if let Event::MessageReceived(msg) = e {
                recv.push(msg.id);
            }
        }) {
            writeln!(out, "ENV {}", hex::encode(env.to_vec())).unwrap();
        }
        for id in recv {
            writeln!(out, "RECV {}", id.to_hex()).unwrap();
        }
        writeln!(out, "DONE").unwrap();
        out.flush().unwrap();
    };
    emit(&mut m, &mut bridge, &mut rng, now, &mut stdout);
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let (cmd, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match cmd {
            "ENV" => {
                let env = Envelope::decode(&hex::decode(arg).unwrap(), 1 << 20).unwrap();
                if let Some(input) = bridge.open(&env) {
                    let _ = m.handle_input(now, input);
                }
            }
            "TICK" => {
                now = Timestamp::from_millis(arg.parse().unwrap());
                if m.poll_timeout().is_some_and(|(t, _)| t <= now) {
                    m.handle_timeout(now).unwrap();
                }
            }
            "SEND" => {
                if m.chat(&alice_chat).is_some() {
                    m.send_text(now, &alice_chat, arg).unwrap();
                }
            }
            _ => panic!("unknown line {line:?}"),
        }
        emit(&mut m, &mut bridge, &mut rng, now, &mut stdout);
    }
}

struct Bob {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Bob {
    fn spawn(path: &std::path::Path) -> Bob {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "bob_killed_mid_conversation_loses_nothing",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Bob {
            child,
            stdin,
            stdout,
        }
    }

    /// Reads until DONE: envelopes for alice and ids bob stored.
    fn read(&mut self) -> Option<(Vec<Envelope>, Vec<MessageId>)> {
        let (mut envs, mut recv) = (Vec::new(), Vec::new());
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end();
            if let Some(h) = line.strip_prefix("ENV ") {
                envs.push(Envelope::decode(&hex::decode(h).unwrap(), 1 << 20).unwrap());
            } else if let Some(h) = line.strip_prefix("RECV ") {
                recv.push(MessageId::from_hex(h).unwrap());
            } else if line == "DONE" {
                return Some((envs, recv));
            }
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// SIGKILL, then whatever the child had written before it died (a
    /// torn last line is ignored).
    fn kill(mut self) -> (Vec<Envelope>, Vec<MessageId>) {
        self.child.kill().unwrap(); // SIGKILL on Unix
        let _ = self.child.wait();
        let (mut envs, mut recv) = (Vec::new(), Vec::new());
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.stdout, &mut rest);
        for line in rest.lines() {
            if let Some(env) = line
                .strip_prefix("ENV ")
                .and_then(|h| hex::decode(h).ok())
                .and_then(|b| Envelope::decode(&b, 1 << 20).ok())
            {
                envs.push(env);
            } else if let Some(id) = line.strip_prefix("RECV ").and_then(MessageId::from_hex) {
                recv.push(id);
            }
        }
        (envs, recv)
    }
}

#[test]
fn bob_killed_mid_conversation_loses_nothing() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        return child(&path);
    }
    let dir = std::env::temp_dir().join(format!("status-protocol-sigkill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("bob.sqlite");
    let _ = std::fs::remove_file(&db);

    let mut now = Timestamp::from_millis(T0);
    let mut alice = Messenger::open(
        Config {
            installation_id: Some("alice-phone".into()),
            ..Config::default()
        },
        alice_key(),
        MemoryStore::new(),
        now,
        [1; 32],
    )
    .unwrap();
    let mut abridge = Bridge::new(alice_key());
    let mut arng = ChaCha20Rng::seed_from_u64(2);
    let chat = alice
        .start_one_to_one(now, &status_protocol::contact_id(&bob_key().public_key()))
        .unwrap();

    let mut bob = Bob::spawn(&db);
    let mut to_alice = bob.read().unwrap().0;
    let mut bob_stored: BTreeMap<MessageId, usize> = BTreeMap::new();
    let mut alice_sent = Vec::new();
    let mut alice_got: BTreeMap<MessageId, usize> = BTreeMap::new();
    let mut delivered: BTreeSet<MessageId> = BTreeSet::new();
    let mut kills = 0u64;

    for step in 0u64..2_000 {
        now = Timestamp::from_millis(T0 + step * 300);
        if step % 10 == 0 && alice_sent.len() < 40 {
            let id = alice
                .send_text(now, &chat, &format!("message {}", alice_sent.len()))
                .unwrap();
            alice_sent.push(id);
        }
        if alice.poll_timeout().is_some_and(|(t, _)| t <= now) {
            alice.handle_timeout(now).unwrap();
        }
        for env in to_alice.drain(..) {
            if let Some(input) = abridge.open(&env) {
                let _ = alice.handle_input(now, input);
            }
        }
        let to_bob = drain(&mut alice, &mut abridge, &mut arng, now, |e| match e {
            Event::MessageReceived(m) => *alice_got.entry(m.id).or_default() += 1,
            Event::MessageDelivered { id, .. } => {
                delivered.insert(id);
            }
            _ => {}
        });
        let mut lines: Vec<String> = to_bob
            .iter()
            .map(|e| format!("ENV {}", hex::encode(e.to_vec())))
            .collect();
        lines.push(format!("TICK {}", now.as_millis()));
        if step % 25 == 5 {
            lines.push(format!("SEND reply {step}"));
        }
        // every so often, kill bob while he works through a batch
        // (at the first step after each kill point with envelopes for him)
        let kill_now = step >= 60 + 173 * kills && kills < 4 && lines.len() > 1;
        if kill_now {
            for l in &lines {
                bob.send(l);
            }
            // let him get into the batch, then kill without waiting
            if let Some((envs, recv)) = bob.read() {
                to_alice.extend(envs);
                for id in recv {
                    *bob_stored.entry(id).or_default() += 1;
                }
            }
            let (envs, recv) = bob.kill();
            to_alice.extend(envs);
            for id in recv {
                *bob_stored.entry(id).or_default() += 1;
            }
            kills += 1;
            bob = Bob::spawn(&db);
            let (envs, _) = bob.read().unwrap();
            to_alice.extend(envs);
            continue;
        }
        for l in &lines {
            bob.send(l);
            let (envs, recv) = bob.read().unwrap();
            to_alice.extend(envs);
            for id in recv {
                *bob_stored.entry(id).or_default() += 1;
            }
        }
        if alice_sent.len() == 40 && step > 1_500 && alice.in_flight() == 0 {
            break;
        }
    }
    let _ = bob.kill();
    assert_eq!(kills, 4, "the test killed bob 4 times");
    // never decrypted and stored twice over his lives (a kill between a
    // commit and its RECV line may hide one, never double it)
    for (id, n) in &bob_stored {
        assert_eq!(*n, 1, "{id:?} reached bob {n} times");
    }
    assert_eq!(
        delivered.len(),
        alice_sent.len(),
        "every message acknowledged in the end"
    );
    assert!(!alice_got.is_empty(), "bob's replies reached alice");
    assert!(
        alice_got.values().all(|n| *n == 1),
        "a reply reached alice twice"
    );
    // bob's file holds the whole conversation
    let store = SqliteStore::open(&db).unwrap();
    let m = Messenger::open(Config::default(), bob_key(), store, now, [9; 32]).unwrap();
    let stored = m
        .messages(&ChatId::one_to_one(&alice_key().public_key()), 1000)
        .unwrap();
    let from_alice: BTreeSet<MessageId> = stored
        .iter()
        .filter(|m| m.from == alice_key().public_key())
        .map(|m| m.id)
        .collect();
    assert_eq!(
        from_alice,
        alice_sent.iter().copied().collect(),
        "nothing lost"
    );
    for id in &delivered {
        assert!(
            from_alice.contains(id),
            "ack for {id:?}, which bob never stored"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
