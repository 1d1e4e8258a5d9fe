//! A multi-device session of our own Encryptors, recorded in the JSON shape
//! of status-go's encryption.json (`bundle`, `direct_message` and
//! `session_tape` cases, with the randomness our code drew), so the replay
//! that runs status-go's one-installation-per-side recording runs a
//! recording with two paired installations per side through the same code.
//!
//! The parties are taken from the vector set in use: the identities,
//! names and installation ids of its first direct message (a second
//! installation per side gets the id with `-paired` appended) and its
//! plaintexts; time starts at that message's bundle timestamp.

use std::collections::HashMap;
use std::ops::Range;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore};
use serde_json::{json, Map, Value};
use status_core::{PublicKey, SecretKey, Timestamp};
use status_encryption::{Config, Encryptor, Error, KeyBytes, MemoryStore};
use status_proto::encryption::{Bundle, ProtocolMessage};
use status_proto::Message;

use crate::case::{derive, hex, key_json, key_object, kind, label, ms_of_ns, text, KEY_DRAW};

const DERIVATION: &str = "ecdsa.GenerateKey: 40 tape bytes, k=(int(b) mod (n-1))+1";

/// Every byte our parties drew, in order, and the keys among them.
struct Recorder {
    rng: ChaCha20Rng,
    tape: Vec<u8>,
    keys: HashMap<KeyBytes, (SecretKey, usize)>,
    now: Timestamp,
}

/// The RNG handed to one call: ChaCha20, every byte appended to the tape.
struct Logging<'a> {
    rng: &'a mut ChaCha20Rng,
    tape: &'a mut Vec<u8>,
    draws: Vec<(usize, usize)>,
}

impl RngCore for Logging<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.rng.fill_bytes(dst);
        self.draws.push((self.tape.len(), dst.len()));
        self.tape.extend_from_slice(dst);
    }
}

impl CryptoRng for Logging<'_> {}

impl Recorder {
    /// Runs `f` with a logging RNG; returns its result and the part of the
    /// tape it drew.
    fn draw<T>(&mut self, f: impl FnOnce(&mut Logging) -> T) -> (T, Range<usize>) {
        let start = self.tape.len();
        let mut rng = Logging {
            rng: &mut self.rng,
            tape: &mut self.tape,
            draws: Vec::new(),
        };
        let out = f(&mut rng);
        for (offset, len) in std::mem::take(&mut rng.draws) {
            if len == KEY_DRAW {
                let sk = derive(&self.tape[offset..offset + len]);
                self.keys
                    .insert(sk.public_key().to_compressed(), (sk, offset));
            }
        }
        (out, start..self.tape.len())
    }

    fn key(&self, public: &[u8], what: &str) -> (SecretKey, usize) {
        KeyBytes::try_from(public)
            .ok()
            .and_then(|k| self.keys.get(&k).cloned())
            .unwrap_or_else(|| panic!("our recording: {what} was not drawn by our parties"))
    }

    fn tick(&mut self) {
        self.now = self.now.saturating_add(std::time::Duration::from_secs(1));
    }
}

struct Device {
    side: usize,
    enc: Encryptor<MemoryStore>,
}

struct Side {
    name: String,
    key: SecretKey,
}

