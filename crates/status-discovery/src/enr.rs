//! Ethereum Node Records (EIP-778, devp2p `enr.md`).
//!
//! A record is the RLP list `[signature, seq, k, v, ...]`, at most 300
//! bytes, with keys sorted and unique. Only the "v4" identity scheme
//! exists: the signature is a 64-byte `r || s` secp256k1 signature over
//! `keccak256(rlp([seq, k, v, ...]))`, made by the key in the `secp256k1`
//! pair, and the node id is `keccak256(x || y)` of that key.
//!
//! An [`Enr`] value is always a verified record: [`Enr::decode`] and
//! [`Enr::from_str`](std::str::FromStr) check size, shape, key order and the
//! signature, and keep the exact bytes (which is what DNS trees hash and
//! discv5 relays). Values are kept as raw RLP, so keys this crate does not
//! know survive untouched.
//!
//! ```
//! use status_core::SecretKey;
//! use status_discovery::enr::Enr;
//!
//! let key = SecretKey::from_hex("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")?;
//! let enr = Enr::builder()
//!     .seq(1)
//!     .ip4([127, 0, 0, 1].into())
//!     .udp(30303)
//!     .sign(&key)?;
//! // The EIP-778 example record, bit for bit (signatures are deterministic).
//! assert!(enr.to_string().starts_with("enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4"));
//! let parsed: Enr = enr.to_string().parse()?;
//! assert_eq!(parsed.udp(), Some(30303));
//! assert_eq!(parsed.node_id(), enr.node_id());
//! # Ok::<(), status_discovery::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use data_encoding::BASE64URL_NOPAD;
use secp256k1::ecdsa::Signature;
use secp256k1::{Message, SECP256K1};
use status_core::{keccak256, Enode, PublicKey, SecretKey};

use crate::rlp_strict::{self, Item};
use crate::Error;

/// Largest encoded record EIP-778 allows ("Implementations should reject
/// records larger than this size").
pub const MAX_RECORD_SIZE: usize = 300;

/// Text form prefix.
pub const TEXT_PREFIX: &str = "enr:";

/// Longest text form of a record within [`MAX_RECORD_SIZE`]: the prefix and
/// 400 base64 characters.
const MAX_TEXT_LEN: usize = TEXT_PREFIX.len() + (MAX_RECORD_SIZE * 4).div_ceil(3);

/// The 32-byte node address of the "v4" scheme: `keccak256(x || y)` of the
/// record's public key (EIP-778, "v4" Identity Scheme). discv5 distances are
/// measured between these.
///
/// Not to be confused with `status_core::NodeId`, the 64-byte devp2p id
/// (the public key itself) that `enode://` URLs carry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub [u8; 32]);

impl NodeId {
    /// The node id of `key` under the "v4" scheme.
    pub fn from_public_key(key: &PublicKey) -> Self {
        let full = key.to_uncompressed();
        NodeId(keccak256(&full[1..]))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({}..)", hex::encode(&self.0[..8]))
    }
}

/// A verified Ethereum Node Record.
///
/// Equality and hashing are over the exact encoded bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Enr {
    raw: Vec<u8>,
    seq: u64,
    /// Key and the raw RLP of its value, sorted by key.
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    signature: [u8; 64],
    public_key: PublicKey,
    node_id: NodeId,
}

impl Enr {
    /// A builder for a new record (sequence number 1).
    pub fn builder() -> EnrBuilder {
        EnrBuilder::new()
    }

    /// A builder holding this record's pairs and the next sequence number:
    /// change what you need and sign again to publish an update (see
    /// [`Enr::to_enode`] for an example).
    pub fn to_builder(&self) -> EnrBuilder {
        EnrBuilder {
            seq: self.seq.saturating_add(1),
            pairs: self.pairs.iter().cloned().collect(),
        }
    }

