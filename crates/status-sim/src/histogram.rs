//! A small sparse histogram for latency percentiles.

use std::collections::BTreeMap;

/// Log-bucketed histogram of `u64` samples (milliseconds in this crate):
/// exact below 64, then 32 buckets per power of two (within ~3%).
/// Memory grows with the number of distinct buckets hit, not samples.
///
/// ```
/// use status_sim::Histogram;
///
/// let mut h = Histogram::default();
/// for ms in 1..=100 {
///     h.record(ms);
/// }
/// assert_eq!((h.count(), h.min(), h.max(), h.mean()), (100, 1, 100, 50));
/// assert_eq!(h.quantile(0.5), 50); // exact below 64
/// let p99 = h.quantile(0.99);
/// assert!((96..=99).contains(&p99)); // within ~3% above 64
/// let mut all = Histogram::default();
/// all.merge(&h);
/// all.merge(&h);
/// assert_eq!(all.count(), 200);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    buckets: BTreeMap<u32, u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

fn bucket_of(v: u64) -> u32 {
    if v < 64 {
        return v as u32;
    }
    let e = v.ilog2();
    let sub = ((v >> (e - 5)) & 31) as u32;
    64 + (e - 6) * 32 + sub
}

fn bucket_floor(b: u32) -> u64 {
    if b < 64 {
        return u64::from(b);
    }
    let e = (b - 64) / 32 + 6;
    let sub = u64::from((b - 64) % 32);
    (32 + sub) << (e - 5)
}

impl Histogram {
    /// Adds one sample.
    pub fn record(&mut self, v: u64) {
        *self.buckets.entry(bucket_of(v)).or_insert(0) += 1;
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        self.max = self.max.max(v);
        self.count += 1;
        self.sum += u128::from(v);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        for (b, n) in &other.buckets {
            *self.buckets.entry(*b).or_insert(0) += n;
        }
        if self.count == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.count += other.count;
        self.sum += other.sum;
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest sample (0 when empty).
    pub fn min(&self) -> u64 {
        self.min
    }

    /// Largest sample (0 when empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Mean, rounded down (0 when empty).
    pub fn mean(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            (self.sum / u128::from(self.count)) as u64
        }
    }

    /// The `q`-quantile (`0.0..=1.0`): the lower bound of the bucket
    /// holding it, clamped to [min, max]. 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return bucket_floor(*b).clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_exact_for_small_values_and_close_for_large() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 50);
        // 99 lies in the [98, 100) bucket: reported as its lower bound.
        assert_eq!(h.quantile(0.99), 98);
        assert_eq!(h.quantile(1.0), 100);
        assert_eq!(h.min(), 1);
        assert_eq!(h.mean(), 50);
        let mut h = Histogram::default();
        h.record(100_000);
        let q = h.quantile(0.5);
        assert_eq!(q, 100_000);
        for v in [1000u64, 12_345, 1 << 40] {
            let f = bucket_floor(bucket_of(v));
            assert!(f <= v && v - f <= v / 32, "{v} -> {f}");
        }
    }
}
