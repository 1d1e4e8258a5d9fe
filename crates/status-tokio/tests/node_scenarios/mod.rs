//! Loopback scenarios for a whole Node, generic over the driver runtime:
//! `status-tokio`'s tests/node.rs and `status-smol`'s run the same ones.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record};
use status_core::SecretKey;
use status_discovery::dnsdisc::{Link, Tree};
use status_discovery::Enr;
use status_driver::node::{start, NodeHandle, NodeOptions};
use status_driver::Runtime;
use status_node::{Config, ConfigBuilder, Event, Post, PostKey};
use status_waku::filter::Filter;
use status_waku::Topic;

pub const CHAT_KEY: [u8; 32] = [9; 32];

pub fn key(i: u32) -> SecretKey {
    let mut b = [0u8; 32];
    b[28..].copy_from_slice(&(i + 1).to_be_bytes());
    b[0] = 0x51;
    SecretKey::from_bytes(&b).unwrap()
}

pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

pub async fn sleep<R: Runtime>(d: Duration) {
    let mut t = R::timer();
    R::set_timer(&mut t, d);
    poll_fn(|cx| R::poll_timer(&mut t, cx)).await;
}

/// Polls `cond` every 50 ms until it holds or `limit` passes.
pub async fn eventually<R: Runtime, F, Fut>(limit: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if cond().await {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        sleep::<R>(Duration::from_millis(50)).await;
    }
}

/// A relayer on loopback (any port) with discv5 and quick test timings:
/// the PeerPool searches every 500 ms instead of 3 s.
pub fn relayer(i: u32) -> ConfigBuilder {
    Config::builder(key(i))
        .listen(loopback(0))
        .discv5_addr(loopback(0))
        .min_pow(0.0)
}

pub fn quick(mut c: Config) -> Config {
    c.peer_pool.fast_sync = Duration::from_millis(500);
    c.peer_pool.slow_sync = Duration::from_secs(2);
    c.peer_pool.backoff_base = Duration::from_millis(500);
    c.peer_pool.backoff_max = Duration::from_secs(2);
    c
}

/// Collects a node's events in the background so that it never waits on
/// its event channel.
pub struct Collected {
    pub handle: NodeHandle,
    pub events: Arc<std::sync::Mutex<Vec<Event>>>,
}

impl Collected {
    pub fn messages(&self, topic: Topic) -> Vec<Vec<u8>> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) if m.envelope.topic == topic => {
                    Some(m.message.payload().to_vec())
                }
                _ => None,
            })
            .collect()
    }
}

pub async fn start_collected<R: Runtime>(config: Config, options: NodeOptions) -> Collected {
    let handle = start::<R>(config, options).await.unwrap();
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (h, ev) = (handle.clone(), events.clone());
    R::spawn(async move {
        while let Some(e) = h.recv().await {
            ev.lock().unwrap().push(e);
        }
    });
    Collected { handle, events }
}

async fn peers(h: &NodeHandle) -> usize {
    h.call(|n, _| n.peer_count()).await.unwrap_or(0)
}

