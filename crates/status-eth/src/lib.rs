//! status-eth: what a Status client does on Ethereum (8/EIPS,
//! 9/ETHEREUM-USAGE), sans-IO.
//!
//! - [`transaction`]: EIP-155 legacy transactions signed with status-core
//!   keys (what status-go v0.55.1 sends), decoded and recovered.
//! - [`message`]: EIP-191 (`personal_sign`, data with validator).
//! - [`typed_data`]: EIP-712 hashing and signing.
//! - [`uri`]: EIP-831 `ethereum:` URIs and EIP-681 payment requests.
//! - [`erc20`]: EIP-20 call data, answers and `Transfer` logs.
//! - [`ens`]: EIP-137 namehash, registry/resolver calls, EIP-1577
//!   contenthash, and status-go's `ens_name` verification cache.
//! - [`jsonrpc`]: the JSON-RPC codec, hostile-input proof.
//! - [`Wallet`]: the machine that runs the JSON-RPC conversations.
//!
//! # The run loop
//!
//! The wallet emits requests and events; the driver POSTs the requests to
//! an Ethereum node (status-tokio's `jsonrpc` feature does) and hands the
//! bodies back with the time. After every call, drain `poll_output`:
//!
//! ```
//! use status_core::{SecretKey, Timestamp};
//! use status_eth::{Event, Input, Output, Query, QueryResult, Wallet, WalletConfig};
//! use status_eth::jsonrpc::BlockId;
//!
//! let mut wallet = Wallet::new(WalletConfig { chain_id: 1337, ..Default::default() });
//! let me = wallet.add_account(SecretKey::from_bytes(&[1; 32]).unwrap());
//! let now = Timestamp::from_secs(1_700_000_000);
//! let op = wallet.query(now, Query::Balance { address: me, block: BlockId::Latest }).unwrap();
//!
//! // A stand-in for the node: answer every request with 1 ETH.
//! let node = |id: u64| format!(r#"{{"jsonrpc":"2.0","id":{id},"result":"0xde0b6b3a7640000"}}"#);
//! let mut balance = None;
//! while let Some(out) = wallet.poll_output() {
//!     match out {
//!         Output::Request(req) => {
//!             let body = node(req.id.0);
//!             wallet.handle_input(now, Input::Response { id: req.id, body: body.as_bytes() }).unwrap();
//!         }
//!         Output::Event(Event::Query { op: done, result: QueryResult::Balance(b) }) if done == op => {
//!             balance = Some(b)
//!         }
//!         Output::Event(other) => panic!("{other:?}"),
//!     }
//! }
//! assert_eq!(balance.unwrap().to_string(), "1000000000000000000");
//! // Nothing in flight: no timer is needed.
//! assert_eq!(wallet.poll_timeout(), None);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ens;
pub mod erc20;
mod error;
pub mod jsonrpc;
pub mod message;
pub mod transaction;
pub mod typed_data;
pub mod uri;
mod wallet;

pub use alloy_primitives::{Address, Bytes, B256, U256};
pub use error::{Error, Malformed};
pub use wallet::{
    EnsRecordKind, EnsValue, Event, Input, OpId, Output, Query, QueryResult, Request, RequestId,
    TransactionRequest, Wallet, WalletConfig,
};
