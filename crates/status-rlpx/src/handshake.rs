//! The RLPx encryption handshake (devp2p rlpx.md "Initial Handshake", EIP-8).
//!
//! The initiator sends `auth`, the recipient answers `ack`; both then derive
//! [`Secrets`]. Two encodings exist and both are spoken:
//!
//! - **EIP-8**: `size(u16 BE) || ECIES(rlp([...]) || padding)`, where the
//!   size prefix is also ECIES shared-mac data and the RLP list may carry
//!   more elements (and a higher version) than we know: they are ignored.
//! - **legacy** (pre-EIP-8): fixed-size plaintexts of 194 (`auth`) and 97
//!   (`ack`) bytes, 307 and 210 bytes once encrypted.
//!
//! A recipient answers in the format it was spoken to, as go-ethereum does.
//! Randomness comes from the caller's RNG in a fixed order (nonce or ephemeral
//! key, padding length, then the ECIES ephemeral key and IV), so a recorded
//! byte tape reproduces a packet exactly.

use rand_core::CryptoRng;
use rlp::{Rlp, RlpStream};
use status_core::{ecdh_x, ecies, keccak256, PublicKey, RecoverableSignature, SecretKey};
use zeroize::Zeroizing;

use crate::{Error, Secrets};

/// Length of the legacy `auth` plaintext: sig(65) || keccak(eph)(32) || pub(64) || nonce(32) || 0.
const AUTH_PLAIN_LEN: usize = 65 + 32 + 64 + 32 + 1;
/// Length of the legacy `ack` plaintext: eph pub(64) || nonce(32) || 0.
const ACK_PLAIN_LEN: usize = 64 + 32 + 1;
/// Encrypted legacy `auth` length (307).
pub const LEGACY_AUTH_LEN: usize = AUTH_PLAIN_LEN + ecies::OVERHEAD;
/// Encrypted legacy `ack` length (210).
pub const LEGACY_ACK_LEN: usize = ACK_PLAIN_LEN + ecies::OVERHEAD;
/// The handshake version we send (`auth-vsn`, `ack-vsn`).
pub const HANDSHAKE_VERSION: u64 = 4;

/// Which encoding a handshake message uses.
///
/// A recipient answers in the format it was spoken to:
///
/// ```
/// use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
/// use status_core::SecretKey;
/// use status_rlpx::handshake::{AuthFormat, Initiator, Recipient};
///
/// let mut rng = ChaCha20Rng::seed_from_u64(1);
/// let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
/// let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
/// use status_rlpx::handshake::{LEGACY_ACK_LEN, LEGACY_AUTH_LEN};
///
/// let a = Initiator::new(&mut rng, a_key, b_key.public_key(), AuthFormat::Legacy);
/// assert_eq!(a.auth_packet().len(), LEGACY_AUTH_LEN);
/// let b = Recipient::new(b_key);
/// let (auth, used) = b.read_auth(a.auth_packet())?.expect("whole auth");
/// assert_eq!(auth.format, AuthFormat::Legacy);
/// let (ack, _) = b.respond(&mut rng, &auth, &a.auth_packet()[..used]);
/// assert_eq!(ack.len(), LEGACY_ACK_LEN);
/// # Ok::<(), status_rlpx::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthFormat {
    /// EIP-8: size-prefixed, RLP, random padding. What everyone sends today.
    #[default]
    Eip8,
    /// Pre-EIP-8 fixed-size messages. Still accepted everywhere.
    Legacy,
}

/// Draws EIP-8 padding: 100 to 299 zero bytes, as go-ethereum pads.
fn padding_len<R: CryptoRng + ?Sized>(rng: &mut R) -> usize {
    100 + (rng.next_u32() % 200) as usize
}

fn xor32(a: &[u8; 32], b: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = x ^ y;
    }
    out
}

/// Encrypts an EIP-8 body: pads it, prefixes the size and authenticates the prefix.
fn seal_eip8<R: CryptoRng + ?Sized>(rng: &mut R, remote: &PublicKey, mut body: Vec<u8>) -> Vec<u8> {
    let pad = padding_len(rng);
    body.resize(body.len() + pad, 0);
    // The prefix is at most 2 + 65535; bodies here are < 1 KiB.
    let size = u16::try_from(body.len() + ecies::OVERHEAD).unwrap_or(u16::MAX);
    let prefix = size.to_be_bytes();
    let sealed = ecies::encrypt(rng, remote, &body, &prefix);
    let mut packet = Vec::with_capacity(2 + sealed.len());
    packet.extend_from_slice(&prefix);
    packet.extend_from_slice(&sealed);
    packet
}

