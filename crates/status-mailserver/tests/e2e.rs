//! End to end over loopback TCP: a status-rs mailserver node (the Node of
//! status-node run by status-tokio, with the mailserver role over a real
//! archive) and status-rs client nodes asking it for history: a full
//! client pages through 10,000 envelopes and gets each exactly once; a
//! light node asks by topic and gets its topic only; envelopes the
//! mailserver node receives live are archived and served too.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::rand_core::SeedableRng;
use status_core::{SecretKey, Timestamp};
use status_mailserver::{
    Archive, ArchivedEnvelope, MailserverConfig, MailserverRole, RoleConfig, SqliteArchive,
};
use status_node::{Config, Event, HistoryRequest, Post, PostKey};
use status_tokio::{start_node, NodeHandle, NodeOptions};
use status_waku::filter::Filter;
use status_waku::{wrap, Encryption, MessageParams, Topic};

fn key(b: u8) -> SecretKey {
    SecretKey::from_bytes(&[b; 32]).expect("a valid key")
}

fn now_secs() -> u32 {
    status_driver_now().as_secs() as u32
}

fn status_driver_now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    Timestamp::from_millis(d.as_millis() as u64)
}

/// The mailserver role beside a running node: events in, replies out,
/// the role's timer in between.
async fn run_role<A: Archive + 'static>(handle: NodeHandle, mut role: MailserverRole<A>) {
    loop {
        let wait = role
            .poll_timeout()
            .map(|(t, _)| {
                Duration::from_millis(
                    t.as_millis()
                        .saturating_sub(status_driver_now().as_millis()),
                )
            })
            .unwrap_or(Duration::from_secs(3600));
        let replies = tokio::select! {
            ev = handle.recv() => {
                let Some(ev) = ev else { return };
                role.handle_event(status_driver_now(), &ev).expect("archive works")
            }
            _ = tokio::time::sleep(wait) => {
                role.handle_timeout(status_driver_now()).expect("archive works");
                Vec::new()
            }
        };
        if !replies.is_empty() {
            let sent = handle
                .call(move |n, now| {
                    for r in replies {
                        r.apply(n, now)?;
                    }
                    Ok::<(), status_node::Error>(())
                })
                .await;
            match sent {
                Ok(Ok(())) => {}
                // the peer left meanwhile
                Ok(Err(status_node::Error::UnknownConnection(_))) => {}
                other => panic!("reply failed: {other:?}"),
            }
        }
    }
}

struct Mailserver {
    handle: NodeHandle,
    archive: Arc<SqliteArchive>,
    _dir: tempfile::TempDir,
}

async fn start_mailserver() -> Mailserver {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = Arc::new(SqliteArchive::open(dir.path().join("ms.db")).expect("sqlite"));
    let config = Config::builder(key(0x31))
        .listen("127.0.0.1:0".parse().expect("addr"))
        .min_pow(0.0)
        .mailserver()
        .build()
        .expect("config");
    let handle = start_node(config, NodeOptions::default())
        .await
        .expect("node starts");
    let role_config = RoleConfig {
        mailserver: MailserverConfig::default(),
        ..RoleConfig::default()
    };
    let role =
        MailserverRole::new(role_config, archive.clone(), status_driver_now()).expect("role");
    tokio::spawn(run_role(handle.clone(), role));
    Mailserver {
        handle,
        archive,
        _dir: dir,
    }
}

/// `n` envelopes on `topic` for `chat_key`, created in the last hour.
fn history(n: u32, topic: Topic, chat_key: &[u8; 32], seed: u8) -> Vec<ArchivedEnvelope> {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([seed; 32]);
    let now = now_secs();
    (0..n)
        .map(|i| {
            let payload = format!("history {seed} {i}");
            let mut params =
                MessageParams::new(payload.as_bytes(), Encryption::Symmetric(chat_key), topic);
            params.pow_target = 0.0;
            params.max_pow_attempts = 1;
            let sent = Timestamp::from_secs(u64::from(now - 3600 + i % 3000));
            ArchivedEnvelope::new(&wrap(&mut rng, &params, sent).expect("wrap"))
        })
        .collect()
}

/// What a client got from one history request: hash -> times delivered.
async fn collect_history(
    client: &NodeHandle,
    limit: Duration,
) -> (BTreeMap<[u8; 32], u32>, Option<u32>) {
    let mut got: BTreeMap<[u8; 32], u32> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let ev = tokio::time::timeout_at(deadline, client.recv()).await;
        match ev {
            Ok(Some(Event::Message(m))) if m.p2p => *got.entry(m.hash).or_default() += 1,
            Ok(Some(Event::HistoryComplete { pages, .. })) => return (got, Some(pages)),
            Ok(Some(Event::HistoryFailed { error, .. })) => panic!("history failed: {error:?}"),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return (got, None),
        }
    }
}

