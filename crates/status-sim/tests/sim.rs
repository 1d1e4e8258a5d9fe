//! The simulator on its own, with a small gossip node.

use std::time::Duration;

use status_core::Timestamp;
use status_sim::{Ctx, Latency, LinkConfig, Node, NodeIndex, Sim, SimConfig};

/// Floods numbered rumours to a fixed list of neighbours; retries every
/// `retry` ms until each neighbour answered; delivery latency is measured
/// from the time written in the rumour.
struct Gossip {
    neighbours: Vec<NodeIndex>,
    seen: Vec<u32>,
    /// (rumour, neighbour) not yet acknowledged, with the rumour's origin time.
    pending: Vec<(u32, NodeIndex, u64)>,
    retry: u64,
    next: Option<Timestamp>,
    timeouts: u64,
}

impl Gossip {
    fn new(neighbours: Vec<NodeIndex>) -> Self {
        Gossip {
            neighbours,
            seen: Vec::new(),
            pending: Vec::new(),
            retry: 200,
            next: None,
            timeouts: 0,
        }
    }

    fn start(&mut self, ctx: &mut Ctx<'_, Vec<u8>>, rumour: u32) {
        self.seen.push(rumour);
        self.spread(ctx, rumour, ctx.now().as_millis(), None);
    }

    fn spread(
        &mut self,
        ctx: &mut Ctx<'_, Vec<u8>>,
        rumour: u32,
        origin: u64,
        except: Option<NodeIndex>,
    ) {
        for &n in &self.neighbours {
            if Some(n) != except {
                ctx.send(n, packet(0, rumour, origin));
                self.pending.push((rumour, n, origin));
            }
        }
        self.next = Some(ctx.now() + Duration::from_millis(self.retry));
    }
}

fn packet(kind: u8, rumour: u32, origin: u64) -> Vec<u8> {
    let mut p = vec![kind];
    p.extend_from_slice(&rumour.to_le_bytes());
    p.extend_from_slice(&origin.to_le_bytes());
    p
}

impl Node for Gossip {
    type Packet = Vec<u8>;

    fn handle_packet(&mut self, ctx: &mut Ctx<'_, Vec<u8>>, from: NodeIndex, p: Vec<u8>) {
        let rumour = u32::from_le_bytes(p[1..5].try_into().unwrap());
        let origin = u64::from_le_bytes(p[5..13].try_into().unwrap());
        if p[0] == 1 {
            self.pending
                .retain(|(r, n, _)| !(*r == rumour && *n == from));
            return;
        }
        ctx.send(from, packet(1, rumour, origin));
        if !self.seen.contains(&rumour) {
            self.seen.push(rumour);
            ctx.record_delivery(Duration::from_millis(ctx.now().as_millis() - origin));
            self.spread(ctx, rumour, origin, Some(from));
        }
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Vec<u8>>) {
        self.timeouts += 1;
        for (r, n, o) in self.pending.clone() {
            ctx.send(n, packet(0, r, o));
        }
        self.next =
            (!self.pending.is_empty()).then(|| ctx.now() + Duration::from_millis(self.retry));
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.next
    }

    fn packet_size(p: &Vec<u8>) -> usize {
        p.len()
    }
}

fn ring(n: u32, seed: u64, link: LinkConfig) -> Sim<Gossip> {
    let mut sim = Sim::new(SimConfig {
        seed,
        default_link: link,
        ..SimConfig::default()
    });
    for i in 0..n {
        sim.add_node(Gossip::new(vec![
            NodeIndex((i + 1) % n),
            NodeIndex((i + n - 1) % n),
        ]));
    }
    for r in 0..20u32 {
        let at = sim.now() + Duration::from_millis(u64::from(r) * 37);
        sim.schedule(at, NodeIndex(r % n), move |g, ctx| g.start(ctx, r));
    }
    sim
}

fn lossy() -> LinkConfig {
    LinkConfig {
        latency: Latency::Exponential {
            min: 10,
            mean_extra: 40,
        },
        loss: 0.2,
        duplicate: 0.1,
        reorder: 0.2,
        reorder_delay: 300,
        bandwidth: Some(100_000),
    }
}

fn far() -> Timestamp {
    Timestamp::from_secs(2_000_000_000)
}

#[test]
fn the_same_seed_gives_byte_identical_runs() {
    let run = |seed| {
        let mut sim = ring(12, seed, lossy());
        assert!(sim.run_until_idle(far()));
        (sim.to_json(), sim.to_csv(), sim.summary().to_string())
    };
    let a = run(5);
    assert_eq!(a, run(5));
    assert_ne!(a.0, run(6).0);
    assert!(a.0.contains("\"summary\""));
}

#[test]
fn every_node_hears_every_rumour_despite_loss() {
    let mut sim = ring(12, 1, lossy());
    assert!(sim.run_until_idle(far()));
    for i in 0..12 {
        assert_eq!(sim.node(NodeIndex(i)).unwrap().seen.len(), 20);
    }
    let s = sim.summary();
    assert_eq!(s.deliveries, 20 * 11);
    assert!(s.packets_lost > 0 && s.packets_duplicated > 0);
    let lost_ratio = s.packets_lost as f64 / s.packets_sent as f64;
    assert!((0.15..0.25).contains(&lost_ratio), "{lost_ratio}");
    assert!(s.delivery_latency_p99_ms >= s.delivery_latency_p50_ms);
}

