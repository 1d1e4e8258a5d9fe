//! The message payload carried in [`Envelope::data`]: the Whisper v6 format
//! (EIP-627 "Payload Encryption", 6/WAKU1), encrypted symmetrically or
//! asymmetrically, as status-go `waku/common/message.go` builds and parses it.
//!
//! ```text
//! plaintext = flags(1) | size(1..=3 bytes LE, count in flags & 3) | payload
//!             | padding | [signature(65) if flags & 4]
//! signature = sign(keccak256(everything before it, flags with bit 4 set))
//! symmetric : AES-256-GCM(key, nonce, plaintext) ++ tag(16) ++ nonce(12)
//! asymmetric: ECIES(recipient, plaintext)  (status_core::ecies, empty s1/s2)
//! ```
//!
//! Random padding brings `flags + size + payload (+ signature)` to the next
//! multiple of 256 bytes; a full 256 bytes is added when it is already a
//! multiple (status-go `appendPadding`).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use rand_core::CryptoRng;
use status_core::{keccak256, PublicKey, RecoverableSignature, SecretKey, Timestamp};
use zeroize::Zeroizing;

use crate::{Envelope, Error, SealOutcome, Topic};

/// Length of a recoverable signature.
pub const SIGNATURE_LENGTH: usize = 65;
/// Length of the AES-GCM nonce appended to symmetric ciphertexts.
pub const AES_NONCE_LENGTH: usize = 12;
/// Length of the AES-GCM tag.
pub const AES_TAG_LENGTH: usize = 16;
/// Random padding aligns the plaintext to this many bytes.
pub const PADDING_BLOCK: usize = 256;
/// Default time to live of a message (status-go `DefaultTTL`, seconds).
pub const DEFAULT_TTL: u32 = 50;

const SIZE_MASK: u8 = 3;
const SIGNATURE_FLAG: u8 = 4;

/// A 32-byte AES-256-GCM key (public chats: [`crate::topic::symmetric_key_from_password`]).
pub type SymmetricKey = [u8; 32];

/// How a message is encrypted.
#[derive(Clone, Copy, Debug)]
pub enum Encryption<'a> {
    /// AES-256-GCM with a shared key.
    Symmetric(&'a SymmetricKey),
    /// ECIES to the recipient's public key.
    Asymmetric(&'a PublicKey),
}

/// A key [`open`] may try.
#[derive(Clone, Copy)]
pub enum OpenKey<'a> {
    /// A symmetric key.
    Symmetric(&'a SymmetricKey),
    /// Our private key, for messages encrypted to us.
    Asymmetric(&'a SecretKey),
}

impl core::fmt::Debug for OpenKey<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            OpenKey::Symmetric(_) => "OpenKey::Symmetric(..)",
            OpenKey::Asymmetric(_) => "OpenKey::Asymmetric(..)",
        })
    }
}

/// What to send: the input of [`wrap`] (status-go `MessageParams`).
///
/// Start from [`MessageParams::new`] and set the fields that differ:
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_core::Timestamp;
/// use status_waku::{wrap, Encryption, Error, MessageParams, Topic};
///
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
/// let key = [7u8; 32];
/// let mut params = MessageParams::new(b"hello", Encryption::Symmetric(&key), Topic([1, 2, 3, 4]));
/// params.ttl = 20;
/// params.pow_target = 1e6; // far beyond what 16 nonces reach
/// params.max_pow_attempts = 16;
/// let now = Timestamp::from_secs(1_700_000_000);
/// assert!(matches!(
///     wrap(&mut rng, &params, now),
///     Err(Error::PowTargetNotReached { attempts: 16, .. })
/// ));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MessageParams<'a> {
    /// The application payload.
    pub payload: &'a [u8],
    /// Padding to use as is; `None` draws random padding from the RNG.
    pub padding: Option<&'a [u8]>,
    /// Signs the message when set.
    pub signer: Option<&'a SecretKey>,
    /// The key the message is encrypted with.
    pub encryption: Encryption<'a>,
    /// Topic of the envelope.
    pub topic: Topic,
    /// Time to live in seconds (0 means [`DEFAULT_TTL`], as in status-go).
    pub ttl: u32,
    /// Proof-of-work target; 0 skips sealing.
    pub pow_target: f64,
    /// Upper bound on nonces tried when sealing (default
    /// [`DEFAULT_MAX_POW_ATTEMPTS`]). A budget in attempts, not seconds,
    /// keeps sealing deterministic; split longer searches with
    /// [`crate::PowSearch`] and check your own clock between slices.
    pub max_pow_attempts: u64,
}

