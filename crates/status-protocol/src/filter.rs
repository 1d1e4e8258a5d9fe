//! The Waku filters a messenger asks for, and what each one is for
//! (status-go `transport.FiltersManager`, 10/WAKU-USAGE "Topics").

use std::fmt;

use status_core::PublicKey;
use status_waku::topic::{
    contact_code_topic_name, partitioned_topic_name, personal_discovery_topic_name,
    symmetric_key_from_password,
};
use status_waku::Topic;
use zeroize::Zeroizing;

/// A filter's id, handed out by the [`Messenger`](crate::Messenger).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct FilterId(pub u64);

/// The key a filter opens envelopes with.
#[derive(Clone, PartialEq, Eq)]
pub enum FilterKey {
    /// AES-256-GCM with this key (public chats, contact codes, negotiated
    /// topics).
    Symmetric(Zeroizing<[u8; 32]>),
    /// ECIES with our identity key (partitioned and discovery topics).
    Identity,
}

impl fmt::Debug for FilterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterKey::Symmetric(_) => f.write_str("Symmetric(..)"),
            FilterKey::Identity => f.write_str("Identity"),
        }
    }
}

/// What a filter is for; decides how its messages are processed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// A public chat (topic and key from its name).
    Public(String),
    /// Someone's contact-code topic `0x<key>-contact-code`, where bundles
    /// are published (ours included: our other devices publish there).
    ContactCode(PublicKey),
    /// Our partitioned topic `contact-discovery-<X mod 5000>`: first
    /// contact and messages before a negotiated topic is agreed.
    Partitioned,
    /// Our personal discovery topic `contact-discovery-<key>` (legacy,
    /// status-go still listens).
    Discovery,
    /// The negotiated topic with a peer (topic and key from our shared
    /// secret).
    Negotiated(PublicKey),
}

/// A filter to install on the Waku layer: envelopes on `topic` that
/// `key` opens are to come back as [`Input::Received`](crate::Input::Received)
/// with this `id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Its id.
    pub id: FilterId,
    /// The topic.
    pub topic: Topic,
    /// The key.
    pub key: FilterKey,
    /// What it is for.
    pub purpose: Purpose,
}

impl Purpose {
    /// status-go's filter name ("chat id" of the filter): unique per purpose.
    pub(crate) fn name(
        &self,
        me: &PublicKey,
        shared_secret: impl Fn(&PublicKey) -> String,
    ) -> String {
        match self {
            Purpose::Public(name) => name.clone(),
            Purpose::ContactCode(k) => contact_code_topic_name(k),
            Purpose::Partitioned => partitioned_topic_name(me),
            Purpose::Discovery => personal_discovery_topic_name(me),
            Purpose::Negotiated(k) => shared_secret(k),
        }
    }

    /// The topic and key status-go derives for this purpose, given its
    /// [`name`](Self::name): symmetric keys come from `key_of(name)` (the
    /// name is the password; the messenger caches the PBKDF2 result in its
    /// store, as status-go keeps derived keys in its database).
    pub(crate) fn topic_and_key(
        &self,
        me: &PublicKey,
        name: &str,
        key_of: impl FnOnce(&str) -> Zeroizing<[u8; 32]>,
    ) -> (Topic, FilterKey) {
        match self {
            Purpose::Partitioned => (Topic::partitioned(me), FilterKey::Identity),
            Purpose::Discovery => (Topic::personal_discovery(me), FilterKey::Identity),
            // public chats and contact codes by their name; the negotiated
            // topic by the hex of the shared secret (status-go
            // `LoadNegotiated`), all as `addSymmetric(name)`
            Purpose::Public(_) | Purpose::ContactCode(_) | Purpose::Negotiated(_) => {
                (Topic::from_name(name), FilterKey::Symmetric(key_of(name)))
            }
        }
    }
}

/// The topic and key status-go derives for `purpose` of the account
/// `me` (the negotiated topic needs our secret key for the ECDH).
///
/// ```
/// use status_core::SecretKey;
/// use status_protocol::{filter::derive, FilterKey, Purpose};
/// let me = SecretKey::from_bytes(&[1; 32]).unwrap();
/// let (topic, key) = derive(&Purpose::Public("status".into()), &me);
/// assert_eq!(topic.0, [0xcd, 0x42, 0x37, 0x60]);
/// assert!(matches!(key, FilterKey::Symmetric(_)));
/// ```
pub fn derive(purpose: &Purpose, me: &status_core::SecretKey) -> (Topic, FilterKey) {
    let pk = me.public_key();
    let name = purpose.name(&pk, |k| {
        hex::encode(*status_waku::topic::negotiated_secret(me, k))
    });
    purpose.topic_and_key(&pk, &name, symmetric_key_from_password)
}
