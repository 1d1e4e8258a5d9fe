//! One suite, every store: the query semantics of status-go's archive
//! (time bounds, the bloom rule, topic lists, order, cursor paging without
//! gaps or duplicates, dedup, pruning) on the in-memory reference, SQLite
//! and PostgreSQL. The PostgreSQL copy skips with a message when
//! `STATUS_RS_POSTGRES_URL` is unset, and fails in CI.

mod common;

use common::{archived, topic, Gen, Store};
use status_mailserver::{Archive, ArchivedEnvelope, DbKey, Order, Query, Selector};
use status_waku::{Bloom, Topic};

fn query(lower: u32, upper: u32, selector: Selector, limit: u32, order: Order) -> Query {
    Query {
        lower,
        upper,
        selector,
        limit,
        cursor: None,
        order,
    }
}

/// What a query must return, computed without the store: filter, sort by
/// key, take `limit`.
fn expected(all: &[ArchivedEnvelope], q: &Query) -> Vec<DbKey> {
    let mut keys: Vec<DbKey> = all
        .iter()
        .map(|e| e.key)
        .filter(|k| k.sent() >= q.lower && k.sent() <= q.upper)
        .filter(|k| match &q.selector {
            Selector::Bloom(b) => b.contains(&Bloom::from_topic(k.topic())),
            Selector::Topics(ts) => ts.contains(&k.topic()),
        })
        .filter(|k| match (&q.cursor, q.order) {
            (None, _) => true,
            (Some(c), Order::Ascending) => k.0[..36] > c[..],
            (Some(c), Order::Descending) => k.0[..36] < c[..],
        })
        .collect();
    keys.sort();
    keys.dedup();
    if q.order == Order::Descending {
        keys.reverse();
    }
    keys.truncate(q.limit as usize);
    keys
}

fn keys(rows: &[ArchivedEnvelope]) -> Vec<DbKey> {
    rows.iter().map(|r| r.key).collect()
}

/// A mixed archive: `n` envelopes over `topics` topics and `span`
/// seconds, several per second, with duplicates offered twice.
fn fill(s: &Store, n: u64, topics: u32, span: u32, seed: u64) -> Vec<ArchivedEnvelope> {
    let mut g = Gen(seed);
    let all: Vec<ArchivedEnvelope> = (0..n)
        .map(|i| {
            let sent = 1_600_000_000 + g.below(u64::from(span)) as u32;
            archived(sent, topic(g.below(u64::from(topics)) as u32), i)
        })
        .collect();
    for chunk in all.chunks(97) {
        s.archive.archive(chunk).expect("archive");
    }
    // offered again: nothing new
    assert_eq!(
        s.archive.archive(&all[..50]).expect("archive"),
        0,
        "{}",
        s.name
    );
    all
}

fn dedups_by_hash(s: Store) {
    let e = archived(1_600_000_000, topic(1), 1);
    assert_eq!(
        s.archive.archive(&[e.clone(), e.clone()]).unwrap(),
        1,
        "{}",
        s.name
    );
    assert_eq!(
        s.archive.archive(std::slice::from_ref(&e)).unwrap(),
        0,
        "{}",
        s.name
    );
    assert_eq!(s.archive.count().unwrap(), 1, "{}", s.name);
    assert!(s.archive.contains(&e.key).unwrap());
    let q = query(
        0,
        u32::MAX - 1,
        Selector::Bloom(Bloom::FULL),
        10,
        Order::Ascending,
    );
    let got = s.archive.query(&q).unwrap();
    assert_eq!(
        got,
        [e],
        "{}: the raw envelope comes back as archived",
        s.name
    );
}

