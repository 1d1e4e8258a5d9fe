//! Behaviour of the Encryptor and the bare Double Ratchet: multi-device
//! conversations through reordering and loss, restore mid-way, replay and
//! tampering, and the skipped-key bound.

use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{PublicKey, SecretKey, Timestamp};
use status_encryption::{
    generate_secret, Config, DoubleRatchet, Encryptor, Error, Event, MemoryStore, PayloadKind,
    SessionStore,
};
use status_proto::encryption::ProtocolMessage;
use status_proto::Message;

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

struct Device {
    who: usize,
    enc: Encryptor<MemoryStore>,
}

fn device(key: &SecretKey, who: usize, id: &str) -> Device {
    Device {
        who,
        enc: Encryptor::new(
            Config::default(),
            key.clone(),
            id.into(),
            MemoryStore::new(),
        ),
    }
}

fn drain(d: &mut Device) -> Vec<Event> {
    std::iter::from_fn(|| d.enc.poll_event()).collect()
}

/// Every device publishes its bundle; devices of the same identity pair.
fn exchange_bundles(devs: &mut [Device], keys: &[PublicKey], rng: &mut ChaCha20Rng) {
    for round in 0..2 {
        let codes: Vec<(usize, ProtocolMessage)> = devs
            .iter_mut()
            .map(|d| (d.who, d.enc.encrypt_public(T0, rng, b"contact").unwrap()))
            .collect();
        for (i, (who, code)) in codes.iter().enumerate() {
            for (j, d) in devs.iter_mut().enumerate() {
                if i == j {
                    continue;
                }
                let got = d.enc.decrypt(T0, rng, &keys[*who], code).unwrap();
                assert_eq!(got.kind, PayloadKind::Public);
                for ev in drain(d) {
                    if let Event::NewInstallations {
                        identity,
                        installations,
                    } = ev
                    {
                        if identity == keys[d.who] {
                            // our own new device: pair it
                            for inst in installations {
                                assert!(!inst.enabled, "own devices start unpaired");
                                d.enc.enable_installation(&identity, &inst.id).unwrap();
                            }
                        } else {
                            assert!(round == 0 && installations.iter().all(|i| i.enabled));
                        }
                    }
                }
            }
        }
    }
}

struct InFlight {
    to_identity: usize,
    from: usize,
    msg: ProtocolMessage,
    plaintext: Vec<u8>,
}

/// Two identities with two installations each hold a conversation; every
/// message goes to the peer and to the sender's own other device, the
/// network reorders and drops, devices restore from snapshots mid-way.
fn converse(seed: u64, rounds: usize, loss_percent: u32) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let keys = [generate_secret(&mut rng), generate_secret(&mut rng)];
    let pubs = [keys[0].public_key(), keys[1].public_key()];
    let mut devs = vec![
        device(&keys[0], 0, "alice-1"),
        device(&keys[0], 0, "alice-2"),
        device(&keys[1], 1, "bob-1"),
        device(&keys[1], 1, "bob-2"),
    ];
    exchange_bundles(&mut devs, &pubs, &mut rng);
    for d in &devs {
        let peer = 1 - d.who;
        assert_eq!(d.enc.installations(&pubs[peer]).unwrap().len(), 2);
    }

    let mut flight: Vec<InFlight> = Vec::new();
    let mut delivered = 0usize;
    let mut now = T0;
    for round in 0..rounds {
        now = now.saturating_add(std::time::Duration::from_millis(10));
        let sender = (rng.next_u32_mod(4)) as usize;
        let who = devs[sender].who;
        let text = format!("round {round} from device {sender}").into_bytes();
        for target in [1 - who, who] {
            let msg = devs[sender]
                .enc
                .encrypt(now, &mut rng, &pubs[target], &text)
                .unwrap();
            // on the wire and back
            let msg = ProtocolMessage::decode(msg.encode_to_vec().as_slice()).unwrap();
            flight.push(InFlight {
                to_identity: target,
                from: sender,
                msg,
                plaintext: text.clone(),
            });
        }
        // deliver a random subset, in random order
        while !flight.is_empty() && rng.next_u32_mod(3) != 0 {
            let i = rng.next_u32_mod(flight.len() as u32) as usize;
            let m = flight.swap_remove(i);
            if rng.next_u32_mod(100) < loss_percent {
                continue; // lost
            }
            for (j, d) in devs.iter_mut().enumerate() {
                if j == m.from || d.who != m.to_identity {
                    continue;
                }
                let from = pubs[devs_who(m.from)];
                let got = d.enc.decrypt(now, &mut rng, &from, &m.msg);
                let got = got.unwrap_or_else(|e| panic!("device {j} round {round}: {e}"));
                assert_eq!(got.payload, m.plaintext);
                assert_eq!(got.kind, PayloadKind::Ratchet);
                delivered += 1;
                // a duplicate never decrypts twice
                assert!(d.enc.decrypt(now, &mut rng, &from, &m.msg).is_err());
            }
        }
        // a device restarts from its snapshot now and then
        if round % 17 == 16 {
            let j = rng.next_u32_mod(4) as usize;
            let snap = devs[j].enc.store().snapshot();
            let store = MemoryStore::restore(&snap).unwrap();
            let id = devs[j].enc.installation_id().to_owned();
            devs[j].enc = Encryptor::new(Config::default(), keys[devs[j].who].clone(), id, store);
        }
    }
    assert!(delivered > rounds / 2, "delivered {delivered}");
}

