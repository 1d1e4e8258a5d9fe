//! The mailserver client (status-11, 11/WAKU-MAILSERVER): history
//! requests sent to the trusted mailserver, paged with the cursor of each
//! Request Complete until it is empty, and moved to another mailserver
//! when one does not answer in time.

use std::collections::BTreeMap;

use status_core::Timestamp;
use status_rlpx::p2p::DisconnectReason;
use status_waku::mailserver::MessagesRequest;
use status_waku::RequestComplete;

use crate::config::MailserverClientConfig;
use crate::io::{Cause, ConnectionId, Event, HistoryError, HistoryId, HistoryRequest, Output};
use crate::{Error, Node};

#[derive(Debug)]
struct Sent {
    /// The request envelope's hash: the id Request Complete carries.
    request_id: [u8; 32],
    conn: ConnectionId,
    deadline: Timestamp,
}

#[derive(Debug)]
struct Pending {
    request: HistoryRequest,
    cursor: Vec<u8>,
    pages: u32,
    attempts: u32,
    sent: Option<Sent>,
}

#[derive(Debug)]
pub(crate) struct History {
    pub(crate) config: MailserverClientConfig,
    next: u64,
    requests: BTreeMap<HistoryId, Pending>,
}

impl History {
    pub(crate) fn new(config: MailserverClientConfig) -> Self {
        History {
            config,
            next: 0,
            requests: BTreeMap::new(),
        }
    }

    pub(crate) fn add(&mut self, request: HistoryRequest) -> Result<HistoryId, Error> {
        if self.requests.len() >= self.config.max_requests {
            return Err(Error::TooManyHistoryRequests {
                max: self.config.max_requests,
            });
        }
        let id = HistoryId(self.next);
        self.next += 1;
        self.requests.insert(
            id,
            Pending {
                request,
                cursor: Vec::new(),
                pages: 0,
                attempts: 0,
                sent: None,
            },
        );
        Ok(id)
    }
}

impl Node {
    /// Sends every request not in flight to the mailserver, if one is up.
    pub(crate) fn send_history(&mut self, now: Timestamp) {
        let Some(ms) = self.mailserver else { return };
        let Some((peer, _)) = self.conns.get(&ms).and_then(|c| c.waku) else {
            return;
        };
        let Some(h) = self.history.as_mut() else {
            return;
        };
        let mut failed = Vec::new();
        for (id, p) in h.requests.iter_mut().filter(|(_, p)| p.sent.is_none()) {
            let mut req = MessagesRequest::for_topics(
                p.request.from,
                p.request.to,
                &p.request.topics,
                h.config.page_limit,
            );
            req.cursor = p.cursor.clone();
            let envelope = match req.to_envelope(
                &mut self.rng,
                &self.config.key,
                &h.config.request_key,
                now,
                h.config.request_timeout.as_secs().max(1) as u32,
                h.config.request_pow,
                status_waku::message::DEFAULT_MAX_POW_ATTEMPTS,
            ) {
                Ok(e) => e,
                Err(e) => {
                    failed.push((*id, HistoryError::Build(e.to_string())));
                    continue;
                }
            };
            if self.waku.send_p2p_request(peer, &envelope).is_err() {
                return;
            }
            p.sent = Some(Sent {
                request_id: envelope.hash(),
                conn: ms,
                deadline: now.saturating_add(h.config.request_timeout),
            });
        }
        for (id, error) in failed {
            h.requests.remove(&id);
            self.outputs
                .push_back(Output::Event(Event::HistoryFailed { request: id, error }));
        }
    }

    /// A P2P Request Complete from the mailserver on `conn`.
    pub(crate) fn on_request_complete(
        &mut self,
        now: Timestamp,
        conn: ConnectionId,
        payload: &[u8],
    ) {
        let Ok(done) = RequestComplete::decode(payload) else {
            return;
        };
        let Some(h) = self.history.as_mut() else {
            return;
        };
        let Some(id) = h
            .requests
            .iter()
            .find(|(_, p)| {
                p.sent
                    .as_ref()
                    .is_some_and(|s| s.conn == conn && s.request_id == *done.request_id())
            })
            .map(|(id, _)| *id)
        else {
            return;
        };
        match done {
            RequestComplete::Completed { cursor, .. } => {
                let Some(p) = h.requests.get_mut(&id) else {
                    return;
                };
                p.pages += 1;
                p.sent = None;
                if cursor.is_empty() {
                    let pages = p.pages;
                    h.requests.remove(&id);
                    self.outputs
                        .push_back(Output::Event(Event::HistoryComplete { request: id, pages }));
                } else {
                    p.cursor = cursor;
                    let pages = p.pages;
                    self.outputs
                        .push_back(Output::Event(Event::HistoryPage { request: id, pages }));
                    self.send_history(now);
                }
            }
            RequestComplete::Failed { error, .. } => {
                h.requests.remove(&id);
                self.outputs.push_back(Output::Event(Event::HistoryFailed {
                    request: id,
                    error: HistoryError::Refused(error),
                }));
            }
        }
    }

    /// The mailserver on `conn` is gone: what it had in flight counts as
    /// one failed attempt and waits for the next mailserver.
    pub(crate) fn mailserver_lost(&mut self, _now: Timestamp, conn: ConnectionId) {
        let Some(h) = self.history.as_mut() else {
            return;
        };
        let max = h.config.max_attempts;
        let mut failed = Vec::new();
        for (id, p) in h.requests.iter_mut() {
            if p.sent.as_ref().is_some_and(|s| s.conn == conn) {
                p.sent = None;
                p.attempts += 1;
                if p.attempts >= max {
                    failed.push((*id, p.attempts));
                }
            }
        }
        for (id, attempts) in failed {
            h.requests.remove(&id);
            self.outputs.push_back(Output::Event(Event::HistoryFailed {
                request: id,
                error: HistoryError::Timeout { attempts },
            }));
        }
    }

    /// Requests past their deadline: the mailserver is dropped (the
    /// PeerPool backs it off and dials another) and the request waits for
    /// the next one.
    pub(crate) fn history_timeouts(&mut self, now: Timestamp) {
        let Some(h) = self.history.as_ref() else {
            return;
        };
        let late: Vec<ConnectionId> = h
            .requests
            .values()
            .filter_map(|p| p.sent.as_ref())
            .filter(|s| s.deadline <= now)
            .map(|s| s.conn)
            .collect();
        for conn in late {
            if self.mailserver == Some(conn) {
                self.disconnect(
                    now,
                    conn,
                    DisconnectReason::Requested,
                    Cause::Disconnect {
                        reason: DisconnectReason::Requested,
                        by_peer: false,
                    },
                );
            }
            // Gone already (or never the mailserver): count the attempt.
            self.mailserver_lost(now, conn);
        }
    }

    pub(crate) fn history_timeout(&self) -> Option<(Timestamp, &'static str)> {
        self.history
            .as_ref()?
            .requests
            .values()
            .filter_map(|p| p.sent.as_ref())
            .map(|s| (s.deadline, "history request"))
            .min_by_key(|(t, _)| *t)
    }
}
