//! The RLPx frame codec (devp2p rlpx.md, "Framing", "MAC" and "Message
//! Encoding"), with devp2p v5 snappy compression (EIP-706).
//!
//! ```text
//! frame            = header-ciphertext || header-mac || frame-ciphertext || frame-mac
//! header           = frame-size (24-bit BE) || rlp([0, 0]) || zero-fill to 16 bytes
//! frame-data       = rlp(msg-id) || msg-data          (msg-data snappy-compressed after Hello on v5)
//! frame-ciphertext = aes-256-ctr(frame-data || zero-fill to a 16-byte boundary)
//! ```
//!
//! Each direction is one continuous AES-256-CTR keystream (key `aes-secret`,
//! IV zero) and one keccak MAC state ([`mac`](crate::mac)); `frame-size`
//! counts `frame-data` without padding. This is byte for byte what
//! go-ethereum v1.9.5 (vendored in status-go v0.55.1) sends: its header data
//! is always `c2 80 80`. On receipt the header data is ignored, like
//! go-ethereum does.
//!
//! # Buffers
//! [`FrameCodec::encode`] appends to a caller-owned `Vec`; [`FrameCodec::decode`]
//! decrypts in place in a caller-owned slice and returns a payload borrowing
//! either that slice or, for snappy messages, an internal scratch buffer that
//! is reused from frame to frame. In steady state neither direction
//! allocates.
//!
//! # Errors and poisoning
//! Every decoding error (bad MAC, oversized frame, bad message code, corrupt
//! or oversized snappy data) *poisons the ingress half*: the MAC and CTR
//! states can no longer be trusted to be in step with the peer, so every later
//! [`FrameCodec::decode`] returns a clone of the same error. The egress half
//! keeps working so that a `Disconnect` can still be sent.
//!
//! ```
//! use status_rlpx::{frame::FrameCodec, Secrets};
//!
//! // Both sides' secrets, as a handshake would produce them (mirrored seeds).
//! let a = Secrets::from_parts([1; 32], [2; 32], b"seed-a", b"seed-b");
//! let b = Secrets::from_parts([1; 32], [2; 32], b"seed-b", b"seed-a");
//! let (mut alice, mut bob) = (FrameCodec::new(a, 1 << 20), FrameCodec::new(b, 1 << 20));
//!
//! let mut wire = Vec::new();
//! alice.encode(0x10, b"\xc0", &mut wire)?;
//! let frame = bob.decode(&mut wire)?.expect("a whole frame");
//! assert_eq!((frame.code, frame.payload), (0x10, &b"\xc0"[..]));
//! assert_eq!(frame.consumed, wire.len());
//! # Ok::<(), status_rlpx::Error>(())
//! ```

use aes::cipher::{KeyIvInit, StreamCipher};
use aes::Aes256;

use crate::mac::{MacState, MAC_LEN};
use crate::{Error, Secrets};

/// The largest `frame-size` the 24-bit header field can express (16 MiB - 1).
/// [`FrameCodec::new`] clamps its limit to this.
pub const MAX_FRAME_SIZE: usize = 0xff_ffff;

/// Length of the encrypted header.
pub const HEADER_LEN: usize = 16;

/// Bytes before the frame ciphertext: encrypted header plus header MAC.
const HEADER_TOTAL: usize = HEADER_LEN + MAC_LEN;

/// `header-data = rlp([capability-id = 0, context-id = 0])`.
const HEADER_DATA: [u8; 3] = [0xc2, 0x80, 0x80];

/// AES-256 in CTR mode with a 128-bit big-endian counter (Go's `cipher.NewCTR`).
type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Number of bytes of a whole frame on the wire whose (unpadded)
/// `frame-size` is `frame_size`: header, header MAC, padded frame data and
/// frame MAC.
pub const fn frame_len(frame_size: usize) -> usize {
    HEADER_TOTAL + padded_len(frame_size) + MAC_LEN
}

/// `len` rounded up to the AES block size.
const fn padded_len(len: usize) -> usize {
    len.div_ceil(16) * 16
}

/// A scratch buffer that grew past this is trimmed back on the next snappy
/// message, so one large message does not pin its memory for the session.
const SCRATCH_RETAIN: usize = 256 * 1024;

/// One decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Decoded<'a> {
    /// How many bytes at the front of the input this frame occupied; drop
    /// them before the next call.
    pub consumed: usize,
    /// The message id (absolute: base protocol ids below 0x10, capability
    /// ids offset as negotiated; see [`crate::p2p::route`]).
    pub code: u64,
    /// The message data, decompressed if snappy is on.
    pub payload: &'a [u8],
}

