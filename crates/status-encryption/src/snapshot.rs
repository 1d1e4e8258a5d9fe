//! Serialization of a [`MemoryStore`] so a conversation survives a restart
//! (protobuf via prost, decoded as hostile input: every field is checked).

use prost::Message;
use status_core::{SecretKey, Timestamp};
use status_proto::encryption::SignedPreKey;
use zeroize::{Zeroize, Zeroizing};

use crate::installation::{Installation, InstallationMetadata};
use crate::keypair::KeyPair;
use crate::ratchet::{Chain, Core, DoubleRatchet, SkippedKeys};
use crate::store::{KeyBytes, MemoryStore, OurPreKey, Session, SessionId, TheirPreKey};
use crate::Error;

#[derive(Clone, PartialEq, Message)]
struct StoreSnap {
    #[prost(message, repeated, tag = "1")]
    sessions: Vec<SessionSnap>,
    #[prost(message, repeated, tag = "2")]
    prekeys: Vec<PreKeySnap>,
    #[prost(message, repeated, tag = "3")]
    their_prekeys: Vec<TheirPreKeySnap>,
    #[prost(message, repeated, tag = "4")]
    installations: Vec<InstallationSnap>,
    #[prost(message, repeated, tag = "5")]
    heard: Vec<HeardSnap>,
}

#[derive(Clone, PartialEq, Message)]
struct SessionSnap {
    #[prost(bytes = "vec", tag = "1")]
    identity: Vec<u8>,
    #[prost(string, tag = "2")]
    installation_id: String,
    #[prost(bytes = "vec", tag = "3")]
    bundle_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    shared_secret: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    our_ephemeral: Vec<u8>,
    #[prost(bytes = "vec", tag = "6")]
    their_ephemeral: Vec<u8>,
    #[prost(bool, tag = "7")]
    expired: bool,
    #[prost(uint64, tag = "8")]
    created: u64,
    #[prost(bytes = "vec", tag = "9")]
    dhs: Vec<u8>,
    #[prost(bytes = "vec", tag = "10")]
    dhr: Vec<u8>,
    #[prost(bytes = "vec", tag = "11")]
    root: Vec<u8>,
    #[prost(bytes = "vec", tag = "12")]
    send_ck: Vec<u8>,
    #[prost(uint32, tag = "13")]
    send_n: u32,
    #[prost(bytes = "vec", tag = "14")]
    recv_ck: Vec<u8>,
    #[prost(uint32, tag = "15")]
    recv_n: u32,
    #[prost(uint32, tag = "16")]
    pn: u32,
    #[prost(message, repeated, tag = "17")]
    skipped: Vec<SkippedSnap>,
}

#[derive(Clone, PartialEq, Message)]
struct SkippedSnap {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(uint32, tag = "2")]
    n: u32,
    #[prost(bytes = "vec", tag = "3")]
    mk: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct PreKeySnap {
    #[prost(bytes = "vec", tag = "1")]
    secret: Vec<u8>,
    #[prost(uint32, tag = "2")]
    version: u32,
    #[prost(uint64, tag = "3")]
    created: u64,
}

#[derive(Clone, PartialEq, Message)]
struct InstallationSnap {
    #[prost(bytes = "vec", tag = "1")]
    identity: Vec<u8>,
    #[prost(string, tag = "2")]
    id: String,
    #[prost(uint32, tag = "3")]
    version: u32,
    #[prost(bool, tag = "4")]
    enabled: bool,
    #[prost(int64, tag = "5")]
    timestamp: i64,
    #[prost(bool, tag = "6")]
    has_metadata: bool,
    #[prost(string, tag = "7")]
    name: String,
    #[prost(string, tag = "8")]
    device_type: String,
    #[prost(string, tag = "9")]
    fcm_token: String,
}

#[derive(Clone, PartialEq, Message)]
struct TheirPreKeySnap {
    #[prost(bytes = "vec", tag = "1")]
    identity: Vec<u8>,
    #[prost(string, tag = "2")]
    installation_id: String,
    #[prost(message, optional, tag = "3")]
    signed_pre_key: Option<SignedPreKey>,
    #[prost(int64, tag = "4")]
    timestamp: i64,
}

#[derive(Clone, PartialEq, Message)]
struct HeardSnap {
    #[prost(bytes = "vec", tag = "1")]
    identity: Vec<u8>,
    #[prost(string, tag = "2")]
    installation_id: String,
}

impl Drop for SessionSnap {
    fn drop(&mut self) {
        self.shared_secret.zeroize();
        self.dhs.zeroize();
        self.root.zeroize();
        self.send_ck.zeroize();
        self.recv_ck.zeroize();
    }
}

