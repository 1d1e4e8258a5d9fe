//! Archive throughput and page latency, SQLite and PostgreSQL.
//!
//! ```text
//! cargo bench -p status-mailserver --bench archive
//! STATUS_RS_POSTGRES_URL=postgres://... cargo bench -p status-mailserver --bench archive
//! ```
//!
//! - `archive/<store>`: envelopes archived per second in batches of 1,000
//!   (fresh envelopes each batch, 256-byte payloads);
//! - `page/<store>`: one 1,000-envelope page (query + the machine's
//!   answer) from a 1,000,000-envelope archive by topic bloom and time
//!   range. The bench also prints p50/p99 over 1,000 pages at varying
//!   positions, since the target is a p99. The 1M archive is built once
//!   and kept in the target directory (SQLite) or a schema (PostgreSQL).

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use status_core::{NodeId, Timestamp};
use status_mailserver::{
    Archive, ArchivedEnvelope, Mailserver, MailserverConfig, Order, Query, Request, Selector,
    SqliteArchive,
};
use status_waku::{Bloom, Envelope, Topic};

const BATCH: u64 = 1000;
const ARCHIVE_SIZE: u64 = 1_000_000;
const TOPICS: u64 = 100;
/// The 1M envelopes span 30 days.
const SPAN: u64 = 30 * 86_400;
const START: u32 = 1_600_000_000;

/// Envelope `i` of the 1M archive: creation times spread evenly over the
/// span (built in time order, as a mailserver receives them).
fn envelope(i: u64) -> ArchivedEnvelope {
    envelope_at(START + (i * SPAN / ARCHIVE_SIZE) as u32, i)
}

fn envelope_at(sent: u32, i: u64) -> ArchivedEnvelope {
    let topic = Topic(
        ((i % TOPICS) as u32)
            .wrapping_mul(0x9e37_79b9)
            .to_be_bytes(),
    );
    let mut data = vec![0u8; 256];
    data[..8].copy_from_slice(&i.to_be_bytes());
    let mut e = Envelope::new(sent, 60, topic, data);
    e.nonce = i;
    ArchivedEnvelope::new(&e)
}

fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"))
        })
}

fn fill_million(archive: &dyn Archive, name: &str) {
    let have = archive.count().expect("count");
    if have >= ARCHIVE_SIZE {
        return;
    }
    eprintln!("{name}: building the {ARCHIVE_SIZE}-envelope archive (once)...");
    let t = Instant::now();
    let mut i = have;
    while i < ARCHIVE_SIZE {
        let batch: Vec<_> = (i..(i + 5000).min(ARCHIVE_SIZE)).map(envelope).collect();
        archive.archive(&batch).expect("archive");
        i += 5000;
    }
    eprintln!("{name}: built in {:?}", t.elapsed());
}

fn bench_archive(c: &mut Criterion, name: &str, archive: &dyn Archive) {
    let mut g = c.benchmark_group("archive");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    let mut next = 0u64;
    g.bench_function(name, |b| {
        b.iter_batched(
            || {
                // arriving now: 50 envelopes a second, on 100 topics
                let batch: Vec<_> = (next..next + BATCH)
                    .map(|i| envelope_at(START + (i / 50) as u32, i))
                    .collect();
                next += BATCH;
                batch
            },
            |batch| assert_eq!(archive.archive(&batch).expect("archive"), BATCH as usize),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// One page: the query for `topic` over a window starting at `from`, and
/// the machine's answer.
fn page(archive: &dyn Archive, ms: &mut Mailserver, topic: Topic, from: u32) -> usize {
    let query = Query {
        lower: from,
        upper: from + 6 * 86_400,
        selector: Selector::Bloom(Bloom::from_topic(topic)),
        limit: 1000,
        cursor: None,
        order: Order::Ascending,
    };
    let rows = archive.query(&query).expect("query");
    let n = rows.len();
    let request = Request {
        id: [1; 32],
        peer: NodeId([2; 64]),
        query: Some(query),
        batch: true,
    };
    let r = ms.respond(&request, rows);
    std::hint::black_box(r);
    n
}

fn bench_page(c: &mut Criterion, name: &str, archive: &dyn Archive) {
    fill_million(archive, name);
    let mut ms = Mailserver::new(
        MailserverConfig::default(),
        Timestamp::from_secs(u64::from(START)),
    );
    let topic = |i: u64| {
        Topic(
            ((i % TOPICS) as u32)
                .wrapping_mul(0x9e37_79b9)
                .to_be_bytes(),
        )
    };
    // p50 / p99 over 1,000 pages at varying topics and windows
    let mut lat = Vec::with_capacity(1000);
    for i in 0..1000u64 {
        let from = START + ((i * 7919) % (SPAN - 7 * 86_400)) as u32;
        let t = Instant::now();
        let n = page(archive, &mut ms, topic(i), from);
        lat.push(t.elapsed());
        assert_eq!(n, 1000, "a full page");
    }
    lat.sort();
    eprintln!(
        "page/{name}: 1,000 pages of 1,000 envelopes from {ARCHIVE_SIZE}: p50 {:?}, p99 {:?}, max {:?}",
        lat[499], lat[989], lat[999]
    );
    let mut g = c.benchmark_group("page");
    g.throughput(Throughput::Elements(1000));
    g.sample_size(50);
    let mut i = 0u64;
    g.bench_function(name, |b| {
        b.iter(|| {
            i += 1;
            let from = START + ((i * 7919) % (SPAN - 7 * 86_400)) as u32;
            page(archive, &mut ms, topic(i), from)
        })
    });
    g.finish();
}

fn sqlite(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = SqliteArchive::open(dir.path().join("bench.db")).expect("sqlite");
    bench_archive(c, "sqlite", &fresh);
    let big =
        SqliteArchive::open(target_dir().join("status-mailserver-bench-1m.db")).expect("sqlite");
    bench_page(c, "sqlite", &big);
}

#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("STATUS_RS_POSTGRES_URL") else {
        eprintln!("STATUS_RS_POSTGRES_URL is not set: no PostgreSQL benches");
        return;
    };
    use status_mailserver::{PostgresArchive, PostgresConfig};
    let schema = format!("bench_archive_{}", std::process::id());
    let fresh = PostgresArchive::open(PostgresConfig::new(&url).schema(schema)).expect("postgres");
    bench_archive(c, "postgres", &fresh);
    let big =
        PostgresArchive::open(PostgresConfig::new(&url).schema("bench_page_1m")).expect("postgres");
    bench_page(c, "postgres", &big);
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &mut Criterion) {}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
