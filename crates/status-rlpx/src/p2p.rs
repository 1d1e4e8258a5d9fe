//! The "p2p" base protocol (devp2p rlpx.md, "P2P Capability" and "Message
//! ID-based Multiplexing"): Hello, Disconnect, Ping and Pong, and the
//! assignment of message ids to the capabilities both sides share.
//!
//! Decoding follows go-ethereum v1.9.5 (the version vendored in status-go
//! v0.55.1) where the spec leaves room, and says so where it does.
//!
//! ```
//! use status_rlpx::p2p::{negotiate, route, Capability, CapabilityConfig};
//!
//! let ours = [CapabilityConfig { cap: "waku/1".parse()?, length: 128 }];
//! let theirs = ["shh/6".parse()?, "waku/1".parse()?];
//! let shared = negotiate(&ours, &theirs);
//! assert_eq!(shared[0].offset, 0x10);
//! // message 0x11 is waku's relative message 1 (Messages)
//! assert_eq!(route(&shared, 0x11), Some((0, 1)));
//! # Ok::<(), status_rlpx::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use status_core::NodeId;

use crate::Error;

/// Message id of [`Hello`].
pub const HELLO: u64 = 0x00;
/// Message id of Disconnect ([`encode_disconnect`]).
pub const DISCONNECT: u64 = 0x01;
/// Message id of Ping (payload [`PING_PAYLOAD`]).
pub const PING: u64 = 0x02;
/// Message id of Pong (payload [`PING_PAYLOAD`]).
pub const PONG: u64 = 0x03;
/// Message ids `0x00..0x10` belong to the base protocol; capabilities start
/// at this offset.
pub const BASE_PROTOCOL_LENGTH: u64 = 16;
/// The p2p protocol version we speak (devp2p v5: snappy).
pub const BASE_PROTOCOL_VERSION: u64 = 5;
/// The first p2p version that snappy-compresses messages after Hello
/// (EIP-706).
pub const SNAPPY_PROTOCOL_VERSION: u64 = 5;
/// Payload of Ping and of Pong: `rlp([])`.
pub const PING_PAYLOAD: [u8; 1] = [0xc0];

/// Most capabilities a Hello may list; more is treated as malformed.
/// Real clients announce a handful (status-go: 1 or 2).
pub const MAX_CAPABILITIES: usize = 64;
/// Longest client id accepted in a Hello, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 1024;
/// Longest capability name accepted in a Hello, in bytes. The spec says
/// names are at most eight ASCII characters; we allow some slack.
pub const MAX_CAPABILITY_NAME_LEN: usize = 32;

/// Whether the messages after Hello are snappy-compressed: both sides
/// announced p2p version 5 or later.
pub fn use_snappy(our_version: u64, their_version: u64) -> bool {
    our_version >= SNAPPY_PROTOCOL_VERSION && their_version >= SNAPPY_PROTOCOL_VERSION
}

// ---- capabilities ----------------------------------------------------------

/// A capability: a subprotocol name and version, such as `waku/1`.
///
/// Ordered by name (bytewise, case-sensitive), then version, which is the
/// order go-ethereum sorts capabilities in.
///
/// ```
/// use status_rlpx::{p2p::Capability, Error};
///
/// let waku: Capability = "waku/1".parse()?;
/// assert_eq!(waku, Capability::new("waku", 1));
/// assert_eq!(waku.to_string(), "waku/1");
/// assert!(Capability::new("shh", 6) < waku);
/// assert_eq!("waku".parse::<Capability>(), Err(Error::InvalidCapability("waku".into())));
/// assert!("waku/v1".parse::<Capability>().is_err());
/// # Ok::<(), status_rlpx::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Capability {
    /// Short ASCII name, e.g. `"waku"`.
    pub name: String,
    /// Version number.
    pub version: u32,
}

impl Capability {
    /// A capability from its parts.
    pub fn new(name: impl Into<String>, version: u32) -> Self {
        Capability {
            name: name.into(),
            version,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.version)
    }
}

impl FromStr for Capability {
    type Err = Error;

    /// Parses `name/version`, e.g. `"waku/1"`. The version is what follows
    /// the last `/`; the name must not be empty.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidCapability(s.to_owned());
        let (name, version) = s.rsplit_once('/').ok_or_else(bad)?;
        if name.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let version = version.parse().map_err(|_| bad())?;
        Ok(Capability::new(name, version))
    }
}

/// One of our capabilities with the size of its message-id space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityConfig {
    /// The capability.
    pub cap: Capability,
    /// How many message ids it uses (Whisper v6 and Waku v1 in status-go:
    /// `NumberOfMessageCodes = 128`).
    pub length: u64,
}

