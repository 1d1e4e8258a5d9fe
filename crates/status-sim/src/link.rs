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
///
/// ```
/// # use status_core::Timestamp;
/// # use status_sim::{Ctx, Node, NodeIndex};
/// # use std::time::Duration;
/// # /// Sends its peer a 100-byte packet every 100 ms, 10 times.
/// # struct Ticker { peer: NodeIndex, next: Option<Timestamp>, left: u32 }
/// # impl Ticker { fn new(peer: u32, start: Timestamp) -> Self { Ticker { peer: NodeIndex(peer), next: Some(start), left: 10 } } }
/// # impl Node for Ticker {
/// #     type Packet = Vec<u8>;
/// #     fn handle_packet(&mut self, ctx: &mut Ctx<'_, Vec<u8>>, _: NodeIndex, _: Vec<u8>) {
/// #         ctx.record_delivery(Duration::from_millis(0));
/// #     }
/// #     fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Vec<u8>>) {
/// #         ctx.send(self.peer, vec![0; 100]);
/// #         self.left -= 1;
/// #         self.next = (self.left > 0).then(|| ctx.now().saturating_add(Duration::from_millis(100)));
/// #     }
/// #     fn poll_timeout(&self) -> Option<Timestamp> { self.next }
/// #     fn packet_size(p: &Vec<u8>) -> usize { p.len() }
/// # }
/// # use status_sim::{Sim, SimConfig};
/// use status_sim::{Latency, LinkConfig};
///
/// let start = Timestamp::from_secs(1_700_000_000);
/// let mut sim = Sim::new(SimConfig { start, ..SimConfig::default() });
/// let a = sim.add_node(Ticker::new(1, start));
/// let b = sim.add_node(Ticker::new(0, start));
/// // a slow uplink from a: 1 kB/s, so its 100-byte packets queue up
/// let slow = LinkConfig { latency: Latency::Constant(10), bandwidth: Some(1000), ..LinkConfig::default() };
/// sim.set_link(a, b, slow);
/// sim.run_until_idle(start.saturating_add(Duration::from_secs(60)));
/// let link = &sim.metrics().links[&(a, b)];
/// assert_eq!(link.packets_delivered, 10);
/// assert!(link.transit_latency.max() >= 100); // 100 ms of serialisation each
/// assert_eq!(sim.metrics().links[&(b, a)].transit_latency.max(), 50);
/// ```
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
