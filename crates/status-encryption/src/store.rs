//! Storage of the secure transport's state behind a trait, with an
//! in-memory implementation. Persistent stores come with the protocol layer.
//!
//! Every record is read as a copy and written back whole, so the
//! [`Encryptor`](crate::Encryptor) commits a session only after a message
//! decrypted: a failed decryption leaves the store as it was. Skipped
//! message keys live inside the session record for that reason.

use std::collections::{BTreeMap, BTreeSet};

use status_core::{SecretKey, Timestamp};
use status_proto::encryption::SignedPreKey;

use crate::installation::Installation;
use crate::kdf::Key32;
use crate::ratchet::DoubleRatchet;
use crate::Error;

/// A compressed secp256k1 public key as a map key.
pub type KeyBytes = [u8; 33];

/// Identifies a ratchet session: the peer identity, the peer installation,
/// and the bundle id (the signed prekey the X3DH used: theirs when we
/// initiated, ours when they did). status-go names the same triple.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId {
    /// Peer identity key.
    pub identity: KeyBytes,
    /// Peer installation id.
    pub installation_id: String,
    /// Signed prekey the session was set up with.
    pub bundle_id: KeyBytes,
}

/// A ratchet session with one installation of a peer.
#[derive(Clone)]
pub struct Session {
    pub(crate) id: SessionId,
    pub(crate) shared_secret: Key32,
    /// Our ephemeral key while the peer has not answered: every message
    /// carries the X3DH header until then (status-go `RatchetInfoConfirmed`).
    pub(crate) our_ephemeral: Option<KeyBytes>,
    /// The initiator's ephemeral key when the peer set this session up.
    pub(crate) their_ephemeral: Option<KeyBytes>,
    /// Not used for sending any more (a newer session exists), still
    /// accepted for receiving.
    pub(crate) expired: bool,
    pub(crate) created: Timestamp,
    pub(crate) ratchet: DoubleRatchet,
}

impl Session {
    /// The session's id.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The X3DH shared secret the session started from: the spec's
    /// concurrent-session rule compares these.
    pub fn shared_secret(&self) -> &[u8; 32] {
        &self.shared_secret
    }

    /// Whether the session is still used for sending.
    pub fn is_expired(&self) -> bool {
        self.expired
    }

    /// Stored skipped message keys.
    pub fn skipped_keys(&self) -> usize {
        self.ratchet.skipped_keys()
    }
}

/// One of our signed prekeys (the private half of our bundle).
#[derive(Clone)]
pub struct OurPreKey {
    pub(crate) secret: SecretKey,
    pub(crate) public: KeyBytes,
    pub(crate) version: u32,
    pub(crate) created: Timestamp,
}

impl OurPreKey {
    /// A signed prekey made elsewhere: moved from another store, restored
    /// from a backup, or (in the vector replay) the key a recorded session
    /// used. [`SessionStore::push_our_prekey`] it; the one pushed last is
    /// the one our bundle announces, with `version`.
    ///
    /// ```
    /// use rand_chacha::rand_core::SeedableRng;
    /// use status_core::Timestamp;
    /// use status_encryption::{generate_secret, MemoryStore, OurPreKey, SessionStore};
    ///
    /// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// let secret = generate_secret(&mut rng);
    /// let public = secret.public_key().to_compressed();
    /// let mut store = MemoryStore::new();
    /// store.push_our_prekey(OurPreKey::new(secret, 3, Timestamp::from_secs(1_700_000_000)), 5)?;
    /// let newest = store.our_prekeys()?.pop().unwrap();
    /// assert_eq!((newest.public(), newest.version()), (&public, 3));
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn new(secret: SecretKey, version: u32, created: Timestamp) -> Self {
        let public = secret.public_key().to_compressed();
        OurPreKey {
            secret,
            public,
            version,
            created,
        }
    }

    /// The compressed public key (the bundle id peers put in headers).
    pub fn public(&self) -> &KeyBytes {
        &self.public
    }
    /// Its version in our bundle.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// When it was created.
    pub fn created(&self) -> Timestamp {
        self.created
    }
}

/// A peer installation's signed prekey, from its latest verified bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TheirPreKey {
    /// The `SignedPreKey` record as the bundle carried it.
    pub signed_pre_key: SignedPreKey,
    /// Timestamp (ns) of the bundle.
    pub timestamp: i64,
}

