//! Two `node` examples as real processes over loopback: the second dials
//! the first as a static node; each posts to a public chat both follow,
//! and each prints the other's message; end of stdin stops both, and the
//! one left sees the other go.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

fn node_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| common::example_binary("node", "NODE_EXAMPLE_BIN"))
        .clone()
}

/// A child process killed on drop, with its stdout lines on a channel.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut child = Command::new(node_binary())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node example");
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line).expect("a JSON line");
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line (seen now or later) that `want` accepts.
    fn wait_for(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| want(v)) {
            return v.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if want(&v) {
                        return v;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no {what}; saw {:?}", self.seen);
    }

    fn quit(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = writeln!(s, "quit");
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn message(payload: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["event"] == "message" && v["payload"] == payload
}

#[test]
fn two_example_nodes_relay_envelopes_over_loopback() {
    let mut a = Proc::spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--min-pow",
        "0",
        "--subscribe",
        "loopback-chat",
        "--post",
        "loopback-chat=hello from a",
    ]);
    let listening = a.wait_for("listening", |v| v["event"] == "listening");
    let enode = listening["enode"].as_str().unwrap().to_string();
    assert!(enode.starts_with("enode://") && enode.contains("@127.0.0.1:"));
    let mut b = Proc::spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--min-pow",
        "0",
        "--static",
        &enode,
        "--subscribe",
        "loopback-chat",
        "--post",
        "loopback-chat=hello from b",
    ]);
    let up = b.wait_for("peer_connected", |v| v["event"] == "peer_connected");
    assert_eq!(up["direction"], "outbound");
    a.wait_for("peer_connected", |v| {
        v["event"] == "peer_connected" && v["direction"] == "inbound"
    });
    // Each hears the other, and itself (a node's own filters see its posts).
    a.wait_for("b's message", message("hello from b"));
    b.wait_for("a's message", message("hello from a"));
    b.wait_for("its own message", message("hello from b"));
    let from_a = b.seen.iter().filter(|v| message("hello from a")(v)).count();
    assert_eq!(from_a, 1, "exactly once");

    b.quit();
    b.wait_for("stopped", |v| v["event"] == "stopped");
    a.wait_for("b's goodbye", |v| {
        v["event"] == "peer_disconnected"
            && v["cause"].as_str().unwrap_or("").contains("ClientQuitting")
    });
    a.quit();
    a.wait_for("stopped", |v| v["event"] == "stopped");
    assert!(a.child.wait().unwrap().success());
    assert!(b.child.wait().unwrap().success());
}
