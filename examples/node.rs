//! `node`: a whole Status relay node on Tokio, one JSON object per line.
//!
//! ```text
//! cargo run --release --example node -- --listen 127.0.0.1:30303 --subscribe status
//! {"event":"listening","enode":"enode://...@127.0.0.1:30303","enr":null}
//! {"event":"peer_connected","conn":"c0","node_id":"...","addr":"127.0.0.1:40312","direction":"inbound","client":"status-rs/v0.1.0","light":false}
//! {"event":"message","topic":"0x...","hash":"0x...","payload":"hello","p2p":false}
//! ```
//!
//! Public chats (`--subscribe NAME`, `--post NAME=TEXT`) use Status'
//! public-chat derivation: the topic from the name, the key from the name
//! through PBKDF2. End of standard input (or a line `quit`) shuts the
//! node down gracefully; the last line is `{"event":"stopped"}`.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use status_core::{Enode, SecretKey};
use status_discovery::dnsdisc::Link;
use status_discovery::Enr;
use status_node::{Config, Event, Fleet, Post, PostKey};
use status_tokio::{HickoryTxt, NodeOptions, TxtResolver};
use status_waku::filter::Filter;
use status_waku::topic::symmetric_key_from_password;
use status_waku::Topic;

const USAGE: &str = "\
usage: node [options]

Runs a Status relay node (RLPx, Waku, PeerPool, discovery) and prints its
enode and what happens to it as JSON lines on stdout. End of stdin stops it.

