//! status-eth hot paths beside alloy's own signer (alloy-signer-local's
//! `PrivateKeySigner`, k256) in the same run: an EIP-155 transaction signed
//! and encoded, an EIP-712 document hashed and signed, the EIP-712 hash
//! alone, and the limit, one bare secp256k1 `sign_recoverable`.

use alloy_network::TxSignerSync;
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use criterion::{criterion_group, criterion_main, Criterion};
use status_core::{keccak256, SecretKey};
use status_eth::transaction::{sign_legacy, TxKind, TxLegacy};
use status_eth::{typed_data, U256};

const KEY: [u8; 32] = [0x46; 32];

fn tx() -> TxLegacy {
    TxLegacy {
        chain_id: Some(1),
        nonce: 9,
        gas_price: 20_000_000_000,
        gas_limit: 21_000,
        to: TxKind::Call([0x35; 20].into()),
        value: U256::from(10u128.pow(18)),
        input: Default::default(),
    }
}

const MAIL: &str = r#"{
  "types": {
    "EIP712Domain": [{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
    "Person": [{"name":"name","type":"string"},{"name":"wallet","type":"address"}],
    "Mail": [{"name":"from","type":"Person"},{"name":"to","type":"Person"},{"name":"contents","type":"string"}]
  },
  "primaryType": "Mail",
  "domain": {"name":"Ether Mail","version":"1","chainId":1,"verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {"from":{"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},"to":{"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},"contents":"Hello, Bob!"}
}"#;

fn sign(c: &mut Criterion) {
    let ours = SecretKey::from_bytes(&KEY).expect("key");
    let theirs = PrivateKeySigner::from_slice(&KEY).expect("key");

    // Same transaction, same RFC 6979 signature, same bytes.
    let mine = sign_legacy(&ours, tx()).expect("sign");
    let mut t = tx();
    let sig = theirs.sign_transaction_sync(&mut t).expect("sign");
    assert_eq!(mine.signature, sig);

    let mut group = c.benchmark_group("eth/transaction");
    group.bench_function("status_eth_sign_legacy", |b| {
        b.iter(|| sign_legacy(&ours, tx()).expect("sign").raw)
    });
    group.bench_function("alloy_signer_local_sign_and_encode", |b| {
        b.iter(|| {
            let mut t = tx();
            let sig = theirs.sign_transaction_sync(&mut t).expect("sign");
            let signed = alloy_consensus::SignableTransaction::into_signed(t, sig);
            let mut raw = Vec::with_capacity(signed.rlp_encoded_length());
            signed.rlp_encode(&mut raw);
            raw
        })
    });
    let digest = keccak256(b"limit");
    group.bench_function("limit_secp256k1_sign_recoverable", |b| {
        b.iter(|| ours.sign_recoverable(&digest))
    });
    group.finish();

    let doc = typed_data::parse(MAIL).expect("typed data");
    let mine = typed_data::sign(&ours, &doc, None).expect("sign");
    let sig = theirs.sign_dynamic_typed_data_sync(&doc).expect("sign");
    assert_eq!(mine[..64], sig.as_bytes()[..64]);

    let mut group = c.benchmark_group("eth/eip712");
    group.bench_function("status_eth_hash_and_sign", |b| {
        b.iter(|| typed_data::sign(&ours, &doc, None).expect("sign"))
    });
    group.bench_function("alloy_signer_local_hash_and_sign", |b| {
        b.iter(|| theirs.sign_dynamic_typed_data_sync(&doc).expect("sign"))
    });
    group.bench_function("signing_hash", |b| {
        b.iter(|| typed_data::signing_hash(&doc).expect("hash"))
    });
    group.finish();
}

criterion_group!(benches, sign);
criterion_main!(benches);
