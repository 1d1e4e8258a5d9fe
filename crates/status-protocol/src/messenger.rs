//! The [`Messenger`]: one Status account on one device, as a sans-IO
//! machine over status-encryption, status-mvds and the payload layer.
//!
//! It meets the Waku layer at messages (DESIGN.md "Composing machines"):
//! it asks for [`Filter`]s and emits [`Post`]s (topic, key, payload, PoW
//! and TTL); whoever runs it installs the filters on a Waku machine,
//! wraps, signs and seals the posts, and feeds back what the filters open
//! as [`Input::Received`]. [`crate::bridge`] does that in a few lines.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use status_core::{PublicKey, SecretKey, Timestamp};
use status_encryption::{Encryptor, Installation, InstallationMetadata, PayloadKind};
use status_mvds::{decode_payload, encode_payload, GroupId, Mvds, Output as SyncOutput, Payload};
use status_proto::encryption::ProtocolMessage;
use status_proto::protobuf::chat_message::{ContentType, MessageType as ChatType};
use status_proto::protobuf::membership_update_event::EventType;
use status_proto::protobuf::{
    ChatMessage, ContactUpdate, MembershipUpdateMessage, PairInstallation, SyncInstallationContact,
    SyncInstallationPublicChat,
};
use status_proto::Message as _;
use status_waku::topic::symmetric_key_from_password;
use status_waku::Topic;
use zeroize::Zeroizing;

use crate::chat::{chat_prefix, Chat, Contact, Message, OutgoingStatus};
use crate::clock::{next_clock, valid_clock};
use crate::filter::{Filter, FilterId, FilterKey, Purpose};
use crate::group::{Group, MembershipEvent};
use crate::ids::{contact_id, one_to_one_group_id, parse_chat_key, ChatId, ChatKind, MessageId};
use crate::journal::{PeerKey, SessionJournal, SyncJournal};
use crate::metadata::{self, MessageType, Unwrapped};
use crate::store::{all, read, Batch, Store, Table, FORMAT_KEY, FORMAT_VERSION};
use crate::Error;

/// Settings of a [`Messenger`], with status-go v0.55.1's defaults.
///
/// ```
/// let config = status_protocol::Config { device_name: "laptop".into(), ..Default::default() };
/// assert_eq!((config.ttl, config.pow_target), (15, 0.002));
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// This device's installation id; `None` draws a UUID from the RNG on
    /// first open and keeps it in the store.
    pub installation_id: Option<String>,
    /// Name of this device, sent when pairing.
    pub device_name: String,
    /// Type of this device ("desktop", "ios"...), sent when pairing.
    pub device_type: String,
    /// ENS name put in our chat messages (unverified by us).
    pub ens_name: String,
    /// The secure-transport settings.
    pub encryption: status_encryption::Config,
    /// The data-sync settings (status-go: batch mode, 300 ms epochs).
    pub sync: status_mvds::Config,
    /// TTL of our envelopes in seconds (status-go `whisperTTL`).
    pub ttl: u32,
    /// PoW target of our envelopes (status-go `whisperDefaultPoW`).
    pub pow_target: f64,
    /// PoW target past [`large_payload`](Self::large_payload) bytes
    /// (status-go `whisperLargeSizePoW`).
    pub large_pow_target: f64,
    /// Payload size from which the lower PoW target applies.
    pub large_payload: usize,
    /// Largest Waku payload accepted.
    pub max_payload_size: usize,
    /// Most chats held; messages that would create more are dropped.
    pub max_chats: usize,
    /// Most contacts held.
    pub max_contacts: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            installation_id: None,
            device_name: "status-rs".into(),
            device_type: "desktop".into(),
            ens_name: String::new(),
            encryption: status_encryption::Config::default(),
            sync: status_mvds::Config::default(),
            ttl: 15,
            pow_target: 0.002,
            large_pow_target: 0.000_002,
            large_payload: 50_000,
            max_payload_size: 1024 * 1024,
            max_chats: 10_000,
            max_contacts: 100_000,
        }
    }
}

/// A Waku message one of our filters opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WakuMessage {
    /// The filter that opened it.
    pub filter: FilterId,
    /// The decrypted payload.
    pub payload: Vec<u8>,
    /// Who signed it at the Waku layer (10/WAKU-USAGE: always signed).
    pub signer: Option<PublicKey>,
    /// The envelope hash.
    pub hash: [u8; 32],
    /// When it was sent: envelope expiry minus TTL.
    pub sent: Timestamp,
}

/// What the application asks of the messenger.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Join (or re-activate) a public chat.
    JoinPublic {
        /// Its name.
        name: String,
    },
    /// Start a 1:1 chat with this key.
    StartOneToOne {
        /// The partner.
        key: PublicKey,
    },
    /// Leave a public or 1:1 chat (stop listening; history is kept).
    Leave {
        /// The chat.
        chat: ChatId,
    },
    /// Create a group chat with these members.
    CreateGroup {
        /// Its name.
        name: String,
        /// Members besides us.
        members: Vec<PublicKey>,
    },
    /// Add members to a group (admins only).
    AddMembers {
        /// The group.
        chat: ChatId,
        /// Who.
        members: Vec<PublicKey>,
    },
    /// Remove a member (admins, or anyone removing themselves).
    RemoveMember {
        /// The group.
        chat: ChatId,
        /// Who.
        member: PublicKey,
    },
    /// Make members admins (admins only).
    AddAdmins {
        /// The group.
        chat: ChatId,
        /// Who.
        members: Vec<PublicKey>,
    },
    /// Rename a group (admins only).
    RenameGroup {
        /// The group.
        chat: ChatId,
        /// The new name.
        name: String,
    },
    /// Accept an invitation: 7/GROUP-CHAT `member-joined`.
    JoinGroup {
        /// The group.
        chat: ChatId,
    },
    /// Leave a group (a `member-removed` of ourselves).
    LeaveGroup {
        /// The group.
        chat: ChatId,
    },
    /// Send a text message.
    SendText {
        /// The chat.
        chat: ChatId,
        /// The text.
        text: String,
        /// The message it answers.
        response_to: Option<MessageId>,
    },
    /// Send an emoji (content type `EMOJI`).
    SendEmoji {
        /// The chat.
        chat: ChatId,
        /// The emoji.
        emoji: String,
    },
    /// Mark a chat read.
    MarkRead {
        /// The chat.
        chat: ChatId,
    },
    /// Send our ENS name to a 1:1 partner (a contact request when they do
    /// not know us).
    SendContactUpdate {
        /// The 1:1 chat.
        chat: ChatId,
    },
    /// Announce this device to our other devices (`PairInstallation`).
    PairDevices,
    /// Send our devices to which messages go (pairing accepted).
    EnableInstallation {
        /// The installation id.
        id: String,
    },
    /// Stop sending to one of our devices.
    DisableInstallation {
        /// The installation id.
        id: String,
    },
    /// Send our public chats and contacts to our paired devices.
    SyncDevices,
}

/// One input to [`Messenger::handle_input`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A message one of our filters opened.
    Received(WakuMessage),
    /// A command.
    Command(Command),
}

/// What an input produced for the caller directly.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Done; nothing to hand back.
    Done,
    /// The chat the command created or named.
    Chat(ChatId),
    /// The id of the message the command sent.
    Message(MessageId),
}

/// The key a [`Post`] is encrypted with.
#[derive(Clone, PartialEq, Eq)]
pub enum PostKey {
    /// AES-256-GCM with this key.
    Symmetric(Zeroizing<[u8; 32]>),
    /// ECIES to this key.
    Asymmetric(PublicKey),
}

impl std::fmt::Debug for PostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostKey::Symmetric(_) => f.write_str("Symmetric(..)"),
            PostKey::Asymmetric(k) => write!(f, "Asymmetric({k:?})"),
        }
    }
}

/// A Waku message to post, signed with our identity key (status-go signs
/// every message it posts).
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Post {
    /// The topic.
    pub topic: Topic,
    /// The key.
    pub key: PostKey,
    /// The payload.
    pub payload: Vec<u8>,
    /// TTL in seconds.
    pub ttl: u32,
    /// PoW target.
    pub pow_target: f64,
}

