//! `scale --users 100 --json` as a separate process: 100 real Nodes over
//! a whole simulated day, every measured cell of the model's cases 1-7
//! (and the Waku runs) within 10% of the model's formula, computed here
//! from status-sim's `TrafficModel` rather than taken from the example.

mod common;

use std::process::Command;

use serde_json::Value;
use status_sim::traffic::{Case, TrafficModel};

#[test]
fn a_day_of_100_users_matches_the_model_within_ten_percent_in_every_cell() {
    let bin = common::example_binary("scale", "SCALE_EXAMPLE_BIN");
    let out = Command::new(bin)
        .args(["--users", "100", "--json", "--no-plot"])
        .output()
        .expect("run the scale example");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let model = TrafficModel::default();
    let mut seen = Vec::new();
    for case in Case::ALL {
        let variant = format!("{case:?}");
        let cell = lines
            .iter()
            .find(|v| v["variant"] == variant.as_str() && v["users"] == 100)
            .unwrap_or_else(|| panic!("no cell for {variant}"));
        assert_eq!(cell["case"], u64::from(case.number()));
        assert_eq!(cell["mode"], case.mode());
        let want = model.load(case, 100);
        let measured = cell["measured"].as_f64().expect("measured");
        let ratio = measured / want;
        assert!(
            (0.9..=1.1).contains(&ratio),
            "{variant}: measured {measured} bytes/day, model {want}, ratio {ratio}"
        );
        assert!((cell["ratio"].as_f64().expect("ratio") - ratio).abs() < 1e-9);
        seen.push(case.mode());
    }
    assert_eq!(seen.iter().filter(|m| **m == "whisper").count(), 7);
    assert_eq!(seen.iter().filter(|m| **m == "waku").count(), 2);
}
