//! Status rendezvous (status-im/rendezvous, `/rend/0.1.0`): message codecs
//! and a sans-IO client.
//!
//! Status' flavour differs from libp2p rendezvous: peers are ENRs, messages
//! are RLP, registrations live 10-20 s and there is no UNREGISTER
//! (`status-rendezvous.md`). On a libp2p stream each message is two RLP
//! items, the type as an integer and the body as a list:
//!
//! | type | message | body |
//! | --- | --- | --- |
//! | 1 | REGISTER | `[topic, enr, ttl_ns]` |
//! | 2 | REGISTER_RESPONSE | `[status, message]` |
//! | 3 | DISCOVER | `[limit, topic]` |
//! | 4 | DISCOVER_RESPONSE | `[status, message, [enr, ...]]` |
//! | 5 | REMOTEIP | `[]` |
//! | 6 | REMOTEIP_RESPONSE | `[status, ip]` |
//!
//! **Out of scope:** the libp2p transport (multiaddr `/ethv4/` peers,
//! secio/noise, yamux/mplex, multistream-select of `/rend/0.1.0`). The
//! [`Client`] says "send this message to server S" and is told the answer;
//! a libp2p driver opens one stream per request.
//!
//! The client follows status-go v0.55.1 `discovery/rendezvous.go`: it
//! registers each topic with a random server every `registration_ttl / 2`
//! (TTL 10 s, so every 5 s), asks a random server for up to 10 records of a
//! searched topic every search period (set by the PeerPool's fast/slow
//! mode), and gives each request 5 s. Servers that fail or refuse back off
//! exponentially.
//!
//! ```
//! use std::time::Duration;
//! use status_core::{SecretKey, Timestamp};
//! use status_discovery::enr::Enr;
//! use status_discovery::rendezvous::{Client, Config, Event, Message, Status};
//!
//! let now = Timestamp::from_secs(1_700_000_000);
//! let mut client = Client::new(Config {
//!     servers: vec!["/ip4/10.0.0.1/tcp/30703/ethv4/16Uiu2HAm...".into()],
//!     ..Config::default()
//! });
//! client.discover(now, "whisper", Duration::from_secs(3))?;
//! let req = client.poll_request().unwrap();
//! assert_eq!(req.message, Message::Discover { topic: "whisper".into(), limit: 10 });
//! // The driver sends `req.message.to_bytes()` on a /rend/0.1.0 stream...
//! let peer = Enr::builder().tcp(30303).sign(&SecretKey::from_bytes(&[5; 32])?)?;
//! let answer = Message::DiscoverResponse {
//!     status: Status::Ok,
//!     message: String::new(),
//!     records: vec![peer.clone()],
//! };
//! // ...and hands the answer back.
//! client.handle_response(now, req.id, &answer.to_bytes())?;
//! assert_eq!(
//!     client.poll_event(),
//!     Some(Event::Found { topic: "whisper".into(), records: vec![peer] })
//! );
//! # Ok::<(), status_discovery::Error>(())
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use status_core::Timestamp;

use crate::enr::Enr;
use crate::rlp_strict::{self, Item};
use crate::Error;

/// The libp2p protocol id.
pub const PROTOCOL_ID: &str = "/rend/0.1.0";
/// Largest message accepted: ten 300-byte records plus headers and text.
pub const MAX_MESSAGE_SIZE: usize = 8 * 1024;
/// Most records a DISCOVER may ask for (the server's limit).
pub const MAX_DISCOVER_LIMIT: u64 = 10;
/// Longest topic accepted.
pub const MAX_TOPIC_LEN: usize = 256;

/// A response status code (status-im/rendezvous `protocol.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// 0.
    Ok,
    /// 100.
    InvalidNamespace,
    /// 101.
    InvalidEnr,
    /// 102.
    InvalidTtl,
    /// 103.
    InvalidLimit,
    /// 104.
    InvalidContent,
    /// 200.
    NotAuthorized,
    /// 300.
    InternalError,
}

