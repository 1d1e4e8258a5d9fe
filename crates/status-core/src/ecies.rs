//! ECIES as devp2p (RLPx auth/ack) and Whisper/Waku asymmetric payloads use
//! it: go-ethereum's `crypto/ecies` with secp256k1, AES-128-CTR, SHA-256.
//!
//! ```text
//! z  = ecdh_x(ephemeral, recipient)
//! K  = ConcatKDF-SHA256(z, s1 = "", 32 bytes)          (NIST SP 800-56 §5.8.1)
//! Ke = K[..16]     Km = SHA256(K[16..])
//! c  = AES-128-CTR(Ke, iv, m)
//! d  = HMAC-SHA256(Km, iv || c || s2)                  (s2: EIP-8 size prefix)
//! out = ephemeral_pub(65) || iv(16) || c || d(32)
//! ```

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{ecdh_x, PublicKey, SecretKey};

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type HmacSha256 = Hmac<Sha256>;

/// Bytes ECIES adds to a plaintext: ephemeral key, IV and MAC.
pub const OVERHEAD: usize = 65 + 16 + 32;

/// Why a ciphertext was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EciesError {
    /// Shorter than the fixed overhead.
    #[error("ciphertext of {0} bytes is shorter than the ECIES overhead")]
    TooShort(usize),
    /// The ephemeral public key is not an uncompressed point on the curve.
    #[error("invalid ephemeral public key")]
    InvalidEphemeralKey,
    /// The MAC does not match: wrong key, wrong shared-mac data or tampering.
    #[error("ECIES MAC mismatch")]
    BadMac,
}

/// Derives `(Ke, Km)` from the ECDH secret.
fn derive_keys(z: &[u8; 32]) -> (Zeroizing<[u8; 16]>, Zeroizing<[u8; 32]>) {
    // ConcatKDF with SHA-256 needs one block for 32 bytes: counter = 1.
    let k: Zeroizing<[u8; 32]> = Zeroizing::new(
        Sha256::new()
            .chain_update(1u32.to_be_bytes())
            .chain_update(z)
            .finalize()
            .into(),
    );
    let mut ke = Zeroizing::new([0u8; 16]);
    ke.copy_from_slice(&k[..16]);
    let km = Zeroizing::new(Sha256::digest(&k[16..]).into());
    (ke, km)
}

fn mac(km: &[u8; 32], iv_and_ciphertext: &[u8], shared_mac_data: &[u8]) -> HmacSha256 {
    let mut m = <HmacSha256 as Mac>::new_from_slice(km).expect("HMAC accepts any key length"); // ok: infallible
    m.update(iv_and_ciphertext);
    m.update(shared_mac_data);
    m
}

/// Encrypts `plaintext` to `recipient`, drawing the ephemeral key and then the
/// 16-byte IV from `rng` (in that order, so a recorded tape replays exactly).
///
/// `shared_mac_data` is authenticated but not sent: RLPx EIP-8 passes the
/// 2-byte size prefix, everything else passes `&[]`.
///
/// ```
/// use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
/// use status_core::ecies::{decrypt, encrypt, EciesError, OVERHEAD};
/// use status_core::SecretKey;
///
/// let mut rng = ChaCha20Rng::seed_from_u64(1);
/// let bob = SecretKey::from_bytes(&[2; 32]).unwrap();
/// let sealed = encrypt(&mut rng, &bob.public_key(), b"hi bob", b"ad");
/// assert_eq!(sealed.len(), 6 + OVERHEAD);
/// assert_eq!(decrypt(&bob, &sealed, b"ad")?, b"hi bob");
///
/// // The shared-mac data must match, and only bob's key opens it.
/// assert_eq!(decrypt(&bob, &sealed, b""), Err(EciesError::BadMac));
/// let eve = SecretKey::from_bytes(&[3; 32]).unwrap();
/// assert_eq!(decrypt(&eve, &sealed, b"ad"), Err(EciesError::BadMac));
/// assert_eq!(decrypt(&bob, &sealed[..50], b"ad"), Err(EciesError::TooShort(50)));
/// # Ok::<(), EciesError>(())
/// ```
pub fn encrypt<R: rand_core::CryptoRng + ?Sized>(
    rng: &mut R,
    recipient: &PublicKey,
    plaintext: &[u8],
    shared_mac_data: &[u8],
) -> Vec<u8> {
    let ephemeral = SecretKey::random(rng);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);

    let z = ecdh_x(&ephemeral, recipient);
    let (ke, km) = derive_keys(&z);

    let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
    out.extend_from_slice(&ephemeral.public_key().to_uncompressed());
    out.extend_from_slice(&iv);
    out.extend_from_slice(plaintext);
    Aes128Ctr::new((&*ke).into(), (&iv).into()).apply_keystream(&mut out[65 + 16..]);
    let tag = mac(&km, &out[65..], shared_mac_data)
        .finalize()
        .into_bytes();
    out.extend_from_slice(&tag);
    out
}

