//! Proof of work (EIP-627 "Proof of Work", 6/WAKU1), exactly as status-go
//! computes and seals it.
//!
//! ```text
//! pow_hash = keccak256(rlp([expiry, ttl, topic, data]) ++ nonce as 8 bytes BE)
//! pow      = 2^leading_zero_bits(pow_hash) / len(rlp([expiry, ttl, topic, data])) / ttl
//! seal target bits = max(1, ceil(log2(target_pow * Size() * ttl))),  Size() = 20 + len(data)
//! ```
//!
//! The two lengths differ on purpose: status-go's `PoW()` divides by the
//! RLP length without the nonce, while `Seal` converts the target with
//! `Size()`. Both are reproduced because peers compare the numbers.

use keccak_asm::Digest;

use crate::{Envelope, Error};

/// Number of leading zero bits of a 32-byte big-endian hash
/// (`256 - BitLen`).
fn leading_zero_bits(h: &[u8]) -> u32 {
    let mut n = 0;
    for &b in h {
        if b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

impl Envelope {
    /// The keccak state after absorbing `rlp([expiry, ttl, topic, data])`.
    fn pow_prefix(&self) -> keccak_asm::Keccak256 {
        let mut h = keccak_asm::Keccak256::new();
        self.write_without_nonce(&mut |b: &[u8]| h.update(b));
        h
    }

    /// Leading zero bits of this envelope's PoW hash.
    pub fn pow_leading_zero_bits(&self) -> u32 {
        let mut h = self.pow_prefix();
        h.update(self.nonce.to_be_bytes());
        leading_zero_bits(&h.finalize())
    }

    /// The envelope's proof of work as status-go's `PoW()` reports it:
    /// `2^zero_bits / len(rlp_without_nonce) / ttl` (infinite for ttl 0, as
    /// in Go's float division).
    pub fn pow(&self) -> f64 {
        let x = 2f64.powi(self.pow_leading_zero_bits() as i32);
        x / self.rlp_without_nonce_len() as f64 / f64::from(self.ttl)
    }

    /// The leading zero bits [`Envelope::seal`] needs to reach `target_pow`
    /// (status-go `powToFirstBit`: `max(1, ceil(log2(target * Size() * ttl)))`).
    pub fn pow_target_bits(&self, target_pow: f64) -> u32 {
        let x = target_pow * self.size() as f64 * f64::from(self.ttl);
        let bits = x.log2().ceil();
        if bits.is_nan() || bits < 1.0 {
            1
        } else if bits > 257.0 {
            257 // unreachable: a hash has 256 bits
        } else {
            bits as u32
        }
    }

    /// Searches nonces from 0 upwards, as status-go's `Seal` does, for at
    /// most `max_attempts` attempts, and stores the result in `self.nonce`:
    /// the first nonce reaching the target, or else the best one found.
    ///
    /// A `target_pow` of 0 does nothing (status-go skips sealing). Sans-IO:
    /// there is no clock here; bound the work by attempts, or drive a
    /// [`PowSearch`] in slices and check the time between them.
    ///
    /// # Errors
    /// [`Error::InvalidPowTarget`] for a NaN, infinite or negative target.
    ///
    /// ```
    /// use status_waku::{Envelope, Error, SealOutcome, Topic};
    ///
    /// let mut envelope = Envelope::new(1_700_000_000, 50, Topic([1, 2, 3, 4]), &b"data"[..]);
    /// // Status' target: a few leading zero bits for so small an envelope.
    /// match envelope.seal(0.002, 1 << 16)? {
    ///     SealOutcome::Sealed { nonce, .. } => assert_eq!(envelope.nonce, nonce),
    ///     SealOutcome::Exhausted { .. } => panic!("budget too small"),
    /// }
    /// assert!(envelope.pow() >= 0.002);
    ///
    /// // Out of reach in 16 attempts: the best nonce is kept instead.
    /// let out = envelope.seal(1e6, 16)?;
    /// assert!(matches!(
    ///     out,
    ///     SealOutcome::Exhausted { best_nonce, attempts: 16, .. } if best_nonce == envelope.nonce
    /// ));
    /// assert_eq!(envelope.seal(f64::NAN, 16), Err(Error::InvalidPowTarget));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn seal(&mut self, target_pow: f64, max_attempts: u64) -> Result<SealOutcome, Error> {
        if target_pow == 0.0 {
            return Ok(SealOutcome::Sealed {
                nonce: self.nonce,
                attempts: 0,
            });
        }
        let mut search = PowSearch::new(self, target_pow)?;
        let found = search.run(max_attempts);
        let (best, best_bits) = search.best();
        self.nonce = found.unwrap_or(best);
        Ok(match found {
            Some(nonce) => SealOutcome::Sealed {
                nonce,
                attempts: search.attempts(),
            },
            None => SealOutcome::Exhausted {
                best_nonce: best,
                best_bits,
                attempts: search.attempts(),
            },
        })
    }
}

/// What [`Envelope::seal`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum SealOutcome {
    /// The target was reached; `nonce` is stored in the envelope.
    Sealed {
        /// The nonce found.
        nonce: u64,
        /// Nonces tried.
        attempts: u64,
    },
    /// The attempt budget ran out; the best nonce is stored in the envelope.
    Exhausted {
        /// The nonce with the most leading zero bits.
        best_nonce: u64,
        /// Its leading zero bits.
        best_bits: u32,
        /// Nonces tried.
        attempts: u64,
    },
}