/// 20 relayers from one bootnode list (two discv5 bootnodes), a light
/// node among them; every node finds peers within its limits, a post
/// reaches every matching filter exactly once, the light node hears only
/// its topic, and a node killed and restarted rejoins.
pub async fn twenty_nodes_from_one_bootnode_list<R: Runtime>() {
    let mut nodes: Vec<Collected> = Vec::new();
    for i in 0..2 {
        let c = quick(relayer(i).build().unwrap());
        nodes.push(start_collected::<R>(c, NodeOptions::default()).await);
    }
    let boot: Vec<Enr> = nodes
        .iter()
        .map(|n| n.handle.local_enr().unwrap().clone())
        .collect();
    let with_boot = |b: ConfigBuilder| boot.iter().fold(b, |b, e| b.bootnode(e.clone()));
    for i in 2..20 {
        let c = quick(with_boot(relayer(i)).build().unwrap());
        nodes.push(start_collected::<R>(c, NodeOptions::default()).await);
    }
    let light_config = quick(with_boot(relayer(20).light()).build().unwrap());
    let light = start_collected::<R>(light_config.clone(), NodeOptions::default()).await;

    let topic = Topic::from_name("twenty");
    let light_topic = Topic::from_name("light");
    for n in &nodes {
        n.handle
            .subscribe(Filter::symmetric(vec![topic], CHAT_KEY))
            .await
            .unwrap();
    }
    light
        .handle
        .subscribe(Filter::symmetric(vec![light_topic], CHAT_KEY))
        .await
        .unwrap();

    // Every node finds peers within its limits.
    let all_connected = eventually::<R, _, _>(Duration::from_secs(60), || async {
        for n in &nodes {
            if peers(&n.handle).await < 2 {
                return false;
            }
        }
        peers(&light.handle).await >= 2
    })
    .await;
    let counts: Vec<usize> = {
        let mut v = Vec::new();
        for n in &nodes {
            v.push(peers(&n.handle).await);
        }
        v
    };
    assert!(all_connected, "peer counts {counts:?}");
    for n in nodes.iter().chain([&light]) {
        let (count, dialled, max, whisper_max) = n
            .handle
            .call(|n, _| {
                let t = &n.config().peer_pool.topics[0];
                (
                    n.peer_count(),
                    n.peer_pool().connected(&t.name).len(),
                    n.config().max_peers,
                    t.limits.max,
                )
            })
            .await
            .unwrap();
        assert!(count <= max, "{count} > {max}");
        assert!(dialled <= whisper_max, "{dialled} > {whisper_max}");
    }
    let light_peers = peers(&light.handle).await;
    assert!(
        light_peers <= 3,
        "a light node keeps 2-3 peers: {light_peers}"
    );

    // A post at node 7 reaches every node's filter exactly once.
    sleep::<R>(Duration::from_millis(500)).await;
    nodes[7]
        .handle
        .post(Post::new(topic, PostKey::Symmetric(CHAT_KEY), b"to all"))
        .await
        .unwrap();
    let everyone = eventually::<R, _, _>(Duration::from_secs(20), || async {
        nodes.iter().all(|n| !n.messages(topic).is_empty())
    })
    .await;
    assert!(everyone, "not everyone got it");
    sleep::<R>(Duration::from_secs(1)).await;
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n.messages(topic), [b"to all".to_vec()], "node {i}");
    }

    // The light node hears its topic, and only its topic.
    for k in 0..3u8 {
        nodes[3]
            .handle
            .post(Post::new(
                light_topic,
                PostKey::Symmetric(CHAT_KEY),
                vec![k],
            ))
            .await
            .unwrap();
        nodes[4]
            .handle
            .post(Post::new(topic, PostKey::Symmetric(CHAT_KEY), vec![k]))
            .await
            .unwrap();
    }
    let heard = eventually::<R, _, _>(Duration::from_secs(20), || async {
        light.messages(light_topic).len() == 3
    })
    .await;
    assert!(heard);
    sleep::<R>(Duration::from_secs(1)).await;
    assert!(light.messages(topic).is_empty());
    let received = light
        .handle
        .call(|n, _| n.waku_stats().envelopes_received)
        .await
        .unwrap();
    // Our own posts count too: none here. Only the light topic's 3 came in
    // (possibly once per peer that had it: duplicates, never other topics).
    let dups = light
        .handle
        .call(|n, _| n.waku_stats().duplicates)
        .await
        .unwrap();
    assert_eq!(received - dups, 3);

    // Node 12 is killed (no goodbye) and restarted on the same port: it
    // rejoins and hears the next post.
    let victim = 12;
    let config = quick(with_boot(relayer(victim as u32)).build().unwrap());
    let mut config = config;
    config.listen = Some(nodes[victim].handle.enode().addr);
    if let (Some(d), Some(a)) = (config.discv5.as_mut(), nodes[victim].handle.udp_addr()) {
        d.addr = a;
    }
    nodes[victim].handle.kill().await;
    sleep::<R>(Duration::from_millis(300)).await;
    let restarted = start_collected::<R>(config, NodeOptions::default()).await;
    restarted
        .handle
        .subscribe(Filter::symmetric(vec![topic], CHAT_KEY))
        .await
        .unwrap();
    let rejoined = eventually::<R, _, _>(Duration::from_secs(30), || async {
        peers(&restarted.handle).await >= 2
    })
    .await;
    assert!(rejoined);
    sleep::<R>(Duration::from_millis(500)).await;
    nodes[0]
        .handle
        .post(Post::new(
            topic,
            PostKey::Symmetric(CHAT_KEY),
            b"after restart",
        ))
        .await
        .unwrap();
    let got = eventually::<R, _, _>(Duration::from_secs(20), || async {
        // (It may also get what its peers stored for late comers.)
        restarted
            .messages(topic)
            .contains(&b"after restart".to_vec())
    })
    .await;
    assert!(got);

    for n in nodes.iter().chain([&light, &restarted]) {
        n.handle.shutdown().await;
    }
}