/// A decrypted handshake packet and how many stream bytes it used.
struct Opened {
    len: usize,
    plain: Zeroizing<Vec<u8>>,
    format: AuthFormat,
}

/// Finds and decrypts one handshake packet at the front of `buf`.
///
/// Like go-ethereum: take the fixed legacy length first and try to decrypt it
/// without shared-mac data; if that fails, read the EIP-8 size prefix. Returns
/// `Ok(None)` until enough bytes are there.
fn open_packet(key: &SecretKey, buf: &[u8], legacy_len: usize) -> Result<Option<Opened>, Error> {
    if buf.len() < legacy_len {
        return Ok(None);
    }
    if let Ok(plain) = ecies::decrypt(key, &buf[..legacy_len], &[]) {
        return Ok(Some(Opened {
            len: legacy_len,
            plain: Zeroizing::new(plain),
            format: AuthFormat::Legacy,
        }));
    }
    let size = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
    if size < ecies::OVERHEAD {
        return Err(Error::MalformedHandshake {
            which: "handshake",
            reason: "size prefix smaller than the ECIES overhead",
        });
    }
    let Some(packet) = buf.get(..2 + size) else {
        return Ok(None);
    };
    let plain = ecies::decrypt(key, &packet[2..], &packet[..2])?;
    Ok(Some(Opened {
        len: 2 + size,
        plain: Zeroizing::new(plain),
        format: AuthFormat::Eip8,
    }))
}

/// How many bytes must have arrived before [`open_packet`] can answer other
/// than the "need more" it just gave for `buf`.
///
/// Once `legacy_len` bytes are there the legacy attempt has been made (and
/// more bytes do not change it); then only the whole EIP-8 packet its size
/// prefix announces can. Asking again sooner would redo the legacy attempt,
/// an ECDH, for every byte a peer trickles in.
pub(crate) fn bytes_needed(buf: &[u8], legacy_len: usize) -> usize {
    match buf {
        [hi, lo, ..] if buf.len() >= legacy_len => 2 + usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => legacy_len,
    }
}

/// The first RLP item of an EIP-8 body (the padding after it is ignored).
fn eip8_list<'a>(plain: &'a [u8], which: &'static str) -> Result<Rlp<'a>, Error> {
    let bad = |reason| Error::MalformedHandshake { which, reason };
    let info = Rlp::new(plain)
        .payload_info()
        .map_err(|_| bad("body is not RLP"))?;
    let end = info.header_len + info.value_len;
    let list = Rlp::new(plain.get(..end).ok_or(bad("RLP list overruns the body"))?);
    if !list.is_list() {
        return Err(bad("body is not an RLP list"));
    }
    Ok(list)
}

/// Reads list element `i` as exactly `N` bytes.
fn fixed<const N: usize>(
    list: &Rlp<'_>,
    i: usize,
    which: &'static str,
    reason: &'static str,
) -> Result<[u8; N], Error> {
    list.at(i)
        .ok()
        .filter(|item| item.is_data())
        .and_then(|item| item.data().ok().and_then(|d| <[u8; N]>::try_from(d).ok()))
        .ok_or(Error::MalformedHandshake { which, reason })
}

