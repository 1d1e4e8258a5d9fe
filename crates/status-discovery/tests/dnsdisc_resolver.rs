//! The EIP-1459 client protocol against trees made by our builder: round
//! trip, tampering, sequence changes, links and bounds.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{SecretKey, Timestamp};
use status_discovery::dnsdisc::{Config, Event, Link, Resolver, Tree, TxtRecord, MAX_CHILDREN};
use status_discovery::enr::Enr;
use status_discovery::Error;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn records(n: usize, seed: u8) -> Vec<Enr> {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    (0..n)
        .map(|i| {
            Enr::builder()
                .ip4([10, 0, (i / 256) as u8, (i % 256) as u8].into())
                .tcp(30303)
                .udp(30303)
                .sign(&SecretKey::random(&mut rng))
                .unwrap()
        })
        .collect()
}

/// A DNS server: name -> (ttl, text).
#[derive(Default)]
struct Dns {
    zone: HashMap<String, (u32, String)>,
}

impl Dns {
    fn publish(&mut self, tree: &Tree, domain: &str, root_ttl: u32) {
        for (name, text) in tree.txt_records(domain) {
            let ttl = if name == domain { root_ttl } else { 86_900 };
            self.zone.insert(name, (ttl, text));
        }
    }
}

/// Answers every lookup until the resolver is idle; checks the in-flight
/// bound throughout. Returns the events.
fn drive(r: &mut Resolver, dns: &Dns, now: Timestamp, max_in_flight: usize) -> Vec<Event> {
    let mut events = Vec::new();
    let mut batch = Vec::new();
    loop {
        while let Some(l) = r.poll_lookup() {
            batch.push(l.name);
        }
        assert!(r.lookups_in_flight() <= max_in_flight);
        while let Some(e) = r.poll_event() {
            events.push(e);
        }
        let Some(name) = batch.pop() else { break };
        match dns.zone.get(&name) {
            Some((ttl, text)) => r
                .handle_answer(
                    now,
                    &name,
                    &[TxtRecord {
                        ttl_secs: *ttl,
                        text,
                    }],
                )
                .unwrap(),
            None => r.handle_failure(now, &name).unwrap(),
        }
    }
    events
}

fn nodes(events: &[Event]) -> Vec<Enr> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Node { enr, .. } => Some(enr.clone()),
            _ => None,
        })
        .collect()
}

fn list_key() -> SecretKey {
    SecretKey::from_bytes(&[0x11; 32]).unwrap()
}

fn config() -> Config {
    Config {
        max_in_flight: 4,
        rng_seed: [5; 32],
        ..Config::default()
    }
}

#[test]
fn builder_to_resolver_round_trip_finds_every_record_once() {
    let recs = records(200, 1);
    let linked_key = SecretKey::from_bytes(&[0x22; 32]).unwrap();
    let links = [Link::new(linked_key.public_key(), "linked.example.org").unwrap()];
    let tree = Tree::new(3, &recs, &links, &list_key());
    // 200 leaves need more than one level of branches.
    assert!(tree.len() > 200 + 200 / MAX_CHILDREN);
    let linked = Tree::new(1, &records(5, 2), &[], &linked_key);
    let mut dns = Dns::default();
    dns.publish(&tree, "nodes.example.org", 60);
    dns.publish(&linked, "linked.example.org", 60);

    let mut r = Resolver::new(config());
    r.add_tree(
        T0,
        Link::new(list_key().public_key(), "nodes.example.org").unwrap(),
    )
    .unwrap();
    let events = drive(&mut r, &dns, T0, 4);
    let found = nodes(&events);
    assert_eq!(found.len(), 205);
    let unique: HashSet<_> = found.iter().map(|e| e.node_id()).collect();
    assert_eq!(unique.len(), 205);
    for rec in &recs {
        assert!(unique.contains(&rec.node_id()));
    }
    for d in ["nodes.example.org", "linked.example.org"] {
        assert!(events.iter().any(|e| matches!(e,
            Event::Synced { domain, complete: true, .. } if domain == d)));
    }
    assert!(!events.iter().any(|e| matches!(e, Event::Failed { .. })));
}

