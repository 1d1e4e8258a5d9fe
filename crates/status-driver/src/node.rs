//! A whole [`status_node::Node`] over real sockets: one task owns the
//! machine and its timer; a task per TCP connection moves bytes; one task
//! accepts, one receives UDP; DNS look-ups run through a [`TxtResolver`].
//!
//! Everything between the tasks is bounded: connection tasks stop reading
//! while the node task's inbox is full (TCP pushes back on the peer); the
//! node hands each connection at most `Config::write_high_water` unwritten
//! bytes (the connection task reports what the socket took); the
//! application's events wait in a bounded channel, and the node task
//! waits for room (take them with [`NodeHandle::recv`]).

use std::collections::BTreeMap;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_channel::{Receiver, Sender, TrySendError};
use futures_core::Stream;
use status_core::{Enode, NodeId, Timestamp};
use status_discovery::dnsdisc::TxtRecord;
use status_discovery::Enr;
use status_node::{
    Config, ConnectionId, Direction, Event, HistoryId, HistoryRequest, Input, Node, Output,
    PeerInfo, Post, Stats,
};
use status_waku::filter::{Filter, FilterId};
use tracing::{debug, info_span, trace, Instrument};

use crate::{os, Runtime};

/// Bytes asked of a socket per read.
const READ_CHUNK: usize = 16 << 10;
/// Messages from I/O tasks waiting for the node task.
const INBOX_CAPACITY: usize = 256;
/// Longest a connection may take to flush and close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a TXT look-up yields: each record's TTL in seconds and its
/// character strings joined.
pub type TxtAnswer = Pin<Box<dyn Future<Output = io::Result<Vec<(u32, String)>>> + Send>>;

/// A DNS TXT resolver: what the node driver asks for EIP-1459 lists.
pub trait TxtResolver: Send + Sync + 'static {
    /// The TXT records at `name`: each record's TTL in seconds and its
    /// character strings joined.
    fn resolve_txt(&self, name: String) -> TxtAnswer;
}

/// Driver settings beside the node's own [`Config`].
#[derive(Clone)]
pub struct NodeOptions {
    /// DNS TXT resolver; `None` fails every look-up (no DNS lists).
    pub resolver: Option<Arc<dyn TxtResolver>>,
    /// Events waiting for [`NodeHandle::recv`] at most.
    pub event_capacity: usize,
    /// Longest a graceful shutdown waits for peers to take their goodbye.
    pub shutdown_timeout: Duration,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            resolver: None,
            event_capacity: 1024,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for NodeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeOptions")
            .field("resolver", &self.resolver.is_some())
            .field("event_capacity", &self.event_capacity)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

type Call = Box<dyn FnOnce(&mut Node, Timestamp) + Send>;

enum Command {
    Call(Call),
    Shutdown(Sender<()>),
    Kill(Sender<()>),
}

/// What I/O tasks tell the node task.
enum Inbound<S> {
    Accepted(S, SocketAddr),
    Dialled(ConnectionId, io::Result<S>),
    Received(ConnectionId, Vec<u8>),
    Written(ConnectionId, usize),
    Closed(ConnectionId),
    Datagram(SocketAddr, Vec<u8>),
    Txt(String, io::Result<Vec<(u32, String)>>),
}

/// What the node task tells a connection task.
enum ToConn {
    Write(Vec<u8>),
    Close,
}

/// The application's side of a running node: commands, events, and a
/// graceful [`shutdown`](Self::shutdown). Cloneable: clones share the
/// event stream (each event goes to one of them).
#[derive(Clone)]
pub struct NodeHandle {
    commands: Sender<Command>,
    events: Receiver<Event>,
    enode: Enode,
    enr: Option<Enr>,
    udp: Option<SocketAddr>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("enode", &self.enode)
            .finish_non_exhaustive()
    }
}

/// Why a command could not reach the node.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The node task has ended.
    #[error("node stopped")]
    Stopped,
    /// The node refused the command.
    #[error(transparent)]
    Node(#[from] status_node::Error),
}

