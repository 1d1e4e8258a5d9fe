//! The MVDS node machine: 2/MVDS "Synchronization", both modes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use status_core::Timestamp;
use status_proto::mvds::{Message, Payload};

use crate::payload::validate_payload;
use crate::store::{MemoryStore, Peer, Record, RecordType, StateStore};
use crate::{Backoff, Error, GroupId, MessageId};

/// How a node sends its own messages (2/MVDS "Flow"). Receiving handles
/// both modes whatever this is set to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// OFFER, then MESSAGE on REQUEST, then ACK: less bandwidth, more
    /// latency.
    Interactive,
    /// MESSAGE, then ACK: what status-go v0.55.1 uses for chats.
    #[default]
    Batch,
}

/// Node configuration. Defaults follow status-go v0.55.1 where it has a
/// figure (300 ms epoch, 30 s first retransmission).
///
/// [`Config::mode`] picks what the first transmission carries:
///
/// ```
/// # use std::time::Duration;
/// # use status_core::Timestamp;
/// # use status_mvds::{Config, Error, GroupId, Mode, Mvds, Output, Payload};
/// # // On an epoch boundary (300 ms divides it), so the next epoch is t0 + 300 ms.
/// # let t0 = Timestamp::from_secs(1_500_000_000);
/// # let group = GroupId([1; 32]);
/// let first_payload = |mode| {
///     let mut node: Mvds<u8> = Mvds::new(Config { mode, ..Config::default() }, t0);
///     node.send(t0, group, &[2], b"hi".to_vec()).unwrap();
///     let (t1, _) = node.poll_timeout().unwrap();
///     node.handle_timeout(t1);
///     match node.poll_output() {
///         Some(Output::Transmit { payload, .. }) => payload,
///         other => panic!("{other:?}"),
///     }
/// };
/// let batch = first_payload(Mode::Batch); // the default
/// assert_eq!((batch.messages.len(), batch.offers.len()), (1, 0));
/// let interactive = first_payload(Mode::Interactive);
/// assert_eq!((interactive.messages.len(), interactive.offers.len()), (0, 1));
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// Mode for messages this node sends.
    pub mode: Mode,
    /// Length of one epoch: at most one payload per peer per epoch.
    /// status-go: `DatasyncTicker` = 300 ms.
    pub epoch: Duration,
    /// Retransmission schedule, in epochs.
    pub backoff: Backoff,
    /// Bound on the in-flight state (records over all peers). `send` past
    /// it fails with [`Error::InFlightFull`]; offers past it are dropped
    /// (the peer offers again later).
    pub max_in_flight: usize,
    /// Bound on acks waiting for the next epoch; acks past it are dropped
    /// (the peer retransmits and is acked then).
    pub max_pending_acks: usize,
    /// Records accepted in one incoming payload; more is
    /// [`Error::TooManyRecords`].
    pub max_payload_records: usize,
    /// Received ids remembered for deduplication by the store [`Mvds::new`]
    /// creates.
    pub max_received_ids: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Batch,
            epoch: Duration::from_millis(300),
            backoff: Backoff::default(),
            max_in_flight: 100_000,
            max_pending_acks: 10_000,
            max_payload_records: 10_000,
            max_received_ids: 100_000,
        }
    }
}

/// What the node wants done, from [`Mvds::poll_output`].
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum Output<P> {
    /// Send this payload to `peer` (encode with
    /// [`encode_payload`](crate::encode_payload)).
    Transmit {
        /// Recipient.
        peer: P,
        /// All records for the peer this epoch: acks, offers, requests and
        /// messages, piggy-backed together.
        payload: Payload,
    },
    /// `peer` acknowledged message `id` (its record left the state).
    Delivered {
        /// The acknowledging peer.
        peer: P,
        /// The message.
        id: MessageId,
    },
    /// A message new to this node arrived; emitted once per id.
    Received {
        /// The peer it came from.
        from: P,
        /// Its id.
        id: MessageId,
        /// The message.
        message: Message,
    },
}

/// Counters for tests, simulations and monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Payloads emitted.
    pub payloads_sent: u64,
    /// MESSAGE records sent (first sends and retransmissions).
    pub messages_sent: u64,
    /// OFFER records sent.
    pub offers_sent: u64,
    /// REQUEST records sent.
    pub requests_sent: u64,
    /// ACK records sent.
    pub acks_sent: u64,
    /// Records sent with `Send Count` > 0 (retransmissions).
    pub retransmissions: u64,
    /// Messages received for the first time.
    pub messages_received: u64,
    /// Messages received again (acked, not re-delivered).
    pub duplicates_received: u64,
    /// Offers dropped because the in-flight state was full.
    pub offers_dropped: u64,
    /// Acks dropped because `max_pending_acks` was reached.
    pub acks_dropped: u64,
    /// Requests for messages not offered to the requester.
    pub unknown_requests: u64,
}