impl Drop for SkippedSnap {
    fn drop(&mut self) {
        self.mk.zeroize();
    }
}

impl Drop for PreKeySnap {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

fn k33(b: &[u8]) -> Result<KeyBytes, Error> {
    <[u8; 33]>::try_from(b).map_err(|_| Error::Snapshot("key length"))
}

fn k32(b: &[u8]) -> Result<Zeroizing<[u8; 32]>, Error> {
    <[u8; 32]>::try_from(b)
        .map(Zeroizing::new)
        .map_err(|_| Error::Snapshot("secret length"))
}

fn opt33(b: &[u8]) -> Result<Option<KeyBytes>, Error> {
    if b.is_empty() {
        Ok(None)
    } else {
        k33(b).map(Some)
    }
}

impl MemoryStore {
    /// Serializes the whole store (secrets included: keep it encrypted at
    /// rest). The buffer erases itself when dropped.
    pub fn snapshot(&self) -> Zeroizing<Vec<u8>> {
        let snap = StoreSnap {
            sessions: self.sessions.values().map(session_snap).collect(),
            prekeys: self
                .prekeys
                .iter()
                .map(|p| PreKeySnap {
                    secret: p.secret.to_bytes().to_vec(),
                    version: p.version,
                    created: p.created.as_millis(),
                })
                .collect(),
            their_prekeys: self
                .prekeys_of
                .iter()
                .map(|((k, i), p)| TheirPreKeySnap {
                    identity: k.to_vec(),
                    installation_id: i.clone(),
                    signed_pre_key: Some(p.signed_pre_key.clone()),
                    timestamp: p.timestamp,
                })
                .collect(),
            installations: self
                .installations
                .values()
                .map(|i| {
                    let m = i.metadata.clone().unwrap_or_default();
                    InstallationSnap {
                        identity: i.identity.to_vec(),
                        id: i.id.clone(),
                        version: i.version,
                        enabled: i.enabled,
                        timestamp: i.timestamp,
                        has_metadata: i.metadata.is_some(),
                        name: m.name,
                        device_type: m.device_type,
                        fcm_token: m.fcm_token,
                    }
                })
                .collect(),
            heard: self
                .heard
                .iter()
                .map(|(k, i)| HeardSnap {
                    identity: k.to_vec(),
                    installation_id: i.clone(),
                })
                .collect(),
        };
        Zeroizing::new(snap.encode_to_vec())
    }

