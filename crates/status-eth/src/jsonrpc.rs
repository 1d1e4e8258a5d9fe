//! Ethereum JSON-RPC 2.0: requests out, responses in, and the result types
//! of the calls 9/ETHEREUM-USAGE lists.
//!
//! Everything here treats the node as hostile: a response is checked for the
//! JSON-RPC envelope, every quantity is parsed by go-ethereum's `hexutil`
//! rules (`0x`, no leading zero, bounded width), every list is bounded, and
//! each failure is a typed [`Malformed`] reason, never a panic.

use alloy_primitives::{Address, Bytes, B256, U256};
use serde_json::{json, Map, Value};

use crate::error::{Error, Malformed};

/// Most logs one `eth_getLogs` answer or one receipt may carry.
pub const MAX_LOGS: usize = 10_000;
/// Most transaction hashes one block may list.
pub const MAX_BLOCK_TRANSACTIONS: usize = 100_000;

/// A JSON-RPC error object, with its kind classified from the code and the
/// message texts go-ethereum (and Infura, ganache) use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} (code {code}): {message}")]
pub struct RpcError {
    /// What the error means, as far as the code and message tell.
    pub kind: RpcErrorKind,
    /// The `code` member.
    pub code: i64,
    /// The `message` member.
    pub message: String,
    /// The `data` member as hex bytes, when it is a `0x` string (revert data
    /// of `execution reverted`).
    pub data: Option<Bytes>,
}

/// The kinds of JSON-RPC error an Ethereum node answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RpcErrorKind {
    /// -32700: the node could not parse our request.
    ParseError,
    /// -32600: our request is not a valid request object.
    InvalidRequest,
    /// -32601: the node does not offer the method.
    MethodNotFound,
    /// -32602: wrong parameters.
    InvalidParams,
    /// -32603: the node failed internally.
    Internal,
    /// Code 3 or "execution reverted": the call or gas estimate reverted;
    /// [`RpcError::data`] carries the revert data when the node sent it.
    ExecutionReverted,
    /// "nonce too low": a transaction with this nonce is already mined.
    NonceTooLow,
    /// "nonce too high".
    NonceTooHigh,
    /// "insufficient funds for gas * price + value".
    InsufficientFunds,
    /// "already known" / "known transaction": the node has this transaction.
    AlreadyKnown,
    /// "replacement transaction underpriced" / "transaction underpriced".
    Underpriced,
    /// "intrinsic gas too low" / "exceeds block gas limit" / "gas required
    /// exceeds allowance".
    Gas,
    /// -32005: rate limited (Infura's "limit exceeded").
    LimitExceeded,
    /// Any other server error (-32000..=-32099) or application code.
    Server,
}

impl RpcError {
    /// Classifies `code` and `message`.
    pub fn new(code: i64, message: String, data: Option<Bytes>) -> Self {
        let m = message.to_ascii_lowercase();
        let kind = if code == 3 || m.contains("execution reverted") || m.contains("revert") {
            RpcErrorKind::ExecutionReverted
        } else if m.contains("nonce too low") {
            RpcErrorKind::NonceTooLow
        } else if m.contains("nonce too high") {
            RpcErrorKind::NonceTooHigh
        } else if m.contains("insufficient funds") {
            RpcErrorKind::InsufficientFunds
        } else if m.contains("already known") || m.contains("known transaction") {
            RpcErrorKind::AlreadyKnown
        } else if m.contains("underpriced") {
            RpcErrorKind::Underpriced
        } else if m.contains("intrinsic gas")
            || m.contains("gas limit")
            || m.contains("gas required exceeds")
            || m.contains("out of gas")
        {
            RpcErrorKind::Gas
        } else {
            match code {
                -32700 => RpcErrorKind::ParseError,
                -32600 => RpcErrorKind::InvalidRequest,
                -32601 => RpcErrorKind::MethodNotFound,
                -32602 => RpcErrorKind::InvalidParams,
                -32603 => RpcErrorKind::Internal,
                -32005 => RpcErrorKind::LimitExceeded,
                _ => RpcErrorKind::Server,
            }
        };
        RpcError {
            kind,
            code,
            message,
            data,
        }
    }
}

/// One decoded JSON-RPC response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The `id` member.
    pub id: u64,
    /// The `result` member, or the error object.
    pub outcome: Result<Value, RpcError>,
}

