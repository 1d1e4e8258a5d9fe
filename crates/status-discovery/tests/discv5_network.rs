//! A deterministic in-memory discv5 network of 200 nodes: every datagram
//! goes through the real packet codec, handshakes and sessions; time is
//! virtual (10 ms links), randomness seeded.
//!
//! - lookups converge to the k closest nodes (compared with the true k
//!   closest of the whole network);
//! - a node that leaves is evicted from every table by liveness checks;
//! - mean lookup hops and messages per lookup are printed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::time::Duration;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use status_core::{SecretKey, Timestamp};
use status_discovery::discv5::distance::cmp_distance;
use status_discovery::discv5::{Config, Discv5, Event, LookupStats};
use status_discovery::{Enr, NodeId};

const N: usize = 200;
const K: usize = 16;
const LATENCY: Duration = Duration::from_millis(10);

/// A datagram on a link: (deliver at, sequence, from, to index, bytes).
type InFlight = (Timestamp, u64, SocketAddr, usize, Vec<u8>);

struct Net {
    nodes: Vec<Discv5>,
    enrs: Vec<Enr>,
    addrs: BTreeMap<SocketAddr, usize>,
    alive: Vec<bool>,
    queue: BinaryHeap<Reverse<InFlight>>,
    wake: Vec<Timestamp>,
    seq: u64,
    now: Timestamp,
    finished: Vec<(usize, NodeId, Vec<Enr>, LookupStats)>,
}

impl Net {
    fn new(seed: u64, liveness_interval: Duration) -> Net {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let now = Timestamp::from_secs(1_700_000_000);
        let config = Config {
            liveness_interval,
            refresh_interval: None,
            ..Config::default()
        };
        let mut nodes = Vec::new();
        let mut enrs = Vec::new();
        let mut addrs = BTreeMap::new();
        for i in 0..N {
            let key = SecretKey::random(&mut rng);
            let port = 20_000 + i as u16;
            let enr = Enr::builder()
                .ip4([10, 0, (i / 250) as u8, (i % 250) as u8 + 1].into())
                .udp(port)
                .sign(&key)
                .unwrap();
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            addrs.insert(enr.udp_socket().unwrap(), i);
            nodes.push(Discv5::new(key, enr.clone(), config.clone(), seed, now).unwrap());
            enrs.push(enr);
        }
        let wake = nodes
            .iter()
            .map(|n| {
                n.poll_timeout()
                    .map_or(Timestamp::from_millis(u64::MAX), |t| t.0)
            })
            .collect();
        Net {
            nodes,
            enrs,
            addrs,
            alive: vec![true; N],
            queue: BinaryHeap::new(),
            wake,
            seq: 0,
            now,
            finished: Vec::new(),
        }
    }

    /// Moves node `i`'s transmits onto the links and its events aside.
    fn drain(&mut self, i: usize) {
        let from = self.enrs[i].udp_socket().unwrap();
        while let Some(t) = self.nodes[i].poll_transmit() {
            if let Some(&to) = self.addrs.get(&t.to) {
                self.seq += 1;
                self.queue.push(Reverse((
                    self.now + LATENCY,
                    self.seq,
                    from,
                    to,
                    t.datagram,
                )));
            }
        }
        while let Some(e) = self.nodes[i].poll_event() {
            if let Event::LookupFinished {
                target,
                closest,
                stats,
                ..
            } = e
            {
                self.finished.push((i, target, closest, stats));
            }
        }
        self.wake[i] = self.nodes[i]
            .poll_timeout()
            .map_or(Timestamp::from_millis(u64::MAX), |t| t.0);
    }

    /// Runs the network until `until`.
    fn run_until(&mut self, until: Timestamp) {
        loop {
            let next_packet = self.queue.peek().map(|Reverse(p)| p.0);
            let next_wake = self
                .wake
                .iter()
                .enumerate()
                .filter(|(i, _)| self.alive[*i])
                .map(|(_, w)| *w)
                .min();
            let next = match (next_packet, next_wake) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(until),
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(next);
            while self.queue.peek().is_some_and(|Reverse(p)| p.0 <= self.now) {
                let Some(Reverse((_, _, from, to, data))) = self.queue.pop() else {
                    break;
                };
                if !self.alive[to] {
                    continue;
                }
                // Errors are dropped datagrams (late responses etc.).
                let _ = self.nodes[to].handle_input(self.now, from, &data);
                self.drain(to);
            }
            for i in 0..N {
                if self.alive[i] && self.wake[i] <= self.now {
                    self.nodes[i].handle_timeout(self.now);
                    self.drain(i);
                }
            }
        }
    }

    fn true_closest(&self, target: &NodeId, except: usize) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = (0..N)
            .filter(|&j| j != except && self.alive[j])
            .map(|j| self.enrs[j].node_id())
            .collect();
        ids.sort_by(|a, b| cmp_distance(target, a, b));
        ids.truncate(K);
        ids
    }
}

fn random_id(rng: &mut ChaCha20Rng) -> NodeId {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    NodeId(b)
}