    /// Decodes and verifies a record from its RLP bytes.
    ///
    /// Rejects records over 300 bytes, trailing bytes, non-canonical RLP,
    /// unsorted or duplicate keys, identity schemes other than "v4", and
    /// records whose signature does not verify.
    ///
    /// ```
    /// use status_core::SecretKey;
    /// use status_discovery::{Enr, Error};
    ///
    /// let key = SecretKey::from_bytes(&[1; 32])?;
    /// let enr = Enr::builder().ip4([10, 0, 0, 1].into()).udp(30303).sign(&key)?;
    /// assert_eq!(Enr::decode(enr.as_bytes())?, enr);
    ///
    /// // The last byte is the low byte of the `udp` port: change it and the
    /// // record is still well-formed RLP, but no longer what the key signed.
    /// let mut tampered = enr.as_bytes().to_vec();
    /// *tampered.last_mut().unwrap() ^= 1;
    /// assert_eq!(Enr::decode(&tampered), Err(Error::InvalidSignature));
    ///
    /// let mut trailing = enr.as_bytes().to_vec();
    /// trailing.push(0);
    /// assert_eq!(Enr::decode(&trailing), Err(Error::TrailingBytes(1)));
    /// assert!(matches!(Enr::decode(&[0xc1]), Err(Error::Rlp(_))));
    ///
    /// // The text form goes through the same checks.
    /// let text = enr.to_text();
    /// assert_eq!(Enr::from_text(&text)?, enr);
    /// assert!(matches!(Enr::from_text(&text[4..]), Err(Error::EnrText(_))));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Enr, Error> {
        if bytes.len() > MAX_RECORD_SIZE {
            return Err(Error::RecordTooLarge {
                size: bytes.len(),
                max: MAX_RECORD_SIZE,
            });
        }
        let (list, rest) = rlp_strict::split(bytes)?;
        if !rest.is_empty() {
            return Err(Error::TrailingBytes(rest.len()));
        }
        let mut items = list.items()?;
        let sig_item = items
            .next()
            .ok_or(Error::RecordShape("missing signature"))??;
        let signature = sig_item.bytes()?;
        // Everything after the signature is the signed content's payload.
        let content_payload = list
            .payload
            .get(sig_item.raw.len()..)
            .ok_or(Error::RecordShape("missing sequence number"))?;
        let seq = items
            .next()
            .ok_or(Error::RecordShape("missing sequence number"))??
            .u64()?;
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(8);
        while let Some(key) = items.next() {
            let key = key?.bytes()?;
            let value: Item<'_> = items
                .next()
                .ok_or(Error::RecordShape("odd number of key/value items"))??;
            if let Some((last, _)) = pairs.last() {
                if last.as_slice() >= key {
                    return Err(Error::UnsortedKeys);
                }
            }
            pairs.push((key.to_vec(), value.raw.to_vec()));
        }

