//! The `Wallet` machine: the JSON-RPC conversation 9/ETHEREUM-USAGE
//! describes, without the I/O.
//!
//! The application asks ([`Wallet::send_transaction`], [`Wallet::query`],
//! [`Wallet::resolve`], [`Wallet::verify_ens`], [`Wallet::observe_ens_name`]);
//! the machine emits JSON-RPC requests ([`Output::Request`]) for a driver
//! to POST, takes the answers back with [`Wallet::handle_input`] and the
//! current time, and reports [`Output::Event`]s. Time passes through
//! [`Wallet::poll_timeout`] / [`Wallet::handle_timeout`] (request
//! deadlines, receipt polling, ENS re-checks).
//!
//! Sending follows status-go's `Transactor.validateAndPropagate`
//! (transactions/transactor.go): per sender, one send at a time holds the
//! address (its `AddrLocker`); the nonce is the larger of the node's pending
//! nonce and the local next nonce, which advances only when the node
//! accepted the transaction; the gas price comes from `eth_gasPrice` and the
//! gas limit from `eth_estimateGas` (raised to `min_gas`, status-go's
//! `defaultGas` of 90000) unless given; the transaction is EIP-155 signed
//! and sent raw. Then the machine polls `eth_getTransactionReceipt` until
//! the receipt arrives or `receipt_timeout` (status-go's 300 s
//! `sendTxTimeout`) passes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use alloy_primitives::{Address, Bytes, B256, U256};
use serde_json::{json, Value};
use status_core::{PublicKey, SecretKey, Timestamp};

use crate::ens::{self, EnsCache, EnsCheck};
use crate::error::{Error, Malformed};
use crate::jsonrpc::{
    self, encode_request, malformed, result_data, result_hash, result_u256, result_u64, Block,
    BlockId, CallRequest, Filter, Log, Receipt, RpcErrorKind, Transaction,
};
use crate::transaction::{address_of, sign_legacy, TxKind, TxLegacy};

/// Limits and timings of a [`Wallet`].
#[derive(Debug, Clone)]
pub struct WalletConfig {
    /// EIP-155 chain id transactions are signed for.
    pub chain_id: u64,
    /// The ENS registry ([`ens::MAINNET_REGISTRY`] by default).
    pub ens_registry: Address,
    /// How long one JSON-RPC request may go unanswered.
    pub request_timeout: Duration,
    /// Time between two `eth_getTransactionReceipt` polls.
    pub receipt_poll_interval: Duration,
    /// How long after broadcasting to wait for a receipt (status-go: 300 s).
    pub receipt_timeout: Duration,
    /// Smallest gas limit used for an estimated transaction (status-go's
    /// `defaultGas`: 90000).
    pub min_gas: u64,
    /// Operations in progress plus undrained events, at most (each
    /// operation has at most one request in flight).
    pub max_operations: usize,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
    /// Contacts whose ENS state the wallet's cache holds.
    pub ens_cache_capacity: usize,
    /// Least time between two automatic checks of one contact's name. The
    /// back-off of status-go (30 s * n * 2^n after n failures) applies on
    /// top; this bounds how often a name that resolves to another key is
    /// checked again (status-go re-checks whenever the app calls
    /// `VerifyENSNames`).
    pub ens_recheck_interval: Duration,
}

impl Default for WalletConfig {
    fn default() -> Self {
        WalletConfig {
            chain_id: 1,
            ens_registry: ens::MAINNET_REGISTRY,
            request_timeout: Duration::from_secs(10),
            receipt_poll_interval: Duration::from_secs(2),
            receipt_timeout: Duration::from_secs(300),
            min_gas: 90_000,
            max_operations: 1024,
            max_response_bytes: 8 * 1024 * 1024,
            ens_cache_capacity: 10_000,
            ens_recheck_interval: Duration::from_secs(600),
        }
    }
}

/// One operation the application started; events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub(crate) u64);

/// One JSON-RPC request; the id is also the request's JSON `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// A JSON-RPC request to POST to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Request {
    /// Its id; pass it back with the answer.
    pub id: RequestId,
    /// The method, for logs.
    pub method: &'static str,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// What the driver hands the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// The HTTP 200 body that answered request `id`.
    Response {
        /// The request.
        id: RequestId,
        /// The body.
        body: &'a [u8],
    },
    /// Request `id` could not be delivered or answered (connection refused,
    /// HTTP error status, body unreadable).
    Failed {
        /// The request.
        id: RequestId,
        /// Why, in the driver's words.
        reason: String,
    },
}

/// What the machine wants done or wants known.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Output {
    /// POST this request to the node.
    Request(Request),
    /// Tell the application.
    Event(Event),
}

