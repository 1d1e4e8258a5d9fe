//! The vac Whisper scalability model (cases 1-7, and Waku's topic
//! interest and light nodes) reproduced with real Nodes in status-sim.
//!
//! ```text
//! cargo run --release --example scale -- --users 100 [--json] [--seed S]
//!     [--window SECS] [--observers K] [--plot PATH | --no-plot]
//! ```
//!
//! Every user is a real `status_node::Node` (RLPx, Waku) on status-sim's
//! virtual TCP links (`status_sim::tcp`); two relays carry the traffic,
//! the first also runs the status-mailserver role on an in-memory
//! archive. The traffic is `status_sim::traffic::TrafficModel::default()`
//! (the paper's assumptions) drawn from one seed. Three networks run, one
//! per way of choosing private topics (one per user, one discovery topic,
//! 5000 partitions); in each, `--observers` users per case listen and
//! connect as the case says, and the bytes of RLPx stream their node
//! receives from the start of traffic on (framing included, TCP/IP headers
//! not) are the measured load, scaled from the window to a day. Users
//! that are no case's observers listen with exact topics (case 1 in the
//! first network, case 4 in the third).
//!
//! Keepalive pings run every 2 hours instead of 15 s: the model counts
//! envelope traffic only, and 15 s pings to two peers would add about
//! as much as case 1's whole load.
//!
//! Prints the paper's table beside the measured one with the ratio per
//! cell (markdown), or with `--json` one object per cell per line:
//! `{"case", "users", "mode", "model", "measured", "ratio"}` (bytes per
//! user per day); 1,000,000 users extrapolated as model x measured
//! ratio. Writes `scale.svg` (load per user per day vs users, Whisper case
//! 7 vs Waku) unless `--no-plot`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};
use status_core::{Enode, SecretKey, Timestamp};
use status_mailserver::{MailserverRole, MemoryArchive, RoleConfig};
use status_node::{Config, Event, HistoryRequest, Node};
use status_sim::tcp::{addr, App, TcpNode};
use status_sim::traffic::{Addressee, Case, TrafficModel, DAY_MS};
use status_sim::{Latency, LinkConfig, NodeIndex, Sim, SimConfig};
use status_waku::filter::Filter;
use status_waku::message::{wrap, Encryption, MessageParams};
use status_waku::{Bloom, Envelope, Interest, Topic};

const CHAT_KEY: [u8; 32] = [9; 32];
const RELAYS: u32 = 2;
const WARM_UP: Duration = Duration::from_secs(20);
const DRAIN: Duration = Duration::from_secs(30);

/// How private messages pick their topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    /// One topic per user (case 1: only what is meant for you).
    Personal,
    /// One discovery topic for every private message (case 3).
    Discovery,
    /// `partitions` topics (cases 4-8).
    Partitions,
}

impl Scheme {
    fn cases(self) -> &'static [Case] {
        match self {
            Scheme::Personal => &[Case::C2],
            Scheme::Discovery => &[Case::C3],
            Scheme::Partitions => &[Case::C5, Case::C6, Case::C7, Case::C7Topics, Case::C8],
        }
    }

    /// The case the other users are an instance of, if any.
    fn regular(self) -> Option<Case> {
        match self {
            Scheme::Personal => Some(Case::C1),
            Scheme::Discovery => None,
            Scheme::Partitions => Some(Case::C4),
        }
    }
}

/// The application above each node: the mailserver role on the first
/// relay; a user's send queue while it is away.
struct User {
    role: Option<MailserverRole<MemoryArchive>>,
    rng: ChaCha20Rng,
    away: bool,
    queued: Vec<Topic>,
    history_failed: u64,
    history_complete: u64,
    requests_served: u64,
    mailserver_up: u64,
}

impl App for User {
    fn on_event(&mut self, node: &mut Node, now: Timestamp, event: Event) {
        if let Some(role) = self.role.as_mut() {
            if let Ok(replies) = role.handle_event(now, &event) {
                for r in replies {
                    // a peer that left meanwhile is no error
                    let _ = r.apply(node, now);
                }
            }
        }
        match event {
            Event::HistoryFailed { .. } => self.history_failed += 1,
            Event::HistoryComplete { .. } => self.history_complete += 1,
            Event::MailserverRequest { .. } => self.requests_served += 1,
            Event::MailserverAvailable { .. } => self.mailserver_up += 1,
            _ => {}
        }
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.role.as_ref()?.poll_timeout().map(|(t, _)| t)
    }

