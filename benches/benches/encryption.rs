//! Secure transport hot paths: the bare Double Ratchet (steady chain and a
//! DH ratchet step every message), the full `Encryptor` with its in-memory
//! store and protobuf wire form, and X3DH session setups.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{SecretKey, Timestamp};
use status_encryption::x3dh::{x3dh_active, x3dh_passive};
use status_encryption::{generate_secret, Config, DoubleRatchet, Encryptor, MemoryStore};
use status_proto::encryption::ProtocolMessage;
use status_proto::Message;

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn ratchet_pair(rng: &mut ChaCha20Rng) -> [DoubleRatchet; 2] {
    let spk = generate_secret(rng);
    let secret = [9u8; 32];
    [
        DoubleRatchet::new_initiator(&secret, &spk.public_key().to_compressed(), rng).unwrap(),
        DoubleRatchet::new_responder(&secret, &spk),
    ]
}

/// One message encrypted and decrypted per iteration.
fn bare_ratchet(c: &mut Criterion) {
    let config = Config::default();
    let mut group = c.benchmark_group("encryption/ratchet_steady");
    for size in [100usize, 10 * 1024] {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let [mut a, mut b] = ratchet_pair(&mut rng);
        let payload = vec![0x5a; size];
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(size), |bench| {
            bench.iter(|| {
                let (h, ct) = a.encrypt(&payload);
                let pt = b.decrypt(&h, &ct, &config, &mut rng).unwrap();
                assert_eq!(pt.len(), size);
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("encryption/ratchet_alternating");
    for size in [100usize, 10 * 1024] {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut parties = ratchet_pair(&mut rng);
        let payload = vec![0x5a; size];
        let mut turn = 0usize;
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(size), |bench| {
            bench.iter(|| {
                let (h, ct) = parties[turn].encrypt(&payload);
                let pt = parties[1 - turn]
                    .decrypt(&h, &ct, &config, &mut rng)
                    .unwrap();
                assert_eq!(pt.len(), size);
                turn = 1 - turn;
            })
        });
    }
    group.finish();
}

fn encryptor_pair(
    rng: &mut ChaCha20Rng,
) -> ([Encryptor<MemoryStore>; 2], [status_core::PublicKey; 2]) {
    let keys: [SecretKey; 2] = [generate_secret(rng), generate_secret(rng)];
    let pubs = [keys[0].public_key(), keys[1].public_key()];
    let mut e = [
        Encryptor::new(
            Config::default(),
            keys[0].clone(),
            "a".into(),
            MemoryStore::new(),
        ),
        Encryptor::new(
            Config::default(),
            keys[1].clone(),
            "b".into(),
            MemoryStore::new(),
        ),
    ];
    let code = e[1].encrypt_public(T0, rng, b"c").unwrap();
    e[0].decrypt(T0, rng, &pubs[1], &code).unwrap();
    // set the sessions up both ways
    let m = e[0].encrypt(T0, rng, &pubs[1], b"hi").unwrap();
    e[1].decrypt(T0, rng, &pubs[0], &m).unwrap();
    let m = e[1].encrypt(T0, rng, &pubs[0], b"hi").unwrap();
    e[0].decrypt(T0, rng, &pubs[1], &m).unwrap();
    (e, pubs)
}

/// The full protocol layer: encrypt, protobuf encode, decode, decrypt.
fn full_encryptor(c: &mut Criterion) {
    let mut group = c.benchmark_group("encryption/encryptor");
    for (name, alternate) in [("steady", false), ("alternating", true)] {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let (mut e, pubs) = encryptor_pair(&mut rng);
        let payload = vec![0x5a; 100];
        let mut turn = 0usize;
        let mut wire = Vec::with_capacity(1024);
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new(name, 100), |bench| {
            bench.iter(|| {
                let m = e[turn]
                    .encrypt(T0, &mut rng, &pubs[1 - turn], &payload)
                    .unwrap();
                wire.clear();
                m.encode(&mut wire).unwrap();
                let m = ProtocolMessage::decode(wire.as_slice()).unwrap();
                let got = e[1 - turn].decrypt(T0, &mut rng, &pubs[turn], &m).unwrap();
                assert_eq!(got.payload.len(), 100);
                if alternate {
                    turn = 1 - turn;
                }
            })
        });
    }
    group.finish();
}

/// X3DH both sides plus both ratchet initialisations.
fn x3dh_setup(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let (ika, ikb, spkb) = (
        generate_secret(&mut rng),
        generate_secret(&mut rng),
        generate_secret(&mut rng),
    );
    let (ikb_pub, spkb_pub, ika_pub) = (ikb.public_key(), spkb.public_key(), ika.public_key());
    let spk_c = spkb_pub.to_compressed();
    let mut group = c.benchmark_group("encryption/x3dh_setup");
    group.throughput(Throughput::Elements(1));
    group.bench_function("both_sides", |bench| {
        bench.iter(|| {
            let eph = generate_secret(&mut rng);
            let sa = x3dh_active(&ika, &eph, &ikb_pub, &spkb_pub);
            let _a = DoubleRatchet::new_initiator(&sa, &spk_c, &mut rng).unwrap();
            let sb = x3dh_passive(&ikb, &spkb, &ika_pub, &eph.public_key());
            let _b = DoubleRatchet::new_responder(&sb, &spkb);
            assert_eq!(&sa[..], &sb[..]);
        })
    });
    group.finish();
}

/// The limits, measured in the same run: one raw secp256k1 ECDH (a DH
/// ratchet step needs two plus a key generation), and the symmetric work
/// of one 100-byte message (AES-256-CTR + HMAC-SHA256, both sides).
fn primitives(c: &mut Criterion) {
    use aes::cipher::{KeyIvInit, StreamCipher};
    type Ctr = ctr::Ctr128BE<aes::Aes256>;
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (a, b) = (generate_secret(&mut rng), generate_secret(&mut rng));
    let b_pub = b.public_key();
    let mut group = c.benchmark_group("encryption/limit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ecdh", |bench| {
        bench.iter(|| status_core::ecdh_x(&a, &b_pub))
    });
    group.bench_function("keygen", |bench| {
        bench.iter(|| generate_secret(&mut rng).public_key())
    });
    // the asymmetric floor of one message with a DH ratchet step: decompress
    // the new ratchet key, ECDH for the receiving chain, a fresh key pair,
    // ECDH for the sending chain
    let b_c = b_pub.to_compressed();
    group.bench_function("dh_step", |bench| {
        bench.iter(|| {
            let their = status_core::PublicKey::from_slice(&b_c).unwrap();
            let recv = status_core::ecdh_x(&a, &their);
            let ours = generate_secret(&mut rng);
            let public = ours.public_key().to_compressed();
            let send = status_core::ecdh_x(&ours, &their);
            (recv, public, send)
        })
    });
    let mut buf = vec![0x5a; 100];
    group.bench_function("ctr_hmac_100", |bench| {
        bench.iter(|| {
            use hmac::Mac;
            for _ in 0..2 {
                let mut c = Ctr::new(&[1u8; 32].into(), &[0u8; 16].into());
                c.apply_keystream(&mut buf);
                let mut m = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&[2u8; 32]).unwrap();
                m.update(&buf);
                let _ = m.finalize();
            }
        })
    });
    group.finish();
}

/// vodozemac's Olm session (a well-kept Rust double ratchet over
/// Curve25519, AES-256-CBC + HMAC-SHA256), same shapes as ours.
fn olm(c: &mut Criterion) {
    use vodozemac::olm::{Account, OlmMessage, SessionConfig};
    fn olm_pair() -> (vodozemac::olm::Session, vodozemac::olm::Session) {
        let alice = Account::new();
        let mut bob = Account::new();
        bob.generate_one_time_keys(1);
        let otk = *bob.one_time_keys().values().next().unwrap();
        bob.mark_keys_as_published();
        let mut a = alice
            .create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), otk)
            .unwrap();
        let first = a.encrypt(b"hi").unwrap();
        let OlmMessage::PreKey(pre) = first else {
            panic!("first message is a pre-key message")
        };
        let b = bob
            .create_inbound_session(SessionConfig::version_1(), alice.curve25519_key(), &pre)
            .unwrap()
            .session;
        (a, b)
    }
    let mut group = c.benchmark_group("encryption/olm_steady");
    for size in [100usize, 10 * 1024] {
        let (mut a, mut b) = olm_pair();
        let payload = vec![0x5a; size];
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(size), |bench| {
            bench.iter(|| {
                let m = a.encrypt(&payload).unwrap();
                assert_eq!(b.decrypt(&m).unwrap().len(), size);
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("encryption/olm_alternating");
    for size in [100usize, 10 * 1024] {
        let (a, b) = olm_pair();
        let mut parties = [a, b];
        let payload = vec![0x5a; size];
        let mut turn = 0usize;
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(size), |bench| {
            bench.iter(|| {
                let m = parties[turn].encrypt(&payload).unwrap();
                assert_eq!(parties[1 - turn].decrypt(&m).unwrap().len(), size);
                turn = 1 - turn;
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("encryption/olm_setup");
    let alice = Account::new();
    let mut bob = Account::new();
    group.throughput(Throughput::Elements(1));
    group.bench_function("both_sides", |bench| {
        bench.iter(|| {
            bob.generate_one_time_keys(1);
            let otk = *bob.one_time_keys().values().next().unwrap();
            bob.mark_keys_as_published();
            let mut a = alice
                .create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), otk)
                .unwrap();
            let OlmMessage::PreKey(pre) = a.encrypt(b"x").unwrap() else {
                panic!("pre-key message")
            };
            bob.create_inbound_session(SessionConfig::version_1(), alice.curve25519_key(), &pre)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bare_ratchet,
    full_encryptor,
    x3dh_setup,
    primitives,
    olm
);
criterion_main!(benches);