impl Status {
    /// The wire code.
    pub fn code(self) -> u64 {
        match self {
            Status::Ok => 0,
            Status::InvalidNamespace => 100,
            Status::InvalidEnr => 101,
            Status::InvalidTtl => 102,
            Status::InvalidLimit => 103,
            Status::InvalidContent => 104,
            Status::NotAuthorized => 200,
            Status::InternalError => 300,
        }
    }

    /// From the wire code.
    pub fn from_code(code: u64) -> Result<Status, Error> {
        Ok(match code {
            0 => Status::Ok,
            100 => Status::InvalidNamespace,
            101 => Status::InvalidEnr,
            102 => Status::InvalidTtl,
            103 => Status::InvalidLimit,
            104 => Status::InvalidContent,
            200 => Status::NotAuthorized,
            300 => Status::InternalError,
            other => return Err(Error::UnknownStatus(other)),
        })
    }
}

/// One rendezvous message.
// One message per request/response; boxing the record would only make the
// API clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Register `record` under `topic` for `ttl` (sent as nanoseconds, a Go
    /// `time.Duration`).
    Register {
        /// The topic ("whisper", "whispermail").
        topic: String,
        /// The registering node's record.
        record: Enr,
        /// How long the server should keep it.
        ttl: Duration,
    },
    /// Answer to [`Message::Register`].
    RegisterResponse {
        /// Outcome.
        status: Status,
        /// Human-readable detail.
        message: String,
    },
    /// Ask for up to `limit` records of `topic`.
    Discover {
        /// The topic.
        topic: String,
        /// How many records at most.
        limit: u64,
    },
    /// Answer to [`Message::Discover`].
    DiscoverResponse {
        /// Outcome.
        status: Status,
        /// Human-readable detail.
        message: String,
        /// The records found.
        records: Vec<Enr>,
    },
    /// Ask the server which IP it sees us at.
    RemoteIp,
    /// Answer to [`Message::RemoteIp`].
    RemoteIpResponse {
        /// Outcome.
        status: Status,
        /// Our address as the server sees it, in text.
        ip: String,
    },
}

impl Message {
    /// The message type number.
    pub fn kind(&self) -> u64 {
        match self {
            Message::Register { .. } => 1,
            Message::RegisterResponse { .. } => 2,
            Message::Discover { .. } => 3,
            Message::DiscoverResponse { .. } => 4,
            Message::RemoteIp => 5,
            Message::RemoteIpResponse { .. } => 6,
        }
    }

