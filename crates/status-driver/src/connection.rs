//! The application's side: [`Connection`] and its cloneable [`Handle`].

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use bytes::Bytes;
use status_core::{Enode, NodeId, PublicKey, SecretKey};
use status_rlpx::p2p::{DisconnectReason, Hello, SharedCapability};
use status_rlpx::session::{Config, Session};
use tracing::Instrument;

use crate::run::{self, Command, Machine};
use crate::{os, Direction, DriverError, Event, Runtime};

/// Commands (send, ping, disconnect) that may wait for the connection task.
/// Together with the task's transmit high-water mark this bounds what a
/// fast sender can queue.
const COMMAND_CAPACITY: usize = 16;
/// Events that may wait for [`Connection::recv`]; past this the task stops
/// reading the socket, so TCP pushes back on the peer.
const EVENT_CAPACITY: usize = 64;

/// An established RLPx connection, run by a task spawned with
/// [`Runtime::spawn`]: `status_tokio::Connection` and
/// `status_smol::Connection` are this type for their runtime.
///
/// Getters describe the peer; [`send`](Self::send), [`ping`](Self::ping)
/// and [`disconnect`](Self::disconnect) are commands (also available on a
/// cloneable [`Handle`] for other tasks); [`recv`](Self::recv) yields what
/// happened. Dropping the `Connection` and every `Handle` disconnects with
/// [`DisconnectReason::Requested`].
///
/// Keep calling `recv`: when [`Event`]s are not taken, the task stops
/// reading the socket (backpressure), which also stalls Pings and
/// Disconnects from the peer.
pub struct Connection<R: Runtime> {
    handle: Handle,
    events: Receiver<Event>,
    remote: PublicKey,
    hello: Hello,
    peer_addr: SocketAddr,
    direction: Direction,
    runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> fmt::Debug for Connection<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("handle", &self.handle)
            .field("remote", &self.remote)
            .field("hello", &self.hello)
            .field("peer_addr", &self.peer_addr)
            .field("direction", &self.direction)
            .finish_non_exhaustive()
    }
}

/// A cloneable sender for one [`Connection`]: send, ping and disconnect
/// from any task while another one calls [`Connection::recv`].
#[derive(Debug, Clone)]
pub struct Handle {
    commands: Sender<Command>,
    shared: Arc<[SharedCapability]>,
    closed: Arc<OnceLock<DriverError>>,
}

/// What the task hands back once Hello is exchanged.
#[derive(Debug)]
pub(crate) struct Established {
    pub(crate) hello: Hello,
    pub(crate) shared: Arc<[SharedCapability]>,
    pub(crate) remote: PublicKey,
}

impl<R: Runtime> Connection<R> {
    /// Dials `enode` and completes the RLPx handshake and Hello exchange.
    ///
    /// The TCP connect itself is bounded only by the OS; race the call
    /// against a timer of the runtime for a tighter limit. The handshake is
    /// bounded by `config.handshake_timeout`.
    pub async fn connect(
        config: Arc<Config>,
        key: SecretKey,
        enode: &Enode,
    ) -> Result<Self, DriverError> {
        let remote = enode.public_key()?;
        let stream = R::connect(enode.addr).await?;
        Self::connect_stream(config, key, stream, remote).await
    }

    /// Runs the initiator side over an already connected `stream` to the
    /// node whose static key is `remote`.
    pub async fn connect_stream(
        config: Arc<Config>,
        key: SecretKey,
        stream: R::Stream,
        remote: PublicKey,
    ) -> Result<Self, DriverError> {
        Self::start(config, key, stream, Some(remote)).await
    }

    /// Accepts one connection on `listener` and completes the handshake.
    ///
    /// A failed handshake fails this call; a server that must not be held up
    /// by one slow peer accepts streams itself and spawns
    /// [`accept_stream`](Self::accept_stream) for each.
    pub async fn accept(
        config: Arc<Config>,
        key: SecretKey,
        listener: &R::Listener,
    ) -> Result<Self, DriverError> {
        let stream = R::accept(listener).await?;
        Self::accept_stream(config, key, stream).await
    }

    /// Runs the recipient side over an accepted `stream`.
    pub async fn accept_stream(
        config: Arc<Config>,
        key: SecretKey,
        stream: R::Stream,
    ) -> Result<Self, DriverError> {
        Self::start(config, key, stream, None).await
    }

