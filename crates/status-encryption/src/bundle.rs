//! X3DH prekey bundles (2/ACCOUNT "X3DH Prekey bundles", 5/SECURE-TRANSPORT
//! "Prekeys"): creating, signing, verifying.

use std::collections::BTreeMap;

use status_core::{keccak256, PublicKey, RecoverableSignature, SecretKey};
use status_proto::encryption::{Bundle, SignedPreKey};

use crate::Error;

/// The bytes a bundle signature covers, built as status-go's
/// `buildSignatureMaterial` does: for each installation id in sorted order,
/// `id || signed_pre_key || decimal(version)`, then `decimal(timestamp)`
/// when the timestamp is not zero.
///
/// The spec (5/SECURE-TRANSPORT "Prekeys") describes `Sig(IK, Encode(SPK))`
/// and 2/ACCOUNT only the concatenation of ids, keys and versions; the
/// timestamp suffix is status-go's and is what its signatures cover. It is
/// built from the decoded fields, as status-go does, so prost dropping
/// unknown fields does not change it.
///
/// ```
/// use status_encryption::bundle::signature_material;
/// use status_proto::encryption::{Bundle, SignedPreKey};
///
/// let mut bundle = Bundle { timestamp: 42, ..Default::default() };
/// let spk = SignedPreKey { signed_pre_key: vec![0xaa], version: 3, protocol_version: 1 };
/// bundle.signed_pre_keys.insert("b".into(), spk.clone());
/// bundle.signed_pre_keys.insert("a".into(), spk);
/// assert_eq!(signature_material(&bundle), b"a\xaa3b\xaa342");
/// ```
pub fn signature_material(bundle: &Bundle) -> Vec<u8> {
    let mut out = Vec::new();
    // BTreeMap iterates in byte order of the keys, like Go's sort.Strings.
    for (id, spk) in &bundle.signed_pre_keys {
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&spk.signed_pre_key);
        out.extend_from_slice(spk.version.to_string().as_bytes());
    }
    if bundle.timestamp != 0 {
        out.extend_from_slice(bundle.timestamp.to_string().as_bytes());
    }
    out
}

/// Sets `bundle.signature` to the identity key's recoverable signature over
/// `keccak256(signature_material)` (65 bytes, `v` in 0..=1).
///
/// Re-sign after changing a bundle; [`build_bundle`] signs a new one.
///
/// ```
/// use std::collections::BTreeMap;
/// use rand_chacha::rand_core::SeedableRng;
/// use status_encryption::bundle::{build_bundle, sign_bundle, verify_bundle};
/// use status_encryption::generate_secret;
///
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
/// let identity = generate_secret(&mut rng);
/// let mut bundle = build_bundle(&identity, BTreeMap::new(), 1);
/// bundle.timestamp = 2;
/// assert!(verify_bundle(&bundle).is_err());
/// sign_bundle(&identity, &mut bundle);
/// assert_eq!(verify_bundle(&bundle)?, identity.public_key());
/// # Ok::<(), status_encryption::Error>(())
/// ```
pub fn sign_bundle(identity: &SecretKey, bundle: &mut Bundle) {
    let digest = keccak256(&signature_material(bundle));
    bundle.signature = identity.sign_recoverable(&digest).as_bytes().to_vec();
}

/// Verifies the signature and returns the identity key it recovers, which
/// must equal the bundle's `identity` field (status-go `ExtractIdentity`).
///
/// ```
/// use std::collections::BTreeMap;
/// use rand_chacha::rand_core::SeedableRng;
/// use status_encryption::bundle::{build_bundle, verify_bundle};
/// use status_encryption::{generate_secret, Error};
///
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
/// let (alice, mallory) = (generate_secret(&mut rng), generate_secret(&mut rng));
/// let mut bundle = build_bundle(&alice, BTreeMap::new(), 1);
/// assert_eq!(verify_bundle(&bundle)?, alice.public_key());
/// // claiming someone else's identity fails
/// bundle.identity = mallory.public_key().to_compressed().to_vec();
/// assert!(matches!(verify_bundle(&bundle), Err(Error::BundleSignature)));
/// # Ok::<(), Error>(())
/// ```
pub fn verify_bundle(bundle: &Bundle) -> Result<PublicKey, Error> {
    let claimed = PublicKey::from_slice(&bundle.identity)?;
    let sig = RecoverableSignature::from_slice(&bundle.signature)?;
    let digest = keccak256(&signature_material(bundle));
    let recovered = sig.recover(&digest).map_err(|_| Error::BundleSignature)?;
    if recovered != claimed {
        return Err(Error::BundleSignature);
    }
    Ok(recovered)
}

/// Builds and signs a bundle: one signed prekey per installation.
///
/// `timestamp_ns` is nanoseconds since the epoch, as status-go writes it
/// (`time.Now().UnixNano()`); the [`Encryptor`](crate::Encryptor) passes
/// `now` in milliseconds times 10^6.
///
/// ```
/// use std::collections::BTreeMap;
/// use rand_chacha::rand_core::SeedableRng;
/// use status_encryption::bundle::{build_bundle, verify_bundle};
/// use status_encryption::generate_secret;
/// use status_proto::encryption::SignedPreKey;
///
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
/// let identity = generate_secret(&mut rng);
/// let spk = generate_secret(&mut rng).public_key().to_compressed().to_vec();
/// let mut spks = BTreeMap::new();
/// spks.insert("phone".to_string(), SignedPreKey { signed_pre_key: spk, version: 1, protocol_version: 1 });
/// let bundle = build_bundle(&identity, spks, 1_700_000_000_000_000_000);
/// assert_eq!(bundle.signature.len(), 65);
/// assert_eq!(verify_bundle(&bundle)?, identity.public_key());
/// # Ok::<(), status_encryption::Error>(())
/// ```
pub fn build_bundle(
    identity: &SecretKey,
    signed_pre_keys: BTreeMap<String, SignedPreKey>,
    timestamp_ns: i64,
) -> Bundle {
    let mut bundle = Bundle {
        identity: identity.public_key().to_compressed().to_vec(),
        signed_pre_keys,
        signature: Vec::new(),
        timestamp: timestamp_ns,
    };
    sign_bundle(identity, &mut bundle);
    bundle
}
