//! Link models: latency distribution, loss, duplication, reordering and
//! bandwidth of one directed link.

use rand_core::RngCore;
use serde::Serialize;

/// One-way latency distribution, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Latency {
    /// Always the same.
    Constant(u64),
    /// Uniform in `[min, max]`.
    Uniform {
        /// Lower bound.
        min: u64,
        /// Upper bound (inclusive).
        max: u64,
    },
    /// `min` plus an exponential tail with the given mean: most packets
    /// are fast, a few are very late (mobile links).
    Exponential {
        /// Lower bound.
        min: u64,
        /// Mean of the tail above `min`.
        mean_extra: u64,
    },
}

/// Behaviour of a directed link. Probabilities are in `0.0..=1.0`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LinkConfig {
    /// Propagation delay.
    pub latency: Latency,
    /// Probability that a packet is lost.
    pub loss: f64,
    /// Probability that a delivered packet is delivered twice (the copy
    /// gets its own latency).
    pub duplicate: f64,
    /// Probability that a packet is held back by an extra uniform delay
    /// in `[0, reorder_delay]` ms, so later packets overtake it.
    pub reorder: f64,
    /// Upper bound of the reordering delay, ms.
    pub reorder_delay: u64,
    /// Bytes per second the link serialises; `None` is unlimited.
    pub bandwidth: Option<u64>,
}

impl Default for LinkConfig {
    /// A clean 50 ms link.
    fn default() -> Self {
        LinkConfig {
            latency: Latency::Constant(50),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: 0,
            bandwidth: None,
        }
    }
}

/// A uniform `f64` in `[0, 1)` from 53 random bits.
pub(crate) fn unit(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Bernoulli trial that draws no randomness when `p` is 0 (so adding a
/// zero-probability feature does not shift the random stream).
pub(crate) fn chance(rng: &mut impl RngCore, p: f64) -> bool {
    p > 0.0 && unit(rng) < p
}

impl Latency {
    pub(crate) fn sample(&self, rng: &mut impl RngCore) -> u64 {
        match *self {
            Latency::Constant(ms) => ms,
            Latency::Uniform { min, max } => {
                if max <= min {
                    min
                } else {
                    min + rng.next_u64() % (max - min + 1)
                }
            }
            Latency::Exponential { min, mean_extra } => {
                let u = unit(rng);
                let extra = -(1.0 - u).ln() * mean_extra as f64;
                min.saturating_add(extra.min(1e12) as u64)
            }
        }
    }
}

impl LinkConfig {
    /// Delay of one copy of a packet: latency plus, sometimes, the
    /// reordering hold-back.
    pub(crate) fn delay(&self, rng: &mut impl RngCore) -> u64 {
        let mut d = self.latency.sample(rng);
        if chance(rng, self.reorder) && self.reorder_delay > 0 {
            d += rng.next_u64() % (self.reorder_delay + 1);
        }
        d
    }
}