/// Binds the TCP listener at `config.listen` (127.0.0.1 on any port when
/// unset) and the UDP socket at the discv5 address, writes the bound
/// addresses back into the config (port 0 becomes the real port), and
/// spawns the node on runtime `R`.
pub async fn start<R: Runtime>(mut config: Config, options: NodeOptions) -> io::Result<NodeHandle> {
    let want = config
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = R::bind(want).await?;
    let local = R::listener_addr(&listener)?;
    config.listen = Some(local);
    Arc::make_mut(&mut config.rlpx).listen_port = local.port();
    let udp = match config.discv5.as_mut() {
        Some(d) => {
            let socket = R::bind_udp(d.addr).await?;
            d.addr = R::udp_addr(&socket)?;
            Some(Arc::new(socket))
        }
        None => None,
    };
    let seed = os::rng_seed().map_err(io::Error::other)?;
    let node = Node::new(config, os::now(), seed).map_err(io::Error::other)?;
    let enode = node
        .enode()
        .ok_or_else(|| io::Error::other("node without listen address"))?;
    let enr = node.local_enr();
    let udp_addr = node.config().discv5.as_ref().map(|d| d.addr);

    let (inbox_tx, inbox_rx) = async_channel::bounded(INBOX_CAPACITY);
    let (command_tx, command_rx) = async_channel::bounded(64);
    let (event_tx, event_rx) = async_channel::bounded(options.event_capacity.max(1));
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let span = info_span!("node", id = %short(&node.node_id()), listen = %local);

    R::spawn(
        accept_task::<R>(listener, inbox_tx.clone(), stop_rx.clone()).instrument(span.clone()),
    );
    if let Some(u) = udp.clone() {
        R::spawn(udp_task::<R>(u, inbox_tx.clone(), stop_rx.clone()).instrument(span.clone()));
    }
    let task = NodeTask::<R> {
        node,
        options,
        conns: BTreeMap::new(),
        inbox_tx,
        udp,
        events: event_tx,
        _stop: stop_tx,
    };
    R::spawn(task.run(inbox_rx, command_rx).instrument(span));
    Ok(NodeHandle {
        commands: command_tx,
        events: event_rx,
        enode,
        enr,
        udp: udp_addr,
    })
}

impl NodeHandle {
    /// The node's enode URL (the bound address).
    pub fn enode(&self) -> Enode {
        self.enode
    }

    /// The node's discv5 record, when it runs discv5.
    pub fn local_enr(&self) -> Option<&Enr> {
        self.enr.as_ref()
    }

    /// The bound UDP address, when it runs discv5.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp
    }

    /// The next event; `None` once the node has stopped.
    pub async fn recv(&self) -> Option<Event> {
        self.events.recv().await.ok()
    }

    /// An event if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// Runs `f` on the node inside its task (any getter or command) and
    /// returns its result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Node, Timestamp) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (tx, rx) = async_channel::bounded(1);
        let call: Call = Box::new(move |node, now| {
            let _ = tx.try_send(f(node, now));
        });
        self.commands
            .send(Command::Call(call))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.recv().await.map_err(|_| NodeError::Stopped)
    }

    /// See [`Node::post`].
    pub async fn post(&self, post: Post) -> Result<[u8; 32], NodeError> {
        Ok(self.call(move |n, now| n.post(now, post)).await??)
    }

    /// See [`Node::subscribe`].
    pub async fn subscribe(&self, filter: Filter) -> Result<FilterId, NodeError> {
        self.call(move |n, now| n.subscribe(now, filter)).await
    }

    /// See [`Node::unsubscribe`].
    pub async fn unsubscribe(&self, id: FilterId) -> Result<bool, NodeError> {
        self.call(move |n, now| n.unsubscribe(now, id)).await
    }

    /// See [`Node::request_history`].
    pub async fn request_history(&self, request: HistoryRequest) -> Result<HistoryId, NodeError> {
        Ok(self
            .call(move |n, now| n.request_history(now, request))
            .await??)
    }

    /// See [`Node::add_static_peer`].
    pub async fn add_static_peer(&self, enode: Enode) -> Result<(), NodeError> {
        Ok(self
            .call(move |n, now| n.add_static_peer(now, enode))
            .await??)
    }

    /// See [`Node::remove_static_peer`].
    pub async fn remove_static_peer(&self, id: NodeId) -> Result<bool, NodeError> {
        Ok(self
            .call(move |n, now| n.remove_static_peer(now, &id))
            .await??)
    }

    /// The connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, NodeError> {
        self.call(|n, _| n.peers()).await
    }

    /// Peer management counters.
    pub async fn stats(&self) -> Result<Stats, NodeError> {
        self.call(|n, _| n.stats().clone()).await
    }

    /// Stops the node at once, as if its process died: no goodbye; each
    /// connection writes what it had queued and closes, so peers see the
    /// socket end. For tests of crash and restart.
    pub async fn kill(&self) {
        let (tx, rx) = async_channel::bounded(1);
        if self.commands.send(Command::Kill(tx)).await.is_ok() {
            let _ = rx.recv().await;
        }
    }

    /// Says goodbye to every peer, waits (at most the configured
    /// `shutdown_timeout`) for the goodbyes to be written, and stops the
    /// node. Returns once its task has ended.
    pub async fn shutdown(&self) {
        let (tx, rx) = async_channel::bounded(1);
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.recv().await;
        }
    }
}

