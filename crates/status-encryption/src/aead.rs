//! Ratchet payload encryption: AES-256-CTR then HMAC-SHA256, with the IV
//! derived alongside the keys (5/SECURE-TRANSPORT, "Double Ratchet";
//! status-go `EthereumCrypto.Encrypt`).
//!
//! Wire form: `iv (16) || ciphertext || HMAC-SHA256(auth, ad || iv || ciphertext)`.
//! The IV is sent although the receiver re-derives it; status-go decrypts
//! with the IV from the wire, and so do we (it is covered by the MAC).

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::kdf::message_keys;
use crate::Error;

/// CTR mode only ever runs the block cipher forwards: the encrypt-only AES
/// type skips the decryption key schedule.
type Aes256Ctr = ctr::Ctr128BE<aes::Aes256Enc>;

const IV_LEN: usize = 16;
const MAC_LEN: usize = 32;

fn mac(auth: &[u8; 32], ad: &[u8], body: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(auth).expect("HMAC takes any key length");
    m.update(ad);
    m.update(body);
    m.finalize().into_bytes().into()
}

/// Encrypts `plaintext` under message key `mk`, authenticating `ad`.
pub(crate) fn seal(mk: &[u8; 32], plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
    let keys = message_keys(mk);
    let mut out = Vec::with_capacity(IV_LEN + plaintext.len() + MAC_LEN);
    out.extend_from_slice(&keys.iv);
    out.extend_from_slice(plaintext);
    let mut cipher = Aes256Ctr::new((&*keys.enc).into(), (&keys.iv).into());
    cipher.apply_keystream(&mut out[IV_LEN..]);
    let tag = mac(&keys.auth, ad, &out);
    out.extend_from_slice(&tag);
    out
}

/// Checks the MAC (constant time) and decrypts.
pub(crate) fn open(mk: &[u8; 32], sealed: &[u8], ad: &[u8]) -> Result<Vec<u8>, Error> {
    if sealed.len() < IV_LEN + MAC_LEN {
        return Err(Error::CiphertextTooShort {
            got: sealed.len(),
            min: IV_LEN + MAC_LEN,
        });
    }
    let (body, tag) = sealed.split_at(sealed.len() - MAC_LEN);
    let keys = message_keys(mk);
    let expected = mac(&keys.auth, ad, body);
    if !bool::from(expected.ct_eq(tag)) {
        return Err(Error::Mac);
    }
    let (iv, ct) = body.split_at(IV_LEN);
    let mut iv_arr = [0u8; IV_LEN];
    iv_arr.copy_from_slice(iv);
    let mut plain = ct.to_vec();
    let mut cipher = Aes256Ctr::new((&*keys.enc).into(), (&iv_arr).into());
    cipher.apply_keystream(&mut plain);
    Ok(plain)
}