/// A capability both sides share, with the message ids assigned to it.
///
/// ```
/// use status_rlpx::p2p::{Capability, SharedCapability};
///
/// let waku = SharedCapability { cap: Capability::new("waku", 1), offset: 0x10, length: 128 };
/// assert_eq!(waku.absolute(1), Some(0x11));
/// assert_eq!(waku.relative(0x11), Some(1));
/// assert_eq!(waku.absolute(128), None);
/// assert_eq!(waku.relative(0x0f), None); // a base-protocol id
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedCapability {
    /// The capability (the highest version both sides have).
    pub cap: Capability,
    /// First absolute message id of this capability.
    pub offset: u64,
    /// Number of message ids it owns: `offset..offset + length`.
    pub length: u64,
}

impl SharedCapability {
    /// The message id relative to this capability, if `code` is one of its.
    pub fn relative(&self, code: u64) -> Option<u64> {
        let rel = code.checked_sub(self.offset)?;
        (rel < self.length).then_some(rel)
    }

    /// The absolute message id of relative id `code`, if it is within the
    /// capability's message-id space.
    pub fn absolute(&self, code: u64) -> Option<u64> {
        if code < self.length {
            self.offset.checked_add(code)
        } else {
            None
        }
    }
}

/// Assigns message ids to the capabilities both sides have, as go-ethereum's
/// `matchProtocols` does (rlpx.md, "Message ID-based Multiplexing"):
/// a capability is shared when name and version are equal; of several shared
/// versions of one name only the highest is kept; the kept ones are sorted by
/// name and given consecutive id ranges starting at
/// [`BASE_PROTOCOL_LENGTH`]. If `ours` lists the same capability twice, the
/// first entry's length counts. Duplicates in `theirs` do not matter.
///
/// ```
/// use status_rlpx::p2p::{negotiate, Capability, CapabilityConfig};
///
/// let cfg = |name, version, length| CapabilityConfig { cap: Capability::new(name, version), length };
/// let ours = [cfg("waku", 0, 128), cfg("waku", 1, 128), cfg("shh", 6, 128), cfg("les", 2, 21)];
/// let theirs = [Capability::new("waku", 0), Capability::new("waku", 1), Capability::new("shh", 6)];
/// let shared: Vec<_> = negotiate(&ours, &theirs)
///     .into_iter()
///     .map(|s| (s.cap.to_string(), s.offset))
///     .collect();
/// // waku/0 lost to waku/1, les is not shared; ids follow name order.
/// assert_eq!(shared, [("shh/6".to_string(), 0x10), ("waku/1".to_string(), 0x90)]);
/// ```
pub fn negotiate(ours: &[CapabilityConfig], theirs: &[Capability]) -> Vec<SharedCapability> {
    // highest shared version per name, then sorted by name
    let mut best: Vec<&CapabilityConfig> = Vec::new();
    for cfg in ours {
        if !theirs.contains(&cfg.cap) {
            continue;
        }
        match best.iter_mut().find(|b| b.cap.name == cfg.cap.name) {
            Some(b) if b.cap.version < cfg.cap.version => *b = cfg,
            Some(_) => {}
            None => best.push(cfg),
        }
    }
    best.sort_by(|a, b| a.cap.name.cmp(&b.cap.name));

    let mut offset = BASE_PROTOCOL_LENGTH;
    best.into_iter()
        .map(|cfg| {
            let shared = SharedCapability {
                cap: cfg.cap.clone(),
                offset,
                length: cfg.length,
            };
            offset = offset.saturating_add(cfg.length);
            shared
        })
        .collect()
}

/// Which shared capability owns absolute message id `code`: its index in
/// `shared` and the id relative to it. `None` for base-protocol ids and for
/// ids past the last capability (go-ethereum disconnects on those).
pub fn route(shared: &[SharedCapability], code: u64) -> Option<(usize, u64)> {
    shared
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.relative(code).map(|rel| (i, rel)))
}

// ---- Hello -----------------------------------------------------------------

/// The Hello message (0x00): `[protocolVersion, clientId, capabilities,
/// listenPort, nodeKey, ...]`.
///
/// ```
/// use status_core::SecretKey;
/// use status_rlpx::p2p::{Capability, Hello, BASE_PROTOCOL_VERSION};
/// use status_rlpx::Error;
///
/// let key = SecretKey::from_bytes(&[1; 32]).unwrap();
/// let hello = Hello {
///     protocol_version: BASE_PROTOCOL_VERSION,
///     client_id: "status-rs".into(),
///     capabilities: vec![Capability::new("waku", 1)],
///     listen_port: 30303,
///     node_id: key.public_key().node_id(),
/// };
/// let bytes = hello.encode();
/// assert_eq!(Hello::decode(&bytes)?, hello);
///
/// // Cut off before the node id.
/// let err = Hello::decode(&bytes[..bytes.len() - 65]).unwrap_err();
/// assert!(matches!(err, Error::MalformedP2p { which: "hello", .. }));
/// # Ok::<(), status_rlpx::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// p2p protocol version; 5 is current ([`BASE_PROTOCOL_VERSION`]).
    pub protocol_version: u64,
    /// Human-readable client software identity.
    pub client_id: String,
    /// Capabilities the sender supports.
    pub capabilities: Vec<Capability>,
    /// Legacy listening port (0: not listening); to be ignored.
    pub listen_port: u16,
    /// The sender's node id (64-byte public key).
    pub node_id: NodeId,
}