    async fn start(
        config: Arc<Config>,
        key: SecretKey,
        stream: R::Stream,
        remote: Option<PublicKey>,
    ) -> Result<Self, DriverError> {
        let peer_addr = R::prepare(&stream)?;
        let seed = os::rng_seed()?;
        let now = os::now();
        let (direction, session) = match remote {
            Some(pk) => (
                Direction::Outbound,
                Session::initiator(config, key, pk, now, seed),
            ),
            None => (
                Direction::Inbound,
                Session::recipient(config, key, now, seed),
            ),
        };
        let span = tracing::info_span!(
            "rlpx",
            dir = direction.as_str(),
            peer = %peer_addr,
            remote = tracing::field::Empty,
        );
        if let Some(pk) = remote {
            span.record("remote", tracing::field::debug(pk.node_id()));
        }

        let (command_tx, command_rx) = async_channel::bounded(COMMAND_CAPACITY);
        let (event_tx, event_rx) = async_channel::bounded(EVENT_CAPACITY);
        let (ready_tx, ready_rx) = async_channel::bounded(1);
        let closed = Arc::new(OnceLock::new());
        let machine = Machine::new(session, ready_tx, closed.clone());
        R::spawn(run::run::<R>(machine, stream, command_rx, event_tx).instrument(span));

        let established = ready_rx.recv().await.map_err(|_| DriverError::Closed)??;
        Ok(Connection {
            handle: Handle {
                commands: command_tx,
                shared: established.shared,
                closed,
            },
            events: event_rx,
            remote: established.remote,
            hello: established.hello,
            peer_addr,
            direction,
            runtime: PhantomData,
        })
    }

    // ---- getters -----------------------------------------------------------

    /// The peer's node id (proven by the handshake, equal to its Hello's).
    pub fn remote_id(&self) -> NodeId {
        self.remote.node_id()
    }

    /// The peer's static public key.
    pub fn remote_key(&self) -> &PublicKey {
        &self.remote
    }

    /// The peer's Hello: client id, capabilities, p2p version.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// Capabilities both sides speak, with their message-id offsets.
    pub fn shared_capabilities(&self) -> &[SharedCapability] {
        &self.handle.shared
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// Whether we dialed or accepted.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// A cloneable handle for sending from other tasks.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    // ---- commands and events -------------------------------------------------

    /// See [`Handle::send`].
    pub async fn send(
        &self,
        cap: &str,
        code: u64,
        payload: impl Into<Bytes>,
    ) -> Result<(), DriverError> {
        self.handle.send(cap, code, payload).await
    }

    /// See [`Handle::ping`].
    pub async fn ping(&self) -> Result<Duration, DriverError> {
        self.handle.ping().await
    }

    /// See [`Handle::disconnect`].
    pub async fn disconnect(&self, reason: DisconnectReason) -> Result<(), DriverError> {
        self.handle.disconnect(reason).await
    }

    /// The next event; `None` after [`Event::Closed`] has been returned.
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await.ok()
    }
}

impl Handle {
    /// Queues a capability message: `code` is relative to the capability
    /// (Waku's Messages is 1 whatever its offset on this connection).
    ///
    /// Resolves once the session has framed the message; waits while the
    /// socket is behind (backpressure). Fails with [`DriverError::Rejected`]
    /// for a capability the peer does not share, a code outside its id
    /// space or a payload over the frame limit, and with the reason the
    /// connection ended once it has.
    pub async fn send(
        &self,
        cap: &str,
        code: u64,
        payload: impl Into<Bytes>,
    ) -> Result<(), DriverError> {
        let cap = self
            .shared
            .iter()
            .position(|s| s.cap.name == cap)
            .ok_or_else(|| {
                DriverError::Rejected(status_rlpx::Error::CapabilityNotShared(cap.to_owned()))
            })?;
        let (reply, answer) = async_channel::bounded(1);
        let command = Command::Send {
            cap,
            code,
            payload: payload.into(),
            reply,
        };
        self.commands
            .send(command)
            .await
            .map_err(|_| self.closed_error())?;
        answer.recv().await.map_err(|_| self.closed_error())?
    }

    /// Pings the peer and waits for the Pong: the round-trip time, at the
    /// millisecond resolution of `Timestamp`. Concurrent calls share one
    /// Ping. The session's `ping_timeout` bounds the wait.
    pub async fn ping(&self) -> Result<Duration, DriverError> {
        let (reply, answer) = async_channel::bounded(1);
        self.commands
            .send(Command::Ping { reply })
            .await
            .map_err(|_| self.closed_error())?;
        answer.recv().await.map_err(|_| self.closed_error())?
    }

    /// Sends Disconnect with `reason` after everything queued before it,
    /// flushes and closes the socket. Returns once closed; succeeds too if
    /// the connection was already closed. [`Connection::recv`] then yields
    /// the remaining events and [`Event::Closed`].
    pub async fn disconnect(&self, reason: DisconnectReason) -> Result<(), DriverError> {
        let (reply, answer) = async_channel::bounded(1);
        if self
            .commands
            .send(Command::Disconnect { reason, reply })
            .await
            .is_ok()
        {
            // The task drops `reply` instead of answering only if it ended
            // for another reason first: closed either way.
            let _ = answer.recv().await;
        }
        Ok(())
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Capabilities both sides speak, with their message-id offsets.
    pub fn shared_capabilities(&self) -> &[SharedCapability] {
        &self.shared
    }

    fn closed_error(&self) -> DriverError {
        self.closed.get().cloned().unwrap_or(DriverError::Closed)
    }
}
