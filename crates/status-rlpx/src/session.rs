//! One RLPx connection as a sans-IO state machine.
//!
//! A [`Session`] is fed the bytes its socket received ([`Session::handle_input`])
//! and the passing of time ([`Session::handle_timeout`]); it produces bytes to
//! write ([`Session::poll_transmit`]), application [`Event`]s
//! ([`Session::poll_event`]) and its next deadline ([`Session::poll_timeout`]).
//! It never touches a socket, a clock or the OS RNG.
//!
//! The canonical run loop, after every `handle_*` or command:
//!
//! 1. write out everything [`Session::poll_transmit`] yields;
//! 2. drain [`Session::poll_event`] until `None`;
//! 3. re-arm the timer with [`Session::poll_timeout`];
//! 4. once [`Session::is_closed`] and the transmit buffer is empty, drop the
//!    socket.
//!
//! ```
//! use std::sync::Arc;
//! use status_core::{SecretKey, Timestamp};
//! use status_rlpx::p2p::{Capability, CapabilityConfig};
//! use status_rlpx::session::{Config, Event, Session};
//!
//! let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
//! let config = Arc::new(Config { capabilities: caps, ..Config::default() });
//! let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
//! let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
//! let b_pub = b_key.public_key();
//! let now = Timestamp::from_secs(1_700_000_000);
//!
//! let mut a = Session::initiator(config.clone(), a_key, b_pub, now, [7; 32]);
//! let mut b = Session::recipient(config, b_key, now, [8; 32]);
//!
//! // Shuttle bytes between the two until both are quiet.
//! let mut wire = Vec::new();
//! for _ in 0..4 {
//!     a.poll_transmit(&mut wire);
//!     b.handle_input(now, &wire).unwrap();
//!     wire.clear();
//!     b.poll_transmit(&mut wire);
//!     a.handle_input(now, &wire).unwrap();
//!     wire.clear();
//! }
//! assert!(matches!(a.poll_event(), Some(Event::Established { .. })));
//! assert!(matches!(b.poll_event(), Some(Event::Established { .. })));
//!
//! a.send("waku", 0x01, b"\xc0").unwrap();
//! a.poll_transmit(&mut wire);
//! b.handle_input(now, &wire).unwrap();
//! match b.poll_event() {
//!     Some(Event::Message { cap, code, payload }) => {
//!         assert_eq!(b.shared_capabilities()[cap].cap.name, "waku");
//!         assert_eq!((code, &payload[..]), (0x01, &b"\xc0"[..]));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{PublicKey, SecretKey, Timestamp};

use crate::frame::FrameCodec;
use crate::handshake::{
    self, AuthFormat, Completed, Initiator, Recipient, LEGACY_ACK_LEN, LEGACY_AUTH_LEN,
};
use crate::p2p::{
    self, CapabilityConfig, DisconnectReason, Hello, SharedCapability, BASE_PROTOCOL_LENGTH,
};
use crate::Error;

/// Largest EIP-8 handshake packet: a u16 size plus its prefix.
const MAX_HANDSHAKE_PACKET: usize = 2 + u16::MAX as usize;

/// A receive buffer that grew past this (one large frame) is trimmed back
/// once that frame is consumed, so it does not pin its memory for the life
/// of the session.
const RECV_RETAIN: usize = 256 * 1024;

/// Session settings, shared by all sessions of an endpoint.
///
/// Start from [`Config::default`] and list the capabilities you speak. A
/// peer that shares none of them is dropped right after Hello, on both
/// sides, with [`DisconnectReason::UselessPeer`]:
///
/// ```
/// # use std::sync::Arc;
/// # use status_core::{SecretKey, Timestamp};
/// # use status_rlpx::p2p::{Capability, CapabilityConfig, DisconnectReason};
/// # use status_rlpx::session::{Config, Event, Session};
/// # fn waku() -> Config {
/// #     let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
/// #     Config { capabilities: caps, ..Config::default() }
/// # }
/// # /// Moves bytes both ways until neither side has anything to write.
/// # fn shuttle(a: &mut Session, b: &mut Session, now: Timestamp) {
/// #     let mut wire = Vec::new();
/// #     while a.pending_transmit() + b.pending_transmit() > 0 {
/// #         a.poll_transmit(&mut wire);
/// #         let _ = b.handle_input(now, &wire);
/// #         wire.clear();
/// #         b.poll_transmit(&mut wire);
/// #         let _ = a.handle_input(now, &wire);
/// #         wire.clear();
/// #     }
/// # }
/// let now = Timestamp::from_secs(1_700_000_000);
/// let shh = Config {
///     capabilities: vec![CapabilityConfig { cap: "shh/6".parse()?, length: 128 }],
///     ..Config::default()
/// };
/// let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
/// let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
/// let mut a = Session::initiator(Arc::new(waku()), a_key, b_key.public_key(), now, [7; 32]);
/// let mut b = Session::recipient(Arc::new(shh), b_key, now, [8; 32]);
/// shuttle(&mut a, &mut b, now);
///
/// for s in [&mut a, &mut b] {
///     assert!(s.is_closed());
///     match s.poll_event() {
///         Some(Event::Closed { reason, .. }) => assert_eq!(reason, DisconnectReason::UselessPeer),
///         other => panic!("{other:?}"),
///     }
/// }
/// # Ok::<(), status_rlpx::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Client identification sent in Hello.
    pub client_id: String,
    /// Capabilities we speak, with their message-id space. A peer sharing
    /// none of them is a useless peer; with none configured, no peer is
    /// (go-ethereum's server without protocols: a crawler, a pinger).
    pub capabilities: Vec<CapabilityConfig>,
    /// TCP port we listen on, announced in Hello (0: not listening).
    pub listen_port: u16,
    /// Handshake encoding used when we dial (we answer in the dialer's).
    pub auth_format: AuthFormat,
    /// Whether to announce p2p v5 and snappy-compress after Hello.
    pub snappy: bool,
    /// Largest frame accepted or sent (frame-size is 24 bits on the wire).
    pub max_frame_size: usize,
    /// Largest payload a snappy frame may decompress to.
    pub max_decompressed_size: usize,
    /// Bytes that may wait in the transmit buffer: `send` refuses a message
    /// whose frame could take the buffer past this, unless the buffer is
    /// empty (so one message is never refused forever). The session's own
    /// small control frames (Ping, Pong, Disconnect) are not refused.
    pub max_send_buffer: usize,
    /// Time from start until Hello is exchanged.
    pub handshake_timeout: Duration,
    /// Idle time after which we ping.
    pub ping_interval: Duration,
    /// Time a Pong may take before the peer is dropped.
    pub ping_timeout: Duration,
}

