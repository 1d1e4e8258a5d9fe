//! A [`Messenger`] over a running node: the glue loop of DESIGN.md
//! ("Composing machines") for the Tokio driver.
//!
//! The messenger's [`Output::Subscribe`] / [`Output::Unsubscribe`] become
//! filters on the node (through [`Bridge::waku_filter`], [`Bridge::bind`]
//! and [`Bridge::unbind`]), its [`Output::Post`] a signed
//! [`status_node::Post`]; what the node's filters open
//! ([`NodeEvent::Message`]) goes back into [`Messenger::handle_input`] as
//! [`Input::Received`]. Everything else the node reports (peers, history
//! progress) comes out as an [`Update::Node`].
//!
//! The run loop, str0m-style (one door in, one door out):
//!
//! ```no_run
//! # async fn run(mut client: status_cli::Client<status_protocol::SqliteStore>) -> Result<(), status_cli::Error> {
//! loop {
//!     while let Some(update) = client.poll_update() {
//!         println!("{update:?}");
//!     }
//!     // cancel-safe: select it against the user's keyboard
//!     let wake = client.wait().await;
//!     if !client.handle(wake).await? {
//!         break; // the node stopped
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::time::Duration;

use status_core::{SecretKey, Timestamp};
use status_driver::os;
use status_node::{Event as NodeEvent, HistoryId, HistoryRequest};
use status_protocol::store::Store;
use status_protocol::{Bridge, Command, Event, Input, Messenger, Outcome, Output, PostKey};
use status_tokio::{NodeError, NodeHandle};

/// Why the client cannot go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The messenger refused a command or its store failed.
    #[error(transparent)]
    Messenger(#[from] status_protocol::Error),
    /// The node refused a command or has stopped.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// What happened, for the application.
#[derive(Debug, Clone)]
pub enum Update {
    /// The messenger's news: a message, a delivery ack, a chat changed.
    Messenger {
        /// The event.
        event: Event,
        /// Whether the input behind it came from a mailserver's answer
        /// (a history request) rather than the live relay.
        history: bool,
    },
    /// The node's news: peers, mailservers, history progress (never
    /// [`NodeEvent::Message`]: those go to the messenger).
    Node(NodeEvent),
}

/// What [`Client::wait`] woke up for; hand it to [`Client::handle`].
#[derive(Debug)]
pub enum Wake {
    /// The node reported something; `None` once it stopped.
    Node(Option<NodeEvent>),
    /// The messenger's timer is due.
    Timeout,
}

/// Counters of what went through the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Posts handed to the node.
    pub posts: u64,
    /// Messages the node's filters opened, handed to the messenger.
    pub received: u64,
    /// Of those, how many came in a mailserver's answer.
    pub received_from_history: u64,
    /// Received messages the messenger refused (peer errors, counted).
    pub refused: u64,
}

/// A [`Messenger`] over a running node (see the [module docs](self)).
pub struct Client<S: Store> {
    messenger: Messenger<S>,
    bridge: Bridge,
    node: NodeHandle,
    identity: SecretKey,
    /// Messenger outputs still to carry out on the node, oldest first: an
    /// interrupted [`handle`](Self::handle) resumes them next time.
    todo: VecDeque<Output>,
    updates: VecDeque<Update>,
    stats: ClientStats,
}

impl<S: Store> Client<S> {
    /// Joins `messenger` (opened for `identity`) to the running `node`:
    /// installs the filters it asks for.
    pub async fn start(
        node: NodeHandle,
        messenger: Messenger<S>,
        identity: SecretKey,
    ) -> Result<Client<S>, Error> {
        let mut c = Client {
            bridge: Bridge::new(identity.clone()),
            messenger,
            node,
            identity,
            todo: VecDeque::new(),
            updates: VecDeque::new(),
            stats: ClientStats::default(),
        };
        c.flush(false).await?;
        Ok(c)
    }

    /// The messenger (chats, messages, contacts).
    pub fn messenger(&self) -> &Messenger<S> {
        &self.messenger
    }

    /// The node.
    pub fn node(&self) -> &NodeHandle {
        &self.node
    }

    /// Counters.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// Carries out a command of the user's on the messenger and the node.
    pub async fn command(&mut self, command: Command) -> Result<Outcome, Error> {
        let outcome = self
            .messenger
            .handle_input(os::now(), Input::Command(command))?;
        self.flush(false).await?;
        Ok(outcome)
    }