async fn wait_for_mailserver(client: &NodeHandle) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, client.recv()).await {
            Ok(Some(Event::MailserverAvailable { .. })) => return,
            Ok(Some(_)) => {}
            other => panic!("no mailserver: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pages_through_ten_thousand_envelopes_each_exactly_once() {
    let ms = start_mailserver().await;
    let (topic, chat_key) = (Topic::from_name("e2e-history"), [0x44u8; 32]);
    let all = history(10_000, topic, &chat_key, 1);
    for chunk in all.chunks(1000) {
        ms.archive.archive(chunk).expect("archive");
    }

    let config = Config::builder(key(0x32))
        .min_pow(0.0)
        .mailserver_client(vec![ms.handle.enode()])
        .build()
        .expect("config");
    let client = start_node(config, NodeOptions::default())
        .await
        .expect("client");
    client
        .subscribe(Filter::symmetric(vec![topic], chat_key))
        .await
        .expect("subscribe");
    wait_for_mailserver(&client).await;
    let now = now_secs();
    client
        .request_history(HistoryRequest {
            topics: vec![topic],
            from: now - 2 * 3600,
            to: now,
        })
        .await
        .expect("request");
    let (got, pages) = collect_history(&client, Duration::from_secs(120)).await;
    let pages = pages.expect("history completes");
    let want: Vec<[u8; 32]> = all.iter().map(|e| e.key.hash()).collect();
    let missing = want.iter().filter(|h| !got.contains_key(*h)).count();
    let twice = got.values().filter(|n| **n > 1).count();
    assert_eq!((missing, twice), (0, 0), "every envelope exactly once");
    assert_eq!(got.len(), want.len(), "nothing else");
    // 1000 per page (the client's page limit); the tenth page is full, so
    // status-go's rule sends a cursor and an eleventh, empty page ends it
    assert_eq!(pages, 11);
    client.shutdown().await;
    ms.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_light_node_asks_by_topic_and_live_envelopes_are_archived() {
    let ms = start_mailserver().await;
    let (mine, other) = (
        Topic::from_name("e2e-light-mine"),
        Topic::from_name("e2e-light-other"),
    );
    let chat_key = [0x45u8; 32];
    let old_mine = history(300, mine, &chat_key, 2);
    let old_other = history(300, other, &chat_key, 3);
    ms.archive.archive(&old_mine).expect("archive");
    ms.archive.archive(&old_other).expect("archive");

    // A relayer posts to the mailserver node live: the node archives what
    // it accepts through the role.
    let poster_config = Config::builder(key(0x33))
        .min_pow(0.0)
        .static_node(ms.handle.enode())
        .build()
        .expect("config");
    let poster = start_node(poster_config, NodeOptions::default())
        .await
        .expect("poster");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !matches!(
        tokio::time::timeout_at(deadline, poster.recv()).await,
        Ok(Some(Event::PeerConnected(_)))
    ) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "poster never connected"
        );
    }
    let mut live = Vec::new();
    for i in 0..20 {
        let mut post = Post::new(
            mine,
            PostKey::Symmetric(chat_key),
            format!("live {i}").into_bytes(),
        );
        post.pow_target = Some(0.0);
        live.push(poster.post(post).await.expect("post"));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = now_secs();
        let q = status_mailserver::Query {
            lower: now - 600,
            upper: now + 60,
            selector: status_mailserver::Selector::Topics(vec![mine]),
            limit: 1000,
            cursor: None,
            order: status_mailserver::Order::Ascending,
        };
        let stored: Vec<[u8; 32]> = ms
            .archive
            .query(&q)
            .expect("query")
            .iter()
            .map(|e| e.key.hash())
            .collect();
        if live.iter().all(|h| stored.contains(h)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "live envelopes were not archived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The light node asks for its topic only.
    let config = Config::builder(key(0x34))
        .light()
        .min_pow(0.0)
        .mailserver_client(vec![ms.handle.enode()])
        .build()
        .expect("config");
    let light = start_node(config, NodeOptions::default())
        .await
        .expect("light");
    light
        .subscribe(Filter::symmetric(vec![mine], chat_key))
        .await
        .expect("subscribe");
    wait_for_mailserver(&light).await;
    let now = now_secs();
    light
        .request_history(HistoryRequest {
            topics: vec![mine],
            from: now - 2 * 3600,
            to: now + 60,
        })
        .await
        .expect("request");
    let (got, pages) = collect_history(&light, Duration::from_secs(60)).await;
    assert!(pages.is_some(), "history completes");
    let mut want: Vec<[u8; 32]> = old_mine.iter().map(|e| e.key.hash()).collect();
    want.extend(&live);
    want.sort();
    let got_hashes: Vec<[u8; 32]> = got.keys().copied().collect();
    assert_eq!(
        got_hashes, want,
        "its topic, old and live, and nothing of the other"
    );
    assert!(got.values().all(|n| *n == 1), "each once");
    for h in old_other.iter().map(|e| e.key.hash()) {
        assert!(!got.contains_key(&h));
    }
    light.shutdown().await;
    poster.shutdown().await;
    ms.handle.shutdown().await;
}
