//! BIP32 extended keys: master key from a seed, private and public child
//! derivation, and the `xprv` / `xpub` serialization.

use hmac::{Hmac, Mac};
use ripemd::Ripemd160;
use secp256k1::{Scalar, SECP256K1};
use sha2::{Digest, Sha256, Sha512};
use status_core::{PublicKey, SecretKey};
use zeroize::{Zeroize, Zeroizing};

use crate::path::{ChildNumber, DerivationPath};
use crate::{Error, Seed};

/// Version bytes of a mainnet extended private key (`xprv`).
pub const XPRV_VERSION: u32 = 0x0488_ade4;
/// Version bytes of a mainnet extended public key (`xpub`).
pub const XPUB_VERSION: u32 = 0x0488_b21e;

/// Bytes of a serialized extended key before the Base58Check checksum.
const SERIALIZED_LEN: usize = 78;

/// Key of the master-key HMAC (BIP32 "Master key generation").
const MASTER_HMAC_KEY: &[u8] = b"Bitcoin seed";

fn hmac_sha512(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 64]> {
    let mut mac = match Hmac::<Sha512>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    for part in parts {
        mac.update(part);
    }
    let mut out = Zeroizing::new([0u8; 64]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

fn split(i: &[u8; 64]) -> (Zeroizing<[u8; 32]>, [u8; 32]) {
    let mut left = Zeroizing::new([0u8; 32]);
    let mut right = [0u8; 32];
    left.copy_from_slice(&i[..32]);
    right.copy_from_slice(&i[32..]);
    (left, right)
}

/// `HASH160(serP(K))[..4]`: how a child names its parent (BIP32 "Key
/// identifiers").
fn fingerprint_of(key: &secp256k1::PublicKey) -> [u8; 4] {
    let sha = Sha256::digest(key.serialize());
    let h160 = Ripemd160::digest(sha);
    [h160[0], h160[1], h160[2], h160[3]]
}

/// A BIP32 extended private key: a secp256k1 secret and a chain code, with
/// its place in the tree. Secret and chain code are erased on drop.
///
/// ```
/// use status_keys::{DerivationPath, ExtendedPrivateKey};
/// let seed = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
/// let m = ExtendedPrivateKey::new_master(&seed).unwrap();
/// let child = m.derive_path(&"m/0'/1".parse::<DerivationPath>().unwrap()).unwrap();
/// assert!(child.to_extended_public_key().to_string().starts_with("xpub6ASuArnXKPbf"));
/// ```
#[derive(Clone)]
pub struct ExtendedPrivateKey {
    secret: secp256k1::SecretKey,
    /// `point(secret)`, computed once: every derivation and fingerprint
    /// needs it, and a point multiply dominates a derivation's cost.
    public: secp256k1::PublicKey,
    chain_code: [u8; 32],
    depth: u8,
    parent_fingerprint: [u8; 4],
    child_number: ChildNumber,
}

impl ExtendedPrivateKey {
    /// The master key of a 16..=64-byte seed: `I = HMAC-SHA512("Bitcoin
    /// seed", seed)`, key `I_L`, chain code `I_R`. Fails (with probability
    /// below 2^-127) when `I_L` is 0 or not below the order.
    pub fn new_master(seed: &[u8]) -> Result<Self, Error> {
        if !(16..=64).contains(&seed.len()) {
            return Err(Error::BadSeedLength(seed.len()));
        }
        let i = hmac_sha512(MASTER_HMAC_KEY, &[seed]);
        let (il, chain_code) = split(&i);
        let secret = secp256k1::SecretKey::from_byte_array(&il)
            .map_err(|_| Error::InvalidDerivedKey { index: 0 })?;
        Ok(ExtendedPrivateKey {
            public: secret.public_key(SECP256K1),
            secret,
            chain_code,
            depth: 0,
            parent_fingerprint: [0; 4],
            child_number: ChildNumber::from_u32(0),
        })
    }

    /// The master key of a BIP39 seed.
    pub fn from_seed(seed: &Seed) -> Result<Self, Error> {
        Self::new_master(seed.as_bytes())
    }

    /// `CKDpriv`: the child at `child`, hardened or normal. Fails when the
    /// derived key is invalid (BIP32 says to move on to the next index;
    /// this is left to the caller, who sees the index in the error).
    pub fn derive_child(&self, child: ChildNumber) -> Result<Self, Error> {
        let depth = self.depth.checked_add(1).ok_or(Error::DepthOverflow)?;
        let index = child.to_u32();
        let public = self.public;
        let i = if child.is_hardened() {
            let secret = Zeroizing::new(self.secret.secret_bytes());
            hmac_sha512(
                &self.chain_code,
                &[&[0u8], &secret[..], &index.to_be_bytes()],
            )
        } else {
            hmac_sha512(
                &self.chain_code,
                &[&public.serialize(), &index.to_be_bytes()],
            )
        };
        let (il, chain_code) = split(&i);
        let mut tweak =
            Scalar::from_be_bytes(*il).map_err(|_| Error::InvalidDerivedKey { index })?;
        let secret = self.secret.add_tweak(&tweak);
        tweak.non_secure_erase();
        let secret = secret.map_err(|_| Error::InvalidDerivedKey { index })?;
        Ok(ExtendedPrivateKey {
            public: secret.public_key(SECP256K1),
            secret,
            chain_code,
            depth,
            parent_fingerprint: fingerprint_of(&public),
            child_number: child,
        })
    }

    /// Derives every level of `path` in turn, starting from this key.
    pub fn derive_path(&self, path: &DerivationPath) -> Result<Self, Error> {
        let mut key = self.clone();
        for &child in path.children() {
            key = key.derive_child(child)?;
        }
        Ok(key)
    }

    /// The secret key, as the rest of status-rs uses it.
    pub fn secret_key(&self) -> SecretKey {
        let bytes = Zeroizing::new(self.secret.secret_bytes());
        match SecretKey::from_bytes(&bytes[..]) {
            Ok(k) => k,
            Err(_) => unreachable!("a secp256k1::SecretKey is always in range"),
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        to_core_public(&self.public)
    }

    /// `N((k, c))`: the extended public key with the same chain code.
    pub fn to_extended_public_key(&self) -> ExtendedPublicKey {
        ExtendedPublicKey {
            key: self.public,
            chain_code: self.chain_code,
            depth: self.depth,
            parent_fingerprint: self.parent_fingerprint,
            child_number: self.child_number,
        }
    }

    /// The chain code.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    /// 0 for the master key, +1 per derivation.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The first 4 bytes of the parent's key identifier (0 for the master).
    pub fn parent_fingerprint(&self) -> [u8; 4] {
        self.parent_fingerprint
    }

    /// Which child of its parent this is.
    pub fn child_number(&self) -> ChildNumber {
        self.child_number
    }

    /// This key's own fingerprint (what its children carry).
    pub fn fingerprint(&self) -> [u8; 4] {
        fingerprint_of(&self.public)
    }

    /// The Base58Check `xprv...` string, in a buffer erased on drop.
    pub fn to_xprv(&self) -> Zeroizing<String> {
        let mut data = Zeroizing::new([0u8; SERIALIZED_LEN]);
        write_header(
            &mut data,
            XPRV_VERSION,
            self.depth,
            self.parent_fingerprint,
            self.child_number,
            &self.chain_code,
        );
        data[45] = 0;
        data[46..].copy_from_slice(&self.secret.secret_bytes());
        Zeroizing::new(base58check_encode(&data[..]))
    }

    /// Parses an `xprv...` string (BIP32 "Serialization format"), with
    /// every check of test vector 5: checksum, length, version, key
    /// prefix `0x00`, key in `1..n-1`, and a depth-0 key having zero
    /// parent fingerprint and index.
    pub fn from_xprv(s: &str) -> Result<Self, Error> {
        let data = base58check_decode(s)?;
        let header = read_header(&data)?;
        if header.version != XPRV_VERSION {
            return Err(if header.version == XPUB_VERSION {
                Error::WrongKeyKind { expected: "xprv" }
            } else {
                Error::UnknownVersion(header.version)
            });
        }
        if data[45] != 0 {
            return Err(Error::KeyPrefixMismatch(data[45]));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&data[46..]);
        let secret =
            secp256k1::SecretKey::from_byte_array(&key).map_err(|_| Error::InvalidPrivateKey)?;
        Ok(ExtendedPrivateKey {
            public: secret.public_key(SECP256K1),
            secret,
            chain_code: header.chain_code,
            depth: header.depth,
            parent_fingerprint: header.parent_fingerprint,
            child_number: header.child_number,
        })
    }
}

impl Drop for ExtendedPrivateKey {
    fn drop(&mut self) {
        self.secret.non_secure_erase();
        self.chain_code.zeroize();
    }
}

impl std::fmt::Debug for ExtendedPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtendedPrivateKey")
            .field("public_key", &self.public_key())
            .field("depth", &self.depth)
            .field("child_number", &self.child_number)
            .finish_non_exhaustive()
    }
}

impl std::str::FromStr for ExtendedPrivateKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_xprv(s)
    }
}

