//! BIP39 mnemonic codes: entropy <-> words, and words + passphrase -> seed.
//!
//! Written directly over `pbkdf2` + `sha2` (BIP39 "From mnemonic to seed")
//! with the official English word list kept as a data file, rather than
//! through the `bip39` crate: that way the phrase and seed live only in
//! buffers this crate zeroizes, and a bad word is reported by position.

use std::sync::OnceLock;

use sha2::{Digest, Sha256, Sha512};
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, Zeroizing};

use crate::Error;

/// The BIP39 English word list (2048 words, sorted), as published with the
/// BIP (`bip-0039/english.txt`, SHA-256 `2f5eed53…3b24dbda`).
const ENGLISH: &str = include_str!("../data/bip39-english.txt");

/// PBKDF2 iteration count from BIP39 "From mnemonic to seed".
const PBKDF2_ROUNDS: u32 = 2048;

/// Longest input the parser looks at: 24 words of at most 8 letters plus
/// generous whitespace. Longer input cannot be a valid mnemonic.
const MAX_PHRASE_BYTES: usize = 1024;

fn english() -> &'static [&'static str; 2048] {
    static LIST: OnceLock<[&'static str; 2048]> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut list = [""; 2048];
        for (slot, word) in list.iter_mut().zip(ENGLISH.lines()) {
            *slot = word.trim();
        }
        list
    })
}

fn word_index(word: &str) -> Option<u16> {
    // The list is sorted, so a binary search finds the index.
    english()
        .binary_search(&word)
        .ok()
        .and_then(|i| u16::try_from(i).ok())
}

/// Number of words in a mnemonic; each size fixes the entropy length
/// (BIP39 table: ENT = 128..256 bits, CS = ENT / 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WordCount {
    /// 128 bits of entropy (the Status default).
    Words12,
    /// 160 bits of entropy.
    Words15,
    /// 192 bits of entropy.
    Words18,
    /// 224 bits of entropy.
    Words21,
    /// 256 bits of entropy.
    Words24,
}

impl WordCount {
    /// Number of words.
    pub fn words(self) -> usize {
        match self {
            WordCount::Words12 => 12,
            WordCount::Words15 => 15,
            WordCount::Words18 => 18,
            WordCount::Words21 => 21,
            WordCount::Words24 => 24,
        }
    }

    /// Bytes of entropy behind this many words.
    pub fn entropy_bytes(self) -> usize {
        self.words() * 11 * 32 / 33 / 8
    }

    fn from_words(n: usize) -> Option<Self> {
        Some(match n {
            12 => WordCount::Words12,
            15 => WordCount::Words15,
            18 => WordCount::Words18,
            21 => WordCount::Words21,
            24 => WordCount::Words24,
            _ => return None,
        })
    }
}

/// A valid BIP39 mnemonic (English word list), held as its canonical
/// phrase: the words separated by single spaces. Erased on drop.
///
/// ```
/// use status_keys::Mnemonic;
/// let m = Mnemonic::from_entropy(&[0u8; 16]).unwrap();
/// assert!(m.phrase().ends_with("abandon about"));
/// assert_eq!(Mnemonic::parse(m.phrase()).unwrap().to_entropy()[..], [0u8; 16]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Mnemonic {
    phrase: Zeroizing<String>,
}

impl Mnemonic {
    /// Encodes `entropy` (16, 20, 24, 28 or 32 bytes) as words: the entropy
    /// is followed by the first `ENT/32` bits of its SHA-256, and every 11
    /// bits index the word list (BIP39 "Generating the mnemonic").
    pub fn from_entropy(entropy: &[u8]) -> Result<Self, Error> {
        let count = match entropy.len() {
            16 => WordCount::Words12,
            20 => WordCount::Words15,
            24 => WordCount::Words18,
            28 => WordCount::Words21,
            32 => WordCount::Words24,
            n => return Err(Error::BadEntropyLength(n)),
        };
        let checksum = Sha256::digest(entropy);
        let mut bits = Zeroizing::new(Vec::with_capacity(33));
        bits.extend_from_slice(entropy);
        bits.push(checksum[0]);
        let list = english();
        let mut phrase = Zeroizing::new(String::with_capacity(count.words() * 9));
        for i in 0..count.words() {
            let index = read_11_bits(&bits, i * 11);
            if i > 0 {
                phrase.push(' ');
            }
            phrase.push_str(list[usize::from(index)]);
        }
        Ok(Mnemonic { phrase })
    }

