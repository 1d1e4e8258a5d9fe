//! Per-node and per-link counters, latency histograms, and their summary
//! and CSV / JSON dumps.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::{Histogram, NodeIndex};

/// Counters of one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeMetrics {
    /// Packets the node handed to its links.
    pub packets_sent: u64,
    /// Bytes of those packets.
    pub bytes_sent: u64,
    /// Packets that reached the node.
    pub packets_received: u64,
    /// Bytes of those packets.
    pub bytes_received: u64,
    /// Application deliveries the node reported with
    /// [`Ctx::record_delivery`](crate::Ctx::record_delivery).
    pub deliveries: u64,
    /// Latency of those deliveries, ms.
    pub delivery_latency: Histogram,
}

/// Counters of one directed link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkMetrics {
    /// Packets offered to the link.
    pub packets_sent: u64,
    /// Bytes offered to the link.
    pub bytes_sent: u64,
    /// Packets (including duplicates) that arrived.
    pub packets_delivered: u64,
    /// Bytes that arrived.
    pub bytes_delivered: u64,
    /// Packets lost to the loss rate.
    pub lost: u64,
    /// Packets dropped by a partition or because an end was offline.
    pub cut: u64,
    /// Extra copies the link made.
    pub duplicated: u64,
    /// Transit time of arrived packets (queueing + latency), ms.
    pub transit_latency: Histogram,
}

/// Everything measured in a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Per node, by index.
    pub nodes: Vec<NodeMetrics>,
    /// Per directed link (from, to) that carried traffic.
    pub links: BTreeMap<(NodeIndex, NodeIndex), LinkMetrics>,
    /// Events processed.
    pub events: u64,
}

/// Whole-run totals, printed by its `Display` and dumped as JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Virtual time at the end of the run, ms since the Unix epoch.
    pub end_time_ms: u64,
    /// Events processed.
    pub events: u64,
    /// Nodes.
    pub nodes: usize,
    /// Links that carried traffic.
    pub links: usize,
    /// Packets offered to links.
    pub packets_sent: u64,
    /// Bytes offered to links.
    pub bytes_sent: u64,
    /// Packets delivered (with duplicates).
    pub packets_delivered: u64,
    /// Packets lost to the loss rate.
    pub packets_lost: u64,
    /// Packets cut by partitions / offline ends.
    pub packets_cut: u64,
    /// Duplicated packets.
    pub packets_duplicated: u64,
    /// Application deliveries reported by nodes.
    pub deliveries: u64,
    /// Delivery latency percentiles, ms.
    pub delivery_latency_p50_ms: u64,
    /// 90th percentile.
    pub delivery_latency_p90_ms: u64,
    /// 99th percentile.
    pub delivery_latency_p99_ms: u64,
    /// Maximum.
    pub delivery_latency_max_ms: u64,
    /// Transit latency percentiles over all links, ms.
    pub transit_latency_p50_ms: u64,
    /// 99th percentile.
    pub transit_latency_p99_ms: u64,
}

impl Metrics {
    /// Delivery latencies of all nodes together.
    pub fn delivery_latency(&self) -> Histogram {
        let mut h = Histogram::default();
        for n in &self.nodes {
            h.merge(&n.delivery_latency);
        }
        h
    }

    /// Totals over all nodes and links, at virtual time `end_time_ms`.
    pub fn summary(&self, end_time_ms: u64) -> Summary {
        let mut transit = Histogram::default();
        let mut s = Summary {
            end_time_ms,
            events: self.events,
            nodes: self.nodes.len(),
            links: self.links.len(),
            packets_sent: 0,
            bytes_sent: 0,
            packets_delivered: 0,
            packets_lost: 0,
            packets_cut: 0,
            packets_duplicated: 0,
            deliveries: self.nodes.iter().map(|n| n.deliveries).sum(),
            delivery_latency_p50_ms: 0,
            delivery_latency_p90_ms: 0,
            delivery_latency_p99_ms: 0,
            delivery_latency_max_ms: 0,
            transit_latency_p50_ms: 0,
            transit_latency_p99_ms: 0,
        };
        for l in self.links.values() {
            s.packets_sent += l.packets_sent;
            s.bytes_sent += l.bytes_sent;
            s.packets_delivered += l.packets_delivered;
            s.packets_lost += l.lost;
            s.packets_cut += l.cut;
            s.packets_duplicated += l.duplicated;
            transit.merge(&l.transit_latency);
        }
        let d = self.delivery_latency();
        s.delivery_latency_p50_ms = d.quantile(0.5);
        s.delivery_latency_p90_ms = d.quantile(0.9);
        s.delivery_latency_p99_ms = d.quantile(0.99);
        s.delivery_latency_max_ms = d.max();
        s.transit_latency_p50_ms = transit.quantile(0.5);
        s.transit_latency_p99_ms = transit.quantile(0.99);
        s
    }

