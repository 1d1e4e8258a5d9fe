//! Runnable examples of status-rs. The examples are targets of this package
//! (see its `Cargo.toml`); run them from the workspace root:
//!
//! - `cargo run --release --example loopback-demo`: two endpoints in one
//!   process over loopback TCP, each step printed with its timing.
//! - `cargo run --release --example rlpx-ping -- <enode-url>`: dial a node,
//!   handshake, ping, list its messages as JSON lines (`--help` for more).
//!
//! The tests in `tests/` run `rlpx-ping` as a separate process.
