//! The connection task: owns the socket and the session machine and does
//! nothing but I/O (the run loop of `status_rlpx::session`), through the
//! [`Runtime`] the driver crate supplies.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_channel::{Receiver, Sender, TrySendError};
use bytes::Bytes;
use futures_core::Stream;
use status_core::Timestamp;
use status_rlpx::p2p::{DisconnectReason, SharedCapability};
use status_rlpx::session::{self, Session};
use tracing::{debug, trace};

use crate::connection::Established;
use crate::{os, DriverError, Event, Message, Runtime};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 << 10;
/// Commands are taken only while fewer unsent bytes than this are queued:
/// the backpressure [`Handle::send`](crate::Handle::send) waits on.
const SEND_HIGH_WATER: usize = 256 << 10;
/// Longest a close may take to flush the goodbye and see the peer's end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A one-shot reply: a channel of one.
pub(crate) type Reply<T> = Sender<T>;

/// What the application asks of the task.
#[derive(Debug)]
pub(crate) enum Command {
    Send {
        /// Index into the shared capabilities.
        cap: usize,
        code: u64,
        payload: Bytes,
        reply: Reply<Result<(), DriverError>>,
    },
    Ping {
        reply: Reply<Result<Duration, DriverError>>,
    },
    Disconnect {
        reason: DisconnectReason,
        reply: Reply<()>,
    },
}

/// The session plus the bookkeeping that routes its events: everything
/// the task owns except the socket and the channels.
pub(crate) struct Machine {
    session: Session,
    ready: Option<Reply<Result<Established, DriverError>>>,
    closed: Arc<OnceLock<DriverError>>,
    shared: Arc<[SharedCapability]>,
    established: bool,
    ping_waiters: Vec<Reply<Result<Duration, DriverError>>>,
    disconnect_waiters: Vec<Reply<()>>,
}

impl Machine {
    pub(crate) fn new(
        session: Session,
        ready: Reply<Result<Established, DriverError>>,
        closed: Arc<OnceLock<DriverError>>,
    ) -> Self {
        Machine {
            session,
            ready: Some(ready),
            closed,
            shared: Arc::from(Vec::new()),
            established: false,
            ping_waiters: Vec::new(),
            disconnect_waiters: Vec::new(),
        }
    }

    /// Routes one session event; returns what the application should see.
    fn on_event(&mut self, event: session::Event) -> Option<Event> {
        match event {
            session::Event::Established { hello, shared } => {
                debug!(client = %hello.client_id, caps = ?hello.capabilities, "established");
                tracing::Span::current().record("remote", tracing::field::debug(hello.node_id));
                self.established = true;
                self.shared = Arc::from(shared);
                let remote = self.session.remote().copied();
                if let (Some(ready), Some(remote)) = (self.ready.take(), remote) {
                    let shared = self.shared.clone();
                    // A closed receiver means `connect` was cancelled; its
                    // command sender is gone too, so the loop disconnects.
                    let _ = ready.try_send(Ok(Established {
                        hello,
                        shared,
                        remote,
                    }));
                }
                None
            }
            session::Event::Message { cap, code, payload } => {
                let cap = self
                    .shared
                    .get(cap)
                    .map(|s| s.cap.name.clone())
                    .unwrap_or_default();
                Some(Event::Message(Message { cap, code, payload }))
            }
            session::Event::Pong { rtt } => {
                trace!(?rtt, "pong");
                if self.ping_waiters.is_empty() {
                    return Some(Event::Pong { rtt });
                }
                for waiter in self.ping_waiters.drain(..) {
                    let _ = waiter.try_send(Ok(rtt));
                }
                None
            }
            session::Event::Closed {
                reason,
                by_peer,
                error,
            } => {
                let error = error
                    .map(|e| DriverError::from_close(Some(e), reason, by_peer, self.established));
                Some(self.finish(reason, by_peer, error))
            }
        }
    }

