//! An archive in a `BTreeMap`: the reference semantics of [`Archive`], for
//! tests, simulations and fuzzing. Nothing survives the process.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;

use crate::archive::{Archive, ArchivedEnvelope, DbKey, Order, Query};
use crate::Error;

/// The in-memory archive: every query is the plain filter of
/// [`Query::wants`] over the keys in order.
///
/// ```
/// use status_mailserver::{Archive, ArchivedEnvelope, MemoryArchive, Order, Query, Selector};
/// use status_waku::{Bloom, Envelope, Topic};
///
/// let archive = MemoryArchive::default();
/// let topic = Topic([1, 2, 3, 4]);
/// let env = ArchivedEnvelope::new(&Envelope::new(1_600_000_000, 60, topic, &b"x"[..]));
/// assert_eq!(archive.archive(&[env.clone(), env.clone()])?, 1);
/// let query = Query {
///     lower: 1_600_000_000,
///     upper: 1_600_000_000,
///     selector: Selector::Bloom(Bloom::from_topic(topic)),
///     limit: 10,
///     cursor: None,
///     order: Order::Ascending,
/// };
/// assert_eq!(archive.query(&query)?, [env]);
/// # Ok::<(), status_mailserver::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryArchive {
    envelopes: Mutex<BTreeMap<DbKey, Bytes>>,
}

impl MemoryArchive {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<DbKey, Bytes>> {
        // a panic elsewhere cannot leave the map half-updated: every
        // mutation is one insert or one retain
        self.envelopes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Archive for MemoryArchive {
    fn archive(&self, envelopes: &[ArchivedEnvelope]) -> Result<usize, Error> {
        let mut map = self.map();
        let mut new = 0;
        for e in envelopes {
            if let std::collections::btree_map::Entry::Vacant(v) = map.entry(e.key) {
                v.insert(e.raw.clone());
                new += 1;
            }
        }
        Ok(new)
    }

    fn query(&self, query: &Query) -> Result<Vec<ArchivedEnvelope>, Error> {
        let map = self.map();
        let pick = |(k, v): (&DbKey, &Bytes)| {
            query.wants(k).then(|| ArchivedEnvelope {
                key: *k,
                raw: v.clone(),
            })
        };
        let limit = query.limit as usize;
        Ok(match query.order {
            Order::Ascending => map.iter().filter_map(pick).take(limit).collect(),
            Order::Descending => map.iter().rev().filter_map(pick).take(limit).collect(),
        })
    }

    fn prune(&self, before: u32) -> Result<u64, Error> {
        let mut map = self.map();
        let n = map.len();
        map.retain(|k, _| k.sent() >= before);
        Ok((n - map.len()) as u64)
    }

    fn count(&self) -> Result<u64, Error> {
        Ok(self.map().len() as u64)
    }

    fn contains(&self, key: &DbKey) -> Result<bool, Error> {
        Ok(self.map().contains_key(key))
    }
}
