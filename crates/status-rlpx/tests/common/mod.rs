//! Test harness for the session machine, after quinn-proto's `Pair`: two
//! [`Session`]s (initiator `a`, recipient `b`) on one virtual clock, with a
//! link between them that can deliver in arbitrary chunks or be cut; and a
//! [`RawPeer`] that speaks RLPx by hand (handshake and frame codec driven
//! directly) to put on the wire what a well-behaved session never sends.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{NodeId, PublicKey, SecretKey, Timestamp};
use status_rlpx::frame::FrameCodec;
use status_rlpx::handshake::{AuthFormat, Initiator, Recipient};
use status_rlpx::p2p::{self, Capability, CapabilityConfig, DisconnectReason, Hello};
use status_rlpx::session::{Config, Event, Session};
use status_rlpx::Error;

/// Where the virtual clock starts.
pub const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

pub fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32]).expect("valid key")
}

pub fn caps(list: &[&str]) -> Vec<CapabilityConfig> {
    list.iter()
        .map(|c| CapabilityConfig {
            cap: c.parse().expect("capability"),
            length: 128,
        })
        .collect()
}

/// A config speaking `list` (128 message ids each), defaults otherwise.
pub fn config(list: &[&str]) -> Config {
    Config {
        client_id: "status-rs-test".into(),
        capabilities: caps(list),
        ..Config::default()
    }
}

/// A deterministic, poorly compressible payload of `len` bytes.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// One direction of the link.
#[derive(Debug, Default)]
pub struct Link {
    /// Bytes written by the sender, not yet delivered.
    pub in_flight: VecDeque<u8>,
    /// Delivery sizes, used in turn and cycled (`usize::MAX`: everything).
    pub chunks: Vec<usize>,
    next_chunk: usize,
    /// Every byte ever written in this direction.
    pub total: usize,
}

impl Link {
    fn next_len(&mut self) -> usize {
        if self.chunks.is_empty() {
            return usize::MAX;
        }
        let n = self.chunks[self.next_chunk % self.chunks.len()].max(1);
        self.next_chunk += 1;
        n
    }
}

/// Which session of a [`Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// Two sessions, a virtual clock and a link; see the module docs.
pub struct Pair {
    pub now: Timestamp,
    /// The initiator.
    pub a: Session,
    /// The recipient.
    pub b: Session,
    pub a_key: SecretKey,
    pub b_key: SecretKey,
    /// a → b.
    pub ab: Link,
    /// b → a.
    pub ba: Link,
    /// Whether the link carries bytes; once cut, written bytes vanish.
    pub link_up: bool,
    /// Events drained from `a` and `b`, in order.
    pub a_events: Vec<Event>,
    pub b_events: Vec<Event>,
    /// Errors `handle_input` returned.
    pub a_errors: Vec<Error>,
    pub b_errors: Vec<Error>,
}

impl Pair {
    /// `a` (keyed 0x0a) dials `b` (keyed 0x0b); nothing moves yet.
    pub fn new(a_config: Config, b_config: Config) -> Pair {
        Self::with_seeds(a_config, b_config, [0xa1; 32], [0xb1; 32])
    }

    pub fn with_seeds(
        a_config: Config,
        b_config: Config,
        a_seed: [u8; 32],
        b_seed: [u8; 32],
    ) -> Pair {
        let (a_key, b_key) = (key(0x0a), key(0x0b));
        let a = Session::initiator(
            Arc::new(a_config),
            a_key.clone(),
            b_key.public_key(),
            T0,
            a_seed,
        );
        let b = Session::recipient(Arc::new(b_config), b_key.clone(), T0, b_seed);
        Pair {
            now: T0,
            a,
            b,
            a_key,
            b_key,
            ab: Link::default(),
            ba: Link::default(),
            link_up: true,
            a_events: Vec::new(),
            b_events: Vec::new(),
            a_errors: Vec::new(),
            b_errors: Vec::new(),
        }
    }

    /// Both sides speak `list`, with default settings.
    pub fn speaking(list: &[&str]) -> Pair {
        Self::new(config(list), config(list))
    }

    /// Handshake and Hello exchanged; events drained and checked.
    pub fn established(a_config: Config, b_config: Config) -> Pair {
        let mut pair = Self::new(a_config, b_config);
        pair.drive();
        assert!(pair.a.is_established(), "a: {:?}", pair.a_events);
        assert!(pair.b.is_established(), "b: {:?}", pair.b_events);
        assert!(matches!(pair.a_events.remove(0), Event::Established { .. }));
        assert!(matches!(pair.b_events.remove(0), Event::Established { .. }));
        pair
    }

    /// Delivers in chunks of `n` bytes (1: byte by byte) in both directions.
    pub fn chunked(mut self, n: usize) -> Pair {
        self.ab.chunks = vec![n];
        self.ba.chunks = vec![n];
        self
    }

