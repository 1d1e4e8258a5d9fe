//! Tokio driver for status-rs: one [`Connection`] runs one sans-IO
//! [`status_rlpx::session::Session`] over a TCP socket.
//!
//! The driver does I/O and nothing else; the connection, its run loop and
//! event routing live in the runtime-agnostic [`status_driver`], and this
//! crate supplies Tokio's sockets, timer and spawn ([`Tokio`]). A task
//! spawned per connection owns the socket and the session; it feeds the
//! session what the socket read, writes what [`Session::poll_transmit`](status_rlpx::session::Session::poll_transmit)
//! yields, arms one timer at [`Session::poll_timeout`](status_rlpx::session::Session::poll_timeout)
//! and reads the wall clock and the OS RNG for it. Framing, Ping/Pong and
//! timeouts are the session's. Everything in between is bounded: commands
//! wait while the socket is behind, and the task stops reading while the
//! application is not taking events, so TCP pushes back on the peer.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use status_core::{Enode, SecretKey};
//! use status_rlpx::p2p::{CapabilityConfig, DisconnectReason};
//! use status_rlpx::session::Config;
//! use status_tokio::{Connection, Event};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Arc::new(Config {
//!     capabilities: vec![CapabilityConfig { cap: "waku/1".parse()?, length: 128 }],
//!     ..Config::default()
//! });
//! let key = SecretKey::from_hex(&"11".repeat(32))?;
//! let enode: Enode = "enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@127.0.0.1:30303".parse()?;
//!
//! let mut conn = Connection::connect(config, key, &enode).await?;
//! println!("{} speaks {:?}", conn.hello().client_id, conn.shared_capabilities());
//! println!("rtt {:?}", conn.ping().await?);
//! conn.send("waku", 1, vec![0xc0]).await?;
//!
//! // A Handle sends from another task while this one receives.
//! let handle = conn.handle();
//! tokio::spawn(async move {
//!     tokio::time::sleep(std::time::Duration::from_secs(10)).await;
//!     handle.disconnect(DisconnectReason::Requested).await
//! });
//! while let Some(event) = conn.recv().await {
//!     match event {
//!         Event::Message(m) => println!("{}/{}: {} bytes", m.cap, m.code, m.payload.len()),
//!         Event::Pong { rtt } => println!("keep-alive rtt {rtt:?}"),
//!         Event::Closed { reason, by_peer, error } => {
//!             println!("closed: {reason} (by peer: {by_peer}, error: {error:?})")
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "jsonrpc")]
mod jsonrpc;
mod runtime;

#[cfg(feature = "jsonrpc")]
pub use jsonrpc::{EthClient, EthClientError};

pub use runtime::Tokio;
pub use status_driver::dns::HickoryTxt;
pub use status_driver::node::{NodeError, NodeHandle, NodeOptions, TxtResolver};
pub use status_driver::{Direction, DriverError, Event, Handle, Message};

/// Runs a whole [`status_node::Node`] on the current Tokio runtime: binds
/// its TCP listener (and UDP socket for discv5), spawns its tasks and
/// returns the handle. DNS TXT look-ups go to `options.resolver`
/// ([`HickoryTxt`], hickory-resolver).
pub async fn start_node(
    config: status_node::Config,
    options: NodeOptions,
) -> std::io::Result<NodeHandle> {
    status_driver::node::start::<Tokio>(config, options).await
}

/// An established RLPx connection, run by a task spawned on the current
/// Tokio runtime: [`status_driver::Connection`] over [`Tokio`].
///
/// The TCP connect of [`Connection::connect`] is bounded only by the OS;
/// wrap the call in `tokio::time::timeout` for a tighter limit.
///
/// Two endpoints over loopback TCP, in one process:
///
/// ```
/// use std::sync::Arc;
///
/// use status_core::{Enode, SecretKey};
/// use status_rlpx::p2p::{CapabilityConfig, DisconnectReason};
/// use status_rlpx::session::Config;
/// use status_tokio::{Connection, Event};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let config = Arc::new(Config {
///     capabilities: vec![CapabilityConfig { cap: "waku/1".parse()?, length: 128 }],
///     ..Config::default()
/// });
/// let (client_key, server_key) = (SecretKey::from_bytes(&[1; 32])?, SecretKey::from_bytes(&[2; 32])?);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let enode = Enode::new(&server_key.public_key(), listener.local_addr()?);
///
/// let server_config = config.clone();
/// let server = tokio::spawn(async move {
///     let mut conn = Connection::accept(server_config, server_key, &listener).await?;
///     // echo the first message back
///     while let Some(event) = conn.recv().await {
///         if let Event::Message(m) = event {
///             conn.send(&m.cap, m.code, m.payload).await?;
///             break;
///         }
///     }
///     Ok::<_, status_tokio::DriverError>(conn)
/// });
///
/// let mut client = Connection::connect(config, client_key, &enode).await?;
/// assert_eq!(client.remote_key(), &enode.public_key()?);
/// client.ping().await?;
/// client.send("waku", 1, vec![0xc0]).await?;
/// let echoed = loop {
///     match client.recv().await {
///         Some(Event::Message(m)) => break m,
///         Some(_) => continue, // a keep-alive Pong
///         None => panic!("closed early"),
///     }
/// };
/// assert_eq!((echoed.cap.as_str(), echoed.code, &echoed.payload[..]), ("waku", 1, &[0xc0][..]));
///
/// client.disconnect(DisconnectReason::Requested).await?;
/// let mut server = server.await??;
/// let mut closed = None;
/// while let Some(event) = server.recv().await {
///     if let Event::Closed { reason, by_peer, .. } = event {
///         closed = Some((reason, by_peer));
///     }
/// }
/// assert_eq!(closed, Some((DisconnectReason::Requested, true)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
pub type Connection = status_driver::Connection<Tokio>;
