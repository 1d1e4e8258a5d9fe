//! 7/GROUP-CHAT: signed membership update events and the group they make.
//!
//! An event is the protobuf `MembershipUpdateEvent` (clock, members, name,
//! type) signed by its author over `keccak256(chat_id || raw protobuf)`
//! (status-go `MembershipUpdateEvent.Sign`); on the wire it is
//! `signature (65) || raw protobuf`, and the raw bytes are kept as
//! received since the signature covers them.
//!
//! A [`Group`] is a pure function of a *set* of events: they are sorted by
//! `(clock, signature)`, each is applied if valid at its place and skipped
//! otherwise, so every member that holds the same events computes the same
//! group whatever order they arrived in. status-go sorts by clock alone
//! (an unstable sort, so ties fall in any order) and refuses a whole update
//! if any event is invalid at its place; the signature tie-break and the
//! skipping make the result independent of arrival order, and agree with
//! status-go on every log status-go itself produces.

use std::collections::BTreeMap;

use status_core::{keccak256, PublicKey, SecretKey};
use status_proto::protobuf::{membership_update_event::EventType, MembershipUpdateEvent};
use status_proto::Message;

use crate::ids::contact_id;
use crate::metadata::recover;
use crate::Error;

/// Signature length at the front of an encoded event.
const SIGNATURE_LEN: usize = 65;

/// Most events one group may hold; past it, updates are refused (bounds
/// what one admin can make every member store).
pub const MAX_EVENTS: usize = 1024;

/// Most members a group may have (status-go has none; we bound it).
pub const MAX_MEMBERS: usize = 256;

/// One signed membership update event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipEvent {
    /// What happened.
    pub kind: EventType,
    /// Its Lamport clock.
    pub clock: u64,
    /// Members named by `MEMBERS_ADDED`, `ADMINS_ADDED`, `MEMBER_REMOVED`,
    /// `ADMIN_REMOVED` (contact ids, `0x04…`).
    pub members: Vec<String>,
    /// The name, for `CHAT_CREATED` and `NAME_CHANGED`.
    pub name: String,
    /// The author's contact id, recovered from the signature.
    pub from: String,
    signature: [u8; SIGNATURE_LEN],
    raw: Vec<u8>,
}

impl MembershipEvent {
    /// Builds and signs an event of `chat_id` (status-go `Sign`).
    pub fn sign(
        chat_id: &str,
        kind: EventType,
        clock: u64,
        members: Vec<String>,
        name: String,
        key: &SecretKey,
    ) -> MembershipEvent {
        let raw = MembershipUpdateEvent {
            clock,
            members: members.clone(),
            name: name.clone(),
            r#type: kind.into(),
        }
        .encode_to_vec();
        let signature = key.sign_recoverable(&digest(chat_id, &raw)).0;
        MembershipEvent {
            kind,
            clock,
            members,
            name,
            from: contact_id(&key.public_key()),
            signature,
            raw,
        }
    }

    /// Verifies one encoded event (`signature || raw`) of `chat_id`
    /// (status-go `MembershipUpdateEventFromProtobuf`).
    pub fn verify(chat_id: &str, encoded: &[u8]) -> Result<MembershipEvent, Error> {
        if encoded.len() <= SIGNATURE_LEN {
            return Err(Error::InvalidMembershipUpdate("event too short"));
        }
        let (sig, raw) = encoded.split_at(SIGNATURE_LEN);
        let from = recover(sig, &digest(chat_id, raw)).ok_or(Error::BadSignature {
            what: "MembershipUpdateEvent",
        })?;
        let ev = MembershipUpdateEvent::decode(raw).map_err(|_| Error::Malformed {
            what: "MembershipUpdateEvent",
        })?;
        let kind = EventType::try_from(ev.r#type)
            .map_err(|_| Error::InvalidMembershipUpdate("unknown event type"))?;
        if ev.members.len() > MAX_MEMBERS {
            return Err(Error::InvalidMembershipUpdate(
                "too many members in one event",
            ));
        }
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(sig);
        Ok(MembershipEvent {
            kind,
            clock: ev.clock,
            members: ev.members,
            name: ev.name,
            from: contact_id(&from),
            signature,
            raw: raw.to_vec(),
        })
    }

    /// The event on the wire: `signature || raw protobuf`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIGNATURE_LEN + self.raw.len());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.raw);
        out
    }

