//! Runs the `waku-peer` example as a real process against a status-rs
//! Waku node that this test runs on 127.0.0.1 (RLPx through status-tokio,
//! the `status_waku::Waku` machine on top), and checks its JSON lines:
//! the peer's Status options, a post the node opens, a message the node
//! sends that the example opens.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use status_core::{Enode, SecretKey, Timestamp};
use status_rlpx::p2p::CapabilityConfig;
use status_rlpx::session::Config;
use status_tokio::{Connection, Event as ConnEvent};
use status_waku::filter::Filter;
use status_waku::node::Event;
use status_waku::peer::Protocol;
use status_waku::topic::symmetric_key_from_password;
use status_waku::{
    wrap, Encryption, MessageParams, RateLimits, StatusOptions, Topic, Waku, WakuConfig,
};
use tokio::net::TcpListener;

/// The `waku-peer` example binary (`$WAKU_PEER_BIN` overrides), built once per test run.
fn waku_peer_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| common::example_binary("waku-peer", "WAKU_PEER_BIN"))
        .clone()
}

/// The example process, killed on drop, with its stdout lines on a channel.
struct Example {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Example {
    fn spawn(args: &[&str]) -> Example {
        let mut child = Command::new(waku_peer_binary())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn waku-peer");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Example { child, lines }
    }

    /// Every stdout line once the process exits, and its exit status.
    fn finish(mut self, within: Duration) -> (Vec<Value>, ExitStatus) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "waku-peer did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        };
        let lines = self
            .lines
            .iter()
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        (lines, status)
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Drivers read the clock; the machine only gets it as an argument.
fn now() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Timestamp::from_millis(d.as_millis() as u64)
}

fn rlpx_config() -> Arc<Config> {
    Arc::new(Config {
        capabilities: vec![CapabilityConfig {
            cap: "waku/1".parse().unwrap(),
            length: 128,
        }],
        ..Config::default()
    })
}

/// The node's Waku settings: distinctive options the example must echo.
fn node_config() -> WakuConfig {
    WakuConfig {
        min_pow: 0.002,
        confirmations_enabled: true,
        packet_rate_limits: RateLimits {
            ip: 1000,
            peer_id: 2000,
            topic: 3000,
        },
        bytes_rate_limits: RateLimits {
            ip: 10 << 20,
            peer_id: 20 << 20,
            topic: 30 << 20,
        },
        ..WakuConfig::default()
    }
}

/// Runs the example with `args` against a Waku node on 127.0.0.1 until
/// the example closes the connection. `setup` configures the machine
/// before the peer is added; `on_event` sees every machine event and may
/// post. Returns the node's events, its Status options, and the example's
/// lines and exit status.
async fn run_against_node(
    args: &[&str],
    setup: impl FnOnce(&mut Waku),
    mut on_event: impl FnMut(&mut Waku, &Event),
) -> (Vec<Event>, StatusOptions, Vec<Value>, ExitStatus) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = SecretKey::from_bytes(&[0x5a; 32]).unwrap();
    let enode = Enode::new(&key.public_key(), listener.local_addr().unwrap());
    // Build (if needed) before the clock starts.
    let _ = waku_peer_binary();

    let enode = enode.to_string();
    let mut full_args = vec![enode.as_str()];
    full_args.extend_from_slice(args);
    let example = Example::spawn(&full_args);

