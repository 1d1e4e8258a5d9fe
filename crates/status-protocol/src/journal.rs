//! The lower layers' stores, journaled: they keep their state in memory,
//! note which records an input touched, and the messenger writes exactly
//! those records into its [`Batch`] at the end of the input.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use status_encryption::{
    Installation, KeyBytes, MemoryStore as EncMemory, OurPreKey, Session, SessionId, SessionStore,
    TheirPreKey,
};
use status_mvds::{MessageId as SyncId, Record, RecordType, StateStore};
use status_proto::mvds::Message as SyncMessage;
use status_proto::Message as _;

use crate::store::{all, Batch, Store, Table};
use crate::Error;

fn pair_key(identity: &KeyBytes, installation_id: &str) -> Vec<u8> {
    let mut k = identity.to_vec();
    k.extend_from_slice(installation_id.as_bytes());
    k
}

fn session_key(id: &SessionId) -> Vec<u8> {
    let mut k = id.identity.to_vec();
    k.extend_from_slice(&id.bundle_id);
    k.extend_from_slice(id.installation_id.as_bytes());
    k
}

/// status-encryption's [`SessionStore`] over its in-memory store, with a
/// journal of what changed.
#[derive(Default)]
pub struct SessionJournal {
    inner: EncMemory,
    sessions: BTreeSet<SessionId>,
    prekeys: bool,
    their_prekeys: BTreeSet<(KeyBytes, String)>,
    installations: BTreeSet<(KeyBytes, String)>,
    heard: BTreeSet<(KeyBytes, String)>,
    /// Versions of our prekeys the store holds.
    written_prekeys: BTreeSet<u32>,
}

impl SessionJournal {
    /// Rebuilds the in-memory state from a store's committed rows.
    pub(crate) fn load<S: Store + ?Sized>(store: &S) -> Result<SessionJournal, Error> {
        let mut inner = EncMemory::new();
        let bad = |what: &str| Error::Store(format!("corrupt {what} record"));
        for (_, v) in all(store, Table::Sessions)? {
            let s = Session::from_bytes(&v).map_err(|_| bad("session"))?;
            inner.put_session(s).map_err(|_| bad("session"))?;
        }
        let prekeys = all(store, Table::OurPreKeys)?;
        let keep = prekeys.len().max(1);
        let mut written_prekeys = BTreeSet::new();
        for (_, v) in prekeys {
            let p = OurPreKey::from_bytes(&v).map_err(|_| bad("prekey"))?;
            written_prekeys.insert(p.version());
            inner.push_our_prekey(p, keep).map_err(|_| bad("prekey"))?;
        }
        for (_, v) in all(store, Table::TheirPreKeys)? {
            let (identity, id, p) = TheirPreKey::from_bytes(&v).map_err(|_| bad("their prekey"))?;
            inner
                .put_their_prekey(identity, &id, p)
                .map_err(|_| bad("their prekey"))?;
        }
        for (_, v) in all(store, Table::Installations)? {
            let i = Installation::from_bytes(&v).map_err(|_| bad("installation"))?;
            inner.put_installation(i).map_err(|_| bad("installation"))?;
        }
        for (k, _) in all(store, Table::Heard)? {
            if k.len() < 33 {
                return Err(bad("heard"));
            }
            let mut identity = [0u8; 33];
            identity.copy_from_slice(&k[..33]);
            let id = String::from_utf8(k[33..].to_vec()).map_err(|_| bad("heard"))?;
            inner
                .mark_heard_from(identity, &id)
                .map_err(|_| bad("heard"))?;
        }
        Ok(SessionJournal {
            inner,
            written_prekeys,
            ..SessionJournal::default()
        })
    }

