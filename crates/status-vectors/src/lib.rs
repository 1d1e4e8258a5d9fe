//! Test vectors for status-rs and a tiny loader for the tests that use them.
//!
//! The crate embeds a copy of the vector tree in `vectors/` (see its
//! README.md): `spec/` holds vectors taken from the specifications (EIP-8,
//! EIP-778, EIP-1459, discv5), `status-go/` holds captures of status-go
//! v0.55.1 run with fixed inputs. Setting the environment variable
//! [`VECTORS_ENV`] (`STATUS_RS_VECTORS`) to another directory of the same
//! layout runs the whole suite against that set instead:
//!
//! ```text
//! STATUS_RS_VECTORS=/path/to/vectors cargo test --workspace
//! ```
//!
//! This is dev-only code: every function panics with a message naming the
//! file or field at fault, which is what a failing test should do.
//!
//! ```
//! let cases = status_vectors::cases("status-go/mvds.json");
//! for case in &cases {
//!     let bytes = status_vectors::hex_field(case, "protobuf");
//!     assert!(bytes.len() < 1024);
//! }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod coverage;
pub mod generate;
pub mod peers;
mod tape;

pub use coverage::Coverage;
pub use tape::Tape;

use std::path::PathBuf;

use serde_json::Value;

/// Name of the environment variable that points the loader at another
/// vector directory (same layout as the embedded `vectors/`).
pub const VECTORS_ENV: &str = "STATUS_RS_VECTORS";

/// The vector directory in use: the one named by `STATUS_RS_VECTORS` when
/// that is set and non-empty, else the copy embedded in this crate.
pub fn vectors_dir() -> PathBuf {
    match std::env::var_os(VECTORS_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => embedded_dir(),
    }
}

/// The copy of the vector tree embedded in this crate, whatever
/// `STATUS_RS_VECTORS` says: for checks of the copy itself (that it is a
/// faithful transcription of a spec), which mean nothing for another set.
pub fn embedded_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/vectors"))
}

/// Reads and parses the JSON file at `rel` under [`vectors_dir`], e.g.
/// `load_json("status-go/rlpx.json")`.
///
/// # Panics
/// If the file cannot be read or is not valid JSON; the message names the
/// full path and the environment variable.
pub fn load_json(rel: &str) -> Value {
    let path = vectors_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read vector file {} ({e}); the vector directory is ${VECTORS_ENV} if set, \
             else the copy embedded in status-vectors",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "vector file {} is not valid JSON ({e}); check ${VECTORS_ENV}",
            path.display()
        )
    })
}

/// The `cases` array of a status-go style vector file at `rel`.
///
/// # Panics
/// If the file cannot be loaded or has no `cases` array.
pub fn cases(rel: &str) -> Vec<Value> {
    match load_json(rel) {
        Value::Object(mut top) => match top.remove("cases") {
            Some(Value::Array(cases)) => cases,
            _ => panic!(
                "vector file {} has no `cases` array",
                vectors_dir().join(rel).display()
            ),
        },
        _ => panic!(
            "vector file {} is not a JSON object",
            vectors_dir().join(rel).display()
        ),
    }
}

/// Decodes the hex string field `key` of `v` (lowercase hex, optional `0x`
/// prefix; the empty string is zero bytes).
///
/// # Panics
/// If the field is missing, not a string, or not valid hex; the message
/// names the key (and the case's `description` when it has one).
pub fn hex_field(v: &Value, key: &str) -> Vec<u8> {
    let s = str_field(v, key);
    let digits = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(digits)
        .unwrap_or_else(|e| panic!("{} is not valid hex ({e}): {s:?}", field_name(v, key)))
}

/// The `description` of a case, or `<no description>`: for messages.
pub fn description(case: &Value) -> &str {
    case.get("description")
        .and_then(Value::as_str)
        .unwrap_or("<no description>")
}

/// "field `key` of case "…"" for panic messages.
fn field_name(v: &Value, key: &str) -> String {
    match v.get("description").and_then(Value::as_str) {
        Some(d) => format!("field `{key}` of case \"{d}\""),
        None => format!("field `{key}`"),
    }
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("{} is missing", field_name(v, key)))
}

/// The string field `key` of `v`.
///
/// # Panics
/// If it is missing or not a string; the message names the key and case.
pub fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    match field(v, key) {
        Value::String(s) => s,
        other => panic!("{} is not a string: {other}", field_name(v, key)),
    }
}

