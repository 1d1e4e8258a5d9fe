//! Local filters: what the application subscribes to (status-go
//! `waku/common/filter.go`). A filter names topics and the keys that may
//! open envelopes on them; every accepted envelope on one of its topics
//! that one of its keys opens is handed to the application as
//! [`crate::node::Event::Message`].

use std::collections::BTreeMap;

use status_core::SecretKey;
use zeroize::Zeroizing;

use crate::message::{OpenKey, ReceivedMessage, SymmetricKey};
use crate::{Envelope, Topic};

/// A key a filter opens envelopes with.
#[derive(Clone)]
pub enum FilterKey {
    /// AES-256-GCM key (a public chat's, a mailserver's).
    Symmetric(Zeroizing<SymmetricKey>),
    /// Our private key, for envelopes encrypted to us.
    Asymmetric(SecretKey),
}

impl core::fmt::Debug for FilterKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FilterKey::Symmetric(_) => "FilterKey::Symmetric(..)",
            FilterKey::Asymmetric(_) => "FilterKey::Asymmetric(..)",
        })
    }
}

/// A subscription: topics plus the keys to try on them.
///
/// Install one with [`crate::node::Waku::subscribe`]; [`Filter::open`]
/// is what the machine runs on each envelope of its topics:
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_core::{SecretKey, Timestamp};
/// use status_waku::filter::Filter;
/// use status_waku::{wrap, Encryption, MessageParams, Topic};
///
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([4; 32]);
/// let (key, topic) = ([7u8; 32], Topic([1, 2, 3, 4]));
/// let now = Timestamp::from_secs(1_700_000_000);
/// let params = MessageParams::new(b"hi", Encryption::Symmetric(&key), topic);
/// let envelope = wrap(&mut rng, &params, now)?;
///
/// let chat = Filter::symmetric(vec![topic], key);
/// assert_eq!(chat.open(&envelope).map(|m| m.payload().to_vec()), Some(b"hi".to_vec()));
/// assert!(Filter::symmetric(vec![topic], [8; 32]).open(&envelope).is_none());
///
/// // Several keys: the first that opens wins.
/// let me = SecretKey::random(&mut rng);
/// let mut inbox = Filter::asymmetric(vec![topic], me);
/// inbox.keys.push(chat.keys[0].clone());
/// assert_eq!(inbox.open(&envelope).map(|m| m.key_index()), Some(1));
/// # Ok::<(), status_waku::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Filter {
    /// Topics of interest.
    pub topics: Vec<Topic>,
    /// Keys tried in order; the first that opens an envelope wins.
    pub keys: Vec<FilterKey>,
    /// Whether P2P Message envelopes (mailserver answers) are delivered
    /// too (status-go `Filter.AllowP2P`).
    pub allow_p2p: bool,
}

impl Filter {
    /// A filter for a public chat or any password-derived key.
    pub fn symmetric(topics: Vec<Topic>, key: SymmetricKey) -> Self {
        Filter {
            topics,
            keys: vec![FilterKey::Symmetric(Zeroizing::new(key))],
            allow_p2p: true,
        }
    }

    /// A filter for envelopes encrypted to `key`.
    pub fn asymmetric(topics: Vec<Topic>, key: SecretKey) -> Self {
        Filter {
            topics,
            keys: vec![FilterKey::Asymmetric(key)],
            allow_p2p: true,
        }
    }

    /// Tries this filter's keys on `envelope`.
    pub fn open(&self, envelope: &Envelope) -> Option<ReceivedMessage> {
        let keys: Vec<OpenKey<'_>> = self
            .keys
            .iter()
            .map(|k| match k {
                FilterKey::Symmetric(s) => OpenKey::Symmetric(s),
                FilterKey::Asymmetric(sk) => OpenKey::Asymmetric(sk),
            })
            .collect();
        envelope.open(&keys).ok()
    }
}

/// Identifies a filter installed with [`crate::node::Waku::subscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FilterId(pub u64);

/// The installed filters, indexed by topic.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    filters: BTreeMap<FilterId, Filter>,
    by_topic: BTreeMap<Topic, Vec<FilterId>>,
    next: u64,
}

impl Filters {
    pub(crate) fn install(&mut self, filter: Filter) -> FilterId {
        let id = FilterId(self.next);
        self.next += 1;
        for t in &filter.topics {
            let ids = self.by_topic.entry(*t).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        self.filters.insert(id, filter);
        id
    }

    pub(crate) fn uninstall(&mut self, id: FilterId) -> bool {
        let Some(f) = self.filters.remove(&id) else {
            return false;
        };
        for t in &f.topics {
            if let Some(ids) = self.by_topic.get_mut(t) {
                ids.retain(|i| *i != id);
                if ids.is_empty() {
                    self.by_topic.remove(t);
                }
            }
        }
        true
    }

    /// Whether any filter listens on `topic` (cheap; checked per envelope).
    pub(crate) fn wants(&self, topic: Topic) -> bool {
        self.by_topic.contains_key(&topic)
    }

    /// Filters on `topic` with what each opened.
    pub(crate) fn open(&self, envelope: &Envelope, p2p: bool) -> Vec<(FilterId, ReceivedMessage)> {
        let Some(ids) = self.by_topic.get(&envelope.topic) else {
            return Vec::new();
        };
        ids.iter()
            .filter_map(|id| {
                let f = self.filters.get(id)?;
                if p2p && !f.allow_p2p {
                    return None;
                }
                f.open(envelope).map(|m| (*id, m))
            })
            .collect()
    }

    /// Every subscribed topic, sorted, without duplicates.
    pub(crate) fn topics(&self) -> Vec<Topic> {
        self.by_topic.keys().copied().collect()
    }
}