    /// Writes what changed since the last flush into `batch`.
    pub(crate) fn flush(&mut self, batch: &mut Batch) -> Result<(), Error> {
        let e = |_| Error::Store("encryption store".into());
        for id in std::mem::take(&mut self.sessions) {
            if let Some(s) = self.inner.session(&id).map_err(e)? {
                batch.put(Table::Sessions, session_key(&id), s.to_bytes().to_vec());
            }
        }
        if std::mem::take(&mut self.prekeys) {
            // few and rarely changed: rewrite them all (old ones age out)
            let current = self.inner.our_prekeys().map_err(e)?;
            let keep: BTreeSet<u32> = current.iter().map(OurPreKey::version).collect();
            for v in self.written_prekeys.difference(&keep) {
                batch.delete(Table::OurPreKeys, v.to_be_bytes().to_vec());
            }
            for p in &current {
                batch.put(
                    Table::OurPreKeys,
                    p.version().to_be_bytes().to_vec(),
                    p.to_bytes().to_vec(),
                );
            }
            self.written_prekeys = keep;
        }
        for (identity, id) in std::mem::take(&mut self.their_prekeys) {
            if let Some(p) = self.inner.their_prekeys(&identity).map_err(e)?.get(&id) {
                batch.put(
                    Table::TheirPreKeys,
                    pair_key(&identity, &id),
                    p.to_bytes(&identity, &id),
                );
            }
        }
        for (identity, id) in std::mem::take(&mut self.installations) {
            if let Some(i) = self
                .inner
                .installations(&identity)
                .map_err(e)?
                .into_iter()
                .find(|i| i.id == id)
            {
                batch.put(Table::Installations, pair_key(&identity, &id), i.to_bytes());
            }
        }
        for (identity, id) in std::mem::take(&mut self.heard) {
            batch.put(Table::Heard, pair_key(&identity, &id), Vec::new());
        }
        Ok(())
    }

    /// Forgets the journal (after a failed input the messenger is
    /// poisoned, so nothing of it may reach the store).
    pub(crate) fn discard(&mut self) {
        self.sessions.clear();
        self.prekeys = false;
        self.their_prekeys.clear();
        self.installations.clear();
        self.heard.clear();
    }
}

impl SessionStore for SessionJournal {
    fn session(&self, id: &SessionId) -> Result<Option<Session>, status_encryption::Error> {
        self.inner.session(id)
    }
    fn sessions_with(
        &self,
        identity: &KeyBytes,
        installation_id: &str,
    ) -> Result<Vec<Session>, status_encryption::Error> {
        self.inner.sessions_with(identity, installation_id)
    }
    fn put_session(&mut self, session: Session) -> Result<(), status_encryption::Error> {
        self.sessions.insert(session.id().clone());
        self.inner.put_session(session)
    }
    fn count_sessions(&self, identity: &KeyBytes) -> Result<usize, status_encryption::Error> {
        self.inner.count_sessions(identity)
    }
    fn our_prekeys(&self) -> Result<Vec<OurPreKey>, status_encryption::Error> {
        self.inner.our_prekeys()
    }
    fn push_our_prekey(
        &mut self,
        prekey: OurPreKey,
        keep: usize,
    ) -> Result<(), status_encryption::Error> {
        self.prekeys = true;
        self.inner.push_our_prekey(prekey, keep)
    }
    fn their_prekeys(
        &self,
        identity: &KeyBytes,
    ) -> Result<BTreeMap<String, TheirPreKey>, status_encryption::Error> {
        self.inner.their_prekeys(identity)
    }
    fn put_their_prekey(
        &mut self,
        identity: KeyBytes,
        installation_id: &str,
        prekey: TheirPreKey,
    ) -> Result<(), status_encryption::Error> {
        self.their_prekeys
            .insert((identity, installation_id.to_owned()));
        self.inner
            .put_their_prekey(identity, installation_id, prekey)
    }
    fn installations(
        &self,
        identity: &KeyBytes,
    ) -> Result<Vec<Installation>, status_encryption::Error> {
        self.inner.installations(identity)
    }
    fn put_installation(
        &mut self,
        installation: Installation,
    ) -> Result<(), status_encryption::Error> {
        self.installations
            .insert((installation.identity, installation.id.clone()));
        self.inner.put_installation(installation)
    }
    fn mark_heard_from(
        &mut self,
        identity: KeyBytes,
        installation_id: &str,
    ) -> Result<(), status_encryption::Error> {
        if !self.inner.heard_from(&identity, installation_id)? {
            self.heard.insert((identity, installation_id.to_owned()));
        }
        self.inner.mark_heard_from(identity, installation_id)
    }
    fn heard_from(
        &self,
        identity: &KeyBytes,
        installation_id: &str,
    ) -> Result<bool, status_encryption::Error> {
        self.inner.heard_from(identity, installation_id)
    }
}

/// An MVDS peer: a compressed public key (ordered, hashable, 33 bytes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerKey(pub [u8; 33]);

impl std::fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerKey({})", hex::encode(&self.0[..6]))
    }
}

