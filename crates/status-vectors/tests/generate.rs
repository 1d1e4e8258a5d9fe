//! The generated tree: made from the vector set in use (the embedded copy,
//! or `STATUS_RS_VECTORS`), it holds every case of it and nothing else, in
//! another order, with other counts and descriptions, session cases in
//! their order, and encoded ProtocolMessages / Bundles that decode to the
//! same messages (compared decoded, in `normalized`) with valid signatures.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use status_encryption::bundle::{build_bundle, verify_bundle};
use status_proto::encryption::{Bundle, ProtocolMessage};
use status_proto::Message;
use status_vectors::generate::{
    generate_tree, permute_map_entries, Encoded, GenerateError, BUNDLE_FIELDS, BUNDLE_LIST_FIELDS,
    CASE_ARRAYS, MARKER, PROTOCOL_MESSAGE_FIELDS, SESSION_KINDS,
};
use status_vectors::{cases, hex_field, vectors_dir};

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("generate-test-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn json_files(root: &Path, rel: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(root.join(rel)).unwrap() {
        let entry = entry.unwrap();
        let rel = rel.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            json_files(root, &rel, out);
        } else if rel.extension().is_some_and(|e| e == "json") {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn load(root: &Path, rel: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(root.join(rel)).unwrap()).unwrap()
}

/// Removes the generator's last ` [generated N]` suffix from `label`.
fn strip_label(label: &str) -> Option<&str> {
    let (head, tail) = label.rsplit_once(" [generated ")?;
    let n = tail.strip_suffix(']')?;
    n.parse::<usize>().ok().map(|_| head)
}

/// A case with protobuf fields replaced by their decoded form (map order
/// does not count), for comparing source and generated cases.
fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| {
                    let decoded = match x {
                        Value::String(s) if PROTOCOL_MESSAGE_FIELDS.contains(&k.as_str()) => {
                            let pm = ProtocolMessage::decode(hex::decode(s).unwrap().as_slice())
                                .unwrap();
                            Value::String(format!("{pm:?}"))
                        }
                        Value::String(s) if BUNDLE_FIELDS.contains(&k.as_str()) => {
                            let b = Bundle::decode(hex::decode(s).unwrap().as_slice()).unwrap();
                            Value::String(format!("{b:?}"))
                        }
                        Value::Array(list) if BUNDLE_LIST_FIELDS.contains(&k.as_str()) => list
                            .iter()
                            .map(|s| {
                                let bytes = hex::decode(s.as_str().unwrap()).unwrap();
                                Value::String(format!("{:?}", Bundle::decode(&bytes[..]).unwrap()))
                            })
                            .collect(),
                        other => normalized(other),
                    };
                    (k.clone(), decoded)
                })
                .collect(),
        ),
        Value::Array(list) => list.iter().map(normalized).collect(),
        other => other.clone(),
    }
}

fn arrays_of(rel: &str) -> impl Iterator<Item = (&'static str, Option<&'static str>, bool)> + '_ {
    CASE_ARRAYS
        .iter()
        .filter(move |(file, ..)| *file == "*" || *file == rel)
        .map(|(_, pointer, label, dup)| (*pointer, *label, *dup))
}