    /// Two CSV tables, nodes then links, separated by a blank line.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "node,packets_sent,bytes_sent,packets_received,bytes_received,deliveries,latency_p50_ms,latency_p99_ms,latency_max_ms\n",
        );
        for (i, n) in self.nodes.iter().enumerate() {
            let h = &n.delivery_latency;
            let _ = writeln!(
                out,
                "{i},{},{},{},{},{},{},{},{}",
                n.packets_sent,
                n.bytes_sent,
                n.packets_received,
                n.bytes_received,
                n.deliveries,
                h.quantile(0.5),
                h.quantile(0.99),
                h.max()
            );
        }
        out.push_str("\nfrom,to,packets_sent,bytes_sent,packets_delivered,bytes_delivered,lost,cut,duplicated,transit_p50_ms,transit_p99_ms\n");
        for ((a, b), l) in &self.links {
            let h = &l.transit_latency;
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{}",
                a.0,
                b.0,
                l.packets_sent,
                l.bytes_sent,
                l.packets_delivered,
                l.bytes_delivered,
                l.lost,
                l.cut,
                l.duplicated,
                h.quantile(0.5),
                h.quantile(0.99)
            );
        }
        out
    }

    /// One JSON document: `summary`, `nodes` and `links` arrays.
    pub fn to_json(&self, end_time_ms: u64) -> String {
        let nodes: Vec<serde_json::Value> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                serde_json::json!({
                    "node": i,
                    "packets_sent": n.packets_sent,
                    "bytes_sent": n.bytes_sent,
                    "packets_received": n.packets_received,
                    "bytes_received": n.bytes_received,
                    "deliveries": n.deliveries,
                    "latency_p50_ms": n.delivery_latency.quantile(0.5),
                    "latency_p99_ms": n.delivery_latency.quantile(0.99),
                    "latency_max_ms": n.delivery_latency.max(),
                })
            })
            .collect();
        let links: Vec<serde_json::Value> = self
            .links
            .iter()
            .map(|((a, b), l)| {
                serde_json::json!({
                    "from": a.0,
                    "to": b.0,
                    "packets_sent": l.packets_sent,
                    "bytes_sent": l.bytes_sent,
                    "packets_delivered": l.packets_delivered,
                    "bytes_delivered": l.bytes_delivered,
                    "lost": l.lost,
                    "cut": l.cut,
                    "duplicated": l.duplicated,
                    "transit_p50_ms": l.transit_latency.quantile(0.5),
                    "transit_p99_ms": l.transit_latency.quantile(0.99),
                })
            })
            .collect();
        serde_json::json!({
            "summary": self.summary(end_time_ms),
            "nodes": nodes,
            "links": links,
        })
        .to_string()
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "sim: {} nodes, {} links, {} events, virtual end {} ms",
            self.nodes, self.links, self.events, self.end_time_ms
        )?;
        writeln!(
            f,
            "packets: {} sent ({} B), {} delivered, {} lost, {} cut, {} duplicated",
            self.packets_sent,
            self.bytes_sent,
            self.packets_delivered,
            self.packets_lost,
            self.packets_cut,
            self.packets_duplicated
        )?;
        writeln!(
            f,
            "deliveries: {}, latency p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
            self.deliveries,
            self.delivery_latency_p50_ms,
            self.delivery_latency_p90_ms,
            self.delivery_latency_p99_ms,
            self.delivery_latency_max_ms
        )?;
        write!(
            f,
            "transit latency p50 {} ms, p99 {} ms",
            self.transit_latency_p50_ms, self.transit_latency_p99_ms
        )
    }
}
