//! `loopback-demo`: two status-rs endpoints in one process talk RLPx over
//! real loopback TCP, through the tokio driver. No arguments, no setup:
//!
//! ```text
//! cargo run --release --example loopback-demo
//! ```

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use status_core::{Enode, SecretKey};
use status_rlpx::p2p::{CapabilityConfig, DisconnectReason};
use status_rlpx::session::Config;
use status_tokio::{Connection, Event, Message};
use tokio::net::TcpListener;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Prints one step, with the time since the demo started.
fn step(start: Instant, what: impl std::fmt::Display) {
    println!("[{:>7.1} ms] {what}", start.elapsed().as_secs_f64() * 1e3);
}

/// The next capability message (keep-alive Pongs are skipped).
async fn next_message(conn: &mut Connection) -> std::result::Result<Message, String> {
    loop {
        match conn.recv().await {
            Some(Event::Message(m)) => return Ok(m),
            Some(Event::Pong { .. }) => continue,
            other => return Err(format!("expected a message, got {other:?}")),
        }
    }
}

fn short(enode: &Enode) -> String {
    let text = enode.to_string();
    let id = enode.id.to_string();
    text.replace(&id, &format!("{}…", &id[..8]))
}

#[tokio::main]
async fn main() -> Result<()> {
    let start = Instant::now();
    println!("status-rs loopback demo: two RLPx endpoints over 127.0.0.1, tokio driver\n");

    // Both speak Waku v1, whose messages use 128 ids (vac/waku/1).
    let config = Arc::new(Config {
        capabilities: vec![CapabilityConfig {
            cap: "waku/1".parse()?,
            length: 128,
        }],
        ..Config::default()
    });
    // Fixed keys so the node ids are the same on every run.
    let alice_key = SecretKey::from_bytes(&[0xa1; 32])?;
    let bob_key = SecretKey::from_bytes(&[0xb0; 32])?;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let alice_enode = Enode::new(&alice_key.public_key(), listener.local_addr()?);
    step(start, format!("alice listens at {}", short(&alice_enode)));

    let alice = tokio::spawn({
        let config = config.clone();
        async move { Connection::accept(config, alice_key, &listener).await }
    });
    let dialed = Instant::now();
    let mut bob = Connection::connect(config, bob_key, &alice_enode).await?;
    let mut alice = alice.await??;
    step(
        start,
        format!(
            "bob dialed alice: auth, ack and Hello done in {:.1} ms",
            dialed.elapsed().as_secs_f64() * 1e3
        ),
    );
    let waku = &bob.shared_capabilities()[0];
    println!(
        "             alice runs {:?}; they share {} (message ids {:#x} to {:#x})",
        bob.hello().client_id,
        waku.cap,
        waku.offset,
        waku.offset + waku.length - 1
    );

    let rtt = bob.ping().await?;
    step(
        start,
        format!("bob pinged alice: Pong after {} ms", rtt.as_millis()),
    );

    bob.send("waku", 1, &b"hello alice"[..]).await?;
    let m = next_message(&mut alice).await?;
    step(
        start,
        format!(
            "alice got a {} message (code {}) from bob: {:?}",
            m.cap,
            m.code,
            String::from_utf8_lossy(&m.payload)
        ),
    );
    alice.send("waku", 1, &b"hi bob"[..]).await?;
    let m = next_message(&mut bob).await?;
    step(
        start,
        format!(
            "bob got a {} message (code {}) from alice: {:?}",
            m.cap,
            m.code,
            String::from_utf8_lossy(&m.payload)
        ),
    );

    // One MiB of incompressible bytes, framed, encrypted and MACed.
    let big: Bytes = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let sent = Instant::now();
    bob.send("waku", 1, big.clone()).await?;
    let m = next_message(&mut alice).await?;
    let took = sent.elapsed();
    if m.payload != big {
        return Err("the 1 MiB message arrived corrupted".into());
    }
    step(
        start,
        format!(
            "alice got 1 MiB from bob intact in {:.1} ms ({:.0} MiB/s)",
            took.as_secs_f64() * 1e3,
            1.0 / took.as_secs_f64().max(1e-9)
        ),
    );

    bob.disconnect(DisconnectReason::ClientQuitting).await?;
    step(
        start,
        "bob said goodbye (client quitting), flushed and closed",
    );
    loop {
        match alice.recv().await {
            Some(Event::Closed {
                reason,
                by_peer: true,
                error: None,
            }) => {
                step(start, format!("alice saw bob leave: {reason:?} ({reason})"));
                break;
            }
            Some(Event::Pong { .. }) => {}
            other => return Err(format!("alice expected a clean close, got {other:?}").into()),
        }
    }
    println!("\ndone in {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    Ok(())
}