#[test]
fn a_tampered_leaf_is_rejected_by_its_hash() {
    let recs = records(20, 3);
    let tree = Tree::new(1, &recs, &[], &list_key());
    let mut dns = Dns::default();
    dns.publish(&tree, "n.example", 60);
    // Replace one leaf with another valid record: the hash no longer matches.
    let victim = dns
        .zone
        .iter()
        .find(|(_, (_, t))| t.starts_with("enr:"))
        .map(|(n, _)| n.clone())
        .unwrap();
    let intruder = records(1, 99).remove(0).to_text();
    dns.zone.get_mut(&victim).unwrap().1 = intruder.clone();

    let mut r = Resolver::new(config());
    r.add_tree(T0, Link::new(list_key().public_key(), "n.example").unwrap())
        .unwrap();
    let events = drive(&mut r, &dns, T0, 4);
    assert_eq!(nodes(&events).len(), 19);
    assert!(!nodes(&events).iter().any(|e| e.to_text() == intruder));
    assert!(events.iter().any(|e| matches!(e,
        Event::Failed { name, error: Some(Error::HashMismatch), .. } if *name == victim)));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Synced {
            complete: false,
            ..
        }
    )));
}

#[test]
fn a_tampered_branch_is_rejected_by_its_hash() {
    let tree = Tree::new(1, &records(30, 4), &[], &list_key());
    let mut dns = Dns::default();
    dns.publish(&tree, "n.example", 60);
    let branch = dns
        .zone
        .iter()
        .find(|(_, (_, t))| t.starts_with("enrtree-branch:") && t.len() > 20)
        .map(|(n, _)| n.clone())
        .unwrap();
    dns.zone.get_mut(&branch).unwrap().1 = "enrtree-branch:".into();
    let mut r = Resolver::new(config());
    r.add_tree(T0, Link::new(list_key().public_key(), "n.example").unwrap())
        .unwrap();
    let events = drive(&mut r, &dns, T0, 4);
    assert!(events.iter().any(|e| matches!(e,
        Event::Failed { name, error: Some(Error::HashMismatch), .. } if *name == branch)));
    assert!(nodes(&events).len() < 30);
}

#[test]
fn a_root_with_a_bad_signature_stops_the_walk() {
    let tree = Tree::new(1, &records(5, 5), &[], &list_key());
    let mut dns = Dns::default();
    dns.publish(&tree, "n.example", 60);
    // Signed by another key than the link's.
    let other = SecretKey::from_bytes(&[0x33; 32]).unwrap();
    let mut r = Resolver::new(config());
    r.add_tree(T0, Link::new(other.public_key(), "n.example").unwrap())
        .unwrap();
    let events = drive(&mut r, &dns, T0, 4);
    assert_eq!(
        events,
        [Event::Failed {
            domain: "n.example".into(),
            name: "n.example".into(),
            error: Some(Error::InvalidRootSignature)
        }]
    );
    // And a flipped signature byte under the right key.
    let mut dns2 = Dns::default();
    dns2.publish(&tree, "n.example", 60);
    // Flip a character inside `r` (the last one only carries `v`, which
    // verification ignores as go-ethereum does).
    let root = &mut dns2.zone.get_mut("n.example").unwrap().1;
    let at = root.find("sig=").unwrap() + 10;
    let flipped = if &root[at..=at] == "A" { "B" } else { "A" };
    root.replace_range(at..=at, flipped);
    let mut r = Resolver::new(config());
    r.add_tree(T0, Link::new(list_key().public_key(), "n.example").unwrap())
        .unwrap();
    let events = drive(&mut r, &dns2, T0, 4);
    assert!(nodes(&events).is_empty());
    assert!(matches!(
        &events[..],
        [Event::Failed { error: Some(_), .. }]
    ));
    // A failed root is retried after `root_retry`.
    let (at, why) = r.poll_timeout().unwrap();
    assert_eq!(at, T0 + Config::default().root_retry);
    assert_eq!(why, "dns root check");
}

#[test]
fn sequence_change_is_detected_after_the_root_ttl_and_only_new_nodes_reported() {
    let first = records(10, 6);
    let mut dns = Dns::default();
    dns.publish(&Tree::new(1, &first, &[], &list_key()), "n.example", 300);
    let mut r = Resolver::new(config());
    r.add_tree(T0, Link::new(list_key().public_key(), "n.example").unwrap())
        .unwrap();
    assert_eq!(nodes(&drive(&mut r, &dns, T0, 4)).len(), 10);

    // Nothing to do before the TTL (300 s).
    let (at, why) = r.poll_timeout().unwrap();
    assert_eq!((at, why), (T0 + Duration::from_secs(300), "dns root check"));
    r.handle_timeout(T0 + Duration::from_secs(299));
    assert!(r.poll_lookup().is_none());

    // The operator publishes seq 2 with 3 more nodes.
    let mut second = first.clone();
    second.extend(records(3, 7));
    let mut dns2 = Dns::default();
    dns2.publish(&Tree::new(2, &second, &[], &list_key()), "n.example", 300);
    let t1 = T0 + Duration::from_secs(300);
    r.handle_timeout(t1);
    let events = drive(&mut r, &dns2, t1, 4);
    assert!(events.contains(&Event::RootUpdated {
        domain: "n.example".into(),
        seq: 2
    }));
    let new = nodes(&events);
    assert_eq!(new.len(), 3);
    assert_eq!(r.root("n.example").unwrap().seq, 2);

    // Same root again: nothing walked, nothing reported.
    let t2 = t1 + Duration::from_secs(300);
    r.handle_timeout(t2);
    let events = drive(&mut r, &dns2, t2, 4);
    assert!(events.is_empty(), "{events:?}");

    // An older root (seq 1) is refused.
    let t3 = t2 + Duration::from_secs(300);
    r.handle_timeout(t3);
    let events = drive(&mut r, &dns, t3, 4);
    assert_eq!(
        events,
        [Event::Failed {
            domain: "n.example".into(),
            name: "n.example".into(),
            error: Some(Error::SequenceRegression {
                previous: 2,
                got: 1
            })
        }]
    );
    assert_eq!(r.root("n.example").unwrap().seq, 2);
}

