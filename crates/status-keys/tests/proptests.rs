//! Property tests: round-trips of every codec, and the BIP32 identities.

use proptest::prelude::*;
use status_core::SecretKey;
use status_keys::{
    decode_public_key, encode_public_key, ChildNumber, DerivationPath, ExtendedPrivateKey,
    ExtendedPublicKey, KeyForm, Mnemonic, Multibase,
};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    }
}

fn secret() -> impl Strategy<Value = SecretKey> {
    any::<[u8; 32]>().prop_filter_map("not a valid scalar", |b| SecretKey::from_bytes(&b).ok())
}

fn base() -> impl Strategy<Value = Multibase> {
    proptest::sample::select(Multibase::ALL.to_vec())
}

fn child() -> impl Strategy<Value = ChildNumber> {
    any::<u32>().prop_map(ChildNumber::from_u32)
}

fn normal_child() -> impl Strategy<Value = ChildNumber> {
    (0u32..(1 << 31)).prop_map(|i| ChildNumber::normal(i).unwrap())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn public_key_round_trips_in_every_encoding_and_form(
        sk in secret(),
        base in base(),
        compressed in any::<bool>(),
    ) {
        let pk = sk.public_key();
        let form = if compressed { KeyForm::Compressed } else { KeyForm::Uncompressed };
        let s = encode_public_key(&pk, form, base);
        prop_assert!(s.starts_with(base.code()));
        prop_assert_eq!(decode_public_key(&s).unwrap(), pk);
        // Compression and decompression are inverse, whatever the bases.
        let z = status_keys::serialize_public_key(&s, Multibase::Base58Btc).unwrap();
        prop_assert_eq!(&z, &encode_public_key(&pk, KeyForm::Compressed, Multibase::Base58Btc));
        let full = status_keys::deserialize_public_key(&z, base).unwrap();
        prop_assert_eq!(full, encode_public_key(&pk, KeyForm::Uncompressed, base));
    }

    #[test]
    fn hex_keys_read_with_0x_prefix(sk in secret()) {
        let f = encode_public_key(&sk.public_key(), KeyForm::Compressed, Multibase::Base16);
        let ox = format!("0x{}", &f[1..]);
        prop_assert_eq!(decode_public_key(&ox).unwrap(), sk.public_key());
    }

    #[test]
    fn multibase_round_trips_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..80), base in base()) {
        let s = base.encode(&data);
        prop_assert_eq!(Multibase::decode(&s).unwrap(), (base, data));
    }

    #[test]
    fn mnemonic_round_trips_entropy(len in proptest::sample::select(vec![16usize, 20, 24, 28, 32]), seed in any::<[u8; 32]>()) {
        let entropy = &seed[..len];
        let m = Mnemonic::from_entropy(entropy).unwrap();
        prop_assert_eq!(m.phrase().split(' ').count(), len * 3 / 4);
        let back = Mnemonic::parse(m.phrase()).unwrap();
        prop_assert_eq!(&back.to_entropy()[..], entropy);
        prop_assert_eq!(back, m);
    }

    #[test]
    fn path_strings_round_trip(children in proptest::collection::vec(child(), 0..8)) {
        let p = DerivationPath::from_children(children).unwrap();
        prop_assert_eq!(DerivationPath::parse(&p.to_string()).unwrap(), p);
    }

    #[test]
    fn deriving_a_path_equals_deriving_each_level(seed in any::<[u8; 32]>(), a in child(), b in child()) {
        let m = ExtendedPrivateKey::new_master(&seed).unwrap();
        let path = DerivationPath::from_children(vec![a, b]).unwrap();
        let direct = m.derive_path(&path).unwrap();
        let stepwise = m.derive_child(a).unwrap().derive_child(b).unwrap();
        prop_assert_eq!(direct.to_xprv(), stepwise.to_xprv());
        let parsed: DerivationPath = format!("m/{a}/{b}").parse().unwrap();
        prop_assert_eq!(m.derive_path(&parsed).unwrap().to_xprv(), direct.to_xprv());
    }

    #[test]
    fn public_derivation_of_a_normal_child_equals_private_derivation(
        seed in any::<[u8; 32]>(),
        parent in child(),
        i in normal_child(),
    ) {
        let k = ExtendedPrivateKey::new_master(&seed).unwrap().derive_child(parent).unwrap();
        let by_private = k.derive_child(i).unwrap().to_extended_public_key();
        let by_public = k.to_extended_public_key().derive_child(i).unwrap();
        prop_assert_eq!(by_public.public_key(), by_private.public_key());
        prop_assert_eq!(by_public, by_private);
    }

    #[test]
    fn extended_keys_round_trip(seed in any::<[u8; 32]>(), path in proptest::collection::vec(child(), 0..4)) {
        let k = ExtendedPrivateKey::new_master(&seed)
            .unwrap()
            .derive_path(&DerivationPath::from_children(path).unwrap())
            .unwrap();
        let xprv = k.to_xprv();
        prop_assert_eq!(ExtendedPrivateKey::from_xprv(&xprv).unwrap().to_xprv(), xprv);
        let xpub = k.to_extended_public_key();
        prop_assert_eq!(ExtendedPublicKey::from_xpub(&xpub.to_string()).unwrap(), xpub);
    }

    #[test]
    fn decoders_return_errors_not_panics(s in "\\PC{0,200}") {
        let _ = Mnemonic::parse(&s);
        let _ = DerivationPath::parse(&s);
        let _ = decode_public_key(&s);
        let _ = ExtendedPrivateKey::from_xprv(&s);
        let _ = ExtendedPublicKey::from_xpub(&s);
    }

    #[test]
    fn one_bad_word_is_named(seed in any::<[u8; 16]>(), pos in 0usize..12) {
        let m = Mnemonic::from_entropy(&seed).unwrap();
        let mut words: Vec<&str> = m.phrase().split(' ').collect();
        words[pos] = "bitcoinz";
        prop_assert_eq!(
            Mnemonic::parse(&words.join(" ")),
            Err(status_keys::Error::UnknownWord { position: pos + 1 })
        );
    }
}
