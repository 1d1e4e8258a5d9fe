//! EIP-778 vectors (spec/enr-eip778.json, every case) and the record rules
//! of devp2p `enr.md`, one test per rule.
//!
//! Each case: `enr_text` parses to the record whose RLP is `rlp_hex` and
//! prints back; `node_id`, `seq`, `identity_scheme`, the printed
//! `rlp_structure` and the `decoded` fields match; `private_key` signs the
//! same record again; no flipped byte or cut of it decodes; the text form's
//! rules hold for it. The rule tests below build their own records.

use status_core::{keccak256, SecretKey};
use status_discovery::enr::{Enr, MAX_RECORD_SIZE};
use status_discovery::Error;
use status_vectors::{description, hex_field, str_field, u64_field};

const FILE: &str = "spec/enr-eip778.json";

fn rlp_string(s: &[u8]) -> Vec<u8> {
    rlp::encode(&s.to_vec()).to_vec()
}

#[test]
fn every_eip778_case_decodes_verifies_and_re_signs_bit_for_bit() {
    let cases = status_vectors::cases(FILE);
    assert!(!cases.is_empty(), "{FILE}: no cases");
    for case in &cases {
        let what = description(case);
        let text = str_field(case, "enr_text");
        let rlp_bytes = hex_field(case, "rlp_hex");
        let enr: Enr = text.parse().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(enr.as_bytes(), &rlp_bytes[..], "{what}");
        assert_eq!(enr.to_text(), text, "{what}");
        assert_eq!(enr.to_string(), text, "{what}");
        assert_eq!(Enr::decode(&rlp_bytes).as_ref(), Ok(&enr), "{what}");
        assert_eq!(
            enr.node_id().0.to_vec(),
            hex_field(case, "node_id"),
            "{what}"
        );
        assert_eq!(enr.seq(), u64_field(case, "seq"), "{what}");
        assert_eq!(
            enr.id(),
            str_field(case, "identity_scheme").as_bytes(),
            "{what}"
        );

        // Printed RLP structure: [signature, seq, k, v, ...].
        let structure: Vec<Vec<u8>> = case["rlp_structure"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let s = v.as_str().unwrap();
                match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    Some(ascii) => ascii.as_bytes().to_vec(),
                    None => hex::decode(s).unwrap(),
                }
            })
            .collect();
        assert_eq!(&enr.signature()[..], &structure[0][..], "{what}");
        let seq_bytes = enr.seq().to_be_bytes();
        let skip = seq_bytes.iter().take_while(|&&b| b == 0).count();
        assert_eq!(&seq_bytes[skip..], &structure[1][..], "{what}");
        let pairs: Vec<(&[u8], &[u8])> = enr.iter().collect();
        assert_eq!(pairs.len() * 2, structure.len() - 2, "{what}");
        for (i, (k, v)) in pairs.iter().enumerate() {
            assert_eq!(*k, &structure[2 + 2 * i][..], "{what}");
            assert_eq!(*v, &rlp_string(&structure[3 + 2 * i])[..], "{what}");
        }

        // Decoded fields.
        let decoded = &case["decoded"];
        if let Some(ip) = decoded["ip"].as_str() {
            assert_eq!(
                enr.ip4().map(|a| a.to_string()).as_deref(),
                Some(ip),
                "{what}"
            );
        }
        if let Some(udp) = decoded["udp"].as_u64() {
            assert_eq!(enr.udp().map(u64::from), Some(udp), "{what}");
        }
        if let Some(pk) = decoded["secp256k1"].as_str() {
            assert_eq!(hex::encode(enr.public_key().to_compressed()), pk, "{what}");
        }

        // The private key signs the same record again (RFC 6979 nonces).
        let key = SecretKey::from_bytes(&hex_field(case, "private_key"))
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(key.public_key(), *enr.public_key(), "{what}");
        let mut builder = Enr::builder().seq(enr.seq());
        for (k, v) in enr.iter() {
            if k != b"id" && k != b"secp256k1" {
                builder = builder.insert_raw(k.to_vec(), v).unwrap();
            }
        }
        assert_eq!(builder.sign(&key).as_ref(), Ok(&enr), "{what}: re-signed");
        // And the v4 node id is keccak256 of the uncompressed key.
        assert_eq!(
            enr.node_id().0,
            keccak256(&key.public_key().to_uncompressed()[1..]),
            "{what}"
        );
    }
}

