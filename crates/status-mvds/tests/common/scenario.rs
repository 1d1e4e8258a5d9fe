//! MVDS group scenarios on status-sim, shared by the simulation tests,
//! the `mvds-sim` example and the `mvds`/`sim` benches (included there
//! with `#[path]`): `groups` groups of `peers` nodes, `messages` messages
//! spread over the groups' members, lossy reordering links, an optional
//! partition that heals.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use status_core::Timestamp;
use status_mvds::{
    decode_payload, encode_payload, Backoff, Config, GroupId, MessageId, Mode, Mvds, Output,
};
use status_sim::{Ctx, Latency, LinkConfig, Node, NodeIndex, Sim, SimConfig};

/// One transmission of one record, for checking the back-off schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Send {
    pub peer: NodeIndex,
    pub kind: u8,
    pub id: MessageId,
    pub epoch: u64,
}

pub const OFFER: u8 = 0;
pub const REQUEST: u8 = 1;
pub const MESSAGE: u8 = 2;

/// An MVDS node as a status-sim node: packets are encoded payloads.
pub struct MvdsNode {
    pub mvds: Mvds<NodeIndex>,
    /// Times each message id was received (delivered to the application).
    pub received: HashMap<MessageId, u32>,
    pub delivered_acks: u64,
    pub decode_errors: u64,
    /// Every record transmission, when logging is on.
    pub sends: Option<Vec<Send>>,
    buf: Vec<u8>,
}

impl MvdsNode {
    pub fn new(config: Config, now: Timestamp, log_sends: bool) -> Self {
        MvdsNode {
            mvds: Mvds::new(config, now),
            received: HashMap::new(),
            delivered_acks: 0,
            decode_errors: 0,
            sends: log_sends.then(Vec::new),
            buf: Vec::new(),
        }
    }

    pub fn drain(&mut self, ctx: &mut Ctx<'_, Vec<u8>>) {
        let epoch = self.mvds.epoch_at(ctx.now());
        while let Some(out) = self.mvds.poll_output() {
            match out {
                Output::Transmit { peer, payload } => {
                    if let Some(log) = &mut self.sends {
                        let ids = |v: &Vec<Vec<u8>>, kind| {
                            v.iter()
                                .map(|b| Send {
                                    peer,
                                    kind,
                                    id: MessageId::from_slice(b).unwrap(),
                                    epoch,
                                })
                                .collect::<Vec<_>>()
                        };
                        log.extend(ids(&payload.offers, OFFER));
                        log.extend(ids(&payload.requests, REQUEST));
                        log.extend(payload.messages.iter().map(|m| Send {
                            peer,
                            kind: MESSAGE,
                            id: MessageId::of(m),
                            epoch,
                        }));
                    }
                    self.buf.clear();
                    encode_payload(&payload, &mut self.buf);
                    ctx.send(peer, self.buf.clone());
                }
                Output::Received { id, message, .. } => {
                    let n = self.received.entry(id).or_insert(0);
                    *n += 1;
                    let sent = message
                        .body
                        .get(..8)
                        .and_then(|b| <[u8; 8]>::try_from(b).ok())
                        .map(u64::from_le_bytes)
                        .unwrap_or(0);
                    ctx.record_delivery(Duration::from_millis(
                        ctx.now().as_millis().saturating_sub(sent),
                    ));
                }
                Output::Delivered { .. } => self.delivered_acks += 1,
            }
        }
    }
}

impl Node for MvdsNode {
    type Packet = Vec<u8>;

    fn handle_packet(&mut self, ctx: &mut Ctx<'_, Vec<u8>>, from: NodeIndex, packet: Vec<u8>) {
        let max = self.mvds.config().max_payload_records;
        match decode_payload(&packet, max) {
            Ok(p) => {
                if self.mvds.handle_payload(ctx.now(), &from, p).is_err() {
                    self.decode_errors += 1;
                }
            }
            Err(_) => self.decode_errors += 1,
        }
        self.drain(ctx);
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Vec<u8>>) {
        self.mvds.handle_timeout(ctx.now());
        self.drain(ctx);
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        self.mvds.poll_timeout().map(|(t, _)| t)
    }

    fn packet_size(packet: &Vec<u8>) -> usize {
        packet.len()
    }
}

