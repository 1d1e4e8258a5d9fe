//! The sans-IO [`Encryptor`]: 5/SECURE-TRANSPORT for one installation of
//! one identity, over a [`SessionStore`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use rand_core::CryptoRng;
use status_core::{ecdh_x, PublicKey, SecretKey, Timestamp};
use status_proto::encryption::{
    Bundle, DhHeader, DirectMessageProtocol, DrHeader, ProtocolMessage, SignedPreKey, X3dhHeader,
};
use zeroize::Zeroizing;

use crate::bundle::{build_bundle, verify_bundle};
use crate::dh::{dh_decrypt, dh_encrypt};
use crate::installation::{Installation, InstallationMetadata};
use crate::keypair::{parse_compressed, KeyPair};
use crate::ratchet::{DoubleRatchet, Header};
use crate::store::{KeyBytes, OurPreKey, Session, SessionId, SessionStore, TheirPreKey};
use crate::x3dh::{x3dh_active, x3dh_passive};
use crate::Error;

/// The `direct_message` key of a DH-only message (status-go
/// `noInstallationID`).
pub const NO_INSTALLATION_ID: &str = "none";

/// Protocol version we put in our signed prekeys (status-go
/// `protocolVersion`; 1 means "supports the negotiated shared secret").
pub const PROTOCOL_VERSION: u32 = 1;

const MAX_EVENTS: usize = 1024;
const MAX_VERIFIED: usize = 1024;

/// Limits and intervals; defaults are status-go v0.55.1's.
///
/// ```
/// use std::time::Duration;
/// use status_encryption::Config;
///
/// // a device that tolerates longer gaps and rotates its prekey weekly
/// let config = Config {
///     max_skip: 5000,
///     prekey_refresh_interval: Duration::from_secs(7 * 24 * 60 * 60),
///     ..Config::default()
/// };
/// assert_eq!(config.max_installations, 3);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Most message keys one message may make us skip (status-go `MaxSkip`).
    pub max_skip: u32,
    /// Most skipped keys kept per session, oldest dropped first (status-go
    /// `MaxMessageKeysPerSession`).
    pub max_skipped_keys: usize,
    /// Most installations of a peer a message is encrypted for, most
    /// recently active first, our own devices including this one (status-go
    /// `MaxInstallations`; the spec says "a maximum of 3").
    pub max_installations: usize,
    /// Age after which our signed prekey is replaced (status-go
    /// `BundleRefreshInterval`, 24 h).
    pub prekey_refresh_interval: Duration,
    /// Old signed prekeys kept so late X3DH messages still decrypt.
    pub max_old_prekeys: usize,
    /// Least time between two bundle advertisements to one peer after
    /// failed decryptions (status-go `deviceNotFoundAckInterval`, 2 h).
    pub bundle_advertise_interval: Duration,
    /// Bundles processed per message; more are ignored (each costs a
    /// signature recovery).
    pub max_bundles_per_message: usize,
    /// Installations remembered per identity; bundles naming more are
    /// ignored beyond the cap (bounds what one peer can make us store).
    pub max_known_installations: usize,
    /// How often our bundle is published on our contact-code topic
    /// (status-go publisher `publishInterval`, 6 h), driven by
    /// [`Encryptor::poll_timeout`] / [`Encryptor::handle_timeout`].
    pub contact_code_interval: Duration,
    /// Sessions kept per peer identity: an X3DH header from an unknown
    /// installation is refused beyond it (installation ids on the wire are
    /// free text, so this bounds what one peer can make us store).
    pub max_sessions_per_identity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_skip: 1000,
            max_skipped_keys: 2000,
            max_installations: 3,
            prekey_refresh_interval: Duration::from_secs(24 * 60 * 60),
            max_old_prekeys: 4,
            bundle_advertise_interval: Duration::from_secs(2 * 60 * 60),
            max_bundles_per_message: 4,
            max_known_installations: 32,
            contact_code_interval: Duration::from_secs(6 * 60 * 60),
            max_sessions_per_identity: 64,
        }
    }
}

/// How a payload was protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadKind {
    /// A public (unencrypted) message with a bundle.
    Public,
    /// Double Ratchet (forward secrecy).
    Ratchet,
    /// DH-only fallback (no forward secrecy).
    DhOnly,
}

/// A decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedPayload {
    /// The plaintext.
    pub payload: Vec<u8>,
    /// How it was protected.
    pub kind: PayloadKind,
    /// The sender's installation id.
    pub installation_id: String,
}

/// Things the application should know or act on, drained with
/// [`Encryptor::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Installations seen for the first time in a bundle.
    NewInstallations {
        /// Whose devices.
        identity: PublicKey,
        /// The new installations.
        installations: Vec<Installation>,
    },
    /// A message could not be decrypted or was not for this device: send
    /// our bundle back ([`Encryptor::bundle_advertisement`]) so the peer
    /// sets up a session with this installation (5/SECURE-TRANSPORT
    /// "Partitioned devices").
    AdvertiseBundle {
        /// To whom.
        to: PublicKey,
    },
    /// Time to publish our bundle on our contact-code topic
    /// (`{IK}-contact-code`, 5/SECURE-TRANSPORT "Prekeys"): send
    /// [`Encryptor::encrypt_public`] with an empty payload there.
    PublishContactCode,
}

