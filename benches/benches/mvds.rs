//! MVDS hot path: batch-mode messages between two peers, directly (the
//! status-go anchor: "MVDS batch mode between two in-memory nodes, 100 B")
//! and through status-sim (encode, link, decode, ack).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use status_core::Timestamp;
use status_mvds::{decode_payload, encode_payload, Config, GroupId, Mode, Mvds, Output};

#[path = "../../crates/status-mvds/tests/common/scenario.rs"]
mod scenario;

const BATCH: usize = 1000;

/// `n` messages of 100 B from a to b: send, one payload out, decode,
/// receive, ack payload back, delivered.
fn exchange(
    a: &mut Mvds<u8>,
    b: &mut Mvds<u8>,
    now: &mut Timestamp,
    n: usize,
    wire: &mut Vec<u8>,
    round: &mut u64,
) {
    let group = GroupId([1; 32]);
    let mut body = [0u8; 100];
    for _ in 0..n {
        *round += 1;
        body[..8].copy_from_slice(&round.to_le_bytes());
        a.send(*now, group, &[1], body.to_vec()).expect("bound");
    }
    let mut received = 0;
    let mut delivered = 0;
    for _ in 0..2 {
        *now = now.saturating_add(std::time::Duration::from_millis(300));
        a.handle_timeout(*now);
        while let Some(out) = a.poll_output() {
            if let Output::Transmit { payload, .. } = out {
                wire.clear();
                encode_payload(&payload, wire);
                let p = decode_payload(wire, usize::MAX).expect("decode");
                b.handle_payload(*now, &0, p).expect("payload");
            }
        }
        b.handle_timeout(*now);
        while let Some(out) = b.poll_output() {
            match out {
                Output::Received { .. } => received += 1,
                Output::Transmit { payload, .. } => {
                    wire.clear();
                    encode_payload(&payload, wire);
                    let p = decode_payload(wire, usize::MAX).expect("decode");
                    a.handle_payload(*now, &1, p).expect("payload");
                }
                Output::Delivered { .. } => {}
            }
        }
        while let Some(out) = a.poll_output() {
            if let Output::Delivered { .. } = out {
                delivered += 1;
            }
        }
    }
    assert_eq!((received, delivered), (n, n));
    assert_eq!(a.in_flight(), 0);
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
    // utime and stime are fields 14 and 15 (11 and 12 after the name).
    (ticks(11) + ticks(12)) / 100.0
}

/// 200k messages in batches of 1000, timed by wall clock and CPU time.
fn report() {
    let mut now = Timestamp::from_secs(1_600_000_000);
    let config = Config {
        max_payload_records: usize::MAX,
        max_pending_acks: usize::MAX,
        ..Config::default()
    };
    let mut a: Mvds<u8> = Mvds::new(config.clone(), now);
    let mut b: Mvds<u8> = Mvds::new(config, now);
    let mut wire = Vec::new();
    let mut round = 0u64;
    let total = 200_000;
    let (wall, cpu) = (std::time::Instant::now(), cpu_seconds());
    for _ in 0..total / BATCH {
        exchange(&mut a, &mut b, &mut now, BATCH, &mut wire, &mut round);
    }
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!(
        "mvds/batch_two_peers report: {total} messages of 100 B, wall {wall:.3} s = {:.0} msg/s, \
         cpu {cpu:.2} s = {:.0} msg/s",
        total as f64 / wall,
        total as f64 / cpu.max(0.01)
    );
}

fn batch_two_peers(c: &mut Criterion) {
    report();
    let mut group = c.benchmark_group("mvds/batch_two_peers");
    for n in [1, 100, BATCH] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, &n| {
            let mut now = Timestamp::from_secs(1_600_000_000);
            let config = Config {
                max_payload_records: usize::MAX,
                max_pending_acks: usize::MAX,
                ..Config::default()
            };
            let mut a: Mvds<u8> = Mvds::new(config.clone(), now);
            let mut b: Mvds<u8> = Mvds::new(config, now);
            let mut wire = Vec::new();
            let mut round = 0u64;
            bench.iter(|| exchange(&mut a, &mut b, &mut now, n, &mut wire, &mut round));
        });
    }
    group.finish();
}

/// The same through status-sim: two nodes, 1000 messages 1 ms apart over
/// a clean 20-120 ms link, until every ack is in.
fn batch_two_peers_in_sim(c: &mut Criterion) {
    let mut group = c.benchmark_group("mvds/sim_two_peers");
    for mode in [Mode::Batch, Mode::Interactive] {
        let s = scenario::Scenario {
            mode,
            peers: 2,
            messages: BATCH,
            interval_ms: 1,
            ..scenario::Scenario::default()
        };
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(scenario::mode_name(mode), |bench| {
            bench.iter(|| {
                let (o, _) = scenario::run(&s);
                assert_eq!(o.delivered, o.expected);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, batch_two_peers, batch_two_peers_in_sim);
criterion_main!(benches);