        let scheme = lookup(&pairs, b"id").ok_or(Error::MissingIdentityScheme)?;
        let scheme = rlp_strict::single(scheme)?.bytes()?;
        if scheme != b"v4" {
            return Err(Error::UnknownIdentityScheme(
                String::from_utf8_lossy(scheme).into_owned(),
            ));
        }
        let key_rlp = lookup(&pairs, b"secp256k1").ok_or(Error::InvalidPublicKey)?;
        let key_bytes = rlp_strict::single(key_rlp)?.bytes()?;
        if key_bytes.len() != 33 {
            return Err(Error::InvalidPublicKey);
        }
        let secp_key =
            secp256k1::PublicKey::from_slice(key_bytes).map_err(|_| Error::InvalidPublicKey)?;
        let signature: [u8; 64] = signature.try_into().map_err(|_| Error::InvalidSignature)?;
        let sig = Signature::from_compact(&signature).map_err(|_| Error::InvalidSignature)?;
        let digest = keccak256(&rlp_strict::encode_list(content_payload));
        SECP256K1
            .verify_ecdsa(&Message::from_digest(digest), &sig, &secp_key)
            .map_err(|_| Error::InvalidSignature)?;
        let uncompressed = secp_key.serialize_uncompressed();
        let public_key = PublicKey::from_slice(&uncompressed)?;
        let node_id = NodeId(keccak256(&uncompressed[1..]));
        Ok(Enr {
            raw: bytes.to_vec(),
            seq,
            pairs,
            signature,
            public_key,
            node_id,
        })
    }

    /// The encoded record (RLP), exactly as received or signed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The text form `enr:<base64url, no padding>`.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(TEXT_PREFIX.len() + self.raw.len() * 4 / 3 + 4);
        s.push_str(TEXT_PREFIX);
        BASE64URL_NOPAD.encode_append(&self.raw, &mut s);
        s
    }

    /// Parses the text form (same as `str::parse`).
    pub fn from_text(s: &str) -> Result<Enr, Error> {
        let body = s
            .strip_prefix(TEXT_PREFIX)
            .ok_or(Error::EnrText("missing \"enr:\" prefix"))?;
        if s.len() > MAX_TEXT_LEN {
            return Err(Error::RecordTooLarge {
                size: BASE64URL_NOPAD.decode_len(body.len()).unwrap_or(body.len()),
                max: MAX_RECORD_SIZE,
            });
        }
        let bytes = BASE64URL_NOPAD
            .decode(body.as_bytes())
            .map_err(|_| Error::EnrText("not unpadded URL-safe base64"))?;
        Enr::decode(&bytes)
    }

    /// The sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The 64-byte `r || s` signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// The identity scheme name (always `b"v4"` for a decoded record).
    pub fn id(&self) -> &'static [u8] {
        b"v4"
    }

    /// The node's public key (the `secp256k1` pair).
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The 32-byte node id (keccak256 of the uncompressed key).
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The raw RLP of the value stored under `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        lookup(&self.pairs, key)
    }

    /// The value under `key` when it is an RLP string (not a list).
    pub fn get_bytes(&self, key: &[u8]) -> Option<&[u8]> {
        let raw = self.get(key)?;
        rlp_strict::single(raw).ok()?.bytes().ok()
    }

    /// All pairs in key order: key and raw RLP value.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// A port value: a big-endian integer of at most 2 bytes.
    ///
    /// Leading zero bytes are accepted: @chainsafe/enr (js-waku, Lodestar)
    /// always writes ports as 2 bytes, so port 1 arrives as `0x0001`, which
    /// go-ethereum's strict integer decoding rejects. We write canonical
    /// integers and read both.
    fn port(&self, key: &[u8]) -> Option<u16> {
        let b = self.get_bytes(key)?;
        let skip = b.iter().take_while(|&&x| x == 0).count();
        match b.get(skip..)? {
            [] => Some(0),
            [lo] => Some(u16::from(*lo)),
            [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }

    /// The IPv4 address (`ip`), if present and 4 bytes.
    pub fn ip4(&self) -> Option<Ipv4Addr> {
        let b: [u8; 4] = self.get_bytes(b"ip")?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// The IPv6 address (`ip6`), if present and 16 bytes.
    pub fn ip6(&self) -> Option<Ipv6Addr> {
        let b: [u8; 16] = self.get_bytes(b"ip6")?.try_into().ok()?;
        Some(Ipv6Addr::from(b))
    }

    /// The TCP port (`tcp`).
    pub fn tcp(&self) -> Option<u16> {
        self.port(b"tcp")
    }

    /// The UDP port (`udp`).
    pub fn udp(&self) -> Option<u16> {
        self.port(b"udp")
    }

    /// The IPv6 TCP port: `tcp6`, else `tcp` ("If no tcp6 / udp6 port is
    /// provided, the tcp / udp port applies to both IP addresses").
    pub fn tcp6(&self) -> Option<u16> {
        self.port(b"tcp6").or_else(|| self.tcp())
    }

    /// The IPv6 UDP port: `udp6`, else `udp`.
    pub fn udp6(&self) -> Option<u16> {
        self.port(b"udp6").or_else(|| self.udp())
    }

    /// The UDP endpoint for discovery: IPv4 if the record has one, else IPv6.
    pub fn udp_socket(&self) -> Option<SocketAddr> {
        match (self.ip4(), self.udp()) {
            (Some(ip), Some(port)) => Some(SocketAddr::new(IpAddr::V4(ip), port)),
            _ => Some(SocketAddr::new(IpAddr::V6(self.ip6()?), self.udp6()?)),
        }
    }

    /// The TCP (RLPx) endpoint: IPv4 if the record has one, else IPv6.
    pub fn tcp_socket(&self) -> Option<SocketAddr> {
        match (self.ip4(), self.tcp()) {
            (Some(ip), Some(port)) => Some(SocketAddr::new(IpAddr::V4(ip), port)),
            _ => Some(SocketAddr::new(IpAddr::V6(self.ip6()?), self.tcp6()?)),
        }
    }

    /// The `enode://` URL to dial this node over RLPx: needs an IP and a
    /// TCP port; `discport` is set when the UDP port differs.
    ///
    /// ```
    /// use status_core::SecretKey;
    /// use status_discovery::Enr;
    ///
    /// let key = SecretKey::from_bytes(&[1; 32])?;
    /// let enr = Enr::builder().udp(30301).sign(&key)?;
    /// assert_eq!(enr.to_enode(), None); // no IP, no TCP port
    ///
    /// // Publish an update: same pairs plus the new ones, seq + 1.
    /// let enr = enr.to_builder().ip4([10, 0, 0, 1].into()).tcp(30303).sign(&key)?;
    /// assert_eq!(enr.seq(), 2);
    /// let enode = enr.to_enode().unwrap();
    /// assert_eq!(enode.addr, "10.0.0.1:30303".parse().unwrap());
    /// assert_eq!(enode.discport, Some(30301));
    /// assert_eq!(enode.id, key.public_key().node_id());
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn to_enode(&self) -> Option<Enode> {
        let addr = self.tcp_socket()?;
        let udp = if addr.is_ipv4() {
            self.udp()
        } else {
            self.udp6()
        };
        let mut enode = Enode::new(&self.public_key, addr);
        enode.discport = udp.filter(|&p| p != addr.port());
        Some(enode)
    }
}