struct NodeTask<R: Runtime> {
    node: Node,
    options: NodeOptions,
    conns: BTreeMap<ConnectionId, Sender<ToConn>>,
    inbox_tx: Sender<Inbound<R::Stream>>,
    udp: Option<Arc<R::Udp>>,
    events: Sender<Event>,
    /// Dropped when the task ends: the accept and UDP tasks stop.
    _stop: Sender<()>,
}

enum Wake<S> {
    Inbound(Inbound<S>),
    Command(Option<Command>),
    Timer,
}

impl<R: Runtime> NodeTask<R> {
    async fn run(mut self, inbox: Receiver<Inbound<R::Stream>>, commands: Receiver<Command>) {
        let mut inbox = pin!(inbox);
        let mut commands = pin!(commands);
        let mut timer = R::timer();
        let mut shutdown: Option<(Sender<()>, Timestamp)> = None;
        loop {
            self.drain().await;
            let now = os::now();
            if let Some((reply, deadline)) = &shutdown {
                if self.node.is_shut_down() || now >= *deadline {
                    debug!("stopped");
                    for (_, tx) in std::mem::take(&mut self.conns) {
                        let _ = tx.try_send(ToConn::Close);
                    }
                    let _ = reply.try_send(());
                    return;
                }
            }
            let mut wait = self.node.poll_timeout().map(|(t, why)| {
                trace!(why, at = %t, "next timeout");
                Duration::from_millis(t.as_millis().saturating_sub(now.as_millis()))
            });
            if let Some((_, deadline)) = &shutdown {
                let left =
                    Duration::from_millis(deadline.as_millis().saturating_sub(now.as_millis()));
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
            if wait == Some(Duration::ZERO) {
                self.node.handle_timeout(now);
                continue;
            }
            if let Some(w) = wait {
                R::set_timer(&mut timer, w);
            }
            let wake = poll_fn(|cx| {
                if let Poll::Ready(c) = commands.as_mut().poll_next(cx) {
                    return Poll::Ready(Wake::Command(c));
                }
                if let Poll::Ready(Some(i)) = inbox.as_mut().poll_next(cx) {
                    return Poll::Ready(Wake::Inbound(i));
                }
                if wait.is_some() && R::poll_timer(&mut timer, cx).is_ready() {
                    return Poll::Ready(Wake::Timer);
                }
                Poll::Pending
            })
            .await;
            let now = os::now();
            match wake {
                Wake::Timer => self.node.handle_timeout(now),
                Wake::Inbound(i) => self.on_inbound(now, i),
                Wake::Command(Some(Command::Call(f))) => f(&mut self.node, now),
                Wake::Command(Some(Command::Kill(reply))) => {
                    debug!("killed");
                    for (_, tx) in std::mem::take(&mut self.conns) {
                        let _ = tx.try_send(ToConn::Close);
                    }
                    let _ = reply.try_send(());
                    return;
                }
                Wake::Command(Some(Command::Shutdown(reply))) => {
                    self.node.shutdown(now);
                    let deadline = now.saturating_add(self.options.shutdown_timeout);
                    shutdown = Some((reply, deadline));
                }
                // Every handle is gone: nobody can use the node any more.
                Wake::Command(None) => {
                    if shutdown.is_none() {
                        self.node.shutdown(now);
                        let (reply, _) = async_channel::bounded(1);
                        let deadline = now.saturating_add(self.options.shutdown_timeout);
                        shutdown = Some((reply, deadline));
                    }
                }
            }
        }
    }

    fn on_inbound(&mut self, now: Timestamp, i: Inbound<R::Stream>) {
        match i {
            Inbound::Accepted(stream, addr) => match self.node.accept(now, addr) {
                Ok(conn) => self.spawn_conn(conn, stream, Direction::Inbound, addr),
                Err(e) => debug!(%addr, error = %e, "refused"),
            },
            Inbound::Dialled(conn, Ok(stream)) => {
                let addr = R::prepare(&stream).ok();
                if self
                    .node
                    .handle_input(now, Input::Connected { conn })
                    .is_ok()
                {
                    let addr = addr.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                    self.spawn_conn(conn, stream, Direction::Outbound, addr);
                }
                // else: the dial timed out meanwhile; the stream drops.
            }
            Inbound::Dialled(conn, Err(e)) => {
                debug!(%conn, error = %e, "dial failed");
                let _ = self.node.handle_input(now, Input::DialFailed { conn });
            }
            Inbound::Received(conn, data) => {
                let _ = self
                    .node
                    .handle_input(now, Input::Received { conn, data: &data });
            }
            Inbound::Written(conn, bytes) => {
                let _ = self.node.handle_input(now, Input::Written { conn, bytes });
            }
            Inbound::Closed(conn) => {
                if self.conns.remove(&conn).is_some() {
                    let _ = self.node.handle_input(now, Input::Closed { conn });
                }
            }
            Inbound::Datagram(from, data) => {
                let _ = self
                    .node
                    .handle_input(now, Input::Datagram { from, data: &data });
            }
            Inbound::Txt(name, Ok(answers)) => {
                let records: Vec<TxtRecord<'_>> = answers
                    .iter()
                    .map(|(ttl, text)| TxtRecord {
                        ttl_secs: *ttl,
                        text,
                    })
                    .collect();
                let _ = self.node.handle_input(
                    now,
                    Input::TxtAnswer {
                        name: &name,
                        records: &records,
                    },
                );
            }
            Inbound::Txt(name, Err(e)) => {
                debug!(%name, error = %e, "dns lookup failed");
                let _ = self
                    .node
                    .handle_input(now, Input::TxtFailed { name: &name });
            }
        }
    }

    fn spawn_conn(
        &mut self,
        conn: ConnectionId,
        stream: R::Stream,
        direction: Direction,
        addr: SocketAddr,
    ) {
        let (tx, rx) = async_channel::unbounded();
        self.conns.insert(conn, tx);
        let span = info_span!("conn", %conn, dir = direction.as_str(), peer = %addr);
        R::spawn(conn_task::<R>(conn, stream, rx, self.inbox_tx.clone()).instrument(span));
    }

    /// Carries out everything the node wants done.
    async fn drain(&mut self) {
        while let Some(o) = self.node.poll_output() {
            match o {
                Output::Dial { conn, addr } => {
                    let inbox = self.inbox_tx.clone();
                    R::spawn(async move {
                        let r = R::connect(addr).await;
                        let _ = inbox.send(Inbound::Dialled(conn, r)).await;
                    });
                }
                Output::Transmit { conn, data } => {
                    if let Some(tx) = self.conns.get(&conn) {
                        // Unbounded, but the node hands a connection at
                        // most `write_high_water` unwritten bytes.
                        let _ = tx.try_send(ToConn::Write(data));
                    }
                }
                Output::Close { conn } => {
                    if let Some(tx) = self.conns.remove(&conn) {
                        let _ = tx.try_send(ToConn::Close);
                    }
                }
                Output::Datagram { to, data } => {
                    if let Some(u) = self.udp.as_ref() {
                        if let Err(e) = R::try_send_to(u, &data, to) {
                            trace!(%to, error = %e, "datagram dropped");
                        }
                    }
                }
                Output::ResolveTxt { name } => match self.options.resolver.clone() {
                    Some(r) => {
                        let inbox = self.inbox_tx.clone();
                        R::spawn(async move {
                            let answer = r.resolve_txt(name.clone()).await;
                            let _ = inbox.send(Inbound::Txt(name, answer)).await;
                        });
                    }
                    None => {
                        let _ = self
                            .node
                            .handle_input(os::now(), Input::TxtFailed { name: &name });
                    }
                },
                Output::Rendezvous { id, server, .. } => {
                    // No libp2p transport here: the request fails, and the
                    // rendezvous client backs the server off.
                    trace!(id, %server, "rendezvous unsupported");
                    let _ = self
                        .node
                        .handle_input(os::now(), Input::RendezvousFailed { id });
                }
                Output::Event(e) => {
                    log_event(&e);
                    match self.events.try_send(e) {
                        Ok(()) | Err(TrySendError::Closed(_)) => {}
                        Err(TrySendError::Full(e)) => {
                            let _ = self.events.send(e).await;
                        }
                    }
                }
            }
        }
    }
}

fn log_event(e: &Event) {
    match e {
        Event::PeerConnected(p) => {
            debug!(conn = %p.conn, peer = %short(&p.node_id), client = %p.client_id, "peer up")
        }
        Event::PeerDisconnected {
            conn,
            node_id,
            cause,
        } => {
            debug!(%conn, peer = %short(node_id), ?cause, "peer down")
        }
        other => trace!(?other, "event"),
    }
}

fn short(id: &NodeId) -> String {
    id.0.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

async fn accept_task<R: Runtime>(
    listener: R::Listener,
    inbox: Sender<Inbound<R::Stream>>,
    stop: Receiver<()>,
) {
    loop {
        let accepted = {
            let accept = pin!(R::accept(&listener));
            let stopped = pin!(stop.recv());
            race(accept, stopped).await
        };
        match accepted {
            Either::Left(Ok(stream)) => {
                let addr = R::prepare(&stream).unwrap_or_else(|_| SocketAddr::from(([0; 4], 0)));
                if inbox.send(Inbound::Accepted(stream, addr)).await.is_err() {
                    return;
                }
            }
            Either::Left(Err(e)) => {
                debug!(error = %e, "accept failed");
                // EMFILE and friends: give the system a moment.
                let mut t = R::timer();
                R::set_timer(&mut t, Duration::from_millis(50));
                poll_fn(|cx| R::poll_timer(&mut t, cx)).await;
            }
            Either::Right(_) => return,
        }
    }
}

async fn udp_task<R: Runtime>(
    socket: Arc<R::Udp>,
    inbox: Sender<Inbound<R::Stream>>,
    stop: Receiver<()>,
) {
    let mut buf = vec![0u8; 2048];
    loop {
        let got = {
            let recv = pin!(R::recv_from(&socket, &mut buf));
            let stopped = pin!(stop.recv());
            race(recv, stopped).await
        };
        match got {
            Either::Left(Ok((n, from))) => {
                let data = buf.get(..n).unwrap_or_default().to_vec();
                if inbox.send(Inbound::Datagram(from, data)).await.is_err() {
                    return;
                }
            }
            // ICMP port unreachable and the like: keep receiving.
            Either::Left(Err(e)) => trace!(error = %e, "udp receive failed"),
            Either::Right(_) => return,
        }
    }
}

enum Either<A, B> {
    Left(A),
    Right(B),
}

async fn race<A: Future, B: Future>(
    mut a: Pin<&mut A>,
    mut b: Pin<&mut B>,
) -> Either<A::Output, B::Output> {
    poll_fn(|cx| {
        if let Poll::Ready(x) = a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(x));
        }
        if let Poll::Ready(x) = b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(x));
        }
        Poll::Pending
    })
    .await
}

