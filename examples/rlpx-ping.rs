//! `rlpx-ping`: dial (or accept) one RLPx peer, complete the handshake,
//! ping it, and list what it sends, one JSON object per line on stdout.
//!
//! ```text
//! cargo run --release --example rlpx-ping -- enode://<id>@127.0.0.1:30303
//! {"event":"hello","client_id":"Statusd/v0.55.1/...","caps":["waku/1"],"node_id":"..."}
//! {"event":"pong","rtt_ms":12}
//! {"event":"message","cap":"waku","code":0,"len":45}
//! {"event":"disconnect","reason":"disconnect requested","code":0,"by_peer":false}
//! ```
//!
//! Run with `--help` for the options; `RUST_LOG=debug` logs the driver's
//! spans on stderr.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rand_core::{OsRng, TryRngCore};
use serde_json::Value;
use status_core::{Enode, SecretKey};
use status_rlpx::handshake::AuthFormat;
use status_rlpx::p2p::{Capability, CapabilityConfig, DisconnectReason};
use status_rlpx::session::Config;
use status_tokio::{Connection, Event};
use tokio::net::TcpListener;

const USAGE: &str = "\
usage: rlpx-ping <enode-url> [options]
       rlpx-ping --listen <ip:port> [options]

Dials the node (or accepts one connection), completes the RLPx handshake,
pings, prints every capability message received, then disconnects. One JSON
object per line on stdout; errors on stderr; exit status 0 on a clean run.

options:
  --caps <list>        capabilities to announce, comma separated NAME/VERSION
                       or NAME/VERSION:IDS [default: waku/1]; waku and shh
                       (alias whisper) use 128 message ids
  --key <hex>          our secret key, 64 hex digits [default: random]
  --listen <ip:port>   accept one connection instead of dialing (port 0 picks
                       one); prints {\"event\":\"listening\",\"enode\":...} first
  --listen-secs <n>    how long to wait for messages [default: 2 when
                       dialing; when listening, until the peer disconnects]
  --count <n>          stop after n capability messages
  --echo               send every capability message back to the peer
  --legacy-auth        dial with the pre-EIP-8 handshake encoding
  -h, --help           print this help";

/// Whom to talk to.
enum Target {
    Dial(Enode),
    Listen(SocketAddr),
}

struct Args {
    target: Target,
    caps: Vec<CapabilityConfig>,
    key: Option<SecretKey>,
    listen_secs: Option<u64>,
    count: Option<u64>,
    echo: bool,
    legacy_auth: bool,
}

/// Parses `NAME/VERSION[:IDS]`; waku/1 and shh/6 (Whisper, EIP-627) both
/// reserve message codes 0..=127.
fn parse_cap(s: &str) -> Result<CapabilityConfig, String> {
    let (cap, ids) = match s.split_once(':') {
        Some((cap, ids)) => (cap, Some(ids)),
        None => (s, None),
    };
    let mut cap: Capability = cap
        .parse()
        .map_err(|_| format!("bad capability {s:?}: expected NAME/VERSION[:IDS]"))?;
    if cap.name == "whisper" {
        cap.name = "shh".into();
    }
    let length = match ids {
        Some(ids) => ids
            .parse()
            .map_err(|_| format!("bad message-id count in {s:?}"))?,
        None if cap.name == "waku" || cap.name == "shh" => 128,
        None => {
            return Err(format!(
                "unknown capability {s:?}: give its id count as {s}:IDS"
            ))
        }
    };
    Ok(CapabilityConfig { cap, length })
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut enode = None;
    let mut listen = None;
    let mut args = Args {
        target: Target::Listen(SocketAddr::from(([127, 0, 0, 1], 0))),
        caps: vec![],
        key: None,
        listen_secs: None,
        count: None,
        echo: false,
        legacy_auth: false,
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => {
                use std::io::Write;
                let _ = writeln!(std::io::stdout(), "{USAGE}");
                std::process::exit(0);
            }
            Long("caps") => {
                for cap in parser.value()?.string()?.split(',') {
                    args.caps.push(parse_cap(cap.trim())?);
                }
            }
            Long("key") => {
                let hex = parser.value()?.string()?;
                let key = SecretKey::from_hex(&hex).map_err(|e| format!("bad --key: {e}"))?;
                args.key = Some(key);
            }
            Long("listen") => listen = Some(parser.value()?.parse::<SocketAddr>()?),
            Long("listen-secs") => args.listen_secs = Some(parser.value()?.parse()?),
            Long("count") => args.count = Some(parser.value()?.parse()?),
            Long("echo") => args.echo = true,
            Long("legacy-auth") => args.legacy_auth = true,
            Value(url) if enode.is_none() => enode = Some(url.parse::<Enode>()?),
            _ => return Err(arg.unexpected()),
        }
    }
    args.target = match (enode, listen) {
        (Some(enode), None) => Target::Dial(enode),
        (None, Some(addr)) => Target::Listen(addr),
        (None, None) => return Err("give an enode URL to dial or --listen <ip:port>".into()),
        (Some(_), Some(_)) => return Err("give either an enode URL or --listen, not both".into()),
    };
    if args.caps.is_empty() {
        args.caps.push(parse_cap("waku/1")?);
    }
    Ok(args)
}

