//! The Messenger end to end: a 1:1 message from alice's `send_text` to
//! bob's stored message and alice's delivery event (ChatMessage ->
//! ApplicationMetadataMessage signed -> MVDS -> Double Ratchet ->
//! Waku wrap, signed, PoW-sealed, encrypted -> envelope bytes, and back up:
//! open, recover, decrypt, MVDS, unwrap, recover, store; then bob's MVDS
//! ack the same way down and up), with the in-memory store and with SQLite;
//! and a public-chat message (wrap + post, open + store).
//!
//! `limit/*` measures, in the same run, the secp256k1 operations the wire
//! format requires for the same traffic (the floor):
//! - 1:1 (one message, one ack, each direction ratcheting): 3 signatures
//!   (alice's ApplicationMetadataMessage and Waku signature, bob's Waku
//!   signature on the ack), 3 recoveries (their counterparts), 2 DH
//!   ratchet steps (2 ECDH + 1 key generation + 1 key decompression each);
//! - public: 2 signatures, 2 recoveries.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{ecdh_x, keccak256, PublicKey, SecretKey, Timestamp};
use status_protocol::store::{MemoryStore, Store};
use status_protocol::{Bridge, ChatId, Config, Event, Messenger, Output, SqliteStore};
use status_waku::Envelope;

const T0: u64 = 1_700_000_000_000;

struct Side<S: Store> {
    m: Messenger<S>,
    bridge: Bridge,
    rng: ChaCha20Rng,
    delivered: u64,
    received: u64,
    /// Posts made while handling the other side's envelopes, sent with
    /// the next round's.
    pending: Vec<Vec<u8>>,
}

impl<S: Store> Side<S> {
    fn open(b: u8, store: S) -> Side<S> {
        let key = SecretKey::from_bytes(&[b; 32]).unwrap();
        let config = Config {
            installation_id: Some(format!("device-{b}")),
            ..Config::default()
        };
        let m = Messenger::open(
            config,
            key.clone(),
            store,
            Timestamp::from_millis(T0),
            [b; 32],
        )
        .unwrap();
        let mut side = Side {
            m,
            bridge: Bridge::new(key),
            rng: ChaCha20Rng::seed_from_u64(b.into()),
            delivered: 0,
            received: 0,
            pending: Vec::new(),
        };
        // the filters the messenger asks for at open, before any envelope
        side.pending = side.drain(Timestamp::from_millis(T0));
        side
    }

    /// Posts as envelope bytes, as they would cross the wire.
    fn drain(&mut self, now: Timestamp) -> Vec<Vec<u8>> {
        let mut out = std::mem::take(&mut self.pending);
        while let Some(o) = self.m.poll_output() {
            self.bridge.track(&o);
            match o {
                Output::Post(p) => {
                    out.push(self.bridge.seal(&mut self.rng, now, &p).unwrap().to_vec())
                }
                Output::Event(Event::MessageDelivered { .. }) => self.delivered += 1,
                Output::Event(Event::MessageReceived(_)) => self.received += 1,
                _ => {}
            }
        }
        out
    }

    fn deliver(&mut self, now: Timestamp, wire: &[Vec<u8>]) {
        for bytes in wire {
            let env = Envelope::decode(bytes, 1 << 20).unwrap();
            if let Some(input) = self.bridge.open(&env) {
                let _ = self.m.handle_input(now, input);
            }
        }
    }

    fn tick(&mut self, now: Timestamp) {
        if self.m.poll_timeout().is_some_and(|(t, _)| t <= now) {
            self.m.handle_timeout(now).unwrap();
        }
    }
}

/// Alice and bob after first contact, with the negotiated topic agreed.
struct Pair<S: Store> {
    a: Side<S>,
    b: Side<S>,
    chat: ChatId,
    now: u64,
}

impl<S: Store> Pair<S> {
    fn new(a: S, b: S) -> Pair<S> {
        let (mut a, b) = (Side::open(1, a), Side::open(2, b));
        let bob = *b.m.identity();
        let chat =
            a.m.start_one_to_one(
                Timestamp::from_millis(T0),
                &status_protocol::contact_id(&bob),
            )
            .unwrap();
        let mut p = Pair {
            a,
            b,
            chat,
            now: T0,
        };
        let alice = *p.a.m.identity();
        let back = ChatId::one_to_one(&alice);
        for i in 0..4 {
            let now = Timestamp::from_millis(p.now);
            p.a.m
                .send_text(now, &p.chat, &format!("warm-up {i}"))
                .unwrap();
            p.round();
            if p.b.m.chat(&back).is_some() {
                p.b.m.send_text(now, &back, "warm-up reply").unwrap();
            }
            for _ in 0..10 {
                p.round();
            }
        }
        assert!(
            p.b.received >= 4 && p.a.delivered >= 4,
            "warm-up did not converge"
        );
        p
    }