    /// Asks the node's mailserver for the history of every topic the
    /// messenger listens on, from `from` to `to` (progress and end arrive
    /// as [`Update::Node`] with [`NodeEvent::HistoryPage`] and
    /// [`NodeEvent::HistoryComplete`]).
    pub async fn request_history(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<HistoryId, Error> {
        let mut topics: Vec<_> = self.messenger.filters().map(|f| f.topic).collect();
        topics.sort_by_key(|t| t.0);
        topics.dedup();
        let secs = |t: Timestamp| u32::try_from(t.as_secs()).unwrap_or(u32::MAX);
        let request = HistoryRequest {
            topics,
            from: secs(from),
            to: secs(to),
        };
        Ok(self.node.request_history(request).await?)
    }

    /// The next update, if one is waiting.
    pub fn poll_update(&mut self) -> Option<Update> {
        self.updates.pop_front()
    }

    /// Waits for the node's next event or the messenger's timer. Only
    /// waits: cancel-safe, so it can be raced against other input.
    pub async fn wait(&self) -> Wake {
        let due = self.messenger.poll_timeout().map(|(t, _)| {
            Duration::from_millis(t.as_millis().saturating_sub(os::now().as_millis()))
        });
        let sleep = tokio::time::sleep(due.unwrap_or(Duration::from_secs(3600)));
        tokio::select! {
            e = self.node.recv() => Wake::Node(e),
            _ = sleep, if due.is_some() => Wake::Timeout,
        }
    }

    /// Handles what [`wait`](Self::wait) returned; `false` once the node
    /// has stopped.
    pub async fn handle(&mut self, wake: Wake) -> Result<bool, Error> {
        let now = os::now();
        match wake {
            Wake::Node(None) => return Ok(false),
            Wake::Node(Some(NodeEvent::Message(delivered))) => {
                let Some(input) = self.bridge.input(&delivered) else {
                    return Ok(true); // a filter that is not the messenger's
                };
                self.stats.received += 1;
                if delivered.p2p {
                    self.stats.received_from_history += 1;
                }
                match self.messenger.handle_input(now, input) {
                    Ok(_) => {}
                    Err(e) if e.is_peer_error() => {
                        self.stats.refused += 1;
                        tracing::debug!(error = %e, "refused a received message");
                    }
                    Err(e) => return Err(e.into()),
                }
                self.flush(delivered.p2p).await?;
            }
            Wake::Node(Some(e)) => self.updates.push_back(Update::Node(e)),
            Wake::Timeout => {
                self.messenger.handle_timeout(now)?;
                self.flush(false).await?;
            }
        }
        Ok(true)
    }

    /// Waits for and handles one wake-up; `false` once the node stopped.
    pub async fn step(&mut self) -> Result<bool, Error> {
        let wake = self.wait().await;
        self.handle(wake).await
    }

    /// Closes the messenger (its store is consistent after every call)
    /// and shuts the node down gracefully; the store comes back.
    pub async fn shutdown(self) -> S {
        self.node.shutdown().await;
        self.messenger.into_store()
    }

    /// Drains the messenger and carries its outputs out on the node.
    async fn flush(&mut self, history: bool) -> Result<(), Error> {
        while let Some(o) = self.messenger.poll_output() {
            match o {
                Output::Event(event) => {
                    self.updates.push_back(Update::Messenger { event, history })
                }
                other => self.todo.push_back(other),
            }
        }
        while let Some(o) = self.todo.front() {
            match o {
                Output::Post(p) => {
                    let post = status_node::Post {
                        topic: p.topic,
                        key: match &p.key {
                            PostKey::Symmetric(k) => status_node::PostKey::Symmetric(**k),
                            PostKey::Asymmetric(k) => status_node::PostKey::Asymmetric(*k),
                        },
                        payload: p.payload.clone(),
                        signer: Some(self.identity.clone()),
                        ttl: Some(p.ttl),
                        pow_target: Some(p.pow_target),
                    };
                    match self.node.post(post).await {
                        Ok(_) => self.stats.posts += 1,
                        // A post the node refuses (too big, PoW budget) is
                        // lost like a dropped packet: MVDS retransmits.
                        Err(NodeError::Node(e)) => tracing::warn!(error = %e, "post refused"),
                        Err(e) => return Err(e.into()),
                    }
                }
                Output::Subscribe(f) => {
                    let (id, filter) = (f.id, self.bridge.waku_filter(f));
                    let w = self.node.subscribe(filter).await?;
                    if let Some(old) = self.bridge.unbind(id) {
                        self.node.unsubscribe(old).await?;
                    }
                    self.bridge.bind(id, w);
                }
                Output::Unsubscribe(id) => {
                    if let Some(w) = self.bridge.unbind(*id) {
                        self.node.unsubscribe(w).await?;
                    }
                }
                Output::Event(_) => {}
            }
            self.todo.pop_front();
        }
        Ok(())
    }
}
