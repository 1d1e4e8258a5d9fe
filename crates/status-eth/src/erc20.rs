//! EIP-20 tokens: call data for the calls a wallet makes, decoding of their
//! answers and of `Transfer` logs (how status-go's wallet finds token
//! transfers: `eth_getLogs` on the `Transfer` topic with the account in
//! the `from` or `to` position).
//!
//! The ABI encoding is alloy-sol-types' `sol!`, from the EIP's own
//! signatures.

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall, SolEvent};

use crate::error::{Error, Malformed};
use crate::jsonrpc::Log;

sol! {
    /// The EIP-20 interface.
    interface IERC20 {
        function name() external view returns (string);
        function symbol() external view returns (string);
        function decimals() external view returns (uint8);
        function totalSupply() external view returns (uint256);
        function balanceOf(address owner) external view returns (uint256 balance);
        function transfer(address to, uint256 value) external returns (bool success);
        function transferFrom(address from, address to, uint256 value) external returns (bool success);
        function approve(address spender, uint256 value) external returns (bool success);
        function allowance(address owner, address spender) external view returns (uint256 remaining);
        event Transfer(address indexed from, address indexed to, uint256 value);
        event Approval(address indexed owner, address indexed spender, uint256 value);
    }
}

/// `transfer(to, value)` call data.
///
/// ```
/// let data = status_eth::erc20::transfer([0x11; 20].into(), alloy_primitives::U256::from(1));
/// assert_eq!(hex::encode(&data[..4]), "a9059cbb");
/// assert_eq!(data.len(), 4 + 32 + 32);
/// ```
pub fn transfer(to: Address, value: U256) -> Bytes {
    IERC20::transferCall { to, value }.abi_encode().into()
}

/// `transferFrom(from, to, value)` call data.
pub fn transfer_from(from: Address, to: Address, value: U256) -> Bytes {
    IERC20::transferFromCall { from, to, value }
        .abi_encode()
        .into()
}

/// `approve(spender, value)` call data.
pub fn approve(spender: Address, value: U256) -> Bytes {
    IERC20::approveCall { spender, value }.abi_encode().into()
}

/// `balanceOf(owner)` call data.
pub fn balance_of(owner: Address) -> Bytes {
    IERC20::balanceOfCall { owner }.abi_encode().into()
}

/// `allowance(owner, spender)` call data.
pub fn allowance(owner: Address, spender: Address) -> Bytes {
    IERC20::allowanceCall { owner, spender }.abi_encode().into()
}

/// `decimals()` call data.
pub fn decimals() -> Bytes {
    IERC20::decimalsCall {}.abi_encode().into()
}

/// `symbol()` call data.
pub fn symbol() -> Bytes {
    IERC20::symbolCall {}.abi_encode().into()
}

fn bad(_: alloy_sol_types::Error) -> Error {
    Error::Malformed {
        method: "eth_call",
        reason: Malformed::ReturnData,
    }
}

/// Decodes the answer of `balanceOf`, `allowance` or `totalSupply` (one
/// `uint256`).
pub fn decode_uint(ret: &[u8]) -> Result<U256, Error> {
    IERC20::balanceOfCall::abi_decode_returns_validate(ret).map_err(bad)
}

/// Decodes the answer of `decimals()`.
pub fn decode_decimals(ret: &[u8]) -> Result<u8, Error> {
    IERC20::decimalsCall::abi_decode_returns_validate(ret).map_err(bad)
}

/// Decodes the answer of `symbol()` or `name()`.
pub fn decode_string(ret: &[u8]) -> Result<String, Error> {
    IERC20::symbolCall::abi_decode_returns_validate(ret).map_err(bad)
}

/// Decodes the answer of `transfer`, `transferFrom` or `approve`. An
/// empty answer counts as success: pre-EIP-20-final tokens return nothing.
pub fn decode_success(ret: &[u8]) -> Result<bool, Error> {
    if ret.is_empty() {
        return Ok(true);
    }
    IERC20::transferCall::abi_decode_returns_validate(ret).map_err(bad)
}

/// The topic of `Transfer(address,address,uint256)`.
pub const TRANSFER_TOPIC: B256 = IERC20::Transfer::SIGNATURE_HASH;

/// An account as a log topic (left-padded to 32 bytes), for filtering
/// `Transfer` logs by sender or recipient.
pub fn address_topic(address: Address) -> B256 {
    address.into_word()
}

/// One decoded `Transfer` log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// The token contract.
    pub token: Address,
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Amount, in the token's atomic units.
    pub value: U256,
}

/// Decodes `log` as an EIP-20 `Transfer`; `None` for any other log
/// (including EIP-721 transfers, whose amount is a fourth topic).
pub fn decode_transfer(log: &Log) -> Option<Transfer> {
    if log.topics.len() != 3 || log.topics[0] != TRANSFER_TOPIC {
        return None;
    }
    let ev =
        IERC20::Transfer::decode_raw_log_validate(log.topics.iter().copied(), &log.data).ok()?;
    Some(Transfer {
        token: log.address,
        from: ev.from,
        to: ev.to,
        value: ev.value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_return_data_is_an_error() {
        assert!(decode_uint(&[]).is_err());
        assert!(decode_uint(&[0; 31]).is_err());
        assert_eq!(decode_uint(&[0xff; 32]).unwrap(), U256::MAX);
        // 300 does not fit a uint8: validation rejects the dirty high bytes.
        let mut word = [0u8; 32];
        word[30] = 1;
        word[31] = 44;
        assert!(decode_decimals(&word).is_err());
        // A string whose offset points past the end.
        let mut s = [0u8; 64];
        s[31] = 0xff;
        assert!(decode_string(&s).is_err());
    }

    #[test]
    fn transfer_log_round_trip() {
        let (from, to) = (Address::from([1; 20]), Address::from([2; 20]));
        let log = Log {
            address: Address::from([9; 20]),
            topics: vec![TRANSFER_TOPIC, address_topic(from), address_topic(to)],
            data: U256::from(5).to_be_bytes::<32>().to_vec().into(),
            block_number: None,
            block_hash: None,
            transaction_hash: None,
            log_index: None,
        };
        let t = decode_transfer(&log).unwrap();
        assert_eq!((t.from, t.to, t.value), (from, to, U256::from(5)));
        let mut nft = log.clone();
        nft.topics.push(B256::ZERO);
        assert_eq!(decode_transfer(&nft), None);
    }
}
