//! The envelope: the unit Waku nodes relay (6/WAKU1 "Envelope", EIP-627).
//!
//! ```text
//! envelope = [expiry: u32, ttl: u32, topic: [u8; 4], data: bytes, nonce: u64]
//! hash     = keccak256(rlp(envelope))
//! ```

use bytes::Bytes;
use keccak_asm::Digest;

use crate::rlp_strict::{self, ListIter};
use crate::{Error, Topic};

/// status-go's `EnvelopeHeaderLength`: the fixed part of [`Envelope::size`].
pub const ENVELOPE_HEADER_LENGTH: usize = 20;

/// Default maximum envelope size (6/WAKU1: 1 MB), see [`Envelope::decode`].
pub const DEFAULT_MAX_ENVELOPE_SIZE: usize = 1024 * 1024;

/// A Waku / Whisper envelope.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Envelope {
    /// Unix time in seconds after which the envelope is dropped.
    pub expiry: u32,
    /// Time to live in seconds; `expiry - ttl` is the creation time.
    pub ttl: u32,
    /// The topic, in clear, used for routing and filtering.
    pub topic: Topic,
    /// The encrypted message payload (see [`crate::message`]).
    pub data: Bytes,
    /// The proof-of-work nonce (see [`Envelope::pow`] and [`Envelope::seal`]).
    pub nonce: u64,
}

impl core::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Envelope")
            .field("expiry", &self.expiry)
            .field("ttl", &self.ttl)
            .field("topic", &self.topic)
            .field("data_len", &self.data.len())
            .field("nonce", &self.nonce)
            .finish()
    }
}

impl Envelope {
    /// An envelope created at `now_secs` living `ttl` seconds, nonce 0
    /// (status-go `NewEnvelope`: `expiry = now + ttl`).
    pub fn new(now_secs: u32, ttl: u32, topic: Topic, data: impl Into<Bytes>) -> Envelope {
        Envelope {
            expiry: now_secs.saturating_add(ttl),
            ttl,
            topic,
            data: data.into(),
            nonce: 0,
        }
    }

    /// status-go's `Size()`: `20 + len(data)`. It is what the PoW *target* of
    /// [`Envelope::seal`] and the node's size limit use; note that
    /// [`Envelope::pow`] divides by a different length (the RLP without nonce).
    pub fn size(&self) -> usize {
        ENVELOPE_HEADER_LENGTH + self.data.len()
    }

    /// The creation time in seconds (`expiry - ttl`).
    pub fn sent_secs(&self) -> u32 {
        self.expiry.saturating_sub(self.ttl)
    }

    /// Decodes one envelope that fills all of `bytes`, copying the data.
    ///
    /// `max_size` bounds the encoded length and is checked before any parsing
    /// (6/WAKU1 default [`DEFAULT_MAX_ENVELOPE_SIZE`]). Decoding is strict as
    /// go-ethereum's: canonical RLP, exactly five fields, a 4-byte topic.
    ///
    /// ```
    /// use status_waku::envelope::DEFAULT_MAX_ENVELOPE_SIZE;
    /// use status_waku::{Envelope, Error, Topic};
    ///
    /// let envelope = Envelope::new(1_700_000_000, 50, Topic([1, 2, 3, 4]), &b"data"[..]);
    /// assert_eq!(envelope.expiry, 1_700_000_050);
    /// let bytes = envelope.to_vec();
    /// assert_eq!(bytes.len(), envelope.encoded_len());
    /// assert_eq!(envelope.hash(), status_core::keccak256(&bytes));
    /// assert_eq!(Envelope::decode(&bytes, DEFAULT_MAX_ENVELOPE_SIZE)?, envelope);
    ///
    /// // The size limit is checked before any parsing.
    /// let max = bytes.len() - 1;
    /// assert_eq!(
    ///     Envelope::decode(&bytes, max),
    ///     Err(Error::EnvelopeTooLarge { size: bytes.len(), max })
    /// );
    /// // [expiry 1, ttl 2, topic of 3 bytes, data "", nonce 0]
    /// let bad = [0xc8, 0x01, 0x02, 0x83, 1, 2, 3, 0x80, 0x80];
    /// assert_eq!(Envelope::decode(&bad, 100), Err(Error::InvalidTopicLength(3)));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn decode(bytes: &[u8], max_size: usize) -> Result<Envelope, Error> {
        let f = Fields::parse(bytes, max_size)?;
        let data = Bytes::copy_from_slice(f.data);
        Ok(f.into_envelope(data))
    }

    /// Like [`Envelope::decode`], but the data shares `bytes`' buffer
    /// instead of being copied.
    pub fn decode_shared(bytes: &Bytes, max_size: usize) -> Result<Envelope, Error> {
        let f = Fields::parse(bytes, max_size)?;
        let data = bytes.slice_ref(f.data);
        Ok(f.into_envelope(data))
    }

    /// Length of the RLP encoding.
    pub fn encoded_len(&self) -> usize {
        let p = self.payload_len_without_nonce() + rlp_strict::uint_len(self.nonce);
        rlp_strict::header_len(p) + p
    }

    /// Appends the RLP encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        self.write(&mut |b: &[u8]| out.extend_from_slice(b));
    }

    /// The RLP encoding in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.encode(&mut v);
        v
    }

    /// The envelope hash: keccak256 of the RLP encoding (EIP-627). Computed
    /// by streaming the encoding into the hasher, without allocating.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = keccak_asm::Keccak256::new();
        self.write(&mut |b: &[u8]| h.update(b));
        h.finalize().into()
    }

    /// Writes the full RLP encoding through `out`.
    fn write(&self, out: &mut impl FnMut(&[u8])) {
        let p = self.payload_len_without_nonce() + rlp_strict::uint_len(self.nonce);
        rlp_strict::write_header(p, 0xc0, out);
        self.write_fields_without_nonce(out);
        rlp_strict::write_uint(self.nonce, out);
    }

    /// Payload length of `[expiry, ttl, topic, data]`.
    pub(crate) fn payload_len_without_nonce(&self) -> usize {
        rlp_strict::uint_len(u64::from(self.expiry))
            + rlp_strict::uint_len(u64::from(self.ttl))
            + 5
            + rlp_strict::bytes_len(&self.data)
    }

    fn write_fields_without_nonce(&self, out: &mut impl FnMut(&[u8])) {
        rlp_strict::write_uint(u64::from(self.expiry), out);
        rlp_strict::write_uint(u64::from(self.ttl), out);
        rlp_strict::write_bytes(&self.topic.0, out);
        rlp_strict::write_bytes(&self.data, out);
    }

    /// Writes `rlp([expiry, ttl, topic, data])`, the PoW prefix (status-go
    /// `rlpWithoutNonce`), through `out`.
    pub(crate) fn write_without_nonce(&self, out: &mut impl FnMut(&[u8])) {
        rlp_strict::write_header(self.payload_len_without_nonce(), 0xc0, out);
        self.write_fields_without_nonce(out);
    }

    /// Length of `rlp([expiry, ttl, topic, data])`: the divisor of
    /// [`Envelope::pow`].
    pub fn rlp_without_nonce_len(&self) -> usize {
        let p = self.payload_len_without_nonce();
        rlp_strict::header_len(p) + p
    }
}