/// A BIP32 extended public key: derives normal (non-hardened) children
/// without any secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ExtendedPublicKey {
    key: secp256k1::PublicKey,
    chain_code: [u8; 32],
    depth: u8,
    parent_fingerprint: [u8; 4],
    child_number: ChildNumber,
}

impl ExtendedPublicKey {
    /// `CKDpub`: the normal child `child`; hardened children fail with
    /// [`Error::HardenedFromPublic`].
    ///
    /// A watch-only wallet derives its receiving keys from the account's
    /// `xpub` and gets the same keys as the private side:
    ///
    /// ```
    /// use status_keys::{ChildNumber, Error, ExtendedPrivateKey};
    ///
    /// let seed = [7u8; 32];
    /// let account = ExtendedPrivateKey::new_master(&seed)?;
    /// let xpub = account.to_extended_public_key();
    /// let child = ChildNumber::normal(5)?;
    /// assert_eq!(
    ///     xpub.derive_child(child)?.public_key(),
    ///     account.derive_child(child)?.public_key()
    /// );
    /// let hardened = ChildNumber::hardened(5)?;
    /// assert!(matches!(xpub.derive_child(hardened), Err(Error::HardenedFromPublic(_))));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn derive_child(&self, child: ChildNumber) -> Result<Self, Error> {
        let index = child.to_u32();
        if child.is_hardened() {
            return Err(Error::HardenedFromPublic(index));
        }
        let depth = self.depth.checked_add(1).ok_or(Error::DepthOverflow)?;
        let i = hmac_sha512(
            &self.chain_code,
            &[&self.key.serialize(), &index.to_be_bytes()],
        );
        let (il, chain_code) = split(&i);
        let tweak = Scalar::from_be_bytes(*il).map_err(|_| Error::InvalidDerivedKey { index })?;
        let key = self
            .key
            .add_exp_tweak(SECP256K1, &tweak)
            .map_err(|_| Error::InvalidDerivedKey { index })?;
        Ok(ExtendedPublicKey {
            key,
            chain_code,
            depth,
            parent_fingerprint: fingerprint_of(&self.key),
            child_number: child,
        })
    }

    /// Derives every level of `path` (all must be normal) from this key.
    pub fn derive_path(&self, path: &DerivationPath) -> Result<Self, Error> {
        let mut key = self.clone();
        for &child in path.children() {
            key = key.derive_child(child)?;
        }
        Ok(key)
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        to_core_public(&self.key)
    }

    /// The chain code.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    /// 0 for the master key, +1 per derivation.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The first 4 bytes of the parent's key identifier (0 for the master).
    pub fn parent_fingerprint(&self) -> [u8; 4] {
        self.parent_fingerprint
    }

    /// Which child of its parent this is.
    pub fn child_number(&self) -> ChildNumber {
        self.child_number
    }

    /// This key's own fingerprint (what its children carry).
    pub fn fingerprint(&self) -> [u8; 4] {
        fingerprint_of(&self.key)
    }

    /// The Base58Check `xpub...` string.
    pub fn to_xpub(&self) -> String {
        let mut data = [0u8; SERIALIZED_LEN];
        write_header(
            &mut data,
            XPUB_VERSION,
            self.depth,
            self.parent_fingerprint,
            self.child_number,
            &self.chain_code,
        );
        data[45..].copy_from_slice(&self.key.serialize());
        base58check_encode(&data)
    }

    /// Parses an `xpub...` string with the checks of BIP32 test vector 5:
    /// checksum, length, version, key prefix `0x02`/`0x03`, the point on
    /// the curve, and a depth-0 key having zero parent fingerprint and index.
    pub fn from_xpub(s: &str) -> Result<Self, Error> {
        let data = base58check_decode(s)?;
        let header = read_header(&data)?;
        if header.version != XPUB_VERSION {
            return Err(if header.version == XPRV_VERSION {
                Error::WrongKeyKind { expected: "xpub" }
            } else {
                Error::UnknownVersion(header.version)
            });
        }
        if !matches!(data[45], 2 | 3) {
            return Err(Error::KeyPrefixMismatch(data[45]));
        }
        let key =
            secp256k1::PublicKey::from_slice(&data[45..]).map_err(|_| Error::InvalidPublicKey)?;
        Ok(ExtendedPublicKey {
            key,
            chain_code: header.chain_code,
            depth: header.depth,
            parent_fingerprint: header.parent_fingerprint,
            child_number: header.child_number,
        })
    }
}

