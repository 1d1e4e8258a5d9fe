//! RLPx hot paths: frame write + read, and the handshake, beside the bare
//! primitives a frame cannot avoid (AES-256-CTR and keccak over its bytes).

use aes::cipher::{KeyIvInit, StreamCipher};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use keccak_asm::{Digest, Keccak256};
use rand_chacha::rand_core::SeedableRng;
use status_benches::{codec_pair, text_payload};
use status_core::SecretKey;
use status_rlpx::handshake::{AuthFormat, Initiator, Recipient};

const SIZES: [usize; 3] = [64, 1024, 16 * 1024];

/// Our codec: one frame encoded by one side and decoded by the other.
fn frames(c: &mut Criterion) {
    for snappy in [false, true] {
        let mut group = c.benchmark_group(if snappy {
            "rlpx/frame_snappy"
        } else {
            "rlpx/frame"
        });
        for size in SIZES {
            let payload = text_payload(size);
            let (mut tx, mut rx) = codec_pair(1 << 24);
            tx.set_snappy(snappy, 1 << 24);
            rx.set_snappy(snappy, 1 << 24);
            let mut wire = Vec::with_capacity(2 * size + 128);
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::from_parameter(size), &payload, |b, payload| {
                b.iter(|| {
                    wire.clear();
                    tx.encode(0x10, payload, &mut wire).expect("encode");
                    let frame = rx.decode(&mut wire).expect("decode").expect("whole frame");
                    assert_eq!(frame.payload.len(), payload.len());
                })
            });
        }
        group.finish();
    }
}

/// The limit: what any RLPx codec must do per frame, and nothing else.
/// Sender: AES-256-CTR over the padded frame, keccak over the ciphertext;
/// receiver: keccak over the ciphertext, AES-256-CTR back. Uses the fastest
/// keccak we know of here (keccak-asm), the one the codec uses.
fn primitives(c: &mut Criterion) {
    type Ctr = ctr::Ctr128BE<aes::Aes256>;
    let mut group = c.benchmark_group("rlpx/limit");
    for size in SIZES {
        let padded = (size + 1).div_ceil(16) * 16;
        let mut buf = text_payload(padded);
        let mut enc = Ctr::new(&[1u8; 32].into(), &[0u8; 16].into());
        let mut dec = Ctr::new(&[1u8; 32].into(), &[0u8; 16].into());
        let mut egress = Keccak256::new();
        let mut ingress = Keccak256::new();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| {
                enc.apply_keystream(&mut buf);
                egress.update(&buf);
                ingress.update(&buf);
                dec.apply_keystream(&mut buf);
                std::hint::black_box(&buf);
            })
        });
    }
    group.finish();
}

/// A whole auth/ack exchange, both sides, in one thread.
fn handshakes(c: &mut Criterion) {
    let mut group = c.benchmark_group("rlpx/handshake");
    let a_key = SecretKey::from_bytes(&[1; 32]).expect("key");
    let b_key = SecretKey::from_bytes(&[2; 32]).expect("key");
    let b_pub = b_key.public_key();
    let recipient = Recipient::new(b_key);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    group.throughput(Throughput::Elements(1));
    for format in [AuthFormat::Eip8, AuthFormat::Legacy] {
        group.bench_function(format!("{format:?}"), |b| {
            b.iter(|| {
                let init = Initiator::new(&mut rng, a_key.clone(), b_pub, format);
                let (auth, _) = recipient
                    .read_auth(init.auth_packet())
                    .expect("auth")
                    .expect("complete");
                let (ack, _) = recipient.respond(&mut rng, &auth, init.auth_packet());
                let (done, _) = init.handle_ack(&ack).expect("ack").expect("complete");
                std::hint::black_box(done);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, frames, primitives, handshakes);
criterion_main!(benches);
