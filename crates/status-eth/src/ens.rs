//! ENS: EIP-137 names and namehash, the registry and resolver calls
//! (`owner`, `resolver`, `addr`, `pubkey`, EIP-1577 `contenthash`), and
//! the verification status-go does of the `ens_name` a ChatMessage or
//! ContactUpdate carries ([`EnsCache`]).
//!
//! The lookups themselves go through the [`crate::Wallet`] machine; this
//! module is their pure part: call data, answer decoding, the cache and its
//! back-off.

use std::collections::HashMap;

use alloy_primitives::{keccak256, Address, Bytes, B256};
use alloy_sol_types::{sol, SolCall};
use status_core::{PublicKey, Timestamp};

use crate::error::{Error, Malformed};

/// The ENS registry on Ethereum mainnet (the 2020 registry with fallback
/// that go-ens v3 uses, and so status-go v0.55.1).
pub const MAINNET_REGISTRY: Address = Address::new([
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x2e, 0x07, 0x4e, 0xc6, 0x9a, 0x0d, 0xfb, 0x29, 0x97, 0xba,
    0x6c, 0x7d, 0x2e, 0x1e,
]);

sol! {
    /// The EIP-137 registry.
    interface ENSRegistry {
        function owner(bytes32 node) external view returns (address);
        function resolver(bytes32 node) external view returns (address);
        function ttl(bytes32 node) external view returns (uint64);
        function setOwner(bytes32 node, address owner) external;
        function setSubnodeOwner(bytes32 node, bytes32 label, address owner) external;
        function setResolver(bytes32 node, address resolver) external;
    }

    /// The resolver profiles Status reads (EIP-137 `addr`, the `pubkey`
    /// profile of the public resolver, EIP-1577 `contenthash`, EIP-181
    /// `name`) and their setters.
    interface ENSResolver {
        function supportsInterface(bytes4 interfaceID) external view returns (bool);
        function addr(bytes32 node) external view returns (address);
        function setAddr(bytes32 node, address addr) external;
        function pubkey(bytes32 node) external view returns (bytes32 x, bytes32 y);
        function setPubkey(bytes32 node, bytes32 x, bytes32 y) external;
        function contenthash(bytes32 node) external view returns (bytes);
        function setContenthash(bytes32 node, bytes hash) external;
        function name(bytes32 node) external view returns (string);
    }
}

/// Normalises `name` for hashing, as go-ens v3's `Normalize` does for the
/// names it accepts: ASCII letters are lower-cased (UTS-46 mapping of
/// ASCII), empty labels are refused.
///
/// Non-ASCII names and `xn--` (punycode) labels are refused with
/// [`Error::InvalidName`] rather than hashed wrongly: go-ens maps them
/// through the full UTS-46 tables, which this crate does not carry.
/// Status usernames are ASCII alphanumeric (9/ETHEREUM-USAGE), so no valid
/// Status name is affected.
pub fn normalize(name: &str) -> Result<String, Error> {
    if !name.is_ascii() {
        return Err(Error::InvalidName("non-ASCII names are not supported"));
    }
    if name.len() > 255 {
        return Err(Error::InvalidName("longer than 255 bytes"));
    }
    let lower = name.to_ascii_lowercase();
    for label in lower.split('.') {
        if label.is_empty() {
            return Err(Error::InvalidName("empty label"));
        }
        if label.starts_with("xn--") {
            return Err(Error::InvalidName("punycode labels are not supported"));
        }
        if label.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(Error::InvalidName("control character or space"));
        }
    }
    Ok(lower)
}

/// The EIP-137 hash of one label.
pub fn labelhash(label: &str) -> B256 {
    keccak256(label.as_bytes())
}

