//! The archive: every envelope a mailserver saw, keyed as status-go keys
//! it, and the queries history requests turn into.
//!
//! status-go v0.55.1 (`mailserver/db_key.go`) stores an envelope under
//!
//! ```text
//! key    = u32be(expiry - ttl) ++ keccak256(envelope RLP) ++ topic   (40 bytes)
//! cursor = key[..36]
//! ```
//!
//! so the keys sort by the envelope's creation time, then its hash. Both
//! stores here keep that key, which makes a query a key-range scan and a
//! cursor a point in it.

use bytes::Bytes;
use status_waku::mailserver::CURSOR_SIZE;
use status_waku::{Bloom, Envelope, Topic};

use crate::Error;

/// Length of a [`DbKey`].
pub const DB_KEY_SIZE: usize = CURSOR_SIZE + 4;

/// The key an envelope is archived under: `u32be(sent) ++ hash ++ topic`
/// (status-go `DBKey`). Keys sort by creation time, then hash.
///
/// ```
/// use status_mailserver::DbKey;
/// use status_waku::Topic;
///
/// let key = DbKey::new(1_600_000_000, &[7; 32], Topic([1, 2, 3, 4]));
/// assert_eq!(key.sent(), 1_600_000_000);
/// assert_eq!(key.hash(), [7; 32]);
/// assert_eq!(key.topic(), Topic([1, 2, 3, 4]));
/// assert_eq!(&key.cursor()[..], &key.0[..36]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DbKey(pub [u8; DB_KEY_SIZE]);

impl DbKey {
    /// The key of an envelope created at `sent` with `hash` and `topic`.
    pub fn new(sent: u32, hash: &[u8; 32], topic: Topic) -> DbKey {
        DbKey(status_waku::mailserver::db_key(sent, hash, topic))
    }

    /// A key read back from a store; `None` unless exactly 40 bytes.
    pub fn from_slice(b: &[u8]) -> Option<DbKey> {
        b.try_into().ok().map(DbKey)
    }

    /// The envelope's creation time (`expiry - ttl`), Unix seconds.
    pub fn sent(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    /// The envelope hash.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = [0u8; 32];
        h.copy_from_slice(&self.0[4..CURSOR_SIZE]);
        h
    }

    /// The envelope topic.
    pub fn topic(&self) -> Topic {
        let mut t = [0u8; 4];
        t.copy_from_slice(&self.0[CURSOR_SIZE..]);
        Topic(t)
    }

    /// The cursor a page ending at this envelope carries: the key's first
    /// 36 bytes (status-go `DBKey.Cursor`).
    pub fn cursor(&self) -> [u8; CURSOR_SIZE] {
        let mut c = [0u8; CURSOR_SIZE];
        c.copy_from_slice(&self.0[..CURSOR_SIZE]);
        c
    }
}

/// One archived envelope: its key and its RLP, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedEnvelope {
    /// Where it sorts.
    pub key: DbKey,
    /// The envelope's RLP (what goes back out in P2P Messages).
    pub raw: Bytes,
}

impl ArchivedEnvelope {
    /// The archive entry of `envelope` (encodes it once).
    ///
    /// ```
    /// use status_mailserver::ArchivedEnvelope;
    /// use status_waku::{Envelope, Topic};
    ///
    /// let env = Envelope::new(1_600_000_000, 60, Topic([1, 2, 3, 4]), &b"x"[..]);
    /// let a = ArchivedEnvelope::new(&env);
    /// assert_eq!(a.key.sent(), 1_600_000_000);
    /// assert_eq!(a.key.hash(), env.hash());
    /// assert_eq!(&a.raw[..], &env.to_vec()[..]);
    /// ```
    pub fn new(envelope: &Envelope) -> ArchivedEnvelope {
        let raw = Bytes::from(envelope.to_vec());
        let hash = status_core::keccak256(&raw);
        ArchivedEnvelope {
            key: DbKey::new(envelope.sent_secs(), &hash, envelope.topic),
            raw,
        }
    }

