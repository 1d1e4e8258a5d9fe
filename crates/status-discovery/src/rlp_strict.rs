//! A strict, allocation-free RLP reader and a small writer.
//!
//! The `rlp` crate's list iterator stops silently at the first malformed
//! item, which would let garbage hide at the end of a node record; records
//! are signed over their exact bytes, so this reader walks items one by one
//! and rejects every non-canonical form go-ethereum's `rlp` rejects:
//! single bytes below 0x80 wrapped in a string header, long-form lengths
//! under 56, length prefixes with leading zeros, integers with leading
//! zeros, and items that run past their parent.

use rlp::DecoderError;

/// One RLP item: a string or a list, with its payload and its full bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    /// `true` for a list.
    pub is_list: bool,
    /// The payload (string bytes, or the concatenated list items).
    pub payload: &'a [u8],
    /// Header and payload, exactly as they appeared.
    pub raw: &'a [u8],
}

impl<'a> Item<'a> {
    /// The payload of a string item; an error for a list.
    pub fn bytes(&self) -> Result<&'a [u8], DecoderError> {
        if self.is_list {
            Err(DecoderError::RlpExpectedToBeData)
        } else {
            Ok(self.payload)
        }
    }

    /// A canonical unsigned integer of at most 8 bytes.
    pub fn u64(&self) -> Result<u64, DecoderError> {
        let b = self.bytes()?;
        if b.len() > 8 {
            return Err(DecoderError::RlpIsTooBig);
        }
        if b.first() == Some(&0) {
            return Err(DecoderError::RlpInvalidIndirection);
        }
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// The items of a list; an error for a string.
    pub fn items(&self) -> Result<Items<'a>, DecoderError> {
        if self.is_list {
            Ok(Items { rest: self.payload })
        } else {
            Err(DecoderError::RlpExpectedToBeList)
        }
    }
}

/// Iterator over the items of a list payload; yields an error (once) for a
/// malformed item and then stops.
pub(crate) struct Items<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<Item<'a>, DecoderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match split(self.rest) {
            Ok((item, rest)) => {
                self.rest = rest;
                Some(Ok(item))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// Reads a big-endian length of `n` bytes (no leading zero, fits usize).
fn read_len(bytes: &[u8], list: bool) -> Result<usize, DecoderError> {
    if bytes.first() == Some(&0) {
        return Err(if list {
            DecoderError::RlpListLenWithZeroPrefix
        } else {
            DecoderError::RlpDataLenWithZeroPrefix
        });
    }
    if bytes.len() > std::mem::size_of::<usize>() {
        return Err(DecoderError::RlpIsTooBig);
    }
    Ok(bytes
        .iter()
        .fold(0usize, |acc, &x| (acc << 8) | usize::from(x)))
}

/// Splits the first item off `input`, returning it and the bytes after it.
pub(crate) fn split(input: &[u8]) -> Result<(Item<'_>, &[u8]), DecoderError> {
    let &first = input.first().ok_or(DecoderError::RlpIsTooShort)?;
    let (is_list, header_len, payload_len) = match first {
        0x00..=0x7f => (false, 0, 1),
        0x80..=0xb7 => {
            let len = usize::from(first - 0x80);
            if len == 1 && input.get(1).is_some_and(|&b| b < 0x80) {
                return Err(DecoderError::RlpInvalidIndirection);
            }
            (false, 1, len)
        }
        0xb8..=0xbf => {
            let n = usize::from(first - 0xb7);
            let len_bytes = input.get(1..1 + n).ok_or(DecoderError::RlpIsTooShort)?;
            let len = read_len(len_bytes, false)?;
            if len < 56 {
                return Err(DecoderError::RlpInvalidIndirection);
            }
            (false, 1 + n, len)
        }
        0xc0..=0xf7 => (true, 1, usize::from(first - 0xc0)),
        0xf8..=0xff => {
            let n = usize::from(first - 0xf7);
            let len_bytes = input.get(1..1 + n).ok_or(DecoderError::RlpIsTooShort)?;
            let len = read_len(len_bytes, true)?;
            if len < 56 {
                return Err(DecoderError::RlpInvalidIndirection);
            }
            (true, 1 + n, len)
        }
    };
    let end = header_len
        .checked_add(payload_len)
        .ok_or(DecoderError::RlpIsTooBig)?;
    let raw = input.get(..end).ok_or(DecoderError::RlpIsTooShort)?;
    let payload = raw.get(header_len..).ok_or(DecoderError::RlpIsTooShort)?;
    let rest = input.get(end..).ok_or(DecoderError::RlpIsTooShort)?;
    Ok((
        Item {
            is_list,
            payload,
            raw,
        },
        rest,
    ))
}

/// Reads exactly one item that spans all of `input`.
pub(crate) fn single(input: &[u8]) -> Result<Item<'_>, DecoderError> {
    let (item, rest) = split(input)?;
    if rest.is_empty() {
        Ok(item)
    } else {
        Err(DecoderError::RlpInconsistentLengthAndData)
    }
}

