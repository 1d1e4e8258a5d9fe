//! One Status node as one sans-IO machine (1/CLIENT "Node types",
//! 6/WAKU1, status-11): many RLPx sessions, one Waku router, the PeerPool
//! fed by static nodes, EIP-1459 DNS lists, discv5 and rendezvous, and the
//! relayer, light-node and mailserver-client roles.
//!
//! [`Node`] owns one [`status_rlpx::session::Session`] per connection and
//! one [`status_waku::Waku`], drains them inside its own calls and turns
//! their output into its own: a Waku packet for a peer becomes bytes on
//! that peer's connection, a PeerPool decision a dial, a discovery answer
//! a PeerPool candidate. It never opens a socket, reads a clock or asks
//! the OS for randomness: the caller (a driver: `status-tokio`,
//! `status-smol`, or a simulation) does the I/O and passes the time.
//!
//! # The run loop
//!
//! After every call into the node — [`Node::handle_input`],
//! [`Node::accept`], [`Node::handle_timeout`] or a command — drain
//! [`Node::poll_output`] until it returns `None`:
//!
//! - [`Output::Dial`]: open a TCP connection, answer [`Input::Connected`]
//!   or [`Input::DialFailed`];
//! - [`Output::Transmit`]: write the bytes, report [`Input::Written`] as
//!   the socket takes them;
//! - [`Output::Close`]: write what is queued, then close;
//! - [`Output::Datagram`], [`Output::ResolveTxt`], [`Output::Rendezvous`]:
//!   send, look up, ask, and feed the answer back;
//! - [`Output::Event`]: peers up and down, messages for filters, history
//!   and mailserver news for the application.
//!
//! Then sleep until [`Node::poll_timeout`] or the next socket event. Each
//! accepted TCP connection gets its id from [`Node::accept`]; bytes read go
//! in as [`Input::Received`], end of stream as [`Input::Closed`].
//!
//! Two nodes joined in memory, a message posted on one reaching a filter
//! on the other:
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::time::Duration;
//! use status_core::{SecretKey, Timestamp};
//! use status_node::{Config, ConnectionId, Event, Input, Node, Output, Post, PostKey};
//! use status_waku::filter::Filter;
//! use status_waku::Topic;
//!
//! let key = |b| SecretKey::from_bytes(&[b; 32]).unwrap();
//! let addr = |p| std::net::SocketAddr::from(([127, 0, 0, 1], p));
//! let mut now = Timestamp::from_secs(1_700_000_000);
//! let b_config = Config::builder(key(2)).listen(addr(30302)).min_pow(0.0).build()?;
//! let b_enode = b_config.enode().unwrap();
//! let mut b = Node::new(b_config, now, [2; 32])?;
//! let a_config = Config::builder(key(1)).static_node(b_enode).min_pow(0.0).build()?;
//! let mut a = Node::new(a_config, now, [1; 32])?;
//!
//! let (topic, chat_key) = (Topic::from_name("chat"), [9u8; 32]);
//! b.subscribe(now, Filter::symmetric(vec![topic], chat_key));
//!
//! // The "network": a's dial lands on b; bytes are moved until both are
//! // quiet, then time moves on to the next deadline.
//! let mut links: BTreeMap<ConnectionId, ConnectionId> = BTreeMap::new(); // a's conn -> b's
//! let mut got = Vec::new();
//! for _ in 0..200 {
//!     let mut moved = true;
//!     while moved {
//!         moved = false;
//!         while let Some(o) = a.poll_output() {
//!             moved = true;
//!             match o {
//!                 Output::Dial { conn, addr } => {
//!                     links.insert(conn, b.accept(now, addr)?);
//!                     a.handle_input(now, Input::Connected { conn })?;
//!                 }
//!                 Output::Transmit { conn, data } => {
//!                     a.handle_input(now, Input::Written { conn, bytes: data.len() })?;
//!                     b.handle_input(now, Input::Received { conn: links[&conn], data: &data })?;
//!                 }
//!                 _ => {}
//!             }
//!         }
//!         while let Some(o) = b.poll_output() {
//!             moved = true;
//!             match o {
//!                 Output::Transmit { conn, data } => {
//!                     b.handle_input(now, Input::Written { conn, bytes: data.len() })?;
//!                     let a_conn = links.iter().find(|(_, bc)| **bc == conn).map(|(ac, _)| *ac);
//!                     a.handle_input(now, Input::Received { conn: a_conn.unwrap(), data: &data })?;
//!                 }
//!                 Output::Event(Event::Message(m)) => got.push(m.message.payload().to_vec()),
//!                 _ => {}
//!             }
//!         }
//!     }
//!     if a.peer_count() == 1 && got.is_empty() && a.peers()[0].node_id == b.node_id() {
//!         a.post(now, Post::new(topic, PostKey::Symmetric(chat_key), b"hello"))?;
//!     }
//!     if !got.is_empty() {
//!         break;
//!     }
//!     let next = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().map(|(t, _)| t).min();
//!     now = next.unwrap_or(now).max(now + Duration::from_millis(1));
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! assert_eq!(got, [b"hello".to_vec()]);
//! # Ok::<(), status_node::Error>(())
//! ```
//!
//! # Peer management
//!
//! The PeerPool ([`status_discovery::peerpool`]) decides whom to dial per
//! topic (`whisper` relays, `whispermail` mailservers) within its min/max;
//! the node adds what status-go's p2p server does around it: at most
//! [`Config::max_peers`] established peers (an inbound one past that hears
//! `TooManyPeers`), at most [`Config::max_pending_inbound`] inbound
//! handshakes ([`Node::accept`] refuses more), dial deadlines, and a list
//! of peers kept off for [`Config::ban_duration`] after they misbehaved
//! (see [`Cause::is_misbehaviour`]). Two connections to one node id (both
//! sides dialled at once) are resolved the same way on both sides: the
//! one dialled by the smaller node id stays.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod connection;
mod error;
mod history;
mod io;
mod node;

pub use config::{
    Config, ConfigBuilder, Discv5Config, Fleet, MailserverClientConfig, Role,
    DEFAULT_MAILSERVER_PASSWORD, DEFAULT_MAX_PEERS, DEFAULT_MAX_PENDING,
};
pub use error::Error;
pub use io::{
    Cause, ConnectionId, Direction, Event, HistoryError, HistoryId, HistoryRequest, Input, Output,
    PeerInfo, Post, PostKey, Stats,
};
pub use node::Node;
