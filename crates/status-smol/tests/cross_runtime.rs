//! A tokio endpoint (status-tokio) against a smol one (status-smol) over
//! real loopback TCP, in both directions: the same session machine under
//! two runtimes must interoperate byte for byte.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use status_core::{Enode, SecretKey};
use status_rlpx::p2p::{CapabilityConfig, DisconnectReason};
use status_rlpx::session::Config;

fn config() -> Arc<Config> {
    Arc::new(Config {
        capabilities: vec![CapabilityConfig {
            cap: "waku/1".parse().unwrap(),
            length: 128,
        }],
        ..Config::default()
    })
}

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32]).unwrap()
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn payload(i: usize) -> Bytes {
    let len = [0, 1, 1000, 1 << 20, 77][i % 5];
    (0..len).map(|j| (i * 31 + j) as u8).collect()
}

const MESSAGES: usize = 10;

#[test]
fn smol_dials_tokio() {
    let rt = tokio_runtime();
    let server_key = key(21);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let enode = Enode::new(&server_key.public_key(), listener.local_addr().unwrap());

    // tokio side: echo every message back with code + 1 until the close.
    let server = rt.spawn(async move {
        let mut conn = status_tokio::Connection::accept(config(), server_key, &listener)
            .await
            .unwrap();
        assert_eq!(conn.remote_id(), key(20).public_key().node_id());
        loop {
            match conn.recv().await {
                Some(status_tokio::Event::Message(m)) => {
                    conn.send(&m.cap, m.code + 1, m.payload).await.unwrap()
                }
                Some(status_tokio::Event::Pong { .. }) => {}
                Some(status_tokio::Event::Closed {
                    reason,
                    by_peer,
                    error,
                }) => return (reason, by_peer, error.is_none()),
                None => panic!("no Closed event"),
            }
        }
    });

    smol::block_on(async {
        let mut conn = status_smol::Connection::connect(config(), key(20), &enode)
            .await
            .unwrap();
        assert_eq!(conn.remote_id(), enode.id);
        assert!(conn.ping().await.unwrap() < Duration::from_secs(5));
        for i in 0..MESSAGES {
            conn.send("waku", 1, payload(i)).await.unwrap();
        }
        for i in 0..MESSAGES {
            match conn.recv().await {
                Some(status_smol::Event::Message(m)) => {
                    assert_eq!((m.cap.as_str(), m.code), ("waku", 2));
                    assert_eq!(m.payload, payload(i), "echo {i}");
                }
                other => panic!("{other:?}"),
            }
        }
        conn.disconnect(DisconnectReason::TooManyPeers)
            .await
            .unwrap();
    });
    let seen = rt.block_on(server).unwrap();
    assert_eq!(seen, (DisconnectReason::TooManyPeers, true, true));
}

#[test]
fn tokio_dials_smol() {
    let server_key = key(23);
    let listener = smol::block_on(smol::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let enode = Enode::new(&server_key.public_key(), listener.local_addr().unwrap());

    // smol side, on its global executor: echo with code + 1 until the close.
    let server = smol::spawn(async move {
        let mut conn = status_smol::Connection::accept(config(), server_key, &listener)
            .await
            .unwrap();
        loop {
            match conn.recv().await {
                Some(status_smol::Event::Message(m)) => {
                    conn.send(&m.cap, m.code + 1, m.payload).await.unwrap()
                }
                Some(status_smol::Event::Pong { .. }) => {}
                Some(status_smol::Event::Closed {
                    reason,
                    by_peer,
                    error,
                }) => return (reason, by_peer, error.is_none()),
                None => panic!("no Closed event"),
            }
        }
    });

    tokio_runtime().block_on(async {
        let mut conn = status_tokio::Connection::connect(config(), key(22), &enode)
            .await
            .unwrap();
        assert!(conn.ping().await.unwrap() < Duration::from_secs(5));
        for i in 0..MESSAGES {
            conn.send("waku", 5, payload(i)).await.unwrap();
        }
        for i in 0..MESSAGES {
            match conn.recv().await {
                Some(status_tokio::Event::Message(m)) => {
                    assert_eq!((m.cap.as_str(), m.code), ("waku", 6));
                    assert_eq!(m.payload, payload(i), "echo {i}");
                }
                other => panic!("{other:?}"),
            }
        }
        conn.disconnect(DisconnectReason::Requested).await.unwrap();
    });
    let seen = smol::block_on(server);
    assert_eq!(seen, (DisconnectReason::Requested, true, true));
}
