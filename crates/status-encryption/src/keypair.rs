//! secp256k1 key pairs generated the way status-go draws them.

use rand_core::CryptoRng;
use status_core::{ecdh_x, PublicKey, SecretKey};
use zeroize::Zeroizing;

use crate::Error;

/// secp256k1 group order minus one, as little-endian 64-bit limbs.
const N_MINUS_1: [u64; 4] = [
    0xBFD2_5E8C_D036_4140,
    0xBAAE_DCE6_AF48_A03B,
    0xFFFF_FFFF_FFFF_FFFE,
    0xFFFF_FFFF_FFFF_FFFF,
];

/// A secret key with its compressed public key, as ratchet and prekey pairs
/// are kept (status-go's `DHPair` holds the compressed form).
#[derive(Clone)]
pub(crate) struct KeyPair {
    pub(crate) secret: SecretKey,
    pub(crate) public: [u8; 33],
}

impl KeyPair {
    pub(crate) fn from_secret(secret: SecretKey) -> Self {
        let public = secret.public_key().to_compressed();
        KeyPair { secret, public }
    }

    /// A fresh pair from `rng`, drawn exactly as Go's
    /// `ecdsa.GenerateKey(S256(), rand)` (Go 1.19) does, which status-go
    /// uses for signed prekeys, X3DH ephemerals and ratchet keys: 40 bytes
    /// `b`, then `k = (b mod (n-1)) + 1`. Drawing the same way means a
    /// recorded status-go RNG tape replays to the same keys.
    pub(crate) fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_secret(generate_secret(rng))
    }
}

/// A secp256k1 private key drawn from `rng` exactly as Go's
/// `ecdsa.GenerateKey` (Go 1.19) draws it: 40 bytes `b`, `k = (b mod (n-1)) + 1`.
/// status-go makes every prekey, ephemeral and ratchet key this way, so a
/// recorded status-go RNG tape replays to the same keys.
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_encryption::generate_secret;
///
/// // the same seed draws the same key: runs replay byte for byte
/// let mut a = rand_chacha::ChaCha20Rng::seed_from_u64(7);
/// let mut b = rand_chacha::ChaCha20Rng::seed_from_u64(7);
/// assert_eq!(generate_secret(&mut a).public_key(), generate_secret(&mut b).public_key());
/// ```
pub fn generate_secret<R: CryptoRng + ?Sized>(rng: &mut R) -> SecretKey {
    let mut b = Zeroizing::new([0u8; 40]);
    rng.fill_bytes(&mut b[..]);
    let k = Zeroizing::new(go_field_element(&b));
    // k is in [1, n-1] by construction, so this cannot fail; fall back to
    // rejection sampling rather than panic if it ever did.
    SecretKey::from_bytes(&k[..]).unwrap_or_else(|_| SecretKey::random(rng))
}

/// `(b mod (n-1)) + 1` for a 320-bit big-endian `b`, branch-free on the
/// secret bits (bit-serial long division with masked subtraction).
fn go_field_element(b: &[u8; 40]) -> [u8; 32] {
    // remainder, 5 limbs little-endian (needs 257 bits before reduction)
    let mut r = [0u64; 5];
    for i in 0..320 {
        let bit = u64::from((b[i / 8] >> (7 - (i % 8))) & 1);
        // r = 2r + bit
        let mut carry = bit;
        for limb in r.iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        // t = r - m; keep t when no borrow
        let mut t = [0u64; 5];
        let mut borrow = 0u64;
        for j in 0..5 {
            let m = if j < 4 { N_MINUS_1[j] } else { 0 };
            let (d1, b1) = r[j].overflowing_sub(m);
            let (d2, b2) = d1.overflowing_sub(borrow);
            t[j] = d2;
            borrow = u64::from(b1 | b2);
        }
        let keep_t = borrow.wrapping_sub(1); // all ones when no borrow
        for j in 0..5 {
            r[j] = (t[j] & keep_t) | (r[j] & !keep_t);
        }
    }
    // + 1
    let mut carry = 1u64;
    for limb in r.iter_mut() {
        let (s, c) = limb.overflowing_add(carry);
        *limb = s;
        carry = u64::from(c);
    }
    let mut out = [0u8; 32];
    for j in 0..4 {
        out[(3 - j) * 8..(4 - j) * 8].copy_from_slice(&r[j].to_be_bytes());
    }
    r.iter_mut().for_each(|l| *l = 0);
    out
}

/// Raw secp256k1 ECDH as status-go's `PerformDH` / go-ethereum's ecies
/// `GenerateShared(pub, 16, 16)`: the 32-byte x coordinate, not hashed.
pub(crate) fn dh(secret: &SecretKey, public: &[u8]) -> Result<Zeroizing<[u8; 32]>, Error> {
    let pk = parse_compressed(public)?;
    Ok(ecdh_x(secret, &pk))
}

/// A 33-byte compressed public key from the wire (status-go decompresses
/// every key it receives and fails on anything else).
pub(crate) fn parse_compressed(bytes: &[u8]) -> Result<PublicKey, Error> {
    if bytes.len() != 33 {
        return Err(Error::InvalidLength {
            what: "compressed public key",
            expected: 33,
            got: bytes.len(),
        });
    }
    Ok(PublicKey::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_element_reduces_like_go() {
        // b = n - 1 (as 40 bytes) -> 0 + 1
        let mut b = [0u8; 40];
        let n1 = hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140")
            .unwrap();
        b[8..].copy_from_slice(&n1);
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(go_field_element(&b), one);
        // b = 5 -> 6
        let mut b = [0u8; 40];
        b[39] = 5;
        let mut six = [0u8; 32];
        six[31] = 6;
        assert_eq!(go_field_element(&b), six);
    }
}
