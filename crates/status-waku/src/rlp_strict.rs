//! A small, strict, allocation-free RLP reader and writer for the hot paths
//! (envelope decode, PoW hashing, mailserver requests).
//!
//! Strict means what go-ethereum's decoder enforces: canonical sizes (no
//! single byte below 0x80 wrapped in a string header, long forms only for 56+
//! bytes, no leading zeros in sizes), integers without leading zeros, and no
//! bytes after the last item of a list.

use crate::Error;

/// One RLP item: whether it is a list, and its payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    pub(crate) is_list: bool,
    pub(crate) payload: &'a [u8],
}

/// Splits the first item off `buf`, returning it and the bytes after it.
pub(crate) fn split_item(buf: &[u8]) -> Result<(Item<'_>, &[u8]), Error> {
    let (&b0, rest) = buf
        .split_first()
        .ok_or(Error::Rlp("unexpected end of input"))?;
    let (is_list, len, body) = match b0 {
        0x00..=0x7f => {
            return Ok((
                Item {
                    is_list: false,
                    payload: &buf[..1],
                },
                rest,
            ))
        }
        0x80..=0xb7 => {
            let len = usize::from(b0 - 0x80);
            if len == 1 && rest.first().is_some_and(|&b| b < 0x80) {
                return Err(Error::Rlp("non-canonical single byte"));
            }
            (false, len, rest)
        }
        0xb8..=0xbf => {
            let (len, body) = long_len(usize::from(b0 - 0xb7), rest)?;
            (false, len, body)
        }
        0xc0..=0xf7 => (true, usize::from(b0 - 0xc0), rest),
        0xf8..=0xff => {
            let (len, body) = long_len(usize::from(b0 - 0xf7), rest)?;
            (true, len, body)
        }
    };
    if body.len() < len {
        return Err(Error::Rlp("item longer than input"));
    }
    let (payload, rest) = body.split_at(len);
    Ok((Item { is_list, payload }, rest))
}

/// Reads a long-form size of `n` bytes.
fn long_len(n: usize, buf: &[u8]) -> Result<(usize, &[u8]), Error> {
    if buf.len() < n {
        return Err(Error::Rlp("truncated size"));
    }
    let (size, body) = buf.split_at(n);
    if size.first() == Some(&0) {
        return Err(Error::Rlp("leading zero in size"));
    }
    if n > core::mem::size_of::<usize>() {
        return Err(Error::Rlp("size overflows"));
    }
    let len = size
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if len < 56 {
        return Err(Error::Rlp("non-canonical size"));
    }
    Ok((len, body))
}

/// Exactly one item filling all of `buf`.
pub(crate) fn single_item(buf: &[u8]) -> Result<Item<'_>, Error> {
    let (item, rest) = split_item(buf)?;
    if !rest.is_empty() {
        return Err(Error::Rlp("trailing bytes after item"));
    }
    Ok(item)
}

/// Iterates the items inside a list payload.
pub(crate) struct ListIter<'a> {
    rest: &'a [u8],
}

impl<'a> ListIter<'a> {
    /// Iterates the items of `item`, which must be a list.
    pub(crate) fn new(item: Item<'a>) -> Result<Self, Error> {
        if !item.is_list {
            return Err(Error::Rlp("expected a list"));
        }
        Ok(Self { rest: item.payload })
    }

    /// The next item, failing if the list has ended.
    pub(crate) fn next_item(&mut self) -> Result<Item<'a>, Error> {
        if self.rest.is_empty() {
            return Err(Error::Rlp("list has too few items"));
        }
        let (item, rest) = split_item(self.rest)?;
        self.rest = rest;
        Ok(item)
    }

    /// The next item if there is one.
    pub(crate) fn next_opt(&mut self) -> Result<Option<Item<'a>>, Error> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        self.next_item().map(Some)
    }

    /// Fails unless every item has been read.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::Rlp("list has too many items"))
        }
    }
}

