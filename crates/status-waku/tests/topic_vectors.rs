//! status-go v0.55.1 vectors for the 10/WAKU-USAGE derivations
//! (status-go/status_topics.json): topics, public-chat keys, partitioned,
//! personal discovery, contact code and negotiated topics.

use serde_json::Value;
use status_core::{PublicKey, SecretKey};
use status_vectors::{cases, hex_field};
use status_waku::topic::{
    contact_code_topic_name, negotiated_secret, negotiated_symmetric_key, partitioned_topic_name,
    personal_discovery_topic_name, symmetric_key_from_password,
};
use status_waku::Topic;

const FILE: &str = "status-go/status_topics.json";

fn topic(c: &Value, k: &str) -> Topic {
    Topic::from_slice(&hex_field(c, k)).expect("4-byte topic")
}

fn s<'a>(c: &'a Value, k: &str) -> &'a str {
    c[k].as_str().unwrap_or_else(|| panic!("{k} missing"))
}

fn public(c: &Value) -> PublicKey {
    let pk = PublicKey::from_slice(&hex_field(c, "public_uncompressed")).unwrap();
    assert_eq!(
        pk.to_compressed().to_vec(),
        hex_field(c, "public_compressed")
    );
    pk
}

#[test]
fn every_derivation_matches_status_go() {
    let mut counts = [0usize; 4];
    for c in cases(FILE) {
        match s(&c, "kind") {
            "public_chat" => {
                let name = s(&c, "name");
                assert_eq!(Topic::from_name(name), topic(&c, "topic"));
                assert_eq!(
                    symmetric_key_from_password(name).to_vec(),
                    hex_field(&c, "sym_key")
                );
                counts[0] += 1;
            }
            "discovery_topic" => {
                assert_eq!(s(&c, "name"), status_waku::topic::CONTACT_DISCOVERY);
                assert_eq!(Topic::contact_discovery(), topic(&c, "topic"));
                counts[1] += 1;
            }
            "identity_topics" => {
                let pk = public(&c["key"]);
                let sk = SecretKey::from_bytes(&hex_field(&c["key"], "private")).unwrap();
                assert_eq!(sk.public_key(), pk);
                assert_eq!(partitioned_topic_name(&pk), s(&c, "partitioned_topic_name"));
                assert_eq!(Topic::partitioned(&pk), topic(&c, "partitioned_topic"));
                assert_eq!(
                    personal_discovery_topic_name(&pk),
                    s(&c, "personal_discovery_topic_name")
                );
                assert_eq!(
                    Topic::personal_discovery(&pk),
                    topic(&c, "personal_discovery_topic")
                );
                let cc = contact_code_topic_name(&pk);
                assert_eq!(cc, s(&c, "contact_code_topic_name"));
                assert_eq!(Topic::from_name(&cc), topic(&c, "contact_code_topic"));
                assert_eq!(
                    symmetric_key_from_password(&cc).to_vec(),
                    hex_field(&c, "contact_code_sym_key")
                );
                counts[2] += 1;
            }
            "negotiated" => {
                let alice = SecretKey::from_bytes(&hex_field(&c["alice"], "private")).unwrap();
                let bob = SecretKey::from_bytes(&hex_field(&c["bob"], "private")).unwrap();
                let (alice_pub, bob_pub) = (public(&c["alice"]), public(&c["bob"]));
                assert_eq!(
                    negotiated_secret(&alice, &bob_pub).to_vec(),
                    hex_field(&c, "shared_secret")
                );
                assert_eq!(
                    negotiated_secret(&bob, &alice_pub).to_vec(),
                    hex_field(&c, "shared_secret_from_bob_side")
                );
                assert_eq!(Topic::negotiated(&alice, &bob_pub), topic(&c, "topic"));
                assert_eq!(Topic::negotiated(&bob, &alice_pub), topic(&c, "topic"));
                assert_eq!(
                    negotiated_symmetric_key(&alice, &bob_pub).to_vec(),
                    hex_field(&c, "sym_key")
                );
                counts[3] += 1;
            }
            // The MVDS one-to-one group id is an MVDS derivation, not a Waku
            // one: the status-mvds vector tests cover it.
            "one_to_one_group_id" => {}
            k => panic!("unknown case kind {k}"),
        }
    }
    assert_eq!(counts, [5, 1, 3, 1], "cases per kind");
}