    fn handle_timeout(&mut self, _: &mut Node, now: Timestamp) {
        if let Some(role) = self.role.as_mut() {
            let _ = role.handle_timeout(now);
        }
    }
}

type SimNet = Sim<TcpNode<User>>;

fn key(seed: u64, i: u32) -> SecretKey {
    let mut h = Sha256::new();
    h.update(seed.to_be_bytes());
    h.update(i.to_be_bytes());
    SecretKey::from_bytes(&h.finalize()).expect("a valid key") // ok: 2^-128
}

/// An envelope of exactly `size` bytes (RLP) on `topic`: a symmetric
/// message padded to fit.
fn envelope(
    rng: &mut ChaCha20Rng,
    topic: Topic,
    size: usize,
    ttl: u32,
    now: Timestamp,
) -> Envelope {
    let mut payload = [0u8; 16];
    rng.fill_bytes(&mut payload);
    let mut pad = size.saturating_sub(100);
    for _ in 0..4 {
        let padding = vec![0u8; pad.max(1)];
        let mut p = MessageParams::new(&payload, Encryption::Symmetric(&CHAT_KEY), topic);
        p.padding = Some(&padding);
        p.ttl = ttl;
        let e = wrap(rng, &p, now).expect("no PoW, within limits"); // ok: fixed sizes
        let len = e.encoded_len();
        if len == size || pad == 0 {
            return e;
        }
        pad = (pad + size).saturating_sub(len);
    }
    panic!("no padding gives a {size}-byte envelope");
}

/// Adds random topics to `topics` until the bloom's false-positive rate
/// (fraction of set bits, cubed: three bits per topic) reaches `p`.
fn padded(rng: &mut ChaCha20Rng, topics: &[Topic], p: f64) -> Vec<Topic> {
    let mut all = topics.to_vec();
    loop {
        let bloom = Bloom::from_topics(&all);
        let ones: u32 = bloom.0.iter().map(|b| b.count_ones()).sum();
        if (f64::from(ones) / 512.0).powi(3) >= p {
            return all;
        }
        let mut t = [0u8; 4];
        rng.fill_bytes(&mut t);
        all.push(Topic(t));
    }
}

struct Run {
    users: u32,
    model: TrafficModel,
    scheme: Scheme,
    window: Duration,
    observers: u32,
    seed: u64,
}

struct Measured {
    /// Per case: bytes per user per day, users measured.
    cells: BTreeMap<Case, (f64, u32)>,
    events: u64,
    wall: Duration,
    sim_secs: f64,
}

impl Run {
    fn private_topic(&self, user: u32) -> Topic {
        match self.scheme {
            Scheme::Personal => Topic::from_name(&format!("user-{user}")),
            Scheme::Discovery => Topic::from_name("contact-discovery"),
            Scheme::Partitions => Topic::from_name(&format!(
                "contact-discovery-{}",
                self.model.partition_of(user)
            )),
        }
    }

    fn chat_topic(chat: u32) -> Topic {
        Topic::from_name(&format!("chat-{chat}"))
    }

    fn observers_of(&self, case: Case) -> u32 {
        match case {
            Case::C2 | Case::C3 => self.observers.div_ceil(2),
            // A bloom's false positives differ from user to user (which
            // of the few hundred topics in use it happens to match): more
            // observers for a steadier mean.
            Case::C5 | Case::C6 | Case::C7 => self.observers * 2,
            // Light observers cost little, and at 10,000 users one of them
            // gets about one message in a 10-minute window: take many.
            Case::C7Topics | Case::C8 => self.observers * (self.users / 400).max(1),
            _ => self.observers,
        }
    }

    /// Which case user `u` is an observer of (the first users are).
    fn case_of(&self, u: u32) -> Option<Case> {
        let mut first = 0;
        for &c in self.scheme.cases() {
            let k = self.observers_of(c);
            if u < first + k {
                return Some(c);
            }
            first += k;
        }
        self.scheme.regular()
    }

