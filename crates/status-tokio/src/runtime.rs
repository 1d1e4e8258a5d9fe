//! [`Runtime`] for Tokio: its TCP types, `Sleep` and `tokio::spawn`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use status_driver::Runtime;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::{Instant, Sleep};

/// The Tokio [`Runtime`]: connection tasks are spawned on the current Tokio
/// runtime (a `Connection` must be created inside one).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    type Stream = TcpStream;
    type Listener = TcpListener;
    type Timer = Pin<Box<Sleep>>;
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
        socket.try_send_to(buf, to)
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
        tokio::spawn(task);
    }

    fn poll_read(
        stream: &mut TcpStream,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(stream).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }

    fn poll_write(
        stream: &mut TcpStream,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(stream).poll_write(cx, buf)
    }

    fn poll_shutdown(stream: &mut TcpStream, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(stream).poll_shutdown(cx)
    }

    fn timer() -> Self::Timer {
        Box::pin(tokio::time::sleep(Duration::ZERO))
    }

    fn set_timer(timer: &mut Self::Timer, after: Duration) {
        timer.as_mut().reset(Instant::now() + after);
    }

    fn poll_timer(timer: &mut Self::Timer, cx: &mut Context<'_>) -> Poll<()> {
        timer.as_mut().poll(cx)
    }
}