fn time_bounds_are_inclusive(s: Store) {
    let t = topic(3);
    let all: Vec<_> = (0..5)
        .map(|i| archived(1_600_000_010 + i, t, u64::from(i)))
        .collect();
    s.archive.archive(&all).unwrap();
    for order in [Order::Ascending, Order::Descending] {
        for sel in [
            Selector::Bloom(Bloom::from_topic(t)),
            Selector::Topics(vec![t]),
        ] {
            let q = query(1_600_000_011, 1_600_000_013, sel, 100, order);
            let got = keys(&s.archive.query(&q).unwrap());
            assert_eq!(got.len(), 3, "{}: lower and upper both inclusive", s.name);
            assert_eq!(got, expected(&all, &q), "{}", s.name);
            let sents: Vec<u32> = got.iter().map(DbKey::sent).collect();
            match order {
                Order::Ascending => {
                    assert_eq!(sents, [1_600_000_011, 1_600_000_012, 1_600_000_013])
                }
                Order::Descending => {
                    assert_eq!(sents, [1_600_000_013, 1_600_000_012, 1_600_000_011])
                }
            }
        }
    }
    // one second, and outside the data
    let q = query(
        1_600_000_014,
        1_600_000_014,
        Selector::Topics(vec![t]),
        10,
        Order::Ascending,
    );
    assert_eq!(s.archive.query(&q).unwrap().len(), 1);
    let q = query(
        1_600_000_015,
        1_600_000_100,
        Selector::Topics(vec![t]),
        10,
        Order::Ascending,
    );
    assert!(s.archive.query(&q).unwrap().is_empty());
    // reversed range, zero limit: nothing
    let q = query(
        1_600_000_013,
        1_600_000_011,
        Selector::Topics(vec![t]),
        10,
        Order::Ascending,
    );
    assert!(s.archive.query(&q).unwrap().is_empty());
    let q = query(0, u32::MAX, Selector::Topics(vec![t]), 0, Order::Ascending);
    assert!(s.archive.query(&q).unwrap().is_empty());
    // the end of time
    let q = query(
        0,
        u32::MAX,
        Selector::Topics(vec![t]),
        10,
        Order::Descending,
    );
    assert_eq!(s.archive.query(&q).unwrap().len(), 5, "{}", s.name);
}

fn bloom_and_topic_selection(s: Store) {
    let all = fill(&s, 600, 90, 300, 7);
    let pick = |i: u32| topic(i);
    let selectors = [
        // one topic (index path), three (merged), seventy (scan), full
        Selector::Bloom(Bloom::from_topic(pick(1))),
        Selector::Bloom(Bloom::from_topics(&[pick(1), pick(2), pick(5)])),
        Selector::Bloom(Bloom::from_topics(&(0..70).map(pick).collect::<Vec<_>>())),
        Selector::Bloom(Bloom::FULL),
        Selector::Bloom(Bloom::EMPTY),
        Selector::Topics(vec![pick(4)]),
        Selector::Topics(vec![
            pick(4),
            pick(8),
            pick(4),
            Topic([0xde, 0xad, 0xbe, 0xef]),
        ]),
        Selector::Topics((0..80).map(pick).collect()),
        Selector::Topics(vec![]),
    ];
    for sel in selectors {
        for order in [Order::Ascending, Order::Descending] {
            for (lo, hi, limit) in [
                (0, u32::MAX, 1000),
                (1_600_000_050, 1_600_000_120, 1000),
                (0, u32::MAX, 7),
            ] {
                let q = query(lo, hi, sel.clone(), limit, order);
                let got = keys(&s.archive.query(&q).unwrap());
                assert_eq!(got, expected(&all, &q), "{}: {q:?}", s.name);
            }
        }
    }
    // A bloom also returns the other topics whose bits it covers (status-go
    // sends them; the client's filters drop them); a topic list does not.
    let wide = Bloom::from_topics(&(0..70).map(pick).collect::<Vec<_>>());
    let outside = (70..90)
        .map(pick)
        .find(|t| wide.contains(&Bloom::from_topic(*t)));
    if let Some(t) = outside {
        let q = query(0, u32::MAX, Selector::Bloom(wide), 1000, Order::Ascending);
        let got = keys(&s.archive.query(&q).unwrap());
        assert!(got.iter().any(|k| k.topic() == t) || !all.iter().any(|e| e.key.topic() == t));
    }
}

/// Pages through a selection with the cursor of each page's last envelope,
/// as a client does with Request Complete: every envelope exactly once, in
/// order, whatever the page size.
fn cursor_paging_has_no_gaps_or_duplicates(s: Store) {
    let all = fill(&s, 700, 12, 60, 11);
    for sel in [
        Selector::Bloom(Bloom::from_topics(&[topic(1), topic(2)])),
        Selector::Bloom(Bloom::FULL),
        Selector::Topics(vec![topic(3), topic(7), topic(9)]),
    ] {
        for order in [Order::Ascending, Order::Descending] {
            for limit in [1, 13, 100, 1000] {
                let mut q = query(1_600_000_005, 1_600_000_050, sel.clone(), u32::MAX, order);
                let want = expected(&all, &q);
                q.limit = limit;
                let mut got = Vec::new();
                for _ in 0..=want.len() + 1 {
                    let page = keys(&s.archive.query(&q).unwrap());
                    assert!(page.len() <= limit as usize);
                    let Some(last) = page.last() else { break };
                    q.cursor = Some(last.cursor());
                    got.extend(page);
                }
                assert_eq!(got, want, "{}: {sel:?} {order:?} limit {limit}", s.name);
            }
        }
    }
}

