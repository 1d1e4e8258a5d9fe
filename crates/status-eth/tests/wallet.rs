//! The Wallet machine against a scripted node: status-go's nonce rules,
//! receipt polling with a deadline, request timeouts, ENS lookups, the
//! ens_name cache, and hostile answers.

use std::collections::HashMap;
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use serde_json::{json, Value};
use status_core::{PublicKey, SecretKey, Timestamp};
use status_eth::ens::{self, EnsCheck};
use status_eth::jsonrpc::{BlockId, RpcErrorKind};
use status_eth::transaction::SignedTransaction;
use status_eth::{
    EnsRecordKind, EnsValue, Error, Event, Input, Malformed, OpId, Output, Query, QueryResult,
    Request, TransactionRequest, Wallet, WalletConfig,
};

const T0: u64 = 1_700_000_000_000;

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(T0 + ms)
}

fn config() -> WalletConfig {
    WalletConfig {
        chain_id: 1337,
        ens_registry: Address::from([0xee; 20]),
        ..Default::default()
    }
}

fn key(b: u8) -> SecretKey {
    SecretKey::from_bytes(&[b; 32]).unwrap()
}

fn ok(id: u64, result: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

fn err(id: u64, code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

fn hex(b: &[u8]) -> String {
    format!("0x{}", ::hex::encode(b))
}

fn word(b: &[u8]) -> Vec<u8> {
    let mut w = vec![0u8; 32 - b.len()];
    w.extend_from_slice(b);
    w
}

/// What the scripted node saw and decides.
struct Node {
    pending_nonce: u64,
    gas_price: u64,
    estimate: u64,
    sent: Vec<SignedTransaction>,
    /// Receipt polls answered `null` before the receipt.
    polls_before_receipt: usize,
    polls: HashMap<B256, usize>,
    /// ENS: name hash -> (owner, resolver); resolver -> (node -> pubkey x||y).
    ens: HashMap<B256, (Address, Address)>,
    pubkeys: HashMap<(Address, B256), [u8; 64]>,
    code: Vec<Address>,
    /// Replaces the answer to this method.
    script: HashMap<&'static str, Box<dyn FnMut(u64) -> String>>,
}

impl Node {
    fn new() -> Self {
        Node {
            pending_nonce: 0,
            gas_price: 2_000_000_000,
            estimate: 21_000,
            sent: Vec::new(),
            polls_before_receipt: 0,
            polls: HashMap::new(),
            ens: HashMap::new(),
            pubkeys: HashMap::new(),
            code: Vec::new(),
            script: HashMap::new(),
        }
    }

    fn answer(&mut self, req: &Request) -> String {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["jsonrpc"], "2.0");
        assert_eq!(body["method"], req.method);
        let id = body["id"].as_u64().unwrap();
        assert_eq!(id, req.id.0);
        if let Some(f) = self.script.get_mut(req.method) {
            return f(id);
        }
        let params = &body["params"];
        match req.method {
            "eth_getTransactionCount" => {
                assert_eq!(params[1], "pending");
                ok(id, json!(format!("{:#x}", self.pending_nonce)))
            }
            "eth_gasPrice" => ok(id, json!(format!("{:#x}", self.gas_price))),
            "eth_estimateGas" => ok(id, json!(format!("{:#x}", self.estimate))),
            "eth_sendRawTransaction" => {
                let raw =
                    ::hex::decode(params[0].as_str().unwrap().trim_start_matches("0x")).unwrap();
                let tx = SignedTransaction::decode(&raw).unwrap();
                let hash = tx.hash;
                self.sent.push(tx);
                ok(id, json!(hex(hash.as_slice())))
            }
            "eth_getTransactionReceipt" => {
                let hash = B256::from_slice(
                    &::hex::decode(params[0].as_str().unwrap().trim_start_matches("0x")).unwrap(),
                );
                let tx = self.sent.iter().find(|t| t.hash == hash).unwrap();
                let n = self.polls.entry(hash).or_default();
                *n += 1;
                if *n <= self.polls_before_receipt {
                    return ok(id, Value::Null);
                }
                ok(
                    id,
                    json!({
                        "transactionHash": hex(hash.as_slice()),
                        "blockNumber": "0x7",
                        "blockHash": hex(&[7; 32]),
                        "from": hex(tx.from.as_slice()),
                        "to": tx.tx.to.to().map(|a| hex(a.as_slice())),
                        "contractAddress": null,
                        "gasUsed": "0x5208",
                        "status": "0x1",
                        "logs": [],
                    }),
                )
            }
            "eth_call" => {
                let to: Address = params[0]["to"].as_str().unwrap().parse().unwrap();
                let data =
                    ::hex::decode(params[0]["data"].as_str().unwrap().trim_start_matches("0x"))
                        .unwrap();
                let node = B256::from_slice(&data[4..36]);
                let selector = &data[..4];
                if !self.code.contains(&to) {
                    return ok(id, json!("0x"));
                }
                let (owner, resolver) = self.ens.get(&node).copied().unwrap_or_default();
                let ret = if selector == &ens::owner_call(node)[..4] {
                    word(owner.as_slice())
                } else if selector == &ens::resolver_call(node)[..4] {
                    word(resolver.as_slice())
                } else if selector == &ens::pubkey_call(node)[..4] {
                    self.pubkeys
                        .get(&(to, node))
                        .map(|p| p.to_vec())
                        .unwrap_or(vec![0; 64])
                } else if selector == &ens::addr_call(node)[..4] {
                    word(&[0xab; 20])
                } else {
                    return err(id, 3, "execution reverted");
                };
                ok(id, json!(hex(&ret)))
            }
            m => panic!("unexpected method {m}"),
        }
    }
}

/// Drains the wallet, answering every request at once.
fn run(w: &mut Wallet, now: Timestamp, node: &mut Node) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(out) = w.poll_output() {
        match out {
            Output::Request(req) => {
                let body = node.answer(&req);
                w.handle_input(
                    now,
                    Input::Response {
                        id: req.id,
                        body: body.as_bytes(),
                    },
                )
                .unwrap();
            }
            Output::Event(e) => events.push(e),
        }
    }
    events
}

