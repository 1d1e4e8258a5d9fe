//! Ethereum addresses of wallet keys (BIP44 `m/44'/60'/0'/0/i`).

use status_core::{keccak256, PublicKey};

/// A 20-byte Ethereum address: the last 20 bytes of the Keccak-256 of the
/// uncompressed public key without its `0x04` prefix.
///
/// `Display` gives the EIP-55 mixed-case checksum form status-go prints
/// (`0x9c32F71D4DB8Fb9e1A58B0a80dF79935e7256FA6`).
///
/// ```
/// use status_keys::Address;
///
/// // EIP-55's first example address
/// let bytes = hex::decode("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").unwrap();
/// let address = Address(bytes.try_into().unwrap());
/// assert_eq!(address.to_string(), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The address of `key`.
    pub fn from_public_key(key: &PublicKey) -> Self {
        let full = key.to_uncompressed();
        let hash = keccak256(&full[1..]);
        let mut a = [0u8; 20];
        a.copy_from_slice(&hash[12..]);
        Address(a)
    }

    /// The 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// EIP-55: hex digit `i` is upper-cased when nibble `i` of
    /// `keccak256(lowercase hex)` is 8 or more.
    pub fn to_checksum_string(&self) -> String {
        let lower = hex::encode(self.0);
        let hash = keccak256(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            if nibble >= 8 {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_checksum_string())
    }
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Address({})", self.to_checksum_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The EIP-55 examples ("all caps", "all lower", "normal").
    #[test]
    fn eip55_examples() {
        for s in [
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
            "0xde709f2102306220921060314715629080e2fb77",
            "0x27b1fdb04752bbc536007a920d24acb045561c26",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let mut a = [0u8; 20];
            a.copy_from_slice(&hex::decode(s[2..].to_lowercase()).unwrap());
            assert_eq!(Address(a).to_string(), s);
        }
    }
}
