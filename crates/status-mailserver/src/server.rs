//! The mailserver's protocol logic, sans IO: a P2P Request becomes a
//! [`Query`] (or a refusal), an archive's rows become P2P Messages and a
//! Request Complete. No store, socket or clock here: the caller runs the
//! query and passes the time.
//!
//! Every step follows status-go v0.55.1 `mailserver/mailserver.go`
//! (`WakuMailServer.DeliverMail` / `Deliver`, `mailServer.DeliverMail`,
//! `processRequestInBundles`), error texts included.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use status_core::{NodeId, SecretKey, Timestamp};
use status_waku::mailserver::{
    DirectMessagesRequest, MessagesRequest, DEFAULT_MAILSERVER_PASSWORD, MAX_LIMIT,
};
use status_waku::message::SymmetricKey;
use status_waku::peer::Protocol;
use status_waku::topic::symmetric_key_from_password;
use status_waku::{Bloom, Envelope, OpenKey, RequestComplete};

use crate::archive::{ArchivedEnvelope, Order, Query, Selector};

/// status-go `whisperTTLSafeThreshold`: a request without an upper bound
/// asks up to a minute past now.
pub const TTL_SAFE_THRESHOLD: u32 = 60;
/// status-go `maxQueryRange`: the legacy whisper/6 binary request spans a
/// day at most.
pub const MAX_LEGACY_QUERY_RANGE: u32 = 24 * 3600;
/// What status-go's Waku service reports as `MaxMessageSize` (1 MiB): a
/// P2P Message bundles envelopes while they stay below it.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;

/// Settings of a [`Mailserver`]. `Default` is status-go's defaults with the
/// fleets' password.
#[derive(Debug, Clone)]
pub struct MailserverConfig {
    /// Symmetric key requests are encrypted with (status-go derives it from
    /// `MailServerPassword`, [`DEFAULT_MAILSERVER_PASSWORD`]); `None`
    /// accepts no symmetric requests.
    pub request_key: Option<SymmetricKey>,
    /// Our key for asymmetric requests (status-go `MailServerAsymKey`),
    /// tried first.
    pub asym_key: Option<SecretKey>,
    /// Least PoW of a request envelope; 0 checks none (status-go uses the
    /// node's `MinimumPoW` and skips the check at 0).
    pub min_request_pow: f64,
    /// Least time between two served requests of one peer (status-go
    /// `MailServerRateLimit`, seconds); `None` does not limit.
    pub rate_limit: Option<Duration>,
    /// Peers the rate limiter remembers at most; past this the stalest
    /// entries are forgotten (status-go's map is unbounded).
    pub max_rate_limited_peers: usize,
    /// How long envelopes are kept (status-go `MailServerDataRetention`,
    /// days); `None` keeps them forever.
    pub retention: Option<Duration>,
    /// How often the cleaner runs (status-go `dbCleanerPeriod`, an hour).
    pub cleaner_period: Duration,
    /// Oldest or newest first ([`Order`]: status-go's LevelDB or
    /// PostgreSQL archive behaviour).
    pub order: Order,
    /// Envelopes are bundled into one P2P Message while their total stays
    /// below this.
    pub max_message_size: usize,
    /// Only these peers may ask (not in status-go); `None` serves anyone.
    pub allowed_peers: Option<BTreeSet<NodeId>>,
}

impl Default for MailserverConfig {
    fn default() -> Self {
        MailserverConfig {
            request_key: Some(*symmetric_key_from_password(DEFAULT_MAILSERVER_PASSWORD)),
            asym_key: None,
            min_request_pow: 0.0,
            rate_limit: None,
            max_rate_limited_peers: 100_000,
            retention: None,
            cleaner_period: Duration::from_secs(3600),
            order: Order::Ascending,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            allowed_peers: None,
        }
    }
}

/// A history request that passed every check: run [`Request::query`] on
/// the archive and hand the rows to [`Mailserver::respond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The id Request Complete echoes: the request envelope's hash, or the
    /// direct request's id.
    pub id: [u8; 32],
    /// Who asked.
    pub peer: NodeId,
    /// What to read; `None` when status-go's range arithmetic leaves
    /// nothing to read (an upper bound of `u32::MAX` wraps to 0 there).
    pub query: Option<Query>,
    /// Envelopes bundled into P2P Messages (status-go `Batch`), or one per
    /// message (the legacy whisper/6 request).
    pub batch: bool,
}