/// Reads the version element (any unsigned integer; only its presence matters).
fn version(list: &Rlp<'_>, i: usize, which: &'static str) -> Result<u64, Error> {
    let bad = Error::MalformedHandshake {
        which,
        reason: "missing or malformed version",
    };
    let item = list.at(i).map_err(|_| bad.clone())?;
    let data = item.data().map_err(|_| bad.clone())?;
    if !item.is_data() || data.len() > 8 || data.first() == Some(&0) {
        return Err(bad);
    }
    Ok(data.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// The fields of a decrypted `auth`: signature, initiator id, nonce, version.
type AuthFields = ([u8; 65], [u8; 64], [u8; 32], u64);

/// Parses a decrypted `auth` body in either format.
pub(crate) fn parse_auth(plain: &[u8], format: AuthFormat) -> Result<AuthFields, Error> {
    let bad = |reason| Error::MalformedHandshake {
        which: "auth",
        reason,
    };
    match format {
        AuthFormat::Legacy => {
            let field = |r: std::ops::Range<usize>| plain.get(r).ok_or(bad("short legacy auth"));
            Ok((
                field(0..65)?.try_into().map_err(|_| bad("bad signature"))?,
                field(97..161)?
                    .try_into()
                    .map_err(|_| bad("bad public key"))?,
                field(161..193)?.try_into().map_err(|_| bad("bad nonce"))?,
                4,
            ))
        }
        AuthFormat::Eip8 => {
            let list = eip8_list(plain, "auth")?;
            Ok((
                fixed(&list, 0, "auth", "bad signature")?,
                fixed(&list, 1, "auth", "bad public key")?,
                fixed(&list, 2, "auth", "bad nonce")?,
                version(&list, 3, "auth")?,
            ))
        }
    }
}

/// Parses a decrypted `ack` body: ephemeral key, nonce, version.
pub(crate) fn parse_ack(
    plain: &[u8],
    format: AuthFormat,
) -> Result<([u8; 64], [u8; 32], u64), Error> {
    let bad = |reason| Error::MalformedHandshake {
        which: "ack",
        reason,
    };
    match format {
        AuthFormat::Legacy => {
            let field = |r: std::ops::Range<usize>| plain.get(r).ok_or(bad("short legacy ack"));
            Ok((
                field(0..64)?
                    .try_into()
                    .map_err(|_| bad("bad ephemeral key"))?,
                field(64..96)?.try_into().map_err(|_| bad("bad nonce"))?,
                4,
            ))
        }
        AuthFormat::Eip8 => {
            let list = eip8_list(plain, "ack")?;
            Ok((
                fixed(&list, 0, "ack", "bad ephemeral key")?,
                fixed(&list, 1, "ack", "bad nonce")?,
                version(&list, 2, "ack")?,
            ))
        }
    }
}

/// What both sides know once the handshake is done.
#[derive(Debug)]
pub struct Completed {
    /// Frame secrets and MAC states.
    pub secrets: Secrets,
    /// The peer's static public key (its node id), proven by the handshake.
    pub remote: PublicKey,
    /// The format the handshake used.
    pub format: AuthFormat,
    /// The peer's announced handshake version (4 for legacy).
    pub remote_version: u64,
}

/// Derives the connection secrets (devp2p rlpx.md "Secrets").
///
/// `auth` and `ack` are the packets exactly as sent, size prefix included.
fn derive_secrets(
    initiator: bool,
    ephemeral: &SecretKey,
    remote_ephemeral: &PublicKey,
    init_nonce: &[u8; 32],
    resp_nonce: &[u8; 32],
    auth: &[u8],
    ack: &[u8],
) -> Secrets {
    let ecdhe = ecdh_x(ephemeral, remote_ephemeral);
    let mut nonces = [0u8; 64];
    nonces[..32].copy_from_slice(resp_nonce);
    nonces[32..].copy_from_slice(init_nonce);
    let mut buf = Zeroizing::new([0u8; 64]);
    buf[..32].copy_from_slice(&ecdhe[..]);
    buf[32..].copy_from_slice(&keccak256(&nonces));
    let shared = Zeroizing::new(keccak256(&buf[..]));
    buf[32..].copy_from_slice(&shared[..]);
    let aes = keccak256(&buf[..]);
    buf[32..].copy_from_slice(&aes);
    let mac = Zeroizing::new(keccak256(&buf[..]));

    let mut seed_auth = Vec::with_capacity(32 + auth.len());
    seed_auth.extend_from_slice(&xor32(&mac, resp_nonce)[..]);
    seed_auth.extend_from_slice(auth);
    let mut seed_ack = Vec::with_capacity(32 + ack.len());
    seed_ack.extend_from_slice(&xor32(&mac, init_nonce)[..]);
    seed_ack.extend_from_slice(ack);
    let (egress, ingress) = if initiator {
        (&seed_auth, &seed_ack)
    } else {
        (&seed_ack, &seed_auth)
    };
    Secrets::from_parts(aes, *mac, egress, ingress)
}

/// The initiator's side: built with the `auth` packet ready to send, it then
/// waits for the `ack`.
///
/// A whole handshake, without a [`Session`](crate::session::Session): both
/// sides end with the same secrets and mirrored MAC states.
///
/// ```
/// use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
/// use status_core::SecretKey;
/// use status_rlpx::handshake::{AuthFormat, Initiator, Recipient};
///
/// let mut rng = ChaCha20Rng::seed_from_u64(1);
/// let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
/// let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
///
/// let a = Initiator::new(&mut rng, a_key.clone(), b_key.public_key(), AuthFormat::Eip8);
/// let b = Recipient::new(b_key.clone());
/// let auth = a.auth_packet();
/// assert!(b.read_auth(&auth[..100])?.is_none()); // not all there yet
/// let (info, used) = b.read_auth(auth)?.expect("whole auth");
/// assert_eq!((used, info.remote), (auth.len(), a_key.public_key()));
///
/// let (ack, b_done) = b.respond(&mut rng, &info, &auth[..used]);
/// let (a_done, used) = a.handle_ack(&ack)?.expect("whole ack");
/// assert_eq!(used, ack.len());
/// assert_eq!(a_done.remote, b_key.public_key());
/// assert_eq!(a_done.secrets.aes_secret(), b_done.secrets.aes_secret());
/// assert_eq!(a_done.secrets.egress_mac_digest(), b_done.secrets.ingress_mac_digest());
/// assert_eq!(a_done.secrets.ingress_mac_digest(), b_done.secrets.egress_mac_digest());
/// # Ok::<(), status_rlpx::Error>(())
/// ```
pub struct Initiator {
    static_key: SecretKey,
    remote: PublicKey,
    ephemeral: SecretKey,
    nonce: [u8; 32],
    auth: Vec<u8>,
}

impl Initiator {
    /// Builds the `auth` message for `remote`, drawing the nonce, then the
    /// ephemeral key, then (EIP-8) the padding length and then the ECIES
    /// randomness from `rng`.
    pub fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        static_key: SecretKey,
        remote: PublicKey,
        format: AuthFormat,
    ) -> Self {
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut nonce);
        let ephemeral = SecretKey::random(rng);

        let token = ecdh_x(&static_key, &remote);
        let signed = xor32(&token, &nonce);
        let sig = ephemeral.sign_recoverable(&signed);
        let our_id = static_key.public_key().node_id();

        let auth = match format {
            AuthFormat::Eip8 => {
                let mut s = RlpStream::new_list(4);
                s.append(&&sig.as_bytes()[..]);
                s.append(&&our_id.as_bytes()[..]);
                s.append(&&nonce[..]);
                s.append(&HANDSHAKE_VERSION);
                seal_eip8(rng, &remote, s.out().to_vec())
            }
            AuthFormat::Legacy => {
                let mut plain = Zeroizing::new(Vec::with_capacity(AUTH_PLAIN_LEN));
                plain.extend_from_slice(sig.as_bytes());
                plain.extend_from_slice(&keccak256(ephemeral.public_key().node_id().as_bytes()));
                plain.extend_from_slice(our_id.as_bytes());
                plain.extend_from_slice(&nonce);
                plain.push(0);
                ecies::encrypt(rng, &remote, &plain, &[])
            }
        };
        Initiator {
            static_key,
            remote,
            ephemeral,
            nonce,
            auth,
        }
    }

    /// Resumes an initiator whose `auth` was built elsewhere (test vectors
    /// record the packet, not the randomness behind its ECIES layer).
    #[doc(hidden)]
    pub fn from_parts(
        static_key: SecretKey,
        remote: PublicKey,
        ephemeral: SecretKey,
        nonce: [u8; 32],
        auth: Vec<u8>,
    ) -> Self {
        Initiator {
            static_key,
            remote,
            ephemeral,
            nonce,
            auth,
        }
    }

    /// The `auth` packet to send.
    pub fn auth_packet(&self) -> &[u8] {
        &self.auth
    }

    /// The initiator nonce.
    pub fn nonce(&self) -> &[u8; 32] {
        &self.nonce
    }

    /// Tries to read the `ack` at the front of `buf`. `Ok(None)`: need more
    /// bytes. On success returns the secrets and the number of bytes used;
    /// what follows in `buf` is already framed traffic.
    pub fn handle_ack(&self, buf: &[u8]) -> Result<Option<(Completed, usize)>, Error> {
        let Some(opened) = open_packet(&self.static_key, buf, LEGACY_ACK_LEN)? else {
            return Ok(None);
        };
        let (eph, nonce, version) = parse_ack(&opened.plain, opened.format)?;
        let done = self.finish(&eph, &nonce, &buf[..opened.len], opened.format, version)?;
        Ok(Some((done, opened.len)))
    }

    fn finish(
        &self,
        remote_eph: &[u8; 64],
        resp_nonce: &[u8; 32],
        ack: &[u8],
        format: AuthFormat,
        remote_version: u64,
    ) -> Result<Completed, Error> {
        let remote_eph =
            PublicKey::from_slice(remote_eph).map_err(|_| Error::MalformedHandshake {
                which: "ack",
                reason: "ephemeral key is not on the curve",
            })?;
        let secrets = derive_secrets(
            true,
            &self.ephemeral,
            &remote_eph,
            &self.nonce,
            resp_nonce,
            &self.auth,
            ack,
        );
        Ok(Completed {
            secrets,
            remote: self.remote,
            format,
            remote_version,
        })
    }
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initiator")
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

/// The recipient's side: reads `auth`, answers with `ack`.
pub struct Recipient {
    static_key: SecretKey,
}

/// What a recipient learned from `auth`, before it answers.
pub struct Auth {
    /// The initiator's static key (its node id).
    pub remote: PublicKey,
    /// The initiator's ephemeral key, recovered from the signature.
    pub remote_ephemeral: PublicKey,
    /// The initiator nonce.
    pub nonce: [u8; 32],
    /// The format the initiator used (we answer in kind).
    pub format: AuthFormat,
    /// The initiator's announced version.
    pub version: u64,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("remote", &self.remote)
            .field("format", &self.format)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Recipient {
    /// A recipient holding our static key.
    pub fn new(static_key: SecretKey) -> Self {
        Recipient { static_key }
    }

    /// Tries to read and verify the `auth` at the front of `buf`. `Ok(None)`:
    /// need more bytes. Returns what it proved and the bytes it used.
    ///
    /// # Errors
    /// [`Error::Handshake`] when the packet does not decrypt for our key
    /// (it was meant for another node, or was tampered with),
    /// [`Error::MalformedHandshake`], [`Error::BadSignature`].
    ///
    /// ```
    /// use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
    /// use status_core::SecretKey;
    /// use status_rlpx::handshake::{AuthFormat, Initiator, Recipient};
    ///
    /// let mut rng = ChaCha20Rng::seed_from_u64(1);
    /// let a_key = SecretKey::from_bytes(&[1; 32]).unwrap();
    /// let b_key = SecretKey::from_bytes(&[2; 32]).unwrap();
    /// use status_core::ecies::EciesError;
    /// use status_rlpx::Error;
    ///
    /// // Dialed b's address with c's key in mind.
    /// let c_key = SecretKey::from_bytes(&[3; 32]).unwrap();
    /// let a = Initiator::new(&mut rng, a_key, c_key.public_key(), AuthFormat::Eip8);
    /// let err = Recipient::new(b_key).read_auth(a.auth_packet()).unwrap_err();
    /// assert_eq!(err, Error::Handshake(EciesError::BadMac));
    /// ```
    pub fn read_auth(&self, buf: &[u8]) -> Result<Option<(Auth, usize)>, Error> {
        let Some(opened) = open_packet(&self.static_key, buf, LEGACY_AUTH_LEN)? else {
            return Ok(None);
        };
        let (sig, remote_id, nonce, version_) = parse_auth(&opened.plain, opened.format)?;
        let bad = |reason| Error::MalformedHandshake {
            which: "auth",
            reason,
        };
        let remote =
            PublicKey::from_slice(&remote_id).map_err(|_| bad("public key is not on the curve"))?;
        let token = ecdh_x(&self.static_key, &remote);
        let signed = xor32(&token, &nonce);
        let remote_ephemeral = RecoverableSignature::from_slice(&sig)
            .and_then(|s| s.recover(&signed))
            .map_err(|_| Error::BadSignature)?;
        Ok(Some((
            Auth {
                remote,
                remote_ephemeral,
                nonce,
                format: opened.format,
                version: version_,
            },
            opened.len,
        )))
    }

    /// Answers a verified `auth`: draws the ephemeral key, then the nonce,
    /// then (EIP-8) padding and the ECIES randomness; returns the `ack`
    /// packet to send and the completed handshake.
    ///
    /// `auth_packet` is the auth exactly as received (it seeds a MAC).
    pub fn respond<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        auth: &Auth,
        auth_packet: &[u8],
    ) -> (Vec<u8>, Completed) {
        let ephemeral = SecretKey::random(rng);
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut nonce);
        let eph_id = ephemeral.public_key().node_id();
        let ack = match auth.format {
            AuthFormat::Eip8 => {
                let mut s = RlpStream::new_list(3);
                s.append(&&eph_id.as_bytes()[..]);
                s.append(&&nonce[..]);
                s.append(&HANDSHAKE_VERSION);
                seal_eip8(rng, &auth.remote, s.out().to_vec())
            }
            AuthFormat::Legacy => {
                let mut plain = Zeroizing::new(Vec::with_capacity(ACK_PLAIN_LEN));
                plain.extend_from_slice(eph_id.as_bytes());
                plain.extend_from_slice(&nonce);
                plain.push(0);
                ecies::encrypt(rng, &auth.remote, &plain, &[])
            }
        };
        let secrets = derive_secrets(
            false,
            &ephemeral,
            &auth.remote_ephemeral,
            &auth.nonce,
            &nonce,
            auth_packet,
            &ack,
        );
        let done = Completed {
            secrets,
            remote: auth.remote,
            format: auth.format,
            remote_version: auth.version,
        };
        (ack, done)
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recipient { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_bytes(&[b; 32]).unwrap()
    }

    fn run(format: AuthFormat) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let a = Initiator::new(&mut rng, key(1), key(2).public_key(), format);
        let b = Recipient::new(key(2));
        let packet = a.auth_packet().to_vec();
        // Byte-at-a-time arrival: nothing until the whole packet is there.
        for end in 0..packet.len() {
            assert!(b.read_auth(&packet[..end]).unwrap().is_none(), "at {end}");
        }
        let (auth, used) = b.read_auth(&packet).unwrap().unwrap();
        assert_eq!(used, packet.len());
        assert_eq!(auth.format, format);
        assert_eq!(auth.remote, key(1).public_key());
        let (ack, rdone) = b.respond(&mut rng, &auth, &packet);
        let mut stream = ack.clone();
        stream.extend_from_slice(b"trailing frame bytes");
        for end in 0..ack.len() {
            assert!(a.handle_ack(&stream[..end]).unwrap().is_none(), "at {end}");
        }
        let (idone, used) = a.handle_ack(&stream).unwrap().unwrap();
        assert_eq!(used, ack.len());
        assert_eq!(idone.remote, key(2).public_key());
        assert_eq!(idone.secrets.aes_secret(), rdone.secrets.aes_secret());
        assert_eq!(idone.secrets.mac_secret(), rdone.secrets.mac_secret());
        assert_eq!(
            idone.secrets.egress_mac_digest(),
            rdone.secrets.ingress_mac_digest()
        );
        assert_eq!(
            idone.secrets.ingress_mac_digest(),
            rdone.secrets.egress_mac_digest()
        );
    }

    #[test]
    fn eip8_handshake_agrees_on_secrets() {
        run(AuthFormat::Eip8);
    }

    #[test]
    fn legacy_handshake_agrees_on_secrets() {
        run(AuthFormat::Legacy);
    }

    #[test]
    fn auth_for_someone_else_is_rejected() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let a = Initiator::new(&mut rng, key(1), key(3).public_key(), AuthFormat::Eip8);
        let err = Recipient::new(key(2))
            .read_auth(a.auth_packet())
            .unwrap_err();
        assert_eq!(err, Error::Handshake(ecies::EciesError::BadMac));
    }

    #[test]
    fn tiny_size_prefix_is_malformed() {
        let mut buf = vec![0u8; LEGACY_AUTH_LEN];
        buf[1] = 10;
        assert!(matches!(
            Recipient::new(key(2)).read_auth(&buf),
            Err(Error::MalformedHandshake { .. })
        ));
    }
}
