//! Runs the `waku-peer` example as a real process against a status-rs
//! Waku node that this test runs on 127.0.0.1 (RLPx through status-tokio,
//! the `status_waku::Waku` machine on top), and checks its JSON lines:
//! the peer's Status options, a post the node opens, a message the node
//! sends that the example opens, and a history request the node answers
//! as a mailserver would (11/WAKU-MAILSERVER).

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
use status_waku::mailserver::{cursor, DEFAULT_MAILSERVER_PASSWORD, MAX_LIMIT};
use status_waku::message::SymmetricKey;
use status_waku::node::Event;
use status_waku::peer::{PeerId, Protocol};
use status_waku::topic::symmetric_key_from_password;
use status_waku::{
    wrap, Bloom, Encryption, Envelope, MessageParams, MessagesRequest, RateLimits, RequestComplete,
    StatusOptions, Topic, Waku, WakuConfig,
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
    stderr: mpsc::Receiver<String>,
}

impl Example {
    fn spawn(args: &[&str]) -> Example {
        let mut child = Command::new(waku_peer_binary())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn waku-peer");
        let lines = forward_lines(child.stdout.take().expect("piped stdout"), false);
        let stderr = forward_lines(child.stderr.take().expect("piped stderr"), true);
        Example {
            child,
            lines,
            stderr,
        }
    }

    /// Every stdout line once the process exits, its exit status, and its
    /// stderr.
    fn finish(mut self, within: Duration) -> (Vec<Value>, ExitStatus, String) {
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
        let stderr = self.stderr.iter().collect::<Vec<_>>().join("\n");
        (lines, status, stderr)
    }
}

/// Reads `from` line by line onto a channel (echoing to the test's stderr
/// when `echo`, so a failing test shows what the example logged).
fn forward_lines(from: impl std::io::Read + Send + 'static, echo: bool) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if echo {
                eprintln!("waku-peer stderr: {line}");
            }
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
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

