//! Replays a recorded session through our `Encryptor`s: status-go's
//! (`direct_message`, `dh_message`, `public_message` cases of
//! encryption.json), or one recorded from our own Encryptors in the same
//! JSON shape (see `recording.rs`), by one code path.
//!
//! Everything about the parties comes from the file:
//! - identities: the `sender_identity` / `recipient_identity` key objects;
//! - installations: a message's `installation_id` (its sender) and the
//!   keys of its `direct_message` map (its recipients), so a side may have
//!   any number of installations with any ids;
//! - pairing: the installations of its own identity a sender's bundle lists
//!   are the ones it has enabled (status-go's `CreateBundle` lists our
//!   active installations), and they are enabled before it builds;
//! - versions: the `SignedPreKey` records (`version`, `protocol_version`)
//!   of the recorded bundles;
//! - prekeys: the X3DH header ids name the recipient prekey a session used;
//!   the sender learns it from a recorded bundle that announces it, the
//!   recipient gets its private key from a recorded `*_private` field or,
//!   failing that, from the recorded tape window that derives it;
//! - randomness: each build gets its own recorded `rng_tape`, split into
//!   its draws by the keys they derive and put in the order our `encrypt`
//!   draws (installation id order, see `Encryptor::encrypt`); a receiver's
//!   DH ratchet step gets the recorded draw of the ratchet key that
//!   receiver sends with next on that session.
//!
//! Direct messages are replayed in file order (status-go records no
//! sequence number; the generated tree keeps session cases in order), each
//! to every installation of the recipient it is encrypted for. DH-only and
//! public messages are replayed afterwards, each on its own copy of the
//! parties. A case whose message equals one already replayed is a
//! duplicate: it is checked against that replay.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;
use status_core::{PublicKey, SecretKey, Timestamp};
use status_encryption::bundle::{sign_bundle, verify_bundle};
use status_encryption::{
    Config, Encryptor, Error, KeyBytes, MemoryStore, OurPreKey, PayloadKind, SessionStore,
    NO_INSTALLATION_ID,
};
use status_proto::encryption::{Bundle, DirectMessageProtocol, ProtocolMessage, SignedPreKey};

use crate::case::{
    bundle, bundle_list, derive, hex, key_object, kind, label, ms_of_ns, private, protocol_message,
    text, u32_field, window_of, Checked, Draws, KEY_DRAW,
};

/// Kinds of the cases that are one message a party built.
pub const MESSAGE_KINDS: [&str; 3] = ["direct_message", "dh_message", "public_message"];

/// Handed to a DH ratchet step whose new key the recording never sends
/// with (the last step of a session): it changes no checked byte.
const UNUSED_DRAW: [u8; KEY_DRAW] = [0x42; KEY_DRAW];

/// A compressed identity key and an installation id.
pub type PartyId = (KeyBytes, String);

/// Every private key a file names, by compressed public key; tape windows
/// are searched for the ones it does not name (status-go records a signed
/// prekey's private key only in `bundle` cases).
#[derive(Clone)]
pub struct KeyBook {
    known: HashMap<KeyBytes, SecretKey>,
    tapes: Vec<Vec<u8>>,
    sessions: Vec<Vec<u8>>,
    scanned: bool,
}

impl KeyBook {
    pub fn new(cases: &[Value]) -> Self {
        let mut book = KeyBook {
            known: HashMap::new(),
            tapes: Vec::new(),
            sessions: Vec::new(),
            scanned: false,
        };
        for (i, c) in cases.iter().enumerate() {
            let l = label(i, c);
            book.collect(c, &l);
            if kind(c) == "session_tape" {
                let tape = hex(c, "rng_tape", &l);
                if !book.sessions.contains(&tape) {
                    book.sessions.push(tape);
                }
            }
        }
        book
    }

    fn collect(&mut self, v: &Value, l: &str) {
        match v {
            Value::Object(map) => {
                for (k, x) in map {
                    match x {
                        Value::String(s) if k == "private" || k.ends_with("_private") => {
                            let what = format!("{l}, `{k}`");
                            let bytes = hex::decode(s)
                                .unwrap_or_else(|e| panic!("{what} is not hex ({e})"));
                            let sk = SecretKey::from_bytes(&bytes)
                                .unwrap_or_else(|e| panic!("{what} is not a private key ({e})"));
                            self.known.insert(sk.public_key().to_compressed(), sk);
                        }
                        Value::String(s) if k == "rng_tape" => {
                            let tape = hex::decode(s)
                                .unwrap_or_else(|e| panic!("{l}, `rng_tape` is not hex ({e})"));
                            if !self.tapes.contains(&tape) {
                                self.tapes.push(tape);
                            }
                        }
                        _ => self.collect(x, l),
                    }
                }
            }
            Value::Array(list) => list.iter().for_each(|x| self.collect(x, l)),
            _ => {}
        }
    }

