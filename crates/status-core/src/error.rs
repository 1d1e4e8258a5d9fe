/// Why bytes are not a valid key, node id or signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Wrong number of bytes for this form.
    #[error("expected {expected} bytes, got {got}")]
    InvalidLength {
        /// Accepted length(s), as text ("32", "33 or 65", ...).
        expected: &'static str,
        /// Length given.
        got: usize,
    },
    /// The scalar is zero or not below the curve order.
    #[error("secret key out of range")]
    InvalidSecretKey,
    /// The bytes do not encode a point on secp256k1.
    #[error("not a point on secp256k1")]
    InvalidPublicKey,
    /// The recovery id is not 0..=3 (or 27..=30 in the legacy form).
    #[error("invalid recovery id {0}")]
    InvalidRecoveryId(u8),
    /// The signature does not recover to a public key.
    #[error("signature does not recover a public key")]
    InvalidSignature,
    /// Not valid hexadecimal.
    #[error("invalid hex")]
    InvalidHex,
}
