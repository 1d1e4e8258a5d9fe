//! Persistence: everything the messenger must not lose, behind a small
//! key-value [`Store`] trait with one transaction per input.
//!
//! The [`Messenger`](crate::Messenger) keeps its working state in memory
//! and writes what an input changed as one [`Batch`]: chats, contacts,
//! messages, group event logs, ratchet sessions and prekeys, MVDS records,
//! Lamport clocks. [`Store::commit`] applies a batch entirely or not at
//! all, and the messenger emits the outputs of an input (posts, acks,
//! events) only after its batch committed, so a crash between receiving a
//! message and acknowledging it never acknowledges a message that was not
//! stored (DESIGN.md "Storage").
//!
//! Two stores: [`MemoryStore`] for tests and simulations, and
//! [`SqliteStore`](crate::SqliteStore) (feature `sqlite`, on by default).
//! Values are this crate's own protobuf records; their format version is
//! kept under [`FORMAT_KEY`] in [`Table::Meta`].

use std::collections::BTreeMap;
use std::ops::Bound;

use zeroize::Zeroizing;

use crate::Error;

/// The value format this version writes, under [`FORMAT_KEY`].
pub const FORMAT_VERSION: u32 = 1;

/// Key in [`Table::Meta`] holding the value format version (`u32` BE).
pub const FORMAT_KEY: &[u8] = b"format";

/// The tables of a store. Keys and values are opaque bytes; each table's
/// key layout is documented where the messenger writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Table {
    /// Identity check, installation id, format version.
    Meta = 0,
    /// Chats by id.
    Chats = 1,
    /// Contacts by contact id.
    Contacts = 2,
    /// Group membership events: `chat id || 0 || clock (BE) || signature`.
    GroupEvents = 3,
    /// Messages: `chat id || 0 || clock (BE) || message id`, so a prefix
    /// scan lists a chat in clock order.
    Messages = 4,
    /// Message id -> its key in [`Table::Messages`] (dedup, status updates).
    MessageIndex = 5,
    /// Double Ratchet sessions.
    Sessions = 6,
    /// Our signed prekeys, by version (BE).
    OurPreKeys = 7,
    /// Peers' signed prekeys by `identity || installation id`.
    TheirPreKeys = 8,
    /// Installations by `identity || installation id`.
    Installations = 9,
    /// Installations heard from (shared-secret agreement).
    Heard = 10,
    /// MVDS messages still to deliver, by MVDS id.
    SyncMessages = 11,
    /// MVDS records by `peer || MVDS id`.
    SyncRecords = 12,
    /// MVDS ids received, by `sequence (BE)`.
    SyncReceived = 13,
    /// Our outgoing MVDS ids -> the message id they carry.
    Outgoing = 14,
    /// Symmetric keys derived from passwords (PBKDF2, 65,356 rounds) by
    /// filter name, so a restart does not derive them again.
    Keys = 15,
}

impl Table {
    /// Every table, in order.
    pub const ALL: [Table; 16] = [
        Table::Meta,
        Table::Chats,
        Table::Contacts,
        Table::GroupEvents,
        Table::Messages,
        Table::MessageIndex,
        Table::Sessions,
        Table::OurPreKeys,
        Table::TheirPreKeys,
        Table::Installations,
        Table::Heard,
        Table::SyncMessages,
        Table::SyncRecords,
        Table::SyncReceived,
        Table::Outgoing,
        Table::Keys,
    ];
}

/// Rows of a scan: `(key, value)` in key order.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

type Ops = BTreeMap<(Table, Vec<u8>), Option<Zeroizing<Vec<u8>>>>;

/// The writes of one input: puts and deletes, last write per key wins.
/// Values erase themselves when dropped (sessions hold secrets).
#[derive(Default, Debug)]
pub struct Batch {
    ops: Ops,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Sets `key` in `table` to `value`.
    pub fn put(&mut self, table: Table, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops
            .insert((table, key.into()), Some(Zeroizing::new(value.into())));
    }

    /// Removes `key` from `table`.
    pub fn delete(&mut self, table: Table, key: impl Into<Vec<u8>>) {
        self.ops.insert((table, key.into()), None);
    }

    /// The pending write for a key: `Some(None)` is a pending delete.
    pub fn pending(&self, table: Table, key: &[u8]) -> Option<Option<&[u8]>> {
        self.ops
            .get(&(table, key.to_vec()))
            .map(|v| v.as_ref().map(|v| v.as_slice()))
    }

    /// Every write, ordered by table and key: `None` deletes.
    pub fn iter(&self) -> impl Iterator<Item = (Table, &[u8], Option<&[u8]>)> {
        self.ops
            .iter()
            .map(|((t, k), v)| (*t, k.as_slice(), v.as_ref().map(|v| v.as_slice())))
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.ops.clear();
    }
}

