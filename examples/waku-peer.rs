//! `waku-peer`: dial one node, run RLPx and the waku/1 handshake, then
//! post, listen and fetch history, one JSON object per line on stdout.
//!
//! ```text
//! cargo run --release --example waku-peer -- enode://<id>@127.0.0.1:30303 \
//!     --listen-password status --listen-topic cd423760 --listen-secs 10
//! {"event":"status","options":{"pow_requirement":2e-6,...}}
//! {"event":"message","topic":"0xcd423760","hash":"0x...","payload_hex":"...","signer":"0x04...","p2p":false}
//! ```
//!
//! With `--history-from/--history-to` the peer is asked as a mailserver
//! (11/WAKU-MAILSERVER): the dialled node is marked trusted so that its
//! P2P Messages (127) reach our filter, the historic messages print as
//! above with `"p2p":true`, and the P2P Request Complete (125) whose
//! request id is our request envelope's hash ends it with
//! `{"event":"history_complete","cursor":"<hex>","count":N}`.
//!
//! The Waku machine (`status_waku::Waku`) is sans-IO; this file is its
//! driver: it feeds the machine what the RLPx connection delivers, sends
//! what the machine asks, and arms its timer. Run with `--help` for the
//! options; `RUST_LOG=debug` logs the RLPx driver's spans on stderr.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use status_core::{Enode, SecretKey};
use status_driver::os;
use status_rlpx::p2p::{CapabilityConfig, DisconnectReason};
use status_rlpx::session::Config;
use status_tokio::{Connection, Event as ConnEvent};
use status_waku::filter::Filter;
use status_waku::mailserver::{
    MessagesRequest, RequestComplete, DEFAULT_MAILSERVER_PASSWORD, DEFAULT_REQUEST_TTL, MAX_LIMIT,
};
use status_waku::node::{Delivered, Event};
use status_waku::peer::{PeerId, Protocol};
use status_waku::topic::symmetric_key_from_password;
use status_waku::{
    wrap, Encryption, Interest, MessageParams, StatusOptions, Topic, Waku, WakuConfig,
};

const USAGE: &str = "\
usage: waku-peer <enode-url> [options]

Dials the node, completes the RLPx and waku/1 handshakes and prints the
peer's status options, then does what the options ask. One JSON object per
line on stdout; errors on stderr; exit status 0 when everything asked for
happened.