/// Encodes one request: `{"jsonrpc":"2.0","id":id,"method":method,"params":params}`.
pub fn encode_request(id: u64, method: &str, params: Value) -> Vec<u8> {
    // serde_json cannot fail on a Value.
    serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
        .unwrap_or_default()
}

/// Decodes one response body (not a batch), checking the envelope:
/// `jsonrpc` is "2.0", `id` an unsigned integer, exactly one of `result`
/// and `error`, and an error object with an integer code and string message.
///
/// ```
/// use status_eth::jsonrpc::{decode_response, RpcErrorKind};
///
/// let ok = decode_response(br#"{"jsonrpc":"2.0","id":7,"result":"0x2a"}"#).unwrap();
/// assert_eq!(ok.id, 7);
/// assert_eq!(ok.outcome.unwrap(), "0x2a");
///
/// let err = decode_response(
///     br#"{"jsonrpc":"2.0","id":8,"error":{"code":-32000,"message":"nonce too low"}}"#,
/// ).unwrap();
/// assert_eq!(err.outcome.unwrap_err().kind, RpcErrorKind::NonceTooLow);
///
/// assert!(decode_response(b"<html>502</html>").is_err());
/// ```
pub fn decode_response(body: &[u8]) -> Result<Response, Malformed> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Malformed::NotJson)?;
    let Value::Object(mut obj) = value else {
        return Err(Malformed::NotAnObject);
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(Malformed::Version);
    }
    let id = obj.get("id").and_then(Value::as_u64).ok_or(Malformed::Id)?;
    let result = obj.remove("result");
    let error = obj.remove("error");
    let outcome = match (result, error) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => Err(decode_error_object(error)?),
        _ => return Err(Malformed::ResultOrError),
    };
    Ok(Response { id, outcome })
}

fn decode_error_object(error: Value) -> Result<RpcError, Malformed> {
    let Value::Object(e) = error else {
        return Err(Malformed::ErrorObject);
    };
    let code = e
        .get("code")
        .and_then(Value::as_i64)
        .ok_or(Malformed::ErrorObject)?;
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .ok_or(Malformed::ErrorObject)?;
    // Keep at most 1 KiB of the message: it is only for people to read.
    let message = truncate(message, 1024).to_string();
    let data = e
        .get("data")
        .and_then(|d| match d {
            Value::String(s) => Some(s.as_str()),
            // ganache nests it: {"data": {"result": "0x..", ...}}
            Value::Object(o) => o.get("result").and_then(Value::as_str),
            _ => None,
        })
        .and_then(|s| parse_data(s, "error.data").ok());
    Ok(RpcError::new(code, message, data))
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---- hex quantities and data ----

fn quantity_digits<'a>(s: &'a str, field: &'static str) -> Result<&'a str, Malformed> {
    let digits = s.strip_prefix("0x").ok_or(Malformed::Quantity { field })?;
    if digits.is_empty()
        || (digits.len() > 1 && digits.starts_with('0'))
        || !digits.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(Malformed::Quantity { field });
    }
    Ok(digits)
}

/// A hex quantity that fits in 64 bits.
pub fn parse_u64(s: &str, field: &'static str) -> Result<u64, Malformed> {
    let digits = quantity_digits(s, field)?;
    if digits.len() > 16 {
        return Err(Malformed::Overflow { field, bits: 64 });
    }
    u64::from_str_radix(digits, 16).map_err(|_| Malformed::Quantity { field })
}

/// A hex quantity that fits in 256 bits.
pub fn parse_u256(s: &str, field: &'static str) -> Result<U256, Malformed> {
    let digits = quantity_digits(s, field)?;
    if digits.len() > 64 {
        return Err(Malformed::Overflow { field, bits: 256 });
    }
    U256::from_str_radix(digits, 16).map_err(|_| Malformed::Quantity { field })
}

/// Hex data (`0x` and an even number of hex digits, `0x` alone is empty).
pub fn parse_data(s: &str, field: &'static str) -> Result<Bytes, Malformed> {
    let digits = s.strip_prefix("0x").ok_or(Malformed::Data { field })?;
    hex::decode(digits)
        .map(Bytes::from)
        .map_err(|_| Malformed::Data { field })
}

/// Exactly `N` bytes of hex data.
pub fn parse_fixed<const N: usize>(s: &str, field: &'static str) -> Result<[u8; N], Malformed> {
    let digits = s.strip_prefix("0x").ok_or(Malformed::Data { field })?;
    if digits.len() != 2 * N {
        return Err(Malformed::Data { field });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|_| Malformed::Data { field })?;
    Ok(out)
}

