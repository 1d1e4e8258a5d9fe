//! `status node`: a relay, light or mailserver node from a TOML config,
//! until SIGINT or SIGTERM (then a graceful shutdown).
//!
//! ```toml
//! [node]
//! listen = "127.0.0.1:30303"
//! role = "mailserver"          # relay (default) | light | mailserver
//! archive = "sqlite:/var/lib/status/archive.db"
//!
//! [ClusterConfig]              # status-go's shape
//! StaticNodes = ["enode://...@1.2.3.4:30305"]
//! TrustedMailServers = []
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;
use status_core::SecretKey;
use status_driver::os;
use status_node::{Event, Fleet};
use status_tokio::NodeOptions;

/// The `[node]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NodeSection {
    listen: Option<String>,
    role: Option<String>,
    max_peers: Option<usize>,
    min_pow: Option<f64>,
    archive: Option<String>,
}

/// A `status node` config file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NodeFile {
    node: NodeSection,
    #[serde(rename = "ClusterConfig")]
    cluster: Fleet,
}

/// The node's key, kept in the data dir (made on first start).
fn node_key(dir: &Path) -> Result<SecretKey, String> {
    let path = dir.join("node.key");
    match std::fs::read_to_string(&path) {
        Ok(hex) => SecretKey::from_hex(hex.trim())
            .map_err(|e| format!("{} does not hold a node key: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::from_bytes(&os::rng_seed().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            std::fs::write(&path, hex::encode(key.to_bytes()))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn describe(e: &Event) -> Option<serde_json::Value> {
    Some(match e {
        Event::PeerConnected(p) => json!({
            "event": "peer_connected", "node_id": p.node_id.to_string(),
            "addr": p.addr.to_string(), "client": p.client_id, "mailserver": p.mailserver,
        }),
        Event::PeerDisconnected { node_id, cause, .. } => json!({
            "event": "peer_disconnected", "node_id": node_id.to_string(), "cause": format!("{cause:?}"),
        }),
        Event::MailserverRequest { node_id, .. } => json!({
            "event": "history_request", "node_id": node_id.to_string(),
        }),
        _ => return None,
    })
}

fn say(json: bool, v: serde_json::Value) {
    use std::io::Write as _;
    if json {
        let _ = writeln!(std::io::stdout(), "{v}");
    } else {
        tracing::info!("{v}");
    }
}

/// Runs `status node`: `data_dir` holds the node key and the default
/// archive. Errors are one sentence for the user.
pub fn run(config: &Path, json: bool, data_dir: Result<PathBuf, String>) -> Result<(), String> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| format!("cannot read the config {}: {e}", config.display()))?;
    let file: NodeFile = toml::from_str(&text).map_err(|e| {
        format!(
            "the config {} is not valid: {}",
            config.display(),
            e.message()
        )
    })?;
    let dir = data_dir?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let key = node_key(&dir)?;
    let mut b = status_node::Config::builder(key);
    let listen = file.node.listen.as_deref().unwrap_or("0.0.0.0:30303");
    b = b.listen(
        listen
            .parse()
            .map_err(|e| format!("[node] listen {listen:?}: {e}"))?,
    );
    let role = file.node.role.as_deref().unwrap_or("relay");
    match role {
        "relay" => {}
        "light" => b = b.light(),
        "mailserver" => b = b.mailserver(),
        other => {
            return Err(format!(
                "[node] role {other:?} is not relay, light or mailserver"
            ))
        }
    }
    b = b
        .fleet(&file.cluster)
        .map_err(|e| format!("[ClusterConfig]: {e}"))?;
    if let Some(n) = file.node.max_peers {
        b = b.max_peers(n);
    }
    if let Some(p) = file.node.min_pow {
        b = b.min_pow(p);
    }
    let config = b.build().map_err(|e| format!("the node config: {e}"))?;
    let archive = if role == "mailserver" {
        let spec =
            file.node.archive.clone().unwrap_or_else(|| {
                format!("sqlite:{}", dir.join("mailserver-archive.db").display())
            });
        Some((
            status_mailserver::open_archive(&spec)
                .map_err(|e| format!("cannot open the archive {spec}: {e}"))?,
            spec,
        ))
    } else {
        None
    };
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let node = status_tokio::start_node(config, NodeOptions::default())
            .await
            .map_err(|e| format!("cannot start the node on {listen}: {e}"))?;
        say(
            json,
            json!({"event": "listening", "enode": node.enode().to_string(), "role": role}),
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        let events = node.clone();
        let work = async move {
            match archive {
                Some((archive, spec)) => {
                    say(json, json!({"event": "archive_open", "archive": spec}));
                    let role = status_mailserver::MailserverRole::new(
                        status_mailserver::RoleConfig::default(),
                        archive,
                        os::now(),
                    )
                    .map_err(|e| e.to_string())?;
                    crate::mailserver::run(events, role, |e| {
                        if let Some(v) = describe(e) {
                            say(json, v);
                        }
                    })
                    .await;
                }
                None => {
                    while let Some(e) = events.recv().await {
                        if let Some(v) = describe(&e) {
                            say(json, v);
                        }
                    }
                }
            }
            Ok::<(), String>(())
        };
        tokio::pin!(work);
        let ended = tokio::select! {
            _ = tokio::signal::ctrl_c() => false,
            _ = term.recv() => false,
            r = &mut work => { r?; true }
        };
        node.shutdown().await;
        if !ended {
            // the role flushes its archive once the node's events end
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), work).await;
        }
        say(json, json!({"event": "stopped"}));
        Ok(())
    })
}