    /// Appends the wire form (type item, then body list) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        rlp_strict::encode_u64(out, self.kind());
        let mut body = Vec::with_capacity(64);
        match self {
            Message::Register { topic, record, ttl } => {
                rlp_strict::encode_bytes(&mut body, topic.as_bytes());
                body.extend_from_slice(record.as_bytes());
                let ns = u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX);
                rlp_strict::encode_u64(&mut body, ns);
            }
            Message::RegisterResponse { status, message } => {
                rlp_strict::encode_u64(&mut body, status.code());
                rlp_strict::encode_bytes(&mut body, message.as_bytes());
            }
            Message::Discover { topic, limit } => {
                rlp_strict::encode_u64(&mut body, *limit);
                rlp_strict::encode_bytes(&mut body, topic.as_bytes());
            }
            Message::DiscoverResponse {
                status,
                message,
                records,
            } => {
                rlp_strict::encode_u64(&mut body, status.code());
                rlp_strict::encode_bytes(&mut body, message.as_bytes());
                let mut list = Vec::with_capacity(records.len() * 128);
                for r in records {
                    list.extend_from_slice(r.as_bytes());
                }
                rlp_strict::encode_header(&mut body, list.len(), true);
                body.extend_from_slice(&list);
            }
            Message::RemoteIp => {}
            Message::RemoteIpResponse { status, ip } => {
                rlp_strict::encode_u64(&mut body, status.code());
                rlp_strict::encode_bytes(&mut body, ip.as_bytes());
            }
        }
        rlp_strict::encode_header(out, body.len(), true);
        out.extend_from_slice(&body);
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.encode(&mut out);
        out
    }

    /// Decodes exactly one message (type and body) from `bytes`; every
    /// record is verified.
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::SecretKey;
    /// use status_discovery::rendezvous::{Message, Status};
    /// use status_discovery::{Enr, Error};
    ///
    /// let record = Enr::builder().tcp(30303).sign(&SecretKey::from_bytes(&[1; 32])?)?;
    /// let register = Message::Register {
    ///     topic: "whisper".into(),
    ///     record: record.clone(),
    ///     ttl: Duration::from_secs(10),
    /// };
    /// let bytes = register.to_bytes();
    /// assert_eq!(bytes[0], 1); // the type, then the body list
    /// assert_eq!(Message::decode(&bytes)?, register);
    ///
    /// // A record whose signature no longer holds is refused with it: flip
    /// // the record's last byte, just before the 6-byte TTL.
    /// let mut tampered = bytes.clone();
    /// tampered[bytes.len() - 7] ^= 1;
    /// assert_eq!(Message::decode(&tampered), Err(Error::InvalidSignature));
    ///
    /// let mut unknown = bytes.clone();
    /// unknown[0] = 7;
    /// assert_eq!(Message::decode(&unknown), Err(Error::UnknownMessageType(7)));
    /// let answer = Message::RegisterResponse { status: Status::Ok, message: String::new() };
    /// let mut bad_status = answer.to_bytes();
    /// bad_status[2] = 0x09;
    /// assert_eq!(Message::decode(&bad_status), Err(Error::UnknownStatus(9)));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Message, Error> {
        if bytes.len() > MAX_MESSAGE_SIZE {
            return Err(Error::InvalidMessage("message larger than 8 KiB"));
        }
        let (kind, rest) = rlp_strict::split(bytes)?;
        let kind = kind.u64()?;
        let body = rlp_strict::single(rest)?;
        let fields = body.items()?.collect::<Result<Vec<Item<'_>>, _>>()?;
        let field = |i: usize| {
            fields
                .get(i)
                .copied()
                .ok_or(Error::InvalidMessage("missing field"))
        };
        let expect = |n: usize| {
            if fields.len() == n {
                Ok(())
            } else {
                Err(Error::InvalidMessage("wrong number of fields"))
            }
        };
        let text = |item: Item<'_>| -> Result<String, Error> {
            String::from_utf8(item.bytes()?.to_vec())
                .map_err(|_| Error::InvalidMessage("text is not UTF-8"))
        };
        let topic = |item: Item<'_>| -> Result<String, Error> {
            let t = text(item)?;
            if t.len() > MAX_TOPIC_LEN {
                return Err(Error::InvalidMessage("topic longer than 256 bytes"));
            }
            Ok(t)
        };
        Ok(match kind {
            1 => {
                expect(3)?;
                let rec = field(1)?;
                if !rec.is_list {
                    return Err(Error::InvalidMessage("record is not an RLP list"));
                }
                Message::Register {
                    topic: topic(field(0)?)?,
                    record: Enr::decode(rec.raw)?,
                    ttl: Duration::from_nanos(field(2)?.u64()?),
                }
            }
            2 => {
                expect(2)?;
                Message::RegisterResponse {
                    status: Status::from_code(field(0)?.u64()?)?,
                    message: text(field(1)?)?,
                }
            }
            3 => {
                expect(2)?;
                Message::Discover {
                    limit: field(0)?.u64()?,
                    topic: topic(field(1)?)?,
                }
            }
            4 => {
                expect(3)?;
                let records = field(2)?
                    .items()?
                    .map(|r| {
                        let r = r?;
                        if !r.is_list {
                            return Err(Error::InvalidMessage("record is not an RLP list"));
                        }
                        Enr::decode(r.raw)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Message::DiscoverResponse {
                    status: Status::from_code(field(0)?.u64()?)?,
                    message: text(field(1)?)?,
                    records,
                }
            }
            5 => {
                expect(0)?;
                Message::RemoteIp
            }
            6 => {
                expect(2)?;
                Message::RemoteIpResponse {
                    status: Status::from_code(field(0)?.u64()?)?,
                    ip: text(field(1)?)?,
                }
            }
            other => return Err(Error::UnknownMessageType(other)),
        })
    }
}