/// Where the ingress half is in the current frame.
#[derive(Debug, Clone)]
enum Ingress {
    /// Waiting for a whole header and header MAC.
    Header,
    /// The header was authenticated (and the MAC/CTR states advanced past
    /// it); waiting for `frame_len(frame_size) - 32` more bytes.
    Body { frame_size: usize },
    /// A previous frame failed; this error is returned forever.
    Poisoned(Error),
}

/// Where a decoded payload lives (computed before the borrow is taken).
enum PayloadAt {
    Input { start: usize, end: usize },
    Scratch { len: usize },
}

/// The RLPx frame codec: encryption, MACs, framing and snappy for both
/// directions of one connection.
///
/// Build it from the [`Secrets`] a completed handshake yields. It is a pure
/// state machine over caller-owned buffers: [`encode`](Self::encode) appends
/// one frame, [`decode`](Self::decode) takes bytes as they arrive (any split,
/// down to one byte at a time) and returns whole messages.
pub struct FrameCodec {
    enc: Aes256Ctr,
    dec: Aes256Ctr,
    egress_mac: MacState,
    ingress_mac: MacState,
    max_frame_size: usize,
    snappy: bool,
    max_decompressed: usize,
    compressor: snap::raw::Encoder,
    decompressor: snap::raw::Decoder,
    compress_buf: Vec<u8>,
    decompress_buf: Vec<u8>,
    ingress: Ingress,
}

impl std::fmt::Debug for FrameCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameCodec")
            .field("max_frame_size", &self.max_frame_size)
            .field("snappy", &self.snappy)
            .field("max_decompressed", &self.max_decompressed)
            .field("ingress", &self.ingress)
            .finish_non_exhaustive()
    }
}

/// `rlp(code)` as a canonical RLP integer: at most 9 bytes.
fn rlp_code(code: u64) -> ([u8; 9], usize) {
    let mut out = [0u8; 9];
    if code == 0 {
        out[0] = 0x80;
        return (out, 1);
    }
    if code < 0x80 {
        out[0] = code as u8;
        return (out, 1);
    }
    let be = code.to_be_bytes();
    let skip = (code.leading_zeros() / 8) as usize;
    let n = 8 - skip;
    out[0] = 0x80 + n as u8;
    out[1..=n].copy_from_slice(&be[skip..]);
    (out, 1 + n)
}

/// Parses the canonical RLP integer at the front of `data` (go-ethereum
/// decodes `msg.Code` as a `uint64` with its canonical-encoding checks).
/// Returns the code and its encoded length.
fn parse_code(data: &[u8]) -> Result<(u64, usize), Error> {
    let (&first, rest) = data.split_first().ok_or(Error::BadMessageCode)?;
    match first {
        0x00..=0x7f => Ok((u64::from(first), 1)),
        0x80 => Ok((0, 1)),
        0x81..=0x88 => {
            let n = usize::from(first - 0x80);
            let bytes = rest.get(..n).ok_or(Error::BadMessageCode)?;
            // non-canonical: leading zero, or a single byte that fits in the prefix
            match bytes {
                [0, ..] => return Err(Error::BadMessageCode),
                [b] if *b < 0x80 => return Err(Error::BadMessageCode),
                _ => {}
            }
            let code = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            Ok((code, 1 + n))
        }
        _ => Err(Error::BadMessageCode),
    }
}

impl FrameCodec {
    /// A codec for one connection. `max_frame_size` bounds `frame-size`
    /// (message id plus payload as sent, i.e. compressed when snappy is on)
    /// in both directions; it is clamped to [`MAX_FRAME_SIZE`], the largest
    /// value the 24-bit header can carry. Snappy starts off.
    pub fn new(secrets: Secrets, max_frame_size: usize) -> Self {
        let iv = [0u8; 16];
        let enc = Aes256Ctr::new((&*secrets.aes).into(), (&iv).into());
        let dec = Aes256Ctr::new((&*secrets.aes).into(), (&iv).into());
        FrameCodec {
            enc,
            dec,
            egress_mac: MacState::new(&secrets.mac, secrets.egress_mac.clone()),
            ingress_mac: MacState::new(&secrets.mac, secrets.ingress_mac.clone()),
            max_frame_size: max_frame_size.min(MAX_FRAME_SIZE),
            snappy: false,
            max_decompressed: MAX_FRAME_SIZE,
            compressor: snap::raw::Encoder::new(),
            decompressor: snap::raw::Decoder::new(),
            compress_buf: Vec::new(),
            decompress_buf: Vec::new(),
            ingress: Ingress::Header,
        }
    }

