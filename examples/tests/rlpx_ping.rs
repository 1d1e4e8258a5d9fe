//! Runs the `rlpx-ping` example as real processes over loopback: one
//! listening with `--echo`, the other side a second `rlpx-ping` or the
//! tokio driver inside this test.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use status_core::{Enode, SecretKey};
use status_rlpx::p2p::{CapabilityConfig, DisconnectReason};
use status_rlpx::session::Config;
use status_tokio::{Connection, Event};

/// The `rlpx-ping` example binary (`$RLPX_PING_BIN` overrides), built once per test run.
fn rlpx_ping_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| common::example_binary("rlpx-ping", "RLPX_PING_BIN"))
        .clone()
}

/// A child process killed on drop, with its stdout lines on a channel.
struct Peer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    fn spawn(args: &[&str]) -> Peer {
        let mut child = Command::new(rlpx_ping_binary())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn rlpx-ping");
        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        // Drain stdout continuously: a full pipe would stall the child.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer { child, lines }
    }

    /// The next stdout line as JSON.
    fn next(&self, within: Duration) -> Value {
        let line = self
            .lines
            .recv_timeout(within)
            .expect("rlpx-ping printed nothing in time");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Every remaining stdout line, once the process exits; and its status.
    fn finish(mut self, within: Duration) -> (Vec<Value>, std::process::ExitStatus) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "rlpx-ping did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        };
        let lines = self
            .lines
            .iter()
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        (lines, status)
    }

    /// Starts `rlpx-ping --listen 127.0.0.1:0 <extra>` and reads its enode.
    fn listen(extra: &[&str]) -> (Peer, Enode) {
        let mut args = vec!["--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let peer = Peer::spawn(&args);
        let first = peer.next(Duration::from_secs(60));
        assert_eq!(first["event"], "listening", "{first}");
        let enode = first["enode"]
            .as_str()
            .expect("enode string")
            .parse()
            .expect("a valid enode");
        (peer, enode)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn waku_config() -> Arc<Config> {
    Arc::new(Config {
        capabilities: vec![CapabilityConfig {
            cap: "waku/1".parse().unwrap(),
            length: 128,
        }],
        ..Config::default()
    })
}

#[test]
fn two_processes_hello_ping_and_clean_disconnect() {
    let (listener, enode) = Peer::listen(&["--echo", "--caps", "waku/1,whisper/6"]);
    let key = "42".repeat(32);
    let dialer = Peer::spawn(&[&enode.to_string(), "--key", &key, "--listen-secs", "0"]);
    let (dialed, status) = dialer.finish(Duration::from_secs(30));
    assert!(status.success(), "dialer: {status}, {dialed:?}");
    let events: Vec<&str> = dialed.iter().filter_map(|v| v["event"].as_str()).collect();
    assert_eq!(events, ["hello", "pong", "disconnect"], "{dialed:?}");
    let hello = &dialed[0];
    assert_eq!(hello["node_id"], enode.id.to_string());
    assert!(hello["client_id"]
        .as_str()
        .is_some_and(|c| c.starts_with("status-rs/")));
    assert_eq!(hello["caps"], serde_json::json!(["waku/1", "shh/6"]));
    assert!(dialed[1]["rtt_ms"].is_u64());
    assert_eq!(dialed[2]["by_peer"], false);

    let (heard, status) = listener.finish(Duration::from_secs(30));
    assert!(status.success(), "listener: {status}, {heard:?}");
    let events: Vec<&str> = heard.iter().filter_map(|v| v["event"].as_str()).collect();
    assert_eq!(events, ["hello", "pong", "disconnect"], "{heard:?}");
    let our_id = SecretKey::from_hex(&key)
        .unwrap()
        .public_key()
        .node_id()
        .to_string();
    assert_eq!(heard[0]["node_id"], our_id);
    assert_eq!(heard[2]["reason"], "disconnect requested");
    assert_eq!(heard[2]["by_peer"], true);
}

/// Message `i` of the echo test: deterministic sizes from 1 B to 64 KiB,
/// roughly log-uniform (each power of two from 1 to 64 Ki equally likely,
/// then uniform within it), and incompressible contents that differ per
/// message (a slice of a fixed random pool, stamped with `i`).
struct Workload {
    pool: Vec<u8>,
}

impl Workload {
    const MAX: usize = 64 << 10;

    fn new() -> Self {
        let mut x = 0x5eed_u64;
        let pool = (0..2 * Self::MAX)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        Workload { pool }
    }

    fn size(i: u64) -> usize {
        let r = (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let bits = (r >> 59) % 17; // 0..=16
        let base = 1usize << bits;
        let within = (r as usize) & (base - 1);
        (base + within).min(Self::MAX)
    }

    fn message(&self, i: u64) -> Bytes {
        let size = Self::size(i);
        let start = (i as usize).wrapping_mul(7919) % Self::MAX;
        let mut m = self.pool[start..start + size].to_vec();
        let stamp = (i as u32).to_be_bytes();
        let n = m.len().min(4);
        m[..n].copy_from_slice(&stamp[..n]);
        Bytes::from(m)
    }
}

#[test]
fn ten_thousand_mixed_messages_echoed_intact_and_in_order() {
    const COUNT: u64 = 10_000;
    let started = Instant::now();
    let (listener, enode) = Peer::listen(&["--echo"]);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let total_bytes = runtime.block_on(async {
        let key = SecretKey::from_bytes(&[0x33; 32]).unwrap();
        let mut conn = Connection::connect(waku_config(), key, &enode)
            .await
            .expect("dial rlpx-ping");
        assert!(conn.ping().await.unwrap() < Duration::from_secs(5));

        let work = Arc::new(Workload::new());
        let handle = conn.handle();
        let sender = tokio::spawn({
            let work = work.clone();
            async move {
                for i in 0..COUNT {
                    // Codes cycle through waku's id space.
                    handle
                        .send("waku", i % 128, work.message(i))
                        .await
                        .unwrap_or_else(|e| panic!("send {i}: {e}"));
                }
            }
        });
        let mut total = 0usize;
        let mut i = 0;
        while i < COUNT {
            let event = tokio::time::timeout(Duration::from_secs(60), conn.recv())
                .await
                .unwrap_or_else(|_| panic!("echo {i} did not come back in time"));
            match event {
                // Keep-alive pings run while the test does.
                Some(Event::Pong { .. }) => continue,
                Some(Event::Message(m)) => {
                    assert_eq!((m.cap.as_str(), m.code), ("waku", i % 128), "echo {i}");
                    assert!(m.payload == work.message(i), "echo {i} corrupted");
                    total += m.payload.len();
                    i += 1;
                }
                other => panic!("echo {i}: {other:?}"),
            }
        }
        sender.await.unwrap();
        conn.disconnect(DisconnectReason::Requested).await.unwrap();
        total
    });

    let (heard, status) = listener.finish(Duration::from_secs(30));
    assert!(status.success(), "listener: {status}");
    let messages: Vec<&Value> = heard.iter().filter(|v| v["event"] == "message").collect();
    assert_eq!(messages.len() as u64, COUNT);
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m["len"], Workload::size(i as u64), "listener line {i}");
    }
    assert_eq!(
        heard.last().map(|v| v["event"].clone()),
        Some("disconnect".into())
    );
    eprintln!(
        "echoed {COUNT} messages, {:.1} MiB each way, in {:.1} s",
        total_bytes as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn listener_stops_after_count_messages() {
    let (listener, enode) = Peer::listen(&["--count", "3"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let key = SecretKey::from_bytes(&[0x44; 32]).unwrap();
        let mut conn = Connection::connect(waku_config(), key, &enode)
            .await
            .unwrap();
        for i in 0..3u8 {
            conn.send("waku", 1, vec![i; 10]).await.unwrap();
        }
        loop {
            match tokio::time::timeout(Duration::from_secs(30), conn.recv()).await {
                Ok(Some(Event::Pong { .. })) => {}
                Ok(Some(Event::Closed {
                    reason, by_peer, ..
                })) => {
                    assert_eq!((reason, by_peer), (DisconnectReason::Requested, true));
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
    });
    let (heard, status) = listener.finish(Duration::from_secs(30));
    assert!(status.success());
    let events: Vec<&str> = heard.iter().filter_map(|v| v["event"].as_str()).collect();
    assert_eq!(
        events,
        [
            "hello",
            "pong",
            "message",
            "message",
            "message",
            "disconnect"
        ]
    );
}