#[test]
fn root_ttl_is_clamped_by_config() {
    let mut dns = Dns::default();
    dns.publish(
        &Tree::new(1, &records(1, 8), &[], &list_key()),
        "n.example",
        1,
    );
    let mut r = Resolver::new(config());
    r.add_tree(T0, Link::new(list_key().public_key(), "n.example").unwrap())
        .unwrap();
    drive(&mut r, &dns, T0, 4);
    assert_eq!(
        r.poll_timeout().unwrap().0,
        T0 + Config::default().min_recheck
    );
}

#[test]
fn entry_limit_bounds_the_walk() {
    let mut dns = Dns::default();
    dns.publish(
        &Tree::new(1, &records(100, 9), &[], &list_key()),
        "n.example",
        60,
    );
    let mut r = Resolver::new(Config {
        max_entries: 30,
        max_in_flight: 2,
        ..config()
    });
    r.add_tree(T0, Link::new(list_key().public_key(), "n.example").unwrap())
        .unwrap();
    let mut lookups = 0;
    let mut events = Vec::new();
    while let Some(l) = r.poll_lookup() {
        lookups += 1;
        let (ttl, text) = dns.zone.get(&l.name).unwrap();
        r.handle_answer(
            T0,
            &l.name,
            &[TxtRecord {
                ttl_secs: *ttl,
                text,
            }],
        )
        .unwrap();
        while let Some(e) = r.poll_event() {
            events.push(e);
        }
        assert!(r.lookups_in_flight() <= 2);
    }
    // The root plus at most 30 entries.
    assert!(lookups <= 31, "{lookups} lookups");
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Failed {
            error: Some(Error::TreeLimit {
                what: "entries",
                max: 30
            }),
            ..
        }
    )));
}

#[test]
fn linked_lists_are_bounded_and_loops_terminate() {
    // Two lists linking each other, and a third beyond the tree limit.
    let ka = SecretKey::from_bytes(&[0x41; 32]).unwrap();
    let kb = SecretKey::from_bytes(&[0x42; 32]).unwrap();
    let kc = SecretKey::from_bytes(&[0x43; 32]).unwrap();
    let la = Link::new(ka.public_key(), "a.example").unwrap();
    let lb = Link::new(kb.public_key(), "b.example").unwrap();
    let lc = Link::new(kc.public_key(), "c.example").unwrap();
    let mut dns = Dns::default();
    dns.publish(
        &Tree::new(1, &records(2, 10), std::slice::from_ref(&lb), &ka),
        "a.example",
        60,
    );
    dns.publish(
        &Tree::new(1, &records(2, 11), &[la.clone(), lc], &kb),
        "b.example",
        60,
    );
    dns.publish(&Tree::new(1, &records(2, 12), &[], &kc), "c.example", 60);
    let mut r = Resolver::new(Config {
        max_trees: 2,
        ..config()
    });
    r.add_tree(T0, la).unwrap();
    let events = drive(&mut r, &dns, T0, 4);
    assert_eq!(nodes(&events).len(), 4);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Failed {
            error: Some(Error::TreeLimit { what: "trees", .. }),
            ..
        }
    )));
    assert!(r.root("c.example").is_none());
}

#[test]
fn unanswered_lookups_time_out() {
    let mut r = Resolver::new(config());
    r.add_tree(T0, Link::new(list_key().public_key(), "n.example").unwrap())
        .unwrap();
    let l = r.poll_lookup().unwrap();
    assert_eq!(l.name, "n.example");
    let (at, why) = r.poll_timeout().unwrap();
    assert_eq!(why, "dns lookup timeout");
    r.handle_timeout(at);
    assert_eq!(r.lookups_in_flight(), 0);
    assert_eq!(
        r.poll_event(),
        Some(Event::Failed {
            domain: "n.example".into(),
            name: "n.example".into(),
            error: None
        })
    );
    // A late answer is an API error, not a crash.
    assert_eq!(
        r.handle_answer(at, "n.example", &[]),
        Err(Error::UnexpectedAnswer("n.example".into()))
    );
}