    /// The private key of the compressed public key `public`.
    pub fn private_of(&mut self, public: &[u8]) -> Option<SecretKey> {
        let key = KeyBytes::try_from(public).ok()?;
        if !self.known.contains_key(&key) && !self.scanned {
            self.scanned = true;
            for tape in &self.tapes {
                for w in tape.windows(KEY_DRAW) {
                    let sk = derive(w);
                    self.known
                        .entry(sk.public_key().to_compressed())
                        .or_insert(sk);
                }
            }
        }
        self.known.get(&key).cloned()
    }

    /// The recorded draw of `sk`: the window at `offset` of the session
    /// tape, which must derive it; 40 bytes that derive it when the file
    /// has no offset or no session tape.
    pub fn window(&self, sk: &SecretKey, offset: Option<u64>, what: &str) -> Vec<u8> {
        let Some(offset) = offset else {
            return window_of(sk);
        };
        if self.sessions.is_empty() {
            return window_of(sk);
        }
        let at = usize::try_from(offset).unwrap_or(usize::MAX);
        for tape in &self.sessions {
            if let Some(w) = tape.get(at..at.saturating_add(KEY_DRAW)) {
                if derive(w).public_key() == sk.public_key() {
                    return w.to_vec();
                }
            }
        }
        panic!("{what}: no session tape derives the recorded key at offset {at}")
    }
}

#[derive(Clone)]
struct KnownBundle {
    bundle: Bundle,
    from: Option<String>,
}

/// Every verified bundle a file carries (bundle cases, message bundles),
/// with the installation that sent it when the case says.
#[derive(Clone)]
pub struct BundleBook {
    list: Vec<KnownBundle>,
}

impl BundleBook {
    pub fn new(cases: &[Value]) -> Self {
        let mut book = BundleBook { list: Vec::new() };
        for (i, c) in cases.iter().enumerate() {
            let l = label(i, c);
            let from = c
                .get("installation_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if c.get("bundle_protobuf").is_some() {
                let b = bundle(&hex(c, "bundle_protobuf", &l), &l);
                book.add(b, from.clone());
            }
            if c.get("bundles_protobuf").is_some() {
                for b in bundle_list(c, "bundles_protobuf", &l) {
                    book.add(b, from.clone());
                }
            }
            if c.get("protocol_message_protobuf").is_some() {
                let pm = protocol_message(c, "protocol_message_protobuf", &l);
                for b in pm.bundles {
                    book.add(b, Some(pm.installation_id.clone()));
                }
            }
        }
        book
    }

    fn add(&mut self, bundle: Bundle, from: Option<String>) {
        // one that does not verify teaches nothing (the bundle tests fail on it)
        if verify_bundle(&bundle).is_err() {
            return;
        }
        match self.list.iter_mut().find(|k| k.bundle == bundle) {
            Some(k) if k.from.is_none() => k.from = from,
            Some(_) => {}
            None => self.list.push(KnownBundle { bundle, from }),
        }
    }

    /// Bundles of `identity` announcing `spk` for `installation`: sent by
    /// that installation first, then oldest first (the announcement a peer
    /// saw first).
    fn teaching(&self, identity: &[u8], installation: &str, spk: &[u8]) -> Vec<&KnownBundle> {
        let mut out: Vec<&KnownBundle> = self
            .list
            .iter()
            .filter(|k| {
                k.bundle.identity == identity
                    && k.bundle
                        .signed_pre_keys
                        .get(installation)
                        .is_some_and(|s| s.signed_pre_key == spk)
            })
            .collect();
        out.sort_by_key(|k| (k.from.as_deref() != Some(installation), k.bundle.timestamp));
        out
    }

    /// The `SignedPreKey` record announced for `spk` of `installation`.
    fn record(&self, identity: &[u8], installation: &str, spk: &[u8]) -> Option<SignedPreKey> {
        self.teaching(identity, installation, spk)
            .first()
            .map(|k| k.bundle.signed_pre_keys[installation].clone())
    }
}

/// One message case, decoded.
pub struct Msg<'a> {
    pub index: usize,
    pub label: String,
    pub case: &'a Value,
    pub kind: &'a str,
    pub pm: ProtocolMessage,
    sender: SecretKey,
    recipient: Option<SecretKey>,
}