options:
  --listen <addr>              TCP address to listen on [default: 127.0.0.1:0]
  --key <hex>                  our secret key, 64 hex digits [default: random]
  --static <enode>             a static node (repeatable)
  --bootnodes <list>           comma-separated discv5 bootnodes (enr:...) or
                               enodes (dialled like static nodes)
  --discv5 <addr>              UDP address for discv5 [default: the listen
                               address, when bootnodes are given]
  --dns-list <enrtree://...>   an EIP-1459 node list (repeatable)
  --dns-server <addr>          the DNS server for lists [default: the system's]
  --fleet <file>               status-go fleet config (ClusterConfig lists)
  --light                      a light node (topic interest, forwards nothing)
  --mailserver-client <enode>  use this mailserver (repeatable)
  --mailserver                 also serve history (11/WAKU-MAILSERVER): archive
                               every envelope, answer history requests
  --archive <spec>             the mailserver's archive: sqlite:PATH or
                               postgres://user@host:port/db
                               [default: sqlite:mailserver-archive.db]
  --max-peers <n>              established peers at most [default: 25]
  --min-pow <pow>              our PoW requirement [default: 0.000002]
  --subscribe <name>           print messages of this public chat (repeatable)
  --post <name>=<text>         post to a public chat once a peer is up (repeatable)
  -h, --help                   this text
";

struct Args {
    listen: SocketAddr,
    key: Option<SecretKey>,
    statics: Vec<Enode>,
    bootnodes: Vec<String>,
    discv5: Option<SocketAddr>,
    dns_lists: Vec<Link>,
    dns_server: Option<SocketAddr>,
    fleet: Option<String>,
    light: bool,
    mailservers: Vec<Enode>,
    mailserver: bool,
    archive: Option<String>,
    max_peers: Option<usize>,
    min_pow: Option<f64>,
    subscribe: Vec<String>,
    post: Vec<(String, String)>,
}

fn parse() -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut a = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        key: None,
        statics: Vec::new(),
        bootnodes: Vec::new(),
        discv5: None,
        dns_lists: Vec::new(),
        dns_server: None,
        fleet: None,
        light: false,
        mailservers: Vec::new(),
        mailserver: false,
        archive: None,
        max_peers: None,
        min_pow: None,
        subscribe: Vec::new(),
        post: Vec::new(),
    };
    let mut p = lexopt::Parser::from_env();
    let err = |e: lexopt::Error| e.to_string();
    while let Some(arg) = p.next().map_err(err)? {
        let arg = match arg {
            Long(s) => s.to_string(),
            Short(c) => c.to_string(),
            other => return Err(other.unexpected().to_string()),
        };
        let mut value = || -> Result<String, String> {
            p.value()
                .map_err(err)?
                .into_string()
                .map_err(|_| "not UTF-8".to_string())
        };
        match arg.as_str() {
            "listen" => a.listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?,
            "key" => {
                a.key = Some(SecretKey::from_hex(&value()?).map_err(|e| format!("--key: {e}"))?)
            }
            "static" => a
                .statics
                .push(value()?.parse().map_err(|e| format!("--static: {e}"))?),
            "bootnodes" => a.bootnodes.extend(
                value()?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            ),
            "discv5" => a.discv5 = Some(value()?.parse().map_err(|e| format!("--discv5: {e}"))?),
            "dns-list" => a
                .dns_lists
                .push(value()?.parse().map_err(|e| format!("--dns-list: {e}"))?),
            "dns-server" => {
                a.dns_server = Some(value()?.parse().map_err(|e| format!("--dns-server: {e}"))?)
            }
            "fleet" => a.fleet = Some(value()?),
            "light" => a.light = true,
            "mailserver-client" => a.mailservers.push(
                value()?
                    .parse()
                    .map_err(|e| format!("--mailserver-client: {e}"))?,
            ),
            "mailserver" => a.mailserver = true,
            "archive" => a.archive = Some(value()?),
            "max-peers" => {
                a.max_peers = Some(value()?.parse().map_err(|e| format!("--max-peers: {e}"))?)
            }
            "min-pow" => a.min_pow = Some(value()?.parse().map_err(|e| format!("--min-pow: {e}"))?),
            "subscribe" => a.subscribe.push(value()?),
            "post" => {
                let v = value()?;
                let (name, text) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--post wants NAME=TEXT, got {v:?}"))?;
                a.post.push((name.to_string(), text.to_string()));
            }
            "h" | "help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(a)
}

fn config(a: &Args) -> Result<Config, String> {
    let key = match &a.key {
        Some(k) => k.clone(),
        None => {
            let seed = status_driver::os::rng_seed().map_err(|e| e.to_string())?;
            SecretKey::from_bytes(&seed).map_err(|e| e.to_string())?
        }
    };
    let mut b = Config::builder(key).listen(a.listen);
    if a.light {
        b = b.light();
    }
    if let Some(path) = &a.fleet {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let fleet = Fleet::from_json(&text).map_err(|e| e.to_string())?;
        b = b.fleet(&fleet).map_err(|e| e.to_string())?;
    }
    for s in &a.statics {
        b = b.static_node(*s);
    }
    for n in &a.bootnodes {
        if n.starts_with("enr:") {
            b = b.bootnode(Enr::from_text(n).map_err(|e| format!("--bootnodes: {e}"))?);
        } else {
            b = b.static_node(n.parse().map_err(|e| format!("--bootnodes: {e}"))?);
        }
    }
    if let Some(d) = a.discv5 {
        b = b.discv5_addr(d);
    }
    for l in &a.dns_lists {
        b = b.dns_list(l.clone());
    }
    if !a.mailservers.is_empty() {
        b = b.mailserver_client(a.mailservers.clone());
    }
    if a.mailserver {
        b = b.mailserver();
    }
    if let Some(n) = a.max_peers {
        b = b.max_peers(n);
    }
    if let Some(p) = a.min_pow {
        b = b.min_pow(p);
    }
    b.build().map_err(|e| e.to_string())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn say(v: Value) {
    println!("{v}");
}

fn describe(e: &Event) -> Option<Value> {
    Some(match e {
        Event::PeerConnected(p) => json!({
            "event": "peer_connected",
            "conn": p.conn.to_string(),
            "node_id": p.node_id.to_string(),
            "addr": p.addr.to_string(),
            "direction": p.direction.as_str(),
            "client": p.client_id,
            "light": p.light,
            "mailserver": p.mailserver,
        }),
        Event::PeerDisconnected {
            conn,
            node_id,
            cause,
        } => json!({
            "event": "peer_disconnected",
            "conn": conn.to_string(),
            "node_id": node_id.to_string(),
            "cause": format!("{cause:?}"),
        }),
        Event::Message(m) => json!({
            "event": "message",
            "topic": format!("0x{}", hex(&m.envelope.topic.0)),
            "hash": format!("0x{}", hex(&m.hash)),
            "payload": String::from_utf8_lossy(m.message.payload()),
            "p2p": m.p2p,
        }),
        Event::MailserverAvailable { conn, enode } => json!({
            "event": "mailserver_available",
            "conn": conn.to_string(),
            "enode": enode.to_string(),
        }),
        Event::MailserverUnavailable { node_id } => json!({
            "event": "mailserver_unavailable",
            "node_id": node_id.to_string(),
        }),
        Event::HistoryComplete { request, pages } => json!({
            "event": "history_complete",
            "request": request.as_u64(),
            "pages": pages,
        }),
        Event::HistoryFailed { request, error } => json!({
            "event": "history_failed",
            "request": request.as_u64(),
            "error": format!("{error:?}"),
        }),
        _ => return None,
    })
}

async fn run(a: Args) -> Result<(), String> {
    let config = config(&a)?;
    let resolver: Option<Arc<dyn TxtResolver>> = if config.dns_lists.is_empty() {
        None
    } else {
        let r = match a.dns_server {
            Some(s) => HickoryTxt::with_server(s),
            None => HickoryTxt::system(),
        };
        Some(Arc::new(r.map_err(|e| format!("dns resolver: {e}"))?))
    };
    let options = NodeOptions {
        resolver,
        ..NodeOptions::default()
    };
    let node = status_tokio::start_node(config, options)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    say(json!({
        "event": "listening",
        "enode": node.enode().to_string(),
        "enr": node.local_enr().map(|e| e.to_text()),
    }));
    for name in &a.subscribe {
        let key = *symmetric_key_from_password(name);
        node.subscribe(Filter::symmetric(vec![Topic::from_name(name)], key))
            .await
            .map_err(|e| e.to_string())?;
    }

    // End of stdin (or "quit") stops the node.
    let (quit_tx, mut quit_rx) = tokio::sync::mpsc::channel::<()>(1);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) if l.trim() == "quit" => break,
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        let _ = quit_tx.blocking_send(());
    });

    // The mailserver role: archives what the node accepts, answers history
    // requests (its store calls run on this task; SQLite's are short).
    let mut role = if a.mailserver {
        let spec = a
            .archive
            .clone()
            .unwrap_or_else(|| "sqlite:mailserver-archive.db".into());
        let archive =
            status_mailserver::open_archive(&spec).map_err(|e| format!("--archive {spec}: {e}"))?;
        say(json!({"event": "archive_open", "archive": spec}));
        let role = status_mailserver::MailserverRole::new(
            status_mailserver::RoleConfig::default(),
            archive,
            status_driver::os::now(),
        )
        .map_err(|e| e.to_string())?;
        Some(role)
    } else {
        None
    };

    let mut posts = a.post.clone();
    loop {
        let role_wait = role.as_ref().and_then(|r| r.poll_timeout()).map(|(t, _)| {
            Duration::from_millis(
                t.as_millis()
                    .saturating_sub(status_driver::os::now().as_millis()),
            )
        });
        tokio::select! {
            _ = quit_rx.recv() => break,
            _ = tokio::time::sleep(role_wait.unwrap_or(Duration::from_secs(3600))), if role_wait.is_some() => {
                if let Some(r) = role.as_mut() {
                    if let Err(e) = r.handle_timeout(status_driver::os::now()) {
                        say(json!({"event": "archive_error", "error": e.to_string()}));
                    }
                }
            }
            e = node.recv() => {
                let Some(e) = e else { break };
                if let Some(v) = describe(&e) {
                    say(v);
                }
                if let Some(r) = role.as_mut() {
                    match r.handle_event(status_driver::os::now(), &e) {
                        Ok(replies) if !replies.is_empty() => {
                            let _ = node
                                .call(move |n, now| {
                                    for reply in replies {
                                        // a peer that left meanwhile is no error
                                        let _ = reply.apply(n, now);
                                    }
                                })
                                .await;
                        }
                        Ok(_) => {}
                        Err(e) => say(json!({"event": "archive_error", "error": e.to_string()})),
                    }
                }
                if matches!(e, Event::PeerConnected(_)) && !posts.is_empty() {
                    for (name, text) in posts.drain(..) {
                        let key = *symmetric_key_from_password(&name);
                        let post = Post::new(Topic::from_name(&name), PostKey::Symmetric(key), text.as_bytes());
                        match node.post(post).await {
                            Ok(hash) => say(json!({"event": "posted", "chat": name, "hash": format!("0x{}", hex(&hash))})),
                            Err(e) => say(json!({"event": "post_failed", "chat": name, "error": e.to_string()})),
                        }
                    }
                }
            }
        }
    }
    if let Some(r) = role.as_mut() {
        if let Err(e) = r.flush() {
            say(json!({"event": "archive_error", "error": e.to_string()}));
        }
    }
    node.shutdown().await;
    while let Some(e) = node.try_recv() {
        if let Some(v) = describe(&e) {
            say(v);
        }
    }
    say(json!({"event": "stopped"}));
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
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
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
