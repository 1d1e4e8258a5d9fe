//! Hostile peers against a whole Node on Tokio, with the process heap
//! counted (one test in this binary, so nothing else allocates).

mod node_scenarios;

use status_tokio::Tokio;

#[global_allocator]
static ALLOC: node_scenarios::Counting = node_scenarios::Counting;

#[test]
fn hostile_peers_are_cut_off_within_bounds() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(node_scenarios::hostile_peers_are_cut_off_within_bounds::<
            Tokio,
        >());
}