impl<'a> Msg<'a> {
    pub fn new(index: usize, case: &'a Value) -> Self {
        let l = label(index, case);
        let kind = case["kind"].as_str().unwrap_or("");
        let pm = protocol_message(case, "protocol_message_protobuf", &l);
        let sender = key_object(case, "sender_identity", &l);
        let recipient = match kind {
            "public_message" => None,
            _ => Some(key_object(case, "recipient_identity", &l)),
        };
        Msg {
            index,
            label: l,
            case,
            kind,
            pm,
            sender,
            recipient,
        }
    }

    fn sender_id(&self) -> PartyId {
        (
            self.sender.public_key().to_compressed(),
            self.pm.installation_id.clone(),
        )
    }

    fn recipient_pub(&self) -> PublicKey {
        self.recipient
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no recipient_identity", self.label))
            .public_key()
    }
}

/// What a replay produced.
#[derive(Default)]
pub struct Outcome {
    /// Every message case replayed or matched to a replayed duplicate.
    pub checked: Checked,
    /// Our message for each case that was replayed (not for duplicates).
    pub ours: BTreeMap<usize, ProtocolMessage>,
}

/// Replays every message case of `cases`.
pub fn replay(cases: &[Value]) -> Outcome {
    let mut parties = Parties::new(cases);
    let mut out = Outcome::default();
    let timeline: Vec<Msg> = (0..cases.len())
        .filter(|&i| kind(&cases[i]) == "direct_message")
        .map(|i| Msg::new(i, &cases[i]))
        .collect();
    for (t, m) in timeline.iter().enumerate() {
        check_case_fields(m);
        if let Some(first) = timeline[..t].iter().find(|e| e.pm == m.pm) {
            check_duplicate(first, m);
        } else {
            let ours = parties.replay_message(m, &timeline[t + 1..]);
            out.ours.insert(m.index, ours);
        }
        out.checked.mark(m.index);
    }
    for i in
        (0..cases.len()).filter(|&i| ["dh_message", "public_message"].contains(&kind(&cases[i])))
    {
        let m = Msg::new(i, &cases[i]);
        check_case_fields(&m);
        let ours = parties.clone().replay_message(&m, &[]);
        out.ours.insert(i, ours);
        out.checked.mark(i);
    }
    out
}

/// A duplicate carries the same message: every other recorded value must
/// be the same too.
fn check_duplicate(first: &Msg, dup: &Msg) {
    for key in [
        "kind",
        "installation_id",
        "sender_identity",
        "recipient_identity",
        "plaintext",
        "decrypted",
        "decrypt_error",
        "shared_secret_for_negotiated_topic",
        "direct_messages",
        "rng_tape",
    ] {
        assert_eq!(
            first.case.get(key),
            dup.case.get(key),
            "{} repeats the message of {} but not its `{key}`",
            dup.label,
            first.label
        );
    }
}