/// A resumable nonce search for one envelope.
///
/// The RLP prefix `rlp([expiry, ttl, topic, data])` is absorbed once. When
/// the 8 nonce bytes and the keccak padding fit in the last 136-byte block
/// (prefix length mod 136 <= 127), each attempt copies the 200-byte state,
/// XORs the nonce into one or two lanes and runs one keccak-f\[1600\]: the
/// minimum work per attempt. Otherwise the nonce straddles two blocks and
/// each attempt clones a pre-absorbed hasher (two permutations).
/// No allocation per attempt either way.
///
/// A search in slices, as a driver that checks its clock between them runs
/// it:
///
/// ```
/// use status_waku::{Envelope, Error, PowSearch, Topic};
///
/// let mut envelope = Envelope::new(1_700_000_000, 50, Topic([1, 2, 3, 4]), &b"data"[..]);
/// let mut search = PowSearch::new(&envelope, 0.01)?;
/// let nonce = loop {
///     if let Some(nonce) = search.run(64) {
///         break nonce;
///     }
///     assert!(search.attempts() < 1 << 16, "target out of reach");
/// };
/// envelope.nonce = nonce;
/// assert!(envelope.pow_leading_zero_bits() >= search.target_bits());
/// assert_eq!(search.best().0, nonce);
///
/// assert!(matches!(PowSearch::new(&envelope, 0.0), Err(Error::InvalidPowTarget)));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone)]
pub struct PowSearch {
    kernel: Kernel,
    next_nonce: u64,
    target_bits: u32,
    best_nonce: u64,
    best_bits: u32,
    attempts: u64,
    found: Option<u64>,
}

/// Keccak-256 rate in bytes.
const RATE: usize = 136;

#[derive(Clone)]
enum Kernel {
    /// State after the full prefix blocks, XORed with the last block's
    /// prefix bytes and padding; the nonce goes to byte `offset`.
    OneBlock { base: [u64; 25], offset: usize },
    /// A hasher that has absorbed the whole prefix.
    Hasher(keccak_asm::Keccak256),
}

impl Kernel {
    fn new(prefix: &[u8]) -> Kernel {
        let full = prefix.len() / RATE * RATE;
        let tail = &prefix[full..];
        if tail.len() + 8 + 1 > RATE {
            let mut h = keccak_asm::Keccak256::new();
            h.update(prefix);
            return Kernel::Hasher(h);
        }
        let mut state = [0u64; 25];
        let xor_block = |state: &mut [u64; 25], block: &[u8; RATE]| {
            for (lane, chunk) in state.iter_mut().zip(block.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(chunk);
                *lane ^= u64::from_le_bytes(b);
            }
        };
        for block in prefix[..full].chunks_exact(RATE) {
            let mut b = [0u8; RATE];
            b.copy_from_slice(block);
            xor_block(&mut state, &b);
            permute(&mut state);
        }
        // Last block: tail, 8 zero bytes for the nonce, Keccak padding.
        let mut last = [0u8; RATE];
        last[..tail.len()].copy_from_slice(tail);
        last[tail.len() + 8] ^= 0x01;
        last[RATE - 1] ^= 0x80;
        xor_block(&mut state, &last);
        Kernel::OneBlock {
            base: state,
            offset: tail.len(),
        }
    }

    /// The PoW hash for `nonce`, as four little-endian lanes (hash byte `i`
    /// is byte `i % 8` of lane `i / 8`).
    #[inline]
    fn hash_lanes(&self, nonce: u64) -> [u64; 4] {
        match self {
            Kernel::OneBlock { base, offset } => {
                let mut st = *base;
                // Big-endian nonce bytes read as a little-endian lane.
                let v = nonce.swap_bytes();
                let (lane, shift) = (offset / 8, (offset % 8) * 8);
                st[lane] ^= v << shift;
                if shift != 0 {
                    st[lane + 1] ^= v >> (64 - shift);
                }
                permute(&mut st);
                [st[0], st[1], st[2], st[3]]
            }
            Kernel::Hasher(prefix) => {
                let mut h = prefix.clone();
                h.update(nonce.to_be_bytes());
                let out = h.finalize();
                let mut lanes = [0u64; 4];
                for (l, c) in lanes.iter_mut().zip(out.chunks_exact(8)) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    *l = u64::from_le_bytes(b);
                }
                lanes
            }
        }
    }

    /// Leading zero bits of the PoW hash for `nonce`.
    #[inline]
    fn zero_bits(&self, nonce: u64) -> u32 {
        let mut n = 0;
        for l in self.hash_lanes(nonce) {
            // The first hash byte is the lane's lowest byte.
            let be = l.swap_bytes();
            if be != 0 {
                return n + be.leading_zeros();
            }
            n += 64;
        }
        n
    }
}