/// Where a [`Messenger`](crate::Messenger) keeps its state.
///
/// Implementations are key-value tables with prefix scans and one atomic
/// commit per input: a commit that returns `Ok` survives a crash of the
/// process; one that returns `Err` applied nothing. Reads see committed
/// data only (the messenger overlays its own pending batch).
///
/// A wrapper that counts commits:
///
/// ```
/// use status_protocol::store::{Batch, MemoryStore, Rows, Store, Table};
/// use status_protocol::Error;
///
/// #[derive(Default)]
/// struct Counting { inner: MemoryStore, commits: usize }
///
/// impl Store for Counting {
///     fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
///         self.inner.get(table, key)
///     }
///     fn scan(&self, table: Table, prefix: &[u8], limit: usize) -> Result<Rows, Error> {
///         self.inner.scan(table, prefix, limit)
///     }
///     fn commit(&mut self, batch: &Batch) -> Result<(), Error> {
///         self.commits += 1;
///         self.inner.commit(batch)
///     }
/// }
///
/// let mut store = Counting::default();
/// let mut batch = Batch::new();
/// batch.put(Table::Meta, b"k".to_vec(), b"v".to_vec());
/// store.commit(&batch)?;
/// assert_eq!(store.get(Table::Meta, b"k")?, Some(b"v".to_vec()));
/// assert_eq!(store.commits, 1);
/// # Ok::<(), Error>(())
/// ```
pub trait Store {
    /// The committed value of `key` in `table`.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, Error>;
    /// Up to `limit` committed rows of `table` whose key starts with
    /// `prefix`, in key order.
    fn scan(&self, table: Table, prefix: &[u8], limit: usize) -> Result<Rows, Error>;
    /// Applies every write of `batch` atomically.
    fn commit(&mut self, batch: &Batch) -> Result<(), Error>;
}

/// The in-memory [`Store`], for tests and simulations. Cloning it copies
/// the data, which is how a simulation "restarts" a device.
#[derive(Clone, Default, Debug)]
pub struct MemoryStore {
    rows: BTreeMap<(Table, Vec<u8>), Zeroizing<Vec<u8>>>,
    commits: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Rows held, over all tables.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Commits so far.
    pub fn commits(&self) -> u64 {
        self.commits
    }
}

impl Store for MemoryStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.rows.get(&(table, key.to_vec())).map(|v| v.to_vec()))
    }

    fn scan(&self, table: Table, prefix: &[u8], limit: usize) -> Result<Rows, Error> {
        let start = (table, prefix.to_vec());
        Ok(self
            .rows
            .range((Bound::Included(start), Bound::Unbounded))
            .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
            .take(limit)
            .map(|((_, k), v)| (k.clone(), v.to_vec()))
            .collect())
    }

    fn commit(&mut self, batch: &Batch) -> Result<(), Error> {
        for (table, key, value) in batch.iter() {
            match value {
                Some(v) => {
                    self.rows
                        .insert((table, key.to_vec()), Zeroizing::new(v.to_vec()));
                }
                None => {
                    self.rows.remove(&(table, key.to_vec()));
                }
            }
        }
        self.commits += 1;
        Ok(())
    }
}

/// Reads through a batch not yet committed: its writes shadow the store.
pub(crate) fn read<S: Store + ?Sized>(
    store: &S,
    batch: &Batch,
    table: Table,
    key: &[u8],
) -> Result<Option<Vec<u8>>, Error> {
    match batch.pending(table, key) {
        Some(v) => Ok(v.map(<[u8]>::to_vec)),
        None => store.get(table, key),
    }
}

/// Every row of a table, committed (for loading at start-up).
pub(crate) fn all<S: Store + ?Sized>(store: &S, table: Table) -> Result<Rows, Error> {
    store.scan(table, &[], usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_stays_in_its_table_and_prefix() {
        let mut s = MemoryStore::new();
        let mut b = Batch::new();
        b.put(Table::Messages, b"a\x00\x01".to_vec(), b"1".to_vec());
        b.put(Table::Messages, b"a\x00\x02".to_vec(), b"2".to_vec());
        b.put(Table::Messages, b"b\x00\x01".to_vec(), b"3".to_vec());
        b.put(Table::MessageIndex, b"a".to_vec(), b"4".to_vec());
        s.commit(&b).unwrap();
        let rows = s.scan(Table::Messages, b"a\x00", 10).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(s.scan(Table::Messages, b"a\x00", 1).unwrap().len(), 1);
        assert_eq!(all(&s, Table::Messages).unwrap().len(), 3);
        let mut d = Batch::new();
        d.delete(Table::Messages, b"a\x00\x01".to_vec());
        assert_eq!(read(&s, &d, Table::Messages, b"a\x00\x01").unwrap(), None);
        assert!(read(&s, &d, Table::Messages, b"a\x00\x02")
            .unwrap()
            .is_some());
        s.commit(&d).unwrap();
        assert_eq!(s.scan(Table::Messages, b"", 10).unwrap().len(), 2);
    }
}
