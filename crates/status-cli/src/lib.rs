//! The `status` client and the pieces it shares with the chat demo
//! (`examples/chat-demo.rs`):
//!
//! - [`client`]: a [`status_protocol::Messenger`] over a running
//!   [`status_tokio::NodeHandle`] (DESIGN.md: "the glue loop between them
//!   is a few lines and lives in a library");
//! - [`mailserver`]: the mailserver role beside a running node.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod keystore;
pub mod mailserver;
pub mod node;

pub use client::{Client, Error, Update, Wake};