    /// Draws fresh entropy from `rng` (inject a CSPRNG: this crate never
    /// touches the OS) and encodes it.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R, count: WordCount) -> Self {
        let mut entropy = Zeroizing::new([0u8; 32]);
        let entropy = &mut entropy[..count.entropy_bytes()];
        rng.fill_bytes(entropy);
        match Self::from_entropy(entropy) {
            Ok(m) => m,
            // entropy_bytes() only yields the five valid lengths.
            Err(_) => unreachable!("WordCount gives a valid entropy length"),
        }
    }

    /// Parses and validates a phrase: NFKD-normalised, split on any
    /// whitespace, every word in the English list, 12..=24 words in steps
    /// of 3, checksum correct. The error names the first bad word's
    /// position (not the word itself, which is secret).
    ///
    /// ```
    /// use status_keys::{Error, Mnemonic, WordCount};
    ///
    /// let ok = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    /// let m = Mnemonic::parse(&format!("  {}\n", ok.replace(' ', "\t")))?; // any whitespace
    /// assert_eq!((m.phrase(), m.word_count()), (ok, WordCount::Words12));
    ///
    /// let typo = ok.replace("about", "abuot");
    /// assert!(matches!(Mnemonic::parse(&typo), Err(Error::UnknownWord { position: 12 })));
    /// let bad_sum = ok.replace("about", "abandon");
    /// assert!(matches!(Mnemonic::parse(&bad_sum), Err(Error::InvalidChecksum)));
    /// assert!(matches!(Mnemonic::parse("abandon about"), Err(Error::BadWordCount(2))));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn parse(phrase: &str) -> Result<Self, Error> {
        if phrase.len() > MAX_PHRASE_BYTES {
            let words = phrase.split_whitespace().count();
            return Err(Error::BadWordCount(words));
        }
        // ASCII text is already in NFKD; anything else is normalized into a
        // buffer that erases itself
        let owned: Option<Zeroizing<String>> =
            (!phrase.is_ascii()).then(|| Zeroizing::new(phrase.nfkd().collect()));
        let normalized: &str = owned.as_ref().map_or(phrase, |s| s.as_str());
        let mut indices = Zeroizing::new([0u16; 24]);
        let mut n = 0usize;
        for (i, word) in normalized.split_whitespace().enumerate() {
            if i < 24 {
                indices[i] = word_index(word).ok_or(Error::UnknownWord { position: i + 1 })?;
            }
            n = i + 1;
        }
        let count = WordCount::from_words(n).ok_or(Error::BadWordCount(n))?;
        let mut bits = Zeroizing::new([0u8; 33]);
        for (i, &index) in indices[..n].iter().enumerate() {
            write_11_bits(&mut bits[..], i * 11, index);
        }
        let ent = count.entropy_bytes();
        let cs_bits = ent / 4; // ENT/32 bits, ENT in bits = 8 * ent
        let checksum = Sha256::digest(&bits[..ent]);
        let mask = 0xffu8 << (8 - cs_bits);
        if (checksum[0] & mask) != (bits[ent] & mask) {
            return Err(Error::InvalidChecksum);
        }
        let list = english();
        let mut canonical = Zeroizing::new(String::with_capacity(n * 9));
        for (i, &index) in indices[..n].iter().enumerate() {
            if i > 0 {
                canonical.push(' ');
            }
            canonical.push_str(list[usize::from(index)]);
        }
        Ok(Mnemonic { phrase: canonical })
    }

    /// The canonical phrase (words joined by single spaces).
    pub fn phrase(&self) -> &str {
        &self.phrase
    }

    /// How many words.
    pub fn word_count(&self) -> WordCount {
        let n = self.phrase.split(' ').count();
        WordCount::from_words(n).unwrap_or(WordCount::Words12)
    }

    /// The entropy the words encode (checksum removed).
    pub fn to_entropy(&self) -> Zeroizing<Vec<u8>> {
        let mut bits = Zeroizing::new([0u8; 33]);
        for (i, word) in self.phrase.split(' ').enumerate() {
            // Every word was validated on construction.
            let index = word_index(word).unwrap_or(0);
            write_11_bits(&mut bits[..], i * 11, index);
        }
        Zeroizing::new(bits[..self.word_count().entropy_bytes()].to_vec())
    }

    /// The 64-byte BIP39 seed: PBKDF2-HMAC-SHA512 with the phrase as
    /// password, `"mnemonic" || passphrase` as salt (both NFKD), 2048
    /// rounds. The passphrase may be empty.
    pub fn to_seed(&self, passphrase: &str) -> Seed {
        let mut salt = Zeroizing::new(String::with_capacity(8 + passphrase.len()));
        salt.push_str("mnemonic");
        salt.extend(passphrase.nfkd());
        let mut seed = Seed([0u8; 64]);
        pbkdf2::pbkdf2_hmac::<Sha512>(
            self.phrase.as_bytes(),
            salt.as_bytes(),
            PBKDF2_ROUNDS,
            &mut seed.0,
        );
        seed
    }
}

