//! Identifiers as status-go forms them: message ids, chat ids, contact ids.

use std::fmt;

use status_core::{keccak256, Digest, Keccak256, PublicKey};

use crate::Error;

/// A message's canonical id (status-go `v1protocol.MessageID`):
/// `keccak256(uncompressed author key (65 bytes) || wrapped bytes)`, where
/// the wrapped bytes are the `ApplicationMetadataMessage` exactly as
/// received, never re-encoded.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; 32]);

impl MessageId {
    /// The id of `wrapped` (an encoded `ApplicationMetadataMessage`) by
    /// `author`.
    ///
    /// ```
    /// use status_core::SecretKey;
    /// use status_protocol::{metadata, MessageId, MessageType};
    ///
    /// let key = SecretKey::from_bytes(&[0xaa; 32]).unwrap();
    /// let wrapped = metadata::wrap(b"hi", MessageType::ChatMessage, Some(&key));
    /// let got = metadata::unwrap(&wrapped).unwrap();
    /// assert_eq!(got.id, MessageId::of(&key.public_key(), &wrapped));
    /// ```
    pub fn of(author: &PublicKey, wrapped: &[u8]) -> MessageId {
        let mut h = Keccak256::new();
        h.update(author.to_uncompressed());
        h.update(wrapped);
        MessageId(h.finalize().into())
    }

    /// Parses the `0x`-prefixed hex form status-go uses in `response_to`.
    pub fn from_hex(s: &str) -> Option<MessageId> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).ok()?;
        Some(MessageId(out))
    }

    /// The `0x`-prefixed hex form (status-go `types.EncodeHex`).
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", &self.to_hex()[..14])
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What kind of conversation a chat is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatKind {
    /// A public channel: topic and key from its name, no encryption layer.
    Public,
    /// A one-to-one chat.
    OneToOne,
    /// A private group chat (7/GROUP-CHAT).
    Group,
}

impl ChatKind {
    /// `public`, `1:1` or `group`, as the examples label lines.
    pub fn label(self) -> &'static str {
        match self {
            ChatKind::Public => "public",
            ChatKind::OneToOne => "1:1",
            ChatKind::Group => "group",
        }
    }
}

/// A chat's id in status-go's forms: the channel name for a public chat,
/// the partner's [`contact_id`] for a 1:1 chat, `uuid-<creator contact id>`
/// for a group chat. Handed out by the [`Messenger`](crate::Messenger).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId(pub(crate) String);

impl ChatId {
    /// The id as status-go writes it in `ChatMessage.chat_id`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 1:1 chat id with `key`.
    pub fn one_to_one(key: &PublicKey) -> ChatId {
        ChatId(contact_id(key))
    }

    /// A public chat's id, after checking the name (2/ACCOUNT: `[a-z0-9\-]`,
    /// not a public key).
    ///
    /// ```
    /// use status_protocol::ChatId;
    /// assert_eq!(ChatId::public("status").unwrap().as_str(), "status");
    /// assert!(ChatId::public("Status!").is_err());
    /// ```
    pub fn public(name: &str) -> Result<ChatId, Error> {
        let ok = !name.is_empty()
            && name.len() <= MAX_CHAT_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && parse_chat_key(name).is_err();
        if ok {
            Ok(ChatId(name.to_owned()))
        } else {
            Err(Error::InvalidChatName(name.to_owned()))
        }
    }

    /// Wraps an id as received (a group or public chat id from a payload).
    pub(crate) fn from_wire(s: &str) -> ChatId {
        ChatId(s.to_owned())
    }
}

impl fmt::Debug for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() > 24 {
            write!(f, "ChatId({}…)", &self.0[..22])
        } else {
            write!(f, "ChatId({})", self.0)
        }
    }
}

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest public chat name accepted.
pub(crate) const MAX_CHAT_NAME: usize = 256;

/// A contact's id in status-go (`contactIDFromPublicKey`): `0x` and the hex
/// of the uncompressed key.
///
/// ```
/// use status_core::SecretKey;
/// let key = SecretKey::from_bytes(&[0xaa; 32]).unwrap().public_key();
/// assert!(status_protocol::contact_id(&key).starts_with("0x04"));
/// ```
pub fn contact_id(key: &PublicKey) -> String {
    format!("0x{}", hex::encode(key.to_uncompressed()))
}

/// Parses a chat key as a person types or pastes it: `0x04…` (status-go's
/// contact id), bare uncompressed or compressed hex, or a 2/ACCOUNT
/// multibase key (`zQ3…`).
///
/// ```
/// use status_core::SecretKey;
/// use status_protocol::{contact_id, parse_chat_key};
/// let key = SecretKey::from_bytes(&[0xaa; 32]).unwrap().public_key();
/// assert_eq!(parse_chat_key(&contact_id(&key)).unwrap(), key);
/// assert!(parse_chat_key("0x1234").is_err());
/// ```
pub fn parse_chat_key(s: &str) -> Result<PublicKey, Error> {
    let s = s.trim();
    let bad = || Error::InvalidChatKey(s.chars().take(80).collect());
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if digits.len() == 130 || digits.len() == 66 {
        if let Ok(bytes) = hex::decode(digits) {
            return PublicKey::from_slice(&bytes).map_err(|_| bad());
        }
    }
    if s.starts_with('z') || s.starts_with('f') {
        return status_keys::decode_public_key(s).map_err(|_| bad());
    }
    Err(bad())
}

/// The MVDS group id of a 1:1 conversation (status-go
/// `datasync.ToOneToOneGroupID`): keccak256 of both compressed keys, the
/// one with the smaller X coordinate first.
pub fn one_to_one_group_id(a: &PublicKey, b: &PublicKey) -> [u8; 32] {
    let (ca, cb) = (a.to_compressed(), b.to_compressed());
    // X is bytes 1..33 of the compressed form, big-endian.
    let (first, second) = if ca[1..] < cb[1..] {
        (ca, cb)
    } else {
        (cb, ca)
    };
    let mut both = [0u8; 66];
    both[..33].copy_from_slice(&first);
    both[33..].copy_from_slice(&second);
    keccak256(&both)
}
