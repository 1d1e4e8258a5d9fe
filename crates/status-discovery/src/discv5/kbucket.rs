//! The node table (discv5-theory "Node Table" and "Table Maintenance In
//! Practice"): 256 k-buckets by log-distance, each ordered least-recently
//! seen first, with a replacement cache and a per-entry liveness flag.

use std::collections::VecDeque;
use std::net::SocketAddr;

use status_core::Timestamp;

use super::distance::{cmp_distance, log2_distance};
use crate::enr::{Enr, NodeId};

/// One table entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub enr: Enr,
    pub addr: SocketAddr,
    /// Has answered one of our requests ("liveness verified"); only such
    /// nodes are relayed in NODES.
    pub verified: bool,
    /// Requests to it that timed out since its last answer.
    pub failures: u8,
    /// Last liveness check (PING sent), to pick the stalest entry next.
    pub last_checked: Timestamp,
}

impl Entry {
    pub fn id(&self) -> NodeId {
        self.enr.node_id()
    }
}

#[derive(Debug, Default, Clone)]
struct Bucket {
    /// Least-recently seen first.
    entries: Vec<Entry>,
    /// Most recent last; bounded by `replacements_cap`.
    replacements: VecDeque<(Enr, SocketAddr)>,
}

/// What [`KBucketTable::insert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Insert {
    /// New entry (unverified).
    Inserted,
    /// Known node: record/endpoint refreshed when newer.
    Updated,
    /// Bucket full: kept in the replacement cache. The least-recently seen
    /// member should be checked for liveness.
    Full { lrs: NodeId },
    /// Our own id, or no UDP endpoint: ignored.
    Ignored,
}

/// The routing table.
#[derive(Debug, Clone)]
pub(crate) struct KBucketTable {
    local_id: NodeId,
    k: usize,
    replacements_cap: usize,
    buckets: Vec<Bucket>,
}

impl KBucketTable {
    pub fn new(local_id: NodeId, k: usize, replacements_cap: usize) -> Self {
        KBucketTable {
            local_id,
            k: k.max(1),
            replacements_cap,
            buckets: vec![Bucket::default(); 256],
        }
    }

    fn index(&self, id: &NodeId) -> Option<usize> {
        let d = log2_distance(&self.local_id, id);
        (d > 0).then(|| usize::from(d) - 1)
    }

    fn bucket(&self, id: &NodeId) -> Option<&Bucket> {
        self.buckets.get(self.index(id)?)
    }

    fn bucket_mut(&mut self, id: &NodeId) -> Option<&mut Bucket> {
        let i = self.index(id)?;
        self.buckets.get_mut(i)
    }