/// Every one-byte change of a valid record is rejected (signature or
/// structure), and never panics.
#[test]
fn any_flipped_byte_is_rejected() {
    for case in &status_vectors::cases(FILE) {
        let what = description(case);
        let rlp_bytes = hex_field(case, "rlp_hex");
        for i in 0..rlp_bytes.len() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut b = rlp_bytes.clone();
                b[i] ^= mask;
                assert!(
                    Enr::decode(&b).is_err(),
                    "{what}: byte {i} ^ {mask:#x} accepted"
                );
            }
        }
        for cut in 0..rlp_bytes.len() {
            assert!(Enr::decode(&rlp_bytes[..cut]).is_err(), "{what}: cut {cut}");
        }
    }
}

/// Encodes `[sig(keccak(rlp([seq, pairs..]))), seq, pairs..]` by hand, so
/// the tests can build records this crate's builder refuses to make.
fn hand_signed(key: &SecretKey, seq: u64, pairs: &[(&[u8], Vec<u8>)]) -> Vec<u8> {
    let mut content = rlp::RlpStream::new_list(1 + 2 * pairs.len());
    content.append(&seq);
    for (k, v) in pairs {
        content.append(&k.to_vec());
        content.append_raw(v, 1);
    }
    let digest = keccak256(&content.out());
    let sig = key.sign_recoverable(&digest);
    let mut rec = rlp::RlpStream::new_list(2 + 2 * pairs.len());
    rec.append(&sig.as_bytes()[..64].to_vec());
    rec.append(&seq);
    for (k, v) in pairs {
        rec.append(&k.to_vec());
        rec.append_raw(v, 1);
    }
    rec.out().to_vec()
}

/// Any key: the rule tests sign records of their own.
fn key() -> SecretKey {
    SecretKey::from_bytes(&[0x5a; 32]).unwrap()
}

fn v4_pairs(key: &SecretKey) -> Vec<(&'static [u8], Vec<u8>)> {
    vec![
        (b"id", rlp_string(b"v4")),
        (b"secp256k1", rlp_string(&key.public_key().to_compressed())),
    ]
}

#[test]
fn hand_signed_baseline_is_accepted() {
    let k = key();
    let rec = hand_signed(&k, 7, &v4_pairs(&k));
    let enr = Enr::decode(&rec).unwrap();
    assert_eq!(enr.seq(), 7);
}

#[test]
fn keys_must_be_sorted() {
    let k = key();
    let mut pairs = v4_pairs(&k);
    pairs.swap(0, 1);
    assert_eq!(
        Enr::decode(&hand_signed(&k, 1, &pairs)),
        Err(Error::UnsortedKeys)
    );
}

#[test]
fn keys_must_be_unique() {
    let k = key();
    let mut pairs = v4_pairs(&k);
    pairs.insert(0, (b"id", rlp_string(b"v4")));
    assert_eq!(
        Enr::decode(&hand_signed(&k, 1, &pairs)),
        Err(Error::UnsortedKeys)
    );
}

#[test]
fn records_over_300_bytes_are_rejected_even_when_signed() {
    let k = key();
    let mut pairs = v4_pairs(&k);
    pairs.push((b"zz", rlp_string(&[7u8; 200])));
    let rec = hand_signed(&k, 1, &pairs);
    assert!(rec.len() > MAX_RECORD_SIZE);
    assert!(matches!(
        Enr::decode(&rec),
        Err(Error::RecordTooLarge { max: 300, .. })
    ));
    // A record of exactly the limit is fine.
    let mut pad = 0;
    loop {
        let mut pairs = v4_pairs(&k);
        pairs.push((b"zz", rlp_string(&vec![7u8; pad])));
        let rec = hand_signed(&k, 1, &pairs);
        if rec.len() >= MAX_RECORD_SIZE {
            if rec.len() == MAX_RECORD_SIZE {
                Enr::decode(&rec).unwrap();
            }
            break;
        }
        pad += 1;
    }
}