/// The case's own fields describe its message: `installation_id`,
/// `bundles_protobuf`, and each `direct_messages` entry (headers, keys,
/// ciphertext) against the decoded `protocol_message_protobuf`.
fn check_case_fields(m: &Msg) {
    let l = &m.label;
    let c = m.case;
    if c.get("installation_id").is_some() {
        assert_eq!(
            text(c, "installation_id", l),
            m.pm.installation_id,
            "{l}: installation_id"
        );
    }
    if c.get("bundles_protobuf").is_some() {
        assert_eq!(
            bundle_list(c, "bundles_protobuf", l),
            m.pm.bundles,
            "{l}: bundles_protobuf are the message's bundles"
        );
    }
    let Some(entries) = c.get("direct_messages") else {
        assert!(
            m.pm.direct_message.is_empty(),
            "{l}: direct messages without a `direct_messages` field"
        );
        return;
    };
    let entries = entries
        .as_object()
        .unwrap_or_else(|| panic!("{l}: `direct_messages` is not an object"));
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        m.pm.direct_message.keys().collect::<Vec<_>>(),
        "{l}: installations of `direct_messages`"
    );
    for (x, e) in entries {
        let what = format!("{l}, direct_messages[{x}]");
        let dmp = &m.pm.direct_message[x];
        assert_eq!(
            hex(e, "payload_ciphertext", &what),
            dmp.payload,
            "{what}: payload"
        );
        match (e.get("dr_header"), &dmp.dr_header) {
            (Some(h), Some(dr)) => {
                assert_eq!(hex(h, "id", &what), dr.id, "{what}: DRHeader.id");
                assert_eq!(hex(h, "key", &what), dr.key, "{what}: DRHeader.key");
                assert_eq!(u32_field(h, "n", &what), dr.n, "{what}: DRHeader.n");
                assert_eq!(u32_field(h, "pn", &what), dr.pn, "{what}: DRHeader.pn");
                if e.get("dr_ratchet_private").is_some() {
                    let sk = private(e, "dr_ratchet_private", &what);
                    assert_eq!(
                        sk.public_key().to_compressed()[..],
                        dr.key[..],
                        "{what}: dr_ratchet_private is not DRHeader.key's"
                    );
                }
            }
            (None, None) => {}
            _ => panic!("{what}: dr_header in one of the JSON and the protobuf only"),
        }
        match (e.get("x3dh_header"), &dmp.x3dh_header) {
            (Some(h), Some(x3dh)) => {
                assert_eq!(
                    hex(h, "id_signed_prekey", &what),
                    x3dh.id,
                    "{what}: X3DHHeader.id"
                );
                assert_eq!(
                    hex(h, "key_ephemeral_compressed", &what),
                    x3dh.key,
                    "{what}: X3DHHeader.key"
                );
                if e.get("x3dh_ephemeral_private").is_some() {
                    let sk = private(e, "x3dh_ephemeral_private", &what);
                    assert_eq!(
                        sk.public_key().to_compressed()[..],
                        x3dh.key[..],
                        "{what}: x3dh_ephemeral_private is not X3DHHeader.key's"
                    );
                }
            }
            (None, None) => {}
            _ => panic!("{what}: x3dh_header in one of the JSON and the protobuf only"),
        }
        match (e.get("dh_header"), &dmp.dh_header) {
            (Some(h), Some(dh)) => {
                assert_eq!(hex(h, "key", &what), dh.key, "{what}: DHHeader.key");
                if e.get("dh_ephemeral_private").is_some() {
                    let sk = private(e, "dh_ephemeral_private", &what);
                    assert_eq!(
                        sk.public_key().to_compressed()[..],
                        dh.key[..],
                        "{what}: dh_ephemeral_private is not DHHeader.key's"
                    );
                }
            }
            (None, None) => {}
            _ => panic!("{what}: dh_header in one of the JSON and the protobuf only"),
        }
    }
}

/// A bundle of ours equals status-go's once re-signed with its timestamp.
///
/// status-go signs keccak256 of the signature material (installation ids
/// sorted, `id || signed_pre_key || decimal(version)` each, then
/// `decimal(timestamp)`), never the protobuf bytes, and re-signs with
/// `time.Now().UnixNano()` on every message; our `Timestamp` is
/// milliseconds and we re-sign only when the bundle changes. So the
/// decoded bundles are compared, and the signature bytes after re-signing
/// over status-go's timestamp (RFC 6979: deterministic).
pub fn assert_same_bundle(identity: &SecretKey, ours: &Bundle, theirs: &Bundle, what: &str) {
    assert_eq!(ours.identity, theirs.identity, "{what}: bundle identity");
    assert_eq!(
        ours.signed_pre_keys, theirs.signed_pre_keys,
        "{what}: bundle signed prekeys (installations, keys, versions)"
    );
    let mut resigned = ours.clone();
    resigned.timestamp = theirs.timestamp;
    sign_bundle(identity, &mut resigned);
    assert_eq!(
        resigned.signature, theirs.signature,
        "{what}: bundle signature over status-go's timestamp"
    );
    assert_eq!(&resigned, theirs, "{what}: bundle");
}

/// What one recorded draw was for.
enum Role {
    Ephemeral(String),
    Ratchet(String),
    DhOnly,
    OwnPreKey,
}

/// The parties of a recording, made as the recording needs them.
#[derive(Clone)]
struct Parties {
    keys: KeyBook,
    bundles: BundleBook,
    parties: BTreeMap<PartyId, Encryptor<MemoryStore>>,
    /// Ratchet keys each receiving installation has seen per session
    /// (receiver, sender, bundle id): a new one is a DH ratchet step.
    seen: HashMap<(PartyId, PartyId, Vec<u8>), HashSet<Vec<u8>>>,
}

impl Parties {
    fn new(cases: &[Value]) -> Self {
        Parties {
            keys: KeyBook::new(cases),
            bundles: BundleBook::new(cases),
            parties: BTreeMap::new(),
            seen: HashMap::new(),
        }
    }

