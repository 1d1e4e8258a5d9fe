//! Against a real Ethereum node on loopback: the development chain .ci/run
//! starts (ganache, deterministic accounts, chain id 1337) at the URL in
//! `STATUS_RS_ETH_RPC`. Locally the tests skip with a message when it is
//! unset; in CI (`CI=true`) a missing chain is a failure.
//!
//! Every transaction is signed by status-eth with status-keys wallet keys
//! and driven through the Wallet machine by status-tokio's JSON-RPC driver.
//! The contracts are tests/contracts/*.sol, compiled ahead of time into
//! tests/contracts/contracts.json (compiler noted there).

use alloy_primitives::{Address, Bytes, U256};
use prost::Message;
use status_core::PublicKey;
use status_eth::ens::{self, EnsCheck};
use status_eth::jsonrpc::{BlockId, Filter, Receipt, RpcErrorKind};
use status_eth::transaction::create_address;
use status_eth::{
    erc20, EnsRecordKind, EnsValue, Error, Event, OpId, Query, QueryResult, TransactionRequest,
    WalletConfig,
};
use status_keys::Account;
use status_tokio::EthClient;

/// ganache's `--wallet.deterministic` mnemonic: its funded accounts are
/// this mnemonic's BIP44 wallet keys, which status-keys derives.
const DEV_MNEMONIC: &str =
    "myth like bonus scare over problem client lizard pioneer submit female collect";
const CHAIN_ID: u64 = 1337;
const ETHER: u128 = 1_000_000_000_000_000_000;

fn node_url() -> Option<String> {
    match std::env::var("STATUS_RS_ETH_RPC") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true but STATUS_RS_ETH_RPC is unset: .ci/run must start the development chain"
            )
        }
        _ => {
            eprintln!("skipped: STATUS_RS_ETH_RPC is unset (.ci/run starts a development chain and sets it)");
            None
        }
    }
}

fn contract(name: &str) -> Bytes {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("contracts/contracts.json")).unwrap();
    let code = doc["contracts"][name].as_str().unwrap();
    hex::decode(code.trim_start_matches("0x")).unwrap().into()
}

fn client(url: &str, registry: Option<Address>) -> EthClient {
    let mut config = WalletConfig {
        chain_id: CHAIN_ID,
        receipt_poll_interval: std::time::Duration::from_millis(50),
        receipt_timeout: std::time::Duration::from_secs(60),
        // CI machines are small and busy; ganache answers in milliseconds when idle.
        request_timeout: std::time::Duration::from_secs(60),
        ..Default::default()
    };
    if let Some(r) = registry {
        config.ens_registry = r;
    }
    EthClient::new(url, config).unwrap()
}

/// Runs `op` to its end; returns the receipt of a send.
async fn confirm(eth: &mut EthClient, op: OpId) -> Receipt {
    loop {
        match eth.next_event_for(op).await {
            Some(Event::Sent { .. }) => {}
            Some(Event::Confirmed { receipt, .. }) => {
                assert!(receipt.succeeded(), "reverted: {receipt:?}");
                return receipt;
            }
            other => panic!("send {op:?}: {other:?}"),
        }
    }
}

async fn send(eth: &mut EthClient, tx: TransactionRequest) -> Receipt {
    let op = eth
        .wallet_mut()
        .send_transaction(EthClient::now(), tx)
        .unwrap();
    confirm(eth, op).await
}

async fn query(eth: &mut EthClient, q: Query) -> QueryResult {
    let op = eth.wallet_mut().query(EthClient::now(), q).unwrap();
    match eth.next_event_for(op).await {
        Some(Event::Query { result, .. }) => result,
        other => panic!("query {op:?}: {other:?}"),
    }
}

async fn balance(eth: &mut EthClient, address: Address) -> U256 {
    match query(
        eth,
        Query::Balance {
            address,
            block: BlockId::Latest,
        },
    )
    .await
    {
        QueryResult::Balance(b) => b,
        other => panic!("{other:?}"),
    }
}

async fn token_balance(eth: &mut EthClient, token: Address, owner: Address) -> U256 {
    match query(eth, Query::TokenBalance { token, owner }).await {
        QueryResult::Balance(b) => b,
        other => panic!("{other:?}"),
    }
}

/// A fresh status-keys account per test, funded by ganache account `funder`.
async fn funded_user(eth: &mut EthClient, funder: u32, words: &str) -> (Account, Address) {
    let dev = Account::from_mnemonic(DEV_MNEMONIC, "").unwrap();
    let from = eth
        .wallet_mut()
        .add_account(dev.wallet_key(funder).unwrap());
    let user = Account::from_mnemonic(words, "").unwrap();
    let me = eth.wallet_mut().add_account(user.wallet_key(0).unwrap());
    let before = balance(eth, me).await;
    send(
        eth,
        TransactionRequest::transfer(from, me, U256::from(10 * ETHER)),
    )
    .await;
    assert_eq!(balance(eth, me).await, before + U256::from(10 * ETHER));
    (user, me)
}

