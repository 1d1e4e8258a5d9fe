//! The EIP vectors in status-vectors' spec/ directory, every case of each
//! file, every field a case carries.

use alloy_primitives::{keccak256, Address, B256, U256};
use serde_json::Value;
use status_core::SecretKey;
use status_eth::ens::{namehash, normalize, Contenthash};
use status_eth::message::{personal_message_hash, recover_personal_message, sign_personal_message};
use status_eth::transaction::{address_of, sign_legacy, SignedTransaction, TxKind, TxLegacy};
use status_eth::typed_data;
use status_eth::uri::{EthereumUri, PaymentRequest, Target, Value as UriValue};
use status_vectors::{cases, description, hex_field, str_field, u64_field};

fn key(case: &Value) -> SecretKey {
    SecretKey::from_bytes(&hex_field(case, "private_key")).expect("private_key")
}

fn dec(case: &Value, field: &str) -> U256 {
    U256::from_str_radix(str_field(case, field), 10).expect(field)
}

fn address(s: &str) -> Address {
    s.parse().expect("address")
}

#[test]
fn eip155_transactions() {
    for case in cases("spec/eip155-transactions.json") {
        let what = description(&case);
        let tx = TxLegacy {
            chain_id: Some(u64_field(&case, "chain_id")),
            nonce: u64_field(&case, "nonce"),
            gas_price: dec(&case, "gas_price").to::<u128>(),
            gas_limit: u64_field(&case, "gas"),
            to: match case["to"].as_str() {
                Some(to) => TxKind::Call(address(to)),
                None => TxKind::Create,
            },
            value: dec(&case, "value"),
            input: hex_field(&case, "data").into(),
        };
        if case.get("signing_data").is_some() {
            let mut buf = Vec::new();
            alloy_consensus::SignableTransaction::encode_for_signing(&tx, &mut buf);
            assert_eq!(
                buf,
                hex_field(&case, "signing_data"),
                "{what}: signing data"
            );
            assert_eq!(
                alloy_consensus::SignableTransaction::signature_hash(&tx).as_slice(),
                hex_field(&case, "signing_hash"),
                "{what}: signing hash"
            );
        }
        let signed = sign_legacy(&key(&case), tx).unwrap();
        assert_eq!(
            signed.raw.to_vec(),
            hex_field(&case, "signed"),
            "{what}: signed"
        );
        if let Some(v) = case.get("v") {
            assert_eq!(signed.v(), u128::from(v.as_u64().unwrap()), "{what}: v");
            assert_eq!(signed.signature.r(), dec(&case, "r"), "{what}: r");
            assert_eq!(signed.signature.s(), dec(&case, "s"), "{what}: s");
        }
        if case.get("hash").is_some() {
            assert_eq!(
                signed.hash.as_slice(),
                hex_field(&case, "hash"),
                "{what}: hash"
            );
        }
        if case.get("from").is_some() {
            assert_eq!(
                signed.from,
                address(str_field(&case, "from")),
                "{what}: from"
            );
        }
        let back = SignedTransaction::decode(&hex_field(&case, "signed")).unwrap();
        assert_eq!(back, signed, "{what}: decode and recover");
    }
}

#[test]
fn eip191_personal_sign() {
    for case in cases("spec/eip191-personal-sign.json") {
        let what = description(&case);
        let message = hex_field(&case, "message");
        assert_eq!(
            personal_message_hash(&message).as_slice(),
            hex_field(&case, "hash"),
            "{what}: hash"
        );
        let key = key(&case);
        assert_eq!(
            address_of(&key.public_key()),
            address(str_field(&case, "address")),
            "{what}"
        );
        let sig = sign_personal_message(&key, &message).unwrap();
        assert_eq!(
            sig.to_vec(),
            hex_field(&case, "signature"),
            "{what}: signature"
        );
        assert_eq!(
            recover_personal_message(&message, &hex_field(&case, "signature")).unwrap(),
            address(str_field(&case, "address")),
            "{what}: recover"
        );
    }
}

/// One EIP-712 step, as the bytes a vector field holds.
type Step = fn(&typed_data::TypedData) -> Vec<u8>;