options:
  --key <hex>                  our secret key, 64 hex digits [default: random]
  --light                      act as a light node (forward nothing)
  --post-password <P>          post one envelope encrypted with the key
                               derived from P (public-chat PBKDF2)
  --topic <hex8>               topic of the posted envelope
  --payload <text>             its payload
  --ttl <secs>                 its time to live [default: 60]
  --pow <x>                    its PoW target [default: the peer's requirement]
  --listen-password <P>        open envelopes with the key derived from P
  --listen-topic <hex8>        advertise this topic (topic interest) and print
                               every envelope on it that the key opens
  --listen-secs <n>            how long to listen [default: 10, or 0 after
                               a history request]
  --history-from <unix>        request history of the listen topic from the
  --history-to <unix>          peer as a mailserver, print it, then
                               {\"event\":\"history_complete\",...}
  --mailserver-password <P>    [default: status-offline-inbox]
  --history-secs <n>           how long to wait for the peer's Request
                               Complete [default: 30]
  -h, --help                   print this help";

#[derive(Default)]
struct Args {
    enode: Option<Enode>,
    key: Option<SecretKey>,
    light: bool,
    post_password: Option<String>,
    topic: Option<Topic>,
    payload: Option<String>,
    ttl: u32,
    pow: Option<f64>,
    listen_password: Option<String>,
    listen_topic: Option<Topic>,
    listen_secs: Option<u64>,
    history_from: Option<u32>,
    history_to: Option<u32>,
    mailserver_password: Option<String>,
    history_secs: Option<u64>,
}

fn parse_topic(s: &str) -> Result<Topic, String> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let b = hex::decode(s).map_err(|_| format!("bad topic {s:?}: expected 8 hex digits"))?;
    Topic::from_slice(&b).ok_or_else(|| format!("bad topic {s:?}: expected 4 bytes"))
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let mut a = Args {
        ttl: 60,
        ..Args::default()
    };
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            Long("key") => {
                let hex = p.value()?.string()?;
                a.key = Some(SecretKey::from_hex(&hex).map_err(|e| format!("bad --key: {e}"))?);
            }
            Long("light") => a.light = true,
            Long("post-password") => a.post_password = Some(p.value()?.string()?),
            Long("topic") => a.topic = Some(parse_topic(&p.value()?.string()?)?),
            Long("payload") => a.payload = Some(p.value()?.string()?),
            Long("ttl") => a.ttl = p.value()?.parse()?,
            Long("pow") => a.pow = Some(p.value()?.parse()?),
            Long("listen-password") => a.listen_password = Some(p.value()?.string()?),
            Long("listen-topic") => a.listen_topic = Some(parse_topic(&p.value()?.string()?)?),
            Long("listen-secs") => a.listen_secs = Some(p.value()?.parse()?),
            Long("history-from") => a.history_from = Some(p.value()?.parse()?),
            Long("history-to") => a.history_to = Some(p.value()?.parse()?),
            Long("mailserver-password") => a.mailserver_password = Some(p.value()?.string()?),
            Long("history-secs") => a.history_secs = Some(p.value()?.parse()?),
            Value(url) if a.enode.is_none() => a.enode = Some(url.parse::<Enode>()?),
            _ => return Err(arg.unexpected()),
        }
    }
    if a.enode.is_none() {
        return Err("give the enode URL of the node to dial".into());
    }
    if a.post_password.is_some() != (a.topic.is_some() && a.payload.is_some())
        || (a.post_password.is_none() && (a.topic.is_some() || a.payload.is_some()))
    {
        return Err("--post-password, --topic and --payload go together".into());
    }
    if a.listen_password.is_some() != a.listen_topic.is_some() {
        return Err("--listen-password and --listen-topic go together".into());
    }
    if a.history_from.is_some() != a.history_to.is_some() {
        return Err("--history-from and --history-to go together".into());
    }
    if a.history_from.is_some() && a.listen_topic.is_none() {
        return Err("--history-from needs --listen-topic and --listen-password".into());
    }
    if (a.mailserver_password.is_some() || a.history_secs.is_some()) && a.history_from.is_none() {
        return Err("--mailserver-password and --history-secs need --history-from".into());
    }
    if a.history_from > a.history_to {
        return Err("--history-from is after --history-to".into());
    }
    Ok(a)
}