/// The `0x` hex form of a quantity, as nodes expect it.
pub fn quantity(v: U256) -> String {
    format!("{v:#x}")
}

/// The `0x` hex form of bytes.
pub fn data(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn field<'a>(obj: &'a Map<String, Value>, name: &'static str) -> Result<&'a Value, Malformed> {
    obj.get(name).ok_or(Malformed::Type {
        field: name,
        expected: "present",
    })
}

fn str_field<'a>(obj: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, Malformed> {
    field(obj, name)?.as_str().ok_or(Malformed::Type {
        field: name,
        expected: "a string",
    })
}

fn opt_str_field<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, Malformed> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Malformed::Type {
            field: name,
            expected: "a string or null",
        }),
    }
}

fn u64_field(obj: &Map<String, Value>, name: &'static str) -> Result<u64, Malformed> {
    parse_u64(str_field(obj, name)?, name)
}

fn opt_u64_field(obj: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, Malformed> {
    opt_str_field(obj, name)?
        .map(|s| parse_u64(s, name))
        .transpose()
}

fn u256_field(obj: &Map<String, Value>, name: &'static str) -> Result<U256, Malformed> {
    parse_u256(str_field(obj, name)?, name)
}

fn hash_field(obj: &Map<String, Value>, name: &'static str) -> Result<B256, Malformed> {
    parse_fixed::<32>(str_field(obj, name)?, name).map(B256::from)
}

fn opt_hash_field(obj: &Map<String, Value>, name: &'static str) -> Result<Option<B256>, Malformed> {
    opt_str_field(obj, name)?
        .map(|s| parse_fixed::<32>(s, name).map(B256::from))
        .transpose()
}

fn address_field(obj: &Map<String, Value>, name: &'static str) -> Result<Address, Malformed> {
    parse_fixed::<20>(str_field(obj, name)?, name).map(Address::from)
}

fn opt_address_field(
    obj: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<Address>, Malformed> {
    opt_str_field(obj, name)?
        .map(|s| parse_fixed::<20>(s, name).map(Address::from))
        .transpose()
}

fn object<'a>(v: &'a Value, what: &'static str) -> Result<&'a Map<String, Value>, Malformed> {
    v.as_object().ok_or(Malformed::Type {
        field: what,
        expected: "an object",
    })
}

fn array<'a>(v: &'a Value, what: &'static str, max: usize) -> Result<&'a [Value], Malformed> {
    let items = v.as_array().ok_or(Malformed::Type {
        field: what,
        expected: "an array",
    })?;
    if items.len() > max {
        return Err(Malformed::TooMany { field: what, max });
    }
    Ok(items)
}

/// A `result` that is a hex quantity of at most 64 bits.
pub fn result_u64(v: &Value) -> Result<u64, Malformed> {
    let s = v.as_str().ok_or(Malformed::Type {
        field: "result",
        expected: "a string",
    })?;
    parse_u64(s, "result")
}

/// A `result` that is a hex quantity of at most 256 bits.
pub fn result_u256(v: &Value) -> Result<U256, Malformed> {
    let s = v.as_str().ok_or(Malformed::Type {
        field: "result",
        expected: "a string",
    })?;
    parse_u256(s, "result")
}

/// A `result` that is hex data.
pub fn result_data(v: &Value) -> Result<Bytes, Malformed> {
    let s = v.as_str().ok_or(Malformed::Type {
        field: "result",
        expected: "a string",
    })?;
    parse_data(s, "result")
}

/// A `result` that is a 32-byte hash.
pub fn result_hash(v: &Value) -> Result<B256, Malformed> {
    let s = v.as_str().ok_or(Malformed::Type {
        field: "result",
        expected: "a string",
    })?;
    parse_fixed::<32>(s, "result").map(B256::from)
}

// ---- typed results ----

/// Which block a state query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockId {
    /// `"latest"`.
    Latest,
    /// `"pending"`: the state with the node's pending transactions.
    Pending,
    /// `"earliest"`.
    Earliest,
    /// A block number.
    Number(u64),
}

impl BlockId {
    /// The JSON parameter.
    pub fn to_param(self) -> Value {
        match self {
            BlockId::Latest => "latest".into(),
            BlockId::Pending => "pending".into(),
            BlockId::Earliest => "earliest".into(),
            BlockId::Number(n) => quantity(U256::from(n)).into(),
        }
    }
}

/// A log entry (an event a contract emitted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// The contract that emitted it.
    pub address: Address,
    /// Indexed topics; the first is the event signature hash.
    pub topics: Vec<B256>,
    /// Non-indexed data.
    pub data: Bytes,
    /// Block number (absent for pending logs).
    pub block_number: Option<u64>,
    /// Block hash (absent for pending logs).
    pub block_hash: Option<B256>,
    /// Transaction hash.
    pub transaction_hash: Option<B256>,
    /// Index in the block.
    pub log_index: Option<u64>,
}

