//! The secrets a completed handshake yields (devp2p rlpx.md, "Secrets").

use keccak_asm::{Digest, Keccak256};
use zeroize::Zeroizing;

/// Per-connection secrets: the AES and MAC secrets plus the two running
/// keccak MAC states, already seeded as the spec says
/// (`egress-mac = keccak256.init((mac-secret ^ recipient-nonce) || auth)` for
/// the initiator, mirrored for the recipient).
#[derive(Clone)]
pub struct Secrets {
    pub(crate) aes: Zeroizing<[u8; 32]>,
    pub(crate) mac: Zeroizing<[u8; 32]>,
    pub(crate) egress_mac: Keccak256,
    pub(crate) ingress_mac: Keccak256,
}

impl Secrets {
    /// Builds secrets from their parts: the AES and MAC secrets and the bytes
    /// each MAC state was seeded with. Handshakes produce these for you; this
    /// exists for test vectors and for callers that run their own handshake.
    pub fn from_parts(
        aes_secret: [u8; 32],
        mac_secret: [u8; 32],
        egress_mac_seed: &[u8],
        ingress_mac_seed: &[u8],
    ) -> Self {
        Secrets {
            aes: Zeroizing::new(aes_secret),
            mac: Zeroizing::new(mac_secret),
            egress_mac: Keccak256::new_with_prefix(egress_mac_seed),
            ingress_mac: Keccak256::new_with_prefix(ingress_mac_seed),
        }
    }

    /// The AES secret (frame encryption key).
    pub fn aes_secret(&self) -> &[u8; 32] {
        &self.aes
    }

    /// The MAC secret (key of the AES block that whitens MAC updates).
    pub fn mac_secret(&self) -> &[u8; 32] {
        &self.mac
    }

    /// The current digest of the egress MAC state, without consuming it.
    pub fn egress_mac_digest(&self) -> [u8; 32] {
        self.egress_mac.clone().finalize().into()
    }

    /// The current digest of the ingress MAC state, without consuming it.
    pub fn ingress_mac_digest(&self) -> [u8; 32] {
        self.ingress_mac.clone().finalize().into()
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}