    /// The archive entry of an envelope's RLP (decoded strictly, within
    /// `max_size`); the hash is taken over these bytes, as status-go does.
    pub fn from_raw(raw: Bytes, max_size: usize) -> Result<ArchivedEnvelope, Error> {
        let env = Envelope::decode_shared(&raw, max_size)?;
        let hash = status_core::keccak256(&raw);
        Ok(ArchivedEnvelope {
            key: DbKey::new(env.sent_secs(), &hash, env.topic),
            raw,
        })
    }
}

/// In which order a query walks the keys.
///
/// status-go's two archives disagree: its LevelDB archive (the default)
/// returns envelopes oldest first and continues a cursor after it; its
/// PostgreSQL archive returns them newest first (`ORDER BY id DESC`) and
/// continues before it. Either store here can do either, so a fleet can
/// keep the behaviour its clients saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest first (status-go's LevelDB archive).
    #[default]
    Ascending,
    /// Newest first (status-go's PostgreSQL archive).
    Descending,
}

/// Which envelopes a query wants, besides the time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Envelopes whose topic's bloom is inside this one (status-go
    /// `BloomFilterMatch(request, TopicToBloom(topic))`).
    Bloom(Bloom),
    /// Envelopes on exactly these topics (Waku topic lists).
    Topics(Vec<Topic>),
}

impl Selector {
    /// Whether an envelope on `topic` is wanted.
    pub fn matches(&self, topic: Topic) -> bool {
        match self {
            Selector::Bloom(b) => b.contains(&Bloom::from_topic(topic)),
            Selector::Topics(ts) => ts.contains(&topic),
        }
    }
}

/// A query of the archive: what one page of a history request reads.
///
/// Creation times `lower..=upper` both inclusive (status-go scans keys from
/// `DBKey(lower)` up to but excluding `DBKey(upper + 1)`); with a cursor,
/// only keys strictly after it ([`Order::Ascending`]) or strictly before it
/// ([`Order::Descending`]); at most `limit` envelopes, in `order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Oldest creation time, Unix seconds, inclusive.
    pub lower: u32,
    /// Newest creation time, Unix seconds, inclusive.
    pub upper: u32,
    /// Which envelopes.
    pub selector: Selector,
    /// Envelopes at most.
    pub limit: u32,
    /// Where the previous page ended.
    pub cursor: Option<[u8; CURSOR_SIZE]>,
    /// Oldest or newest first.
    pub order: Order,
}

impl Query {
    /// Whether `key` is in this query's range and selection (the reference
    /// semantics every store implements).
    pub fn wants(&self, key: &DbKey) -> bool {
        let sent = key.sent();
        if sent < self.lower || sent > self.upper {
            return false;
        }
        if let Some(c) = &self.cursor {
            let prefix = &key.0[..CURSOR_SIZE];
            let beyond = match self.order {
                Order::Ascending => prefix > &c[..],
                Order::Descending => prefix < &c[..],
            };
            if !beyond {
                return false;
            }
        }
        self.selector.matches(key.topic())
    }

    /// Key bounds `[lo, hi)` of the time range, plus the cursor bound:
    /// keys must be `> after` (ascending) or `< before` (descending).
    pub(crate) fn key_bounds(&self) -> KeyBounds {
        let lo = DbKey::new(self.lower, &[0; 32], Topic([0; 4])).0.to_vec();
        let hi = match self.upper.checked_add(1) {
            Some(u) => DbKey::new(u, &[0; 32], Topic([0; 4])).0.to_vec(),
            // past every 40-byte key
            None => vec![0xff; DB_KEY_SIZE + 1],
        };
        let cursor = match (self.order, &self.cursor) {
            // key[..36] > cursor  <=>  key > cursor ++ ff ff ff ff
            (Order::Ascending, Some(c)) => [&c[..], &[0xff; 4]].concat(),
            (Order::Ascending, None) => Vec::new(),
            // key[..36] < cursor  <=>  key < cursor (a longer key with the
            // cursor as prefix sorts after it)
            (Order::Descending, Some(c)) => c.to_vec(),
            (Order::Descending, None) => vec![0xff; DB_KEY_SIZE + 1],
        };
        KeyBounds { lo, hi, cursor }
    }
}

