//! The retransmission schedule of 2/MVDS "Retransmission".

/// Epoch-based exponential back-off for `Send Epoch`.
///
/// 2/MVDS: `Send Epoch` "SHOULD be exponentially increased until reaching
/// an upper bound where it then goes back to a lower epoch". After the
/// `n`-th transmission of a record (`Send Count` = `n`, from 1) the next one
/// is due `base << ((n - 1) mod (k + 1))` epochs later, where `k` is the
/// largest shift with `base << k <= max`: `base, 2 base, 4 base, ..., max',
/// base, 2 base, ...`.
///
/// status-go v0.55.1 (`protocol/datasync/transport.go`, `CalculateSendTime`)
/// uses `2^(n-1) * 30 s` with a 300 ms epoch (90 epochs) and no upper bound;
/// the defaults keep its base and cap it after five doublings (~14 min).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Epochs until the first retransmission.
    pub base: u64,
    /// Upper bound on the gap between two transmissions, in epochs.
    pub max: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: 90,
            max: 90 << 5,
        }
    }
}

impl Backoff {
    /// Epochs from the `send_count`-th transmission to the next one.
    ///
    /// ```
    /// use status_mvds::Backoff;
    ///
    /// let b = Backoff { base: 3, max: 24 };
    /// let gaps: Vec<u64> = (1..=6).map(|n| b.delay(n)).collect();
    /// assert_eq!(gaps, [3, 6, 12, 24, 3, 6]);
    /// // The default: 27 s, doubling to ~14 min, then 27 s again.
    /// let d = Backoff::default();
    /// assert_eq!((d.delay(1), d.delay(6), d.delay(7)), (90, 2880, 90));
    /// ```
    pub fn delay(&self, send_count: u32) -> u64 {
        let base = self.base.max(1);
        let max = self.max.max(base);
        // Largest k with base << k <= max.
        let k = (max / base).ilog2();
        let shift = send_count.saturating_sub(1) % (k + 1);
        base << shift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_epoch_grows_exponentially_then_wraps_to_the_base() {
        let b = Backoff { base: 3, max: 24 };
        let gaps: Vec<u64> = (1..=9).map(|n| b.delay(n)).collect();
        assert_eq!(gaps, [3, 6, 12, 24, 3, 6, 12, 24, 3]);
    }

    #[test]
    fn degenerate_bounds_never_panic() {
        assert_eq!(Backoff { base: 0, max: 0 }.delay(0), 1);
        assert_eq!(Backoff { base: 5, max: 1 }.delay(7), 5);
        let b = Backoff {
            base: 1,
            max: u64::MAX,
        };
        assert_eq!(b.delay(64), 1 << 63);
        assert_eq!(b.delay(65), 1);
    }
}