/// Secure transport for one installation of one identity.
///
/// Methods, in quinn-proto's terms: getters (`identity`,
/// `installation_id`, `installations`, `secret_agreed`...), commands that
/// build messages (`encrypt`, `encrypt_public`, `encrypt_dh`,
/// `bundle_advertisement`), `decrypt` for a message that arrived (the
/// `handle_input` of this layer: it returns the plaintext directly since a
/// message maps to at most one payload), `poll_timeout` / `handle_timeout`
/// for the contact-code publication timer, and `poll_event` to drain after
/// each `decrypt` or `handle_timeout`. Time and randomness are always
/// arguments; nothing here reads a clock or the OS RNG.
#[derive(Clone)]
pub struct Encryptor<S: SessionStore> {
    identity: SecretKey,
    identity_pub: PublicKey,
    identity_c: KeyBytes,
    installation_id: String,
    config: Config,
    store: S,
    events: VecDeque<Event>,
    our_bundle: Option<Bundle>,
    advertised: HashMap<KeyBytes, Timestamp>,
    verified: HashMap<(KeyBytes, Vec<u8>), Bundle>,
    last_contact_code: Option<Timestamp>,
}

impl<S: SessionStore> Encryptor<S> {
    /// An encryptor for `identity` as installation `installation_id`, over
    /// `store` (empty, or restored from an earlier run).
    ///
    /// ```
    /// use rand_chacha::rand_core::SeedableRng;
    /// use status_core::SecretKey;
    /// use status_encryption::{Config, Encryptor, MemoryStore};
    ///
    /// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// let identity = SecretKey::random(&mut rng);
    /// let public = identity.public_key();
    /// let enc = Encryptor::new(Config::default(), identity, "phone".into(), MemoryStore::new());
    /// assert_eq!((enc.identity(), enc.installation_id()), (&public, "phone"));
    /// ```
    pub fn new(config: Config, identity: SecretKey, installation_id: String, store: S) -> Self {
        let identity_pub = identity.public_key();
        Encryptor {
            identity_c: identity_pub.to_compressed(),
            identity_pub,
            identity,
            installation_id,
            config,
            store,
            events: VecDeque::new(),
            our_bundle: None,
            advertised: HashMap::new(),
            verified: HashMap::new(),
            last_contact_code: None,
        }
    }

    /// Our identity public key.
    pub fn identity(&self) -> &PublicKey {
        &self.identity_pub
    }

    /// Our installation id.
    pub fn installation_id(&self) -> &str {
        &self.installation_id
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (e.g. to snapshot it).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// When the machine next wants [`handle_timeout`](Self::handle_timeout),
    /// and why: the next contact-code publication (due at once on a fresh
    /// start).
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::SecretKey;
    /// # use status_encryption::{Config, Encryptor, MemoryStore};
    /// use std::time::Duration;
    /// use status_core::Timestamp;
    /// use status_encryption::Event;
    ///
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let mut enc = Encryptor::new(Config::default(), SecretKey::random(&mut rng), "phone".into(), MemoryStore::new());
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// enc.handle_timeout(now); // due at once on a fresh start
    /// assert_eq!(enc.poll_event(), Some(Event::PublishContactCode));
    /// // then every `contact_code_interval`
    /// let (next, _why) = enc.poll_timeout().unwrap();
    /// assert_eq!(next, now.saturating_add(Duration::from_secs(6 * 60 * 60)));
    /// enc.handle_timeout(now.saturating_add(Duration::from_secs(60)));
    /// assert_eq!(enc.poll_event(), None);
    /// ```
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let due = self.last_contact_code.map_or(Timestamp::ZERO, |t| {
            t.saturating_add(self.config.contact_code_interval)
        });
        Some((due, "publish contact code"))
    }

