//! DH-only fallback (5/SECURE-TRANSPORT `DHHeader`): used when no bundle
//! of the recipient is known. No forward secrecy: the key is a raw ECDH
//! between a fresh ephemeral key and the recipient's identity key, and the
//! payload is AES-256-GCM with a random 12-byte nonce appended
//! (`ciphertext || tag || nonce`), as status-go's `EncryptSymmetric`.

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use rand_core::CryptoRng;
use status_core::{ecdh_x, PublicKey, SecretKey};

use crate::keypair::KeyPair;
use crate::Error;

const NONCE_LEN: usize = 12;

/// Encrypts `payload` for `their_identity`; returns the compressed
/// ephemeral public key (the `DHHeader.key`) and the sealed payload.
/// Draws the ephemeral key (40 bytes, Go style) then the nonce, as
/// status-go does.
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_core::PublicKey;
/// use status_encryption::{dh_decrypt, dh_encrypt, generate_secret, Error};
///
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
/// let bob = generate_secret(&mut rng);
/// let (eph, sealed) = dh_encrypt(&bob.public_key(), b"hi", &mut rng);
/// let eph = PublicKey::from_slice(&eph)?;
/// assert_eq!(dh_decrypt(&bob, &eph, &sealed)?, b"hi");
/// let other = generate_secret(&mut rng);
/// assert!(matches!(dh_decrypt(&other, &eph, &sealed), Err(Error::Mac)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dh_encrypt<R: CryptoRng + ?Sized>(
    their_identity: &PublicKey,
    payload: &[u8],
    rng: &mut R,
) -> ([u8; 33], Vec<u8>) {
    let eph = KeyPair::generate(rng);
    let key = ecdh_x(&eph.secret, their_identity);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let cipher = Aes256Gcm::new((&*key).into());
    // encryption of an in-memory buffer cannot fail
    let mut out = cipher
        .encrypt(Nonce::from_slice(&nonce), payload)
        .unwrap_or_default();
    out.extend_from_slice(&nonce);
    (eph.public, out)
}

/// Decrypts a DH-only payload with our identity key; see [`dh_encrypt`]
/// for an example.
pub fn dh_decrypt(
    my_identity: &SecretKey,
    their_ephemeral: &PublicKey,
    sealed: &[u8],
) -> Result<Vec<u8>, Error> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(Error::CiphertextTooShort {
            got: sealed.len(),
            min: NONCE_LEN + 16,
        });
    }
    let (body, nonce) = sealed.split_at(sealed.len() - NONCE_LEN);
    let key = ecdh_x(my_identity, their_ephemeral);
    let cipher = Aes256Gcm::new((&*key).into());
    cipher
        .decrypt(Nonce::from_slice(nonce), body)
        .map_err(|_| Error::Mac)
}
