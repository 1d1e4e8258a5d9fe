//! What goes into a [`Node`](crate::Node) and what comes out: the types of
//! the machine's one door in ([`Input`]) and one door out ([`Output`]).

use std::fmt;
use std::net::SocketAddr;

use status_core::{Enode, NodeId, PublicKey, SecretKey};
use status_discovery::dnsdisc::TxtRecord;
use status_rlpx::p2p::{Capability, DisconnectReason};
use status_waku::node::{Delivered, DropReason};
use status_waku::peer::Protocol;
use status_waku::Topic;

/// A TCP connection of the node. The node hands these out
/// ([`Node::accept`](crate::Node::accept), [`Output::Dial`]) and never
/// reuses one; the caller only passes them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(pub(crate) u64);

impl ConnectionId {
    /// The number behind the id (for logs and maps).
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// An id as the fuzz target and tests need to name one the node may
    /// have handed out; a node never hands out an id twice.
    #[doc(hidden)]
    pub fn from_u64(n: u64) -> Self {
        ConnectionId(n)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// Something that happened to the node's sockets or lookups.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// The TCP connection of an [`Output::Dial`] is up.
    Connected {
        /// The connection.
        conn: ConnectionId,
    },
    /// The TCP connection of an [`Output::Dial`] could not be made.
    DialFailed {
        /// The connection.
        conn: ConnectionId,
    },
    /// Bytes were read from a connection.
    Received {
        /// The connection.
        conn: ConnectionId,
        /// What the socket read, in order.
        data: &'a [u8],
    },
    /// The socket took `bytes` more of what [`Output::Transmit`] gave for
    /// this connection: the node hands out more only while fewer than
    /// [`Config::write_high_water`](crate::Config) are unwritten.
    Written {
        /// The connection.
        conn: ConnectionId,
        /// How many bytes.
        bytes: usize,
    },
    /// The socket closed (end of stream from the peer, or an error). The
    /// node forgets the connection and emits no [`Output::Close`] for it.
    Closed {
        /// The connection.
        conn: ConnectionId,
    },
    /// A UDP datagram arrived (discv5).
    Datagram {
        /// Its source.
        from: SocketAddr,
        /// Its bytes.
        data: &'a [u8],
    },
    /// The answer to an [`Output::ResolveTxt`].
    TxtAnswer {
        /// The name that was asked for.
        name: &'a str,
        /// Its TXT records (each record's strings joined).
        records: &'a [TxtRecord<'a>],
    },
    /// An [`Output::ResolveTxt`] failed (NXDOMAIN, no answer, timeout).
    TxtFailed {
        /// The name that was asked for.
        name: &'a str,
    },
    /// The answer of a rendezvous server to an [`Output::Rendezvous`].
    RendezvousResponse {
        /// The request id.
        id: u64,
        /// The response message.
        data: &'a [u8],
    },
    /// An [`Output::Rendezvous`] could not be carried out (the drivers of
    /// this workspace have no libp2p transport and answer every one so).
    RendezvousFailed {
        /// The request id.
        id: u64,
    },
}

