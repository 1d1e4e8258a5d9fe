//! The `enode://` URL that names a devp2p node (devp2p `enode-url-format`,
//! go-ethereum `p2p/enode/urlv4.go`):
//!
//! ```text
//! enode://<128 hex digits: node id>@<ip>:<tcp port>[?discport=<udp port>]
//! ```
//!
//! The host must be an IP literal (IPv6 in brackets). Resolving a DNS name is
//! I/O, so it is the caller's job: resolve first, then build an [`Enode`].
//!
//! ```
//! use status_core::Enode;
//!
//! let url = "enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@52.16.188.185:30303?discport=30301";
//! let enode: Enode = url.parse()?;
//! assert_eq!(enode.addr.port(), 30303);
//! assert_eq!(enode.discport, Some(30301));
//! assert_eq!(enode.to_string(), url);
//! # Ok::<(), status_core::enode::EnodeError>(())
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::{KeyError, NodeId, PublicKey};

/// The URL scheme, with its `//`.
const SCHEME: &str = "enode://";

/// A devp2p node's identity and address, as an `enode://` URL carries them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Enode {
    /// The node id (its secp256k1 public key without the `0x04` prefix).
    pub id: NodeId,
    /// IP address and TCP (RLPx) port.
    pub addr: SocketAddr,
    /// UDP discovery port, when it differs from the TCP port
    /// (`?discport=`); `None` means "same as the TCP port".
    pub discport: Option<u16>,
}

impl Enode {
    /// An enode for `key` at `addr`, without a separate discovery port.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use status_core::{Enode, SecretKey};
    ///
    /// let key = SecretKey::from_bytes(&[1; 32]).unwrap().public_key();
    /// let addr: SocketAddr = "[::1]:30303".parse().unwrap();
    /// let mut enode = Enode::new(&key, addr);
    /// assert_eq!(enode.udp_port(), 30303);
    /// enode.discport = Some(30301);
    /// assert_eq!(enode.udp_port(), 30301);
    ///
    /// let url = enode.to_string();
    /// assert!(url.ends_with("@[::1]:30303?discport=30301"));
    /// let parsed: Enode = url.parse()?;
    /// assert_eq!(parsed, enode);
    /// assert_eq!(parsed.public_key().unwrap(), key);
    /// # Ok::<(), status_core::enode::EnodeError>(())
    /// ```
    pub fn new(key: &PublicKey, addr: SocketAddr) -> Self {
        Enode {
            id: key.node_id(),
            addr,
            discport: None,
        }
    }

    /// The node's public key, which RLPx needs to dial it.
    ///
    /// Always `Ok` for an `Enode` that came from [`Enode::from_str`] (which
    /// checks the id is a curve point); an `Enode` built by hand may not be.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        self.id.public_key()
    }

    /// The UDP discovery port: `discport` if set, else the TCP port.
    pub fn udp_port(&self) -> u16 {
        self.discport.unwrap_or(self.addr.port())
    }
}

impl fmt::Debug for Enode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Enode({self})")
    }
}

impl fmt::Display for Enode {
    /// The canonical URL; `?discport=` appears only when `discport` is set.
    /// IPv6 addresses are bracketed (`[::1]:30303`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}@{}", self.id, self.addr)?;
        if let Some(port) = self.discport {
            write!(f, "?discport={port}")?;
        }
        Ok(())
    }
}

/// Why a string is not a valid `enode://` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnodeError {
    /// The string does not start with `enode://`.
    #[error("not an enode URL: expected it to start with \"enode://\"")]
    MissingScheme,
    /// There is no `@` between the node id and the address.
    #[error("enode URL has no '@' between the node id and the address")]
    MissingAt,
    /// The node id is not 128 hex digits.
    #[error("enode node id must be 128 hex digits, got {got} characters")]
    NodeIdLength {
        /// Characters given.
        got: usize,
    },
    /// The node id has non-hex characters.
    #[error("enode node id is not hexadecimal")]
    NodeIdHex,
    /// The node id is 64 bytes but not a point on secp256k1.
    #[error("enode node id is not a valid secp256k1 public key")]
    NodeIdNotOnCurve,
    /// The address has no `:port`.
    #[error("enode address {0:?} has no ':port'")]
    MissingPort(String),
    /// The port is not a number from 0 to 65535.
    #[error("enode port {0:?} is not a number from 0 to 65535")]
    InvalidPort(String),
    /// The host is a name, not an IP literal.
    #[error(
        "enode host {0:?} is not an IP address: resolve DNS names before parsing \
         (status-rs does no I/O; IPv6 goes in brackets, e.g. [::1]:30303)"
    )]
    HostNotIp(String),
    /// The query is not `discport=N`.
    #[error("unsupported enode query {0:?}: only \"discport=<port>\" is allowed")]
    InvalidQuery(String),
}