/// Timers and limits of a [`Client`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Rendezvous servers (multiaddrs as text; the driver dials them).
    pub servers: Vec<String>,
    /// TTL asked for registrations (status-go `registrationPeriod`, 10 s);
    /// registrations are renewed every half of it.
    pub registration_ttl: Duration,
    /// Records asked for per DISCOVER (status-go `bucketSize`, 10).
    pub discover_limit: u64,
    /// A request without an answer in this time failed (status-go
    /// `requestTimeout`, 5 s).
    pub request_timeout: Duration,
    /// First back-off of a failing server; doubles per failure.
    pub backoff_base: Duration,
    /// Longest back-off.
    pub backoff_max: Duration,
    /// Most topics registered or searched.
    pub max_topics: usize,
    /// Most requests in flight.
    pub max_in_flight: usize,
    /// Most events queued before the client holds back new requests.
    pub max_events: usize,
    /// Seed of the RNG that picks servers.
    pub rng_seed: [u8; 32],
}

impl Default for Config {
    fn default() -> Self {
        Config {
            servers: Vec::new(),
            registration_ttl: Duration::from_secs(10),
            discover_limit: MAX_DISCOVER_LIMIT,
            request_timeout: Duration::from_secs(5),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(5 * 60),
            max_topics: 16,
            max_in_flight: 8,
            max_events: 256,
            rng_seed: [0; 32],
        }
    }
}

/// A request for the driver: send `message` to `server` on a new
/// `/rend/0.1.0` stream and pass the answer to
/// [`Client::handle_response`] with `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Request {
    /// Matches the answer to the request.
    pub id: u64,
    /// The server (one of [`Config::servers`]).
    pub server: String,
    /// What to send.
    pub message: Message,
}

/// What the client learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A server accepted our registration for `topic`.
    Registered {
        /// The topic.
        topic: String,
        /// The server.
        server: String,
    },
    /// Records found for a searched topic.
    Found {
        /// The topic.
        topic: String,
        /// The records (verified).
        records: Vec<Enr>,
    },
    /// A server refused a request or it failed; the server backs off.
    Failed {
        /// The server.
        server: String,
        /// Its status, when it answered with one.
        status: Option<Status>,
    },
}

#[derive(Debug)]
struct Registration {
    record: Enr,
    next: Timestamp,
}

#[derive(Debug)]
struct Search {
    period: Duration,
    next: Timestamp,
}

#[derive(Debug, Clone, Copy)]
struct ServerState {
    failures: u32,
    until: Timestamp,
}

#[derive(Debug)]
struct Pending {
    server: usize,
    kind: PendingKind,
    deadline: Timestamp,
}

#[derive(Debug)]
enum PendingKind {
    Register(String),
    Discover(String, u64),
    RemoteIp,
}

/// The rendezvous client machine.
///
/// Run loop: after a mutator or `handle_*` call, drain
/// [`Client::poll_request`] and [`Client::poll_event`], then sleep until
/// [`Client::poll_timeout`].
#[derive(Debug)]
pub struct Client {
    config: Config,
    rng: ChaCha20Rng,
    servers: Vec<ServerState>,
    registrations: BTreeMap<String, Registration>,
    searches: BTreeMap<String, Search>,
    pending: BTreeMap<u64, Pending>,
    next_id: u64,
    requests: VecDeque<Request>,
    events: VecDeque<Event>,
}