/// The parties of the set's first direct message, each with two
/// installations, paired, exchanging messages in both directions and to
/// their own other device; recorded as encryption.json cases.
pub fn record(set: &[Value]) -> Vec<Value> {
    let (i, first) = set
        .iter()
        .enumerate()
        .find(|(_, c)| kind(c) == "direct_message")
        .expect("the set has a direct message");
    let l = label(i, first);
    let sides = [
        Side {
            name: text(first, "sender", &l).to_owned(),
            key: key_object(first, "sender_identity", &l),
        },
        Side {
            name: text(first, "recipient", &l).to_owned(),
            key: key_object(first, "recipient_identity", &l),
        },
    ];
    assert!(
        sides[0].key.public_key() != sides[1].key.public_key(),
        "{l}: sender and recipient are one identity"
    );
    let pm = crate::case::protocol_message(first, "protocol_message_protobuf", &l);
    let first_installation = [
        pm.installation_id.clone(),
        pm.direct_message
            .keys()
            .find(|k| *k != status_encryption::NO_INSTALLATION_ID)
            .cloned()
            .unwrap_or_else(|| format!("{}-device", sides[1].name)),
    ];
    let plaintexts: Vec<Vec<u8>> = set
        .iter()
        .enumerate()
        .filter(|(_, c)| kind(c) == "direct_message")
        .map(|(i, c)| hex(c, "plaintext", &label(i, c)))
        .collect();
    let start = pm
        .bundles
        .first()
        .map_or(Timestamp::from_secs(1_700_000_000), |b| {
            ms_of_ns(b.timestamp, &l)
        });

    let mut devices: Vec<Device> = Vec::new();
    for side in 0..2 {
        for id in [
            first_installation[side].clone(),
            format!("{}-paired", first_installation[side]),
        ] {
            devices.push(Device {
                side,
                enc: Encryptor::new(
                    Config::default(),
                    sides[side].key.clone(),
                    id,
                    MemoryStore::new(),
                ),
            });
        }
    }
    let mut rec = Recorder {
        rng: ChaCha20Rng::seed_from_u64(19),
        tape: Vec::new(),
        keys: HashMap::new(),
        now: start,
    };
    let mut cases = Vec::new();
    let mut said = 0;

    // each installation makes its bundle (status-go GetBundle)
    for d in &mut devices {
        let now = rec.now;
        let (bundle, range) = rec.draw(|rng| d.enc.bundle(now, rng).expect("bundle"));
        cases.push(bundle_case(&rec, &sides[d.side], d, &bundle, range));
        rec.tick();
    }
    // pairing: the two installations of each side learn each other's
    // bundle and enable each other
    for (a, b) in [(0, 1), (1, 0), (2, 3), (3, 2)] {
        learn(&mut rec, &mut devices, &sides, a, b);
        let id = devices[b].enc.installation_id().to_owned();
        let me = sides[devices[a].side].key.public_key();
        devices[a]
            .enc
            .enable_installation(&me, &id)
            .expect("pairing");
    }
    // the first installation of side 0 learns side 1's contact code
    learn(&mut rec, &mut devices, &sides, 0, 2);

    // (sender device, recipient side)
    let script = [
        (0, 1), // to both installations of side 1: two X3DH
        (2, 0), // a reply to the first, X3DH to the paired one
        (1, 1), // the paired device: one session, one X3DH
        (0, 0), // to our own paired device
        (3, 0), // two sessions set up by the other side
        (0, 1), // DH ratchet steps on both sessions
        (2, 1), // to our own paired device
        (1, 0), // to our own paired device, on its session
        (3, 1), // to our own paired device
        (1, 1), // again, after replies
        (2, 0), // again
    ];
    for (n, (from, to)) in script.into_iter().enumerate() {
        let plaintext = plaintexts[said % plaintexts.len()].clone();
        said += 1;
        cases.push(send(
            &mut rec,
            &mut devices,
            &sides,
            (from, to),
            n + 1,
            &plaintext,
        ));
        rec.tick();
    }
    cases.push(json!({
        "kind": "session_tape",
        "description": "our Encryptors, multi-device: every byte the installations drew, in order; *_tape offsets index into it",
        "rng_tape": hex::encode(&rec.tape),
    }));
    cases
}

/// Device `a` processes device `b`'s current bundle (a contact code).
fn learn(rec: &mut Recorder, devices: &mut [Device], sides: &[Side; 2], a: usize, b: usize) {
    let now = rec.now;
    let (code, _) = rec.draw(|rng| devices[b].enc.encrypt_public(now, rng, &[]).expect("code"));
    let from = sides[devices[b].side].key.public_key();
    let (got, _) = rec.draw(|rng| devices[a].enc.decrypt(now, rng, &from, &code));
    assert!(matches!(got, Err(Error::NoPayload)), "{got:?}");
    while devices[a].enc.poll_event().is_some() {}
}

fn bundle_case(
    rec: &Recorder,
    side: &Side,
    d: &Device,
    bundle: &Bundle,
    range: Range<usize>,
) -> Value {
    let id = d.enc.installation_id();
    let spk = &bundle.signed_pre_keys[id];
    let (private, _) = rec.key(&spk.signed_pre_key, "a signed prekey");
    json!({
        "kind": "bundle",
        "description": format!("our Encryptors, multi-device: bundle of {}/{id}", side.name),
        "identity": key_json(&side.key),
        "installation_id": id,
        "signed_pre_key": hex::encode(&spk.signed_pre_key),
        "signed_pre_key_private": hex::encode(&private.to_bytes()[..]),
        "signed_pre_key_derivation": DERIVATION,
        "signed_pre_key_version": spk.version,
        "protocol_version": spk.protocol_version,
        "timestamp": bundle.timestamp,
        "signature": hex::encode(&bundle.signature),
        "bundle_protobuf": hex::encode(bundle.encode_to_vec()),
        "rng_tape": hex::encode(&rec.tape[range]),
        "verify_error": "",
    })
}