impl Log {
    /// Decodes one log object.
    pub fn from_json(v: &Value) -> Result<Self, Malformed> {
        let o = object(v, "log")?;
        let topics = array(field(o, "topics")?, "topics", 4)?
            .iter()
            .map(|t| {
                t.as_str()
                    .ok_or(Malformed::Type {
                        field: "topics",
                        expected: "strings",
                    })
                    .and_then(|s| parse_fixed::<32>(s, "topics").map(B256::from))
            })
            .collect::<Result<_, _>>()?;
        Ok(Log {
            address: address_field(o, "address")?,
            topics,
            data: parse_data(str_field(o, "data")?, "data")?,
            block_number: opt_u64_field(o, "blockNumber")?,
            block_hash: opt_hash_field(o, "blockHash")?,
            transaction_hash: opt_hash_field(o, "transactionHash")?,
            log_index: opt_u64_field(o, "logIndex")?,
        })
    }
}

/// Decodes an `eth_getLogs` result.
pub fn logs_from_json(v: &Value) -> Result<Vec<Log>, Malformed> {
    array(v, "logs", MAX_LOGS)?
        .iter()
        .map(Log::from_json)
        .collect()
}

/// A transaction receipt (`eth_getTransactionReceipt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The transaction.
    pub transaction_hash: B256,
    /// The block it was mined in.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: B256,
    /// The sender.
    pub from: Address,
    /// The recipient (none for a contract creation).
    pub to: Option<Address>,
    /// The created contract, for a contract creation.
    pub contract_address: Option<Address>,
    /// Gas this transaction used.
    pub gas_used: u64,
    /// `Some(true)` when it succeeded, `Some(false)` when it reverted; `None`
    /// before Byzantium (no status field).
    pub status: Option<bool>,
    /// The logs it emitted.
    pub logs: Vec<Log>,
}

impl Receipt {
    /// True unless the receipt says the transaction reverted.
    pub fn succeeded(&self) -> bool {
        self.status != Some(false)
    }

    /// Decodes a receipt object (not `null`).
    pub fn from_json(v: &Value) -> Result<Self, Malformed> {
        let o = object(v, "receipt")?;
        let status = match opt_str_field(o, "status")? {
            None => None,
            Some(s) => match parse_u64(s, "status")? {
                0 => Some(false),
                1 => Some(true),
                _ => return Err(Malformed::Quantity { field: "status" }),
            },
        };
        Ok(Receipt {
            transaction_hash: hash_field(o, "transactionHash")?,
            block_number: u64_field(o, "blockNumber")?,
            block_hash: hash_field(o, "blockHash")?,
            from: address_field(o, "from")?,
            to: opt_address_field(o, "to")?,
            contract_address: opt_address_field(o, "contractAddress")?,
            gas_used: u64_field(o, "gasUsed")?,
            status,
            logs: match o.get("logs") {
                None | Some(Value::Null) => Vec::new(),
                Some(logs) => logs_from_json(logs)?,
            },
        })
    }
}

/// A transaction as `eth_getTransactionByHash` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Its hash.
    pub hash: B256,
    /// Sender nonce.
    pub nonce: u64,
    /// Sender.
    pub from: Address,
    /// Recipient (none for a contract creation).
    pub to: Option<Address>,
    /// Wei sent.
    pub value: U256,
    /// Gas limit.
    pub gas: u64,
    /// Gas price (absent for some typed transactions).
    pub gas_price: Option<U256>,
    /// Call data.
    pub input: Bytes,
    /// Block number, `None` while pending.
    pub block_number: Option<u64>,
}

impl Transaction {
    /// Decodes a transaction object (not `null`).
    pub fn from_json(v: &Value) -> Result<Self, Malformed> {
        let o = object(v, "transaction")?;
        Ok(Transaction {
            hash: hash_field(o, "hash")?,
            nonce: u64_field(o, "nonce")?,
            from: address_field(o, "from")?,
            to: opt_address_field(o, "to")?,
            value: u256_field(o, "value")?,
            gas: u64_field(o, "gas")?,
            gas_price: opt_str_field(o, "gasPrice")?
                .map(|s| parse_u256(s, "gasPrice"))
                .transpose()?,
            input: parse_data(str_field(o, "input")?, "input")?,
            block_number: opt_u64_field(o, "blockNumber")?,
        })
    }
}