    fn party(&mut self, identity: &SecretKey, installation: &str) -> &mut Encryptor<MemoryStore> {
        let id = (
            identity.public_key().to_compressed(),
            installation.to_owned(),
        );
        self.parties.entry(id).or_insert_with(|| {
            Encryptor::new(
                Config::default(),
                identity.clone(),
                installation.to_owned(),
                MemoryStore::new(),
            )
        })
    }

    fn get(&mut self, id: &PartyId) -> &mut Encryptor<MemoryStore> {
        self.parties
            .get_mut(id)
            .unwrap_or_else(|| panic!("no party {}/{}", hex::encode(id.0), id.1))
    }

    /// Builds `m` with our Encryptor from the recorded randomness, checks
    /// it is status-go's, and delivers it to every installation it is for.
    fn replay_message(&mut self, m: &Msg, later: &[Msg]) -> ProtocolMessage {
        let l = &m.label;
        let sender_pub = m.sender.public_key();
        let me = m.sender_id();
        let own =
            m.pm.bundles
                .iter()
                .find(|b| b.identity == me.0)
                .unwrap_or_else(|| panic!("{l}: the message carries no bundle of its sender"))
                .clone();
        let now = ms_of_ns(own.timestamp, l);
        let own_spk = own
            .signed_pre_keys
            .get(&me.1)
            .unwrap_or_else(|| panic!("{l}: the sender's bundle has no prekey for {}", me.1))
            .clone();
        self.party(&m.sender, &me.1);
        self.ensure_own_prekey(&me, &own_spk, now, l);
        self.ensure_pairing(&me, &sender_pub, &own, now, l);
        if m.kind == "direct_message" {
            self.ensure_targets(&me, &m.recipient_pub(), &m.pm, now, l);
        }

        let plaintext = hex(m.case, "plaintext", l);
        let mut draws = Draws::new(format!("{l}: our build"), build_draws(m, &own_spk));
        let p = self.get(&me);
        let ours = match m.kind {
            "direct_message" => p.encrypt(now, &mut draws, &m.recipient_pub(), &plaintext),
            "dh_message" => p.encrypt_dh(now, &mut draws, &m.recipient_pub(), &plaintext),
            "public_message" => p.encrypt_public(now, &mut draws, &plaintext),
            other => panic!("{l}: not a message kind: {other}"),
        }
        .unwrap_or_else(|e| panic!("{l}: our build failed: {e}"));
        assert_eq!(
            draws.consumed(),
            draws.len(),
            "{l}: our build drew less randomness than the recorded one"
        );

        assert_eq!(
            ours.installation_id, m.pm.installation_id,
            "{l}: installation id"
        );
        assert_eq!(
            ours.public_message, m.pm.public_message,
            "{l}: public payload"
        );
        assert_eq!(
            ours.direct_message.keys().collect::<Vec<_>>(),
            m.pm.direct_message.keys().collect::<Vec<_>>(),
            "{l}: the installations it is encrypted for"
        );
        for (x, dmp) in &m.pm.direct_message {
            assert_eq!(
                &ours.direct_message[x], dmp,
                "{l}: the direct message for installation {x}"
            );
        }
        assert_eq!(
            ours.bundles.len(),
            m.pm.bundles.len(),
            "{l}: bundles carried"
        );
        for (o, t) in ours.bundles.iter().zip(&m.pm.bundles) {
            assert_same_bundle(&m.sender, o, t, l);
        }

        if m.case.get("shared_secret_for_negotiated_topic").is_some() {
            let expected = hex(m.case, "shared_secret_for_negotiated_topic", l);
            let to = m.recipient_pub();
            let p = self.get(&me);
            let agreed = p
                .secret_agreed(&to)
                .unwrap_or_else(|e| panic!("{l}: secret_agreed: {e}"));
            assert_eq!(
                agreed,
                !expected.is_empty(),
                "{l}: whether the negotiated-topic secret is agreed"
            );
            if agreed {
                assert_eq!(
                    &p.shared_secret(&to)[..],
                    &expected[..],
                    "{l}: negotiated-topic secret"
                );
            }
        }

        match m.kind {
            "public_message" => self.deliver_public(m, now),
            _ => {
                for (x, dmp) in &m.pm.direct_message {
                    for q in self.recipients(m, x) {
                        self.deliver(m, dmp, &q, later, now);
                    }
                }
            }
        }
        ours
    }

