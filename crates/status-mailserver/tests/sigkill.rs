//! Nothing acknowledged is lost: a child process archives envelopes in
//! batches and prints each batch's keys once `Archive::archive` returned;
//! the test kills it with SIGKILL mid-stream (several times, on one
//! store), reopens the store and finds every acknowledged envelope. Both
//! stores; the PostgreSQL one skips without `STATUS_RS_POSTGRES_URL`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{archived, topic};
use status_mailserver::{Archive, DbKey, SqliteArchive};

const CHILD_ENV: &str = "STATUS_RS_MAILSERVER_SIGKILL_CHILD";
const BATCH: u64 = 100;

/// The archive a child or the parent opens from a spec.
fn open(spec: &str) -> Arc<dyn Archive> {
    if let Some(path) = spec.strip_prefix("sqlite:") {
        return Arc::new(SqliteArchive::open(path).expect("sqlite opens"));
    }
    #[cfg(feature = "postgres")]
    if let Some(rest) = spec.strip_prefix("postgres:") {
        let (schema, url) = rest.split_once('|').expect("schema|url");
        let config = status_mailserver::PostgresConfig::new(url).schema(schema);
        return Arc::new(status_mailserver::PostgresArchive::open(config).expect("postgres opens"));
    }
    panic!("unknown store spec {spec}")
}

/// The child: archives batch after batch, forever, printing what each
/// committed batch held. `first` numbers the envelopes so each run adds
/// new ones.
#[test]
#[ignore = "the child process of the SIGKILL tests"]
fn sigkill_child_archives_until_killed() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (first, spec) = spec.split_once('@').expect("first@spec");
    let mut n: u64 = first.parse().expect("a number");
    let archive = open(spec);
    let stdout = std::io::stdout();
    loop {
        let batch: Vec<_> = (n..n + BATCH)
            .map(|i| archived(1_600_000_000 + (i % 5000) as u32, topic((i % 7) as u32), i))
            .collect();
        n += BATCH;
        archive.archive(&batch).expect("archive");
        let mut out = stdout.lock();
        for e in &batch {
            writeln!(out, "acked {}", hex::encode(e.key.0)).expect("stdout");
        }
        out.flush().expect("stdout");
    }
}

/// Runs the child on `spec` until it acknowledged at least `acks`
/// envelopes, kills it, and returns the acknowledged keys.
fn run_and_kill(spec: &str, first: u64, acks: usize) -> Vec<DbKey> {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "sigkill_child_archives_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{first}@{spec}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("piped");
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        if let Some(hexkey) = line.strip_prefix("acked ") {
            let bytes = hex::decode(hexkey).expect("hex");
            acked.push(DbKey::from_slice(&bytes).expect("40 bytes"));
            if acked.len() >= acks {
                break;
            }
        }
    }
    // SIGKILL: no destructor, no flush, no rollback
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the child was killed, not finished");
    assert!(acked.len() >= acks, "the child died early");
    acked
}

fn nothing_acknowledged_is_lost(spec: &str) {
    let mut all = Vec::new();
    // kill points vary: after 1,250, 3,030 and 777 acknowledgements (the
    // child may be anywhere in its next batch)
    for (round, acks) in [1_250usize, 3_030, 777].into_iter().enumerate() {
        let first = round as u64 * 1_000_000;
        all.extend(run_and_kill(spec, first, acks));
        let archive = open(spec);
        let missing: Vec<_> = all
            .iter()
            .filter(|k| !archive.contains(k).expect("contains"))
            .collect();
        assert!(
            missing.is_empty(),
            "{spec}: {} acknowledged envelopes lost after kill {round}",
            missing.len()
        );
        assert!(archive.count().expect("count") >= all.len() as u64);
    }
}

#[test]
fn sqlite_loses_nothing_acknowledged_under_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = format!("sqlite:{}", dir.path().join("archive.db").display());
    nothing_acknowledged_is_lost(&spec);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_loses_nothing_acknowledged_under_sigkill() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let spec = format!("postgres:{}|{url}", common::fresh_schema("sigkill"));
    nothing_acknowledged_is_lost(&spec);
}