    /// Restores a store from [`snapshot`](Self::snapshot) bytes.
    ///
    /// ```
    /// use rand_chacha::rand_core::SeedableRng;
    /// use status_core::{SecretKey, Timestamp};
    /// use status_encryption::{Config, Encryptor, MemoryStore};
    ///
    /// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// let now = Timestamp::from_secs(1_700_000_000);
    /// let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
    /// let (a_pub, b_pub) = (a.public_key(), b.public_key());
    /// let mut alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
    /// let mut bob = Encryptor::new(Config::default(), b.clone(), "b".into(), MemoryStore::new());
    /// let contact = bob.encrypt_public(now, &mut rng, b"")?;
    /// let _ = alice.decrypt(now, &mut rng, &b_pub, &contact);
    /// let first = alice.encrypt(now, &mut rng, &b_pub, b"one")?;
    /// bob.decrypt(now, &mut rng, &a_pub, &first)?;
    ///
    /// // Bob restarts mid-conversation
    /// let saved = bob.store().snapshot();
    /// let mut bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::restore(&saved)?);
    /// let second = alice.encrypt(now, &mut rng, &b_pub, b"two")?;
    /// assert_eq!(bob.decrypt(now, &mut rng, &a_pub, &second)?.payload, b"two");
    ///
    /// // anything else is a typed error, never a panic
    /// assert!(MemoryStore::restore(b"not a snapshot").is_err());
    /// # Ok::<(), status_encryption::Error>(())
    /// ```
    pub fn restore(bytes: &[u8]) -> Result<Self, Error> {
        let snap = StoreSnap::decode(bytes).map_err(|_| Error::Snapshot("protobuf"))?;
        let mut store = MemoryStore::new();
        for s in &snap.sessions {
            let session = session_from(s)?;
            store.sessions.insert(session.id.clone(), session);
        }
        for p in &snap.prekeys {
            let secret = SecretKey::from_bytes(&p.secret)?;
            let public = secret.public_key().to_compressed();
            store.prekeys.push(OurPreKey {
                secret,
                public,
                version: p.version,
                created: Timestamp::from_millis(p.created),
            });
        }
        for p in snap.their_prekeys {
            let spk = p
                .signed_pre_key
                .ok_or(Error::Snapshot("missing signed prekey"))?;
            store.prekeys_of.insert(
                (k33(&p.identity)?, p.installation_id),
                TheirPreKey {
                    signed_pre_key: spk,
                    timestamp: p.timestamp,
                },
            );
        }
        for i in snap.installations {
            let identity = k33(&i.identity)?;
            let metadata = i.has_metadata.then(|| InstallationMetadata {
                name: i.name.clone(),
                device_type: i.device_type.clone(),
                fcm_token: i.fcm_token.clone(),
            });
            store.installations.insert(
                (identity, i.id.clone()),
                Installation {
                    identity,
                    id: i.id,
                    version: i.version,
                    enabled: i.enabled,
                    timestamp: i.timestamp,
                    metadata,
                },
            );
        }
        for h in snap.heard {
            store.heard.insert((k33(&h.identity)?, h.installation_id));
        }
        Ok(store)
    }
}

fn session_snap(s: &Session) -> SessionSnap {
    let c = &s.ratchet.core;
    SessionSnap {
        identity: s.id.identity.to_vec(),
        installation_id: s.id.installation_id.clone(),
        bundle_id: s.id.bundle_id.to_vec(),
        shared_secret: s.shared_secret.to_vec(),
        our_ephemeral: s.our_ephemeral.map(|k| k.to_vec()).unwrap_or_default(),
        their_ephemeral: s.their_ephemeral.map(|k| k.to_vec()).unwrap_or_default(),
        expired: s.expired,
        created: s.created.as_millis(),
        dhs: c.dhs.secret.to_bytes().to_vec(),
        dhr: c.dhr.map(|k| k.to_vec()).unwrap_or_default(),
        root: c.root.to_vec(),
        send_ck: c.send.ck.to_vec(),
        send_n: c.send.n,
        recv_ck: c.recv.ck.to_vec(),
        recv_n: c.recv.n,
        pn: c.pn,
        skipped: s
            .ratchet
            .skipped
            .order
            .iter()
            .filter_map(|id| {
                s.ratchet.skipped.keys.get(id).map(|mk| SkippedSnap {
                    key: id.0.to_vec(),
                    n: id.1,
                    mk: mk.to_vec(),
                })
            })
            .collect(),
    }
}

fn session_from(s: &SessionSnap) -> Result<Session, Error> {
    let mut skipped = SkippedKeys::default();
    for k in &s.skipped {
        let id = (k33(&k.key)?, k.n);
        if skipped.keys.insert(id, k32(&k.mk)?).is_none() {
            skipped.order.push_back(id);
        }
    }
    Ok(Session {
        id: SessionId {
            identity: k33(&s.identity)?,
            installation_id: s.installation_id.clone(),
            bundle_id: k33(&s.bundle_id)?,
        },
        shared_secret: k32(&s.shared_secret)?,
        our_ephemeral: opt33(&s.our_ephemeral)?,
        their_ephemeral: opt33(&s.their_ephemeral)?,
        expired: s.expired,
        created: Timestamp::from_millis(s.created),
        ratchet: DoubleRatchet {
            core: Core {
                dhs: KeyPair::from_secret(SecretKey::from_bytes(&s.dhs)?),
                dhr: opt33(&s.dhr)?,
                root: k32(&s.root)?,
                send: Chain {
                    ck: k32(&s.send_ck)?,
                    n: s.send_n,
                },
                recv: Chain {
                    ck: k32(&s.recv_ck)?,
                    n: s.recv_n,
                },
                pn: s.pn,
            },
            skipped,
        },
    })
}

/// One record at a time, for a store that keeps each row in a database
/// (the same protobuf forms as [`MemoryStore::snapshot`] uses inside).
impl Session {
    /// Serializes the session, secrets included; the buffer erases itself.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(session_snap(self).encode_to_vec())
    }

    /// A session from [`to_bytes`](Self::to_bytes); anything else is an
    /// [`Error::Snapshot`] or a key error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Session, Error> {
        let snap = SessionSnap::decode(bytes).map_err(|_| Error::Snapshot("protobuf"))?;
        session_from(&snap)
    }
}

