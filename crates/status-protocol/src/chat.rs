//! Chats, contacts and stored messages, and their records in the store.

use status_core::PublicKey;
use status_proto::protobuf::chat_message::ContentType;
use status_proto::Message as _;

use crate::group::Group;
use crate::ids::{ChatId, ChatKind, MessageId};
use crate::Error;

/// One conversation.
#[derive(Clone, Debug)]
pub struct Chat {
    pub(crate) id: ChatId,
    pub(crate) kind: ChatKind,
    pub(crate) name: String,
    pub(crate) active: bool,
    pub(crate) last_clock: u64,
    pub(crate) unread: u32,
    pub(crate) deleted_at_clock: u64,
    /// Wall time (ms) of the last activity.
    pub(crate) timestamp: u64,
    pub(crate) partner: Option<PublicKey>,
    pub(crate) group: Option<Group>,
}

impl Chat {
    pub(crate) fn new(id: ChatId, kind: ChatKind, name: String, now_ms: u64) -> Chat {
        Chat {
            id,
            kind,
            name,
            active: true,
            last_clock: 0,
            unread: 0,
            deleted_at_clock: 0,
            timestamp: now_ms,
            partner: None,
            group: None,
        }
    }

    /// The chat's id.
    pub fn id(&self) -> &ChatId {
        &self.id
    }
    /// Public, 1:1 or group.
    pub fn kind(&self) -> ChatKind {
        self.kind
    }
    /// The display name: channel name, the partner's 3-word name or the
    /// group's name.
    pub fn name(&self) -> &str {
        match &self.group {
            Some(g) => g.name(),
            None => &self.name,
        }
    }
    /// Whether the chat is shown (a chat made only to carry contact
    /// updates or device sync is not).
    pub fn is_active(&self) -> bool {
        self.active
    }
    /// The largest clock seen or sent in it.
    pub fn last_clock(&self) -> u64 {
        self.last_clock
    }
    /// Messages received since it was last marked read.
    pub fn unread(&self) -> u32 {
        self.unread
    }
    /// The partner of a 1:1 chat.
    pub fn partner(&self) -> Option<&PublicKey> {
        self.partner.as_ref()
    }
    /// The group of a group chat.
    pub fn group(&self) -> Option<&Group> {
        self.group.as_ref()
    }

    pub(crate) fn observe_clock(&mut self, clock: u64, now_ms: u64) {
        self.last_clock = self.last_clock.max(clock);
        self.timestamp = now_ms;
    }

    pub(crate) fn record(&self) -> Vec<u8> {
        ChatRecord {
            kind: kind_code(self.kind),
            name: self.name.clone(),
            active: self.active,
            last_clock: self.last_clock,
            unread: self.unread,
            deleted_at_clock: self.deleted_at_clock,
            timestamp: self.timestamp,
            partner: self
                .partner
                .map(|k| k.to_compressed().to_vec())
                .unwrap_or_default(),
        }
        .encode_to_vec()
    }

    pub(crate) fn from_record(id: &[u8], bytes: &[u8]) -> Result<Chat, Error> {
        let bad = || Error::Store("corrupt chat record".into());
        let r = ChatRecord::decode(bytes).map_err(|_| bad())?;
        let id = String::from_utf8(id.to_vec()).map_err(|_| bad())?;
        let partner = if r.partner.is_empty() {
            None
        } else {
            Some(PublicKey::from_slice(&r.partner).map_err(|_| bad())?)
        };
        Ok(Chat {
            id: ChatId(id),
            kind: match r.kind {
                0 => ChatKind::Public,
                1 => ChatKind::OneToOne,
                2 => ChatKind::Group,
                _ => return Err(bad()),
            },
            name: r.name,
            active: r.active,
            last_clock: r.last_clock,
            unread: r.unread,
            deleted_at_clock: r.deleted_at_clock,
            timestamp: r.timestamp,
            partner,
            group: None,
        })
    }
}

fn kind_code(k: ChatKind) -> u32 {
    match k {
        ChatKind::Public => 0,
        ChatKind::OneToOne => 1,
        ChatKind::Group => 2,
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct ChatRecord {
    #[prost(uint32, tag = "1")]
    kind: u32,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(bool, tag = "3")]
    active: bool,
    #[prost(uint64, tag = "4")]
    last_clock: u64,
    #[prost(uint32, tag = "5")]
    unread: u32,
    #[prost(uint64, tag = "6")]
    deleted_at_clock: u64,
    #[prost(uint64, tag = "7")]
    timestamp: u64,
    #[prost(bytes = "vec", tag = "8")]
    partner: Vec<u8>,
}

/// Someone we know of: from a message, a contact update, or added by us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub(crate) key: PublicKey,
    pub(crate) ens_name: String,
    pub(crate) last_updated: u64,
    pub(crate) added: bool,
    pub(crate) request_received: bool,
    pub(crate) blocked: bool,
}

impl Contact {
    pub(crate) fn new(key: PublicKey) -> Contact {
        Contact {
            key,
            ens_name: String::new(),
            last_updated: 0,
            added: false,
            request_received: false,
            blocked: false,
        }
    }
    /// Their chat key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
    /// Their 3-word name (2/ACCOUNT), derived from the key.
    pub fn alias(&self) -> String {
        status_keys::alias::generate(&self.key)
    }
    /// The ENS name they claim (unverified).
    pub fn ens_name(&self) -> &str {
        &self.ens_name
    }
    /// Whether we added them (sent a contact update or started a chat).
    pub fn is_added(&self) -> bool {
        self.added
    }
    /// Whether they sent us a contact request (a contact update).
    pub fn sent_request(&self) -> bool {
        self.request_received
    }
    /// Whether their messages are dropped.
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    pub(crate) fn record(&self) -> Vec<u8> {
        ContactRecord {
            key: self.key.to_compressed().to_vec(),
            ens_name: self.ens_name.clone(),
            last_updated: self.last_updated,
            added: self.added,
            request_received: self.request_received,
            blocked: self.blocked,
        }
        .encode_to_vec()
    }

