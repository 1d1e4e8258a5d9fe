//! The glue between a [`Messenger`](crate::Messenger) and a
//! [`status_waku::Waku`] machine: filters installed, posts wrapped, signed
//! and sealed, opened messages handed back (DESIGN.md: "the glue loop
//! between them is a few lines and lives in a library").

use std::collections::{BTreeMap, HashMap};

use rand_core::CryptoRng;
use status_core::{SecretKey, Timestamp};
use status_waku::filter::{Filter as WakuFilter, FilterId as WakuFilterId};
use status_waku::node::Delivered;
use status_waku::{wrap, Encryption, Envelope, MessageParams, Topic, Waku};

use crate::filter::{Filter, FilterId, FilterKey};
use crate::messenger::{Event, Input, Output, Post, PostKey, WakuMessage};

/// Maps a messenger's filters onto a Waku machine's, and posts for it.
///
/// Without a Waku machine, [`seal`](Self::seal), [`track`](Self::track)
/// and [`open`](Self::open) make a direct link: envelopes from one
/// messenger's posts opened by another's filters (tests, benchmarks, a
/// wire between two processes).
pub struct Bridge {
    signer: SecretKey,
    to_waku: HashMap<FilterId, WakuFilterId>,
    from_waku: HashMap<WakuFilterId, FilterId>,
    local: BTreeMap<FilterId, (Topic, WakuFilter)>,
}

impl Bridge {
    /// A bridge for the messenger of `identity` (it signs every post with
    /// it and opens asymmetric envelopes with it).
    pub fn new(identity: SecretKey) -> Bridge {
        Bridge {
            signer: identity,
            to_waku: HashMap::new(),
            from_waku: HashMap::new(),
            local: BTreeMap::new(),
        }
    }

    /// The envelope for a post: wrapped, signed with our identity,
    /// encrypted and sealed with its PoW.
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        now: Timestamp,
        post: &Post,
    ) -> Result<Envelope, status_waku::Error> {
        let encryption = match &post.key {
            PostKey::Symmetric(k) => Encryption::Symmetric(k),
            PostKey::Asymmetric(k) => Encryption::Asymmetric(k),
        };
        let mut params = MessageParams::new(&post.payload, encryption, post.topic);
        params.signer = Some(&self.signer);
        params.ttl = post.ttl;
        params.pow_target = post.pow_target;
        wrap(rng, &params, now)
    }

    /// The Waku filter that opens what a messenger filter asks for (its
    /// topic and key; our identity for asymmetric ones), for a Waku layer
    /// this bridge does not drive itself (a whole node).
    pub fn waku_filter(&self, f: &Filter) -> WakuFilter {
        match &f.key {
            FilterKey::Symmetric(k) => WakuFilter::symmetric(vec![f.topic], **k),
            FilterKey::Identity => WakuFilter::asymmetric(vec![f.topic], self.signer.clone()),
        }
    }

    /// Notes the filters an output installs or removes, for
    /// [`open`](Self::open).
    pub fn track(&mut self, output: &Output) {
        match output {
            Output::Subscribe(f) => {
                self.local.insert(f.id, (f.topic, self.waku_filter(f)));
            }
            Output::Unsubscribe(id) => {
                self.local.remove(id);
            }
            _ => {}
        }
    }

    /// Opens an envelope with the tracked filters: the input for the
    /// messenger, if one of them opens it.
    pub fn open(&self, envelope: &Envelope) -> Option<Input> {
        self.local.iter().find_map(|(id, (topic, f))| {
            if *topic != envelope.topic {
                return None;
            }
            let message = f.open(envelope)?;
            Some(Input::Received(WakuMessage {
                filter: *id,
                payload: message.payload().to_vec(),
                signer: message.signer().copied(),
                hash: envelope.hash(),
                sent: Timestamp::from_secs(u64::from(envelope.expiry.saturating_sub(envelope.ttl))),
            }))
        })
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

    /// Notes that the messenger's filter `id` is installed elsewhere as
    /// the Waku filter `waku` (a node's), so that [`input`](Self::input)
    /// maps what it opens back.
    pub fn bind(&mut self, id: FilterId, waku: WakuFilterId) {
        if let Some(old) = self.to_waku.insert(id, waku) {
            self.from_waku.remove(&old);
        }
        self.from_waku.insert(waku, id);
    }

    /// Forgets the binding of the messenger's filter `id`; the Waku filter
    /// to remove, if it was bound.
    pub fn unbind(&mut self, id: FilterId) -> Option<WakuFilterId> {
        let w = self.to_waku.remove(&id)?;
        self.from_waku.remove(&w);
        Some(w)
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
