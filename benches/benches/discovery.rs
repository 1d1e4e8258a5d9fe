//! Discovery hot paths: ENR decode + verify (every record a node learns
//! from discv5, DNS lists or rendezvous goes through it) and EIP-1459 TXT
//! entry parsing, beside the bare secp256k1 + keccak work that bounds a
//! record's verification.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use secp256k1::ecdsa::Signature;
use secp256k1::{Message, SECP256K1};
use status_core::{keccak256, SecretKey};
use status_discovery::dnsdisc::{Entry, EntryHash, Root, Tree};
use status_discovery::enr::Enr;

/// The EIP-778 example record.
const EIP778: &str = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8";

fn enr(c: &mut Criterion) {
    let mut group = c.benchmark_group("discovery/enr");
    group.throughput(Throughput::Elements(1));
    let record: Enr = EIP778.parse().expect("EIP-778 example");
    let bytes = record.as_bytes().to_vec();
    group.bench_function("decode_verify", |b| {
        b.iter(|| Enr::decode(&bytes).expect("valid"))
    });
    group.bench_function("decode_verify_text", |b| {
        b.iter(|| Enr::from_text(EIP778).expect("valid"))
    });
    // The same record through sigp's `enr` crate (secp256k1 backend), which
    // also verifies the signature and derives the node id while decoding.
    type SigpEnr = enr::Enr<enr::secp256k1::SecretKey>;
    let theirs: SigpEnr = EIP778.parse().expect("EIP-778 example");
    assert_eq!(theirs.node_id().raw(), record.node_id().0);
    group.bench_function("sigp_enr_decode_verify_text", |b| {
        b.iter(|| EIP778.parse::<SigpEnr>().expect("valid"))
    });
    let key = SecretKey::from_bytes(&[7; 32]).expect("key");
    group.bench_function("sign", |b| {
        b.iter(|| {
            Enr::builder()
                .ip4([10, 0, 0, 1].into())
                .tcp(30303)
                .udp(30303)
                .sign(&key)
                .expect("small record")
        })
    });
    group.finish();

    // The limit: what verifying any v4 record costs at least: parse the
    // compressed key, keccak the content, verify the signature.
    let mut group = c.benchmark_group("discovery/limit");
    group.throughput(Throughput::Elements(1));
    let pk = record.public_key().to_compressed();
    let sig = Signature::from_compact(record.signature()).expect("sig");
    let content = {
        // [seq, k, v, ...] re-wrapped, as the decoder hashes it.
        let mut s = rlp::RlpStream::new_list(1 + 2 * record.iter().count());
        s.append(&record.seq());
        for (k, v) in record.iter() {
            s.append(&k.to_vec());
            s.append_raw(v, 1);
        }
        s.out().to_vec()
    };
    group.bench_function("secp256k1_parse_verify_keccak", |b| {
        b.iter(|| {
            let key = secp256k1::PublicKey::from_slice(&pk).expect("key");
            let digest = keccak256(&content);
            SECP256K1
                .verify_ecdsa(&Message::from_digest(digest), &sig, &key)
                .expect("valid")
        })
    });
    group.finish();
}

fn dnsdisc(c: &mut Criterion) {
    let mut group = c.benchmark_group("discovery/dnsdisc");
    group.throughput(Throughput::Elements(1));
    let list_key = SecretKey::from_bytes(&[9; 32]).expect("key");
    let records: Vec<Enr> = (1..=13u8)
        .map(|i| {
            Enr::builder()
                .ip4([10, 0, 0, i].into())
                .udp(30303)
                .sign(&SecretKey::from_bytes(&[i; 32]).expect("key"))
                .expect("record")
        })
        .collect();
    let tree = Tree::new(1, &records, &[], &list_key);
    let zone = tree.txt_records("n.example");
    let root_text = zone[0].1.clone();
    // The ENR subtree's root: one branch of 13 hashes (the link subtree's
    // root is an empty branch).
    let branch = zone
        .iter()
        .filter(|(_, t)| t.starts_with("enrtree-branch:"))
        .max_by_key(|(_, t)| t.len())
        .map(|(_, t)| t.clone())
        .expect("a branch");
    assert_eq!(branch.matches(',').count(), 12);
    let leaf = zone
        .iter()
        .find(|(_, t)| t.starts_with("enr:"))
        .map(|(_, t)| t.clone())
        .expect("a leaf");
    let leaf_hash = EntryHash::of(&leaf);
    group.bench_function("branch_parse_13", |b| {
        b.iter(|| branch.parse::<Entry>().expect("branch"))
    });
    group.bench_function("enr_leaf_hash_check_parse_verify", |b| {
        b.iter(|| {
            assert!(leaf_hash.matches(&leaf));
            leaf.parse::<Entry>().expect("leaf")
        })
    });
    let pk = list_key.public_key();
    group.bench_function("root_parse_verify", |b| {
        b.iter(|| {
            let root: Root = root_text.parse().expect("root");
            root.verify(&pk).expect("signed");
        })
    });
    group.finish();
}

criterion_group!(benches, enr, dnsdisc);
criterion_main!(benches);
