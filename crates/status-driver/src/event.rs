//! What a [`Connection`](crate::Connection) reports to the application.

use std::time::Duration;

use bytes::Bytes;
use status_rlpx::p2p::DisconnectReason;

use crate::DriverError;

/// A capability message from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Name of the capability it belongs to (`"waku"`).
    pub cap: String,
    /// Message code relative to the capability (Waku's Messages is 1).
    pub code: u64,
    /// The message data, decompressed.
    pub payload: Bytes,
}

/// One thing that happened on a connection, in wire order.
#[derive(Debug, Clone)]
pub enum Event {
    /// A capability message arrived.
    Message(Message),
    /// A Pong answered a keep-alive Ping the session sent by itself (Pongs
    /// for [`Connection::ping`](crate::Connection::ping) go to its caller).
    Pong {
        /// Round-trip time, at the millisecond resolution of `Timestamp`.
        rtt: Duration,
    },
    /// The connection is over; it is the last event.
    Closed {
        /// The Disconnect reason sent or received (`TcpError` when the
        /// socket failed without one).
        reason: DisconnectReason,
        /// Whether the peer ended it.
        by_peer: bool,
        /// What went wrong, or `None` for a clean Disconnect.
        error: Option<DriverError>,
    },
}

/// Who opened the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// We dialed (the RLPx initiator).
    Outbound,
    /// The peer dialed us (the RLPx recipient).
    Inbound,
}

impl Direction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }
}
