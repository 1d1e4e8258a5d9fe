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
pub fn sign_bundle(identity: &SecretKey, bundle: &mut Bundle) {
    let digest = keccak256(&signature_material(bundle));
    bundle.signature = identity.sign_recoverable(&digest).as_bytes().to_vec();
}

/// Verifies the signature and returns the identity key it recovers, which
/// must equal the bundle's `identity` field (status-go `ExtractIdentity`).
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