impl OurPreKey {
    /// Serializes the prekey, secret included; the buffer erases itself.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let snap = PreKeySnap {
            secret: self.secret.to_bytes().to_vec(),
            version: self.version,
            created: self.created.as_millis(),
        };
        Zeroizing::new(snap.encode_to_vec())
    }

    /// A prekey from [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<OurPreKey, Error> {
        let p = PreKeySnap::decode(bytes).map_err(|_| Error::Snapshot("protobuf"))?;
        let secret = SecretKey::from_bytes(&p.secret)?;
        let public = secret.public_key().to_compressed();
        Ok(OurPreKey {
            secret,
            public,
            version: p.version,
            created: Timestamp::from_millis(p.created),
        })
    }
}

impl TheirPreKey {
    /// Serializes the prekey record of one installation of a peer.
    pub fn to_bytes(&self, identity: &KeyBytes, installation_id: &str) -> Vec<u8> {
        TheirPreKeySnap {
            identity: identity.to_vec(),
            installation_id: installation_id.to_owned(),
            signed_pre_key: Some(self.signed_pre_key.clone()),
            timestamp: self.timestamp,
        }
        .encode_to_vec()
    }

    /// `(identity, installation id, record)` from [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<(KeyBytes, String, TheirPreKey), Error> {
        let p = TheirPreKeySnap::decode(bytes).map_err(|_| Error::Snapshot("protobuf"))?;
        let spk = p
            .signed_pre_key
            .ok_or(Error::Snapshot("missing signed prekey"))?;
        Ok((
            k33(&p.identity)?,
            p.installation_id,
            TheirPreKey {
                signed_pre_key: spk,
                timestamp: p.timestamp,
            },
        ))
    }
}

impl Installation {
    /// Serializes the installation record.
    pub fn to_bytes(&self) -> Vec<u8> {
        let m = self.metadata.clone().unwrap_or_default();
        InstallationSnap {
            identity: self.identity.to_vec(),
            id: self.id.clone(),
            version: self.version,
            enabled: self.enabled,
            timestamp: self.timestamp,
            has_metadata: self.metadata.is_some(),
            name: m.name,
            device_type: m.device_type,
            fcm_token: m.fcm_token,
        }
        .encode_to_vec()
    }

    /// An installation from [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Installation, Error> {
        let i = InstallationSnap::decode(bytes).map_err(|_| Error::Snapshot("protobuf"))?;
        let metadata = i.has_metadata.then(|| InstallationMetadata {
            name: i.name.clone(),
            device_type: i.device_type.clone(),
            fcm_token: i.fcm_token.clone(),
        });
        Ok(Installation {
            identity: k33(&i.identity)?,
            id: i.id,
            version: i.version,
            enabled: i.enabled,
            timestamp: i.timestamp,
            metadata,
        })
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;
    use crate::{Config, Encryptor, SessionStore};
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn every_record_round_trips_on_its_own() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let now = Timestamp::from_secs(1_700_000_000);
        let (a, b) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
        let (a_pub, b_pub) = (a.public_key(), b.public_key());
        let mut alice = Encryptor::new(Config::default(), a, "a".into(), MemoryStore::new());
        let mut bob = Encryptor::new(Config::default(), b, "b".into(), MemoryStore::new());
        let contact = bob.encrypt_public(now, &mut rng, b"").unwrap();
        let _ = alice.decrypt(now, &mut rng, &b_pub, &contact);
        let m = alice.encrypt(now, &mut rng, &b_pub, b"one").unwrap();
        bob.decrypt(now, &mut rng, &a_pub, &m).unwrap();

        let store = bob.store();
        for s in store.sessions.values() {
            let back = Session::from_bytes(&s.to_bytes()).unwrap();
            assert_eq!(session_snap(&back), session_snap(s));
        }
        for p in store.our_prekeys().unwrap() {
            let back = OurPreKey::from_bytes(&p.to_bytes()).unwrap();
            assert_eq!(
                (back.public, back.version, back.created),
                (p.public, p.version, p.created)
            );
        }
        for ((k, i), p) in &alice.store().prekeys_of {
            let (k2, i2, back) = TheirPreKey::from_bytes(&p.to_bytes(k, i)).unwrap();
            assert_eq!((&k2, &i2, back.timestamp), (k, i, p.timestamp));
            assert_eq!(back.signed_pre_key, p.signed_pre_key);
        }
        for inst in alice.store().installations.values() {
            assert_eq!(&Installation::from_bytes(&inst.to_bytes()).unwrap(), inst);
        }
        assert!(Session::from_bytes(b"\xff\xff").is_err());
        assert!(OurPreKey::from_bytes(b"\x0a\x01\x00").is_err());
        assert!(Installation::from_bytes(b"\x0a\x02\x00").is_err());
    }
}