/// Default sealing budget: 2^21 nonces, about one second of search at the
/// keccak-f rate of the machines we measure on (ANCHORS.md). Enough for
/// the small targets Status uses (0.002); a post does not fail merely
/// because the caller left the budget at zero.
pub const DEFAULT_MAX_POW_ATTEMPTS: u64 = 1 << 21;

impl<'a> MessageParams<'a> {
    /// Parameters for an unsigned, randomly padded message with the default
    /// TTL and no proof of work (set `pow_target` to seal; the default
    /// budget is [`DEFAULT_MAX_POW_ATTEMPTS`]).
    pub fn new(payload: &'a [u8], encryption: Encryption<'a>, topic: Topic) -> Self {
        MessageParams {
            payload,
            padding: None,
            signer: None,
            encryption,
            topic,
            ttl: DEFAULT_TTL,
            pow_target: 0.0,
            max_pow_attempts: DEFAULT_MAX_POW_ATTEMPTS,
        }
    }
}

/// Bytes needed for the little-endian payload size field (status-go
/// `getSizeOfPayloadSizeField`).
fn size_field_len(payload_len: usize) -> usize {
    let mut s = 1;
    let mut i = payload_len;
    while i >= 256 {
        s += 1;
        i /= 256;
    }
    s
}

/// Builds the plaintext: flags, size field, payload, padding and the optional
/// signature. Random padding (when `padding` is `None`) is drawn from `rng`.
pub fn build_plaintext<R: CryptoRng + ?Sized>(
    rng: &mut R,
    payload: &[u8],
    padding: Option<&[u8]>,
    signer: Option<&SecretKey>,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let size_len = size_field_len(payload.len());
    // The flags byte has 2 bits for the size field length: at most 3 bytes.
    if size_len > 3 {
        return Err(Error::PayloadTooLarge(payload.len()));
    }
    let mut raw = Zeroizing::new(Vec::with_capacity(
        1 + size_len
            + payload.len()
            + SIGNATURE_LENGTH
            + PADDING_BLOCK
            + padding.map_or(0, <[u8]>::len),
    ));
    raw.push(size_len as u8);
    raw.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..size_len]);
    raw.extend_from_slice(payload);
    match padding {
        Some(p) => raw.extend_from_slice(p),
        None => {
            let mut raw_size = raw.len();
            if signer.is_some() {
                raw_size += SIGNATURE_LENGTH;
            }
            let pad = PADDING_BLOCK - raw_size % PADDING_BLOCK;
            let start = raw.len();
            raw.resize(start + pad, 0);
            rng.fill_bytes(&mut raw[start..]);
        }
    }
    if let Some(key) = signer {
        raw[0] |= SIGNATURE_FLAG;
        let sig = key.sign_recoverable(&keccak256(&raw));
        raw.extend_from_slice(sig.as_bytes());
    }
    Ok(raw)
}

/// Encrypts a plaintext into envelope data.
///
/// Symmetric: the 12-byte AES-GCM nonce is drawn from `rng` and appended
/// after the tag, as status-go does. (status-go XORs its `crypto/rand` bytes
/// with `math/rand` bytes for this nonce; any uniformly random nonce is
/// equivalent on the wire.) Asymmetric: ECIES, drawing the ephemeral key and
/// IV from `rng`.
pub fn encrypt<R: CryptoRng + ?Sized>(
    rng: &mut R,
    plaintext: &[u8],
    encryption: Encryption<'_>,
) -> Vec<u8> {
    match encryption {
        Encryption::Symmetric(key) => {
            let mut nonce = [0u8; AES_NONCE_LENGTH];
            rng.fill_bytes(&mut nonce);
            let mut out = Vec::with_capacity(plaintext.len() + AES_TAG_LENGTH + AES_NONCE_LENGTH);
            out.extend_from_slice(plaintext);
            let cipher = Aes256Gcm::new(key.into());
            // Fails only for plaintexts above 64 GiB, which cannot be built.
            let tag = cipher
                .encrypt_in_place_detached(Nonce::from_slice(&nonce), &[], &mut out)
                .unwrap_or_default();
            out.extend_from_slice(&tag);
            out.extend_from_slice(&nonce);
            out
        }
        Encryption::Asymmetric(recipient) => {
            status_core::ecies::encrypt(rng, recipient, plaintext, &[])
        }
    }
}