    pub(crate) fn from_record(bytes: &[u8]) -> Result<Contact, Error> {
        let bad = || Error::Store("corrupt contact record".into());
        let r = ContactRecord::decode(bytes).map_err(|_| bad())?;
        Ok(Contact {
            key: PublicKey::from_slice(&r.key).map_err(|_| bad())?,
            ens_name: r.ens_name,
            last_updated: r.last_updated,
            added: r.added,
            request_received: r.request_received,
            blocked: r.blocked,
        })
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct ContactRecord {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(string, tag = "2")]
    ens_name: String,
    #[prost(uint64, tag = "3")]
    last_updated: u64,
    #[prost(bool, tag = "4")]
    added: bool,
    #[prost(bool, tag = "5")]
    request_received: bool,
    #[prost(bool, tag = "6")]
    blocked: bool,
}

/// Where one of our messages is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutgoingStatus {
    /// Posted; no acknowledgement yet (public chats stay here: they have
    /// no data-sync layer).
    Sent,
    /// At least one recipient's device acknowledged it (MVDS ack).
    Delivered,
}

/// A chat message as stored and shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// The chat it belongs to.
    pub chat: ChatId,
    /// Its author.
    pub from: PublicKey,
    /// Lamport clock.
    pub clock: u64,
    /// The author's wall time (ms).
    pub timestamp: u64,
    /// The text.
    pub text: String,
    /// Plain text, emoji, sticker...
    pub content_type: ContentType,
    /// The message it answers.
    pub response_to: Option<MessageId>,
    /// The ENS name the author claims (unverified).
    pub ens_name: String,
    /// For our own messages: sent or delivered.
    pub outgoing: Option<OutgoingStatus>,
}

impl Message {
    /// Key in [`Table::Messages`](crate::store::Table::Messages).
    pub(crate) fn key(&self) -> Vec<u8> {
        message_key(&self.chat, self.clock, &self.id)
    }

    pub(crate) fn record(&self) -> Vec<u8> {
        MessageRecord {
            id: self.id.0.to_vec(),
            chat: self.chat.0.clone(),
            from: self.from.to_compressed().to_vec(),
            clock: self.clock,
            timestamp: self.timestamp,
            text: self.text.clone(),
            content_type: self.content_type.into(),
            response_to: self.response_to.map(|m| m.0.to_vec()).unwrap_or_default(),
            ens_name: self.ens_name.clone(),
            outgoing: match self.outgoing {
                None => 0,
                Some(OutgoingStatus::Sent) => 1,
                Some(OutgoingStatus::Delivered) => 2,
            },
        }
        .encode_to_vec()
    }

    pub(crate) fn from_record(bytes: &[u8]) -> Result<Message, Error> {
        let bad = || Error::Store("corrupt message record".into());
        let r = MessageRecord::decode(bytes).map_err(|_| bad())?;
        let id = <[u8; 32]>::try_from(r.id.as_slice()).map_err(|_| bad())?;
        let response_to = if r.response_to.is_empty() {
            None
        } else {
            Some(MessageId(
                <[u8; 32]>::try_from(r.response_to.as_slice()).map_err(|_| bad())?,
            ))
        };
        Ok(Message {
            id: MessageId(id),
            chat: ChatId(r.chat),
            from: PublicKey::from_slice(&r.from).map_err(|_| bad())?,
            clock: r.clock,
            timestamp: r.timestamp,
            text: r.text,
            content_type: ContentType::try_from(r.content_type)
                .unwrap_or(ContentType::UnknownContentType),
            response_to,
            ens_name: r.ens_name,
            outgoing: match r.outgoing {
                0 => None,
                1 => Some(OutgoingStatus::Sent),
                2 => Some(OutgoingStatus::Delivered),
                _ => return Err(bad()),
            },
        })
    }
}

/// `chat id || 0 || clock (BE) || message id`: a chat's messages in clock
/// order under one prefix.
pub(crate) fn message_key(chat: &ChatId, clock: u64, id: &MessageId) -> Vec<u8> {
    let mut k = chat_prefix(chat);
    k.extend_from_slice(&clock.to_be_bytes());
    k.extend_from_slice(&id.0);
    k
}

/// The prefix of a chat's rows in [`Table::Messages`](crate::store::Table::Messages)
/// and [`Table::GroupEvents`](crate::store::Table::GroupEvents).
pub(crate) fn chat_prefix(chat: &ChatId) -> Vec<u8> {
    let mut k = chat.0.as_bytes().to_vec();
    k.push(0);
    k
}

#[derive(Clone, PartialEq, prost::Message)]
struct MessageRecord {
    #[prost(bytes = "vec", tag = "1")]
    id: Vec<u8>,
    #[prost(string, tag = "2")]
    chat: String,
    #[prost(bytes = "vec", tag = "3")]
    from: Vec<u8>,
    #[prost(uint64, tag = "4")]
    clock: u64,
    #[prost(uint64, tag = "5")]
    timestamp: u64,
    #[prost(string, tag = "6")]
    text: String,
    #[prost(int32, tag = "7")]
    content_type: i32,
    #[prost(bytes = "vec", tag = "8")]
    response_to: Vec<u8>,
    #[prost(string, tag = "9")]
    ens_name: String,
    #[prost(uint32, tag = "10")]
    outgoing: u32,
}
