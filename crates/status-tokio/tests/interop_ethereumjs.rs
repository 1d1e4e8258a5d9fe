//! Interop with an independent RLPx implementation: @ethereumjs/devp2p,
//! through `rlpx-peer.mjs` (shared/peers; `.ci/run` installs it in
//! `target/peers` and exports `STATUS_RS_PEERS`).
//!
//! Each test prints `SKIP` and passes when `node` or the installed peer is
//! missing, so that a machine without them still runs the rest.

use std::sync::Arc;
use std::time::Duration;

use status_core::{Enode, SecretKey};
use status_rlpx::handshake::AuthFormat;
use status_rlpx::p2p::{CapabilityConfig, DisconnectReason};
use status_rlpx::session::Config;
use status_tokio::{Connection, Event};
use status_vectors::peers::{peers_dir, NodePeer};

const SCRIPT: &str = "rlpx-peer.mjs";

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn config(auth_format: AuthFormat) -> Arc<Config> {
    Arc::new(Config {
        capabilities: vec![CapabilityConfig {
            cap: "waku/1".parse().unwrap(),
            length: 128,
        }],
        auth_format,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// We dial the ethereumjs peer with `format`: handshake, Hello, a Ping
/// each way, one Waku message, and a clean Disconnect it understands.
fn we_dial(format: AuthFormat) {
    let Some(dir) = peers_dir(SCRIPT, "@ethereumjs/devp2p") else {
        return;
    };
    let port = free_port().to_string();
    let mut peer = NodePeer::spawn(
        &dir,
        SCRIPT,
        &[
            "listen",
            "--port",
            &port,
            "--caps",
            "waku/1:128",
            "--exit-after",
            "60",
        ],
    );
    let line = peer.expect("LISTENING enode://", Duration::from_secs(30));
    let enode: Enode = line
        .split("LISTENING ")
        .nth(1)
        .and_then(|url| url.trim().parse().ok())
        .unwrap_or_else(|| panic!("no enode in {line:?}"));

    runtime().block_on(async {
        let key = SecretKey::from_bytes(&[0x77; 32]).unwrap();
        let mut conn = Connection::connect(config(format), key, &enode)
            .await
            .expect("handshake with ethereumjs");
        assert_eq!(conn.remote_id(), enode.id);
        let hello = conn.hello();
        assert!(
            hello.client_id.starts_with("ethereumjs-devp2p"),
            "{hello:?}"
        );
        assert_eq!(hello.protocol_version, 5);
        assert_eq!(conn.shared_capabilities()[0].cap.to_string(), "waku/1");
        assert_eq!(conn.shared_capabilities()[0].offset, 16);

        let rtt = conn.ping().await.expect("ethereumjs answers Ping");
        assert!(rtt < Duration::from_secs(5), "{rtt:?}");
        conn.send("waku", 1, vec![0xc2, 0x01, 0x02]).await.unwrap();
        conn.disconnect(DisconnectReason::Requested).await.unwrap();
        match conn.recv().await {
            Some(Event::Closed {
                reason: DisconnectReason::Requested,
                by_peer: false,
                error: None,
            }) => {}
            other => panic!("{other:?}"),
        }
    });

    let auth = match format {
        AuthFormat::Eip8 => "AUTH received: EIP-8",
        AuthFormat::Legacy => "AUTH received: legacy pre-EIP-8",
    };
    peer.expect(auth, Duration::from_secs(10));
    peer.expect("clientId=\"status-rs/", Duration::from_secs(10));
    peer.expect("PING received", Duration::from_secs(10));
    peer.expect("PONG received", Duration::from_secs(10));
    peer.expect(
        "SUBPROTO waku/1 msg code=0x1 payload=c20102",
        Duration::from_secs(10),
    );
    peer.expect(
        "PEER REMOVED reason=0 (DISCONNECT_REQUESTED)",
        Duration::from_secs(10),
    );
}

/// The ethereumjs peer dials us (with `--legacy-auth` or not).
fn they_dial(legacy: bool) {
    let Some(dir) = peers_dir(SCRIPT, "@ethereumjs/devp2p") else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let key = SecretKey::from_bytes(&[0x78; 32]).unwrap();
        let ours = Enode::new(&key.public_key(), listener.local_addr().unwrap());
        let url = ours.to_string();
        // A dialer's Hello announces `--port`; left at 0, ethereumjs
        // encodes it as the non-canonical integer 0x00, which we (like
        // go-ethereum's strict RLP) refuse.
        let mut args = vec![
            "dial",
            url.as_str(),
            "--port",
            "30303",
            "--caps",
            "waku/1:128",
            "--exit-after",
            "60",
        ];
        if legacy {
            args.push("--legacy-auth");
        }
        let mut peer = NodePeer::spawn(&dir, SCRIPT, &args);
        let conn = tokio::time::timeout(
            Duration::from_secs(30),
            Connection::accept(config(AuthFormat::Eip8), key, &listener),
        )
        .await
        .expect("ethereumjs dialed in time")
        .expect("handshake with ethereumjs");
        assert!(conn.hello().client_id.starts_with("ethereumjs-devp2p"));
        assert_eq!(
            conn.remote_id(),
            SecretKey::from_bytes(&[2; 32])
                .unwrap()
                .public_key()
                .node_id(),
            "rlpx-peer dials with key 0x0202..02"
        );
        conn.ping().await.expect("ethereumjs answers Ping");
        conn.disconnect(DisconnectReason::ClientQuitting)
            .await
            .unwrap();
        let ack = if legacy {
            // A legacy auth is answered in the legacy format.
            "eip8Auth=false eip8Ack=false"
        } else {
            "eip8Auth=false eip8Ack=true"
        };
        peer.expect(ack, Duration::from_secs(10));
        peer.expect("PONG received", Duration::from_secs(10));
        peer.expect(
            "PEER REMOVED reason=8 (CLIENT_QUITTING)",
            Duration::from_secs(10),
        );
    });
}

#[test]
fn dial_ethereumjs_with_eip8_auth() {
    we_dial(AuthFormat::Eip8);
}

#[test]
fn dial_ethereumjs_with_legacy_auth() {
    we_dial(AuthFormat::Legacy);
}

#[test]
fn ethereumjs_dials_us_with_eip8_auth() {
    they_dial(false);
}

#[test]
fn ethereumjs_dials_us_with_legacy_auth() {
    they_dial(true);
}