/// status-mvds's [`StateStore`], in memory, journaled.
pub struct SyncJournal {
    messages: BTreeMap<SyncId, (SyncMessage, u32)>,
    records: BTreeMap<(PeerKey, SyncId), Record>,
    due: BTreeSet<(u64, PeerKey, SyncId)>,
    received: HashSet<SyncId>,
    order: VecDeque<(u64, SyncId)>,
    next_seq: u64,
    max_received: usize,
    dirty_messages: BTreeSet<SyncId>,
    dirty_records: BTreeSet<(PeerKey, SyncId)>,
    received_added: Vec<(u64, SyncId)>,
    received_dropped: Vec<u64>,
}

fn kind_code(k: RecordType) -> u8 {
    match k {
        RecordType::Offer => 0,
        RecordType::Request => 1,
        RecordType::Message => 2,
    }
}

impl SyncJournal {
    /// An empty store remembering `max_received` received ids.
    pub(crate) fn new(max_received: usize) -> SyncJournal {
        SyncJournal {
            messages: BTreeMap::new(),
            records: BTreeMap::new(),
            due: BTreeSet::new(),
            received: HashSet::new(),
            order: VecDeque::new(),
            next_seq: 0,
            max_received: max_received.max(1),
            dirty_messages: BTreeSet::new(),
            dirty_records: BTreeSet::new(),
            received_added: Vec::new(),
            received_dropped: Vec::new(),
        }
    }

    /// Rebuilds from a store's committed rows.
    pub(crate) fn load<S: Store + ?Sized>(
        store: &S,
        max_received: usize,
    ) -> Result<SyncJournal, Error> {
        let bad = |what: &str| Error::Store(format!("corrupt MVDS {what} record"));
        let mut j = SyncJournal::new(max_received);
        for (k, v) in all(store, Table::SyncMessages)? {
            let id = SyncId::from_slice(&k).map_err(|_| bad("message"))?;
            if v.len() < 4 {
                return Err(bad("message"));
            }
            let refs = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
            let m = SyncMessage::decode(&v[4..]).map_err(|_| bad("message"))?;
            j.messages.insert(id, (m, refs));
        }
        for (k, v) in all(store, Table::SyncRecords)? {
            if k.len() != 65 || v.len() != 13 {
                return Err(bad("record"));
            }
            let mut peer = [0u8; 33];
            peer.copy_from_slice(&k[..33]);
            let id = SyncId::from_slice(&k[33..]).map_err(|_| bad("record"))?;
            let kind = match v[0] {
                0 => RecordType::Offer,
                1 => RecordType::Request,
                2 => RecordType::Message,
                _ => return Err(bad("record")),
            };
            let send_count = u32::from_be_bytes([v[1], v[2], v[3], v[4]]);
            let mut e = [0u8; 8];
            e.copy_from_slice(&v[5..13]);
            let send_epoch = u64::from_be_bytes(e);
            let rec = Record {
                kind,
                send_count,
                send_epoch,
            };
            j.due.insert((send_epoch, PeerKey(peer), id));
            j.records.insert((PeerKey(peer), id), rec);
        }
        for (k, v) in all(store, Table::SyncReceived)? {
            if k.len() != 8 {
                return Err(bad("received id"));
            }
            let mut s = [0u8; 8];
            s.copy_from_slice(&k);
            let seq = u64::from_be_bytes(s);
            let id = SyncId::from_slice(&v).map_err(|_| bad("received id"))?;
            j.received.insert(id);
            j.order.push_back((seq, id));
            j.next_seq = j.next_seq.max(seq + 1);
        }
        Ok(j)
    }

    /// Writes what changed into `batch`.
    pub(crate) fn flush(&mut self, batch: &mut Batch) {
        for id in std::mem::take(&mut self.dirty_messages) {
            match self.messages.get(&id) {
                Some((m, refs)) => {
                    let mut v = refs.to_be_bytes().to_vec();
                    m.encode(&mut v).expect("a Vec grows"); // ok: encoding into a Vec cannot fail
                    batch.put(Table::SyncMessages, id.0.to_vec(), v);
                }
                None => batch.delete(Table::SyncMessages, id.0.to_vec()),
            }
        }
        for (peer, id) in std::mem::take(&mut self.dirty_records) {
            let mut k = peer.0.to_vec();
            k.extend_from_slice(&id.0);
            match self.records.get(&(peer, id)) {
                Some(r) => {
                    let mut v = vec![kind_code(r.kind)];
                    v.extend_from_slice(&r.send_count.to_be_bytes());
                    v.extend_from_slice(&r.send_epoch.to_be_bytes());
                    batch.put(Table::SyncRecords, k, v);
                }
                None => batch.delete(Table::SyncRecords, k),
            }
        }
        for (seq, id) in self.received_added.drain(..) {
            batch.put(
                Table::SyncReceived,
                seq.to_be_bytes().to_vec(),
                id.0.to_vec(),
            );
        }
        for seq in self.received_dropped.drain(..) {
            batch.delete(Table::SyncReceived, seq.to_be_bytes().to_vec());
        }
    }

