//! The crate's one error type: what a caller did wrong, or why a command
//! could not be carried out. What a peer did wrong is not an error of the
//! caller: it ends that peer's connection and arrives as
//! [`Event::PeerDisconnected`](crate::Event::PeerDisconnected) with its
//! [`Cause`](crate::Cause).

use crate::ConnectionId;

/// Why a call into the [`Node`](crate::Node) failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection is not (or no longer) known: input that raced a
    /// [`Output::Close`](crate::Output::Close) is answered with this and
    /// can be ignored.
    #[error("unknown connection {0}")]
    UnknownConnection(ConnectionId),
    /// The input does not fit the connection's state (bytes for a
    /// connection still being dialled, `Connected` twice, ...).
    #[error("connection {conn} is {state}: {input} does not apply")]
    WrongState {
        /// The connection.
        conn: ConnectionId,
        /// Its state.
        state: &'static str,
        /// The input given.
        input: &'static str,
    },
    /// An inbound connection was refused: this many handshakes are
    /// already in flight ([`Config::max_pending_inbound`](crate::Config)).
    #[error("too many pending inbound connections ({max})")]
    TooManyPending {
        /// The limit.
        max: usize,
    },
    /// The node is shutting down and takes no new connections or commands.
    #[error("node is shutting down")]
    ShuttingDown,
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A history request was made without a mailserver client
    /// ([`ConfigBuilder::mailserver_client`](crate::ConfigBuilder::mailserver_client)).
    #[error("no mailserver client configured")]
    NoMailserverClient,
    /// Too many history requests are waiting for a mailserver.
    #[error("too many history requests ({max})")]
    TooManyHistoryRequests {
        /// The limit.
        max: usize,
    },
    /// The Waku machine refused a post, filter or request.
    #[error("waku: {0}")]
    Waku(#[from] status_waku::Error),
    /// A discovery machine refused a command (unknown topic, too many
    /// DNS trees, ...).
    #[error("discovery: {0}")]
    Discovery(#[from] status_discovery::Error),
    /// The discv5 machine refused a command or its configuration.
    #[error("discv5: {0}")]
    Discv5(#[from] status_discovery::discv5::Error),
    /// A fleet file could not be read.
    #[error("fleet config: {0}")]
    Fleet(String),
}