/// A read from the chain ([`Wallet::query`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// `eth_chainId`.
    ChainId,
    /// `eth_blockNumber`.
    BlockNumber,
    /// `eth_gasPrice` (SuggestGasPrice).
    GasPrice,
    /// `eth_getBalance`: ETH balance.
    Balance {
        /// Account.
        address: Address,
        /// At which block.
        block: BlockId,
    },
    /// `eth_getTransactionCount` (NonceAt, PendingNonceAt with
    /// [`BlockId::Pending`]).
    Nonce {
        /// Account.
        address: Address,
        /// At which block.
        block: BlockId,
    },
    /// `eth_call` of EIP-20 `balanceOf(owner)` on `token`.
    TokenBalance {
        /// The token contract.
        token: Address,
        /// The holder.
        owner: Address,
    },
    /// `eth_call`.
    Call {
        /// The call.
        call: CallRequest,
        /// At which block.
        block: BlockId,
    },
    /// `eth_estimateGas`.
    EstimateGas(CallRequest),
    /// `eth_getLogs` (FilterLogs).
    Logs(Filter),
    /// `eth_getBlockByNumber` without full transactions (BlockByNumber,
    /// HeaderByNumber).
    BlockByNumber(BlockId),
    /// `eth_getBlockByHash` without full transactions.
    BlockByHash(B256),
    /// `eth_getTransactionByHash`.
    TransactionByHash(B256),
    /// `eth_getTransactionReceipt`.
    Receipt(B256),
}

/// The answer to a [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryResult {
    /// For [`Query::ChainId`].
    ChainId(u64),
    /// For [`Query::BlockNumber`].
    BlockNumber(u64),
    /// For [`Query::GasPrice`], wei.
    GasPrice(U256),
    /// For [`Query::Balance`] and [`Query::TokenBalance`].
    Balance(U256),
    /// For [`Query::Nonce`].
    Nonce(u64),
    /// For [`Query::Call`]: the return data.
    Call(Bytes),
    /// For [`Query::EstimateGas`].
    Gas(u64),
    /// For [`Query::Logs`].
    Logs(Vec<Log>),
    /// For [`Query::BlockByNumber`] and [`Query::BlockByHash`]; `None`
    /// when the node does not know the block.
    Block(Option<Block>),
    /// For [`Query::TransactionByHash`]; `None` when unknown.
    Transaction(Option<Transaction>),
    /// For [`Query::Receipt`]; `None` while not mined.
    Receipt(Option<Receipt>),
}

/// Which resolver record [`Wallet::resolve`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnsRecordKind {
    /// EIP-137 `addr`.
    Addr,
    /// The public resolver's `pubkey`.
    Pubkey,
    /// EIP-1577 `contenthash`.
    Contenthash,
}

/// A resolved resolver record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnsValue {
    /// An address (zero when unset).
    Addr(Address),
    /// `0x04 || x || y` (zeroes when unset).
    Pubkey([u8; 65]),
    /// Raw EIP-1577 bytes (empty when unset); see [`ens::Contenthash`].
    Contenthash(Bytes),
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The node accepted transaction `hash`; its receipt is polled next.
    Sent {
        /// The send.
        op: OpId,
        /// Sender.
        from: Address,
        /// The nonce it used.
        nonce: u64,
        /// Transaction hash.
        hash: B256,
    },
    /// The transaction was mined. It may still have reverted:
    /// [`Receipt::succeeded`].
    Confirmed {
        /// The send.
        op: OpId,
        /// Its receipt.
        receipt: Receipt,
    },
    /// A query's answer.
    Query {
        /// The query.
        op: OpId,
        /// The answer.
        result: QueryResult,
    },
    /// A resolver record.
    Resolved {
        /// The lookup.
        op: OpId,
        /// The name, normalised.
        name: String,
        /// The record.
        value: EnsValue,
    },
    /// The outcome of an ens_name check: `Ok(true)` when the name's
    /// resolver returns the claimant's key, `Ok(false)` when it returns
    /// another, `Err` when the lookup failed (unregistered name, no
    /// resolver, node error). Checks the wallet started from
    /// [`Wallet::observe_ens_name`] are recorded in [`Wallet::ens_cache`]
    /// before this is emitted.
    EnsVerified {
        /// The check.
        op: OpId,
        /// What was checked.
        check: EnsCheck,
        /// The outcome.
        outcome: Result<bool, Error>,
    },
    /// The operation failed; nothing more will be reported for it.
    Failed {
        /// The operation.
        op: OpId,
        /// Why.
        error: Error,
    },
}

impl Event {
    /// The operation this event is about.
    pub fn op(&self) -> OpId {
        match self {
            Event::Sent { op, .. }
            | Event::Confirmed { op, .. }
            | Event::Query { op, .. }
            | Event::Resolved { op, .. }
            | Event::EnsVerified { op, .. }
            | Event::Failed { op, .. } => *op,
        }
    }
}

/// A transaction to send (status-go's `SendTxArgs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRequest {
    /// Sender: an account added with [`Wallet::add_account`].
    pub from: Address,
    /// Recipient; `None` deploys `input` as a contract.
    pub to: Option<Address>,
    /// Wei to send.
    pub value: U256,
    /// Call data or init code.
    pub input: Bytes,
    /// Gas limit; estimated when `None`.
    pub gas: Option<u64>,
    /// Gas price in wei; `eth_gasPrice` when `None`.
    pub gas_price: Option<u128>,
    /// Nonce; the tracked next nonce when `None`.
    pub nonce: Option<u64>,
}