fn devs_who(device: usize) -> usize {
    device / 2
}

trait Below {
    fn next_u32_mod(&mut self, m: u32) -> u32;
}

impl Below for ChaCha20Rng {
    fn next_u32_mod(&mut self, m: u32) -> u32 {
        use rand_chacha::rand_core::RngCore;
        self.next_u32() % m.max(1)
    }
}

#[test]
fn two_encryptors_with_two_installations_each_converse_through_reordering_and_loss() {
    converse(1, 120, 15);
    converse(2, 120, 0);
}

#[test]
fn unknown_peer_gets_dh_only_and_decrypts() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (a, b) = (generate_secret(&mut rng), generate_secret(&mut rng));
    let mut alice = device(&a, 0, "a");
    let mut bob = device(&b, 1, "b");
    let msg = alice
        .enc
        .encrypt(T0, &mut rng, &b.public_key(), b"hi")
        .unwrap();
    assert_eq!(msg.direct_message.keys().collect::<Vec<_>>(), ["none"]);
    let got = bob
        .enc
        .decrypt(T0, &mut rng, &a.public_key(), &msg)
        .unwrap();
    assert_eq!(
        (got.payload.as_slice(), got.kind),
        (&b"hi"[..], PayloadKind::DhOnly)
    );
    // bob learned alice's bundle from it: his answer uses the ratchet
    let back = bob
        .enc
        .encrypt(T0, &mut rng, &a.public_key(), b"yo")
        .unwrap();
    assert!(back.direct_message["a"].x3dh_header.is_some());
    let got = alice
        .enc
        .decrypt(T0, &mut rng, &b.public_key(), &back)
        .unwrap();
    assert_eq!(got.kind, PayloadKind::Ratchet);
}

fn pair_keys(rng: &mut ChaCha20Rng) -> (Device, Device, SecretKey, SecretKey) {
    let (a, b) = (generate_secret(rng), generate_secret(rng));
    let mut alice = device(&a, 0, "a");
    let mut bob = device(&b, 1, "b");
    let code = bob.enc.encrypt_public(T0, rng, b"c").unwrap();
    alice.enc.decrypt(T0, rng, &b.public_key(), &code).unwrap();
    (alice, bob, a, b)
}

fn pair(rng: &mut ChaCha20Rng) -> (Device, Device, PublicKey, PublicKey) {
    let (alice, bob, a, b) = pair_keys(rng);
    (alice, bob, a.public_key(), b.public_key())
}

