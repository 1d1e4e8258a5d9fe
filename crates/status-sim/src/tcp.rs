//! Real [`status_node::Node`]s on the simulator's links, joined by
//! virtual TCP streams (feature `node`).
//!
//! A [`TcpNode`] is one Node, the bookkeeping of its connections, and an
//! [`App`] above it (a messenger, a mailserver role, a scenario's
//! counters) that sees every [`Event`] and may call the node back. Node
//! `i` listens on [`addr`]`(i)`; a dial to that address lands on node `i`.
//! Links should have a constant latency per pair so a stream stays in
//! order; a lost or cut packet breaks the stream, as TCP would.
//!
//! The core of status-sim knows no protocol; this module is the one
//! place that drives Nodes, so that the node's tests, examples and
//! benches share one harness instead of copies.
//!
//! ```
//! use std::time::Duration;
//! use status_core::{Enode, SecretKey, Timestamp};
//! use status_node::{Config, Node};
//! use status_sim::tcp::{addr, TcpNode};
//! use status_sim::{Sim, SimConfig, NodeIndex};
//!
//! let start = Timestamp::from_secs(1_700_000_000);
//! let key = |b| SecretKey::from_bytes(&[b; 32]).unwrap();
//! let mut sim = Sim::new(SimConfig { start, ..SimConfig::default() });
//! let b = Config::builder(key(2)).listen(addr(1)).min_pow(0.0).build()?;
//! let b_enode = Enode::new(&key(2).public_key(), addr(1));
//! let a = Config::builder(key(1)).listen(addr(0)).static_node(b_enode).build()?;
//! sim.add_node(TcpNode::new(Node::new(a, start, [1; 32])?, ()));
//! sim.add_node(TcpNode::new(Node::new(b, start, [2; 32])?, ()));
//! sim.with_node(NodeIndex(0), |n, ctx| n.drain(ctx)); // a dials b
//! sim.run_until(start + Duration::from_secs(5));
//! assert_eq!(sim.node(NodeIndex(0)).unwrap().node.peer_count(), 1);
//! assert!(sim.node(NodeIndex(1)).unwrap().rlpx_bytes_received > 0);
//! # Ok::<(), status_node::Error>(())
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use status_core::Timestamp;
use status_node::{ConnectionId, Event, Input, Node, Output};

use crate::{Ctx, NodeIndex};

/// Bytes of TCP/IP headers counted per packet on a link (not in
/// [`TcpNode::rlpx_bytes_received`]).
pub const TCP_OVERHEAD: usize = 40;

/// The listening address of node `i`: `10.x.y.z:30303` with `i` in the
/// last three bytes.
pub fn addr(i: u32) -> SocketAddr {
    let [_, x, y, z] = i.to_be_bytes();
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, x, y, z)), 30303)
}

/// The node listening on `a`, if `a` is one of [`addr`]'s.
pub fn index_of(a: SocketAddr) -> Option<NodeIndex> {
    match a.ip() {
        IpAddr::V4(ip) if a.port() == 30303 && ip.octets()[0] == 10 => {
            let [_, x, y, z] = ip.octets();
            Some(NodeIndex(u32::from_be_bytes([0, x, y, z])))
        }
        _ => None,
    }
}

/// What runs above a node: it hears each event and may act on the node
/// (post, answer a peer); it may want timeouts of its own.
pub trait App {
    /// `event` came out of `node` at `now`.
    fn on_event(&mut self, node: &mut Node, now: Timestamp, event: Event);

    /// When the app wants [`handle_timeout`](App::handle_timeout).
    fn poll_timeout(&self) -> Option<Timestamp> {
        None
    }

    /// The app's time came.
    fn handle_timeout(&mut self, node: &mut Node, now: Timestamp) {
        let _ = (node, now);
    }
}

/// No application: events are dropped.
impl App for () {
    fn on_event(&mut self, _: &mut Node, _: Timestamp, _: Event) {}
}