impl Default for Config {
    /// go-ethereum's numbers where it has them (5 s handshake, 15 s ping
    /// interval, 16 MiB frames).
    fn default() -> Self {
        Config {
            client_id: concat!("status-rs/v", env!("CARGO_PKG_VERSION")).to_string(),
            capabilities: Vec::new(),
            listen_port: 0,
            auth_format: AuthFormat::Eip8,
            snappy: true,
            max_frame_size: crate::frame::MAX_FRAME_SIZE,
            max_decompressed_size: crate::frame::MAX_FRAME_SIZE,
            max_send_buffer: 64 << 20,
            handshake_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(15),
            ping_timeout: Duration::from_secs(20),
        }
    }
}

/// What the session reports to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Event {
    /// Hello exchanged and capabilities negotiated: messages can flow.
    Established {
        /// The peer's Hello.
        hello: Hello,
        /// Capabilities both sides speak, with their message-id offsets.
        shared: Vec<SharedCapability>,
    },
    /// A capability message arrived.
    Message {
        /// Index into [`Session::shared_capabilities`].
        cap: usize,
        /// Code relative to the capability (0 = its first message).
        code: u64,
        /// The message payload (decompressed).
        payload: Bytes,
    },
    /// Our ping was answered.
    Pong {
        /// Round-trip time.
        rtt: Duration,
    },
    /// The session is over; nothing follows.
    Closed {
        /// The reason sent or received.
        reason: DisconnectReason,
        /// Whether the peer ended it.
        by_peer: bool,
        /// The error that ended it, if any.
        error: Option<Error>,
    },
}

enum State {
    AwaitingAuth(Recipient),
    AwaitingAck(Initiator),
    AwaitingHello(Box<Framed>),
    Established(Box<Framed>),
    Closed,
}

struct Framed {
    codec: FrameCodec,
}

/// One RLPx connection (see the module docs for the run loop).
pub struct Session {
    config: Arc<Config>,
    static_key: SecretKey,
    rng: ChaCha20Rng,
    state: State,
    remote: Option<PublicKey>,
    recv: Vec<u8>,
    out: Vec<u8>,
    events: VecDeque<Event>,
    handshake_deadline: Timestamp,
    /// Received bytes the handshake packet needs before parsing it again
    /// can give another answer (see `handshake::bytes_needed`).
    handshake_need: usize,
    last_ping: Timestamp,
    ping_outstanding: Option<Timestamp>,
    shared: Vec<SharedCapability>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("remote", &self.remote)
            .field("established", &self.is_established())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Dials `remote`: the `auth` message is queued at once.
    ///
    /// `rng_seed` seeds the session's CSPRNG (nonces, ephemeral keys,
    /// padding); drivers pass OS randomness, simulations a fixed seed.
    ///
    /// The dialer knows its peer from the start; the recipient learns who
    /// dialed from the `auth`, before any Hello:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_rlpx::p2p::{Capability, CapabilityConfig};
    /// # use status_rlpx::session::{Config, Event, Session};
    /// # fn waku() -> Config {
    /// #     let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
    /// #     Config { capabilities: caps, ..Config::default() }
    /// # }
    /// # /// Moves bytes both ways until neither side has anything to write.
    /// # fn shuttle(a: &mut Session, b: &mut Session, now: Timestamp) {
    /// #     let mut wire = Vec::new();
    /// #     while a.pending_transmit() + b.pending_transmit() > 0 {
    /// #         a.poll_transmit(&mut wire);
    /// #         let _ = b.handle_input(now, &wire);
    /// #         wire.clear();
    /// #         b.poll_transmit(&mut wire);
    /// #         let _ = a.handle_input(now, &wire);
    /// #         wire.clear();
    /// #     }
    /// # }
    /// # /// `a` (key 1) dials `b` (key 2); returns both once Hello is exchanged.
    /// # fn established(config: Config, now: Timestamp) -> (Session, Session) {
    /// #     let config = Arc::new(config);
    /// #     let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// #     let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// #     let mut a = Session::initiator(config.clone(), a_key, b_key.public_key(), now, [7; 32]);
    /// #     let mut b = Session::recipient(config, b_key, now, [8; 32]);
    /// #     shuttle(&mut a, &mut b, now);
    /// #     assert!(matches!(a.poll_event(), Some(Event::Established { .. })));
    /// #     assert!(matches!(b.poll_event(), Some(Event::Established { .. })));
    /// #     (a, b)
    /// # }
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// let config = Arc::new(waku());
    /// let mut a = Session::initiator(config.clone(), a_key.clone(), b_key.public_key(), now, [7; 32]);
    /// let mut b = Session::recipient(config, b_key.clone(), now, [8; 32]);
    /// assert!(a.pending_transmit() > 0); // the auth
    /// assert_eq!(a.remote(), Some(&b_key.public_key()));
    /// assert_eq!(b.remote(), None);
    ///
    /// let mut wire = Vec::new();
    /// a.poll_transmit(&mut wire);
    /// b.handle_input(now, &wire)?;
    /// assert_eq!(b.remote(), Some(&a_key.public_key()));
    /// assert!(!b.is_established()); // Hello not exchanged yet
    /// # Ok::<(), status_rlpx::Error>(())
    /// ```
    pub fn initiator(
        config: Arc<Config>,
        static_key: SecretKey,
        remote: PublicKey,
        now: Timestamp,
        rng_seed: [u8; 32],
    ) -> Self {
        let mut rng = ChaCha20Rng::from_seed(rng_seed);
        let initiator = Initiator::new(&mut rng, static_key.clone(), remote, config.auth_format);
        let out = initiator.auth_packet().to_vec();
        let mut s = Self::new(config, static_key, rng, State::AwaitingAck(initiator), now);
        s.remote = Some(remote);
        s.out = out;
        s
    }