/// EIP-137 namehash of an already normalised name: `namehash('') = 0`,
/// `namehash(label.rest) = keccak256(namehash(rest) || keccak256(label))`.
///
/// ```
/// use status_eth::ens::namehash;
/// assert_eq!(
///     hex::encode(namehash("eth")),
///     "93cdeb708b7545dc668eb9280176169d1c33cfd8ed6f04690a0bcc88a93fc4ae"
/// );
/// ```
pub fn namehash(normalized: &str) -> B256 {
    let mut node = B256::ZERO;
    if normalized.is_empty() {
        return node;
    }
    let mut buf = [0u8; 64];
    for label in normalized.rsplit('.') {
        buf[..32].copy_from_slice(node.as_slice());
        buf[32..].copy_from_slice(labelhash(label).as_slice());
        node = keccak256(buf);
    }
    node
}

/// [`normalize`] then [`namehash`].
pub fn node(name: &str) -> Result<B256, Error> {
    if name.is_empty() {
        return Ok(B256::ZERO);
    }
    Ok(namehash(&normalize(name)?))
}

/// Registry `owner(node)` call data.
pub fn owner_call(node: B256) -> Bytes {
    ENSRegistry::ownerCall { node }.abi_encode().into()
}

/// Registry `resolver(node)` call data.
pub fn resolver_call(node: B256) -> Bytes {
    ENSRegistry::resolverCall { node }.abi_encode().into()
}

/// Resolver `addr(node)` call data.
pub fn addr_call(node: B256) -> Bytes {
    ENSResolver::addrCall { node }.abi_encode().into()
}

/// Resolver `pubkey(node)` call data.
pub fn pubkey_call(node: B256) -> Bytes {
    ENSResolver::pubkeyCall { node }.abi_encode().into()
}

/// Resolver `contenthash(node)` call data.
pub fn contenthash_call(node: B256) -> Bytes {
    ENSResolver::contenthashCall { node }.abi_encode().into()
}

/// Registry `setSubnodeOwner(node, labelhash(label), owner)` call data.
pub fn set_subnode_owner_call(node: B256, label: &str, owner: Address) -> Bytes {
    ENSRegistry::setSubnodeOwnerCall {
        node,
        label: labelhash(label),
        owner,
    }
    .abi_encode()
    .into()
}

/// Registry `setResolver(node, resolver)` call data.
pub fn set_resolver_call(node: B256, resolver: Address) -> Bytes {
    ENSRegistry::setResolverCall { node, resolver }
        .abi_encode()
        .into()
}

/// Resolver `setPubkey(node, x, y)` call data for `key`.
pub fn set_pubkey_call(node: B256, key: &PublicKey) -> Bytes {
    let point = key.to_uncompressed();
    ENSResolver::setPubkeyCall {
        node,
        x: B256::from_slice(&point[1..33]),
        y: B256::from_slice(&point[33..]),
    }
    .abi_encode()
    .into()
}

/// Resolver `setAddr(node, addr)` call data.
pub fn set_addr_call(node: B256, addr: Address) -> Bytes {
    ENSResolver::setAddrCall { node, addr }.abi_encode().into()
}

/// Resolver `setContenthash(node, hash)` call data.
pub fn set_contenthash_call(node: B256, hash: &[u8]) -> Bytes {
    ENSResolver::setContenthashCall {
        node,
        hash: Bytes::copy_from_slice(hash),
    }
    .abi_encode()
    .into()
}

fn return_data(_: alloy_sol_types::Error) -> Error {
    Error::Malformed {
        method: "eth_call",
        reason: Malformed::ReturnData,
    }
}

/// Decodes an `address` answer (`owner`, `resolver`, `addr`).
pub fn decode_address(ret: &[u8]) -> Result<Address, Error> {
    ENSRegistry::ownerCall::abi_decode_returns_validate(ret).map_err(return_data)
}

/// Decodes a `pubkey` answer: the 65-byte uncompressed point `0x04 || x ||
/// y` that status-go compares (`elliptic.Marshal`), which for an unset
/// record is `0x04` and zeroes, and so matches no key.
pub fn decode_pubkey(ret: &[u8]) -> Result<[u8; 65], Error> {
    let r = ENSResolver::pubkeyCall::abi_decode_returns_validate(ret).map_err(return_data)?;
    let mut point = [0u8; 65];
    point[0] = 4;
    point[1..33].copy_from_slice(r.x.as_slice());
    point[33..].copy_from_slice(r.y.as_slice());
    Ok(point)
}