impl Hello {
    /// The RLP message data: `[version, client id, [[name, version], ...],
    /// port, node id]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = rlp::RlpStream::new_list(5);
        s.append(&self.protocol_version);
        s.append(&self.client_id.as_str());
        s.begin_list(self.capabilities.len());
        for cap in &self.capabilities {
            s.begin_list(2);
            s.append(&cap.name.as_str());
            s.append(&cap.version);
        }
        s.append(&u64::from(self.listen_port));
        s.append(&&self.node_id.as_bytes()[..]);
        s.out().to_vec()
    }

    /// Decodes Hello message data.
    ///
    /// As the spec requires, list elements after the node id are ignored
    /// (EIP-8), but they must still be well-formed RLP; bytes after the
    /// list are ignored too, like go-ethereum does. A client id that is not
    /// UTF-8 is decoded lossily (it is informational only).
    ///
    /// # Errors
    /// [`Error::MalformedP2p`] (`which = "hello"`) for bad RLP, missing
    /// fields, non-canonical integers, a port above 65535, a node id that is
    /// not 64 bytes, capabilities that are not `[name, version]` pairs with a
    /// UTF-8 name and a 32-bit version, or any list or string longer than
    /// [`MAX_CAPABILITIES`], [`MAX_CLIENT_ID_LEN`], [`MAX_CAPABILITY_NAME_LEN`].
    pub fn decode(data: &[u8]) -> Result<Hello, Error> {
        Self::decode_inner(data).map_err(|reason| Error::MalformedP2p {
            which: "hello",
            reason,
        })
    }

    fn decode_inner(data: &[u8]) -> Result<Hello, String> {
        let (top, _trailing) = rlp_read::split(data)?;
        let mut fields = rlp_read::List::new(top.list()?);
        let mut next = |name: &str| fields.next_item()?.ok_or_else(|| format!("missing {name}"));

        let protocol_version = next("protocol version")?.uint("protocol version")?;

        let client_id = next("client id")?.bytes()?;
        if client_id.len() > MAX_CLIENT_ID_LEN {
            return Err(format!(
                "client id of {} bytes exceeds {MAX_CLIENT_ID_LEN}",
                client_id.len()
            ));
        }
        let client_id = String::from_utf8_lossy(client_id).into_owned();

        let mut caps = rlp_read::List::new(next("capabilities")?.list()?);
        let mut capabilities = Vec::new();
        while let Some(item) = caps.next_item()? {
            if capabilities.len() == MAX_CAPABILITIES {
                return Err(format!("more than {MAX_CAPABILITIES} capabilities"));
            }
            capabilities.push(decode_capability(item)?);
        }

        // Leading zeros are tolerated here only: @ethereumjs/devp2p writes
        // port 0 as `0x00`, and the field is informational (nobody dials it).
        let port = next("listen port")?.uint_allowing_leading_zeros("listen port")?;
        let listen_port =
            u16::try_from(port).map_err(|_| format!("listen port {port} is not a 16-bit port"))?;

        let id = next("node id")?.bytes()?;
        let node_id =
            NodeId::from_slice(id).map_err(|_| format!("node id is {} bytes, not 64", id.len()))?;

        // EIP-8: ignore additional elements, but they must be valid RLP
        while fields.next_item()?.is_some() {}

        Ok(Hello {
            protocol_version,
            client_id,
            capabilities,
            listen_port,
            node_id,
        })
    }
}

/// `[name, version]`, exactly two elements (go-ethereum's `Cap` struct).
fn decode_capability(item: rlp_read::Item<'_>) -> Result<Capability, String> {
    let mut parts = rlp_read::List::new(item.list()?);
    let name = parts
        .next_item()?
        .ok_or("capability without a name")?
        .bytes()?;
    let version = parts
        .next_item()?
        .ok_or("capability without a version")?
        .uint("capability version")?;
    if parts.next_item()?.is_some() {
        return Err("capability has more than two elements".into());
    }
    if name.len() > MAX_CAPABILITY_NAME_LEN {
        return Err(format!(
            "capability name of {} bytes exceeds {MAX_CAPABILITY_NAME_LEN}",
            name.len()
        ));
    }
    let name = std::str::from_utf8(name).map_err(|_| "capability name is not UTF-8")?;
    let version = u32::try_from(version)
        .map_err(|_| format!("capability version {version} does not fit 32 bits"))?;
    Ok(Capability::new(name, version))
}