fn lookup<'a>(pairs: &'a [(Vec<u8>, Vec<u8>)], key: &[u8]) -> Option<&'a [u8]> {
    pairs
        .binary_search_by(|(k, _)| k.as_slice().cmp(key))
        .ok()
        .and_then(|i| pairs.get(i))
        .map(|(_, v)| v.as_slice())
}

impl fmt::Display for Enr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for Enr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Enr");
        d.field("seq", &self.seq).field("node_id", &self.node_id);
        if let Some(ip) = self.ip4() {
            d.field("ip", &ip);
        }
        if let Some(ip) = self.ip6() {
            d.field("ip6", &ip);
        }
        if let Some(p) = self.tcp() {
            d.field("tcp", &p);
        }
        if let Some(p) = self.udp() {
            d.field("udp", &p);
        }
        d.finish_non_exhaustive()
    }
}

impl FromStr for Enr {
    type Err = Error;
    fn from_str(s: &str) -> Result<Enr, Error> {
        Enr::from_text(s)
    }
}

/// Builds and signs a record. Keys are kept sorted; `id` and `secp256k1`
/// are set by [`EnrBuilder::sign`] from the signing key.
#[derive(Debug, Clone)]
pub struct EnrBuilder {
    seq: u64,
    pairs: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Default for EnrBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EnrBuilder {
    /// An empty builder with sequence number 1 (some implementations
    /// reject seq 0).
    pub fn new() -> Self {
        EnrBuilder {
            seq: 1,
            pairs: BTreeMap::new(),
        }
    }

    /// Sets the sequence number.
    pub fn seq(mut self, seq: u64) -> Self {
        self.seq = seq;
        self
    }

    /// Sets `key` to an RLP string holding `value`.
    pub fn insert(mut self, key: impl Into<Vec<u8>>, value: &[u8]) -> Self {
        let mut v = Vec::with_capacity(value.len() + 3);
        rlp_strict::encode_bytes(&mut v, value);
        self.pairs.insert(key.into(), v);
        self
    }

    /// Sets `key` to an already RLP-encoded value (a string or a list, e.g.
    /// the `eth` fork id). Fails if `rlp` is not exactly one canonical item.
    ///
    /// ```
    /// use status_core::SecretKey;
    /// use status_discovery::{Enr, Error};
    ///
    /// // `eth` = [[fork-hash, fork-next]], kept as raw RLP.
    /// let eth = [0xc7, 0xc6, 0x84, 0xfc, 0x64, 0xec, 0x04, 0x80];
    /// let enr = Enr::builder()
    ///     .insert_raw("eth", &eth)?
    ///     .insert("name", b"relay-1")
    ///     .sign(&SecretKey::from_bytes(&[1; 32])?)?;
    /// assert_eq!(enr.get(b"eth"), Some(&eth[..]));
    /// assert_eq!(enr.get_bytes(b"eth"), None); // a list, not a string
    /// assert_eq!(enr.get_bytes(b"name"), Some(&b"relay-1"[..]));
    ///
    /// // Two items, or a truncated one, are refused.
    /// assert!(matches!(Enr::builder().insert_raw("x", &[0x01, 0x02]), Err(Error::Rlp(_))));
    /// assert!(matches!(Enr::builder().insert_raw("x", &[0x82, 0x01]), Err(Error::Rlp(_))));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn insert_raw(mut self, key: impl Into<Vec<u8>>, rlp: &[u8]) -> Result<Self, Error> {
        rlp_strict::single(rlp)?;
        self.pairs.insert(key.into(), rlp.to_vec());
        Ok(self)
    }

    /// Sets `key` to an RLP integer.
    pub fn insert_u64(mut self, key: impl Into<Vec<u8>>, value: u64) -> Self {
        let mut v = Vec::with_capacity(9);
        rlp_strict::encode_u64(&mut v, value);
        self.pairs.insert(key.into(), v);
        self
    }

    /// Removes `key`.
    pub fn remove(mut self, key: &[u8]) -> Self {
        self.pairs.remove(key);
        self
    }