    pub(crate) fn discard(&mut self) {
        self.dirty_messages.clear();
        self.dirty_records.clear();
        self.received_added.clear();
        self.received_dropped.clear();
    }
}

impl StateStore<PeerKey> for SyncJournal {
    fn insert_message(&mut self, id: SyncId, message: SyncMessage, refs: u32) {
        let entry = self.messages.entry(id).or_insert((message, 0));
        entry.1 = entry.1.saturating_add(refs);
        if entry.1 == 0 {
            self.messages.remove(&id);
        }
        self.dirty_messages.insert(id);
    }
    fn message(&self, id: &SyncId) -> Option<SyncMessage> {
        self.messages.get(id).map(|(m, _)| m.clone())
    }
    fn release_message(&mut self, id: &SyncId) {
        if let Some(entry) = self.messages.get_mut(id) {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                self.messages.remove(id);
            }
            self.dirty_messages.insert(*id);
        }
    }
    fn message_count(&self) -> usize {
        self.messages.len()
    }
    fn record(&self, peer: &PeerKey, id: &SyncId) -> Option<Record> {
        self.records.get(&(*peer, *id)).copied()
    }
    fn set_record(&mut self, peer: PeerKey, id: SyncId, record: Record) {
        if let Some(old) = self.records.insert((peer, id), record) {
            self.due.remove(&(old.send_epoch, peer, id));
        }
        self.due.insert((record.send_epoch, peer, id));
        self.dirty_records.insert((peer, id));
    }
    fn remove_record(&mut self, peer: &PeerKey, id: &SyncId) -> Option<Record> {
        let old = self.records.remove(&(*peer, *id))?;
        self.due.remove(&(old.send_epoch, *peer, *id));
        self.dirty_records.insert((*peer, *id));
        Some(old)
    }
    fn record_count(&self) -> usize {
        self.records.len()
    }
    fn next_send_epoch(&self) -> Option<u64> {
        self.due.first().map(|(e, _, _)| *e)
    }
    fn take_due(&mut self, epoch: u64, out: &mut Vec<(PeerKey, SyncId, Record)>) {
        while let Some(&(e, peer, id)) = self.due.first() {
            if e > epoch {
                break;
            }
            self.due.pop_first();
            if let Some(rec) = self.records.remove(&(peer, id)) {
                self.dirty_records.insert((peer, id));
                out.push((peer, id, rec));
            }
        }
    }
    fn mark_received(&mut self, id: SyncId) -> bool {
        if !self.received.insert(id) {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.push_back((seq, id));
        self.received_added.push((seq, id));
        while self.order.len() > self.max_received {
            if let Some((old_seq, old)) = self.order.pop_front() {
                self.received.remove(&old);
                self.received_dropped.push(old_seq);
            }
        }
        true
    }
    fn has_received(&self, id: &SyncId) -> bool {
        self.received.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn sync_journal_survives_a_flush_and_reload() {
        let mut j = SyncJournal::new(2);
        let m = SyncMessage {
            group_id: vec![1; 32],
            timestamp: 5,
            body: b"hi".to_vec(),
        };
        let id = status_mvds::MessageId::of(&m);
        let peer = PeerKey([2; 33]);
        j.insert_message(id, m.clone(), 1);
        j.set_record(
            peer,
            id,
            Record {
                kind: RecordType::Message,
                send_count: 1,
                send_epoch: 9,
            },
        );
        for i in 0u8..3 {
            j.mark_received(SyncId([i; 32]));
        }
        let mut store = MemoryStore::new();
        let mut b = Batch::new();
        j.flush(&mut b);
        store.commit(&b).unwrap();
        let back = SyncJournal::load(&store, 2).unwrap();
        assert_eq!(back.message(&id), Some(m));
        assert_eq!(back.record(&peer, &id).map(|r| r.send_epoch), Some(9));
        assert_eq!(back.next_send_epoch(), Some(9));
        assert!(!back.has_received(&SyncId([0; 32])));
        assert!(back.has_received(&SyncId([2; 32])));
    }
}