    /// The signature: an event's identity (status-go `Equal`).
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// The signed protobuf bytes.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
}

fn digest(chat_id: &str, raw: &[u8]) -> [u8; 32] {
    let mut material = Vec::with_capacity(chat_id.len() + raw.len());
    material.extend_from_slice(chat_id.as_bytes());
    material.extend_from_slice(raw);
    keccak256(&material)
}

/// A small insertion-ordered set, like status-go's `stringSet`, so member
/// lists come out in the order events added them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct OrderedSet(Vec<String>);

impl OrderedSet {
    fn has(&self, s: &str) -> bool {
        self.0.iter().any(|x| x == s)
    }
    fn add(&mut self, s: &str) {
        if !self.has(s) {
            self.0.push(s.to_owned());
        }
    }
    fn remove(&mut self, s: &str) {
        self.0.retain(|x| x != s);
    }
}

/// The state of a group chat: the fold of its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    chat_id: String,
    name: String,
    members: OrderedSet,
    admins: OrderedSet,
    joined: OrderedSet,
    /// Every verified event, keyed by `(clock, signature)`.
    events: BTreeMap<(u64, [u8; SIGNATURE_LEN]), MembershipEvent>,
    /// Events skipped because they were invalid at their place.
    skipped: usize,
    /// Whether a valid `CHAT_CREATED` was applied.
    created: bool,
}

impl Group {
    /// A new group created by `creator` with `name` at `clock`: the chat id
    /// is `uuid || "-" || contact id of the creator` (status-go
    /// `groupChatID`), the uuid from the caller (an injected RNG).
    pub fn create(uuid: &str, name: &str, clock: u64, creator: &SecretKey) -> Group {
        let chat_id = format!("{uuid}-{}", contact_id(&creator.public_key()));
        let created = MembershipEvent::sign(
            &chat_id,
            EventType::ChatCreated,
            clock,
            Vec::new(),
            name.to_owned(),
            creator,
        );
        let mut g = Group::empty(chat_id);
        g.events.insert((clock, created.signature), created);
        g.recompute();
        g
    }

    /// The group that `events` of `chat_id` make. Fails when no valid
    /// `CHAT_CREATED` by the creator the chat id names starts it.
    pub fn from_events(
        chat_id: &str,
        events: impl IntoIterator<Item = MembershipEvent>,
    ) -> Result<Group, Error> {
        let mut g = Group::empty(chat_id.to_owned());
        g.merge(events)?;
        Ok(g)
    }

    fn empty(chat_id: String) -> Group {
        Group {
            chat_id,
            name: String::new(),
            members: OrderedSet::default(),
            admins: OrderedSet::default(),
            joined: OrderedSet::default(),
            events: BTreeMap::new(),
            skipped: 0,
            created: false,
        }
    }

    /// Adds events (idempotent: an event already held is ignored) and
    /// recomputes the group. Returns how many were new. On error the group
    /// is unchanged.
    pub fn merge(
        &mut self,
        events: impl IntoIterator<Item = MembershipEvent>,
    ) -> Result<usize, Error> {
        let mut next = self.events.clone();
        let mut added = 0;
        for e in events {
            if let std::collections::btree_map::Entry::Vacant(v) =
                next.entry((e.clock, e.signature))
            {
                v.insert(e);
                added += 1;
            }
        }
        if next.len() > MAX_EVENTS {
            return Err(Error::InvalidMembershipUpdate("too many events"));
        }
        let mut candidate = Group {
            events: next,
            ..Group::empty(self.chat_id.clone())
        };
        candidate.recompute();
        if !candidate.valid_chat_id() {
            return Err(Error::InvalidMembershipUpdate(
                "chat id does not name a creator",
            ));
        }
        *self = candidate;
        Ok(added)
    }