#[test]
fn tampered_ciphertext_header_or_mac_fails_and_leaves_state_unchanged() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let (mut alice, mut bob, ap, bp) = pair(&mut rng);
    // bob knows alice's bundle already: what follows only touches sessions
    let code = alice.enc.encrypt_public(T0, &mut rng, b"c").unwrap();
    bob.enc.decrypt(T0, &mut rng, &ap, &code).unwrap();
    let msg = alice
        .enc
        .encrypt(T0, &mut rng, &bp, b"secret text")
        .unwrap();
    let before = bob.enc.store().snapshot();
    let payload_len = msg.direct_message["b"].payload.len();
    let mut tampered = Vec::new();
    for i in [0, 17, payload_len - 1] {
        // IV, ciphertext and MAC bytes
        let mut m = msg.clone();
        m.direct_message.get_mut("b").unwrap().payload[i] ^= 1;
        tampered.push(m);
    }
    let mut m = msg.clone();
    m.direct_message
        .get_mut("b")
        .unwrap()
        .dr_header
        .as_mut()
        .unwrap()
        .n = 1;
    tampered.push(m);
    let mut m = msg.clone();
    m.direct_message
        .get_mut("b")
        .unwrap()
        .dr_header
        .as_mut()
        .unwrap()
        .pn = 3;
    tampered.push(m);
    let mut m = msg.clone();
    m.direct_message.get_mut("b").unwrap().payload.truncate(20);
    tampered.push(m);
    for m in &tampered {
        assert!(bob.enc.decrypt(T0, &mut rng, &ap, m).is_err());
        assert_eq!(
            bob.enc.store().snapshot(),
            before,
            "failed decrypt changed state"
        );
    }
    // the untouched message still decrypts
    let got = bob.enc.decrypt(T0, &mut rng, &ap, &msg).unwrap();
    assert_eq!(got.payload, b"secret text");
    // and a failure asked for our bundle to be advertised (recovery)
    assert!(
        std::iter::from_fn(|| bob.enc.poll_event()).any(|e| e == Event::AdvertiseBundle { to: ap })
    );
}

#[test]
fn replay_fails_and_used_keys_are_deleted() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (mut alice, mut bob, ap, bp) = pair(&mut rng);
    let msgs: Vec<_> = (0..4)
        .map(|i| alice.enc.encrypt(T0, &mut rng, &bp, &[i]).unwrap())
        .collect();
    // out of order: 3 first stores keys for 0..3
    bob.enc.decrypt(T0, &mut rng, &ap, &msgs[3]).unwrap();
    let skipped = |bob: &Device| -> usize {
        bob.enc
            .store()
            .sessions_with(&ap.to_compressed(), "a")
            .unwrap()
            .iter()
            .map(|s| s.skipped_keys())
            .sum()
    };
    assert_eq!(skipped(&bob), 3);
    for (i, m) in msgs.iter().enumerate().take(3) {
        assert_eq!(
            bob.enc.decrypt(T0, &mut rng, &ap, m).unwrap().payload,
            [i as u8]
        );
        assert_eq!(skipped(&bob), 2 - i, "message key deleted after use");
    }
    for m in &msgs {
        assert_eq!(
            bob.enc.decrypt(T0, &mut rng, &ap, m).unwrap_err(),
            Error::DuplicateOrOld
        );
    }
}

#[test]
fn a_gap_beyond_max_skip_is_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let (a, b) = (generate_secret(&mut rng), generate_secret(&mut rng));
    let config = Config {
        max_skip: 5,
        ..Config::default()
    };
    let mut alice = Encryptor::new(config.clone(), a.clone(), "a".into(), MemoryStore::new());
    let mut bob = Encryptor::new(config, b.clone(), "b".into(), MemoryStore::new());
    let code = bob.encrypt_public(T0, &mut rng, b"c").unwrap();
    alice.decrypt(T0, &mut rng, &b.public_key(), &code).unwrap();
    let msgs: Vec<_> = (0..8)
        .map(|i| alice.encrypt(T0, &mut rng, &b.public_key(), &[i]).unwrap())
        .collect();
    assert_eq!(
        bob.decrypt(T0, &mut rng, &a.public_key(), &msgs[7])
            .unwrap_err(),
        Error::TooBigMessageGap { got: 7, max: 5 }
    );
    assert!(bob.decrypt(T0, &mut rng, &a.public_key(), &msgs[5]).is_ok());
}

