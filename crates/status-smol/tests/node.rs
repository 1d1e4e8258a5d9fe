//! A whole Node on smol over loopback: the same scenarios as
//! status-tokio's tests/node.rs.

#[path = "../../status-tokio/tests/node_scenarios/mod.rs"]
mod node_scenarios;

use status_smol::Smol;

#[test]
fn twenty_nodes_from_one_bootnode_list() {
    smol::block_on(node_scenarios::twenty_nodes_from_one_bootnode_list::<Smol>());
}

#[test]
fn a_dns_list_leads_to_its_nodes() {
    smol::block_on(node_scenarios::a_dns_list_leads_to_its_nodes::<Smol>());
}

#[test]
fn shutdown_says_goodbye() {
    smol::block_on(node_scenarios::shutdown_says_goodbye::<Smol>());
}