/// Runs timers and answers until `until`, stepping by the wallet's timeouts.
fn run_until(w: &mut Wallet, until: Timestamp, node: &mut Node) -> Vec<Event> {
    let mut events = Vec::new();
    let mut now = at(0);
    loop {
        events.extend(run(w, now, node));
        match w.poll_timeout() {
            Some((t, _)) if t <= until => {
                now = now.max(t);
                w.handle_timeout(now);
            }
            _ => return events,
        }
    }
}

fn sent(events: &[Event]) -> Vec<(OpId, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Sent { op, nonce, .. } => Some((*op, *nonce)),
            _ => None,
        })
        .collect()
}

fn failure(events: &[Event], op: OpId) -> &Error {
    events
        .iter()
        .find_map(|e| match e {
            Event::Failed { op: o, error } if *o == op => Some(error),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no failure for {op:?} in {events:?}"))
}

#[test]
fn concurrent_sends_from_one_address_get_consecutive_nonces() {
    let mut w = Wallet::new(config());
    let me = w.add_account(key(1));
    let mut node = Node::new();
    node.pending_nonce = 5; // a lagging node: it never counts our sends
    let to = Address::from([2; 20]);
    let ops: Vec<OpId> = (0..3)
        .map(|i| {
            w.send_transaction(
                at(0),
                TransactionRequest::transfer(me, to, U256::from(i + 1)),
            )
            .unwrap()
        })
        .collect();
    // status-go's address lock: only the first send is asking for a nonce.
    let mut first = Vec::new();
    while let Some(o) = w.poll_output() {
        first.push(o);
    }
    assert_eq!(first.len(), 1);
    let Output::Request(req) = &first[0] else {
        panic!()
    };
    assert_eq!(req.method, "eth_getTransactionCount");
    let body = node.answer(req);
    w.handle_input(
        at(0),
        Input::Response {
            id: req.id,
            body: body.as_bytes(),
        },
    )
    .unwrap();
    let events = run(&mut w, at(0), &mut node);
    let nonces = sent(&events);
    assert_eq!(nonces, vec![(ops[0], 5), (ops[1], 6), (ops[2], 7)]);
    assert_eq!(w.local_nonce(&me), Some(8));
    for (tx, value) in node.sent.iter().zip(1u64..) {
        assert_eq!(tx.from, me);
        assert_eq!(tx.tx.chain_id, Some(1337));
        assert_eq!(tx.tx.value, U256::from(value));
        assert_eq!(tx.tx.gas_price, 2_000_000_000);
    }
}

#[test]
fn a_higher_node_nonce_wins_over_the_local_one() {
    let mut w = Wallet::new(config());
    let me = w.add_account(key(1));
    let mut node = Node::new();
    w.send_transaction(at(0), TransactionRequest::transfer(me, me, U256::ZERO))
        .unwrap();
    run(&mut w, at(0), &mut node);
    assert_eq!(w.local_nonce(&me), Some(1));
    node.pending_nonce = 10; // another client sent from this account
    w.send_transaction(at(1), TransactionRequest::transfer(me, me, U256::ZERO))
        .unwrap();
    let events = run(&mut w, at(1), &mut node);
    assert_eq!(sent(&events)[0].1, 10);
}

#[test]
fn sends_from_different_addresses_run_side_by_side() {
    let mut w = Wallet::new(config());
    let a = w.add_account(key(1));
    let b = w.add_account(key(2));
    w.send_transaction(at(0), TransactionRequest::transfer(a, b, U256::ZERO))
        .unwrap();
    w.send_transaction(at(0), TransactionRequest::transfer(b, a, U256::ZERO))
        .unwrap();
    let mut requests = 0;
    while let Some(o) = w.poll_output() {
        assert!(matches!(o, Output::Request(ref r) if r.method == "eth_getTransactionCount"));
        requests += 1;
    }
    assert_eq!(requests, 2);
}

#[test]
fn a_refused_broadcast_does_not_advance_the_nonce() {
    let mut w = Wallet::new(config());
    let me = w.add_account(key(1));
    let mut node = Node::new();
    node.script.insert(
        "eth_sendRawTransaction",
        Box::new(|id| err(id, -32000, "insufficient funds for gas * price + value")),
    );
    let op = w
        .send_transaction(at(0), TransactionRequest::transfer(me, me, U256::from(1)))
        .unwrap();
    let events = run(&mut w, at(0), &mut node);
    match failure(&events, op) {
        Error::Rpc {
            method: "eth_sendRawTransaction",
            error,
        } => {
            assert_eq!(error.kind, RpcErrorKind::InsufficientFunds)
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(w.local_nonce(&me), None);
    node.script.remove("eth_sendRawTransaction");
    w.send_transaction(at(1), TransactionRequest::transfer(me, me, U256::from(1)))
        .unwrap();
    assert_eq!(sent(&run(&mut w, at(1), &mut node))[0].1, 0);
}

#[test]
fn already_known_counts_as_sent() {
    let mut w = Wallet::new(config());
    let me = w.add_account(key(1));
    let mut node = Node::new();
    node.script.insert(
        "eth_sendRawTransaction",
        Box::new(|id| err(id, -32000, "already known")),
    );
    w.send_transaction(at(0), TransactionRequest::transfer(me, me, U256::ZERO))
        .unwrap();
    let events = run(&mut w, at(0), &mut node);
    assert_eq!(sent(&events).len(), 1);
    assert_eq!(w.local_nonce(&me), Some(1));
}

#[test]
fn estimated_gas_is_raised_to_min_gas_and_given_values_are_kept() {
    let mut w = Wallet::new(config());
    let me = w.add_account(key(1));
    let mut node = Node::new();
    w.send_transaction(at(0), TransactionRequest::transfer(me, me, U256::ZERO))
        .unwrap();
    run(&mut w, at(0), &mut node);
    node.estimate = 120_000;
    w.send_transaction(at(0), TransactionRequest::transfer(me, me, U256::ZERO))
        .unwrap();
    let mut given = TransactionRequest::transfer(me, me, U256::ZERO);
    given.gas = Some(21_000);
    given.gas_price = Some(7);
    given.nonce = Some(42);
    w.send_transaction(at(0), given).unwrap();
    run(&mut w, at(0), &mut node);
    let gas: Vec<(u64, u128, u64)> = node
        .sent
        .iter()
        .map(|t| (t.tx.gas_limit, t.tx.gas_price, t.tx.nonce))
        .collect();
    assert_eq!(
        gas,
        vec![
            (90_000, 2_000_000_000, 0),
            (120_000, 2_000_000_000, 1),
            (21_000, 7, 42)
        ]
    );
    assert_eq!(w.local_nonce(&me), Some(43));
}

#[test]
fn receipts_are_polled_until_mined() {
    let mut w = Wallet::new(config());
    let me = w.add_account(key(1));
    let mut node = Node::new();
    node.polls_before_receipt = 3;
    let op = w
        .send_transaction(at(0), TransactionRequest::transfer(me, me, U256::ZERO))
        .unwrap();
    let events = run(&mut w, at(0), &mut node);
    assert_eq!(sent(&events).len(), 1);
    let (t, why) = w.poll_timeout().unwrap();
    assert_eq!((t, why), (at(2_000), "receipt poll"));
    let events = run_until(&mut w, at(60_000), &mut node);
    let Some(Event::Confirmed { op: done, receipt }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(*done, op);
    assert!(receipt.succeeded());
    assert_eq!(receipt.from, me);
    assert_eq!(node.polls[&receipt.transaction_hash], 4);
    assert_eq!(w.poll_timeout(), None);
}

#[test]
fn no_receipt_by_the_deadline_is_a_receipt_timeout() {
    let mut w = Wallet::new(WalletConfig {
        receipt_timeout: Duration::from_secs(30),
        ..config()
    });
    let me = w.add_account(key(1));
    let mut node = Node::new();
    node.polls_before_receipt = usize::MAX;
    let op = w
        .send_transaction(at(0), TransactionRequest::transfer(me, me, U256::ZERO))
        .unwrap();
    let events = run_until(&mut w, at(120_000), &mut node);
    match failure(&events, op) {
        Error::ReceiptTimeout {
            timeout_ms: 30_000, ..
        } => {}
        e => panic!("{e:?}"),
    }
    // Polled every 2 s for 30 s, no more.
    let polls = *node.polls.values().next().unwrap();
    assert!((14..=16).contains(&polls), "{polls}");
    assert_eq!(w.poll_timeout(), None);
}

#[test]
fn an_unanswered_request_times_out_and_a_late_answer_is_refused() {
    let mut w = Wallet::new(config());
    let op = w.query(at(0), Query::BlockNumber).unwrap();
    let Some(Output::Request(req)) = w.poll_output() else {
        panic!()
    };
    assert_eq!(w.poll_timeout(), Some((at(10_000), "rpc request timeout")));
    w.handle_timeout(at(9_999));
    assert!(w.poll_output().is_none());
    w.handle_timeout(at(10_000));
    let Some(Output::Event(Event::Failed { op: o, error })) = w.poll_output() else {
        panic!()
    };
    assert_eq!(o, op);
    assert_eq!(
        error,
        Error::Timeout {
            method: "eth_blockNumber",
            timeout_ms: 10_000
        }
    );
    let late = ok(req.id.0, json!("0x1"));
    assert_eq!(
        w.handle_input(
            at(11_000),
            Input::Response {
                id: req.id,
                body: late.as_bytes()
            }
        ),
        Err(Error::UnknownRequest(req.id.0))
    );
}

fn answer_once(w: &mut Wallet, body: impl Fn(u64) -> String) -> Event {
    let Some(Output::Request(req)) = w.poll_output() else {
        panic!()
    };
    let b = body(req.id.0);
    w.handle_input(
        at(0),
        Input::Response {
            id: req.id,
            body: b.as_bytes(),
        },
    )
    .unwrap();
    let Some(Output::Event(e)) = w.poll_output() else {
        panic!()
    };
    e
}

/// A scripted answer to the request with this id.
type Answer = Box<dyn Fn(u64) -> String>;

#[test]
fn hostile_answers_are_typed_errors() {
    let huge = format!("0x1{}", "0".repeat(64));
    let cases: Vec<(Answer, Error)> = vec![
        (
            Box::new(|_| "<html>bad gateway</html>".into()),
            Error::Malformed {
                method: "eth_getBalance",
                reason: Malformed::NotJson,
            },
        ),
        (
            Box::new(|id| ok(id, json!(12))),
            Error::Malformed {
                method: "eth_getBalance",
                reason: Malformed::Type {
                    field: "result",
                    expected: "a string",
                },
            },
        ),
        (
            Box::new(move |id| ok(id, json!(huge.clone()))),
            Error::Malformed {
                method: "eth_getBalance",
                reason: Malformed::Overflow {
                    field: "result",
                    bits: 256,
                },
            },
        ),
        (
            Box::new(|id| ok(id, json!("0x0012"))),
            Error::Malformed {
                method: "eth_getBalance",
                reason: Malformed::Quantity { field: "result" },
            },
        ),
        (
            Box::new(|id| json!({"id": id, "result": "0x1"}).to_string()),
            Error::Malformed {
                method: "eth_getBalance",
                reason: Malformed::Version,
            },
        ),
        (
            Box::new(|id| ok(id + 1000, json!("0x1"))),
            Error::IdMismatch {
                method: "eth_getBalance",
                expected: 0,
                got: 0,
            },
        ),
        (
            Box::new(|id| json!([{"jsonrpc": "2.0", "id": id, "result": "0x1"}]).to_string()),
            Error::Malformed {
                method: "eth_getBalance",
                reason: Malformed::NotAnObject,
            },
        ),
        (
            Box::new(|id| {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32005, "message": "limit exceeded"}}).to_string()
            }),
            Error::Rpc {
                method: "eth_getBalance",
                error: status_eth::jsonrpc::RpcError::new(-32005, "limit exceeded".into(), None),
            },
        ),
    ];
    for (body, want) in cases {
        let mut w = Wallet::new(config());
        let op = w
            .query(
                at(0),
                Query::Balance {
                    address: Address::ZERO,
                    block: BlockId::Latest,
                },
            )
            .unwrap();
        let Event::Failed { op: o, error } = answer_once(&mut w, &body) else {
            panic!()
        };
        assert_eq!(o, op);
        match (&error, &want) {
            (
                Error::IdMismatch {
                    method,
                    got,
                    expected,
                },
                Error::IdMismatch { .. },
            ) => {
                assert_eq!((*method, *got), ("eth_getBalance", *expected + 1000))
            }
            _ => assert_eq!(error, want),
        }
    }
    // A response larger than the limit is refused before parsing.
    let mut w = Wallet::new(WalletConfig {
        max_response_bytes: 100,
        ..config()
    });
    w.query(at(0), Query::BlockNumber).unwrap();
    let big = |id| ok(id, json!("0x".to_string() + &"a".repeat(200)));
    let Event::Failed { error, .. } = answer_once(&mut w, big) else {
        panic!()
    };
    assert_eq!(
        error,
        Error::ResponseTooLarge {
            method: "eth_blockNumber",
            got: big(1).len(),
            max: 100
        }
    );
    // A transport failure.
    let mut w = Wallet::new(config());
    let op = w.query(at(0), Query::ChainId).unwrap();
    let Some(Output::Request(req)) = w.poll_output() else {
        panic!()
    };
    w.handle_input(
        at(0),
        Input::Failed {
            id: req.id,
            reason: "connection refused".into(),
        },
    )
    .unwrap();
    let Some(Output::Event(Event::Failed { op: o, error })) = w.poll_output() else {
        panic!()
    };
    assert_eq!(
        (o, error),
        (
            op,
            Error::Transport {
                method: "eth_chainId",
                reason: "connection refused".into()
            }
        )
    );
}

#[test]
fn hostile_receipts_logs_and_blocks() {
    let bad_results = [
        ("receipt", json!({"transactionHash": "0x12"})),
        (
            "receipt",
            json!({"transactionHash": hex(&[1; 32]), "blockNumber": "0x1", "blockHash": hex(&[1; 32]), "from": hex(&[1; 20]), "gasUsed": "0x1", "status": "0x2"}),
        ),
        (
            "logs",
            json!([{"address": hex(&[1; 20]), "topics": vec![hex(&[0; 32]); 5], "data": "0x"}]),
        ),
        ("logs", json!({"not": "a list"})),
        (
            "block",
            json!({"number": "0x1", "hash": hex(&[1; 32]), "parentHash": hex(&[1; 32]), "timestamp": "0x1", "gasLimit": "0x1", "gasUsed": "0x1", "transactions": [{"full": "tx"}]}),
        ),
        (
            "transaction",
            json!({"hash": hex(&[1; 32]), "nonce": "0x1", "from": hex(&[1; 19]), "value": "0x0", "gas": "0x1", "input": "0x"}),
        ),
    ];
    for (what, result) in bad_results {
        let mut w = Wallet::new(config());
        let q = match what {
            "receipt" => Query::Receipt(B256::ZERO),
            "logs" => Query::Logs(Default::default()),
            "block" => Query::BlockByNumber(BlockId::Latest),
            _ => Query::TransactionByHash(B256::ZERO),
        };
        w.query(at(0), q).unwrap();
        let e = answer_once(&mut w, |id| ok(id, result.clone()));
        assert!(
            matches!(
                e,
                Event::Failed {
                    error: Error::Malformed { .. },
                    ..
                }
            ),
            "{what}: {e:?}"
        );
    }
    // null means "not (yet) known", not an error.
    let mut w = Wallet::new(config());
    w.query(at(0), Query::Receipt(B256::ZERO)).unwrap();
    let e = answer_once(&mut w, |id| ok(id, Value::Null));
    assert!(matches!(
        e,
        Event::Query {
            result: QueryResult::Receipt(None),
            ..
        }
    ));
}

#[test]
fn a_reverted_call_carries_its_revert_data() {
    let mut w = Wallet::new(config());
    w.query(
        at(0),
        Query::TokenBalance {
            token: Address::from([1; 20]),
            owner: Address::ZERO,
        },
    )
    .unwrap();
    let e = answer_once(&mut w, |id| {
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": 3, "message": "execution reverted", "data": "0x08c379a0"}}).to_string()
    });
    let Event::Failed {
        error: Error::Rpc { error, .. },
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(error.kind, RpcErrorKind::ExecutionReverted);
    assert_eq!(error.data.unwrap().as_ref(), &[0x08, 0xc3, 0x79, 0xa0]);
    // Return data that is not a uint256.
    w.query(
        at(0),
        Query::TokenBalance {
            token: Address::ZERO,
            owner: Address::ZERO,
        },
    )
    .unwrap();
    let e = answer_once(&mut w, |id| ok(id, json!("0x01")));
    assert!(matches!(
        e,
        Event::Failed {
            error: Error::Malformed {
                reason: Malformed::ReturnData,
                ..
            },
            ..
        }
    ));
}

#[test]
fn operations_are_bounded_and_unknown_senders_refused() {
    let mut w = Wallet::new(WalletConfig {
        max_operations: 3,
        ..config()
    });
    for _ in 0..3 {
        w.query(at(0), Query::BlockNumber).unwrap();
    }
    assert_eq!(
        w.query(at(0), Query::BlockNumber),
        Err(Error::TooManyOperations { max: 3 })
    );
    let stranger = Address::from([9; 20]);
    assert_eq!(
        w.send_transaction(
            at(0),
            TransactionRequest::transfer(stranger, stranger, U256::ZERO)
        ),
        Err(Error::UnknownAccount(stranger))
    );
}

// ---- ENS ----

struct Ens {
    node: Node,
    resolver: Address,
}

fn ens_node(name: &str, claimant: Option<&PublicKey>) -> Ens {
    let mut node = Node::new();
    let registry = config().ens_registry;
    let resolver = Address::from([0x77; 20]);
    node.code = vec![registry, resolver];
    let h = ens::node(name).unwrap();
    node.ens.insert(h, (Address::from([1; 20]), resolver));
    if let Some(k) = claimant {
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&k.to_uncompressed()[1..]);
        node.pubkeys.insert((resolver, h), xy);
    }
    Ens { node, resolver }
}

fn verified(events: &[Event]) -> Vec<&Result<bool, Error>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::EnsVerified { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect()
}

#[test]
fn verify_ens_matches_the_resolvers_pubkey() {
    let alice = key(1).public_key();
    let mallory = key(2).public_key();
    let mut e = ens_node("alice.stateofus.eth", Some(&alice));
    let mut w = Wallet::new(config());
    for (who, want) in [(alice, true), (mallory, false)] {
        w.verify_ens(
            at(0),
            EnsCheck {
                name: "Alice.StateOfUs.eth".into(),
                public_key: who,
            },
        )
        .unwrap();
        let events = run(&mut w, at(0), &mut e.node);
        assert_eq!(verified(&events), vec![&Ok(want)]);
    }
    let op = w
        .resolve(at(0), "alice.stateofus.eth", EnsRecordKind::Pubkey)
        .unwrap();
    let events = run(&mut w, at(0), &mut e.node);
    assert_eq!(
        events,
        vec![Event::Resolved {
            op,
            name: "alice.stateofus.eth".into(),
            value: EnsValue::Pubkey(alice.to_uncompressed())
        }]
    );
    let op = w
        .resolve(at(0), "alice.stateofus.eth", EnsRecordKind::Addr)
        .unwrap();
    let events = run(&mut w, at(0), &mut e.node);
    assert_eq!(
        events,
        vec![Event::Resolved {
            op,
            name: "alice.stateofus.eth".into(),
            value: EnsValue::Addr(Address::from([0xab; 20]))
        }]
    );
    // The record a resolver does not implement reverts: a typed error.
    let op = w
        .resolve(at(0), "alice.stateofus.eth", EnsRecordKind::Contenthash)
        .unwrap();
    let events = run(&mut w, at(0), &mut e.node);
    assert!(
        matches!(failure(&events, op), Error::Rpc { error, .. } if error.kind == RpcErrorKind::ExecutionReverted)
    );
    let _ = e.resolver;
}

#[test]
fn ens_lookup_failures_follow_go_ens() {
    let alice = key(1).public_key();
    let check = |name: &str| EnsCheck {
        name: name.into(),
        public_key: alice,
    };
    let mut w = Wallet::new(config());
    // Unregistered: owner is zero.
    let mut e = ens_node("alice.eth", Some(&alice));
    w.verify_ens(at(0), check("bob.eth")).unwrap();
    assert_eq!(
        verified(&run(&mut w, at(0), &mut e.node)),
        vec![&Err(Error::UnregisteredName("bob.eth".into()))]
    );
    // Registered without resolver.
    let h = ens::node("carol.eth").unwrap();
    e.node
        .ens
        .insert(h, (Address::from([1; 20]), Address::ZERO));
    w.verify_ens(at(0), check("carol.eth")).unwrap();
    assert_eq!(
        verified(&run(&mut w, at(0), &mut e.node)),
        vec![&Err(Error::NoResolver("carol.eth".into()))]
    );
    // A resolver address without code.
    e.node
        .ens
        .insert(h, (Address::from([1; 20]), Address::from([0x55; 20])));
    w.verify_ens(at(0), check("carol.eth")).unwrap();
    assert_eq!(
        verified(&run(&mut w, at(0), &mut e.node)),
        vec![&Err(Error::NoResolver("carol.eth".into()))]
    );
    // A name that cannot be normalised is refused up front.
    assert!(matches!(
        w.verify_ens(at(0), check("bücher.eth")),
        Err(Error::InvalidName(_))
    ));
}

#[test]
fn observed_ens_names_are_verified_cached_and_backed_off() {
    let alice = key(1).public_key();
    let mut e = ens_node("alice.stateofus.eth", Some(&alice));
    let mut w = Wallet::new(config());
    // A ChatMessage's ens_name and clock.
    assert!(w
        .observe_ens_name(at(0), &alice, "alice.stateofus.eth", 3)
        .is_some());
    let events = run(&mut w, at(0), &mut e.node);
    assert_eq!(verified(&events), vec![&Ok(true)]);
    assert!(w.ens_cache().is_verified(&alice, "alice.stateofus.eth"));
    // Verified: later messages with the same name start no lookup.
    assert!(w
        .observe_ens_name(at(1), &alice, "alice.stateofus.eth", 4)
        .is_none());
    // An older message cannot change it.
    assert!(w.observe_ens_name(at(1), &alice, "evil.eth", 2).is_none());
    assert!(w.ens_cache().is_verified(&alice, "alice.stateofus.eth"));

    // Bob claims a name that is not registered: it fails, and is retried
    // with status-go's back-off (30 s * n * 2^n), paced by the recheck
    // interval.
    let bob = key(2).public_key();
    let mut w = Wallet::new(WalletConfig {
        ens_recheck_interval: Duration::from_secs(1),
        ..config()
    });
    w.observe_ens_name(at(0), &bob, "bob.eth", 1).unwrap();
    let events = run(&mut w, at(0), &mut e.node);
    assert_eq!(
        verified(&events),
        vec![&Err(Error::UnregisteredName("bob.eth".into()))]
    );
    let r = w.ens_cache().get(&bob).unwrap();
    assert_eq!(
        (r.retries, r.verified, r.verified_at),
        (1, false, at(0).as_secs())
    );
    let (due, why) = w.poll_timeout().unwrap();
    assert_eq!(
        (due, why),
        (Timestamp::from_secs(at(0).as_secs() + 60), "ens recheck")
    );
    // Bob registers it meanwhile; the re-check at the due time verifies.
    let h = ens::node("bob.eth").unwrap();
    e.node.ens.insert(h, (Address::from([2; 20]), e.resolver));
    let mut xy = [0u8; 64];
    xy.copy_from_slice(&bob.to_uncompressed()[1..]);
    e.node.pubkeys.insert((e.resolver, h), xy);
    w.handle_timeout(due);
    let events = run(&mut w, due, &mut e.node);
    assert_eq!(verified(&events), vec![&Ok(true)]);
    assert!(w.ens_cache().is_verified(&bob, "bob.eth"));
    assert_eq!(w.poll_timeout(), None);
}