/// One keccak-f\[1600\] on `state` (standard lane layout).
#[inline(always)]
fn permute(state: &mut [u64; 25]) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        // CRYPTOGAMS exports the permutation only inside its absorb: a block
        // of zeros XORs nothing, so this is exactly one permutation.
        const ZERO_BLOCK: [u8; RATE] = [0; RATE];
        let _ = sha3_asm::sha3_absorb(state, &ZERO_BLOCK, RATE);
    }
    #[cfg(target_arch = "wasm32")]
    keccak::f1600(state);
}

impl core::fmt::Debug for PowSearch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PowSearch")
            .field("next_nonce", &self.next_nonce)
            .field("target_bits", &self.target_bits)
            .field("best_bits", &self.best_bits)
            .field("found", &self.found)
            .finish()
    }
}

impl PowSearch {
    /// Prepares a search for `envelope` reaching `target_pow` (must be
    /// finite and positive).
    pub fn new(envelope: &Envelope, target_pow: f64) -> Result<PowSearch, Error> {
        if !target_pow.is_finite() || target_pow <= 0.0 {
            return Err(Error::InvalidPowTarget);
        }
        let mut prefix = Vec::with_capacity(envelope.rlp_without_nonce_len());
        envelope.write_without_nonce(&mut |b: &[u8]| prefix.extend_from_slice(b));
        Ok(PowSearch {
            kernel: Kernel::new(&prefix),
            next_nonce: 0,
            target_bits: envelope.pow_target_bits(target_pow),
            best_nonce: 0,
            best_bits: 0,
            attempts: 0,
            found: None,
        })
    }

    /// Leading zero bits the search is looking for.
    pub fn target_bits(&self) -> u32 {
        self.target_bits
    }

    /// Tries up to `attempts` more nonces; returns the nonce that reaches the
    /// target, if one has been found (now or in an earlier call).
    pub fn run(&mut self, attempts: u64) -> Option<u64> {
        if self.found.is_some() {
            return self.found;
        }
        for _ in 0..attempts {
            let nonce = self.next_nonce;
            let bits = self.kernel.zero_bits(nonce);
            self.attempts += 1;
            // `>` keeps the first nonce of a given quality, as status-go does.
            if bits > self.best_bits {
                self.best_nonce = nonce;
                self.best_bits = bits;
                if bits >= self.target_bits {
                    self.found = Some(nonce);
                    return self.found;
                }
            }
            match self.next_nonce.checked_add(1) {
                Some(n) => self.next_nonce = n,
                None => break,
            }
        }
        None
    }

    /// The best nonce so far and its leading zero bits.
    pub fn best(&self) -> (u64, u32) {
        (self.best_nonce, self.best_bits)
    }

    /// Nonces tried so far.
    pub fn attempts(&self) -> u64 {
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        assert_eq!(leading_zero_bits(&[0x80; 32]), 0);
        assert_eq!(leading_zero_bits(&[0x00, 0x01, 0xff]), 15);
        assert_eq!(leading_zero_bits(&[0; 32]), 256);
    }

    #[test]
    fn seal_reaches_the_target_and_pow_agrees() {
        let mut e = Envelope {
            expiry: 100,
            ttl: 10,
            topic: crate::Topic([1, 2, 3, 4]),
            data: bytes::Bytes::from_static(&[7; 64]),
            nonce: 0,
        };
        let out = e.seal(0.5, 1 << 20).unwrap();
        assert!(matches!(out, SealOutcome::Sealed { .. }));
        assert!(e.pow_leading_zero_bits() >= e.pow_target_bits(0.5));
    }

    #[test]
    fn both_kernels_agree_with_a_plain_hash_for_every_tail_length() {
        for len in 0..300usize {
            let prefix: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let k = Kernel::new(&prefix);
            assert_eq!(matches!(k, Kernel::OneBlock { .. }), len % RATE <= 127);
            for nonce in [0u64, 1, 0x0102_0304_0506_0708, u64::MAX] {
                let mut buf = prefix.clone();
                buf.extend_from_slice(&nonce.to_be_bytes());
                let expected = status_core::keccak256(&buf);
                let got: Vec<u8> = k
                    .hash_lanes(nonce)
                    .iter()
                    .flat_map(|l| l.to_le_bytes())
                    .collect();
                assert_eq!(got, expected, "len {len} nonce {nonce}");
                assert_eq!(k.zero_bits(nonce), leading_zero_bits(&expected));
            }
        }
    }

    #[test]
    fn invalid_targets_are_rejected() {
        let mut e = Envelope::default();
        assert_eq!(e.seal(f64::NAN, 1), Err(Error::InvalidPowTarget));
        assert_eq!(e.seal(-1.0, 1), Err(Error::InvalidPowTarget));
    }
}
