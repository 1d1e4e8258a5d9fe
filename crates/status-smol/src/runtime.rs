//! [`Runtime`] for smol: its TCP types, `Timer` and the global executor.

use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use smol::io::{AsyncRead, AsyncWrite};
use smol::net::{TcpListener, TcpStream, UdpSocket};
use smol::Timer;
use status_driver::Runtime;

/// The smol [`Runtime`]: connection tasks are spawned on smol's global
/// executor ([`smol::spawn`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Smol;

impl Runtime for Smol {
    type Stream = TcpStream;
    type Listener = TcpListener;
    type Timer = Timer;
    type Udp = UdpSocket;

    async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind(addr).await
    }

    fn listener_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
        UdpSocket::bind(addr).await
    }

    fn udp_addr(socket: &UdpSocket) -> io::Result<SocketAddr> {
        socket.local_addr()
    }

    async fn recv_from<'a>(
        socket: &'a UdpSocket,
        buf: &'a mut [u8],
    ) -> io::Result<(usize, SocketAddr)> {
        socket.recv_from(buf).await
    }

    fn try_send_to(socket: &UdpSocket, buf: &[u8], to: SocketAddr) -> io::Result<usize> {
        // async-net sockets are non-blocking: a full buffer is WouldBlock.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match std::pin::pin!(socket.send_to(buf, to)).poll(&mut cx) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect(addr).await
    }

    async fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
        Ok(listener.accept().await?.0)
    }

    fn prepare(stream: &TcpStream) -> io::Result<SocketAddr> {
        stream.set_nodelay(true)?;
        stream.peer_addr()
    }

    fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(task).detach();
    }

    fn poll_read(
        stream: &mut TcpStream,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(stream).poll_read(cx, buf)
    }

    fn poll_write(
        stream: &mut TcpStream,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(stream).poll_write(cx, buf)
    }

    fn poll_shutdown(stream: &mut TcpStream, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut *stream).poll_flush(cx))?;
        Poll::Ready(stream.shutdown(Shutdown::Write))
    }

    fn timer() -> Timer {
        Timer::never()
    }

    fn set_timer(timer: &mut Timer, after: Duration) {
        timer.set_after(after);
    }

    fn poll_timer(timer: &mut Timer, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(timer).poll(cx).map(|_| ())
    }
}
