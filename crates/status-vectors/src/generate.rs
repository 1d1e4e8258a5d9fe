//! A second vector tree, made from the current one, to catch tests that
//! learned the shared set instead of the rules.
//!
//! [`generate_tree`] copies a vector directory into another one and changes
//! everything a vector suite must not depend on, while keeping every case
//! true:
//!
//! - **Order and counts.** Every case array ([`CASE_ARRAYS`]: each file's
//!   `cases` and `invalid`, and the case-like arrays of the spec files) is
//!   shuffled with a seeded RNG, and cases are duplicated (one to three
//!   copies each, at least one case per array more than once), so no count
//!   and no index of the shared set survives.
//! - **Descriptions.** Each case's label (`description`, or `name` where
//!   that is the label) gets the suffix ` [generated N]`, N its position in
//!   the new array: labels are unique and none is the shared set's.
//! - **Map entry order.** Go marshals protobuf map entries in random order,
//!   so two status-go runs give different bytes for the same message. Every
//!   encoded `ProtocolMessage` (`protocol_message_protobuf`) and `Bundle`
//!   (`bundle_protobuf`, `bundles_protobuf`, and the bundles nested in a
//!   ProtocolMessage) is rewritten at the wire level with the records of its
//!   map fields (`ProtocolMessage.direct_message`, `Bundle.signed_pre_keys`)
//!   in another order whenever a map has two or more entries; all other
//!   bytes stay as they are, so the decoded message is the same. Bundle
//!   signatures stay valid: status-go v0.55.1 (`encryption/x3dh.go`,
//!   `buildSignatureMaterial`) signs keccak256 of the installation ids in
//!   sorted order, each followed by its signed prekey and decimal version,
//!   then the decimal timestamp: never the protobuf bytes.
//!
//! What must stay in order stays in order: cases that form one recorded
//! session ([`SESSION_KINDS`]: in `status-go/encryption.json` the bundle,
//! the direct messages and the cumulative `session_tape` whose offsets the
//! direct messages index) keep their relative order and are never
//! duplicated; other cases are shuffled in between. Arrays inside a case
//! (the frames of an RLPx capture) are never reordered.
//!
//! ```no_run
//! let summary = status_vectors::generate::generate_tree(
//!     &status_vectors::embedded_dir(),
//!     std::path::Path::new("target/generated-vectors"),
//!     7,
//! )
//! .expect("generated");
//! println!("{summary}");
//! // then: STATUS_RS_VECTORS=target/generated-vectors cargo test ...
//! ```

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The seed `generate-vectors` uses when none is given.
pub const DEFAULT_SEED: u64 = 0x5eed_0019;

/// The file the generator writes at the root of a generated tree; a
/// directory holding it may be replaced by the next run.
pub const MARKER: &str = "GENERATED.md";

/// Arrays of cases, as (file relative to the tree root or `*` for every
/// file, JSON pointer, label field, whether cases may be duplicated).
pub const CASE_ARRAYS: &[(&str, &str, Option<&str>, bool)] = &[
    ("*", "/cases", Some("description"), true),
    ("*", "/invalid", Some("description"), true),
    (
        "spec/eip8-handshake.json",
        "/devp2p_base_protocol",
        Some("description"),
        true,
    ),
    (
        "spec/eip8-handshake.json",
        "/rlpx_discovery_protocol/packets",
        Some("description"),
        true,
    ),
    (
        "spec/eip8-handshake.json",
        "/rlpx_handshake/packets",
        Some("description"),
        true,
    ),
    ("spec/discv5-wire.json", "/packets", Some("name"), true),
    // A DNS zone holds each name once: reordered, not duplicated.
    (
        "spec/dnsdisc-eip1459.json",
        "/zone_example/records",
        None,
        false,
    ),
];

/// Case kinds that form one recorded session in a file: their relative
/// order is kept and they are never duplicated.
pub const SESSION_KINDS: &[(&str, &[&str])] = &[(
    "status-go/encryption.json",
    &["bundle", "direct_message", "session_tape"],
)];

