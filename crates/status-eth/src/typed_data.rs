//! EIP-712 typed structured data: `keccak256(0x19 0x01 || domainSeparator
//! || hashStruct(message))`, signed with our keys.
//!
//! Parsing, `encodeType`, `encodeData` and `hashStruct` are alloy-dyn-abi's
//! (its [`TypedData`] is the `eth_signTypedData_v4` JSON document); the
//! chain-id check is status-go's (services/typeddata: a document whose
//! domain names another chain is refused).

use alloy_primitives::{Address, B256, U256};
use status_core::SecretKey;

use crate::error::Error;
use crate::message::{recover_hash, sign_hash};

pub use alloy_dyn_abi::TypedData;

/// Parses an `eth_signTypedData` JSON document.
pub fn parse(json: &str) -> Result<TypedData, Error> {
    serde_json::from_str(json).map_err(|e| Error::InvalidTypedData(e.to_string()))
}

/// The EIP-712 signing hash of `data`.
pub fn signing_hash(data: &TypedData) -> Result<B256, Error> {
    data.eip712_signing_hash()
        .map_err(|e| Error::InvalidTypedData(e.to_string()))
}

/// Signs `data` (`r || s || v`, `v` 27 or 28, as status-go's
/// `typeddata.Sign`). When `chain_id` is given, the domain's `chainId` must
/// be present and equal to it (status-go's `ValidateChainID`).
///
/// ```
/// use status_core::SecretKey;
/// use status_eth::typed_data::{parse, recover, sign};
///
/// let doc = parse(r#"{
///   "types": {
///     "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
///     "Ping": [{"name": "text", "type": "string"}]
///   },
///   "primaryType": "Ping",
///   "domain": {"name": "demo", "chainId": 1},
///   "message": {"text": "hi"}
/// }"#).unwrap();
/// let key = SecretKey::from_bytes(&[3; 32]).unwrap();
/// let sig = sign(&key, &doc, Some(1)).unwrap();
/// assert_eq!(recover(&doc, &sig).unwrap(), status_eth::transaction::address_of(&key.public_key()));
/// assert!(sign(&key, &doc, Some(5)).is_err());
/// ```
pub fn sign(key: &SecretKey, data: &TypedData, chain_id: Option<u64>) -> Result<[u8; 65], Error> {
    if let Some(chain) = chain_id {
        match data.domain.chain_id {
            Some(id) if id == U256::from(chain) => {}
            Some(id) => {
                return Err(Error::InvalidTypedData(format!(
                    "chainId {id} does not match the selected chain {chain}"
                )))
            }
            None => return Err(Error::InvalidTypedData("domain has no chainId".into())),
        }
    }
    sign_hash(key, &signing_hash(data)?)
}

/// The address that signed `data`.
pub fn recover(data: &TypedData, signature: &[u8]) -> Result<Address, Error> {
    recover_hash(&signing_hash(data)?, signature)
}