#[test]
fn eip712_typed_data() {
    for case in cases("spec/eip712-typed-data.json") {
        let what = description(&case);
        let doc = typed_data::parse(&case["typed_data"].to_string()).unwrap();
        let hashes: [(&str, Step); 5] = [
            ("encode_type", |d| d.encode_type().unwrap().into_bytes()),
            ("type_hash", |d| d.type_hash().unwrap().to_vec()),
            ("encode_data", |d| {
                let mut v = d.type_hash().unwrap().to_vec();
                v.extend(d.encode_data().unwrap());
                v
            }),
            ("struct_hash", |d| d.hash_struct().unwrap().to_vec()),
            ("domain_separator", |d| d.domain.separator().to_vec()),
        ];
        for (field, f) in hashes {
            if let Some(want) = case.get(field) {
                let want = want.as_str().unwrap();
                let want = if field == "encode_type" {
                    want.as_bytes().to_vec()
                } else {
                    hex_field(&case, field)
                };
                assert_eq!(f(&doc), want, "{what}: {field}");
            }
        }
        let hash = typed_data::signing_hash(&doc).unwrap();
        if case.get("signing_hash").is_some() {
            assert_eq!(hash.as_slice(), hex_field(&case, "signing_hash"), "{what}");
        }
        let key = key(&case);
        let sig = typed_data::sign(&key, &doc, None).unwrap();
        assert_eq!(
            sig.to_vec(),
            hex_field(&case, "signature"),
            "{what}: signature"
        );
        let addr = address(str_field(&case, "address"));
        assert_eq!(address_of(&key.public_key()), addr, "{what}");
        assert_eq!(
            typed_data::recover(&doc, &sig).unwrap(),
            addr,
            "{what}: recover"
        );
    }
}

#[test]
fn eip137_namehash() {
    for case in cases("spec/eip137-namehash.json") {
        let what = description(&case);
        let name = str_field(&case, "name");
        let normalized = if name.is_empty() {
            String::new()
        } else {
            normalize(name).unwrap()
        };
        assert_eq!(normalized, str_field(&case, "normalized"), "{what}");
        assert_eq!(
            namehash(&normalized),
            B256::from_slice(&hex_field(&case, "namehash")),
            "{what}"
        );
        assert_eq!(
            status_eth::ens::node(name).unwrap(),
            namehash(&normalized),
            "{what}"
        );
    }
}

fn target(s: &str) -> Target {
    if s.starts_with("0x") && s.len() == 42 {
        Target::Address(address(s))
    } else {
        Target::Ens(s.to_string())
    }
}

#[test]
fn eip681_uris() {
    for case in cases("spec/eip681-uris.json") {
        let what = description(&case);
        let uri = str_field(&case, "uri");
        if let Some(prefix) = case.get("frame_prefix") {
            let frame = EthereumUri::parse(uri).unwrap();
            assert_eq!(frame.prefix, prefix.as_str(), "{what}");
            assert_eq!(frame.payload, str_field(&case, "frame_payload"), "{what}");
        }
        let parsed = PaymentRequest::parse(uri);
        if !case["valid"].as_bool().unwrap() {
            assert!(
                parsed.is_err(),
                "{what}: {uri} must be rejected, got {parsed:?}"
            );
            continue;
        }
        let r = parsed.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            r.pay_prefix,
            case["prefix"].as_str() == Some("pay"),
            "{what}"
        );
        assert_eq!(r.target, target(str_field(&case, "target")), "{what}");
        assert_eq!(r.chain_id, case["chain_id"].as_u64(), "{what}");
        assert_eq!(r.function.as_deref(), case["function"].as_str(), "{what}");
        let want = case["parameters"].as_array().unwrap();
        assert_eq!(r.parameters.len(), want.len(), "{what}");
        for ((k, v), w) in r.parameters.iter().zip(want) {
            assert_eq!(k, w[0].as_str().unwrap(), "{what}");
            let w = w[1].as_str().unwrap();
            match v {
                UriValue::Number {
                    negative: false,
                    magnitude,
                } => {
                    assert_eq!(magnitude.to_string(), w, "{what}: {k}")
                }
                UriValue::Address(t) => assert_eq!(*t, target(w), "{what}: {k}"),
                other => panic!("{what}: {k} = {other:?}"),
            }
        }
        // Formatting gives a URI that parses to the same request.
        assert_eq!(
            PaymentRequest::parse(&r.to_string()).unwrap(),
            r,
            "{what}: round trip"
        );
    }
}

#[test]
fn eip1577_contenthash() {
    for case in cases("spec/eip1577-contenthash.json") {
        let what = description(&case);
        let binary = hex_field(&case, "binary");
        let hash = Contenthash::decode(&binary).unwrap();
        let codec = match &hash {
            Contenthash::Ipfs(_) => 0xe3,
            Contenthash::Swarm(_) => 0xe4,
            Contenthash::Other { codec, .. } => *codec,
        };
        assert_eq!(codec, u64_field(&case, "codec"), "{what}");
        assert_eq!(
            hash.to_uri().as_deref(),
            Some(str_field(&case, "text")),
            "{what}"
        );
        assert_eq!(hash.encode(), binary, "{what}");
    }
}

#[test]
fn eip20_selectors_are_keccak_of_the_signatures() {
    // EIP-20's function list; the selector rule is the ABI spec's.
    let data = status_eth::erc20::transfer(Address::ZERO, U256::ZERO);
    assert_eq!(data[..4], keccak256("transfer(address,uint256)")[..4]);
    let data = status_eth::erc20::balance_of(Address::ZERO);
    assert_eq!(data[..4], keccak256("balanceOf(address)")[..4]);
    assert_eq!(
        status_eth::erc20::TRANSFER_TOPIC,
        keccak256("Transfer(address,address,uint256)")
    );
}