/// Device `from` encrypts `plaintext` to side `to`; every installation it
/// is for decrypts it. Returns the `direct_message` case.
fn send(
    rec: &mut Recorder,
    devices: &mut [Device],
    sides: &[Side; 2],
    (from, to): (usize, usize),
    n: usize,
    plaintext: &[u8],
) -> Value {
    let now = rec.now;
    let to_pub: PublicKey = sides[to].key.public_key();
    let from_side = devices[from].side;
    let from_pub = sides[from_side].key.public_key();
    let (msg, range): (ProtocolMessage, _) = rec.draw(|rng| {
        devices[from]
            .enc
            .encrypt(now, rng, &to_pub, plaintext)
            .expect("encrypt")
    });
    let agreed = devices[from].enc.secret_agreed(&to_pub).expect("agreed");
    let secret = if agreed {
        hex::encode(&devices[from].enc.shared_secret(&to_pub)[..])
    } else {
        String::new()
    };
    for x in msg.direct_message.keys() {
        let d = devices
            .iter()
            .position(|d| d.side == to && d.enc.installation_id() == x)
            .unwrap_or_else(|| panic!("our recording: no installation {x}"));
        let (got, _) = rec.draw(|rng| devices[d].enc.decrypt(now, rng, &from_pub, &msg));
        let got = got.unwrap_or_else(|e| panic!("our recording: {x} cannot decrypt: {e}"));
        assert_eq!(got.payload, plaintext);
        while devices[d].enc.poll_event().is_some() {}
    }

    let mut entries = Map::new();
    for (x, dmp) in &msg.direct_message {
        let mut e = Map::new();
        if let Some(dr) = &dmp.dr_header {
            let (sk, offset) = rec.key(&dr.key, "a ratchet key");
            e.insert(
                "dr_header".into(),
                json!({"id": hex::encode(&dr.id), "key": hex::encode(&dr.key), "n": dr.n, "pn": dr.pn}),
            );
            e.insert(
                "dr_ratchet_private".into(),
                hex::encode(&sk.to_bytes()[..]).into(),
            );
            e.insert(
                "dr_ratchet_private_tape".into(),
                json!({"method": DERIVATION, "offset": offset}),
            );
        }
        if let Some(h) = &dmp.x3dh_header {
            let (sk, offset) = rec.key(&h.key, "an X3DH ephemeral key");
            e.insert(
                "x3dh_header".into(),
                json!({"id_signed_prekey": hex::encode(&h.id), "key_ephemeral_compressed": hex::encode(&h.key)}),
            );
            e.insert(
                "x3dh_ephemeral_private".into(),
                hex::encode(&sk.to_bytes()[..]).into(),
            );
            e.insert(
                "x3dh_ephemeral_private_tape".into(),
                json!({"method": DERIVATION, "offset": offset}),
            );
        }
        e.insert(
            "payload_ciphertext".into(),
            hex::encode(&dmp.payload).into(),
        );
        entries.insert(x.clone(), Value::Object(e));
    }
    let inst = devices[from].enc.installation_id().to_owned();
    json!({
        "kind": "direct_message",
        "description": format!(
            "our Encryptors, multi-device #{n}: {}/{inst} -> {} ({} installations)",
            sides[from_side].name, sides[to].name, msg.direct_message.len()
        ),
        "sender": sides[from_side].name,
        "recipient": sides[to].name,
        "sender_identity": key_json(&sides[from_side].key),
        "recipient_identity": key_json(&sides[to].key),
        "installation_id": inst,
        "plaintext": hex::encode(plaintext),
        "decrypted": hex::encode(plaintext),
        "decrypt_error": "",
        "direct_messages": Value::Object(entries),
        "bundles_protobuf": msg.bundles.iter().map(|b| hex::encode(b.encode_to_vec())).collect::<Vec<_>>(),
        "protocol_message_protobuf": hex::encode(msg.encode_to_vec()),
        "rng_tape": hex::encode(&rec.tape[range]),
        "shared_secret_for_negotiated_topic": secret,
    })
}