    pub fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.iter().all(|b| b.entries.is_empty())
    }

    pub fn get(&self, id: &NodeId) -> Option<&Entry> {
        self.bucket(id)?.entries.iter().find(|e| e.id() == *id)
    }

    pub fn get_mut(&mut self, id: &NodeId) -> Option<&mut Entry> {
        self.bucket_mut(id)?
            .entries
            .iter_mut()
            .find(|e| e.id() == *id)
    }

    /// Offers a node seen at `addr` (its record's endpoint, or where its
    /// packets came from). Never evicts: a full bucket parks the node in the
    /// replacement cache and names the member to check.
    pub fn insert(&mut self, enr: &Enr, addr: SocketAddr, now: Timestamp) -> Insert {
        let id = enr.node_id();
        let (k, cap) = (self.k, self.replacements_cap);
        let Some(bucket) = self.bucket_mut(&id) else {
            return Insert::Ignored;
        };
        if let Some(e) = bucket.entries.iter_mut().find(|e| e.id() == id) {
            if enr.seq() > e.enr.seq() {
                e.enr = enr.clone();
                e.addr = addr;
            }
            return Insert::Updated;
        }
        if bucket.entries.len() < k {
            bucket.entries.push(Entry {
                enr: enr.clone(),
                addr,
                verified: false,
                failures: 0,
                last_checked: now,
            });
            return Insert::Inserted;
        }
        bucket.replacements.retain(|(r, _)| r.node_id() != id);
        if cap > 0 {
            if bucket.replacements.len() >= cap {
                bucket.replacements.pop_front();
            }
            bucket.replacements.push_back((enr.clone(), addr));
        }
        match bucket.entries.first() {
            Some(lrs) => Insert::Full { lrs: lrs.id() },
            None => Insert::Ignored,
        }
    }

    /// The node answered us: mark it live and move it to the tail
    /// (most-recently seen).
    pub fn mark_alive(&mut self, id: &NodeId) {
        if let Some(bucket) = self.bucket_mut(id) {
            if let Some(pos) = bucket.entries.iter().position(|e| e.id() == *id) {
                let mut e = bucket.entries.remove(pos);
                e.verified = true;
                e.failures = 0;
                bucket.entries.push(e);
            }
        }
    }

    /// Removes `id` and promotes the most recent replacement, returned so
    /// the caller can check its liveness.
    pub fn remove(&mut self, id: &NodeId) -> (bool, Option<Enr>) {
        let Some(bucket) = self.bucket_mut(id) else {
            return (false, None);
        };
        let before = bucket.entries.len();
        bucket.entries.retain(|e| e.id() != *id);
        bucket.replacements.retain(|(r, _)| r.node_id() != *id);
        let removed = bucket.entries.len() < before;
        let promoted = if removed {
            bucket.replacements.pop_back().map(|(enr, addr)| {
                bucket.entries.push(Entry {
                    enr: enr.clone(),
                    addr,
                    verified: false,
                    failures: 0,
                    last_checked: Timestamp::ZERO,
                });
                enr
            })
        } else {
            None
        };
        (removed, promoted)
    }

    /// Up to `n` entries closest to `target`, verified ones only if asked.
    pub fn closest(&self, target: &NodeId, n: usize, only_verified: bool) -> Vec<&Entry> {
        let mut all: Vec<&Entry> = self
            .iter()
            .filter(|e| e.verified || !only_verified)
            .collect();
        all.sort_by(|a, b| cmp_distance(target, &a.id(), &b.id()));
        all.truncate(n);
        all
    }

    /// Verified entries at log-distance `d` (1..=256) from us.
    pub fn at_distance(&self, d: u16) -> impl Iterator<Item = &Entry> {
        let i = usize::from(d).wrapping_sub(1);
        self.buckets
            .get(i)
            .into_iter()
            .flat_map(|b| b.entries.iter())
            .filter(|e| e.verified)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flat_map(|b| b.entries.iter())
    }

    /// The entry to check next: unverified ones first, else the one whose
    /// last check is oldest.
    pub fn stalest(&self) -> Option<NodeId> {
        self.iter()
            .min_by_key(|e| (e.verified, e.last_checked))
            .map(Entry::id)
    }

    /// The distances (1..=256) of the populated buckets: refresh targets.
    pub fn non_empty_buckets(&self) -> impl Iterator<Item = u16> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.entries.is_empty())
            .map(|(i, _)| (i + 1) as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use status_core::SecretKey;

    fn enr(i: u32) -> Enr {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&(i + 1).to_be_bytes());
        b[31] = 1;
        let key = SecretKey::from_bytes(&b).unwrap();
        Enr::builder()
            .ip4([127, 0, 0, 1].into())
            .udp(1000 + i as u16)
            .sign(&key)
            .unwrap()
    }

    fn addr(i: u32) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 1000 + i as u16))
    }

    #[test]
    fn full_bucket_uses_the_replacement_cache_and_promotes_on_removal() {
        let local = NodeId([0; 32]);
        let mut t = KBucketTable::new(local, 2, 4);
        // Collect three nodes in the same bucket.
        let mut same = Vec::new();
        let mut i = 0;
        let d0 = log2_distance(&local, &enr(0).node_id());
        while same.len() < 3 {
            let e = enr(i);
            if log2_distance(&local, &e.node_id()) == d0 {
                same.push((e, addr(i)));
            }
            i += 1;
        }
        let now = Timestamp::ZERO;
        assert_eq!(t.insert(&same[0].0, same[0].1, now), Insert::Inserted);
        assert_eq!(t.insert(&same[1].0, same[1].1, now), Insert::Inserted);
        assert_eq!(
            t.insert(&same[2].0, same[2].1, now),
            Insert::Full {
                lrs: same[0].0.node_id()
            }
        );
        assert_eq!(t.len(), 2);
        t.mark_alive(&same[0].0.node_id());
        // LRS is now the second one.
        assert_eq!(
            t.insert(&same[2].0, same[2].1, now),
            Insert::Full {
                lrs: same[1].0.node_id()
            }
        );
        let (removed, promoted) = t.remove(&same[1].0.node_id());
        assert!(removed);
        assert_eq!(promoted.unwrap().node_id(), same[2].0.node_id());
        assert!(t.get(&same[2].0.node_id()).is_some());
        assert_eq!(t.insert(&enr(0), addr(0), now), Insert::Updated);
    }

    #[test]
    fn only_verified_entries_are_relayed() {
        let local = NodeId([0; 32]);
        let mut t = KBucketTable::new(local, 16, 4);
        let e = enr(7);
        t.insert(&e, addr(7), Timestamp::ZERO);
        let d = log2_distance(&local, &e.node_id());
        assert_eq!(t.at_distance(d).count(), 0);
        t.mark_alive(&e.node_id());
        assert_eq!(t.at_distance(d).count(), 1);
        assert_eq!(t.closest(&e.node_id(), 5, true).len(), 1);
    }
}