impl<'a> Item<'a> {
    /// The payload of a string item.
    pub(crate) fn bytes(self) -> Result<&'a [u8], Error> {
        if self.is_list {
            return Err(Error::Rlp("expected a string"));
        }
        Ok(self.payload)
    }

    /// A canonical unsigned integer of at most 8 bytes.
    pub(crate) fn uint(self) -> Result<u64, Error> {
        let b = self.bytes()?;
        if b.len() > 8 {
            return Err(Error::Rlp("integer too large"));
        }
        if b.first() == Some(&0) {
            return Err(Error::Rlp("leading zero in integer"));
        }
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// A canonical unsigned integer that fits in a u32.
    pub(crate) fn u32(self) -> Result<u32, Error> {
        u32::try_from(self.uint()?).map_err(|_| Error::Rlp("integer too large for u32"))
    }

    /// A boolean as go-ethereum encodes it: empty string (false) or 0x01 (true).
    pub(crate) fn boolean(self) -> Result<bool, Error> {
        match self.uint()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::Rlp("boolean out of range")),
        }
    }
}

/// Writes an RLP header for a payload of `len` bytes (`offset` 0x80 for
/// strings, 0xc0 for lists) through `out`.
pub(crate) fn write_header(len: usize, offset: u8, out: &mut impl FnMut(&[u8])) {
    if len < 56 {
        // len < 56, so the sum stays below 0xf8.
        out(&[offset + len as u8]);
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().take_while(|&&b| b == 0).count();
        let n = be.len() - skip;
        out(&[offset + 55 + n as u8]);
        out(&be[skip..]);
    }
}

/// Bytes a header for `len` payload bytes takes.
pub(crate) fn header_len(len: usize) -> usize {
    if len < 56 {
        1
    } else {
        1 + (8 - (len as u64).leading_zeros() as usize / 8)
    }
}

/// Encoded length of a byte string.
pub(crate) fn bytes_len(b: &[u8]) -> usize {
    if b.len() == 1 && b[0] < 0x80 {
        1
    } else {
        header_len(b.len()) + b.len()
    }
}

/// Writes a byte string.
pub(crate) fn write_bytes(b: &[u8], out: &mut impl FnMut(&[u8])) {
    if b.len() == 1 && b[0] < 0x80 {
        out(b);
    } else {
        write_header(b.len(), 0x80, out);
        out(b);
    }
}

/// The minimal big-endian bytes of `v` (empty for zero).
pub(crate) fn uint_bytes(v: u64) -> ([u8; 8], usize) {
    let be = v.to_be_bytes();
    let skip = (v.leading_zeros() / 8) as usize;
    (be, skip)
}

/// Encoded length of an integer.
pub(crate) fn uint_len(v: u64) -> usize {
    let (be, skip) = uint_bytes(v);
    bytes_len(&be[skip..])
}

/// Writes an integer.
pub(crate) fn write_uint(v: u64, out: &mut impl FnMut(&[u8])) {
    let (be, skip) = uint_bytes(v);
    write_bytes(&be[skip..], out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_uint(v: u64) -> Vec<u8> {
        let mut o = Vec::new();
        write_uint(v, &mut |b| o.extend_from_slice(b));
        o
    }

    #[test]
    fn integers_round_trip_and_match_lengths() {
        for v in [0, 1, 0x7f, 0x80, 0xff, 0x100, u32::MAX as u64, u64::MAX] {
            let e = enc_uint(v);
            assert_eq!(e.len(), uint_len(v));
            assert_eq!(single_item(&e).unwrap().uint().unwrap(), v);
        }
    }

    #[test]
    fn non_canonical_forms_are_rejected() {
        assert!(single_item(&[0x81, 0x05]).is_err());
        assert!(single_item(&[0x82, 0x00, 0x01]).unwrap().uint().is_err());
        assert!(single_item(&[0xb8, 0x01, 0x80]).is_err());
        assert!(single_item(&[0xb9, 0x00, 0x40]).is_err());
        assert!(single_item(&[0x80, 0x00]).is_err());
        assert!(single_item(&[0x85, 0x00]).is_err());
        assert!(single_item(&[]).is_err());
        assert!(single_item(&[0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn headers_have_the_lengths_they_claim() {
        for len in [0, 55, 56, 255, 256, 65_535, 65_536, 1 << 24] {
            let mut o = Vec::new();
            write_header(len, 0xc0, &mut |b| o.extend_from_slice(b));
            assert_eq!(o.len(), header_len(len));
        }
    }
}