fn bootstrap(net: &mut Net, rng: &mut ChaCha20Rng) {
    // Everyone knows node 0 and two random earlier nodes.
    for i in 1..N {
        let now = net.now;
        let boot = net.enrs[0].clone();
        net.nodes[i].add_node(now, boot);
        for _ in 0..2 {
            let j = (rng.next_u32() as usize) % i;
            let e = net.enrs[j].clone();
            net.nodes[i].add_node(now, e);
        }
        net.drain(i);
    }
    net.run_until(net.now + Duration::from_secs(2));
    // Self-lookups, two random lookups each, and a self-lookup again once
    // the tables have filled (what the periodic refresh would do).
    for round in 0..4 {
        for i in 0..N {
            let target = if round == 0 || round == 3 {
                net.nodes[i].local_id()
            } else {
                random_id(rng)
            };
            let now = net.now;
            net.nodes[i].lookup(now, target).unwrap();
            net.drain(i);
        }
        net.run_until(net.now + Duration::from_secs(10));
    }
    net.finished.clear();
}

#[test]
fn lookups_converge_to_the_k_closest_nodes() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut net = Net::new(1, Duration::from_secs(10));
    bootstrap(&mut net, &mut rng);
    let mean_table = net.nodes.iter().map(Discv5::table_len).sum::<usize>() as f64 / N as f64;

    let lookups = 100;
    for _ in 0..lookups {
        let i = (rng.next_u32() as usize) % N;
        let target = random_id(&mut rng);
        let now = net.now;
        net.nodes[i].lookup(now, target).unwrap();
        net.drain(i);
        net.run_until(net.now + Duration::from_secs(3));
    }
    assert_eq!(net.finished.len(), lookups, "every lookup finished");
    let mut exact = 0;
    let mut hops = 0u64;
    let mut messages = 0u64;
    for (i, target, closest, stats) in &net.finished {
        let got: Vec<NodeId> = closest.iter().map(Enr::node_id).collect();
        let want = net.true_closest(target, *i);
        if got == want {
            exact += 1;
        } else {
            let missing: Vec<usize> = want
                .iter()
                .filter(|w| !got.contains(w))
                .map(|w| (0..N).find(|&j| net.enrs[j].node_id() == *w).unwrap())
                .collect();
            let held: Vec<usize> = missing
                .iter()
                .map(|&m| {
                    let id = net.enrs[m].node_id();
                    net.nodes
                        .iter()
                        .filter(|n| n.table_entries().any(|(e, v)| v && e.node_id() == id))
                        .count()
                })
                .collect();
            for &m in &missing {
                let mid = net.enrs[m].node_id();
                for g in &got {
                    let q = (0..N).find(|&j| net.enrs[j].node_id() == *g).unwrap();
                    let has = net.nodes[q]
                        .table_entries()
                        .find(|(e, _)| e.node_id() == mid)
                        .map(|(_, v)| v);
                    let d = status_discovery::discv5::distance::log2_distance(g, target);
                    let dm = status_discovery::discv5::distance::log2_distance(g, &mid);
                    let bucket = net.nodes[q]
                        .table_entries()
                        .filter(|(e, v)| {
                            *v && status_discovery::discv5::distance::log2_distance(g, &e.node_id())
                                == d
                        })
                        .count();
                    println!("  missing {m} vs result node {q}: d(q,T)={d} d(q,m)={dm} in table {has:?}, bucket d verified {bucket}");
                }
            }
            println!(
                "lookup from {i}: got {} of {K}, missing {missing:?} (verified in {held:?} tables), {stats:?}",
                got.len()
            );
        }
        hops += u64::from(stats.hops);
        messages += u64::from(stats.requests + stats.responses);
    }
    println!(
        "discv5 network: {N} nodes, mean table size {mean_table:.1}, {lookups} lookups: \
         {exact} exact, mean hops {:.2}, mean messages per lookup {:.1} \
         (FINDNODE + NODES)",
        hops as f64 / lookups as f64,
        messages as f64 / lookups as f64,
    );
    assert_eq!(
        exact, lookups,
        "every lookup found exactly the k closest nodes"
    );
}

#[test]
fn a_node_that_leaves_is_evicted() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut net = Net::new(2, Duration::from_secs(1));
    bootstrap(&mut net, &mut rng);
    // The node most others know.
    let leaver = (0..N)
        .max_by_key(|&x| {
            let id = net.enrs[x].node_id();
            net.nodes.iter().filter(|n| n.contains(&id)).count()
        })
        .unwrap();
    let id = net.enrs[leaver].node_id();
    let holders = net.nodes.iter().filter(|n| n.contains(&id)).count();
    assert!(holders > 20, "only {holders} tables hold the leaver");
    net.alive[leaver] = false;

    // Liveness checks run every second on the stalest entry; tables hold
    // well under 200 entries, so 200 s lets every table check everyone.
    net.run_until(net.now + Duration::from_secs(200));
    let still = net
        .nodes
        .iter()
        .enumerate()
        .filter(|(j, n)| *j != leaver && n.contains(&id))
        .count();
    println!("leaver was in {holders} tables, still in {still} after 200 s");
    assert_eq!(still, 0, "the node that left was evicted everywhere");

    // And lookups for it no longer return it.
    let now = net.now;
    net.nodes[(leaver + 1) % N].lookup(now, id).unwrap();
    net.drain((leaver + 1) % N);
    net.run_until(net.now + Duration::from_secs(5));
    let (_, _, closest, _) = net.finished.last().unwrap();
    assert!(closest.iter().all(|e| e.node_id() != id));
    assert_eq!(
        closest.iter().map(Enr::node_id).collect::<Vec<_>>(),
        net.true_closest(&id, (leaver + 1) % N)
    );
}
