//! The Double Ratchet (Signal's algorithm, 5/SECURE-TRANSPORT "Double
//! Ratchet"), run over secp256k1 as status-go's vendored
//! `status-im/doubleratchet` with `EthereumCrypto` does.
//!
//! Differences from the spec text, where status-go's bytes win:
//! - DH is secp256k1 raw ECDH (x coordinate), not Curve25519; ratchet
//!   public keys travel compressed (33 bytes).
//! - The associated data is the encoded header only:
//!   `n (u32 LE) || pn (u32 LE) || ratchet key` (status-go passes no
//!   identity AD).
//! - The responder (Bob) starts with his signed prekey as ratchet key and
//!   both of his chains keyed with the shared secret; the initiator's
//!   receiving chain is also keyed with the shared secret (status-go
//!   `DefaultState`), which only matters for a peer sending `pn > 0` first.
//!
//! Difference in policy: status-go keeps a used message key until the
//! application confirms the message (`ConfirmMessageProcessed`), so a replay
//! decrypts again until then. Here a key is deleted as soon as it decrypted
//! its message: a replay fails with [`Error::DuplicateOrOld`].

use std::collections::{HashMap, VecDeque};

use rand_core::CryptoRng;
use status_core::{ecdh_x, SecretKey};
use zeroize::Zeroizing;

use crate::aead;
use crate::kdf::{kdf_ck, kdf_rk, Key32};
use crate::keypair::{dh, parse_compressed, KeyPair};
use crate::Error;

/// A ratchet header: sender's current ratchet key, message number in the
/// sending chain, length of the previous sending chain (`DRHeader` without
/// its bundle `id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Sender's ratchet public key, compressed.
    pub key: [u8; 33],
    /// Message number in the sending chain.
    pub n: u32,
    /// Length of the previous sending chain.
    pub pn: u32,
}

impl Header {
    /// status-go's `MessageHeader.Encode`: the associated data of the AEAD.
    pub(crate) fn encode(&self) -> [u8; 41] {
        let mut out = [0u8; 41];
        out[..4].copy_from_slice(&self.n.to_le_bytes());
        out[4..8].copy_from_slice(&self.pn.to_le_bytes());
        out[8..].copy_from_slice(&self.key);
        out
    }
}

/// A symmetric-key ratchet chain.
#[derive(Clone)]
pub(crate) struct Chain {
    pub(crate) ck: Key32,
    pub(crate) n: u32,
}

impl Chain {
    fn new(ck: Key32) -> Self {
        Chain { ck, n: 0 }
    }

    fn step(&mut self) -> Key32 {
        let (ck, mk) = kdf_ck(&self.ck);
        self.ck = ck;
        self.n = self.n.wrapping_add(1);
        mk
    }
}

/// The part of the state a decryption rewrites; copied, changed, and only
/// committed once the MAC has verified.
#[derive(Clone)]
pub(crate) struct Core {
    pub(crate) dhs: KeyPair,
    pub(crate) dhr: Option<[u8; 33]>,
    pub(crate) root: Key32,
    pub(crate) send: Chain,
    pub(crate) recv: Chain,
    pub(crate) pn: u32,
}

/// Bounded store of skipped message keys, oldest evicted first (status-go
/// `MaxMessageKeysPerSession`).
#[derive(Clone, Default)]
pub(crate) struct SkippedKeys {
    pub(crate) keys: HashMap<([u8; 33], u32), Key32>,
    pub(crate) order: VecDeque<([u8; 33], u32)>,
}

impl SkippedKeys {
    fn insert(&mut self, id: ([u8; 33], u32), mk: Key32, max: usize) {
        if self.keys.insert(id, mk).is_none() {
            self.order.push_back(id);
        }
        while self.keys.len() > max {
            match self.order.pop_front() {
                Some(old) => {
                    self.keys.remove(&old);
                }
                None => break,
            }
        }
        // drop ids of keys already used, so `order` stays bounded
        if self.order.len() > 2 * max.max(16) {
            let keys = &self.keys;
            self.order.retain(|id| keys.contains_key(id));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Bounds on skipped keys (see [`Config`](crate::Config)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_skip: u32,
    pub(crate) max_skipped_keys: usize,
}

/// One Double Ratchet session.
///
/// The [`Encryptor`](crate::Encryptor) keeps one per peer installation; use
/// this type directly only to run the bare ratchet (benches, other framings).
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_encryption::{generate_secret, Config, DoubleRatchet, Error};
///
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
/// let config = Config::default();
/// let shared = [9u8; 32]; // from X3DH
/// let bob_spk = generate_secret(&mut rng);
/// let mut alice = DoubleRatchet::new_initiator(&shared, &bob_spk.public_key().to_compressed(), &mut rng)?;
/// let mut bob = DoubleRatchet::new_responder(&shared, &bob_spk);
///
/// let (h1, c1) = alice.encrypt(b"one");
/// let (h2, c2) = alice.encrypt(b"two");
/// // out of order: the skipped key of "one" is kept until it arrives
/// assert_eq!(bob.decrypt(&h2, &c2, &config, &mut rng)?, b"two");
/// assert_eq!(bob.skipped_keys(), 1);
/// assert_eq!(bob.decrypt(&h1, &c1, &config, &mut rng)?, b"one");
/// // keys are deleted after use: a replay fails
/// assert!(matches!(bob.decrypt(&h1, &c1, &config, &mut rng), Err(Error::DuplicateOrOld)));
///
/// // Bob's answer carries a new ratchet key: a DH ratchet step
/// let (h3, c3) = bob.encrypt(b"three");
/// assert_ne!(h3.key, h1.key);
/// assert_eq!(alice.decrypt(&h3, &c3, &config, &mut rng)?, b"three");
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone)]
pub struct DoubleRatchet {
    pub(crate) core: Core,
    pub(crate) skipped: SkippedKeys,
}

const NO_KEY: [u8; 33] = [0u8; 33];

impl DoubleRatchet {
    /// The initiator's session (status-go `NewWithRemoteKey`): a fresh
    /// ratchet key against the responder's signed prekey.
    pub fn new_initiator<R: CryptoRng + ?Sized>(
        shared_secret: &[u8; 32],
        their_signed_prekey: &[u8; 33],
        rng: &mut R,
    ) -> Result<Self, Error> {
        let dhs = KeyPair::generate(rng);
        let out = dh(&dhs.secret, their_signed_prekey)?;
        let (root, ck) = kdf_rk(shared_secret, &out);
        Ok(DoubleRatchet {
            core: Core {
                dhs,
                dhr: Some(*their_signed_prekey),
                root,
                send: Chain::new(ck),
                recv: Chain::new(Zeroizing::new(*shared_secret)),
                pn: 0,
            },
            skipped: SkippedKeys::default(),
        })
    }

