//! The 3-word pseudonym (2/ACCOUNT "3 word pseudonym"): a human-readable
//! fingerprint of a chat key, computed exactly as status-go v0.55.1
//! (`protocol/identity/alias`) does.
//!
//! The seed is the low 64 bits of the key's x coordinate. A 64-bit
//! Fibonacci LFSR with taps `0xB8` (bits 3, 4, 5, 7) is stepped three
//! times; each state, modulo the list length, picks an adjective, a second
//! adjective and an animal from status-go's word lists (kept verbatim in
//! `data/`). The words are joined by single spaces.

use std::sync::OnceLock;

use status_core::PublicKey;

const ADJECTIVES: &str = include_str!("../data/alias-adjectives.txt");
const ANIMALS: &str = include_str!("../data/alias-animals.txt");

/// status-go's feedback polynomial.
const POLY: u64 = 0xB8;

struct Lists {
    adjectives: Vec<&'static str>,
    animals: Vec<&'static str>,
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| Lists {
        adjectives: ADJECTIVES.lines().map(str::trim).collect(),
        animals: ANIMALS.lines().map(str::trim).collect(),
    })
}

/// The shift register: each step shifts left and feeds in the parity of
/// the tapped bits.
struct Lfsr(u64);

impl Lfsr {
    fn next(&mut self) -> u64 {
        let mut bit = 0u64;
        for i in 0..64 {
            if POLY & (1 << i) != 0 {
                bit ^= self.0 >> i;
            }
        }
        self.0 = (self.0 << 1) | (bit & 1);
        self.0
    }
}

fn pick(list: &[&'static str], state: u64) -> &'static str {
    let len = list.len() as u64;
    // The lists are non-empty data compiled into the crate.
    list.get((state % len.max(1)) as usize)
        .copied()
        .unwrap_or("")
}

/// The three words for an LFSR seed (status-go `generate(seed)`).
pub fn from_seed(seed: u64) -> String {
    let lists = lists();
    let mut lfsr = Lfsr(seed);
    let a = pick(&lists.adjectives, lfsr.next());
    let b = pick(&lists.adjectives, lfsr.next());
    let c = pick(&lists.animals, lfsr.next());
    format!("{a} {b} {c}")
}

/// The pseudonym of a chat public key (status-go `GenerateFromPublicKey`).
///
/// ```
/// let key = status_core::PublicKey::from_slice(&hex::decode(
///     "04eedbaafd6adf4a9233a13e7b1c3c14461fffeba2e9054b8d456ce5f6ebeafadc\
///      bf3dce3716253fbc391277fa5a086b60b283daf61fb5b1f26895f456c2f31ae3",
/// ).unwrap()).unwrap();
/// assert_eq!(status_keys::alias::generate(&key), "Darkorange Blue Bubblefish");
/// ```
pub fn generate(key: &PublicKey) -> String {
    let full = key.to_uncompressed();
    // x is bytes 1..33, big-endian; its low 64 bits are the last 8.
    let mut low = [0u8; 8];
    low.copy_from_slice(&full[25..33]);
    from_seed(u64::from_be_bytes(low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_have_status_go_sizes() {
        assert_eq!(lists().adjectives.len(), 1389);
        assert_eq!(lists().animals.len(), 1704);
        assert!(lists()
            .adjectives
            .iter()
            .chain(&lists().animals)
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic())));
    }

    #[test]
    fn lfsr_shifts_in_the_parity_of_bits_3_4_5_7() {
        let mut l = Lfsr(0b1000_0000);
        assert_eq!(l.next(), 0b1_0000_0001);
        let mut l = Lfsr(0b0011_1000);
        assert_eq!(l.next(), 0b0111_0001);
        let mut l = Lfsr(1 << 63);
        assert_eq!(l.next(), 0);
    }
}
