//! The one error type of this crate.

/// Why a mnemonic, derivation path, extended key or serialized public key
/// was rejected, or a derivation failed.
///
/// Errors about secret material (mnemonic words, private keys) never carry
/// the secret itself, only where it went wrong, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- BIP39 ---
    /// BIP39 allows 12, 15, 18, 21 or 24 words.
    #[error("a mnemonic has 12, 15, 18, 21 or 24 words, got {0}")]
    BadWordCount(usize),
    /// Word number `position` (1-based) is not in the BIP39 English list.
    #[error("word {position} of the mnemonic is not in the BIP39 English word list")]
    UnknownWord {
        /// 1-based position of the offending word.
        position: usize,
    },
    /// Every word is valid but the checksum bits do not match the entropy.
    #[error("mnemonic checksum does not match")]
    InvalidChecksum,
    /// BIP39 entropy is 16, 20, 24, 28 or 32 bytes.
    #[error("BIP39 entropy is 16, 20, 24, 28 or 32 bytes, got {0}")]
    BadEntropyLength(usize),

    // --- BIP32 ---
    /// BIP32 seeds are 128 to 512 bits.
    #[error("BIP32 seed is 16 to 64 bytes, got {0}")]
    BadSeedLength(usize),
    /// The master key or a child key is zero or not below the curve order
    /// (BIP32: "the resulting key is invalid"; probability below 2^-127).
    #[error("derived key at index {index:#010x} is invalid; use the next index")]
    InvalidDerivedKey {
        /// The child index that failed (`0` for the master key).
        index: u32,
    },
    /// Hardened children need the private key.
    #[error("hardened child {0:#010x} cannot be derived from a public key")]
    HardenedFromPublic(u32),
    /// The extended key is already at depth 255.
    #[error("extended keys cannot be deeper than 255")]
    DepthOverflow,
    /// A derivation path string did not parse; `position` is the 0-based
    /// byte offset of the problem.
    #[error("invalid derivation path at position {position}: {reason}")]
    InvalidPath {
        /// Byte offset in the path string.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// A path index is 2^31 or more (the top bit is the hardened flag).
    #[error("derivation index must be below 2^31, got {0}")]
    IndexTooLarge(u64),
    /// Paths are at most 255 levels deep (the depth is one byte).
    #[error("derivation path has more than 255 levels")]
    PathTooDeep,

    // --- xprv / xpub ---
    /// Not valid base58.
    #[error("invalid base58")]
    InvalidBase58,
    /// Base58Check checksum mismatch.
    #[error("base58check checksum does not match")]
    InvalidBase58Checksum,
    /// An extended key is 78 bytes (82 with the checksum).
    #[error("extended key is 78 bytes, got {0}")]
    BadExtendedKeyLength(usize),
    /// The 4 version bytes are neither xprv nor xpub (mainnet or testnet).
    #[error("unknown extended key version {0:#010x}")]
    UnknownVersion(u32),
    /// An xpub where an xprv was asked for, or the reverse.
    #[error("expected an {expected} key")]
    WrongKeyKind {
        /// `"xprv"` or `"xpub"`.
        expected: &'static str,
    },
    /// The key data does not fit the version: a private key must start with
    /// `0x00`, a public key with `0x02` or `0x03`.
    #[error("key data prefix {0:#04x} does not fit the version")]
    KeyPrefixMismatch(u8),
    /// A depth-0 (master) key must have parent fingerprint 0 and index 0.
    #[error("master key (depth 0) with non-zero parent fingerprint or index")]
    InvalidMasterKey,
    /// The private key is 0 or not below the curve order.
    #[error("private key not in 1..n-1")]
    InvalidPrivateKey,
    /// The public key is not a point on secp256k1.
    #[error("public key is not a point on secp256k1")]
    InvalidPublicKey,

    // --- public key serialization (2/ACCOUNT) ---
    /// The string is empty or its first character is not a multibase code
    /// this crate supports.
    #[error("unsupported or missing multibase prefix")]
    UnsupportedMultibase,
    /// The body does not decode in the base its prefix names.
    #[error("invalid data for the multibase prefix")]
    InvalidMultibaseData,
    /// The data does not start with a valid unsigned varint.
    #[error("invalid multicodec varint")]
    InvalidVarint,
    /// The multicodec is not `secp256k1-pub` (`0xe7`).
    #[error("unsupported public key type {0:#x}")]
    UnsupportedKeyType(u64),
}