/// What to do with a P2P Request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Serve it: query the archive, then [`Mailserver::respond`].
    Serve(Request),
    /// Refuse it: send this failed Request Complete (status-go's
    /// `ERROR=` payload with its error text).
    Refuse {
        /// Who asked.
        peer: NodeId,
        /// The answer.
        complete: RequestComplete,
    },
    /// Send nothing (a direct request that does not decode has no id to
    /// answer).
    Ignore,
}

/// The answer to a served request: P2P Messages in order, then Request
/// Complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Each one P2P Message: the envelopes' RLP.
    pub messages: Vec<Vec<Bytes>>,
    /// The Request Complete that ends it.
    pub complete: RequestComplete,
}

/// Counters of what the mailserver did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests served.
    pub served: u64,
    /// Requests refused, by status-go's checks or ours.
    pub refused: u64,
    /// Requests refused by the per-peer rate limit.
    pub rate_limited: u64,
    /// Direct requests dropped without an answer.
    pub ignored: u64,
    /// Envelopes sent.
    pub envelopes_sent: u64,
}

/// status-go's per-peer limiter: a peer is served again only once
/// `rate_limit` has passed since its last served request.
#[derive(Debug, Default)]
struct RateLimiter {
    last: BTreeMap<NodeId, Timestamp>,
    by_time: BTreeSet<(Timestamp, NodeId)>,
}

impl RateLimiter {
    /// status-go `IsAllowed` then `Add`: allowed when the last request is
    /// strictly more than `lifespan` ago; an allowed request is recorded.
    fn check(&mut self, now: Timestamp, peer: NodeId, lifespan: Duration, max: usize) -> bool {
        if let Some(&t) = self.last.get(&peer) {
            if t.saturating_add(lifespan) >= now {
                return false;
            }
            self.by_time.remove(&(t, peer));
        }
        while self.last.len() >= max.max(1) {
            let Some((t, p)) = self.by_time.pop_first() else {
                break;
            };
            self.last.remove(&p);
            let _ = t;
        }
        self.last.insert(peer, now);
        self.by_time.insert((now, peer));
        true
    }

    /// Forgets peers whose limit has passed (status-go's `deleteExpired`).
    fn sweep(&mut self, now: Timestamp, lifespan: Duration) {
        while let Some(&(t, p)) = self.by_time.first() {
            if t.saturating_add(lifespan) >= now {
                break;
            }
            self.by_time.pop_first();
            self.last.remove(&p);
        }
    }
}

/// The mailserver machine (see the [module docs](self)).
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_core::{SecretKey, Timestamp};
/// use status_mailserver::{Archive, ArchivedEnvelope, Decision, Mailserver, MailserverConfig, MemoryArchive};
/// use status_waku::mailserver::MessagesRequest;
/// use status_waku::peer::Protocol;
/// use status_waku::{Envelope, RequestComplete, Topic};
///
/// let now = Timestamp::from_secs(1_700_000_000);
/// let key = [3u8; 32];
/// let config = MailserverConfig { request_key: Some(key), ..MailserverConfig::default() };
/// let mut server = Mailserver::new(config, now);
/// let archive = MemoryArchive::default();
/// let topic = Topic([0xca, 0xfe, 0, 1]);
/// let old = Envelope::new(1_699_999_000, 60, topic, &b"hi"[..]);
/// archive.archive(&[ArchivedEnvelope::new(&old)])?;
///
/// // A client's signed, encrypted request for the last hour.
/// let client = SecretKey::from_bytes(&[0x11; 32]).unwrap();
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
/// let request = MessagesRequest::for_topics(1_699_996_400, 1_700_000_000, &[topic], 100);
/// let envelope = request.to_envelope(&mut rng, &client, &key, now, 10, 0.0, 1).unwrap();
///
/// let peer = client.public_key().node_id();
/// let Decision::Serve(req) = server.handle_request(now, peer, Protocol::Waku1, Some(&envelope), &[]) else {
///     panic!("refused");
/// };
/// let rows = archive.query(req.query.as_ref().unwrap())?;
/// let response = server.respond(&req, rows);
/// assert_eq!(response.messages, [vec![bytes::Bytes::from(old.to_vec())]]);
/// assert_eq!(
///     response.complete,
///     RequestComplete::Completed {
///         request_id: envelope.hash(),
///         last_envelope_hash: old.hash(),
///         cursor: Vec::new(), // fewer than the limit: nothing more
///     }
/// );
/// # Ok::<(), status_mailserver::Error>(())
/// ```
#[derive(Debug)]
pub struct Mailserver {
    config: MailserverConfig,
    limiter: RateLimiter,
    next_clean: Option<Timestamp>,
    next_sweep: Option<Timestamp>,
    stats: Stats,
}