/// What travels on a simulated link: a TCP connection's life.
#[derive(Clone, Debug)]
pub enum Packet {
    /// SYN: the dialer's connection id.
    Connect {
        /// The dialer's id for the connection.
        dialer: u64,
    },
    /// SYN-ACK: the acceptor's id for it, or a refusal.
    Accept {
        /// The dialer's id.
        dialer: u64,
        /// The acceptor's id, `None` when refused.
        conn: Option<u64>,
    },
    /// Stream bytes, for the receiver's connection `conn`.
    Data {
        /// The receiver's connection id.
        conn: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// RST / FIN: the receiver's connection `conn` is over.
    Reset {
        /// The receiver's connection id.
        conn: u64,
    },
}

/// One Node, its virtual TCP connections and the app above it.
pub struct TcpNode<A> {
    /// The node.
    pub node: Node,
    /// The application above it.
    pub app: A,
    /// Stream bytes (RLPx) that reached the node.
    pub rlpx_bytes_received: u64,
    /// Stream bytes (RLPx) the node wrote.
    pub rlpx_bytes_sent: u64,
    /// Our connection -> (peer, its id for the same connection).
    links: BTreeMap<ConnectionId, (NodeIndex, Option<u64>)>,
    /// Bytes waiting for the peer's Accept.
    early: BTreeMap<ConnectionId, Vec<Vec<u8>>>,
}

impl<A: App> TcpNode<A> {
    /// `node` with `app` above it; call [`drain`](Self::drain) once it is
    /// in the simulator so that it dials its static peers.
    pub fn new(node: Node, app: A) -> Self {
        TcpNode {
            node,
            app,
            rlpx_bytes_received: 0,
            rlpx_bytes_sent: 0,
            links: BTreeMap::new(),
            early: BTreeMap::new(),
        }
    }

    /// Connections open (or being opened) at the TCP level.
    pub fn connections(&self) -> usize {
        self.links.len()
    }

    /// Drains the node's outputs onto the links and its events into the
    /// app; call it after every call into the node made from outside
    /// ([`Sim::with_node`](crate::Sim::with_node), a scheduled call).
    pub fn drain(&mut self, ctx: &mut Ctx<'_, Packet>) {
        let now = ctx.now();
        while let Some(o) = self.node.poll_output() {
            match o {
                Output::Dial { conn, addr } => match index_of(addr) {
                    Some(to) if to != ctx.me() => {
                        self.links.insert(conn, (to, None));
                        ctx.send(
                            to,
                            Packet::Connect {
                                dialer: conn.as_u64(),
                            },
                        );
                    }
                    _ => {
                        let _ = self.node.handle_input(now, Input::DialFailed { conn });
                    }
                },
                Output::Transmit { conn, data } => {
                    let _ = self.node.handle_input(
                        now,
                        Input::Written {
                            conn,
                            bytes: data.len(),
                        },
                    );
                    match self.links.get(&conn) {
                        Some((to, Some(remote))) => {
                            self.rlpx_bytes_sent += data.len() as u64;
                            ctx.send(
                                *to,
                                Packet::Data {
                                    conn: *remote,
                                    bytes: data,
                                },
                            );
                        }
                        Some((_, None)) => self.early.entry(conn).or_default().push(data),
                        None => {}
                    }
                }
                Output::Close { conn } => {
                    self.early.remove(&conn);
                    if let Some((to, Some(remote))) = self.links.remove(&conn) {
                        ctx.send(to, Packet::Reset { conn: remote });
                    }
                }
                Output::Event(e) => self.app.on_event(&mut self.node, now, e),
                _ => {}
            }
        }
    }

    /// Breaks every connection at once (the process stops or the device
    /// goes away): the peers hear a reset, the node `Closed`.
    pub fn drop_connections(&mut self, ctx: &mut Ctx<'_, Packet>) {
        let now = ctx.now();
        for (conn, (to, remote)) in std::mem::take(&mut self.links) {
            if let Some(remote) = remote {
                ctx.send(to, Packet::Reset { conn: remote });
            }
            self.early.remove(&conn);
            let _ = self.node.handle_input(now, Input::Closed { conn });
        }
        self.drain(ctx);
    }

    fn local(&self, peer: NodeIndex, remote: u64) -> Option<ConnectionId> {
        self.links
            .iter()
            .find(|(_, (p, r))| *p == peer && *r == Some(remote))
            .map(|(c, _)| *c)
    }

