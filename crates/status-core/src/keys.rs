//! secp256k1 key forms as the Status stack uses them.

use secp256k1::ecdsa::{RecoverableSignature as SecpRecoverable, RecoveryId};
use secp256k1::{Message, SECP256K1};
use zeroize::Zeroizing;

use crate::KeyError;

/// A secp256k1 private key. Erased from memory on drop.
///
/// ```
/// use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
/// use status_core::{KeyError, SecretKey};
///
/// let key = SecretKey::from_hex("0x0101010101010101010101010101010101010101010101010101010101010101")?;
/// assert_eq!(*key.to_bytes(), [1; 32]);
/// assert_eq!(SecretKey::from_bytes(&[0; 32]).unwrap_err(), KeyError::InvalidSecretKey);
/// assert_eq!(
///     SecretKey::from_bytes(&[1; 31]).unwrap_err(),
///     KeyError::InvalidLength { expected: "32", got: 31 }
/// );
/// assert_eq!(SecretKey::from_hex("zz").unwrap_err(), KeyError::InvalidHex);
///
/// // A seeded RNG replays the same keys.
/// let a = SecretKey::random(&mut ChaCha20Rng::seed_from_u64(5));
/// let b = SecretKey::random(&mut ChaCha20Rng::seed_from_u64(5));
/// assert_eq!(a.public_key(), b.public_key());
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone)]
pub struct SecretKey(secp256k1::SecretKey);

impl SecretKey {
    /// From 32 big-endian bytes; fails for zero or values not below the order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::InvalidLength {
                expected: "32",
                got: bytes.len(),
            });
        }
        secp256k1::SecretKey::from_slice(bytes)
            .map(SecretKey)
            .map_err(|_| KeyError::InvalidSecretKey)
    }

    /// From 64 hex digits (an optional `0x` prefix is accepted).
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let bytes = Zeroizing::new(hex::decode(s).map_err(|_| KeyError::InvalidHex)?);
        Self::from_bytes(&bytes)
    }

    /// Draws a key from `rng` (rejection sampling over 32-byte strings), so a
    /// seeded RNG replays the same keys.
    pub fn random<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut buf = Zeroizing::new([0u8; 32]);
        loop {
            rng.fill_bytes(&mut buf[..]);
            if let Ok(key) = Self::from_bytes(&buf[..]) {
                return key;
            }
        }
    }

    /// The 32 secret bytes, in a buffer that erases itself.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.secret_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.public_key(SECP256K1))
    }

    /// Signs a 32-byte digest (RFC 6979 deterministic nonce), giving the
    /// 65-byte `r || s || v` form with `v` in `0..=3`.
    pub fn sign_recoverable(&self, digest: &[u8; 32]) -> RecoverableSignature {
        let msg = Message::from_digest(*digest);
        let sig = SECP256K1.sign_ecdsa_recoverable(&msg, &self.0);
        let (id, rs) = sig.serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&rs);
        out[64] = i32::from(id) as u8;
        RecoverableSignature(out)
    }

    pub(crate) fn inner(&self) -> &secp256k1::SecretKey {
        &self.0
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.non_secure_erase();
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.public_key().node_id())
    }
}

/// Raw ECDH as devp2p and Whisper use it: the x coordinate of `sk * pk`,
/// without the hashing `libsecp256k1`'s default ECDH applies.
///
/// ```
/// use status_core::{ecdh_x, SecretKey};
///
/// let a = SecretKey::from_bytes(&[1; 32]).unwrap();
/// let b = SecretKey::from_bytes(&[2; 32]).unwrap();
/// assert_eq!(*ecdh_x(&a, &b.public_key()), *ecdh_x(&b, &a.public_key()));
/// ```
pub fn ecdh_x(sk: &SecretKey, pk: &PublicKey) -> Zeroizing<[u8; 32]> {
    let point = Zeroizing::new(secp256k1::ecdh::shared_secret_point(&pk.0, sk.inner()));
    let mut x = Zeroizing::new([0u8; 32]);
    x.copy_from_slice(&point[..32]);
    x
}