    /// The timer fired: queues [`Event::PublishContactCode`] when due.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.poll_timeout().is_some_and(|(due, _)| due <= now) {
            self.last_contact_code = Some(now);
            self.push_event(Event::PublishContactCode);
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn push_event(&mut self, event: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Known installations of `identity`.
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_encryption::{Config, Encryptor, MemoryStore};
    /// use status_encryption::{InstallationMetadata, NO_INSTALLATION_ID};
    ///
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let now = Timestamp::from_secs(1_700_000_000);
    /// # let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
    /// # let b_pub = b.public_key();
    /// # let mut alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
    /// # let mut bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::new());
    /// let contact = bob.encrypt_public(now, &mut rng, b"")?;
    /// let _ = alice.decrypt(now, &mut rng, &b_pub, &contact);
    /// let meta = InstallationMetadata { name: "Bob's laptop".into(), ..Default::default() };
    /// alice.set_installation_metadata(&b_pub, "b", meta.clone())?;
    /// let known = alice.installations(&b_pub)?;
    /// assert_eq!((known[0].id.as_str(), known[0].enabled), ("b", true));
    /// assert_eq!(known[0].metadata.as_ref(), Some(&meta));
    ///
    /// // a disabled installation gets nothing; with none left, DH-only
    /// alice.disable_installation(&b_pub, "b")?;
    /// let msg = alice.encrypt(now, &mut rng, &b_pub, b"hi")?;
    /// assert!(msg.direct_message.keys().eq([NO_INSTALLATION_ID]));
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn installations(&self, identity: &PublicKey) -> Result<Vec<Installation>, Error> {
        self.store.installations(&identity.to_compressed())
    }

    fn set_enabled(&mut self, identity: &PublicKey, id: &str, enabled: bool) -> Result<(), Error> {
        let key = identity.to_compressed();
        let found = self
            .store
            .installations(&key)?
            .into_iter()
            .find(|i| i.id == id);
        if let Some(mut inst) = found {
            inst.enabled = enabled;
            self.store.put_installation(inst)?;
            self.our_bundle = None;
        }
        Ok(())
    }

    /// Enables an installation: pairs one of our own devices (it then
    /// appears in our bundle and gets our messages), or re-enables a peer's.
    ///
    /// ```
    /// use rand_chacha::rand_core::SeedableRng;
    /// use status_core::{SecretKey, Timestamp};
    /// use status_encryption::{Config, Encryptor, Event, MemoryStore, PayloadKind};
    ///
    /// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let me = SecretKey::random(&mut rng);
    /// let my_pub = me.public_key();
    /// let mut phone = Encryptor::new(Config::default(), me.clone(), "phone".into(), MemoryStore::new());
    /// let mut laptop = Encryptor::new(Config::default(), me, "laptop".into(), MemoryStore::new());
    ///
    /// // the phone learns of the laptop from its bundle; own devices start disabled
    /// let hello = laptop.encrypt_public(now, &mut rng, b"")?;
    /// let _ = phone.decrypt(now, &mut rng, &my_pub, &hello);
    /// assert!(matches!(phone.poll_event(), Some(Event::NewInstallations { .. })));
    /// assert!(!phone.installations(&my_pub)?.iter().any(|i| i.id == "laptop" && i.enabled));
    ///
    /// // pairing: messages to our own identity now reach the laptop
    /// phone.enable_installation(&my_pub, "laptop")?;
    /// let sync = phone.encrypt(now, &mut rng, &my_pub, b"sync")?;
    /// assert_eq!(laptop.decrypt(now, &mut rng, &my_pub, &sync)?.kind, PayloadKind::Ratchet);
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn enable_installation(&mut self, identity: &PublicKey, id: &str) -> Result<(), Error> {
        self.set_enabled(identity, id, true)
    }

    /// Disables an installation: no more messages are encrypted for it.
    pub fn disable_installation(&mut self, identity: &PublicKey, id: &str) -> Result<(), Error> {
        self.set_enabled(identity, id, false)
    }

    /// Attaches metadata to an installation.
    pub fn set_installation_metadata(
        &mut self,
        identity: &PublicKey,
        id: &str,
        metadata: InstallationMetadata,
    ) -> Result<(), Error> {
        let key = identity.to_compressed();
        if let Some(mut inst) = self
            .store
            .installations(&key)?
            .into_iter()
            .find(|i| i.id == id)
        {
            inst.metadata = Some(metadata);
            self.store.put_installation(inst)?;
        }
        Ok(())
    }

    /// The installations a message to `identity` goes to: enabled ones,
    /// most recently active first, capped at `max_installations` (one less
    /// for our own identity, whose cap counts this device).
    fn targets(&self, identity: &KeyBytes) -> Result<Vec<Installation>, Error> {
        let ours = *identity == self.identity_c;
        let mut list: Vec<Installation> = self
            .store
            .installations(identity)?
            .into_iter()
            .filter(|i| i.enabled && !(ours && i.id == self.installation_id))
            .collect();
        list.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(a.id.cmp(&b.id)));
        let cap = if ours {
            self.config.max_installations.saturating_sub(1)
        } else {
            self.config.max_installations
        };
        list.truncate(cap);
        Ok(list)
    }

    /// The raw ECDH secret of the two identity keys, from which status-waku
    /// derives the partitioned / negotiated topic (status-go `sharedsecret`).
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::SecretKey;
    /// # use status_encryption::{Config, Encryptor, MemoryStore};
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
    /// # let (a_pub, b_pub) = (a.public_key(), b.public_key());
    /// let alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
    /// let bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::new());
    /// assert_eq!(*alice.shared_secret(&b_pub), *bob.shared_secret(&a_pub));
    /// ```
    pub fn shared_secret(&self, their_identity: &PublicKey) -> Zeroizing<[u8; 32]> {
        ecdh_x(&self.identity, their_identity)
    }

