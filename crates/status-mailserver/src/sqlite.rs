//! The embedded archive: one SQLite file (bundled SQLite, no system
//! library), in WAL mode, written in one transaction per batch.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use status_waku::Topic;

use crate::archive::{
    order_and_truncate, plan, Archive, ArchivedEnvelope, DbKey, Order, Plan, Query,
};
use crate::Error;

/// Numbered migrations, applied in order; `PRAGMA user_version` records the
/// last one applied.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/sqlite/0001_init.sql")];

/// Rows deleted per transaction by [`Archive::prune`], so that a cleaner
/// run never holds the write lock for long (status-go prunes LevelDB in
/// batches of 1000 too).
const PRUNE_BATCH: usize = 1000;

/// When a committed batch is on disk (SQLite `PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// fsync at every commit: a committed batch survives a power cut.
    #[default]
    Full,
    /// fsync at checkpoints only: a committed batch survives the process
    /// being killed, not the machine losing power.
    Normal,
}

/// Settings of a [`SqliteArchive`].
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The database file (created if missing, with its `-wal`/`-shm`).
    pub path: PathBuf,
    /// Durability of a commit.
    pub synchronous: Synchronous,
    /// Page cache per connection, KiB.
    pub cache_kib: u32,
    /// How long a write waits for another process' lock.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    /// Defaults for a file at `path`: full durability, 16 MiB of cache.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteConfig {
            path: path.into(),
            synchronous: Synchronous::Full,
            cache_kib: 16 << 10,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The embedded archive (the default store): a SQLite file in WAL mode,
/// one writer connection and one reader, so queries run while a batch is
/// being written.
///
/// ```
/// use status_mailserver::{Archive, ArchivedEnvelope, Order, Query, Selector, SqliteArchive};
/// use status_waku::{Envelope, Topic};
///
/// let dir = tempfile::tempdir().unwrap();
/// let archive = SqliteArchive::open(dir.path().join("archive.db"))?;
/// let topic = Topic([1, 2, 3, 4]);
/// let batch: Vec<ArchivedEnvelope> = (0..3)
///     .map(|i| ArchivedEnvelope::new(&Envelope::new(1_600_000_000 + i, 60, topic, &b"x"[..])))
///     .collect();
/// assert_eq!(archive.archive(&batch)?, 3);
/// assert_eq!(archive.archive(&batch)?, 0); // deduplicated by key
///
/// let page = archive.query(&Query {
///     lower: 1_600_000_001,
///     upper: 1_600_000_002,
///     selector: Selector::Topics(vec![topic]),
///     limit: 10,
///     cursor: None,
///     order: Order::Descending,
/// })?;
/// assert_eq!(page, [batch[2].clone(), batch[1].clone()]);
/// # Ok::<(), status_mailserver::Error>(())
/// ```
#[derive(Debug)]
pub struct SqliteArchive {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    path: PathBuf,
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves at worst an open transaction,
    // which rusqlite rolls back when its guard drops.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn setup(conn: &Connection, config: &SqliteConfig) -> Result<(), Error> {
    conn.busy_timeout(config.busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match config.synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "cache_size", -i64::from(config.cache_kib))?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(Error::SchemaTooNew {
            found: version,
            known,
        });
    }
    for sql in MIGRATIONS.iter().skip(version as usize) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

