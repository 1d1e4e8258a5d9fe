//! Every case of the status-keys vector files, loaded through
//! status-vectors (so `STATUS_RS_VECTORS` can point at another set; `.ci/run`
//! also runs them on a generated tree). Every input and expected value comes
//! from the case; failures name its description.
//!
//! - spec/bip39-trezor.json: entropy -> words -> entropy, seed with the
//!   case's passphrase, master xprv; one word changed fails at that word.
//! - spec/bip32.json `cases`: xprv and xpub at `path`, both parsed back,
//!   depth, public derivation where the last step is normal; `invalid`: the
//!   key is rejected as xprv and xpub, with the error the `reason` states.
//! - status-go/account_derivation.json: wallet address (and, where given,
//!   private key, public keys, master xprv) at `index`.
//! - spec/account-serialization.json: `serialize` / `deserialize` to the
//!   `expected` string, or the named `error`.
//! - status-go/alias_identicon.json: kinds `alias_seed`, `alias_public_key`,
//!   `identicon`.
//! - spec/eip1581-chat-keys.json: the chat key at our chat key path.

use serde_json::Value;
use status_core::PublicKey;
use status_keys::{
    alias, deserialize_public_key, serialize_public_key, Account, Address, DerivationPath, Error,
    ExtendedPrivateKey, ExtendedPublicKey, Identicon, Mnemonic, Multibase,
};
use status_vectors::{cases, hex_field, load_json, Coverage};

fn str_field<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key} of {case}"))
}

#[test]
fn bip39_trezor_vectors() {
    let all = cases("spec/bip39-trezor.json");
    assert!(!all.is_empty());
    for case in &all {
        let what = str_field(case, "description");
        let entropy = hex_field(case, "entropy");
        let phrase = str_field(case, "mnemonic");
        let passphrase = str_field(case, "passphrase");

        let m = Mnemonic::from_entropy(&entropy).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(m.phrase(), phrase, "{what}: entropy -> words");
        let parsed = Mnemonic::parse(phrase).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            &parsed.to_entropy()[..],
            &entropy[..],
            "{what}: words -> entropy"
        );

        let seed = parsed.to_seed(passphrase);
        assert_eq!(
            &seed.as_bytes()[..],
            &hex_field(case, "seed")[..],
            "{what}: seed"
        );

        let master = ExtendedPrivateKey::from_seed(&seed).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            &master.to_xprv()[..],
            str_field(case, "xprv"),
            "{what}: xprv"
        );
    }
}

#[test]
fn bip39_trezor_phrases_with_one_word_changed_fail_at_that_word() {
    for case in cases("spec/bip39-trezor.json") {
        let what = str_field(&case, "description");
        let phrase = str_field(&case, "mnemonic");
        let words: Vec<&str> = phrase.split(' ').collect();
        for pos in [0, words.len() / 2, words.len() - 1] {
            let mut w = words.clone();
            w[pos] = "notaword";
            assert_eq!(
                Mnemonic::parse(&w.join(" ")),
                Err(Error::UnknownWord { position: pos + 1 }),
                "{what}: word {pos}"
            );
        }
    }
}

#[test]
fn bip32_derivation_vectors_1_to_4() {
    let all = cases("spec/bip32.json");
    assert!(!all.is_empty());
    for case in &all {
        let what = str_field(case, "description");
        let master = ExtendedPrivateKey::new_master(&hex_field(case, "seed"))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let path: DerivationPath = str_field(case, "path")
            .parse()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let key = master
            .derive_path(&path)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(&key.to_xprv()[..], str_field(case, "xprv"), "{what}: xprv");
        let xpub = key.to_extended_public_key();
        assert_eq!(xpub.to_string(), str_field(case, "xpub"), "{what}: xpub");

        // Both strings parse back to the same key.
        let back = ExtendedPrivateKey::from_xprv(str_field(case, "xprv")).unwrap();
        assert_eq!(&back.to_xprv()[..], str_field(case, "xprv"), "{what}");
        assert_eq!(back.depth() as usize, path.len(), "{what}: depth");
        let back = ExtendedPublicKey::from_xpub(str_field(case, "xpub")).unwrap();
        assert_eq!(back, xpub, "{what}");

        // Where the last step is normal, public derivation from the parent
        // xpub gives the same child.
        if let Some((&last, parent)) = path.children().split_last() {
            if !last.is_hardened() {
                let parent_path = DerivationPath::from_children(parent.to_vec()).unwrap();
                let parent = master.derive_path(&parent_path).unwrap();
                let child = parent.to_extended_public_key().derive_child(last).unwrap();
                assert_eq!(child.to_string(), str_field(case, "xpub"), "{what}: CKDpub");
            }
        }
    }
}