/// Appends a string or list header for a payload of `len` bytes.
pub(crate) fn encode_header(out: &mut Vec<u8>, len: usize, list: bool) {
    let (short, long) = if list { (0xc0u8, 0xf7u8) } else { (0x80, 0xb7) };
    if len < 56 {
        out.push(short + len as u8);
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().take_while(|&&b| b == 0).count();
        out.push(long + (8 - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
}

/// Appends `bytes` as an RLP string.
pub(crate) fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    if let [b] = bytes {
        if *b < 0x80 {
            out.push(*b);
            return;
        }
    }
    encode_header(out, bytes.len(), false);
    out.extend_from_slice(bytes);
}

/// Appends `v` as a canonical RLP integer.
pub(crate) fn encode_u64(out: &mut Vec<u8>, v: u64) {
    let be = v.to_be_bytes();
    let skip = be.iter().take_while(|&&b| b == 0).count();
    encode_bytes(out, &be[skip..]);
}

/// Wraps `payload` (concatenated items) in a list header.
pub(crate) fn encode_list(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 9);
    encode_header(&mut out, payload.len(), true);
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_canonical_forms() {
        // 0x81 0x05: single byte below 0x80 must be encoded as itself.
        assert!(split(&[0x81, 0x05]).is_err());
        // long form for a 1-byte string.
        assert!(split(&[0xb8, 0x01, 0xaa]).is_err());
        // length with a leading zero.
        assert!(split(&[0xb9, 0x00, 0x40]).is_err());
        // runs past the input.
        assert!(split(&[0x83, 1, 2]).is_err());
        assert!(split(&[0xc3, 0x01]).is_err());
        // integers with a leading zero.
        assert!(single(&[0x00]).unwrap().u64().is_err());
        assert!(single(&[0x82, 0x00, 0x01]).unwrap().u64().is_err());
        // too long integer.
        let nine = [0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(single(&nine).unwrap().u64(), Err(DecoderError::RlpIsTooBig));
        // trailing bytes
        assert!(single(&[0x01, 0x02]).is_err());
    }

    #[test]
    fn round_trips_integers_and_strings() {
        for v in [0u64, 1, 0x7f, 0x80, 0xff, 0x100, u64::MAX] {
            let mut out = Vec::new();
            encode_u64(&mut out, v);
            assert_eq!(single(&out).unwrap().u64().unwrap(), v);
            assert_eq!(out, rlp::encode(&v).to_vec());
        }
        for len in [0usize, 1, 55, 56, 300, 70000] {
            let s = vec![0xaau8; len];
            let mut out = Vec::new();
            encode_bytes(&mut out, &s);
            assert_eq!(out, rlp::encode(&s).to_vec());
            assert_eq!(single(&out).unwrap().bytes().unwrap(), &s[..]);
        }
    }
}
