//! The independent peer implementations of `shared/peers` (Node.js scripts
//! around @ethereumjs/devp2p, @chainsafe/discv5 and @chainsafe/enr), for
//! interop tests over loopback.
//!
//! `.ci/run` installs them in `target/peers` and exports `STATUS_RS_PEERS`;
//! a test that cannot find them prints `SKIP` and passes, so a machine
//! without Node.js still runs everything else.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Environment variable naming a folder with the peer scripts installed
/// (`npm ci` done).
pub const PEERS_ENV: &str = "STATUS_RS_PEERS";

/// The folder holding `script` with the npm package `package` installed,
/// from `STATUS_RS_PEERS` or the workspace's `target/peers`, if `node`
/// runs; otherwise prints why the caller skips and returns `None`.
pub fn peers_dir(script: &str, package: &str) -> Option<PathBuf> {
    let candidates = [
        std::env::var_os(PEERS_ENV).map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peers")),
    ];
    let Some(dir) = candidates
        .into_iter()
        .flatten()
        .find(|d| d.join(script).is_file() && d.join("node_modules").join(package).is_dir())
    else {
        eprintln!(
            "SKIP: no installed {script} (set {PEERS_ENV} to a copy of shared/peers \
             after `npm ci`, or run .ci/run)"
        );
        return None;
    };
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|out| out.status.success()) {
        eprintln!("SKIP: `node` is not installed");
        return None;
    }
    Some(dir)
}

/// `node <script> <args>` running in the peers folder, killed on drop; its
/// stdout lines arrive on a channel and are kept for error messages.
pub struct NodePeer {
    script: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl NodePeer {
    /// Starts `node <script> <args>` in `dir`.
    ///
    /// # Panics
    /// When `node` cannot be started (callers checked with [`peers_dir`]).
    pub fn spawn(dir: &Path, script: &str, args: &[&str]) -> NodePeer {
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        NodePeer {
            script: script.to_owned(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits up to `within` for a stdout line containing `needle` (or
    /// finds one already seen) and returns it.
    ///
    /// # Panics
    /// When no such line comes in time; the message lists what the peer
    /// printed.
    pub fn expect(&mut self, needle: &str, within: Duration) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    println!("{}: {line}", self.script);
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "{} never printed {needle:?}; it printed:\n{}",
                    self.script,
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits up to `within` for the process to exit; `None` if it is still
    /// running (it is killed on drop).
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NodePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