    /// One MVDS epoch for both: timers, then each side's posts to the other.
    fn round(&mut self) {
        self.now += 300;
        let now = Timestamp::from_millis(self.now);
        self.a.tick(now);
        let wire = self.a.drain(now);
        self.b.deliver(now, &wire);
        self.b.tick(now);
        let wire = self.b.drain(now);
        self.a.deliver(now, &wire);
        self.a.pending = self.a.drain(now);
    }

    /// `n` messages from alice in one epoch, until bob stored them and
    /// alice saw them delivered.
    fn messages(&mut self, n: usize) {
        let (r0, d0) = (self.b.received, self.a.delivered);
        let now = Timestamp::from_millis(self.now);
        for _ in 0..n {
            self.a
                .m
                .send_text(
                    now,
                    &self.chat,
                    "a message of a hundred bytes or so, which is what people type in a chat.....",
                )
                .unwrap();
        }
        // alice's epoch sends; bob acks at his next epoch
        for _ in 0..2 {
            self.round();
        }
        assert_eq!(
            (self.b.received - r0, self.a.delivered - d0),
            (n as u64, n as u64)
        );
    }
}

fn one_to_one(c: &mut Criterion) {
    let mut group = c.benchmark_group("protocol/one_to_one");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    let mut mem = Pair::new(MemoryStore::new(), MemoryStore::new());
    group.bench_function("memory", |bench| bench.iter(|| mem.messages(1)));
    let dir = std::env::temp_dir().join(format!("status-bench-protocol-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let open = |name: &str| {
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        SqliteStore::open(path).unwrap()
    };
    let mut sql = Pair::new(open("a.sqlite"), open("b.sqlite"));
    group.bench_function("sqlite", |bench| bench.iter(|| sql.messages(1)));
    group.finish();

    // MVDS batches what one epoch (300 ms) holds into one payload: one
    // ratchet message and one envelope each way for all of them
    let mut group = c.benchmark_group("protocol/one_to_one_batch10");
    group.throughput(Throughput::Elements(10));
    group.sample_size(20);
    group.bench_function("memory", |bench| bench.iter(|| mem.messages(10)));
    group.bench_function("sqlite", |bench| bench.iter(|| sql.messages(10)));
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn public(c: &mut Criterion) {
    let mut group = c.benchmark_group("protocol/public");
    group.throughput(Throughput::Elements(1));
    let (mut a, mut b) = (
        Side::open(1, MemoryStore::new()),
        Side::open(2, MemoryStore::new()),
    );
    let now = Timestamp::from_millis(T0);
    let chat = a.m.join_public(now, "status").unwrap();
    b.m.join_public(now, "status").unwrap();
    a.drain(now);
    b.drain(now);
    let mut t = T0;
    group.bench_function("memory", |bench| {
        bench.iter(|| {
            t += 1;
            let now = Timestamp::from_millis(t);
            a.m.send_text(
                now,
                &chat,
                "a message of a hundred bytes or so, which is what people type in a chat.....",
            )
            .unwrap();
            let wire = a.drain(now);
            let before = b.received;
            b.deliver(now, &wire);
            b.drain(now);
            assert_eq!(b.received, before + 1);
        })
    });
    group.finish();
}

/// The secp256k1 floor of the same traffic, measured in this run.
fn limit(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::random(&mut rng)).collect();
    let pubs: Vec<PublicKey> = keys.iter().map(SecretKey::public_key).collect();
    let compressed: Vec<[u8; 33]> = pubs.iter().map(PublicKey::to_compressed).collect();
    let digest = keccak256(b"message");
    let sig = keys[0].sign_recoverable(&digest);
    let sign = |i: usize| std::hint::black_box(keys[i % 4].sign_recoverable(&digest));
    let recover = || std::hint::black_box(sig.recover(&digest).unwrap());
    let dh_step = |rng: &mut ChaCha20Rng, i: usize| {
        let theirs = PublicKey::from_slice(&compressed[i % 4]).unwrap();
        let a = ecdh_x(&keys[0], &theirs);
        let fresh = SecretKey::random(rng);
        let b = ecdh_x(&fresh, &theirs);
        std::hint::black_box((a, b, fresh.public_key()));
    };
    let mut group = c.benchmark_group("protocol/limit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_to_one", |bench| {
        let mut i = 0;
        bench.iter(|| {
            for _ in 0..3 {
                sign(i);
                recover();
                i += 1;
            }
            dh_step(&mut rng, i);
            dh_step(&mut rng, i + 1);
        })
    });
    group.bench_function("public", |bench| {
        let mut i = 0;
        bench.iter(|| {
            for _ in 0..2 {
                sign(i);
                recover();
                i += 1;
            }
        })
    });
    group.finish();
}

criterion_group!(benches, limit, one_to_one, public);
criterion_main!(benches);
