//! The mailserver as a role of a [`status_node::Node`]: the glue between
//! the node's events, the [`Mailserver`] machine and an [`Archive`].
//!
//! A node built with `ConfigBuilder::mailserver()` reports every accepted
//! envelope as [`Event::Archive`] and every history request as
//! [`Event::MailserverRequest`]. [`MailserverRole::handle_event`] archives
//! the first in batches and answers the second with [`Reply`]s, which
//! [`Reply::apply`] hands to the node. The loop beside a driver:
//!
//! ```text
//! loop {
//!     select {
//!         event = node.recv()              => replies = role.handle_event(now, &event)?,
//!         sleep_until(role.poll_timeout()) => role.handle_timeout(now)?,
//!     }
//!     node.call(|n, now| for r in replies { r.apply(n, now) })
//! }
//! ```
//!
//! Archive writes are batched ([`RoleConfig::batch_size`],
//! [`RoleConfig::flush_interval`]) and always flushed before a query, so a
//! request sees every envelope the node accepted before it.

use std::time::Duration;

use bytes::Bytes;
use status_core::Timestamp;
use status_node::{ConnectionId, Event, Node};
use status_waku::envelope::DEFAULT_MAX_ENVELOPE_SIZE;

use crate::archive::{Archive, ArchivedEnvelope};
use crate::server::{Decision, Mailserver, MailserverConfig};
use crate::Error;

/// Settings of a [`MailserverRole`].
#[derive(Debug, Clone)]
pub struct RoleConfig {
    /// The mailserver machine's settings.
    pub mailserver: MailserverConfig,
    /// Envelopes written in one archive transaction at most; a full batch
    /// is written at once.
    pub batch_size: usize,
    /// Longest an accepted envelope waits in the batch.
    pub flush_interval: Duration,
    /// Envelopes kept while the store fails, at most; past this the oldest
    /// are dropped (and counted).
    pub max_pending: usize,
}

impl Default for RoleConfig {
    fn default() -> Self {
        RoleConfig {
            mailserver: MailserverConfig::default(),
            batch_size: 1000,
            flush_interval: Duration::from_millis(200),
            max_pending: 100_000,
        }
    }
}

/// Something to send to a peer: apply it to the node
/// ([`Reply::apply`]), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Reply {
    /// One P2P Message of archived envelopes.
    P2PMessages {
        /// The requesting peer's connection.
        conn: ConnectionId,
        /// The envelopes' RLP.
        envelopes: Vec<Bytes>,
    },
    /// The Request Complete payload that ends an answer.
    RequestComplete {
        /// The requesting peer's connection.
        conn: ConnectionId,
        /// The payload.
        payload: Vec<u8>,
    },
}

impl Reply {
    /// Sends it through `node`.
    pub fn apply(self, node: &mut Node, now: Timestamp) -> Result<(), status_node::Error> {
        match self {
            Reply::P2PMessages { conn, envelopes } => node.send_p2p_messages(now, conn, &envelopes),
            Reply::RequestComplete { conn, payload } => {
                node.send_p2p_request_complete(now, conn, &payload)
            }
        }
    }
}

/// Counters of the role (the machine's own are in [`Mailserver::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleStats {
    /// Envelopes newly archived.
    pub archived: u64,
    /// Envelopes offered that the archive had already.
    pub duplicates: u64,
    /// Archive events whose envelope did not decode.
    pub undecodable: u64,
    /// Envelopes dropped because the store kept failing.
    pub dropped: u64,
    /// Archive writes that failed (retried with the next flush).
    pub store_errors: u64,
    /// Envelopes removed by the cleaner.
    pub pruned: u64,
}

/// The mailserver role: a [`Mailserver`] machine and an [`Archive`],
/// driven by a node's events (see the [module docs](self)).
#[derive(Debug)]
pub struct MailserverRole<A: Archive> {
    machine: Mailserver,
    archive: A,
    config: RoleConfig,
    pending: Vec<ArchivedEnvelope>,
    flush_at: Option<Timestamp>,
    stats: RoleStats,
}

impl<A: Archive> MailserverRole<A> {
    /// A role over `archive`, starting at `now`.
    pub fn new(config: RoleConfig, archive: A, now: Timestamp) -> Result<Self, Error> {
        if config.batch_size == 0 {
            return Err(Error::InvalidConfig("batch_size must be at least 1"));
        }
        Ok(MailserverRole {
            machine: Mailserver::new(config.mailserver.clone(), now),
            archive,
            config,
            pending: Vec::new(),
            flush_at: None,
            stats: RoleStats::default(),
        })
    }

    /// The archive.
    pub fn archive(&self) -> &A {
        &self.archive
    }

