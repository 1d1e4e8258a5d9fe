//! EIP-1459 DNS node lists: entries, a tree builder/signer and a sans-IO
//! resolver (devp2p `dnsdisc.md`).
//!
//! 1/CLIENT: "Waku node addresses can be retrieved by traversing the merkle
//! tree found at fleets.status.im, as described in EIP-1459".
//!
//! ```
//! use status_core::{SecretKey, Timestamp};
//! use status_discovery::dnsdisc::{Config, Event, Link, Resolver, Tree, TxtRecord};
//! use status_discovery::enr::Enr;
//!
//! // A list operator signs a tree of one record...
//! let list_key = SecretKey::from_bytes(&[1; 32])?;
//! let node = Enr::builder().udp(30303).sign(&SecretKey::from_bytes(&[2; 32])?)?;
//! let tree = Tree::new(1, &[node.clone()], &[], &list_key);
//! let zone = tree.txt_records("nodes.example.org");
//!
//! // ...and a client resolves it, the caller doing the DNS lookups.
//! let link = Link::new(list_key.public_key(), "nodes.example.org")?;
//! let now = Timestamp::from_secs(1_600_000_000);
//! let mut resolver = Resolver::new(Config::default());
//! resolver.add_tree(now, link)?;
//! let mut found = Vec::new();
//! while let Some(lookup) = resolver.poll_lookup() {
//!     let text = &zone.iter().find(|(name, _)| *name == lookup.name).unwrap().1;
//!     resolver.handle_answer(now, &lookup.name, &[TxtRecord { ttl_secs: 60, text }])?;
//!     while let Some(ev) = resolver.poll_event() {
//!         if let Event::Node { enr, .. } = ev {
//!             found.push(enr);
//!         }
//!     }
//! }
//! assert_eq!(found, [node]);
//! # Ok::<(), status_discovery::Error>(())
//! ```

mod entry;
mod resolver;
mod tree;

pub use entry::{
    Entry, EntryHash, Link, Root, BRANCH_PREFIX, HASH_ABBREV, LINK_PREFIX, MAX_DOMAIN_LEN,
    MAX_ENTRY_LEN, ROOT_PREFIX,
};
pub use resolver::{Config, Event, Resolver, TxtLookup, TxtRecord};
pub use tree::{Tree, MAX_CHILDREN};
