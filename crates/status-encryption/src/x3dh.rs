//! X3DH key agreement without one-time prekeys (5/SECURE-TRANSPORT, "Initial
//! key exchange flow (X3DH)"), over secp256k1 as status-go does it
//! (`protocol/encryption/x3dh.go`).
//!
//! `SK = keccak256(DH(IK_A, SPK_B) || DH(EK_A, IK_B) || DH(EK_A, SPK_B))`,
//! each DH the raw 32-byte x coordinate. Signal's X3DH feeds the DH outputs
//! to HKDF; status-go hashes them with Keccak-256, and its bytes win.

use status_core::{ecdh_x, keccak256, PublicKey, SecretKey};
use zeroize::Zeroizing;

use crate::kdf::Key32;

fn combine(dh1: &[u8; 32], dh2: &[u8; 32], dh3: &[u8; 32]) -> Key32 {
    let mut input = Zeroizing::new([0u8; 96]);
    input[..32].copy_from_slice(dh1);
    input[32..64].copy_from_slice(dh2);
    input[64..].copy_from_slice(dh3);
    Zeroizing::new(keccak256(&input[..]))
}

/// The initiator's side (Alice): her identity and ephemeral keys against
/// Bob's identity and signed prekey.
///
/// ```
/// use rand_chacha::rand_core::SeedableRng;
/// use status_encryption::generate_secret;
/// use status_encryption::x3dh::{x3dh_active, x3dh_passive};
///
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
/// let (alice, alice_eph) = (generate_secret(&mut rng), generate_secret(&mut rng));
/// let (bob, bob_spk) = (generate_secret(&mut rng), generate_secret(&mut rng));
/// let sent = x3dh_active(&alice, &alice_eph, &bob.public_key(), &bob_spk.public_key());
/// let got = x3dh_passive(&bob, &bob_spk, &alice.public_key(), &alice_eph.public_key());
/// assert_eq!(*sent, *got);
/// ```
pub fn x3dh_active(
    my_identity: &SecretKey,
    my_ephemeral: &SecretKey,
    their_identity: &PublicKey,
    their_signed_prekey: &PublicKey,
) -> Zeroizing<[u8; 32]> {
    let dh1 = ecdh_x(my_identity, their_signed_prekey);
    let dh2 = ecdh_x(my_ephemeral, their_identity);
    let dh3 = ecdh_x(my_ephemeral, their_signed_prekey);
    combine(&dh1, &dh2, &dh3)
}

/// The responder's side (Bob), from the initiator's identity and the
/// ephemeral key in the `X3DHHeader`; see [`x3dh_active`] for an example.
pub fn x3dh_passive(
    my_identity: &SecretKey,
    my_signed_prekey: &SecretKey,
    their_identity: &PublicKey,
    their_ephemeral: &PublicKey,
) -> Zeroizing<[u8; 32]> {
    let dh1 = ecdh_x(my_signed_prekey, their_identity);
    let dh2 = ecdh_x(my_identity, their_ephemeral);
    let dh3 = ecdh_x(my_signed_prekey, their_ephemeral);
    combine(&dh1, &dh2, &dh3)
}