#[test]
fn constant_latency_links_deliver_after_exactly_that_latency() {
    let link = LinkConfig {
        latency: Latency::Constant(25),
        ..LinkConfig::default()
    };
    let mut sim = ring(4, 0, link);
    assert!(sim.run_until_idle(far()));
    for l in sim.metrics().links.values() {
        assert_eq!(l.transit_latency.min(), 25);
        assert_eq!(l.transit_latency.max(), 25);
        assert_eq!(l.lost + l.cut + l.duplicated, 0);
    }
}

#[test]
fn bandwidth_serialises_packets_on_a_link() {
    // 13-byte packets at 1300 B/s: 10 ms each on the wire.
    let link = LinkConfig {
        latency: Latency::Constant(0),
        bandwidth: Some(1300),
        ..LinkConfig::default()
    };
    let mut sim = Sim::new(SimConfig {
        default_link: link,
        ..SimConfig::default()
    });
    let a = sim.add_node(Gossip::new(vec![]));
    let b = sim.add_node(Gossip::new(vec![]));
    sim.with_node(a, |_, ctx| {
        for r in 0..10 {
            ctx.send(b, packet(1, r, 0));
        }
    });
    assert!(sim.run_until_idle(far()));
    let l = &sim.metrics().links[&(a, b)];
    assert_eq!(l.packets_delivered, 10);
    assert_eq!(l.transit_latency.min(), 10);
    assert_eq!(l.transit_latency.max(), 100);
}

#[test]
fn a_partition_cuts_links_until_it_heals_and_churn_drops_traffic() {
    let link = LinkConfig {
        latency: Latency::Constant(5),
        ..LinkConfig::default()
    };
    let mut sim = ring(6, 3, link);
    let t = sim.now();
    sim.partition(
        t,
        t + Duration::from_secs(5),
        &[NodeIndex(0), NodeIndex(1), NodeIndex(2)],
    );
    sim.offline(NodeIndex(4), t, t + Duration::from_secs(3));
    sim.run_until(t + Duration::from_secs(2));
    // Rumours started on one side have not crossed yet.
    assert!(!sim.node(NodeIndex(3)).unwrap().seen.contains(&0));
    // The offline node only knows the rumours it started itself.
    assert!(sim
        .node(NodeIndex(4))
        .unwrap()
        .seen
        .iter()
        .all(|r| r % 6 == 4));
    assert!(sim.run_until_idle(far()));
    for i in 0..6 {
        assert_eq!(sim.node(NodeIndex(i)).unwrap().seen.len(), 20, "node {i}");
    }
    let cut: u64 = sim.metrics().links.values().map(|l| l.cut).sum();
    assert!(cut > 0);
    assert!(sim.summary().delivery_latency_max_ms >= 3000);
}

/// Sends one packet every 100 ms and counts the ones reported lost.
struct Counter {
    peer: NodeIndex,
    next: Option<Timestamp>,
    left: u32,
    lost: Vec<(NodeIndex, u32, Timestamp)>,
}

impl Node for Counter {
    type Packet = u32;
    fn handle_packet(&mut self, ctx: &mut Ctx<'_, u32>, _: NodeIndex, _: u32) {
        ctx.record_delivery(Duration::ZERO);
    }
    fn handle_timeout(&mut self, ctx: &mut Ctx<'_, u32>) {
        ctx.send(self.peer, self.left);
        self.left -= 1;
        self.next = (self.left > 0).then(|| ctx.now().saturating_add(Duration::from_millis(100)));
    }
    fn poll_timeout(&self) -> Option<Timestamp> {
        self.next
    }
    fn packet_size(_: &u32) -> usize {
        4
    }
    fn handle_lost(&mut self, ctx: &mut Ctx<'_, u32>, to: NodeIndex, packet: u32) {
        self.lost.push((to, packet, ctx.now()));
    }
}

#[test]
fn the_sender_hears_of_every_packet_a_partition_cut_or_an_offline_peer_missed() {
    let start = Timestamp::from_secs(1_700_000_000);
    let mut sim = Sim::new(SimConfig {
        start,
        ..SimConfig::default()
    });
    let counter = |peer| Counter {
        peer: NodeIndex(peer),
        next: Some(start),
        left: 30,
        lost: Vec::new(),
    };
    let a = sim.add_node(counter(1));
    let b = sim.add_node(counter(0));
    let ms = |m| start.saturating_add(Duration::from_millis(m));
    sim.partition(ms(450), ms(950), &[a]); // a's packets 5..9 are cut
    sim.offline(b, ms(1950), ms(2450)); // and those arriving while b is down
    sim.run_until_idle(ms(10_000));
    let lost = &sim.node(a).unwrap().lost;
    let link = &sim.metrics().links[&(a, b)];
    assert_eq!(lost.len() as u64, link.cut + link.lost);
    assert_eq!(link.packets_delivered + lost.len() as u64, 30);
    assert!(lost.iter().all(|(to, _, _)| *to == b));
    // Reported when the loss happened: in the partition, or on arrival.
    assert_eq!(lost[0].2, ms(500));
    assert!(lost
        .iter()
        .any(|(_, _, at)| *at >= ms(2000) && *at < ms(2500)));
}