    /// Records how the connection ended and fails whoever waits on it;
    /// returns the final [`Event::Closed`].
    fn finish(
        &mut self,
        reason: DisconnectReason,
        by_peer: bool,
        error: Option<DriverError>,
    ) -> Event {
        debug!(%reason, by_peer, error = ?error, "closed");
        let as_error = error
            .clone()
            .unwrap_or(DriverError::Disconnected { reason, by_peer });
        let _ = self.closed.set(as_error.clone());
        if let Some(ready) = self.ready.take() {
            let _ = ready.try_send(Err(as_error.clone()));
        }
        for waiter in self.ping_waiters.drain(..) {
            let _ = waiter.try_send(Err(as_error.clone()));
        }
        Event::Closed {
            reason,
            by_peer,
            error,
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Send {
                cap,
                code,
                payload,
                reply,
            } => {
                let result = match self.shared.get(cap) {
                    Some(s) => self
                        .session
                        .send(&s.cap.name, code, &payload)
                        .map_err(DriverError::Rejected),
                    None => Err(DriverError::Rejected(status_rlpx::Error::NotConnected)),
                };
                let _ = reply.try_send(result);
            }
            Command::Ping { reply } => {
                // One Ping answers every caller waiting now: the session
                // tracks a single outstanding Ping.
                if self.ping_waiters.is_empty() {
                    self.session.ping(os::now());
                }
                self.ping_waiters.push(reply);
            }
            Command::Disconnect { reason, reply } => {
                self.session.disconnect(reason);
                self.disconnect_waiters.push(reply);
            }
        }
    }
}

/// What woke the run loop.
enum Wake {
    Wrote(io::Result<usize>),
    Read(io::Result<usize>),
    Delivered,
    Command(Option<Command>),
    Timer,
}