#[test]
fn message_for_another_device_asks_for_our_bundle() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (mut alice, _bob, a, b) = pair_keys(&mut rng);
    let (ap, bp) = (a.public_key(), b.public_key());
    let msg = alice.enc.encrypt(T0, &mut rng, &bp, b"x").unwrap();
    // bob's second, unknown device receives it
    let mut bob2 = Encryptor::new(
        Config::default(),
        b.clone(),
        "b2".into(),
        MemoryStore::new(),
    );
    assert_eq!(
        bob2.decrypt(T0, &mut rng, &ap, &msg).unwrap_err(),
        Error::DeviceNotFound
    );
    assert!(
        std::iter::from_fn(|| bob2.poll_event()).any(|e| e == Event::AdvertiseBundle { to: ap })
    );
    // the advertisement lets alice add the new device
    let adv = bob2.bundle_advertisement(T0, &mut rng, &ap).unwrap();
    assert!(alice.enc.decrypt(T0, &mut rng, &bp, &adv).is_ok());
    let next = alice.enc.encrypt(T0, &mut rng, &bp, b"y").unwrap();
    assert!(next.direct_message.contains_key("b2"));
    assert_eq!(
        bob2.decrypt(T0, &mut rng, &ap, &next).unwrap().payload,
        b"y"
    );
}

// ---- bare ratchet properties ----

#[derive(Debug, Clone)]
enum Op {
    Send(bool),
    Deliver(usize),
    Duplicate(usize),
    Drop(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<bool>().prop_map(Op::Send),
        3 => any::<usize>().prop_map(Op::Deliver),
        1 => any::<usize>().prop_map(Op::Duplicate),
        1 => any::<usize>().prop_map(Op::Drop),
    ]
}

/// (to, header, ciphertext, plaintext, delivered)
type Wire = (usize, status_encryption::Header, Vec<u8>, Vec<u8>, bool);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random interleavings with reordering, duplication and loss: every
    /// delivered message decrypts exactly once to its plaintext.
    #[test]
    fn ratchet_pair_survives_reordering_duplication_and_loss(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let config = Config::default();
        let secret = [7u8; 32];
        let bob_spk = generate_secret(&mut rng);
        let mut parties = [
            DoubleRatchet::new_initiator(&secret, &bob_spk.public_key().to_compressed(), &mut rng).unwrap(),
            DoubleRatchet::new_responder(&secret, &bob_spk),
        ];
        // (to, header, ciphertext, plaintext, delivered)
        let mut wire: Vec<Wire> = Vec::new();
        let mut sent = 0u32;
        for op in ops {
            match op {
                Op::Send(from_alice) => {
                    let from = usize::from(!from_alice);
                    let text = sent.to_be_bytes().to_vec();
                    sent += 1;
                    let (h, ct) = parties[from].encrypt(&text);
                    wire.push((1 - from, h, ct, text, false));
                }
                Op::Deliver(i) | Op::Duplicate(i) if !wire.is_empty() => {
                    let i = i % wire.len();
                    let (to, h, ct, text, done) = wire[i].clone();
                    let got = parties[to].decrypt(&h, &ct, &config, &mut rng);
                    if done {
                        prop_assert!(got.is_err(), "duplicate decrypted");
                    } else {
                        prop_assert_eq!(got.unwrap(), text);
                        wire[i].4 = true;
                    }
                }
                Op::Drop(i) if !wire.is_empty() => {
                    let i = i % wire.len();
                    wire.remove(i);
                }
                _ => {}
            }
        }
        for (to, h, ct, text, done) in wire {
            let got = parties[to].decrypt(&h, &ct, &config, &mut rng);
            if done { prop_assert!(got.is_err()); } else { prop_assert_eq!(got.unwrap(), text); }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// Whole conversations with restarts from snapshots, a few seeds.
    #[test]
    fn encryptors_converse_and_restore(seed in any::<u64>()) {
        converse(seed, 40, 10);
    }
}

#[test]
fn concurrent_sessions_resolve_to_the_same_one_on_both_sides() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let (mut alice, mut bob, ap, bp) = pair(&mut rng);
    let code = alice.enc.encrypt_public(T0, &mut rng, b"c").unwrap();
    bob.enc.decrypt(T0, &mut rng, &ap, &code).unwrap();
    // both start a session before hearing from the other
    let from_a = alice.enc.encrypt(T0, &mut rng, &bp, b"a1").unwrap();
    let from_b = bob.enc.encrypt(T0, &mut rng, &ap, b"b1").unwrap();
    assert!(from_a.direct_message["b"].x3dh_header.is_some());
    assert!(from_b.direct_message["a"].x3dh_header.is_some());
    assert_eq!(
        bob.enc.decrypt(T0, &mut rng, &ap, &from_a).unwrap().payload,
        b"a1"
    );
    assert_eq!(
        alice
            .enc
            .decrypt(T0, &mut rng, &bp, &from_b)
            .unwrap()
            .payload,
        b"b1"
    );
    // both now hold two sessions and pick the same one to send on
    let a2 = alice.enc.encrypt(T0, &mut rng, &bp, b"a2").unwrap();
    let b2 = bob.enc.encrypt(T0, &mut rng, &ap, b"b2").unwrap();
    let id_a = &a2.direct_message["b"].dr_header.as_ref().unwrap().id;
    let id_b = &b2.direct_message["a"].dr_header.as_ref().unwrap().id;
    assert_eq!(
        id_a, id_b,
        "5/SECURE-TRANSPORT: first symmetric key in byte order"
    );
    assert_eq!(
        bob.enc.decrypt(T0, &mut rng, &ap, &a2).unwrap().payload,
        b"a2"
    );
    assert_eq!(
        alice.enc.decrypt(T0, &mut rng, &bp, &b2).unwrap().payload,
        b"b2"
    );
}

