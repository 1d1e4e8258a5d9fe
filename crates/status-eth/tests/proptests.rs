//! Round trips and no-panic properties of every codec.

use alloy_primitives::{Address, U256};
use proptest::prelude::*;
use status_core::SecretKey;
use status_eth::ens::{self, Contenthash};
use status_eth::jsonrpc::{self, decode_response};
use status_eth::transaction::{sign_legacy, SignedTransaction, TxKind, TxLegacy};
use status_eth::uri::{PaymentRequest, Target, Value};

fn u256() -> impl Strategy<Value = U256> {
    any::<[u8; 32]>().prop_map(U256::from_be_bytes)
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        any::<[u8; 20]>().prop_map(|a| Target::Address(Address::from(a))),
        "[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){0,2}\\.eth".prop_map(Target::Ens),
    ]
}

fn value() -> impl Strategy<Value = (String, Value)> {
    prop_oneof![
        u256().prop_map(|v| (
            "value".to_string(),
            Value::Number {
                negative: false,
                magnitude: v
            }
        )),
        (any::<bool>(), u256()).prop_map(|(n, v)| (
            "int256".to_string(),
            Value::Number {
                negative: n && !v.is_zero(),
                magnitude: v
            }
        )),
        target().prop_map(|t| ("address".to_string(), Value::Address(t))),
        ("[a-z]{1,8}", "\\PC{0,12}").prop_map(|(k, v)| (format!("x{k}"), Value::String(v))),
    ]
}

proptest! {
    #[test]
    fn payment_requests_round_trip(
        pay_prefix in any::<bool>(),
        target in target(),
        chain_id in proptest::option::of(any::<u64>()),
        function in proptest::option::of("[a-zA-Z_][a-zA-Z0-9_]{0,12}"),
        parameters in proptest::collection::vec(value(), 0..6),
    ) {
        let r = PaymentRequest { pay_prefix, target, chain_id, function, parameters };
        let text = r.to_string();
        prop_assert_eq!(PaymentRequest::parse(&text).unwrap(), r);
    }

    #[test]
    fn uri_parser_never_panics(s in "(ethereum:|eth:)?\\PC{0,80}") {
        let _ = PaymentRequest::parse(&s);
    }

    #[test]
    fn response_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_response(&bytes);
    }

    #[test]
    fn quantities_round_trip(v in u256(), n in any::<u64>()) {
        prop_assert_eq!(jsonrpc::parse_u256(&jsonrpc::quantity(v), "f").unwrap(), v);
        prop_assert_eq!(jsonrpc::parse_u64(&jsonrpc::quantity(U256::from(n)), "f").unwrap(), n);
    }

    #[test]
    fn transactions_round_trip(
        key in any::<[u8; 32]>().prop_filter_map("key", |k| SecretKey::from_bytes(&k).ok()),
        chain_id in 1u64..u64::MAX / 4,
        nonce in any::<u64>(),
        gas_price in any::<u128>(),
        gas_limit in any::<u64>(),
        to in proptest::option::of(any::<[u8; 20]>()),
        value in u256(),
        input in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let tx = TxLegacy {
            chain_id: Some(chain_id), nonce, gas_price, gas_limit,
            to: to.map_or(TxKind::Create, |a| TxKind::Call(a.into())),
            value, input: input.into(),
        };
        let signed = sign_legacy(&key, tx).unwrap();
        prop_assert_eq!(SignedTransaction::decode(&signed.raw).unwrap(), signed);
    }

    #[test]
    fn signed_transaction_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = SignedTransaction::decode(&bytes);
    }

    #[test]
    fn contenthash_round_trips(codec in 0..(1u64 << 63), value in proptest::collection::vec(any::<u8>(), 1..60)) {
        let h = match codec {
            0xe3 => Contenthash::Ipfs(value),
            0xe4 => Contenthash::Swarm(value),
            codec => Contenthash::Other { codec, value },
        };
        prop_assert_eq!(Contenthash::decode(&h.encode()).unwrap(), h);
    }

    #[test]
    fn normalize_is_idempotent_and_case_blind(name in "[a-zA-Z0-9-]{1,10}(\\.[a-zA-Z0-9]{1,10}){0,3}") {
        let n = ens::normalize(&name).unwrap();
        prop_assert_eq!(ens::normalize(&n).unwrap(), n.clone());
        prop_assert_eq!(ens::node(&name.to_uppercase()).unwrap(), ens::namehash(&n));
    }
}
