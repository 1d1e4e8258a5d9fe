//! `Messenger::handle_input` with arbitrary bytes and commands.
//!
//! Bob's messenger faces alice's (honest, so the fuzzer reaches past
//! signatures and the ratchet) and mallory's bytes. The input is a list of
//! operations: deliver, drop, duplicate or corrupt alice's envelopes;
//! feed raw bytes to any of bob's filters, signed or not; issue commands
//! on either side; let time pass. Nothing may panic, every refusal is
//! typed, and bob's in-flight state stays within its bounds.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{SecretKey, Timestamp};
use status_protocol::store::MemoryStore;
use status_protocol::{Bridge, Command, Config, Filter, Input, Messenger, Output, WakuMessage};
use status_waku::Envelope;

struct Side {
    m: Messenger<MemoryStore>,
    bridge: Bridge,
    rng: ChaCha20Rng,
    filters: Vec<Filter>,
}

fn config(b: u8) -> Config {
    let mut config = Config { installation_id: Some(format!("d{b}")), ..Config::default() };
    config.sync.max_in_flight = 256;
    config.pow_target = 0.0;
    config.max_chats = 32;
    config
}

/// Both stores after set-up, made once: PBKDF2 (65,356 rounds per
/// filter key) would otherwise dominate every run; reopening finds the
/// keys cached in the store.
fn base() -> &'static (MemoryStore, MemoryStore) {
    static BASE: OnceLock<(MemoryStore, MemoryStore)> = OnceLock::new();
    BASE.get_or_init(|| {
        let now = Timestamp::from_secs(1_700_000_000);
        let mut alice = Side::open(1, now, MemoryStore::new());
        let bob = Side::open(2, now, MemoryStore::new());
        let bob_key = *bob.m.identity();
        alice.m.start_one_to_one(now, &status_protocol::contact_id(&bob_key)).unwrap();
        alice.m.join_public(now, "status").unwrap();
        (alice.m.into_store(), bob.m.into_store())
    })
}

impl Side {
    fn open(b: u8, now: Timestamp, store: MemoryStore) -> Side {
        let key = SecretKey::from_bytes(&[b; 32]).unwrap();
        let m = Messenger::open(config(b), key.clone(), store, now, [b; 32]).unwrap();
        Side { m, bridge: Bridge::new(key), rng: ChaCha20Rng::seed_from_u64(b.into()), filters: Vec::new() }
    }
    fn drain(&mut self, now: Timestamp) -> Vec<Envelope> {
        let mut out = Vec::new();
        while let Some(o) = self.m.poll_output() {
            self.bridge.track(&o);
            match o {
                Output::Post(p) => {
                    if let Ok(e) = self.bridge.seal(&mut self.rng, now, &p) {
                        out.push(e)
                    }
                }
                Output::Subscribe(f) => self.filters.push(f),
                _ => {}
            }
        }
        out
    }
}

fuzz_target!(|data: &[u8]| {
    let mut now = Timestamp::from_secs(1_700_000_000);
    let (a, b) = base();
    let mut alice = Side::open(1, now, a.clone());
    let mut bob = Side::open(2, now, b.clone());
    let keys = [SecretKey::from_bytes(&[1; 32]).unwrap(), SecretKey::from_bytes(&[3; 32]).unwrap()];
    let bob_key = *bob.m.identity();
    let alice_key = *alice.m.identity();
    let chat = status_protocol::ChatId::one_to_one(&bob_key);
    let mut wire: Vec<Envelope> = alice.drain(now);
    bob.drain(now);

    let mut i = 0;
    while i + 2 <= data.len() {
        let (op, arg) = (data[i], data[i + 1]);
        i += 2;
        let len = usize::from(arg) % 64;
        let bytes = &data[i..(i + len).min(data.len())];
        match op % 10 {
            0 | 1 => {
                // deliver the next honest envelope (op 1: twice)
                if !wire.is_empty() {
                    let e = wire.remove(usize::from(arg) % wire.len());
                    for _ in 0..=(op % 10) {
                        if let Some(input) = bob.bridge.open(&e) {
                            let _ = bob.m.handle_input(now, input);
                        }
                    }
                }
            }
            2 => {
                // corrupt an honest payload before bob sees it
                if let Some(e) = wire.first() {
                    if let Some(Input::Received(mut msg)) = bob.bridge.open(e) {
                        if !msg.payload.is_empty() {
                            let at = usize::from(arg) % msg.payload.len();
                            msg.payload[at] ^= bytes.first().copied().unwrap_or(1) | 1;
                        }
                        let _ = bob.m.handle_input(now, Input::Received(msg));
                    }
                }
            }
            3 => {
                i += len;
                if !bob.filters.is_empty() {
                    let f = &bob.filters[usize::from(arg) % bob.filters.len()];
                    let signer = match arg % 3 {
                        0 => None,
                        n => Some(keys[usize::from(n) - 1].public_key()),
                    };
                    let msg = WakuMessage { filter: f.id, payload: bytes.to_vec(), signer, hash: [0; 32], sent: now };
                    let _ = bob.m.handle_input(now, Input::Received(msg));
                }
            }
            4 => {
                let _ = alice.m.send_text(now, &chat, "hello");
            }
            5 => {
                let back = status_protocol::ChatId::one_to_one(&alice_key);
                let _ = bob.m.send_text(now, &back, "hi");
            }
            6 => {
                let cmd = match arg % 4 {
                    0 => Command::JoinPublic { name: "status".into() },
                    1 => Command::CreateGroup { name: "g".into(), members: vec![alice_key] },
                    2 => Command::SyncDevices,
                    _ => Command::PairDevices,
                };
                let _ = bob.m.handle_input(now, Input::Command(cmd));
            }
            7 => {
                now = now + std::time::Duration::from_millis(u64::from(arg) * 100);
                for s in [&mut alice, &mut bob] {
                    if s.m.poll_timeout().is_some_and(|(t, _)| t <= now) {
                        let _ = s.m.handle_timeout(now);
                    }
                }
            }
            8 => {
                // bob's answers reach alice
                for e in bob.drain(now) {
                    if let Some(input) = alice.bridge.open(&e) {
                        let _ = alice.m.handle_input(now, input);
                    }
                }
            }
            _ => {
                wire.clear();
            }
        }
        wire.extend(alice.drain(now));
        wire.truncate(64);
        bob.drain(now);
        assert!(bob.m.in_flight() <= 256);
        assert!(bob.m.chats().count() <= 32);
    }
});
