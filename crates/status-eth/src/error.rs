//! The crate's one error type.
//!
//! Split as rustls does: most variants mean "the Ethereum node (or a URI, a
//! typed-data document) is not what it should be" and are normal input; a
//! few mean "the API was used wrongly" and say so in their doc.

use alloy_primitives::{Address, B256};

use crate::jsonrpc::RpcError;

/// Everything that can go wrong in status-eth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- the Ethereum node ----
    /// The node answered `method` with a JSON-RPC error object.
    #[error("{method}: {error}")]
    Rpc {
        /// The method that failed.
        method: &'static str,
        /// The error object, classified.
        error: RpcError,
    },
    /// The node's answer to `method` is not a valid JSON-RPC response, or its
    /// result does not have the shape the method returns.
    #[error("{method}: malformed response: {reason}")]
    Malformed {
        /// The method whose answer it was.
        method: &'static str,
        /// What is wrong with it.
        reason: Malformed,
    },
    /// A response body is larger than [`crate::WalletConfig::max_response_bytes`].
    #[error("{method}: response of {got} bytes, the limit is {max}")]
    ResponseTooLarge {
        /// The method whose answer it was.
        method: &'static str,
        /// Bytes received.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The response carries another request's id.
    #[error("{method}: response id {got} answers no request of ours (expected {expected})")]
    IdMismatch {
        /// The method whose answer was expected.
        method: &'static str,
        /// The id of the request.
        expected: u64,
        /// The id in the response.
        got: u64,
    },
    /// No answer to `method` within [`crate::WalletConfig::request_timeout`].
    #[error("{method}: no answer within {timeout_ms} ms")]
    Timeout {
        /// The method that timed out.
        method: &'static str,
        /// The timeout, in milliseconds.
        timeout_ms: u64,
    },
    /// The driver could not deliver `method` (connection refused, HTTP
    /// status other than 200, ...).
    #[error("{method}: transport failed: {reason}")]
    Transport {
        /// The method.
        method: &'static str,
        /// The driver's words.
        reason: String,
    },
    /// A transaction was broadcast but no receipt came within
    /// [`crate::WalletConfig::receipt_timeout`]. It may still be mined.
    #[error("no receipt for {hash} within {timeout_ms} ms")]
    ReceiptTimeout {
        /// The transaction hash.
        hash: B256,
        /// The timeout, in milliseconds.
        timeout_ms: u64,
    },
    /// The name has no owner in the ENS registry (go-ens: "unregistered
    /// name").
    #[error("ENS name {0:?} is not registered")]
    UnregisteredName(String),
    /// The name has no resolver, or the resolver address holds no contract
    /// (go-ens: "no resolver").
    #[error("ENS name {0:?} has no resolver")]
    NoResolver(String),

    // ---- input documents ----
    /// An ENS name that cannot be normalised (see [`crate::ens::normalize`]).
    #[error("invalid ENS name: {0}")]
    InvalidName(&'static str),
    /// An `ethereum:` URI (EIP-681 / EIP-831) that does not parse.
    #[error("invalid ethereum URI: {0}")]
    InvalidUri(&'static str),
    /// EIP-712 typed data that does not parse or hash.
    #[error("invalid EIP-712 typed data: {0}")]
    InvalidTypedData(String),
    /// A signed transaction that does not decode or recover.
    #[error("invalid signed transaction: {0}")]
    InvalidTransaction(&'static str),
    /// A signature that does not recover a key.
    #[error("invalid signature")]
    InvalidSignature,
    /// A contenthash (EIP-1577) that is not a valid multicodec value.
    #[error("invalid contenthash: {0}")]
    InvalidContenthash(&'static str),

    // ---- API misuse ----
    /// API misuse: a send from an address no key was added for.
    #[error("no account for {0}")]
    UnknownAccount(Address),
    /// API misuse: more operations than
    /// [`crate::WalletConfig::max_operations`] are in progress or have
    /// undrained output.
    #[error("{max} operations in progress; drain poll_output first")]
    TooManyOperations {
        /// The limit.
        max: usize,
    },
    /// API misuse (or a late answer): the input names a request that is not
    /// in flight (it timed out, or was never sent).
    #[error("no request {0} in flight")]
    UnknownRequest(u64),
    /// API misuse: the transaction request cannot be sent as given.
    #[error("invalid transaction request: {0}")]
    InvalidRequest(&'static str),
}

/// What is wrong with a node's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Not JSON (or nested deeper than serde_json's limit).
    #[error("not JSON")]
    NotJson,
    /// A batch, a string, or another non-object at the top.
    #[error("not a JSON object")]
    NotAnObject,
    /// `jsonrpc` is missing or not "2.0".
    #[error("jsonrpc is not \"2.0\"")]
    Version,
    /// `id` is missing or not an unsigned integer.
    #[error("id is not an unsigned integer")]
    Id,
    /// Neither `result` nor `error`, or both.
    #[error("not exactly one of result and error")]
    ResultOrError,
    /// `error` is not an object with an integer `code` and a string `message`.
    #[error("error object is malformed")]
    ErrorObject,
    /// A field has the wrong JSON type.
    #[error("{field} is not {expected}")]
    Type {
        /// The field (or "result").
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A hex quantity without `0x`, with a non-hex digit, empty or with a
    /// leading zero (go-ethereum's hexutil rules).
    #[error("{field} is not a hex quantity")]
    Quantity {
        /// The field.
        field: &'static str,
    },
    /// A quantity too large for its type.
    #[error("{field} does not fit in {bits} bits")]
    Overflow {
        /// The field.
        field: &'static str,
        /// Width of the type.
        bits: u32,
    },
    /// Hex data without `0x`, of odd length, or with a non-hex digit, or of
    /// the wrong length for a hash or address.
    #[error("{field} is not hex data of the right length")]
    Data {
        /// The field.
        field: &'static str,
    },
    /// Call return data that does not ABI-decode as the function returns.
    #[error("return data does not decode")]
    ReturnData,
    /// More items than the limit (logs, topics, transactions).
    #[error("{field} has more than {max} items")]
    TooMany {
        /// The field.
        field: &'static str,
        /// The limit.
        max: usize,
    },
}