/// Where the [`Encryptor`](crate::Encryptor) keeps sessions, prekeys,
/// bundles, installations and shared-secret agreement.
///
/// A persistent store implements these methods over its database; every
/// method may fail with [`Error::Store`], which the `Encryptor` passes on
/// without touching the session. A wrapper that counts session writes:
///
/// ```
/// use std::collections::BTreeMap;
/// use status_encryption::{
///     Error, Installation, KeyBytes, MemoryStore, OurPreKey, Session, SessionId, SessionStore,
///     TheirPreKey,
/// };
///
/// #[derive(Default)]
/// struct Counting { inner: MemoryStore, writes: usize }
///
/// impl SessionStore for Counting {
///     fn put_session(&mut self, session: Session) -> Result<(), Error> {
///         self.writes += 1;
///         self.inner.put_session(session)
///     }
///     fn session(&self, id: &SessionId) -> Result<Option<Session>, Error> { self.inner.session(id) }
///     fn sessions_with(&self, who: &KeyBytes, inst: &str) -> Result<Vec<Session>, Error> {
///         self.inner.sessions_with(who, inst)
///     }
///     fn count_sessions(&self, who: &KeyBytes) -> Result<usize, Error> { self.inner.count_sessions(who) }
///     fn our_prekeys(&self) -> Result<Vec<OurPreKey>, Error> { self.inner.our_prekeys() }
///     fn push_our_prekey(&mut self, p: OurPreKey, keep: usize) -> Result<(), Error> {
///         self.inner.push_our_prekey(p, keep)
///     }
///     fn their_prekeys(&self, who: &KeyBytes) -> Result<BTreeMap<String, TheirPreKey>, Error> {
///         self.inner.their_prekeys(who)
///     }
///     fn put_their_prekey(&mut self, who: KeyBytes, inst: &str, p: TheirPreKey) -> Result<(), Error> {
///         self.inner.put_their_prekey(who, inst, p)
///     }
///     fn installations(&self, who: &KeyBytes) -> Result<Vec<Installation>, Error> {
///         self.inner.installations(who)
///     }
///     fn put_installation(&mut self, i: Installation) -> Result<(), Error> { self.inner.put_installation(i) }
///     fn mark_heard_from(&mut self, who: KeyBytes, inst: &str) -> Result<(), Error> {
///         self.inner.mark_heard_from(who, inst)
///     }
///     fn heard_from(&self, who: &KeyBytes, inst: &str) -> Result<bool, Error> {
///         self.inner.heard_from(who, inst)
///     }
/// }
///
/// # use rand_chacha::rand_core::SeedableRng;
/// # use status_core::{SecretKey, Timestamp};
/// # use status_encryption::{Config, Encryptor};
/// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
/// # let now = Timestamp::from_secs(1_700_000_000);
/// # let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
/// # let b_pub = b.public_key();
/// let mut alice = Encryptor::new(Config::default(), a, "a".into(), Counting::default());
/// # let mut bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::new());
/// # let contact = bob.encrypt_public(now, &mut rng, b"")?;
/// # let _ = alice.decrypt(now, &mut rng, &b_pub, &contact);
/// alice.encrypt(now, &mut rng, &b_pub, b"hi")?; // X3DH: one new session
/// assert_eq!(alice.store().writes, 1);
/// # Ok::<(), Error>(())
/// ```
pub trait SessionStore {
    /// A copy of a session.
    fn session(&self, id: &SessionId) -> Result<Option<Session>, Error>;
    /// All sessions with one installation of a peer.
    fn sessions_with(
        &self,
        identity: &KeyBytes,
        installation_id: &str,
    ) -> Result<Vec<Session>, Error>;
    /// Inserts or replaces a session.
    fn put_session(&mut self, session: Session) -> Result<(), Error>;
    /// Number of sessions with any installation of a peer.
    fn count_sessions(&self, identity: &KeyBytes) -> Result<usize, Error>;

    /// Our signed prekeys, oldest first; the last is the current one.
    fn our_prekeys(&self) -> Result<Vec<OurPreKey>, Error>;
    /// Adds a new current prekey, keeping at most `keep` (oldest dropped).
    fn push_our_prekey(&mut self, prekey: OurPreKey, keep: usize) -> Result<(), Error>;

    /// The signed prekeys an identity's verified bundles announced, per
    /// installation, each with the timestamp of the bundle it came from.
    fn their_prekeys(&self, identity: &KeyBytes) -> Result<BTreeMap<String, TheirPreKey>, Error>;
    /// Stores the signed prekey of one installation from a verified bundle.
    fn put_their_prekey(
        &mut self,
        identity: KeyBytes,
        installation_id: &str,
        prekey: TheirPreKey,
    ) -> Result<(), Error>;

