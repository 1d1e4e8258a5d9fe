//! A "random" source that replays recorded bytes, so packets built from
//! status-go's recorded randomness can be reproduced exactly.
use rand_core::{CryptoRng, RngCore};

/// Hands out the pushed bytes in order; panics when they run out (a test
/// that needs more randomness than was recorded is a failing test).
///
/// ```
/// use rand_core::RngCore;
///
/// let mut tape = status_vectors::Tape::new();
/// tape.push(&[1, 2, 3, 4]);
/// let mut out = [0u8; 4];
/// tape.fill_bytes(&mut out);
/// assert_eq!(out, [1, 2, 3, 4]);
/// assert!(tape.is_empty());
/// ```
#[derive(Default)]
pub struct Tape {
    bytes: Vec<u8>,
    pos: usize,
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends recorded bytes to be handed out after the ones already there.
    pub fn push(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Whether every pushed byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

impl RngCore for Tape {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        let end = self.pos + dst.len();
        assert!(
            end <= self.bytes.len(),
            "tape exhausted: wanted {} more bytes",
            end - self.bytes.len()
        );
        dst.copy_from_slice(&self.bytes[self.pos..end]);
        self.pos = end;
    }
}

impl CryptoRng for Tape {}
