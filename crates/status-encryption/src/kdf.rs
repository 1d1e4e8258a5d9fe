//! The Double Ratchet KDFs as status-go's `EthereumCrypto` defines them
//! (status-go `eth-node/crypto/ethereum_crypto.go`).
//!
//! The spec (5/SECURE-TRANSPORT, "Double Ratchet") only says "HKDF"; these
//! fixed info strings and the HMAC chain inputs 15/16 are what status-go
//! puts on the wire.

use std::sync::LazyLock;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF info of the root-key KDF (`KdfRK`).
const ROOT_INFO: &[u8] = b"rsZUpEuXUqqwXBvSy3EcievAh4cMj6QL";
/// HKDF info of the message-key expansion (`deriveEncKeys`).
const MESSAGE_INFO: &[u8] = b"pcwSByyx2CRdryCffXJwy7xgVZWtW5Sh";

/// A 32-byte secret that erases itself.
pub(crate) type Key32 = Zeroizing<[u8; 32]>;

/// `KdfRK(rk, dh_out)`: HKDF-SHA256 with `dh_out` as input key material
/// and the root key as salt, 96 bytes out: new root key, chain key, and a
/// header key (unused: status-go runs the ratchet without header
/// encryption).
pub(crate) fn kdf_rk(root_key: &[u8; 32], dh_out: &[u8; 32]) -> (Key32, Key32) {
    let hk = Hkdf::<Sha256>::new(Some(root_key), dh_out);
    let mut buf = Zeroizing::new([0u8; 96]);
    // 96 <= 255 * 32, cannot fail
    let _ = hk.expand(ROOT_INFO, &mut buf[..]);
    let mut rk = Zeroizing::new([0u8; 32]);
    let mut ck = Zeroizing::new([0u8; 32]);
    rk.copy_from_slice(&buf[..32]);
    ck.copy_from_slice(&buf[32..64]);
    (rk, ck)
}

/// `KdfCK(ck)`: next chain key `HMAC(ck, 0x0f)`, message key
/// `HMAC(ck, 0x10)`.
pub(crate) fn kdf_ck(chain_key: &[u8; 32]) -> (Key32, Key32) {
    let mac = <Hmac<Sha256> as Mac>::new_from_slice(chain_key).expect("HMAC takes any key length");
    let mut m = mac.clone();
    m.update(&[15]);
    let ck = Zeroizing::new(<[u8; 32]>::from(m.finalize().into_bytes()));
    let mut m = mac;
    m.update(&[16]);
    let mk = Zeroizing::new(<[u8; 32]>::from(m.finalize().into_bytes()));
    (ck, mk)
}

/// HMAC-SHA256 keyed with the 32 zero bytes `message_keys` uses as HKDF
/// salt, with its inner and outer pad blocks already absorbed.
static ZERO_SALT: LazyLock<Hmac<Sha256>> = LazyLock::new(|| {
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).expect("HMAC takes any key length")
});

/// The per-message keys: AES-256 key, HMAC key and the CTR IV, all derived
/// from the message key (HKDF-SHA256, 32 zero bytes of salt, 80 bytes).
pub(crate) struct MessageKeys {
    pub(crate) enc: Key32,
    pub(crate) auth: Key32,
    pub(crate) iv: [u8; 16],
}

pub(crate) fn message_keys(mk: &[u8; 32]) -> MessageKeys {
    // HKDF-Extract is HMAC(salt, ikm); the salt is constant, so its padded
    // key blocks are hashed once per process instead of twice per message.
    let mut extract = ZERO_SALT.clone();
    extract.update(mk);
    let prk = Zeroizing::new(<[u8; 32]>::from(extract.finalize().into_bytes()));
    // a 32-byte PRK is always long enough
    let Ok(hk) = Hkdf::<Sha256>::from_prk(&prk[..]) else {
        unreachable!("HKDF-SHA256 accepts a 32-byte PRK")
    };
    let mut buf = Zeroizing::new([0u8; 80]);
    let _ = hk.expand(MESSAGE_INFO, &mut buf[..]);
    let mut enc = Zeroizing::new([0u8; 32]);
    let mut auth = Zeroizing::new([0u8; 32]);
    let mut iv = [0u8; 16];
    enc.copy_from_slice(&buf[..32]);
    auth.copy_from_slice(&buf[32..64]);
    iv.copy_from_slice(&buf[64..80]);
    MessageKeys { enc, auth, iv }
}
