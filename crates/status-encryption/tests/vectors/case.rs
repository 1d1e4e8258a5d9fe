//! Reading one case of an encryption.json-shaped file: fields, keys and
//! recorded randomness, with every failure naming the case.

use std::collections::BTreeSet;

use rand_core::{CryptoRng, RngCore};
use serde_json::Value;
use status_core::{SecretKey, Timestamp};
use status_encryption::generate_secret;
use status_proto::encryption::{Bundle, ProtocolMessage};
use status_proto::Message;

/// Bytes status-go's `ecdsa.GenerateKey` reads for one key.
pub const KEY_DRAW: usize = 40;

/// "case 7 (direct_message: <description>)": how failures name a case.
pub fn label(index: usize, case: &Value) -> String {
    format!(
        "case {index} ({}: {})",
        case["kind"].as_str().unwrap_or("?"),
        case["description"].as_str().unwrap_or("no description")
    )
}

/// The case's `kind`.
pub fn kind(case: &Value) -> &str {
    case["kind"].as_str().unwrap_or("")
}

/// A string field.
pub fn text<'a>(case: &'a Value, key: &str, label: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: field `{key}` is missing or not a string"))
}

/// A hex field (lowercase, optional `0x`, "" is empty).
pub fn hex(case: &Value, key: &str, label: &str) -> Vec<u8> {
    let s = text(case, key, label);
    hex::decode(s.strip_prefix("0x").unwrap_or(s))
        .unwrap_or_else(|e| panic!("{label}: field `{key}` is not hex ({e})"))
}

/// An unsigned integer field.
pub fn uint(case: &Value, key: &str, label: &str) -> u64 {
    case[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{label}: field `{key}` is missing or not an unsigned integer"))
}

/// A signed integer field.
pub fn int(case: &Value, key: &str, label: &str) -> i64 {
    case[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{label}: field `{key}` is missing or not an integer"))
}

/// A `u32` field.
pub fn u32_field(case: &Value, key: &str, label: &str) -> u32 {
    u32::try_from(uint(case, key, label))
        .unwrap_or_else(|_| panic!("{label}: field `{key}` does not fit in u32"))
}

/// A private key from a hex string field.
pub fn private(case: &Value, key: &str, label: &str) -> SecretKey {
    SecretKey::from_bytes(&hex(case, key, label))
        .unwrap_or_else(|e| panic!("{label}: field `{key}` is not a secp256k1 private key ({e})"))
}

/// A key object `{private, public_compressed, public_uncompressed}`; its
/// public forms must be those of its private key.
pub fn key_object(case: &Value, key: &str, label: &str) -> SecretKey {
    let obj = &case[key];
    let what = format!("{label}, `{key}`");
    let sk = private(obj, "private", &what);
    let public = sk.public_key();
    if obj.get("public_compressed").is_some() {
        assert_eq!(
            hex(obj, "public_compressed", &what),
            public.to_compressed(),
            "{what}: public_compressed is not the private key's"
        );
    }
    if obj.get("public_uncompressed").is_some() {
        assert_eq!(
            hex(obj, "public_uncompressed", &what),
            public.to_uncompressed(),
            "{what}: public_uncompressed is not the private key's"
        );
    }
    sk
}

/// The JSON form of a key object, as status-go's vectors write it.
pub fn key_json(sk: &SecretKey) -> Value {
    let public = sk.public_key();
    serde_json::json!({
        "private": hex::encode(&sk.to_bytes()[..]),
        "public_compressed": hex::encode(public.to_compressed()),
        "public_uncompressed": hex::encode(public.to_uncompressed()),
    })
}

/// A ProtocolMessage from a hex field.
pub fn protocol_message(case: &Value, key: &str, label: &str) -> ProtocolMessage {
    ProtocolMessage::decode(hex(case, key, label).as_slice())
        .unwrap_or_else(|e| panic!("{label}: `{key}` is not a ProtocolMessage ({e})"))
}

/// A Bundle from hex bytes.
pub fn bundle(bytes: &[u8], what: &str) -> Bundle {
    Bundle::decode(bytes).unwrap_or_else(|e| panic!("{what} is not a Bundle ({e})"))
}

/// The decoded entries of a `bundles_protobuf` list.
pub fn bundle_list(case: &Value, key: &str, label: &str) -> Vec<Bundle> {
    let list = case[key]
        .as_array()
        .unwrap_or_else(|| panic!("{label}: field `{key}` is missing or not a list"));
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let what = format!("{label}, `{key}`[{i}]");
            let s = v
                .as_str()
                .unwrap_or_else(|| panic!("{what} is not a string"));
            let bytes = hex::decode(s).unwrap_or_else(|e| panic!("{what} is not hex ({e})"));
            bundle(&bytes, &what)
        })
        .collect()
}

/// status-go writes bundle timestamps in nanoseconds, our `Timestamp` is
/// milliseconds.
pub fn ms_of_ns(ns: i64, label: &str) -> Timestamp {
    let ns = u64::try_from(ns).unwrap_or_else(|_| panic!("{label}: negative timestamp {ns}"));
    Timestamp::from_millis(ns / 1_000_000)
}

/// The key Go's `ecdsa.GenerateKey` derives from 40 drawn bytes.
pub fn derive(window: &[u8]) -> SecretKey {
    generate_secret(&mut Draws::new("a key window", window.to_vec()))
}

/// 40 bytes from which [`derive`] gives `sk` (`k - 1`, big-endian, behind
/// 8 zero bytes), for a key whose recorded draw is not known.
pub fn window_of(sk: &SecretKey) -> Vec<u8> {
    let mut k = sk.to_bytes().to_vec();
    for b in k.iter_mut().rev() {
        let (v, borrow) = b.overflowing_sub(1);
        *b = v;
        if !borrow {
            break;
        }
    }
    let mut out = vec![0u8; KEY_DRAW - k.len()];
    out.extend_from_slice(&k);
    out
}

/// Recorded randomness handed to one call; panics naming the call when it
/// wants more than was recorded.
pub struct Draws {
    what: String,
    bytes: Vec<u8>,
    pos: usize,
}

impl Draws {
    pub fn new(what: impl Into<String>, bytes: Vec<u8>) -> Self {
        Draws {
            what: what.into(),
            bytes,
            pos: 0,
        }
    }

    pub fn consumed(&self) -> usize {
        self.pos
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }
}

impl RngCore for Draws {
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
            "{}: drew {} bytes more randomness than the recording has for it",
            self.what,
            end - self.bytes.len()
        );
        dst.copy_from_slice(&self.bytes[self.pos..end]);
        self.pos = end;
    }
}

impl CryptoRng for Draws {}

/// Indices of the cases a check went through, to prove it saw every case
/// of its kinds.
#[derive(Default)]
pub struct Checked(pub BTreeSet<usize>);

impl Checked {
    pub fn mark(&mut self, index: usize) {
        self.0.insert(index);
    }

    /// Panics naming every case of `kinds` that was not checked, or when
    /// `cases` has none of them.
    pub fn assert_all(&self, cases: &[Value], kinds: &[&str]) {
        let wanted: Vec<usize> = (0..cases.len())
            .filter(|&i| kinds.contains(&kind(&cases[i])))
            .collect();
        assert!(!wanted.is_empty(), "no case of kind {kinds:?}");
        let missed: Vec<String> = wanted
            .iter()
            .filter(|i| !self.0.contains(i))
            .map(|&i| label(i, &cases[i]))
            .collect();
        assert!(missed.is_empty(), "cases not checked: {missed:?}");
    }
}