    /// The responder's session (status-go `New`): the signed prekey is the
    /// first ratchet key.
    pub fn new_responder(shared_secret: &[u8; 32], signed_prekey: &SecretKey) -> Self {
        DoubleRatchet {
            core: Core {
                dhs: KeyPair::from_secret(signed_prekey.clone()),
                dhr: None,
                root: Zeroizing::new(*shared_secret),
                send: Chain::new(Zeroizing::new(*shared_secret)),
                recv: Chain::new(Zeroizing::new(*shared_secret)),
                pn: 0,
            },
            skipped: SkippedKeys::default(),
        }
    }

    /// Our current ratchet public key.
    pub fn ratchet_key(&self) -> [u8; 33] {
        self.core.dhs.public
    }

    /// Number of stored skipped message keys.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// Encrypts the next message of the sending chain.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> (Header, Vec<u8>) {
        let header = Header {
            key: self.core.dhs.public,
            n: self.core.send.n,
            pn: self.core.pn,
        };
        let mk = self.core.send.step();
        let ct = aead::seal(&mk, plaintext, &header.encode());
        (header, ct)
    }

    /// Decrypts a message, within the skipped-key bounds of `config`. On
    /// any error the session is unchanged (the RNG may have been drawn from).
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        header: &Header,
        ciphertext: &[u8],
        config: &crate::Config,
        rng: &mut R,
    ) -> Result<Vec<u8>, Error> {
        let limits = Limits {
            max_skip: config.max_skip,
            max_skipped_keys: config.max_skipped_keys,
        };
        let ad = header.encode();
        let id = (header.key, header.n);
        if let Some(mk) = self.skipped.keys.get(&id) {
            let plain = aead::open(mk, ciphertext, &ad)?;
            self.skipped.keys.remove(&id);
            return Ok(plain);
        }

        let mut new_skipped: Vec<(([u8; 33], u32), Key32)> = Vec::new();
        if self.core.dhr == Some(header.key) {
            // same receiving chain: only the chain moves, so only it is copied
            let mut recv = self.core.recv.clone();
            skip(&mut recv, header.key, header.n, limits, &mut new_skipped)?;
            let mk = recv.step();
            let plain = aead::open(&mk, ciphertext, &ad)?;
            self.core.recv = recv;
            self.keep_skipped(new_skipped, limits);
            return Ok(plain);
        }

        // a new ratchet key: finish the old receiving chain, then DH step
        let mut next = self.core.clone();
        let old = next.dhr.unwrap_or(NO_KEY);
        skip(&mut next.recv, old, header.pn, limits, &mut new_skipped)?;
        dh_ratchet(&mut next, &header.key, rng)?;
        skip(
            &mut next.recv,
            header.key,
            header.n,
            limits,
            &mut new_skipped,
        )?;
        let mk = next.recv.step();
        let plain = aead::open(&mk, ciphertext, &ad)?;

        self.core = next;
        self.keep_skipped(new_skipped, limits);
        Ok(plain)
    }

    fn keep_skipped(&mut self, keys: Vec<(([u8; 33], u32), Key32)>, limits: Limits) {
        for (id, mk) in keys {
            self.skipped.insert(id, mk, limits.max_skipped_keys);
        }
    }
}

fn skip(
    chain: &mut Chain,
    key: [u8; 33],
    until: u32,
    limits: Limits,
    out: &mut Vec<(([u8; 33], u32), Key32)>,
) -> Result<(), Error> {
    if until < chain.n {
        return Err(Error::DuplicateOrOld);
    }
    let gap = u64::from(until - chain.n);
    if gap > u64::from(limits.max_skip) {
        return Err(Error::TooBigMessageGap {
            got: gap,
            max: limits.max_skip,
        });
    }
    while chain.n < until {
        let n = chain.n;
        let mk = chain.step();
        out.push(((key, n), mk));
    }
    Ok(())
}

fn dh_ratchet<R: CryptoRng + ?Sized>(
    core: &mut Core,
    their_key: &[u8; 33],
    rng: &mut R,
) -> Result<(), Error> {
    // validate the key before touching the RNG-derived state; decompress it
    // once for both DH computations
    let their_pub = parse_compressed(their_key)?;
    let recv_secret = ecdh_x(&core.dhs.secret, &their_pub);
    core.pn = core.send.n;
    core.dhr = Some(*their_key);
    let (root, ck) = kdf_rk(&core.root, &recv_secret);
    core.root = root;
    core.recv = Chain::new(ck);
    core.dhs = KeyPair::generate(rng);
    let send_secret = ecdh_x(&core.dhs.secret, &their_pub);
    let (root, ck) = kdf_rk(&core.root, &send_secret);
    core.root = root;
    core.send = Chain::new(ck);
    Ok(())
}
