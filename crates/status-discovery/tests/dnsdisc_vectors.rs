//! EIP-1459 examples (spec/dnsdisc-eip1459.json): the `enrtree://` URL and
//! every record of the example zone, parsed, re-formatted, hash-checked and
//! resolved.
//!
//! Every expected value comes from the file: the root's sequence number and
//! subtree hashes from the root record, the linked domains from the link
//! records, whether a walk completes from which referenced names the zone
//! holds, and whether the root verifies under the URL's key from whether
//! that key is the zone's (it is not in the EIP: see the file's erratum).

use std::collections::HashMap;

use serde_json::Value;
use status_core::{PublicKey, Timestamp};
use status_discovery::dnsdisc::{
    Config, Entry, EntryHash, Event, Link, Resolver, Root, TxtRecord, ROOT_PREFIX,
};
use status_discovery::Error;

const FILE: &str = "spec/dnsdisc-eip1459.json";

fn zone_key(v: &Value) -> PublicKey {
    PublicKey::from_slice(&status_vectors::hex_field(
        &v["url_example"],
        "public_key_uncompressed",
    ))
    .unwrap()
}

fn zone(v: &Value) -> Vec<(String, u32, String)> {
    let domain = v["url_example"]["domain"].as_str().unwrap();
    v["zone_example"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["type"], "TXT");
            let name = r["name"].as_str().unwrap();
            let fqdn = if name == "@" {
                domain.to_owned()
            } else {
                format!("{name}.{domain}")
            };
            (
                fqdn,
                r["ttl"].as_u64().unwrap() as u32,
                r["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The zone's records, parsed: (fqdn, label, content, entry or root).
enum Parsed {
    Root(Root),
    Entry(Entry),
}

fn parsed(records: &[(String, u32, String)]) -> Vec<(String, Parsed)> {
    records
        .iter()
        .map(|(name, _, content)| {
            let p = if content.starts_with(ROOT_PREFIX) {
                Parsed::Root(content.parse().unwrap_or_else(|e| panic!("{name}: {e}")))
            } else {
                Parsed::Entry(content.parse().unwrap_or_else(|e| panic!("{name}: {e}")))
            };
            (name.clone(), p)
        })
        .collect()
}

/// The one root of the zone (a tree has one root, at the list's domain).
fn root_of(v: &Value) -> Root {
    let domain = v["url_example"]["domain"].as_str().unwrap();
    let roots: Vec<Root> = parsed(&zone(v))
        .into_iter()
        .filter_map(|(name, p)| match p {
            Parsed::Root(r) => {
                assert_eq!(name, domain, "the root sits at the list's domain");
                Some(r)
            }
            Parsed::Entry(_) => None,
        })
        .collect();
    assert_eq!(roots.len(), 1, "a zone has exactly one root");
    roots.into_iter().next().unwrap()
}

#[test]
fn url_example_parses_and_round_trips() {
    let v = status_vectors::load_json(FILE);
    let url = v["url_example"]["url"].as_str().unwrap();
    let link: Link = url.parse().unwrap();
    assert_eq!(link.domain, v["url_example"]["domain"].as_str().unwrap());
    assert_eq!(link.to_string(), url);
}

#[test]
fn every_zone_record_parses_round_trips_and_matches_its_hash() {
    let v = status_vectors::load_json(FILE);
    let key = zone_key(&v);
    let records = zone(&v);
    let labels: Vec<&str> = records
        .iter()
        .map(|(name, _, _)| name.split('.').next().unwrap())
        .collect();
    let root = root_of(&v);
    root.verify(&key).unwrap();
    for hash in [&root.enr_root, &root.link_root] {
        assert!(
            labels.contains(&hash.to_string().as_str()),
            "root names {hash}, not in the zone"
        );
    }
    for ((name, _ttl, content), (_, p)) in records.iter().zip(parsed(&records)) {
        let entry = match p {
            Parsed::Root(r) => {
                assert_eq!(r.to_string(), *content, "{name}");
                continue;
            }
            Parsed::Entry(e) => e,
        };
        let label = name.split('.').next().unwrap();
        assert_eq!(EntryHash::of(content).to_string(), label, "{content}");
        let hash: EntryHash = label.parse().unwrap();
        assert!(hash.matches(content), "{name}");
        assert_eq!(entry.to_string(), *content, "{name}");
        match entry {
            Entry::Branch(children) => {
                assert!(!children.is_empty(), "{name}: empty branch");
                for child in children {
                    assert!(
                        labels.contains(&child.to_string().as_str()),
                        "{name}: child {child} not in the zone"
                    );
                }
            }
            Entry::Enr(enr) => assert_eq!(enr.to_text(), *content, "{name}"),
            Entry::Link(link) => assert_eq!(link.to_string(), *content, "{name}"),
        }
    }
}

#[test]
fn zone_root_verifies_exactly_under_the_zone_key() {
    let v = status_vectors::load_json(FILE);
    let url_key = v["url_example"]["url"]
        .as_str()
        .unwrap()
        .parse::<Link>()
        .unwrap()
        .public_key;
    let root = root_of(&v);
    root.verify(&zone_key(&v)).unwrap();
    if url_key == zone_key(&v) {
        root.verify(&url_key).unwrap();
    } else {
        assert_eq!(root.verify(&url_key), Err(Error::InvalidRootSignature));
    }
}

#[test]
fn resolver_walks_the_example_zone() {
    let v = status_vectors::load_json(FILE);
    let domain = v["url_example"]["domain"].as_str().unwrap();
    let records = zone(&v);
    let zone: HashMap<String, (u32, String)> = records
        .iter()
        .map(|(n, t, c)| (n.clone(), (*t, c.clone())))
        .collect();
    let root = root_of(&v);
    // What the zone says the walk must find.
    let mut expected_nodes = Vec::new();
    let mut linked = Vec::new();
    let mut complete = true;
    for (name, p) in parsed(&records) {
        match p {
            Parsed::Entry(Entry::Enr(enr)) => expected_nodes.push(enr.to_text()),
            Parsed::Entry(Entry::Link(link)) => linked.push(link.domain),
            Parsed::Entry(Entry::Branch(children)) => {
                complete &= children
                    .iter()
                    .all(|c| zone.contains_key(&format!("{c}.{domain}")));
            }
            Parsed::Root(_) => assert_eq!(name, domain),
        }
    }
    for hash in [&root.enr_root, &root.link_root] {
        complete &= zone.contains_key(&format!("{hash}.{domain}"));
    }
    assert!(!expected_nodes.is_empty(), "the zone has no node records");

    let now = Timestamp::from_secs(1_700_000_000);
    let mut r = Resolver::new(Config::default());
    r.add_tree(now, Link::new(zone_key(&v), domain).unwrap())
        .unwrap();
    let mut events = Vec::new();
    let mut unanswered = Vec::new();
    loop {
        while let Some(lookup) = r.poll_lookup() {
            match zone.get(&lookup.name) {
                Some((ttl, text)) => r
                    .handle_answer(
                        now,
                        &lookup.name,
                        &[TxtRecord {
                            ttl_secs: *ttl,
                            text,
                        }],
                    )
                    .unwrap(),
                None => unanswered.push(lookup.name),
            }
        }
        while let Some(ev) = r.poll_event() {
            events.push(ev);
        }
        match unanswered.pop() {
            Some(name) => r.handle_failure(now, &name).unwrap(),
            None => break,
        }
    }
    let mut got: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Node { domain: d, enr } if d == domain => Some(enr.to_text()),
            _ => None,
        })
        .collect();
    got.sort();
    expected_nodes.sort();
    assert_eq!(got, expected_nodes);
    assert!(events.contains(&Event::RootUpdated {
        domain: domain.into(),
        seq: root.seq
    }));
    assert!(events.contains(&Event::Synced {
        domain: domain.into(),
        seq: root.seq,
        complete
    }));
    for other in &linked {
        assert!(
            events.iter().any(|e| matches!(e,
                Event::LinkFound { link, .. } if link.domain == *other)),
            "link to {other} not found"
        );
        // A linked list outside the example zone: its root lookup fails.
        let in_zone = zone
            .keys()
            .any(|n| n == other || n.ends_with(&format!(".{other}")));
        if !in_zone {
            assert!(
                events.iter().any(|e| matches!(e,
                    Event::Failed { domain, error: None, .. } if domain == other)),
                "linked list {other} outside the zone did not fail"
            );
        }
    }
    assert_eq!(r.root(domain).unwrap().seq, root.seq);
}
