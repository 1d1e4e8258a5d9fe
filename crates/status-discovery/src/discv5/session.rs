//! Sessions (discv5-theory "Sessions" and "Session Cache"): the keys of one
//! handshake, tied to a node id *and* a UDP endpoint, with the outgoing
//! message counter that makes nonces unique.

use rand_core::RngCore;
use status_core::Timestamp;

use super::crypto::{decrypt_message, SessionKeys};
use super::packet::Nonce;
use super::Error;
use crate::enr::Enr;

/// Established session keys with one (node id, endpoint).
#[derive(Debug)]
pub(crate) struct Session {
    keys: SessionKeys,
    /// We sent the handshake (answered WHOAREYOU): we encrypt with the
    /// initiator key.
    we_initiated: bool,
    /// Outgoing message count: the first 32 bits of every nonce.
    counter: u32,
    pub last_used: Timestamp,
    /// A message from the peer decrypted under these keys. Until then (as
    /// handshake initiator) further requests wait, since the peer may not
    /// have accepted our handshake.
    pub confirmed: bool,
    /// The keys this session replaced, still accepted for decryption: when
    /// both nodes start a handshake at once, each ends up sending under the
    /// other's keys (see [`Session::replacing`]).
    previous: Option<(SessionKeys, bool)>,
}

impl Session {
    pub fn new(keys: SessionKeys, we_initiated: bool, now: Timestamp) -> Session {
        Session {
            keys,
            we_initiated,
            counter: 0,
            last_used: now,
            confirmed: !we_initiated,
            previous: None,
        }
    }

    /// This session, keeping `old`'s keys as a fallback for decryption.
    pub fn replacing(mut self, old: Session) -> Session {
        self.previous = Some((old.keys.clone(), old.we_initiated));
        self
    }

    /// Opens a message with the current keys, else the replaced ones.
    pub fn decrypt(&self, nonce: &Nonce, sealed: &[u8], ad: &[u8]) -> Result<Vec<u8>, Error> {
        decrypt_message(self.decrypt_key(), nonce, sealed, ad).or_else(|e| match &self.previous {
            Some((keys, we_initiated)) => {
                let key = if *we_initiated {
                    &keys.recipient_key
                } else {
                    &keys.initiator_key
                };
                decrypt_message(key, nonce, sealed, ad)
            }
            None => Err(e),
        })
    }

    pub fn encrypt_key(&self) -> &[u8; 16] {
        if self.we_initiated {
            &self.keys.initiator_key
        } else {
            &self.keys.recipient_key
        }
    }

    pub fn decrypt_key(&self) -> &[u8; 16] {
        if self.we_initiated {
            &self.keys.recipient_key
        } else {
            &self.keys.initiator_key
        }
    }

    /// "encoding the current outgoing message count into the first 32 bits
    /// of the nonce and filling the remaining 64 bits with random data".
    pub fn next_nonce(&mut self, rng: &mut impl RngCore) -> Nonce {
        self.counter = self.counter.wrapping_add(1);
        let mut n = [0u8; 12];
        n[..4].copy_from_slice(&self.counter.to_be_bytes());
        rng.fill_bytes(&mut n[4..]);
        n
    }
}

/// A WHOAREYOU we sent and the data step 4 of the handshake needs.
#[derive(Debug, Clone)]
pub(crate) struct Challenge {
    /// `masking-iv || static-header || authdata` of our WHOAREYOU.
    pub challenge_data: Vec<u8>,
    /// The record we had for the node, if any (its seq went in enr-seq).
    pub known_enr: Option<Enr>,
    pub expires: Timestamp,
}
