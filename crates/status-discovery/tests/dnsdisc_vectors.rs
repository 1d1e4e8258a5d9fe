//! EIP-1459 examples (spec/dnsdisc-eip1459.json): the `enrtree://` URL and
//! every record of the example zone, parsed, re-formatted, hash-checked and
//! resolved.

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

#[test]
fn url_example_parses_and_round_trips() {
    let v = status_vectors::load_json(FILE);
    let url = v["url_example"]["url"].as_str().unwrap();
    let link: Link = url.parse().unwrap();
    assert_eq!(link.domain, v["url_example"]["domain"].as_str().unwrap());
    assert_eq!(link.to_string(), url);
    // Erratum (see the file's erratum_note): the URL's key is not the key
    // that signed the zone example.
    assert_ne!(link.public_key, zone_key(&v));
}

#[test]
fn every_zone_record_parses_round_trips_and_matches_its_hash() {
    let v = status_vectors::load_json(FILE);
    let key = zone_key(&v);
    let records = zone(&v);
    assert_eq!(
        records.len(),
        v["zone_example"]["records"].as_array().unwrap().len()
    );
    let mut roots = 0;
    for (name, _ttl, content) in &records {
        if content.starts_with(ROOT_PREFIX) {
            roots += 1;
            let root: Root = content.parse().unwrap();
            root.verify(&key).unwrap();
            assert_eq!(root.to_string(), *content);
            assert_eq!(root.seq, 1);
            continue;
        }
        let label = name.split('.').next().unwrap();
        assert_eq!(EntryHash::of(content).to_string(), label, "{content}");
        let hash: EntryHash = label.parse().unwrap();
        assert!(hash.matches(content));
        let entry: Entry = content.parse().unwrap();
        assert_eq!(entry.to_string(), *content);
        match entry {
            Entry::Branch(children) => assert_eq!(children.len(), 3),
            Entry::Enr(enr) => assert_eq!(enr.to_text(), *content),
            Entry::Link(link) => assert_eq!(link.domain, "morenodes.example.org"),
        }
    }
    assert_eq!(roots, 1);
}

#[test]
fn zone_root_is_rejected_under_the_url_key() {
    let v = status_vectors::load_json(FILE);
    let url_key = v["url_example"]["url"]
        .as_str()
        .unwrap()
        .parse::<Link>()
        .unwrap()
        .public_key;
    let (_, _, root) = zone(&v)
        .into_iter()
        .find(|r| r.2.starts_with(ROOT_PREFIX))
        .unwrap();
    let root: Root = root.parse().unwrap();
    assert_eq!(root.verify(&url_key), Err(Error::InvalidRootSignature));
}

#[test]
fn resolver_walks_the_example_zone() {
    let v = status_vectors::load_json(FILE);
    let domain = v["url_example"]["domain"].as_str().unwrap();
    let zone: HashMap<String, (u32, String)> =
        zone(&v).into_iter().map(|(n, t, c)| (n, (t, c))).collect();
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
    let nodes: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Node { domain: d, enr } => {
                assert_eq!(d, domain);
                Some(enr.to_text())
            }
            _ => None,
        })
        .collect();
    let mut expected: Vec<String> = zone
        .values()
        .filter(|(_, c)| c.starts_with("enr:"))
        .map(|(_, c)| c.clone())
        .collect();
    let mut got = nodes.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert!(events.contains(&Event::RootUpdated {
        domain: domain.into(),
        seq: 1
    }));
    assert!(events.iter().any(|e| matches!(e,
        Event::LinkFound { link, .. } if link.domain == "morenodes.example.org")));
    assert!(events.contains(&Event::Synced {
        domain: domain.into(),
        seq: 1,
        complete: true
    }));
    // The linked list is not in the example zone: its root lookup fails.
    assert!(events.iter().any(|e| matches!(e,
        Event::Failed { domain, error: None, .. } if domain == "morenodes.example.org")));
    assert_eq!(r.root(domain).unwrap().seq, 1);
}
