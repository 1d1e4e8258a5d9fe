//! 2/MVDS in the deterministic simulator: one group of `--peers` nodes,
//! `--messages` messages sent round-robin over lossy, reordering links,
//! run once per mode; prints delivery ratio, duplicates, bandwidth and
//! latency percentiles.
//!
//! ```text
//! cargo run --release --example mvds-sim -- --peers 20 --loss 0.3 --messages 1000 --seed 7
//! cargo run --release --example mvds-sim -- --peers 20 --loss 0.3 --messages 1000 --seed 7 --json
//! ```
//! Options: `--mode batch|interactive|both` (default both), `--body BYTES`
//! (100), `--reorder P` (0.2), `--partition FROM_MS:UNTIL_MS` (cuts half
//! the group off), `--csv PREFIX` (writes PREFIX-<mode>.csv with per-node
//! and per-link metrics).

#[path = "../crates/status-mvds/tests/common/scenario.rs"]
mod scenario;

use scenario::{mode_name, run, Scenario};
use status_mvds::Mode;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use lexopt::prelude::*;
    let mut s = Scenario {
        peers: 20,
        messages: 1000,
        loss: 0.3,
        reorder: 0.2,
        interval_ms: 20,
        seed: 7,
        ..Scenario::default()
    };
    let mut json = false;
    let mut modes = vec![Mode::Batch, Mode::Interactive];
    let mut csv: Option<String> = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("peers") => s.peers = parser.value()?.parse()?,
            Long("messages") => s.messages = parser.value()?.parse()?,
            Long("loss") => s.loss = parser.value()?.parse()?,
            Long("reorder") => s.reorder = parser.value()?.parse()?,
            Long("seed") => s.seed = parser.value()?.parse()?,
            Long("body") => s.body_size = parser.value()?.parse()?,
            Long("json") => json = true,
            Long("csv") => csv = Some(parser.value()?.string()?),
            Long("partition") => {
                let v = parser.value()?.string()?;
                let (a, b) = v.split_once(':').ok_or("--partition FROM_MS:UNTIL_MS")?;
                s.partition = Some((a.parse()?, b.parse()?));
            }
            Long("mode") => {
                modes = match parser.value()?.string()?.as_str() {
                    "batch" => vec![Mode::Batch],
                    "interactive" => vec![Mode::Interactive],
                    "both" => vec![Mode::Batch, Mode::Interactive],
                    other => return Err(format!("unknown mode {other}").into()),
                }
            }
            Long("help") | Short('h') => {
                println!(
                    "usage: mvds-sim [--peers N] [--messages N] [--loss P] [--reorder P] [--seed N] \
                     [--body BYTES] [--mode batch|interactive|both] [--partition FROM_MS:UNTIL_MS] \
                     [--csv PREFIX] [--json]"
                );
                return Ok(());
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if s.peers < 2 {
        return Err("--peers must be at least 2".into());
    }
    for mode in modes {
        let scenario = Scenario { mode, ..s.clone() };
        let wall = std::time::Instant::now();
        let (o, sim) = run(&scenario);
        let wall = wall.elapsed();
        if let Some(prefix) = &csv {
            std::fs::write(format!("{prefix}-{}.csv", mode_name(mode)), sim.to_csv())?;
        }
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "mode": mode_name(mode),
                    "peers": s.peers,
                    "messages": s.messages,
                    "loss": s.loss,
                    "seed": s.seed,
                    "delivered_ratio": o.delivered_ratio(),
                    "duplicates_delivered": o.duplicates_delivered,
                    "payloads_sent": o.payloads_sent,
                    "bytes_sent": o.bytes_sent,
                    "retransmissions": o.retransmissions,
                    "latency_p50_ms": o.latency_p50_ms,
                    "latency_p99_ms": o.latency_p99_ms,
                    "virtual_ms": o.virtual_ms,
                    "events": o.events,
                    "wall_ms": wall.as_millis() as u64,
                })
            );
        } else {
            println!(
                "{:<11} peers {} messages {} loss {:.0}% seed {}",
                mode_name(mode),
                s.peers,
                s.messages,
                s.loss * 100.0,
                s.seed
            );
            println!(
                "  delivered {}/{} ({:.4}), duplicates delivered {}, in flight left {}",
                o.delivered,
                o.expected,
                o.delivered_ratio(),
                o.duplicates_delivered,
                o.in_flight_left
            );
            println!(
                "  bandwidth {} payloads, {} bytes ({} B per delivery), {} retransmissions",
                o.payloads_sent,
                o.bytes_sent,
                o.bytes_sent / o.delivered.max(1),
                o.retransmissions
            );
            println!(
                "  latency p50 {} ms, p99 {} ms; virtual {:.1} s, {} events, wall {:.0} ms",
                o.latency_p50_ms,
                o.latency_p99_ms,
                o.virtual_ms as f64 / 1000.0,
                o.events,
                wall.as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}