/// One MVDS node: 2/MVDS batch and interactive modes over any number of
/// peers and groups, with retransmission and a bounded state.
///
/// Methods come in four kinds: getters; [`send`](Self::send) (an
/// application command); `handle_*` for things that happened (a payload
/// arrived, time passed); `poll_*` for what the node wants done. After
/// every `send`/`handle_*`, drain [`poll_output`](Self::poll_output) until
/// `None`, then sleep until [`poll_timeout`](Self::poll_timeout) and call
/// [`handle_timeout`](Self::handle_timeout).
///
/// Epochs are derived from time: epoch `e` starts at `e * config.epoch`
/// milliseconds since the Unix epoch, so a restored node keeps its schedule
/// without persisting an epoch counter (vacp2p/mvds persists a tick counter
/// instead).
///
/// Batch mode step by step, one epoch per hop:
///
/// ```
/// # use std::time::Duration;
/// # use status_core::Timestamp;
/// # use status_mvds::{Config, Error, GroupId, Mode, Mvds, Output, Payload};
/// # // On an epoch boundary (300 ms divides it), so the next epoch is t0 + 300 ms.
/// # let t0 = Timestamp::from_secs(1_500_000_000);
/// # let group = GroupId([1; 32]);
/// let mut alice: Mvds<u8> = Mvds::new(Config::default(), t0);
/// let mut bob: Mvds<u8> = Mvds::new(Config::default(), t0);
/// let id = alice.send(t0, group, &[2], b"hi".to_vec())?;
/// assert_eq!(alice.poll_output(), None); // nothing before the next epoch
///
/// let (t1, why) = alice.poll_timeout().unwrap();
/// assert_eq!((t1, why), (t0 + Duration::from_millis(300), "send epoch"));
/// alice.handle_timeout(t1);
/// let Some(Output::Transmit { peer: 2, payload }) = alice.poll_output() else { panic!() };
/// bob.handle_payload(t1, &1, payload)?;
/// match bob.poll_output() {
///     Some(Output::Received { from: 1, id: got, message }) => {
///         assert_eq!((got, &message.body[..]), (id, &b"hi"[..]));
///     }
///     other => panic!("{other:?}"),
/// }
///
/// // Bob acks at his next epoch; the ack clears alice's record.
/// let (t2, why) = bob.poll_timeout().unwrap();
/// assert_eq!(why, "ack");
/// bob.handle_timeout(t2);
/// let Some(Output::Transmit { peer: 1, payload }) = bob.poll_output() else { panic!() };
/// assert_eq!(payload.acks, [id.0.to_vec()]);
/// alice.handle_payload(t2, &2, payload)?;
/// assert_eq!(alice.poll_output(), Some(Output::Delivered { peer: 2, id }));
/// assert_eq!((alice.in_flight(), alice.poll_timeout()), (0, None));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug)]
pub struct Mvds<P, S = MemoryStore<P>> {
    config: Config,
    epoch_ms: u64,
    store: S,
    last_epoch: u64,
    acks: BTreeMap<P, Vec<Vec<u8>>>,
    pending_acks: usize,
    outputs: VecDeque<Output<P>>,
    stats: Stats,
    due: Vec<(P, MessageId, Record)>,
}

impl<P: Peer> Mvds<P, MemoryStore<P>> {
    /// A node with an empty in-memory store, at time `now`.
    pub fn new(config: Config, now: Timestamp) -> Self {
        let store = MemoryStore::new(config.max_received_ids);
        Self::with_store(config, store, now)
    }
}