    /// The sender's newest signed prekey is the one its bundle announces.
    fn ensure_own_prekey(&mut self, me: &PartyId, spk: &SignedPreKey, now: Timestamp, l: &str) {
        let prekeys = self.get(me).store().our_prekeys().expect("store");
        if let Some(pos) = prekeys
            .iter()
            .position(|k| k.public()[..] == spk.signed_pre_key[..])
        {
            assert_eq!(
                pos + 1,
                prekeys.len(),
                "{l}: the sender announces an older prekey than its newest"
            );
            assert_eq!(prekeys[pos].version(), spk.version, "{l}: prekey version");
            return;
        }
        self.push_prekey(me, &spk.signed_pre_key, spk.version, now, l);
    }

    fn push_prekey(&mut self, id: &PartyId, spk: &[u8], version: u32, now: Timestamp, l: &str) {
        let sk = self.keys.private_of(spk).unwrap_or_else(|| {
            panic!(
                "{l}: the recording has no private key for signed prekey {} of {}",
                hex::encode(spk),
                id.1
            )
        });
        let keep = Config::default().max_old_prekeys + 1;
        self.get(id)
            .store_mut()
            .push_our_prekey(OurPreKey::new(sk, version, now), keep)
            .expect("store");
    }

    /// The sender's own installations: those its bundle lists are known
    /// with the listed prekeys and enabled, the others disabled.
    fn ensure_pairing(
        &mut self,
        me: &PartyId,
        identity: &PublicKey,
        own: &Bundle,
        now: Timestamp,
        l: &str,
    ) {
        let listed: BTreeSet<String> = own
            .signed_pre_keys
            .keys()
            .filter(|y| **y != me.1)
            .cloned()
            .collect();
        for y in &listed {
            let spk = own.signed_pre_keys[y].signed_pre_key.clone();
            self.ensure_knows(me, identity, y, &spk, &listed, now, l);
            self.get(me)
                .enable_installation(identity, y)
                .expect("enable");
        }
        let p = self.get(me);
        for i in p.installations(identity).expect("installations") {
            if i.enabled && i.id != me.1 && !listed.contains(&i.id) {
                p.disable_installation(identity, &i.id).expect("disable");
            }
        }
    }

    /// The sender knows the prekey each X3DH header of the message names.
    fn ensure_targets(
        &mut self,
        me: &PartyId,
        to: &PublicKey,
        pm: &ProtocolMessage,
        now: Timestamp,
        l: &str,
    ) {
        let allowed: BTreeSet<String> = pm
            .direct_message
            .keys()
            .filter(|x| *x != NO_INSTALLATION_ID)
            .cloned()
            .collect();
        for (x, dmp) in &pm.direct_message {
            if let Some(h) = &dmp.x3dh_header {
                self.ensure_knows(me, to, x, &h.id, &allowed, now, l);
            }
        }
    }

    /// `me` has `spk` as the prekey of `identity`'s installation `y`,
    /// learnt from a recorded bundle that names no installation outside
    /// `allowed` it does not know yet.
    #[allow(clippy::too_many_arguments)]
    fn ensure_knows(
        &mut self,
        me: &PartyId,
        identity: &PublicKey,
        y: &str,
        spk: &[u8],
        allowed: &BTreeSet<String>,
        now: Timestamp,
        l: &str,
    ) {
        let ic = identity.to_compressed();
        let has = |p: &Encryptor<MemoryStore>| {
            p.store()
                .their_prekeys(&ic)
                .expect("store")
                .get(y)
                .is_some_and(|t| t.signed_pre_key.signed_pre_key == spk)
        };
        if has(self.get(me)) {
            return;
        }
        let known: BTreeSet<String> = self
            .get(me)
            .installations(identity)
            .expect("installations")
            .into_iter()
            .map(|i| i.id)
            .collect();
        let pick = self
            .bundles
            .teaching(&ic, y, spk)
            .into_iter()
            .find(|k| {
                k.bundle.signed_pre_keys.keys().all(|z| {
                    z == y || allowed.contains(z) || known.contains(z) || (ic == me.0 && *z == me.1)
                })
            })
            .unwrap_or_else(|| {
                panic!(
                    "{l}: no recorded bundle announces prekey {} of installation {y} \
                     without naming installations the message does not go to",
                    hex::encode(spk)
                )
            })
            .clone();
        let msg = ProtocolMessage {
            installation_id: pick.from.unwrap_or_else(|| y.to_owned()),
            bundles: vec![pick.bundle],
            ..Default::default()
        };
        let p = self.get(me);
        let mut none = Draws::new(format!("{l}: learning a bundle"), Vec::new());
        match p.decrypt(now, &mut none, identity, &msg) {
            Err(Error::NoPayload) => {}
            other => panic!("{l}: learning a bundle gave {other:?}"),
        }
        while p.poll_event().is_some() {}
        assert!(
            has(p),
            "{l}: the bundle announcing {y}'s prekey was not taken"
        );
    }

