//! Sans-IO RLPx v5: the devp2p transport that carries Waku and Whisper.
//!
//! Modules follow the spec's concepts (devp2p `rlpx.md`, EIP-8):
//! the ECIES auth/ack [`handshake`], the [`frame`] codec with its keccak
//! [`mac`] states, the [`p2p`] base protocol and the [`session`] machine that
//! ties them together.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
pub mod frame;
pub mod handshake;
pub mod mac;
pub mod p2p;
mod secrets;
pub mod session;

pub use error::Error;
pub use secrets::Secrets;

/// Internals exposed to the fuzz targets only (`cargo fuzz` sets `--cfg fuzzing`):
/// they reach the body parsers behind the ECIES MAC, which random bytes never pass.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::handshake::AuthFormat;

    /// Parses a decrypted `auth` body; returns whether it was accepted.
    pub fn parse_auth(plain: &[u8], format: AuthFormat) -> bool {
        crate::handshake::parse_auth(plain, format).is_ok()
    }

    /// Parses a decrypted `ack` body; returns whether it was accepted.
    pub fn parse_ack(plain: &[u8], format: AuthFormat) -> bool {
        crate::handshake::parse_ack(plain, format).is_ok()
    }
}