/// The run loop: after every step, move the session's bytes into `out`,
/// hand its events on, re-arm the timer, then wait for whichever comes
/// first of: the socket writable (while bytes are pending), room in the
/// event channel (while an event waits), the socket readable (while no
/// event waits), a command (while below the high-water mark), the
/// session's deadline.
pub(crate) async fn run<R: Runtime>(
    mut m: Machine,
    mut stream: R::Stream,
    commands: Receiver<Command>,
    events: Sender<Event>,
) {
    let mut commands = pin!(commands);
    let mut rbuf = vec![0u8; READ_CHUNK];
    let mut out: Vec<u8> = Vec::new();
    let mut written = 0usize;
    // An application event on its way into the full channel; while it
    // waits nothing is read, so the session's own queue stays short.
    let mut delivering: Option<Pin<Box<dyn Future<Output = bool> + Send + '_>>> = None;
    // The socket failed under us (the session was still open).
    let mut failure: Option<(DriverError, bool)> = None;
    let mut timer = R::timer();
    let mut last_fired: Option<Timestamp> = None;
    // Alternates which of reading and commands is polled first, so that a
    // peer that keeps the socket readable cannot starve the application.
    let mut commands_first = false;

    loop {
        // Take the session's bytes only once ours are written: what the
        // socket has not taken yet stays in the session, whose limits
        // (`max_send_buffer`, dropped Pongs for a peer that never reads)
        // then bound it. With `out` empty this is a swap, not a copy.
        if written == out.len() {
            out.clear();
            written = 0;
            m.session.poll_transmit(&mut out);
        }

        while delivering.is_none() {
            let Some(event) = m.session.poll_event() else {
                break;
            };
            if let Some(event) = m.on_event(event) {
                match events.try_send(event) {
                    Ok(()) | Err(TrySendError::Closed(_)) => {}
                    Err(TrySendError::Full(event)) => {
                        let events = &events;
                        delivering =
                            Some(Box::pin(async move { events.send(event).await.is_ok() }));
                    }
                }
            }
        }
        if m.session.is_closed() {
            break;
        }

        let now = os::now();
        let wait = match m.session.poll_timeout() {
            Some((deadline, why)) if deadline <= now && last_fired != Some(deadline) => {
                trace!(why, "timeout");
                last_fired = Some(deadline);
                m.session.handle_timeout(now);
                continue;
            }
            // Due but not acted on last time: try again in a moment rather
            // than spin.
            Some((deadline, _)) if deadline <= now => Some(Duration::from_millis(1)),
            Some((deadline, _)) => Some(Duration::from_millis(
                deadline.as_millis().saturating_sub(now.as_millis()),
            )),
            None => None,
        };
        if let Some(wait) = wait {
            R::set_timer(&mut timer, wait);
        }
        let room = out.len() - written + m.session.pending_transmit() < SEND_HIGH_WATER;
        commands_first = !commands_first;

        let wake = poll_fn(|cx| {
            if let Some(pending) = out.get(written..).filter(|p| !p.is_empty()) {
                if let Poll::Ready(r) = R::poll_write(&mut stream, cx, pending) {
                    return Poll::Ready(Wake::Wrote(r));
                }
            }
            if let Some(send) = delivering.as_mut() {
                if send.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Delivered);
                }
            }
            let mut poll_command = |cx: &mut Context<'_>| {
                if room {
                    if let Poll::Ready(c) = commands.as_mut().poll_next(cx) {
                        return Some(Wake::Command(c));
                    }
                }
                None
            };
            if commands_first {
                if let Some(wake) = poll_command(cx) {
                    return Poll::Ready(wake);
                }
            }
            if delivering.is_none() {
                if let Poll::Ready(r) = R::poll_read(&mut stream, cx, &mut rbuf) {
                    return Poll::Ready(Wake::Read(r));
                }
            }
            if !commands_first {
                if let Some(wake) = poll_command(cx) {
                    return Poll::Ready(wake);
                }
            }
            if wait.is_some() && R::poll_timer(&mut timer, cx).is_ready() {
                return Poll::Ready(Wake::Timer);
            }
            Poll::Pending
        })
        .await;

        match wake {
            Wake::Wrote(Ok(0)) => {
                failure = Some((io::Error::from(io::ErrorKind::WriteZero).into(), false));
                break;
            }
            Wake::Wrote(Ok(n)) => written += n,
            Wake::Read(Ok(0)) => {
                failure = Some((io::Error::from(io::ErrorKind::UnexpectedEof).into(), true));
                break;
            }
            Wake::Read(Ok(n)) => {
                let data = rbuf.get(..n).unwrap_or_default();
                // An error also arrives as `Event::Closed`.
                if let Err(e) = m.session.handle_input(os::now(), data) {
                    debug!(error = %e, "session failed");
                }
            }
            Wake::Wrote(Err(e)) | Wake::Read(Err(e)) => {
                failure = Some((e.into(), false));
                break;
            }
            // Sent, or the application dropped its receiver: either way
            // the event is gone.
            Wake::Delivered => delivering = None,
            Wake::Command(Some(command)) => m.on_command(command),
            // The Connection and every Handle are gone.
            Wake::Command(None) => m.session.disconnect(DisconnectReason::Requested),
            Wake::Timer => {
                let now = os::now();
                if let Some((deadline, why)) = m.session.poll_timeout() {
                    if deadline <= now {
                        trace!(why, "timeout");
                        last_fired = Some(deadline);
                    }
                }
                m.session.handle_timeout(now);
            }
        }
    }

    // ---- closing ---------------------------------------------------------
    // Stop taking commands: senders now see the close reason.
    commands.close();
    let final_event = match failure {
        Some((error, by_peer)) => {
            debug!(error = %error, "socket failed");
            Some(m.finish(DisconnectReason::TcpError, by_peer, Some(error)))
        }
        None => {
            // Flush the goodbye, send our FIN and wait for the peer's, so
            // that closing with unread bytes cannot reset the connection
            // before the peer has read our Disconnect.
            m.session.poll_transmit(&mut out);
            match close::<R>(
                &mut stream,
                out.get(written..).unwrap_or_default(),
                &mut rbuf,
            )
            .await
            {
                Ok(()) => trace!("closed cleanly"),
                Err(e) => debug!(error = %e, "error while closing"),
            }
            None
        }
    };
    drop(stream);
    for waiter in m.disconnect_waiters.drain(..) {
        let _ = waiter.try_send(());
    }
    // Whatever the application has not seen yet, in order, waiting for it
    // to make room (or to drop its receiver).
    if let Some(send) = delivering.take() {
        send.await;
    }
    while let Some(event) = m.session.poll_event() {
        if let Some(event) = m.on_event(event) {
            let _ = events.send(event).await;
        }
    }
    if let Some(event) = final_event {
        let _ = events.send(event).await;
    }
    // Commands that raced the close: their senders see the close reason.
    while let Ok(command) = commands.try_recv() {
        drop(command);
    }
}

/// Writes `pending`, sends FIN and reads until the peer's, all within
/// [`CLOSE_TIMEOUT`].
async fn close<R: Runtime>(
    stream: &mut R::Stream,
    mut pending: &[u8],
    rbuf: &mut [u8],
) -> io::Result<()> {
    let mut timer = R::timer();
    R::set_timer(&mut timer, CLOSE_TIMEOUT);
    let mut shut = false;
    poll_fn(|cx| {
        if R::poll_timer(&mut timer, cx).is_ready() {
            return Poll::Ready(Err(io::Error::from(io::ErrorKind::TimedOut)));
        }
        while !pending.is_empty() {
            match R::poll_write(stream, cx, pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => pending = pending.get(n..).unwrap_or_default(),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if !shut {
            match R::poll_shutdown(stream, cx) {
                Poll::Ready(Ok(())) => shut = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        loop {
            match R::poll_read(stream, cx, rbuf) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await
}