    /// Who reads the entry `x` of `m`: that installation, or, for a DH-only
    /// entry, every installation of the recipient we have (one if none).
    fn recipients(&self, m: &Msg, x: &str) -> Vec<String> {
        if x != NO_INSTALLATION_ID {
            return vec![x.to_owned()];
        }
        let rc = m.recipient_pub().to_compressed();
        let me = m.sender_id();
        let known: Vec<String> = self
            .parties
            .keys()
            .filter(|id| id.0 == rc && **id != me)
            .map(|id| id.1.clone())
            .collect();
        if known.is_empty() {
            vec![format!("{}-any-installation", hex::encode(&rc[..4]))]
        } else {
            known
        }
    }

    fn deliver(
        &mut self,
        m: &Msg,
        dmp: &DirectMessageProtocol,
        q: &str,
        later: &[Msg],
        now: Timestamp,
    ) {
        let what = format!("{}: recipient installation {q}", m.label);
        let rec = m
            .recipient
            .clone()
            .unwrap_or_else(|| panic!("{what}: no recipient identity"));
        let qid: PartyId = (rec.public_key().to_compressed(), q.to_owned());
        let from = m.sender_id();
        self.party(&rec, q);
        if let Some(h) = &dmp.x3dh_header {
            let has = self
                .get(&qid)
                .store()
                .our_prekeys()
                .expect("store")
                .iter()
                .any(|k| k.public()[..] == h.id[..]);
            if !has {
                let version = self
                    .bundles
                    .record(&qid.0, q, &h.id)
                    .map_or(1, |r| r.version);
                self.push_prekey(&qid, &h.id, version, now, &what);
            }
        }
        let mut window = Vec::new();
        let mut seen_key = None;
        if let Some(dr) = &dmp.dr_header {
            let session = (qid.clone(), from.clone(), dr.id.clone());
            if !self.seen.get(&session).is_some_and(|s| s.contains(&dr.key)) {
                window = self.next_key_draw(&qid, &from, &dr.id, later, &what);
            }
            seen_key = Some((session, dr.key.clone()));
        }
        let expect_drawn = window.len();
        let mut draws = Draws::new(format!("{what}: decrypting"), window);
        let p = self.get(&qid);
        let result = p.decrypt(now, &mut draws, &m.sender.public_key(), &m.pm);
        while p.poll_event().is_some() {}
        let error = m
            .case
            .get("decrypt_error")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !error.is_empty() {
            assert!(
                result.is_err(),
                "{what}: status-go failed ({error}), we decrypted"
            );
            return;
        }
        let got = result.unwrap_or_else(|e| panic!("{what}: does not decrypt: {e}"));
        let key = if m.case.get("decrypted").is_some() {
            "decrypted"
        } else {
            "plaintext"
        };
        assert_eq!(got.payload, hex(m.case, key, &what), "{what}: `{key}`");
        let kind = if dmp.dr_header.is_some() {
            PayloadKind::Ratchet
        } else {
            PayloadKind::DhOnly
        };
        assert_eq!(got.kind, kind, "{what}: how it was protected");
        assert_eq!(
            got.installation_id, m.pm.installation_id,
            "{what}: sender installation"
        );
        assert_eq!(
            draws.consumed(),
            expect_drawn,
            "{what}: a new ratchet key (DH step) draws one key, nothing else draws"
        );
        if let Some((session, key)) = seen_key {
            self.seen.entry(session).or_default().insert(key);
        }
    }

    /// The recorded draw of the ratchet key `q` sends with next on the
    /// session with `from` (the key its DH step makes now).
    fn next_key_draw(
        &mut self,
        q: &PartyId,
        from: &PartyId,
        bundle_id: &[u8],
        later: &[Msg],
        what: &str,
    ) -> Vec<u8> {
        for n in later {
            if n.sender_id() != *q || n.recipient.is_none() {
                continue;
            }
            if n.recipient_pub().to_compressed() != from.0 {
                continue;
            }
            let Some(dr) =
                n.pm.direct_message
                    .get(&from.1)
                    .and_then(|d| d.dr_header.as_ref())
            else {
                continue;
            };
            if dr.id != bundle_id {
                continue;
            }
            let e = &n.case["direct_messages"][&from.1];
            let sk = if e.get("dr_ratchet_private").is_some() {
                private(e, "dr_ratchet_private", &n.label)
            } else {
                self.keys.private_of(&dr.key).unwrap_or_else(|| {
                    panic!("{}: no recorded private key for its ratchet key", n.label)
                })
            };
            let offset = e["dr_ratchet_private_tape"]["offset"].as_u64();
            return self
                .keys
                .window(&sk, offset, &format!("{what} (key of {})", n.label));
        }
        UNUSED_DRAW.to_vec()
    }

