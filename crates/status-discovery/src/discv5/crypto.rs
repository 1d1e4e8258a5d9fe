//! The "v4" identity-scheme cryptography of the handshake
//! (discv5-theory "Handshake Steps" and "Identity-Specific Cryptography")
//! and the AES-128-GCM message encryption of discv5-wire.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce as GcmNonce, Tag};
use hkdf::Hkdf;
use secp256k1::{ecdsa::Signature, Message, SECP256K1};
use sha2::{Digest, Sha256};
use status_core::{PublicKey, SecretKey};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::Error;
use crate::enr::NodeId;

/// `kdf-info` prefix.
const KDF_INFO: &[u8] = b"discovery v5 key agreement";
/// `id-signature-text`.
const ID_SIGNATURE_TEXT: &[u8] = b"discovery v5 identity proof";
/// Length of the AES-GCM tag appended to every message.
pub const TAG_SIZE: usize = 16;

/// `ecdh(pubkey, privkey)` of the v4 scheme: the 33-byte compressed point
/// `pubkey * privkey` (`0x02`/`0x03` parity byte, then x), not the hashed or
/// x-only forms other protocols use.
pub fn ecdh(public: &PublicKey, secret: &SecretKey) -> Result<Zeroizing<[u8; 33]>, Error> {
    let pk = secp256k1::PublicKey::from_slice(&public.to_compressed())
        .map_err(|_| Error::InvalidPublicKey)?;
    let sk_bytes = secret.to_bytes();
    let sk =
        secp256k1::SecretKey::from_slice(&sk_bytes[..]).map_err(|_| Error::InvalidPublicKey)?;
    let point = Zeroizing::new(secp256k1::ecdh::shared_secret_point(&pk, &sk));
    let mut out = Zeroizing::new([0u8; 33]);
    out[0] = 0x02 | (point[63] & 1);
    out[1..].copy_from_slice(&point[..32]);
    Ok(out)
}

/// The two AES-128 keys of a session (erased on drop).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SessionKeys {
    /// `initiator-key`: encrypts what the handshake initiator sends.
    pub initiator_key: [u8; 16],
    /// `recipient-key`: encrypts what the WHOAREYOU sender sends.
    pub recipient_key: [u8; 16],
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(..)")
    }
}

/// Session key derivation:
///
/// ```text
/// kdf-info = "discovery v5 key agreement" || node-id-A || node-id-B
/// prk      = HKDF-Extract(challenge-data, secret)
/// key-data = HKDF-Expand(prk, kdf-info)   -- 32 bytes
/// ```
/// `initiator_id` is node A (who answers WHOAREYOU), `recipient_id` node B.
pub fn derive_keys(
    secret: &[u8; 33],
    challenge_data: &[u8],
    initiator_id: &NodeId,
    recipient_id: &NodeId,
) -> SessionKeys {
    let hk = Hkdf::<Sha256>::new(Some(challenge_data), secret);
    let mut info = [0u8; 26 + 64];
    info[..26].copy_from_slice(KDF_INFO);
    info[26..58].copy_from_slice(&initiator_id.0);
    info[58..].copy_from_slice(&recipient_id.0);
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit: cannot fail.
    let _ = hk.expand(&info, &mut okm[..]);
    let mut keys = SessionKeys {
        initiator_key: [0; 16],
        recipient_key: [0; 16],
    };
    keys.initiator_key.copy_from_slice(&okm[..16]);
    keys.recipient_key.copy_from_slice(&okm[16..]);
    keys
}

/// Both halves of the handshake's key agreement for the initiator:
/// `secret = ecdh(dest-pubkey, ephemeral-key)`, then [`derive_keys`].
pub fn initiator_keys(
    ephemeral_key: &SecretKey,
    dest_pubkey: &PublicKey,
    challenge_data: &[u8],
    local_id: &NodeId,
    dest_id: &NodeId,
) -> Result<SessionKeys, Error> {
    let secret = ecdh(dest_pubkey, ephemeral_key)?;
    Ok(derive_keys(&secret, challenge_data, local_id, dest_id))
}

fn id_signature_digest(challenge_data: &[u8], eph_pubkey: &[u8], dest_id: &NodeId) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ID_SIGNATURE_TEXT);
    h.update(challenge_data);
    h.update(eph_pubkey);
    h.update(dest_id.0);
    h.finalize().into()
}

