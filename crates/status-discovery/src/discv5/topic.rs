//! Status topics ("whisper", "whispermail") over discv5 v5.1, as an ENR key.
//!
//! status-go of 2020 registered these topics with go-ethereum's experimental
//! discv5 draft (REGTOPIC/TOPICQUERY with tickets), which v5.1 networks do
//! not speak. We advertise them in the node record instead: key
//! [`TOPICS_KEY`], value an RLP list of topic names. Records travel with
//! every NODES answer, so finding relay or mail servers is a random-walk
//! lookup filtered by [`advertises`]: no extra round trip, and every v5.1
//! node relays the key even if it does not understand it. TALKREQ was the
//! alternative; it is point to point (nothing stores the advertisement), so
//! it would need a query to every candidate after finding it.

use crate::enr::{Enr, EnrBuilder};
use crate::rlp_strict;
use crate::Error;

/// The ENR key carrying a node's Status topics.
pub const TOPICS_KEY: &[u8] = b"status";
/// Whisper/Waku relay peers.
pub const WHISPER: &str = "whisper";
/// Mailservers.
pub const WHISPERMAIL: &str = "whispermail";
/// At most this many topics are read from one record.
pub const MAX_TOPICS: usize = 16;

/// Sets the record's topic list (sign the builder afterwards). More than
/// [`MAX_TOPICS`] is an error rather than a silently shortened list.
///
/// ```
/// use status_core::SecretKey;
/// use status_discovery::discv5::topic::{advertises, topics, with_topics, WHISPER, WHISPERMAIL};
/// use status_discovery::Enr;
///
/// let builder = with_topics(Enr::builder().udp(30303), &[WHISPERMAIL])?;
/// let enr = builder.sign(&SecretKey::from_bytes(&[1; 32])?)?;
/// assert_eq!(topics(&enr), [WHISPERMAIL]);
/// assert!(advertises(&enr, WHISPERMAIL));
/// assert!(!advertises(&enr, WHISPER));
///
/// let many = [WHISPER; 17];
/// assert!(matches!(
///     with_topics(Enr::builder(), &many),
///     Err(status_discovery::Error::TooManyTopics { got: 17, max: 16 })
/// ));
/// # Ok::<(), status_discovery::Error>(())
/// ```
pub fn with_topics(builder: EnrBuilder, topics: &[&str]) -> Result<EnrBuilder, Error> {
    if topics.len() > MAX_TOPICS {
        return Err(Error::TooManyTopics {
            got: topics.len(),
            max: MAX_TOPICS,
        });
    }
    let mut items = Vec::new();
    for t in topics {
        rlp_strict::encode_bytes(&mut items, t.as_bytes());
    }
    builder.insert_raw(TOPICS_KEY.to_vec(), &rlp_strict::encode_list(&items))
}

/// The topics a record advertises (empty if none or malformed; at most
/// [`MAX_TOPICS`]).
pub fn topics(enr: &Enr) -> Vec<String> {
    let Some(raw) = enr.get(TOPICS_KEY) else {
        return Vec::new();
    };
    let Ok(list) = rlp_strict::single(raw) else {
        return Vec::new();
    };
    let Ok(items) = list.items() else {
        return Vec::new();
    };
    items
        .take(MAX_TOPICS)
        .filter_map(|i| {
            i.ok()?
                .bytes()
                .ok()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        })
        .collect()
}

/// Whether `enr` advertises `topic`.
pub fn advertises(enr: &Enr, topic: &str) -> bool {
    topics(enr).iter().any(|t| t == topic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use status_core::SecretKey;

    #[test]
    fn topics_round_trip_through_a_signed_record() {
        let key = SecretKey::from_bytes(&[8; 32]).unwrap();
        let b = with_topics(Enr::builder().udp(30303), &[WHISPER, WHISPERMAIL]).unwrap();
        let enr = b.sign(&key).unwrap();
        let enr = Enr::decode(enr.as_bytes()).unwrap();
        assert_eq!(topics(&enr), vec!["whisper", "whispermail"]);
        assert!(advertises(&enr, WHISPERMAIL));
        let plain = Enr::builder().sign(&key).unwrap();
        assert!(!advertises(&plain, WHISPER));
    }
}