/// Builds, signs, encrypts and seals a message into an envelope created at
/// `now` (status-go `NewSentMessage` + `Wrap`: `expiry = now + ttl`).
/// Fails with [`Error::PowTargetNotReached`] when `max_pow_attempts` nonces
/// do not reach `pow_target`.
///
/// Randomness is drawn in status-go's order: padding, then the AES-GCM
/// nonce or the ECIES ephemeral key and IV.
///
/// A signed message to a symmetric key (a public chat), sealed to Status'
/// PoW target:
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_core::{SecretKey, Timestamp};
/// use status_waku::{wrap, Encryption, MessageParams, OpenKey, Topic};
///
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
/// let me = SecretKey::random(&mut rng);
/// let key = [7u8; 32];
/// let mut params = MessageParams::new(b"hello", Encryption::Symmetric(&key), Topic([1, 2, 3, 4]));
/// params.signer = Some(&me);
/// params.pow_target = 0.002;
/// let envelope = wrap(&mut rng, &params, Timestamp::from_secs(1_700_000_000))?;
/// assert_eq!(envelope.expiry, 1_700_000_000 + 50); // DEFAULT_TTL
/// assert!(envelope.pow() >= 0.002);
///
/// let message = envelope.open(&[OpenKey::Symmetric(&key)])?;
/// assert_eq!(message.payload(), b"hello");
/// assert_eq!(message.signer(), Some(&me.public_key()));
/// // Flags, size, payload, padding and signature: one 256-byte block.
/// assert_eq!(message.plaintext().len(), 256);
/// # Ok::<(), status_waku::Error>(())
/// ```
pub fn wrap<R: CryptoRng + ?Sized>(
    rng: &mut R,
    params: &MessageParams<'_>,
    now: Timestamp,
) -> Result<Envelope, Error> {
    let raw = build_plaintext(rng, params.payload, params.padding, params.signer)?;
    let data = encrypt(rng, &raw, params.encryption);
    let ttl = if params.ttl == 0 {
        DEFAULT_TTL
    } else {
        params.ttl
    };
    let now_secs = u32::try_from(now.as_secs()).unwrap_or(u32::MAX);
    let mut env = Envelope::new(now_secs, ttl, params.topic, data);
    if params.pow_target != 0.0 {
        if let SealOutcome::Exhausted {
            best_bits,
            attempts,
            ..
        } = env.seal(params.pow_target, params.max_pow_attempts)?
        {
            return Err(Error::PowTargetNotReached {
                target_bits: env.pow_target_bits(params.pow_target),
                best_bits,
                attempts,
            });
        }
    }
    Ok(env)
}

/// A message opened by [`open`] (status-go `ReceivedMessage`).
#[derive(Clone)]
pub struct ReceivedMessage {
    raw: Zeroizing<Vec<u8>>,
    payload: core::ops::Range<usize>,
    padding: core::ops::Range<usize>,
    signature: Option<RecoverableSignature>,
    signer: Option<PublicKey>,
    key_index: usize,
    aes_nonce: Option<[u8; AES_NONCE_LENGTH]>,
}

impl core::fmt::Debug for ReceivedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReceivedMessage")
            .field("payload_len", &self.payload.len())
            .field("padding_len", &self.padding.len())
            .field("signer", &self.signer)
            .field("key_index", &self.key_index)
            .finish()
    }
}

impl ReceivedMessage {
    /// The application payload.
    pub fn payload(&self) -> &[u8] {
        self.raw.get(self.payload.clone()).unwrap_or_default()
    }

    /// The padding.
    pub fn padding(&self) -> &[u8] {
        self.raw.get(self.padding.clone()).unwrap_or_default()
    }

    /// The whole decrypted plaintext.
    pub fn plaintext(&self) -> &[u8] {
        &self.raw
    }

    /// The signature, if the message was signed.
    pub fn signature(&self) -> Option<&RecoverableSignature> {
        self.signature.as_ref()
    }

    /// The public key that signed the message, if it was signed.
    pub fn signer(&self) -> Option<&PublicKey> {
        self.signer.as_ref()
    }

    /// Index, in the keys given to [`open`], of the key that opened it.
    pub fn key_index(&self) -> usize {
        self.key_index
    }

    /// The AES-GCM nonce of a symmetric message.
    pub fn aes_nonce(&self) -> Option<&[u8; AES_NONCE_LENGTH]> {
        self.aes_nonce.as_ref()
    }
}

