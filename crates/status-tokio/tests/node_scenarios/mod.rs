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

// ---- hostile peers -----------------------------------------------------------

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Counts live heap bytes of the whole process (install it with
/// `#[global_allocator]` in a test binary that runs one test).
pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Resets the peak to the current live bytes; returns them.
pub fn reset_peak() -> usize {
    let now = LIVE.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

pub fn peak_bytes() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Writes all of `data`.
pub async fn write_all<R: Runtime>(s: &mut R::Stream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| R::poll_write(s, cx, data)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    Ok(())
}

/// Reads once, or `None` when `limit` passes first.
pub async fn read_some<R: Runtime>(
    s: &mut R::Stream,
    buf: &mut [u8],
    limit: Duration,
) -> Option<std::io::Result<usize>> {
    let mut t = R::timer();
    R::set_timer(&mut t, limit);
    poll_fn(|cx| {
        if let std::task::Poll::Ready(r) = R::poll_read(s, cx, buf) {
            return std::task::Poll::Ready(Some(r));
        }
        if R::poll_timer(&mut t, cx).is_ready() {
            return std::task::Poll::Ready(None);
        }
        std::task::Poll::Pending
    })
    .await
}

/// Reads until the peer closes (`true`) or `limit` passes (`false`).
pub async fn closed_within<R: Runtime>(s: &mut R::Stream, limit: Duration) -> bool {
    let start = Instant::now();
    let mut buf = vec![0u8; 4096];
    while start.elapsed() < limit {
        match read_some::<R>(s, &mut buf, limit.saturating_sub(start.elapsed())).await {
            Some(Ok(0)) | Some(Err(_)) => return true,
            Some(Ok(_)) => continue,
            None => return false,
        }
    }
    false
}

/// Garbage, a handshake that never finishes, 1000 connections and a flood
/// of envelopes at one node: each attacker is cut off, the honest peer
/// keeps relaying, and the process heap stays within the bound the
/// node's limits imply.
pub async fn hostile_peers_are_cut_off_within_bounds<R: Runtime>() {
    use status_rlpx::session::{Event as SessionEvent, Session};

    let mut config = quick(relayer(60).build().unwrap());
    std::sync::Arc::make_mut(&mut config.rlpx).handshake_timeout = Duration::from_secs(2);
    config.waku.packet_rate_limits = status_waku::RateLimits {
        ip: 0,
        peer_id: 50,
        topic: 0,
    };
    config.waku.rate_limit_tolerance = 3;
    let pending_max = config.max_pending_inbound;
    let target = start_collected::<R>(config, NodeOptions::default()).await;
    let addr = target.handle.enode().addr;
    let honest_config = quick(
        relayer(61)
            .static_node(target.handle.enode())
            .build()
            .unwrap(),
    );
    let honest = start_collected::<R>(honest_config, NodeOptions::default()).await;
    let topic = Topic::from_name("honest");
    honest
        .handle
        .subscribe(Filter::symmetric(vec![topic], CHAT_KEY))
        .await
        .unwrap();
    assert!(
        eventually::<R, _, _>(Duration::from_secs(10), || async {
            peers(&target.handle).await == 1
        })
        .await
    );
    sleep::<R>(Duration::from_millis(300)).await;
    let baseline = reset_peak();

    // Garbage instead of an auth: cut off at once.
    let mut g = R::connect(addr).await.unwrap();
    write_all::<R>(&mut g, &[0u8; 400]).await.unwrap();
    assert!(
        closed_within::<R>(&mut g, Duration::from_secs(2)).await,
        "garbage"
    );

    // A handshake that never finishes: cut off at the handshake deadline.
    let mut mute = R::connect(addr).await.unwrap();
    let t = Instant::now();
    assert!(
        closed_within::<R>(&mut mute, Duration::from_secs(5)).await,
        "mute"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );

    // One peer opens 1000 connections and sends nothing.
    let mut flood_conns = Vec::new();
    for _ in 0..1000 {
        if let Ok(s) = R::connect(addr).await {
            flood_conns.push(s);
        }
    }
    sleep::<R>(Duration::from_millis(300)).await;
    let (conns, refused) = target
        .handle
        .call(|n, _| (n.connection_count(), n.stats().refused))
        .await
        .unwrap();
    assert!(conns <= pending_max + 1, "{conns} connections");
    assert!(refused >= 1000 - pending_max as u64, "refused {refused}");
    // The honest peer keeps working meanwhile.
    target
        .handle
        .post(Post::new(
            topic,
            PostKey::Symmetric(CHAT_KEY),
            b"under attack",
        ))
        .await
        .unwrap();
    assert!(
        eventually::<R, _, _>(Duration::from_secs(5), || async {
            honest.messages(topic).contains(&b"under attack".to_vec())
        })
        .await
    );
    // All of them are cut at the handshake deadline.
    let mut cut = 0;
    for s in &mut flood_conns {
        if closed_within::<R>(s, Duration::from_secs(4)).await {
            cut += 1;
        }
    }
    assert_eq!(cut, flood_conns.len());
    drop(flood_conns);

    // A flood of envelopes from an established peer.
    let flooder = key(62);
    let mut s = R::connect(addr).await.unwrap();
    let mut session = Session::initiator(
        raw_caps(),
        flooder.clone(),
        key(60).public_key(),
        status_driver::os::now(),
        [4; 32],
    );
    let mut wire = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut established = false;
    let mut dropped = false;
    let mut sent = 0u32;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) && !dropped {
        session.poll_transmit(&mut wire);
        if !wire.is_empty() {
            if write_all::<R>(&mut s, &wire).await.is_err() {
                dropped = true;
            }
            wire.clear();
        }
        if established && sent < 2000 {
            let mut rng =
                <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::from_seed(
                    [8; 32],
                );
            for _ in 0..50 {
                let body = sent.to_be_bytes();
                let params = status_waku::MessageParams::new(
                    &body,
                    status_waku::Encryption::Symmetric(&CHAT_KEY),
                    Topic::from_name("flood"),
                );
                let env = status_waku::wrap(&mut rng, &params, status_driver::os::now()).unwrap();
                let mut payload = Vec::new();
                status_waku::packet::encode_envelopes(&[env], &mut payload);
                let _ = session.send("waku", status_waku::packet::code::MESSAGES, &payload);
                sent += 1;
            }
            continue;
        }
        match read_some::<R>(&mut s, &mut buf, Duration::from_millis(100)).await {
            Some(Ok(0)) | Some(Err(_)) => dropped = true,
            Some(Ok(n)) => {
                let _ = session.handle_input(status_driver::os::now(), &buf[..n]);
                while let Some(ev) = session.poll_event() {
                    match ev {
                        SessionEvent::Established { .. } => {
                            established = true;
                            let status = status_waku::StatusOptions {
                                pow_requirement: Some(0.0),
                                ..Default::default()
                            };
                            session
                                .send("waku", status_waku::packet::code::STATUS, &status.to_vec())
                                .unwrap();
                        }
                        SessionEvent::Closed { .. } => dropped = true,
                        _ => {}
                    }
                }
            }
            None => {}
        }
    }
    assert!(dropped, "the flooder was not cut off after {sent} packets");
    let flooder_id = flooder.public_key().node_id();
    let banned = target
        .handle
        .call(move |n, now| n.is_banned(&flooder_id, now))
        .await
        .unwrap();
    assert!(banned);
    let cause = target.events.lock().unwrap().iter().find_map(|e| match e {
        Event::PeerDisconnected { node_id, cause, .. } if *node_id == flooder_id => {
            Some(cause.clone())
        }
        _ => None,
    });
    assert_eq!(
        cause,
        Some(status_node::Cause::Waku(
            status_waku::node::DropReason::RateLimited
        ))
    );
    assert_eq!(peers(&target.handle).await, 1, "the honest peer stays");

    // Memory: the node bounds pending handshakes (`max_pending_inbound`,
    // each a read buffer and a session holding at most one handshake
    // packet) and stores at most what its Waku limits allow; the 1000
    // connections and the flood stayed within that.
    let per_pending = 16 * 1024 + 70 * 1024 + 8 * 1024;
    let bound = pending_max * per_pending + (8 << 20);
    let peak = peak_bytes().saturating_sub(baseline);
    assert!(peak < bound, "heap grew by {peak} bytes, bound {bound}");
    sleep::<R>(Duration::from_millis(500)).await;
    let after = live_bytes().saturating_sub(baseline);
    assert!(
        after < 4 << 20,
        "{after} bytes still held after the attacks"
    );
    eprintln!(
        "heap peak +{} KiB (bound {} KiB), after +{} KiB",
        peak >> 10,
        bound >> 10,
        after >> 10
    );
    target.handle.shutdown().await;
    honest.handle.shutdown().await;
}

fn raw_caps() -> std::sync::Arc<status_rlpx::session::Config> {
    std::sync::Arc::new(status_rlpx::session::Config {
        capabilities: vec![status_rlpx::p2p::CapabilityConfig {
            cap: status_rlpx::p2p::Capability::new("waku", 1),
            length: 128,
        }],
        ..status_rlpx::session::Config::default()
    })
}
