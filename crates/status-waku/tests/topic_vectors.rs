//! status-go v0.55.1 vectors for the 10/WAKU-USAGE derivations
//! (status-go/status_topics.json), every case of each kind.
//!
//! Kinds checked here, and how:
//! - `public_chat`: topic and symmetric key (PBKDF2) of `name`.
//! - `discovery_topic`: `name` is our contact-discovery name and its topic.
//! - `identity_topics`: from `key` (whose private and public halves must
//!   agree), the partitioned, personal discovery and contact-code topic
//!   names and topics, and the contact-code key.
//! - `negotiated`: the ECDH secret from both sides, the topic from both
//!   sides and the symmetric key.
//!
//! `one_to_one_group_id` (and the `negotiated_chat_id_on_alice_side` of
//! `negotiated`) are chat-layer derivations, not Waku ones: they belong to
//! the payload layer's tests.

use serde_json::Value;
use status_core::{PublicKey, SecretKey};
use status_vectors::{cases, description, hex_field, str_field, Coverage};
use status_waku::topic::{
    contact_code_topic_name, negotiated_secret, negotiated_symmetric_key, partitioned_topic_name,
    personal_discovery_topic_name, symmetric_key_from_password,
};
use status_waku::Topic;

const FILE: &str = "status-go/status_topics.json";

fn topic(c: &Value, k: &str) -> Topic {
    Topic::from_slice(&hex_field(c, k))
        .unwrap_or_else(|| panic!("{}: `{k}` is not a 4-byte topic", description(c)))
}

/// The key pair `who` of case `c`; its two halves must agree.
fn pair(c: &Value, who: &str) -> (SecretKey, PublicKey) {
    let what = description(c);
    let v = &c[who];
    let sk = SecretKey::from_bytes(&hex_field(v, "private"))
        .unwrap_or_else(|e| panic!("{what}: {who}.private: {e:?}"));
    let pk = PublicKey::from_slice(&hex_field(v, "public_uncompressed"))
        .unwrap_or_else(|e| panic!("{what}: {who}.public_uncompressed: {e:?}"));
    assert_eq!(sk.public_key(), pk, "{what}: {who}");
    assert_eq!(
        pk.to_compressed().to_vec(),
        hex_field(v, "public_compressed"),
        "{what}: {who}.public_compressed"
    );
    (sk, pk)
}

#[test]
fn every_derivation_matches_status_go() {
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for c in &all {
        let what = description(c);
        let kind = str_field(c, "kind");
        match kind {
            "public_chat" => {
                let name = str_field(c, "name");
                assert_eq!(Topic::from_name(name), topic(c, "topic"), "{what}: topic");
                assert_eq!(
                    symmetric_key_from_password(name).to_vec(),
                    hex_field(c, "sym_key"),
                    "{what}: sym_key"
                );
            }
            "discovery_topic" => {
                let name = str_field(c, "name");
                assert_eq!(name, status_waku::topic::CONTACT_DISCOVERY, "{what}: name");
                assert_eq!(Topic::from_name(name), topic(c, "topic"), "{what}");
                assert_eq!(Topic::contact_discovery(), topic(c, "topic"), "{what}");
            }
            "identity_topics" => {
                let (_, pk) = pair(c, "key");
                assert_eq!(
                    partitioned_topic_name(&pk),
                    str_field(c, "partitioned_topic_name"),
                    "{what}"
                );
                assert_eq!(
                    Topic::partitioned(&pk),
                    topic(c, "partitioned_topic"),
                    "{what}"
                );
                assert_eq!(
                    personal_discovery_topic_name(&pk),
                    str_field(c, "personal_discovery_topic_name"),
                    "{what}"
                );
                assert_eq!(
                    Topic::personal_discovery(&pk),
                    topic(c, "personal_discovery_topic"),
                    "{what}"
                );
                let cc = contact_code_topic_name(&pk);
                assert_eq!(cc, str_field(c, "contact_code_topic_name"), "{what}");
                assert_eq!(
                    Topic::from_name(&cc),
                    topic(c, "contact_code_topic"),
                    "{what}"
                );
                assert_eq!(
                    symmetric_key_from_password(&cc).to_vec(),
                    hex_field(c, "contact_code_sym_key"),
                    "{what}"
                );
            }
            "negotiated" => {
                let (alice, alice_pub) = pair(c, "alice");
                let (bob, bob_pub) = pair(c, "bob");
                assert_eq!(
                    negotiated_secret(&alice, &bob_pub).to_vec(),
                    hex_field(c, "shared_secret"),
                    "{what}: shared_secret"
                );
                assert_eq!(
                    negotiated_secret(&bob, &alice_pub).to_vec(),
                    hex_field(c, "shared_secret_from_bob_side"),
                    "{what}: shared_secret_from_bob_side"
                );
                assert_eq!(
                    Topic::negotiated(&alice, &bob_pub),
                    topic(c, "topic"),
                    "{what}"
                );
                assert_eq!(
                    Topic::negotiated(&bob, &alice_pub),
                    topic(c, "topic"),
                    "{what}"
                );
                assert_eq!(
                    negotiated_symmetric_key(&alice, &bob_pub).to_vec(),
                    hex_field(c, "sym_key"),
                    "{what}: sym_key"
                );
            }
            "one_to_one_group_id" => {
                seen.elsewhere();
                continue;
            }
            k => panic!("{what}: unknown case kind {k}"),
        }
        seen.check(kind);
    }
    seen.finish(&[
        "public_chat",
        "discovery_topic",
        "identity_topics",
        "negotiated",
    ]);
}
