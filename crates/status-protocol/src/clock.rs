//! Lamport clocks of 6/PAYLOADS ("Clock vs Timestamp and message ordering").
//!
//! Every payload carries a `clock`: the sender takes the larger of its
//! chat's last clock plus one and its wall clock in milliseconds, so
//! messages sort the same on every device even when clocks drift.

/// status-go `maxWhisperFutureDriftMs`: how far a clock may run ahead of
/// the transport timestamp it arrived with.
pub const MAX_FUTURE_DRIFT_MS: u64 = 120_000;

/// The clock for the next message in a chat whose last clock is `last`, at
/// wall time `now_ms` (status-go `Chat.NextClockAndTimestamp`).
///
/// ```
/// use status_protocol::clock::next_clock;
/// assert_eq!(next_clock(0, 1_000), 1_000); // clock from time
/// assert_eq!(next_clock(5_000, 1_000), 5_001); // max(seen) + 1
/// ```
pub fn next_clock(last: u64, now_ms: u64) -> u64 {
    if last == 0 || last < now_ms {
        now_ms
    } else {
        last.saturating_add(1)
    }
}

/// Whether a received clock is acceptable (status-go `validateClockValue`):
/// not zero, and not more than [`MAX_FUTURE_DRIFT_MS`] after the
/// transport timestamp `timestamp_ms`.
///
/// ```
/// use status_protocol::clock::valid_clock;
/// assert!(valid_clock(1_000, 1_000));
/// assert!(!valid_clock(0, 1_000));
/// assert!(!valid_clock(1_000 + 120_001, 1_000));
/// ```
pub fn valid_clock(clock: u64, timestamp_ms: u64) -> bool {
    clock != 0 && !(clock > timestamp_ms && clock - timestamp_ms > MAX_FUTURE_DRIFT_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn next_clock_is_after_both_the_last_clock_and_now(last in 1u64..u64::MAX / 2, now in 0u64..u64::MAX / 2) {
            let c = next_clock(last, now);
            prop_assert!(c > last || (c == now && now > last));
            prop_assert!(c >= now);
        }
    }
}