impl SqliteArchive {
    /// Opens (or creates) the archive at `path` with the defaults of
    /// [`SqliteConfig::new`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteArchive, Error> {
        SqliteArchive::open_with(SqliteConfig::new(path.as_ref()))
    }

    /// Opens (or creates) the archive, migrating its schema.
    pub fn open_with(config: SqliteConfig) -> Result<SqliteArchive, Error> {
        let mut writer = Connection::open(&config.path)?;
        setup(&writer, &config)?;
        migrate(&mut writer)?;
        let reader = Connection::open_with_flags(
            &config.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(config.busy_timeout)?;
        reader.pragma_update(None, "cache_size", -i64::from(config.cache_kib))?;
        Ok(SqliteArchive {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            path: config.path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn known_topics(conn: &Connection) -> Result<Vec<Topic>, Error> {
    let mut st = conn.prepare_cached("SELECT topic FROM topics")?;
    let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for t in rows {
        out.push(Topic::from_slice(&t?).ok_or(Error::CorruptRow("topic is not 4 bytes"))?);
    }
    Ok(out)
}

fn row(id: &[u8], data: &[u8]) -> Result<ArchivedEnvelope, Error> {
    Ok(ArchivedEnvelope {
        key: DbKey::from_slice(id).ok_or(Error::CorruptRow("key is not 40 bytes"))?,
        raw: Bytes::copy_from_slice(data),
    })
}

impl Archive for SqliteArchive {
    fn archive(&self, envelopes: &[ArchivedEnvelope]) -> Result<usize, Error> {
        if envelopes.is_empty() {
            return Ok(0);
        }
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut new = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO envelopes (id, topic, data) VALUES (?1, ?2, ?3)",
            )?;
            let mut topics = BTreeSet::new();
            for e in envelopes {
                let topic = e.key.topic();
                new += insert.execute(params![&e.key.0[..], &topic.0[..], &e.raw[..]])?;
                topics.insert(topic);
            }
            let mut topic =
                tx.prepare_cached("INSERT OR IGNORE INTO topics (topic) VALUES (?1)")?;
            for t in topics {
                topic.execute(params![&t.0[..]])?;
            }
        }
        tx.commit()?;
        Ok(new)
    }

    fn query(&self, query: &Query) -> Result<Vec<ArchivedEnvelope>, Error> {
        if query.limit == 0 || query.lower > query.upper {
            return Ok(Vec::new());
        }
        let conn = lock(&self.reader);
        let b = query.key_bounds();
        let (cmp, dir) = match query.order {
            Order::Ascending => (">", "ASC"),
            Order::Descending => ("<", "DESC"),
        };
        let limit = i64::from(query.limit);
        match plan(&query.selector, || known_topics(&conn))? {
            Plan::Topics(topics) if topics.len() == 1 => {
                let sql = format!(
                    "SELECT id, data FROM envelopes WHERE topic = ?1 AND id >= ?2 AND id < ?3 \
                     AND id {cmp} ?4 ORDER BY id {dir} LIMIT ?5"
                );
                let mut st = conn.prepare_cached(&sql)?;
                let mut rows = st.query(params![&topics[0].0[..], b.lo, b.hi, b.cursor, limit])?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(row(r.get_ref(0)?.as_blob()?, r.get_ref(1)?.as_blob()?)?);
                }
                Ok(out)
            }
            Plan::Topics(topics) => {
                // Keys first (the topic index covers them), merged; then
                // the envelopes of the page only.
                let sql = format!(
                    "SELECT id FROM envelopes WHERE topic = ?1 AND id >= ?2 AND id < ?3 \
                     AND id {cmp} ?4 ORDER BY id {dir} LIMIT ?5"
                );
                let mut st = conn.prepare_cached(&sql)?;
                let mut keys: Vec<Vec<u8>> = Vec::new();
                for t in &topics {
                    let mut rows = st.query(params![&t.0[..], b.lo, b.hi, b.cursor, limit])?;
                    while let Some(r) = rows.next()? {
                        keys.push(r.get(0)?);
                    }
                }
                order_and_truncate(&mut keys, |k| k, query.order, query.limit);
                let mut get = conn.prepare_cached("SELECT data FROM envelopes WHERE id = ?1")?;
                let mut out = Vec::with_capacity(keys.len());
                for k in keys {
                    let mut rows = get.query(params![k])?;
                    // pruned between the two reads: skip it
                    if let Some(r) = rows.next()? {
                        out.push(row(&k, r.get_ref(0)?.as_blob()?)?);
                    }
                }
                Ok(out)
            }
            Plan::Scan(bloom) => {
                let sql = format!(
                    "SELECT id, data FROM envelopes WHERE id >= ?1 AND id < ?2 AND id {cmp} ?3 \
                     ORDER BY id {dir}"
                );
                let mut st = conn.prepare_cached(&sql)?;
                let mut rows = st.query(params![b.lo, b.hi, b.cursor])?;
                let mut out = Vec::new();
                let selector = crate::Selector::Bloom(bloom);
                while let Some(r) = rows.next()? {
                    let id = r.get_ref(0)?.as_blob()?;
                    let key =
                        DbKey::from_slice(id).ok_or(Error::CorruptRow("key is not 40 bytes"))?;
                    if selector.matches(key.topic()) {
                        out.push(row(id, r.get_ref(1)?.as_blob()?)?);
                        if out.len() >= query.limit as usize {
                            break;
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    fn prune(&self, before: u32) -> Result<u64, Error> {
        let bound = DbKey::new(before, &[0; 32], Topic([0; 4])).0;
        let mut conn = lock(&self.writer);
        let mut removed = 0u64;
        loop {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "DELETE FROM envelopes WHERE rowid IN \
                 (SELECT rowid FROM envelopes WHERE id < ?1 ORDER BY id LIMIT ?2)",
                params![&bound[..], PRUNE_BATCH as i64],
            )?;
            tx.commit()?;
            removed += n as u64;
            if n < PRUNE_BATCH {
                break;
            }
        }
        if removed > 0 {
            conn.execute(
                "DELETE FROM topics WHERE NOT EXISTS \
                 (SELECT 1 FROM envelopes WHERE envelopes.topic = topics.topic)",
                [],
            )?;
        }
        Ok(removed)
    }

    fn count(&self) -> Result<u64, Error> {
        let conn = lock(&self.reader);
        let n: i64 = conn.query_row("SELECT count(*) FROM envelopes", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn contains(&self, key: &DbKey) -> Result<bool, Error> {
        let conn = lock(&self.reader);
        let mut st = conn.prepare_cached("SELECT 1 FROM envelopes WHERE id = ?1")?;
        Ok(st.exists(params![&key.0[..]])?)
    }
}