#[test]
fn a_generated_tree_holds_every_case_and_differs_from_its_source() {
    let src = vectors_dir();
    let dst = scratch("tree");
    let summary = generate_tree(&src, &dst, 7).unwrap();
    assert!(dst.join(MARKER).is_file());

    let mut files = Vec::new();
    json_files(&src, Path::new(""), &mut files);
    let mut generated = Vec::new();
    json_files(&dst, Path::new(""), &mut generated);
    files.sort();
    generated.sort();
    assert_eq!(files, generated, "the same JSON files");

    let (mut arrays, mut changed_counts, mut cases_in, mut cases_out) = (0, 0, 0, 0);
    for rel in &files {
        let (before, after) = (load(&src, rel), load(&dst, rel));
        let session: &[&str] = SESSION_KINDS
            .iter()
            .find(|(f, _)| *f == rel)
            .map_or(&[], |(_, k)| k);
        for (pointer, label, duplicate) in arrays_of(rel) {
            let (Some(Value::Array(old)), Some(Value::Array(new))) =
                (before.pointer(pointer), after.pointer(pointer))
            else {
                assert!(before.pointer(pointer).is_none(), "{rel}{pointer}");
                continue;
            };
            arrays += 1;
            cases_in += old.len();
            cases_out += new.len();
            if old.len() != new.len() {
                changed_counts += 1;
            }
            let in_session = |c: &Value| c["kind"].as_str().is_some_and(|k| session.contains(&k));
            let free = old.iter().filter(|c| !in_session(c)).count();
            if duplicate && free > 0 && old.len() == new.len() {
                panic!("{rel}{pointer}: no case was duplicated");
            }

            // Labels: all new, all unique, each the old one plus a suffix.
            let mut restored = Vec::new();
            let mut labels = Vec::new();
            for case in new {
                let mut case = case.clone();
                if let Some(label) = label {
                    if let Some(Value::String(s)) = case.get_mut(label) {
                        assert!(
                            !old.iter().any(|o| o[label] == *s),
                            "{rel}{pointer}: label {s:?} kept"
                        );
                        labels.push(s.clone());
                        *s = strip_label(s)
                            .unwrap_or_else(|| panic!("{rel}: label {s:?} has no suffix"))
                            .to_owned();
                    }
                }
                restored.push(normalized(&case));
            }
            let unique: std::collections::BTreeSet<_> = labels.iter().collect();
            assert_eq!(
                unique.len(),
                labels.len(),
                "{rel}{pointer}: duplicate labels"
            );

            // Every new case is an old one, and every old one is there.
            let old_norm: Vec<Value> = old.iter().map(normalized).collect();
            for (case, raw) in restored.iter().zip(new) {
                assert!(
                    old_norm.contains(case),
                    "{rel}{pointer}: invented case {raw}"
                );
            }
            for case in &old_norm {
                assert!(restored.contains(case), "{rel}{pointer}: lost case {case}");
            }

            // Session cases: the same sequence, once each.
            let kind = |c: &&Value| c["kind"].as_str().is_some_and(|k| session.contains(&k));
            let old_session: Vec<&Value> = old_norm.iter().filter(kind).collect();
            let new_session: Vec<&Value> = restored.iter().filter(kind).collect();
            assert_eq!(old_session, new_session, "{rel}{pointer}: session order");
        }
    }
    assert!(arrays > 0 && changed_counts > 0);
    assert_eq!((summary.cases_in, summary.cases_out), (cases_in, cases_out));
    assert!(summary.protobufs > 0, "{summary}");
}

#[test]
fn every_protobuf_of_the_generated_tree_decodes_alike_and_every_bundle_verifies() {
    let src = vectors_dir();
    let dst = scratch("protobufs");
    generate_tree(&src, &dst, 11).unwrap();
    let after: Vec<Value> = load(&dst, "status-go/encryption.json")["cases"]
        .as_array()
        .unwrap()
        .clone();
    let mut bundles = 0;
    for case in &after {
        let label = case["description"].as_str().unwrap();
        for field in PROTOCOL_MESSAGE_FIELDS {
            if case.get(*field).is_none() {
                continue;
            }
            let new = ProtocolMessage::decode(&hex_field(case, field)[..])
                .unwrap_or_else(|e| panic!("{label}: {field}: {e}"));
            for b in &new.bundles {
                let id = verify_bundle(b).unwrap_or_else(|e| panic!("{label}: {e}"));
                assert_eq!(id.to_compressed().to_vec(), b.identity, "{label}");
                bundles += 1;
            }
        }
        for field in BUNDLE_FIELDS {
            if case.get(*field).is_some() {
                let b = Bundle::decode(&hex_field(case, field)[..]).unwrap();
                verify_bundle(&b).unwrap_or_else(|e| panic!("{label}: {e}"));
                bundles += 1;
            }
        }
        for field in BUNDLE_LIST_FIELDS {
            for hex in case
                .get(*field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let b = Bundle::decode(&hex::decode(hex.as_str().unwrap()).unwrap()[..]).unwrap();
                verify_bundle(&b).unwrap_or_else(|e| panic!("{label}: {e}"));
                bundles += 1;
            }
        }
    }
    assert!(bundles > 0, "no bundle in the generated encryption.json");
}