    /// Accepts a connection: waits for the dialer's `auth`.
    pub fn recipient(
        config: Arc<Config>,
        static_key: SecretKey,
        now: Timestamp,
        rng_seed: [u8; 32],
    ) -> Self {
        let rng = ChaCha20Rng::from_seed(rng_seed);
        let recipient = Recipient::new(static_key.clone());
        Self::new(config, static_key, rng, State::AwaitingAuth(recipient), now)
    }

    fn new(
        config: Arc<Config>,
        static_key: SecretKey,
        rng: ChaCha20Rng,
        state: State,
        now: Timestamp,
    ) -> Self {
        Session {
            handshake_deadline: now + config.handshake_timeout,
            config,
            static_key,
            rng,
            state,
            remote: None,
            recv: Vec::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            handshake_need: 0,
            last_ping: now,
            ping_outstanding: None,
            shared: Vec::new(),
        }
    }

    // ---- getters -----------------------------------------------------------

    /// The peer's static key, once known (at once when dialing).
    pub fn remote(&self) -> Option<&PublicKey> {
        self.remote.as_ref()
    }

    /// Whether Hello has been exchanged.
    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Established(_))
    }

    /// Whether the session has ended (flush `poll_transmit`, then close).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Capabilities shared with the peer, in message-id order.
    pub fn shared_capabilities(&self) -> &[SharedCapability] {
        &self.shared
    }

    /// Bytes waiting in the transmit buffer.
    pub fn pending_transmit(&self) -> usize {
        self.out.len()
    }

    // ---- inputs ------------------------------------------------------------

    /// Feeds bytes read from the socket. Any amount works, from one byte to
    /// many frames. On error the session has queued a Disconnect (when it
    /// could), is closed, and an [`Event::Closed`] carries the same error.
    /// Bytes arriving after the session closed are ignored.
    ///
    /// What stays buffered between calls is bounded: before the handshake
    /// completes, by the largest handshake packet (more is
    /// [`Error::HandshakeTooLarge`]); afterwards, by one incomplete frame of
    /// at most [`Config::max_frame_size`] (a larger one is refused from its
    /// header). A closed session keeps nothing.
    ///
    /// Bytes may come in any split; bytes that are not RLPx give a typed
    /// error and close the session:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_rlpx::p2p::{Capability, CapabilityConfig};
    /// # use status_rlpx::session::{Config, Event, Session};
    /// # use status_rlpx::Error;
    /// # fn waku() -> Config {
    /// #     let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
    /// #     Config { capabilities: caps, ..Config::default() }
    /// # }
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// let config = Arc::new(waku());
    /// let mut a = Session::initiator(config.clone(), a_key, b_key.public_key(), now, [7; 32]);
    /// let mut b = Session::recipient(config.clone(), b_key.clone(), now, [8; 32]);
    ///
    /// // One byte at a time: the ack comes once the whole auth is in.
    /// let mut auth = Vec::new();
    /// a.poll_transmit(&mut auth);
    /// for byte in &auth {
    ///     assert_eq!(b.pending_transmit(), 0);
    ///     b.handle_input(now, std::slice::from_ref(byte))?;
    /// }
    /// assert!(b.pending_transmit() > 0);
    ///
    /// // Garbage instead of an auth.
    /// let mut c = Session::recipient(config, b_key, now, [9; 32]);
    /// let err = c.handle_input(now, &[0u8; 400]).unwrap_err();
    /// assert!(matches!(err, Error::MalformedHandshake { which: "handshake", .. }));
    /// assert!(c.is_closed());
    /// match c.poll_event() {
    ///     Some(Event::Closed { by_peer: false, error, .. }) => assert_eq!(error, Some(err)),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!(c.handle_input(now, b"more"), Ok(())); // ignored once closed
    /// # Ok::<(), status_rlpx::Error>(())
    /// ```
    pub fn handle_input(&mut self, now: Timestamp, data: &[u8]) -> Result<(), Error> {
        if self.is_closed() {
            return Ok(());
        }
        self.recv.extend_from_slice(data);
        let result = self.process(now);
        if let Err(e) = &result {
            self.fail(e.clone());
        }
        result
    }

    fn process(&mut self, now: Timestamp) -> Result<(), Error> {
        let mut start = 0;
        let result = self.process_from(now, &mut start);
        // One compaction per call keeps many-frames-per-read linear.
        self.recv.drain(..start.min(self.recv.len()));
        if self.recv.capacity() > RECV_RETAIN && self.recv.len() <= RECV_RETAIN / 2 {
            self.recv.shrink_to(RECV_RETAIN);
        }
        result
    }

    fn process_from(&mut self, now: Timestamp, start: &mut usize) -> Result<(), Error> {
        loop {
            // `close` lets go of the buffer: nothing is left to read then.
            let Some(buf) = self.recv.get_mut(*start..) else {
                return Ok(());
            };
            match &mut self.state {
                State::Closed => return Ok(()),
                State::AwaitingAuth(recipient) => {
                    if buf.len() > MAX_HANDSHAKE_PACKET {
                        return Err(Error::HandshakeTooLarge {
                            got: buf.len(),
                            max: MAX_HANDSHAKE_PACKET,
                        });
                    }
                    if buf.len() < self.handshake_need {
                        return Ok(());
                    }
                    let Some((auth, used)) = recipient.read_auth(buf)? else {
                        self.handshake_need = handshake::bytes_needed(buf, LEGACY_AUTH_LEN);
                        return Ok(());
                    };
                    let (ack, done) = recipient.respond(&mut self.rng, &auth, &buf[..used]);
                    *start += used;
                    self.out.extend_from_slice(&ack);
                    self.start_framing(done)?;
                }
                State::AwaitingAck(initiator) => {
                    if buf.len() < self.handshake_need {
                        return Ok(());
                    }
                    let Some((done, used)) = initiator.handle_ack(buf)? else {
                        // The recipient may send frames right behind its ack,
                        // so only an ack still incomplete after a handshake
                        // packet's worth of bytes is too large.
                        if buf.len() > MAX_HANDSHAKE_PACKET {
                            return Err(Error::HandshakeTooLarge {
                                got: buf.len(),
                                max: MAX_HANDSHAKE_PACKET,
                            });
                        }
                        self.handshake_need = handshake::bytes_needed(buf, LEGACY_ACK_LEN);
                        return Ok(());
                    };
                    *start += used;
                    self.start_framing(done)?;
                }
                State::AwaitingHello(framed) | State::Established(framed) => {
                    let Some(frame) = framed.codec.decode(buf)? else {
                        return Ok(());
                    };
                    *start += frame.consumed;
                    let code = frame.code;
                    // The payload borrows the codec or the buffer; copy only
                    // what outlives this iteration.
                    let payload = Bytes::copy_from_slice(frame.payload);
                    self.handle_message(now, code, payload)?;
                }
            }
        }
    }

    /// Handshake done: set up framing and send Hello at once.
    fn start_framing(&mut self, done: Completed) -> Result<(), Error> {
        let mut codec = FrameCodec::new(done.secrets, self.config.max_frame_size);
        let hello = Hello {
            protocol_version: if self.config.snappy {
                p2p::BASE_PROTOCOL_VERSION
            } else {
                4
            },
            client_id: self.config.client_id.clone(),
            capabilities: self
                .config
                .capabilities
                .iter()
                .map(|c| c.cap.clone())
                .collect(),
            listen_port: self.config.listen_port,
            node_id: self.static_key.public_key().node_id(),
        };
        codec.encode(p2p::HELLO, &hello.encode(), &mut self.out)?;
        self.remote = Some(done.remote);
        self.state = State::AwaitingHello(Box::new(Framed { codec }));
        Ok(())
    }

    fn framed(&mut self) -> Option<&mut Framed> {
        match &mut self.state {
            State::AwaitingHello(f) | State::Established(f) => Some(f),
            _ => None,
        }
    }

    fn handle_message(&mut self, now: Timestamp, code: u64, payload: Bytes) -> Result<(), Error> {
        let established = self.is_established();
        match code {
            p2p::HELLO if !established => self.handle_hello(now, &payload),
            p2p::HELLO => Err(Error::UnexpectedMessage("second hello")),
            p2p::DISCONNECT => {
                let reason = p2p::decode_disconnect(&payload)?;
                self.close(reason, true, None);
                Ok(())
            }
            _ if !established => Err(Error::UnexpectedMessage("message before hello")),
            p2p::PING => {
                // A peer that pings but never reads would otherwise grow the
                // transmit buffer without bound: past twice the send limit
                // it is not reading anyway, and its Pong is dropped.
                if self.out.len() <= self.config.max_send_buffer.saturating_mul(2) {
                    self.queue_control(p2p::PONG, &p2p::PING_PAYLOAD);
                }
                Ok(())
            }
            p2p::PONG => {
                if let Some(sent) = self.ping_outstanding.take() {
                    self.events.push_back(Event::Pong {
                        rtt: now.saturating_duration_since(sent),
                    });
                }
                Ok(())
            }
            // Reserved base-protocol ids: ignored, as go-ethereum does.
            c if c < BASE_PROTOCOL_LENGTH => Ok(()),
            c => {
                let (cap, rel) = p2p::route(&self.shared, c).ok_or(Error::UnknownMessageCode(c))?;
                self.events.push_back(Event::Message {
                    cap,
                    code: rel,
                    payload,
                });
                Ok(())
            }
        }
    }

    fn handle_hello(&mut self, now: Timestamp, payload: &[u8]) -> Result<(), Error> {
        let hello = Hello::decode(payload)?;
        let config = self.config.clone();
        let expected_id = self.remote.map(|r| r.node_id());
        let Some(framed) = self.framed() else {
            return Err(Error::UnexpectedMessage("hello"));
        };
        // Both Hellos are out: from here on the peer reads our frames through
        // snappy if both announced v5, whether or not we accept its Hello, so
        // switch before the checks and a Disconnect for failing them is
        // readable (go-ethereum compresses its UselessPeer Disconnect too).
        if config.snappy && p2p::use_snappy(p2p::BASE_PROTOCOL_VERSION, hello.protocol_version) {
            framed.codec.set_snappy(true, config.max_decompressed_size);
        }
        // go-ethereum's readProtocolHandshake: the null id is invalid
        // before it is compared with anything.
        if hello.node_id.as_bytes().iter().all(|b| *b == 0) {
            return Err(Error::InvalidIdentity);
        }
        if Some(hello.node_id) != expected_id {
            return Err(Error::NodeIdMismatch);
        }
        let shared = p2p::negotiate(&config.capabilities, &hello.capabilities);
        if shared.is_empty() && !config.capabilities.is_empty() {
            return Err(Error::UselessPeer);
        }
        if let State::AwaitingHello(f) = std::mem::replace(&mut self.state, State::Closed) {
            self.state = State::Established(f);
        }
        self.shared = shared.clone();
        self.last_ping = now;
        self.events.push_back(Event::Established { hello, shared });
        Ok(())
    }

    /// Queues an application message, keeping the transmit buffer within
    /// `max_send_buffer` (see [`Config::max_send_buffer`]).
    fn queue_frame(&mut self, code: u64, payload: &[u8]) -> Result<(), Error> {
        let max = self.config.max_send_buffer;
        let queued = self.out.len();
        let out = &mut self.out;
        let framed = match &mut self.state {
            State::AwaitingHello(f) | State::Established(f) => f,
            _ => return Err(Error::NotConnected),
        };
        // Count the whole frame (header, MACs, padding, and with snappy the
        // worst-case compressed size), not just the payload.
        let frame = framed.codec.max_encoded_len(payload.len());
        if queued > 0 && queued.saturating_add(frame) > max {
            return Err(Error::SendBufferFull { queued, max });
        }
        framed.codec.encode(code, payload, out)
    }

    /// Queues a base-protocol control frame (Ping, Pong, Disconnect),
    /// whatever the transmit buffer holds: a Pong or a goodbye must not be
    /// lost because the application filled the buffer, and a timer must be
    /// able to act. They are a few dozen bytes, and a peer can make us queue
    /// Pongs only as fast as it sends Pings.
    fn queue_control(&mut self, code: u64, payload: &[u8]) -> bool {
        let out = &mut self.out;
        match &mut self.state {
            State::AwaitingHello(f) | State::Established(f) => {
                f.codec.encode(code, payload, out).is_ok()
            }
            _ => false,
        }
    }

    /// The one way into [`State::Closed`]: emits the one [`Event::Closed`]
    /// and lets go of what was received.
    fn close(&mut self, reason: DisconnectReason, by_peer: bool, error: Option<Error>) {
        if self.is_closed() {
            return;
        }
        self.state = State::Closed;
        self.ping_outstanding = None;
        self.recv = Vec::new();
        self.events.push_back(Event::Closed {
            reason,
            by_peer,
            error,
        });
    }

    /// Ends the session on an error: tell the peer why, if we can.
    fn fail(&mut self, error: Error) {
        let reason = match &error {
            Error::UselessPeer => DisconnectReason::UselessPeer,
            Error::InvalidIdentity => DisconnectReason::InvalidIdentity,
            Error::NodeIdMismatch => DisconnectReason::UnexpectedIdentity,
            Error::UnsupportedP2pVersion { .. } => DisconnectReason::IncompatibleVersion,
            Error::Timeout(_) => DisconnectReason::PingTimeout,
            Error::UnknownMessageCode(_) => DisconnectReason::SubprotocolError,
            _ => DisconnectReason::BreachOfProtocol,
        };
        // A bad MAC means the streams are out of sync: nothing we send
        // afterwards could be read, so only say goodbye when framing is sound.
        let framing_sound = !matches!(error, Error::BadHeaderMac | Error::BadFrameMac);
        if framing_sound {
            self.queue_control(p2p::DISCONNECT, &p2p::encode_disconnect(reason));
        }
        self.close(reason, false, Some(error));
    }

    /// Tells the session time has passed; call at or after
    /// [`Session::poll_timeout`]'s deadline.
    ///
    /// Once established, an idle session pings every
    /// [`Config::ping_interval`] and closes if the Pong takes longer than
    /// [`Config::ping_timeout`]:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_rlpx::p2p::{Capability, CapabilityConfig, DisconnectReason};
    /// # use status_rlpx::session::{Config, Event, Session};
    /// # use status_rlpx::Error;
    /// # fn waku() -> Config {
    /// #     let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
    /// #     Config { capabilities: caps, ..Config::default() }
    /// # }
    /// # /// Moves bytes both ways until neither side has anything to write.
    /// # fn shuttle(a: &mut Session, b: &mut Session, now: Timestamp) {
    /// #     let mut wire = Vec::new();
    /// #     while a.pending_transmit() + b.pending_transmit() > 0 {
    /// #         a.poll_transmit(&mut wire);
    /// #         let _ = b.handle_input(now, &wire);
    /// #         wire.clear();
    /// #         b.poll_transmit(&mut wire);
    /// #         let _ = a.handle_input(now, &wire);
    /// #         wire.clear();
    /// #     }
    /// # }
    /// # /// `a` (key 1) dials `b` (key 2); returns both once Hello is exchanged.
    /// # fn established(config: Config, now: Timestamp) -> (Session, Session) {
    /// #     let config = Arc::new(config);
    /// #     let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// #     let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// #     let mut a = Session::initiator(config.clone(), a_key, b_key.public_key(), now, [7; 32]);
    /// #     let mut b = Session::recipient(config, b_key, now, [8; 32]);
    /// #     shuttle(&mut a, &mut b, now);
    /// #     assert!(matches!(a.poll_event(), Some(Event::Established { .. })));
    /// #     assert!(matches!(b.poll_event(), Some(Event::Established { .. })));
    /// #     (a, b)
    /// # }
    /// use std::time::Duration;
    ///
    /// let t0 = Timestamp::from_secs(1_700_000_000);
    /// let (mut a, mut b) = established(waku(), t0);
    /// let (t1, why) = a.poll_timeout().unwrap();
    /// assert_eq!((t1, why), (t0 + Duration::from_secs(15), "ping"));
    ///
    /// a.handle_timeout(t1); // sends a Ping
    /// assert_eq!(a.poll_timeout(), Some((t1 + Duration::from_secs(20), "pong")));
    /// let t2 = t1 + Duration::from_millis(40);
    /// shuttle(&mut a, &mut b, t2); // b answers with a Pong
    /// assert_eq!(a.poll_event(), Some(Event::Pong { rtt: Duration::from_millis(40) }));
    ///
    /// // Next time b never answers.
    /// let (t3, _) = a.poll_timeout().unwrap();
    /// a.handle_timeout(t3);
    /// let (t4, why) = a.poll_timeout().unwrap();
    /// assert_eq!(why, "pong");
    /// a.handle_timeout(t4);
    /// match a.poll_event() {
    ///     Some(Event::Closed { reason, error, .. }) => {
    ///         assert_eq!(reason, DisconnectReason::PingTimeout);
    ///         assert_eq!(error, Some(Error::Timeout("pong")));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!(a.poll_timeout(), None);
    /// ```
    pub fn handle_timeout(&mut self, now: Timestamp) {
        match &self.state {
            State::Closed => {}
            State::Established(_) => {
                if let Some(sent) = self.ping_outstanding {
                    if now >= sent + self.config.ping_timeout {
                        self.fail(Error::Timeout("pong"));
                    }
                } else if now >= self.last_ping + self.config.ping_interval {
                    self.ping(now);
                }
            }
            _ => {
                if now >= self.handshake_deadline {
                    self.fail(Error::Timeout("handshake"));
                }
            }
        }
    }

    // ---- commands ----------------------------------------------------------

    /// Sends a capability message: `code` is relative to the capability
    /// (Waku's Messages is 1 whatever the offset on this connection).
    ///
    /// # Errors
    /// [`Error::NotConnected`] before Hello is exchanged or after close,
    /// [`Error::CapabilityNotShared`], [`Error::CodeOutOfRange`], and
    /// [`Error::SendBufferFull`] while the transmit buffer is not drained:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_rlpx::p2p::{Capability, CapabilityConfig, DisconnectReason};
    /// # use status_rlpx::session::{Config, Event, Session};
    /// # use status_rlpx::Error;
    /// # fn waku() -> Config {
    /// #     let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
    /// #     Config { capabilities: caps, ..Config::default() }
    /// # }
    /// # /// Moves bytes both ways until neither side has anything to write.
    /// # fn shuttle(a: &mut Session, b: &mut Session, now: Timestamp) {
    /// #     let mut wire = Vec::new();
    /// #     while a.pending_transmit() + b.pending_transmit() > 0 {
    /// #         a.poll_transmit(&mut wire);
    /// #         let _ = b.handle_input(now, &wire);
    /// #         wire.clear();
    /// #         b.poll_transmit(&mut wire);
    /// #         let _ = a.handle_input(now, &wire);
    /// #         wire.clear();
    /// #     }
    /// # }
    /// # /// `a` (key 1) dials `b` (key 2); returns both once Hello is exchanged.
    /// # fn established(config: Config, now: Timestamp) -> (Session, Session) {
    /// #     let config = Arc::new(config);
    /// #     let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// #     let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// #     let mut a = Session::initiator(config.clone(), a_key, b_key.public_key(), now, [7; 32]);
    /// #     let mut b = Session::recipient(config, b_key, now, [8; 32]);
    /// #     shuttle(&mut a, &mut b, now);
    /// #     assert!(matches!(a.poll_event(), Some(Event::Established { .. })));
    /// #     assert!(matches!(b.poll_event(), Some(Event::Established { .. })));
    /// #     (a, b)
    /// # }
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let small = Config { max_send_buffer: 1024, ..waku() };
    /// let (mut a, mut b) = established(small, now);
    ///
    /// assert_eq!(a.send("shh", 1, b"\xc0"), Err(Error::CapabilityNotShared("shh".into())));
    /// assert_eq!(a.send("waku", 128, b"\xc0"), Err(Error::CodeOutOfRange { code: 128, len: 128 }));
    ///
    /// // One message always fits an empty buffer; the next waits for a drain.
    /// a.send("waku", 1, &[0xc0; 800])?;
    /// assert!(matches!(a.send("waku", 1, &[0xc0; 800]), Err(Error::SendBufferFull { .. })));
    /// shuttle(&mut a, &mut b, now);
    /// a.send("waku", 1, &[0xc0; 800])?;
    ///
    /// a.disconnect(DisconnectReason::Requested);
    /// assert_eq!(a.send("waku", 1, b"\xc0"), Err(Error::NotConnected));
    /// # Ok::<(), status_rlpx::Error>(())
    /// ```
    pub fn send(&mut self, cap: &str, code: u64, payload: &[u8]) -> Result<(), Error> {
        if !self.is_established() {
            return Err(Error::NotConnected);
        }
        let shared = self
            .shared
            .iter()
            .find(|s| s.cap.name == cap)
            .ok_or_else(|| Error::CapabilityNotShared(cap.to_string()))?;
        if code >= shared.length {
            return Err(Error::CodeOutOfRange {
                code,
                len: shared.length,
            });
        }
        let code = shared.offset + code;
        self.queue_frame(code, payload)
    }

    /// Sends a Ping now; the answer comes as [`Event::Pong`]. The session
    /// also pings by itself every `ping_interval`.
    ///
    /// At most one Ping is in flight: while one awaits its Pong this does
    /// nothing (that Pong answers both), so pinging again never postpones
    /// the `ping_timeout` of the first. Does nothing unless established.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_rlpx::p2p::{Capability, CapabilityConfig};
    /// # use status_rlpx::session::{Config, Event, Session};
    /// # fn waku() -> Config {
    /// #     let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
    /// #     Config { capabilities: caps, ..Config::default() }
    /// # }
    /// # /// Moves bytes both ways until neither side has anything to write.
    /// # fn shuttle(a: &mut Session, b: &mut Session, now: Timestamp) {
    /// #     let mut wire = Vec::new();
    /// #     while a.pending_transmit() + b.pending_transmit() > 0 {
    /// #         a.poll_transmit(&mut wire);
    /// #         let _ = b.handle_input(now, &wire);
    /// #         wire.clear();
    /// #         b.poll_transmit(&mut wire);
    /// #         let _ = a.handle_input(now, &wire);
    /// #         wire.clear();
    /// #     }
    /// # }
    /// # /// `a` (key 1) dials `b` (key 2); returns both once Hello is exchanged.
    /// # fn established(config: Config, now: Timestamp) -> (Session, Session) {
    /// #     let config = Arc::new(config);
    /// #     let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// #     let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// #     let mut a = Session::initiator(config.clone(), a_key, b_key.public_key(), now, [7; 32]);
    /// #     let mut b = Session::recipient(config, b_key, now, [8; 32]);
    /// #     shuttle(&mut a, &mut b, now);
    /// #     assert!(matches!(a.poll_event(), Some(Event::Established { .. })));
    /// #     assert!(matches!(b.poll_event(), Some(Event::Established { .. })));
    /// #     (a, b)
    /// # }
    /// use std::time::Duration;
    ///
    /// let t0 = Timestamp::from_secs(1_700_000_000);
    /// let (mut a, mut b) = established(waku(), t0);
    /// a.ping(t0);
    /// let queued = a.pending_transmit();
    /// a.ping(t0 + Duration::from_millis(5)); // one Ping in flight: no-op
    /// assert_eq!(a.pending_transmit(), queued);
    ///
    /// shuttle(&mut a, &mut b, t0 + Duration::from_millis(30));
    /// assert_eq!(a.poll_event(), Some(Event::Pong { rtt: Duration::from_millis(30) }));
    /// assert_eq!(b.poll_event(), None); // b answered without telling its app
    /// ```
    pub fn ping(&mut self, now: Timestamp) {
        if self.is_established()
            && self.ping_outstanding.is_none()
            && self.queue_control(p2p::PING, &p2p::PING_PAYLOAD)
        {
            self.last_ping = now;
            self.ping_outstanding = Some(now);
        }
    }

    /// Says goodbye with `reason` and closes the session. Flush
    /// [`Session::poll_transmit`] before dropping the socket.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_rlpx::p2p::{Capability, CapabilityConfig, DisconnectReason};
    /// # use status_rlpx::session::{Config, Event, Session};
    /// # fn waku() -> Config {
    /// #     let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
    /// #     Config { capabilities: caps, ..Config::default() }
    /// # }
    /// # /// Moves bytes both ways until neither side has anything to write.
    /// # fn shuttle(a: &mut Session, b: &mut Session, now: Timestamp) {
    /// #     let mut wire = Vec::new();
    /// #     while a.pending_transmit() + b.pending_transmit() > 0 {
    /// #         a.poll_transmit(&mut wire);
    /// #         let _ = b.handle_input(now, &wire);
    /// #         wire.clear();
    /// #         b.poll_transmit(&mut wire);
    /// #         let _ = a.handle_input(now, &wire);
    /// #         wire.clear();
    /// #     }
    /// # }
    /// # /// `a` (key 1) dials `b` (key 2); returns both once Hello is exchanged.
    /// # fn established(config: Config, now: Timestamp) -> (Session, Session) {
    /// #     let config = Arc::new(config);
    /// #     let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// #     let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// #     let mut a = Session::initiator(config.clone(), a_key, b_key.public_key(), now, [7; 32]);
    /// #     let mut b = Session::recipient(config, b_key, now, [8; 32]);
    /// #     shuttle(&mut a, &mut b, now);
    /// #     assert!(matches!(a.poll_event(), Some(Event::Established { .. })));
    /// #     assert!(matches!(b.poll_event(), Some(Event::Established { .. })));
    /// #     (a, b)
    /// # }
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let (mut a, mut b) = established(waku(), now);
    /// a.disconnect(DisconnectReason::ClientQuitting);
    /// assert!(a.is_closed());
    /// assert!(a.pending_transmit() > 0); // the Disconnect, still to be written
    /// assert_eq!(
    ///     a.poll_event(),
    ///     Some(Event::Closed { reason: DisconnectReason::ClientQuitting, by_peer: false, error: None })
    /// );
    ///
    /// shuttle(&mut a, &mut b, now);
    /// assert_eq!(
    ///     b.poll_event(),
    ///     Some(Event::Closed { reason: DisconnectReason::ClientQuitting, by_peer: true, error: None })
    /// );
    /// assert!(b.is_closed());
    /// ```
    pub fn disconnect(&mut self, reason: DisconnectReason) {
        if self.is_closed() {
            return;
        }
        self.queue_control(p2p::DISCONNECT, &p2p::encode_disconnect(reason));
        self.close(reason, false, None);
    }

    // ---- outputs -----------------------------------------------------------

    /// Moves all bytes waiting to be written into `out` (appending); returns
    /// how many. When `out` is empty the buffers are swapped, so a caller
    /// that reuses one `Vec` causes no copy and no allocation.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_rlpx::p2p::{Capability, CapabilityConfig};
    /// # use status_rlpx::session::{Config, Event, Session};
    /// # fn waku() -> Config {
    /// #     let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
    /// #     Config { capabilities: caps, ..Config::default() }
    /// # }
    /// # /// Moves bytes both ways until neither side has anything to write.
    /// # fn shuttle(a: &mut Session, b: &mut Session, now: Timestamp) {
    /// #     let mut wire = Vec::new();
    /// #     while a.pending_transmit() + b.pending_transmit() > 0 {
    /// #         a.poll_transmit(&mut wire);
    /// #         let _ = b.handle_input(now, &wire);
    /// #         wire.clear();
    /// #         b.poll_transmit(&mut wire);
    /// #         let _ = a.handle_input(now, &wire);
    /// #         wire.clear();
    /// #     }
    /// # }
    /// # /// `a` (key 1) dials `b` (key 2); returns both once Hello is exchanged.
    /// # fn established(config: Config, now: Timestamp) -> (Session, Session) {
    /// #     let config = Arc::new(config);
    /// #     let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// #     let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// #     let mut a = Session::initiator(config.clone(), a_key, b_key.public_key(), now, [7; 32]);
    /// #     let mut b = Session::recipient(config, b_key, now, [8; 32]);
    /// #     shuttle(&mut a, &mut b, now);
    /// #     assert!(matches!(a.poll_event(), Some(Event::Established { .. })));
    /// #     assert!(matches!(b.poll_event(), Some(Event::Established { .. })));
    /// #     (a, b)
    /// # }
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let (mut a, _b) = established(waku(), now);
    /// a.send("waku", 1, b"\xc0")?;
    /// let mut out = b"not yet written".to_vec();
    /// let n = a.poll_transmit(&mut out);
    /// assert_eq!(out.len(), 15 + n); // appended after what was there
    /// assert_eq!((a.pending_transmit(), a.poll_transmit(&mut out)), (0, 0));
    /// # Ok::<(), status_rlpx::Error>(())
    /// ```
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.out.len();
        if out.is_empty() {
            std::mem::swap(out, &mut self.out);
        } else {
            out.append(&mut self.out);
        }
        n
    }

    /// The next event for the application, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] wants to be called, and why.
    ///
    /// `None` once closed. Before Hello the deadline is the handshake's:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_rlpx::p2p::{Capability, CapabilityConfig};
    /// # use status_rlpx::session::{Config, Event, Session};
    /// # use status_rlpx::Error;
    /// # fn waku() -> Config {
    /// #     let caps = vec![CapabilityConfig { cap: Capability::new("waku", 1), length: 128 }];
    /// #     Config { capabilities: caps, ..Config::default() }
    /// # }
    /// use std::time::Duration;
    ///
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// let mut b = Session::recipient(Arc::new(waku()), key, now, [8; 32]);
    /// let (deadline, why) = b.poll_timeout().unwrap();
    /// assert_eq!((deadline, why), (now + Duration::from_secs(5), "handshake"));
    ///
    /// b.handle_timeout(deadline); // no auth came
    /// match b.poll_event() {
    ///     Some(Event::Closed { error, .. }) => assert_eq!(error, Some(Error::Timeout("handshake"))),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!(b.poll_timeout(), None);
    /// ```
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        match &self.state {
            State::Closed => None,
            State::Established(_) => Some(match self.ping_outstanding {
                Some(sent) => (sent + self.config.ping_timeout, "pong"),
                None => (self.last_ping + self.config.ping_interval, "ping"),
            }),
            _ => Some((self.handshake_deadline, "handshake")),
        }
    }
}