/// Why a request is refused: status-go's text.
type Refusal = String;

impl Mailserver {
    /// A mailserver with `config`, starting at `now` (the first cleaner
    /// run is one period away, as status-go's ticker).
    pub fn new(config: MailserverConfig, now: Timestamp) -> Mailserver {
        let next_clean = config
            .retention
            .map(|_| now.saturating_add(config.cleaner_period));
        let next_sweep = config
            .rate_limit
            .map(|_| now.saturating_add(Duration::from_secs(1)));
        Mailserver {
            config,
            limiter: RateLimiter::default(),
            next_clean,
            next_sweep,
            stats: Stats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MailserverConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Decides what to do with a P2P Request from `peer` on `protocol`:
    /// `envelope` is the request envelope, or `None` for status-go's direct
    /// form whose RLP is `payload` (as [`status_node::Event::MailserverRequest`]
    /// carries them).
    ///
    /// The envelope form is opened with our keys (asymmetric first), must
    /// be signed (by anyone: status-go v0.55.1 does not compare the signer
    /// with the peer) and must hold a 7-field `MessagesRequest`; a whisper/6
    /// peer's envelope that does not may hold the legacy binary request.
    /// Then status-go's defaults and checks apply, then the rate limit.
    pub fn handle_request(
        &mut self,
        now: Timestamp,
        peer: NodeId,
        protocol: Protocol,
        envelope: Option<&Envelope>,
        payload: &[u8],
    ) -> Decision {
        let (id, parsed) = match envelope {
            Some(env) => {
                let id = env.hash();
                let parsed = match self.decode_envelope(now, env) {
                    Ok(p) => Ok(p),
                    // status-go's WhisperMailServer falls back to the
                    // legacy form, whose error then stands
                    Err(_) if protocol == Protocol::Shh6 => self.decomposite(env, &peer),
                    Err(e) => Err(e),
                };
                (id, parsed)
            }
            None => match DirectMessagesRequest::decode(payload) {
                Ok(d) => (
                    d.id,
                    Ok(Parsed {
                        lower: d.from,
                        upper: d.to,
                        bloom: d.bloom,
                        topics: d.topics,
                        limit: d.limit,
                        cursor: d.cursor,
                        batch: true,
                    }),
                ),
                Err(_) => {
                    self.stats.ignored += 1;
                    return Decision::Ignore;
                }
            },
        };
        let refuse = |s: &mut Self, error: Refusal| {
            s.stats.refused += 1;
            Decision::Refuse {
                peer,
                complete: RequestComplete::Failed {
                    request_id: id,
                    error,
                },
            }
        };
        if let Some(allowed) = &self.config.allowed_peers {
            if !allowed.contains(&peer) {
                return refuse(self, "peer is not allowed to request history".into());
            }
        }
        let mut p = match parsed {
            Ok(p) => p,
            Err(e) => return refuse(self, e),
        };
        // mailServer.DeliverMail: SetDefaults, Validate, rate limit
        if p.limit == 0 {
            p.limit = MAX_LIMIT;
        }
        if p.upper == 0 {
            p.upper = default_upper(now);
        }
        if p.upper < p.lower {
            return refuse(
                self,
                "request is invalid: query range is invalid: lower > upper".into(),
            );
        }
        // status-go requires a bloom; a topic list alone (status-go's newer
        // direct request) is served by topic here rather than refused.
        let selector = match (p.bloom, p.topics.is_empty()) {
            (Some(b), _) => Selector::Bloom(b),
            (None, false) => Selector::Topics(p.topics),
            (None, true) => {
                return refuse(self, "request is invalid: bloom filter is empty".into())
            }
        };
        if p.limit > MAX_LIMIT {
            return refuse(
                self,
                "request is invalid: limit exceeds the maximum allowed value".into(),
            );
        }
        if let Some(lifespan) = self.config.rate_limit {
            if !self
                .limiter
                .check(now, peer, lifespan, self.config.max_rate_limited_peers)
            {
                self.stats.rate_limited += 1;
                return refuse(self, "rate limit exceeded".into());
            }
        }
        // status-go's LevelDB reads a cursor only when it is 36 bytes
        let cursor = p.cursor.as_slice().try_into().ok();
        // status-go scans up to DBKey(upper + 1) in uint32: at u32::MAX it
        // wraps to 0 and the range is empty
        let query = p.upper.checked_add(1).map(|_| Query {
            lower: p.lower,
            upper: p.upper,
            selector,
            limit: p.limit,
            cursor,
            order: self.config.order,
        });
        Decision::Serve(Request {
            id,
            peer,
            query,
            batch: p.batch,
        })
    }

    /// `WakuMailServer.decodeRequest`.
    fn decode_envelope(&self, now: Timestamp, env: &Envelope) -> Result<Parsed, Refusal> {
        if self.config.min_request_pow > 0.0 && env.pow() < self.config.min_request_pow {
            return Err("PoW too low".into());
        }
        let msg = self.open(env).ok_or("failed to decrypt p2p request")?;
        if msg.signer().is_none() {
            return Err("check message signature failed: wrong signature of p2p request".into());
        }
        let r = MessagesRequest::decode(msg.payload())
            .map_err(|e| format!("failed to decode data: {e}"))?;
        let mut p = Parsed {
            lower: r.lower,
            upper: r.upper,
            bloom: r.bloom,
            topics: r.topics,
            limit: r.limit,
            cursor: r.cursor,
            batch: r.batch,
        };
        if p.upper == 0 {
            p.upper = default_upper(now);
        }
        if p.upper < p.lower {
            return Err("query range is invalid: lower > upper".into());
        }
        Ok(p)
    }

    /// `WhisperMailServer.decompositeRequest`: the legacy binary request
    /// `u32be(lower) ++ u32be(upper) ++ bloom(64) [++ u32be(limit) [++ cursor(40)]]`.
    fn decomposite(&self, env: &Envelope, peer: &NodeId) -> Result<Parsed, Refusal> {
        if self.config.min_request_pow > 0.0 && env.pow() < self.config.min_request_pow {
            return Err("PoW() is too low".into());
        }
        let msg = self.open(env).ok_or("failed to decrypt p2p request")?;
        if msg.signer().is_none() {
            return Err("wrong signature of p2p request".into());
        }
        let b = msg.payload();
        let bloom = match b.len() {
            0..8 => return Err("Undersized p2p request".into()),
            8 => Bloom::FULL,
            n if n < 8 + 64 => return Err("Undersized bloom filter in p2p request".into()),
            _ => Bloom::from_slice(&b[8..72]).ok_or("Undersized bloom filter in p2p request")?,
        };
        let lower = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let upper = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        if upper < lower {
            return Err(format!(
                "query range is invalid: from > to ({lower} > {upper})"
            ));
        }
        if upper - lower > MAX_LEGACY_QUERY_RANGE {
            // status-go prints the peer id's raw bytes as a string
            return Err(format!(
                "query range too big for peer {}",
                String::from_utf8_lossy(&peer.0)
            ));
        }
        let limit = b
            .get(72..76)
            .map_or(0, |l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]));
        let cursor = if b.len() == 76 + crate::DB_KEY_SIZE {
            b[76..].to_vec()
        } else {
            Vec::new()
        };
        Ok(Parsed {
            lower,
            upper,
            bloom: Some(bloom),
            topics: Vec::new(),
            limit,
            cursor,
            batch: false,
        })
    }