/// Decrypts what [`encrypt`] produced for `key`'s public key, checking the
/// MAC (in constant time) before decrypting.
pub fn decrypt(
    key: &SecretKey,
    ciphertext: &[u8],
    shared_mac_data: &[u8],
) -> Result<Vec<u8>, EciesError> {
    if ciphertext.len() < OVERHEAD {
        return Err(EciesError::TooShort(ciphertext.len()));
    }
    let (ephemeral, rest) = ciphertext.split_at(65);
    if ephemeral[0] != 4 {
        return Err(EciesError::InvalidEphemeralKey);
    }
    let ephemeral =
        PublicKey::from_slice(ephemeral).map_err(|_| EciesError::InvalidEphemeralKey)?;
    let (body, tag) = rest.split_at(rest.len() - 32);

    let z = ecdh_x(key, &ephemeral);
    let (ke, km) = derive_keys(&z);
    let expected = mac(&km, body, shared_mac_data).finalize().into_bytes();
    if !bool::from(expected.as_slice().ct_eq(tag)) {
        return Err(EciesError::BadMac);
    }
    let (iv, c) = body.split_at(16);
    let mut plain = c.to_vec();
    let iv: [u8; 16] = iv
        .try_into()
        .map_err(|_| EciesError::TooShort(ciphertext.len()))?;
    Aes128Ctr::new((&*ke).into(), (&iv).into()).apply_keystream(&mut plain);
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(1)
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        let key = SecretKey::from_bytes(&[5; 32]).unwrap();
        let c = encrypt(&mut rng(), &key.public_key(), b"hello", b"ad");
        assert_eq!(c.len(), 5 + OVERHEAD);
        assert_eq!(decrypt(&key, &c, b"ad").unwrap(), b"hello");
        assert_eq!(decrypt(&key, &c, b"xx").unwrap_err(), EciesError::BadMac);
        let mut t = c.clone();
        t[70] ^= 1;
        assert_eq!(decrypt(&key, &t, b"ad").unwrap_err(), EciesError::BadMac);
        let other = SecretKey::from_bytes(&[6; 32]).unwrap();
        assert_eq!(decrypt(&other, &c, b"ad").unwrap_err(), EciesError::BadMac);
        assert_eq!(
            decrypt(&key, &c[..50], b"").unwrap_err(),
            EciesError::TooShort(50)
        );
    }

    proptest! {
        #[test]
        fn encrypt_decrypt_round_trips(msg in proptest::collection::vec(any::<u8>(), 0..600), seed in any::<u64>()) {
            let key = SecretKey::from_bytes(&[9; 32]).unwrap();
            let mut r = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
            let c = encrypt(&mut r, &key.public_key(), &msg, &[]);
            prop_assert_eq!(decrypt(&key, &c, &[]).unwrap(), msg);
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let key = SecretKey::from_bytes(&[9; 32]).unwrap();
            prop_assert!(decrypt(&key, &bytes, &[]).is_err());
        }
    }
}
