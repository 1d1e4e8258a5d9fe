//! A whole Node on Tokio against an independent RLPx implementation,
//! @ethereumjs/devp2p (`rlpx-peer.mjs` from shared/peers, installed by
//! `.ci/run`): it reaches our listening node, and our node reaches it.
//! The peer speaks RLPx and logs sub-protocol messages but never sends a
//! Waku Status, so our node drops it at the Status deadline, as status-go
//! would. Prints `SKIP` and passes without `node` or the installed peer.

use std::time::Duration;

use status_core::{Enode, SecretKey};
use status_node::{Cause, Config};
use status_tokio::NodeOptions;
use status_vectors::peers::{peers_dir, NodePeer};
use status_waku::node::DropReason;

const SCRIPT: &str = "rlpx-peer.mjs";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn config(b: status_node::ConfigBuilder) -> Config {
    let mut c = b.min_pow(0.0).build().unwrap();
    c.waku.status_timeout = Duration::from_secs(2);
    c
}

#[test]
fn ethereumjs_reaches_our_listening_node() {
    let Some(dir) = peers_dir(SCRIPT, "@ethereumjs/devp2p") else {
        return;
    };
    runtime().block_on(async {
        let key = SecretKey::from_bytes(&[0x79; 32]).unwrap();
        let node = status_tokio::start_node(
            config(Config::builder(key).listen("127.0.0.1:0".parse().unwrap())),
            NodeOptions::default(),
        )
        .await
        .unwrap();
        let url = node.enode().to_string();
        let mut peer = NodePeer::spawn(
            &dir,
            SCRIPT,
            &[
                "dial",
                &url,
                "--port",
                "30303",
                "--caps",
                "waku/1:128",
                "--exit-after",
                "60",
            ],
        );
        peer.expect("clientId=\"status-rs/", Duration::from_secs(20));
        // Our Waku Status, sent as soon as Hello is through.
        peer.expect("SUBPROTO waku/1 msg code=0x0", Duration::from_secs(10));
        // No Status back: dropped at the deadline with SubprotocolError.
        peer.expect("PEER REMOVED reason=16", Duration::from_secs(10));
        let stats = node.stats().await.unwrap();
        assert_eq!(stats.accepted, 1);
        assert_eq!(stats.established, 1);
        node.shutdown().await;
    });
}

#[test]
fn our_node_reaches_ethereumjs_as_a_static_peer() {
    let Some(dir) = peers_dir(SCRIPT, "@ethereumjs/devp2p") else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
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
        .and_then(|u| u.trim().parse().ok())
        .unwrap_or_else(|| panic!("no enode in {line:?}"));
    runtime().block_on(async {
        let key = SecretKey::from_bytes(&[0x7a; 32]).unwrap();
        let node = status_tokio::start_node(
            config(
                Config::builder(key)
                    .listen("127.0.0.1:0".parse().unwrap())
                    .static_node(enode),
            ),
            NodeOptions::default(),
        )
        .await
        .unwrap();
        peer.expect("clientId=\"status-rs/", Duration::from_secs(20));
        peer.expect("SUBPROTO waku/1 msg code=0x0", Duration::from_secs(10));
        peer.expect("PEER REMOVED reason=16", Duration::from_secs(10));
        let stats = node.stats().await.unwrap();
        assert!(stats.dials >= 1 && stats.established >= 1, "{stats:?}");
        // Dropped for its silence, not kept off: a late Status is not
        // misbehaviour, so the static peer is dialled again after back-off.
        assert!(!Cause::Waku(DropReason::StatusTimeout).is_misbehaviour());
        node.shutdown().await;
    });
}