/// A block header and its transaction hashes (`eth_getBlockBy*` with
/// `false`: hashes, not full transactions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Number.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
    /// Unix time, seconds.
    pub timestamp: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Transaction hashes, in block order.
    pub transactions: Vec<B256>,
}

impl Block {
    /// Decodes a block object (not `null`).
    pub fn from_json(v: &Value) -> Result<Self, Malformed> {
        let o = object(v, "block")?;
        let transactions = match o.get("transactions") {
            None => Vec::new(),
            Some(list) => array(list, "transactions", MAX_BLOCK_TRANSACTIONS)?
                .iter()
                .map(|t| {
                    t.as_str()
                        .ok_or(Malformed::Type {
                            field: "transactions",
                            expected: "hashes",
                        })
                        .and_then(|s| parse_fixed::<32>(s, "transactions").map(B256::from))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Block {
            number: u64_field(o, "number")?,
            hash: hash_field(o, "hash")?,
            parent_hash: hash_field(o, "parentHash")?,
            timestamp: u64_field(o, "timestamp")?,
            gas_limit: u64_field(o, "gasLimit")?,
            gas_used: u64_field(o, "gasUsed")?,
            transactions,
        })
    }
}

/// A log filter (`eth_getLogs`): a block range or one block hash, contract
/// addresses, and topics per position (`None` = any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// First block (inclusive), `None` = latest.
    pub from_block: Option<BlockId>,
    /// Last block (inclusive), `None` = latest.
    pub to_block: Option<BlockId>,
    /// One block by hash, instead of a range (status-go's per-block scan).
    pub block_hash: Option<B256>,
    /// Contracts whose logs to return; empty = any.
    pub addresses: Vec<Address>,
    /// Topic filters by position; each position matches any of its list.
    pub topics: Vec<Option<Vec<B256>>>,
}

impl Filter {
    /// The JSON parameter.
    pub fn to_param(&self) -> Value {
        let mut o = Map::new();
        if let Some(h) = self.block_hash {
            o.insert("blockHash".into(), data(h.as_slice()).into());
        } else {
            if let Some(b) = self.from_block {
                o.insert("fromBlock".into(), b.to_param());
            }
            if let Some(b) = self.to_block {
                o.insert("toBlock".into(), b.to_param());
            }
        }
        if !self.addresses.is_empty() {
            let list: Vec<Value> = self
                .addresses
                .iter()
                .map(|a| data(a.as_slice()).into())
                .collect();
            o.insert("address".into(), list.into());
        }
        if !self.topics.is_empty() {
            let topics: Vec<Value> = self
                .topics
                .iter()
                .map(|t| match t {
                    None => Value::Null,
                    Some(list) => list
                        .iter()
                        .map(|h| Value::from(data(h.as_slice())))
                        .collect::<Vec<_>>()
                        .into(),
                })
                .collect();
            o.insert("topics".into(), topics.into());
        }
        Value::Object(o)
    }
}

/// Call parameters (`eth_call`, `eth_estimateGas`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallRequest {
    /// Sender.
    pub from: Option<Address>,
    /// Recipient; `None` estimates a contract creation.
    pub to: Option<Address>,
    /// Gas price.
    pub gas_price: Option<U256>,
    /// Wei sent.
    pub value: Option<U256>,
    /// Call data.
    pub data: Bytes,
}

impl CallRequest {
    /// The JSON parameter, as go-ethereum's `toCallArg` writes it.
    pub fn to_param(&self) -> Value {
        let mut o = Map::new();
        if let Some(a) = self.from {
            o.insert("from".into(), data(a.as_slice()).into());
        }
        if let Some(a) = self.to {
            o.insert("to".into(), data(a.as_slice()).into());
        }
        if let Some(p) = self.gas_price {
            o.insert("gasPrice".into(), quantity(p).into());
        }
        if let Some(v) = self.value {
            o.insert("value".into(), quantity(v).into());
        }
        if !self.data.is_empty() {
            o.insert("data".into(), data(&self.data).into());
        }
        Value::Object(o)
    }
}

