//! status-keys hot paths: mnemonic -> seed (PBKDF2 dominates), BIP32
//! derivations per second, a whole account, public key (de)serialization
//! and the 3-word name, beside the primitives that bound them (bare
//! PBKDF2-HMAC-SHA512 x 2048, HMAC-SHA512, one secp256k1 point multiply).

use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use sha2::Sha512;
use status_core::SecretKey;
use status_keys::{
    alias, decode_public_key, encode_public_key, Account, ChildNumber, ExtendedPrivateKey, KeyForm,
    Mnemonic, Multibase,
};

const WORDS: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn seed(c: &mut Criterion) {
    let mut group = c.benchmark_group("keys/seed");
    let m = Mnemonic::parse(WORDS).expect("valid");
    group.bench_function("mnemonic_to_seed", |b| b.iter(|| m.to_seed("TREZOR")));
    group.bench_function("parse_mnemonic", |b| {
        b.iter(|| Mnemonic::parse(WORDS).expect("valid"))
    });
    // The same through rust-bitcoin's `bip39` crate.
    let theirs = bip39::Mnemonic::parse(WORDS).expect("valid");
    assert_eq!(&theirs.to_seed("TREZOR"), m.to_seed("TREZOR").as_bytes());
    group.bench_function("bip39_crate_mnemonic_to_seed", |b| {
        b.iter(|| theirs.to_seed("TREZOR"))
    });
    group.bench_function("bip39_crate_parse_mnemonic", |b| {
        b.iter(|| bip39::Mnemonic::parse(WORDS).expect("valid"))
    });
    // The limit: PBKDF2-HMAC-SHA512, 2048 rounds, 64 bytes, nothing else.
    group.bench_function("limit_pbkdf2_sha512_2048", |b| {
        let mut out = [0u8; 64];
        b.iter(|| {
            pbkdf2::pbkdf2_hmac::<Sha512>(WORDS.as_bytes(), b"mnemonicTREZOR", 2048, &mut out);
            out
        })
    });
    group.finish();
}

fn derive(c: &mut Criterion) {
    let mut group = c.benchmark_group("keys/derive");
    let master = ExtendedPrivateKey::new_master(&[0x42; 64]).expect("valid seed");
    let xpub = master.to_extended_public_key();
    let hardened = ChildNumber::hardened(44).expect("index");
    let normal = ChildNumber::normal(7).expect("index");
    group.bench_function("private_hardened", |b| {
        b.iter(|| master.derive_child(hardened).expect("derive"))
    });
    group.bench_function("private_normal", |b| {
        b.iter(|| master.derive_child(normal).expect("derive"))
    });
    group.bench_function("public_normal", |b| {
        b.iter(|| xpub.derive_child(normal).expect("derive"))
    });
    let seed = Mnemonic::parse(WORDS).expect("valid").to_seed("");
    group.bench_function("account_from_seed", |b| {
        b.iter(|| Account::from_seed(&seed).expect("account"))
    });
    let account = Account::from_seed(&seed).expect("account");
    group.bench_function("wallet_address", |b| {
        b.iter(|| account.wallet_address(3).expect("address"))
    });
    // The limits: one HMAC-SHA512 over 37 bytes, one point multiply.
    group.bench_function("limit_hmac_sha512", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha512>::new_from_slice(&[1u8; 32]).expect("any key length");
            mac.update(&[0u8; 37]);
            mac.finalize().into_bytes()
        })
    });
    let sk = SecretKey::from_bytes(&[0x11; 32]).expect("valid");
    group.bench_function("limit_secp256k1_public_key", |b| b.iter(|| sk.public_key()));
    group.finish();
}

fn serialize(c: &mut Criterion) {
    let mut group = c.benchmark_group("keys/serialization");
    let pk = SecretKey::from_bytes(&[0x11; 32])
        .expect("valid")
        .public_key();
    let z = encode_public_key(&pk, KeyForm::Compressed, Multibase::Base58Btc);
    group.bench_function("encode_zq3", |b| {
        b.iter(|| encode_public_key(&pk, KeyForm::Compressed, Multibase::Base58Btc))
    });
    group.bench_function("decode_zq3", |b| {
        b.iter(|| decode_public_key(&z).expect("valid"))
    });
    group.bench_function("alias", |b| b.iter(|| alias::generate(&pk)));
    group.finish();
}

criterion_group!(benches, seed, derive, serialize);
criterion_main!(benches);
