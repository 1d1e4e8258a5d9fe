//! The glue between a [`Messenger`](crate::Messenger) and a
//! [`status_waku::Waku`] machine: filters installed, posts wrapped, signed
//! and sealed, opened messages handed back (DESIGN.md: "the glue loop
//! between them is a few lines and lives in a library").

use std::collections::HashMap;

use rand_core::CryptoRng;
use status_core::{SecretKey, Timestamp};
use status_waku::filter::{Filter as WakuFilter, FilterId as WakuFilterId};
use status_waku::node::Delivered;
use status_waku::{wrap, Encryption, MessageParams, Waku};

use crate::filter::{FilterId, FilterKey};
use crate::messenger::{Event, Input, Output, PostKey, WakuMessage};

/// Maps a messenger's filters onto a Waku machine's, and posts for it.
pub struct Bridge {
    signer: SecretKey,
    to_waku: HashMap<FilterId, WakuFilterId>,
    from_waku: HashMap<WakuFilterId, FilterId>,
}

impl Bridge {
    /// A bridge for the messenger of `identity` (it signs every post with
    /// it and opens asymmetric envelopes with it).
    pub fn new(identity: SecretKey) -> Bridge {
        Bridge {
            signer: identity,
            to_waku: HashMap::new(),
            from_waku: HashMap::new(),
        }
    }

    /// Carries out one messenger output on `waku`: an [`Event`] comes back
    /// for the application, everything else is done here.
    pub fn apply<R: CryptoRng + ?Sized>(
        &mut self,
        waku: &mut Waku,
        rng: &mut R,
        now: Timestamp,
        output: Output,
    ) -> Result<Option<Event>, status_waku::Error> {
        match output {
            Output::Post(post) => {
                let encryption = match &post.key {
                    PostKey::Symmetric(k) => Encryption::Symmetric(k),
                    PostKey::Asymmetric(k) => Encryption::Asymmetric(k),
                };
                let mut params = MessageParams::new(&post.payload, encryption, post.topic);
                params.signer = Some(&self.signer);
                params.ttl = post.ttl;
                params.pow_target = post.pow_target;
                let envelope = wrap(rng, &params, now)?;
                waku.post(now, envelope)?;
                Ok(None)
            }
            Output::Subscribe(f) => {
                let filter = match &f.key {
                    FilterKey::Symmetric(k) => WakuFilter::symmetric(vec![f.topic], **k),
                    FilterKey::Identity => {
                        WakuFilter::asymmetric(vec![f.topic], self.signer.clone())
                    }
                };
                let id = waku.subscribe(filter);
                self.to_waku.insert(f.id, id);
                self.from_waku.insert(id, f.id);
                Ok(None)
            }
            Output::Unsubscribe(id) => {
                if let Some(w) = self.to_waku.remove(&id) {
                    self.from_waku.remove(&w);
                    waku.unsubscribe(w);
                }
                Ok(None)
            }
            Output::Event(e) => Ok(Some(e)),
        }
    }

    /// Removes every filter this bridge installed (the messenger restarts
    /// and asks for its filters again).
    pub fn clear(&mut self, waku: &mut Waku) {
        for (_, w) in self.to_waku.drain() {
            waku.unsubscribe(w);
        }
        self.from_waku.clear();
    }

    /// The messenger input for a message a Waku filter opened, if the
    /// filter is one of the messenger's.
    pub fn input(&self, delivered: &Delivered) -> Option<Input> {
        let filter = *self.from_waku.get(&delivered.filter)?;
        let env = &delivered.envelope;
        Some(Input::Received(WakuMessage {
            filter,
            payload: delivered.message.payload().to_vec(),
            signer: delivered.message.signer().copied(),
            hash: delivered.hash,
            sent: Timestamp::from_secs(u64::from(env.expiry.saturating_sub(env.ttl))),
        }))
    }
}
