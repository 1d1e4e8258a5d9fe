//! Iterative node lookup (discv5-theory "Lookup" and "Lookup Protocol"):
//! ask the α closest unqueried nodes among the k closest seen, with
//! FINDNODE at the log-distance of the target from the queried node (and
//! its neighbours), until the k closest seen have all answered or failed.

use super::distance::{cmp_distance, log2_distance};
use crate::enr::{Enr, NodeId};

/// Handle of a lookup started with [`Discv5::lookup`](super::Discv5::lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(pub u64);

/// What a finished lookup cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LookupStats {
    /// Longest chain of "learned from" among the nodes that answered:
    /// nodes from our own table are hop 1.
    pub hops: u32,
    /// FINDNODE requests sent.
    pub requests: u32,
    /// NODES messages received.
    pub responses: u32,
    /// Requests that timed out or failed.
    pub failures: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    NotQueried,
    InFlight,
    Responded,
    Failed,
}

#[derive(Debug, Clone)]
struct Candidate {
    enr: Enr,
    id: NodeId,
    state: State,
    hop: u32,
    /// Distances of the first query, and whether the follow-up was sent.
    distances: Vec<u16>,
    followed_up: bool,
}

/// One lookup in progress. Bounded: keeps at most `max_candidates` seen
/// nodes, the closest ones.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    pub target: NodeId,
    /// Whether the application asked for it (emit an event) or the table
    /// refresh did.
    pub internal: bool,
    candidates: Vec<Candidate>,
    k: usize,
    alpha: usize,
    max_candidates: usize,
    pub stats: LookupStats,
}

impl Lookup {
    pub fn new(target: NodeId, seeds: Vec<Enr>, k: usize, alpha: usize, internal: bool) -> Lookup {
        let mut l = Lookup {
            target,
            internal,
            candidates: Vec::new(),
            k: k.max(1),
            alpha: alpha.max(1),
            max_candidates: 4 * k.max(1),
            stats: LookupStats::default(),
        };
        for s in seeds {
            l.add(s, 1);
        }
        l
    }

    fn add(&mut self, enr: Enr, hop: u32) {
        let id = enr.node_id();
        if self.candidates.iter().any(|c| c.id == id) {
            return;
        }
        let pos = self
            .candidates
            .partition_point(|c| cmp_distance(&self.target, &c.id, &id).is_lt());
        if pos >= self.max_candidates {
            return;
        }
        self.candidates.insert(
            pos,
            Candidate {
                enr,
                id,
                state: State::NotQueried,
                hop,
                distances: Vec::new(),
                followed_up: false,
            },
        );
        // Drop the farthest non-in-flight candidates beyond the bound.
        while self.candidates.len() > self.max_candidates {
            match self
                .candidates
                .iter()
                .rposition(|c| c.state != State::InFlight)
            {
                Some(i) => {
                    self.candidates.remove(i);
                }
                None => break,
            }
        }
    }

    /// The nodes to query now (marked in flight), with the distances to
    /// ask each for.
    pub fn next_queries(&mut self) -> Vec<(Enr, Vec<u16>)> {
        let mut in_flight = self
            .candidates
            .iter()
            .filter(|c| c.state == State::InFlight)
            .count();
        let mut out = Vec::new();
        let mut live_seen = 0;
        for c in self.candidates.iter_mut() {
            if live_seen >= self.k || in_flight >= self.alpha {
                break;
            }
            match c.state {
                State::Failed => continue,
                State::NotQueried => {
                    c.state = State::InFlight;
                    in_flight += 1;
                    self.stats.requests += 1;
                    c.distances = lookup_distances(&self.target, &c.id);
                    out.push((c.enr.clone(), c.distances.clone()));
                }
                State::InFlight | State::Responded => {}
            }
            live_seen += 1;
        }
        out
    }

    /// `from` answered with `enrs` (already verified). `full` means the
    /// answer hit the responder's record limit, so the later distances may
    /// have been cut: then the first time this returns the distances to
    /// ask again, farther-but-cut ones first (discv5-theory "Lookup
    /// Protocol": "A varies the distance to retrieve more nodes from
    /// adjacent k-buckets"), and the node stays in flight.
    pub fn on_response(
        &mut self,
        from: &NodeId,
        enrs: Vec<Enr>,
        messages: u32,
        full: bool,
    ) -> Option<(Enr, Vec<u16>)> {
        self.stats.responses += messages;
        let mut hop = 1;
        let mut follow_up = None;
        if let Some(c) = self.candidates.iter_mut().find(|c| c.id == *from) {
            hop = c.hop;
            self.stats.hops = self.stats.hops.max(hop);
            if full && !c.followed_up && c.distances.len() > 1 {
                c.followed_up = true;
                self.stats.requests += 1;
                let again: Vec<u16> = c.distances[1..].iter().rev().copied().collect();
                follow_up = Some((c.enr.clone(), again));
            } else {
                c.state = State::Responded;
            }
        }
        for e in enrs {
            self.add(e, hop + 1);
        }
        follow_up
    }

    /// The follow-up query to `from` could not be sent: count the first
    /// answer.
    pub fn follow_up_failed(&mut self, from: &NodeId) {
        if let Some(c) = self.candidates.iter_mut().find(|c| c.id == *from) {
            c.state = State::Responded;
        }
    }

    /// The request to `from` failed.
    pub fn on_failure(&mut self, from: &NodeId) {
        self.stats.failures += 1;
        if let Some(c) = self.candidates.iter_mut().find(|c| c.id == *from) {
            // A failed follow-up still leaves the first answer.
            c.state = if c.followed_up {
                State::Responded
            } else {
                State::Failed
            };
        }
    }

    /// Finished: nothing in flight and every one of the k closest live
    /// candidates has answered.
    pub fn is_finished(&self) -> bool {
        let mut live = 0;
        for c in &self.candidates {
            if live >= self.k {
                break;
            }
            match c.state {
                State::Failed => continue,
                State::NotQueried | State::InFlight => return false,
                State::Responded => live += 1,
            }
        }
        !self.candidates.iter().any(|c| c.state == State::InFlight)
    }

    /// The k closest nodes that answered.
    pub fn result(&self) -> Vec<Enr> {
        self.candidates
            .iter()
            .filter(|c| c.state == State::Responded)
            .take(self.k)
            .map(|c| c.enr.clone())
            .collect()
    }
}

/// `d = logdistance(target, node)` first, then neighbours in order of
/// closeness to the target: the node's buckets below `d` hold nodes closer
/// to the target than those above `d`, so `d - 1` comes before `d + 1`.
/// Three distances, so that sparse buckets still return something.
pub(crate) fn lookup_distances(target: &NodeId, node: &NodeId) -> Vec<u16> {
    let td = log2_distance(target, node);
    let mut out = vec![td];
    if td > 1 {
        out.push(td - 1);
    }
    let mut up = td + 1;
    while out.len() < 3 && up <= 256 {
        out.push(up);
        up += 1;
    }
    if out.len() < 3 && td > 2 {
        out.push(td - 2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_stay_in_range() {
        let a = NodeId([0; 32]);
        let mut b = [0u8; 32];
        b[0] = 0x80;
        assert_eq!(lookup_distances(&a, &NodeId(b)), vec![256, 255, 254]);
        b[0] = 0x01;
        assert_eq!(lookup_distances(&a, &NodeId(b)), vec![249, 248, 250]);
        assert_eq!(lookup_distances(&a, &a), vec![0, 1, 2]);
        b[0] = 0;
        b[31] = 1;
        assert_eq!(lookup_distances(&a, &NodeId(b)), vec![1, 2, 3]);
    }
}