impl Client {
    /// A client for `config.servers`.
    ///
    /// With no servers every command fails with [`Error::NoServers`]:
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::Timestamp;
    /// use status_discovery::rendezvous::{Client, Config};
    /// use status_discovery::Error;
    ///
    /// let mut client = Client::new(Config::default());
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let err = client.discover(now, "whisper", Duration::from_secs(3));
    /// assert_eq!(err, Err(Error::NoServers));
    /// assert!(!client.request_remote_ip(now));
    /// ```
    pub fn new(config: Config) -> Self {
        Client {
            rng: ChaCha20Rng::from_seed(config.rng_seed),
            servers: vec![
                ServerState {
                    failures: 0,
                    until: Timestamp::ZERO
                };
                config.servers.len()
            ],
            config,
            registrations: BTreeMap::new(),
            searches: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_id: 0,
            requests: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Keeps `record` registered under `topic` (1/CLIENT: "whisper", and
    /// "whispermail" for mailservers) until [`Client::unregister`].
    ///
    /// The first REGISTER goes out at once, the next after half the TTL:
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::{SecretKey, Timestamp};
    /// use status_discovery::rendezvous::{Client, Config, Event, Message, Status};
    /// use status_discovery::Enr;
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let server = "/ip4/10.0.0.1/tcp/30703/ethv4/16Uiu2HAm...".to_owned();
    /// let mut client = Client::new(Config { servers: vec![server.clone()], ..Config::default() });
    /// let me = Enr::builder().tcp(30303).sign(&SecretKey::from_bytes(&[1; 32])?)?;
    /// client.register(now, "whispermail", me.clone())?;
    ///
    /// let req = client.poll_request().unwrap();
    /// assert_eq!(req.server, server);
    /// assert!(matches!(&req.message, Message::Register { record, .. } if record == &me));
    /// let ok = Message::RegisterResponse { status: Status::Ok, message: String::new() };
    /// client.handle_response(now, req.id, &ok.to_bytes())?;
    /// assert_eq!(
    ///     client.poll_event(),
    ///     Some(Event::Registered { topic: "whispermail".into(), server })
    /// );
    ///
    /// let renew = now + Duration::from_secs(5);
    /// assert_eq!(client.poll_timeout(), Some((renew, "rendezvous register")));
    /// client.handle_timeout(renew);
    /// let again = client.poll_request().unwrap();
    /// assert!(matches!(again.message, Message::Register { .. }));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn register(&mut self, now: Timestamp, topic: &str, record: Enr) -> Result<(), Error> {
        self.check_topic(topic, self.registrations.contains_key(topic))?;
        self.registrations
            .insert(topic.to_owned(), Registration { record, next: now });
        self.dispatch(now);
        Ok(())
    }

    /// Stops renewing the registration of `topic` (the server forgets it
    /// when its TTL runs out; there is no UNREGISTER).
    pub fn unregister(&mut self, topic: &str) {
        self.registrations.remove(topic);
    }

    /// Searches `topic`, one DISCOVER every `period` (the first at once).
    /// Calling it again changes the period (PeerPool fast/slow modes).
    pub fn discover(&mut self, now: Timestamp, topic: &str, period: Duration) -> Result<(), Error> {
        self.check_topic(topic, self.searches.contains_key(topic))?;
        let next = match self.searches.get(topic) {
            Some(s) => s.next.min(now.saturating_add(period)),
            None => now,
        };
        self.searches
            .insert(topic.to_owned(), Search { period, next });
        self.dispatch(now);
        Ok(())
    }

    /// Stops searching `topic`.
    pub fn stop_discover(&mut self, topic: &str) {
        self.searches.remove(topic);
    }

    /// Asks a server which IP it sees us at (status-go does this when its
    /// own address is private or loopback).
    pub fn request_remote_ip(&mut self, now: Timestamp) -> bool {
        let Some(server) = self.pick_server(now) else {
            return false;
        };
        self.send(now, server, PendingKind::RemoteIp, Message::RemoteIp);
        true
    }

    fn check_topic(&self, topic: &str, known: bool) -> Result<(), Error> {
        if self.servers.is_empty() {
            return Err(Error::NoServers);
        }
        if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
            return Err(Error::InvalidMessage(
                "topic empty or longer than 256 bytes",
            ));
        }
        if !known && self.registrations.len() + self.searches.len() >= self.config.max_topics {
            return Err(Error::TreeLimit {
                what: "rendezvous topics",
                max: self.config.max_topics,
            });
        }
        Ok(())
    }

    /// Next request to send.
    pub fn poll_request(&mut self) -> Option<Request> {
        self.requests.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] should next be called, and why.
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let pending = self
            .pending
            .values()
            .map(|p| (p.deadline, "rendezvous request timeout"));
        if self.pending.len() >= self.config.max_in_flight {
            // Due work waits for a free slot: wake for the next timeout.
            return pending.min_by_key(|(at, _)| *at);
        }
        let regs = self
            .registrations
            .values()
            .map(|r| (r.next, "rendezvous register"));
        let searches = self
            .searches
            .values()
            .map(|s| (s.next, "rendezvous discover"));
        pending
            .chain(regs)
            .chain(searches)
            .min_by_key(|(at, _)| *at)
    }

