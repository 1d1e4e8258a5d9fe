//! The 512-bit topic bloom filter of EIP-627 / 6/WAKU1 ("bloom filter" status
//! option): each topic sets 3 bits.

use crate::Topic;

/// Size of a bloom filter in bytes (512 bits).
pub const BLOOM_SIZE: usize = 64;

/// A 512-bit topic bloom filter.
///
/// ```
/// use status_waku::{Bloom, Topic};
///
/// let (a, b) = (Topic([1, 2, 3, 4]), Topic([9, 8, 7, 6]));
/// let only_a = Bloom::from_topics(&[a]);
/// assert!(only_a.matches(a) && !only_a.matches(b));
/// assert!(Bloom::FULL.matches(b) && !Bloom::EMPTY.matches(b));
///
/// let mut both = only_a;
/// both.add(b);
/// assert!(both.matches(b) && both.contains(&only_a));
/// assert_eq!(Bloom::from_slice(&both.0), Some(both));
/// assert_eq!(Bloom::from_slice(&[0xff; 63]), None);
///
/// // status-go's quirk (see `from_topic`): 2 bits for this topic, not 3.
/// let bits = |b: Bloom| b.0.iter().map(|x| x.count_ones()).sum::<u32>();
/// assert_eq!(bits(Bloom::from_topic(a)), 2);
/// assert_eq!(bits(Bloom::from_topic(Topic([0xf8, 0x94, 0x6a, 0xac]))), 3);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bloom(pub [u8; BLOOM_SIZE]);

impl Bloom {
    /// The empty filter: matches nothing.
    pub const EMPTY: Bloom = Bloom([0; BLOOM_SIZE]);

    /// The filter a full node advertises: every bit set, matches everything.
    pub const FULL: Bloom = Bloom([0xff; BLOOM_SIZE]);

    /// The bloom of one topic, as status-go's `TopicToBloom` computes it.
    ///
    /// Bit index `j` (for `j` in 0..3) is `topic[j] + 256 * bit_j(topic[3])`.
    /// status-go *assigns* `b[index / 8] = 1 << (index % 8)` rather than
    /// OR-ing, so when two indices land in the same byte only the later one
    /// survives (topic `01020304` sets 2 bits, not 3). status-go's bytes win
    /// over the spec's "3 bits per topic", because peers compare blooms.
    pub fn from_topic(topic: Topic) -> Bloom {
        let mut b = [0u8; BLOOM_SIZE];
        for (byte, bit) in topic_bits(topic) {
            b[usize::from(byte)] = bit;
        }
        Bloom(b)
    }

    /// The union of the blooms of `topics` (status-go `TopicsToBloom`).
    pub fn from_topics<'a>(topics: impl IntoIterator<Item = &'a Topic>) -> Bloom {
        let mut acc = Bloom::EMPTY;
        for t in topics {
            acc.add(*t);
        }
        acc
    }

    /// Adds one topic's bits.
    pub fn add(&mut self, topic: Topic) {
        let other = Bloom::from_topic(topic);
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
    }

    /// Whether every bit of `sample` is set in `self` (status-go
    /// `BloomFilterMatch`): a node forwards an envelope to a peer whose bloom
    /// contains the envelope topic's bloom.
    pub fn contains(&self, sample: &Bloom) -> bool {
        self.0.iter().zip(sample.0.iter()).all(|(f, s)| f & s == *s)
    }

    /// Whether this filter matches `topic`.
    pub fn matches(&self, topic: Topic) -> bool {
        self.contains(&Bloom::from_topic(topic))
    }

    /// From 64 bytes; `None` for any other length.
    pub fn from_slice(b: &[u8]) -> Option<Bloom> {
        b.try_into().ok().map(Bloom)
    }
}

impl Default for Bloom {
    fn default() -> Self {
        Bloom::EMPTY
    }
}

impl core::fmt::Debug for Bloom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Bloom({})", hex::encode(self.0))
    }
}

/// The (byte index, bit) each of a topic's first three bytes sets in its
/// bloom, in order: byte `j` picks bit `t[j]`, plus 256 when bit `j` of
/// `t[3]` is set (status-go `TopicToBloom`). The index is below 512, so the
/// byte index is below 64.
pub(crate) fn topic_bits(topic: Topic) -> [(u8, u8); 3] {
    let t = topic.0;
    let at = |j: usize| {
        let index = usize::from(t[j]) + if t[3] & (1 << j) != 0 { 256 } else { 0 };
        ((index / 8) as u8, 1u8 << (index % 8))
    };
    [at(0), at(1), at(2)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_matches_its_own_bloom_and_the_full_bloom() {
        let t = Topic([0xf8, 0x94, 0x6a, 0xac]);
        assert!(Bloom::from_topic(t).matches(t));
        assert!(Bloom::FULL.matches(t));
        assert!(!Bloom::EMPTY.matches(t));
    }

    #[test]
    fn union_matches_each_member() {
        let ts = [Topic([1, 2, 3, 4]), Topic([9, 8, 7, 6]), Topic([0xff; 4])];
        let b = Bloom::from_topics(&ts);
        assert!(ts.iter().all(|t| b.matches(*t)));
    }
}
