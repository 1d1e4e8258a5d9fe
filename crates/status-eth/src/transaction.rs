//! EIP-155 transactions, signed with our secp256k1 keys.
//!
//! status-go v0.55.1 builds every transaction with go-ethereum 1.9.5's
//! `types.NewTransaction` and signs it with `NewEIP155Signer(chainID)`
//! (transactions/transactor.go): legacy transactions with replay
//! protection, no EIP-2718 typed envelopes (go-ethereum 1.9.5 predates
//! them). So that is what this module signs. The transaction type, its
//! signing hash and its RLP are alloy-consensus's [`TxLegacy`]; the key and
//! the ECDSA are status-core's.

use alloy_consensus::{transaction::RlpEcdsaDecodableTx, SignableTransaction, Signed};
use alloy_primitives::{Address, Bytes, Signature, B256, U256};
use status_core::{PublicKey, RecoverableSignature, SecretKey};

use crate::error::Error;

pub use alloy_consensus::TxLegacy;
pub use alloy_primitives::TxKind;

/// The Ethereum address of a public key (keccak of the 64-byte point, last
/// 20 bytes), through status-keys.
pub fn address_of(key: &PublicKey) -> Address {
    Address::from(status_keys::Address::from_public_key(key).0)
}

/// Signs `digest` and gives it as alloy's [`Signature`] (`y_parity` is the
/// recovery id).
pub(crate) fn sign_digest(key: &SecretKey, digest: &B256) -> Result<Signature, Error> {
    let sig = key.sign_recoverable(&digest.0);
    let bytes = sig.as_bytes();
    // libsecp256k1 gives low-s signatures (EIP-2) with recovery id 0 or 1;
    // 2 and 3 (r >= n) cannot be expressed in an Ethereum `v`.
    if bytes[64] > 1 {
        return Err(Error::InvalidSignature);
    }
    Ok(Signature::new(
        U256::from_be_slice(&bytes[..32]),
        U256::from_be_slice(&bytes[32..64]),
        bytes[64] == 1,
    ))
}

/// The signer of `digest` under `signature`.
pub(crate) fn recover_digest(signature: &Signature, digest: &B256) -> Result<PublicKey, Error> {
    let mut raw = [0u8; 65];
    raw[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
    raw[32..64].copy_from_slice(&signature.s().to_be_bytes::<32>());
    raw[64] = u8::from(signature.v());
    RecoverableSignature::from_slice(&raw)
        .and_then(|s| s.recover(&digest.0))
        .map_err(|_| Error::InvalidSignature)
}

/// A signed legacy transaction, ready for `eth_sendRawTransaction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    /// The transaction.
    pub tx: TxLegacy,
    /// Its signature (`v` is derived from `y_parity` and the chain id).
    pub signature: Signature,
    /// The RLP bytes to broadcast.
    pub raw: Bytes,
    /// Its hash (keccak of `raw`), what receipts are looked up by.
    pub hash: B256,
    /// The signer.
    pub from: Address,
}

impl SignedTransaction {
    /// The EIP-155 `v`: `recovery_id + 35 + 2 * chain_id`.
    pub fn v(&self) -> u128 {
        let parity = u128::from(self.signature.v());
        match self.tx.chain_id {
            Some(id) => parity + 35 + 2 * u128::from(id),
            None => parity + 27,
        }
    }