/// Byte bounds of a query, for SQL: `id >= lo AND id < hi` and
/// `id > cursor` (ascending) or `id < cursor` (descending).
pub(crate) struct KeyBounds {
    pub lo: Vec<u8>,
    pub hi: Vec<u8>,
    pub cursor: Vec<u8>,
}

/// Topics a bloom query is answered through the topic index for at most;
/// a broader bloom scans the time range instead (it likely matches most
/// envelopes in it anyway).
pub(crate) const MAX_INDEXED_TOPICS: usize = 64;

/// How a store answers a query.
pub(crate) enum Plan {
    /// Through the `(topic, id)` index, one range per topic, merged.
    Topics(Vec<Topic>),
    /// Walk the key range, keeping what the bloom matches.
    Scan(Bloom),
}

/// Chooses how to answer `selector`, given the topics the archive has.
pub(crate) fn plan(
    selector: &Selector,
    known: impl FnOnce() -> Result<Vec<Topic>, Error>,
) -> Result<Plan, Error> {
    match selector {
        Selector::Topics(ts) => {
            let mut ts = ts.clone();
            ts.sort_unstable();
            ts.dedup();
            Ok(Plan::Topics(ts))
        }
        Selector::Bloom(b) if *b == Bloom::FULL => Ok(Plan::Scan(*b)),
        Selector::Bloom(b) => {
            let matching: Vec<Topic> = known()?
                .into_iter()
                .filter(|t| b.contains(&Bloom::from_topic(*t)))
                .collect();
            if matching.len() <= MAX_INDEXED_TOPICS {
                Ok(Plan::Topics(matching))
            } else {
                Ok(Plan::Scan(*b))
            }
        }
    }
}

/// Where envelopes are kept: the one place a mailserver touches a disk or
/// a database. Implementations: [`crate::SqliteArchive`] (embedded, the
/// default), [`crate::PostgresArchive`] (fleets), [`crate::MemoryArchive`]
/// (tests, fuzzing; the reference semantics).
///
/// Every store gives the same answers: the suite in `tests/archive.rs`
/// runs on each.
pub trait Archive: Send + Sync {
    /// Stores `envelopes` in one transaction, skipping those already
    /// archived (by key, hence by hash); durable when it returns. Returns
    /// how many were new.
    fn archive(&self, envelopes: &[ArchivedEnvelope]) -> Result<usize, Error>;

    /// The envelopes `query` selects, in its order, at most `limit`.
    fn query(&self, query: &Query) -> Result<Vec<ArchivedEnvelope>, Error>;

    /// Deletes envelopes created before `before` (Unix seconds), as
    /// status-go's cleaner does; returns how many.
    fn prune(&self, before: u32) -> Result<u64, Error>;

    /// Envelopes archived.
    fn count(&self) -> Result<u64, Error>;

    /// Whether an envelope with this key is archived.
    fn contains(&self, key: &DbKey) -> Result<bool, Error>;
}

impl<A: Archive + ?Sized> Archive for Box<A> {
    fn archive(&self, envelopes: &[ArchivedEnvelope]) -> Result<usize, Error> {
        (**self).archive(envelopes)
    }
    fn query(&self, query: &Query) -> Result<Vec<ArchivedEnvelope>, Error> {
        (**self).query(query)
    }
    fn prune(&self, before: u32) -> Result<u64, Error> {
        (**self).prune(before)
    }
    fn count(&self) -> Result<u64, Error> {
        (**self).count()
    }
    fn contains(&self, key: &DbKey) -> Result<bool, Error> {
        (**self).contains(key)
    }
}