/// What the application should know.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A chat message arrived (or one of ours, from another of our devices).
    MessageReceived(Box<Message>),
    /// A recipient's device acknowledged one of our messages (MVDS ack).
    MessageDelivered {
        /// The message.
        id: MessageId,
        /// Its chat.
        chat: ChatId,
        /// Who acknowledged it.
        by: PublicKey,
    },
    /// A chat was created or changed (a group's members or name, a new 1:1
    /// chat from an incoming message).
    ChatChanged(ChatId),
    /// Someone who is not our contact sent a contact update.
    ContactRequest {
        /// Who.
        from: PublicKey,
    },
    /// Devices of our own identity seen for the first time (pair them with
    /// [`Command::EnableInstallation`]).
    NewInstallations(Vec<Installation>),
    /// One of our devices told us its name (`PairInstallation`).
    InstallationMetadata {
        /// Its installation id.
        id: String,
        /// Name and type.
        metadata: InstallationMetadata,
    },
}

/// What the machine wants done, from [`Messenger::poll_output`].
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum Output {
    /// Post a Waku message.
    Post(Post),
    /// Install a filter on the Waku layer.
    Subscribe(Filter),
    /// Remove a filter.
    Unsubscribe(FilterId),
    /// Tell the application.
    Event(Event),
}

/// Counters, for tests and monitoring.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Waku messages handled.
    pub received: u64,
    /// Application messages accepted (all types).
    pub accepted: u64,
    /// Duplicates dropped silently (our own echoes, history overlaps).
    pub duplicates: u64,
    /// Messages refused, by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Posts emitted.
    pub posts: u64,
    /// Store commits.
    pub commits: u64,
}

/// Short names of the reasons a message is refused, for [`Stats::rejected`].
fn reason(e: &Error) -> &'static str {
    match e {
        Error::Malformed { .. } => "malformed",
        Error::Unsigned | Error::MetadataUnsigned => "unsigned",
        Error::BadSignature { .. } => "bad signature",
        Error::SignerMismatch => "signer mismatch",
        Error::TooLarge { .. } => "too large",
        Error::Duplicate => "duplicate",
        Error::InvalidClock { .. } => "invalid clock",
        Error::Invalid { .. } => "invalid",
        Error::UnsupportedType(_) => "unsupported type",
        Error::NoMatchingChat(_) => "no matching chat",
        Error::InvalidMembershipUpdate(_) => "invalid membership update",
        Error::NotFromUs => "not from us",
        Error::Encryption(_) => "encryption",
        Error::DataSync(_) => "data sync",
        Error::UnknownFilter => "unknown filter",
        Error::Full { .. } => "full",
        _ => "other",
    }
}

/// Bound of the decompressed peer key cache (cleared when full).
const MAX_PEER_KEYS: usize = 4096;

/// One Status account on one device, as a sans-IO machine.
///
/// Methods, in quinn-proto's terms: getters (`chats`, `messages`,
/// `contacts`, `stats`...), [`handle_input`](Self::handle_input) for
/// received messages and commands (with one-line wrappers such as
/// [`send_text`](Self::send_text)), [`poll_output`](Self::poll_output)
/// to drain after every call, and [`poll_timeout`](Self::poll_timeout) /
/// [`handle_timeout`](Self::handle_timeout) for retransmissions and the
/// contact-code timer. Every call ends with one store commit; its outputs
/// appear only once that commit succeeded.
///
/// The run loop of a driver:
///
/// 1. feed every opened Waku message and every user command to
///    `handle_input`;
/// 2. drain `poll_output`: install / remove filters, wrap and post
///    [`Post`]s, show [`Event`]s;
/// 3. sleep until `poll_timeout`, then call `handle_timeout` and drain
///    again.
///
/// See the crate docs for a complete two-device example.
pub struct Messenger<S: Store> {
    config: Config,
    identity: SecretKey,
    me: PublicKey,
    my_id: String,
    rng: ChaCha20Rng,
    encryptor: Encryptor<SessionJournal>,
    mvds: Mvds<PeerKey, SyncJournal>,
    chats: BTreeMap<ChatId, Chat>,
    contacts: BTreeMap<String, Contact>,
    filters: BTreeMap<FilterId, Filter>,
    filter_names: HashMap<String, FilterId>,
    negotiated: HashMap<PeerKey, FilterId>,
    /// Decompressed MVDS peer keys: decompression is a square root, and
    /// every transmit and ack names its peer compressed.
    peer_keys: HashMap<PeerKey, PublicKey>,
    next_filter: u64,
    store: S,
    batch: Batch,
    dirty_chats: Vec<ChatId>,
    pending: VecDeque<Output>,
    outbox: VecDeque<Output>,
    stats: Stats,
    poisoned: bool,
    /// The transport timestamp (ms) of the message being processed.
    sent_ms: u64,
}

impl<S: Store> Messenger<S> {
    /// Opens the messenger of `identity` over `store` (empty for a new
    /// account, or what an earlier run left), at `now`, with randomness
    /// from `rng_seed` (drivers seed it from the OS, simulations fix it).
    ///
    /// The first outputs are the filters to install.
    pub fn open(
        config: Config,
        identity: SecretKey,
        store: S,
        now: Timestamp,
        rng_seed: [u8; 32],
    ) -> Result<Messenger<S>, Error> {
        let mut rng = ChaCha20Rng::from_seed(rng_seed);
        let me = identity.public_key();
        let mut batch = Batch::new();
        match store.get(Table::Meta, b"identity")? {
            Some(k) if k.as_slice() != me.to_compressed() => {
                return Err(Error::Store("the store belongs to another identity".into()))
            }
            Some(_) => {}
            None => batch.put(
                Table::Meta,
                b"identity".to_vec(),
                me.to_compressed().to_vec(),
            ),
        }
        match store.get(Table::Meta, FORMAT_KEY)? {
            Some(v) if v.as_slice() != FORMAT_VERSION.to_be_bytes() => {
                return Err(Error::Store(format!(
                    "store format {v:?} is not {FORMAT_VERSION}"
                )))
            }
            Some(_) => {}
            None => batch.put(
                Table::Meta,
                FORMAT_KEY.to_vec(),
                FORMAT_VERSION.to_be_bytes().to_vec(),
            ),
        }
        let installation_id = match store.get(Table::Meta, b"installation")? {
            Some(v) => String::from_utf8(v).map_err(|_| Error::Store("installation id".into()))?,
            None => {
                let id = match &config.installation_id {
                    Some(id) => id.clone(),
                    None => random_uuid(&mut rng),
                };
                batch.put(
                    Table::Meta,
                    b"installation".to_vec(),
                    id.as_bytes().to_vec(),
                );
                id
            }
        };
        let sessions = SessionJournal::load(&store)?;
        let sync = SyncJournal::load(&store, config.sync.max_received_ids)?;
        let encryptor = Encryptor::new(
            config.encryption.clone(),
            identity.clone(),
            installation_id,
            sessions,
        );
        let mvds = Mvds::with_store(config.sync.clone(), sync, now);

        let mut chats = BTreeMap::new();
        for (k, v) in all(&store, Table::Chats)? {
            let chat = Chat::from_record(&k, &v)?;
            chats.insert(chat.id.clone(), chat);
        }
        let mut logs: BTreeMap<ChatId, Vec<MembershipEvent>> = BTreeMap::new();
        for (k, v) in all(&store, Table::GroupEvents)? {
            let Some(end) = k.iter().position(|b| *b == 0) else {
                return Err(Error::Store("corrupt group event key".into()));
            };
            let chat = String::from_utf8(k[..end].to_vec())
                .map_err(|_| Error::Store("corrupt group event key".into()))?;
            let event = MembershipEvent::verify(&chat, &v)
                .map_err(|_| Error::Store("corrupt group event".into()))?;
            logs.entry(ChatId(chat)).or_default().push(event);
        }
        for (id, events) in logs {
            if let Some(chat) = chats.get_mut(&id) {
                let group = Group::from_events(id.as_str(), events)
                    .map_err(|_| Error::Store("corrupt group log".into()))?;
                chat.group = Some(group);
            }
        }
        let mut contacts = BTreeMap::new();
        for (k, v) in all(&store, Table::Contacts)? {
            let c = Contact::from_record(&v)?;
            contacts.insert(String::from_utf8_lossy(&k).into_owned(), c);
        }

        let mut m = Messenger {
            my_id: contact_id(&me),
            config,
            identity,
            me,
            rng,
            encryptor,
            mvds,
            chats,
            contacts,
            filters: BTreeMap::new(),
            filter_names: HashMap::new(),
            negotiated: HashMap::new(),
            peer_keys: HashMap::new(),
            next_filter: 1,
            store,
            batch,
            dirty_chats: Vec::new(),
            pending: VecDeque::new(),
            outbox: VecDeque::new(),
            stats: Stats::default(),
            poisoned: false,
            sent_ms: 0,
        };
        // status-go `FiltersManager.Init`: our contact code, partitioned
        // and discovery topics, then every chat's.
        m.ensure_filter(Purpose::ContactCode(me));
        m.ensure_filter(Purpose::Partitioned);
        m.ensure_filter(Purpose::Discovery);
        let chats: Vec<Chat> = m.chats.values().filter(|c| c.active).cloned().collect();
        for chat in &chats {
            m.listen_for(chat);
            // status-go keeps negotiated filters' keys in its database; we
            // derive them again for everyone we talk to
            let peers: Vec<PublicKey> = match chat.kind {
                ChatKind::Public => Vec::new(),
                ChatKind::OneToOne => chat.partner.into_iter().collect(),
                ChatKind::Group => chat
                    .group
                    .as_ref()
                    .map(Group::member_keys)
                    .unwrap_or_default(),
            };
            for k in peers {
                m.ensure_negotiated(&k)?;
            }
        }
        m.finish(Ok(()))?;
        Ok(m)
    }