#[test]
fn signed_prekey_rotation_rekeys_and_old_messages_still_decrypt() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let (mut alice, mut bob, ap, bp) = pair(&mut rng);
    let m1 = alice.enc.encrypt(T0, &mut rng, &bp, b"one").unwrap();
    let old_spk = m1.direct_message["b"]
        .dr_header
        .as_ref()
        .unwrap()
        .id
        .clone();
    let in_flight = alice.enc.encrypt(T0, &mut rng, &bp, b"two").unwrap();
    bob.enc.decrypt(T0, &mut rng, &ap, &m1).unwrap();
    // a day later bob's prekey is rotated; alice learns the new bundle
    let later = T0.saturating_add(std::time::Duration::from_secs(25 * 3600));
    let code = bob.enc.encrypt_public(later, &mut rng, b"c").unwrap();
    let new_spk = &code.bundles[0].signed_pre_keys["b"];
    assert_ne!(new_spk.signed_pre_key, old_spk);
    assert_eq!(new_spk.version, 2);
    alice.enc.decrypt(later, &mut rng, &bp, &code).unwrap();
    let m3 = alice.enc.encrypt(later, &mut rng, &bp, b"three").unwrap();
    let x3dh = m3.direct_message["b"]
        .x3dh_header
        .as_ref()
        .expect("new X3DH");
    assert_eq!(x3dh.id, new_spk.signed_pre_key);
    assert_eq!(
        bob.enc.decrypt(later, &mut rng, &ap, &m3).unwrap().payload,
        b"three"
    );
    // the message sent on the old session still decrypts
    assert_eq!(
        bob.enc
            .decrypt(later, &mut rng, &ap, &in_flight)
            .unwrap()
            .payload,
        b"two"
    );
}