/// Fields that hold an encoded `ProtocolMessage` (hex).
pub const PROTOCOL_MESSAGE_FIELDS: &[&str] = &["protocol_message_protobuf"];
/// Fields that hold an encoded `Bundle` (hex).
pub const BUNDLE_FIELDS: &[&str] = &["bundle_protobuf"];
/// Fields that hold an array of encoded `Bundle`s (hex).
pub const BUNDLE_LIST_FIELDS: &[&str] = &["bundles_protobuf"];

/// Why a tree could not be generated.
#[derive(Debug)]
#[non_exhaustive]
pub enum GenerateError {
    /// Reading or writing `path` failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `path` is not valid JSON.
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The destination exists, is not empty and was not made by the
    /// generator (no [`MARKER`] file): refusing to replace it.
    DestinationNotEmpty(PathBuf),
    /// An encoded protobuf field is not valid hex or not a valid message.
    Protobuf {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            GenerateError::Json { path, source } => {
                write!(f, "{} is not valid JSON: {source}", path.display())
            }
            GenerateError::DestinationNotEmpty(path) => write!(
                f,
                "{} exists and is not a generated tree (no {MARKER}); remove it or pick another directory",
                path.display()
            ),
            GenerateError::Protobuf {
                path,
                field,
                reason,
            } => write!(f, "{}: field `{field}`: {reason}", path.display()),
        }
    }
}

impl std::error::Error for GenerateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GenerateError::Io { source, .. } => Some(source),
            GenerateError::Json { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What [`generate_tree`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The seed used.
    pub seed: u64,
    /// Files written (JSON rewritten or other files copied).
    pub files: usize,
    /// Cases read from the case arrays of the source.
    pub cases_in: usize,
    /// Cases written.
    pub cases_out: usize,
    /// Encoded ProtocolMessages and Bundles rewritten.
    pub protobufs: usize,
    /// Maps among them with two or more entries, written in another order.
    pub maps_permuted: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {}: {} files, {} cases -> {}, {} ProtocolMessage/Bundle protobufs rewritten, {} maps reordered",
            self.seed, self.files, self.cases_in, self.cases_out, self.protobufs, self.maps_permuted
        )
    }
}

/// Writes the tree generated from `src` into `dst` (created if missing;
/// replaced if it holds a previous generated tree).
///
/// # Errors
/// If a file cannot be read or written, is not valid JSON, holds an
/// invalid encoded protobuf, or `dst` is a non-empty directory the
/// generator did not make.
pub fn generate_tree(src: &Path, dst: &Path, seed: u64) -> Result<Summary, GenerateError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenerateError::Io { path, source }
    };
    if dst.exists() {
        let empty = fs::read_dir(dst).map_err(io(dst))?.next().is_none();
        if !empty {
            if !dst.join(MARKER).is_file() {
                return Err(GenerateError::DestinationNotEmpty(dst.to_path_buf()));
            }
            fs::remove_dir_all(dst).map_err(io(dst))?;
        }
    }
    fs::create_dir_all(dst).map_err(io(dst))?;

    let mut files = Vec::new();
    list_files(src, Path::new(""), &mut files).map_err(io(src))?;
    files.sort();

    let mut rng = SplitMix64(seed);
    let mut summary = Summary {
        seed,
        ..Summary::default()
    };
    for rel in &files {
        let from = src.join(rel);
        let to = dst.join(rel);
        if let Some(dir) = to.parent() {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let rel_str = rel.to_string_lossy().replace('\\', "/");
        if rel.extension().is_some_and(|e| e == "json") {
            let text = fs::read_to_string(&from).map_err(io(&from))?;
            let mut doc: Value =
                serde_json::from_str(&text).map_err(|source| GenerateError::Json {
                    path: from.clone(),
                    source,
                })?;
            transform_file(&rel_str, &mut doc, &mut rng, &mut summary).map_err(
                |(field, reason)| GenerateError::Protobuf {
                    path: from.clone(),
                    field,
                    reason,
                },
            )?;
            let mut out =
                serde_json::to_string_pretty(&doc).map_err(|source| GenerateError::Json {
                    path: from.clone(),
                    source,
                })?;
            out.push('\n');
            fs::write(&to, out).map_err(io(&to))?;
        } else {
            fs::copy(&from, &to).map_err(io(&to))?;
        }
        summary.files += 1;
    }
    let marker = dst.join(MARKER);
    fs::write(
        &marker,
        format!(
            "# Generated vector tree\n\nMade by `status_vectors::generate::generate_tree` from {}.\n\n{summary}.\n\nDo not edit: regenerate with\n`cargo run -p status-vectors --bin generate-vectors -- <dir> --seed {seed}`.\n",
            src.display()
        ),
    )
    .map_err(io(&marker))?;
    Ok(summary)
}