#[test]
fn bip32_vector_5_invalid_keys_are_errors() {
    let top = load_json("spec/bip32.json");
    let invalid = top["invalid"].as_array().expect("invalid array");
    assert!(!invalid.is_empty());
    for case in invalid {
        let what = str_field(case, "description");
        let key = str_field(case, "key");
        let prv = ExtendedPrivateKey::from_xprv(key);
        let publ = ExtendedPublicKey::from_xpub(key);
        assert!(prv.is_err(), "{what}: accepted as xprv");
        assert!(publ.is_err(), "{what}: accepted as xpub");
        // The error the parser for the key's own prefix gives matches the
        // reason the BIP states.
        let err = if key.starts_with("xprv") {
            prv.err()
        } else {
            publ.err()
        };
        let reason = str_field(case, "reason");
        let ok = match err {
            Some(Error::KeyPrefixMismatch(_)) => {
                reason.contains("mismatch") || reason.contains("prefix")
            }
            Some(Error::InvalidMasterKey) => reason.starts_with("zero depth"),
            Some(Error::UnknownVersion(_)) => reason.contains("unknown extended key version"),
            Some(Error::InvalidPrivateKey) => reason.starts_with("private key"),
            Some(Error::InvalidPublicKey) => reason.starts_with("invalid pubkey 02"),
            Some(Error::InvalidBase58Checksum) => reason == "invalid checksum",
            _ => false,
        };
        assert!(ok, "{what}: unexpected error {err:?}");
    }
}

#[test]
fn status_go_wallet_keys_and_addresses() {
    let all = cases("status-go/account_derivation.json");
    assert!(!all.is_empty());
    for case in &all {
        let what = str_field(case, "description");
        let account =
            Account::from_mnemonic(str_field(case, "mnemonic"), str_field(case, "passphrase"))
                .unwrap_or_else(|e| panic!("{what}: {e}"));
        let index = u32::try_from(status_vectors::u64_field(case, "index"))
            .unwrap_or_else(|_| panic!("{what}: index overflows u32"));
        let address = account
            .wallet_address(index)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(address.to_string(), str_field(case, "address"), "{what}");
        let key = account
            .wallet_key(index)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            Address::from_public_key(&key.public_key()),
            address,
            "{what}"
        );
        if case.get("private_key").is_some() {
            assert_eq!(
                &key.to_bytes()[..],
                &hex_field(case, "private_key")[..],
                "{what}: private key"
            );
            assert_eq!(
                &key.public_key().to_compressed()[..],
                &hex_field(case, "public_key")[..],
                "{what}: public key"
            );
        }
        if case.get("public_key_uncompressed").is_some() {
            assert_eq!(
                &key.public_key().to_uncompressed()[..],
                &hex_field(case, "public_key_uncompressed")[..],
                "{what}"
            );
        }
        if case.get("master_xprv").is_some() {
            assert_eq!(
                &account.master().to_xprv()[..],
                str_field(case, "master_xprv"),
                "{what}"
            );
        }
    }
}

