//! Public key serialization (2/ACCOUNT "Public Key Serialization"): a
//! secp256k1 key behind the multicodec `secp256k1-pub` code (`0xe7` as an
//! unsigned varint, bytes `e7 01`), written in a multibase encoding.
//!
//! The spec's example, both ways:
//!
//! ```
//! use status_keys::{deserialize_public_key, serialize_public_key, Multibase};
//! let hex = "0xe70104261c55675e55ff25edb50b345cfb3a3f35f60712d251cbaaab97bd50054c6ebc\
//!            3cd4e22200c68daf7493e1f8da6a190a68a671e2d3977809612424c7c3888bc6";
//! let z = serialize_public_key(hex, Multibase::Base58Btc).unwrap();
//! assert_eq!(z, "zQ3shPyZJnxZK4Bwyx9QsaksNKDYTPmpwPvGSjMYVHoXHeEgB");
//! let back = deserialize_public_key(&z, Multibase::Base16).unwrap();
//! assert_eq!(&back[1..], &hex[2..]);
//! ```

use data_encoding::{
    Encoding, BASE32, BASE32HEX, BASE32HEX_NOPAD, BASE32_NOPAD, BASE64, BASE64URL, BASE64URL_NOPAD,
    BASE64_NOPAD, HEXLOWER, HEXLOWER_PERMISSIVE, HEXUPPER,
};
use status_core::PublicKey;

use crate::Error;

/// Multicodec code of `secp256k1-pub`.
pub const SECP256K1_PUB_CODE: u64 = 0xe7;

/// Longest string the decoder looks at. The longest valid input, an
/// uncompressed key in padded base32, is under 120 characters.
const MAX_ENCODED_LEN: usize = 256;

/// The multibase encodings this crate reads and writes: every one the spec
/// lists as `default`, plus the base32 and base58 `candidate`s.
/// (base2/8/10/36 and z-base-32, `draft` or rarely used, are not supported.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Multibase {
    /// `f`: lowercase hexadecimal. Reading also accepts a `0x` prefix
    /// (the spec's recommended extension).
    Base16,
    /// `F`: uppercase hexadecimal.
    Base16Upper,
    /// `b`: RFC 4648 base32, lowercase, no padding.
    Base32,
    /// `B`: RFC 4648 base32, uppercase, no padding.
    Base32Upper,
    /// `c`: RFC 4648 base32, lowercase, padded.
    Base32Pad,
    /// `C`: RFC 4648 base32, uppercase, padded.
    Base32PadUpper,
    /// `v`: RFC 4648 base32hex, lowercase, no padding.
    Base32Hex,
    /// `V`: RFC 4648 base32hex, uppercase, no padding.
    Base32HexUpper,
    /// `t`: RFC 4648 base32hex, lowercase, padded.
    Base32HexPad,
    /// `T`: RFC 4648 base32hex, uppercase, padded.
    Base32HexPadUpper,
    /// `z`: base58 with the Bitcoin alphabet (the `zQ3...` form).
    Base58Btc,
    /// `Z`: base58 with the Flickr alphabet.
    Base58Flickr,
    /// `m`: RFC 4648 base64, no padding.
    Base64,
    /// `M`: RFC 4648 base64, padded.
    Base64Pad,
    /// `u`: RFC 4648 base64url, no padding.
    Base64Url,
    /// `U`: RFC 4648 base64url, padded.
    Base64UrlPad,
}

impl Multibase {
    /// Every supported encoding.
    pub const ALL: [Multibase; 16] = [
        Multibase::Base16,
        Multibase::Base16Upper,
        Multibase::Base32,
        Multibase::Base32Upper,
        Multibase::Base32Pad,
        Multibase::Base32PadUpper,
        Multibase::Base32Hex,
        Multibase::Base32HexUpper,
        Multibase::Base32HexPad,
        Multibase::Base32HexPadUpper,
        Multibase::Base58Btc,
        Multibase::Base58Flickr,
        Multibase::Base64,
        Multibase::Base64Pad,
        Multibase::Base64Url,
        Multibase::Base64UrlPad,
    ];

    /// The one-character multibase prefix.
    pub fn code(self) -> char {
        match self {
            Multibase::Base16 => 'f',
            Multibase::Base16Upper => 'F',
            Multibase::Base32 => 'b',
            Multibase::Base32Upper => 'B',
            Multibase::Base32Pad => 'c',
            Multibase::Base32PadUpper => 'C',
            Multibase::Base32Hex => 'v',
            Multibase::Base32HexUpper => 'V',
            Multibase::Base32HexPad => 't',
            Multibase::Base32HexPadUpper => 'T',
            Multibase::Base58Btc => 'z',
            Multibase::Base58Flickr => 'Z',
            Multibase::Base64 => 'm',
            Multibase::Base64Pad => 'M',
            Multibase::Base64Url => 'u',
            Multibase::Base64UrlPad => 'U',
        }
    }