impl FromStr for Enode {
    type Err = EnodeError;

    /// Parses `enode://<id>@<ip>:<port>[?discport=<port>]`.
    ///
    /// Each way to get it wrong has its own [`EnodeError`]:
    ///
    /// ```
    /// use status_core::enode::{Enode, EnodeError};
    ///
    /// let id = "a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c";
    /// let parse = |s: &str| s.parse::<Enode>().unwrap_err();
    /// assert_eq!(parse(&format!("{id}@1.2.3.4:30303")), EnodeError::MissingScheme);
    /// assert_eq!(parse("enode://abcd@1.2.3.4:30303"), EnodeError::NodeIdLength { got: 4 });
    /// assert_eq!(parse(&format!("enode://{id}@1.2.3.4")), EnodeError::MissingPort("1.2.3.4".into()));
    /// assert_eq!(
    ///     parse(&format!("enode://{id}@boot.status.im:30303")),
    ///     EnodeError::HostNotIp("boot.status.im".into())
    /// );
    /// assert_eq!(
    ///     parse(&format!("enode://{id}@1.2.3.4:30303?foo=1")),
    ///     EnodeError::InvalidQuery("foo=1".into())
    /// );
    /// ```
    fn from_str(s: &str) -> Result<Self, EnodeError> {
        let rest = s.strip_prefix(SCHEME).ok_or(EnodeError::MissingScheme)?;
        let (id, rest) = rest.split_once('@').ok_or(EnodeError::MissingAt)?;
        let id = parse_node_id(id)?;
        let (hostport, query) = match rest.split_once('?') {
            Some((hp, q)) => (hp, Some(q)),
            None => (rest, None),
        };
        let addr = parse_addr(hostport)?;
        let discport = query.map(parse_query).transpose()?;
        Ok(Enode { id, addr, discport })
    }
}

fn parse_node_id(s: &str) -> Result<NodeId, EnodeError> {
    if s.len() != 128 {
        return Err(EnodeError::NodeIdLength { got: s.len() });
    }
    let bytes = hex::decode(s).map_err(|_| EnodeError::NodeIdHex)?;
    let id = NodeId::from_slice(&bytes).map_err(|_| EnodeError::NodeIdLength { got: s.len() })?;
    id.public_key().map_err(|_| EnodeError::NodeIdNotOnCurve)?;
    Ok(id)
}

fn parse_port(s: &str) -> Result<u16, EnodeError> {
    // `u16::from_str` accepts a leading '+'; a URL port is digits only.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EnodeError::InvalidPort(s.to_owned()));
    }
    s.parse().map_err(|_| EnodeError::InvalidPort(s.to_owned()))
}

fn parse_addr(s: &str) -> Result<SocketAddr, EnodeError> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| EnodeError::HostNotIp(s.to_owned()))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| EnodeError::MissingPort(s.to_owned()))?;
        let ip = host
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| EnodeError::HostNotIp(host.to_owned()))?;
        (IpAddr::V6(ip), port)
    } else {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| EnodeError::MissingPort(s.to_owned()))?;
        if host.contains(':') {
            // An unbracketed IPv6 address: its last group was taken as the port.
            return Err(EnodeError::HostNotIp(host.to_owned()));
        }
        let ip = host
            .parse::<std::net::Ipv4Addr>()
            .map_err(|_| EnodeError::HostNotIp(host.to_owned()))?;
        (IpAddr::V4(ip), port)
    };
    Ok(SocketAddr::new(host, parse_port(port)?))
}