#[test]
fn public_key_serialization_vectors() {
    const FILE: &str = "spec/account-serialization.json";
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        let what = str_field(case, "description");
        let key = str_field(case, "key");
        let base = Multibase::from_code(str_field(case, "output_base"));
        let op = str_field(case, "operation");
        seen.check(if case.get("expected").is_some() {
            op
        } else {
            "error"
        });
        let result = base.ok_or(None).and_then(|base| match op {
            "serialize" => serialize_public_key(key, base).map_err(Some),
            "deserialize" => deserialize_public_key(key, base).map_err(Some),
            other => panic!("{what}: unknown operation {other}"),
        });
        match case.get("expected") {
            Some(expected) => {
                assert_eq!(result.as_deref().ok(), expected.as_str(), "{what}");
            }
            None => {
                let kind = str_field(case, "error");
                match (kind, result) {
                    ("unsupported_output_base", Err(None)) => {}
                    ("invalid_public_key", Err(Some(Error::InvalidPublicKey))) => {}
                    ("invalid_multibase_data", Err(Some(Error::InvalidMultibaseData))) => {}
                    ("unsupported_multibase", Err(Some(Error::UnsupportedMultibase))) => {}
                    ("unsupported_key_type", Err(Some(Error::UnsupportedKeyType(t)))) => {
                        let want = str_field(case, "key_type");
                        assert_eq!(format!("{t:#x}"), want, "{what}");
                    }
                    (kind, got) => panic!("{what}: expected {kind}, got {got:?}"),
                }
            }
        }
    }
    seen.finish(&["serialize", "deserialize", "error"]);
}

#[test]
fn alias_and_identicon_vectors() {
    const FILE: &str = "status-go/alias_identicon.json";
    let all = cases(FILE);
    let mut seen = Coverage::new(FILE, all.len());
    for case in &all {
        let what = str_field(case, "description");
        seen.check(str_field(case, "kind"));
        match str_field(case, "kind") {
            "alias_seed" => {
                let seed = case["seed"].as_u64().unwrap();
                assert_eq!(alias::from_seed(seed), str_field(case, "alias"), "{what}");
            }
            "alias_public_key" => {
                let key = PublicKey::from_slice(&hex_field(case, "public_key")).unwrap();
                assert_eq!(alias::generate(&key), str_field(case, "alias"), "{what}");
            }
            "identicon" => {
                let id = Identicon::generate(str_field(case, "input"));
                let want = |k: &str| -> Vec<u8> {
                    case[k]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| u8::try_from(v.as_u64().unwrap()).unwrap())
                        .collect()
                };
                assert_eq!(id.pattern().to_vec(), want("pattern"), "{what}: pattern");
                assert_eq!(id.bitmap().to_vec(), want("bitmap"), "{what}: bitmap");
            }
            other => panic!("{what}: unknown kind {other}"),
        }
    }
    seen.finish(&["alias_seed", "alias_public_key", "identicon"]);
}

#[test]
fn eip1581_chat_keys() {
    let all = cases("spec/eip1581-chat-keys.json");
    assert!(!all.is_empty());
    for case in &all {
        let what = str_field(case, "description");
        assert_eq!(
            str_field(case, "path"),
            status_keys::CHAT_KEY_PATH,
            "{what}"
        );
        let account =
            Account::from_mnemonic(str_field(case, "mnemonic"), str_field(case, "passphrase"))
                .unwrap();
        assert_eq!(
            &account.chat_key().to_bytes()[..],
            &hex_field(case, "chat_private_key")[..],
            "{what}: private key"
        );
        let pk = account.chat_public_key();
        assert_eq!(
            &pk.to_uncompressed()[..],
            &hex_field(case, "chat_public_key")[..],
            "{what}: public key"
        );
        assert_eq!(
            &pk.to_compressed()[..],
            &hex_field(case, "chat_public_key_compressed")[..],
            "{what}: compressed"
        );
        let z = str_field(case, "chat_key_base58");
        assert_eq!(account.chat_key_base58(), z, "{what}: zQ3");
        assert_eq!(status_keys::decode_public_key(z).unwrap(), pk, "{what}");
    }
}