impl std::fmt::Debug for ExtendedPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtendedPublicKey({})", self.to_xpub())
    }
}

impl std::fmt::Display for ExtendedPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_xpub())
    }
}

impl std::str::FromStr for ExtendedPublicKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_xpub(s)
    }
}

fn to_core_public(key: &secp256k1::PublicKey) -> PublicKey {
    match PublicKey::from_slice(&key.serialize()) {
        Ok(k) => k,
        Err(_) => unreachable!("a secp256k1::PublicKey always serializes to a valid point"),
    }
}

struct Header {
    version: u32,
    depth: u8,
    parent_fingerprint: [u8; 4],
    child_number: ChildNumber,
    chain_code: [u8; 32],
}

fn write_header(
    data: &mut [u8; SERIALIZED_LEN],
    version: u32,
    depth: u8,
    parent_fingerprint: [u8; 4],
    child_number: ChildNumber,
    chain_code: &[u8; 32],
) {
    data[..4].copy_from_slice(&version.to_be_bytes());
    data[4] = depth;
    data[5..9].copy_from_slice(&parent_fingerprint);
    data[9..13].copy_from_slice(&child_number.to_u32().to_be_bytes());
    data[13..45].copy_from_slice(chain_code);
}

fn read_header(data: &[u8; SERIALIZED_LEN]) -> Result<Header, Error> {
    let mut word = [0u8; 4];
    word.copy_from_slice(&data[..4]);
    let version = u32::from_be_bytes(word);
    if version != XPRV_VERSION && version != XPUB_VERSION {
        return Err(Error::UnknownVersion(version));
    }
    let depth = data[4];
    let mut parent_fingerprint = [0u8; 4];
    parent_fingerprint.copy_from_slice(&data[5..9]);
    word.copy_from_slice(&data[9..13]);
    let child_number = ChildNumber::from_u32(u32::from_be_bytes(word));
    if depth == 0 && (parent_fingerprint != [0; 4] || child_number.to_u32() != 0) {
        return Err(Error::InvalidMasterKey);
    }
    let mut chain_code = [0u8; 32];
    chain_code.copy_from_slice(&data[13..45]);
    Ok(Header {
        version,
        depth,
        parent_fingerprint,
        child_number,
        chain_code,
    })
}

