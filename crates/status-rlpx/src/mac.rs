//! The RLPx frame MAC (devp2p rlpx.md, "MAC").
//!
//! Each direction keeps a running keccak256 state (`egress-mac` /
//! `ingress-mac`) seeded by the handshake and updated with every frame's
//! ciphertext. Before each update the current digest is "whitened" with one
//! AES-256 block (ECB) keyed with `mac-secret`:
//!
//! ```text
//! header-mac-seed = aes(mac-secret, keccak256.digest(egress-mac)[:16]) ^ header-ciphertext
//! egress-mac      = keccak256.update(egress-mac, header-mac-seed)
//! header-mac      = keccak256.digest(egress-mac)[:16]
//!
//! egress-mac      = keccak256.update(egress-mac, frame-ciphertext)
//! frame-mac-seed  = aes(mac-secret, keccak256.digest(egress-mac)[:16]) ^ keccak256.digest(egress-mac)[:16]
//! egress-mac      = keccak256.update(egress-mac, frame-mac-seed)
//! frame-mac       = keccak256.digest(egress-mac)[:16]
//! ```
//!
//! Ingress MACs are computed the same way and compared in constant time
//! (`MacState::verify`). The state itself is crate-private: the
//! [`frame`](crate::frame) codec is its only user. What is public here is the
//! digest hook the EIP-8 test vectors need
//! ([`Secrets::ingress_mac_digest_after`]).

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes256;
use keccak_asm::{Digest, Keccak256};
use subtle::ConstantTimeEq;

use crate::Secrets;

/// Length of a header MAC and of a frame MAC.
pub(crate) const MAC_LEN: usize = 16;

/// One direction's MAC state: the running keccak256 plus the AES-256 block
/// cipher keyed with `mac-secret`.
///
/// Taking a digest costs one keccak permutation on a copy of the state, so
/// the digest of the current state is cached: the next header's
/// `digest(egress-mac)` is the previous frame's `frame-mac` digest, and the
/// frame-mac seed uses the same digest twice. That is three permutations per
/// small frame instead of five.
#[derive(Clone)]
pub(crate) struct MacState {
    hash: Keccak256,
    cipher: Aes256,
    /// `digest(hash)[:16]` if it was taken since the last update.
    digest: Option<[u8; 16]>,
}

impl MacState {
    /// A MAC state continuing `hash` (already seeded by the handshake), with
    /// the whitening cipher keyed by `mac_secret`.
    pub(crate) fn new(mac_secret: &[u8; 32], hash: Keccak256) -> Self {
        MacState {
            hash,
            cipher: Aes256::new(mac_secret.into()),
            digest: None,
        }
    }

    /// `keccak256.digest(state)[:16]` without consuming the state.
    fn digest16(&mut self) -> [u8; 16] {
        if let Some(d) = self.digest {
            return d;
        }
        let full = self.hash.clone().finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        self.digest = Some(out);
        out
    }

    /// `keccak256.update(state, data)`.
    fn update(&mut self, data: &[u8]) {
        self.hash.update(data);
        self.digest = None;
    }

    /// `aes(mac-secret, block)`, one ECB block.
    fn encrypt_block(&self, block: &[u8; 16]) -> [u8; 16] {
        let mut b = aes::Block::clone_from_slice(block);
        self.cipher.encrypt_block(&mut b);
        b.into()
    }

    /// `seed = aes(mac-secret, digest[:16]) ^ xor_with`; update with the seed;
    /// return the new `digest[:16]`.
    fn update_with_seed(&mut self, xor_with: &[u8; 16]) -> [u8; 16] {
        let digest = self.digest16();
        let mut seed = self.encrypt_block(&digest);
        for (s, x) in seed.iter_mut().zip(xor_with) {
            *s ^= x;
        }
        self.update(&seed);
        self.digest16()
    }

    /// Feeds one header ciphertext through the state and returns its
    /// `header-mac`.
    pub(crate) fn update_header(&mut self, header_ciphertext: &[u8; 16]) -> [u8; 16] {
        self.update_with_seed(header_ciphertext)
    }

    /// Feeds one frame ciphertext (padding included) through the state and
    /// returns its `frame-mac`.
    pub(crate) fn update_body(&mut self, body_ciphertext: &[u8]) -> [u8; 16] {
        self.update(body_ciphertext);
        let prev = self.digest16();
        self.update_with_seed(&prev)
    }

    /// Constant-time comparison of a computed MAC with the one received.
    pub(crate) fn verify(expected: &[u8; 16], received: &[u8]) -> bool {
        expected.ct_eq(received).into()
    }
}

impl std::fmt::Debug for MacState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacState { .. }")
    }
}

impl Secrets {
    /// The digest of the ingress MAC state after feeding it `data`, without
    /// changing the state: `keccak256.digest(keccak256.update(ingress-mac, data))`.
    ///
    /// EIP-8's test vectors give `ingress-mac` of node B after
    /// `update(ingress-mac, "foo")`; this is that value.
    pub fn ingress_mac_digest_after(&self, data: &[u8]) -> [u8; 32] {
        let mut h = self.ingress_mac.clone();
        h.update(data);
        h.finalize().into()
    }

    /// The egress counterpart of [`Secrets::ingress_mac_digest_after`].
    pub fn egress_mac_digest_after(&self, data: &[u8]) -> [u8; 32] {
        let mut h = self.egress_mac.clone();
        h.update(data);
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's formulas written out longhand on a plain keccak state,
    /// with no caching.
    struct Reference {
        hash: Keccak256,
        cipher: Aes256,
    }

    impl Reference {
        fn digest16(&self) -> [u8; 16] {
            let d = self.hash.clone().finalize();
            d[..16].try_into().unwrap()
        }

        fn aes(&self, block: [u8; 16]) -> [u8; 16] {
            let mut b = aes::Block::from(block);
            self.cipher.encrypt_block(&mut b);
            b.into()
        }

        fn header(&mut self, ct: &[u8; 16]) -> [u8; 16] {
            let enc = self.aes(self.digest16());
            let seed: Vec<u8> = enc.iter().zip(ct).map(|(a, b)| a ^ b).collect();
            self.hash.update(&seed);
            self.digest16()
        }

        fn body(&mut self, ct: &[u8]) -> [u8; 16] {
            self.hash.update(ct);
            let d = self.digest16();
            let enc = self.aes(d);
            let seed: Vec<u8> = enc.iter().zip(d).map(|(a, b)| a ^ b).collect();
            self.hash.update(&seed);
            self.digest16()
        }
    }

    #[test]
    fn macs_match_the_spec_formulas_over_many_frames() {
        let secret = [7u8; 32];
        let seed = b"seed bytes";
        let mut state = MacState::new(&secret, Keccak256::new_with_prefix(seed));
        let mut reference = Reference {
            hash: Keccak256::new_with_prefix(seed),
            cipher: Aes256::new((&secret).into()),
        };
        for i in 0..5u8 {
            let header_ct = [0xab ^ i; 16];
            assert_eq!(
                state.update_header(&header_ct),
                reference.header(&header_ct)
            );
            let body = vec![i; 16 * usize::from(i + 1) * 7];
            assert_eq!(state.update_body(&body), reference.body(&body));
        }
    }

    #[test]
    fn verify_is_exact() {
        let mac = [3u8; 16];
        assert!(MacState::verify(&mac, &[3u8; 16]));
        let mut other = [3u8; 16];
        other[15] ^= 1;
        assert!(!MacState::verify(&mac, &other));
        assert!(!MacState::verify(&mac, &[3u8; 15]));
    }
}
