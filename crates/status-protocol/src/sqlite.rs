//! The embedded SQLite [`Store`] (rusqlite with its bundled SQLite).
//!
//! One `kv` table (`WITHOUT ROWID`, primary key `(tbl, k)`), WAL journal,
//! one transaction per [`Store::commit`], prepared statements cached.
//! Schema migrations are numbered in `migrations/` and tracked with
//! `PRAGMA user_version`.
//!
//! One opener at a time: the store is held with SQLite's exclusive locking
//! mode for as long as it is open, so a second process (or connection)
//! opening the same file gets [`Error::Store`] after 2 s instead of
//! advancing the same ratchets.
//!
//! Durability: with [`Durability::Process`] (the default) a commit that
//! returned survives the process being killed (`synchronous = NORMAL` in
//! WAL mode); [`Durability::PowerLoss`] (`synchronous = FULL`) also
//! survives the machine losing power, at the cost of an fsync per commit.
//! The file holds ratchet secrets in the clear: keep the data directory
//! private.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::store::{Batch, Rows, Store, Table};
use crate::Error;

/// The migrations, in order; `user_version` counts how many were applied.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_init.sql")];

/// What a committed write survives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// A crash or kill of the process (`synchronous = NORMAL`).
    #[default]
    Process,
    /// Power loss as well (`synchronous = FULL`).
    PowerLoss,
}

/// A [`Store`] in one SQLite file.
///
/// ```
/// use status_protocol::store::{Batch, Store, Table};
/// use status_protocol::SqliteStore;
///
/// let mut store = SqliteStore::open_in_memory()?;
/// let mut batch = Batch::new();
/// batch.put(Table::Chats, b"status".to_vec(), b"...".to_vec());
/// store.commit(&batch)?;
/// assert_eq!(store.get(Table::Chats, b"status")?, Some(b"...".to_vec()));
/// # Ok::<(), status_protocol::Error>(())
/// ```
pub struct SqliteStore {
    conn: Connection,
}

fn db(e: rusqlite::Error) -> Error {
    Error::Store(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with
    /// [`Durability::Process`], and migrates it.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, Error> {
        SqliteStore::open_with(path, Durability::default())
    }

    /// Opens the database at `path` with the given durability.
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<SqliteStore, Error> {
        let conn = Connection::open(path).map_err(db)?;
        SqliteStore::setup(conn, durability)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<SqliteStore, Error> {
        SqliteStore::setup(
            Connection::open_in_memory().map_err(db)?,
            Durability::Process,
        )
    }

    fn setup(mut conn: Connection, durability: Durability) -> Result<SqliteStore, Error> {
        // a store held by another process is refused after this long
        // (rusqlite's default is 5 s)
        conn.busy_timeout(std::time::Duration::from_secs(2))
            .map_err(db)?;
        // One process per account: two messengers over one store would
        // both advance the same ratchets. The exclusive lock, taken at the
        // first write below, refuses a second process, and it keeps the
        // WAL index in the heap (no shared-memory file, no lock per
        // transaction).
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        let sync = match durability {
            Durability::Process => "NORMAL",
            Durability::PowerLoss => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync).map_err(db)?;
        migrate(&mut conn)?;
        Ok(SqliteStore { conn })
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<u32, Error> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let applied: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))
        .map_err(db)? as usize;
    if applied > MIGRATIONS.len() {
        return Err(Error::Store(format!(
            "database schema {applied} is newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction().map_err(db)?;
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)
            .map_err(db)?;
        tx.commit().map_err(db)?;
    }
    Ok(())
}

/// The smallest key greater than every key starting with `prefix`, or
/// `None` when no such key exists (all 0xff).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Store for SqliteStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let mut st = self
            .conn
            .prepare_cached("SELECT v FROM kv WHERE tbl = ?1 AND k = ?2")
            .map_err(db)?;
        st.query_row(params![table as u8, key], |r| r.get(0))
            .optional()
            .map_err(db)
    }

    fn scan(&self, table: Table, prefix: &[u8], limit: usize) -> Result<Rows, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let map = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
        match prefix_end(prefix) {
            Some(end) => {
                let mut st = self
                    .conn
                    .prepare_cached(
                        "SELECT k, v FROM kv WHERE tbl = ?1 AND k >= ?2 AND k < ?3 ORDER BY k LIMIT ?4",
                    )
                    .map_err(db)?;
                let rows = st
                    .query_map(params![table as u8, prefix, end, limit], map)
                    .map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            }
            None => {
                let mut st = self
                    .conn
                    .prepare_cached(
                        "SELECT k, v FROM kv WHERE tbl = ?1 AND k >= ?2 ORDER BY k LIMIT ?3",
                    )
                    .map_err(db)?;
                let rows = st
                    .query_map(params![table as u8, prefix, limit], map)
                    .map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            }
        }
    }

    fn commit(&mut self, batch: &Batch) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(db)?;
        {
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO kv (tbl, k, v) VALUES (?1, ?2, ?3)")
                .map_err(db)?;
            let mut del = tx
                .prepare_cached("DELETE FROM kv WHERE tbl = ?1 AND k = ?2")
                .map_err(db)?;
            for (table, key, value) in batch.iter() {
                match value {
                    Some(v) => put.execute(params![table as u8, key, v]).map_err(db)?,
                    None => del.execute(params![table as u8, key]).map_err(db)?,
                };
            }
        }
        tx.commit().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_carries() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
    }

    #[test]
    fn one_process_per_store() {
        let dir = std::env::temp_dir().join(format!("status-sqlite-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.sqlite");
        let first = SqliteStore::open(&path).unwrap();
        // a second opener (another process, here another connection) is refused
        assert!(SqliteStore::open(&path).is_err());
        drop(first);
        // an existing store, reopened: still held by its one opener
        let again = SqliteStore::open(&path).unwrap();
        assert!(SqliteStore::open(&path).is_err());
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn same_semantics_as_the_memory_store() {
        let mut sql = SqliteStore::open_in_memory().unwrap();
        let mut mem = crate::store::MemoryStore::new();
        let mut b = Batch::new();
        for i in 0u8..20 {
            b.put(Table::Messages, vec![b'c', 0, i], vec![i]);
            b.put(Table::Messages, vec![0xff, i], vec![i]);
        }
        b.put(Table::Chats, b"c".to_vec(), b"x".to_vec());
        sql.commit(&b).unwrap();
        mem.commit(&b).unwrap();
        let mut d = Batch::new();
        d.delete(Table::Messages, vec![b'c', 0, 3]);
        sql.commit(&d).unwrap();
        mem.commit(&d).unwrap();
        for (prefix, limit) in [
            (&b"c\x00"[..], 100),
            (b"c\x00", 5),
            (&[0xff][..], 100),
            (b"", 100),
        ] {
            assert_eq!(
                sql.scan(Table::Messages, prefix, limit).unwrap(),
                mem.scan(Table::Messages, prefix, limit).unwrap()
            );
        }
        assert_eq!(sql.get(Table::Chats, b"c").unwrap(), Some(b"x".to_vec()));
        assert_eq!(sql.get(Table::Meta, b"c").unwrap(), None);
        assert_eq!(sql.schema_version().unwrap(), MIGRATIONS.len() as u32);
    }
}
