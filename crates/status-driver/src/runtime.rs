//! What a driver crate supplies: sockets, a timer and a way to spawn.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;

/// An async runtime as the connection task needs it: a TCP stream it can
/// poll, a resettable timer and a way to spawn a task.
///
/// Implemented by a zero-sized marker type in each driver crate
/// (`status_tokio::Tokio`, `status_smol::Smol`); applications use
/// [`Connection<R>`](crate::Connection) through that crate's alias and
/// never call these functions themselves.
pub trait Runtime: Sized + 'static {
    /// A connected TCP stream.
    type Stream: Send + 'static;
    /// A bound TCP listener.
    type Listener: Send + Sync + 'static;
    /// A bound UDP socket (discv5).
    type Udp: Send + Sync + 'static;
    /// A one-shot timer that can be re-armed.
    type Timer: Send + 'static;

    /// Opens a TCP connection to `addr`.
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Binds a TCP listener on `addr` (port 0: any free port).
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;
    /// The address `listener` is bound to.
    fn listener_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;
    /// Binds a UDP socket on `addr`.
    fn bind_udp(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Udp>> + Send;
    /// The address `socket` is bound to.
    fn udp_addr(socket: &Self::Udp) -> io::Result<SocketAddr>;
    /// Receives one datagram.
    fn recv_from<'a>(
        socket: &'a Self::Udp,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send + 'a;
    /// Sends one datagram if the socket has room now (UDP may drop it
    /// anyway; so does this when the socket is busy).
    fn try_send_to(socket: &Self::Udp, buf: &[u8], to: SocketAddr) -> io::Result<usize>;
    /// Accepts one TCP connection on `listener`.
    fn accept(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// The peer's address of `stream`; also disables Nagle's algorithm on it.
    fn prepare(stream: &Self::Stream) -> io::Result<SocketAddr>;
    /// Runs `task` to completion in the background.
    fn spawn(task: impl Future<Output = ()> + Send + 'static);

    /// Reads into `buf`; `Ok(0)` is end of stream.
    fn poll_read(
        stream: &mut Self::Stream,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>>;
    /// Writes a prefix of `buf`, returning how much was taken.
    fn poll_write(
        stream: &mut Self::Stream,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>>;
    /// Flushes the stream and shuts down its write half (sends FIN).
    fn poll_shutdown(stream: &mut Self::Stream, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// A timer that is not armed.
    fn timer() -> Self::Timer;
    /// Arms `timer` to fire `after` from now (re-arming it if it was).
    fn set_timer(timer: &mut Self::Timer, after: Duration);
    /// Whether `timer` has fired since it was last armed.
    fn poll_timer(timer: &mut Self::Timer, cx: &mut Context<'_>) -> Poll<()>;
}
