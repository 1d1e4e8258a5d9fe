//! Property tests: every codec round-trips, and arbitrary input never
//! panics (ENR, DNS tree entries, rendezvous messages).

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use status_core::SecretKey;
use status_discovery::dnsdisc::{Entry, EntryHash, Link, Root};
use status_discovery::enr::{Enr, MAX_RECORD_SIZE};
use status_discovery::rendezvous::{Message, Status};

fn keys() -> &'static [SecretKey] {
    static KEYS: OnceLock<Vec<SecretKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (1..=8u8)
            .map(|i| SecretKey::from_bytes(&[i; 32]).unwrap())
            .collect()
    })
}

fn records() -> &'static [Enr] {
    static RECS: OnceLock<Vec<Enr>> = OnceLock::new();
    RECS.get_or_init(|| {
        keys()
            .iter()
            .enumerate()
            .map(|(i, k)| {
                Enr::builder()
                    .seq(i as u64 + 1)
                    .ip4([10, 0, 0, i as u8].into())
                    .udp(30303)
                    .sign(k)
                    .unwrap()
            })
            .collect()
    })
}

fn arb_key() -> impl Strategy<Value = Vec<u8>> {
    // Keys other than the ones the builder sets itself.
    "[a-z0-9]{1,10}"
        .prop_filter("set by the test or the builder", |k| {
            !["id", "secp256k1", "ip", "tcp", "udp"].contains(&k.as_str())
        })
        .prop_map(String::into_bytes)
}

fn arb_status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Ok),
        Just(Status::InvalidNamespace),
        Just(Status::InvalidEnr),
        Just(Status::InvalidTtl),
        Just(Status::InvalidLimit),
        Just(Status::InvalidContent),
        Just(Status::NotAuthorized),
        Just(Status::InternalError),
    ]
}

fn arb_message() -> impl Strategy<Value = Message> {
    let rec = (0..8usize).prop_map(|i| records()[i].clone());
    prop_oneof![
        ("[a-z]{1,20}", rec.clone(), any::<u64>()).prop_map(|(topic, record, ns)| {
            Message::Register {
                topic,
                record,
                ttl: Duration::from_nanos(ns),
            }
        }),
        (arb_status(), ".{0,40}")
            .prop_map(|(status, message)| Message::RegisterResponse { status, message }),
        ("[a-z]{1,20}", any::<u64>()).prop_map(|(topic, limit)| Message::Discover { topic, limit }),
        (
            arb_status(),
            ".{0,40}",
            proptest::collection::vec(rec, 0..10)
        )
            .prop_map(|(status, message, records)| Message::DiscoverResponse {
                status,
                message,
                records
            }),
        Just(Message::RemoteIp),
        (arb_status(), "[0-9.:a-f]{0,40}")
            .prop_map(|(status, ip)| Message::RemoteIpResponse { status, ip }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn enr_sign_decode_round_trip(
        key in 0..8usize,
        seq in any::<u64>(),
        ip in any::<[u8; 4]>(),
        tcp in any::<u16>(),
        udp in any::<u16>(),
        extra in proptest::collection::btree_map(arb_key(), proptest::collection::vec(any::<u8>(), 0..40), 0..4),
    ) {
        let mut b = Enr::builder().seq(seq).ip4(ip.into()).tcp(tcp).udp(udp);
        for (k, v) in &extra {
            b = b.insert(k.clone(), v);
        }
        match b.sign(&keys()[key]) {
            Ok(enr) => {
                prop_assert!(enr.as_bytes().len() <= MAX_RECORD_SIZE);
                let back = Enr::decode(enr.as_bytes()).unwrap();
                prop_assert_eq!(&back, &enr);
                prop_assert_eq!(enr.to_text().parse::<Enr>().unwrap(), enr.clone());
                prop_assert_eq!(back.seq(), seq);
                prop_assert_eq!(back.ip4(), Some(ip.into()));
                prop_assert_eq!(back.tcp(), Some(tcp));
                prop_assert_eq!(back.udp(), Some(udp));
                for (k, v) in &extra {
                    prop_assert_eq!(back.get_bytes(k), Some(v.as_slice()));
                }
                prop_assert_eq!(back.public_key(), &keys()[key].public_key());
            }
            Err(e) => {
                let too_large = matches!(e, status_discovery::Error::RecordTooLarge { .. });
                prop_assert!(too_large, "{:?}", e);
            }
        }
    }

    #[test]
    fn enr_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Enr::decode(&bytes);
    }

    #[test]
    fn enr_decode_of_mutated_records_never_panics(
        i in 0..8usize, pos in any::<prop::sample::Index>(), byte in any::<u8>()
    ) {
        let mut b = records()[i].as_bytes().to_vec();
        let p = pos.index(b.len());
        b[p] = byte;
        if let Ok(e) = Enr::decode(&b) {
            // Only the identity change (same byte) can still verify.
            prop_assert_eq!(e.as_bytes(), records()[i].as_bytes());
        }
    }

    #[test]
    fn dns_entry_parse_never_panics(s in ".{0,600}") {
        let _ = s.parse::<Entry>();
        let _ = s.parse::<Root>();
        let _ = s.parse::<Link>();
    }

    #[test]
    fn dns_prefixed_garbage_never_panics(
        prefix in prop_oneof![
            Just("enrtree-root:v1 "), Just("enrtree-branch:"), Just("enrtree://"), Just("enr:")
        ],
        rest in "[A-Za-z0-9=_,@. -]{0,200}",
    ) {
        let s = format!("{prefix}{rest}");
        let _ = s.parse::<Entry>();
        let _ = s.parse::<Root>();
    }

    #[test]
    fn branch_entries_round_trip(texts in proptest::collection::vec(".{0,30}", 0..13)) {
        let hashes: Vec<EntryHash> = texts.iter().map(|t| EntryHash::of(t)).collect();
        let e = Entry::Branch(hashes);
        let s = e.to_string();
        prop_assert_eq!(s.parse::<Entry>().unwrap(), e);
    }

    #[test]
    fn roots_round_trip_and_verify(seq in any::<u64>(), a in ".{0,20}", b in ".{0,20}", k in 0..8usize) {
        let root = Root::sign(EntryHash::of(&a), EntryHash::of(&b), seq, &keys()[k]);
        let back: Root = root.to_string().parse().unwrap();
        prop_assert_eq!(&back, &root);
        prop_assert!(back.verify(&keys()[k].public_key()).is_ok());
        prop_assert!(back.verify(&keys()[(k + 1) % 8].public_key()).is_err());
    }

    #[test]
    fn links_round_trip(k in 0..8usize, labels in proptest::collection::vec("[a-z0-9-]{1,20}", 1..5)) {
        let link = Link::new(keys()[k].public_key(), &labels.join(".")).unwrap();
        prop_assert_eq!(link.to_string().parse::<Link>().unwrap(), link);
    }

    #[test]
    fn rendezvous_messages_round_trip(m in arb_message()) {
        prop_assert_eq!(Message::decode(&m.to_bytes()).unwrap(), m);
    }

    #[test]
    fn rendezvous_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Message::decode(&bytes);
    }
}