fn checksum(data: &[u8]) -> [u8; 4] {
    let h = Sha256::digest(Sha256::digest(data));
    [h[0], h[1], h[2], h[3]]
}

fn base58check_encode(data: &[u8]) -> String {
    let mut full = Zeroizing::new(Vec::with_capacity(data.len() + 4));
    full.extend_from_slice(data);
    full.extend_from_slice(&checksum(data));
    bs58::encode(&full[..]).into_string()
}

/// Decodes a Base58Check extended key into its 78 bytes (erased on drop).
fn base58check_decode(s: &str) -> Result<Zeroizing<[u8; SERIALIZED_LEN]>, Error> {
    // 82 bytes are at most 112 base58 digits; refuse anything longer
    // before decoding.
    if s.len() > 120 {
        return Err(Error::BadExtendedKeyLength(s.len() * 3 / 4));
    }
    let mut buf = Zeroizing::new([0u8; 128]);
    let n = bs58::decode(s)
        .onto(&mut buf[..])
        .map_err(|_| Error::InvalidBase58)?;
    if n < 4 {
        return Err(Error::BadExtendedKeyLength(n));
    }
    let (body, check) = buf[..n].split_at(n - 4);
    if checksum(body)[..] != check[..] {
        return Err(Error::InvalidBase58Checksum);
    }
    if body.len() != SERIALIZED_LEN {
        return Err(Error::BadExtendedKeyLength(body.len()));
    }
    let mut out = Zeroizing::new([0u8; SERIALIZED_LEN]);
    out.copy_from_slice(body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_length_is_checked() {
        assert_eq!(
            ExtendedPrivateKey::new_master(&[0; 15]).err(),
            Some(Error::BadSeedLength(15))
        );
        assert_eq!(
            ExtendedPrivateKey::new_master(&[0; 65]).err(),
            Some(Error::BadSeedLength(65))
        );
    }

    #[test]
    fn public_derivation_refuses_hardened_children() {
        let m = ExtendedPrivateKey::new_master(&[7; 32]).unwrap();
        let xpub = m.to_extended_public_key();
        let h = ChildNumber::hardened(0).unwrap();
        assert_eq!(
            xpub.derive_child(h),
            Err(Error::HardenedFromPublic(h.to_u32()))
        );
    }

    #[test]
    fn depth_cannot_pass_255() {
        let mut k = ExtendedPrivateKey::new_master(&[7; 32]).unwrap();
        for _ in 0..255 {
            k = k.derive_child(ChildNumber::from_u32(0)).unwrap();
        }
        assert_eq!(k.depth(), 255);
        assert_eq!(
            k.derive_child(ChildNumber::from_u32(0)).err(),
            Some(Error::DepthOverflow)
        );
    }

    #[test]
    fn overlong_base58_is_refused_before_decoding() {
        let s = "1".repeat(10_000);
        assert!(matches!(
            ExtendedPublicKey::from_xpub(&s),
            Err(Error::BadExtendedKeyLength(_))
        ));
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let m = ExtendedPrivateKey::new_master(&[7; 32]).unwrap();
        let secret = hex::encode(m.secret.secret_bytes());
        assert!(!format!("{m:?}").contains(&secret));
    }
}