impl<A: Archive + ?Sized> Archive for std::sync::Arc<A> {
    fn archive(&self, envelopes: &[ArchivedEnvelope]) -> Result<usize, Error> {
        (**self).archive(envelopes)
    }
    fn query(&self, query: &Query) -> Result<Vec<ArchivedEnvelope>, Error> {
        (**self).query(query)
    }
    fn prune(&self, before: u32) -> Result<u64, Error> {
        (**self).prune(before)
    }
    fn count(&self) -> Result<u64, Error> {
        (**self).count()
    }
    fn contains(&self, key: &DbKey) -> Result<bool, Error> {
        (**self).contains(key)
    }
}

/// Sorts merged per-topic results into the query's order and keeps the
/// first `limit`.
pub(crate) fn order_and_truncate<T>(
    rows: &mut Vec<T>,
    key: impl Fn(&T) -> &[u8],
    order: Order,
    limit: u32,
) {
    match order {
        Order::Ascending => rows.sort_unstable_by(|a, b| key(a).cmp(key(b))),
        Order::Descending => rows.sort_unstable_by(|a, b| key(b).cmp(key(a))),
    }
    rows.truncate(limit as usize);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(order: Order, cursor: Option<[u8; 36]>) -> Query {
        Query {
            lower: 10,
            upper: 20,
            selector: Selector::Bloom(Bloom::FULL),
            limit: 10,
            cursor,
            order,
        }
    }

    #[test]
    fn time_bounds_are_inclusive_on_both_ends() {
        let k = |t| DbKey::new(t, &[1; 32], Topic([0; 4]));
        let query = q(Order::Ascending, None);
        assert!(!query.wants(&k(9)));
        assert!(query.wants(&k(10)));
        assert!(query.wants(&k(20)));
        assert!(!query.wants(&k(21)));
    }

    #[test]
    fn a_cursor_excludes_its_own_envelope_in_both_orders() {
        let at = DbKey::new(15, &[5; 32], Topic([9; 4]));
        let before = DbKey::new(15, &[4; 32], Topic([0xff; 4]));
        let after = DbKey::new(15, &[6; 32], Topic([0; 4]));
        let asc = q(Order::Ascending, Some(at.cursor()));
        assert!(!asc.wants(&at) && !asc.wants(&before) && asc.wants(&after));
        let desc = q(Order::Descending, Some(at.cursor()));
        assert!(!desc.wants(&at) && desc.wants(&before) && !desc.wants(&after));
        // the byte bounds the stores use agree with the reference
        let b = asc.key_bounds();
        assert!(at.0[..] <= b.cursor[..] && after.0[..] > b.cursor[..]);
        let b = desc.key_bounds();
        assert!(at.0[..] >= b.cursor[..] && before.0[..] < b.cursor[..]);
    }

    #[test]
    fn the_bloom_rule_is_status_gos_subset_match() {
        let t = Topic([0xca, 0xfe, 0, 1]);
        let other = Topic([1, 2, 3, 4]);
        assert!(Selector::Bloom(Bloom::from_topic(t)).matches(t));
        assert!(Selector::Bloom(Bloom::from_topics(&[t, other])).matches(other));
        assert!(!Selector::Bloom(Bloom::from_topic(t)).matches(other));
        assert!(!Selector::Bloom(Bloom::EMPTY).matches(t));
        assert!(Selector::Topics(vec![t]).matches(t));
        assert!(!Selector::Topics(vec![t]).matches(other));
    }

    #[test]
    fn upper_at_the_end_of_time_bounds_past_every_key() {
        let mut query = q(Order::Ascending, None);
        query.upper = u32::MAX;
        let b = query.key_bounds();
        assert!(DbKey([0xff; 40]).0[..] < b.hi[..]);
    }
}
