//! Token buckets for the rate limits of 6/WAKU1 ("Rate Limits Field"):
//! packets per second and bytes per second, per IP, peer id and topic.
//!
//! A bucket holds up to one second's worth of its rate and refills
//! continuously (status-go uses `tsenart/tb` buckets the same way). A
//! packet passes when the bucket holds its cost (capped at the bucket's
//! size, so a limit below one packet's size still lets one through per
//! second rather than none ever).

use status_core::Timestamp;

/// One token bucket; rates are per second, tokens kept in thousandths so
/// a millisecond of refill is exact.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    milli_tokens: u128,
    last: Timestamp,
    full: bool,
}

impl Bucket {
    pub(crate) fn new(now: Timestamp) -> Self {
        Bucket {
            milli_tokens: 0,
            last: now,
            full: true,
        }
    }

    fn refill(&mut self, now: Timestamp, rate: u64) {
        let cap = u128::from(rate) * 1000;
        if self.full {
            self.milli_tokens = cap;
            self.full = false;
        }
        let ms = u128::from(now.as_millis().saturating_sub(self.last.as_millis()));
        self.milli_tokens = self
            .milli_tokens
            .saturating_add(ms.saturating_mul(u128::from(rate)))
            .min(cap);
        if now > self.last {
            self.last = now;
        }
    }

    /// Whether `cost` fits now (rate 0: no limit).
    fn fits(&mut self, now: Timestamp, rate: u64, cost: u64) -> bool {
        if rate == 0 {
            return true;
        }
        self.refill(now, rate);
        self.milli_tokens >= u128::from(cost.min(rate)) * 1000
    }

    fn take(&mut self, rate: u64, cost: u64) {
        if rate != 0 {
            let c = u128::from(cost.min(rate)) * 1000;
            self.milli_tokens = self.milli_tokens.saturating_sub(c);
        }
    }

    /// Whether the bucket is back to full at `now` (an idle bucket can be
    /// forgotten: a fresh one behaves the same).
    pub(crate) fn is_idle(&self, now: Timestamp, rate: u64) -> bool {
        let mut b = *self;
        b.refill(now, rate);
        rate == 0 || b.milli_tokens == u128::from(rate) * 1000
    }
}

/// A packets bucket and a bytes bucket for one key (an IP, a peer, a topic).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limiter {
    packets: Bucket,
    bytes: Bucket,
}

impl Limiter {
    pub(crate) fn new(now: Timestamp) -> Self {
        Limiter {
            packets: Bucket::new(now),
            bytes: Bucket::new(now),
        }
    }

    /// Charges one packet of `size` bytes if both limits allow it; returns
    /// whether they did (nothing is charged otherwise).
    pub(crate) fn allow(&mut self, now: Timestamp, packets: u64, bytes: u64, size: u64) -> bool {
        if !self.packets.fits(now, packets, 1) || !self.bytes.fits(now, bytes, size) {
            return false;
        }
        self.packets.take(packets, 1);
        self.bytes.take(bytes, size);
        true
    }

    /// Whether both buckets are full again.
    pub(crate) fn is_idle(&self, now: Timestamp, packets: u64, bytes: u64) -> bool {
        self.packets.is_idle(now, packets) && self.bytes.is_idle(now, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_of_five_packets_per_second_passes_five_then_refills() {
        let t0 = Timestamp::from_secs(100);
        let mut l = Limiter::new(t0);
        let passed = (0..10).filter(|_| l.allow(t0, 5, 0, 10)).count();
        assert_eq!(passed, 5);
        // 200 ms later one more token has accrued.
        let t1 = Timestamp::from_millis(t0.as_millis() + 200);
        assert!(l.allow(t1, 5, 0, 10));
        assert!(!l.allow(t1, 5, 0, 10));
        assert!(!l.is_idle(t1, 5, 0));
        assert!(l.is_idle(Timestamp::from_secs(102), 5, 0));
    }

    #[test]
    fn bytes_limit_charges_size_and_both_limits_must_allow() {
        let t0 = Timestamp::from_secs(1);
        let mut l = Limiter::new(t0);
        assert!(l.allow(t0, 100, 1000, 600));
        assert!(!l.allow(t0, 100, 1000, 600));
        assert!(l.allow(t0, 100, 1000, 400));
        // A packet larger than a whole second's bytes still passes when
        // the bucket is full.
        let mut l = Limiter::new(t0);
        assert!(l.allow(t0, 0, 1000, 5000));
        assert!(!l.allow(t0, 0, 1000, 1));
    }

    #[test]
    fn zero_means_unlimited() {
        let t0 = Timestamp::from_secs(1);
        let mut l = Limiter::new(t0);
        assert!((0..10_000).all(|_| l.allow(t0, 0, 0, 1 << 20)));
    }
}