// ---- Disconnect -------------------------------------------------------------

/// Why a peer disconnects (rlpx.md, "Disconnect (0x01)").
///
/// ```
/// use status_rlpx::p2p::DisconnectReason;
///
/// assert_eq!(DisconnectReason::from_code(0x04), DisconnectReason::TooManyPeers);
/// assert_eq!(DisconnectReason::TooManyPeers.code(), 0x04);
/// assert_eq!(DisconnectReason::from(0x42), DisconnectReason::Other(0x42));
/// assert_eq!(DisconnectReason::UselessPeer.to_string(), "useless peer");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// 0x00: disconnect requested.
    Requested,
    /// 0x01: TCP sub-system error.
    TcpError,
    /// 0x02: breach of protocol, e.g. a malformed message, bad RLP, ...
    BreachOfProtocol,
    /// 0x03: useless peer.
    UselessPeer,
    /// 0x04: too many peers.
    TooManyPeers,
    /// 0x05: already connected.
    AlreadyConnected,
    /// 0x06: incompatible p2p protocol version.
    IncompatibleVersion,
    /// 0x07: null node identity received; this is automatically invalid.
    InvalidIdentity,
    /// 0x08: client quitting.
    ClientQuitting,
    /// 0x09: unexpected identity in handshake.
    UnexpectedIdentity,
    /// 0x0a: identity is the same as this node (connected to itself).
    ConnectedToSelf,
    /// 0x0b: ping timeout.
    PingTimeout,
    /// 0x10: some other reason specific to a subprotocol.
    SubprotocolError,
    /// Any other code. [`DisconnectReason::from_code`] only produces this for
    /// codes without a named variant.
    Other(u8),
}

impl DisconnectReason {
    /// The reason for a wire code.
    pub fn from_code(code: u8) -> Self {
        use DisconnectReason::*;
        match code {
            0x00 => Requested,
            0x01 => TcpError,
            0x02 => BreachOfProtocol,
            0x03 => UselessPeer,
            0x04 => TooManyPeers,
            0x05 => AlreadyConnected,
            0x06 => IncompatibleVersion,
            0x07 => InvalidIdentity,
            0x08 => ClientQuitting,
            0x09 => UnexpectedIdentity,
            0x0a => ConnectedToSelf,
            0x0b => PingTimeout,
            0x10 => SubprotocolError,
            other => Other(other),
        }
    }

    /// The wire code.
    pub fn code(self) -> u8 {
        use DisconnectReason::*;
        match self {
            Requested => 0x00,
            TcpError => 0x01,
            BreachOfProtocol => 0x02,
            UselessPeer => 0x03,
            TooManyPeers => 0x04,
            AlreadyConnected => 0x05,
            IncompatibleVersion => 0x06,
            InvalidIdentity => 0x07,
            ClientQuitting => 0x08,
            UnexpectedIdentity => 0x09,
            ConnectedToSelf => 0x0a,
            PingTimeout => 0x0b,
            SubprotocolError => 0x10,
            Other(code) => code,
        }
    }
}

impl From<u8> for DisconnectReason {
    fn from(code: u8) -> Self {
        DisconnectReason::from_code(code)
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DisconnectReason::*;
        let words = match self {
            Requested => "disconnect requested",
            TcpError => "network error",
            BreachOfProtocol => "breach of protocol",
            UselessPeer => "useless peer",
            TooManyPeers => "too many peers",
            AlreadyConnected => "already connected",
            IncompatibleVersion => "incompatible p2p protocol version",
            InvalidIdentity => "invalid node identity",
            ClientQuitting => "client quitting",
            UnexpectedIdentity => "unexpected identity",
            ConnectedToSelf => "connected to self",
            PingTimeout => "ping timeout",
            SubprotocolError => "subprotocol error",
            Other(code) => return write!(f, "unknown disconnect reason {code:#04x}"),
        };
        f.write_str(words)
    }
}

/// The Disconnect message data: `rlp([reason])`.
pub fn encode_disconnect(reason: DisconnectReason) -> Vec<u8> {
    match reason.code() {
        0 => vec![0xc1, 0x80],
        c if c < 0x80 => vec![0xc1, c],
        c => vec![0xc2, 0x81, c],
    }
}