    /// The encoding named by a multibase code, as status-go's API takes it
    /// (`"z"`, `"f"`, ...). `"0x"` names base16: status-go then writes the
    /// `f` form, not `0x` (status-go v0.55.1 `api/multiformat`), and so
    /// does this crate.
    pub fn from_code(code: &str) -> Option<Self> {
        if code == "0x" {
            return Some(Multibase::Base16);
        }
        let mut chars = code.chars();
        let c = chars.next()?;
        if chars.next().is_some() {
            return None;
        }
        Multibase::ALL.into_iter().find(|b| b.code() == c)
    }

    /// For the base32 family: the RFC 4648 encoding (uppercase) and whether
    /// this variant writes lowercase.
    fn rfc4648(self) -> Option<(Encoding, bool)> {
        Some(match self {
            Multibase::Base32 => (BASE32_NOPAD, true),
            Multibase::Base32Upper => (BASE32_NOPAD, false),
            Multibase::Base32Pad => (BASE32, true),
            Multibase::Base32PadUpper => (BASE32, false),
            Multibase::Base32Hex => (BASE32HEX_NOPAD, true),
            Multibase::Base32HexUpper => (BASE32HEX_NOPAD, false),
            Multibase::Base32HexPad => (BASE32HEX, true),
            Multibase::Base32HexPadUpper => (BASE32HEX, false),
            Multibase::Base64 => (BASE64_NOPAD, false),
            Multibase::Base64Pad => (BASE64, false),
            Multibase::Base64Url => (BASE64URL_NOPAD, false),
            Multibase::Base64UrlPad => (BASE64URL, false),
            _ => return None,
        })
    }

    /// `code || encode(data)`.
    pub fn encode(self, data: &[u8]) -> String {
        let mut out = String::with_capacity(1 + data.len() * 2);
        out.push(self.code());
        match self {
            Multibase::Base16 => out.push_str(&HEXLOWER.encode(data)),
            Multibase::Base16Upper => out.push_str(&HEXUPPER.encode(data)),
            Multibase::Base58Btc => out.push_str(&bs58::encode(data).into_string()),
            Multibase::Base58Flickr => out.push_str(
                &bs58::encode(data)
                    .with_alphabet(bs58::Alphabet::FLICKR)
                    .into_string(),
            ),
            other => {
                if let Some((enc, lower)) = other.rfc4648() {
                    let s = enc.encode(data);
                    out.push_str(&if lower { s.to_ascii_lowercase() } else { s });
                }
            }
        }
        out
    }

    /// Decodes a multibase string: the first character picks the
    /// encoding (a leading `0x` means base16). Hex and base32 are read
    /// case-insensitively, as the multibase table says.
    pub fn decode(s: &str) -> Result<(Multibase, Vec<u8>), Error> {
        if s.len() > MAX_ENCODED_LEN {
            return Err(Error::InvalidMultibaseData);
        }
        let (base, body) = if let Some(rest) = s.strip_prefix("0x") {
            (Multibase::Base16, rest)
        } else {
            let c = s.chars().next().ok_or(Error::UnsupportedMultibase)?;
            let base = Multibase::ALL
                .into_iter()
                .find(|b| b.code() == c)
                .ok_or(Error::UnsupportedMultibase)?;
            (base, &s[c.len_utf8()..])
        };
        let bad = |_| Error::InvalidMultibaseData;
        let data = match base {
            Multibase::Base16 | Multibase::Base16Upper => {
                HEXLOWER_PERMISSIVE.decode(body.as_bytes()).map_err(bad)?
            }
            Multibase::Base58Btc => bs58::decode(body)
                .into_vec()
                .map_err(|_| Error::InvalidMultibaseData)?,
            Multibase::Base58Flickr => bs58::decode(body)
                .with_alphabet(bs58::Alphabet::FLICKR)
                .into_vec()
                .map_err(|_| Error::InvalidMultibaseData)?,
            other => {
                let (enc, case_insensitive) = match other.rfc4648() {
                    Some((enc, _)) => (enc, other.is_base32()),
                    None => return Err(Error::UnsupportedMultibase),
                };
                if case_insensitive {
                    enc.decode(body.to_ascii_uppercase().as_bytes())
                        .map_err(bad)?
                } else {
                    enc.decode(body.as_bytes()).map_err(bad)?
                }
            }
        };
        Ok((base, data))
    }