    let mut conn = tokio::time::timeout(
        Duration::from_secs(10),
        Connection::accept(rlpx_config(), key, &listener),
    )
    .await
    .expect("the example did not dial in time")
    .expect("RLPx handshake with the example");
    let mut waku = Waku::new(node_config(), now());
    setup(&mut waku);
    let options = waku.status_options();
    let peer = waku.add_peer(
        now(),
        conn.remote_id(),
        Some(conn.peer_addr().ip()),
        Protocol::Waku1,
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        while let Some(e) = waku.poll_event() {
            on_event(&mut waku, &e);
            seen.push(e);
        }
        while let Some(t) = waku.poll_transmit() {
            assert_eq!(t.peer, peer);
            if conn
                .send(t.protocol.name(), t.code, t.payload)
                .await
                .is_err()
            {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out; node saw {seen:?}"
        );
        let wake = waku
            .poll_timeout()
            .map(|(t, _)| t.as_millis().saturating_sub(now().as_millis()))
            .unwrap_or(1000)
            .min(1000);
        match tokio::time::timeout(Duration::from_millis(wake), conn.recv()).await {
            Ok(Some(ConnEvent::Message(m))) => {
                assert_eq!(m.cap, "waku");
                waku.handle_input(now(), peer, m.code, m.payload)
                    .expect("the example sent a valid waku packet");
            }
            Ok(Some(ConnEvent::Pong { .. })) => {}
            Ok(Some(ConnEvent::Closed { .. }) | None) => break,
            Err(_) => waku.handle_timeout(now()),
        }
    }
    while let Some(e) = waku.poll_event() {
        on_event(&mut waku, &e);
        seen.push(e);
    }
    let (lines, status) =
        tokio::task::spawn_blocking(move || example.finish(Duration::from_secs(10)))
            .await
            .unwrap();
    (seen, options, lines, status)
}

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn events(lines: &[Value]) -> Vec<&str> {
    lines.iter().filter_map(|v| v["event"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_the_peers_status_options_and_exits() {
    let (seen, options, lines, status) = run_against_node(&["--light"], |_| {}, |_, _| {}).await;
    assert!(status.success(), "waku-peer: {status}, {lines:?}");
    assert_eq!(events(&lines), ["status"], "{lines:?}");

    let bloom = options.bloom_filter.expect("a full node sends its bloom");
    let expected = json!({
        "pow_requirement": 0.002,
        "bloom_filter": hex0x(&bloom.0),
        "light_node": false,
        "confirmations_enabled": true,
        "packet_rate_limits": {"ip": 1000, "peer_id": 2000, "topic": 3000},
        "topic_interest": null,
        "bytes_rate_limits": {"ip": 10 << 20, "peer_id": 20 << 20, "topic": 30 << 20},
    });
    assert_eq!(lines[0]["options"], expected);

    // And the node saw the example's options: `--light` took effect.
    let theirs = seen
        .iter()
        .find_map(|e| match e {
            Event::PeerReady { status, .. } => Some(status),
            _ => None,
        })
        .expect("the node completed the waku handshake");
    assert_eq!(theirs.light_node, Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_an_envelope_the_node_opens_with_the_password_key() {
    let topic = Topic::from_slice(&[0xde, 0xad, 0xbe, 0xef]).unwrap();
    let text = "hello from waku-peer";
    let (seen, _, lines, status) = run_against_node(
        &[
            "--post-password",
            "s3cret",
            "--topic",
            "deadbeef",
            "--payload",
            text,
        ],
        |waku| {
            waku.subscribe(Filter::symmetric(
                vec![topic],
                *symmetric_key_from_password("s3cret"),
            ));
        },
        |_, _| {},
    )
    .await;
    assert!(status.success(), "waku-peer: {status}, {lines:?}");
    assert_eq!(events(&lines), ["status", "posted"], "{lines:?}");

    let received: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Message(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(received.len(), 1, "node saw {seen:?}");
    let d = received[0];
    assert_eq!(d.envelope.topic, topic);
    assert_eq!(d.message.payload(), text.as_bytes());
    assert!(!d.p2p);
    // The envelope meets the node's PoW requirement (else it was dropped).
    assert!(d.envelope.pow() >= node_config().min_pow);
    assert_eq!(lines[1]["hash"], hex0x(&d.hash));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_a_message_the_node_posts_on_the_listen_topic() {
    let topic = Topic::from_slice(&[0x12, 0x34, 0x56, 0x78]).unwrap();
    let payload = b"\x00binary\xffpayload from the node";
    let mut posted = None;
    let (_, _, lines, status) = run_against_node(
        &[
            "--listen-password",
            "listen pw",
            "--listen-topic",
            "0x12345678",
            "--listen-secs",
            "2",
        ],
        |_| {},
        |waku, e| {
            if let Event::PeerReady { status, .. } = e {
                // The example advertises exactly its listen topic.
                assert_eq!(status.topic_interest, Some(vec![topic]));
                let key = symmetric_key_from_password("listen pw");
                let mut params = MessageParams::new(payload, Encryption::Symmetric(&key), topic);
                params.ttl = 60;
                params.pow_target = 0.002;
                params.max_pow_attempts = 1 << 20;
                let env = wrap(&mut ChaCha20Rng::from_seed([7; 32]), &params, now()).unwrap();
                posted = Some(waku.post(now(), env).unwrap());
                waku.send_pending(now());
            }
        },
    )
    .await;
    assert!(status.success(), "waku-peer: {status}, {lines:?}");
    assert_eq!(events(&lines), ["status", "message"], "{lines:?}");
    let hash = posted.expect("the node posted after the handshake");
    let m = &lines[1];
    assert_eq!(m["topic"], "0x12345678");
    assert_eq!(m["hash"], hex0x(&hash));
    assert_eq!(m["payload_hex"], hex::encode(payload));
    assert_eq!(m["signer"], Value::Null);
    assert_eq!(m["p2p"], false);
}
