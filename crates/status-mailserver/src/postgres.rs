//! The fleet archive: PostgreSQL, in status-go's schema, through
//! rust-postgres' synchronous client and an r2d2 connection pool.
//!
//! Why these crates: `postgres` is the synchronous face of
//! `tokio-postgres`, the most used and best kept native Rust client (no
//! libpq, binary protocol, prepared statements); its sync API fits the
//! [`Archive`] trait and keeps tokio an implementation detail of this one
//! module (the feature `postgres`). `r2d2` is the same author's pool: a few
//! connections shared by the archive writer and concurrent queries.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use postgres::NoTls;
use r2d2::{Pool, PooledConnection};
use r2d2_postgres::PostgresConnectionManager;
use status_waku::{Bloom, Topic};

use crate::archive::{plan, Archive, ArchivedEnvelope, DbKey, Order, Plan, Query};
use crate::Error;

/// Numbered migrations, applied in order inside one transaction under an
/// advisory lock (several mailservers may start at once on one database).
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_topics.sql"),
];

/// The advisory lock key migrations hold ("status-ms" in ASCII).
const MIGRATION_LOCK: i64 = 0x7374_6174_7573_6d73;

/// Settings of a [`PostgresArchive`].
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database` (or the key=value form).
    pub url: String,
    /// A schema to keep the tables in (created if missing); `None` uses
    /// the connection's default search path (status-go's `public`).
    pub schema: Option<String>,
    /// Connections in the pool at most.
    pub pool_size: u32,
    /// How long a caller waits for a free connection.
    pub connection_timeout: Duration,
}

impl PostgresConfig {
    /// Defaults for the server at `url`: 4 connections, 10 s to get one.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            schema: None,
            pool_size: 4,
            connection_timeout: Duration::from_secs(10),
        }
    }

    /// Keeps the tables in `schema`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

type Manager = PostgresConnectionManager<NoTls>;

/// The PostgreSQL archive: status-go's `envelopes (id, data, topic, bloom)`
/// table, so an archive a status-go mailserver filled is served as is,
/// plus a `(topic, id)` index and a table of known topics for topic and
/// bloom queries. Batches go in as one `INSERT ... SELECT FROM unnest(...)`.
pub struct PostgresArchive {
    pool: Pool<Manager>,
}

impl std::fmt::Debug for PostgresArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresArchive")
            .field("connections", &self.pool.state().connections)
            .finish()
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl PostgresArchive {
    /// Connects, creates the schema if asked for, and migrates.
    pub fn open(config: PostgresConfig) -> Result<PostgresArchive, Error> {
        if config.pool_size == 0 {
            return Err(Error::InvalidConfig("pool_size must be at least 1"));
        }
        let mut pg: postgres::Config = config.url.parse()?;
        if let Some(schema) = &config.schema {
            let mut setup = pg.connect(NoTls)?;
            setup.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(schema)
            ))?;
            // every pooled connection works in the schema
            pg.options(&format!("-c search_path={schema}"));
        }
        let pool = Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(1))
            .connection_timeout(config.connection_timeout)
            .build(PostgresConnectionManager::new(pg, NoTls))?;
        let archive = PostgresArchive { pool };
        archive.migrate()?;
        Ok(archive)
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, Error> {
        Ok(self.pool.get()?)
    }

    fn migrate(&self) -> Result<(), Error> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS status_rs_mailserver_migrations (version BIGINT PRIMARY KEY)",
        )?;
        let row = tx.query_one(
            "SELECT COALESCE(MAX(version), 0) FROM status_rs_mailserver_migrations",
            &[],
        )?;
        let version: i64 = row.get(0);
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(Error::SchemaTooNew {
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO status_rs_mailserver_migrations (version) VALUES ($1)",
                &[&(i as i64 + 1)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// status-go's `toBitString`: the bloom as 512 `0`/`1` characters.
fn bit_string(bloom: &Bloom) -> String {
    let mut s = String::with_capacity(512);
    for b in bloom.0 {
        for i in (0..8).rev() {
            s.push(if b >> i & 1 == 1 { '1' } else { '0' });
        }
    }
    s
}

fn row(id: &[u8], data: &[u8]) -> Result<ArchivedEnvelope, Error> {
    Ok(ArchivedEnvelope {
        key: DbKey::from_slice(id).ok_or(Error::CorruptRow("key is not 40 bytes"))?,
        raw: Bytes::copy_from_slice(data),
    })
}

impl Archive for PostgresArchive {
    fn archive(&self, envelopes: &[ArchivedEnvelope]) -> Result<usize, Error> {
        if envelopes.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&[u8]> = envelopes.iter().map(|e| &e.key.0[..]).collect();
        let data: Vec<&[u8]> = envelopes.iter().map(|e| &e.raw[..]).collect();
        let topics: Vec<[u8; 4]> = envelopes.iter().map(|e| e.key.topic().0).collect();
        let topic_refs: Vec<&[u8]> = topics.iter().map(|t| &t[..]).collect();
        let blooms: Vec<String> = topics
            .iter()
            .map(|t| bit_string(&Bloom::from_topic(Topic(*t))))
            .collect();
        let distinct: Vec<&[u8]> = topics
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|t| &t[..])
            .collect();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let new = tx.execute(
            "INSERT INTO envelopes (id, data, topic, bloom) \
             SELECT id, data, topic, bloom::bit(512) \
             FROM unnest($1::bytea[], $2::bytea[], $3::bytea[], $4::text[]) AS u(id, data, topic, bloom) \
             ON CONFLICT (id) DO NOTHING",
            &[&ids, &data, &topic_refs, &blooms],
        )?;
        tx.execute(
            "INSERT INTO envelope_topics (topic) SELECT unnest($1::bytea[]) ON CONFLICT DO NOTHING",
            &[&distinct],
        )?;
        tx.commit()?;
        Ok(new as usize)
    }

    fn query(&self, query: &Query) -> Result<Vec<ArchivedEnvelope>, Error> {
        if query.limit == 0 || query.lower > query.upper {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        let b = query.key_bounds();
        let (cmp, dir) = match query.order {
            Order::Ascending => (">", "ASC"),
            Order::Descending => ("<", "DESC"),
        };
        let limit = i64::from(query.limit);
        let plan = plan(&query.selector, || {
            let rows = conn.query("SELECT topic FROM envelope_topics", &[])?;
            rows.iter()
                .map(|r| {
                    Topic::from_slice(r.get::<_, &[u8]>(0))
                        .ok_or(Error::CorruptRow("topic is not 4 bytes"))
                })
                .collect()
        })?;
        let rows = match plan {
            Plan::Topics(topics) if topics.is_empty() => return Ok(Vec::new()),
            Plan::Topics(topics) => {
                // One index range per topic (LATERAL), merged by the server.
                let topics: Vec<&[u8]> = topics.iter().map(|t| &t.0[..]).collect();
                let sql = format!(
                    "SELECT e.id, e.data FROM unnest($1::bytea[]) AS t(topic) \
                     CROSS JOIN LATERAL (SELECT id, data FROM envelopes \
                       WHERE topic = t.topic AND id >= $2 AND id < $3 AND id {cmp} $4 \
                       ORDER BY id {dir} LIMIT $5) e \
                     ORDER BY e.id {dir} LIMIT $5"
                );
                conn.query(&sql, &[&topics, &b.lo, &b.hi, &b.cursor, &limit])?
            }
            Plan::Scan(bloom) => {
                // status-go's own bloom test, on every row of the range.
                let sql = format!(
                    "SELECT id, data FROM envelopes \
                     WHERE id >= $1 AND id < $2 AND id {cmp} $3 \
                       AND bloom & ($4::text)::bit(512) = bloom \
                     ORDER BY id {dir} LIMIT $5"
                );
                conn.query(
                    &sql,
                    &[&b.lo, &b.hi, &b.cursor, &bit_string(&bloom), &limit],
                )?
            }
        };
        rows.iter()
            .map(|r| row(r.get::<_, &[u8]>(0), r.get::<_, &[u8]>(1)))
            .collect()
    }

    fn prune(&self, before: u32) -> Result<u64, Error> {
        let bound = DbKey::new(before, &[0; 32], Topic([0; 4])).0;
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let n = tx.execute("DELETE FROM envelopes WHERE id < $1", &[&&bound[..]])?;
        if n > 0 {
            tx.execute(
                "DELETE FROM envelope_topics t WHERE NOT EXISTS \
                 (SELECT 1 FROM envelopes e WHERE e.topic = t.topic)",
                &[],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    fn count(&self) -> Result<u64, Error> {
        let mut conn = self.conn()?;
        let n: i64 = conn
            .query_one("SELECT count(*) FROM envelopes", &[])?
            .get(0);
        Ok(n as u64)
    }

    fn contains(&self, key: &DbKey) -> Result<bool, Error> {
        let mut conn = self.conn()?;
        let rows = conn.query("SELECT 1 FROM envelopes WHERE id = $1", &[&&key.0[..]])?;
        Ok(!rows.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_strings_are_status_gos() {
        let mut b = Bloom::EMPTY;
        b.0[0] = 0b1000_0001;
        let s = bit_string(&b);
        assert_eq!(s.len(), 512);
        assert!(s.starts_with("10000001"));
        assert!(s[8..].bytes().all(|c| c == b'0'));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