    fn recompute(&mut self) {
        self.name.clear();
        self.members = OrderedSet::default();
        self.admins = OrderedSet::default();
        self.joined = OrderedSet::default();
        self.skipped = 0;
        self.created = false;
        let events: Vec<MembershipEvent> = self.events.values().cloned().collect();
        for e in &events {
            if self.valid(e) {
                self.apply(e);
            } else {
                self.skipped += 1;
            }
        }
    }

    /// status-go `validateEvent`.
    fn valid(&self, e: &MembershipEvent) -> bool {
        let first_member = || e.members.len() == 1;
        match e.kind {
            EventType::ChatCreated => {
                self.admins.0.is_empty()
                    && self.members.0.is_empty()
                    && self.chat_id.ends_with(&e.from)
                    && self.chat_id != e.from
            }
            EventType::NameChanged => self.admins.has(&e.from) && !e.name.is_empty(),
            EventType::MembersAdded => {
                self.admins.has(&e.from) && self.members.0.len() + e.members.len() <= MAX_MEMBERS
            }
            EventType::MemberJoined => self.members.has(&e.from),
            EventType::MemberRemoved => {
                first_member()
                    && (e.from == e.members[0]
                        || (self.admins.has(&e.from) && !self.admins.has(&e.members[0])))
            }
            // status-go's `stringSliceSubset` only asks that one of the
            // named admins be a member; we ask it of all of them, which
            // agrees on every event status-go's own UI produces.
            EventType::AdminsAdded => {
                self.admins.has(&e.from)
                    && !e.members.is_empty()
                    && e.members.iter().all(|m| self.members.has(m))
            }
            EventType::AdminRemoved => {
                first_member() && self.admins.has(&e.from) && e.from == e.members[0]
            }
            EventType::Unknown => false,
        }
    }

    fn apply(&mut self, e: &MembershipEvent) {
        match e.kind {
            EventType::ChatCreated => {
                self.created = true;
                self.name.clone_from(&e.name);
                self.members.add(&e.from);
                self.joined.add(&e.from);
                self.admins.add(&e.from);
            }
            EventType::NameChanged => self.name.clone_from(&e.name),
            EventType::AdminsAdded => e.members.iter().for_each(|m| self.admins.add(m)),
            EventType::AdminRemoved => self.admins.remove(&e.members[0]),
            EventType::MembersAdded => e.members.iter().for_each(|m| self.members.add(m)),
            EventType::MemberRemoved => {
                let m = &e.members[0];
                self.admins.remove(m);
                self.joined.remove(m);
                self.members.remove(m);
            }
            EventType::MemberJoined => self.joined.add(&e.from),
            EventType::Unknown => {}
        }
    }

    /// status-go `validateChatID`: the chat id ends with the contact id of
    /// the creator of a valid `CHAT_CREATED` (checked in [`Self::valid`]).
    fn valid_chat_id(&self) -> bool {
        self.created
    }

    /// Signs an event by `key` at `clock` and applies it, or refuses it
    /// when it would be invalid (not an admin, not a member...).
    pub fn apply_local(
        &mut self,
        kind: EventType,
        clock: u64,
        members: Vec<String>,
        name: String,
        key: &SecretKey,
    ) -> Result<MembershipEvent, Error> {
        let e = MembershipEvent::sign(&self.chat_id, kind, clock, members, name, key);
        let mut probe = self.clone();
        probe.merge([e.clone()])?;
        if probe.skipped > self.skipped {
            return Err(Error::NotAllowed(match kind {
                EventType::MemberJoined => "only an invited member can join",
                EventType::MemberRemoved => "only admins remove others; admins cannot be removed",
                _ => "only admins change the group",
            }));
        }
        *self = probe;
        Ok(e)
    }