fn list_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == MARKER && rel.as_os_str().is_empty() {
            continue;
        }
        let rel = rel.join(name);
        if entry.file_type()?.is_dir() {
            list_files(root, &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// A failure while rewriting a field: (field, reason).
type FieldError = (String, String);

fn transform_file(
    rel: &str,
    doc: &mut Value,
    rng: &mut SplitMix64,
    summary: &mut Summary,
) -> Result<(), FieldError> {
    let session: &[&str] = SESSION_KINDS
        .iter()
        .find(|(file, _)| *file == rel)
        .map_or(&[], |(_, kinds)| kinds);
    for (file, pointer, label, duplicate) in CASE_ARRAYS {
        if *file != "*" && *file != rel {
            continue;
        }
        let Some(Value::Array(list)) = doc.pointer_mut(pointer) else {
            continue;
        };
        let cases = std::mem::take(list);
        summary.cases_in += cases.len();
        let mut out = reorder(cases, session, *duplicate, rng);
        if let Some(label) = label {
            for (i, case) in out.iter_mut().enumerate() {
                if let Some(Value::String(s)) = case.get_mut(*label) {
                    s.push_str(&format!(" [generated {i}]"));
                }
            }
        }
        summary.cases_out += out.len();
        *list = out;
    }
    rewrite_protobufs(doc, rng, summary)
}

/// Shuffles `cases`, duplicating those that may be duplicated; cases whose
/// `kind` is in `session` keep their relative order and are not copied.
fn reorder(
    cases: Vec<Value>,
    session: &[&str],
    duplicate: bool,
    rng: &mut SplitMix64,
) -> Vec<Value> {
    let in_session = |c: &Value| {
        c.get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| session.contains(&k))
    };
    let (ordered, free): (Vec<Value>, Vec<Value>) = cases.into_iter().partition(in_session);
    let mut pool = Vec::new();
    let forced = if duplicate && !free.is_empty() {
        rng.below(free.len())
    } else {
        usize::MAX
    };
    for (i, case) in free.into_iter().enumerate() {
        let copies = if !duplicate {
            1
        } else if i == forced {
            2 + rng.below(2)
        } else {
            1 + rng.below(3)
        };
        for _ in 1..copies {
            pool.push(case.clone());
        }
        pool.push(case);
    }
    rng.shuffle(&mut pool);
    // Interleave the session cases, in order, at random places.
    let mut out = Vec::with_capacity(pool.len() + ordered.len());
    let mut ordered = ordered.into_iter().peekable();
    let mut pool = pool.into_iter().peekable();
    while ordered.peek().is_some() || pool.peek().is_some() {
        let take_session = match (ordered.peek(), pool.peek()) {
            (Some(_), None) => true,
            (None, _) => false,
            (Some(_), Some(_)) => rng.below(2) == 0,
        };
        out.extend(if take_session {
            ordered.next()
        } else {
            pool.next()
        });
    }
    out
}

fn rewrite_protobufs(
    v: &mut Value,
    rng: &mut SplitMix64,
    summary: &mut Summary,
) -> Result<(), FieldError> {
    match v {
        Value::Array(list) => list
            .iter_mut()
            .try_for_each(|x| rewrite_protobufs(x, rng, summary)),
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let kind = if PROTOCOL_MESSAGE_FIELDS.contains(&key.as_str()) {
                    Some(Encoded::ProtocolMessage)
                } else if BUNDLE_FIELDS.contains(&key.as_str())
                    || BUNDLE_LIST_FIELDS.contains(&key.as_str())
                {
                    Some(Encoded::Bundle)
                } else {
                    None
                };
                match (kind, value) {
                    (Some(kind), Value::String(hex)) => {
                        rewrite_hex(hex, kind, rng, summary).map_err(|e| (key.clone(), e))?
                    }
                    (Some(kind), Value::Array(items)) => {
                        for item in items {
                            let Value::String(hex) = item else {
                                return Err((key.clone(), "array entry is not a string".into()));
                            };
                            rewrite_hex(hex, kind, rng, summary).map_err(|e| (key.clone(), e))?;
                        }
                    }
                    (Some(_), Value::Null) => {}
                    (Some(_), other) => {
                        return Err((key.clone(), format!("not a hex string: {other}")))
                    }
                    (None, value) => rewrite_protobufs(value, rng, summary)?,
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn rewrite_hex(
    hex_str: &mut String,
    kind: Encoded,
    rng: &mut SplitMix64,
    summary: &mut Summary,
) -> Result<(), String> {
    let (prefix, digits) = match hex_str.strip_prefix("0x") {
        Some(d) => ("0x", d),
        None => ("", hex_str.as_str()),
    };
    let bytes = hex::decode(digits).map_err(|e| format!("not valid hex: {e}"))?;
    let mut permuted = 0;
    let out = permute(&bytes, kind, rng, &mut permuted).map_err(|e| e.to_string())?;
    summary.protobufs += 1;
    summary.maps_permuted += permuted;
    *hex_str = format!("{prefix}{}", hex::encode(out));
    Ok(())
}

/// Which message an encoded protobuf is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoded {
    /// `encryption.ProtocolMessage`: map `direct_message` (field 101),
    /// `Bundle`s in `bundles` (field 3).
    ProtocolMessage,
    /// `encryption.Bundle`: map `signed_pre_keys` (field 2).
    Bundle,
}

/// A protobuf that could not be parsed at the wire level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(&'static str);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid protobuf: {}", self.0)
    }
}

impl std::error::Error for WireError {}

/// `bytes` (an encoded `kind`) with the records of every map field in
/// another order (when the map has two or more entries), recursively for
/// the Bundles inside a ProtocolMessage; every other byte is kept.
///
/// # Errors
/// If `bytes` is not a well-formed protobuf at the wire level.
///
/// ```
/// use status_vectors::generate::{permute_map_entries, Encoded};
/// // Bundle { signed_pre_keys: {"a": {}, "b": {}} }: two map records.
/// let bundle = [0x12, 0x03, 0x0a, 0x01, b'a', 0x12, 0x03, 0x0a, 0x01, b'b'];
/// let out = permute_map_entries(&bundle, Encoded::Bundle, 1).unwrap();
/// assert_eq!(out, [0x12, 0x03, 0x0a, 0x01, b'b', 0x12, 0x03, 0x0a, 0x01, b'a']);
/// ```
pub fn permute_map_entries(bytes: &[u8], kind: Encoded, seed: u64) -> Result<Vec<u8>, WireError> {
    permute(bytes, kind, &mut SplitMix64(seed), &mut 0)
}

const PM_BUNDLES: u64 = 3;
const PM_DIRECT_MESSAGE: u64 = 101;
const BUNDLE_SIGNED_PRE_KEYS: u64 = 2;

fn permute(
    bytes: &[u8],
    kind: Encoded,
    rng: &mut SplitMix64,
    permuted: &mut usize,
) -> Result<Vec<u8>, WireError> {
    let records = parse_records(bytes)?;
    let map_field = match kind {
        Encoded::ProtocolMessage => PM_DIRECT_MESSAGE,
        Encoded::Bundle => BUNDLE_SIGNED_PRE_KEYS,
    };
    // Rewrite nested Bundles first, then reorder the map records among the
    // slots map records held.
    let mut pieces: Vec<Vec<u8>> = Vec::with_capacity(records.len());
    for r in &records {
        let raw = &bytes[r.start..r.end];
        if kind == Encoded::ProtocolMessage && r.field == PM_BUNDLES && r.wire_type == 2 {
            let body = permute(&bytes[r.body_start..r.end], Encoded::Bundle, rng, permuted)?;
            let mut piece = bytes[r.start..r.body_start].to_vec();
            // A permutation keeps the length, so the length prefix stands.
            debug_assert_eq!(body.len(), r.end - r.body_start);
            piece.extend_from_slice(&body);
            pieces.push(piece);
        } else {
            pieces.push(raw.to_vec());
        }
    }
    let slots: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.field == map_field && r.wire_type == 2)
        .map(|(i, _)| i)
        .collect();
    if slots.len() >= 2 {
        let mut order: Vec<usize> = (0..slots.len()).collect();
        rng.shuffle(&mut order);
        if order.iter().enumerate().all(|(i, &o)| i == o) {
            order.rotate_left(1);
        }
        let originals: Vec<Vec<u8>> = slots.iter().map(|&i| pieces[i].clone()).collect();
        for (slot, &from) in slots.iter().zip(&order) {
            pieces[*slot] = originals[from].clone();
        }
        *permuted += 1;
    }
    Ok(pieces.concat())
}

