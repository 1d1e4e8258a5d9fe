//! The event loop: virtual time, one RNG, a priority queue of events.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use status_core::Timestamp;

use crate::link::chance;
use crate::metrics::{Metrics, NodeMetrics, Summary};
use crate::{LinkConfig, NodeIndex};

/// A sans-IO machine the simulator can drive.
///
/// The simulator calls [`handle_packet`](Node::handle_packet) when a
/// packet arrives and [`handle_timeout`](Node::handle_timeout) when the
/// time from [`poll_timeout`](Node::poll_timeout) is reached; both get a
/// [`Ctx`] to send packets and report deliveries through.
pub trait Node {
    /// What travels on links (usually encoded bytes).
    type Packet: Clone;

    /// A packet from `from` arrived at `ctx.now()`.
    fn handle_packet(
        &mut self,
        ctx: &mut Ctx<'_, Self::Packet>,
        from: NodeIndex,
        packet: Self::Packet,
    );

    /// The time from [`poll_timeout`](Node::poll_timeout) was reached.
    fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Self::Packet>);

    /// When the node next wants [`handle_timeout`](Node::handle_timeout);
    /// re-read after every call into the node.
    fn poll_timeout(&self) -> Option<Timestamp>;

    /// Size of a packet on the wire, for bandwidth and byte counters.
    fn packet_size(packet: &Self::Packet) -> usize;

    /// A packet this node sent to `to` was lost: dropped by the link, cut
    /// by a partition, or sent to or arriving at an offline node. Called at
    /// the time the loss happened. The default ignores it (datagrams); a
    /// node that models a stream transport over the link (TCP, where a gap
    /// is never seen: the connection breaks instead) closes the stream.
    fn handle_lost(
        &mut self,
        ctx: &mut Ctx<'_, Self::Packet>,
        to: NodeIndex,
        packet: Self::Packet,
    ) {
        let _ = (ctx, to, packet);
    }
}

/// A node's view of the simulator during one call: the time, and a place
/// to put packets and delivery reports.
pub struct Ctx<'a, P> {
    now: Timestamp,
    me: NodeIndex,
    outbox: &'a mut Vec<(NodeIndex, P)>,
    metrics: &'a mut NodeMetrics,
}

impl<P> Ctx<'_, P> {
    /// Virtual time now.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The node being called.
    pub fn me(&self) -> NodeIndex {
        self.me
    }

    /// Sends `packet` to `to` over the link between them.
    pub fn send(&mut self, to: NodeIndex, packet: P) {
        self.outbox.push((to, packet));
    }

    /// Reports one application-level delivery that took `latency`, for the
    /// node's delivery-latency percentiles.
    pub fn record_delivery(&mut self, latency: Duration) {
        self.metrics.deliveries += 1;
        self.metrics
            .delivery_latency
            .record(u64::try_from(latency.as_millis()).unwrap_or(u64::MAX));
    }
}

/// Simulator-wide settings.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of the one RNG every random choice comes from.
    pub seed: u64,
    /// Virtual time at which the run starts.
    pub start: Timestamp,
    /// Link behaviour for every pair without an override.
    pub default_link: LinkConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            // 2020-09-13, a fixed epoch so runs do not depend on the clock.
            start: Timestamp::from_secs(1_600_000_000),
            default_link: LinkConfig::default(),
        }
    }
}