/// The fields of an envelope, borrowed from the input.
struct Fields<'a> {
    expiry: u32,
    ttl: u32,
    topic: Topic,
    data: &'a [u8],
    nonce: u64,
}

impl<'a> Fields<'a> {
    fn parse(bytes: &'a [u8], max_size: usize) -> Result<Fields<'a>, Error> {
        if bytes.len() > max_size {
            return Err(Error::EnvelopeTooLarge {
                size: bytes.len(),
                max: max_size,
            });
        }
        let mut it = ListIter::new(rlp_strict::single_item(bytes)?)?;
        let expiry = it.next_item()?.u32()?;
        let ttl = it.next_item()?.u32()?;
        let topic = it.next_item()?.bytes()?;
        let topic = Topic::from_slice(topic).ok_or(Error::InvalidTopicLength(topic.len()))?;
        let data = it.next_item()?.bytes()?;
        let nonce = it.next_item()?.uint()?;
        it.finish()?;
        Ok(Fields {
            expiry,
            ttl,
            topic,
            data,
            nonce,
        })
    }

    fn into_envelope(self, data: Bytes) -> Envelope {
        Envelope {
            expiry: self.expiry,
            ttl: self.ttl,
            topic: self.topic,
            data,
            nonce: self.nonce,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            expiry: 1_600_000_050,
            ttl: 50,
            topic: Topic([1, 2, 3, 4]),
            data: Bytes::from_static(b"hello waku"),
            nonce: 0,
        }
    }

    #[test]
    fn encoding_round_trips_and_lengths_agree() {
        let e = sample();
        let v = e.to_vec();
        assert_eq!(v.len(), e.encoded_len());
        assert_eq!(Envelope::decode(&v, 1 << 20).unwrap(), e);
        assert_eq!(e.hash(), status_core::keccak256(&v));
    }

    #[test]
    fn oversized_input_is_rejected_before_parsing() {
        let v = sample().to_vec();
        assert_eq!(
            Envelope::decode(&v, v.len() - 1),
            Err(Error::EnvelopeTooLarge {
                size: v.len(),
                max: v.len() - 1
            })
        );
    }

    #[test]
    fn wrong_shapes_are_typed_errors() {
        // 4 items
        assert!(Envelope::decode(&[0xc4, 0x01, 0x02, 0x80, 0x80], 100).is_err());
        // topic of 3 bytes
        assert_eq!(
            Envelope::decode(&[0xc8, 0x01, 0x02, 0x83, 1, 2, 3, 0x80, 0x80], 100),
            Err(Error::InvalidTopicLength(3))
        );
        // six items
        assert!(
            Envelope::decode(&[0xca, 0x01, 0x02, 0x84, 1, 2, 3, 4, 0x80, 0x80, 0x80], 100).is_err()
        );
        // trailing byte after the list
        let mut v = sample().to_vec();
        v.push(0);
        assert!(Envelope::decode(&v, 100).is_err());
    }
}