    fn run(&self) -> Measured {
        let wall = Instant::now();
        let start = Timestamp::from_secs(1_700_000_000);
        let mut sim: SimNet = Sim::new(SimConfig {
            seed: self.seed,
            start,
            default_link: LinkConfig {
                latency: Latency::Constant(30),
                ..LinkConfig::default()
            },
        });
        let m = &self.model;
        let relay_enode = |r: u32| Enode::new(&key(self.seed, r).public_key(), addr(r));
        let tune = |c: &mut Config| {
            let mut rlpx = (*c.rlpx).clone();
            rlpx.ping_interval = Duration::from_secs(7200);
            c.rlpx = std::sync::Arc::new(rlpx);
            c.peer_pool.backoff_base = Duration::from_secs(1);
            c.peer_pool.backoff_max = Duration::from_secs(4);
            c.post_ttl = m.ttl;
        };
        for r in 0..RELAYS {
            let mut b = Config::builder(key(self.seed, r))
                .listen(addr(r))
                .min_pow(0.0)
                .max_peers(self.users as usize + 16);
            if r > 0 {
                b = b.static_node(relay_enode(0));
            }
            let mailserver = r == 0 && self.scheme == Scheme::Partitions;
            if mailserver {
                b = b.mailserver();
            }
            let mut c = b.build().expect("relay config"); // ok: fixed settings
            tune(&mut c);
            c.max_pending_inbound = self.users as usize + 16;
            c.waku.max_stored = 100_000;
            c.waku.max_seen = 1_000_000;
            let role = mailserver.then(|| {
                let mut rc = RoleConfig::default();
                rc.mailserver.rate_limit = None;
                MailserverRole::new(rc, MemoryArchive::default(), start).expect("memory archive")
            });
            let node = Node::new(c, start, seed32(self.seed, r)).expect("relay");
            let app = User {
                role,
                rng: ChaCha20Rng::from_seed(seed32(self.seed ^ 1, r)),
                away: false,
                queued: Vec::new(),
                history_failed: 0,
                history_complete: 0,
                requests_served: 0,
                mailserver_up: 0,
            };
            sim.add_node(TcpNode::new(node, app));
        }
        let mut rng = ChaCha20Rng::from_seed(seed32(self.seed, u32::MAX));
        let mut history_topics = Vec::new();
        for u in 0..self.users {
            let i = RELAYS + u;
            let case = self.case_of(u);
            let mut b = Config::builder(key(self.seed, i)).light().min_pow(0.0);
            let both = matches!(case, Some(Case::C6 | Case::C7 | Case::C7Topics));
            let relays: Vec<u32> = match case {
                _ if both => vec![0, 1],
                Some(Case::C8) => vec![0],
                _ => vec![u % RELAYS],
            };
            let churn = matches!(case, Some(Case::C7 | Case::C7Topics | Case::C8));
            // The mailserver (relay 0) is dialled by the node's PeerPool as
            // its mailserver, not as a static peer.
            for &r in relays.iter().filter(|&&r| !(churn && r == 0)) {
                b = b.static_node(relay_enode(r));
            }
            if churn {
                b = b.mailserver_client(vec![relay_enode(0)]);
            }
            let mut c = b.build().expect("user config"); // ok: fixed settings
            tune(&mut c);
            let mut topics: Vec<Topic> = self
                .model
                .chats_of(self.users, u)
                .into_iter()
                .map(Run::chat_topic)
                .collect();
            if case.is_some() {
                topics.push(self.private_topic(u));
            }
            let bloom = matches!(case, Some(Case::C5 | Case::C6 | Case::C7));
            c.waku.interest = match case {
                Some(Case::C2) => Interest::Full,
                _ if bloom => Interest::Bloom,
                _ => Interest::Topics,
            };
            let mut node = Node::new(c, start, seed32(self.seed, i)).expect("user");
            if case != Some(Case::C2) {
                let listen = if bloom {
                    padded(&mut rng, &topics, m.bloom_false_positive)
                } else {
                    topics.clone()
                };
                node.subscribe(start, Filter::symmetric(listen, CHAT_KEY));
            }
            history_topics.push(if bloom {
                padded(&mut rng, &topics, m.mailserver_false_positive)
            } else {
                topics
            });
            let app = User {
                role: None,
                rng: ChaCha20Rng::from_seed(seed32(self.seed ^ 1, i)),
                away: false,
                queued: Vec::new(),
                history_failed: 0,
                history_complete: 0,
                requests_served: 0,
                mailserver_up: 0,
            };
            sim.add_node(TcpNode::new(node, app));
        }
        for i in 0..sim.len() as u32 {
            sim.with_node(NodeIndex(i), |n, ctx| n.drain(ctx));
        }
        let t0 = start.saturating_add(WARM_UP);
        let end = t0.saturating_add(self.window);
        sim.run_until(t0);
        let before: Vec<u64> = (0..sim.len() as u32)
            .map(|i| sim.node(NodeIndex(i)).map_or(0, |n| n.rlpx_bytes_received))
            .collect();

        // Churn: online `online_fraction` of each cycle of a day /
        // `mailserver_queries_per_day`, the phases of each case's observers
        // spread evenly over the cycle. A user away at the end of the
        // window comes back when its cycle says (the run goes on without
        // traffic until then) and asks for what it missed, so each user
        // makes its share of queries, not one more per window.
        let window_ms = self.window.as_millis() as u64;
        let cycle = (DAY_MS as f64 / m.mailserver_queries_per_day) as u64;
        let online = (cycle as f64 * m.online_fraction) as u64;
        let mut churned: BTreeMap<Case, u64> = BTreeMap::new();
        let mut last_back = end;
        for u in 0..self.users {
            let Some(case @ (Case::C7 | Case::C7Topics | Case::C8)) = self.case_of(u) else {
                continue;
            };
            let j = churned.entry(case).or_default();
            let phase = *j * cycle / u64::from(self.observers_of(case));
            *j += 1;
            let node = NodeIndex(RELAYS + u);
            let topics = history_topics[u as usize].clone();
            // cycle k: online [s, s + online), away [s + online, s + cycle)
            let mut s = t0.as_millis() as i64 - cycle as i64 + phase as i64;
            while s < end.as_millis() as i64 {
                let away_from = (s + online as i64).max(t0.as_millis() as i64) as u64;
                let back = (s + cycle as i64) as u64;
                s += cycle as i64;
                if away_from >= back || away_from >= end.as_millis() {
                    continue;
                }
                last_back = last_back.max(Timestamp::from_millis(back));
                let (from, until) = (
                    Timestamp::from_millis(away_from),
                    Timestamp::from_millis(back),
                );
                sim.schedule(from, node, |n, ctx| {
                    n.app.away = true;
                    n.drop_connections(ctx);
                });
                sim.offline(node, from, until);
                let (ttl, size) = (m.ttl, m.envelope_size);
                let topics = topics.clone();
                sim.schedule(until, node, move |n, ctx| {
                    n.app.away = false;
                    let now = ctx.now();
                    for topic in std::mem::take(&mut n.app.queued) {
                        let e = envelope(&mut n.app.rng, topic, size, ttl, now);
                        let _ = n.node.post_envelope(now, e);
                    }
                    let request = HistoryRequest {
                        topics,
                        from: (away_from / 1000) as u32,
                        to: (back / 1000) as u32 + 1,
                    };
                    let _ = n.node.request_history(now, request);
                    n.drain(ctx);
                });
            }
        }

        // Traffic.
        for send in m.schedule(self.seed, self.users, t0.as_millis(), window_ms) {
            let topic = match send.to {
                Addressee::User(v) => self.private_topic(v),
                Addressee::Chat(c) => Run::chat_topic(c),
            };
            let (n_env, size, ttl) = (m.envelopes_per_message, m.envelope_size, m.ttl);
            sim.schedule(
                Timestamp::from_millis(send.at_ms),
                NodeIndex(RELAYS + send.from),
                move |n, ctx| {
                    let now = ctx.now();
                    for _ in 0..n_env {
                        if n.app.away {
                            n.app.queued.push(topic);
                        } else {
                            let e = envelope(&mut n.app.rng, topic, size, ttl, now);
                            let _ = n.node.post_envelope(now, e);
                        }
                    }
                    n.drain(ctx);
                },
            );
        }
        sim.run_until(end.saturating_add(DRAIN));
        // The speed of the simulator: node-seconds of the traffic window
        // (with warm-up and drain) per wall second, idle return time aside.
        let busy_wall = wall.elapsed();
        let busy_events = sim.metrics().events;
        let busy_secs = (sim.now().as_millis() - start.as_millis()) as f64 / 1000.0
            * f64::from(self.users + RELAYS);
        sim.run_until(last_back.max(end).saturating_add(DRAIN));

        let scale = DAY_MS as f64 / window_ms as f64;
        let mut sums: BTreeMap<Case, (f64, u32)> = BTreeMap::new();
        let mut failed = 0;
        for u in 0..self.users {
            let Some(case) = self.case_of(u) else {
                continue;
            };
            let i = RELAYS + u;
            let n = sim.node(NodeIndex(i)).expect("user node");
            failed += n.app.history_failed;
            let got = (n.rlpx_bytes_received - before[i as usize]) as f64 * scale;
            let e = sums.entry(case).or_default();
            e.0 += got;
            e.1 += 1;
        }
        let (mut complete, mut up) = (0, 0);
        for i in 0..sim.len() as u32 {
            let n = &sim.node(NodeIndex(i)).expect("node").app;
            complete += n.history_complete;
            up += n.mailserver_up;
        }
        let served = sim.node(NodeIndex(0)).map_or(0, |n| n.app.requests_served);
        if std::env::var_os("SCALE_DEBUG").is_some() {
            eprintln!("{:?}: history complete {complete} failed {failed}, mailserver up {up}, served {served}", self.scheme);
        }
        let cells = sums
            .into_iter()
            .map(|(c, (sum, k))| (c, (sum / f64::from(k), k)))
            .collect();
        Measured {
            cells,
            events: busy_events,
            wall: busy_wall,
            sim_secs: busy_secs,
        }
    }
}