    // ---- getters ----

    /// Our identity public key.
    pub fn identity(&self) -> &PublicKey {
        &self.me
    }
    /// This device's installation id.
    pub fn installation_id(&self) -> &str {
        self.encryptor.installation_id()
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    /// Every chat.
    pub fn chats(&self) -> impl Iterator<Item = &Chat> {
        self.chats.values()
    }
    /// One chat.
    pub fn chat(&self, id: &ChatId) -> Option<&Chat> {
        self.chats.get(id)
    }
    /// Every contact.
    pub fn contacts(&self) -> impl Iterator<Item = &Contact> {
        self.contacts.values()
    }
    /// The filters currently installed (to reinstall on a new Waku node).
    pub fn filters(&self) -> impl Iterator<Item = &Filter> {
        self.filters.values()
    }
    /// Our devices known from bundles (this one excluded).
    pub fn installations(&self) -> Result<Vec<Installation>, Error> {
        Ok(self
            .encryptor
            .installations(&self.me)?
            .into_iter()
            .filter(|i| i.id != self.encryptor.installation_id())
            .collect())
    }
    /// The stored messages of a chat in clock order, at most `limit`.
    pub fn messages(&self, chat: &ChatId, limit: usize) -> Result<Vec<Message>, Error> {
        self.store
            .scan(Table::Messages, &chat_prefix(chat), limit)?
            .iter()
            .map(|(_, v)| Message::from_record(v))
            .collect()
    }
    /// One stored message.
    pub fn message(&self, id: &MessageId) -> Result<Option<Message>, Error> {
        match self.store.get(Table::MessageIndex, &id.0)? {
            Some(key) if !key.is_empty() => match self.store.get(Table::Messages, &key)? {
                Some(v) => Ok(Some(Message::from_record(&v)?)),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }
    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }
    /// Closes the messenger, giving the store back.
    pub fn into_store(self) -> S {
        self.store
    }
    /// MVDS records in flight (messages not acknowledged yet, per peer).
    pub fn in_flight(&self) -> usize {
        self.mvds.in_flight()
    }

    // ---- the four doors ----

    /// A received message or a command. Received messages that are refused
    /// come back as a peer error ([`Error::is_peer_error`]) and are
    /// counted; duplicates are dropped silently and counted.
    pub fn handle_input(&mut self, now: Timestamp, input: Input) -> Result<Outcome, Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        let r = match input {
            Input::Received(msg) => {
                self.stats.received += 1;
                self.on_received(now, msg).map(|()| Outcome::Done)
            }
            Input::Command(cmd) => self.on_command(now, cmd),
        };
        if let Err(e) = &r {
            if e.is_peer_error() {
                *self.stats.rejected.entry(reason(e)).or_default() += 1;
            }
        }
        self.finish(r)
    }

    /// The next thing to do; drain until `None` after every call.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outbox.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, and why.
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        [self.mvds.poll_timeout(), self.encryptor.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Time passed: retransmissions, acks and the contact-code publication.
    pub fn handle_timeout(&mut self, now: Timestamp) -> Result<(), Error> {
        if self.poisoned {
            return Err(Error::Poisoned);
        }
        let r = (|| {
            self.encryptor.handle_timeout(now);
            self.drain_encryptor(now)?;
            self.mvds.handle_timeout(now);
            self.drain_mvds(now)
        })();
        self.finish(r)
    }

    // ---- command wrappers ----

    /// Joins a public chat.
    pub fn join_public(&mut self, now: Timestamp, name: &str) -> Result<ChatId, Error> {
        let r = self.handle_input(
            now,
            Input::Command(Command::JoinPublic { name: name.into() }),
        )?;
        chat_of(r)
    }
    /// Starts a 1:1 chat from a chat key or contact code as a person types
    /// it ([`parse_chat_key`]).
    pub fn start_one_to_one(&mut self, now: Timestamp, key: &str) -> Result<ChatId, Error> {
        let key = parse_chat_key(key)?;
        let r = self.handle_input(now, Input::Command(Command::StartOneToOne { key }))?;
        chat_of(r)
    }
    /// Creates a group chat.
    pub fn create_group(
        &mut self,
        now: Timestamp,
        name: &str,
        members: &[PublicKey],
    ) -> Result<ChatId, Error> {
        let cmd = Command::CreateGroup {
            name: name.into(),
            members: members.to_vec(),
        };
        chat_of(self.handle_input(now, Input::Command(cmd))?)
    }
    /// Sends a text message.
    pub fn send_text(
        &mut self,
        now: Timestamp,
        chat: &ChatId,
        text: &str,
    ) -> Result<MessageId, Error> {
        let cmd = Command::SendText {
            chat: chat.clone(),
            text: text.into(),
            response_to: None,
        };
        match self.handle_input(now, Input::Command(cmd))? {
            Outcome::Message(id) => Ok(id),
            _ => Err(Error::Invalid { what: "outcome" }),
        }
    }

    // ---- receiving ----

    fn on_received(&mut self, now: Timestamp, msg: WakuMessage) -> Result<(), Error> {
        if msg.payload.len() > self.config.max_payload_size {
            return Err(Error::TooLarge {
                len: msg.payload.len(),
                max: self.config.max_payload_size,
            });
        }
        let signer = msg.signer.ok_or(Error::Unsigned)?;
        let purpose = self
            .filters
            .get(&msg.filter)
            .ok_or(Error::UnknownFilter)?
            .purpose
            .clone();
        self.sent_ms = msg.sent.as_millis();
        match purpose {
            Purpose::Public(_) | Purpose::ContactCode(_) => {
                // status-go tries the encryption layer first: a contact
                // code (or a newer client's public message) is a
                // ProtocolMessage with a bundle; a v0.55.1 public chat
                // message is the bare ApplicationMetadataMessage.
                match ProtocolMessage::decode(msg.payload.as_slice()) {
                    Ok(pm) if !pm.bundles.is_empty() || !pm.public_message.is_empty() => {
                        let r = self.encryptor.decrypt(now, &mut self.rng, &signer, &pm);
                        self.drain_encryptor(now)?;
                        match r {
                            Ok(d) if d.kind == PayloadKind::Public => {
                                self.on_application(now, &d.payload)
                            }
                            Ok(_) => Err(Error::Invalid {
                                what: "direct message on a public topic",
                            }),
                            // a contact code: the bundle was the point
                            Err(status_encryption::Error::NoPayload) => {
                                self.stats.accepted += 1;
                                Ok(())
                            }
                            Err(e) => Err(e.into()),
                        }
                    }
                    _ => self.on_application(now, &msg.payload),
                }
            }
            Purpose::Partitioned | Purpose::Discovery | Purpose::Negotiated(_) => {
                let pm = ProtocolMessage::decode(msg.payload.as_slice()).map_err(|_| {
                    Error::Malformed {
                        what: "ProtocolMessage",
                    }
                })?;
                if signer == self.me && !self.for_this_device(&pm) {
                    // our own post, seen on a symmetric topic we share with
                    // the peer (or meant for another of our devices)
                    self.stats.duplicates += 1;
                    return Ok(());
                }
                let r = self.encryptor.decrypt(now, &mut self.rng, &signer, &pm);
                self.drain_encryptor(now)?;
                let d = r?;
                self.ensure_negotiated(&signer)?;
                let max = self.config.sync.max_payload_records;
                match decode_payload(&d.payload, max) {
                    Ok(p) if p != Payload::default() => {
                        let peer = PeerKey(signer.to_compressed());
                        self.mvds.handle_payload(now, &peer, p)?;
                        self.drain_mvds(now)
                    }
                    _ if d.payload.is_empty() => {
                        // a bundle advertisement: nothing more
                        self.stats.accepted += 1;
                        Ok(())
                    }
                    _ => self.on_application(now, &d.payload),
                }
            }
        }
    }

    fn for_this_device(&self, pm: &ProtocolMessage) -> bool {
        pm.direct_message
            .contains_key(self.encryptor.installation_id())
            || pm
                .direct_message
                .contains_key(status_encryption::NO_INSTALLATION_ID)
    }

    fn on_application(&mut self, now: Timestamp, wrapped: &[u8]) -> Result<(), Error> {
        let u = metadata::unwrap(wrapped)?;
        if read(&self.store, &self.batch, Table::MessageIndex, &u.id.0)?.is_some() {
            self.stats.duplicates += 1;
            return Ok(());
        }
        let r = match MessageType::try_from(u.kind) {
            Ok(MessageType::ChatMessage) => {
                let m =
                    ChatMessage::decode(u.payload.as_slice()).map_err(|_| Error::Malformed {
                        what: "ChatMessage",
                    })?;
                self.on_chat_message(now, &u, m, false)
            }
            Ok(MessageType::MembershipUpdateMessage) => self.on_membership_update(now, &u),
            Ok(MessageType::ContactUpdate) => self.on_contact_update(&u),
            Ok(MessageType::PairInstallation) => self.on_pair_installation(&u),
            Ok(MessageType::SyncInstallationContact) => self.on_sync_contact(now, &u),
            Ok(MessageType::SyncInstallationPublicChat) => self.on_sync_public_chat(now, &u),
            _ => Err(Error::UnsupportedType(u.kind)),
        };
        if r.is_ok() {
            self.stats.accepted += 1;
            if read(&self.store, &self.batch, Table::MessageIndex, &u.id.0)?.is_none() {
                self.batch
                    .put(Table::MessageIndex, u.id.0.to_vec(), Vec::new());
            }
        }
        r
    }

    fn on_chat_message(
        &mut self,
        now: Timestamp,
        u: &Unwrapped,
        m: ChatMessage,
        in_group: bool,
    ) -> Result<(), Error> {
        if !valid_clock(m.clock, self.sent_ms) {
            return Err(Error::InvalidClock {
                clock: m.clock,
                timestamp: self.sent_ms,
            });
        }
        if m.chat_id.is_empty() || m.chat_id.len() > 512 {
            return Err(Error::Invalid { what: "chat id" });
        }
        if m.timestamp == 0 {
            return Err(Error::Invalid { what: "timestamp" });
        }
        let content = m.content_type();
        if matches!(content, ContentType::TextPlain | ContentType::Emoji)
            && m.text.trim().is_empty()
        {
            return Err(Error::Invalid { what: "empty text" });
        }
        let from_us = u.signer == self.me;
        let now_ms = now.as_millis();
        let chat_id = match m.message_type() {
            ChatType::PublicGroup if !in_group => {
                let id = ChatId::from_wire(&m.chat_id);
                match self.chats.get(&id) {
                    Some(c) if c.kind == ChatKind::Public => id,
                    _ => {
                        return Err(Error::NoMatchingChat(
                            "public message for a chat we did not join",
                        ))
                    }
                }
            }
            ChatType::OneToOne if !in_group => {
                // ours, from another device: the chat is named in the
                // message; theirs: the chat is the sender
                let partner = if from_us {
                    parse_chat_key(&m.chat_id).map_err(|_| Error::Invalid {
                        what: "1:1 chat id",
                    })?
                } else {
                    u.signer
                };
                let id = ChatId::one_to_one(&partner);
                if !self.chats.contains_key(&id) {
                    self.new_one_to_one(now_ms, partner)?;
                }
                id
            }
            ChatType::PrivateGroup if in_group => {
                let id = ChatId::from_wire(&m.chat_id);
                let from = contact_id(&u.signer);
                match self.chats.get(&id).and_then(|c| c.group.as_ref()) {
                    Some(g) if g.has_joined(&from) && g.has_joined(&self.my_id) => id,
                    _ => return Err(Error::NoMatchingChat("not a joined member of that group")),
                }
            }
            _ => {
                return Err(Error::NoMatchingChat(
                    "message type does not fit where it came from",
                ))
            }
        };
        let Some(chat) = self.chats.get_mut(&chat_id) else {
            return Err(Error::NoMatchingChat("chat vanished"));
        };
        if chat.deleted_at_clock >= m.clock {
            return Ok(());
        }
        chat.observe_clock(m.clock, now_ms);
        chat.active = true;
        if !from_us {
            chat.unread = chat.unread.saturating_add(1);
        }
        let message = Message {
            id: u.id,
            chat: chat_id.clone(),
            from: u.signer,
            clock: m.clock,
            timestamp: m.timestamp,
            text: m.text.clone(),
            content_type: content,
            response_to: MessageId::from_hex(&m.response_to),
            ens_name: m.ens_name.clone(),
            outgoing: from_us.then_some(OutgoingStatus::Sent),
        };
        self.dirty_chats.push(chat_id);
        self.store_message(&message);
        if !from_us && !m.ens_name.is_empty() {
            if let Some(c) = self.contact_mut(u.signer)? {
                if c.ens_name != m.ens_name {
                    c.ens_name.clone_from(&m.ens_name);
                    let rec = c.record();
                    self.batch
                        .put(Table::Contacts, contact_id(&u.signer).into_bytes(), rec);
                }
            }
        }
        self.emit(Event::MessageReceived(Box::new(message)));
        Ok(())
    }

    fn on_membership_update(&mut self, now: Timestamp, u: &Unwrapped) -> Result<(), Error> {
        let msg = MembershipUpdateMessage::decode(u.payload.as_slice()).map_err(|_| {
            Error::Malformed {
                what: "MembershipUpdateMessage",
            }
        })?;
        if msg.chat_id.is_empty() || msg.chat_id.len() > 512 {
            return Err(Error::InvalidMembershipUpdate("chat id"));
        }
        if msg.events.len() > crate::group::MAX_EVENTS {
            return Err(Error::InvalidMembershipUpdate("too many events"));
        }
        let mut events = Vec::with_capacity(msg.events.len());
        for raw in &msg.events {
            let e = MembershipEvent::verify(&msg.chat_id, raw)?;
            if !valid_clock(e.clock, now.as_millis()) {
                return Err(Error::InvalidClock {
                    clock: e.clock,
                    timestamp: now.as_millis(),
                });
            }
            events.push(e);
        }
        let id = ChatId::from_wire(&msg.chat_id);
        let now_ms = now.as_millis();
        let changed = match self.chats.get_mut(&id) {
            Some(chat) => {
                let Some(group) = chat.group.as_mut() else {
                    return Err(Error::NoMatchingChat(
                        "membership update for a chat that is no group",
                    ));
                };
                let added = group.merge(events.iter().cloned())?;
                chat.last_clock = chat.last_clock.max(group.last_clock());
                added > 0
            }
            None => {
                if events.is_empty() {
                    return Err(Error::InvalidMembershipUpdate("a new group needs events"));
                }
                let group = Group::from_events(&msg.chat_id, events.iter().cloned())?;
                if !group.is_member(&self.my_id) {
                    return Err(Error::InvalidMembershipUpdate(
                        "a new group must contain us",
                    ));
                }
                if self.chats.len() >= self.config.max_chats {
                    return Err(Error::Full {
                        what: "chats",
                        max: self.config.max_chats,
                    });
                }
                let mut chat = Chat::new(id.clone(), ChatKind::Group, String::new(), now_ms);
                chat.last_clock = group.last_clock();
                chat.group = Some(group);
                self.chats.insert(id.clone(), chat);
                true
            }
        };
        if changed {
            self.save_group_events(&id);
            self.dirty_chats.push(id.clone());
            if let Some(chat) = self.chats.get(&id).cloned() {
                self.listen_for(&chat);
            }
            self.emit(Event::ChatChanged(id.clone()));
        }
        match msg.message {
            Some(m) => self.on_chat_message(now, u, m, true),
            None => Ok(()),
        }
    }

    fn on_contact_update(&mut self, u: &Unwrapped) -> Result<(), Error> {
        let cu = ContactUpdate::decode(u.payload.as_slice()).map_err(|_| Error::Malformed {
            what: "ContactUpdate",
        })?;
        if !valid_clock(cu.clock, self.sent_ms) {
            return Err(Error::InvalidClock {
                clock: cu.clock,
                timestamp: self.sent_ms,
            });
        }
        let from = u.signer;
        let is_me = from == self.me;
        let Some(c) = self.contact_mut(from)? else {
            return Ok(());
        };
        if c.last_updated >= cu.clock {
            return Ok(());
        }
        let request = !c.added && !c.request_received && !is_me;
        if !c.added && !is_me {
            c.request_received = true;
        }
        c.ens_name = cu.ens_name;
        c.last_updated = cu.clock;
        let rec = c.record();
        self.batch
            .put(Table::Contacts, contact_id(&from).into_bytes(), rec);
        if request {
            self.emit(Event::ContactRequest { from });
        }
        Ok(())
    }

    fn on_pair_installation(&mut self, u: &Unwrapped) -> Result<(), Error> {
        if u.signer != self.me {
            return Err(Error::NotFromUs);
        }
        let p = PairInstallation::decode(u.payload.as_slice()).map_err(|_| Error::Malformed {
            what: "PairInstallation",
        })?;
        if !valid_clock(p.clock, self.sent_ms) {
            return Err(Error::InvalidClock {
                clock: p.clock,
                timestamp: self.sent_ms,
            });
        }
        if p.name.trim().is_empty()
            || p.device_type.trim().is_empty()
            || p.installation_id.trim().is_empty()
        {
            return Err(Error::Invalid {
                what: "pair installation fields",
            });
        }
        if !self
            .installations()?
            .iter()
            .any(|i| i.id == p.installation_id)
        {
            return Err(Error::Invalid {
                what: "installation not found",
            });
        }
        let metadata = InstallationMetadata {
            name: p.name,
            device_type: p.device_type,
            fcm_token: String::new(),
        };
        self.encryptor
            .set_installation_metadata(&self.me, &p.installation_id, metadata.clone())?;
        self.emit(Event::InstallationMetadata {
            id: p.installation_id,
            metadata,
        });
        Ok(())
    }

    fn on_sync_public_chat(&mut self, now: Timestamp, u: &Unwrapped) -> Result<(), Error> {
        if u.signer != self.me {
            return Err(Error::NotFromUs);
        }
        let s = SyncInstallationPublicChat::decode(u.payload.as_slice()).map_err(|_| {
            Error::Malformed {
                what: "SyncInstallationPublicChat",
            }
        })?;
        let id = ChatId::public(&s.id).map_err(|_| Error::Invalid {
            what: "public chat name",
        })?;
        if !self.chats.contains_key(&id) {
            self.join_public_chat(now, id)?;
        }
        Ok(())
    }

    fn on_sync_contact(&mut self, _now: Timestamp, u: &Unwrapped) -> Result<(), Error> {
        if u.signer != self.me {
            return Err(Error::NotFromUs);
        }
        let s = SyncInstallationContact::decode(u.payload.as_slice()).map_err(|_| {
            Error::Malformed {
                what: "SyncInstallationContact",
            }
        })?;
        let key = parse_chat_key(&s.id).map_err(|_| Error::Invalid { what: "contact id" })?;
        let Some(c) = self.contact_mut(key)? else {
            return Ok(());
        };
        if c.last_updated < s.clock {
            c.added = true;
            c.ens_name = s.ens_name;
            c.last_updated = s.clock;
            let rec = c.record();
            self.batch
                .put(Table::Contacts, contact_id(&key).into_bytes(), rec);
        }
        Ok(())
    }

    // ---- commands ----

    fn on_command(&mut self, now: Timestamp, cmd: Command) -> Result<Outcome, Error> {
        let now_ms = now.as_millis();
        match cmd {
            Command::JoinPublic { name } => {
                let id = ChatId::public(&name)?;
                self.join_public_chat(now, id.clone())?;
                Ok(Outcome::Chat(id))
            }
            Command::StartOneToOne { key } => {
                let id = ChatId::one_to_one(&key);
                match self.chats.get_mut(&id) {
                    Some(c) => {
                        c.active = true;
                        self.dirty_chats.push(id.clone());
                    }
                    None => self.new_one_to_one(now_ms, key)?,
                }
                if let Some(c) = self.contact_mut(key)? {
                    c.added = true;
                    let rec = c.record();
                    self.batch
                        .put(Table::Contacts, contact_id(&key).into_bytes(), rec);
                }
                if let Some(chat) = self.chats.get(&id).cloned() {
                    self.listen_for(&chat);
                }
                self.ensure_negotiated(&key)?;
                Ok(Outcome::Chat(id))
            }
            Command::Leave { chat } => {
                let c = self
                    .chats
                    .get_mut(&chat)
                    .ok_or_else(|| Error::ChatNotFound(chat.0.clone()))?;
                if c.kind == ChatKind::Group {
                    return Err(Error::WrongChatKind);
                }
                c.active = false;
                let purpose = match c.kind {
                    ChatKind::Public => Some(Purpose::Public(c.id.0.clone())),
                    _ => None,
                };
                self.dirty_chats.push(chat);
                if let Some(p) = purpose {
                    self.remove_filter(&p);
                }
                Ok(Outcome::Done)
            }
            Command::CreateGroup { name, members } => {
                if name.trim().is_empty() {
                    return Err(Error::Invalid { what: "group name" });
                }
                if members.len() >= crate::group::MAX_MEMBERS {
                    return Err(Error::Full {
                        what: "group members",
                        max: crate::group::MAX_MEMBERS,
                    });
                }
                if self.chats.len() >= self.config.max_chats {
                    return Err(Error::Full {
                        what: "chats",
                        max: self.config.max_chats,
                    });
                }
                let uuid = random_uuid(&mut self.rng);
                let clock = next_clock(0, now_ms);
                let mut group = Group::create(&uuid, &name, clock, &self.identity);
                let ids: Vec<String> = members
                    .iter()
                    .filter(|k| **k != self.me)
                    .map(contact_id)
                    .collect();
                if !ids.is_empty() {
                    group.apply_local(
                        EventType::MembersAdded,
                        clock + 1,
                        ids,
                        String::new(),
                        &self.identity,
                    )?;
                }
                let id = ChatId(group.chat_id().to_owned());
                let mut chat = Chat::new(id.clone(), ChatKind::Group, String::new(), now_ms);
                chat.last_clock = group.last_clock();
                chat.group = Some(group);
                self.chats.insert(id.clone(), chat.clone());
                self.save_group_events(&id);
                self.dirty_chats.push(id.clone());
                self.listen_for(&chat);
                let recipients = self.group_recipients(&chat);
                self.send_membership_update(now, &id, recipients, None)?;
                Ok(Outcome::Chat(id))
            }
            Command::AddMembers { chat, members } => {
                let ids = members.iter().map(contact_id).collect();
                self.group_event(
                    now,
                    &chat,
                    EventType::MembersAdded,
                    ids,
                    String::new(),
                    false,
                )
            }
            Command::RemoveMember { chat, member } => self.group_event(
                now,
                &chat,
                EventType::MemberRemoved,
                vec![contact_id(&member)],
                String::new(),
                true,
            ),
            Command::AddAdmins { chat, members } => {
                let ids = members.iter().map(contact_id).collect();
                self.group_event(
                    now,
                    &chat,
                    EventType::AdminsAdded,
                    ids,
                    String::new(),
                    false,
                )
            }
            Command::RenameGroup { chat, name } => {
                self.group_event(now, &chat, EventType::NameChanged, Vec::new(), name, false)
            }
            Command::JoinGroup { chat } => self.group_event(
                now,
                &chat,
                EventType::MemberJoined,
                Vec::new(),
                String::new(),
                false,
            ),
            Command::LeaveGroup { chat } => {
                let me = self.my_id.clone();
                let r = self.group_event(
                    now,
                    &chat,
                    EventType::MemberRemoved,
                    vec![me],
                    String::new(),
                    true,
                )?;
                if let Some(c) = self.chats.get_mut(&chat) {
                    c.active = false;
                    self.dirty_chats.push(chat);
                }
                Ok(r)
            }
            Command::SendText {
                chat,
                text,
                response_to,
            } => {
                if text.trim().is_empty() {
                    return Err(Error::Invalid { what: "empty text" });
                }
                self.send_chat_message(now, &chat, text, ContentType::TextPlain, response_to)
                    .map(Outcome::Message)
            }
            Command::SendEmoji { chat, emoji } => {
                if emoji.trim().is_empty() {
                    return Err(Error::Invalid {
                        what: "empty emoji",
                    });
                }
                self.send_chat_message(now, &chat, emoji, ContentType::Emoji, None)
                    .map(Outcome::Message)
            }
            Command::MarkRead { chat } => {
                let c = self
                    .chats
                    .get_mut(&chat)
                    .ok_or_else(|| Error::ChatNotFound(chat.0.clone()))?;
                c.unread = 0;
                self.dirty_chats.push(chat);
                Ok(Outcome::Done)
            }
            Command::SendContactUpdate { chat } => {
                let c = self
                    .chats
                    .get(&chat)
                    .ok_or_else(|| Error::ChatNotFound(chat.0.clone()))?;
                let partner = *c.partner().ok_or(Error::WrongChatKind)?;
                let clock = next_clock(c.last_clock, now_ms);
                let cu = ContactUpdate {
                    clock,
                    ens_name: self.config.ens_name.clone(),
                    profile_image: String::new(),
                };
                let wrapped = metadata::wrap(
                    &cu.encode_to_vec(),
                    MessageType::ContactUpdate,
                    Some(&self.identity),
                );
                let id = MessageId::of(&self.me, &wrapped);
                self.batch
                    .put(Table::MessageIndex, id.0.to_vec(), Vec::new());
                self.send_private(now, &partner, &wrapped, id)?;
                if let Some(c) = self.chats.get_mut(&chat) {
                    c.last_clock = clock;
                }
                self.dirty_chats.push(chat);
                Ok(Outcome::Message(id))
            }
            Command::PairDevices => {
                let p = PairInstallation {
                    clock: now_ms.max(1),
                    installation_id: self.encryptor.installation_id().to_owned(),
                    device_type: self.config.device_type.clone(),
                    name: self.config.device_name.clone(),
                };
                let wrapped = metadata::wrap(
                    &p.encode_to_vec(),
                    MessageType::PairInstallation,
                    Some(&self.identity),
                );
                // status-go `SendPairInstallation`: DH-only to ourselves,
                // so that devices not yet paired can read it.
                let me = self.me;
                let pm = self
                    .encryptor
                    .encrypt_dh(now, &mut self.rng, &me, &wrapped)?;
                self.post_partitioned(&me, pm.encode_to_vec());
                Ok(Outcome::Message(MessageId::of(&self.me, &wrapped)))
            }
            Command::EnableInstallation { id } => {
                let me = self.me;
                self.encryptor.enable_installation(&me, &id)?;
                Ok(Outcome::Done)
            }
            Command::DisableInstallation { id } => {
                let me = self.me;
                self.encryptor.disable_installation(&me, &id)?;
                Ok(Outcome::Done)
            }
            Command::SyncDevices => {
                if !self.has_paired_devices()? {
                    return Ok(Outcome::Done);
                }
                let me = self.me;
                let publics: Vec<String> = self
                    .chats
                    .values()
                    .filter(|c| c.kind == ChatKind::Public && c.active)
                    .map(|c| c.id.0.clone())
                    .collect();
                for (i, name) in publics.into_iter().enumerate() {
                    let s = SyncInstallationPublicChat {
                        clock: now_ms + i as u64,
                        id: name,
                    };
                    let wrapped = metadata::wrap(
                        &s.encode_to_vec(),
                        MessageType::SyncInstallationPublicChat,
                        Some(&self.identity),
                    );
                    let id = MessageId::of(&me, &wrapped);
                    self.send_private(now, &me, &wrapped, id)?;
                }
                let added: Vec<Contact> = self
                    .contacts
                    .values()
                    .filter(|c| c.added && c.key != me)
                    .cloned()
                    .collect();
                for (i, c) in added.into_iter().enumerate() {
                    let s = SyncInstallationContact {
                        clock: now_ms + i as u64,
                        id: contact_id(&c.key),
                        ens_name: c.ens_name.clone(),
                        ..Default::default()
                    };
                    let wrapped = metadata::wrap(
                        &s.encode_to_vec(),
                        MessageType::SyncInstallationContact,
                        Some(&self.identity),
                    );
                    let id = MessageId::of(&me, &wrapped);
                    self.send_private(now, &me, &wrapped, id)?;
                }
                Ok(Outcome::Done)
            }
        }
    }

    fn join_public_chat(&mut self, now: Timestamp, id: ChatId) -> Result<(), Error> {
        match self.chats.get_mut(&id) {
            Some(c) if c.kind == ChatKind::Public => c.active = true,
            Some(_) => return Err(Error::WrongChatKind),
            None => {
                if self.chats.len() >= self.config.max_chats {
                    return Err(Error::Full {
                        what: "chats",
                        max: self.config.max_chats,
                    });
                }
                let chat = Chat::new(id.clone(), ChatKind::Public, id.0.clone(), now.as_millis());
                self.chats.insert(id.clone(), chat);
            }
        }
        self.dirty_chats.push(id.clone());
        self.ensure_filter(Purpose::Public(id.0.clone()));
        self.emit(Event::ChatChanged(id));
        Ok(())
    }

    fn new_one_to_one(&mut self, now_ms: u64, partner: PublicKey) -> Result<(), Error> {
        if self.chats.len() >= self.config.max_chats {
            return Err(Error::Full {
                what: "chats",
                max: self.config.max_chats,
            });
        }
        let id = ChatId::one_to_one(&partner);
        let mut chat = Chat::new(
            id.clone(),
            ChatKind::OneToOne,
            status_keys::alias::generate(&partner),
            now_ms,
        );
        chat.partner = Some(partner);
        self.chats.insert(id.clone(), chat.clone());
        self.dirty_chats.push(id.clone());
        self.listen_for(&chat);
        self.emit(Event::ChatChanged(id));
        Ok(())
    }

    fn group_recipients(&self, chat: &Chat) -> Vec<PublicKey> {
        let Some(g) = &chat.group else {
            return Vec::new();
        };
        self.recipients_of(g.member_keys())
    }

    /// status-go `dispatchMessage` for groups: every member, us only when
    /// we have paired devices.
    fn recipients_of(&self, members: Vec<PublicKey>) -> Vec<PublicKey> {
        let paired = self.has_paired_devices().unwrap_or(false);
        members
            .into_iter()
            .filter(|k| paired || *k != self.me)
            .collect()
    }

    fn group_event(
        &mut self,
        now: Timestamp,
        chat_id: &ChatId,
        kind: EventType,
        members: Vec<String>,
        name: String,
        to_old_members: bool,
    ) -> Result<Outcome, Error> {
        let chat = self
            .chats
            .get(chat_id)
            .ok_or_else(|| Error::ChatNotFound(chat_id.0.clone()))?;
        let group = chat.group.as_ref().ok_or(Error::WrongChatKind)?;
        let old = group.member_keys();
        let clock = next_clock(chat.last_clock.max(group.last_clock()), now.as_millis());
        let mut group = group.clone();
        group.apply_local(kind, clock, members, name, &self.identity)?;
        let new = group.member_keys();
        let Some(chat) = self.chats.get_mut(chat_id) else {
            return Err(Error::ChatNotFound(chat_id.0.clone()));
        };
        chat.last_clock = clock;
        chat.group = Some(group);
        let chat = chat.clone();
        self.save_group_events(chat_id);
        self.dirty_chats.push(chat_id.clone());
        self.listen_for(&chat);
        // status-go sends a removal to the members before it, so the
        // removed member learns of it too
        let recipients = self.recipients_of(if to_old_members { old } else { new });
        self.send_membership_update(now, chat_id, recipients, None)?;
        self.emit(Event::ChatChanged(chat_id.clone()));
        Ok(Outcome::Chat(chat_id.clone()))
    }

    fn membership_payload(
        &self,
        chat_id: &ChatId,
        message: Option<ChatMessage>,
    ) -> Result<Vec<u8>, Error> {
        let chat = self
            .chats
            .get(chat_id)
            .ok_or_else(|| Error::ChatNotFound(chat_id.0.clone()))?;
        let group = chat.group.as_ref().ok_or(Error::WrongChatKind)?;
        Ok(MembershipUpdateMessage {
            chat_id: chat_id.0.clone(),
            events: group.events().map(MembershipEvent::encode).collect(),
            message,
        }
        .encode_to_vec())
    }

    fn send_membership_update(
        &mut self,
        now: Timestamp,
        chat_id: &ChatId,
        recipients: Vec<PublicKey>,
        message: Option<ChatMessage>,
    ) -> Result<MessageId, Error> {
        let payload = self.membership_payload(chat_id, message)?;
        let wrapped = metadata::wrap(
            &payload,
            MessageType::MembershipUpdateMessage,
            Some(&self.identity),
        );
        let id = MessageId::of(&self.me, &wrapped);
        self.batch
            .put(Table::MessageIndex, id.0.to_vec(), Vec::new());
        for r in recipients {
            self.send_private(now, &r, &wrapped, id)?;
        }
        Ok(id)
    }

    fn send_chat_message(
        &mut self,
        now: Timestamp,
        chat_id: &ChatId,
        text: String,
        content_type: ContentType,
        response_to: Option<MessageId>,
    ) -> Result<MessageId, Error> {
        let now_ms = now.as_millis();
        let chat = self
            .chats
            .get(chat_id)
            .ok_or_else(|| Error::ChatNotFound(chat_id.0.clone()))?;
        if !chat.active && chat.kind == ChatKind::Group {
            return Err(Error::NotAllowed("we left this group"));
        }
        let clock = next_clock(chat.last_clock, now_ms);
        let kind = chat.kind;
        let mut cm = ChatMessage {
            clock,
            timestamp: now_ms,
            text,
            response_to: response_to.map(|r| r.to_hex()).unwrap_or_default(),
            ens_name: self.config.ens_name.clone(),
            chat_id: chat_id.0.clone(),
            ..Default::default()
        };
        cm.set_content_type(content_type);
        let id = match kind {
            ChatKind::Public => {
                cm.set_message_type(ChatType::PublicGroup);
                let wrapped = metadata::wrap(
                    &cm.encode_to_vec(),
                    MessageType::ChatMessage,
                    Some(&self.identity),
                );
                let id = MessageId::of(&self.me, &wrapped);
                let filter = self.ensure_filter(Purpose::Public(chat_id.0.clone()));
                self.post_to_filter(filter, wrapped);
                id
            }
            ChatKind::OneToOne => {
                cm.set_message_type(ChatType::OneToOne);
                let partner = *chat.partner().ok_or(Error::WrongChatKind)?;
                let wrapped = metadata::wrap(
                    &cm.encode_to_vec(),
                    MessageType::ChatMessage,
                    Some(&self.identity),
                );
                let id = MessageId::of(&self.me, &wrapped);
                if partner != self.me {
                    self.send_private(now, &partner, &wrapped, id)?;
                }
                if self.has_paired_devices()? {
                    let me = self.me;
                    self.send_private(now, &me, &wrapped, id)?;
                }
                id
            }
            ChatKind::Group => {
                cm.set_message_type(ChatType::PrivateGroup);
                let recipients = self.group_recipients(chat);
                // status-go wraps every group message in the group's whole
                // event log (`EncodeMembershipUpdate`)
                let payload = self.membership_payload(chat_id, Some(cm.clone()))?;
                let wrapped = metadata::wrap(
                    &payload,
                    MessageType::MembershipUpdateMessage,
                    Some(&self.identity),
                );
                let id = MessageId::of(&self.me, &wrapped);
                for r in recipients {
                    self.send_private(now, &r, &wrapped, id)?;
                }
                id
            }
        };
        let message = Message {
            id,
            chat: chat_id.clone(),
            from: self.me,
            clock,
            timestamp: now_ms,
            text: cm.text,
            content_type,
            response_to,
            ens_name: cm.ens_name,
            outgoing: Some(OutgoingStatus::Sent),
        };
        self.store_message(&message);
        if let Some(c) = self.chats.get_mut(chat_id) {
            c.observe_clock(clock, now_ms);
        }
        self.dirty_chats.push(chat_id.clone());
        Ok(id)
    }

    // ---- the layers below ----

    /// Hands `wrapped` to MVDS for `recipient` (status-go `addToDataSync`).
    fn send_private(
        &mut self,
        now: Timestamp,
        recipient: &PublicKey,
        wrapped: &[u8],
        id: MessageId,
    ) -> Result<(), Error> {
        let group = GroupId(one_to_one_group_id(&self.me, recipient));
        let peer = PeerKey(recipient.to_compressed());
        let sync_id = self.mvds.send(now, group, &[peer], wrapped.to_vec())?;
        let mut v = id.0.to_vec();
        v.extend_from_slice(&recipient.to_compressed());
        self.batch.put(Table::Outgoing, sync_id.0.to_vec(), v);
        self.ensure_negotiated(recipient)?;
        Ok(())
    }

    fn drain_mvds(&mut self, now: Timestamp) -> Result<(), Error> {
        while let Some(out) = self.mvds.poll_output() {
            match out {
                SyncOutput::Transmit { peer, payload } => self.transmit(now, peer, &payload)?,
                SyncOutput::Delivered { peer, id } => self.delivered(peer, id)?,
                SyncOutput::Received { from, message, .. } => {
                    if self.peer_key(&from).is_err() {
                        continue;
                    }
                    match self.on_application(now, &message.body) {
                        Ok(()) => {}
                        Err(e @ Error::Store(_)) => return Err(e),
                        Err(e) => *self.stats.rejected.entry(reason(&e)).or_default() += 1,
                    }
                }
            }
        }
        Ok(())
    }

    /// The public key of an MVDS peer, decompressed once.
    fn peer_key(&mut self, peer: &PeerKey) -> Result<PublicKey, Error> {
        if let Some(k) = self.peer_keys.get(peer) {
            return Ok(*k);
        }
        let key =
            PublicKey::from_slice(&peer.0).map_err(|_| Error::Store("bad MVDS peer".into()))?;
        if self.peer_keys.len() >= MAX_PEER_KEYS {
            self.peer_keys.clear();
        }
        self.peer_keys.insert(*peer, key);
        Ok(key)
    }

    fn transmit(&mut self, now: Timestamp, peer: PeerKey, payload: &Payload) -> Result<(), Error> {
        let key = self.peer_key(&peer)?;
        let mut bytes = Vec::new();
        encode_payload(payload, &mut bytes);
        let pm = self.encryptor.encrypt(now, &mut self.rng, &key, &bytes)?;
        self.drain_encryptor(now)?;
        let encoded = pm.encode_to_vec();
        if self.encryptor.secret_agreed(&key)? {
            let filter = self.ensure_negotiated(&key)?;
            self.post_to_filter(filter, encoded);
        } else {
            self.post_partitioned(&key, encoded);
        }
        Ok(())
    }

    fn delivered(&mut self, peer: PeerKey, sync_id: status_mvds::MessageId) -> Result<(), Error> {
        let Some(v) = read(&self.store, &self.batch, Table::Outgoing, &sync_id.0)? else {
            return Ok(());
        };
        self.batch.delete(Table::Outgoing, sync_id.0.to_vec());
        if v.len() < 32 {
            return Ok(());
        }
        let mut id = [0u8; 32];
        id.copy_from_slice(&v[..32]);
        let id = MessageId(id);
        let Some(key) = read(&self.store, &self.batch, Table::MessageIndex, &id.0)? else {
            return Ok(());
        };
        if key.is_empty() {
            return Ok(()); // not a chat message (membership update, contact update...)
        }
        let Some(rec) = read(&self.store, &self.batch, Table::Messages, &key)? else {
            return Ok(());
        };
        let mut message = Message::from_record(&rec)?;
        let by = self.peer_key(&peer)?;
        if by == self.me {
            return Ok(()); // our own other device
        }
        if message.outgoing != Some(OutgoingStatus::Delivered) {
            message.outgoing = Some(OutgoingStatus::Delivered);
            self.batch.put(Table::Messages, key, message.record());
        }
        self.emit(Event::MessageDelivered {
            id,
            chat: message.chat.clone(),
            by,
        });
        Ok(())
    }

    fn drain_encryptor(&mut self, now: Timestamp) -> Result<(), Error> {
        while let Some(e) = self.encryptor.poll_event() {
            match e {
                status_encryption::Event::NewInstallations {
                    identity,
                    installations,
                } if identity == self.me => {
                    self.emit(Event::NewInstallations(installations));
                }
                status_encryption::Event::AdvertiseBundle { to } => {
                    let pm = self
                        .encryptor
                        .bundle_advertisement(now, &mut self.rng, &to)?;
                    self.post_partitioned(&to, pm.encode_to_vec());
                }
                status_encryption::Event::PublishContactCode => {
                    let pm = self.encryptor.encrypt_public(now, &mut self.rng, &[])?;
                    let me = self.me;
                    let filter = self.ensure_filter(Purpose::ContactCode(me));
                    self.post_to_filter(filter, pm.encode_to_vec());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn pow_for(&self, len: usize) -> f64 {
        if len > self.config.large_payload {
            self.config.large_pow_target
        } else {
            self.config.pow_target
        }
    }

    fn post(&mut self, topic: Topic, key: PostKey, payload: Vec<u8>) {
        let pow_target = self.pow_for(payload.len());
        self.stats.posts += 1;
        self.pending.push_back(Output::Post(Post {
            topic,
            key,
            payload,
            ttl: self.config.ttl,
            pow_target,
        }));
    }

    fn post_to_filter(&mut self, filter: FilterId, payload: Vec<u8>) {
        let Some(f) = self.filters.get(&filter) else {
            return;
        };
        let (topic, key) = match &f.key {
            FilterKey::Symmetric(k) => (f.topic, PostKey::Symmetric(k.clone())),
            FilterKey::Identity => (f.topic, PostKey::Asymmetric(self.me)),
        };
        self.post(topic, key, payload);
    }

    /// status-go `SendPrivateWithPartitioned`: the recipient's partitioned
    /// topic, ECIES to their key.
    fn post_partitioned(&mut self, to: &PublicKey, payload: Vec<u8>) {
        self.post(Topic::partitioned(to), PostKey::Asymmetric(*to), payload);
    }

    // ---- filters ----

    fn negotiated_name(&self, key: &PublicKey) -> String {
        hex::encode(*self.encryptor.shared_secret(key))
    }

    fn ensure_filter(&mut self, purpose: Purpose) -> FilterId {
        let me = self.me;
        let name = match &purpose {
            Purpose::Negotiated(k) => self.negotiated_name(k),
            p => p.name(&me, |_| String::new()),
        };
        if let Some(id) = self.filter_names.get(&name) {
            return *id;
        }
        let cached = read(&self.store, &self.batch, Table::Keys, name.as_bytes())
            .ok()
            .flatten()
            .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok());
        let mut derived = None;
        let (topic, key) = purpose.topic_and_key(&me, &name, |password| match cached {
            Some(k) => Zeroizing::new(k),
            None => {
                let k = symmetric_key_from_password(password);
                derived = Some(k.to_vec());
                k
            }
        });
        if let Some(k) = derived {
            self.batch.put(Table::Keys, name.as_bytes().to_vec(), k);
        }
        let id = FilterId(self.next_filter);
        self.next_filter += 1;
        let filter = Filter {
            id,
            topic,
            key,
            purpose,
        };
        self.filter_names.insert(name, id);
        self.filters.insert(id, filter.clone());
        self.pending.push_back(Output::Subscribe(filter));
        id
    }

    fn remove_filter(&mut self, purpose: &Purpose) {
        let me = self.me;
        let name = purpose.name(&me, |k| self.negotiated_name(k));
        if let Some(id) = self.filter_names.remove(&name) {
            self.filters.remove(&id);
            self.pending.push_back(Output::Unsubscribe(id));
        }
    }

    /// The negotiated filter with a peer (status-go loads it as soon as a
    /// shared secret exists, i.e. on the first message either way).
    fn ensure_negotiated(&mut self, key: &PublicKey) -> Result<FilterId, Error> {
        let peer = PeerKey(key.to_compressed());
        if let Some(id) = self.negotiated.get(&peer) {
            return Ok(*id);
        }
        if self.negotiated.len() >= self.config.max_contacts {
            return Err(Error::Full {
                what: "negotiated topics",
                max: self.config.max_contacts,
            });
        }
        let id = self.ensure_filter(Purpose::Negotiated(*key));
        self.negotiated.insert(peer, id);
        Ok(id)
    }

    /// The filters a chat needs (status-go `Join`): a public chat's topic;
    /// the contact codes of a 1:1 partner or of group members.
    fn listen_for(&mut self, chat: &Chat) {
        match chat.kind {
            ChatKind::Public => {
                self.ensure_filter(Purpose::Public(chat.id.0.clone()));
            }
            ChatKind::OneToOne => {
                if let Some(k) = chat.partner {
                    self.ensure_filter(Purpose::ContactCode(k));
                }
            }
            ChatKind::Group => {
                if let Some(g) = &chat.group {
                    for k in g.member_keys() {
                        self.ensure_filter(Purpose::ContactCode(k));
                    }
                }
            }
        }
    }

    // ---- state ----

    fn contact_mut(&mut self, key: PublicKey) -> Result<Option<&mut Contact>, Error> {
        let id = contact_id(&key);
        if !self.contacts.contains_key(&id) {
            if self.contacts.len() >= self.config.max_contacts {
                return Ok(None);
            }
            self.contacts.insert(id.clone(), Contact::new(key));
        }
        Ok(self.contacts.get_mut(&id))
    }

    fn has_paired_devices(&self) -> Result<bool, Error> {
        Ok(self.installations()?.iter().any(|i| i.enabled))
    }

    fn store_message(&mut self, m: &Message) {
        let key = m.key();
        self.batch.put(Table::Messages, key.clone(), m.record());
        self.batch.put(Table::MessageIndex, m.id.0.to_vec(), key);
    }

    fn save_group_events(&mut self, chat: &ChatId) {
        let Some(g) = self.chats.get(chat).and_then(|c| c.group.as_ref()) else {
            return;
        };
        for e in g.events() {
            let mut k = chat_prefix(chat);
            k.extend_from_slice(&e.clock.to_be_bytes());
            k.extend_from_slice(e.signature());
            self.batch.put(Table::GroupEvents, k, e.encode());
        }
    }

    fn emit(&mut self, e: Event) {
        self.pending.push_back(Output::Event(e));
    }

    /// Ends every call: writes what changed in one commit, then releases
    /// the call's outputs. A failed commit poisons the machine.
    fn finish<T>(&mut self, r: Result<T, Error>) -> Result<T, Error> {
        let flushed = (|| {
            for id in std::mem::take(&mut self.dirty_chats) {
                if let Some(c) = self.chats.get(&id) {
                    self.batch
                        .put(Table::Chats, id.0.as_bytes().to_vec(), c.record());
                }
            }
            self.encryptor.store_mut().flush(&mut self.batch)?;
            self.mvds.store_mut().flush(&mut self.batch);
            self.store.commit(&self.batch)
        })();
        self.batch.clear();
        match flushed {
            Ok(()) => {
                self.stats.commits += 1;
                self.outbox.append(&mut self.pending);
                r
            }
            Err(e) => {
                self.poisoned = true;
                self.pending.clear();
                self.encryptor.store_mut().discard();
                self.mvds.store_mut().discard();
                Err(e)
            }
        }
    }
}

fn chat_of(o: Outcome) -> Result<ChatId, Error> {
    match o {
        Outcome::Chat(id) => Ok(id),
        _ => Err(Error::Invalid { what: "outcome" }),
    }
}

/// A version-4 UUID from the machine's RNG (status-go `uuid.New()`).
fn random_uuid(rng: &mut ChaCha20Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}
