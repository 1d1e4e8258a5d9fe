//! A Waku session on top of RLPx sessions between two status-rs nodes over
//! loopback TCP, driven by status-tokio: handshake, an envelope each way
//! through the relay into the other side's filter, and confirmations.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{Enode, SecretKey, Timestamp};
use status_rlpx::p2p::CapabilityConfig;
use status_rlpx::session::Config;
use status_tokio::{Connection, Event as ConnEvent};
use status_waku::filter::Filter;
use status_waku::node::Event;
use status_waku::peer::{PeerId, Protocol};
use status_waku::topic::symmetric_key_from_password;
use status_waku::{wrap, Encryption, MessageParams, Topic, Waku, WakuConfig};
use tokio::net::TcpListener;

/// Drivers read the clock; the machine only gets it as an argument.
fn now() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Timestamp::from_millis(d.as_millis() as u64)
}

fn rlpx_config() -> Arc<Config> {
    Arc::new(Config {
        capabilities: vec![CapabilityConfig {
            cap: "waku/1".parse().unwrap(),
            length: 128,
        }],
        ..Config::default()
    })
}

fn post(waku: &mut Waku, topic: &str, text: &[u8]) -> [u8; 32] {
    let key = *symmetric_key_from_password(topic);
    let mut params = MessageParams::new(text, Encryption::Symmetric(&key), Topic::from_name(topic));
    params.ttl = 60;
    let env = wrap(&mut ChaCha20Rng::from_seed([9; 32]), &params, now()).unwrap();
    waku.post(now(), env).unwrap()
}

/// The driver loop: RLPx messages in, Waku packets out, timers, until
/// `on_event` says done; returns the events seen.
async fn run(
    mut conn: Connection,
    mut waku: Waku,
    peer: PeerId,
    mut on_event: impl FnMut(&mut Waku, &Event) -> bool,
) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        while let Some(t) = waku.poll_transmit() {
            assert_eq!(t.peer, peer);
            conn.send(t.protocol.name(), t.code, t.payload)
                .await
                .unwrap();
        }
        let mut done = false;
        while let Some(e) = waku.poll_event() {
            done |= on_event(&mut waku, &e);
            seen.push(e);
        }
        if done {
            // Flush what the last event produced (an answer, an ack).
            waku.send_pending(now());
            while let Some(t) = waku.poll_transmit() {
                conn.send(t.protocol.name(), t.code, t.payload)
                    .await
                    .unwrap();
            }
            // Keep reading a moment so the peer's last packets are taken.
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                while let Some(ConnEvent::Message(m)) = conn.recv().await {
                    let _ = waku.handle_input(now(), peer, m.code, m.payload);
                }
            })
            .await;
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out; saw {seen:?}"
        );
        let wake = waku
            .poll_timeout()
            .map(|(t, _)| t.as_millis().saturating_sub(now().as_millis()))
            .unwrap_or(1000)
            .min(1000);
        match tokio::time::timeout(Duration::from_millis(wake), conn.recv()).await {
            Ok(Some(ConnEvent::Message(m))) => {
                assert_eq!(m.cap, "waku");
                waku.handle_input(now(), peer, m.code, m.payload).unwrap();
            }
            Ok(Some(ConnEvent::Pong { .. })) => {}
            Ok(other) => panic!("connection ended: {other:?}"),
            Err(_) => waku.handle_timeout(now()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waku_runs_over_rlpx_between_two_status_rs_nodes() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let a_key = SecretKey::from_bytes(&[0xa1; 32]).unwrap();
    let b_key = SecretKey::from_bytes(&[0xb2; 32]).unwrap();
    let enode = Enode::new(&a_key.public_key(), addr);

    let accept =
        tokio::spawn(async move { Connection::accept(rlpx_config(), a_key, &listener).await });
    let b_conn = Connection::connect(rlpx_config(), b_key, &enode)
        .await
        .unwrap();
    let a_conn = accept.await.unwrap().unwrap();
    assert_eq!(a_conn.shared_capabilities()[0].cap.to_string(), "waku/1");

    // A: a full node with confirmations, listening on "reply"; it posts on
    // "status" right away (stored until B's Status arrives).
    let mut a = Waku::new(
        WakuConfig {
            confirmations_enabled: true,
            ..WakuConfig::default()
        },
        now(),
    );
    let a_peer = a.add_peer(
        now(),
        a_conn.remote_id(),
        Some(a_conn.peer_addr().ip()),
        Protocol::Waku1,
    );
    a.subscribe(Filter::symmetric(
        vec![Topic::from_name("reply")],
        *symmetric_key_from_password("reply"),
    ));
    let first = post(&mut a, "status", b"hello from a");

    // B: a light node interested in "status"; it answers on "reply".
    let mut b = Waku::new(WakuConfig::light(), now());
    b.subscribe(Filter::symmetric(
        vec![Topic::from_name("status")],
        *symmetric_key_from_password("status"),
    ));
    let b_peer = b.add_peer(
        now(),
        b_conn.remote_id(),
        Some(b_conn.peer_addr().ip()),
        Protocol::Waku1,
    );

    let a_task = tokio::spawn(run(
        a_conn,
        a,
        a_peer,
        |_, e| matches!(e, Event::Message(d) if d.message.payload() == b"hello from b"),
    ));
    let mut reply = None;
    let mut got_first = false;
    let b_events = run(b_conn, b, b_peer, |waku, e| match e {
        Event::Message(d) => {
            assert_eq!(d.hash, first);
            assert_eq!(d.message.payload(), b"hello from a");
            got_first = true;
            reply = Some(post(waku, "reply", b"hello from b"));
            false
        }
        // A confirms the batch that carried B's reply.
        Event::BatchAcknowledged { errors, .. } => {
            assert!(errors.is_empty());
            reply.is_some()
        }
        _ => false,
    })
    .await;
    let a_events = a_task.await.unwrap();
    assert!(got_first);

    let ready = |events: &[Event]| {
        events
            .iter()
            .find_map(|e| match e {
                Event::PeerReady { status, .. } => Some(status.clone()),
                _ => None,
            })
            .expect("no PeerReady")
    };
    // Each side saw the other's Status options.
    let a_saw = ready(&a_events);
    assert_eq!(a_saw.light_node, Some(true));
    assert_eq!(a_saw.topic_interest, Some(vec![Topic::from_name("status")]));
    let b_saw = ready(&b_events);
    assert_eq!(b_saw.confirmations_enabled, Some(true));
    assert!(b_events
        .iter()
        .any(|e| matches!(e, Event::BatchSent { .. })));
}
