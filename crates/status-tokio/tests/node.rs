//! A whole Node on Tokio over loopback: the scenarios of
//! tests/node_scenarios, shared with status-smol.

mod node_scenarios;

use status_tokio::Tokio;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn twenty_nodes_from_one_bootnode_list() {
    block_on(node_scenarios::twenty_nodes_from_one_bootnode_list::<Tokio>());
}

#[test]
fn a_dns_list_leads_to_its_nodes() {
    block_on(node_scenarios::a_dns_list_leads_to_its_nodes::<Tokio>());
}

#[test]
fn shutdown_says_goodbye() {
    block_on(node_scenarios::shutdown_says_goodbye::<Tokio>());
}