/// What the node wants done. Drain [`Node::poll_output`](crate::Node::poll_output)
/// after every call into the node, until it returns `None`.
#[derive(Debug)]
#[must_use]
pub enum Output {
    /// Open a TCP connection to `addr` and answer with
    /// [`Input::Connected`] or [`Input::DialFailed`].
    Dial {
        /// The connection this will be.
        conn: ConnectionId,
        /// Where to connect.
        addr: SocketAddr,
    },
    /// Write these bytes on the connection, after those given before; tell
    /// the node with [`Input::Written`] as the socket takes them.
    Transmit {
        /// The connection.
        conn: ConnectionId,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Write what is still queued for the connection, then close it. The
    /// node has forgotten it: input for it is answered with
    /// [`Error::UnknownConnection`](crate::Error::UnknownConnection).
    Close {
        /// The connection.
        conn: ConnectionId,
    },
    /// Send a UDP datagram (discv5).
    Datagram {
        /// Where to.
        to: SocketAddr,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Look up the TXT records of `name`; answer with
    /// [`Input::TxtAnswer`] or [`Input::TxtFailed`].
    ResolveTxt {
        /// The DNS name.
        name: String,
    },
    /// Send a rendezvous message on a `/rend/0.1.0` stream to `server`;
    /// answer with [`Input::RendezvousResponse`] or
    /// [`Input::RendezvousFailed`].
    Rendezvous {
        /// The request id.
        id: u64,
        /// The server's multiaddr.
        server: String,
        /// The encoded message.
        message: Vec<u8>,
    },
    /// Something for the application.
    Event(Event),
}

/// Who opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We dialled.
    Outbound,
    /// The peer dialled us.
    Inbound,
}

impl Direction {
    /// `"outbound"` or `"inbound"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }
}

/// A connected peer, as [`Event::PeerConnected`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerInfo {
    /// Its connection.
    pub conn: ConnectionId,
    /// Its node id.
    pub node_id: NodeId,
    /// Its socket address.
    pub addr: SocketAddr,
    /// Who dialled.
    pub direction: Direction,
    /// The client id from its Hello.
    pub client_id: String,
    /// The capabilities from its Hello.
    pub capabilities: Vec<Capability>,
    /// The subprotocol we speak with it.
    pub protocol: Protocol,
    /// Whether it is a Waku light node.
    pub light: bool,
    /// Whether it is our mailserver (trusted for P2P Messages).
    pub mailserver: bool,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Cause {
    /// A Disconnect message was sent or received.
    Disconnect {
        /// Its reason.
        reason: DisconnectReason,
        /// Whether the peer sent it.
        by_peer: bool,
    },
    /// The RLPx session failed: bad MAC, malformed frame, handshake
    /// failure, ping or handshake timeout.
    Rlpx(status_rlpx::Error),
    /// The Waku machine dropped the peer (malformed packet, flood past
    /// the rate limits, Status timeout, two light nodes).
    Waku(DropReason),
    /// The socket closed under us ([`Input::Closed`]).
    SocketClosed,
    /// The dial failed or timed out.
    DialFailed,
    /// The peer is kept off for misbehaving earlier.
    Banned,
}

impl Cause {
    /// Whether this cause keeps the peer off for
    /// [`Config::ban_duration`](crate::Config): it sent what no honest
    /// peer sends, flooded us, shares no capability, or is a light node
    /// meeting our light node.
    pub fn is_misbehaviour(&self) -> bool {
        match self {
            Cause::Rlpx(e) => !matches!(
                e,
                status_rlpx::Error::Timeout(_) | status_rlpx::Error::NotConnected
            ),
            Cause::Waku(r) => !matches!(r, DropReason::StatusTimeout),
            Cause::Disconnect { reason, by_peer } => {
                !by_peer && matches!(reason, DisconnectReason::UselessPeer)
            }
            _ => false,
        }
    }
}

/// Something for the application.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A peer finished the RLPx and Waku handshakes.
    PeerConnected(PeerInfo),
    /// A peer that was connected is gone.
    PeerDisconnected {
        /// Its connection.
        conn: ConnectionId,
        /// Its node id.
        node_id: NodeId,
        /// Why.
        cause: Cause,
    },
    /// An envelope matched an installed filter and its key opened it.
    Message(Box<Delivered>),
    /// A mailserver is connected and trusted: history requests go to it.
    MailserverAvailable {
        /// Its connection.
        conn: ConnectionId,
        /// Its enode.
        enode: Enode,
    },
    /// The mailserver is gone; requests wait for the next one.
    MailserverUnavailable {
        /// Its node id.
        node_id: NodeId,
    },
    /// A page of a history request was served and more follow (its
    /// messages came before this, as [`Event::Message`]s with `p2p` set):
    /// progress for the application.
    HistoryPage {
        /// The request.
        request: HistoryId,
        /// Pages served so far.
        pages: u32,
    },
    /// A history request was served to its end (every page).
    HistoryComplete {
        /// The request.
        request: HistoryId,
        /// Pages it took.
        pages: u32,
    },
    /// (Mailserver role) a new envelope was accepted: archive it. `raw`
    /// is its RLP as received; `hash` its keccak256.
    Archive {
        /// The envelope hash.
        hash: [u8; 32],
        /// The envelope's RLP.
        raw: bytes::Bytes,
    },
    /// (Mailserver role) a peer asked for history with a P2P Request:
    /// answer with [`Node::send_p2p_messages`](crate::Node::send_p2p_messages)
    /// and [`Node::send_p2p_request_complete`](crate::Node::send_p2p_request_complete).
    MailserverRequest {
        /// The peer's connection.
        conn: ConnectionId,
        /// Its node id.
        node_id: NodeId,
        /// The subprotocol it asked on.
        protocol: Protocol,
        /// The request envelope; `None` for status-go's direct form, whose
        /// RLP is `payload`.
        envelope: Option<status_waku::Envelope>,
        /// The packet payload as received.
        payload: bytes::Bytes,
    },
    /// A history request could not be served.
    HistoryFailed {
        /// The request.
        request: HistoryId,
        /// Why.
        error: HistoryError,
    },
}