    fn open(&self, env: &Envelope) -> Option<status_waku::ReceivedMessage> {
        if let Some(k) = &self.config.asym_key {
            if let Ok(m) = env.open(&[OpenKey::Asymmetric(k)]) {
                return Some(m);
            }
        }
        let k = self.config.request_key.as_ref()?;
        env.open(&[OpenKey::Symmetric(k)]).ok()
    }

    /// Turns the rows of a served request's query into P2P Messages and
    /// Request Complete, as status-go's `processRequestInBundles` does:
    /// envelopes are bundled while the bundle stays below
    /// [`MailserverConfig::max_message_size`]; the envelope that reaches
    /// the limit starts a bundle of its own and its cursor ends the page
    /// (so a page of exactly `limit` envelopes carries a cursor even when
    /// nothing follows, and the next page comes back empty without one).
    pub fn respond(&mut self, request: &Request, rows: Vec<ArchivedEnvelope>) -> Response {
        let limit = request.query.as_ref().map_or(0, |q| q.limit as usize);
        let max = self.config.max_message_size;
        let mut messages: Vec<Vec<Bytes>> = Vec::new();
        let mut bundle: Vec<Bytes> = Vec::new();
        let mut size = 0usize;
        let mut last = [0u8; 32];
        let mut cursor = Vec::new();
        let mut sent = 0usize;
        for row in rows.into_iter().take(limit) {
            last = row.key.hash();
            sent += 1;
            let len = row.raw.len();
            let limit_reached = sent >= limit;
            if !limit_reached && size + len < max {
                bundle.push(row.raw);
                size += len;
                continue;
            }
            if !bundle.is_empty() {
                messages.push(std::mem::take(&mut bundle));
            }
            bundle.push(row.raw);
            size = len;
            if limit_reached {
                cursor = row.key.cursor().to_vec();
                break;
            }
        }
        if !bundle.is_empty() {
            messages.push(bundle);
        }
        if !request.batch {
            messages = messages.into_iter().flatten().map(|e| vec![e]).collect();
        }
        self.stats.served += 1;
        self.stats.envelopes_sent += sent as u64;
        Response {
            messages,
            complete: RequestComplete::Completed {
                request_id: request.id,
                last_envelope_hash: last,
                cursor,
            },
        }
    }