    /// Sets `ip` (for an IPv4 address) or `ip6`.
    pub fn ip(self, ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => self.ip4(v4),
            IpAddr::V6(v6) => self.ip6(v6),
        }
    }

    /// Sets `ip`.
    pub fn ip4(self, ip: Ipv4Addr) -> Self {
        self.insert("ip", &ip.octets())
    }

    /// Sets `ip6`.
    pub fn ip6(self, ip: Ipv6Addr) -> Self {
        self.insert("ip6", &ip.octets())
    }

    /// Sets `tcp`.
    pub fn tcp(self, port: u16) -> Self {
        self.insert_u64("tcp", port.into())
    }

    /// Sets `udp`.
    pub fn udp(self, port: u16) -> Self {
        self.insert_u64("udp", port.into())
    }

    /// Sets `tcp6`.
    pub fn tcp6(self, port: u16) -> Self {
        self.insert_u64("tcp6", port.into())
    }

    /// Sets `udp6`.
    pub fn udp6(self, port: u16) -> Self {
        self.insert_u64("udp6", port.into())
    }

    /// Signs with the "v4" scheme: sets `id` = "v4" and `secp256k1` = the
    /// compressed public key of `key`, then signs `keccak256(content)`.
    /// Fails with [`Error::RecordTooLarge`] over 300 bytes.
    ///
    /// ```
    /// use status_core::SecretKey;
    /// use status_discovery::{Enr, Error, NodeId};
    ///
    /// let key = SecretKey::from_bytes(&[1; 32])?;
    /// let enr = Enr::builder().seq(7).tcp(30303).sign(&key)?;
    /// assert_eq!(enr.get_bytes(b"id"), Some(&b"v4"[..]));
    /// assert_eq!(enr.public_key(), &key.public_key());
    /// assert_eq!(enr.node_id(), NodeId::from_public_key(&key.public_key()));
    /// assert_eq!(enr.seq(), 7);
    ///
    /// let big = Enr::builder().insert("blob", &[0xaa; 250]).sign(&key);
    /// assert!(matches!(big, Err(Error::RecordTooLarge { max: 300, .. })));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn sign(&self, key: &SecretKey) -> Result<Enr, Error> {
        let mut pairs = self.pairs.clone();
        let mut id = Vec::new();
        rlp_strict::encode_bytes(&mut id, b"v4");
        pairs.insert(b"id".to_vec(), id);
        let mut pk = Vec::new();
        rlp_strict::encode_bytes(&mut pk, &key.public_key().to_compressed());
        pairs.insert(b"secp256k1".to_vec(), pk);

        let mut content = Vec::with_capacity(MAX_RECORD_SIZE);
        rlp_strict::encode_u64(&mut content, self.seq);
        for (k, v) in &pairs {
            rlp_strict::encode_bytes(&mut content, k);
            content.extend_from_slice(v);
        }
        let digest = keccak256(&rlp_strict::encode_list(&content));
        let sig = key.sign_recoverable(&digest);
        let mut payload = Vec::with_capacity(content.len() + 66);
        rlp_strict::encode_bytes(&mut payload, &sig.as_bytes()[..64]);
        payload.extend_from_slice(&content);
        let record = rlp_strict::encode_list(&payload);
        if record.len() > MAX_RECORD_SIZE {
            return Err(Error::RecordTooLarge {
                size: record.len(),
                max: MAX_RECORD_SIZE,
            });
        }
        Enr::decode(&record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn rejects_oversized_records() {
        let big = vec![0xaa; 250];
        let err = Enr::builder().insert("x", &big).sign(&key(1)).unwrap_err();
        assert!(matches!(err, Error::RecordTooLarge { max: 300, .. }));
    }

    #[test]
    fn tcp6_falls_back_to_tcp() {
        let e = Enr::builder().tcp(1).udp(2).sign(&key(1)).unwrap();
        assert_eq!(e.tcp6(), Some(1));
        assert_eq!(e.udp6(), Some(2));
        let e = e.to_builder().tcp6(3).sign(&key(1)).unwrap();
        assert_eq!(e.tcp6(), Some(3));
        assert_eq!(e.seq(), 2);
    }

    #[test]
    fn to_enode_sets_discport_only_when_ports_differ() {
        let e = Enr::builder()
            .ip4([10, 0, 0, 1].into())
            .tcp(30303)
            .udp(30303)
            .sign(&key(2))
            .unwrap();
        let enode = e.to_enode().unwrap();
        assert_eq!(enode.discport, None);
        assert_eq!(enode.id, key(2).public_key().node_id());
        let e = e.to_builder().udp(30301).sign(&key(2)).unwrap();
        assert_eq!(e.to_enode().unwrap().discport, Some(30301));
    }
}