    /// Turns devp2p v5 snappy compression on or off for both directions.
    ///
    /// Call it with `true` right after the Hello exchange when both sides
    /// announced p2p version 5 or later: Hello itself is never compressed,
    /// everything after it is. `max_decompressed` bounds the decompressed
    /// size of received payloads (checked against the length announced in
    /// the snappy header *before* anything is allocated; the spec says to
    /// reject more than 16 MiB, go-ethereum rejects more than
    /// [`MAX_FRAME_SIZE`]). The same bound applies to payloads we send.
    ///
    /// ```
    /// # use status_rlpx::{frame::FrameCodec, Secrets};
    /// # fn pair(max_frame_size: usize) -> (FrameCodec, FrameCodec) {
    /// #     let a = Secrets::from_parts([1; 32], [2; 32], b"seed-a", b"seed-b");
    /// #     let b = Secrets::from_parts([1; 32], [2; 32], b"seed-b", b"seed-a");
    /// #     (FrameCodec::new(a, max_frame_size), FrameCodec::new(b, max_frame_size))
    /// # }
    /// use status_rlpx::Error;
    ///
    /// let (mut alice, mut bob) = pair(1 << 20);
    /// alice.set_snappy(true, 1 << 20);
    /// bob.set_snappy(true, 1000);
    /// let mut wire = Vec::new();
    /// alice.encode(0x10, &[7; 4000], &mut wire)?;
    /// assert!(wire.len() < 400); // 4000 equal bytes compress well
    ///
    /// // Bob reads at most 1000 decompressed bytes: refused before inflating.
    /// assert_eq!(
    ///     bob.decode(&mut wire),
    ///     Err(Error::DecompressedTooLarge { got: 4000, max: 1000 })
    /// );
    /// # Ok::<(), status_rlpx::Error>(())
    /// ```
    pub fn set_snappy(&mut self, enabled: bool, max_decompressed: usize) {
        self.snappy = enabled;
        self.max_decompressed = max_decompressed;
    }

    /// Whether snappy compression is on.
    pub fn snappy(&self) -> bool {
        self.snappy
    }

    /// The configured limit on `frame-size`.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// An upper bound on the bytes [`encode`](Self::encode) appends for a
    /// payload of `payload_len` bytes under the current settings; use it to
    /// size buffers.
    pub fn max_encoded_len(&self, payload_len: usize) -> usize {
        let wire = if self.snappy {
            snap::raw::max_compress_len(payload_len).max(payload_len)
        } else {
            payload_len
        };
        frame_len(wire.saturating_add(9))
    }

    /// Appends one complete frame carrying message `code` with `payload`
    /// (the RLP message data, uncompressed) to `out`.
    ///
    /// # Errors
    /// [`Error::FrameTooLarge`] if the frame data (message id plus payload as
    /// sent) would exceed the maximum frame size, or, with snappy on, if the
    /// uncompressed payload exceeds the `max_decompressed` bound. Nothing is
    /// appended and no state changes in that case.
    ///
    /// ```
    /// # use status_rlpx::{frame::FrameCodec, Secrets};
    /// # fn pair(max_frame_size: usize) -> (FrameCodec, FrameCodec) {
    /// #     let a = Secrets::from_parts([1; 32], [2; 32], b"seed-a", b"seed-b");
    /// #     let b = Secrets::from_parts([1; 32], [2; 32], b"seed-b", b"seed-a");
    /// #     (FrameCodec::new(a, max_frame_size), FrameCodec::new(b, max_frame_size))
    /// # }
    /// use status_rlpx::{frame::frame_len, Error};
    ///
    /// let (mut alice, _bob) = pair(64);
    /// let mut out = Vec::new();
    /// alice.encode(0x10, b"\xc0", &mut out)?;
    /// assert_eq!(out.len(), frame_len(2)); // rlp(0x10) and the payload: 2 bytes
    /// assert_eq!(out.len(), 64); // 32 header and MAC, 16 padded data, 16 MAC
    ///
    /// let err = alice.encode(0x10, &[0; 64], &mut out).unwrap_err();
    /// assert_eq!(err, Error::FrameTooLarge { got: 65, max: 64 });
    /// assert_eq!(out.len(), 64);
    /// # Ok::<(), status_rlpx::Error>(())
    /// ```
    pub fn encode(&mut self, code: u64, payload: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        let (code_buf, code_len) = rlp_code(code);
        let wire: &[u8] = if self.snappy {
            if payload.len() > self.max_decompressed {
                return Err(Error::FrameTooLarge {
                    got: payload.len(),
                    max: self.max_decompressed,
                });
            }
            let too_large = Error::FrameTooLarge {
                got: payload.len(),
                max: self.max_frame_size,
            };
            let bound = snap::raw::max_compress_len(payload.len());
            if bound == 0 {
                return Err(too_large);
            }
            self.compress_buf.resize(bound, 0);
            let n = self
                .compressor
                .compress(payload, &mut self.compress_buf)
                .map_err(|_| too_large)?;
            self.compress_buf.get(..n).unwrap_or_default()
        } else {
            payload
        };
        let frame_size = code_len + wire.len();
        if frame_size > self.max_frame_size {
            return Err(Error::FrameTooLarge {
                got: frame_size,
                max: self.max_frame_size,
            });
        }

        out.reserve(frame_len(frame_size));

        let mut header = [0u8; HEADER_LEN];
        let size_be = (frame_size as u32).to_be_bytes();
        header[..3].copy_from_slice(&size_be[1..]);
        header[3..6].copy_from_slice(&HEADER_DATA);
        self.enc.apply_keystream(&mut header);
        let header_mac = self.egress_mac.update_header(&header);
        out.extend_from_slice(&header);
        out.extend_from_slice(&header_mac);

        let body_start = out.len();
        out.extend_from_slice(&code_buf[..code_len]);
        out.extend_from_slice(wire);
        out.resize(body_start + padded_len(frame_size), 0);
        let body = &mut out[body_start..];
        self.enc.apply_keystream(body);
        let frame_mac = self.egress_mac.update_body(body);
        out.extend_from_slice(&frame_mac);
        Ok(())
    }