    /// Whether the shared secret is agreed with `their_identity`: every
    /// installation we send to has sent us a message, so it knows the secret
    /// too and listens on the negotiated topic (status-go `Agreed`).
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_encryption::{Config, Encryptor, MemoryStore};
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let now = Timestamp::from_secs(1_700_000_000);
    /// # let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
    /// # let (a_pub, b_pub) = (a.public_key(), b.public_key());
    /// # let mut alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
    /// # let mut bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::new());
    /// let hi = alice.encrypt(now, &mut rng, &b_pub, b"hi")?; // DH-only: no bundle of Bob's yet
    /// bob.decrypt(now, &mut rng, &a_pub, &hi)?;
    /// assert!(!alice.secret_agreed(&b_pub)?); // Alice has not heard from Bob
    /// let reply = bob.encrypt(now, &mut rng, &a_pub, b"hello")?; // X3DH from Alice's bundle
    /// alice.decrypt(now, &mut rng, &b_pub, &reply)?;
    /// assert!(alice.secret_agreed(&b_pub)?);
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn secret_agreed(&self, their_identity: &PublicKey) -> Result<bool, Error> {
        let key = their_identity.to_compressed();
        let targets = self.targets(&key)?;
        if targets.is_empty() {
            return Ok(false);
        }
        for t in &targets {
            if !self.store.heard_from(&key, &t.id)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Our current signed bundle, creating or rotating the signed prekey
    /// when needed (status-go `CreateBundle`). It is re-signed, with a new
    /// timestamp, only when its content changes.
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_encryption::{Config, Encryptor, MemoryStore};
    /// use std::time::Duration;
    /// use status_encryption::bundle::verify_bundle;
    ///
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let now = Timestamp::from_secs(1_700_000_000);
    /// # let mut enc = Encryptor::new(Config::default(), SecretKey::random(&mut rng), "phone".into(), MemoryStore::new());
    /// let bundle = enc.bundle(now, &mut rng)?;
    /// assert_eq!(&verify_bundle(&bundle)?, enc.identity());
    /// assert_eq!(bundle.signed_pre_keys["phone"].version, 1);
    /// // the same bundle until the prekey is older than `prekey_refresh_interval`
    /// assert_eq!(enc.bundle(now, &mut rng)?, bundle);
    /// let later = now.saturating_add(Duration::from_secs(25 * 60 * 60));
    /// assert_eq!(enc.bundle(later, &mut rng)?.signed_pre_keys["phone"].version, 2);
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn bundle<R: CryptoRng + ?Sized>(
        &mut self,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<Bundle, Error> {
        let prekeys = self.store.our_prekeys()?;
        let rotate = match prekeys.last() {
            None => true,
            Some(p) => {
                p.created
                    .saturating_add(self.config.prekey_refresh_interval)
                    < now
            }
        };
        if rotate {
            let pair = KeyPair::generate(rng);
            let version = prekeys.last().map_or(1, |p| p.version.saturating_add(1));
            self.store.push_our_prekey(
                OurPreKey {
                    secret: pair.secret,
                    public: pair.public,
                    version,
                    created: now,
                },
                self.config.max_old_prekeys.saturating_add(1),
            )?;
            self.our_bundle = None;
        }
        let Some(current) = self.store.our_prekeys()?.pop() else {
            return Err(Error::Store("no signed prekey after creating one".into()));
        };
        let mut spks = BTreeMap::new();
        spks.insert(
            self.installation_id.clone(),
            SignedPreKey {
                signed_pre_key: current.public.to_vec(),
                version: current.version,
                protocol_version: PROTOCOL_VERSION,
            },
        );
        // our paired devices, with the prekeys their own bundles announced
        let own = self.identity_c;
        let own_prekeys = self.store.their_prekeys(&own)?;
        for inst in self.targets(&own)? {
            if let Some(spk) = own_prekeys.get(&inst.id) {
                spks.insert(inst.id.clone(), spk.signed_pre_key.clone());
            }
        }
        if let Some(b) = &self.our_bundle {
            if b.signed_pre_keys == spks {
                return Ok(b.clone());
            }
        }
        let ts = i64::try_from(now.as_millis())
            .unwrap_or(i64::MAX / 1_000_000)
            .saturating_mul(1_000_000);
        let bundle = build_bundle(&self.identity, spks, ts);
        self.our_bundle = Some(bundle.clone());
        Ok(bundle)
    }

    /// Encrypts `payload` for every active installation of `their_identity`
    /// (one Double Ratchet message each in `direct_message`, setting up
    /// sessions with X3DH from their bundle where needed), or DH-only when
    /// we know no installation of theirs. Our bundle rides along.
    /// Encrypting to our own identity reaches our paired devices.
    ///
    /// Randomness, in order: for each installation without a usable
    /// session, in installation id order (the order of `direct_message`),
    /// the X3DH ephemeral key then the first ratchet key; then our signed
    /// prekey if we have none or it is due for rotation. Every key is 40
    /// bytes drawn as Go's `ecdsa.GenerateKey` draws them, so a recorded
    /// status-go tape replays once its draws are put in this order
    /// (status-go walks installations in its SQL row order, which is not
    /// visible on the wire).
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_encryption::{Config, Encryptor, MemoryStore};
    /// use status_encryption::{PayloadKind, NO_INSTALLATION_ID};
    ///
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let now = Timestamp::from_secs(1_700_000_000);
    /// # let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
    /// # let (a_pub, b_pub) = (a.public_key(), b.public_key());
    /// # let mut alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
    /// # let mut bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::new());
    /// // no bundle of Bob's known: DH-only, for any of his installations
    /// let first = alice.encrypt(now, &mut rng, &b_pub, b"one")?;
    /// assert!(first.direct_message.contains_key(NO_INSTALLATION_ID));
    /// assert_eq!(bob.decrypt(now, &mut rng, &a_pub, &first)?.kind, PayloadKind::DhOnly);
    ///
    /// // Bob's answer carries his bundle; from then on Alice ratchets
    /// let answer = bob.encrypt(now, &mut rng, &a_pub, b"two")?;
    /// alice.decrypt(now, &mut rng, &b_pub, &answer)?;
    /// let third = alice.encrypt(now, &mut rng, &b_pub, b"three")?;
    /// assert!(third.direct_message.contains_key("b"));
    /// assert_eq!(bob.decrypt(now, &mut rng, &a_pub, &third)?.payload, b"three");
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        now: Timestamp,
        rng: &mut R,
        their_identity: &PublicKey,
        payload: &[u8],
    ) -> Result<ProtocolMessage, Error> {
        let their = their_identity.to_compressed();
        let mut targets = self.targets(&their)?;
        if targets.is_empty() {
            return self.encrypt_dh(now, rng, their_identity, payload);
        }
        // which installations is decided by recency; the order they draw
        // their keys in is the order of the map they end up in
        targets.sort_by(|a, b| a.id.cmp(&b.id));
        let mut direct = BTreeMap::new();
        let prekeys = self.store.our_prekeys()?;
        let current_prekey = prekeys.last().map(|p| p.public);
        for inst in &targets {
            let sessions = self.store.sessions_with(&their, &inst.id)?;
            // A session on one of our prekeys that has been rotated away
            // is not used for sending (status-go: expired bundle).
            let usable = sessions.into_iter().filter(|s| {
                let on_rotated_prekey = prekeys.iter().any(|p| p.public == s.id.bundle_id)
                    && current_prekey != Some(s.id.bundle_id);
                !s.expired && !on_rotated_prekey
            });
            // 5/SECURE-TRANSPORT "Concurrent sessions": the one whose
            // symmetric key is first in byte order.
            let chosen = usable.min_by(|a, b| a.shared_secret[..].cmp(&b.shared_secret[..]));
            let mut session = match chosen {
                Some(s) => s,
                None => {
                    let prekeys = self.store.their_prekeys(&their)?;
                    let Some(spk) = prekeys.get(&inst.id) else {
                        continue;
                    };
                    let spk_pub = parse_compressed(&spk.signed_pre_key.signed_pre_key)?;
                    let spk_c = spk_pub.to_compressed();
                    let eph = KeyPair::generate(rng);
                    let secret = x3dh_active(&self.identity, &eph.secret, their_identity, &spk_pub);
                    let ratchet = DoubleRatchet::new_initiator(&secret, &spk_c, rng)?;
                    Session {
                        id: SessionId {
                            identity: their,
                            installation_id: inst.id.clone(),
                            bundle_id: spk_c,
                        },
                        shared_secret: secret,
                        our_ephemeral: Some(eph.public),
                        their_ephemeral: None,
                        expired: false,
                        created: now,
                        ratchet,
                    }
                }
            };
            let (header, ct) = session.ratchet.encrypt(payload);
            let dmp = DirectMessageProtocol {
                x3dh_header: session.our_ephemeral.map(|k| X3dhHeader {
                    key: k.to_vec(),
                    id: session.id.bundle_id.to_vec(),
                }),
                dr_header: Some(DrHeader {
                    key: header.key.to_vec(),
                    n: header.n,
                    pn: header.pn,
                    id: session.id.bundle_id.to_vec(),
                }),
                dh_header: None,
                payload: ct,
            };
            direct.insert(inst.id.clone(), dmp);
            self.store.put_session(session)?;
        }
        let bundle = self.bundle(now, rng)?;
        Ok(ProtocolMessage {
            installation_id: self.installation_id.clone(),
            bundles: vec![bundle],
            direct_message: direct,
            public_message: Vec::new(),
        })
    }

    /// A DH-only message (status-go `BuildDHMessage`): no forward secrecy,
    /// readable by any installation of the recipient.
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_encryption::{Config, Encryptor, MemoryStore, PayloadKind};
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let now = Timestamp::from_secs(1_700_000_000);
    /// # let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
    /// # let (a_pub, b_pub) = (a.public_key(), b.public_key());
    /// # let mut alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
    /// # let mut bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::new());
    /// let msg = alice.encrypt_dh(now, &mut rng, &b_pub, b"no forward secrecy")?;
    /// let got = bob.decrypt(now, &mut rng, &a_pub, &msg)?;
    /// assert_eq!((got.kind, got.installation_id.as_str()), (PayloadKind::DhOnly, "a"));
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn encrypt_dh<R: CryptoRng + ?Sized>(
        &mut self,
        now: Timestamp,
        rng: &mut R,
        their_identity: &PublicKey,
        payload: &[u8],
    ) -> Result<ProtocolMessage, Error> {
        let (key, sealed) = dh_encrypt(their_identity, payload, rng);
        let mut direct = BTreeMap::new();
        direct.insert(
            NO_INSTALLATION_ID.to_owned(),
            DirectMessageProtocol {
                x3dh_header: None,
                dr_header: None,
                dh_header: Some(DhHeader { key: key.to_vec() }),
                payload: sealed,
            },
        );
        let bundle = self.bundle(now, rng)?;
        Ok(ProtocolMessage {
            installation_id: self.installation_id.clone(),
            bundles: vec![bundle],
            direct_message: direct,
            public_message: Vec::new(),
        })
    }

    /// An empty DH-only message carrying our bundle (status-go
    /// `BuildBundleAdvertiseMessage`), the answer to
    /// [`Event::AdvertiseBundle`].
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_encryption::{Config, Encryptor, MemoryStore};
    /// use status_encryption::{Error, Event};
    ///
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let now = Timestamp::from_secs(1_700_000_000);
    /// # let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
    /// # let (a_pub, b_pub) = (a.public_key(), b.public_key());
    /// # let mut alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
    /// # let mut bob = Encryptor::new(Config::default(), b.clone(), "b".into(), MemoryStore::new());
    /// # let hi = alice.encrypt(now, &mut rng, &b_pub, b"hi")?;
    /// # bob.decrypt(now, &mut rng, &a_pub, &hi)?;
    /// # let answer = bob.encrypt(now, &mut rng, &a_pub, b"hello")?;
    /// # alice.decrypt(now, &mut rng, &b_pub, &answer)?;
    /// // Bob reinstalled (same identity, new installation): Alice's next
    /// // message is not for this device, so it asks for its bundle to go back
    /// let mut bob2 = Encryptor::new(Config::default(), b, "b2".into(), MemoryStore::new());
    /// let msg = alice.encrypt(now, &mut rng, &b_pub, b"are you there?")?;
    /// assert!(matches!(bob2.decrypt(now, &mut rng, &a_pub, &msg), Err(Error::DeviceNotFound)));
    /// // (after the event for Alice's installation, new to bob2)
    /// assert!(std::iter::from_fn(|| bob2.poll_event()).any(|e| e == Event::AdvertiseBundle { to: a_pub }));
    /// let advert = bob2.bundle_advertisement(now, &mut rng, &a_pub)?;
    ///
    /// // Alice learns the new installation; her next message reaches it
    /// let _ = alice.decrypt(now, &mut rng, &b_pub, &advert);
    /// let again = alice.encrypt(now, &mut rng, &b_pub, b"there you are")?;
    /// assert_eq!(bob2.decrypt(now, &mut rng, &a_pub, &again)?.payload, b"there you are");
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn bundle_advertisement<R: CryptoRng + ?Sized>(
        &mut self,
        now: Timestamp,
        rng: &mut R,
        their_identity: &PublicKey,
    ) -> Result<ProtocolMessage, Error> {
        self.encrypt_dh(now, rng, their_identity, &[])
    }

    /// A public message carrying our bundle (status-go `BuildPublicMessage`).
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_encryption::{Config, Encryptor, MemoryStore, PayloadKind};
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let now = Timestamp::from_secs(1_700_000_000);
    /// # let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
    /// # let a_pub = a.public_key();
    /// # let mut alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
    /// # let mut bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::new());
    /// let post = alice.encrypt_public(now, &mut rng, b"hello #status")?;
    /// let got = bob.decrypt(now, &mut rng, &a_pub, &post)?;
    /// assert_eq!((got.payload.as_slice(), got.kind), (&b"hello #status"[..], PayloadKind::Public));
    /// assert_eq!(bob.installations(&a_pub)?.len(), 1); // and Bob now knows Alice's device
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn encrypt_public<R: CryptoRng + ?Sized>(
        &mut self,
        now: Timestamp,
        rng: &mut R,
        payload: &[u8],
    ) -> Result<ProtocolMessage, Error> {
        let bundle = self.bundle(now, rng)?;
        Ok(ProtocolMessage {
            installation_id: self.installation_id.clone(),
            bundles: vec![bundle],
            direct_message: BTreeMap::new(),
            public_message: payload.to_vec(),
        })
    }

    /// Decrypts a message from `their_identity` (the key that signed the
    /// transport envelope): processes its bundles, then the direct message
    /// for this installation. On error nothing of the session changed;
    /// an [`Event::AdvertiseBundle`] may be queued (recovery).
    ///
    /// ```
    /// # use rand_chacha::rand_core::SeedableRng;
    /// # use status_core::{SecretKey, Timestamp};
    /// # use status_encryption::{Config, Encryptor, MemoryStore};
    /// use status_encryption::Error;
    ///
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// # let now = Timestamp::from_secs(1_700_000_000);
    /// # let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
    /// # let (a_pub, b_pub) = (a.public_key(), b.public_key());
    /// # let mut alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
    /// # let mut bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::new());
    /// # let contact = bob.encrypt_public(now, &mut rng, b"")?;
    /// # let _ = alice.decrypt(now, &mut rng, &b_pub, &contact);
    /// let msg = alice.encrypt(now, &mut rng, &b_pub, b"hello")?;
    /// let mut forged = msg.clone();
    /// forged.direct_message.get_mut("b").unwrap().payload[20] ^= 1;
    /// assert!(matches!(bob.decrypt(now, &mut rng, &a_pub, &forged), Err(Error::Mac)));
    /// // the failure changed nothing: the genuine message still decrypts, once
    /// assert_eq!(bob.decrypt(now, &mut rng, &a_pub, &msg)?.payload, b"hello");
    /// assert!(matches!(bob.decrypt(now, &mut rng, &a_pub, &msg), Err(Error::DuplicateOrOld)));
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        now: Timestamp,
        rng: &mut R,
        their_identity: &PublicKey,
        message: &ProtocolMessage,
    ) -> Result<DecryptedPayload, Error> {
        for bundle in message
            .bundles
            .iter()
            .take(self.config.max_bundles_per_message)
        {
            self.process_bundle(bundle)?;
        }
        if !message.public_message.is_empty() {
            return Ok(DecryptedPayload {
                payload: message.public_message.clone(),
                kind: PayloadKind::Public,
                installation_id: message.installation_id.clone(),
            });
        }
        if message.direct_message.is_empty() {
            return Err(Error::NoPayload);
        }
        let their = their_identity.to_compressed();
        let dmp = message
            .direct_message
            .get(&self.installation_id)
            .or_else(|| message.direct_message.get(NO_INSTALLATION_ID));
        let Some(dmp) = dmp else {
            self.advertise(now, their_identity);
            return Err(if their == self.identity_c {
                Error::NotPairedDevice
            } else {
                Error::DeviceNotFound
            });
        };
        let result = self.decrypt_direct(rng, their_identity, &message.installation_id, dmp, now);
        match &result {
            Ok(_) => self
                .store
                .mark_heard_from(their, &message.installation_id)?,
            Err(Error::Store(_)) => {}
            Err(_) => self.advertise(now, their_identity),
        }
        result
    }

    fn advertise(&mut self, now: Timestamp, to: &PublicKey) {
        let key = to.to_compressed();
        if let Some(last) = self.advertised.get(&key) {
            if last.saturating_add(self.config.bundle_advertise_interval) > now {
                return;
            }
        }
        if self.advertised.len() >= MAX_EVENTS {
            self.advertised.clear();
        }
        self.advertised.insert(key, now);
        self.push_event(Event::AdvertiseBundle { to: *to });
    }

    fn decrypt_direct<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        their_identity: &PublicKey,
        their_installation: &str,
        dmp: &DirectMessageProtocol,
        now: Timestamp,
    ) -> Result<DecryptedPayload, Error> {
        if let Some(dr) = &dmp.dr_header {
            let their = their_identity.to_compressed();
            let bundle_id = key33(&dr.id, "DRHeader.id")?;
            let sid = SessionId {
                identity: their,
                installation_id: their_installation.to_owned(),
                bundle_id,
            };
            let existing = self.store.session(&sid)?;
            let mut session = match (&dmp.x3dh_header, existing) {
                (Some(x), Some(s)) if s.their_ephemeral != Some(key33_or_zero(&x.key)) => {
                    // a new X3DH on the same prekey (the peer reinstalled or
                    // lost its session): replaces ours only if it decrypts
                    self.passive_session(their_identity, sid, x, now)?
                }
                (_, Some(s)) => s,
                (Some(x), None) => {
                    let max = self.config.max_sessions_per_identity;
                    if self.store.count_sessions(&their)? >= max {
                        return Err(Error::TooManySessions { max });
                    }
                    self.passive_session(their_identity, sid, x, now)?
                }
                (None, None) => return Err(Error::SessionNotFound),
            };
            let header = Header {
                key: key33(&dr.key, "DRHeader.key")?,
                n: dr.n,
                pn: dr.pn,
            };
            let payload = session
                .ratchet
                .decrypt(&header, &dmp.payload, &self.config, rng)?;
            // they answered: stop sending the X3DH header
            session.our_ephemeral = None;
            self.store.put_session(session)?;
            return Ok(DecryptedPayload {
                payload,
                kind: PayloadKind::Ratchet,
                installation_id: their_installation.to_owned(),
            });
        }
        if let Some(dh) = &dmp.dh_header {
            let eph = parse_compressed(&dh.key)?;
            let payload = dh_decrypt(&self.identity, &eph, &dmp.payload)?;
            return Ok(DecryptedPayload {
                payload,
                kind: PayloadKind::DhOnly,
                installation_id: their_installation.to_owned(),
            });
        }
        Err(Error::NoKeyHeader)
    }

