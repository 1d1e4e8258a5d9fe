//! What the node still accepts for a while after it narrowed what it asks
//! peers for (status-go `MinPowTolerance`, `BloomFilterTolerance`,
//! `TopicInterestTolerance`): peers apply our Status Update only when it
//! reaches them, so envelopes they sent under our previous PoW requirement
//! or interest keep arriving for about `sync_allowance`.
//!
//! status-go swaps each tolerated value for the new one `SyncAllowance`
//! after every change; here changes inside the window merge into one
//! window (the lowest PoW, the union of the interests) that ends
//! `sync_allowance` after the latest change. That accepts a little more
//! during bursts of changes and never less.

use status_core::Timestamp;

use crate::bloom::Bloom;
use crate::status::MAX_TOPIC_INTEREST;
use crate::topic::Topic;

/// An interest we announced before the current one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OldInterest {
    /// Everything (a full node has nothing to tolerate).
    Full,
    /// A bloom filter.
    Bloom(Bloom),
    /// Exact topics, sorted.
    Topics(Vec<Topic>),
}

impl OldInterest {
    fn matches(&self, topic: Topic) -> bool {
        match self {
            OldInterest::Full => true,
            OldInterest::Bloom(b) => b.matches(topic),
            OldInterest::Topics(t) => t.binary_search(&topic).is_ok(),
        }
    }

    fn union(self, other: OldInterest) -> OldInterest {
        match (self, other) {
            (OldInterest::Full, _) | (_, OldInterest::Full) => OldInterest::Full,
            (OldInterest::Bloom(mut a), OldInterest::Bloom(b)) => {
                for (x, y) in a.0.iter_mut().zip(b.0.iter()) {
                    *x |= y;
                }
                OldInterest::Bloom(a)
            }
            (OldInterest::Topics(mut a), OldInterest::Topics(b)) => {
                a.extend(b);
                a.sort_unstable();
                a.dedup();
                // past the protocol's own bound, accept what any topic
                // interest could have asked for
                if a.len() > MAX_TOPIC_INTEREST {
                    return OldInterest::Full;
                }
                OldInterest::Topics(a)
            }
            // the interest mode is fixed by config; a mix cannot happen,
            // and tolerating everything is the safe answer if it did
            _ => OldInterest::Full,
        }
    }
}

/// The tolerated previous requirements, each with its window's end.
#[derive(Debug, Default)]
pub(crate) struct Tolerance {
    pow: Option<(f64, Timestamp)>,
    interest: Option<(OldInterest, Timestamp)>,
}

impl Tolerance {
    /// Our PoW requirement is changing away from `old` at `now`.
    pub(crate) fn pow_changed(&mut self, old: f64, now: Timestamp, until: Timestamp) {
        let floor = match self.pow {
            Some((p, end)) if now < end => p.min(old),
            _ => old,
        };
        self.pow = Some((floor, until));
    }

    /// Our interest is changing away from `old` at `now`.
    pub(crate) fn interest_changed(&mut self, old: OldInterest, now: Timestamp, until: Timestamp) {
        let merged = match self.interest.take() {
            Some((prev, end)) if now < end => prev.union(old),
            _ => old,
        };
        self.interest = Some((merged, until));
    }

    /// Whether an envelope with `pow` still passes under a previous
    /// requirement.
    pub(crate) fn pow_ok(&self, now: Timestamp, pow: f64) -> bool {
        matches!(self.pow, Some((p, end)) if now < end && pow >= p)
    }

    /// Whether `topic` still passes under a previous interest.
    pub(crate) fn interest_ok(&self, now: Timestamp, topic: Topic) -> bool {
        matches!(&self.interest, Some((i, end)) if now < *end && i.matches(topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    #[test]
    fn the_old_pow_passes_until_the_window_ends() {
        let mut tol = Tolerance::default();
        assert!(!tol.pow_ok(t(0), 1.0));
        tol.pow_changed(0.5, t(100), t(110));
        assert!(tol.pow_ok(t(105), 0.5));
        assert!(!tol.pow_ok(t(105), 0.4));
        assert!(!tol.pow_ok(t(110), 0.5));
        // a second change inside the window keeps the lowest and extends it
        tol.pow_changed(0.2, t(103), t(120));
        tol.pow_changed(2.0, t(104), t(121));
        assert!(tol.pow_ok(t(115), 0.2));
        assert!(!tol.pow_ok(t(121), 0.2));
        // after the window a change starts afresh
        tol.pow_changed(3.0, t(200), t(210));
        assert!(!tol.pow_ok(t(205), 0.2));
        assert!(tol.pow_ok(t(205), 3.0));
    }

    #[test]
    fn old_interests_merge_inside_the_window() {
        let (a, b, c) = (Topic([1; 4]), Topic([2; 4]), Topic([3; 4]));
        let mut tol = Tolerance::default();
        tol.interest_changed(OldInterest::Topics(vec![a]), t(0), t(10));
        tol.interest_changed(OldInterest::Topics(vec![b]), t(5), t(15));
        assert!(tol.interest_ok(t(12), a) && tol.interest_ok(t(12), b));
        assert!(!tol.interest_ok(t(12), c));
        assert!(!tol.interest_ok(t(15), a));

        let mut tol = Tolerance::default();
        tol.interest_changed(OldInterest::Bloom(Bloom::from_topics(&[a])), t(0), t(10));
        tol.interest_changed(OldInterest::Bloom(Bloom::from_topics(&[b])), t(1), t(11));
        assert!(tol.interest_ok(t(2), a) && tol.interest_ok(t(2), b));

        let many: Vec<Topic> = (0..=MAX_TOPIC_INTEREST as u32)
            .map(|i| Topic(i.to_be_bytes()))
            .collect();
        let mut tol = Tolerance::default();
        tol.interest_changed(OldInterest::Topics(many[..5000].to_vec()), t(0), t(10));
        tol.interest_changed(OldInterest::Topics(many[5000..].to_vec()), t(1), t(11));
        assert!(tol.interest_ok(t(2), c), "past the bound everything passes");
    }
}