    /// Total wire length of the frame being received, once its header has
    /// been authenticated; `None` while waiting for a header (or poisoned).
    /// Lets a driver read exactly one frame's worth of bytes.
    pub fn pending_frame_len(&self) -> Option<usize> {
        match self.ingress {
            Ingress::Body { frame_size } => Some(frame_len(frame_size)),
            _ => None,
        }
    }

    /// Whether a decoding error has poisoned the ingress half.
    pub fn is_poisoned(&self) -> bool {
        matches!(self.ingress, Ingress::Poisoned(_))
    }

    /// Decodes the frame at the front of `buf`.
    ///
    /// `buf` holds the received bytes not yet consumed, starting at a frame
    /// boundary. Returns `Ok(None)` when more bytes are needed: call again
    /// with the same bytes plus whatever arrived since. The header is
    /// authenticated (and the MAC/CTR states advanced past it) only once, as
    /// soon as its 32 bytes are there; a later call picks up at the body.
    /// The frame data is decrypted in place, so the bytes of a returned frame
    /// are garbage afterwards; drop [`Decoded::consumed`] bytes before the
    /// next call. Bytes past the frame are left untouched.
    ///
    /// # Errors
    /// [`Error::BadHeaderMac`], [`Error::BadFrameMac`],
    /// [`Error::FrameTooLarge`] (announced in the header, before the body is
    /// read), [`Error::BadMessageCode`], [`Error::Snappy`],
    /// [`Error::DecompressedTooLarge`]. Any error poisons the ingress half:
    /// every later call returns the same error.
    ///
    /// ```
    /// # use status_rlpx::{frame::FrameCodec, Secrets};
    /// # fn pair(max_frame_size: usize) -> (FrameCodec, FrameCodec) {
    /// #     let a = Secrets::from_parts([1; 32], [2; 32], b"seed-a", b"seed-b");
    /// #     let b = Secrets::from_parts([1; 32], [2; 32], b"seed-b", b"seed-a");
    /// #     (FrameCodec::new(a, max_frame_size), FrameCodec::new(b, max_frame_size))
    /// # }
    /// use status_rlpx::Error;
    ///
    /// let (mut alice, mut bob) = pair(1 << 20);
    /// let mut wire = Vec::new();
    /// alice.encode(0x10, b"first", &mut wire)?;
    /// alice.encode(0x11, b"second", &mut wire)?;
    ///
    /// // A partial header, then a whole header: the frame's length is known.
    /// assert!(bob.decode(&mut wire[..20])?.is_none());
    /// assert!(bob.decode(&mut wire[..40])?.is_none());
    /// let len = bob.pending_frame_len().unwrap();
    /// let frame = bob.decode(&mut wire)?.unwrap();
    /// assert_eq!((frame.code, frame.payload, frame.consumed), (0x10, &b"first"[..], len));
    /// wire.drain(..len);
    ///
    /// wire[40] ^= 1; // flip a bit in the second frame's body
    /// assert_eq!(bob.decode(&mut wire), Err(Error::BadFrameMac));
    /// assert!(bob.is_poisoned());
    /// alice.encode(0x12, b"third", &mut wire)?;
    /// assert_eq!(bob.decode(&mut wire[len..]), Err(Error::BadFrameMac));
    /// # Ok::<(), status_rlpx::Error>(())
    /// ```
    pub fn decode<'a>(&'a mut self, buf: &'a mut [u8]) -> Result<Option<Decoded<'a>>, Error> {
        let step = match self.decode_step(buf) {
            Ok(step) => step,
            Err(e) => {
                self.ingress = Ingress::Poisoned(e.clone());
                return Err(e);
            }
        };
        Ok(step.map(|(consumed, code, at)| {
            let payload: &'a [u8] = match at {
                PayloadAt::Input { start, end } => buf.get(start..end).unwrap_or_default(),
                PayloadAt::Scratch { len } => self.decompress_buf.get(..len).unwrap_or_default(),
            };
            Decoded {
                consumed,
                code,
                payload,
            }
        }))
    }

    /// The fallible part of [`decode`](Self::decode); returns where the
    /// payload is rather than borrowing it, so the caller can poison on error.
    fn decode_step(&mut self, buf: &mut [u8]) -> Result<Option<(usize, u64, PayloadAt)>, Error> {
        let frame_size = match &self.ingress {
            Ingress::Poisoned(e) => return Err(e.clone()),
            Ingress::Body { frame_size } => *frame_size,
            Ingress::Header => {
                let Some((header_ct, header_mac)) =
                    buf.get(..HEADER_TOTAL).map(|h| h.split_at(HEADER_LEN))
                else {
                    return Ok(None);
                };
                let mut header = [0u8; HEADER_LEN];
                header.copy_from_slice(header_ct);
                let expected = self.ingress_mac.update_header(&header);
                if !MacState::verify(&expected, header_mac) {
                    return Err(Error::BadHeaderMac);
                }
                self.dec.apply_keystream(&mut header);
                let frame_size = (usize::from(header[0]) << 16)
                    | (usize::from(header[1]) << 8)
                    | usize::from(header[2]);
                if frame_size > self.max_frame_size {
                    return Err(Error::FrameTooLarge {
                        got: frame_size,
                        max: self.max_frame_size,
                    });
                }
                self.ingress = Ingress::Body { frame_size };
                frame_size
            }
        };

        let padded = padded_len(frame_size);
        let total = frame_len(frame_size);
        let Some(frame) = buf.get_mut(HEADER_TOTAL..total) else {
            return Ok(None);
        };
        let (body, frame_mac) = frame.split_at_mut(padded);
        let expected = self.ingress_mac.update_body(body);
        if !MacState::verify(&expected, frame_mac) {
            return Err(Error::BadFrameMac);
        }
        self.dec.apply_keystream(body);
        self.ingress = Ingress::Header;

        let data = body.get(..frame_size).ok_or(Error::BadMessageCode)?;
        let (code, code_len) = parse_code(data)?;
        let start = HEADER_TOTAL + code_len;
        let end = HEADER_TOTAL + frame_size;
        if !self.snappy {
            return Ok(Some((total, code, PayloadAt::Input { start, end })));
        }

        let compressed = data.get(code_len..).unwrap_or_default();
        let len = snap::raw::decompress_len(compressed).map_err(|_| Error::Snappy)?;
        if len > self.max_decompressed {
            return Err(Error::DecompressedTooLarge {
                got: len,
                max: self.max_decompressed,
            });
        }
        if self.decompress_buf.capacity() > SCRATCH_RETAIN.max(len) {
            self.decompress_buf.truncate(len);
            self.decompress_buf.shrink_to(SCRATCH_RETAIN.max(len));
        }
        self.decompress_buf.resize(len, 0);
        let n = self
            .decompressor
            .decompress(compressed, &mut self.decompress_buf)
            .map_err(|_| Error::Snappy)?;
        if n != len {
            return Err(Error::Snappy);
        }
        Ok(Some((total, code, PayloadAt::Scratch { len })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pair(max: usize) -> (FrameCodec, FrameCodec) {
        let a = Secrets::from_parts([0x11; 32], [0x22; 32], b"egress-a", b"egress-b");
        let b = Secrets::from_parts([0x11; 32], [0x22; 32], b"egress-b", b"egress-a");
        (FrameCodec::new(a, max), FrameCodec::new(b, max))
    }

    /// Feeds `wire` into `rx` in the chunks given by `cuts`, as a driver
    /// would, and collects every decoded message.
    fn feed(
        rx: &mut FrameCodec,
        wire: &[u8],
        cuts: &[usize],
    ) -> Result<Vec<(u64, Vec<u8>)>, Error> {
        let mut got = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut pos = 0;
        let mut cut_iter = cuts.iter().copied();
        while pos < wire.len() {
            let step = cut_iter.next().unwrap_or(wire.len()).max(1);
            let end = (pos + step).min(wire.len());
            pending.extend_from_slice(&wire[pos..end]);
            pos = end;
            loop {
                let consumed = match rx.decode(&mut pending)? {
                    None => break,
                    Some(d) => {
                        got.push((d.code, d.payload.to_vec()));
                        d.consumed
                    }
                };
                pending.drain(..consumed);
            }
        }
        assert!(pending.is_empty(), "left over bytes");
        Ok(got)
    }

    #[test]
    fn rlp_code_is_canonical() {
        for code in [0u64, 1, 0x7f, 0x80, 0xff, 0x100, 0x1234_5678, u64::MAX] {
            let (buf, n) = rlp_code(code);
            let mut s = rlp::RlpStream::new();
            s.append(&code);
            assert_eq!(&buf[..n], &s.out()[..], "code {code}");
            assert_eq!(parse_code(&buf[..n]), Ok((code, n)));
        }
    }

    #[test]
    fn non_canonical_codes_are_rejected() {
        for bad in [
            &[][..],
            &[0x81, 0x05],
            &[0x82, 0x00, 0x80],
            &[0x89],
            &[0xc0],
            &[0x82, 0x01],
        ] {
            assert_eq!(parse_code(bad), Err(Error::BadMessageCode), "{bad:x?}");
        }
    }

    #[test]
    fn header_is_size_then_zero_header_data() {
        let (mut tx, _) = pair(1024);
        let mut wire = Vec::new();
        tx.encode(0x10, &[0xaa; 20], &mut wire).unwrap();
        assert_eq!(wire.len(), frame_len(21));
        // decrypt the header with a fresh keystream
        let mut dec = Aes256Ctr::new((&[0x11u8; 32]).into(), (&[0u8; 16]).into());
        let mut header = [0u8; 16];
        header.copy_from_slice(&wire[..16]);
        dec.apply_keystream(&mut header);
        assert_eq!(
            header,
            [0, 0, 21, 0xc2, 0x80, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn frame_too_large_is_refused_without_state_change() {
        let (mut tx, mut rx) = pair(100);
        let mut wire = Vec::new();
        assert_eq!(
            tx.encode(0x10, &[0; 100], &mut wire),
            Err(Error::FrameTooLarge { got: 101, max: 100 })
        );
        assert!(wire.is_empty());
        tx.encode(0x10, &[0; 99], &mut wire).unwrap();
        let d = rx.decode(&mut wire).unwrap().unwrap();
        assert_eq!(d.payload, &[0; 99][..]);
    }

    #[test]
    fn oversize_header_is_rejected_before_the_body() {
        let (mut tx, _) = pair(MAX_FRAME_SIZE);
        let (_, mut rx) = pair(1000);
        let mut wire = Vec::new();
        tx.encode(0x10, &[0; 1000], &mut wire).unwrap();
        let mut header_only = wire[..32].to_vec();
        assert_eq!(
            rx.decode(&mut header_only),
            Err(Error::FrameTooLarge {
                got: 1001,
                max: 1000
            })
        );
        assert!(rx.is_poisoned());
        assert_eq!(
            rx.decode(&mut wire),
            Err(Error::FrameTooLarge {
                got: 1001,
                max: 1000
            })
        );
    }

    #[test]
    fn max_frame_size_is_clamped_to_24_bits() {
        let (tx, _) = pair(usize::MAX);
        assert_eq!(tx.max_frame_size(), MAX_FRAME_SIZE);
    }

    #[test]
    fn bad_macs_are_typed_and_poison() {
        let (mut tx, _) = pair(1024);
        let mut wire = Vec::new();
        tx.encode(3, &[0xc0], &mut wire).unwrap();
        for i in 0..wire.len() {
            let (_, mut rx) = pair(1024);
            let mut bad = wire.clone();
            bad[i] ^= 0x01;
            let want = if i < 32 {
                Error::BadHeaderMac
            } else {
                Error::BadFrameMac
            };
            assert_eq!(rx.decode(&mut bad), Err(want.clone()), "byte {i}");
            assert_eq!(rx.decode(&mut wire.clone()), Err(want));
        }
    }

    #[test]
    fn egress_still_works_after_ingress_poison() {
        let (mut a, mut b) = pair(1024);
        let mut junk = vec![0u8; 64];
        assert!(a.decode(&mut junk).is_err());
        let mut wire = Vec::new();
        a.encode(1, &[0xc1, 0x80], &mut wire).unwrap();
        let d = b.decode(&mut wire).unwrap().unwrap();
        assert_eq!((d.code, d.payload), (1, &[0xc1, 0x80][..]));
    }

    #[test]
    fn bad_message_code_is_typed() {
        // empty frame-data, a list, a non-canonical integer, a too-long integer
        for data in [
            &[][..],
            &[0xc0],
            &[0x81, 0x05],
            &[0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        ] {
            let (mut tx, mut rx) = pair(1024);
            let mut wire = raw_frame(&mut tx, data);
            assert_eq!(
                rx.decode(&mut wire),
                Err(Error::BadMessageCode),
                "{data:x?}"
            );
        }
    }

    /// Encrypts and MACs arbitrary frame-data (bypassing the code encoder).
    fn raw_frame(tx: &mut FrameCodec, frame_data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut header = [0u8; 16];
        header[2] = frame_data.len() as u8;
        header[3..6].copy_from_slice(&HEADER_DATA);
        tx.enc.apply_keystream(&mut header);
        let hm = tx.egress_mac.update_header(&header);
        out.extend_from_slice(&header);
        out.extend_from_slice(&hm);
        let start = out.len();
        out.extend_from_slice(frame_data);
        out.resize(start + padded_len(frame_data.len()), 0);
        tx.enc.apply_keystream(&mut out[start..]);
        let fm = tx.egress_mac.update_body(&out[start..]);
        out.extend_from_slice(&fm);
        out
    }

    #[test]
    fn snappy_announcing_too_much_is_rejected_before_allocating() {
        let (mut tx, mut rx) = pair(1024);
        rx.set_snappy(true, 1000);
        // varint 1_000_000 followed by nothing: announces a huge payload
        let mut data = vec![0x10];
        data.extend_from_slice(&[0xc0, 0x84, 0x3d]);
        let mut wire = raw_frame(&mut tx, &data);
        assert_eq!(
            rx.decode(&mut wire),
            Err(Error::DecompressedTooLarge {
                got: 1_000_000,
                max: 1000
            })
        );
        assert_eq!(rx.decompress_buf.capacity(), 0);
    }

    #[test]
    fn corrupt_snappy_is_typed() {
        let (mut tx, mut rx) = pair(1024);
        rx.set_snappy(true, 1000);
        let mut wire = raw_frame(&mut tx, &[0x10, 0x05, 0xff, 0xff]);
        assert_eq!(rx.decode(&mut wire), Err(Error::Snappy));
        let (mut tx, mut rx) = pair(1024);
        rx.set_snappy(true, 1000);
        let mut wire = raw_frame(&mut tx, &[0x10]);
        assert_eq!(rx.decode(&mut wire), Err(Error::Snappy));
    }

    #[test]
    fn snappy_encode_respects_max_decompressed() {
        let (mut tx, _) = pair(1024);
        tx.set_snappy(true, 10);
        let mut out = Vec::new();
        assert_eq!(
            tx.encode(0x10, &[0; 11], &mut out),
            Err(Error::FrameTooLarge { got: 11, max: 10 })
        );
        assert!(out.is_empty());
    }

    #[test]
    fn max_encoded_len_is_an_upper_bound() {
        for snappy in [false, true] {
            let (mut tx, _) = pair(MAX_FRAME_SIZE);
            tx.set_snappy(snappy, MAX_FRAME_SIZE);
            for len in [0usize, 1, 15, 16, 17, 1000, 65_536] {
                let payload: Vec<u8> = (0..len).map(|i| (i * 7919 % 251) as u8).collect();
                let mut out = Vec::new();
                tx.encode(u64::MAX, &payload, &mut out).unwrap();
                assert!(
                    out.len() <= tx.max_encoded_len(len),
                    "len {len} snappy {snappy}"
                );
                assert_eq!(out.len() % 16, 0);
            }
        }
    }

    #[test]
    fn pending_frame_len_after_header() {
        let (mut tx, mut rx) = pair(1024);
        let mut wire = Vec::new();
        tx.encode(0x10, &[1; 40], &mut wire).unwrap();
        assert_eq!(rx.pending_frame_len(), None);
        let mut head = wire[..40].to_vec();
        assert_eq!(rx.decode(&mut head), Ok(None));
        assert_eq!(rx.pending_frame_len(), Some(wire.len()));
        let d = rx.decode(&mut wire).unwrap().unwrap();
        assert_eq!(d.consumed, wire.len());
        assert_eq!(rx.pending_frame_len(), None);
    }

    /// A frame of exactly `MAX_FRAME_SIZE` bytes of frame data goes through;
    /// one byte more is refused. (Quick only because the workspace builds
    /// dependencies optimised in test profiles.)
    #[test]
    fn largest_frame_round_trips() {
        let (mut tx, mut rx) = pair(MAX_FRAME_SIZE);
        let big: Vec<u8> = (0..MAX_FRAME_SIZE).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        assert_eq!(
            tx.encode(0x11, &big, &mut wire),
            Err(Error::FrameTooLarge {
                got: MAX_FRAME_SIZE + 1,
                max: MAX_FRAME_SIZE
            })
        );
        tx.encode(0x11, &big[1..], &mut wire).unwrap();
        assert_eq!(wire.len(), frame_len(MAX_FRAME_SIZE));
        let d = rx.decode(&mut wire).unwrap().unwrap();
        assert_eq!(d.code, 0x11);
        assert!(d.payload == &big[1..]);
    }

    /// With snappy the limit is on the decompressed size: a payload of
    /// exactly `max_decompressed` bytes is accepted on both sides.
    #[test]
    fn largest_snappy_payload_round_trips() {
        let (mut tx, mut rx) = pair(MAX_FRAME_SIZE);
        tx.set_snappy(true, MAX_FRAME_SIZE);
        rx.set_snappy(true, MAX_FRAME_SIZE);
        let big: Vec<u8> = (0..MAX_FRAME_SIZE).map(|i| (i / 64 % 7) as u8).collect();
        let mut wire = Vec::new();
        tx.encode(0x11, &big, &mut wire).unwrap();
        assert!(wire.len() < MAX_FRAME_SIZE / 4);
        let d = rx.decode(&mut wire).unwrap().unwrap();
        assert!(d.payload == &big[..]);
        // the scratch buffer is trimmed back after the big message
        let mut small = Vec::new();
        tx.encode(0x11, &[1, 2, 3], &mut small).unwrap();
        assert_eq!(rx.decode(&mut small).unwrap().unwrap().payload, &[1, 2, 3]);
        assert!(rx.decompress_buf.capacity() <= SCRATCH_RETAIN);
    }

    fn payload_strategy(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..=64),
            proptest::collection::vec(any::<u8>(), 0..=max),
            // compressible
            (0..=max, any::<u8>()).prop_map(|(n, b)| vec![b; n]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip_any_split(
            msgs in proptest::collection::vec((any::<u64>(), payload_strategy(70_000)), 1..5),
            cuts in proptest::collection::vec(1usize..5000, 0..40),
            snappy in any::<bool>(),
        ) {
            let (mut tx, mut rx) = pair(70_000 + 16);
            tx.set_snappy(snappy, 70_000);
            rx.set_snappy(snappy, 70_000);
            let mut wire = Vec::new();
            for (code, payload) in &msgs {
                tx.encode(*code, payload, &mut wire).unwrap();
            }
            let got = feed(&mut rx, &wire, &cuts).unwrap();
            prop_assert_eq!(got, msgs);
        }

        #[test]
        fn one_byte_at_a_time(
            code in any::<u64>(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            snappy in any::<bool>(),
        ) {
            let (mut tx, mut rx) = pair(1024);
            tx.set_snappy(snappy, 1024);
            rx.set_snappy(snappy, 1024);
            let mut wire = Vec::new();
            tx.encode(code, &payload, &mut wire).unwrap();
            tx.encode(code ^ 1, &payload, &mut wire).unwrap();
            let got = feed(&mut rx, &wire, &vec![1; wire.len()]).unwrap();
            prop_assert_eq!(got, vec![(code, payload.clone()), (code ^ 1, payload)]);
        }

        #[test]
        fn garbage_never_panics(mut junk in proptest::collection::vec(any::<u8>(), 0..200), snappy in any::<bool>()) {
            let (_, mut rx) = pair(1024);
            rx.set_snappy(snappy, 1024);
            let _ = rx.decode(&mut junk);
        }
    }
}