#[test]
fn eth_and_erc20_transfers_signed_by_a_status_keys_account() {
    let Some(url) = node_url() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut eth = client(&url, None);
        match query(&mut eth, Query::ChainId).await {
            QueryResult::ChainId(id) => assert_eq!(id, CHAIN_ID),
            other => panic!("{other:?}"),
        }
        let words = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        let (user, me) = funded_user(&mut eth, 1, words).await;
        let friend = user.wallet_address(1).unwrap();
        let friend = Address::from(friend.0);

        // An ETH transfer: the recipient gets the value, the sender pays
        // value + gas used * gas price.
        let mine = balance(&mut eth, me).await;
        let theirs = balance(&mut eth, friend).await;
        let receipt = send(&mut eth, TransactionRequest::transfer(me, friend, U256::from(ETHER))).await;
        let price = match query(&mut eth, Query::TransactionByHash(receipt.transaction_hash)).await {
            QueryResult::Transaction(Some(tx)) => {
                assert_eq!((tx.from, tx.to, tx.value), (me, Some(friend), U256::from(ETHER)));
                // status-go's floor on estimated gas.
                assert_eq!(tx.gas, 90_000);
                tx.gas_price.unwrap()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(balance(&mut eth, friend).await, theirs + U256::from(ETHER));
        assert_eq!(
            balance(&mut eth, me).await,
            mine - U256::from(ETHER) - U256::from(receipt.gas_used) * price
        );

        // Deploy an EIP-20 token and transfer some of it.
        let nonce = match query(&mut eth, Query::Nonce { address: me, block: BlockId::Pending }).await {
            QueryResult::Nonce(n) => n,
            other => panic!("{other:?}"),
        };
        let mut code = contract("Token").to_vec();
        code.extend_from_slice(&U256::from(1_000_000u64).to_be_bytes::<32>());
        let receipt = send(&mut eth, TransactionRequest::deploy(me, code.into())).await;
        let token = receipt.contract_address.unwrap();
        assert_eq!(token, create_address(me, nonce));
        assert_eq!(token_balance(&mut eth, token, me).await, U256::from(1_000_000u64));

        let receipt = send(&mut eth, TransactionRequest::erc20_transfer(me, token, friend, U256::from(1234u64))).await;
        let transfers: Vec<_> = receipt.logs.iter().filter_map(erc20::decode_transfer).collect();
        assert_eq!(transfers.len(), 1);
        assert_eq!((transfers[0].token, transfers[0].from, transfers[0].to), (token, me, friend));
        assert_eq!(transfers[0].value, U256::from(1234u64));
        assert_eq!(token_balance(&mut eth, token, friend).await, U256::from(1234u64));
        assert_eq!(token_balance(&mut eth, token, me).await, U256::from(1_000_000u64 - 1234));

        // status-go's transfer scan: Transfer logs with the account as `to`.
        let filter = Filter {
            from_block: Some(BlockId::Earliest),
            to_block: Some(BlockId::Latest),
            addresses: vec![token],
            topics: vec![Some(vec![erc20::TRANSFER_TOPIC]), None, Some(vec![erc20::address_topic(friend)])],
            ..Default::default()
        };
        match query(&mut eth, Query::Logs(filter)).await {
            QueryResult::Logs(logs) => {
                assert_eq!(logs.len(), 1);
                assert_eq!(logs[0].transaction_hash, Some(receipt.transaction_hash));
            }
            other => panic!("{other:?}"),
        }

        // More tokens than the sender has: the estimate reverts, typed.
        let op = eth
            .wallet_mut()
            .send_transaction(EthClient::now(), TransactionRequest::erc20_transfer(me, token, friend, U256::from(10_000_000u64)))
            .unwrap();
        match eth.next_event_for(op).await {
            Some(Event::Failed { error: Error::Rpc { method: "eth_estimateGas", error }, .. }) => {
                assert_eq!(error.kind, RpcErrorKind::ExecutionReverted, "{error:?}")
            }
            other => panic!("{other:?}"),
        }

        // Three sends at once from one account: consecutive nonces, all mined.
        let start = match query(&mut eth, Query::Nonce { address: me, block: BlockId::Pending }).await {
            QueryResult::Nonce(n) => n,
            other => panic!("{other:?}"),
        };
        let ops: Vec<OpId> = (1..=3u64)
            .map(|i| {
                eth.wallet_mut()
                    .send_transaction(EthClient::now(), TransactionRequest::transfer(me, friend, U256::from(i)))
                    .unwrap()
            })
            .collect();
        let mut nonces = Vec::new();
        for op in ops {
            match eth.next_event_for(op).await {
                Some(Event::Sent { nonce, .. }) => nonces.push(nonce),
                other => panic!("{other:?}"),
            }
            confirm(&mut eth, op).await;
        }
        assert_eq!(nonces, vec![start, start + 1, start + 2]);
        assert_eq!(eth.next_event().await, None);
    });
}