/// The unsigned integer field `key` of `v`.
///
/// # Panics
/// If it is missing or not a non-negative integer below 2^64.
pub fn u64_field(v: &Value, key: &str) -> u64 {
    let x = field(v, key);
    x.as_u64()
        .unwrap_or_else(|| panic!("{} is not a u64: {x}", field_name(v, key)))
}

/// The signed integer field `key` of `v`.
///
/// # Panics
/// If it is missing or not an integer in the i64 range.
pub fn i64_field(v: &Value, key: &str) -> i64 {
    let x = field(v, key);
    x.as_i64()
        .unwrap_or_else(|| panic!("{} is not an i64: {x}", field_name(v, key)))
}

/// The number field `key` of `v`, as an f64.
///
/// # Panics
/// If it is missing or not a number.
pub fn f64_field(v: &Value, key: &str) -> f64 {
    let x = field(v, key);
    x.as_f64()
        .unwrap_or_else(|| panic!("{} is not a number: {x}", field_name(v, key)))
}

/// The boolean field `key` of `v`.
///
/// # Panics
/// If it is missing or not a boolean.
pub fn bool_field(v: &Value, key: &str) -> bool {
    let x = field(v, key);
    x.as_bool()
        .unwrap_or_else(|| panic!("{} is not a boolean: {x}", field_name(v, key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_dir_has_spec_and_status_go_files() {
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/vectors"));
        for rel in [
            "README.md",
            "spec/eip8-handshake.json",
            "spec/enr-eip778.json",
            "spec/dnsdisc-eip1459.json",
            "spec/discv5-wire.json",
            "spec/verify_vectors.py",
            "status-go/rlpx.json",
            "status-go/waku_envelope.json",
            "status-go/waku_message.json",
            "status-go/status_topics.json",
            "status-go/encryption.json",
            "status-go/mvds.json",
            "status-go/status_payloads.json",
            "status-go/mailserver.json",
        ] {
            assert!(
                dir.join(rel).is_file(),
                "missing embedded vector file {rel}"
            );
        }
    }

    #[test]
    fn every_status_go_file_has_described_cases() {
        // The status-go README promises `description`, `sources` and `cases`
        // in every file, and a `description` in every case.
        for rel in [
            "status-go/rlpx.json",
            "status-go/waku_envelope.json",
            "status-go/waku_message.json",
            "status-go/status_topics.json",
            "status-go/encryption.json",
            "status-go/mvds.json",
            "status-go/status_payloads.json",
            "status-go/mailserver.json",
        ] {
            let top = load_json(rel);
            assert!(top["description"].is_string(), "{rel}: no description");
            assert!(top["sources"].is_array(), "{rel}: no sources");
            let cases = cases(rel);
            assert!(!cases.is_empty(), "{rel}: no cases");
            for case in &cases {
                assert!(
                    case["description"].is_string(),
                    "{rel}: case without description"
                );
            }
        }
    }

    #[test]
    fn hex_field_accepts_plain_prefixed_and_empty() {
        let v = serde_json::json!({ "a": "00ff", "b": "0x0102", "c": "" });
        assert_eq!(hex_field(&v, "a"), [0x00, 0xff]);
        assert_eq!(hex_field(&v, "b"), [0x01, 0x02]);
        assert_eq!(hex_field(&v, "c"), Vec::<u8>::new());
    }

    #[test]
    fn typed_fields_read_and_name_the_case_when_wrong() {
        let v = serde_json::json!({
            "description": "c", "s": "x", "u": 7, "i": -7, "f": 0.5, "b": true
        });
        assert_eq!(str_field(&v, "s"), "x");
        assert_eq!(u64_field(&v, "u"), 7);
        assert_eq!(i64_field(&v, "i"), -7);
        assert_eq!(f64_field(&v, "f"), 0.5);
        assert!(bool_field(&v, "b"));
        assert_eq!(description(&v), "c");
        let err = std::panic::catch_unwind(|| u64_field(&v, "i")).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("field `i` of case \"c\" is not a u64"),
            "{msg}"
        );
    }

    #[test]
    #[should_panic(expected = "field `nope` is missing")]
    fn hex_field_names_a_missing_key() {
        hex_field(&serde_json::json!({}), "nope");
    }

    #[test]
    #[should_panic(expected = "field `x` of case \"c1\" is not valid hex")]
    fn hex_field_names_a_bad_key_and_case() {
        hex_field(&serde_json::json!({ "description": "c1", "x": "zz" }), "x");
    }

    #[test]
    #[should_panic(expected = "does-not-exist.json")]
    fn load_json_names_the_missing_path() {
        load_json("status-go/does-not-exist.json");
    }
}
