//! Topics and the Status derivations of topics and symmetric keys
//! (10/WAKU-USAGE, 3/WHISPER-USAGE; status-go `protocol/transport/topic.go`,
//! `filters_manager.go`, `waku.AddSymKeyFromPassword`).

use status_core::{ecdh_x, keccak256, PublicKey, SecretKey};
use zeroize::Zeroizing;

/// A 4-byte Waku topic (EIP-627 `TopicType`).
///
/// ```
/// use status_core::SecretKey;
/// use status_waku::Topic;
///
/// // The topic of the `#status` public chat (status-go vectors).
/// let status = Topic::from_name("status");
/// assert_eq!(status, Topic([0xcd, 0x42, 0x37, 0x60]));
/// assert_eq!(status.to_string(), "0xcd423760");
/// assert_eq!(Topic::from_slice(&[0xcd, 0x42, 0x37, 0x60]), Some(status));
/// assert_eq!(Topic::from_slice(&[1, 2, 3]), None);
///
/// // Both sides of a 1:1 chat derive the same negotiated topic.
/// let a = SecretKey::from_bytes(&[1; 32]).expect("a valid key");
/// let b = SecretKey::from_bytes(&[2; 32]).expect("a valid key");
/// assert_eq!(
///     Topic::negotiated(&a, &b.public_key()),
///     Topic::negotiated(&b, &a.public_key())
/// );
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Topic(pub [u8; 4]);

/// The name of the topic on which contact requests and partitioned 1:1
/// messages travel (10/WAKU-USAGE "contact-discovery").
pub const CONTACT_DISCOVERY: &str = "contact-discovery";

/// Number of partitions for the partitioned topic (10/WAKU-USAGE).
pub const PARTITIONS: u16 = 5000;

/// PBKDF2 iterations status-go uses in `AddSymKeyFromPassword`.
///
/// Note: 65356, not 65536 — a historical typo in go-ethereum's Whisper that
/// every client must reproduce to derive the same keys.
pub const PBKDF2_ITERATIONS: u32 = 65356;

impl Topic {
    /// The topic of a name: the first 4 bytes of keccak256(name)
    /// (status-go `ToTopic`).
    pub fn from_name(name: &str) -> Topic {
        let h = keccak256(name.as_bytes());
        Topic([h[0], h[1], h[2], h[3]])
    }

    /// From a 4-byte slice; `None` for any other length.
    pub fn from_slice(b: &[u8]) -> Option<Topic> {
        b.try_into().ok().map(Topic)
    }

    /// The `contact-discovery` topic (10/WAKU-USAGE).
    pub fn contact_discovery() -> Topic {
        Topic::from_name(CONTACT_DISCOVERY)
    }

    /// The partitioned topic of a public key: the topic of
    /// `contact-discovery-{X mod 5000}`, X the key's x-coordinate
    /// (10/WAKU-USAGE "partitioned topic").
    pub fn partitioned(key: &PublicKey) -> Topic {
        Topic::from_name(&partitioned_topic_name(key))
    }

    /// The personal discovery topic: the topic of
    /// `contact-discovery-{hex(uncompressed key)}` (status-go
    /// `PersonalDiscoveryTopic`).
    pub fn personal_discovery(key: &PublicKey) -> Topic {
        Topic::from_name(&personal_discovery_topic_name(key))
    }

    /// The topic negotiated with a peer: the topic of hex(ECDH x-coordinate)
    /// (10/WAKU-USAGE "negotiated topic").
    pub fn negotiated(ours: &SecretKey, theirs: &PublicKey) -> Topic {
        let name = negotiated_name(ours, theirs);
        Topic::from_name(&name)
    }
}

impl core::fmt::Debug for Topic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Topic({})", hex::encode(self.0))
    }
}

impl core::fmt::Display for Topic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

/// The symmetric key of a public chat (or any password): PBKDF2-HMAC-SHA256
/// with an empty salt, 65356 iterations, 32 bytes (status-go
/// `AddSymKeyFromPassword`; the mailserver password uses it too).
pub fn symmetric_key_from_password(password: &str) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), &[], PBKDF2_ITERATIONS, &mut key[..]);
    key
}

/// `contact-discovery-{X mod 5000}`.
pub fn partitioned_topic_name(key: &PublicKey) -> String {
    let x = &key.to_uncompressed()[1..33];
    let rem = x.iter().fold(0u32, |acc, &b| {
        (acc * 256 + u32::from(b)) % u32::from(PARTITIONS)
    });
    format!("{CONTACT_DISCOVERY}-{rem}")
}

/// `contact-discovery-{hex(uncompressed key)}`.
pub fn personal_discovery_topic_name(key: &PublicKey) -> String {
    format!("{CONTACT_DISCOVERY}-{}", hex::encode(key.to_uncompressed()))
}

/// `0x{hex(uncompressed key)}-contact-code`, the name of a user's contact
/// code channel; its key is [`symmetric_key_from_password`] of this name.
pub fn contact_code_topic_name(key: &PublicKey) -> String {
    format!("0x{}-contact-code", hex::encode(key.to_uncompressed()))
}

/// The shared secret of a negotiated topic: the ECDH x-coordinate (what
/// go-ethereum's `ecies.GenerateShared(skLen=16, macLen=16)` returns).
pub fn negotiated_secret(ours: &SecretKey, theirs: &PublicKey) -> Zeroizing<[u8; 32]> {
    ecdh_x(ours, theirs)
}

/// The filter name (and PBKDF2 password) of a negotiated topic: lowercase hex
/// of the shared secret, without `0x`.
fn negotiated_name(ours: &SecretKey, theirs: &PublicKey) -> Zeroizing<String> {
    Zeroizing::new(hex::encode(*negotiated_secret(ours, theirs)))
}

/// The symmetric key of a negotiated topic: PBKDF2 of hex(shared secret).
pub fn negotiated_symmetric_key(ours: &SecretKey, theirs: &PublicKey) -> Zeroizing<[u8; 32]> {
    symmetric_key_from_password(&negotiated_name(ours, theirs))
}