    /// Decodes raw RLP bytes and recovers the sender. Accepts EIP-155 and
    /// pre-EIP-155 (`v` of 27/28) transactions; rejects trailing bytes and
    /// typed envelopes.
    ///
    /// ```
    /// use status_core::SecretKey;
    /// use status_eth::transaction::{sign_legacy, SignedTransaction, TxKind, TxLegacy};
    ///
    /// let key = SecretKey::from_bytes(&[0x46; 32]).unwrap();
    /// let tx = TxLegacy { chain_id: Some(1), nonce: 9, gas_price: 20_000_000_000, gas_limit: 21_000,
    ///     to: TxKind::Call([0x35; 20].into()), ..Default::default() };
    /// let signed = sign_legacy(&key, tx).unwrap();
    /// assert_eq!(SignedTransaction::decode(&signed.raw).unwrap(), signed);
    /// ```
    pub fn decode(mut raw: &[u8]) -> Result<Self, Error> {
        let whole = raw;
        let (tx, signature) = TxLegacy::rlp_decode_with_signature(&mut raw)
            .map_err(|_| Error::InvalidTransaction("not an RLP legacy transaction"))?;
        if !raw.is_empty() {
            return Err(Error::InvalidTransaction("trailing bytes"));
        }
        let key = recover_digest(&signature, &tx.signature_hash())?;
        Ok(SignedTransaction {
            hash: alloy_primitives::keccak256(whole),
            raw: Bytes::copy_from_slice(whole),
            from: address_of(&key),
            tx,
            signature,
        })
    }
}

/// Signs `tx` with `key` (EIP-155; `tx.chain_id` must be set, as status-go
/// always signs with `NewEIP155Signer`).
///
/// ```
/// use status_core::SecretKey;
/// use status_eth::transaction::{sign_legacy, TxKind, TxLegacy};
///
/// // EIP-155's own example.
/// let key = SecretKey::from_bytes(&[0x46; 32]).unwrap();
/// let tx = TxLegacy {
///     chain_id: Some(1),
///     nonce: 9,
///     gas_price: 20_000_000_000,
///     gas_limit: 21_000,
///     to: TxKind::Call([0x35; 20].into()),
///     value: alloy_primitives::U256::from(10u128.pow(18)),
///     input: Default::default(),
/// };
/// let signed = sign_legacy(&key, tx).unwrap();
/// assert_eq!(signed.v(), 37);
/// assert!(hex::encode(&signed.raw).starts_with("f86c098504a817c800825208"));
/// ```
pub fn sign_legacy(key: &SecretKey, tx: TxLegacy) -> Result<SignedTransaction, Error> {
    if tx.chain_id.is_none() {
        return Err(Error::InvalidRequest(
            "a transaction needs a chain id (EIP-155)",
        ));
    }
    let signature = sign_digest(key, &tx.signature_hash())?;
    let from = address_of(&key.public_key());
    let signed: Signed<TxLegacy> = tx.into_signed(signature);
    let mut raw = Vec::with_capacity(signed.rlp_encoded_length());
    signed.rlp_encode(&mut raw);
    let (tx, signature, hash) = signed.into_parts();
    Ok(SignedTransaction {
        tx,
        signature,
        raw: raw.into(),
        hash,
        from,
    })
}

/// The address a contract created by `sender` with `nonce` gets:
/// `keccak(rlp([sender, nonce]))[12..]`.
pub fn create_address(sender: Address, nonce: u64) -> Address {
    sender.create(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_bytes(&[7; 32]).unwrap()
    }

    #[test]
    fn chain_id_is_required() {
        let tx = TxLegacy::default();
        assert!(matches!(
            sign_legacy(&key(), tx),
            Err(Error::InvalidRequest(_))
        ));
    }

    #[test]
    fn decode_recovers_the_signer_and_rejects_trailing_bytes() {
        let tx = TxLegacy {
            chain_id: Some(1337),
            nonce: 3,
            gas_price: 1,
            gas_limit: 90_000,
            to: TxKind::Create,
            value: U256::ZERO,
            input: vec![0x60, 0x00].into(),
        };
        let signed = sign_legacy(&key(), tx).unwrap();
        assert_eq!(signed.from, address_of(&key().public_key()));
        let back = SignedTransaction::decode(&signed.raw).unwrap();
        assert_eq!(back, signed);
        let mut long = signed.raw.to_vec();
        long.push(0);
        assert_eq!(
            SignedTransaction::decode(&long),
            Err(Error::InvalidTransaction("trailing bytes"))
        );
        assert!(SignedTransaction::decode(&signed.raw[..signed.raw.len() - 1]).is_err());
        assert!(SignedTransaction::decode(&[]).is_err());
    }
}
