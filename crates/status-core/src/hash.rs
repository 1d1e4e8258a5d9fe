/// The trait behind [`Keccak256`]'s `new` / `update` / `finalize`,
/// re-exported so callers need no direct `sha3` dependency.
pub use sha3::Digest;
pub use sha3::Keccak256;

/// Keccak-256 (the pre-NIST padding Ethereum uses, not SHA3-256).
///
/// For data that comes in pieces, the re-exported [`Keccak256`] hasher
/// gives the same digest:
///
/// ```
/// use status_core::{keccak256, Digest, Keccak256};
///
/// assert_eq!(
///     hex::encode(keccak256(b"")),
///     "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
/// );
/// let mut h = Keccak256::new();
/// h.update(b"sta");
/// h.update(b"tus");
/// assert_eq!(<[u8; 32]>::from(h.finalize()), keccak256(b"status"));
/// ```
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_of_empty_is_the_known_constant() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }
}