/// Decrypts symmetric envelope data (`ciphertext || tag || nonce`).
fn decrypt_symmetric(
    key: &SymmetricKey,
    data: &[u8],
) -> Option<(Zeroizing<Vec<u8>>, [u8; AES_NONCE_LENGTH])> {
    let body_len = data.len().checked_sub(AES_NONCE_LENGTH + AES_TAG_LENGTH)?;
    let (body, rest) = data.split_at(body_len);
    let (tag, nonce) = rest.split_at(AES_TAG_LENGTH);
    let nonce: [u8; AES_NONCE_LENGTH] = nonce.try_into().ok()?;
    let mut buf = Zeroizing::new(body.to_vec());
    Aes256Gcm::new(key.into())
        .decrypt_in_place_detached(
            Nonce::from_slice(&nonce),
            &[],
            &mut buf,
            Tag::from_slice(tag),
        )
        .ok()?;
    Some((buf, nonce))
}

/// Tries each key in order on envelope data; the first that decrypts it wins,
/// then the plaintext is parsed and a signer recovered (status-go
/// `OpenSymmetric`/`OpenAsymmetric` + `ValidateAndParse`).
///
/// Errors: [`Error::NoMatchingKey`] when no key decrypts;
/// [`Error::MalformedMessage`] / [`Error::InvalidSignature`] when the
/// plaintext is not a valid Whisper v6 payload (status-go drops those too).
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_core::{SecretKey, Timestamp};
/// use status_waku::message::encrypt;
/// use status_waku::{open, wrap, Encryption, Error, MessageParams, OpenKey, Topic};
///
/// let mut rng = rand_chacha::ChaCha20Rng::from_seed([2; 32]);
/// let (alice, bob) = (SecretKey::random(&mut rng), SecretKey::random(&mut rng));
/// let bob_public = bob.public_key();
/// let to_bob = Encryption::Asymmetric(&bob_public);
/// let mut params = MessageParams::new(b"for bob", to_bob, Topic([1, 2, 3, 4]));
/// params.signer = Some(&alice);
/// let envelope = wrap(&mut rng, &params, Timestamp::from_secs(1_700_000_000))?;
///
/// // Keys are tried in order; the message says which one opened it.
/// let chat_key = [7u8; 32];
/// let keys = [OpenKey::Symmetric(&chat_key), OpenKey::Asymmetric(&bob)];
/// let message = open(&envelope.data, &keys)?;
/// assert_eq!(message.payload(), b"for bob");
/// assert_eq!(message.key_index(), 1);
/// assert_eq!(message.signer(), Some(&alice.public_key()));
///
/// // Nobody else can read it.
/// let err = open(&envelope.data, &[OpenKey::Asymmetric(&alice)]).unwrap_err();
/// assert_eq!(err, Error::NoMatchingKey);
/// // A plaintext whose flags announce a 2-byte size field it lacks.
/// let data = encrypt(&mut rng, &[0x02, 0x01], Encryption::Symmetric(&chat_key));
/// let err = open(&data, &[OpenKey::Symmetric(&chat_key)]).unwrap_err();
/// assert!(matches!(err, Error::MalformedMessage(_)));
/// # Ok::<(), Error>(())
/// ```
pub fn open(data: &[u8], keys: &[OpenKey<'_>]) -> Result<ReceivedMessage, Error> {
    for (i, key) in keys.iter().enumerate() {
        let (raw, nonce) = match key {
            OpenKey::Symmetric(k) => match decrypt_symmetric(k, data) {
                Some((raw, nonce)) => (raw, Some(nonce)),
                None => continue,
            },
            OpenKey::Asymmetric(sk) => match status_core::ecies::decrypt(sk, data, &[]) {
                Ok(raw) => (Zeroizing::new(raw), None),
                Err(_) => continue,
            },
        };
        return parse(raw, i, nonce);
    }
    Err(Error::NoMatchingKey)
}

/// Parses a decrypted plaintext (status-go `ValidateAndParse`, with bounds
/// checked strictly where Go would slice past the end).
fn parse(
    raw: Zeroizing<Vec<u8>>,
    key_index: usize,
    aes_nonce: Option<[u8; AES_NONCE_LENGTH]>,
) -> Result<ReceivedMessage, Error> {
    let flags = *raw
        .first()
        .ok_or(Error::MalformedMessage("empty plaintext"))?;
    let mut end = raw.len();
    let mut signature = None;
    let mut signer = None;
    if flags & SIGNATURE_FLAG != 0 {
        end = end
            .checked_sub(SIGNATURE_LENGTH)
            .filter(|&e| e > 1)
            .ok_or(Error::MalformedMessage("too short for its signature"))?;
        let (signed, sig) = raw.split_at(end);
        // go-ethereum's Ecrecover accepts only v in 0..=3.
        if sig.get(64).is_none_or(|&v| v > 3) {
            return Err(Error::InvalidSignature);
        }
        let sig = RecoverableSignature::from_slice(sig).map_err(|_| Error::InvalidSignature)?;
        let pk = sig
            .recover(&keccak256(signed))
            .map_err(|_| Error::InvalidSignature)?;
        signature = Some(sig);
        signer = Some(pk);
    }
    let size_len = usize::from(flags & SIZE_MASK);
    let mut beg = 1;
    let mut payload = beg..beg;
    if size_len != 0 {
        let field = raw
            .get(beg..beg + size_len)
            .filter(|_| beg + size_len <= end)
            .ok_or(Error::MalformedMessage("truncated payload size"))?;
        let size = field
            .iter()
            .rev()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        beg += size_len;
        if beg + size > end {
            return Err(Error::MalformedMessage("payload size exceeds the message"));
        }
        payload = beg..beg + size;
        beg += size;
    }
    Ok(ReceivedMessage {
        payload,
        padding: beg..end,
        signature,
        signer,
        key_index,
        aes_nonce,
        raw,
    })
}

impl Envelope {
    /// Opens this envelope's data with the first of `keys` that fits
    /// (see [`open`]).
    pub fn open(&self, keys: &[OpenKey<'_>]) -> Result<ReceivedMessage, Error> {
        open(&self.data, keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn size_field_grows_at_256_and_65536() {
        assert_eq!(size_field_len(0), 1);
        assert_eq!(size_field_len(255), 1);
        assert_eq!(size_field_len(256), 2);
        assert_eq!(size_field_len(65_535), 2);
        assert_eq!(size_field_len(65_536), 3);
        assert_eq!(size_field_len(1 << 24), 4);
    }

    #[test]
    fn random_padding_aligns_to_256_including_the_signature() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
        let sk = SecretKey::from_bytes(&[7; 32]).unwrap();
        for len in [0usize, 1, 100, 254, 255, 256, 1000] {
            let p = vec![9u8; len];
            let raw = build_plaintext(&mut rng, &p, None, None).unwrap();
            assert_eq!(raw.len() % PADDING_BLOCK, 0);
            let raw = build_plaintext(&mut rng, &p, None, Some(&sk)).unwrap();
            assert_eq!(raw.len() % PADDING_BLOCK, 0);
        }
    }

    #[test]
    fn a_payload_needing_a_4_byte_size_field_is_refused() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
        let p = vec![0u8; 1 << 24];
        assert_eq!(
            build_plaintext(&mut rng, &p, Some(&[]), None).unwrap_err(),
            Error::PayloadTooLarge(1 << 24)
        );
    }

    #[test]
    fn wrap_fails_when_the_pow_budget_runs_out() {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([1; 32]);
        let key = [1u8; 32];
        let mut p = MessageParams::new(b"x", Encryption::Symmetric(&key), Topic([1; 4]));
        p.pow_target = 1e6;
        p.max_pow_attempts = 10;
        let err = wrap(&mut rng, &p, Timestamp::from_secs(100)).unwrap_err();
        assert!(matches!(
            err,
            Error::PowTargetNotReached { attempts: 10, .. }
        ));
    }

    #[test]
    fn malformed_plaintexts_are_typed_errors() {
        let z = |v: &[u8]| Zeroizing::new(v.to_vec());
        assert!(parse(z(&[]), 0, None).is_err());
        assert!(parse(z(&[1]), 0, None).is_err());
        assert!(parse(z(&[1, 5, 0]), 0, None).is_err());
        assert!(parse(z(&[2, 1]), 0, None).is_err());
        assert!(parse(z(&[4; 60]), 0, None).is_err());
        let ok = parse(z(&[1, 2, 7, 8, 9]), 0, None).unwrap();
        assert_eq!(ok.payload(), &[7, 8]);
        assert_eq!(ok.padding(), &[9]);
        let ok = parse(z(&[0, 7]), 0, None).unwrap();
        assert_eq!(ok.payload(), &[] as &[u8]);
        assert_eq!(ok.padding(), &[7]);
    }
}
