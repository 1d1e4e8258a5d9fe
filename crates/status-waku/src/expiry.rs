//! The order in which seen envelopes are forgotten: earliest expiry first,
//! and among equal expiries the one seen first.
//!
//! Envelopes of a network arrive with a few distinct expiry seconds at a
//! time, so a map from expiry second to a FIFO of hashes pops in O(log of
//! the distinct seconds) and keeps each second's hashes contiguous, where a
//! binary heap over every envelope walks ~17 scattered levels per pop at
//! the default 100,000 entries.

use std::collections::{BTreeMap, VecDeque};

/// Envelope hashes by expiry (unix seconds).
#[derive(Debug, Default)]
pub(crate) struct ExpiryQueue {
    by_expiry: BTreeMap<u32, VecDeque<[u8; 32]>>,
    len: usize,
}

impl ExpiryQueue {
    pub(crate) fn push(&mut self, expiry: u32, hash: [u8; 32]) {
        self.by_expiry.entry(expiry).or_default().push_back(hash);
        self.len += 1;
    }

    /// The earliest expiry queued.
    pub(crate) fn next_expiry(&self) -> Option<u32> {
        self.by_expiry.keys().next().copied()
    }

    /// Removes and returns the earliest-expiring, first-queued hash.
    pub(crate) fn pop(&mut self) -> Option<(u32, [u8; 32])> {
        let mut first = self.by_expiry.first_entry()?;
        let expiry = *first.key();
        let hash = first.get_mut().pop_front();
        if first.get().is_empty() {
            first.remove();
        }
        if hash.is_some() {
            self.len -= 1;
        }
        hash.map(|h| (expiry, h))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_expiry_then_insertion_order() {
        let mut q = ExpiryQueue::default();
        q.push(20, [1; 32]);
        q.push(10, [2; 32]);
        q.push(20, [3; 32]);
        q.push(10, [4; 32]);
        assert_eq!(q.len(), 4);
        assert_eq!(q.next_expiry(), Some(10));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![(10, [2; 32]), (10, [4; 32]), (20, [1; 32]), (20, [3; 32])]
        );
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_expiry(), None);
        assert_eq!(q.by_expiry.len(), 0, "empty seconds are not kept");
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_a_sort(items in proptest::collection::vec((0u32..50, proptest::prelude::any::<u8>()), 0..200)) {
            let mut q = ExpiryQueue::default();
            for (i, (e, b)) in items.iter().enumerate() {
                let mut h = [*b; 32];
                h[..8].copy_from_slice(&(i as u64).to_be_bytes());
                q.push(*e, h);
            }
            let mut expected: Vec<(u32, [u8; 32])> = items.iter().enumerate().map(|(i, (e, b))| {
                let mut h = [*b; 32];
                h[..8].copy_from_slice(&(i as u64).to_be_bytes());
                (*e, h)
            }).collect();
            // stable: equal expiries keep insertion order
            expected.sort_by_key(|(e, _)| *e);
            let got: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }
}
