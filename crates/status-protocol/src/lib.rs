//! The Status payload layer and the [`Messenger`]: public, 1:1 and group
//! chats (6/PAYLOADS, 7/GROUP-CHAT, 10/WAKU-USAGE), composed of the
//! finished layers below (status-encryption, status-mvds, status-waku,
//! status-keys), with persistence in a [`Store`](store::Store): in memory or
//! embedded SQLite.
//!
//! Byte truth is status-go v0.55.1: message ids, signatures, chat ids,
//! topics and keys match its vectors; where this crate departs from it
//! (group event ordering, stricter checks), the item's docs say so.
//!
//! ```text
//! ChatMessage -> ApplicationMetadataMessage (signed) -> MVDS payload
//!   -> ProtocolMessage (Double Ratchet per installation) -> Post
//!   -> [Waku: wrap, sign, seal, route] ... and back up as Input::Received
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bridge;
mod chat;
pub mod clock;
mod error;
pub mod filter;
pub mod group;
mod ids;
mod journal;
mod messenger;
pub mod metadata;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "sqlite")]
mod sqlite;
pub mod store;

pub use bridge::Bridge;
pub use chat::{Chat, Contact, Message, OutgoingStatus};
pub use error::Error;
pub use filter::{Filter, FilterId, FilterKey, Purpose};
pub use ids::{contact_id, one_to_one_group_id, parse_chat_key, ChatId, ChatKind, MessageId};
pub use messenger::{
    Command, Config, Event, Input, Messenger, Outcome, Output, Post, PostKey, Stats, WakuMessage,
};
pub use metadata::MessageType;
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SqliteStore};
pub use status_proto::protobuf::chat_message::ContentType;