/// Decodes Disconnect message data, tolerantly: the reason is optional in
/// the spec and implementations disagree on the encoding.
///
/// - `rlp([reason, ...])`: the canonical form; extra elements are ignored.
/// - a bare `rlp(reason)`: sent by some implementations (newer go-ethereum
///   accepts it too).
/// - an empty list or an empty payload: [`DisconnectReason::Requested`].
///   go-ethereum v1.9.5 decodes into `[1]DiscReason` and ignores the error,
///   so it reports these (and every malformed payload) as `Requested`; newer
///   go-ethereum reports them as invalid. We keep v1.9.5's answer for the
///   two cases the spec's "optional" reason allows and report the rest.
///
/// A reason with a leading zero byte is accepted; bytes after the first item
/// are ignored.
///
/// # Errors
/// [`Error::MalformedP2p`] (`which = "disconnect"`) for bad RLP, or a reason
/// that is a list or above 255.
///
/// ```
/// use status_rlpx::p2p::{decode_disconnect, encode_disconnect, DisconnectReason};
/// use status_rlpx::Error;
///
/// let data = encode_disconnect(DisconnectReason::TooManyPeers);
/// assert_eq!(data, [0xc1, 0x04]);
/// assert_eq!(decode_disconnect(&data)?, DisconnectReason::TooManyPeers);
/// // Tolerated forms: a bare reason, an empty list, nothing.
/// assert_eq!(decode_disconnect(&[0x04])?, DisconnectReason::TooManyPeers);
/// assert_eq!(decode_disconnect(&[0xc0])?, DisconnectReason::Requested);
/// assert_eq!(decode_disconnect(&[])?, DisconnectReason::Requested);
/// // A reason wider than one byte.
/// let err = decode_disconnect(&[0xc3, 0x82, 0x01, 0x00]).unwrap_err();
/// assert!(matches!(err, Error::MalformedP2p { which: "disconnect", .. }));
/// # Ok::<(), status_rlpx::Error>(())
/// ```
pub fn decode_disconnect(data: &[u8]) -> Result<DisconnectReason, Error> {
    let malformed = |reason: String| Error::MalformedP2p {
        which: "disconnect",
        reason,
    };
    if data.is_empty() {
        return Ok(DisconnectReason::Requested);
    }
    let (item, _trailing) = rlp_read::split(data).map_err(malformed)?;
    let reason = match item {
        rlp_read::Item::List(payload) => {
            match rlp_read::List::new(payload)
                .next_item()
                .map_err(malformed)?
            {
                None => return Ok(DisconnectReason::Requested),
                Some(first) => first.bytes().map_err(malformed)?,
            }
        }
        rlp_read::Item::Bytes(b) => b,
    };
    let start = reason.iter().position(|b| *b != 0).unwrap_or(reason.len());
    let value = match reason.get(start..).unwrap_or_default() {
        [] => 0,
        [b] => *b,
        _ => {
            return Err(malformed(format!(
                "reason {} is wider than one byte",
                hex::encode(reason)
            )))
        }
    };
    Ok(DisconnectReason::from_code(value))
}

// ---- a strict, allocation-free RLP reader ------------------------------------

/// Just enough RLP to read the base protocol, with go-ethereum's canonical
/// encoding checks and never a panic on hostile input.
mod rlp_read {
    /// One RLP item.
    #[derive(Debug, Clone, Copy)]
    pub(super) enum Item<'a> {
        /// A string; its contents.
        Bytes(&'a [u8]),
        /// A list; its payload (the concatenated items).
        List(&'a [u8]),
    }

    impl<'a> Item<'a> {
        pub(super) fn bytes(self) -> Result<&'a [u8], String> {
            match self {
                Item::Bytes(b) => Ok(b),
                Item::List(_) => Err("expected a string, got a list".into()),
            }
        }

        pub(super) fn list(self) -> Result<&'a [u8], String> {
            match self {
                Item::List(p) => Ok(p),
                Item::Bytes(_) => Err("expected a list, got a string".into()),
            }
        }

        /// A canonical unsigned integer of at most 64 bits.
        pub(super) fn uint(self, what: &str) -> Result<u64, String> {
            let b = self.bytes()?;
            if b.len() > 8 {
                return Err(format!("{what} is wider than 64 bits"));
            }
            if b.first() == Some(&0) {
                return Err(format!("{what} has a leading zero byte"));
            }
            Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
        }