    pub fn session(&mut self, side: Side) -> &mut Session {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    pub fn events(&mut self, side: Side) -> &mut Vec<Event> {
        match side {
            Side::A => &mut self.a_events,
            Side::B => &mut self.b_events,
        }
    }

    /// Cuts the link: nothing in flight or written later arrives.
    pub fn drop_link(&mut self) {
        self.link_up = false;
        self.ab.in_flight.clear();
        self.ba.in_flight.clear();
    }

    /// Moves what the sessions wrote onto the link and their events into
    /// the event lists.
    fn collect(&mut self) {
        let mut buf = Vec::new();
        for (session, link, events) in [
            (&mut self.a, &mut self.ab, &mut self.a_events),
            (&mut self.b, &mut self.ba, &mut self.b_events),
        ] {
            buf.clear();
            let n = session.poll_transmit(&mut buf);
            assert_eq!(n, buf.len(), "poll_transmit reports what it moved");
            assert_eq!(session.pending_transmit(), 0, "poll_transmit drains");
            link.total += n;
            if self.link_up {
                link.in_flight.extend(&buf);
            }
            while let Some(event) = session.poll_event() {
                events.push(event);
            }
        }
    }

    /// One round: collect, then deliver one chunk each way. Returns whether
    /// any byte moved.
    pub fn step(&mut self) -> bool {
        self.collect();
        let now = self.now;
        let mut moved = false;
        for (link, session, errors) in [
            (&mut self.ab, &mut self.b, &mut self.b_errors),
            (&mut self.ba, &mut self.a, &mut self.a_errors),
        ] {
            if link.in_flight.is_empty() {
                continue;
            }
            let n = link.next_len().min(link.in_flight.len());
            let chunk: Vec<u8> = link.in_flight.drain(..n).collect();
            if let Err(e) = session.handle_input(now, &chunk) {
                errors.push(e);
            }
            moved = true;
        }
        self.collect();
        moved
    }

    /// Steps until nothing is in flight and nobody has anything to send.
    pub fn drive(&mut self) {
        for _ in 0..100_000_000u64 {
            if !self.step() {
                return;
            }
        }
        panic!("pair did not go idle");
    }

    /// The earliest deadline of either session.
    pub fn next_timeout(&self) -> Option<(Timestamp, &'static str)> {
        [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min_by_key(|(t, _)| *t)
    }

    /// Moves the clock to the next deadline, fires the timers that are due
    /// and drives the pair; returns the reason of the deadline reached.
    pub fn advance_to_next_timeout(&mut self) -> Option<&'static str> {
        let (deadline, why) = self.next_timeout()?;
        self.now = self.now.max(deadline);
        self.fire_due();
        self.drive();
        Some(why)
    }

    /// Moves the clock by `d` without delivering anything, firing the
    /// timers that fall due (at the new time).
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.fire_due();
    }

    fn fire_due(&mut self) {
        let now = self.now;
        for session in [&mut self.a, &mut self.b] {
            if let Some((deadline, _)) = session.poll_timeout() {
                if deadline <= now {
                    session.handle_timeout(now);
                }
            }
        }
        self.collect();
    }

