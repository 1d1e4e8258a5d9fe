//! BIP32 derivation paths (`m/44'/60'/0'/0/0`).

use crate::Error;

/// First hardened index: BIP32 marks hardened children with the top bit.
pub const HARDENED: u32 = 1 << 31;

/// Deepest path accepted: an extended key's depth is one byte.
pub const MAX_DEPTH: usize = 255;

/// One level of a derivation path: a 31-bit index and the hardened flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildNumber(u32);

impl ChildNumber {
    /// A normal (non-hardened) child; `index` must be below 2^31.
    pub fn normal(index: u32) -> Result<Self, Error> {
        if index >= HARDENED {
            return Err(Error::IndexTooLarge(u64::from(index)));
        }
        Ok(ChildNumber(index))
    }

    /// A hardened child (`index'`); `index` must be below 2^31.
    pub fn hardened(index: u32) -> Result<Self, Error> {
        if index >= HARDENED {
            return Err(Error::IndexTooLarge(u64::from(index)));
        }
        Ok(ChildNumber(index | HARDENED))
    }

    /// From the 32-bit value BIP32 serialises (`ser32(i)`), top bit = hardened.
    pub fn from_u32(raw: u32) -> Self {
        ChildNumber(raw)
    }

    /// The 32-bit value, hardened flag included.
    pub fn to_u32(self) -> u32 {
        self.0
    }

    /// Whether derivation needs the parent private key.
    pub fn is_hardened(self) -> bool {
        self.0 & HARDENED != 0
    }

    /// The index without the hardened flag.
    pub fn index(self) -> u32 {
        self.0 & !HARDENED
    }
}

impl std::fmt::Display for ChildNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_hardened() {
            write!(f, "{}'", self.index())
        } else {
            write!(f, "{}", self.index())
        }
    }
}

/// A BIP32 path from the master key: `m` followed by `/index` or
/// `/index'` levels (`h` and `H` are accepted for `'`).
///
/// ```
/// use status_keys::DerivationPath;
/// let p: DerivationPath = "m/43'/60'/1581'/0'/0".parse().unwrap();
/// assert_eq!(p.len(), 5);
/// assert_eq!(p.to_string(), "m/43'/60'/1581'/0'/0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DerivationPath(Vec<ChildNumber>);

impl DerivationPath {
    /// The empty path `m` (the master key itself).
    pub fn master() -> Self {
        DerivationPath(Vec::new())
    }

    /// From levels; at most [`MAX_DEPTH`] of them.
    pub fn from_children(children: Vec<ChildNumber>) -> Result<Self, Error> {
        if children.len() > MAX_DEPTH {
            return Err(Error::PathTooDeep);
        }
        Ok(DerivationPath(children))
    }

    /// Parses `m`, `m/0`, `m/44'/60'/0'/0/0`, .... The error gives the
    /// 0-based byte offset of the problem.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bytes = s.as_bytes();
        if bytes.first() != Some(&b'm') {
            return Err(Error::InvalidPath {
                position: 0,
                reason: "expected m",
            });
        }
        let mut pos = 1;
        let mut children = Vec::new();
        while pos < bytes.len() {
            if bytes[pos] != b'/' {
                return Err(Error::InvalidPath {
                    position: pos,
                    reason: "expected /",
                });
            }
            pos += 1;
            let start = pos;
            let mut value: u64 = 0;
            while let Some(d) = bytes.get(pos).filter(|b| b.is_ascii_digit()) {
                value = value * 10 + u64::from(d - b'0');
                if value >= u64::from(HARDENED) {
                    return Err(Error::IndexTooLarge(value));
                }
                pos += 1;
            }
            if pos == start {
                return Err(Error::InvalidPath {
                    position: pos,
                    reason: "expected a number",
                });
            }
            let hardened = matches!(bytes.get(pos), Some(b'\'' | b'h' | b'H'));
            if hardened {
                pos += 1;
            }
            if children.len() == MAX_DEPTH {
                return Err(Error::PathTooDeep);
            }
            // value < 2^31 was checked above.
            let raw = value as u32;
            children.push(ChildNumber(if hardened { raw | HARDENED } else { raw }));
        }
        Ok(DerivationPath(children))
    }

    /// The levels, from the master key down.
    pub fn children(&self) -> &[ChildNumber] {
        &self.0
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether this is `m`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This path with one more level; fails past [`MAX_DEPTH`].
    pub fn child(&self, child: ChildNumber) -> Result<Self, Error> {
        let mut v = self.0.clone();
        v.push(child);
        Self::from_children(v)
    }
}

impl std::str::FromStr for DerivationPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl std::fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("m")?;
        for c in &self.0 {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(s: &str, position: usize) {
        match DerivationPath::parse(s) {
            Err(Error::InvalidPath { position: p, .. }) => assert_eq!(p, position, "{s}"),
            other => panic!("{s}: {other:?}"),
        }
    }

    // The cases of status-go v0.55.1 account/generator/path_decoder_test.go
    // that apply to absolute paths (status-go also accepts relative ones).
    // Positions here are 0-based byte offsets; status-go counts differently.
    #[test]
    fn status_go_path_decoder_cases() {
        assert_eq!(DerivationPath::parse("m").unwrap().len(), 0);
        assert_eq!(
            DerivationPath::parse("m/1").unwrap().children(),
            [ChildNumber(1)]
        );
        assert_eq!(
            DerivationPath::parse("m/1/2").unwrap().children(),
            [ChildNumber(1), ChildNumber(2)]
        );
        assert_eq!(
            DerivationPath::parse("m/1/2'/3").unwrap().children(),
            [ChildNumber(1), ChildNumber(2147483650), ChildNumber(3)]
        );
        bad("m/", 2);
        bad("m/1//2", 4);
        bad("m/1'2", 4);
        bad("m/'/2", 2);
        assert_eq!(
            DerivationPath::parse("m/2147483648"),
            Err(Error::IndexTooLarge(2147483648))
        );
    }

    #[test]
    fn hardened_markers_and_display() {
        let p = DerivationPath::parse("m/44h/60H/0'/0/7").unwrap();
        assert_eq!(p.to_string(), "m/44'/60'/0'/0/7");
        assert!(p.children()[0].is_hardened());
        assert!(!p.children()[3].is_hardened());
        assert_eq!(p.children()[4].index(), 7);
    }

    #[test]
    fn rejects_missing_m_and_huge_numbers_and_depth() {
        bad("", 0);
        bad("44'/0", 0);
        assert!(matches!(
            DerivationPath::parse("m/99999999999999999999999"),
            Err(Error::IndexTooLarge(_))
        ));
        let deep = format!("m{}", "/0".repeat(256));
        assert_eq!(DerivationPath::parse(&deep), Err(Error::PathTooDeep));
        assert!(DerivationPath::parse(&format!("m{}", "/0".repeat(255))).is_ok());
    }
}