fn parse_query(q: &str) -> Result<u16, EnodeError> {
    let value = q
        .strip_prefix("discport=")
        .ok_or_else(|| EnodeError::InvalidQuery(q.to_owned()))?;
    parse_port(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;
    use proptest::prelude::*;

    const BOOTNODE: &str = "enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@52.16.188.185:30303";

    fn id_hex() -> String {
        SecretKey::from_bytes(&[5; 32])
            .unwrap()
            .public_key()
            .node_id()
            .to_string()
    }

    #[test]
    fn parses_a_mainnet_bootnode() {
        let e: Enode = BOOTNODE.parse().unwrap();
        assert_eq!(e.addr, "52.16.188.185:30303".parse().unwrap());
        assert_eq!(e.discport, None);
        assert_eq!(e.udp_port(), 30303);
        assert!(e.public_key().is_ok());
        assert_eq!(e.to_string(), BOOTNODE);
    }

    #[test]
    fn parses_ipv6_and_discport() {
        let url = format!("enode://{}@[::1]:30303?discport=30301", id_hex());
        let e: Enode = url.parse().unwrap();
        assert_eq!(e.addr, "[::1]:30303".parse().unwrap());
        assert_eq!(e.discport, Some(30301));
        assert_eq!(e.udp_port(), 30301);
        assert_eq!(e.to_string(), url);
    }

    #[test]
    fn rejects_what_is_not_an_enode() {
        let id = id_hex();
        let cases: Vec<(String, EnodeError)> = vec![
            ("http://x".into(), EnodeError::MissingScheme),
            (format!("enode://{id}"), EnodeError::MissingAt),
            (
                "enode://abcd@1.2.3.4:1".into(),
                EnodeError::NodeIdLength { got: 4 },
            ),
            (
                format!("enode://{}@1.2.3.4:1", "zz".repeat(64)),
                EnodeError::NodeIdHex,
            ),
            (
                format!("enode://{}@1.2.3.4:1", "00".repeat(64)),
                EnodeError::NodeIdNotOnCurve,
            ),
            (
                format!("enode://{id}@1.2.3.4"),
                EnodeError::MissingPort("1.2.3.4".into()),
            ),
            (
                format!("enode://{id}@1.2.3.4:65536"),
                EnodeError::InvalidPort("65536".into()),
            ),
            (
                format!("enode://{id}@1.2.3.4:+1"),
                EnodeError::InvalidPort("+1".into()),
            ),
            (
                format!("enode://{id}@boot.status.im:30303"),
                EnodeError::HostNotIp("boot.status.im".into()),
            ),
            (
                format!("enode://{id}@::1:30303"),
                EnodeError::HostNotIp("::1".into()),
            ),
            (
                format!("enode://{id}@[::1]30303"),
                EnodeError::MissingPort("[::1]30303".into()),
            ),
            (
                format!("enode://{id}@1.2.3.4:1?foo=2"),
                EnodeError::InvalidQuery("foo=2".into()),
            ),
            (
                format!("enode://{id}@1.2.3.4:1?discport=x"),
                EnodeError::InvalidPort("x".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<Enode>().unwrap_err(), want, "{input}");
        }
    }

    #[test]
    fn dns_error_tells_the_caller_to_resolve() {
        let url = format!("enode://{}@localhost:30303", id_hex());
        let msg = url.parse::<Enode>().unwrap_err().to_string();
        assert!(msg.contains("resolve DNS names"), "{msg}");
    }

    fn arb_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, port)| SocketAddr::new(IpAddr::from(ip), port)),
            (any::<[u8; 16]>(), any::<u16>())
                .prop_map(|(ip, port)| SocketAddr::new(IpAddr::from(ip), port)),
        ]
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(
            seed in any::<[u8; 32]>(),
            addr in arb_addr(),
            discport in any::<Option<u16>>(),
        ) {
            prop_assume!(SecretKey::from_bytes(&seed).is_ok());
            let key = SecretKey::from_bytes(&seed).unwrap().public_key();
            let enode = Enode { discport, ..Enode::new(&key, addr) };
            let text = enode.to_string();
            prop_assert_eq!(text.parse::<Enode>(), Ok(enode));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "enode://[0-9a-f@:\\[\\]?=a-z.]{0,200}") {
            let _ = s.parse::<Enode>();
        }
    }
}