    fn closed(&mut self, now: Timestamp, conn: ConnectionId) {
        self.links.remove(&conn);
        self.early.remove(&conn);
        let _ = self.node.handle_input(now, Input::Closed { conn });
    }
}

impl<A: App> crate::Node for TcpNode<A> {
    type Packet = Packet;

    fn handle_packet(&mut self, ctx: &mut Ctx<'_, Packet>, from: NodeIndex, p: Packet) {
        let now = ctx.now();
        match p {
            Packet::Connect { dialer } => match self.node.accept(now, addr(from.0)) {
                Ok(conn) => {
                    self.links.insert(conn, (from, Some(dialer)));
                    ctx.send(
                        from,
                        Packet::Accept {
                            dialer,
                            conn: Some(conn.as_u64()),
                        },
                    );
                }
                Err(_) => ctx.send(from, Packet::Accept { dialer, conn: None }),
            },
            Packet::Accept { dialer, conn } => {
                let ours = ConnectionId::from_u64(dialer);
                match (conn, self.links.get_mut(&ours)) {
                    (Some(remote), Some(link)) => {
                        link.1 = Some(remote);
                        for bytes in self.early.remove(&ours).unwrap_or_default() {
                            self.rlpx_bytes_sent += bytes.len() as u64;
                            ctx.send(
                                from,
                                Packet::Data {
                                    conn: remote,
                                    bytes,
                                },
                            );
                        }
                        if self
                            .node
                            .handle_input(now, Input::Connected { conn: ours })
                            .is_err()
                        {
                            // The dial timed out meanwhile.
                            self.links.remove(&ours);
                            ctx.send(from, Packet::Reset { conn: remote });
                        }
                    }
                    (Some(remote), None) => ctx.send(from, Packet::Reset { conn: remote }),
                    (None, _) => {
                        self.links.remove(&ours);
                        let _ = self
                            .node
                            .handle_input(now, Input::DialFailed { conn: ours });
                    }
                }
            }
            Packet::Data { conn, bytes } => {
                let conn = ConnectionId::from_u64(conn);
                if self.links.contains_key(&conn) {
                    self.rlpx_bytes_received += bytes.len() as u64;
                    let _ = self
                        .node
                        .handle_input(now, Input::Received { conn, data: &bytes });
                }
            }
            Packet::Reset { conn } => {
                let conn = ConnectionId::from_u64(conn);
                if self.links.contains_key(&conn) {
                    self.closed(now, conn);
                }
            }
        }
        self.drain(ctx);
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Packet>) {
        let now = ctx.now();
        if self.node.poll_timeout().is_some_and(|(t, _)| t <= now) {
            self.node.handle_timeout(now);
        }
        if self.app.poll_timeout().is_some_and(|t| t <= now) {
            self.app.handle_timeout(&mut self.node, now);
        }
        self.drain(ctx);
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        let node = self.node.poll_timeout().map(|(t, _)| t);
        match (node, self.app.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn packet_size(p: &Packet) -> usize {
        match p {
            Packet::Data { bytes, .. } => bytes.len() + TCP_OVERHEAD,
            _ => TCP_OVERHEAD,
        }
    }

    /// A lost segment breaks the connection (TCP gives up; it never shows
    /// a gap): both ends learn it, the far one through the reset (if that
    /// gets through) or its own next loss or ping timeout.
    fn handle_lost(&mut self, ctx: &mut Ctx<'_, Packet>, to: NodeIndex, p: Packet) {
        let now = ctx.now();
        let conn = match p {
            Packet::Connect { dialer } => {
                let c = ConnectionId::from_u64(dialer);
                self.links.remove(&c);
                let _ = self.node.handle_input(now, Input::DialFailed { conn: c });
                None
            }
            Packet::Accept { dialer, conn } => conn.and_then(|_| self.local(to, dialer)),
            Packet::Data { conn, .. } | Packet::Reset { conn } => self.local(to, conn),
        };
        if let Some(c) = conn {
            if let Some((_, Some(remote))) = self.links.get(&c).copied() {
                ctx.send(to, Packet::Reset { conn: remote });
            }
            self.closed(now, c);
        }
        self.drain(ctx);
    }
}