    /// The failed Request Complete for a served request whose query the
    /// store could not run (status-go answers an iterator error so).
    pub fn store_failed(&mut self, request: &Request, error: &crate::Error) -> RequestComplete {
        self.stats.refused += 1;
        RequestComplete::Failed {
            request_id: request.id,
            error: error.to_string(),
        }
    }

    /// When [`Mailserver::handle_timeout`] wants to be called, and why:
    /// `"cleaner"` or `"rate limit sweep"`.
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        match (self.next_clean, self.next_sweep) {
            (Some(c), Some(s)) if s < c => Some((s, "rate limit sweep")),
            (Some(c), _) => Some((c, "cleaner")),
            (None, Some(s)) => Some((s, "rate limit sweep")),
            (None, None) => None,
        }
    }

    /// Time has passed: forgets rate-limit entries that have run out and,
    /// when the cleaner is due, returns the creation time before which the
    /// archive should be pruned ([`crate::Archive::prune`]).
    #[must_use = "prune the archive before the returned time"]
    pub fn handle_timeout(&mut self, now: Timestamp) -> Option<u32> {
        if let (Some(t), Some(lifespan)) = (self.next_sweep, self.config.rate_limit) {
            if t <= now {
                self.limiter.sweep(now, lifespan);
                self.next_sweep = Some(now.saturating_add(Duration::from_secs(1)));
            }
        }
        match (self.next_clean, self.config.retention) {
            (Some(t), Some(retention)) if t <= now => {
                self.next_clean = Some(now.saturating_add(self.config.cleaner_period));
                let before = now.as_secs().saturating_sub(retention.as_secs());
                Some(u32::try_from(before).unwrap_or(u32::MAX))
            }
            _ => None,
        }
    }
}

/// A request's fields after decoding, before status-go's defaults.
struct Parsed {
    lower: u32,
    upper: u32,
    bloom: Option<Bloom>,
    topics: Vec<status_waku::Topic>,
    limit: u32,
    cursor: Vec<u8>,
    batch: bool,
}

fn default_upper(now: Timestamp) -> u32 {
    u32::try_from(now.as_secs())
        .unwrap_or(u32::MAX)
        .saturating_add(TTL_SAFE_THRESHOLD)
}