#[test]
fn a_chat_messages_ens_name_is_verified_through_the_wallet() {
    let Some(url) = node_url() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut eth = client(&url, None);
        let words = "legal winner thank year wave sausage worth useful legal winner thank yellow";
        let (user, me) = funded_user(&mut eth, 2, words).await;

        // Deploy the registry (the deployer owns the root) and a resolver.
        let registry = send(
            &mut eth,
            TransactionRequest::deploy(me, contract("Registry")),
        )
        .await
        .contract_address
        .unwrap();
        let mut code = contract("PublicResolver").to_vec();
        code.extend_from_slice(registry.into_word().as_slice());
        let resolver = send(&mut eth, TransactionRequest::deploy(me, code.into()))
            .await
            .contract_address
            .unwrap();

        // eth -> stateofus.eth -> alice.stateofus.eth, owned by us.
        let call = |to: Address, data: Bytes| TransactionRequest::call(me, to, data);
        send(
            &mut eth,
            call(
                registry,
                ens::set_subnode_owner_call(ens::node("").unwrap(), "eth", me),
            ),
        )
        .await;
        send(
            &mut eth,
            call(
                registry,
                ens::set_subnode_owner_call(ens::node("eth").unwrap(), "stateofus", me),
            ),
        )
        .await;
        send(
            &mut eth,
            call(
                registry,
                ens::set_subnode_owner_call(ens::node("stateofus.eth").unwrap(), "alice", me),
            ),
        )
        .await;
        let name = "alice.stateofus.eth";
        let node = ens::node(name).unwrap();
        send(
            &mut eth,
            call(registry, ens::set_resolver_call(node, resolver)),
        )
        .await;
        // The name's pubkey record is our chat key, as Status sets it.
        let chat_key: PublicKey = user.chat_public_key();
        send(
            &mut eth,
            call(resolver, ens::set_pubkey_call(node, &chat_key)),
        )
        .await;
        send(&mut eth, call(resolver, ens::set_addr_call(node, me))).await;
        let ipfs = hex::decode(
            "e3010170122029f2d17be6139079dc48696d1f582a8530eb9805b561eda517e22a892c7e3f1f",
        )
        .unwrap();
        send(
            &mut eth,
            call(resolver, ens::set_contenthash_call(node, &ipfs)),
        )
        .await;

        // A wallet that looks names up in this registry.
        let mut eth = client(&url, Some(registry));
        for (kind, want) in [
            (EnsRecordKind::Addr, EnsValue::Addr(me)),
            (
                EnsRecordKind::Pubkey,
                EnsValue::Pubkey(chat_key.to_uncompressed()),
            ),
            (
                EnsRecordKind::Contenthash,
                EnsValue::Contenthash(ipfs.clone().into()),
            ),
        ] {
            let op = eth
                .wallet_mut()
                .resolve(EthClient::now(), "Alice.StateOfUs.eth", kind)
                .unwrap();
            match eth.next_event_for(op).await {
                Some(Event::Resolved { value, .. }) => assert_eq!(value, want),
                other => panic!("{other:?}"),
            }
        }

        // A ChatMessage from us carrying the name arrives (as bytes).
        let sent = status_proto::protobuf::ChatMessage {
            clock: 7,
            timestamp: 1,
            text: "gm".into(),
            ens_name: name.into(),
            ..Default::default()
        };
        let received =
            status_proto::protobuf::ChatMessage::decode(sent.encode_to_vec().as_slice()).unwrap();
        let op = eth
            .wallet_mut()
            .observe_ens_name(
                EthClient::now(),
                &chat_key,
                &received.ens_name,
                received.clock,
            )
            .expect("a new name is checked");
        match eth.next_event_for(op).await {
            Some(Event::EnsVerified { check, outcome, .. }) => {
                assert_eq!(
                    check,
                    EnsCheck {
                        name: name.into(),
                        public_key: chat_key
                    }
                );
                assert_eq!(outcome, Ok(true));
            }
            other => panic!("{other:?}"),
        }
        assert!(eth.wallet().ens_cache().is_verified(&chat_key, name));

        // Someone else claiming the name is not verified; an unregistered
        // name fails the lookup and is retried later (status-go's back-off).
        let mallory = Account::from_mnemonic(words, "other")
            .unwrap()
            .chat_public_key();
        let op = eth
            .wallet_mut()
            .observe_ens_name(EthClient::now(), &mallory, name, 1)
            .unwrap();
        match eth.next_event_for(op).await {
            Some(Event::EnsVerified { outcome, .. }) => assert_eq!(outcome, Ok(false)),
            other => panic!("{other:?}"),
        }
        assert!(!eth.wallet().ens_cache().is_verified(&mallory, name));
        let op = eth
            .wallet_mut()
            .observe_ens_name(EthClient::now(), &mallory, "nobody.stateofus.eth", 2)
            .unwrap();
        match eth.next_event_for(op).await {
            Some(Event::EnsVerified { outcome, .. }) => {
                assert_eq!(
                    outcome,
                    Err(Error::UnregisteredName("nobody.stateofus.eth".into()))
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(eth.wallet().ens_cache().get(&mallory).unwrap().retries, 1);
    });
}