/// Decodes a `contenthash` answer (the raw EIP-1577 bytes; empty = unset).
pub fn decode_contenthash(ret: &[u8]) -> Result<Bytes, Error> {
    ENSResolver::contenthashCall::abi_decode_returns_validate(ret).map_err(return_data)
}

/// An EIP-1577 contenthash: `<protoCode uvarint><value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contenthash {
    /// `0xe3`: an IPFS CID (v1, binary, without multibase prefix).
    Ipfs(Vec<u8>),
    /// `0xe4`: a Swarm CID (v1, binary).
    Swarm(Vec<u8>),
    /// Any other multicodec.
    Other {
        /// The protocol code (below 2^63: a multiformats varint).
        codec: u64,
        /// The value bytes.
        value: Vec<u8>,
    },
}

fn read_uvarint(bytes: &[u8]) -> Result<(u64, &[u8]), Error> {
    let mut v: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(9) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if i > 0 && *b == 0 {
                return Err(Error::InvalidContenthash("non-minimal varint"));
            }
            return Ok((v, &bytes[i + 1..]));
        }
    }
    Err(Error::InvalidContenthash("varint does not end"))
}

fn write_uvarint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Contenthash {
    /// Decodes the bytes a resolver returns.
    ///
    /// ```
    /// use status_eth::ens::Contenthash;
    /// let bytes = hex::decode(
    ///     "e3010170122029f2d17be6139079dc48696d1f582a8530eb9805b561eda517e22a892c7e3f1f",
    /// ).unwrap();
    /// let hash = Contenthash::decode(&bytes).unwrap();
    /// assert_eq!(hash.to_uri().unwrap(), "ipfs://QmRAQB6YaCyidP37UdDnjFY5vQuiBrcqdyoW1CuDgwxkD4");
    /// assert_eq!(hash.encode(), bytes);
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let (codec, value) = read_uvarint(bytes)?;
        if value.is_empty() {
            return Err(Error::InvalidContenthash("no value"));
        }
        Ok(match codec {
            0xe3 => Contenthash::Ipfs(value.to_vec()),
            0xe4 => Contenthash::Swarm(value.to_vec()),
            codec => Contenthash::Other {
                codec,
                value: value.to_vec(),
            },
        })
    }

    /// The bytes a resolver stores. Multiformats varints carry at most 63
    /// bits (9 bytes), so an `Other` codec must be below 2^63 to decode
    /// back.
    pub fn encode(&self) -> Vec<u8> {
        let (codec, value) = match self {
            Contenthash::Ipfs(v) => (0xe3, v),
            Contenthash::Swarm(v) => (0xe4, v),
            Contenthash::Other { codec, value } => (*codec, value),
        };
        let mut out = Vec::with_capacity(10 + value.len());
        write_uvarint(codec, &mut out);
        out.extend_from_slice(value);
        out
    }

    /// The text form EIP-1577 gives: `ipfs://<base58 CIDv0>` for a CIDv1
    /// dag-pb sha2-256 IPFS hash, `bzz://<hex>` for a Swarm manifest
    /// keccak256 hash. `None` for other content.
    pub fn to_uri(&self) -> Option<String> {
        match self {
            // cid-version 1, dag-pb (0x70), then the multihash 0x12 0x20 <32>.
            Contenthash::Ipfs(cid) if cid.len() == 36 && cid[..2] == [0x01, 0x70] => {
                let multihash = &cid[2..];
                (multihash[..2] == [0x12, 0x20])
                    .then(|| format!("ipfs://{}", bs58::encode(multihash).into_string()))
            }
            // cid-version 1, swarm-manifest (0xfa 0x01), keccak256 (0x1b), 32 bytes.
            Contenthash::Swarm(cid)
                if cid.len() == 37 && cid[..5] == [0x01, 0xfa, 0x01, 0x1b, 0x20] =>
            {
                Some(format!("bzz://{}", hex::encode(&cid[5..])))
            }
            _ => None,
        }
    }
}