/// A secp256k1 public key.
///
/// Its three byte forms parse to the same key; the 64-byte one is the
/// [`NodeId`]:
///
/// ```
/// use status_core::{KeyError, PublicKey, SecretKey};
///
/// let key = SecretKey::from_bytes(&[1; 32]).unwrap().public_key();
/// assert_eq!(PublicKey::from_slice(&key.to_compressed())?, key);
/// assert_eq!(PublicKey::from_slice(&key.to_uncompressed())?, key);
/// assert_eq!(PublicKey::from_slice(key.node_id().as_bytes())?, key);
/// assert_eq!(key.node_id().public_key()?, key);
///
/// // 0x05 is not a SEC1 prefix.
/// assert_eq!(PublicKey::from_slice(&[5; 33]).unwrap_err(), KeyError::InvalidPublicKey);
/// assert!(matches!(PublicKey::from_slice(&[2; 32]), Err(KeyError::InvalidLength { got: 32, .. })));
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(secp256k1::PublicKey);

impl PublicKey {
    /// From the 33-byte compressed or 65-byte uncompressed SEC1 form, or the
    /// 64-byte devp2p form (uncompressed without the `0x04` prefix).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        match bytes.len() {
            33 | 65 => secp256k1::PublicKey::from_slice(bytes)
                .map(PublicKey)
                .map_err(|_| KeyError::InvalidPublicKey),
            64 => {
                let mut full = [0u8; 65];
                full[0] = 4;
                full[1..].copy_from_slice(bytes);
                secp256k1::PublicKey::from_slice(&full)
                    .map(PublicKey)
                    .map_err(|_| KeyError::InvalidPublicKey)
            }
            got => Err(KeyError::InvalidLength {
                expected: "33, 64 or 65",
                got,
            }),
        }
    }

    /// 33-byte compressed form.
    pub fn to_compressed(&self) -> [u8; 33] {
        self.0.serialize()
    }

    /// 65-byte uncompressed form (`0x04 || x || y`).
    pub fn to_uncompressed(&self) -> [u8; 65] {
        self.0.serialize_uncompressed()
    }

    /// The 64-byte devp2p node id (`x || y`).
    pub fn node_id(&self) -> NodeId {
        let full = self.0.serialize_uncompressed();
        let mut id = [0u8; 64];
        id.copy_from_slice(&full[1..]);
        NodeId(id)
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.to_compressed()))
    }
}

impl From<PublicKey> for NodeId {
    fn from(pk: PublicKey) -> NodeId {
        pk.node_id()
    }
}

/// A devp2p node id: the 64-byte uncompressed public key without its prefix.
///
/// Not every 64-byte string is a point; [`NodeId::public_key`] checks.
///
/// ```
/// use status_core::{KeyError, NodeId, SecretKey};
///
/// let id = SecretKey::from_bytes(&[1; 32]).unwrap().public_key().node_id();
/// let hex = id.to_string();
/// assert_eq!(hex.len(), 128);
/// assert_eq!(hex.parse::<NodeId>()?, id);
/// assert_eq!(format!("0x{hex}").parse::<NodeId>()?, id);
///
/// let not_a_point = NodeId([0; 64]);
/// assert_eq!(not_a_point.public_key().unwrap_err(), KeyError::InvalidPublicKey);
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub [u8; 64]);

impl NodeId {
    /// From exactly 64 bytes (no curve check).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; 64]>::try_from(bytes)
            .map(NodeId)
            .map_err(|_| KeyError::InvalidLength {
                expected: "64",
                got: bytes.len(),
            })
    }

    /// The public key this id names, if it is on the curve.
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        PublicKey::from_slice(&self.0)
    }

    /// The raw 64 bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl std::str::FromStr for NodeId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(s).map_err(|_| KeyError::InvalidHex)?;
        NodeId::from_slice(&bytes)
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeId({}..)", &hex::encode(&self.0[..8]))
    }
}

/// A 65-byte recoverable ECDSA signature `r || s || v`, `v` in `0..=3`: the
/// form devp2p auth messages and Status payload signatures carry.
///
/// ```
/// use status_core::{keccak256, KeyError, RecoverableSignature, SecretKey};
///
/// let key = SecretKey::from_bytes(&[1; 32]).unwrap();
/// let digest = keccak256(b"hello");
/// let sig = key.sign_recoverable(&digest);
/// assert_eq!(sig.recover(&digest)?, key.public_key());
/// // Another digest recovers some other key, not an error.
/// assert_ne!(sig.recover(&keccak256(b"bye"))?, key.public_key());
///
/// // Ethereum's `v` of 27..=30 is accepted and normalised.
/// let mut legacy = *sig.as_bytes();
/// legacy[64] += 27;
/// assert_eq!(RecoverableSignature::from_slice(&legacy)?, sig);
/// legacy[64] = 4;
/// assert_eq!(RecoverableSignature::from_slice(&legacy).unwrap_err(), KeyError::InvalidRecoveryId(4));
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RecoverableSignature(pub [u8; 65]);

