//! The JSON-RPC response decoder and every result decoder on arbitrary
//! bytes, then the same bytes as the node's answer to each request of a
//! Wallet running a send, queries and an ENS check: typed errors, no panic,
//! and the wallet stays within its bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_core::{SecretKey, Timestamp};
use status_eth::ens::EnsCheck;
use status_eth::jsonrpc::{self, decode_response, Block, BlockId, Log, Receipt, Transaction};
use status_eth::{Input, Output, Query, TransactionRequest, Wallet, WalletConfig, U256};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = decode_response(data) {
        if let Ok(v) = &r.outcome {
            let _ = Receipt::from_json(v);
            let _ = Log::from_json(v);
            let _ = jsonrpc::logs_from_json(v);
            let _ = Block::from_json(v);
            let _ = Transaction::from_json(v);
            let _ = (jsonrpc::result_u64(v), jsonrpc::result_u256(v), jsonrpc::result_data(v));
        }
    }

    // The bytes, split at 0xff, answer the wallet's requests in turn; a
    // chunk that is a JSON-RPC envelope gets the request's id spliced in.
    let mut chunks = data.split(|b| *b == 0xff);
    let mut wallet = Wallet::new(WalletConfig { chain_id: 1337, max_operations: 16, ..Default::default() });
    let key = SecretKey::from_bytes(&[7; 32]).expect("key");
    let me = wallet.add_account(key.clone());
    let mut now = Timestamp::from_secs(1_700_000_000);
    let _ = wallet.send_transaction(now, TransactionRequest::transfer(me, me, U256::from(1)));
    let _ = wallet.send_transaction(now, TransactionRequest::transfer(me, me, U256::from(2)));
    let _ = wallet.query(now, Query::Logs(Default::default()));
    let _ = wallet.query(now, Query::BlockByNumber(BlockId::Latest));
    let _ = wallet.verify_ens(now, EnsCheck { name: "a.eth".into(), public_key: key.public_key() });
    let _ = wallet.observe_ens_name(now, &key.public_key(), "b.stateofus.eth", 1);
    for _ in 0..64 {
        let mut answered = false;
        while let Some(out) = wallet.poll_output() {
            if let Output::Request(req) = out {
                let Some(chunk) = chunks.next() else { break };
                let body = match std::str::from_utf8(chunk) {
                    Ok(s) if s.starts_with('{') => s.replacen("\"id\":0", &format!("\"id\":{}", req.id.0), 1).into_bytes(),
                    _ => chunk.to_vec(),
                };
                let _ = wallet.handle_input(now, Input::Response { id: req.id, body: &body });
                answered = true;
            }
        }
        match wallet.poll_timeout() {
            Some((at, _)) => {
                now = now.max(at);
                wallet.handle_timeout(now);
            }
            None if !answered => break,
            None => {}
        }
    }
});