// ---- Status username rules (9/ETHEREUM-USAGE "Slashing") ----

/// Why a Status username (the label under `stateofus.eth`) may be slashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameProblem {
    /// Characters other than `[a-z0-9]`.
    NotAlphanumeric,
    /// `0x` + 5 hex digits + more, longer than 12 characters: too similar
    /// to an address.
    LooksLikeAddress,
    /// Shorter than the registrar's minimum.
    TooShort,
}

/// Checks a Status username against the slashing rules that need no chain
/// state (the reserved list and the registrar's current minimum length are
/// on chain; `min_len` is that minimum as the caller knows it).
pub fn check_username(label: &str, min_len: usize) -> Result<(), UsernameProblem> {
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(UsernameProblem::NotAlphanumeric);
    }
    let b = label.as_bytes();
    if b.len() > 12 && b.starts_with(b"0x") && b[2..7].iter().all(u8::is_ascii_hexdigit) {
        return Err(UsernameProblem::LooksLikeAddress);
    }
    if label.len() < min_len {
        return Err(UsernameProblem::TooShort);
    }
    Ok(())
}

// ---- ens_name verification (status-go protocol/ens.go, messenger.go) ----

/// status-go's `maxRetries`: after this many failed lookups a name is not
/// tried again.
pub const MAX_RETRIES: u64 = 11;
/// status-go's `ENSBackoffTimeSec`: the step of the exponential back-off.
pub const BACKOFF_STEP_SECS: u64 = 30;

/// What is known about one contact's claimed ENS name: status-go's
/// `Contact` fields `Name`, `ENSVerified`, `ENSVerifiedAt`,
/// `ENSVerificationRetries`, `LastENSClockValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsRecord {
    /// The claimed name.
    pub name: String,
    /// The name's resolver returned the contact's public key.
    pub verified: bool,
    /// When it was last checked, Unix seconds (0 = never).
    pub verified_at: u64,
    /// Failed lookups since the name was last set.
    pub retries: u64,
    /// Lamport clock of the message that set the name.
    pub last_clock: u64,
}

impl EnsRecord {
    /// status-go's `shouldENSBeVerified`: a `.eth` name, not verified,
    /// fewer than [`MAX_RETRIES`] failures, and the back-off
    /// `30 s * retries * 2^retries` since the last check has passed.
    pub fn should_verify(&self, now: Timestamp) -> bool {
        !self.name.is_empty()
            && !self.verified
            && self.retries < MAX_RETRIES
            && now.as_secs() >= self.next_check_secs()
            && self.name.ends_with(".eth")
    }

    /// The Unix second from which a check is due again.
    pub fn next_check_secs(&self) -> u64 {
        // retries < MAX_RETRIES keeps this far from overflow.
        let r = self.retries.min(MAX_RETRIES);
        self.verified_at
            .saturating_add(BACKOFF_STEP_SECS * r * (1u64 << r))
    }
}

/// One verification to run: does `name` resolve to `public_key`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsCheck {
    /// The claimed name.
    pub name: String,
    /// The claimant.
    pub public_key: PublicKey,
}

/// The verification state of every contact's claimed name, keyed by the
/// contact's public key, updated as status-go updates its contacts:
///
/// - [`EnsCache::observe`] on every ChatMessage / ContactUpdate carrying an
///   `ens_name` (status-go's `hasENSNameChanged` + `ResetENSVerification`:
///   a different `.eth` name with a clock not older than the last one
///   resets the record);
/// - [`EnsCache::due`] lists the checks status-go's `VerifyENSNames` would
///   run now;
/// - [`EnsCache::record`] stores a check's outcome (`verified_at` = now; a
///   lookup error counts a retry, a mismatch does not).
///
/// Bounded: past `capacity` the record checked longest ago is dropped.
///
/// ```
/// use status_core::{SecretKey, Timestamp};
/// use status_eth::ens::EnsCache;
///
/// let alice = SecretKey::from_bytes(&[1; 32]).unwrap().public_key();
/// let mut cache = EnsCache::new(100);
/// assert!(cache.observe(&alice, "alice.stateofus.eth", 10));
/// let now = Timestamp::from_secs(1_000);
/// let due = cache.due(now);
/// assert_eq!(due.len(), 1);
/// cache.record(&due[0], now, Ok(true));
/// assert!(cache.is_verified(&alice, "alice.stateofus.eth"));
/// // An older message cannot change the name.
/// assert!(!cache.observe(&alice, "mallory.eth", 9));
/// ```
#[derive(Debug, Clone)]
pub struct EnsCache {
    records: HashMap<PublicKey, EnsRecord>,
    capacity: usize,
}