    /// The chat id.
    pub fn chat_id(&self) -> &str {
        &self.chat_id
    }
    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Members (contact ids), in the order they were added.
    pub fn members(&self) -> &[String] {
        &self.members.0
    }
    /// Admins.
    pub fn admins(&self) -> &[String] {
        &self.admins.0
    }
    /// Members who joined (7/GROUP-CHAT `member-joined`).
    pub fn joined(&self) -> &[String] {
        &self.joined.0
    }
    /// Whether `id` (a contact id) is a member.
    pub fn is_member(&self, id: &str) -> bool {
        self.members.has(id)
    }
    /// Whether `id` joined.
    pub fn has_joined(&self, id: &str) -> bool {
        self.joined.has(id)
    }
    /// Every event held, in application order.
    pub fn events(&self) -> impl Iterator<Item = &MembershipEvent> {
        self.events.values()
    }
    /// How many held events were skipped as invalid at their place.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
    /// The largest clock of any event.
    pub fn last_clock(&self) -> u64 {
        self.events.keys().next_back().map_or(0, |(c, _)| *c)
    }
    /// Members as public keys (those that parse).
    pub fn member_keys(&self) -> Vec<PublicKey> {
        self.members
            .0
            .iter()
            .filter_map(|m| crate::parse_chat_key(m).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn create_add_join_remove() {
        let (a, b, c) = (key(1), key(2), key(3));
        let (ida, idb, idc) = (
            contact_id(&a.public_key()),
            contact_id(&b.public_key()),
            contact_id(&c.public_key()),
        );
        let mut g = Group::create("u", "g", 10, &a);
        assert_eq!(g.members(), std::slice::from_ref(&ida));
        g.apply_local(
            EventType::MembersAdded,
            11,
            vec![idb.clone(), idc.clone()],
            String::new(),
            &a,
        )
        .unwrap();
        assert_eq!(g.members().len(), 3);
        // b is no admin: cannot rename
        assert!(g
            .apply_local(EventType::NameChanged, 12, vec![], "x".into(), &b)
            .is_err());
        g.apply_local(EventType::MemberJoined, 12, vec![], String::new(), &b)
            .unwrap();
        assert!(g.has_joined(&idb) && !g.has_joined(&idc));
        g.apply_local(
            EventType::MemberRemoved,
            13,
            vec![idc.clone()],
            String::new(),
            &a,
        )
        .unwrap();
        assert!(!g.is_member(&idc));
        // the same events in another order give the same group
        let mut events: Vec<_> = g.events().cloned().collect();
        events.reverse();
        let again = Group::from_events(g.chat_id(), events).unwrap();
        assert_eq!(again, g);
        // and round-trip over the wire
        let wire: Vec<_> = g
            .events()
            .map(|e| MembershipEvent::verify(g.chat_id(), &e.encode()).unwrap())
            .collect();
        assert_eq!(Group::from_events(g.chat_id(), wire).unwrap(), g);
    }

    #[test]
    fn a_forged_or_foreign_event_is_refused() {
        let a = key(1);
        let g = Group::create("u", "g", 10, &a);
        let e = g.events().next().unwrap().encode();
        let mut bad = e.clone();
        bad[70] ^= 1;
        assert!(
            MembershipEvent::verify(g.chat_id(), &bad).map(|ev| ev.from)
                != Ok(contact_id(&a.public_key()))
        );
        // an event of another chat id does not verify as this creator
        let other = MembershipEvent::verify("other-chat", &e).unwrap();
        assert_ne!(other.from, contact_id(&a.public_key()));
        assert!(Group::from_events("other-chat", [other]).is_err());
        assert!(MembershipEvent::verify(g.chat_id(), &e[..40]).is_err());
    }
}