    /// The one `Closed` event of `side`; panics if there is not exactly one.
    pub fn closed(&self, side: Side) -> (DisconnectReason, bool, Option<Error>) {
        let events = match side {
            Side::A => &self.a_events,
            Side::B => &self.b_events,
        };
        let closed: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Closed {
                    reason,
                    by_peer,
                    error,
                } => Some((*reason, *by_peer, error.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(closed.len(), 1, "{side:?} events: {events:?}");
        assert!(
            matches!(events.last(), Some(Event::Closed { .. })),
            "Closed is the last event of {side:?}: {events:?}"
        );
        closed.into_iter().next().expect("one Closed")
    }
}

/// Our Hello for `key` speaking `list`, as a session would send it.
pub fn hello(key: &SecretKey, list: &[&str], protocol_version: u64) -> Hello {
    Hello {
        protocol_version,
        client_id: "raw-peer".into(),
        capabilities: list
            .iter()
            .map(|c| c.parse::<Capability>().expect("capability"))
            .collect(),
        listen_port: 0,
        node_id: key.public_key().node_id(),
    }
}

/// An RLPx peer driven by hand: handshake and [`FrameCodec`] used directly,
/// so a test can put any frame on the wire.
pub struct RawPeer {
    pub key: SecretKey,
    pub codec: FrameCodec,
    /// Bytes received from the session, not yet decoded.
    pub rx: Vec<u8>,
}

impl RawPeer {
    /// Dials `session` (a recipient holding `session_key`) by hand. Returns
    /// the peer and the session's Hello, decoded from its answer.
    pub fn dial(
        session: &mut Session,
        session_key: &PublicKey,
        key: SecretKey,
        format: AuthFormat,
    ) -> (RawPeer, Hello) {
        let mut rng = ChaCha20Rng::from_seed([0x77; 32]);
        let initiator = Initiator::new(&mut rng, key.clone(), *session_key, format);
        session
            .handle_input(T0, initiator.auth_packet())
            .expect("auth accepted");
        let mut wire = Vec::new();
        session.poll_transmit(&mut wire);
        let (done, used) = initiator
            .handle_ack(&wire)
            .expect("valid ack")
            .expect("whole ack");
        let mut peer = RawPeer {
            key,
            codec: FrameCodec::new(done.secrets, status_rlpx::frame::MAX_FRAME_SIZE),
            rx: wire[used..].to_vec(),
        };
        let frames = peer.recv(&[]).expect("session frames decode");
        assert_eq!(frames.len(), 1, "exactly the session's Hello");
        assert_eq!(frames[0].0, p2p::HELLO);
        let hello = Hello::decode(&frames[0].1).expect("session Hello");
        (peer, hello)
    }

    /// Accepts `session` (an initiator dialing `key`) by hand. Returns the
    /// peer and the bytes to feed the session (ack only: no Hello yet).
    pub fn accept(session: &mut Session, key: SecretKey) -> (RawPeer, Vec<u8>) {
        let mut auth = Vec::new();
        session.poll_transmit(&mut auth);
        let recipient = Recipient::new(key.clone());
        let (parsed, used) = recipient
            .read_auth(&auth)
            .expect("valid auth")
            .expect("whole auth");
        assert_eq!(used, auth.len());
        let mut rng = ChaCha20Rng::from_seed([0x78; 32]);
        let (ack, done) = recipient.respond(&mut rng, &parsed, &auth);
        let peer = RawPeer {
            key,
            codec: FrameCodec::new(done.secrets, status_rlpx::frame::MAX_FRAME_SIZE),
            rx: Vec::new(),
        };
        (peer, ack)
    }

    /// One frame carrying `code` and `payload`, ready for the wire.
    pub fn frame(&mut self, code: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.codec.encode(code, payload, &mut out).expect("encode");
        out
    }

    /// A Hello frame (uncompressed, as Hello always is).
    pub fn hello_frame(&mut self, hello: &Hello) -> Vec<u8> {
        self.frame(p2p::HELLO, &hello.encode())
    }

    /// Turns snappy on, as after a Hello exchange between two v5 peers.
    pub fn snappy(&mut self) {
        self.codec
            .set_snappy(true, status_rlpx::frame::MAX_FRAME_SIZE);
    }

    /// Takes bytes from the session and decodes every whole frame.
    pub fn recv(&mut self, bytes: &[u8]) -> Result<Vec<(u64, Vec<u8>)>, Error> {
        self.rx.extend_from_slice(bytes);
        let mut frames = Vec::new();
        while let Some(frame) = self.codec.decode(&mut self.rx)? {
            let consumed = frame.consumed;
            frames.push((frame.code, frame.payload.to_vec()));
            self.rx.drain(..consumed);
        }
        Ok(frames)
    }

    /// Takes everything `session` has to send and decodes it.
    pub fn recv_from(&mut self, session: &mut Session) -> Result<Vec<(u64, Vec<u8>)>, Error> {
        let mut wire = Vec::new();
        session.poll_transmit(&mut wire);
        self.recv(&wire)
    }
}

/// A recipient session keyed 0x0b speaking `list`, and a raw peer (keyed
/// 0x0c) that has dialed it, completed the handshake and read its Hello, but
/// sent no Hello yet.
pub fn raw_dialer(b_config: Config) -> (Session, RawPeer, Hello) {
    let b_key = key(0x0b);
    let mut session = Session::recipient(Arc::new(b_config), b_key.clone(), T0, [0xb1; 32]);
    let (peer, hello) = RawPeer::dial(
        &mut session,
        &b_key.public_key(),
        key(0x0c),
        AuthFormat::Eip8,
    );
    (session, peer, hello)
}

/// [`raw_dialer`], then the raw peer's Hello (`list`, p2p v5) is delivered
/// and snappy turned on if the session announced v5 too: an established
/// session and a raw peer at ease.
pub fn raw_established(b_config: Config, list: &[&str]) -> (Session, RawPeer) {
    let (mut session, mut peer, session_hello) = raw_dialer(b_config);
    let h = hello(&peer.key, list, 5);
    let frame = peer.hello_frame(&h);
    session.handle_input(T0, &frame).expect("hello accepted");
    assert!(matches!(
        session.poll_event(),
        Some(Event::Established { .. })
    ));
    if p2p::use_snappy(5, session_hello.protocol_version) {
        peer.snappy();
    }
    (session, peer)
}

/// The node id nobody holds.
pub fn null_node_id() -> NodeId {
    NodeId([0; 64])
}

/// Every event a session has queued.
pub fn drain_events(session: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

/// The one Closed event in `events` (which must be the last).
pub fn only_closed(events: &[Event]) -> (DisconnectReason, bool, Option<Error>) {
    let closed: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::Closed { .. }))
        .collect();
    assert_eq!(closed.len(), 1, "{events:?}");
    assert!(
        matches!(events.last(), Some(Event::Closed { .. })),
        "{events:?}"
    );
    match closed[0] {
        Event::Closed {
            reason,
            by_peer,
            error,
        } => (*reason, *by_peer, error.clone()),
        _ => unreachable!(),
    }
}
