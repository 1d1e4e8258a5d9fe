//! `discv5-ping`: handshake with one discv5 (v5.1) node, PING it, ask
//! FINDNODE at distances 0 and 256, send one TALKREQ, and print each answer
//! as one JSON object per line.
//!
//! ```text
//! cargo run --release --example discv5-ping -- enr:-IS4Q... [--bind 127.0.0.1:PORT]
//! {"event":"pong","enr_seq":1,"ip":"127.0.0.1","port":40404}
//! {"event":"nodes","count":1,"enrs":["enr:-IS4Q..."]}
//! {"event":"talkresp","hex":"70696e67"}
//! ```
//!
//! Exit status 0 when all three requests were answered.

use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand_core::{OsRng, TryRngCore};
use serde_json::json;
use status_core::{SecretKey, Timestamp};
use status_discovery::discv5::{Config, Discv5, Event};
use status_discovery::Enr;

const USAGE: &str = "\
usage: discv5-ping <enr:...> [options]

Handshakes with the node, sends PING, FINDNODE [0, 256] and one TALKREQ,
and prints {\"event\":\"pong\"|\"nodes\"|\"talkresp\",...} lines on stdout.
Exit status 0 when all three were answered.

options:
  --bind <ip:port>       local UDP endpoint [default: 127.0.0.1:0]
  --talk <proto:hex>     the TALKREQ protocol and payload [default: discv5-ping:70696e67]
  --key <hex>            our secret key, 64 hex digits [default: random]
  --timeout <secs>       give up after this long [default: 10]
  -h, --help             print this help";

struct Args {
    target: Enr,
    bind: SocketAddr,
    talk: (Vec<u8>, Vec<u8>),
    key: Option<SecretKey>,
    timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut target = None;
    let mut bind: SocketAddr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    let mut talk = (b"discv5-ping".to_vec(), b"ping".to_vec());
    let mut key = None;
    let mut timeout = Duration::from_secs(10);
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("bind") => {
                let v = parser.value().map_err(|e| e.to_string())?;
                bind = v
                    .to_string_lossy()
                    .parse()
                    .map_err(|e| format!("--bind: {e}"))?;
            }
            Long("talk") => {
                let v = parser.value().map_err(|e| e.to_string())?;
                let v = v.to_string_lossy().to_string();
                let (p, h) = v.split_once(':').unwrap_or((&v, ""));
                talk = (
                    p.as_bytes().to_vec(),
                    hex::decode(h).map_err(|e| format!("--talk payload: {e}"))?,
                );
            }
            Long("key") => {
                let v = parser.value().map_err(|e| e.to_string())?;
                key = Some(
                    SecretKey::from_hex(&v.to_string_lossy()).map_err(|e| format!("--key: {e}"))?,
                );
            }
            Long("timeout") => {
                let v = parser.value().map_err(|e| e.to_string())?;
                let secs: u64 = v
                    .to_string_lossy()
                    .parse()
                    .map_err(|e| format!("--timeout: {e}"))?;
                timeout = Duration::from_secs(secs);
            }
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Value(v) if target.is_none() => {
                let text = v.to_string_lossy().to_string();
                target = Some(Enr::from_text(&text).map_err(|e| format!("target record: {e}"))?);
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    let target = target.ok_or("missing <enr:...>")?;
    Ok(Args {
        target,
        bind,
        talk,
        key,
        timeout,
    })
}

fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Timestamp::from_millis(ms)
}

fn run(args: Args) -> Result<bool, String> {
    let mut os = OsRng;
    let key = match args.key {
        Some(k) => k,
        None => {
            let mut b = [0u8; 32];
            loop {
                os.try_fill_bytes(&mut b).map_err(|e| e.to_string())?;
                if let Ok(k) = SecretKey::from_bytes(&b) {
                    break k;
                }
            }
        }
    };
    let mut seed = [0u8; 32];
    os.try_fill_bytes(&mut seed).map_err(|e| e.to_string())?;

    let socket = UdpSocket::bind(args.bind).map_err(|e| format!("bind {}: {e}", args.bind))?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let ip = if local.ip().is_unspecified() {
        "127.0.0.1".parse().map_err(|e| format!("{e}"))?
    } else {
        local.ip()
    };
    // seq 1: some implementations reject records with seq 0.
    let enr = Enr::builder()
        .seq(1)
        .ip(ip)
        .udp(local.port())
        .sign(&key)
        .map_err(|e| e.to_string())?;
    let mut node =
        Discv5::new(key, enr, Config::default(), seed, now()).map_err(|e| e.to_string())?;

    let t = now();
    let ping = node.ping(t, &args.target).map_err(|e| e.to_string())?;
    let find = node
        .find_node(t, &args.target, &[0, 256])
        .map_err(|e| e.to_string())?;
    let talk = node
        .talk_req(t, &args.target, &args.talk.0, &args.talk.1)
        .map_err(|e| e.to_string())?;
    let mut open = vec![ping, find, talk];

    let deadline = now() + args.timeout;
    let mut buf = [0u8; 1500];
    loop {
        while let Some(tx) = node.poll_transmit() {
            socket
                .send_to(&tx.datagram, tx.to)
                .map_err(|e| format!("send to {}: {e}", tx.to))?;
        }
        while let Some(ev) = node.poll_event() {
            let line = match ev {
                Event::Pong {
                    request_id,
                    enr_seq,
                    ip,
                    port,
                    ..
                } => {
                    open.retain(|r| *r != request_id);
                    json!({"event": "pong", "enr_seq": enr_seq, "ip": ip.to_string(), "port": port})
                }
                Event::Nodes {
                    request_id, enrs, ..
                } => {
                    open.retain(|r| *r != request_id);
                    let texts: Vec<String> = enrs.iter().map(Enr::to_text).collect();
                    json!({"event": "nodes", "count": texts.len(), "enrs": texts})
                }
                Event::TalkResp {
                    request_id,
                    response,
                    ..
                } => {
                    open.retain(|r| *r != request_id);
                    json!({"event": "talkresp", "hex": hex::encode(response)})
                }
                Event::RequestFailed {
                    request_id, reason, ..
                } => {
                    let which = if request_id == ping {
                        "ping"
                    } else if request_id == find {
                        "findnode"
                    } else {
                        "talkreq"
                    };
                    json!({"event": "error", "request": which, "reason": reason})
                }
                _ => continue,
            };
            println!("{line}");
        }
        if open.is_empty() {
            return Ok(true);
        }
        let t = now();
        if t >= deadline {
            return Ok(false);
        }
        let wake = node
            .poll_timeout()
            .map_or(deadline, |(w, _)| w.min(deadline));
        let wait = wake
            .saturating_duration_since(t)
            .max(Duration::from_millis(1));
        socket
            .set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Err(e) = node.handle_input(now(), from, &buf[..n]) {
                    eprintln!("dropped datagram from {from}: {e}");
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                node.handle_timeout(now());
            }
            Err(e) => return Err(format!("recv: {e}")),
        }
        if now() >= wake {
            node.handle_timeout(now());
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("discv5-ping: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("discv5-ping: not every request was answered");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("discv5-ping: {e}");
            ExitCode::from(1)
        }
    }
}