    /// Expires requests and sends due registrations and searches.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(p) = self.pending.remove(&id) {
                self.server_failed(now, p.server, None);
            }
        }
        self.dispatch(now);
    }

    /// The request `id` could not be sent or its stream broke.
    pub fn handle_request_failed(&mut self, now: Timestamp, id: u64) -> Result<(), Error> {
        let p = self.pending.remove(&id).ok_or(Error::UnexpectedResponse)?;
        self.server_failed(now, p.server, None);
        self.dispatch(now);
        Ok(())
    }

    /// The answer to request `id`. A malformed answer counts as a server
    /// failure and is returned as the error.
    ///
    /// A refusal is not an error of the call: it becomes
    /// [`Event::Failed`] and the server backs off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::Timestamp;
    /// use status_discovery::rendezvous::{Client, Config, Event, Message, Status};
    /// use status_discovery::Error;
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let mut client = Client::new(Config { servers: vec!["s1".into()], ..Config::default() });
    /// client.discover(now, "whisper", Duration::from_secs(3))?;
    /// let req = client.poll_request().unwrap();
    /// let refusal = Message::DiscoverResponse {
    ///     status: Status::InvalidNamespace,
    ///     message: "no such topic".into(),
    ///     records: Vec::new(),
    /// };
    /// client.handle_response(now, req.id, &refusal.to_bytes())?;
    /// assert_eq!(
    ///     client.poll_event(),
    ///     Some(Event::Failed { server: "s1".into(), status: Some(Status::InvalidNamespace) })
    /// );
    /// // The only server backs off for `backoff_base` (1 s, doubling).
    /// assert!(!client.request_remote_ip(now));
    /// assert!(client.request_remote_ip(now + Duration::from_secs(1)));
    ///
    /// // The answer was consumed: a second one matches nothing.
    /// assert_eq!(client.handle_response(now, req.id, &[]), Err(Error::UnexpectedResponse));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn handle_response(&mut self, now: Timestamp, id: u64, bytes: &[u8]) -> Result<(), Error> {
        let p = self.pending.remove(&id).ok_or(Error::UnexpectedResponse)?;
        let result = self.on_response(now, &p, bytes);
        if result.is_err() {
            self.server_failed(now, p.server, None);
        }
        self.dispatch(now);
        result
    }

    fn on_response(&mut self, now: Timestamp, p: &Pending, bytes: &[u8]) -> Result<(), Error> {
        let server = self
            .config
            .servers
            .get(p.server)
            .cloned()
            .unwrap_or_default();
        match (&p.kind, Message::decode(bytes)?) {
            (PendingKind::Register(topic), Message::RegisterResponse { status, .. }) => {
                if status != Status::Ok {
                    self.server_failed(now, p.server, Some(status));
                    return Ok(());
                }
                self.server_ok(p.server);
                self.events.push_back(Event::Registered {
                    topic: topic.clone(),
                    server,
                });
            }
            (
                PendingKind::Discover(topic, limit),
                Message::DiscoverResponse {
                    status, records, ..
                },
            ) => {
                if status != Status::Ok {
                    self.server_failed(now, p.server, Some(status));
                    return Ok(());
                }
                if records.len() as u64 > *limit {
                    return Err(Error::InvalidMessage("more records than asked for"));
                }
                self.server_ok(p.server);
                if !records.is_empty() {
                    self.events.push_back(Event::Found {
                        topic: topic.clone(),
                        records,
                    });
                }
            }
            (PendingKind::RemoteIp, Message::RemoteIpResponse { status, .. }) => {
                if status == Status::Ok {
                    self.server_ok(p.server);
                } else {
                    self.server_failed(now, p.server, Some(status));
                }
            }
            _ => return Err(Error::UnexpectedResponse),
        }
        Ok(())
    }

    fn server_ok(&mut self, i: usize) {
        if let Some(s) = self.servers.get_mut(i) {
            s.failures = 0;
        }
    }

    fn server_failed(&mut self, now: Timestamp, i: usize, status: Option<Status>) {
        let (base, max) = (self.config.backoff_base, self.config.backoff_max);
        if let Some(s) = self.servers.get_mut(i) {
            s.failures = s.failures.saturating_add(1);
            let factor = 1u32 << s.failures.saturating_sub(1).min(20);
            s.until = now.saturating_add(base.saturating_mul(factor).min(max));
        }
        if self.events.len() < self.config.max_events {
            self.events.push_back(Event::Failed {
                server: self.config.servers.get(i).cloned().unwrap_or_default(),
                status,
            });
        }
    }

    /// A random server not backing off.
    fn pick_server(&mut self, now: Timestamp) -> Option<usize> {
        let ready: Vec<usize> = self
            .servers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.until <= now)
            .map(|(i, _)| i)
            .collect();
        if ready.is_empty() {
            return None;
        }
        let r = self.rng.next_u32() as usize % ready.len();
        ready.get(r).copied()
    }

    /// The earliest time a backed-off server is usable again.
    fn next_server_time(&self) -> Option<Timestamp> {
        self.servers.iter().map(|s| s.until).min()
    }

    fn send(&mut self, now: Timestamp, server: usize, kind: PendingKind, message: Message) {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.pending.insert(
            id,
            Pending {
                server,
                kind,
                deadline: now.saturating_add(self.config.request_timeout),
            },
        );
        self.requests.push_back(Request {
            id,
            server: self.config.servers.get(server).cloned().unwrap_or_default(),
            message,
        });
    }

    fn dispatch(&mut self, now: Timestamp) {
        let renew = self.config.registration_ttl / 2;
        let due_regs: Vec<String> = self
            .registrations
            .iter()
            .filter(|(_, r)| r.next <= now)
            .map(|(t, _)| t.clone())
            .collect();
        let due_searches: Vec<String> = self
            .searches
            .iter()
            .filter(|(_, s)| s.next <= now)
            .map(|(t, _)| t.clone())
            .collect();
        for topic in due_regs {
            if !self.can_send() {
                return;
            }
            let Some(server) = self.pick_server(now) else {
                self.defer_all(now);
                return;
            };
            let Some(reg) = self.registrations.get_mut(&topic) else {
                continue;
            };
            reg.next = now.saturating_add(renew);
            let message = Message::Register {
                topic: topic.clone(),
                record: reg.record.clone(),
                ttl: self.config.registration_ttl,
            };
            self.send(now, server, PendingKind::Register(topic), message);
        }
        for topic in due_searches {
            if !self.can_send() {
                return;
            }
            let Some(server) = self.pick_server(now) else {
                self.defer_all(now);
                return;
            };
            let Some(search) = self.searches.get_mut(&topic) else {
                continue;
            };
            search.next = now.saturating_add(search.period);
            let limit = self.config.discover_limit;
            let message = Message::Discover {
                topic: topic.clone(),
                limit,
            };
            self.send(now, server, PendingKind::Discover(topic, limit), message);
        }
    }

    fn can_send(&self) -> bool {
        self.pending.len() < self.config.max_in_flight && self.events.len() < self.config.max_events
    }

    /// Every server backs off: move due work to when the first is back.
    fn defer_all(&mut self, now: Timestamp) {
        let at = self.next_server_time().unwrap_or(now).max(now);
        for r in self.registrations.values_mut() {
            if r.next <= now {
                r.next = at;
            }
        }
        for s in self.searches.values_mut() {
            if s.next <= now {
                s.next = at;
            }
        }
    }
}