/// A group scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub mode: Mode,
    pub groups: usize,
    /// Nodes per group; each message goes to the other `peers - 1`.
    pub peers: usize,
    /// Messages in all, sent round-robin by the nodes.
    pub messages: usize,
    /// One message every this many ms (over the whole network).
    pub interval_ms: u64,
    pub body_size: usize,
    pub loss: f64,
    pub reorder: f64,
    pub duplicate: f64,
    pub latency: Latency,
    /// Cut the first half of every group from the rest during
    /// `[start + from, start + until)` ms.
    pub partition: Option<(u64, u64)>,
    pub epoch_ms: u64,
    pub backoff: Backoff,
    pub seed: u64,
    pub log_sends: bool,
    /// Give up after this much virtual time, ms.
    pub horizon_ms: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            mode: Mode::Batch,
            groups: 1,
            peers: 10,
            messages: 100,
            interval_ms: 50,
            body_size: 100,
            loss: 0.0,
            reorder: 0.0,
            duplicate: 0.0,
            latency: Latency::Uniform { min: 20, max: 120 },
            partition: None,
            epoch_ms: 300,
            // 2 epochs (600 ms) doubling to 64 epochs (19.2 s): short
            // enough for simulations to finish in few virtual minutes.
            backoff: Backoff { base: 2, max: 64 },
            seed: 1,
            log_sends: false,
            horizon_ms: 24 * 3600 * 1000,
        }
    }
}

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub expected: u64,
    /// Distinct (node, message) deliveries.
    pub delivered: u64,
    /// Deliveries beyond the first of a (node, message).
    pub duplicates_delivered: u64,
    pub payloads_sent: u64,
    pub bytes_sent: u64,
    pub latency_p50_ms: u64,
    pub latency_p99_ms: u64,
    pub retransmissions: u64,
    pub in_flight_left: usize,
    pub decode_errors: u64,
    pub idle: bool,
    pub virtual_ms: u64,
    pub events: u64,
}

impl Outcome {
    pub fn delivered_ratio(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.delivered as f64 / self.expected as f64
        }
    }
}

pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Batch => "batch",
        Mode::Interactive => "interactive",
    }
}

/// Builds the simulation and schedules every send.
pub fn build(s: &Scenario) -> Sim<MvdsNode> {
    let link = LinkConfig {
        latency: s.latency,
        loss: s.loss,
        duplicate: s.duplicate,
        reorder: s.reorder,
        reorder_delay: 500,
        bandwidth: None,
    };
    let sim_config = SimConfig {
        seed: s.seed,
        default_link: link,
        ..SimConfig::default()
    };
    let start = sim_config.start;
    let mut sim = Sim::new(sim_config);
    let config = Config {
        mode: s.mode,
        epoch: Duration::from_millis(s.epoch_ms),
        backoff: s.backoff,
        ..Config::default()
    };
    let mut members: Vec<Vec<NodeIndex>> = Vec::new();
    for _ in 0..s.groups {
        members.push(
            (0..s.peers)
                .map(|_| sim.add_node(MvdsNode::new(config.clone(), start, s.log_sends)))
                .collect(),
        );
    }
    if let Some((from, until)) = s.partition {
        let side: Vec<NodeIndex> = members
            .iter()
            .flat_map(|g| g[..g.len() / 2].iter().copied())
            .collect();
        sim.partition(
            Timestamp::from_millis(start.as_millis() + from),
            Timestamp::from_millis(start.as_millis() + until),
            &side,
        );
    }
    let total = s.groups * s.peers;
    for k in 0..s.messages {
        let sender = k % total;
        let (g, i) = (sender / s.peers, sender % s.peers);
        let me = members[g][i];
        let others: Vec<NodeIndex> = members[g].iter().copied().filter(|n| *n != me).collect();
        let mut gid = [0u8; 32];
        gid[..8].copy_from_slice(&(g as u64).to_le_bytes());
        let at = Timestamp::from_millis(start.as_millis() + 1 + k as u64 * s.interval_ms);
        let body_size = s.body_size.max(16);
        sim.schedule(at, me, move |node, ctx| {
            let mut body = vec![0u8; body_size];
            body[..8].copy_from_slice(&ctx.now().as_millis().to_le_bytes());
            body[8..16].copy_from_slice(&(k as u64).to_le_bytes());
            node.mvds
                .send(ctx.now(), GroupId(gid), &others, body)
                .expect("in-flight bound");
            node.drain(ctx);
        });
    }
    sim
}

/// Runs the scenario to quiescence (or the horizon) and measures it.
pub fn run(s: &Scenario) -> (Outcome, Sim<MvdsNode>) {
    let mut sim = build(s);
    let deadline = Timestamp::from_millis(sim.now().as_millis() + s.horizon_ms);
    let idle = sim.run_until_idle(deadline);
    let out = outcome(s, &sim, idle);
    (out, sim)
}

pub fn outcome(s: &Scenario, sim: &Sim<MvdsNode>, idle: bool) -> Outcome {
    let summary = sim.summary();
    let lat = sim.metrics().delivery_latency();
    let mut o = Outcome {
        expected: (s.messages * (s.peers - 1)) as u64,
        payloads_sent: summary.packets_sent,
        bytes_sent: summary.bytes_sent,
        latency_p50_ms: lat.quantile(0.5),
        latency_p99_ms: lat.quantile(0.99),
        idle,
        virtual_ms: summary.end_time_ms - SimConfig::default().start.as_millis(),
        events: summary.events,
        ..Outcome::default()
    };
    for i in 0..sim.len() {
        let n = sim.node(NodeIndex(i as u32)).expect("node");
        o.delivered += n.received.len() as u64;
        o.duplicates_delivered += n.received.values().map(|c| u64::from(c - 1)).sum::<u64>();
        o.retransmissions += n.mvds.stats().retransmissions;
        o.in_flight_left += n.mvds.in_flight();
        o.decode_errors += n.decode_errors;
    }
    o
}