    fn passive_session(
        &self,
        their_identity: &PublicKey,
        sid: SessionId,
        x3dh: &X3dhHeader,
        now: Timestamp,
    ) -> Result<Session, Error> {
        let their_eph = parse_compressed(&x3dh.key)?;
        let spk_id = key33(&x3dh.id, "X3DHHeader.id")?;
        let prekey = self
            .store
            .our_prekeys()?
            .into_iter()
            .find(|p| p.public == spk_id)
            .ok_or(Error::UnknownSignedPreKey)?;
        let secret = x3dh_passive(&self.identity, &prekey.secret, their_identity, &their_eph);
        let ratchet = DoubleRatchet::new_responder(&secret, &prekey.secret);
        Ok(Session {
            id: sid,
            shared_secret: secret,
            our_ephemeral: None,
            their_ephemeral: Some(their_eph.to_compressed()),
            expired: false,
            created: now,
            ratchet,
        })
    }

    /// Verifies and records a bundle: new installations (an event), newer
    /// signed prekeys, and re-keying when an installation's prekey changed.
    /// Bundles already verified are recognised by their signature and not
    /// verified again (status-go re-verifies every one).
    fn process_bundle(&mut self, bundle: &Bundle) -> Result<(), Error> {
        let identity = key33(&bundle.identity, "Bundle.identity")?;
        let cache_key = (identity, bundle.signature.clone());
        if self.verified.get(&cache_key) == Some(bundle) {
            return Ok(());
        }
        let identity_pub = verify_bundle(bundle)?;
        if self.verified.len() >= MAX_VERIFIED {
            self.verified.clear();
        }
        self.verified.insert(cache_key, bundle.clone());
        let ours = identity == self.identity_c;
        let known = self.store.installations(&identity)?;
        let prekeys = self.store.their_prekeys(&identity)?;
        let mut new = Vec::new();
        for (id, spk) in &bundle.signed_pre_keys {
            if ours && *id == self.installation_id {
                continue;
            }
            let inst = match known.iter().find(|i| &i.id == id) {
                Some(i) => Installation {
                    timestamp: i.timestamp.max(bundle.timestamp),
                    ..i.clone()
                },
                None if known.len() + new.len() >= self.config.max_known_installations => {
                    continue;
                }
                None => {
                    let i = Installation {
                        identity,
                        id: id.clone(),
                        version: spk.protocol_version,
                        enabled: !ours,
                        timestamp: bundle.timestamp,
                        metadata: None,
                    };
                    new.push(i.clone());
                    i
                }
            };
            self.store.put_installation(inst)?;
            let old = prekeys.get(id);
            if old.is_some_and(|o| o.timestamp >= bundle.timestamp) {
                continue;
            }
            // re-keying: their prekey changed, sessions on the old one are
            // no longer used for sending (5/SECURE-TRANSPORT "Re-keying")
            if let Some(old) = old.filter(|o| o.signed_pre_key.signed_pre_key != spk.signed_pre_key)
            {
                for mut s in self.store.sessions_with(&identity, id)? {
                    if s.id.bundle_id[..] == old.signed_pre_key.signed_pre_key[..] && !s.expired {
                        s.expired = true;
                        self.store.put_session(s)?;
                    }
                }
            }
            self.store.put_their_prekey(
                identity,
                id,
                TheirPreKey {
                    signed_pre_key: spk.clone(),
                    timestamp: bundle.timestamp,
                },
            )?;
        }
        if ours {
            self.our_bundle = None;
        }
        if !new.is_empty() {
            self.push_event(Event::NewInstallations {
                identity: identity_pub,
                installations: new,
            });
        }
        Ok(())
    }
}

fn key33(bytes: &[u8], what: &'static str) -> Result<KeyBytes, Error> {
    <[u8; 33]>::try_from(bytes).map_err(|_| Error::InvalidLength {
        what,
        expected: 33,
        got: bytes.len(),
    })
}

fn key33_or_zero(bytes: &[u8]) -> KeyBytes {
    <[u8; 33]>::try_from(bytes).unwrap_or([0u8; 33])
}