impl std::fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mnemonic({} words, redacted)", self.word_count().words())
    }
}

impl std::str::FromStr for Mnemonic {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// A 64-byte BIP39 seed, the input of the BIP32 master key. Erased on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(pub(crate) [u8; 64]);

impl Seed {
    /// The seed bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl Drop for Seed {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(redacted)")
    }
}

fn read_11_bits(bytes: &[u8], bit: usize) -> u16 {
    let mut v = 0u16;
    for k in 0..11 {
        let b = bit + k;
        let set = bytes
            .get(b / 8)
            .is_some_and(|byte| byte & (0x80 >> (b % 8)) != 0);
        v = (v << 1) | u16::from(set);
    }
    v
}

fn write_11_bits(bytes: &mut [u8], bit: usize, value: u16) {
    for k in 0..11 {
        if value & (1 << (10 - k)) != 0 {
            let b = bit + k;
            if let Some(byte) = bytes.get_mut(b / 8) {
                *byte |= 0x80 >> (b % 8);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_list_is_2048_sorted_unique_words() {
        let list = english();
        assert_eq!(ENGLISH.lines().count(), 2048);
        assert!(list.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(list[0], "abandon");
        assert_eq!(list[2047], "zoo");
    }

    #[test]
    fn entropy_bytes_per_word_count() {
        let got: Vec<usize> = [
            WordCount::Words12,
            WordCount::Words15,
            WordCount::Words18,
            WordCount::Words21,
            WordCount::Words24,
        ]
        .iter()
        .map(|c| c.entropy_bytes())
        .collect();
        assert_eq!(got, [16, 20, 24, 28, 32]);
    }

    #[test]
    fn non_ascii_phrases_and_passphrases_are_nfkd_normalized() {
        let ascii = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        // full-width letters and an ideographic space decompose to ASCII
        let wide = "\u{ff41}\u{ff42}\u{ff41}\u{ff4e}\u{ff44}\u{ff4f}\u{ff4e}\u{3000}abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        let (a, w) = (
            Mnemonic::parse(ascii).unwrap(),
            Mnemonic::parse(wide).unwrap(),
        );
        assert_eq!(a.phrase(), w.phrase());
        assert_eq!(
            a.to_seed("TREZOR").as_bytes(),
            w.to_seed("\u{ff34}\u{ff32}\u{ff25}\u{ff3a}\u{ff2f}\u{ff32}")
                .as_bytes()
        );
    }

    #[test]
    fn unknown_word_error_names_its_position() {
        let phrase = "abandon abandon abandon abandon abandon abandonx abandon abandon abandon abandon abandon about";
        assert_eq!(
            Mnemonic::parse(phrase),
            Err(Error::UnknownWord { position: 6 })
        );
    }

    #[test]
    fn bad_checksum_is_reported_as_such() {
        let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon";
        assert_eq!(Mnemonic::parse(phrase), Err(Error::InvalidChecksum));
    }

    #[test]
    fn wrong_word_counts_are_rejected() {
        assert_eq!(Mnemonic::parse(""), Err(Error::BadWordCount(0)));
        assert_eq!(
            Mnemonic::parse("abandon abandon about"),
            Err(Error::BadWordCount(3))
        );
        let long = "abandon ".repeat(25);
        assert_eq!(Mnemonic::parse(&long), Err(Error::BadWordCount(25)));
        assert_eq!(
            Mnemonic::parse(&"zoo ".repeat(400)),
            Err(Error::BadWordCount(400))
        );
    }

    #[test]
    fn extra_whitespace_gives_the_canonical_phrase() {
        let m = Mnemonic::parse(
            "  abandon\tabandon abandon  abandon abandon abandon abandon abandon abandon abandon abandon\nabout ",
        )
        .unwrap();
        assert_eq!(m.phrase(), "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about");
    }

    #[test]
    fn bad_entropy_length_is_rejected() {
        assert_eq!(
            Mnemonic::from_entropy(&[0; 15]),
            Err(Error::BadEntropyLength(15))
        );
    }

    #[test]
    fn debug_does_not_print_the_words() {
        let m = Mnemonic::from_entropy(&[0x7f; 16]).unwrap();
        assert!(!format!("{m:?}").contains("legal"));
    }
}