/// Why a history request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HistoryError {
    /// No mailserver answered within the timeout, after this many tries.
    Timeout {
        /// Mailservers tried.
        attempts: u32,
    },
    /// The mailserver refused the request.
    Refused(String),
    /// The request envelope could not be built (PoW budget).
    Build(String),
}

/// A history request, as [`Node::request_history`](crate::Node::request_history)
/// returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HistoryId(pub(crate) u64);

impl HistoryId {
    /// The number behind the id.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// What to ask a mailserver for (status-11 "Requesting messages").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest {
    /// Topics of interest.
    pub topics: Vec<Topic>,
    /// Lower bound, Unix seconds.
    pub from: u32,
    /// Upper bound, Unix seconds.
    pub to: u32,
}

/// How a posted message is encrypted.
#[derive(Debug, Clone)]
pub enum PostKey {
    /// A symmetric key (public chats, a topic's key).
    Symmetric([u8; 32]),
    /// A recipient's public key.
    Asymmetric(PublicKey),
}

/// A message for the node to wrap, seal and route: what the Messenger
/// emits (topic, key or recipient, payload).
#[derive(Debug, Clone)]
pub struct Post {
    /// The envelope's topic.
    pub topic: Topic,
    /// The key.
    pub key: PostKey,
    /// The payload.
    pub payload: Vec<u8>,
    /// Signs the message when set (the sender's identity key).
    pub signer: Option<SecretKey>,
    /// TTL in seconds; `None` takes [`Config::post_ttl`](crate::Config).
    pub ttl: Option<u32>,
    /// PoW target; `None` takes our own requirement.
    pub pow_target: Option<f64>,
}

impl Post {
    /// A message to `topic`, encrypted with `key`, at the defaults.
    pub fn new(topic: Topic, key: PostKey, payload: impl Into<Vec<u8>>) -> Self {
        Post {
            topic,
            key,
            payload: payload.into(),
            signer: None,
            ttl: None,
            pow_target: None,
        }
    }
}

/// Counters of what the node did about its peers (the Waku machine's own
/// are in [`Node::waku_stats`](crate::Node::waku_stats)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inbound connections accepted.
    pub accepted: u64,
    /// Inbound connections refused at once (pending limit, shutdown).
    pub refused: u64,
    /// Dials started.
    pub dials: u64,
    /// Dials that failed or timed out.
    pub dial_failures: u64,
    /// Sessions established (Hello exchanged).
    pub established: u64,
    /// Connections dropped as the losing duplicate of another.
    pub duplicates: u64,
    /// Established peers refused for `max_peers`.
    pub too_many_peers: u64,
    /// Peers kept off for misbehaving.
    pub banned: u64,
    /// Connections refused because their peer is kept off.
    pub refused_banned: u64,
    /// Waku packets not sent because a peer's send buffer was full.
    pub send_buffer_full: u64,
    /// Bytes read from connections ([`Input::Received`]): what came over
    /// the wire, RLPx framing included.
    pub bytes_received: u64,
    /// Bytes handed to connections to write ([`Output::Transmit`]).
    pub bytes_sent: u64,
}