/// The node's Waku settings: distinctive options the example must echo,
/// and the mailserver hooks on (P2P Requests become events).
fn node_config() -> WakuConfig {
    WakuConfig {
        mailserver: true,
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

/// What [`run_against_node_with`] returns: the node's events, its Status
/// options, and the example's lines, exit status and stderr.
struct Run {
    seen: Vec<Event>,
    options: StatusOptions,
    lines: Vec<Value>,
    status: ExitStatus,
    stderr: String,
}

/// [`run_against_node_with`] without intercepting packets.
async fn run_against_node(
    args: &[&str],
    setup: impl FnOnce(&mut Waku),
    on_event: impl FnMut(&mut Waku, &Event),
) -> (Vec<Event>, StatusOptions, Vec<Value>, ExitStatus) {
    let run = run_against_node_with(args, setup, on_event).await;
    (run.seen, run.options, run.lines, run.status)
}

/// Runs the example with `args` against a Waku node on 127.0.0.1 until
/// the example closes the connection. `setup` configures the machine
/// before the peer is added; `on_event` sees every machine event and may
/// act on the machine (post, or answer an [`Event::P2PRequest`] as a
/// mailserver).
async fn run_against_node_with(
    args: &[&str],
    setup: impl FnOnce(&mut Waku),
    mut on_event: impl FnMut(&mut Waku, &Event),
) -> Run {
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
    let (lines, status, stderr) =
        tokio::task::spawn_blocking(move || example.finish(Duration::from_secs(10)))
            .await
            .unwrap();
    Run {
        seen,
        options,
        lines,
        status,
        stderr,
    }
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

// ---- history: the node answers as a mailserver ------------------------------

/// The listen topic of the history tests and its password.
const HISTORY_TOPIC: Topic = Topic([0xa1, 0xb2, 0xc3, 0xd4]);
const HISTORY_TOPIC_HEX: &str = "a1b2c3d4";
const HISTORY_PASSWORD: &str = "history pw";

fn unix_now() -> u32 {
    u32::try_from(now().as_secs()).unwrap()
}

/// An archived envelope: created at `sent` (Unix seconds), long expired by
/// now (a 60 s TTL; P2P Messages skip the expiry check), encrypted with
/// `key` and signed by `signer` if given, without PoW (P2P skips it too).
fn historic(
    rng: &mut ChaCha20Rng,
    sent: u32,
    topic: Topic,
    key: &SymmetricKey,
    signer: Option<&SecretKey>,
    payload: &[u8],
) -> Envelope {
    let mut params = MessageParams::new(payload, Encryption::Symmetric(key), topic);
    params.ttl = 60;
    params.signer = signer;
    let env = wrap(rng, &params, Timestamp::from_secs(u64::from(sent))).unwrap();
    assert_eq!(env.sent_secs(), sent);
    env
}

/// The example's arguments for history between `from` and `to` (Unix
/// seconds) on the listen topic, followed by `extra`.
fn history_args(from: u32, to: u32, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--listen-password",
        HISTORY_PASSWORD,
        "--listen-topic",
        HISTORY_TOPIC_HEX,
        "--history-from",
        &from.to_string(),
        "--history-to",
        &to.to_string(),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// The mailserver's side of a P2P Request (126) the machine reported:
/// the request envelope opened with the key status-go derives from the
/// mailserver password (`AddSymKeyFromPassword`, the public-chat PBKDF2),
/// checked to be signed by the peer that sent it, as status-go's
/// mailserver checks. Returns the requesting peer, the request and the
/// request id (the envelope hash) that Request Complete must carry;
/// `None` for other events.
fn open_request(
    waku: &Waku,
    event: &Event,
    password: &str,
) -> Option<(PeerId, MessagesRequest, [u8; 32])> {
    let Event::P2PRequest { peer, envelope, .. } = event else {
        return None;
    };
    let envelope = envelope
        .as_ref()
        .expect("the example sends its request as an envelope");
    assert_eq!(
        envelope.topic,
        Topic::default(),
        "request envelopes have topic 0"
    );
    let key = symmetric_key_from_password(password);
    let (request, message) = MessagesRequest::open_envelope(envelope, &key)
        .expect("the request opens with the mailserver password's key");
    let signer = message
        .signer()
        .expect("open_envelope rejects unsigned requests");
    assert_eq!(
        Some(signer.node_id()),
        waku.peer_node_id(*peer),
        "the request is signed by the requester"
    );
    Some((*peer, request, envelope.hash()))
}

/// Answers through the machine: P2P Messages (127) with `batches`, then
/// P2P Request Complete (125) with `rc`.
fn answer(waku: &mut Waku, peer: PeerId, batches: &[Vec<Envelope>], rc: &RequestComplete) {
    for batch in batches {
        waku.send_p2p_messages(peer, batch).unwrap();
    }
    waku.send_p2p_request_complete(peer, &rc.to_vec()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_the_history_a_mailserver_sends_then_history_complete() {
    let t = unix_now();
    let (from, to) = (t - 7200, t - 60);
    let listen_key = symmetric_key_from_password(HISTORY_PASSWORD);
    let wrong_key = symmetric_key_from_password("not the listen pw");
    let other_topic = Topic([0x01, 0x02, 0x03, 0x04]);
    let author = SecretKey::from_bytes(&[0x33; 32]).unwrap();
    let rng = &mut ChaCha20Rng::from_seed([9; 32]);

    // The archive. In the asked range and on the listen topic:
    let first = historic(rng, t - 7000, HISTORY_TOPIC, &listen_key, None, b"first");
    let signed = historic(
        rng,
        t - 3600,
        HISTORY_TOPIC,
        &listen_key,
        Some(&author),
        b"\x00signed\xff",
    );
    let wrong = historic(rng, t - 600, HISTORY_TOPIC, &wrong_key, None, b"wrong key");
    let last = historic(rng, t - 120, HISTORY_TOPIC, &listen_key, None, b"last");
    // Outside the range or on another topic: the mailserver must not select them.
    let too_old = historic(rng, t - 9000, HISTORY_TOPIC, &listen_key, None, b"too old");
    let too_new = historic(rng, t - 30, HISTORY_TOPIC, &listen_key, None, b"too new");
    let elsewhere = historic(rng, t - 3000, other_topic, &listen_key, None, b"elsewhere");
    let archive = [
        &first, &signed, &wrong, &last, &too_old, &too_new, &elsewhere,
    ];
    // Sent anyway, as a sloppy mailserver might: the example has no
    // filter on that topic and must not print it.
    let stray = historic(rng, t - 2000, other_topic, &listen_key, None, b"stray");

    let args = history_args(from, to, &["--mailserver-password", "mailserver pw"]);
    let mut answered = None;
    let run = run_against_node_with(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        |_| {},
        |waku, event| {
            let Some((peer, request, request_id)) = open_request(waku, event, "mailserver pw")
            else {
                return;
            };
            assert!(answered.is_none(), "one request only");
            // What status-go's MakeMessagesRequestPayload sends for one topic.
            assert_eq!(
                request,
                MessagesRequest {
                    lower: from,
                    upper: to,
                    bloom: Some(Bloom::from_topics(&[HISTORY_TOPIC])),
                    topics: Vec::new(),
                    limit: MAX_LIMIT,
                    cursor: Vec::new(),
                    batch: true,
                }
            );
            let bloom = request.bloom.expect("a bloom request");
            assert!(
                !bloom.matches(other_topic),
                "pick a topic outside the bloom"
            );
            let mut selected: Vec<&Envelope> = archive
                .iter()
                .copied()
                .filter(|e| {
                    (request.lower..=request.upper).contains(&e.sent_secs())
                        && bloom.matches(e.topic)
                })
                .collect();
            selected.sort_by_key(|e| e.sent_secs());
            assert_eq!(selected, [&first, &signed, &wrong, &last]);
            let end = selected[selected.len() - 1];
            let rc = RequestComplete::Completed {
                request_id,
                last_envelope_hash: end.hash(),
                cursor: cursor(end.sent_secs(), &end.hash()).to_vec(),
            };
            // Two batches, the stray one in the first.
            let batches = [
                vec![selected[0].clone(), stray.clone(), selected[1].clone()],
                selected[2..].iter().map(|e| (*e).clone()).collect(),
            ];
            answer(waku, peer, &batches, &rc);
            answered = Some(rc);
        },
    )
    .await;
    let lines = &run.lines;
    assert!(run.status.success(), "waku-peer: {}, {lines:?}", run.status);
    let Some(RequestComplete::Completed { cursor, .. }) = answered else {
        panic!("the example sent no P2P Request");
    };
    assert_eq!(
        events(lines),
        [
            "status",
            "message",
            "message",
            "message",
            "history_complete"
        ],
        "{lines:?}"
    );
    let author_hex = hex0x(&author.public_key().to_uncompressed());
    let expected = [
        (&first, &b"first"[..], Value::Null),
        (&signed, &b"\x00signed\xff"[..], Value::from(author_hex)),
        (&last, &b"last"[..], Value::Null),
    ];
    for (line, (env, payload, signer)) in lines[1..4].iter().zip(expected) {
        assert_eq!(
            *line,
            json!({
                "event": "message",
                "topic": format!("0x{HISTORY_TOPIC_HEX}"),
                "hash": hex0x(&env.hash()),
                "payload_hex": hex::encode(payload),
                "signer": signer,
                "p2p": true,
            })
        );
    }
    assert_eq!(cursor.len(), status_waku::mailserver::CURSOR_SIZE);
    assert_eq!(
        lines[4],
        json!({"event": "history_complete", "cursor": hex::encode(&cursor), "count": 3})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_fails_without_a_request_complete_for_its_request() {
    let t = unix_now();
    let listen_key = symmetric_key_from_password(HISTORY_PASSWORD);
    let rng = &mut ChaCha20Rng::from_seed([10; 32]);
    let old = historic(rng, t - 100, HISTORY_TOPIC, &listen_key, None, b"old");
    let args = history_args(t - 3600, t, &["--history-secs", "2"]);
    let mut requested = None;
    let run = run_against_node_with(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        |_| {},
        |waku, event| {
            // No --mailserver-password: the default one.
            let Some((peer, _, request_id)) =
                open_request(waku, event, DEFAULT_MAILSERVER_PASSWORD)
            else {
                return;
            };
            requested = Some(Instant::now());
            let mut other_id = request_id;
            other_id[0] ^= 1;
            // A message, then completion of some other request: ignored.
            let rc = RequestComplete::Completed {
                request_id: other_id,
                last_envelope_hash: old.hash(),
                cursor: Vec::new(),
            };
            answer(waku, peer, &[vec![old.clone()]], &rc);
        },
    )
    .await;
    // from the request to the example's exit: its 2 s wait, not a hang
    // (process start-up and the handshake are not what is timed)
    let requested = requested.expect("the example sent no P2P Request");
    let elapsed = requested.elapsed();
    assert!(
        !run.status.success(),
        "waku-peer should fail: {:?}",
        run.lines
    );
    assert_eq!(events(&run.lines), ["status", "message"], "{:?}", run.lines);
    assert!(
        run.stderr.contains(
            "no Request Complete from the peer within 2 s (1 historic messages received)"
        ),
        "stderr: {}",
        run.stderr
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_fails_when_the_mailserver_refuses_the_request() {
    let t = unix_now();
    let args = history_args(t - 3600, t, &[]);
    let run = run_against_node_with(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        |_| {},
        |waku, event| {
            let Some((peer, _, request_id)) =
                open_request(waku, event, DEFAULT_MAILSERVER_PASSWORD)
            else {
                return;
            };
            let rc = RequestComplete::Failed {
                request_id,
                error: "query failed".into(),
            };
            answer(waku, peer, &[], &rc);
        },
    )
    .await;
    assert!(
        !run.status.success(),
        "waku-peer should fail: {:?}",
        run.lines
    );
    assert_eq!(events(&run.lines), ["status"], "{:?}", run.lines);
    assert!(
        run.stderr
            .contains("the mailserver refused the request: query failed"),
        "stderr: {}",
        run.stderr
    );
}
