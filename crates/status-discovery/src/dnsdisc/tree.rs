//! Building and signing a node tree (for running our own list, and tests).
//!
//! Follows go-ethereum's `dnsdisc.MakeTree`: records sorted by node id,
//! leaves grouped under branches of at most [`MAX_CHILDREN`] hashes (so
//! every branch fits a 512-byte UDP DNS answer), one subtree for records
//! and one for links, and a signed root.

use std::collections::BTreeMap;

use status_core::SecretKey;

use super::entry::{Entry, EntryHash, Link, Root};
use crate::enr::Enr;

/// Most hashes in one branch entry: 13 hashes of 26 characters and their
/// commas stay under 370 bytes (go-ethereum `maxChildren`).
pub const MAX_CHILDREN: usize = 13;

/// A signed node tree: its root and every entry by hash.
#[derive(Debug, Clone)]
pub struct Tree {
    root: Root,
    entries: BTreeMap<EntryHash, String>,
}

impl Tree {
    /// Builds and signs a tree of `records` and `links` with sequence
    /// number `seq`.
    pub fn new(seq: u64, records: &[Enr], links: &[Link], key: &SecretKey) -> Tree {
        let mut sorted: Vec<&Enr> = records.iter().collect();
        sorted.sort_by_key(|e| e.node_id());
        sorted.dedup_by_key(|e| e.node_id());
        let mut entries = BTreeMap::new();
        let enr_leaves: Vec<String> = sorted.iter().map(|e| e.to_text()).collect();
        let link_leaves: Vec<String> = links.iter().map(|l| l.to_string()).collect();
        let enr_root = build(&mut entries, enr_leaves);
        let link_root = build(&mut entries, link_leaves);
        Tree {
            root: Root::sign(enr_root, link_root, seq, key),
            entries,
        }
    }

    /// The signed root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// Every TXT record to publish under `domain`, as `(name, text)`:
    /// the root at `domain`, each entry at `<hash>.<domain>`.
    ///
    /// ```
    /// use status_core::SecretKey;
    /// use status_discovery::dnsdisc::{EntryHash, Link, Tree};
    /// use status_discovery::Enr;
    ///
    /// let key = SecretKey::from_bytes(&[1; 32])?;
    /// let records: Vec<Enr> = (2..5u8)
    ///     .map(|b| Enr::builder().udp(30303).sign(&SecretKey::from_bytes(&[b; 32])?))
    ///     .collect::<Result<_, _>>()?;
    /// let link = Link::new(key.public_key(), "other.example.org")?;
    /// let tree = Tree::new(1, &records, &[link], &key);
    /// // 3 records under one branch, and the link on its own.
    /// assert_eq!(tree.len(), 5);
    ///
    /// let zone = tree.txt_records("nodes.example.org");
    /// assert_eq!(zone[0], ("nodes.example.org".to_owned(), tree.root().to_string()));
    /// for (name, text) in &zone[1..] {
    ///     let label = name.strip_suffix(".nodes.example.org").unwrap();
    ///     assert!(label.parse::<EntryHash>()?.matches(text));
    ///     assert!(text.len() <= 512);
    /// }
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn txt_records(&self, domain: &str) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(self.entries.len() + 1);
        out.push((domain.to_owned(), self.root.to_string()));
        for (hash, text) in &self.entries {
            out.push((format!("{hash}.{domain}"), text.clone()));
        }
        out
    }

    /// Number of entries below the root.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the tree has no entries below the root (it always has at
    /// least the two subtree roots, so this is `false`).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Builds a subtree over `leaves` (entry texts); returns its root hash.
fn build(entries: &mut BTreeMap<EntryHash, String>, leaves: Vec<String>) -> EntryHash {
    let mut level: Vec<String> = leaves;
    loop {
        if level.len() == 1 {
            if let Some(only) = level.pop() {
                let h = EntryHash::of(&only);
                entries.insert(h, only);
                return h;
            }
        }
        if level.len() <= MAX_CHILDREN {
            let hashes = level
                .into_iter()
                .map(|t| {
                    let h = EntryHash::of(&t);
                    entries.insert(h, t);
                    h
                })
                .collect();
            let branch = Entry::Branch(hashes).to_string();
            let h = EntryHash::of(&branch);
            entries.insert(h, branch);
            return h;
        }
        let mut next = Vec::with_capacity(level.len().div_ceil(MAX_CHILDREN));
        let mut it = level.into_iter().peekable();
        while it.peek().is_some() {
            let hashes: Vec<EntryHash> = it
                .by_ref()
                .take(MAX_CHILDREN)
                .map(|t| {
                    let h = EntryHash::of(&t);
                    entries.insert(h, t);
                    h
                })
                .collect();
            next.push(Entry::Branch(hashes).to_string());
        }
        level = next;
    }
}