impl<P: Peer, S: StateStore<P>> Mvds<P, S> {
    /// A node on `store`, which may hold the state of an earlier run:
    /// records already due go out at the next epoch.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use status_core::Timestamp;
    /// # use status_mvds::{Config, Error, GroupId, Mode, Mvds, Output, Payload};
    /// # // On an epoch boundary (300 ms divides it), so the next epoch is t0 + 300 ms.
    /// # let t0 = Timestamp::from_secs(1_500_000_000);
    /// # let group = GroupId([1; 32]);
    /// let mut alice: Mvds<u8> = Mvds::new(Config::default(), t0);
    /// let id = alice.send(t0, group, &[2], b"hi".to_vec())?;
    /// let store = alice.into_store(); // e.g. the app shuts down before the epoch
    ///
    /// // An hour later: the message is long due and goes out at the next epoch.
    /// let later = t0 + Duration::from_secs(3600);
    /// let mut alice = Mvds::with_store(Config::default(), store, later);
    /// let (t1, _) = alice.poll_timeout().unwrap();
    /// assert_eq!(t1, later + Duration::from_millis(300));
    /// alice.handle_timeout(t1);
    /// match alice.poll_output() {
    ///     Some(Output::Transmit { peer: 2, payload }) => assert_eq!(payload.messages.len(), 1),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn with_store(config: Config, store: S, now: Timestamp) -> Self {
        let epoch_ms = u64::try_from(config.epoch.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Mvds {
            last_epoch: now.as_millis() / epoch_ms,
            epoch_ms,
            config,
            store,
            acks: BTreeMap::new(),
            pending_acks: 0,
            outputs: VecDeque::new(),
            stats: Stats::default(),
            due: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The state store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The state store, mutably: a persistent store flushes what changed
    /// after each call (the protocol layer's journal). Writing records
    /// behind the node's back is the caller's responsibility.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Gives the store back, e.g. to restore the node later with
    /// [`with_store`](Self::with_store). Pending acks are dropped.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Records in flight (offers, requests and messages awaiting their
    /// answer), bounded by [`Config::max_in_flight`].
    pub fn in_flight(&self) -> usize {
        self.store.record_count()
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The epoch `now` falls in.
    pub fn epoch_at(&self, now: Timestamp) -> u64 {
        now.as_millis() / self.epoch_ms
    }

    /// Sends `body` to `peers` in `group` in the configured [`Mode`]: the
    /// first OFFER (interactive) or MESSAGE (batch) goes out at the next
    /// epoch. The message timestamp is `now` in Unix seconds, as
    /// vacp2p/mvds sets it, so the same body sent twice in one second to
    /// the same group has the same id and is one message.
    ///
    /// # Errors
    /// [`Error::NoPeers`] for an empty peer list, [`Error::InFlightFull`] when
    /// one record per peer would not fit [`Config::max_in_flight`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use status_core::Timestamp;
    /// # use status_mvds::{Config, Error, GroupId, Mode, Mvds, Output, Payload};
    /// # // On an epoch boundary (300 ms divides it), so the next epoch is t0 + 300 ms.
    /// # let t0 = Timestamp::from_secs(1_500_000_000);
    /// # let group = GroupId([1; 32]);
    /// let mut node: Mvds<u8> = Mvds::new(Config { max_in_flight: 2, ..Config::default() }, t0);
    /// let id = node.send(t0, group, &[2], b"hi".to_vec())?;
    /// let later_same_second = t0 + Duration::from_millis(999);
    /// assert_eq!(node.send(later_same_second, group, &[2], b"hi".to_vec())?, id);
    /// assert_eq!(node.in_flight(), 1);
    ///
    /// assert_eq!(node.send(t0, group, &[], b"x".to_vec()), Err(Error::NoPeers));
    /// assert_eq!(
    ///     node.send(t0, group, &[3, 4], b"x".to_vec()),
    ///     Err(Error::InFlightFull { records: 1, needed: 2, max: 2 })
    /// );
    /// # Ok::<(), Error>(())
    /// ```
    pub fn send(
        &mut self,
        now: Timestamp,
        group: GroupId,
        peers: &[P],
        body: impl Into<Vec<u8>>,
    ) -> Result<MessageId, Error> {
        if peers.is_empty() {
            return Err(Error::NoPeers);
        }
        let message = Message {
            group_id: group.0.to_vec(),
            timestamp: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
            body: body.into(),
        };
        let id = MessageId::of(&message);
        // only records that do not exist yet count against the bound (the
        // same body in the same second is the same message)
        let new: BTreeSet<&P> = peers
            .iter()
            .filter(|p| self.store.record(p, &id).is_none())
            .collect();
        let records = self.store.record_count();
        if records.saturating_add(new.len()) > self.config.max_in_flight {
            return Err(Error::InFlightFull {
                records,
                needed: new.len(),
                max: self.config.max_in_flight,
            });
        }
        let kind = match self.config.mode {
            Mode::Interactive => RecordType::Offer,
            Mode::Batch => RecordType::Message,
        };
        let send_epoch = self.current_epoch(now) + 1;
        let mut refs = 0u32;
        for peer in new {
            self.store.set_record(
                peer.clone(),
                id,
                Record {
                    kind,
                    send_count: 0,
                    send_epoch,
                },
            );
            refs += 1;
        }
        self.store.insert_message(id, message, refs);
        self.store.mark_received(id);
        Ok(id)
    }

    /// A payload arrived from `from`. Checks it (ids are 32 bytes, at most
    /// [`Config::max_payload_records`] records) before touching any state,
    /// then applies the 2/MVDS rules: acks clear our OFFER/MESSAGE records,
    /// requests turn an OFFER into a MESSAGE, offers of unknown messages
    /// become REQUESTs, and every received MESSAGE is acked.
    ///
    /// A message is delivered once, but acked every time it arrives (the
    /// sender may have missed the first ack). A malformed payload changes
    /// nothing:
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use status_core::Timestamp;
    /// # use status_mvds::{Config, Error, GroupId, Mode, Mvds, Output, Payload};
    /// # // On an epoch boundary (300 ms divides it), so the next epoch is t0 + 300 ms.
    /// # let t0 = Timestamp::from_secs(1_500_000_000);
    /// # let group = GroupId([1; 32]);
    /// use status_mvds::Message;
    ///
    /// let mut bob: Mvds<u8> = Mvds::new(Config::default(), t0);
    /// let message = Message { group_id: group.0.to_vec(), timestamp: 1, body: b"hi".to_vec() };
    /// let payload = Payload { messages: vec![message], ..Payload::default() };
    /// bob.handle_payload(t0, &1, payload.clone())?;
    /// bob.handle_payload(t0, &1, payload)?;
    /// assert!(matches!(bob.poll_output(), Some(Output::Received { .. })));
    /// assert_eq!(bob.poll_output(), None);
    /// assert_eq!(bob.stats().duplicates_received, 1);
    ///
    /// let bad = Payload { acks: vec![vec![0; 3]], ..Payload::default() };
    /// assert_eq!(bob.handle_payload(t0, &1, bad), Err(Error::InvalidMessageId(3)));
    ///
    /// bob.handle_timeout(t0 + Duration::from_millis(300));
    /// let Some(Output::Transmit { payload, .. }) = bob.poll_output() else { panic!() };
    /// assert_eq!(payload.acks.len(), 2);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn handle_payload(
        &mut self,
        now: Timestamp,
        from: &P,
        payload: Payload,
    ) -> Result<(), Error> {
        validate_payload(&payload, self.config.max_payload_records)?;
        let next = self.current_epoch(now) + 1;

        for raw in &payload.acks {
            let id = MessageId::from_slice(raw)?;
            if let Some(rec) = self.store.record(from, &id) {
                if rec.kind != RecordType::Request {
                    self.store.remove_record(from, &id);
                    self.store.release_message(&id);
                    self.outputs.push_back(Output::Delivered {
                        peer: from.clone(),
                        id,
                    });
                }
            }
        }

        for raw in &payload.requests {
            let id = MessageId::from_slice(raw)?;
            match self.store.record(from, &id) {
                Some(rec) if rec.kind != RecordType::Request => {
                    // Answer at the next epoch; the schedule restarts for
                    // the MESSAGE record (vacp2p/mvds does the same).
                    self.store.set_record(
                        from.clone(),
                        id,
                        Record {
                            kind: RecordType::Message,
                            send_count: 0,
                            send_epoch: next,
                        },
                    );
                }
                _ => self.stats.unknown_requests += 1,
            }
        }

        for raw in &payload.offers {
            let id = MessageId::from_slice(raw)?;
            if self.store.has_received(&id) {
                // We hold it: say so, or the peer offers it forever
                // (vacp2p/mvds ignores such offers: "@todo maybe ack?").
                self.queue_ack(from, id);
            } else if self.store.record(from, &id).is_none() {
                if self.store.record_count() < self.config.max_in_flight {
                    self.store.set_record(
                        from.clone(),
                        id,
                        Record {
                            kind: RecordType::Request,
                            send_count: 0,
                            send_epoch: next,
                        },
                    );
                } else {
                    self.stats.offers_dropped += 1;
                }
            }
        }

        for message in payload.messages {
            let id = MessageId::of(&message);
            if let Some(rec) = self.store.record(from, &id) {
                if rec.kind == RecordType::Request {
                    self.store.remove_record(from, &id);
                }
            }
            self.queue_ack(from, id);
            if self.store.mark_received(id) {
                self.stats.messages_received += 1;
                self.outputs.push_back(Output::Received {
                    from: from.clone(),
                    id,
                    message,
                });
            } else {
                self.stats.duplicates_received += 1;
            }
        }
        Ok(())
    }

    /// Time passed: if a new epoch started, builds this epoch's payload
    /// for every peer that has pending acks or due records, and
    /// reschedules each sent record by the [`Backoff`].
    ///
    /// An unacknowledged message goes out again after
    /// [`Backoff::base`] epochs (90 × 300 ms by default):
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use status_core::Timestamp;
    /// # use status_mvds::{Config, Error, GroupId, Mode, Mvds, Output, Payload};
    /// # // On an epoch boundary (300 ms divides it), so the next epoch is t0 + 300 ms.
    /// # let t0 = Timestamp::from_secs(1_500_000_000);
    /// # let group = GroupId([1; 32]);
    /// let mut alice: Mvds<u8> = Mvds::new(Config::default(), t0);
    /// alice.send(t0, group, &[2], b"hi".to_vec())?;
    /// let t1 = t0 + Duration::from_millis(300);
    /// alice.handle_timeout(t1);
    /// assert!(matches!(alice.poll_output(), Some(Output::Transmit { .. }))); // lost
    ///
    /// let (t2, why) = alice.poll_timeout().unwrap();
    /// assert_eq!((t2, why), (t1 + Duration::from_secs(27), "send epoch"));
    /// alice.handle_timeout(t2.saturating_sub(Duration::from_millis(1))); // too early: nothing
    /// assert_eq!(alice.poll_output(), None);
    /// alice.handle_timeout(t2);
    /// assert!(matches!(alice.poll_output(), Some(Output::Transmit { .. })));
    /// assert_eq!(alice.stats().retransmissions, 1);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let epoch = self.epoch_at(now);
        if epoch <= self.last_epoch {
            return;
        }
        self.last_epoch = epoch;

        let mut payloads: BTreeMap<P, Payload> = BTreeMap::new();
        for (peer, acks) in std::mem::take(&mut self.acks) {
            self.stats.acks_sent += acks.len() as u64;
            payloads.insert(
                peer,
                Payload {
                    acks,
                    ..Payload::default()
                },
            );
        }
        self.pending_acks = 0;

        let mut due = std::mem::take(&mut self.due);
        self.store.take_due(epoch, &mut due);
        for (peer, id, mut rec) in due.drain(..) {
            let payload = payloads.entry(peer.clone()).or_default();
            match rec.kind {
                RecordType::Offer => {
                    payload.offers.push(id.0.to_vec());
                    self.stats.offers_sent += 1;
                }
                RecordType::Request => {
                    payload.requests.push(id.0.to_vec());
                    self.stats.requests_sent += 1;
                }
                RecordType::Message => match self.store.message(&id) {
                    Some(m) => {
                        payload.messages.push(m);
                        self.stats.messages_sent += 1;
                    }
                    // The store lost the body: nothing left to send.
                    None => continue,
                },
            }
            if rec.send_count > 0 {
                self.stats.retransmissions += 1;
            }
            rec.send_count = rec.send_count.saturating_add(1);
            rec.send_epoch = epoch.saturating_add(self.config.backoff.delay(rec.send_count));
            self.store.set_record(peer, id, rec);
        }
        self.due = due;

        for (peer, payload) in payloads {
            if payload == Payload::default() {
                continue;
            }
            self.stats.payloads_sent += 1;
            self.outputs.push_back(Output::Transmit { peer, payload });
        }
    }

    /// The next thing to do, if any: drain until `None` after every call.
    pub fn poll_output(&mut self) -> Option<Output<P>> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next needed, and
    /// why; `None` while nothing is pending.
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let next = self.last_epoch.saturating_add(1);
        let (epoch, why) = if self.pending_acks > 0 {
            (next, "ack")
        } else {
            (self.store.next_send_epoch()?.max(next), "send epoch")
        };
        Some((
            Timestamp::from_millis(epoch.saturating_mul(self.epoch_ms)),
            why,
        ))
    }

    fn current_epoch(&self, now: Timestamp) -> u64 {
        self.epoch_at(now).max(self.last_epoch)
    }

    fn queue_ack(&mut self, peer: &P, id: MessageId) {
        if self.pending_acks >= self.config.max_pending_acks {
            self.stats.acks_dropped += 1;
            return;
        }
        self.pending_acks += 1;
        self.acks
            .entry(peer.clone())
            .or_default()
            .push(id.0.to_vec());
    }
}