        /// Like [`Item::uint`] but accepting leading zero bytes (for fields
        /// other implementations write non-canonically).
        pub(super) fn uint_allowing_leading_zeros(self, what: &str) -> Result<u64, String> {
            let b = self.bytes()?;
            let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
            let b = b.get(first..).unwrap_or_default();
            if b.len() > 8 {
                return Err(format!("{what} is wider than 64 bits"));
            }
            Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
        }
    }

    /// The big-endian length of a long-form header.
    fn long_len(buf: &[u8], len_of_len: usize) -> Result<usize, String> {
        let bytes = buf.get(..len_of_len).ok_or("truncated RLP length")?;
        if bytes.first() == Some(&0) {
            return Err("non-canonical RLP length".into());
        }
        let len = bytes
            .iter()
            .try_fold(0usize, |acc, b| {
                acc.checked_mul(256)?.checked_add(usize::from(*b))
            })
            .ok_or("RLP length overflows")?;
        if len <= 55 {
            return Err("non-canonical RLP length".into());
        }
        Ok(len)
    }

    /// Splits the first item off `buf`; returns it and the rest.
    pub(super) fn split(buf: &[u8]) -> Result<(Item<'_>, &[u8]), String> {
        let (&first, rest) = buf.split_first().ok_or("unexpected end of RLP")?;
        let (is_list, header, len) = match first {
            0x00..=0x7f => {
                let (one, rest) = buf.split_at(1);
                return Ok((Item::Bytes(one), rest));
            }
            0x80..=0xb7 => (false, 0, usize::from(first - 0x80)),
            0xb8..=0xbf => {
                let n = usize::from(first - 0xb7);
                (false, n, long_len(rest, n)?)
            }
            0xc0..=0xf7 => (true, 0, usize::from(first - 0xc0)),
            0xf8..=0xff => {
                let n = usize::from(first - 0xf7);
                (true, n, long_len(rest, n)?)
            }
        };
        let rest = rest.get(header..).ok_or("truncated RLP")?;
        if rest.len() < len {
            return Err(format!("RLP item of {len} bytes, only {} left", rest.len()));
        }
        let (payload, rest) = rest.split_at(len);
        if is_list {
            return Ok((Item::List(payload), rest));
        }
        if let [b] = payload {
            if first == 0x81 && *b < 0x80 {
                return Err("non-canonical single-byte RLP string".into());
            }
        }
        Ok((Item::Bytes(payload), rest))
    }

    /// Iterates the items of a list payload.
    pub(super) struct List<'a>(&'a [u8]);

    impl<'a> List<'a> {
        pub(super) fn new(payload: &'a [u8]) -> Self {
            List(payload)
        }

        /// The next item, `None` at the end of the list.
        pub(super) fn next_item(&mut self) -> Result<Option<Item<'a>>, String> {
            if self.0.is_empty() {
                return Ok(None);
            }
            let (item, rest) = split(self.0)?;
            self.0 = rest;
            Ok(Some(item))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cap(s: &str) -> Capability {
        s.parse().unwrap()
    }

    fn cfg(s: &str, length: u64) -> CapabilityConfig {
        CapabilityConfig {
            cap: cap(s),
            length,
        }
    }

    fn hello() -> Hello {
        Hello {
            protocol_version: 5,
            client_id: "status-rs/v0.1".into(),
            capabilities: vec![cap("waku/1"), cap("shh/6")],
            listen_port: 30303,
            node_id: NodeId([0x42; 64]),
        }
    }

    #[test]
    fn capability_display_and_parse() {
        let c = cap("waku/1");
        assert_eq!(c, Capability::new("waku", 1));
        assert_eq!(c.to_string(), "waku/1");
        assert_eq!(cap("a/b/7"), Capability::new("a/b", 7));
        for bad in [
            "waku",
            "/1",
            "waku/",
            "waku/x",
            "waku/-1",
            "waku/+1",
            "waku/99999999999",
        ] {
            assert!(
                matches!(bad.parse::<Capability>(), Err(Error::InvalidCapability(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn hello_round_trips() {
        let h = hello();
        assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
    }

    #[test]
    fn hello_ignores_additional_elements() {
        let h = hello();
        let mut s = rlp::RlpStream::new_list(7);
        s.append(&5u64).append(&"status-rs/v0.1");
        s.begin_list(2);
        s.begin_list(2).append(&"waku").append(&1u32);
        s.begin_list(2).append(&"shh").append(&6u32);
        s.append(&30303u64).append(&&[0x42u8; 64][..]);
        s.begin_list(1).append(&"future");
        s.append(&7u64);
        assert_eq!(Hello::decode(&s.out()).unwrap(), h);
    }

    fn malformed(data: &[u8]) -> bool {
        matches!(
            Hello::decode(data),
            Err(Error::MalformedP2p { which: "hello", .. })
        )
    }

    #[test]
    fn hello_rejects_malformed() {
        let good = hello().encode();
        // truncated anywhere
        for n in 0..good.len() {
            assert!(malformed(&good[..n]), "prefix {n}");
        }
        // a string instead of a list
        assert!(malformed(&[0x80]));
        // missing node id
        let mut s = rlp::RlpStream::new_list(4);
        s.append(&5u64).append(&"x").begin_list(0);
        s.append(&0u64);
        assert!(malformed(&s.out()));
        // short node id
        let mut s = rlp::RlpStream::new_list(5);
        s.append(&5u64).append(&"x").begin_list(0);
        s.append(&0u64).append(&&[1u8; 63][..]);
        assert!(malformed(&s.out()));
        // port too large
        let mut s = rlp::RlpStream::new_list(5);
        s.append(&5u64).append(&"x").begin_list(0);
        s.append(&65536u64).append(&&[1u8; 64][..]);
        assert!(malformed(&s.out()));
        // capability with three elements
        let mut s = rlp::RlpStream::new_list(5);
        s.append(&5u64).append(&"x").begin_list(1);
        s.begin_list(3).append(&"waku").append(&1u32).append(&1u32);
        s.append(&0u64).append(&&[1u8; 64][..]);
        assert!(malformed(&s.out()));
        // non-canonical version (leading zero)
        let mut bad = good.clone();
        assert_eq!(&bad[2..3], &[0x05]);
        bad.splice(2..3, [0x82, 0x00, 0x05]);
        bad[1] += 2;
        assert!(malformed(&bad));
        // non-canonical single byte string (0x81 0x05)
        let mut bad = good.clone();
        bad.splice(2..3, [0x81, 0x05]);
        bad[1] += 1;
        assert!(malformed(&bad));
        // a garbage extra element
        let mut bad = good.clone();
        bad.push(0xb8);
        bad[1] += 1;
        assert!(malformed(&bad));
    }

    /// @ethereumjs/devp2p (a peer we interoperate with) encodes listen
    /// port 0 as the non-canonical `0x00`; that field alone is lenient.
    #[test]
    fn hello_listen_port_with_leading_zeros_is_accepted() {
        let mut s = rlp::RlpStream::new_list(5);
        s.append(&5u64).append(&"ethereumjs").begin_list(0);
        s.append(&&[0u8][..]).append(&&[1u8; 64][..]);
        assert_eq!(Hello::decode(&s.out()).unwrap().listen_port, 0);
        let mut s = rlp::RlpStream::new_list(5);
        s.append(&5u64).append(&"x").begin_list(0);
        s.append(&&[0u8, 0x76, 0x5f][..]).append(&&[1u8; 64][..]);
        assert_eq!(Hello::decode(&s.out()).unwrap().listen_port, 30303);
    }

    #[test]
    fn hello_bounds() {
        let mut h = hello();
        h.capabilities = (0..MAX_CAPABILITIES as u32)
            .map(|v| Capability::new("c", v))
            .collect();
        assert!(Hello::decode(&h.encode()).is_ok());
        h.capabilities.push(Capability::new("c", 999));
        assert!(malformed(&h.encode()));

        let mut h = hello();
        h.client_id = "x".repeat(MAX_CLIENT_ID_LEN);
        assert!(Hello::decode(&h.encode()).is_ok());
        h.client_id.push('x');
        assert!(malformed(&h.encode()));

        let mut h = hello();
        h.capabilities = vec![Capability::new("n".repeat(MAX_CAPABILITY_NAME_LEN + 1), 1)];
        assert!(malformed(&h.encode()));
    }

    #[test]
    fn hello_client_id_non_utf8_is_lossy() {
        let mut s = rlp::RlpStream::new_list(5);
        s.append(&5u64).append(&&[0xffu8, b'a'][..]).begin_list(0);
        s.append(&0u64).append(&&[1u8; 64][..]);
        let h = Hello::decode(&s.out()).unwrap();
        assert_eq!(h.client_id, "\u{fffd}a");
    }

    #[test]
    fn disconnect_codes_round_trip() {
        for code in 0..=255u8 {
            let r = DisconnectReason::from_code(code);
            assert_eq!(r.code(), code);
            assert_eq!(decode_disconnect(&encode_disconnect(r)), Ok(r));
            let mut s = rlp::RlpStream::new_list(1);
            s.append(&code);
            assert_eq!(encode_disconnect(r), s.out().to_vec());
        }
        assert_eq!(
            DisconnectReason::from_code(0x0c),
            DisconnectReason::Other(0x0c)
        );
        assert_eq!(DisconnectReason::SubprotocolError.code(), 0x10);
        assert_eq!(DisconnectReason::TooManyPeers.to_string(), "too many peers");
        assert_eq!(
            DisconnectReason::Other(0x42).to_string(),
            "unknown disconnect reason 0x42"
        );
    }

    #[test]
    fn disconnect_decoding_is_tolerant() {
        use DisconnectReason::*;
        assert_eq!(decode_disconnect(&[]), Ok(Requested));
        assert_eq!(decode_disconnect(&[0xc0]), Ok(Requested));
        assert_eq!(decode_disconnect(&[0xc1, 0x04]), Ok(TooManyPeers));
        assert_eq!(decode_disconnect(&[0x04]), Ok(TooManyPeers));
        assert_eq!(decode_disconnect(&[0x80]), Ok(Requested));
        assert_eq!(decode_disconnect(&[0xc1, 0x00]), Ok(Requested));
        assert_eq!(decode_disconnect(&[0xc2, 0x04, 0x05]), Ok(TooManyPeers));
        assert_eq!(decode_disconnect(&[0x81, 0x90]), Ok(Other(0x90)));
        assert_eq!(decode_disconnect(&[0x82, 0x00, 0x10]), Ok(SubprotocolError));
        for bad in [&[0xc1][..], &[0x82, 0x01, 0x00], &[0xc1, 0xc0], &[0xb8]] {
            assert!(
                matches!(
                    decode_disconnect(bad),
                    Err(Error::MalformedP2p {
                        which: "disconnect",
                        ..
                    })
                ),
                "{bad:x?}"
            );
        }
    }

    #[test]
    fn negotiate_like_go_ethereum() {
        let ours = [
            cfg("waku/0", 10),
            cfg("waku/1", 128),
            cfg("shh/6", 128),
            cfg("les/2", 21),
        ];
        let theirs = [
            cap("waku/1"),
            cap("shh/6"),
            cap("waku/0"),
            cap("eth/63"),
            cap("les/3"),
        ];
        let shared = negotiate(&ours, &theirs);
        assert_eq!(
            shared,
            vec![
                SharedCapability {
                    cap: cap("shh/6"),
                    offset: 16,
                    length: 128
                },
                SharedCapability {
                    cap: cap("waku/1"),
                    offset: 144,
                    length: 128
                },
            ]
        );
        assert_eq!(route(&shared, 0x03), None);
        assert_eq!(route(&shared, 16), Some((0, 0)));
        assert_eq!(route(&shared, 143), Some((0, 127)));
        assert_eq!(route(&shared, 144), Some((1, 0)));
        assert_eq!(route(&shared, 271), Some((1, 127)));
        assert_eq!(route(&shared, 272), None);
        assert_eq!(shared[1].absolute(1), Some(145));
        assert_eq!(shared[1].absolute(128), None);
        assert!(
            negotiate(&ours, &[cap("Waku/1")]).is_empty(),
            "names are case-sensitive"
        );
    }

    fn arb_cap() -> impl Strategy<Value = Capability> {
        (
            prop::sample::select(vec!["a", "b", "eth", "shh", "waku", "les"]),
            0u32..4,
        )
            .prop_map(|(n, v)| Capability::new(n, v))
    }

    proptest! {
        #[test]
        fn hello_round_trip(
            protocol_version in any::<u64>(),
            client_id in "\\PC{0,64}",
            capabilities in proptest::collection::vec(arb_cap(), 0..10),
            listen_port in any::<u16>(),
            id in proptest::collection::vec(any::<u8>(), 64),
        ) {
            let h = Hello {
                protocol_version,
                client_id,
                capabilities,
                listen_port,
                node_id: NodeId::from_slice(&id).unwrap(),
            };
            prop_assert_eq!(Hello::decode(&h.encode()).unwrap(), h);
        }

        #[test]
        fn hello_decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Hello::decode(&data);
            let _ = decode_disconnect(&data);
        }

        #[test]
        fn negotiate_properties(
            ours in proptest::collection::vec((arb_cap(), 0u64..200), 0..10),
            theirs in proptest::collection::vec(arb_cap(), 0..10),
        ) {
            let ours: Vec<_> = ours.into_iter().map(|(cap, length)| CapabilityConfig { cap, length }).collect();
            let shared = negotiate(&ours, &theirs);
            let mut next = BASE_PROTOCOL_LENGTH;
            for (i, s) in shared.iter().enumerate() {
                // contiguous from 16
                prop_assert_eq!(s.offset, next);
                next += s.length;
                // shared by both
                prop_assert!(theirs.contains(&s.cap));
                let first = ours.iter().find(|c| c.cap == s.cap).unwrap();
                prop_assert_eq!(first.length, s.length);
                // strictly sorted by name (one version per name)
                if i > 0 {
                    prop_assert!(shared[i - 1].cap.name < s.cap.name);
                }
                // highest shared version
                let best = ours.iter()
                    .filter(|c| c.cap.name == s.cap.name && theirs.contains(&c.cap))
                    .map(|c| c.cap.version)
                    .max();
                prop_assert_eq!(best, Some(s.cap.version));
                // routing agrees
                if s.length > 0 {
                    prop_assert_eq!(route(&shared, s.offset), Some((i, 0)));
                    prop_assert_eq!(route(&shared, s.offset + s.length - 1), Some((i, s.length - 1)));
                }
            }
            // every name both sides share appears
            for c in &ours {
                if theirs.contains(&c.cap) {
                    prop_assert!(shared.iter().any(|s| s.cap.name == c.cap.name));
                }
            }
            prop_assert_eq!(route(&shared, next), None);
        }
    }
}
