//! Two endpoints over real loopback TCP, both driven by status-tokio.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use status_core::{Enode, SecretKey};
use status_rlpx::p2p::{CapabilityConfig, DisconnectReason};
use status_rlpx::session::Config;
use status_tokio::{Connection, Direction, DriverError, Event, Message};
use tokio::net::TcpListener;

fn config(caps: &[&str]) -> Arc<Config> {
    Arc::new(Config {
        capabilities: caps
            .iter()
            .map(|c| CapabilityConfig {
                cap: c.parse().unwrap(),
                length: 128,
            })
            .collect(),
        ..Config::default()
    })
}

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32]).unwrap()
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A deterministic payload: `len` bytes derived from `seed`.
fn payload(seed: u64, len: usize) -> Bytes {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn next_message(conn: &mut Connection) -> Message {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), conn.recv()).await {
            Ok(Some(Event::Message(m))) => return m,
            Ok(Some(Event::Pong { .. })) => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

async fn next_closed(conn: &mut Connection) -> (DisconnectReason, bool, Option<DriverError>) {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), conn.recv()).await {
            Ok(Some(Event::Closed {
                reason,
                by_peer,
                error,
            })) => return (reason, by_peer, error),
            Ok(Some(Event::Pong { .. })) => continue,
            other => panic!("expected Closed, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_ping_messages_and_clean_disconnect() {
    let (listener, addr) = listener().await;
    let server_key = key(2);
    let enode = Enode::new(&server_key.public_key(), addr);
    let server = tokio::spawn(async move {
        Connection::accept(config(&["waku/1"]), server_key, &listener).await
    });
    let mut client = Connection::connect(config(&["waku/1", "shh/6"]), key(1), &enode)
        .await
        .unwrap();
    let mut server = server.await.unwrap().unwrap();

    // Hello: identities, client ids, negotiated capabilities.
    assert_eq!(client.remote_id(), enode.id);
    assert_eq!(server.remote_id(), key(1).public_key().node_id());
    assert_eq!(client.direction(), Direction::Outbound);
    assert_eq!(server.direction(), Direction::Inbound);
    assert!(client.hello().client_id.starts_with("status-rs/"));
    assert_eq!(client.hello().capabilities.len(), 1);
    assert_eq!(server.hello().capabilities.len(), 2);
    for conn in [&client, &server] {
        let shared = conn.shared_capabilities();
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[0].cap.to_string(), "waku/1");
        assert_eq!(shared[0].offset, 16);
    }

    // Ping both ways: the round trip is reported.
    let rtt = client.ping().await.unwrap();
    assert!(rtt < Duration::from_secs(5), "{rtt:?}");
    server.ping().await.unwrap();

    // Capability messages both ways, including a 1 MiB one.
    let sizes = [0usize, 1, 100, 16 << 10, 1 << 20, 3];
    for (i, &len) in sizes.iter().enumerate() {
        client
            .send("waku", 1, payload(i as u64, len))
            .await
            .unwrap();
    }
    for (i, &len) in sizes.iter().enumerate() {
        let m = next_message(&mut server).await;
        assert_eq!((m.cap.as_str(), m.code), ("waku", 1));
        assert_eq!(m.payload, payload(i as u64, len), "message {i}");
        server.send("waku", 2, m.payload).await.unwrap();
    }
    for (i, &len) in sizes.iter().enumerate() {
        let m = next_message(&mut client).await;
        assert_eq!((m.cap.as_str(), m.code), ("waku", 2));
        assert_eq!(m.payload, payload(i as u64, len), "echo {i}");
    }

    // A clean disconnect is seen by the other side with its reason.
    client
        .disconnect(DisconnectReason::ClientQuitting)
        .await
        .unwrap();
    let (reason, by_peer, error) = next_closed(&mut server).await;
    assert_eq!(reason, DisconnectReason::ClientQuitting);
    assert!(by_peer);
    assert!(error.is_none(), "{error:?}");
    assert!(server.recv().await.is_none());

    let (reason, by_peer, error) = next_closed(&mut client).await;
    assert_eq!((reason, by_peer), (DisconnectReason::ClientQuitting, false));
    assert!(error.is_none(), "{error:?}");
    assert!(client.recv().await.is_none());

    // Commands after the close report why it ended.
    match client.send("waku", 1, vec![1]).await {
        Err(DriverError::Disconnected {
            reason: DisconnectReason::ClientQuitting,
            by_peer: false,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(client.ping().await.is_err());
    client
        .disconnect(DisconnectReason::Requested)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_send_large_messages_at_once() {
    // Both sides write 4 MiB while the other does too: the loop must
    // keep reading while it writes, or TCP buffers fill and both stall.
    let (listener, addr) = listener().await;
    let server_key = key(4);
    let enode = Enode::new(&server_key.public_key(), addr);
    let server = tokio::spawn(async move {
        Connection::accept(config(&["waku/1"]), server_key, &listener).await
    });
    let client = Connection::connect(config(&["waku/1"]), key(3), &enode)
        .await
        .unwrap();
    let server = server.await.unwrap().unwrap();

    let run = |mut conn: Connection, seed: u64| async move {
        let handle = conn.handle();
        let sender = tokio::spawn(async move {
            for i in 0..4u64 {
                handle
                    .send("waku", 3, payload(seed + i, 1 << 20))
                    .await
                    .unwrap();
            }
        });
        for i in 0..4u64 {
            let m = next_message(&mut conn).await;
            assert_eq!(m.payload, payload((seed ^ 1000) + i, 1 << 20));
        }
        sender.await.unwrap();
        conn
    };
    let (client, server) = tokio::join!(run(client, 1000), run(server, 0));
    server
        .disconnect(DisconnectReason::Requested)
        .await
        .unwrap();
    drop(server);
    let mut client = client;
    let (reason, by_peer, _) = next_closed(&mut client).await;
    assert_eq!((reason, by_peer), (DisconnectReason::Requested, true));
}

#[tokio::test]
async fn send_rejects_unshared_capability_and_out_of_range_code() {
    let (listener, addr) = listener().await;
    let server_key = key(6);
    let enode = Enode::new(&server_key.public_key(), addr);
    let server = tokio::spawn(async move {
        Connection::accept(config(&["waku/1"]), server_key, &listener).await
    });
    let client = Connection::connect(config(&["waku/1"]), key(5), &enode)
        .await
        .unwrap();
    let _server = server.await.unwrap().unwrap();
    assert!(matches!(
        client.send("shh", 1, vec![]).await,
        Err(DriverError::Rejected(
            status_rlpx::Error::CapabilityNotShared(_)
        ))
    ));
    assert!(matches!(
        client.send("waku", 128, vec![]).await,
        Err(DriverError::Rejected(status_rlpx::Error::CodeOutOfRange {
            code: 128,
            len: 128
        }))
    ));
    // Still usable afterwards.
    client.ping().await.unwrap();
}

#[tokio::test]
async fn no_shared_capability_fails_connect_with_useless_peer() {
    let (listener, addr) = listener().await;
    let server_key = key(8);
    let enode = Enode::new(&server_key.public_key(), addr);
    let server =
        tokio::spawn(
            async move { Connection::accept(config(&["shh/6"]), server_key, &listener).await },
        );
    let client = Connection::connect(config(&["waku/1"]), key(7), &enode).await;
    let server = server.await.unwrap();
    // Each side finds no shared capability on the other's Hello; whichever
    // Disconnect arrives first, both report a useless peer.
    for result in [client.map(|_| ()), server.map(|_| ())] {
        match result {
            Err(DriverError::Handshake(status_rlpx::Error::UselessPeer))
            | Err(DriverError::Disconnected {
                reason: DisconnectReason::UselessPeer,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn wrong_remote_key_fails_the_handshake() {
    let (listener, addr) = listener().await;
    let server =
        tokio::spawn(
            async move { Connection::accept(config(&["waku/1"]), key(10), &listener).await },
        );
    // We dial with a key the listener does not have: it cannot decrypt auth.
    let enode = Enode::new(&key(11).public_key(), addr);
    let cfg = Arc::new(Config {
        handshake_timeout: Duration::from_millis(500),
        ..(*config(&["waku/1"])).clone()
    });
    let client = Connection::connect(cfg, key(9), &enode).await;
    assert!(
        matches!(
            client,
            Err(DriverError::Io(_)) | Err(DriverError::Timeout("handshake"))
        ),
        "{client:?}"
    );
    assert!(matches!(
        server.await.unwrap(),
        Err(DriverError::Handshake(_))
    ));
}

#[tokio::test]
async fn silent_peer_times_out_the_handshake() {
    let (listener, addr) = listener().await;
    let enode = Enode::new(&key(12).public_key(), addr);
    let cfg = Arc::new(Config {
        handshake_timeout: Duration::from_millis(300),
        ..(*config(&["waku/1"])).clone()
    });
    // Accept the TCP connection but never answer.
    let _silent = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(stream);
    });
    let started = std::time::Instant::now();
    let client = Connection::connect(cfg, key(13), &enode).await;
    assert!(
        matches!(client, Err(DriverError::Timeout("handshake"))),
        "{client:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn dropping_the_connection_disconnects() {
    let (listener, addr) = listener().await;
    let server_key = key(15);
    let enode = Enode::new(&server_key.public_key(), addr);
    let server = tokio::spawn(async move {
        Connection::accept(config(&["waku/1"]), server_key, &listener).await
    });
    let client = Connection::connect(config(&["waku/1"]), key(14), &enode)
        .await
        .unwrap();
    let mut server = server.await.unwrap().unwrap();
    drop(client);
    let (reason, by_peer, error) = next_closed(&mut server).await;
    assert_eq!((reason, by_peer), (DisconnectReason::Requested, true));
    assert!(error.is_none());
}