    /// A public message reads the same for every other identity we have
    /// (a new one when there is none), and teaches it the sender's device.
    fn deliver_public(&mut self, m: &Msg, now: Timestamp) {
        let sender = m.sender.public_key();
        let mut readers: Vec<PartyId> = self
            .parties
            .keys()
            .filter(|id| id.0 != sender.to_compressed())
            .cloned()
            .collect();
        if readers.is_empty() {
            let reader = SecretKey::from_bytes(&[0x0b; 32]).expect("a valid key");
            self.party(&reader, "public-reader");
            readers.push((reader.public_key().to_compressed(), "public-reader".into()));
        }
        for r in readers {
            let what = format!("{}: read by {}", m.label, r.1);
            let p = self.get(&r);
            let mut none = Draws::new(format!("{what}: decrypting"), Vec::new());
            let got = p
                .decrypt(now, &mut none, &sender, &m.pm)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            while p.poll_event().is_some() {}
            assert_eq!(got.payload, hex(m.case, "plaintext", &what), "{what}");
            assert_eq!(got.kind, PayloadKind::Public, "{what}");
            assert!(
                p.installations(&sender)
                    .expect("installations")
                    .iter()
                    .any(|i| i.id == m.pm.installation_id),
                "{what}: the sender's installation is known after its bundle"
            );
        }
    }
}

/// The randomness our build of `m` draws: the case's recorded `rng_tape`
/// split into its draws by the keys they derive (X3DH ephemeral and first
/// ratchet key per installation, DH-only ephemeral + 12-byte nonce, the
/// sender's own signed prekey), put in our order. The signed prekey is
/// left out: the replay gives the sender its prekey through the store.
fn build_draws(m: &Msg, own_spk: &SignedPreKey) -> Vec<u8> {
    let l = &m.label;
    let tape = match m.case.get("rng_tape") {
        Some(_) => hex(m.case, "rng_tape", l),
        None => Vec::new(),
    };
    let mut roles: HashMap<KeyBytes, Role> = HashMap::new();
    if let Some(entries) = m.case.get("direct_messages").and_then(Value::as_object) {
        for (x, e) in entries {
            let what = format!("{l}, direct_messages[{x}]");
            let mut role = |field: &str, r: Role| {
                if e.get(field).is_some() {
                    let sk = private(e, field, &what);
                    roles.insert(sk.public_key().to_compressed(), r);
                }
            };
            role("x3dh_ephemeral_private", Role::Ephemeral(x.clone()));
            role("dr_ratchet_private", Role::Ratchet(x.clone()));
            role("dh_ephemeral_private", Role::DhOnly);
        }
    }
    if let Ok(k) = KeyBytes::try_from(own_spk.signed_pre_key.as_slice()) {
        roles.insert(k, Role::OwnPreKey);
    }
    let mut per_installation: BTreeMap<String, (Vec<u8>, Vec<u8>)> = BTreeMap::new();
    let mut dh_only = Vec::new();
    let mut pos = 0;
    while pos < tape.len() {
        let w = tape
            .get(pos..pos + KEY_DRAW)
            .unwrap_or_else(|| panic!("{l}: rng_tape ends inside a draw at byte {pos}"));
        match roles.get(&derive(w).public_key().to_compressed()) {
            Some(Role::Ephemeral(x)) => {
                per_installation.entry(x.clone()).or_default().0 = w.to_vec()
            }
            Some(Role::Ratchet(x)) => per_installation.entry(x.clone()).or_default().1 = w.to_vec(),
            Some(Role::DhOnly) => {
                let with_nonce = tape
                    .get(pos..pos + KEY_DRAW + 12)
                    .unwrap_or_else(|| panic!("{l}: rng_tape ends before the DH-only nonce"));
                dh_only = with_nonce.to_vec();
                pos += 12;
            }
            Some(Role::OwnPreKey) => {}
            None => panic!(
                "{l}: rng_tape bytes {pos}..{} derive a key no field of the case names",
                pos + KEY_DRAW
            ),
        }
        pos += KEY_DRAW;
    }
    let mut out = Vec::new();
    for (ephemeral, ratchet) in per_installation.into_values() {
        out.extend(ephemeral);
        out.extend(ratchet);
    }
    out.extend(dh_only);
    out
}