/// Prints `{"event":<event>, <fields>...}` on one line, `event` first.
fn emit(event: &str, fields: &[(&str, Value)]) {
    use std::io::Write;
    let mut line = format!("{{\"event\":{}", Value::from(event));
    for (name, value) in fields {
        line.push_str(&format!(",{}:{value}", Value::from(*name)));
    }
    line.push('}');
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn options_json(o: &StatusOptions) -> Value {
    let limits = |l: &Option<status_waku::RateLimits>| {
        l.map(|l| json!({"ip": l.ip, "peer_id": l.peer_id, "topic": l.topic}))
    };
    json!({
        "pow_requirement": o.pow_requirement,
        "bloom_filter": o.bloom_filter.map(|b| hex0x(&b.0)),
        "light_node": o.light_node,
        "confirmations_enabled": o.confirmations_enabled,
        "packet_rate_limits": limits(&o.packet_rate_limits),
        "topic_interest": o.topic_interest.as_ref().map(|t| t.iter().map(|t| hex0x(&t.0)).collect::<Vec<_>>()),
        "bytes_rate_limits": limits(&o.bytes_rate_limits),
    })
}

fn emit_message(d: &Delivered) {
    emit(
        "message",
        &[
            ("topic", hex0x(&d.envelope.topic.0).into()),
            ("hash", hex0x(&d.hash).into()),
            ("payload_hex", hex::encode(d.message.payload()).into()),
            (
                "signer",
                d.message
                    .signer()
                    .map(|k| hex0x(&k.to_uncompressed()))
                    .into(),
            ),
            ("p2p", d.p2p.into()),
        ],
    );
}

/// The Waku machine and its one RLPx connection.
struct Driver {
    conn: Connection,
    waku: Waku,
    peer: PeerId,
}

impl Driver {
    /// Sends what the machine queued.
    async fn flush(&mut self) -> Result<(), String> {
        while let Some(t) = self.waku.poll_transmit() {
            self.conn
                .send(t.protocol.name(), t.code, t.payload)
                .await
                .map_err(|e| format!("send failed: {e}"))?;
        }
        Ok(())
    }

    /// Waits for the next machine event until `deadline`, feeding it the
    /// connection's messages and its timer meanwhile.
    async fn next_event(
        &mut self,
        deadline: tokio::time::Instant,
    ) -> Result<Option<Event>, String> {
        loop {
            self.flush().await?;
            if let Some(e) = self.waku.poll_event() {
                if let Event::PeerDropped { reason, .. } = &e {
                    return Err(format!("waku dropped the peer: {reason:?}"));
                }
                return Ok(Some(e));
            }
            let now = os::now();
            let timer = self
                .waku
                .poll_timeout()
                .map(|(t, _)| Duration::from_millis(t.as_millis().saturating_sub(now.as_millis())))
                .unwrap_or(Duration::from_secs(1));
            let wake = (tokio::time::Instant::now() + timer).min(deadline);
            match tokio::time::timeout_at(wake, self.conn.recv()).await {
                Ok(Some(ConnEvent::Message(m))) if m.cap == "waku" => {
                    // A malformed packet drops the peer: reported as an event.
                    let _ = self
                        .waku
                        .handle_input(os::now(), self.peer, m.code, m.payload);
                }
                Ok(Some(ConnEvent::Message(_) | ConnEvent::Pong { .. })) => {}
                Ok(Some(ConnEvent::Closed {
                    reason,
                    by_peer,
                    error,
                })) => {
                    return Err(format!(
                        "connection closed: {reason} (by peer: {by_peer}, error: {error:?})"
                    ))
                }
                Ok(None) => return Err("connection ended".into()),
                Err(_) if tokio::time::Instant::now() >= deadline => return Ok(None),
                Err(_) => self.waku.handle_timeout(os::now()),
            }
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let seed = os::rng_seed().map_err(|e| e.to_string())?;
    let mut rng = ChaCha20Rng::from_seed(seed);
    let key = args.key.unwrap_or_else(|| SecretKey::random(&mut rng));
    let enode = args.enode.expect("checked by parse_args");
    let config = Arc::new(Config {
        capabilities: vec![CapabilityConfig {
            cap: "waku/1".parse().expect("valid capability"),
            length: 128,
        }],
        ..Config::default()
    });
    let conn = tokio::time::timeout(
        Duration::from_secs(10),
        Connection::connect(config, key.clone(), &enode),
    )
    .await
    .map_err(|_| format!("cannot connect to {}: timed out", enode.addr))?
    .map_err(|e| format!("cannot connect to {}: {e}", enode.addr))?;
    if !conn
        .shared_capabilities()
        .iter()
        .any(|c| c.cap.name == "waku")
    {
        return Err("the peer does not speak waku/1".into());
    }

    // Listening advertises the exact topic; receive whatever PoW it has.
    let mut waku_config = if args.light {
        WakuConfig::light()
    } else {
        WakuConfig::default()
    };
    waku_config.min_pow = 0.0;
    if args.listen_topic.is_some() {
        waku_config.interest = Interest::Topics;
    }
    let mut waku = Waku::new(waku_config, os::now());
    if let (Some(topic), Some(password)) = (args.listen_topic, &args.listen_password) {
        waku.subscribe(Filter::symmetric(
            vec![topic],
            *symmetric_key_from_password(password),
        ));
    }
    let peer = waku.add_peer(
        os::now(),
        conn.remote_id(),
        Some(conn.peer_addr().ip()),
        Protocol::Waku1,
    );
    let mut d = Driver { conn, waku, peer };

    // The waku/1 handshake.
    let handshake_deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let peer_status = loop {
        match d.next_event(handshake_deadline).await? {
            Some(Event::PeerReady { status, .. }) => break status,
            Some(_) => {}
            None => return Err("no waku/1 Status from the peer".into()),
        }
    };
    emit("status", &[("options", options_json(&peer_status))]);
    let peer_pow = d.waku.peer_view(peer).map_or(0.0, |v| v.pow_requirement);

    if let (Some(password), Some(topic), Some(text)) =
        (&args.post_password, args.topic, &args.payload)
    {
        let sym = symmetric_key_from_password(password);
        let mut params = MessageParams::new(text.as_bytes(), Encryption::Symmetric(&sym), topic);
        params.ttl = args.ttl;
        params.pow_target = args.pow.unwrap_or(peer_pow);
        params.max_pow_attempts = 1 << 26;
        let envelope =
            wrap(&mut rng, &params, os::now()).map_err(|e| format!("cannot wrap: {e}"))?;
        if envelope.pow() < peer_pow {
            return Err(format!(
                "the envelope's PoW {} is below the peer's requirement {peer_pow}",
                envelope.pow()
            ));
        }
        let hash = d
            .waku
            .post(os::now(), envelope)
            .map_err(|e| format!("cannot post: {e}"))?;
        // Send the batch now rather than at the next transmission cycle.
        d.waku.send_pending(os::now());
        d.flush().await?;
        emit("posted", &[("hash", hex0x(&hash).into())]);
    }

    let mut request_id = None;
    if let (Some(from), Some(to), Some(topic)) =
        (args.history_from, args.history_to, args.listen_topic)
    {
        let password = args
            .mailserver_password
            .as_deref()
            .unwrap_or(DEFAULT_MAILSERVER_PASSWORD);
        let ms_key = symmetric_key_from_password(password);
        let request = MessagesRequest::for_topics(from, to, &[topic], MAX_LIMIT);
        let envelope = request
            .to_envelope(
                &mut rng,
                &key,
                &ms_key,
                os::now(),
                DEFAULT_REQUEST_TTL,
                0.0,
                0,
            )
            .map_err(|e| format!("cannot build the request: {e}"))?;
        d.waku.set_trusted(peer, true).map_err(|e| e.to_string())?;
        d.waku
            .send_p2p_request(peer, &envelope)
            .map_err(|e| e.to_string())?;
        request_id = Some(envelope.hash());
    }

    let listen_secs = match (args.listen_secs, args.listen_topic, request_id) {
        (Some(s), _, _) => s,
        (None, Some(_), None) => 10,
        _ => 0,
    };
    let listen_until = tokio::time::Instant::now() + Duration::from_secs(listen_secs);
    let history_secs = args.history_secs.unwrap_or(30);
    let history_until = tokio::time::Instant::now() + Duration::from_secs(history_secs);
    let mut history_count = 0u64;
    let mut history_done = request_id.is_none();
    // Listening ends at `listen_until`; a pending history request keeps us
    // past it until its Request Complete, and fails at `history_until`.
    loop {
        let now = tokio::time::Instant::now();
        if !history_done && now >= history_until {
            return Err(format!(
                "no Request Complete from the peer within {history_secs} s \
                 ({history_count} historic messages received); is it a mailserver?"
            ));
        }
        if history_done && now >= listen_until {
            break;
        }
        let deadline = if history_done {
            listen_until
        } else {
            history_until
        };
        match d.next_event(deadline).await? {
            Some(Event::Message(m)) => {
                if m.p2p {
                    history_count += 1;
                }
                emit_message(&m);
            }
            Some(Event::P2PRequestComplete { payload, .. }) => {
                let rc = RequestComplete::decode(&payload)
                    .map_err(|e| format!("bad request-complete payload: {e}"))?;
                if Some(*rc.request_id()) != request_id {
                    continue;
                }
                match rc {
                    RequestComplete::Completed { cursor, .. } => {
                        emit(
                            "history_complete",
                            &[
                                ("cursor", hex::encode(cursor).into()),
                                ("count", history_count.into()),
                            ],
                        );
                        history_done = true;
                    }
                    RequestComplete::Failed { error, .. } => {
                        return Err(format!("the mailserver refused the request: {error}"))
                    }
                }
            }
            // Deadlines are checked at the top of the loop.
            Some(_) | None => {}
        }
    }
    let _ = d.conn.disconnect(DisconnectReason::Requested).await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("waku-peer: {e}\nrun with --help for usage");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("waku-peer: {msg}");
            ExitCode::FAILURE
        }
    }
}
