//! Simulator wall time against node count: MVDS groups of 10 (each
//! message to its 9 group peers, 10% loss, batch mode), 10 messages per
//! node, at 10, 100 and 1000 nodes. The 1000-node case is the issue's
//! target scenario (100 groups, 10k messages, under 10 s). Before the
//! criterion runs, one run per size prints its wall time and the resident
//! memory it added (Linux `/proc/self/statm`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use status_mvds::Mode;

#[path = "../../crates/status-mvds/tests/common/scenario.rs"]
mod scenario;

fn scenario(nodes: usize) -> scenario::Scenario {
    scenario::Scenario {
        mode: Mode::Batch,
        groups: nodes / 10,
        peers: 10,
        messages: nodes * 10,
        // 10k messages over 100 s of virtual time at 1000 nodes.
        interval_ms: 10_000 / nodes as u64,
        loss: 0.1,
        ..scenario::Scenario::default()
    }
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// CPU time of this process (user + system) from `/proc/self/stat`, in
/// seconds: the machine is shared, so wall time alone overstates cost.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn report() {
    for nodes in [10, 100, 1000] {
        let s = scenario(nodes);
        let before = rss_bytes();
        let (wall, cpu) = (std::time::Instant::now(), cpu_seconds());
        let mut sim = scenario::build(&s);
        let built = rss_bytes();
        let start = sim.now();
        // Run to the end of the sending window, where in-flight state peaks.
        sim.run_until(start + std::time::Duration::from_millis(s.messages as u64 * s.interval_ms));
        let in_flight: usize = (0..sim.len())
            .map(|i| {
                sim.node(status_sim::NodeIndex(i as u32))
                    .unwrap()
                    .mvds
                    .in_flight()
            })
            .sum();
        let mid = rss_bytes();
        let idle = sim.run_until_idle(start + std::time::Duration::from_secs(24 * 3600));
        let (wall, cpu) = (wall.elapsed(), cpu_seconds() - cpu);
        let o = scenario::outcome(&s, &sim, idle);
        assert_eq!(o.delivered, o.expected);
        println!(
            "sim/mvds_groups nodes={nodes} messages={} deliveries={} events={} wall={:.3}s cpu={cpu:.2}s \
             rss_after_build=+{} KiB rss_at_send_end=+{} KiB in_flight_at_send_end={in_flight}",
            s.messages,
            o.delivered,
            o.events,
            wall.as_secs_f64(),
            built.saturating_sub(before) / 1024,
            mid.saturating_sub(before) / 1024,
        );
        drop(sim);
    }
}

fn node_count(c: &mut Criterion) {
    report();
    let mut group = c.benchmark_group("sim/mvds_groups");
    group.sample_size(10);
    for nodes in [10, 100, 1000] {
        let s = scenario(nodes);
        group.throughput(Throughput::Elements(s.messages as u64));
        group.bench_with_input(BenchmarkId::from_parameter(nodes), &s, |b, s| {
            b.iter(|| {
                let (o, _) = scenario::run(s);
                assert_eq!(o.delivered, o.expected);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, node_count);
criterion_main!(benches);