type Call<N, P> = Box<dyn FnOnce(&mut N, &mut Ctx<'_, P>)>;

enum EventKind<P> {
    Deliver {
        from: NodeIndex,
        to: NodeIndex,
        packet: P,
        sent: Timestamp,
    },
    Timer {
        node: NodeIndex,
        generation: u64,
    },
    Call {
        node: NodeIndex,
        slot: usize,
    },
    SetOnline {
        node: NodeIndex,
        online: bool,
    },
    Lost {
        from: NodeIndex,
        to: NodeIndex,
        packet: P,
    },
}

struct Event<P> {
    at: Timestamp,
    seq: u64,
    kind: EventKind<P>,
}

impl<P> PartialEq for Event<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<P> Eq for Event<P> {}
impl<P> PartialOrd for Event<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<P> Ord for Event<P> {
    // Min-heap on (time, insertion order): ties resolve deterministically.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct Slot<N> {
    node: N,
    online: bool,
    armed: Option<Timestamp>,
    generation: u64,
}

/// A cut between `side` and every node outside it during `[from, until)`.
#[derive(Clone, Debug)]
struct Partition {
    from: Timestamp,
    until: Timestamp,
    side: Vec<bool>,
}

/// The deterministic discrete-event simulator.
///
/// All randomness comes from one `ChaCha8Rng` seeded by
/// [`SimConfig::seed`], events at the same time run in insertion order,
/// and no wall-clock or hash-order dependency exists, so the same seed
/// and the same inputs give byte-identical metrics.
///
/// ```
/// # use status_core::Timestamp;
/// # use status_sim::{Ctx, Node, NodeIndex};
/// # use std::time::Duration;
/// # /// Sends its peer a 100-byte packet every 100 ms, 10 times.
/// # struct Ticker { peer: NodeIndex, next: Option<Timestamp>, left: u32 }
/// # impl Ticker { fn new(peer: u32, start: Timestamp) -> Self { Ticker { peer: NodeIndex(peer), next: Some(start), left: 10 } } }
/// # impl Node for Ticker {
/// #     type Packet = Vec<u8>;
/// #     fn handle_packet(&mut self, ctx: &mut Ctx<'_, Vec<u8>>, _: NodeIndex, _: Vec<u8>) {
/// #         ctx.record_delivery(Duration::from_millis(0));
/// #     }
/// #     fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Vec<u8>>) {
/// #         ctx.send(self.peer, vec![0; 100]);
/// #         self.left -= 1;
/// #         self.next = (self.left > 0).then(|| ctx.now().saturating_add(Duration::from_millis(100)));
/// #     }
/// #     fn poll_timeout(&self) -> Option<Timestamp> { self.next }
/// #     fn packet_size(p: &Vec<u8>) -> usize { p.len() }
/// # }
/// use status_sim::{LinkConfig, Latency, Sim, SimConfig};
///
/// fn run(seed: u64) -> String {
///     let lossy = LinkConfig {
///         latency: Latency::Exponential { min: 20, mean_extra: 30 },
///         loss: 0.2,
///         duplicate: 0.1,
///         ..LinkConfig::default()
///     };
///     let start = Timestamp::from_secs(1_700_000_000);
///     let mut sim = Sim::new(SimConfig { seed, start, default_link: lossy });
///     sim.add_node(Ticker::new(1, start));
///     sim.add_node(Ticker::new(0, start));
///     sim.run_until_idle(start.saturating_add(Duration::from_secs(60)));
///     sim.to_json()
/// }
/// assert_eq!(run(7), run(7)); // one seed replays a run byte for byte
/// assert_ne!(run(7), run(8));
/// ```
pub struct Sim<N: Node> {
    now: Timestamp,
    rng: ChaCha8Rng,
    seq: u64,
    queue: BinaryHeap<Event<N::Packet>>,
    slots: Vec<Slot<N>>,
    calls: Vec<Option<Call<N, N::Packet>>>,
    default_link: LinkConfig,
    links: HashMap<(NodeIndex, NodeIndex), LinkConfig>,
    busy_until_us: HashMap<(NodeIndex, NodeIndex), u64>,
    partitions: Vec<Partition>,
    metrics: Metrics,
    outbox: Vec<(NodeIndex, N::Packet)>,
}

impl<N: Node> Sim<N> {
    /// An empty simulation at `config.start`.
    pub fn new(config: SimConfig) -> Self {
        Sim {
            now: config.start,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            seq: 0,
            queue: BinaryHeap::new(),
            slots: Vec::new(),
            calls: Vec::new(),
            default_link: config.default_link,
            links: HashMap::new(),
            busy_until_us: HashMap::new(),
            partitions: Vec::new(),
            metrics: Metrics::default(),
            outbox: Vec::new(),
        }
    }

    /// Adds a node (online) and returns its index.
    pub fn add_node(&mut self, node: N) -> NodeIndex {
        let idx = NodeIndex(self.slots.len() as u32);
        self.slots.push(Slot {
            node,
            online: true,
            armed: None,
            generation: 0,
        });
        self.metrics.nodes.push(NodeMetrics::default());
        for p in &mut self.partitions {
            p.side.push(false);
        }
        self.rearm(idx);
        idx
    }

    /// Overrides the link from `from` to `to` (one direction).
    pub fn set_link(&mut self, from: NodeIndex, to: NodeIndex, link: LinkConfig) {
        self.links.insert((from, to), link);
    }

    /// Cuts every link between `side` and the other nodes during
    /// `[from, until)`; packets sent across the cut are dropped.
    ///
    /// ```
    /// # use status_core::Timestamp;
    /// # use status_sim::{Ctx, Node, NodeIndex};
    /// # use std::time::Duration;
    /// # /// Sends its peer a 100-byte packet every 100 ms, 10 times.
    /// # struct Ticker { peer: NodeIndex, next: Option<Timestamp>, left: u32 }
    /// # impl Ticker { fn new(peer: u32, start: Timestamp) -> Self { Ticker { peer: NodeIndex(peer), next: Some(start), left: 10 } } }
    /// # impl Node for Ticker {
    /// #     type Packet = Vec<u8>;
    /// #     fn handle_packet(&mut self, ctx: &mut Ctx<'_, Vec<u8>>, _: NodeIndex, _: Vec<u8>) {
    /// #         ctx.record_delivery(Duration::from_millis(0));
    /// #     }
    /// #     fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Vec<u8>>) {
    /// #         ctx.send(self.peer, vec![0; 100]);
    /// #         self.left -= 1;
    /// #         self.next = (self.left > 0).then(|| ctx.now().saturating_add(Duration::from_millis(100)));
    /// #     }
    /// #     fn poll_timeout(&self) -> Option<Timestamp> { self.next }
    /// #     fn packet_size(p: &Vec<u8>) -> usize { p.len() }
    /// # }
    /// # use status_sim::{Sim, SimConfig};
    /// let start = Timestamp::from_secs(1_700_000_000);
    /// let mut sim = Sim::new(SimConfig { start, ..SimConfig::default() });
    /// let a = sim.add_node(Ticker::new(1, start));
    /// let b = sim.add_node(Ticker::new(0, start));
    /// // the first half second of ticks (5 each way) cannot cross
    /// sim.partition(start, start.saturating_add(Duration::from_millis(450)), &[a]);
    /// sim.run_until_idle(start.saturating_add(Duration::from_secs(60)));
    /// let s = sim.summary();
    /// assert_eq!((s.packets_sent, s.packets_cut, s.packets_delivered), (20, 10, 10));
    /// assert_eq!(sim.metrics().links[&(a, b)].cut, 5);
    /// ```
    pub fn partition(&mut self, from: Timestamp, until: Timestamp, side: &[NodeIndex]) {
        let mut mask = vec![false; self.slots.len()];
        for n in side {
            if let Some(m) = mask.get_mut(n.0 as usize) {
                *m = true;
            }
        }
        self.partitions.push(Partition {
            from,
            until,
            side: mask,
        });
    }

    /// Takes `node` offline during `[from, until)`: it gets no packets or
    /// timeouts, and what reaches or leaves it is dropped (churn).
    ///
    /// ```
    /// # use status_core::Timestamp;
    /// # use status_sim::{Ctx, Node, NodeIndex};
    /// # use std::time::Duration;
    /// # /// Sends its peer a 100-byte packet every 100 ms, 10 times.
    /// # struct Ticker { peer: NodeIndex, next: Option<Timestamp>, left: u32 }
    /// # impl Ticker { fn new(peer: u32, start: Timestamp) -> Self { Ticker { peer: NodeIndex(peer), next: Some(start), left: 10 } } }
    /// # impl Node for Ticker {
    /// #     type Packet = Vec<u8>;
    /// #     fn handle_packet(&mut self, ctx: &mut Ctx<'_, Vec<u8>>, _: NodeIndex, _: Vec<u8>) {
    /// #         ctx.record_delivery(Duration::from_millis(0));
    /// #     }
    /// #     fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Vec<u8>>) {
    /// #         ctx.send(self.peer, vec![0; 100]);
    /// #         self.left -= 1;
    /// #         self.next = (self.left > 0).then(|| ctx.now().saturating_add(Duration::from_millis(100)));
    /// #     }
    /// #     fn poll_timeout(&self) -> Option<Timestamp> { self.next }
    /// #     fn packet_size(p: &Vec<u8>) -> usize { p.len() }
    /// # }
    /// # use status_sim::{Sim, SimConfig};
    /// let start = Timestamp::from_secs(1_700_000_000);
    /// let mut sim = Sim::new(SimConfig { start, ..SimConfig::default() });
    /// let a = sim.add_node(Ticker::new(1, start));
    /// let b = sim.add_node(Ticker::new(0, start));
    /// // b is away for the whole run: a's ten packets are dropped, b sends none
    /// sim.offline(b, start, start.saturating_add(Duration::from_secs(60)));
    /// sim.run_until_idle(start.saturating_add(Duration::from_secs(60)));
    /// assert_eq!(sim.metrics().nodes[b.0 as usize].packets_received, 0);
    /// assert_eq!(sim.metrics().links[&(a, b)].cut, 10);
    /// ```
    pub fn offline(&mut self, node: NodeIndex, from: Timestamp, until: Timestamp) {
        self.push(
            from,
            EventKind::SetOnline {
                node,
                online: false,
            },
        );
        self.push(until, EventKind::SetOnline { node, online: true });
    }

    /// Runs `f` on `node` at virtual time `at` (an application command
    /// such as "send a message").
    ///
    /// ```
    /// # use status_core::Timestamp;
    /// # use status_sim::{Ctx, Node, NodeIndex};
    /// # use std::time::Duration;
    /// # /// Sends its peer a 100-byte packet every 100 ms, 10 times.
    /// # struct Ticker { peer: NodeIndex, next: Option<Timestamp>, left: u32 }
    /// # impl Ticker { fn new(peer: u32, start: Timestamp) -> Self { Ticker { peer: NodeIndex(peer), next: Some(start), left: 10 } } }
    /// # impl Node for Ticker {
    /// #     type Packet = Vec<u8>;
    /// #     fn handle_packet(&mut self, ctx: &mut Ctx<'_, Vec<u8>>, _: NodeIndex, _: Vec<u8>) {
    /// #         ctx.record_delivery(Duration::from_millis(0));
    /// #     }
    /// #     fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Vec<u8>>) {
    /// #         ctx.send(self.peer, vec![0; 100]);
    /// #         self.left -= 1;
    /// #         self.next = (self.left > 0).then(|| ctx.now().saturating_add(Duration::from_millis(100)));
    /// #     }
    /// #     fn poll_timeout(&self) -> Option<Timestamp> { self.next }
    /// #     fn packet_size(p: &Vec<u8>) -> usize { p.len() }
    /// # }
    /// # use status_sim::{Sim, SimConfig};
    /// let start = Timestamp::from_secs(1_700_000_000);
    /// let mut sim = Sim::new(SimConfig { start, ..SimConfig::default() });
    /// let a = sim.add_node(Ticker::new(1, start));
    /// let b = sim.add_node(Ticker::new(0, start));
    /// // at t = 5 s, a sends one extra packet of 1 KiB
    /// let later = start.saturating_add(Duration::from_secs(5));
    /// sim.schedule(later, a, move |_, ctx| ctx.send(b, vec![0; 1024]));
    /// sim.run_until_idle(start.saturating_add(Duration::from_secs(60)));
    /// assert_eq!(sim.metrics().nodes[a.0 as usize].packets_sent, 11);
    /// assert_eq!(sim.metrics().nodes[b.0 as usize].bytes_received, 10 * 100 + 1024);
    /// // the default link is a clean 50 ms one
    /// assert_eq!(sim.now(), later.saturating_add(Duration::from_millis(50)));
    /// ```
    pub fn schedule(
        &mut self,
        at: Timestamp,
        node: NodeIndex,
        f: impl FnOnce(&mut N, &mut Ctx<'_, N::Packet>) + 'static,
    ) {
        let slot = self.calls.len();
        self.calls.push(Some(Box::new(f)));
        self.push(at, EventKind::Call { node, slot });
    }

    /// Runs `f` on `node` now and sends what it produced.
    pub fn with_node<R>(
        &mut self,
        node: NodeIndex,
        f: impl FnOnce(&mut N, &mut Ctx<'_, N::Packet>) -> R,
    ) -> Option<R> {
        let now = self.now;
        let slot = self.slots.get_mut(node.0 as usize)?;
        let metrics = self.metrics.nodes.get_mut(node.0 as usize)?;
        let mut ctx = Ctx {
            now,
            me: node,
            outbox: &mut self.outbox,
            metrics,
        };
        let r = f(&mut slot.node, &mut ctx);
        self.flush(node);
        self.rearm(node);
        Some(r)
    }

    /// Virtual time now.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The node at `idx`.
    pub fn node(&self, idx: NodeIndex) -> Option<&N> {
        self.slots.get(idx.0 as usize).map(|s| &s.node)
    }

    /// The node at `idx`, mutably (changes made here do not re-arm its
    /// timer; prefer [`with_node`](Self::with_node)).
    pub fn node_mut(&mut self, idx: NodeIndex) -> Option<&mut N> {
        self.slots.get_mut(idx.0 as usize).map(|s| &mut s.node)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Everything measured so far.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Totals so far.
    pub fn summary(&self) -> Summary {
        self.metrics.summary(self.now.as_millis())
    }

    /// Metrics as one JSON document.
    pub fn to_json(&self) -> String {
        self.metrics.to_json(self.now.as_millis())
    }

    /// Metrics as CSV (nodes, blank line, links).
    pub fn to_csv(&self) -> String {
        self.metrics.to_csv()
    }

    /// Processes the next event; `false` when none is left.
    pub fn step(&mut self) -> bool {
        let Some(ev) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(ev.at);
        // Loss reports are bookkeeping of the link, not events of the run:
        // they do not change the counts of runs without stream nodes.
        if !matches!(ev.kind, EventKind::Lost { .. }) {
            self.metrics.events += 1;
        }
        match ev.kind {
            EventKind::Lost { from, to, packet } => {
                if self.online(from) {
                    self.call(from, |n, ctx| n.handle_lost(ctx, to, packet));
                }
            }
            EventKind::Deliver {
                from,
                to,
                packet,
                sent,
            } => self.deliver(from, to, packet, sent),
            EventKind::Timer { node, generation } => {
                let Some(slot) = self.slots.get_mut(node.0 as usize) else {
                    return true;
                };
                if slot.generation != generation || !slot.online {
                    return true;
                }
                slot.armed = None;
                self.call(node, |n, ctx| n.handle_timeout(ctx));
            }
            EventKind::Call { node, slot } => {
                if let Some(f) = self.calls.get_mut(slot).and_then(Option::take) {
                    self.call(node, f);
                }
            }
            EventKind::SetOnline { node, online } => {
                if let Some(slot) = self.slots.get_mut(node.0 as usize) {
                    slot.online = online;
                    slot.armed = None;
                    slot.generation += 1;
                }
                if online {
                    self.rearm(node);
                }
            }
        }
        true
    }

    /// Runs every event up to and including time `until`, then sets the
    /// clock to `until`.
    pub fn run_until(&mut self, until: Timestamp) {
        while self.queue.peek().is_some_and(|e| e.at <= until) {
            self.step();
        }
        self.now = self.now.max(until);
    }

    /// Runs until no event is left or the next one is after `deadline`;
    /// returns `true` if the simulation went idle.
    pub fn run_until_idle(&mut self, deadline: Timestamp) -> bool {
        while let Some(e) = self.queue.peek() {
            if e.at > deadline {
                return false;
            }
            self.step();
        }
        true
    }

    fn push(&mut self, at: Timestamp, kind: EventKind<N::Packet>) {
        self.seq += 1;
        self.queue.push(Event {
            at: at.max(self.now),
            seq: self.seq,
            kind,
        });
    }

    fn call(&mut self, node: NodeIndex, f: impl FnOnce(&mut N, &mut Ctx<'_, N::Packet>)) {
        let now = self.now;
        let (Some(slot), Some(metrics)) = (
            self.slots.get_mut(node.0 as usize),
            self.metrics.nodes.get_mut(node.0 as usize),
        ) else {
            return;
        };
        let mut ctx = Ctx {
            now,
            me: node,
            outbox: &mut self.outbox,
            metrics,
        };
        f(&mut slot.node, &mut ctx);
        self.flush(node);
        self.rearm(node);
    }

    fn rearm(&mut self, node: NodeIndex) {
        let Some(slot) = self.slots.get_mut(node.0 as usize) else {
            return;
        };
        if !slot.online {
            return;
        }
        let want = slot.node.poll_timeout().map(|t| t.max(self.now));
        if want == slot.armed {
            return;
        }
        slot.generation += 1;
        slot.armed = want;
        let generation = slot.generation;
        if let Some(at) = want {
            self.push(at, EventKind::Timer { node, generation });
        }
    }

    fn online(&self, n: NodeIndex) -> bool {
        self.slots.get(n.0 as usize).is_some_and(|s| s.online)
    }

    fn cut(&self, a: NodeIndex, b: NodeIndex) -> bool {
        let t = self.now;
        self.partitions.iter().any(|p| {
            t >= p.from
                && t < p.until
                && p.side.get(a.0 as usize).copied().unwrap_or(false)
                    != p.side.get(b.0 as usize).copied().unwrap_or(false)
        })
    }

    fn flush(&mut self, from: NodeIndex) {
        let mut outbox = std::mem::take(&mut self.outbox);
        for (to, packet) in outbox.drain(..) {
            self.transmit(from, to, packet);
        }
        self.outbox = outbox;
    }

    fn transmit(&mut self, from: NodeIndex, to: NodeIndex, packet: N::Packet) {
        let size = N::packet_size(&packet) as u64;
        if let Some(m) = self.metrics.nodes.get_mut(from.0 as usize) {
            m.packets_sent += 1;
            m.bytes_sent += size;
        }
        let cut = !self.online(from) || !self.online(to) || self.cut(from, to);
        let link = *self.links.get(&(from, to)).unwrap_or(&self.default_link);
        let lm = self.metrics.links.entry((from, to)).or_default();
        lm.packets_sent += 1;
        lm.bytes_sent += size;
        if cut {
            lm.cut += 1;
            self.push(self.now, EventKind::Lost { from, to, packet });
            return;
        }
        if chance(&mut self.rng, link.loss) {
            lm.lost += 1;
            self.push(self.now, EventKind::Lost { from, to, packet });
            return;
        }
        // Serialisation on a bandwidth-limited link, in microseconds.
        let now_us = self.now.as_millis().saturating_mul(1000);
        let depart_us = match link.bandwidth {
            Some(bps) if bps > 0 => {
                let busy = self.busy_until_us.entry((from, to)).or_insert(0);
                let start = (*busy).max(now_us);
                *busy = start + size.saturating_mul(1_000_000).div_ceil(bps);
                *busy
            }
            _ => now_us,
        };
        let depart_ms = depart_us.div_ceil(1000);
        let sent = self.now;
        if chance(&mut self.rng, link.duplicate) {
            lm.duplicated += 1;
            let at = Timestamp::from_millis(depart_ms + link.delay(&mut self.rng));
            let copy = packet.clone();
            self.push(
                at,
                EventKind::Deliver {
                    from,
                    to,
                    packet: copy,
                    sent,
                },
            );
        }
        let at = Timestamp::from_millis(depart_ms + link.delay(&mut self.rng));
        self.push(
            at,
            EventKind::Deliver {
                from,
                to,
                packet,
                sent,
            },
        );
    }

    fn deliver(&mut self, from: NodeIndex, to: NodeIndex, packet: N::Packet, sent: Timestamp) {
        let size = N::packet_size(&packet) as u64;
        let lm = self.metrics.links.entry((from, to)).or_default();
        if !self.slots.get(to.0 as usize).is_some_and(|s| s.online) {
            lm.cut += 1;
            self.push(self.now, EventKind::Lost { from, to, packet });
            return;
        }
        lm.packets_delivered += 1;
        lm.bytes_delivered += size;
        lm.transit_latency
            .record(self.now.as_millis().saturating_sub(sent.as_millis()));
        if let Some(m) = self.metrics.nodes.get_mut(to.0 as usize) {
            m.packets_received += 1;
            m.bytes_received += size;
        }
        self.call(to, |n, ctx| n.handle_packet(ctx, from, packet));
    }
}