/// `id-signature = id_sign(sha256("discovery v5 identity proof" ||
/// challenge-data || ephemeral-pubkey || node-id-B))`, as 64 bytes `r || s`.
pub fn id_sign(
    static_key: &SecretKey,
    challenge_data: &[u8],
    eph_pubkey: &[u8; 33],
    dest_id: &NodeId,
) -> [u8; 64] {
    let digest = id_signature_digest(challenge_data, eph_pubkey, dest_id);
    // The recoverable signature's `r || s` is the plain ECDSA signature
    // (same RFC 6979 nonce, low s).
    let sig = static_key.sign_recoverable(&digest);
    let mut out = [0u8; 64];
    out.copy_from_slice(&sig.as_bytes()[..64]);
    out
}

/// Checks an `id-signature` against the signer's static public key.
pub fn id_verify(
    signer: &PublicKey,
    id_signature: &[u8; 64],
    challenge_data: &[u8],
    eph_pubkey: &[u8; 33],
    dest_id: &NodeId,
) -> Result<(), Error> {
    let digest = id_signature_digest(challenge_data, eph_pubkey, dest_id);
    let pk = secp256k1::PublicKey::from_slice(&signer.to_compressed())
        .map_err(|_| Error::InvalidPublicKey)?;
    let mut sig = Signature::from_compact(id_signature).map_err(|_| Error::InvalidIdSignature)?;
    // libsecp256k1 only verifies low-s signatures; other implementations
    // may send high-s ones, which are equally valid ECDSA.
    sig.normalize_s();
    SECP256K1
        .verify_ecdsa(&Message::from_digest(digest), &sig, &pk)
        .map_err(|_| Error::InvalidIdSignature)
}

/// `aesgcm_encrypt(key, nonce, pt, ad)`: appends ciphertext and the 16-byte
/// tag of `plaintext` to `out`.
pub fn encrypt_message(
    key: &[u8; 16],
    nonce: &[u8; 12],
    plaintext: &[u8],
    ad: &[u8],
    out: &mut Vec<u8>,
) {
    let cipher = Aes128Gcm::new(key.into());
    let start = out.len();
    out.extend_from_slice(plaintext);
    // Only fails for plaintexts above 64 GiB.
    if let Ok(tag) =
        cipher.encrypt_in_place_detached(GcmNonce::from_slice(nonce), ad, &mut out[start..])
    {
        out.extend_from_slice(&tag);
    }
}

/// Opens a sealed message (ciphertext || tag); the tag is checked in
/// constant time by `aes-gcm`.
pub fn decrypt_message(
    key: &[u8; 16],
    nonce: &[u8; 12],
    sealed: &[u8],
    ad: &[u8],
) -> Result<Vec<u8>, Error> {
    if sealed.len() < TAG_SIZE {
        return Err(Error::DecryptionFailed);
    }
    let (ct, tag) = sealed.split_at(sealed.len() - TAG_SIZE);
    let cipher = Aes128Gcm::new(key.into());
    let mut buf = ct.to_vec();
    cipher
        .decrypt_in_place_detached(
            GcmNonce::from_slice(nonce),
            ad,
            &mut buf,
            Tag::from_slice(tag),
        )
        .map_err(|_| Error::DecryptionFailed)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_signature_round_trips_and_rejects_other_inputs() {
        let key = SecretKey::from_bytes(&[5; 32]).unwrap();
        let eph = SecretKey::from_bytes(&[6; 32])
            .unwrap()
            .public_key()
            .to_compressed();
        let dest = NodeId([9; 32]);
        let sig = id_sign(&key, b"challenge", &eph, &dest);
        assert!(id_verify(&key.public_key(), &sig, b"challenge", &eph, &dest).is_ok());
        assert_eq!(
            id_verify(&key.public_key(), &sig, b"challengf", &eph, &dest),
            Err(Error::InvalidIdSignature)
        );
    }

    #[test]
    fn ecdh_agrees() {
        let a = SecretKey::from_bytes(&[1; 32]).unwrap();
        let b = SecretKey::from_bytes(&[2; 32]).unwrap();
        assert_eq!(
            *ecdh(&b.public_key(), &a).unwrap(),
            *ecdh(&a.public_key(), &b).unwrap()
        );
    }

    #[test]
    fn gcm_rejects_tampering() {
        let mut out = Vec::new();
        encrypt_message(&[1; 16], &[2; 12], b"hello", b"ad", &mut out);
        assert_eq!(
            decrypt_message(&[1; 16], &[2; 12], &out, b"ad").unwrap(),
            b"hello"
        );
        out[0] ^= 1;
        assert_eq!(
            decrypt_message(&[1; 16], &[2; 12], &out, b"ad"),
            Err(Error::DecryptionFailed)
        );
        assert_eq!(
            decrypt_message(&[1; 16], &[2; 12], &[0; 5], b"ad"),
            Err(Error::DecryptionFailed)
        );
    }
}