/// A tiny authoritative DNS server on a loopback UDP port serving `zone`
/// (name -> TXT text), for EIP-1459 lists.
pub async fn serve_dns<R: Runtime>(zone: BTreeMap<String, String>) -> SocketAddr {
    let socket = Arc::new(R::bind_udp(loopback(0)).await.unwrap());
    let addr = R::udp_addr(&socket).unwrap();
    R::spawn(async move {
        let mut buf = vec![0u8; 1500];
        while let Ok((n, from)) = R::recv_from(&socket, &mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut resp = Message::response(query.metadata.id, query.metadata.op_code);
            resp.metadata.authoritative = true;
            resp.metadata.recursion_desired = query.metadata.recursion_desired;
            for q in &query.queries {
                resp.add_query(q.clone());
                // Names are case-insensitive (resolvers may randomise case).
                let name = q.name().to_string().to_ascii_lowercase();
                let name = name.trim_end_matches('.');
                match zone.get(name) {
                    Some(text) => {
                        let chunks: Vec<String> = text
                            .as_bytes()
                            .chunks(255)
                            .map(|c| String::from_utf8_lossy(c).into_owned())
                            .collect();
                        resp.add_answer(Record::from_rdata(
                            q.name().clone(),
                            60,
                            RData::TXT(TXT::new(chunks)),
                        ));
                    }
                    None => resp.metadata.response_code = ResponseCode::NXDomain,
                }
            }
            if let Ok(bytes) = resp.to_vec() {
                let _ = R::try_send_to(&socket, &bytes, from);
            }
        }
    });
    addr
}

/// A node follows an EIP-1459 list served over real DNS on loopback and
/// connects to the nodes it lists.
pub async fn a_dns_list_leads_to_its_nodes<R: Runtime>() {
    let mut listed = Vec::new();
    for i in 30..33 {
        let c = quick(relayer(i).build().unwrap());
        listed.push(start_collected::<R>(c, NodeOptions::default()).await);
    }
    let list_key = SecretKey::from_bytes(&[0x77; 32]).unwrap();
    let enrs: Vec<Enr> = listed
        .iter()
        .map(|n| n.handle.local_enr().unwrap().clone())
        .collect();
    let tree = Tree::new(1, &enrs, &[], &list_key);
    let domain = "nodes.test.status.im";
    let zone: BTreeMap<String, String> = tree
        .txt_records(domain)
        .into_iter()
        .map(|(name, text)| (name.to_ascii_lowercase(), text))
        .collect();
    let server = serve_dns::<R>(zone).await;
    let resolver = status_driver::dns::HickoryTxt::with_server(server).unwrap();
    let link = Link::new(list_key.public_key(), domain).unwrap();
    let c = quick(
        Config::builder(key(40))
            .listen(loopback(0))
            .min_pow(0.0)
            .dns_list(link)
            .build()
            .unwrap(),
    );
    let options = NodeOptions {
        resolver: Some(Arc::new(resolver)),
        ..NodeOptions::default()
    };
    let client = start_collected::<R>(c, options).await;
    let found = eventually::<R, _, _>(Duration::from_secs(30), || async {
        peers(&client.handle).await >= 2
    })
    .await;
    assert!(found, "no peers from the DNS list");
    for n in listed.iter().chain([&client]) {
        n.handle.shutdown().await;
    }
}

/// Graceful shutdown: peers hear ClientQuitting, and the task ends.
pub async fn shutdown_says_goodbye<R: Runtime>() {
    let a = start_collected::<R>(quick(relayer(50).build().unwrap()), NodeOptions::default()).await;
    let b_config = quick(relayer(51).static_node(a.handle.enode()).build().unwrap());
    let b = start_collected::<R>(b_config, NodeOptions::default()).await;
    assert!(
        eventually::<R, _, _>(Duration::from_secs(10), || async {
            peers(&a.handle).await == 1
        })
        .await
    );
    a.handle.shutdown().await;
    let goodbye = eventually::<R, _, _>(Duration::from_secs(10), || async {
        b.events.lock().unwrap().iter().any(|e| {
            matches!(
                e,
                Event::PeerDisconnected {
                    cause: status_node::Cause::Disconnect {
                        reason: status_rlpx::p2p::DisconnectReason::ClientQuitting,
                        by_peer: true
                    },
                    ..
                }
            )
        })
    })
    .await;
    assert!(goodbye);
    assert!(a.handle.peers().await.is_err(), "the node task ended");
    b.handle.shutdown().await;
}