pub(crate) fn malformed(method: &'static str) -> impl Fn(Malformed) -> Error {
    move |reason| Error::Malformed { method, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_follow_hexutil() {
        assert_eq!(parse_u64("0x0", "f"), Ok(0));
        assert_eq!(parse_u64("0x2a", "f"), Ok(42));
        assert_eq!(parse_u64("0xffffffffffffffff", "f"), Ok(u64::MAX));
        for bad in ["", "0x", "2a", "0x02a", "0xg", "0X2a", "-0x1", "0x 1"] {
            assert_eq!(
                parse_u64(bad, "f"),
                Err(Malformed::Quantity { field: "f" }),
                "{bad}"
            );
        }
        assert_eq!(
            parse_u64("0x10000000000000000", "f"),
            Err(Malformed::Overflow {
                field: "f",
                bits: 64
            })
        );
        let max = format!("0x{}", "f".repeat(64));
        assert_eq!(parse_u256(&max, "f"), Ok(U256::MAX));
        assert_eq!(
            parse_u256(&format!("0x1{}", "0".repeat(64)), "f"),
            Err(Malformed::Overflow {
                field: "f",
                bits: 256
            })
        );
    }

    #[test]
    fn data_is_even_hex() {
        assert_eq!(parse_data("0x", "d").unwrap().len(), 0);
        assert_eq!(parse_data("0x0102", "d").unwrap().as_ref(), &[1, 2]);
        assert!(parse_data("0x123", "d").is_err());
        assert!(parse_data("0102", "d").is_err());
        assert!(parse_fixed::<2>("0x010203", "d").is_err());
    }

    #[test]
    fn envelope_is_checked() {
        let cases: &[(&[u8], Malformed)] = &[
            (b"", Malformed::NotJson),
            (b"[]", Malformed::NotAnObject),
            (
                br#"[{"jsonrpc":"2.0","id":1,"result":1}]"#,
                Malformed::NotAnObject,
            ),
            (br#"{"id":1,"result":"0x1"}"#, Malformed::Version),
            (
                br#"{"jsonrpc":"1.0","id":1,"result":"0x1"}"#,
                Malformed::Version,
            ),
            (
                br#"{"jsonrpc":"2.0","id":"1","result":"0x1"}"#,
                Malformed::Id,
            ),
            (
                br#"{"jsonrpc":"2.0","id":-1,"result":"0x1"}"#,
                Malformed::Id,
            ),
            (br#"{"jsonrpc":"2.0","id":1}"#, Malformed::ResultOrError),
            (
                br#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":""}}"#,
                Malformed::ResultOrError,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"error":"boom"}"#,
                Malformed::ErrorObject,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}"#,
                Malformed::ErrorObject,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"error":{"code":1}}"#,
                Malformed::ErrorObject,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                decode_response(body).unwrap_err(),
                *want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn deep_nesting_is_not_a_stack_overflow() {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"result":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(
            decode_response(body.as_bytes()).unwrap_err(),
            Malformed::NotJson
        );
    }

    #[test]
    fn errors_are_classified() {
        let kinds = [
            (-32700, "parse error", RpcErrorKind::ParseError),
            (
                -32601,
                "the method eth_foo does not exist",
                RpcErrorKind::MethodNotFound,
            ),
            (-32602, "invalid argument 0", RpcErrorKind::InvalidParams),
            (
                3,
                "execution reverted: nope",
                RpcErrorKind::ExecutionReverted,
            ),
            (
                -32000,
                "VM Exception while processing transaction: revert",
                RpcErrorKind::ExecutionReverted,
            ),
            (-32000, "nonce too low", RpcErrorKind::NonceTooLow),
            (
                -32000,
                "insufficient funds for gas * price + value",
                RpcErrorKind::InsufficientFunds,
            ),
            (-32000, "already known", RpcErrorKind::AlreadyKnown),
            (
                -32000,
                "replacement transaction underpriced",
                RpcErrorKind::Underpriced,
            ),
            (-32000, "intrinsic gas too low", RpcErrorKind::Gas),
            (
                -32005,
                "daily request count exceeded",
                RpcErrorKind::LimitExceeded,
            ),
            (-32010, "something else", RpcErrorKind::Server),
        ];
        for (code, message, kind) in kinds {
            assert_eq!(
                RpcError::new(code, message.into(), None).kind,
                kind,
                "{message}"
            );
        }
        let r = decode_response(
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}}"#,
        )
        .unwrap();
        assert_eq!(
            r.outcome.unwrap_err().data.unwrap().as_ref(),
            &[0x08, 0xc3, 0x79, 0xa0]
        );
    }
}