    /// The machine (its stats, its config).
    pub fn mailserver(&self) -> &Mailserver {
        &self.machine
    }

    /// Counters.
    pub fn stats(&self) -> &RoleStats {
        &self.stats
    }

    /// Envelopes accepted but not yet written.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Handles one node event; others than [`Event::Archive`] and
    /// [`Event::MailserverRequest`] are ignored. Returns what to send.
    ///
    /// # Errors
    /// A store failure while writing a full batch (the envelopes stay
    /// pending and are retried). A failed query is not an error: the peer
    /// gets a failed Request Complete.
    pub fn handle_event(&mut self, now: Timestamp, event: &Event) -> Result<Vec<Reply>, Error> {
        match event {
            Event::Archive { raw, .. } => {
                match ArchivedEnvelope::from_raw(raw.clone(), DEFAULT_MAX_ENVELOPE_SIZE) {
                    Ok(e) => self.pending.push(e),
                    Err(_) => self.stats.undecodable += 1,
                }
                if self.flush_at.is_none() {
                    self.flush_at = Some(now.saturating_add(self.config.flush_interval));
                }
                if self.pending.len() >= self.config.batch_size {
                    self.flush()?;
                }
                Ok(Vec::new())
            }
            Event::MailserverRequest {
                conn,
                node_id,
                protocol,
                envelope,
                payload,
            } => Ok(self.serve(now, *conn, *node_id, *protocol, envelope.as_ref(), payload)),
            _ => Ok(Vec::new()),
        }
    }

    fn serve(
        &mut self,
        now: Timestamp,
        conn: ConnectionId,
        peer: status_core::NodeId,
        protocol: status_waku::peer::Protocol,
        envelope: Option<&status_waku::Envelope>,
        payload: &[u8],
    ) -> Vec<Reply> {
        let request = match self
            .machine
            .handle_request(now, peer, protocol, envelope, payload)
        {
            Decision::Serve(r) => r,
            Decision::Refuse { complete, .. } => {
                return vec![Reply::RequestComplete {
                    conn,
                    payload: complete.to_vec(),
                }]
            }
            Decision::Ignore => return Vec::new(),
        };
        // a request sees every envelope accepted before it
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "archive write failed before a query");
        }
        let rows = match &request.query {
            Some(q) => self.archive.query(q),
            None => Ok(Vec::new()),
        };
        match rows {
            Ok(rows) => {
                let response = self.machine.respond(&request, rows);
                let mut out: Vec<Reply> = response
                    .messages
                    .into_iter()
                    .map(|envelopes| Reply::P2PMessages { conn, envelopes })
                    .collect();
                out.push(Reply::RequestComplete {
                    conn,
                    payload: response.complete.to_vec(),
                });
                out
            }
            Err(e) => {
                tracing::warn!(error = %e, "archive query failed");
                let complete = self.machine.store_failed(&request, &e);
                vec![Reply::RequestComplete {
                    conn,
                    payload: complete.to_vec(),
                }]
            }
        }
    }

    /// Writes the pending envelopes in transactions of at most
    /// `batch_size`. Returns how many were new.
    ///
    /// # Errors
    /// The store's; what was not written stays pending (at most
    /// `max_pending`, the oldest dropped past that).
    pub fn flush(&mut self) -> Result<usize, Error> {
        self.flush_at = None;
        let mut new = 0;
        while !self.pending.is_empty() {
            let n = self.pending.len().min(self.config.batch_size);
            match self.archive.archive(&self.pending[..n]) {
                Ok(k) => {
                    new += k;
                    self.stats.archived += k as u64;
                    self.stats.duplicates += (n - k) as u64;
                    self.pending.drain(..n);
                }
                Err(e) => {
                    self.stats.store_errors += 1;
                    let over = self.pending.len().saturating_sub(self.config.max_pending);
                    if over > 0 {
                        self.pending.drain(..over);
                        self.stats.dropped += over as u64;
                    }
                    return Err(e);
                }
            }
        }
        Ok(new)
    }

    /// When [`MailserverRole::handle_timeout`] wants to be called, and why.
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let flush = self.flush_at.map(|t| (t, "archive flush"));
        match (flush, self.machine.poll_timeout()) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }

    /// Time has passed: writes a due batch, runs a due cleaner.
    pub fn handle_timeout(&mut self, now: Timestamp) -> Result<(), Error> {
        if self.flush_at.is_some_and(|t| t <= now) {
            if let Err(e) = self.flush() {
                // try again a little later rather than at once
                self.flush_at = Some(now.saturating_add(self.config.flush_interval));
                return Err(e);
            }
        }
        if let Some(before) = self.machine.handle_timeout(now) {
            self.stats.pruned += self.archive.prune(before)?;
        }
        Ok(())
    }
}
