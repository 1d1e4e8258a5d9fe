//! Waku hot paths (codec and crypto half): PoW sealing and checking on a
//! 1 KiB envelope, and message wrap + open of 100 B, symmetric and
//! asymmetric, unsigned and signed; beside the bare keccak they are bound by.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use keccak_asm::{Digest, Keccak256};
use rand_chacha::rand_core::SeedableRng;
use status_core::{SecretKey, Timestamp};
use status_waku::{open, wrap, Encryption, Envelope, MessageParams, OpenKey, PowSearch, Topic};

/// A 1 KiB-data envelope, like status-go's PoW bench.
fn envelope_1k() -> Envelope {
    Envelope::new(
        1_600_000_000,
        50,
        Topic([0xf8, 0x94, 0x6a, 0xac]),
        vec![0x5a; 1024],
    )
}

/// PoW: nonces tried per second while sealing, and `pow()` calls per second.
fn pow(c: &mut Criterion) {
    let mut group = c.benchmark_group("waku/pow");
    let env = envelope_1k();
    const ATTEMPTS: u64 = 10_000;
    group.throughput(Throughput::Elements(ATTEMPTS));
    group.bench_function("seal_attempts_1k", |b| {
        // An unreachable target: every call tries exactly ATTEMPTS nonces.
        let mut search = PowSearch::new(&env, 1e300).expect("target");
        b.iter(|| assert!(search.run(ATTEMPTS).is_none()))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("envelope_pow_1k", |b| b.iter(|| env.pow()));
    group.bench_function("envelope_hash_1k", |b| b.iter(|| env.hash()));
    group.finish();

    // The limit: one keccak-f permutation (a one-block keccak256); and
    // status-go's algorithm (re-hash the whole prefix for every nonce) with
    // the same hasher, for the ratio within one run.
    let mut group = c.benchmark_group("waku/limit");
    group.throughput(Throughput::Elements(1));
    let block = [7u8; 100];
    group.bench_function("keccak256_one_block", |b| {
        b.iter(|| <Keccak256 as Digest>::digest(block))
    });
    let prefix_len = env.rlp_without_nonce_len();
    let mut buf = vec![0x5au8; prefix_len + 8];
    let mut nonce = 0u64;
    group.bench_function("rehash_per_attempt_1k", |b| {
        b.iter(|| {
            nonce += 1;
            buf[prefix_len..].copy_from_slice(&nonce.to_be_bytes());
            <Keccak256 as Digest>::digest(&buf)
        })
    });
    group.finish();
}

/// Wrap + open of a 100-byte payload.
fn messages(c: &mut Criterion) {
    let mut group = c.benchmark_group("waku/wrap_open_100B");
    group.throughput(Throughput::Elements(1));
    let payload = [0x42u8; 100];
    let sym = [0x11u8; 32];
    let alice = SecretKey::from_bytes(&[0xaa; 32]).expect("key");
    let bob = SecretKey::from_bytes(&[0xbb; 32]).expect("key");
    let bob_pub = bob.public_key();
    let now = Timestamp::from_secs(1_600_000_000);
    let topic = Topic([1, 2, 3, 4]);
    for (name, asym, signed) in [
        ("symmetric_unsigned", false, false),
        ("symmetric_signed", false, true),
        ("asymmetric_unsigned", true, false),
        ("asymmetric_signed", true, true),
    ] {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
        let (enc, key) = if asym {
            (Encryption::Asymmetric(&bob_pub), OpenKey::Asymmetric(&bob))
        } else {
            (Encryption::Symmetric(&sym), OpenKey::Symmetric(&sym))
        };
        let mut params = MessageParams::new(&payload, enc, topic);
        params.signer = signed.then_some(&alice);
        group.bench_with_input(BenchmarkId::from_parameter(name), &params, |b, params| {
            b.iter(|| {
                let env = wrap(&mut rng, params, now).expect("wrap");
                let m = open(&env.data, &[key]).expect("open");
                assert_eq!(m.payload().len(), 100);
            })
        });
    }
    group.finish();

    // The limit of a signed message: one recoverable signature and one
    // recovery (what wrap + open of a signed message cannot avoid).
    let mut group = c.benchmark_group("waku/limit");
    group.throughput(Throughput::Elements(1));
    let digest = [9u8; 32];
    group.bench_function("sign_recoverable_plus_recover", |b| {
        b.iter(|| {
            let sig = alice.sign_recoverable(&digest);
            sig.recover(&digest).expect("recover")
        })
    });
    group.finish();
}

criterion_group!(benches, pow, messages);
criterion_main!(benches);