fn seed32(seed: u64, i: u32) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_be_bytes());
    s[8..12].copy_from_slice(&i.to_be_bytes());
    s
}

fn human(b: f64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    let mut v = b / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// Peak resident memory of this process, KiB (Linux `VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Args {
    users: u32,
    json: bool,
    seed: u64,
    window: Option<u64>,
    observers: u32,
    plot: Option<String>,
}

fn parse() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut a = Args {
        users: 100,
        json: false,
        seed: 1,
        window: None,
        observers: 8,
        plot: Some("scale.svg".into()),
    };
    let mut p = lexopt::Parser::from_env();
    while let Some(arg) = p.next()? {
        match arg {
            Long("users") => a.users = p.value()?.parse()?,
            Long("json") => a.json = true,
            Long("seed") => a.seed = p.value()?.parse()?,
            Long("window") => a.window = Some(p.value()?.parse()?),
            Long("observers") => a.observers = p.value()?.parse()?,
            Long("plot") => a.plot = Some(p.value()?.string()?),
            Long("no-plot") => a.plot = None,
            Long("help") => {
                println!("usage: scale --users N [--json] [--seed S] [--window SECS] [--observers K] [--plot PATH | --no-plot]");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(a)
}

fn main() {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let model = TrafficModel::default();
    let window = a
        .window
        .unwrap_or(if a.users <= 1000 { 86_400 } else { 600 });
    let min_users = 7 * a.observers + 8;
    if a.users < min_users {
        eprintln!(
            "error: --users must be at least {min_users} for {} observers per case",
            a.observers
        );
        std::process::exit(2);
    }
    let mut cells: BTreeMap<Case, f64> = BTreeMap::new();
    let (mut events, mut wall, mut node_secs) = (0, Duration::ZERO, 0.0);
    for scheme in [Scheme::Personal, Scheme::Discovery, Scheme::Partitions] {
        let run = Run {
            users: a.users,
            model: model.clone(),
            scheme,
            window: Duration::from_secs(window),
            observers: a.observers,
            seed: a.seed,
        };
        let m = run.run();
        events += m.events;
        wall += m.wall;
        node_secs += m.sim_secs;
        for (c, (v, _)) in m.cells {
            cells.insert(c, v);
        }
    }
    let users = u64::from(a.users);
    let rows: Vec<(Case, f64, f64)> = Case::ALL
        .iter()
        .filter_map(|&c| cells.get(&c).map(|&v| (c, model.load(c, users), v)))
        .collect();
    let rss = peak_rss_kib();
    if a.json {
        for &(c, model_v, v) in &rows {
            println!(
                "{}",
                serde_json::json!({
                    "case": c.number(), "users": users, "mode": c.mode(), "variant": format!("{c:?}"),
                    "model": model_v, "measured": v, "ratio": v / model_v,
                })
            );
            let mu = 1_000_000u64;
            let mm = model.load(c, mu);
            println!(
                "{}",
                serde_json::json!({
                    "case": c.number(), "users": mu, "mode": c.mode(), "variant": format!("{c:?}"),
                    "model": mm, "measured": mm * v / model_v, "ratio": v / model_v,
                    "extrapolated_from": users,
                })
            );
        }
        println!(
            "{}",
            serde_json::json!({
                "run": "scale", "users": users, "window_secs": window, "events": events,
                "wall_secs": wall.as_secs_f64(), "node_secs_per_wall_sec": node_secs / wall.as_secs_f64(),
                "peak_rss_kib": rss,
            })
        );
    } else {
        if window < 86_400 {
            println!(
                "{users} users over a simulated window of {window} s, scaled to a day (x{:.1}).\n",
                86_400.0 / window as f64
            );
        } else {
            println!("{users} users over a whole simulated day.\n");
        }
        println!("| case | mode | what | paper ({users}) | model | measured | ratio | 1m model | 1m extrapolated |");
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for &(c, model_v, v) in &rows {
            let col = match users {
                100 => Some(0),
                10_000 => Some(1),
                1_000_000 => Some(2),
                _ => None,
            };
            let paper = c
                .paper_table()
                .zip(col)
                .map_or("-".to_string(), |(t, i)| human(t[i]));
            let mm = model.load(c, 1_000_000);
            println!(
                "| {} | {} | {} | {paper} | {} | {} | {:.3} | {} | {} |",
                c.number(),
                c.mode(),
                c.describe(),
                human(model_v),
                human(v),
                v / model_v,
                human(mm),
                human(mm * v / model_v)
            );
        }
        println!(
            "\n{events} events, {:.1} s wall, {:.0} simulated node-seconds per wall second, peak RSS {} MiB",
            wall.as_secs_f64(),
            node_secs / wall.as_secs_f64(),
            rss.map_or("?".into(), |k| (k / 1024).to_string())
        );
    }
    if let Some(path) = a.plot {
        if let Err(e) = plot(&path, &model, users, &cells) {
            eprintln!("error: plot {path}: {e}");
            std::process::exit(1);
        }
    }
}

/// Load per user per day against users (log-log): the model's Whisper
/// case 7 and Waku cases 7 (topics) and 8, with the measured points.
fn plot(
    path: &str,
    model: &TrafficModel,
    users: u64,
    cells: &BTreeMap<Case, f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mb = 1024.0 * 1024.0;
    let mut chart = ChartBuilder::on(&root)
        .caption("load per user per day (MB) vs users", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((100f64..1e6f64).log_scale(), (0.5f64..1e5f64).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("users")
        .y_desc("MB / user / day")
        .draw()?;
    let xs: Vec<f64> = (0..=40)
        .map(|i| 10f64.powf(2.0 + f64::from(i) * 0.1))
        .collect();
    let lines = [
        (Case::C7, RED, "Whisper case 7 (model)"),
        (Case::C7Topics, BLUE, "Waku topic interest, case 7 (model)"),
        (Case::C8, GREEN, "Waku light node, case 8 (model)"),
    ];
    for (case, color, label) in lines {
        chart
            .draw_series(LineSeries::new(
                xs.iter().map(|&x| (x, model.load(case, x as u64) / mb)),
                color,
            ))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        if let Some(&v) = cells.get(&case) {
            chart.draw_series(std::iter::once(Circle::new(
                (users as f64, v / mb),
                5,
                color.filled(),
            )))?;
        }
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}