impl RecoverableSignature {
    /// From 65 bytes. A `v` of 27..=30 (the Ethereum "legacy" offset) is
    /// normalised to 0..=3; anything else is rejected.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let mut sig = <[u8; 65]>::try_from(bytes).map_err(|_| KeyError::InvalidLength {
            expected: "65",
            got: bytes.len(),
        })?;
        sig[64] = match sig[64] {
            v @ 0..=3 => v,
            v @ 27..=30 => v - 27,
            v => return Err(KeyError::InvalidRecoveryId(v)),
        };
        Ok(RecoverableSignature(sig))
    }

    /// The public key that made this signature over `digest`.
    pub fn recover(&self, digest: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let v = self.0[64];
        let id = RecoveryId::try_from(i32::from(v)).map_err(|_| KeyError::InvalidRecoveryId(v))?;
        let sig = SecpRecoverable::from_compact(&self.0[..64], id)
            .map_err(|_| KeyError::InvalidSignature)?;
        SECP256K1
            .recover_ecdsa(&Message::from_digest(*digest), &sig)
            .map(PublicKey)
            .map_err(|_| KeyError::InvalidSignature)
    }

    /// The 65 bytes.
    pub fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }
}

impl std::fmt::Debug for RecoverableSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoverableSignature({})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_out_of_range_secret_keys() {
        assert_eq!(
            SecretKey::from_bytes(&[0u8; 32]).unwrap_err(),
            KeyError::InvalidSecretKey
        );
        assert_eq!(
            SecretKey::from_bytes(&[0xff; 32]).unwrap_err(),
            KeyError::InvalidSecretKey
        );
        assert!(matches!(
            SecretKey::from_bytes(&[1; 31]),
            Err(KeyError::InvalidLength { got: 31, .. })
        ));
    }

    #[test]
    fn ecdh_is_symmetric() {
        let a = SecretKey::from_bytes(&[1; 32]).unwrap();
        let b = SecretKey::from_bytes(&[2; 32]).unwrap();
        assert_eq!(*ecdh_x(&a, &b.public_key()), *ecdh_x(&b, &a.public_key()));
    }

    #[test]
    fn legacy_v_is_normalised_and_garbage_rejected() {
        let key = SecretKey::from_bytes(&[3; 32]).unwrap();
        let digest = [9u8; 32];
        let mut sig = key.sign_recoverable(&digest).0;
        sig[64] += 27;
        let sig = RecoverableSignature::from_slice(&sig).unwrap();
        assert_eq!(sig.recover(&digest).unwrap(), key.public_key());
        let mut bad = sig.0;
        bad[64] = 5;
        assert_eq!(
            RecoverableSignature::from_slice(&bad).unwrap_err(),
            KeyError::InvalidRecoveryId(5)
        );
    }

    #[test]
    fn node_id_text_round_trip() {
        let key = SecretKey::from_bytes(&[4; 32]).unwrap();
        let id = key.public_key().node_id();
        let parsed: NodeId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        assert_eq!(parsed.public_key().unwrap(), key.public_key());
    }

    proptest! {
        #[test]
        fn public_key_forms_round_trip(seed in any::<[u8; 32]>()) {
            prop_assume!(SecretKey::from_bytes(&seed).is_ok());
            let pk = SecretKey::from_bytes(&seed).unwrap().public_key();
            prop_assert_eq!(PublicKey::from_slice(&pk.to_compressed()).unwrap(), pk);
            prop_assert_eq!(PublicKey::from_slice(&pk.to_uncompressed()).unwrap(), pk);
            prop_assert_eq!(PublicKey::from_slice(&pk.node_id().0).unwrap(), pk);
        }

        #[test]
        fn signatures_recover_the_signer(seed in any::<[u8; 32]>(), digest in any::<[u8; 32]>()) {
            prop_assume!(SecretKey::from_bytes(&seed).is_ok());
            let key = SecretKey::from_bytes(&seed).unwrap();
            let sig = key.sign_recoverable(&digest);
            prop_assert_eq!(sig.recover(&digest).unwrap(), key.public_key());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = PublicKey::from_slice(&bytes);
            let _ = SecretKey::from_bytes(&bytes);
            if let Ok(sig) = RecoverableSignature::from_slice(&bytes) {
                let _ = sig.recover(&[0; 32]);
            }
        }
    }
}