/// One top-level record of an encoded message.
struct Record {
    field: u64,
    wire_type: u8,
    /// Start of the tag.
    start: usize,
    /// Start of the value (after the length prefix for wire type 2).
    body_start: usize,
    end: usize,
}

fn parse_records(bytes: &[u8]) -> Result<Vec<Record>, WireError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let tag = varint(bytes, &mut pos)?;
        let field = tag >> 3;
        let wire_type = (tag & 7) as u8;
        if field == 0 {
            return Err(WireError("field number 0"));
        }
        let body_start;
        match wire_type {
            0 => {
                body_start = pos;
                varint(bytes, &mut pos)?;
            }
            1 | 5 => {
                body_start = pos;
                pos += if wire_type == 1 { 8 } else { 4 };
            }
            2 => {
                let len = usize::try_from(varint(bytes, &mut pos)?)
                    .map_err(|_| WireError("length overflows"))?;
                body_start = pos;
                pos = pos.checked_add(len).ok_or(WireError("length overflows"))?;
            }
            _ => return Err(WireError("group or unknown wire type")),
        }
        if pos > bytes.len() {
            return Err(WireError("truncated record"));
        }
        out.push(Record {
            field,
            wire_type,
            start,
            body_start,
            end: pos,
        });
    }
    Ok(out)
}