    /// Known installations of an identity (ours included, for our own key).
    fn installations(&self, identity: &KeyBytes) -> Result<Vec<Installation>, Error>;
    /// Inserts or replaces an installation.
    fn put_installation(&mut self, installation: Installation) -> Result<(), Error>;

    /// Records that a message from `installation_id` of `identity` was
    /// decrypted (shared-secret agreement, status-go `sharedsecret`).
    fn mark_heard_from(&mut self, identity: KeyBytes, installation_id: &str) -> Result<(), Error>;
    /// Whether [`mark_heard_from`](Self::mark_heard_from) was called.
    fn heard_from(&self, identity: &KeyBytes, installation_id: &str) -> Result<bool, Error>;
}

/// The in-memory [`SessionStore`]; [`snapshot`](MemoryStore::snapshot) and
/// [`restore`](MemoryStore::restore) carry it across restarts.
#[derive(Clone, Default)]
pub struct MemoryStore {
    pub(crate) sessions: BTreeMap<SessionId, Session>,
    pub(crate) prekeys: Vec<OurPreKey>,
    pub(crate) prekeys_of: BTreeMap<(KeyBytes, String), TheirPreKey>,
    pub(crate) installations: BTreeMap<(KeyBytes, String), Installation>,
    pub(crate) heard: BTreeSet<(KeyBytes, String)>,
}

impl MemoryStore {
    /// An empty store; see [`SessionStore`] for wrapping it and
    /// [`restore`](Self::restore) for carrying it across a restart.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of sessions held.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }
}

impl SessionStore for MemoryStore {
    fn session(&self, id: &SessionId) -> Result<Option<Session>, Error> {
        Ok(self.sessions.get(id).cloned())
    }

    fn sessions_with(
        &self,
        identity: &KeyBytes,
        installation_id: &str,
    ) -> Result<Vec<Session>, Error> {
        let lo = SessionId {
            identity: *identity,
            installation_id: installation_id.to_owned(),
            bundle_id: [0u8; 33],
        };
        let hi = SessionId {
            bundle_id: [0xff; 33],
            ..lo.clone()
        };
        Ok(self
            .sessions
            .range(lo..=hi)
            .map(|(_, s)| s.clone())
            .collect())
    }

    fn put_session(&mut self, session: Session) -> Result<(), Error> {
        self.sessions.insert(session.id.clone(), session);
        Ok(())
    }

    fn count_sessions(&self, identity: &KeyBytes) -> Result<usize, Error> {
        let lo = SessionId {
            identity: *identity,
            installation_id: String::new(),
            bundle_id: [0u8; 33],
        };
        Ok(self
            .sessions
            .range(lo..)
            .take_while(|(id, _)| &id.identity == identity)
            .count())
    }

    fn our_prekeys(&self) -> Result<Vec<OurPreKey>, Error> {
        Ok(self.prekeys.clone())
    }

    fn push_our_prekey(&mut self, prekey: OurPreKey, keep: usize) -> Result<(), Error> {
        self.prekeys.push(prekey);
        while self.prekeys.len() > keep.max(1) {
            self.prekeys.remove(0);
        }
        Ok(())
    }

    fn their_prekeys(&self, identity: &KeyBytes) -> Result<BTreeMap<String, TheirPreKey>, Error> {
        Ok(self
            .prekeys_of
            .range((*identity, String::new())..)
            .take_while(|((id, _), _)| id == identity)
            .map(|((_, inst), p)| (inst.clone(), p.clone()))
            .collect())
    }

    fn put_their_prekey(
        &mut self,
        identity: KeyBytes,
        installation_id: &str,
        prekey: TheirPreKey,
    ) -> Result<(), Error> {
        self.prekeys_of
            .insert((identity, installation_id.to_owned()), prekey);
        Ok(())
    }

    fn installations(&self, identity: &KeyBytes) -> Result<Vec<Installation>, Error> {
        Ok(self
            .installations
            .range((*identity, String::new())..)
            .take_while(|((id, _), _)| id == identity)
            .map(|(_, i)| i.clone())
            .collect())
    }

    fn put_installation(&mut self, installation: Installation) -> Result<(), Error> {
        self.installations.insert(
            (installation.identity, installation.id.clone()),
            installation,
        );
        Ok(())
    }

    fn mark_heard_from(&mut self, identity: KeyBytes, installation_id: &str) -> Result<(), Error> {
        self.heard.insert((identity, installation_id.to_owned()));
        Ok(())
    }

    fn heard_from(&self, identity: &KeyBytes, installation_id: &str) -> Result<bool, Error> {
        Ok(self
            .heard
            .contains(&(*identity, installation_id.to_owned())))
    }
}
