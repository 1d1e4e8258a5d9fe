//! EIP-191 signed data: `0x19 <version> <version data> <data>`.
//!
//! Version `0x45` is go-ethereum's `personal_sign` (what status-go's
//! `personal_sign` forwards to), version `0x00` is "data with intended
//! validator"; version `0x01` is EIP-712, in [`crate::typed_data`].

use alloy_primitives::{eip191_hash_message, keccak256, Address, B256};
use status_core::SecretKey;

use crate::error::Error;
use crate::transaction::{address_of, recover_digest, sign_digest};

/// `keccak256("\x19Ethereum Signed Message:\n" || len(message) || message)`,
/// the length in decimal ASCII.
///
/// ```
/// // A well-known value: personal_sign of "hello world".
/// let hash = status_eth::message::personal_message_hash(b"hello world");
/// assert_eq!(
///     hex::encode(hash),
///     "d9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68"
/// );
/// ```
pub fn personal_message_hash(message: &[u8]) -> B256 {
    eip191_hash_message(message)
}

/// Version `0x00`: `keccak256(0x19 || 0x00 || validator || data)`.
pub fn validator_data_hash(validator: Address, data: &[u8]) -> B256 {
    let mut buf = Vec::with_capacity(22 + data.len());
    buf.extend_from_slice(&[0x19, 0x00]);
    buf.extend_from_slice(validator.as_slice());
    buf.extend_from_slice(data);
    keccak256(&buf)
}

/// Signs a 32-byte EIP-191 digest as go-ethereum's signers answer:
/// `r || s || v` with `v` = 27 or 28.
pub fn sign_hash(key: &SecretKey, hash: &B256) -> Result<[u8; 65], Error> {
    let sig = sign_digest(key, hash)?;
    let mut out = [0u8; 65];
    out[..32].copy_from_slice(&sig.r().to_be_bytes::<32>());
    out[32..64].copy_from_slice(&sig.s().to_be_bytes::<32>());
    out[64] = 27 + u8::from(sig.v());
    Ok(out)
}

/// The signer of `hash` under a 65-byte signature (`v` 0, 1, 27 or 28).
pub fn recover_hash(hash: &B256, signature: &[u8]) -> Result<Address, Error> {
    let sig = parse_signature(signature)?;
    recover_digest(&sig, hash).map(|key| address_of(&key))
}

pub(crate) fn parse_signature(signature: &[u8]) -> Result<alloy_primitives::Signature, Error> {
    let bytes: &[u8; 65] = signature.try_into().map_err(|_| Error::InvalidSignature)?;
    let parity = match bytes[64] {
        0 | 27 => false,
        1 | 28 => true,
        _ => return Err(Error::InvalidSignature),
    };
    Ok(alloy_primitives::Signature::from_bytes_and_parity(
        &bytes[..64],
        parity,
    ))
}

/// `personal_sign`: signs [`personal_message_hash`] of `message`.
///
/// ```
/// use status_core::SecretKey;
/// use status_eth::message::{recover_personal_message, sign_personal_message};
/// use status_eth::transaction::address_of;
///
/// let key = SecretKey::from_bytes(&[1; 32]).unwrap();
/// let sig = sign_personal_message(&key, b"I own this key").unwrap();
/// assert!(sig[64] == 27 || sig[64] == 28);
/// assert_eq!(
///     recover_personal_message(b"I own this key", &sig).unwrap(),
///     address_of(&key.public_key())
/// );
/// ```
pub fn sign_personal_message(key: &SecretKey, message: &[u8]) -> Result<[u8; 65], Error> {
    sign_hash(key, &personal_message_hash(message))
}

/// `personal_ecRecover`: the address that signed `message`.
pub fn recover_personal_message(message: &[u8], signature: &[u8]) -> Result<Address, Error> {
    recover_hash(&personal_message_hash(message), signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recover_rejects_bad_signatures() {
        let h = personal_message_hash(b"x");
        assert_eq!(recover_hash(&h, &[0; 64]), Err(Error::InvalidSignature));
        let mut sig =
            sign_personal_message(&SecretKey::from_bytes(&[1; 32]).unwrap(), b"x").unwrap();
        sig[64] = 29;
        assert_eq!(recover_hash(&h, &sig), Err(Error::InvalidSignature));
        assert_eq!(recover_hash(&h, &[0; 65]), Err(Error::InvalidSignature));
    }

    #[test]
    fn validator_data_layout() {
        let v = Address::from([0xaa; 20]);
        let mut pre = vec![0x19, 0x00];
        pre.extend_from_slice(&[0xaa; 20]);
        pre.extend_from_slice(b"data");
        assert_eq!(validator_data_hash(v, b"data"), keccak256(&pre));
    }
}