#[test]
fn entries_of_the_wrong_subtree_are_rejected() {
    // A hand-made root whose link subtree points at an ENR leaf.
    let rec = records(1, 13).remove(0).to_text();
    let leaf = status_discovery::dnsdisc::EntryHash::of(&rec);
    let empty = "enrtree-branch:";
    let empty_h = status_discovery::dnsdisc::EntryHash::of(empty);
    let root = status_discovery::dnsdisc::Root::sign(empty_h, leaf, 1, &list_key());
    let mut dns = Dns::default();
    dns.zone.insert("n.example".into(), (60, root.to_string()));
    dns.zone.insert(format!("{leaf}.n.example"), (60, rec));
    dns.zone
        .insert(format!("{empty_h}.n.example"), (60, empty.into()));
    let mut r = Resolver::new(config());
    r.add_tree(T0, Link::new(list_key().public_key(), "n.example").unwrap())
        .unwrap();
    let events = drive(&mut r, &dns, T0, 4);
    assert!(nodes(&events).is_empty());
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Failed {
            error: Some(Error::MisplacedEntry("link")),
            ..
        }
    )));
}

#[test]
fn link_url_rejects_malformed_input() {
    let good = Link::new(list_key().public_key(), "nodes.example.org")
        .unwrap()
        .to_string();
    assert_eq!(good.parse::<Link>().unwrap().to_string(), good);
    for bad in [
        "enrtree://",
        "enrtree://@nodes.example.org",
        "http://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@x.org",
        "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2",
        "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@",
        "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@a..b",
        "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT@x.org",
        "enrtree://am5fcqlwizx2qfpnjap7vuerccrngrhwzg3yyhiuv7bvdq5fdprt2@x.org",
    ] {
        assert!(bad.parse::<Link>().is_err(), "{bad}");
    }
}

/// "Synchronizing updates on the client side can be done incrementally":
/// after a change, only the entries on changed paths are looked up.
#[test]
fn re_sync_fetches_only_changed_entries() {
    let mut recs = records(100, 20);
    let mut dns = Dns::default();
    let first = Tree::new(1, &recs, &[], &list_key());
    dns.publish(&first, "n.example", 60);
    let mut r = Resolver::new(config());
    r.add_tree(T0, Link::new(list_key().public_key(), "n.example").unwrap())
        .unwrap();
    let mut full = 0;
    let mut events = Vec::new();
    while let Some(l) = r.poll_lookup() {
        full += 1;
        let (ttl, text) = dns.zone.get(&l.name).unwrap();
        r.handle_answer(
            T0,
            &l.name,
            &[TxtRecord {
                ttl_secs: *ttl,
                text,
            }],
        )
        .unwrap();
        events.extend(std::iter::from_fn(|| r.poll_event()));
    }
    assert_eq!(full, first.len() + 1);
    assert_eq!(nodes(&events).len(), 100);

    // One record more: records are sorted by node id, so only the branches
    // from the root to the new leaf change (plus the leaf itself).
    recs.extend(records(1, 21));
    let second = Tree::new(2, &recs, &[], &list_key());
    let mut dns2 = Dns::default();
    dns2.publish(&second, "n.example", 60);
    let t1 = T0 + Duration::from_secs(60);
    r.handle_timeout(t1);
    let mut names = Vec::new();
    let mut events = Vec::new();
    while let Some(l) = r.poll_lookup() {
        let (ttl, text) = dns2.zone.get(&l.name).unwrap();
        r.handle_answer(
            t1,
            &l.name,
            &[TxtRecord {
                ttl_secs: *ttl,
                text,
            }],
        )
        .unwrap();
        names.push(l.name);
        events.extend(std::iter::from_fn(|| r.poll_event()));
    }
    let new_entries: Vec<String> = second
        .txt_records("n.example")
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !first.txt_records("n.example").iter().any(|(m, _)| m == n))
        .collect();
    // The root, and exactly the entries that did not exist before.
    assert_eq!(names.len(), new_entries.len() + 1);
    assert!(names.contains(&"n.example".to_string()));
    for n in &new_entries {
        assert!(names.contains(n), "{n} not fetched");
    }
    assert!(names.len() < 20, "{} lookups", names.len());
    assert_eq!(nodes(&events).len(), 1);
    assert!(events.contains(&Event::Synced {
        domain: "n.example".into(),
        seq: 2,
        complete: true
    }));
}