#[test]
fn contact_code_is_published_every_interval() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut a = device(&generate_secret(&mut rng), 0, "a");
    let (due, why) = a.enc.poll_timeout().unwrap();
    assert!(due <= T0 && why.contains("contact code"));
    a.enc.handle_timeout(T0);
    assert_eq!(a.enc.poll_event(), Some(Event::PublishContactCode));
    let (due, _) = a.enc.poll_timeout().unwrap();
    assert_eq!(
        due,
        T0.saturating_add(Config::default().contact_code_interval)
    );
    a.enc
        .handle_timeout(T0.saturating_add(std::time::Duration::from_secs(60)));
    assert_eq!(a.enc.poll_event(), None, "not due yet");
    a.enc.handle_timeout(due);
    assert_eq!(a.enc.poll_event(), Some(Event::PublishContactCode));
}

#[test]
fn sessions_per_identity_are_bounded() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let (a, b) = (generate_secret(&mut rng), generate_secret(&mut rng));
    let config = Config {
        max_sessions_per_identity: 2,
        ..Config::default()
    };
    let mut bob = Encryptor::new(config, b.clone(), "b".into(), MemoryStore::new());
    let code = bob.encrypt_public(T0, &mut rng, b"c").unwrap();
    let mut results = Vec::new();
    // one identity posing as ever new installations
    for i in 0..3 {
        let mut alice = device(&a, 0, &format!("a{i}"));
        alice
            .enc
            .decrypt(T0, &mut rng, &b.public_key(), &code)
            .unwrap();
        let m = alice
            .enc
            .encrypt(T0, &mut rng, &b.public_key(), b"x")
            .unwrap();
        results.push(bob.decrypt(T0, &mut rng, &a.public_key(), &m));
    }
    assert!(results[0].is_ok() && results[1].is_ok());
    assert_eq!(
        results[2].clone().unwrap_err(),
        Error::TooManySessions { max: 2 }
    );
    assert_eq!(bob.store().session_count(), 2);
}

/// `encrypt` sets up new sessions in installation id order, whatever the
/// recency order that picked the installations, so a recorded tape can be
/// replayed knowing only the `direct_message` map (tests/vectors replays
/// status-go's and our recordings that way).
#[test]
fn new_sessions_draw_their_keys_in_installation_id_order() {
    use rand_chacha::rand_core::RngCore;
    use status_vectors::Tape;

    let mut rng = ChaCha20Rng::seed_from_u64(19);
    let (a, b) = (generate_secret(&mut rng), generate_secret(&mut rng));
    let b_pub = b.public_key();
    let mut alice = device(&a, 0, "a");
    // "z" publishes after "m": most recent first is z, m; id order is m, z
    let later = T0.saturating_add(std::time::Duration::from_secs(60));
    for (id, at) in [("m", T0), ("z", later)] {
        let mut bob = device(&b, 1, id);
        let code = bob.enc.encrypt_public(at, &mut rng, b"").unwrap();
        let _ = alice.enc.decrypt(at, &mut rng, &b_pub, &code);
    }
    let known = alice.enc.installations(&b_pub).unwrap();
    let ts = |id: &str| known.iter().find(|i| i.id == id).unwrap().timestamp;
    assert!(ts("z") > ts("m"));

    // two sessions of two keys each, then alice's own signed prekey
    let mut bytes = vec![0u8; 5 * 40];
    rng.fill_bytes(&mut bytes);
    let mut tape = Tape::new();
    tape.push(&bytes);
    let msg = alice.enc.encrypt(later, &mut tape, &b_pub, b"hi").unwrap();
    assert!(tape.is_empty());
    let drawn = |n: usize| {
        let mut one = Tape::new();
        one.push(&bytes[n * 40..(n + 1) * 40]);
        generate_secret(&mut one)
            .public_key()
            .to_compressed()
            .to_vec()
    };
    for (id, first) in [("m", 0), ("z", 2)] {
        let dm = &msg.direct_message[id];
        assert_eq!(dm.x3dh_header.as_ref().unwrap().key, drawn(first), "{id}");
        assert_eq!(dm.dr_header.as_ref().unwrap().key, drawn(first + 1), "{id}");
    }
    let spk = &msg.bundles[0].signed_pre_keys["a"].signed_pre_key;
    assert_eq!(*spk, drawn(4));
}