fn varint(bytes: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos).ok_or(WireError("truncated varint"))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(WireError("varint longer than 10 bytes"))
}

/// SplitMix64: a tiny seeded generator, enough to shuffle test data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_records_rejects_truncation_without_panicking() {
        let bundle = [0x12, 0x03, 0x0a, 0x01, b'a'];
        for n in 1..bundle.len() {
            assert!(parse_records(&bundle[..n]).is_err(), "prefix {n}");
        }
        assert!(parse_records(&[0x0b]).is_err(), "group wire type");
        assert!(parse_records(&[0x02, 0x00]).is_err(), "field 0");
    }

    #[test]
    fn one_entry_maps_and_other_fields_are_kept() {
        let bundle = [0x0a, 0x01, 0x07, 0x12, 0x03, 0x0a, 0x01, b'a', 0x28, 0x05];
        for seed in 0..20 {
            assert_eq!(
                permute_map_entries(&bundle, Encoded::Bundle, seed).unwrap(),
                bundle
            );
        }
    }

    #[test]
    fn reorder_keeps_session_order_and_duplicates_the_rest() {
        let cases: Vec<Value> = (0..6)
            .map(|i| {
                let kind = if i % 2 == 0 { "step" } else { "free" };
                serde_json::json!({ "kind": kind, "i": i })
            })
            .collect();
        for seed in 0..50 {
            let out = reorder(cases.clone(), &["step"], true, &mut SplitMix64(seed));
            let steps: Vec<u64> = out
                .iter()
                .filter(|c| c["kind"] == "step")
                .map(|c| c["i"].as_u64().unwrap())
                .collect();
            assert_eq!(steps, [0, 2, 4], "seed {seed}");
            let free = out.iter().filter(|c| c["kind"] == "free").count();
            assert!((4..=9).contains(&free), "seed {seed}: {free} free cases");
            for i in [1, 3, 5] {
                assert!(
                    out.iter().any(|c| c["i"] == i),
                    "seed {seed}: case {i} lost"
                );
            }
        }
    }
}
