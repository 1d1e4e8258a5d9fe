//! One TCP connection as the node tracks it: how far it got (dialling,
//! RLPx handshake, established), its RLPx session, its Waku peer and
//! what the driver has not written yet.

use std::net::SocketAddr;

use status_core::{Enode, NodeId, Timestamp};
use status_rlpx::p2p::Hello;
use status_rlpx::session::Session;
use status_waku::peer::{PeerId, Protocol};

use crate::io::{Cause, Direction};

/// A dial the node started, and for whom.
#[derive(Debug, Clone)]
pub(crate) struct Dial {
    pub(crate) enode: Enode,
    /// The PeerPool topic that asked for it; the pool is told how it ended
    /// while this is set.
    pub(crate) pool: bool,
    /// The TCP connect must be up by then.
    pub(crate) deadline: Timestamp,
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) direction: Direction,
    pub(crate) addr: SocketAddr,
    pub(crate) dial: Option<Dial>,
    /// `None` while the TCP connect of a dial is in flight.
    pub(crate) session: Option<Box<Session>>,
    /// Known once Hello is exchanged.
    pub(crate) node_id: Option<NodeId>,
    pub(crate) hello: Option<Hello>,
    pub(crate) waku: Option<(PeerId, Protocol)>,
    /// The Waku Status arrived: the application was told of the peer.
    pub(crate) ready: bool,
    pub(crate) light: bool,
    /// Bytes given out in `Output::Transmit` not yet `Input::Written`.
    pub(crate) unwritten: usize,
    /// In the node's queue of connections to look at for output.
    pub(crate) queued: bool,
    /// The session is over (or never started): once its last bytes are
    /// out, `Output::Close` follows and the node forgets it.
    pub(crate) closing: bool,
    /// Why it ends, when the node decided it (else the session's reason).
    pub(crate) cause: Option<Cause>,
    /// Waku peer, maps and PeerPool were updated for its end.
    pub(crate) torn_down: bool,
}

impl Conn {
    pub(crate) fn new(direction: Direction, addr: SocketAddr) -> Self {
        Conn {
            direction,
            addr,
            dial: None,
            session: None,
            node_id: None,
            hello: None,
            waku: None,
            ready: false,
            light: false,
            unwritten: 0,
            queued: false,
            closing: false,
            cause: None,
            torn_down: false,
        }
    }

    pub(crate) fn state(&self) -> &'static str {
        if self.closing {
            "closing"
        } else if self.session.is_none() {
            "dialling"
        } else if self.node_id.is_none() {
            "handshaking"
        } else {
            "established"
        }
    }

    /// Still in the TCP connect or the RLPx handshake.
    pub(crate) fn is_pending(&self) -> bool {
        !self.closing && self.node_id.is_none()
    }
}
