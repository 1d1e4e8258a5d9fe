//! The two things the session machine never reads itself: the clock and
//! the OS RNG. Public so that other drivers (UDP discovery, the node) read
//! them the same way.

use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::{OsRng, TryRngCore};
use status_core::Timestamp;

use crate::DriverError;

/// The wall clock as a [`Timestamp`] (the epoch if the clock is before it).
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Timestamp::from_millis(ms)
}

/// A fresh 32-byte seed for a session's CSPRNG.
pub fn rng_seed() -> Result<[u8; 32], DriverError> {
    let mut seed = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|e| DriverError::Rng(e.to_string()))?;
    Ok(seed)
}
