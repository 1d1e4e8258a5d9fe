//! A deterministic in-memory network of Waku machines: links carry packets
//! instantly, a virtual clock advances by hand (the quinn-proto `Pair`
//! idea, for many nodes).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use status_core::{NodeId, Timestamp};
use status_waku::node::{Event, Transmit, Waku};
use status_waku::peer::{PeerId, Protocol};
use status_waku::WakuConfig;

pub const T0: u64 = 1_700_000_000;

pub struct Net {
    pub nodes: Vec<Waku>,
    /// (node, its peer id) -> (node, its peer id) for each direction.
    links: Vec<((usize, PeerId), (usize, PeerId))>,
    pub now: Timestamp,
    pub events: Vec<Vec<Event>>,
    /// Messages packets delivered to each node.
    pub messages_packets: Vec<u64>,
    queue: VecDeque<(usize, Transmit)>,
}

impl Net {
    pub fn new(configs: Vec<WakuConfig>) -> Net {
        let now = Timestamp::from_secs(T0);
        let n = configs.len();
        Net {
            nodes: configs.into_iter().map(|c| Waku::new(c, now)).collect(),
            links: Vec::new(),
            now,
            events: vec![Vec::new(); n],
            messages_packets: vec![0; n],
            queue: VecDeque::new(),
        }
    }

    pub fn node_id(i: usize) -> NodeId {
        NodeId([i as u8 + 1; 64])
    }

    /// Connects `a` and `b` over `protocol`.
    pub fn link(&mut self, a: usize, b: usize, protocol: Protocol) {
        let now = self.now;
        let pa = self.nodes[a].add_peer(now, Self::node_id(b), None, protocol);
        let pb = self.nodes[b].add_peer(now, Self::node_id(a), None, protocol);
        self.links.push(((a, pa), (b, pb)));
        self.links.push(((b, pb), (a, pa)));
    }

    /// The peer id node `a` uses for node `b`.
    pub fn peer_of(&self, a: usize, b: usize) -> PeerId {
        self.links
            .iter()
            .find(|((x, _), (y, _))| *x == a && *y == b)
            .map(|((_, p), _)| *p)
            .expect("no such link")
    }

    fn route(&self, from: usize, peer: PeerId) -> Option<(usize, PeerId)> {
        self.links
            .iter()
            .find(|((n, p), _)| *n == from && *p == peer)
            .map(|(_, to)| *to)
    }

    /// Delivers packets until every node is quiet; returns how many.
    pub fn settle(&mut self) -> usize {
        let mut delivered = 0;
        loop {
            for i in 0..self.nodes.len() {
                while let Some(t) = self.nodes[i].poll_transmit() {
                    self.queue.push_back((i, t));
                }
                while let Some(e) = self.nodes[i].poll_event() {
                    self.events[i].push(e);
                }
            }
            let Some((from, t)) = self.queue.pop_front() else {
                return delivered;
            };
            if let Some((to, peer)) = self.route(from, t.peer) {
                if t.code == 1 {
                    self.messages_packets[to] += 1;
                }
                // Errors drop the peer inside the machine; tests look at events.
                let _ = self.nodes[to].handle_input(self.now, peer, t.code, t.payload);
                delivered += 1;
            }
        }
    }

    /// Advances the clock by `d`, fires due timers, and settles.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now.saturating_add(d);
        for n in &mut self.nodes {
            if n.poll_timeout().is_some_and(|(t, _)| t <= self.now) {
                n.handle_timeout(self.now);
            }
        }
        self.settle();
    }

    /// Runs transmission cycles until nothing moves.
    pub fn run(&mut self) {
        self.settle();
        for _ in 0..50 {
            self.advance(Duration::from_millis(300));
            if self.queue.is_empty()
                && self
                    .nodes
                    .iter()
                    .all(|n| n.poll_timeout().is_none_or(|(_, why)| why != "transmit"))
            {
                return;
            }
        }
    }
}