#[test]
fn the_identity_scheme_is_required_and_must_be_v4() {
    let k = key();
    let pairs = vec![(
        b"secp256k1" as &[u8],
        rlp_string(&k.public_key().to_compressed()),
    )];
    assert_eq!(
        Enr::decode(&hand_signed(&k, 1, &pairs)),
        Err(Error::MissingIdentityScheme)
    );
    let mut pairs = v4_pairs(&k);
    pairs[0].1 = rlp_string(b"v5");
    assert_eq!(
        Enr::decode(&hand_signed(&k, 1, &pairs)),
        Err(Error::UnknownIdentityScheme("v5".into()))
    );
}

#[test]
fn the_signature_must_be_made_by_the_records_key() {
    let k = key();
    let other = SecretKey::from_bytes(&[9u8; 32]).unwrap();
    // Signed by `other` but carrying `k`'s public key.
    let rec = hand_signed(&other, 1, &v4_pairs(&k));
    assert_eq!(Enr::decode(&rec), Err(Error::InvalidSignature));
}

#[test]
fn odd_key_value_items_and_trailing_bytes_are_rejected() {
    let k = key();
    let mut rec = hand_signed(&k, 1, &v4_pairs(&k));
    rec.push(0x01);
    assert_eq!(Enr::decode(&rec), Err(Error::TrailingBytes(1)));
    // An odd item: append a lone key inside the list, re-signed.
    let mut content = rlp::RlpStream::new_list(6);
    content.append(&1u64);
    for (kk, v) in v4_pairs(&k) {
        content.append(&kk.to_vec());
        content.append_raw(&v, 1);
    }
    content.append(&b"zz".to_vec());
    let sig = k.sign_recoverable(&keccak256(&content.out()));
    let mut r = rlp::RlpStream::new_list(7);
    r.append(&sig.as_bytes()[..64].to_vec());
    r.append(&1u64);
    for (kk, v) in v4_pairs(&k) {
        r.append(&kk.to_vec());
        r.append_raw(&v, 1);
    }
    r.append(&b"zz".to_vec());
    assert!(matches!(Enr::decode(&r.out()), Err(Error::RecordShape(_))));
}

#[test]
fn text_form_is_unpadded_urlsafe_base64_with_prefix() {
    for case in &status_vectors::cases(FILE) {
        let what = description(case);
        let text = str_field(case, "enr_text");
        assert!(
            matches!(
                text.trim_start_matches("enr:").parse::<Enr>(),
                Err(Error::EnrText(_))
            ),
            "{what}: no prefix"
        );
        assert!(
            matches!(format!("{text}=").parse::<Enr>(), Err(Error::EnrText(_))),
            "{what}: padded"
        );
        // Standard (not URL-safe) alphabet is rejected when it differs.
        let std_alpha = text.replace('-', "+").replace('_', "/");
        if std_alpha != text {
            assert!(
                std_alpha.parse::<Enr>().is_err(),
                "{what}: standard alphabet"
            );
        }
    }
    let long = format!("enr:{}", "A".repeat(2000));
    assert!(matches!(
        long.parse::<Enr>(),
        Err(Error::RecordTooLarge { .. })
    ));
}

#[test]
fn arbitrary_keys_and_list_values_survive() {
    let k = key();
    // An `eth`-style list value [[forkhash, forknext]].
    let eth = hex::decode("c7c68430c9a3c580").unwrap();
    let enr = Enr::builder()
        .seq(42)
        .insert_raw("eth", &eth)
        .unwrap()
        .insert("waku2", &[0x0f])
        .ip6("::1".parse().unwrap())
        .udp6(9000)
        .sign(&k)
        .unwrap();
    let back = Enr::decode(enr.as_bytes()).unwrap();
    assert_eq!(back.get(b"eth"), Some(&eth[..]));
    assert_eq!(back.get_bytes(b"waku2"), Some(&[0x0f][..]));
    assert_eq!(back.get_bytes(b"eth"), None);
    assert_eq!(back.ip6(), Some("::1".parse().unwrap()));
    assert_eq!(back.udp_socket(), Some("[::1]:9000".parse().unwrap()));
    assert_eq!(back.seq(), 42);
    assert!(Enr::builder().insert_raw("bad", &[0x81, 0x01]).is_err());
}

#[test]
fn updates_bump_the_sequence_number() {
    let k = key();
    let a = Enr::builder().udp(1).sign(&k).unwrap();
    let b = a.to_builder().udp(2).sign(&k).unwrap();
    assert_eq!(b.seq(), a.seq() + 1);
    assert_eq!(b.node_id(), a.node_id());
    assert_eq!(b.udp(), Some(2));
}
