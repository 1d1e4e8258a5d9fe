//! Message and group identifiers (2/MVDS "Payloads").

use sha2::{Digest, Sha256};
use status_proto::mvds::Message;

use crate::Error;

/// 2/MVDS message identifier: `sha256("MESSAGE_ID" || group_id ||
/// timestamp || body)`.
///
/// The spec leaves the field encoding open; vacp2p/mvds
/// (`protobuf/messageid.go`, as vendored in status-go v0.55.1) writes the
/// timestamp as 8 little-endian bytes of its `int64`, and that is what
/// status-go peers compute, so that is what [`MessageId::of`] does.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub [u8; 32]);

impl MessageId {
    /// The id of `message`, exactly as vacp2p/mvds computes it.
    ///
    /// ```
    /// use status_mvds::{Error, Message, MessageId};
    ///
    /// let m = Message { group_id: vec![7; 32], timestamp: 1, body: b"hi".to_vec() };
    /// let id = MessageId::of(&m);
    /// assert_eq!(MessageId::from_slice(&id.0)?, id);
    /// assert_ne!(MessageId::of(&Message { timestamp: 2, ..m }), id);
    /// assert_eq!(MessageId::from_slice(&[0; 31]), Err(Error::InvalidMessageId(31)));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn of(message: &Message) -> MessageId {
        let mut h = Sha256::new();
        h.update(b"MESSAGE_ID");
        h.update(&message.group_id);
        h.update(message.timestamp.to_le_bytes());
        h.update(&message.body);
        MessageId(h.finalize().into())
    }

    /// An id from wire bytes (an ack, offer or request record).
    pub fn from_slice(bytes: &[u8]) -> Result<MessageId, Error> {
        <[u8; 32]>::try_from(bytes)
            .map(MessageId)
            .map_err(|_| Error::InvalidMessageId(bytes.len()))
    }
}

impl std::fmt::Debug for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageId({})", hex::encode(&self.0[..8]))
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// 2/MVDS group identifier: an independent synchronization context.
///
/// vacp2p/mvds fixes it at 32 bytes (`state.GroupID`); status-go derives it
/// as keccak256 of the chat id, or of both compressed keys for 1:1 chats
/// (`protocol/datasync/utils.go`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct GroupId(pub [u8; 32]);
