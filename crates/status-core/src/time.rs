use std::time::Duration;

/// Milliseconds since the Unix epoch: the one notion of time in the workspace.
///
/// Protocol machines never read a clock: drivers pass `Timestamp`s in
/// (from the OS clock), simulations advance them by hand. Wall-clock rather
/// than monotonic because Waku expiry and mailserver queries are in Unix
/// seconds.
///
/// ```
/// use std::time::Duration;
/// use status_core::Timestamp;
///
/// let t = Timestamp::from_secs(1_700_000_000);
/// let later = t + Duration::from_millis(1_500);
/// assert_eq!(later.as_millis(), 1_700_000_001_500);
/// assert_eq!(later.as_secs(), 1_700_000_001);
/// assert_eq!(later.to_string(), "1700000001.500");
/// assert_eq!(later.saturating_duration_since(t), Duration::from_millis(1_500));
/// assert_eq!(t.saturating_duration_since(later), Duration::ZERO);
/// // Far-future deadlines saturate instead of wrapping.
/// assert_eq!(Timestamp::from_millis(u64::MAX) + Duration::from_secs(1), Timestamp::from_millis(u64::MAX));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch itself.
    pub const ZERO: Timestamp = Timestamp(0);

    /// From milliseconds since the Unix epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// From whole seconds since the Unix epoch.
    pub const fn from_secs(s: u64) -> Self {
        Timestamp(s.saturating_mul(1000))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// `self + d`, saturating at the far future.
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// `self - d`, saturating at the epoch (e.g. "one retransmission
    /// interval before now" in a test or a simulation).
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::Timestamp;
    ///
    /// let t = Timestamp::from_secs(10);
    /// assert_eq!(t.saturating_sub(Duration::from_millis(1)), Timestamp::from_millis(9_999));
    /// assert_eq!(t.saturating_sub(Duration::from_secs(11)), Timestamp::from_millis(0));
    /// ```
    pub fn saturating_sub(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        self.saturating_add(d)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_secs(10);
        assert_eq!(t.as_millis(), 10_000);
        assert_eq!((t + Duration::from_millis(5)).as_millis(), 10_005);
        assert_eq!(
            Timestamp::from_millis(u64::MAX) + Duration::from_secs(1),
            Timestamp::from_millis(u64::MAX)
        );
        assert_eq!(
            t.saturating_duration_since(Timestamp::from_secs(11)),
            Duration::ZERO
        );
        assert_eq!(
            t.saturating_sub(Duration::from_millis(u64::MAX)),
            Timestamp::from_millis(0)
        );
        assert_eq!(t.to_string(), "10.000");
    }
}