impl TransactionRequest {
    /// Sends `value` wei from `from` to `to`.
    pub fn transfer(from: Address, to: Address, value: U256) -> Self {
        TransactionRequest {
            from,
            to: Some(to),
            value,
            input: Bytes::new(),
            gas: None,
            gas_price: None,
            nonce: None,
        }
    }

    /// Calls EIP-20 `transfer(to, amount)` on `token`.
    pub fn erc20_transfer(from: Address, token: Address, to: Address, amount: U256) -> Self {
        TransactionRequest {
            input: crate::erc20::transfer(to, amount),
            ..Self::transfer(from, token, U256::ZERO)
        }
    }

    /// Calls `to` with `input`.
    pub fn call(from: Address, to: Address, input: Bytes) -> Self {
        TransactionRequest {
            input,
            ..Self::transfer(from, to, U256::ZERO)
        }
    }

    /// Deploys `code`.
    pub fn deploy(from: Address, code: Bytes) -> Self {
        TransactionRequest {
            to: None,
            input: code,
            ..Self::transfer(from, Address::ZERO, U256::ZERO)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SendStage {
    /// Waiting for another send from the same address.
    Queued,
    Nonce,
    GasPrice,
    Estimate,
    Broadcast,
    /// Waiting for the next receipt poll (or for its answer).
    Receipt,
}

#[derive(Debug)]
struct SendOp {
    req: TransactionRequest,
    stage: SendStage,
    nonce: u64,
    gas_price: u128,
    gas: u64,
    hash: B256,
    next_poll: Option<Timestamp>,
    deadline: Timestamp,
}

#[derive(Debug, Clone)]
enum EnsGoal {
    Resolve(EnsRecordKind),
    Verify { check: EnsCheck, cached: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EnsStage {
    Owner,
    Resolver,
    Record,
}

#[derive(Debug)]
struct EnsOp {
    name: String,
    node: B256,
    goal: EnsGoal,
    stage: EnsStage,
}

#[derive(Debug)]
enum Op {
    Query(Query),
    Send(Box<SendOp>),
    Ens(EnsOp),
}

#[derive(Debug)]
struct InFlight {
    op: OpId,
    method: &'static str,
    deadline: Timestamp,
}

#[derive(Debug, Default)]
struct AddressState {
    /// The next nonce after the last accepted send (status-go's `localNonce`).
    next_nonce: Option<u64>,
    /// The send holding the address.
    holder: Option<OpId>,
    /// Sends waiting for it, in order.
    waiting: VecDeque<OpId>,
}

/// The wallet machine. See the [module docs](self) and the crate's run
/// loop.
///
/// Methods: getters (`ens_cache`, `accounts`), application commands that
/// start an operation and return its [`OpId`] (`send_transaction`,
/// `query`, `resolve`, `verify_ens`, `observe_ens_name`), `handle_input` /
/// `handle_timeout` for what happened, and `poll_output` / `poll_timeout`
/// for what to do. After every call, drain `poll_output` until `None`, then
/// sleep until `poll_timeout` or the next answer.
pub struct Wallet {
    config: WalletConfig,
    accounts: HashMap<Address, SecretKey>,
    ops: HashMap<OpId, Op>,
    in_flight: HashMap<u64, InFlight>,
    addresses: HashMap<Address, AddressState>,
    output: VecDeque<Output>,
    ens_cache: EnsCache,
    ens_checking: HashSet<PublicKey>,
    /// Sends that were handed an address and start at the end of this input.
    pending_starts: Vec<OpId>,
    /// Events in `output` (requests are bounded by `ops`: one each).
    queued_events: usize,
    next_op: u64,
    next_request: u64,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("chain_id", &self.config.chain_id)
            .field("accounts", &self.accounts.keys().collect::<Vec<_>>())
            .field("operations", &self.ops.len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// A wallet with no accounts.
    pub fn new(config: WalletConfig) -> Self {
        Wallet {
            ens_cache: EnsCache::new(config.ens_cache_capacity),
            config,
            accounts: HashMap::new(),
            ops: HashMap::new(),
            in_flight: HashMap::new(),
            addresses: HashMap::new(),
            output: VecDeque::new(),
            ens_checking: HashSet::new(),
            pending_starts: Vec::new(),
            queued_events: 0,
            next_op: 0,
            next_request: 1,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WalletConfig {
        &self.config
    }

    /// Adds a signing key (e.g. `Account::wallet_key(0)`); returns its
    /// address.
    pub fn add_account(&mut self, key: SecretKey) -> Address {
        let address = address_of(&key.public_key());
        self.accounts.insert(address, key);
        address
    }

    /// The addresses that can send.
    pub fn accounts(&self) -> impl Iterator<Item = &Address> {
        self.accounts.keys()
    }

    /// The next nonce the wallet will use for `address` if the node does
    /// not report a higher one.
    pub fn local_nonce(&self, address: &Address) -> Option<u64> {
        self.addresses.get(address).and_then(|a| a.next_nonce)
    }

    /// The ens_name verification state ([`Wallet::observe_ens_name`]).
    pub fn ens_cache(&self) -> &EnsCache {
        &self.ens_cache
    }

    /// The ens_name verification state, to load stored records into.
    pub fn ens_cache_mut(&mut self) -> &mut EnsCache {
        &mut self.ens_cache
    }

    fn reserve(&mut self) -> Result<OpId, Error> {
        if self.ops.len() + self.queued_events >= self.config.max_operations {
            return Err(Error::TooManyOperations {
                max: self.config.max_operations,
            });
        }
        let id = OpId(self.next_op);
        self.next_op += 1;
        Ok(id)
    }

    /// Signs and sends `tx`; reports [`Event::Sent`], then
    /// [`Event::Confirmed`] or [`Event::Failed`].
    pub fn send_transaction(
        &mut self,
        now: Timestamp,
        tx: TransactionRequest,
    ) -> Result<OpId, Error> {
        if !self.accounts.contains_key(&tx.from) {
            return Err(Error::UnknownAccount(tx.from));
        }
        let op = self.reserve()?;
        let from = tx.from;
        self.ops.insert(
            op,
            Op::Send(Box::new(SendOp {
                req: tx,
                stage: SendStage::Queued,
                nonce: 0,
                gas_price: 0,
                gas: 0,
                hash: B256::ZERO,
                next_poll: None,
                deadline: now,
            })),
        );
        let state = self.addresses.entry(from).or_default();
        if state.holder.is_none() {
            state.holder = Some(op);
            self.start_send(now, op);
        } else {
            state.waiting.push_back(op);
        }
        Ok(op)
    }

    /// Reads from the chain; reports [`Event::Query`] or [`Event::Failed`].
    pub fn query(&mut self, now: Timestamp, query: Query) -> Result<OpId, Error> {
        let op = self.reserve()?;
        let (method, params) = match &query {
            Query::ChainId => ("eth_chainId", json!([])),
            Query::BlockNumber => ("eth_blockNumber", json!([])),
            Query::GasPrice => ("eth_gasPrice", json!([])),
            Query::Balance { address, block } => (
                "eth_getBalance",
                json!([jsonrpc::data(address.as_slice()), block.to_param()]),
            ),
            Query::Nonce { address, block } => (
                "eth_getTransactionCount",
                json!([jsonrpc::data(address.as_slice()), block.to_param()]),
            ),
            Query::TokenBalance { token, owner } => (
                "eth_call",
                json!([
                    CallRequest {
                        to: Some(*token),
                        data: crate::erc20::balance_of(*owner),
                        ..Default::default()
                    }
                    .to_param(),
                    "latest"
                ]),
            ),
            Query::Call { call, block } => ("eth_call", json!([call.to_param(), block.to_param()])),
            Query::EstimateGas(call) => ("eth_estimateGas", json!([call.to_param()])),
            Query::Logs(filter) => ("eth_getLogs", json!([filter.to_param()])),
            Query::BlockByNumber(block) => {
                ("eth_getBlockByNumber", json!([block.to_param(), false]))
            }
            Query::BlockByHash(hash) => (
                "eth_getBlockByHash",
                json!([jsonrpc::data(hash.as_slice()), false]),
            ),
            Query::TransactionByHash(hash) => (
                "eth_getTransactionByHash",
                json!([jsonrpc::data(hash.as_slice())]),
            ),
            Query::Receipt(hash) => (
                "eth_getTransactionReceipt",
                json!([jsonrpc::data(hash.as_slice())]),
            ),
        };
        self.ops.insert(op, Op::Query(query));
        self.request(now, op, method, params);
        Ok(op)
    }

    /// Reads `record` of ENS `name`; reports [`Event::Resolved`] or
    /// [`Event::Failed`].
    pub fn resolve(
        &mut self,
        now: Timestamp,
        name: &str,
        record: EnsRecordKind,
    ) -> Result<OpId, Error> {
        let name = ens::normalize(name)?;
        let op = self.reserve()?;
        self.start_ens(now, op, name, EnsGoal::Resolve(record));
        Ok(op)
    }

    /// Checks once, without the cache, that `check.name` resolves to
    /// `check.public_key` (status-go's `verifyENSName`); reports
    /// [`Event::EnsVerified`].
    pub fn verify_ens(&mut self, now: Timestamp, check: EnsCheck) -> Result<OpId, Error> {
        let name = ens::normalize(&check.name)?;
        let op = self.reserve()?;
        self.start_ens(
            now,
            op,
            name,
            EnsGoal::Verify {
                check,
                cached: false,
            },
        );
        Ok(op)
    }

    /// A ChatMessage or ContactUpdate from `sender` carried `ens_name` with
    /// Lamport `clock`. Updates [`Wallet::ens_cache`] as status-go updates
    /// the contact, and starts a check when one is due (the answer comes as
    /// [`Event::EnsVerified`]). Returns the check's id if one started.
    ///
    /// A client shows the name only once
    /// `wallet.ens_cache().is_verified(&sender, ens_name)`.
    pub fn observe_ens_name(
        &mut self,
        now: Timestamp,
        sender: &PublicKey,
        ens_name: &str,
        clock: u64,
    ) -> Option<OpId> {
        self.ens_cache.observe(sender, ens_name, clock);
        let check = self
            .ens_cache
            .get(sender)
            .filter(|_| !self.ens_checking.contains(sender))
            .filter(|r| self.ens_due(r, now))
            .map(|r| EnsCheck {
                name: r.name.clone(),
                public_key: *sender,
            })?;
        self.start_cached_check(now, check)
    }

    fn ens_due(&self, r: &ens::EnsRecord, now: Timestamp) -> bool {
        let pace = r.verified_at == 0
            || now.as_secs()
                >= r.verified_at
                    .saturating_add(self.config.ens_recheck_interval.as_secs());
        pace && r.should_verify(now)
    }

    fn start_cached_check(&mut self, now: Timestamp, check: EnsCheck) -> Option<OpId> {
        let Ok(name) = ens::normalize(&check.name) else {
            // A name that cannot be hashed is a failed lookup.
            self.ens_cache.record(&check, now, Err(()));
            return None;
        };
        let op = self.reserve().ok()?;
        self.ens_checking.insert(check.public_key);
        self.start_ens(
            now,
            op,
            name,
            EnsGoal::Verify {
                check,
                cached: true,
            },
        );
        Some(op)
    }

    /// The driver's answer to a request.
    ///
    /// Everything wrong with the answer (malformed JSON, wrong types, huge
    /// numbers, an error object, another request's id) is reported on the
    /// operation as a typed [`Error`] in [`Event::Failed`] or
    /// [`Event::EnsVerified`]; this returns an error only when the input
    /// names no request in flight ([`Error::UnknownRequest`]: a late answer
    /// to a timed-out request, or a driver bug).
    pub fn handle_input(&mut self, now: Timestamp, input: Input<'_>) -> Result<(), Error> {
        let (id, body) = match input {
            Input::Response { id, body } => (id, Ok(body)),
            Input::Failed { id, reason } => (id, Err(reason)),
        };
        let flight = self
            .in_flight
            .remove(&id.0)
            .ok_or(Error::UnknownRequest(id.0))?;
        let method = flight.method;
        let outcome = match body {
            Err(reason) => Err(Error::Transport { method, reason }),
            Ok(body) if body.len() > self.config.max_response_bytes => {
                Err(Error::ResponseTooLarge {
                    method,
                    got: body.len(),
                    max: self.config.max_response_bytes,
                })
            }
            Ok(body) => match jsonrpc::decode_response(body) {
                Err(reason) => Err(Error::Malformed { method, reason }),
                Ok(r) if r.id != id.0 => Err(Error::IdMismatch {
                    method,
                    expected: id.0,
                    got: r.id,
                }),
                Ok(r) => r.outcome.map_err(|error| Error::Rpc { method, error }),
            },
        };
        self.on_answer(now, flight.op, method, outcome);
        Ok(())
    }

    /// The next thing to do or to tell.
    pub fn poll_output(&mut self) -> Option<Output> {
        let out = self.output.pop_front();
        if let Some(Output::Event(_)) = out {
            self.queued_events -= 1;
        }
        out
    }

    /// When [`Wallet::handle_timeout`] should next be called, and why.
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let requests = self
            .in_flight
            .values()
            .map(|f| (f.deadline, "rpc request timeout"));
        let polls = self.ops.values().filter_map(|op| match op {
            Op::Send(s) if s.stage == SendStage::Receipt => {
                s.next_poll.map(|at| (at.min(s.deadline), "receipt poll"))
            }
            _ => None,
        });
        let ens = self
            .ens_cache
            .next_due_secs()
            .map(|s| (Timestamp::from_secs(s), "ens recheck"));
        // An ENS check already due but not startable (full) would spin;
        // only report it when it lies ahead or can start.
        let ens = ens.filter(|_| self.ops.len() + self.queued_events < self.config.max_operations);
        requests.chain(polls).chain(ens).min_by_key(|(at, _)| *at)
    }

    /// Expires requests past their deadline, polls receipts that are due,
    /// gives up on receipts past `receipt_timeout`, and starts due ENS
    /// re-checks.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let expired: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(f) = self.in_flight.remove(&id) {
                let error = Error::Timeout {
                    method: f.method,
                    timeout_ms: self.config.request_timeout.as_millis() as u64,
                };
                self.on_answer(now, f.op, f.method, Err(error));
            }
        }
        let polls: Vec<OpId> = self
            .ops
            .iter()
            .filter_map(|(id, op)| match op {
                Op::Send(s)
                    if s.stage == SendStage::Receipt
                        && s.next_poll.is_some_and(|at| at.min(s.deadline) <= now) =>
                {
                    Some(*id)
                }
                _ => None,
            })
            .collect();
        for op in polls {
            self.poll_receipt(now, op);
        }
        let due: Vec<EnsCheck> = self
            .ens_cache
            .due(now)
            .into_iter()
            .filter(|c| !self.ens_checking.contains(&c.public_key))
            .filter(|c| {
                self.ens_cache
                    .get(&c.public_key)
                    .is_some_and(|r| self.ens_due(r, now))
            })
            .collect();
        for check in due {
            if self.start_cached_check(now, check).is_none()
                && self.ops.len() + self.queued_events >= self.config.max_operations
            {
                break;
            }
        }
    }

    // ---- internals ----

    fn request(&mut self, now: Timestamp, op: OpId, method: &'static str, params: Value) {
        let id = self.next_request;
        self.next_request += 1;
        self.in_flight.insert(
            id,
            InFlight {
                op,
                method,
                deadline: now.saturating_add(self.config.request_timeout),
            },
        );
        self.output.push_back(Output::Request(Request {
            id: RequestId(id),
            method,
            body: encode_request(id, method, params),
        }));
    }

    fn event(&mut self, event: Event) {
        self.queued_events += 1;
        self.output.push_back(Output::Event(event));
    }

    fn fail(&mut self, now: Timestamp, op: OpId, error: Error) {
        match self.ops.remove(&op) {
            Some(Op::Send(s)) => {
                self.release(&s.req.from, op);
                self.event(Event::Failed { op, error });
            }
            Some(Op::Ens(e)) => self.finish_ens(now, op, e, Err(error)),
            Some(Op::Query(_)) => self.event(Event::Failed { op, error }),
            None => {}
        }
    }

    /// Lets the next waiting send from `from` take the address.
    fn release(&mut self, from: &Address, op: OpId) {
        let Some(state) = self.addresses.get_mut(from) else {
            return;
        };
        if state.holder != Some(op) {
            state.waiting.retain(|w| *w != op);
            return;
        }
        state.holder = state.waiting.pop_front();
        if let Some(next) = state.holder {
            // The next send starts with the time its predecessor finished;
            // deadlines are relative to that, which is what the clock says.
            self.pending_starts.push(next);
        }
    }

    fn start_send(&mut self, now: Timestamp, op: OpId) {
        let Some(Op::Send(s)) = self.ops.get_mut(&op) else {
            return;
        };
        match s.req.nonce {
            Some(n) => {
                s.nonce = n;
                self.after_nonce(now, op);
            }
            None => {
                s.stage = SendStage::Nonce;
                let from = jsonrpc::data(s.req.from.as_slice());
                self.request(now, op, "eth_getTransactionCount", json!([from, "pending"]));
            }
        }
    }

    fn after_nonce(&mut self, now: Timestamp, op: OpId) {
        let Some(Op::Send(s)) = self.ops.get_mut(&op) else {
            return;
        };
        match s.req.gas_price {
            Some(p) => {
                s.gas_price = p;
                self.after_gas_price(now, op);
            }
            None => {
                s.stage = SendStage::GasPrice;
                self.request(now, op, "eth_gasPrice", json!([]));
            }
        }
    }

    fn after_gas_price(&mut self, now: Timestamp, op: OpId) {
        let Some(Op::Send(s)) = self.ops.get_mut(&op) else {
            return;
        };
        match s.req.gas {
            Some(g) => {
                s.gas = g;
                self.broadcast(now, op);
            }
            None => {
                s.stage = SendStage::Estimate;
                let call = CallRequest {
                    from: Some(s.req.from),
                    to: s.req.to,
                    gas_price: Some(U256::from(s.gas_price)),
                    value: Some(s.req.value),
                    data: s.req.input.clone(),
                };
                self.request(now, op, "eth_estimateGas", json!([call.to_param()]));
            }
        }
    }

    fn broadcast(&mut self, now: Timestamp, op: OpId) {
        let Some(Op::Send(s)) = self.ops.get_mut(&op) else {
            return;
        };
        let Some(key) = self.accounts.get(&s.req.from) else {
            let from = s.req.from;
            self.fail(now, op, Error::UnknownAccount(from));
            return;
        };
        let tx = TxLegacy {
            chain_id: Some(self.config.chain_id),
            nonce: s.nonce,
            gas_price: s.gas_price,
            gas_limit: s.gas,
            to: match s.req.to {
                Some(a) => TxKind::Call(a),
                None => TxKind::Create,
            },
            value: s.req.value,
            input: s.req.input.clone(),
        };
        match sign_legacy(key, tx) {
            Ok(signed) => {
                s.hash = signed.hash;
                s.stage = SendStage::Broadcast;
                let raw = jsonrpc::data(&signed.raw);
                self.request(now, op, "eth_sendRawTransaction", json!([raw]));
            }
            Err(e) => self.fail(now, op, e),
        }
    }

    fn poll_receipt(&mut self, now: Timestamp, op: OpId) {
        let Some(Op::Send(s)) = self.ops.get_mut(&op) else {
            return;
        };
        if now >= s.deadline {
            let hash = s.hash;
            let timeout_ms = self.config.receipt_timeout.as_millis() as u64;
            self.fail(now, op, Error::ReceiptTimeout { hash, timeout_ms });
            return;
        }
        s.next_poll = None;
        let hash = jsonrpc::data(s.hash.as_slice());
        self.request(now, op, "eth_getTransactionReceipt", json!([hash]));
    }

    fn start_ens(&mut self, now: Timestamp, op: OpId, name: String, goal: EnsGoal) {
        let node = ens::namehash(&name);
        self.ops.insert(
            op,
            Op::Ens(EnsOp {
                name,
                node,
                goal,
                stage: EnsStage::Owner,
            }),
        );
        self.ens_call(now, op, self.config.ens_registry, ens::owner_call(node));
    }

    fn ens_call(&mut self, now: Timestamp, op: OpId, to: Address, data: Bytes) {
        let call = CallRequest {
            to: Some(to),
            data,
            ..Default::default()
        };
        self.request(now, op, "eth_call", json!([call.to_param(), "latest"]));
    }

    fn finish_ens(&mut self, now: Timestamp, op: OpId, e: EnsOp, outcome: Result<EnsValue, Error>) {
        match e.goal {
            EnsGoal::Resolve(_) => match outcome {
                Ok(value) => self.event(Event::Resolved {
                    op,
                    name: e.name,
                    value,
                }),
                Err(error) => self.event(Event::Failed { op, error }),
            },
            EnsGoal::Verify { check, cached } => {
                let outcome = outcome.map(|v| match v {
                    EnsValue::Pubkey(point) => point == check.public_key.to_uncompressed(),
                    _ => false,
                });
                if cached {
                    self.ens_checking.remove(&check.public_key);
                    self.ens_cache.record(
                        &check,
                        now,
                        outcome.as_ref().map(|v| *v).map_err(|_| ()),
                    );
                }
                self.event(Event::EnsVerified { op, check, outcome });
            }
        }
    }

    fn on_answer(
        &mut self,
        now: Timestamp,
        op: OpId,
        method: &'static str,
        outcome: Result<Value, Error>,
    ) {
        match self.ops.get(&op) {
            Some(Op::Query(_)) => self.on_query(op, method, outcome),
            Some(Op::Send(_)) => self.on_send(now, op, method, outcome),
            Some(Op::Ens(_)) => self.on_ens(now, op, method, outcome),
            None => {}
        }
        self.run_pending_starts(now);
    }

    fn run_pending_starts(&mut self, now: Timestamp) {
        while let Some(op) = self.pending_starts.pop() {
            self.start_send(now, op);
        }
    }

    fn on_query(&mut self, op: OpId, method: &'static str, outcome: Result<Value, Error>) {
        let Some(Op::Query(query)) = self.ops.remove(&op) else {
            return;
        };
        let result = outcome.and_then(|v| decode_query(&query, &v).map_err(malformed(method)));
        match result {
            Ok(result) => self.event(Event::Query { op, result }),
            Err(error) => self.event(Event::Failed { op, error }),
        }
    }

    fn on_send(
        &mut self,
        now: Timestamp,
        op: OpId,
        method: &'static str,
        outcome: Result<Value, Error>,
    ) {
        let Some(Op::Send(s)) = self.ops.get_mut(&op) else {
            return;
        };
        let stage = s.stage;
        // Receipt polling survives a lost or refused poll: it asks again
        // until the deadline. Anything else fails the send.
        if stage == SendStage::Receipt {
            match outcome {
                Ok(Value::Null) => {}
                Ok(v) => {
                    match Receipt::from_json(&v).map_err(malformed(method)) {
                        Ok(receipt) => {
                            self.ops.remove(&op);
                            self.event(Event::Confirmed { op, receipt });
                        }
                        Err(e) => self.fail(now, op, e),
                    }
                    return;
                }
                Err(e @ Error::Malformed { .. }) | Err(e @ Error::IdMismatch { .. }) => {
                    self.fail(now, op, e);
                    return;
                }
                Err(_) => {}
            }
            if let Some(Op::Send(s)) = self.ops.get_mut(&op) {
                s.next_poll = Some(now.saturating_add(self.config.receipt_poll_interval));
            }
            return;
        }
        let value = match outcome {
            Ok(v) => v,
            Err(Error::Rpc { error, .. })
                if stage == SendStage::Broadcast && error.kind == RpcErrorKind::AlreadyKnown =>
            {
                // The node has this very transaction already: it was sent.
                Value::Null
            }
            Err(e) => {
                self.fail(now, op, e);
                return;
            }
        };
        let step: Result<(), Error> = (|| {
            match stage {
                SendStage::Nonce => {
                    let pending = result_u64(&value).map_err(malformed(method))?;
                    let local = self
                        .addresses
                        .get(&s.req.from)
                        .and_then(|a| a.next_nonce)
                        .unwrap_or(0);
                    s.nonce = pending.max(local);
                }
                SendStage::GasPrice => {
                    let price = result_u256(&value).map_err(malformed(method))?;
                    s.gas_price = u128::try_from(price).map_err(|_| Error::Malformed {
                        method,
                        reason: Malformed::Overflow {
                            field: "result",
                            bits: 128,
                        },
                    })?;
                }
                SendStage::Estimate => {
                    let gas = result_u64(&value).map_err(malformed(method))?;
                    s.gas = gas.max(self.config.min_gas);
                }
                SendStage::Broadcast => {
                    // The node's hash must be a hash; ours is the one that
                    // counts (it is keccak of what we signed).
                    if !value.is_null() {
                        result_hash(&value).map_err(malformed(method))?;
                    }
                }
                SendStage::Queued | SendStage::Receipt => {}
            }
            Ok(())
        })();
        if let Err(e) = step {
            self.fail(now, op, e);
            return;
        }
        match stage {
            SendStage::Nonce => self.after_nonce(now, op),
            SendStage::GasPrice => self.after_gas_price(now, op),
            SendStage::Estimate => self.broadcast(now, op),
            SendStage::Broadcast => {
                let (from, nonce, hash) = {
                    let Some(Op::Send(s)) = self.ops.get_mut(&op) else {
                        return;
                    };
                    s.stage = SendStage::Receipt;
                    s.deadline = now.saturating_add(self.config.receipt_timeout);
                    s.next_poll = Some(now.saturating_add(self.config.receipt_poll_interval));
                    (s.req.from, s.nonce, s.hash)
                };
                let state = self.addresses.entry(from).or_default();
                state.next_nonce = Some(state.next_nonce.unwrap_or(0).max(nonce.saturating_add(1)));
                self.release(&from, op);
                self.event(Event::Sent {
                    op,
                    from,
                    nonce,
                    hash,
                });
            }
            SendStage::Queued | SendStage::Receipt => {}
        }
    }

    fn on_ens(
        &mut self,
        now: Timestamp,
        op: OpId,
        method: &'static str,
        outcome: Result<Value, Error>,
    ) {
        let ret = match outcome.and_then(|v| result_data(&v).map_err(malformed(method))) {
            Ok(ret) => ret,
            Err(e) => {
                self.fail(now, op, e);
                return;
            }
        };
        let Some(Op::Ens(e)) = self.ops.get_mut(&op) else {
            return;
        };
        match e.stage {
            EnsStage::Owner => match ens::decode_address(&ret) {
                Ok(owner) if owner.is_zero() => {
                    let name = e.name.clone();
                    self.fail(now, op, Error::UnregisteredName(name));
                }
                Ok(_) => {
                    e.stage = EnsStage::Resolver;
                    let data = ens::resolver_call(e.node);
                    self.ens_call(now, op, self.config.ens_registry, data);
                }
                Err(err) => self.fail(now, op, err),
            },
            EnsStage::Resolver => match ens::decode_address(&ret) {
                Ok(resolver) if resolver.is_zero() => {
                    let name = e.name.clone();
                    self.fail(now, op, Error::NoResolver(name));
                }
                Ok(resolver) => {
                    e.stage = EnsStage::Record;
                    let kind = match &e.goal {
                        EnsGoal::Resolve(kind) => *kind,
                        EnsGoal::Verify { .. } => EnsRecordKind::Pubkey,
                    };
                    let data = match kind {
                        EnsRecordKind::Addr => ens::addr_call(e.node),
                        EnsRecordKind::Pubkey => ens::pubkey_call(e.node),
                        EnsRecordKind::Contenthash => ens::contenthash_call(e.node),
                    };
                    self.ens_call(now, op, resolver, data);
                }
                Err(err) => self.fail(now, op, err),
            },
            EnsStage::Record => {
                if ret.is_empty() {
                    // eth_call of an address without code answers "0x".
                    let name = e.name.clone();
                    self.fail(now, op, Error::NoResolver(name));
                    return;
                }
                let kind = match &e.goal {
                    EnsGoal::Resolve(kind) => *kind,
                    EnsGoal::Verify { .. } => EnsRecordKind::Pubkey,
                };
                let value = match kind {
                    EnsRecordKind::Addr => ens::decode_address(&ret).map(EnsValue::Addr),
                    EnsRecordKind::Pubkey => ens::decode_pubkey(&ret).map(EnsValue::Pubkey),
                    EnsRecordKind::Contenthash => {
                        ens::decode_contenthash(&ret).map(EnsValue::Contenthash)
                    }
                };
                if let Some(Op::Ens(e)) = self.ops.remove(&op) {
                    self.finish_ens(now, op, e, value);
                }
            }
        }
    }
}

fn decode_query(query: &Query, v: &Value) -> Result<QueryResult, Malformed> {
    Ok(match query {
        Query::ChainId => QueryResult::ChainId(result_u64(v)?),
        Query::BlockNumber => QueryResult::BlockNumber(result_u64(v)?),
        Query::GasPrice => QueryResult::GasPrice(result_u256(v)?),
        Query::Balance { .. } => QueryResult::Balance(result_u256(v)?),
        Query::Nonce { .. } => QueryResult::Nonce(result_u64(v)?),
        Query::TokenBalance { .. } => {
            let ret = result_data(v)?;
            QueryResult::Balance(
                crate::erc20::decode_uint(&ret).map_err(|_| Malformed::ReturnData)?,
            )
        }
        Query::Call { .. } => QueryResult::Call(result_data(v)?),
        Query::EstimateGas(_) => QueryResult::Gas(result_u64(v)?),
        Query::Logs(_) => QueryResult::Logs(jsonrpc::logs_from_json(v)?),
        Query::BlockByNumber(_) | Query::BlockByHash(_) => QueryResult::Block(match v {
            Value::Null => None,
            v => Some(Block::from_json(v)?),
        }),
        Query::TransactionByHash(_) => QueryResult::Transaction(match v {
            Value::Null => None,
            v => Some(Transaction::from_json(v)?),
        }),
        Query::Receipt(_) => QueryResult::Receipt(match v {
            Value::Null => None,
            v => Some(Receipt::from_json(v)?),
        }),
    })
}
