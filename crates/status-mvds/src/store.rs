//! The sync state of 2/MVDS "State", behind a trait so that the protocol
//! layer can persist it; [`MemoryStore`] keeps it in memory.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hash;

use status_proto::mvds::Message;

use crate::MessageId;

/// What a peer handle must be: cheap to clone, ordered (for deterministic
/// payload order) and hashable. Implemented for every such type.
pub trait Peer: Clone + Ord + Hash + std::fmt::Debug {}
impl<T: Clone + Ord + Hash + std::fmt::Debug> Peer for T {}

/// 2/MVDS record types kept in state. `ACK` is never stored: acks are
/// not retransmitted, only re-sent on every received `MESSAGE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordType {
    /// We offered the message to the peer (interactive mode).
    Offer,
    /// We asked the peer for a message it offered (interactive mode).
    Request,
    /// We send the message itself (batch mode, or after a request).
    Message,
}

/// One state entry per (peer, message id), as 2/MVDS "State" lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// `Type`.
    pub kind: RecordType,
    /// `Send Count`: transmissions so far.
    pub send_count: u32,
    /// `Send Epoch`: the first epoch at which the record may be sent again.
    pub send_epoch: u64,
}

/// Where an [`Mvds`](crate::Mvds) node keeps everything that must survive
/// a restart: the messages it still has to deliver, the per-peer records
/// and the ids it has already received. Pending acks are deliberately not
/// here (2/MVDS: `state` MUST NOT contain `ACK` records); a peer whose ack
/// was lost retransmits and is acked again.
///
/// Restoring a node with [`Mvds::with_store`](crate::Mvds::with_store) on a
/// store that another node filled continues its exchanges where they were.
pub trait StateStore<P> {
    /// Stores `message` under `id` for `refs` more records that reference
    /// it (adds to the count if already stored).
    fn insert_message(&mut self, id: MessageId, message: Message, refs: u32);
    /// The stored message, if any.
    fn message(&self, id: &MessageId) -> Option<Message>;
    /// One referencing record is gone; forget the message at zero.
    fn release_message(&mut self, id: &MessageId);
    /// Messages stored.
    fn message_count(&self) -> usize;

    /// The record for (`peer`, `id`).
    fn record(&self, peer: &P, id: &MessageId) -> Option<Record>;
    /// Inserts or replaces the record for (`peer`, `id`).
    fn set_record(&mut self, peer: P, id: MessageId, record: Record);
    /// Removes and returns the record for (`peer`, `id`).
    fn remove_record(&mut self, peer: &P, id: &MessageId) -> Option<Record>;
    /// Records held (the in-flight state bounded by
    /// [`Config::max_in_flight`](crate::Config::max_in_flight)).
    fn record_count(&self) -> usize;
    /// The smallest `send_epoch` of any record.
    fn next_send_epoch(&self) -> Option<u64>;
    /// Removes every record with `send_epoch <= epoch` and appends it to
    /// `out`, ordered by (send epoch, peer, id).
    fn take_due(&mut self, epoch: u64, out: &mut Vec<(P, MessageId, Record)>);

    /// Remembers that this node holds `id`; `false` if it already did.
    fn mark_received(&mut self, id: MessageId) -> bool;
    /// Whether this node holds (or held) `id`.
    fn has_received(&self, id: &MessageId) -> bool;
}

/// In-memory [`StateStore`]. The set of received ids is bounded: past
/// `max_received` ids the oldest is forgotten, so a message older than
/// that window offered again would be requested and delivered again.
///
/// ```
/// use status_mvds::{MemoryStore, MessageId, StateStore};
///
/// let mut store: MemoryStore<u8> = MemoryStore::new(2);
/// let (a, b, c) = (MessageId([1; 32]), MessageId([2; 32]), MessageId([3; 32]));
/// assert!(store.mark_received(a));
/// assert!(!store.mark_received(a)); // already held
/// store.mark_received(b);
/// store.mark_received(c); // pushes `a` out of the window
/// assert!(!store.has_received(&a));
/// assert!(store.has_received(&c));
/// assert_eq!(store.received_count(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct MemoryStore<P> {
    messages: HashMap<MessageId, (Message, u32)>,
    records: HashMap<(P, MessageId), Record>,
    due: BTreeSet<(u64, P, MessageId)>,
    received: HashSet<MessageId>,
    received_order: VecDeque<MessageId>,
    max_received: usize,
}

impl<P: Peer> MemoryStore<P> {
    /// An empty store remembering up to `max_received` received ids.
    pub fn new(max_received: usize) -> Self {
        MemoryStore {
            messages: HashMap::new(),
            records: HashMap::new(),
            due: BTreeSet::new(),
            received: HashSet::new(),
            received_order: VecDeque::new(),
            max_received,
        }
    }

    /// Received ids remembered now.
    pub fn received_count(&self) -> usize {
        self.received.len()
    }
}

impl<P: Peer> StateStore<P> for MemoryStore<P> {
    fn insert_message(&mut self, id: MessageId, message: Message, refs: u32) {
        let entry = self.messages.entry(id).or_insert((message, 0));
        entry.1 = entry.1.saturating_add(refs);
        if entry.1 == 0 {
            self.messages.remove(&id);
        }
    }

    fn message(&self, id: &MessageId) -> Option<Message> {
        self.messages.get(id).map(|(m, _)| m.clone())
    }

    fn release_message(&mut self, id: &MessageId) {
        if let Some(entry) = self.messages.get_mut(id) {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                self.messages.remove(id);
            }
        }
    }

    fn message_count(&self) -> usize {
        self.messages.len()
    }

    fn record(&self, peer: &P, id: &MessageId) -> Option<Record> {
        self.records.get(&(peer.clone(), *id)).copied()
    }

    fn set_record(&mut self, peer: P, id: MessageId, record: Record) {
        let key = (peer, id);
        if let Some(old) = self.records.insert(key.clone(), record) {
            self.due.remove(&(old.send_epoch, key.0.clone(), id));
        }
        self.due.insert((record.send_epoch, key.0, id));
    }

    fn remove_record(&mut self, peer: &P, id: &MessageId) -> Option<Record> {
        let old = self.records.remove(&(peer.clone(), *id))?;
        self.due.remove(&(old.send_epoch, peer.clone(), *id));
        Some(old)
    }

    fn record_count(&self) -> usize {
        self.records.len()
    }

    fn next_send_epoch(&self) -> Option<u64> {
        self.due.first().map(|(e, _, _)| *e)
    }

    fn take_due(&mut self, epoch: u64, out: &mut Vec<(P, MessageId, Record)>) {
        while let Some((e, _, _)) = self.due.first() {
            if *e > epoch {
                break;
            }
            let Some((_, peer, id)) = self.due.pop_first() else {
                break;
            };
            if let Some(rec) = self.records.remove(&(peer.clone(), id)) {
                out.push((peer, id, rec));
            }
        }
    }

    fn mark_received(&mut self, id: MessageId) -> bool {
        if self.max_received == 0 {
            // Nothing can be remembered, so nothing is a duplicate.
            return true;
        }
        if !self.received.insert(id) {
            return false;
        }
        self.received_order.push_back(id);
        while self.received_order.len() > self.max_received {
            if let Some(old) = self.received_order.pop_front() {
                self.received.remove(&old);
            }
        }
        true
    }

    fn has_received(&self, id: &MessageId) -> bool {
        self.received.contains(id)
    }
}