/// The shared set's maps have one entry each; build two-entry ones from its
/// messages and check the rewrite: other bytes, same message, and a
/// signature that still verifies (status-go signs the sorted material).
#[test]
fn maps_with_two_entries_are_written_in_another_order() {
    let mut checked = 0;
    for case in cases("status-go/encryption.json") {
        let Some(field) = PROTOCOL_MESSAGE_FIELDS
            .iter()
            .find(|f| case.get(**f).is_some())
        else {
            continue;
        };
        let label = case["description"].as_str().unwrap();
        let mut pm = ProtocolMessage::decode(&hex_field(&case, field)[..]).unwrap();
        let Some((key, value)) = pm
            .direct_message
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
        else {
            continue;
        };
        pm.direct_message.insert(format!("{key}-second"), value);

        // A bundle with two installations, signed by the sender.
        if let (Some(sender), Some(bundle)) = (case.get("sender_identity"), pm.bundles.first()) {
            let identity =
                status_core::SecretKey::from_bytes(&hex_field(sender, "private")).unwrap();
            let mut spks = bundle.signed_pre_keys.clone();
            let (id, spk) = spks
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap();
            spks.insert(format!("{id}-second"), spk);
            let two = build_bundle(&identity, spks, bundle.timestamp);
            verify_bundle(&two).unwrap();
            pm.bundles[0] = two;
        }

        let bytes = pm.encode_to_vec();
        for seed in 0..8 {
            let out = permute_map_entries(&bytes, Encoded::ProtocolMessage, seed).unwrap();
            assert_ne!(out, bytes, "{label}: seed {seed} kept the order");
            assert_eq!(out.len(), bytes.len(), "{label}");
            let back = ProtocolMessage::decode(&out[..]).unwrap();
            assert_eq!(back, pm, "{label}: seed {seed}");
            for b in &back.bundles {
                verify_bundle(b).unwrap_or_else(|e| panic!("{label}: {e}"));
                let alone = permute_map_entries(&b.encode_to_vec(), Encoded::Bundle, seed).unwrap();
                assert_eq!(Bundle::decode(&alone[..]).unwrap(), *b, "{label}");
                if b.signed_pre_keys.len() > 1 {
                    assert_ne!(alone, b.encode_to_vec(), "{label}");
                }
            }
        }
        checked += 1;
    }
    assert!(checked > 0, "no ProtocolMessage with direct messages");
}

#[test]
fn the_seed_decides_the_tree() {
    let src = vectors_dir();
    let (a, b, c) = (scratch("seed-a"), scratch("seed-b"), scratch("seed-c"));
    generate_tree(&src, &a, 1).unwrap();
    generate_tree(&src, &b, 1).unwrap();
    generate_tree(&src, &c, 2).unwrap();
    let mut files = Vec::new();
    json_files(&src, Path::new(""), &mut files);
    let read = |root: &Path| -> BTreeMap<String, String> {
        files
            .iter()
            .map(|f| (f.clone(), fs::read_to_string(root.join(f)).unwrap()))
            .collect()
    };
    assert_eq!(read(&a), read(&b), "same seed, same tree");
    assert_ne!(read(&a), read(&c), "another seed, another tree");
    // Generating again over a generated tree replaces it.
    generate_tree(&src, &a, 2).unwrap();
    assert_eq!(read(&a), read(&c));
}

#[test]
fn a_directory_the_generator_did_not_make_is_left_alone() {
    let dst = scratch("foreign");
    fs::create_dir_all(&dst).unwrap();
    fs::write(dst.join("mine.txt"), "keep me").unwrap();
    let err = generate_tree(&vectors_dir(), &dst, 1).unwrap_err();
    assert!(
        matches!(err, GenerateError::DestinationNotEmpty(_)),
        "{err}"
    );
    assert_eq!(fs::read_to_string(dst.join("mine.txt")).unwrap(), "keep me");
}