fn many_envelopes_in_one_second_page_by_hash(s: Store) {
    // status-go keys sort by hash within a second: a page boundary inside
    // one second loses nothing.
    let t = topic(5);
    let all: Vec<_> = (0..50).map(|i| archived(1_600_000_000, t, i)).collect();
    s.archive.archive(&all).unwrap();
    let mut q = query(
        1_600_000_000,
        1_600_000_000,
        Selector::Topics(vec![t]),
        7,
        Order::Ascending,
    );
    let mut got = Vec::new();
    loop {
        let page = keys(&s.archive.query(&q).unwrap());
        let Some(last) = page.last() else { break };
        q.cursor = Some(last.cursor());
        got.extend(page);
    }
    let mut want = keys(&all);
    want.sort();
    assert_eq!(got, want, "{}", s.name);
}

fn prune_removes_what_is_older(s: Store) {
    let all = fill(&s, 300, 5, 100, 3);
    let before = 1_600_000_040;
    let removed = s.archive.prune(before).unwrap();
    let older = all.iter().filter(|e| e.key.sent() < before).count() as u64;
    assert_eq!(removed, older, "{}", s.name);
    assert_eq!(s.archive.count().unwrap(), all.len() as u64 - older);
    for e in &all {
        assert_eq!(
            s.archive.contains(&e.key).unwrap(),
            e.key.sent() >= before,
            "{}",
            s.name
        );
    }
    // A topic that lost every envelope is gone from bloom answers too.
    assert_eq!(s.archive.prune(u32::MAX).unwrap(), all.len() as u64 - older);
    let q = query(
        0,
        u32::MAX - 1,
        Selector::Bloom(Bloom::FULL),
        10,
        Order::Ascending,
    );
    assert!(s.archive.query(&q).unwrap().is_empty());
    let q = query(
        0,
        u32::MAX - 1,
        Selector::Bloom(Bloom::from_topic(topic(1))),
        10,
        Order::Ascending,
    );
    assert!(s.archive.query(&q).unwrap().is_empty());
    // and archiving again works
    assert_eq!(s.archive.archive(&all[..3]).unwrap(), 3);
}

macro_rules! suite {
    ($store:ident) => {
        mod $store {
            fn store() -> Option<super::Store> {
                super::common::$store()
            }
            #[test]
            fn dedups_by_hash() {
                if let Some(s) = store() {
                    super::dedups_by_hash(s)
                }
            }
            #[test]
            fn time_bounds_are_inclusive() {
                if let Some(s) = store() {
                    super::time_bounds_are_inclusive(s)
                }
            }
            #[test]
            fn bloom_and_topic_selection() {
                if let Some(s) = store() {
                    super::bloom_and_topic_selection(s)
                }
            }
            #[test]
            fn cursor_paging_has_no_gaps_or_duplicates() {
                if let Some(s) = store() {
                    super::cursor_paging_has_no_gaps_or_duplicates(s)
                }
            }
            #[test]
            fn many_envelopes_in_one_second_page_by_hash() {
                if let Some(s) = store() {
                    super::many_envelopes_in_one_second_page_by_hash(s)
                }
            }
            #[test]
            fn prune_removes_what_is_older() {
                if let Some(s) = store() {
                    super::prune_removes_what_is_older(s)
                }
            }
        }
    };
}

suite!(memory);
suite!(sqlite);
#[cfg(feature = "postgres")]
suite!(postgres);

#[test]
fn sqlite_keeps_what_it_committed_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let all: Vec<_> = (0..20)
        .map(|i| archived(1_600_000_000 + i, topic(i % 3), u64::from(i)))
        .collect();
    {
        let a = status_mailserver::SqliteArchive::open(&path).unwrap();
        a.archive(&all).unwrap();
    }
    let a = status_mailserver::SqliteArchive::open(&path).unwrap();
    assert_eq!(a.count().unwrap(), 20);
    let q = query(
        0,
        u32::MAX,
        Selector::Bloom(Bloom::FULL),
        100,
        Order::Ascending,
    );
    assert_eq!(keys(&a.query(&q).unwrap()), expected(&all, &q));
}
