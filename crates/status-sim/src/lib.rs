//! A deterministic discrete-event network simulator for sans-IO machines.
//!
//! Nodes are any machine behind the small [`Node`] trait; links between
//! them have a [`Latency`] distribution, loss, duplication, reordering and
//! bandwidth ([`LinkConfig`]); partitions and node churn are scheduled in
//! virtual time. Time is [`Timestamp`](status_core::Timestamp), advanced
//! only by the event queue; every random choice comes from one seeded RNG,
//! so one seed replays a run byte for byte. [`Metrics`] count packets and
//! bytes per node and per link with latency percentiles, print a
//! [`Summary`] and dump CSV or JSON.
//!
//! ```
//! use status_core::Timestamp;
//! use status_sim::{Ctx, LinkConfig, Latency, Node, NodeIndex, Sim, SimConfig};
//!
//! /// Answers every packet with one byte less, until the packet is empty.
//! struct Echo;
//! impl Node for Echo {
//!     type Packet = Vec<u8>;
//!     fn handle_packet(&mut self, ctx: &mut Ctx<'_, Vec<u8>>, from: NodeIndex, mut p: Vec<u8>) {
//!         ctx.record_delivery(std::time::Duration::from_millis(0));
//!         if p.pop().is_some() { ctx.send(from, p) }
//!     }
//!     fn handle_timeout(&mut self, _: &mut Ctx<'_, Vec<u8>>) {}
//!     fn poll_timeout(&self) -> Option<Timestamp> { None }
//!     fn packet_size(p: &Vec<u8>) -> usize { p.len() }
//! }
//!
//! let link = LinkConfig { latency: Latency::Uniform { min: 10, max: 30 }, ..LinkConfig::default() };
//! let mut sim = Sim::new(SimConfig { seed: 7, default_link: link, ..SimConfig::default() });
//! let (a, b) = (sim.add_node(Echo), sim.add_node(Echo));
//! sim.with_node(a, |_, ctx| ctx.send(b, vec![0; 4]));
//! assert!(sim.run_until_idle(Timestamp::from_secs(2_000_000_000)));
//! let summary = sim.summary();
//! assert_eq!(summary.packets_delivered, 5);
//! assert_eq!(summary.deliveries, 5);
//! println!("{summary}");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod histogram;
mod link;
mod metrics;
mod sim;
#[cfg(feature = "node")]
pub mod tcp;
pub mod traffic;

pub use histogram::Histogram;
pub use link::{Latency, LinkConfig};
pub use metrics::{LinkMetrics, Metrics, NodeMetrics, Summary};
pub use sim::{Ctx, Node, Sim, SimConfig};

/// Index of a node in a [`Sim`], in the order nodes were added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct NodeIndex(pub u32);
