//! What the integration tests share: stores to run the same suite on,
//! and envelopes to fill them with.
#![allow(dead_code)]

use std::sync::Arc;

use status_mailserver::{Archive, ArchivedEnvelope, MemoryArchive, SqliteArchive};
use status_waku::{Envelope, Topic};

/// The environment variable naming the PostgreSQL server the tests use
/// (`postgres://user@127.0.0.1:port/db`); `.ci/run` starts one and sets it.
pub const POSTGRES_ENV: &str = "STATUS_RS_POSTGRES_URL";

/// A store under test, and what keeps it alive (a temporary directory).
pub struct Store {
    pub archive: Arc<dyn Archive>,
    pub name: &'static str,
    _guard: Option<tempfile::TempDir>,
}

pub fn memory() -> Option<Store> {
    Some(Store {
        archive: Arc::new(MemoryArchive::default()),
        name: "memory",
        _guard: None,
    })
}

pub fn sqlite() -> Option<Store> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let archive = SqliteArchive::open(dir.path().join("archive.db")).expect("sqlite opens");
    Some(Store {
        archive: Arc::new(archive),
        name: "sqlite",
        _guard: Some(dir),
    })
}

/// The PostgreSQL server's URL, or `None` (with a message) when the tests
/// should skip; in CI (`CI=true`) a missing server fails instead.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{POSTGRES_ENV} is not set: in CI the PostgreSQL tests must run (.ci/run starts the server)");
            }
            eprintln!("skipping: {POSTGRES_ENV} is not set (.ci/run starts a PostgreSQL server and sets it)");
            None
        }
    }
}

/// A schema name no other test uses, so tests run in parallel on one
/// database.
pub fn fresh_schema(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("t_{tag}_{}_{n}_{nanos}", std::process::id())
}

#[cfg(feature = "postgres")]
pub fn postgres() -> Option<Store> {
    let url = postgres_url()?;
    let config = status_mailserver::PostgresConfig::new(url).schema(fresh_schema("suite"));
    let archive = status_mailserver::PostgresArchive::open(config).expect("postgres opens");
    Some(Store {
        archive: Arc::new(archive),
        name: "postgres",
        _guard: None,
    })
}

/// A small deterministic generator (xorshift), so runs replay.
pub struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// An envelope created at `sent` on `topic`; `n` makes it unique.
pub fn envelope(sent: u32, topic: Topic, n: u64) -> Envelope {
    let mut e = Envelope::new(sent, 60, topic, n.to_be_bytes().to_vec());
    e.nonce = n;
    e
}

pub fn archived(sent: u32, topic: Topic, n: u64) -> ArchivedEnvelope {
    ArchivedEnvelope::new(&envelope(sent, topic, n))
}

pub fn topic(i: u32) -> Topic {
    Topic(i.wrapping_mul(0x9e37_79b9).to_be_bytes())
}