impl EnsCache {
    /// An empty cache holding at most `capacity` contacts.
    pub fn new(capacity: usize) -> Self {
        EnsCache {
            records: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// A message from `sender` with `ens_name` and Lamport `clock` arrived.
    /// Returns true when the record was (re)set and needs verification.
    pub fn observe(&mut self, sender: &PublicKey, ens_name: &str, clock: u64) -> bool {
        if ens_name.is_empty() || !ens_name.ends_with(".eth") {
            return false;
        }
        if let Some(r) = self.records.get(sender) {
            if r.last_clock > clock || r.name == ens_name {
                return false;
            }
        }
        self.insert(
            *sender,
            EnsRecord {
                name: ens_name.to_string(),
                verified: false,
                verified_at: 0,
                retries: 0,
                last_clock: clock,
            },
        );
        true
    }

    /// Puts a record in (e.g. loaded from a store), evicting the record
    /// checked longest ago when full.
    pub fn insert(&mut self, key: PublicKey, record: EnsRecord) {
        if !self.records.contains_key(&key) && self.records.len() >= self.capacity {
            if let Some(oldest) = self
                .records
                .iter()
                .min_by_key(|(_, r)| (r.verified_at, r.last_clock))
                .map(|(k, _)| *k)
            {
                self.records.remove(&oldest);
            }
        }
        self.records.insert(key, record);
    }

    /// The checks due at `now`, in no particular order.
    pub fn due(&self, now: Timestamp) -> Vec<EnsCheck> {
        self.records
            .iter()
            .filter(|(_, r)| r.should_verify(now))
            .map(|(k, r)| EnsCheck {
                name: r.name.clone(),
                public_key: *k,
            })
            .collect()
    }

    /// The earliest Unix second at which a check becomes due, if any can.
    pub fn next_due_secs(&self) -> Option<u64> {
        self.records
            .values()
            .filter(|r| !r.verified && r.retries < MAX_RETRIES && r.name.ends_with(".eth"))
            .map(EnsRecord::next_check_secs)
            .min()
    }

    /// Stores the outcome of `check` run at `now`: `Ok(matches)` when the
    /// lookup worked, `Err(())` when it failed. Ignored when the record has
    /// moved on to another name meanwhile.
    pub fn record(&mut self, check: &EnsCheck, now: Timestamp, outcome: Result<bool, ()>) {
        let Some(r) = self.records.get_mut(&check.public_key) else {
            return;
        };
        if r.name != check.name {
            return;
        }
        r.verified_at = now.as_secs();
        match outcome {
            Ok(matches) => r.verified = matches,
            Err(()) => r.retries += 1,
        }
    }

    /// The record of `key`.
    pub fn get(&self, key: &PublicKey) -> Option<&EnsRecord> {
        self.records.get(key)
    }

    /// True when `key`'s current name is `name` and it is verified: what a
    /// client checks before showing a message's `ens_name`.
    pub fn is_verified(&self, key: &PublicKey, name: &str) -> bool {
        self.records
            .get(key)
            .is_some_and(|r| r.verified && r.name == name)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use status_core::SecretKey;

    fn key(b: u8) -> PublicKey {
        SecretKey::from_bytes(&[b; 32]).unwrap().public_key()
    }

    #[test]
    fn normalize_lowercases_and_refuses_what_it_cannot_map() {
        assert_eq!(
            normalize("Alice.Stateofus.ETH").unwrap(),
            "alice.stateofus.eth"
        );
        assert!(normalize("a..eth").is_err());
        assert!(normalize(".eth").is_err());
        assert!(normalize("bücher.eth").is_err());
        assert!(normalize("xn--bcher-kva.eth").is_err());
        assert!(normalize("a b.eth").is_err());
        assert_eq!(node("").unwrap(), B256::ZERO);
    }

    /// status-go protocol/ens_test.go TestShouldBeVerified, case by case.
    #[test]
    fn should_verify_follows_status_go() {
        let r = |name: &str, verified, at, retries| EnsRecord {
            name: name.into(),
            verified,
            verified_at: at,
            retries,
            last_clock: 0,
        };
        let t = Timestamp::from_secs;
        assert!(r("vitalik.eth", false, 0, 0).should_verify(t(0)));
        assert!(r("vitalik.eth", false, 10, 4).should_verify(t(10 + 30 * 4 * 16 + 1)));
        assert!(!r("", false, 0, 0).should_verify(t(0)));
        assert!(!r("vitalik.eth2", false, 0, 0).should_verify(t(0)));
        assert!(!r("vitalik.eth", true, 0, 0).should_verify(t(0)));
        assert!(!r("vitalik.eth", false, 10, 4).should_verify(t(10 + 30 * 4 * 16 - 1)));
        assert!(!r("vitalik.eth", false, 10, 11).should_verify(t(10 + 30 * 5 * 2048 + 1)));
    }

    #[test]
    fn observe_resets_only_on_newer_different_names() {
        let k = key(1);
        let mut c = EnsCache::new(10);
        assert!(!c.observe(&k, "", 1));
        assert!(!c.observe(&k, "alice", 1));
        assert!(c.observe(&k, "alice.eth", 5));
        let check = c.due(Timestamp::from_secs(100)).pop().unwrap();
        c.record(&check, Timestamp::from_secs(100), Err(()));
        assert_eq!(c.get(&k).unwrap().retries, 1);
        assert!(!c.observe(&k, "alice.eth", 6), "same name");
        assert!(!c.observe(&k, "bob.eth", 4), "older clock");
        assert!(c.observe(&k, "bob.eth", 5), "equal clock is not older");
        let r = c.get(&k).unwrap();
        assert_eq!(
            (r.retries, r.verified_at, r.name.as_str()),
            (0, 0, "bob.eth")
        );
        // The stale check of the old name is ignored.
        c.record(&check, Timestamp::from_secs(200), Ok(true));
        assert!(!c.is_verified(&k, "bob.eth"));
    }

    #[test]
    fn cache_is_bounded() {
        let mut c = EnsCache::new(3);
        for b in 1..=5 {
            c.observe(&key(b), "x.eth", 1);
        }
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn contenthash_hostile_bytes() {
        assert!(Contenthash::decode(&[]).is_err());
        assert!(Contenthash::decode(&[0xe3]).is_err());
        assert!(Contenthash::decode(&[0xff; 12]).is_err());
        assert!(Contenthash::decode(&[0x80, 0x00, 1]).is_err());
        let other = Contenthash::decode(&[0xe5, 0x01, 0x01, 7]).unwrap();
        assert_eq!(
            other,
            Contenthash::Other {
                codec: 0xe5,
                value: vec![1, 7]
            }
        );
        assert_eq!(other.to_uri(), None);
    }

    #[test]
    fn usernames() {
        assert_eq!(check_username("alice", 4), Ok(()));
        assert_eq!(
            check_username("Alice", 4),
            Err(UsernameProblem::NotAlphanumeric)
        );
        assert_eq!(
            check_username("al-ce", 4),
            Err(UsernameProblem::NotAlphanumeric)
        );
        assert_eq!(
            check_username("0xabcde1234567", 4),
            Err(UsernameProblem::LooksLikeAddress)
        );
        assert_eq!(check_username("0xabcde12345", 4), Ok(()));
        assert_eq!(
            check_username("0xabcde123456", 4),
            Err(UsernameProblem::LooksLikeAddress)
        );
        assert_eq!(check_username("abc", 4), Err(UsernameProblem::TooShort));
    }
}
