//! 2/MVDS in status-sim: groups of 2 to 50 peers under 30% loss,
//! reordering, duplication and a partition that heals, several seeds.

mod common;

use std::collections::BTreeMap;

use common::scenario::{run, Scenario, MESSAGE, OFFER, REQUEST};
use status_mvds::Mode;
use status_sim::NodeIndex;

fn hostile(mode: Mode, peers: usize, messages: usize, seed: u64) -> Scenario {
    Scenario {
        mode,
        peers,
        messages,
        interval_ms: 40,
        loss: 0.3,
        reorder: 0.3,
        duplicate: 0.05,
        // Cut half the group off from 1 s to 20 s of virtual time.
        partition: Some((1_000, 20_000)),
        seed,
        log_sends: true,
        ..Scenario::default()
    }
}

#[test]
fn every_message_reaches_every_peer_exactly_once_despite_loss_and_partition() {
    for (peers, messages) in [(2, 60), (5, 60), (20, 30), (50, 12)] {
        for mode in [Mode::Batch, Mode::Interactive] {
            for seed in [1, 2, 3] {
                let s = hostile(mode, peers, messages, seed);
                let (o, _) = run(&s);
                let what = format!("{mode:?} peers={peers} seed={seed}: {o:?}");
                assert!(o.idle, "{what}");
                assert_eq!(o.delivered, o.expected, "{what}");
                assert_eq!(o.duplicates_delivered, 0, "{what}");
                assert_eq!(o.in_flight_left, 0, "{what}");
                assert_eq!(o.decode_errors, 0, "{what}");
                assert!(o.retransmissions > 0, "{what}");
            }
        }
    }
}

/// Every record's transmissions, per (sender, peer, kind, id), must be
/// spaced exactly by the back-off schedule, and the number of
/// retransmissions the nodes count must be what those sequences imply.
#[test]
fn retransmissions_follow_the_backoff_schedule() {
    for mode in [Mode::Batch, Mode::Interactive] {
        for seed in [4, 5] {
            let s = hostile(mode, 8, 40, seed);
            let (o, sim) = run(&s);
            assert_eq!(o.delivered, o.expected);
            let mut implied = 0u64;
            let mut checked = 0usize;
            for i in 0..sim.len() {
                let node = sim.node(NodeIndex(i as u32)).unwrap();
                let mut seqs: BTreeMap<_, Vec<u64>> = BTreeMap::new();
                for send in node.sends.as_ref().unwrap() {
                    seqs.entry((send.peer, send.kind, send.id))
                        .or_default()
                        .push(send.epoch);
                }
                for ((_, kind, _), epochs) in &seqs {
                    // In interactive mode every REQUEST that arrives
                    // restarts the MESSAGE record's schedule (2/MVDS: the
                    // MESSAGE "is added to the next payload").
                    let strict = mode == Mode::Batch || *kind != MESSAGE;
                    assert!(matches!(*kind, OFFER | REQUEST | MESSAGE));
                    if strict {
                        for (n, w) in epochs.windows(2).enumerate() {
                            assert_eq!(
                                w[1] - w[0],
                                s.backoff.delay(n as u32 + 1),
                                "{mode:?} seed {seed}: {epochs:?}"
                            );
                        }
                        checked += epochs.len();
                        implied += epochs.len() as u64 - 1;
                    }
                }
                if mode == Mode::Batch {
                    assert_eq!(node.mvds.stats().retransmissions, implied);
                    implied = 0;
                }
            }
            assert!(checked > 0);
            if mode == Mode::Batch {
                assert!(o.retransmissions > 0);
            }
        }
    }
}

#[test]
fn batch_and_interactive_bandwidth_compared() {
    let mut rows = Vec::new();
    for body_size in [100, 2000] {
        let mut bytes = Vec::new();
        for mode in [Mode::Batch, Mode::Interactive] {
            let s = Scenario {
                body_size,
                log_sends: false,
                partition: None,
                ..hostile(mode, 10, 50, 9)
            };
            let (o, _) = run(&s);
            assert_eq!(o.delivered, o.expected);
            println!(
                "{:>11} body {body_size:>4} B: {} payloads, {} bytes, latency p50 {} ms p99 {} ms, {} retransmissions",
                format!("{mode:?}"),
                o.payloads_sent,
                o.bytes_sent,
                o.latency_p50_ms,
                o.latency_p99_ms,
                o.retransmissions
            );
            bytes.push((o.bytes_sent, o.latency_p50_ms));
            rows.push(o);
        }
        // 2/MVDS: "interactive mode is higher latency" (an extra round
        // trip before the body moves).
        assert!(bytes[1].1 > bytes[0].1, "{bytes:?}");
        // Bandwidth is printed, not asserted: with no relaying the receiver
        // never holds an offered message already, so offers and requests
        // are pure overhead here and interactive costs more bytes (measured
        // figures in the README).
    }
    assert_eq!(rows.len(), 4);
}

#[test]
fn a_peer_offline_for_a_minute_gets_everything_when_back() {
    for mode in [Mode::Batch, Mode::Interactive] {
        let s = Scenario {
            loss: 0.1,
            ..hostile(mode, 6, 30, 11)
        };
        let mut sim = common::scenario::build(&s);
        let start = sim.now();
        sim.offline(
            NodeIndex(5),
            start + std::time::Duration::from_millis(500),
            start + std::time::Duration::from_secs(60),
        );
        assert!(sim.run_until_idle(start + std::time::Duration::from_secs(3600)));
        let o = common::scenario::outcome(&s, &sim, true);
        assert_eq!(o.delivered, o.expected, "{mode:?}");
        assert_eq!(o.duplicates_delivered, 0);
        assert_eq!(o.in_flight_left, 0);
    }
}

#[test]
fn the_same_seed_replays_the_same_run_byte_for_byte() {
    let s = hostile(Mode::Interactive, 6, 20, 21);
    let (_, a) = run(&s);
    let (_, b) = run(&s);
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(a.to_csv(), b.to_csv());
    let (_, c) = run(&Scenario { seed: 22, ..s });
    assert_ne!(a.to_json(), c.to_json());
}
