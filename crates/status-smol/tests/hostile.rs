//! Hostile peers against a whole Node on smol, with the process heap
//! counted (one test in this binary, so nothing else allocates).

#[path = "../../status-tokio/tests/node_scenarios/mod.rs"]
mod node_scenarios;

use status_smol::Smol;

#[global_allocator]
static ALLOC: node_scenarios::Counting = node_scenarios::Counting;

#[test]
fn hostile_peers_are_cut_off_within_bounds() {
    smol::block_on(node_scenarios::hostile_peers_are_cut_off_within_bounds::<
        Smol,
    >());
}