enum ConnWake {
    Wrote(io::Result<usize>),
    Read(io::Result<usize>),
    Delivered,
    Command(Option<ToConn>),
}

/// One TCP connection: writes what the node hands it, reads what the
/// peer sends, and reports both to the node task.
async fn conn_task<R: Runtime>(
    conn: ConnectionId,
    mut stream: R::Stream,
    commands: Receiver<ToConn>,
    inbox: Sender<Inbound<R::Stream>>,
) {
    let mut commands = pin!(commands);
    let mut rbuf = vec![0u8; READ_CHUNK];
    let mut out: std::collections::VecDeque<Vec<u8>> = Default::default();
    let mut offset = 0usize;
    let mut unreported = 0usize;
    let mut closing = false;
    let mut delivering: Option<Pin<Box<dyn Future<Output = bool> + Send>>> = None;
    loop {
        if delivering.is_none() && unreported > 0 && !closing {
            match inbox.try_send(Inbound::Written(conn, unreported)) {
                Ok(()) => unreported = 0,
                Err(TrySendError::Closed(_)) => return,
                Err(TrySendError::Full(item)) => {
                    unreported = 0;
                    let inbox = inbox.clone();
                    delivering = Some(Box::pin(async move { inbox.send(item).await.is_ok() }));
                }
            }
        }
        if closing && out.is_empty() {
            break;
        }
        let wake = poll_fn(|cx: &mut Context<'_>| {
            if let Some(front) = out.front() {
                let pending = front.get(offset..).unwrap_or_default();
                if let Poll::Ready(r) = R::poll_write(&mut stream, cx, pending) {
                    return Poll::Ready(ConnWake::Wrote(r));
                }
            }
            if let Some(d) = delivering.as_mut() {
                if d.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(ConnWake::Delivered);
                }
            }
            if !closing {
                if let Poll::Ready(c) = commands.as_mut().poll_next(cx) {
                    return Poll::Ready(ConnWake::Command(c));
                }
            }
            if delivering.is_none() && !closing {
                if let Poll::Ready(r) = R::poll_read(&mut stream, cx, &mut rbuf) {
                    return Poll::Ready(ConnWake::Read(r));
                }
            }
            Poll::Pending
        })
        .await;
        match wake {
            ConnWake::Wrote(Ok(0))
            | ConnWake::Wrote(Err(_))
            | ConnWake::Read(Ok(0))
            | ConnWake::Read(Err(_)) => {
                trace!("socket closed");
                if !closing {
                    if let Some(d) = delivering.take() {
                        d.await;
                    }
                    let _ = inbox.send(Inbound::Closed(conn)).await;
                }
                return;
            }
            ConnWake::Wrote(Ok(n)) => {
                offset += n;
                unreported += n;
                if out.front().is_some_and(|f| offset >= f.len()) {
                    out.pop_front();
                    offset = 0;
                }
            }
            ConnWake::Read(Ok(n)) => {
                let data = rbuf.get(..n).unwrap_or_default().to_vec();
                match inbox.try_send(Inbound::Received(conn, data)) {
                    Ok(()) => {}
                    Err(TrySendError::Closed(_)) => return,
                    Err(TrySendError::Full(item)) => {
                        let inbox = inbox.clone();
                        delivering = Some(Box::pin(async move { inbox.send(item).await.is_ok() }));
                    }
                }
            }
            ConnWake::Delivered => delivering = None,
            ConnWake::Command(Some(ToConn::Write(data))) => out.push_back(data),
            // Closed by the node, or the node task is gone.
            ConnWake::Command(Some(ToConn::Close)) | ConnWake::Command(None) => closing = true,
        }
    }
    // Flushed: send FIN, then read until the peer's, so that closing with
    // unread bytes cannot reset the connection before the peer has read
    // our goodbye.
    let mut timer = R::timer();
    R::set_timer(&mut timer, CLOSE_TIMEOUT);
    let mut shut = false;
    poll_fn(|cx| {
        if R::poll_timer(&mut timer, cx).is_ready() {
            return Poll::Ready(());
        }
        if !shut {
            match R::poll_shutdown(&mut stream, cx) {
                Poll::Ready(Ok(())) => shut = true,
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
        loop {
            match R::poll_read(&mut stream, cx, &mut rbuf) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(_)) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
    trace!("closed");
}