    fn is_base32(self) -> bool {
        matches!(
            self,
            Multibase::Base32
                | Multibase::Base32Upper
                | Multibase::Base32Pad
                | Multibase::Base32PadUpper
                | Multibase::Base32Hex
                | Multibase::Base32HexUpper
                | Multibase::Base32HexPad
                | Multibase::Base32HexPadUpper
        )
    }
}

/// Which SEC1 form of the key goes behind the multicodec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyForm {
    /// 33 bytes `02|03 || x`: the form of the `zQ3...` chat keys.
    Compressed,
    /// 65 bytes `04 || x || y`: the classic `0x04...` chat key.
    Uncompressed,
}

/// `base(e7 01 || key)`: a key in the 2/ACCOUNT serialized form.
pub fn encode_public_key(key: &PublicKey, form: KeyForm, base: Multibase) -> String {
    let mut data = Vec::with_capacity(67);
    data.extend_from_slice(&[0xe7, 0x01]);
    match form {
        KeyForm::Compressed => data.extend_from_slice(&key.to_compressed()),
        KeyForm::Uncompressed => data.extend_from_slice(&key.to_uncompressed()),
    }
    base.encode(&data)
}

/// Reads a multibase, multicodec-tagged secp256k1 public key in either SEC1
/// form, and checks that it is a point on the curve.
pub fn decode_public_key(s: &str) -> Result<PublicKey, Error> {
    decode_tagged(s).map(|(key, _)| key)
}

fn decode_tagged(s: &str) -> Result<(PublicKey, KeyForm), Error> {
    let (_, data) = Multibase::decode(s)?;
    let (code, key) = unsigned_varint::decode::u64(&data).map_err(|_| Error::InvalidVarint)?;
    if code != SECP256K1_PUB_CODE {
        return Err(Error::UnsupportedKeyType(code));
    }
    let form = match key.len() {
        33 => KeyForm::Compressed,
        65 => KeyForm::Uncompressed,
        _ => return Err(Error::InvalidPublicKey),
    };
    let key = PublicKey::from_slice(key).map_err(|_| Error::InvalidPublicKey)?;
    Ok((key, form))
}

/// status-go's `SerializePublicKey` ("compression"): reads a serialized key
/// and writes it compressed in `base`.
///
/// status-go accepts only uncompressed input here; this also accepts an
/// already compressed key (the output is the same point either way).
pub fn serialize_public_key(key: &str, base: Multibase) -> Result<String, Error> {
    Ok(encode_public_key(
        &decode_public_key(key)?,
        KeyForm::Compressed,
        base,
    ))
}

/// status-go's `DeserializePublicKey` ("decompression"): reads a
/// serialized key and writes it uncompressed in `base`.
///
/// status-go accepts only compressed input here; this also accepts an
/// already uncompressed key.
pub fn deserialize_public_key(key: &str, base: Multibase) -> Result<String, Error> {
    Ok(encode_public_key(
        &decode_public_key(key)?,
        KeyForm::Uncompressed,
        base,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for b in Multibase::ALL {
            assert_eq!(Multibase::from_code(&b.code().to_string()), Some(b));
        }
        assert_eq!(Multibase::from_code("0x"), Some(Multibase::Base16));
        assert_eq!(Multibase::from_code("p"), None);
        assert_eq!(Multibase::from_code("zz"), None);
        assert_eq!(Multibase::from_code(""), None);
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert_eq!(decode_public_key(""), Err(Error::UnsupportedMultibase));
        assert_eq!(decode_public_key("0x"), Err(Error::InvalidVarint));
        assert_eq!(decode_public_key("f"), Err(Error::InvalidVarint));
        assert_eq!(decode_public_key("0xzz"), Err(Error::InvalidMultibaseData));
        assert_eq!(decode_public_key("é"), Err(Error::UnsupportedMultibase));
        assert_eq!(decode_public_key("0xe701"), Err(Error::InvalidPublicKey));
        assert_eq!(
            decode_public_key(&"f".repeat(300)),
            Err(Error::InvalidMultibaseData)
        );
    }

    #[test]
    fn base32_is_read_case_insensitively() {
        let data = [0xe7, 0x01, 0x02];
        let lower = Multibase::Base32.encode(&data);
        let upper = format!("b{}", lower[1..].to_ascii_uppercase());
        assert_eq!(Multibase::decode(&upper).unwrap().1, data);
    }
}
