//! Runtime-agnostic driver core for status-rs: everything a driver needs
//! around the sans-IO [`status_rlpx::session::Session`] that does not touch
//! a particular async runtime.
//!
//! [`Connection<R>`](Connection) and its cloneable [`Handle`] are the
//! application's side; a task per connection runs the session over a TCP
//! socket, feeding it what the socket read, writing what
//! [`Session::poll_transmit`](status_rlpx::session::Session::poll_transmit)
//! yields, arming one timer at
//! [`Session::poll_timeout`](status_rlpx::session::Session::poll_timeout),
//! and routing its events to [`Connection::recv`] and to waiting pings and
//! disconnects. Everything in between is bounded: commands wait while the
//! socket is behind, and the task stops reading while the application is
//! not taking events, so TCP pushes back on the peer.
//!
//! The socket, the timer and spawning come from a [`Runtime`]: the
//! `status-tokio` and `status-smol` crates implement it and export
//! `Connection` as an alias for their runtime. The channels are
//! [`async_channel`]'s, which work under any executor (smol re-exports them
//! as `smol::channel`). [`os`] reads the wall clock and the OS RNG.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connection;
pub mod dns;
mod error;
mod event;
pub mod node;
pub mod os;
mod run;
mod runtime;

pub use connection::{Connection, Handle};
pub use error::DriverError;
pub use event::{Direction, Event, Message};
pub use runtime::Runtime;