/// Prints `{"event":<event>, <fields>...}` on one line, `event` first.
fn emit(event: &str, fields: &[(&str, Value)]) {
    use std::io::Write;
    let mut line = format!("{{\"event\":{}", Value::from(event));
    for (name, value) in fields {
        line.push_str(&format!(",{}:{value}", Value::from(*name)));
    }
    line.push('}');
    // A closed stdout is not worth failing over.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn emit_disconnect(reason: DisconnectReason, by_peer: bool) {
    emit(
        "disconnect",
        &[
            ("reason", reason.to_string().into()),
            ("code", reason.code().into()),
            ("by_peer", by_peer.into()),
        ],
    );
}

/// Why the message loop stopped.
enum End {
    /// `--listen-secs` elapsed or `--count` reached: we hang up.
    Done,
    /// The connection closed under us.
    Closed {
        reason: DisconnectReason,
        by_peer: bool,
        error: Option<status_tokio::DriverError>,
    },
}

async fn run(args: Args) -> Result<(), String> {
    let key = match args.key {
        Some(key) => key,
        None => SecretKey::random(&mut OsRng.unwrap_err()),
    };
    let mut config = Config {
        capabilities: args.caps,
        ..Config::default()
    };
    if args.legacy_auth {
        config.auth_format = AuthFormat::Legacy;
    }

    let mut conn = match args.target {
        Target::Dial(enode) => Connection::connect(Arc::new(config), key, &enode)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", enode.addr))?,
        Target::Listen(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let local = listener
                .local_addr()
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            config.listen_port = local.port();
            let enode = Enode::new(&key.public_key(), local);
            emit("listening", &[("enode", enode.to_string().into())]);
            Connection::accept(Arc::new(config), key, &listener)
                .await
                .map_err(|e| format!("handshake with the incoming peer failed: {e}"))?
        }
    };

    let hello = conn.hello();
    let caps: Vec<Value> = hello
        .capabilities
        .iter()
        .map(|c| c.to_string().into())
        .collect();
    emit(
        "hello",
        &[
            ("client_id", hello.client_id.clone().into()),
            ("caps", caps.into()),
            ("node_id", conn.remote_id().to_string().into()),
            ("protocol_version", hello.protocol_version.into()),
        ],
    );
    let rtt = conn.ping().await.map_err(|e| format!("ping failed: {e}"))?;
    emit("pong", &[("rtt_ms", (rtt.as_millis() as u64).into())]);

    let listen_secs = match (&args.listen_secs, conn.direction()) {
        (Some(secs), _) => Some(*secs),
        (None, status_tokio::Direction::Outbound) => Some(2),
        (None, status_tokio::Direction::Inbound) => None,
    };
    let deadline = listen_secs.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut received = 0u64;
    let end = loop {
        if args.count == Some(received) {
            break End::Done;
        }
        let event = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, conn.recv()).await {
                Ok(event) => event,
                Err(_) => break End::Done,
            },
            None => conn.recv().await,
        };
        match event {
            Some(Event::Message(m)) => {
                emit(
                    "message",
                    &[
                        ("cap", m.cap.clone().into()),
                        ("code", m.code.into()),
                        ("len", m.payload.len().into()),
                    ],
                );
                received += 1;
                if args.echo {
                    conn.send(&m.cap, m.code, m.payload)
                        .await
                        .map_err(|e| format!("echo failed: {e}"))?;
                }
            }
            Some(Event::Pong { rtt }) => {
                emit("pong", &[("rtt_ms", (rtt.as_millis() as u64).into())]);
            }
            Some(Event::Closed {
                reason,
                by_peer,
                error,
            }) => {
                break End::Closed {
                    reason,
                    by_peer,
                    error,
                }
            }
            None => return Err("connection ended without a reason".into()),
        }
    };

    match end {
        End::Done => {
            conn.disconnect(DisconnectReason::Requested)
                .await
                .map_err(|e| format!("disconnect failed: {e}"))?;
            emit_disconnect(DisconnectReason::Requested, false);
            Ok(())
        }
        End::Closed {
            reason,
            by_peer,
            error,
        } => {
            emit_disconnect(reason, by_peer);
            match error {
                Some(e) => Err(format!("connection failed: {e}")),
                None if by_peer
                    && !matches!(
                        reason,
                        DisconnectReason::Requested | DisconnectReason::ClientQuitting
                    ) =>
                {
                    Err(format!("peer disconnected: {reason}"))
                }
                None => Ok(()),
            }
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("rlpx-ping: {e}\nrun with --help for usage");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("rlpx-ping: {msg}");
            ExitCode::FAILURE
        }
    }
}
