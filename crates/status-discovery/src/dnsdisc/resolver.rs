//! The EIP-1459 client as a sans-IO machine.
//!
//! The resolver asks for DNS TXT lookups ([`Resolver::poll_lookup`]) and is
//! told the answers ([`Resolver::handle_answer`], [`Resolver::handle_failure`]),
//! with the current time. It follows the "Client Protocol" of EIP-1459:
//!
//! 1. resolve the root TXT record at the list's domain and verify its
//!    signature against the link's key; the sequence number must not go
//!    down;
//! 2. resolve `<hash>.<domain>` for the ENR and link subtree roots, check
//!    every answer hashes to its name, and keep resolving branch children
//!    (in random order, from the seeded RNG);
//! 3. report every new node record ([`Event::Node`]) and follow links to
//!    other lists (bounded by [`Config::max_trees`]);
//! 4. look at the root again when its TTL runs out (clamped to
//!    [`Config::min_recheck`]..[`Config::max_recheck`]) and walk the tree
//!    again when it changed, looking up only entries whose hash is new:
//!    a hash names its whole subtree, so unchanged subtrees are expanded
//!    from the previous walk (the spec's incremental synchronisation).
//!    Records already reported are not reported twice.
//!
//! Lookups in flight, entries per tree, linked trees and queued events are
//! bounded by [`Config`]; a lookup not answered within
//! [`Config::lookup_timeout`] counts as failed.
//!
//! Run loop: after `add_tree`, `handle_answer`, `handle_failure` or
//! `handle_timeout`, drain `poll_lookup` (start those lookups) and
//! `poll_event`, then sleep until `poll_timeout`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use status_core::Timestamp;

use super::entry::{Entry, EntryHash, Link, Root, ROOT_PREFIX};
use crate::enr::Enr;
use crate::Error;

/// Limits and timers of a [`Resolver`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Most entries resolved per tree in one walk.
    pub max_entries: usize,
    /// Most trees tracked: the ones added plus linked ones.
    pub max_trees: usize,
    /// Most TXT lookups in flight at once.
    pub max_in_flight: usize,
    /// Most events queued before the resolver stops issuing lookups.
    pub max_events: usize,
    /// How long a lookup may take before it counts as failed.
    pub lookup_timeout: Duration,
    /// Shortest wait before checking a root again (floor for its TTL).
    pub min_recheck: Duration,
    /// Longest wait before checking a root again (cap for its TTL).
    pub max_recheck: Duration,
    /// Wait before retrying a root lookup that failed.
    pub root_retry: Duration,
    /// Seed of the RNG that orders the walk.
    pub rng_seed: [u8; 32],
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_entries: 10_000,
            max_trees: 16,
            max_in_flight: 8,
            max_events: 1024,
            lookup_timeout: Duration::from_secs(10),
            min_recheck: Duration::from_secs(60),
            max_recheck: Duration::from_secs(60 * 60),
            root_retry: Duration::from_secs(30),
            rng_seed: [0; 32],
        }
    }
}

/// A DNS TXT lookup the caller should perform.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct TxtLookup {
    /// The name to resolve: a list's domain (root) or `<hash>.<domain>`.
    pub name: String,
}

/// One TXT record of an answer: its TTL and its text, the character
/// strings of the record joined without separator.
#[derive(Debug, Clone, Copy)]
pub struct TxtRecord<'a> {
    /// The record's TTL in seconds.
    pub ttl_secs: u32,
    /// The record's text.
    pub text: &'a str,
}

/// What the resolver found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A list's root changed (or was seen the first time); a walk begins.
    RootUpdated {
        /// The list's domain.
        domain: String,
        /// The new sequence number.
        seq: u64,
    },
    /// A node record not reported before.
    Node {
        /// The list it came from.
        domain: String,
        /// The verified record.
        enr: Enr,
    },
    /// A link to another list, which the resolver now follows too.
    LinkFound {
        /// The list holding the link.
        domain: String,
        /// The linked list.
        link: Link,
    },
    /// A walk of a list finished (`complete` is false when some entries
    /// failed; they are retried at the next root check).
    Synced {
        /// The list's domain.
        domain: String,
        /// Sequence number of the root walked.
        seq: u64,
        /// Whether every entry resolved.
        complete: bool,
    },
    /// A lookup's answer was rejected or the lookup failed.
    Failed {
        /// The list's domain.
        domain: String,
        /// The name looked up.
        name: String,
        /// Why (`None`: the lookup itself failed or timed out).
        error: Option<Error>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subtree {
    Enr,
    Link,
}

impl Subtree {
    fn name(self) -> &'static str {
        match self {
            Subtree::Enr => "enr",
            Subtree::Link => "link",
        }
    }
}

#[derive(Debug, Clone)]
enum Want {
    Root,
    /// An entry of walk number `u64` of its tree.
    Entry(EntryHash, Subtree, u64),
}

#[derive(Debug)]
struct InFlight {
    domain: String,
    want: Want,
    deadline: Timestamp,
}

#[derive(Debug)]
struct TreeState {
    link: Link,
    root: Option<Root>,
    /// When to look at the root (again); `None` while its lookup is out.
    next_check: Option<Timestamp>,
    pending: Vec<(EntryHash, Subtree)>,
    /// Hashes requested in the current walk.
    seen: HashSet<EntryHash>,
    /// ENR leaves reported (from earlier walks and this one).
    known: HashSet<EntryHash>,
    in_flight: usize,
    walking: bool,
    /// Some entry of the current walk failed.
    incomplete: bool,
    limit_hit: bool,
    /// Walk counter: answers from an older walk are dropped.
    walk: u64,
    /// Entries resolved in earlier walks, by hash: a merkle hash names its
    /// whole subtree, so an unchanged subtree is expanded from here without
    /// a lookup (incremental re-sync). Pruned to the current walk's hashes
    /// when a walk ends.
    cache: HashMap<EntryHash, Cached>,
}

/// What a resolved entry was, enough to walk it again without DNS.
#[derive(Debug, Clone)]
enum Cached {
    Branch(Vec<EntryHash>),
    Enr,
    Link,
}

/// The EIP-1459 tree resolver. See the module docs for the run loop.
#[derive(Debug)]
pub struct Resolver {
    config: Config,
    rng: ChaCha20Rng,
    trees: BTreeMap<String, TreeState>,
    in_flight: HashMap<String, InFlight>,
    lookups: VecDeque<TxtLookup>,
    events: VecDeque<Event>,
}

impl Resolver {
    /// A resolver with no lists yet.
    pub fn new(config: Config) -> Self {
        Resolver {
            rng: ChaCha20Rng::from_seed(config.rng_seed),
            config,
            trees: BTreeMap::new(),
            in_flight: HashMap::new(),
            lookups: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Starts following the list at `link`; its root is looked up at once.
    /// Fails with [`Error::TreeLimit`] when [`Config::max_trees`] are
    /// tracked already. Adding a domain twice is a no-op.
    pub fn add_tree(&mut self, now: Timestamp, link: Link) -> Result<(), Error> {
        self.insert_tree(now, link)?;
        self.dispatch(now);
        Ok(())
    }

    fn insert_tree(&mut self, now: Timestamp, link: Link) -> Result<bool, Error> {
        if self.trees.contains_key(&link.domain) {
            return Ok(false);
        }
        if self.trees.len() >= self.config.max_trees {
            return Err(Error::TreeLimit {
                what: "trees",
                max: self.config.max_trees,
            });
        }
        self.trees.insert(
            link.domain.clone(),
            TreeState {
                link,
                root: None,
                next_check: Some(now),
                pending: Vec::new(),
                seen: HashSet::new(),
                known: HashSet::new(),
                in_flight: 0,
                walking: false,
                incomplete: false,
                limit_hit: false,
                walk: 0,
                cache: HashMap::new(),
            },
        );
        Ok(true)
    }

    /// The latest verified root of the list at `domain`.
    pub fn root(&self, domain: &str) -> Option<&Root> {
        self.trees.get(domain)?.root.as_ref()
    }

    /// Number of lookups in flight.
    pub fn lookups_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Next TXT lookup to perform.
    pub fn poll_lookup(&mut self) -> Option<TxtLookup> {
        self.lookups.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Resolver::handle_timeout`] should next be called, and why.
    pub fn poll_timeout(&self) -> Option<(Timestamp, &'static str)> {
        let lookups = self
            .in_flight
            .values()
            .map(|f| (f.deadline, "dns lookup timeout"));
        let roots = self
            .trees
            .values()
            .filter_map(|t| t.next_check.map(|at| (at, "dns root check")));
        lookups.chain(roots).min_by_key(|(at, _)| *at)
    }

    /// Expires lookups past their deadline and starts due root checks.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let expired: Vec<String> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in expired {
            if let Some(f) = self.in_flight.remove(&name) {
                self.fail(now, f, name, None);
            }
        }
        self.dispatch(now);
    }

    /// The lookup of `name` failed (NXDOMAIN, SERVFAIL, no answer).
    ///
    /// A failed root is looked up again after [`Config::root_retry`]:
    ///
    /// ```
    /// use std::time::Duration;
    /// use status_core::{SecretKey, Timestamp};
    /// use status_discovery::dnsdisc::{Config, Event, Link, Resolver};
    ///
    /// let key = SecretKey::from_bytes(&[1; 32])?;
    /// let now = Timestamp::from_secs(1_600_000_000);
    /// let mut resolver = Resolver::new(Config::default());
    /// resolver.add_tree(now, Link::new(key.public_key(), "nodes.example.org")?)?;
    /// let lookup = resolver.poll_lookup().unwrap();
    /// let deadline = now + Duration::from_secs(10);
    /// assert_eq!(resolver.poll_timeout(), Some((deadline, "dns lookup timeout")));
    ///
    /// resolver.handle_failure(now, &lookup.name)?; // NXDOMAIN
    /// assert!(matches!(resolver.poll_event(), Some(Event::Failed { error: None, .. })));
    /// assert_eq!(resolver.poll_lookup(), None);
    /// let retry = now + Duration::from_secs(30);
    /// assert_eq!(resolver.poll_timeout(), Some((retry, "dns root check")));
    ///
    /// resolver.handle_timeout(retry);
    /// assert_eq!(resolver.poll_lookup(), Some(lookup));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn handle_failure(&mut self, now: Timestamp, name: &str) -> Result<(), Error> {
        let f = self
            .in_flight
            .remove(name)
            .ok_or_else(|| Error::UnexpectedAnswer(name.to_owned()))?;
        self.fail(now, f, name.to_owned(), None);
        self.dispatch(now);
        Ok(())
    }

    /// The TXT records found at `name`. Errors only for an answer to a
    /// name not asked for; bad content becomes an [`Event::Failed`].
    ///
    /// ```
    /// use status_core::{SecretKey, Timestamp};
    /// use status_discovery::dnsdisc::{Config, EntryHash, Event, Link, Resolver, Tree, TxtRecord};
    /// use status_discovery::{Enr, Error};
    ///
    /// let key = SecretKey::from_bytes(&[1; 32])?;
    /// let node = Enr::builder().udp(30303).sign(&SecretKey::from_bytes(&[2; 32])?)?;
    /// let zone = Tree::new(1, &[node], &[], &key).txt_records("nodes.example.org");
    /// let now = Timestamp::from_secs(1_600_000_000);
    /// let mut resolver = Resolver::new(Config::default());
    /// resolver.add_tree(now, Link::new(key.public_key(), "nodes.example.org")?)?;
    ///
    /// // The root, signed by the list's key: a walk begins.
    /// let root = resolver.poll_lookup().unwrap();
    /// let answer = [TxtRecord { ttl_secs: 300, text: &zone[0].1 }];
    /// resolver.handle_answer(now, &root.name, &answer)?;
    /// assert!(matches!(resolver.poll_event(), Some(Event::RootUpdated { seq: 1, .. })));
    ///
    /// // A spoofed entry: it does not hash to the name it was asked for.
    /// let entry = resolver.poll_lookup().unwrap();
    /// let spoof = format!("enrtree-branch:{}", EntryHash::of("elsewhere"));
    /// resolver.handle_answer(now, &entry.name, &[TxtRecord { ttl_secs: 300, text: &spoof }])?;
    /// assert!(matches!(
    ///     resolver.poll_event(),
    ///     Some(Event::Failed { error: Some(Error::HashMismatch), .. })
    /// ));
    ///
    /// // An answer to a name not in flight (here: a second one) is a caller bug.
    /// let again = resolver.handle_answer(now, &entry.name, &[]);
    /// assert_eq!(again, Err(Error::UnexpectedAnswer(entry.name)));
    /// # Ok::<(), status_discovery::Error>(())
    /// ```
    pub fn handle_answer(
        &mut self,
        now: Timestamp,
        name: &str,
        records: &[TxtRecord<'_>],
    ) -> Result<(), Error> {
        let f = self
            .in_flight
            .remove(name)
            .ok_or_else(|| Error::UnexpectedAnswer(name.to_owned()))?;
        let result = match f.want {
            Want::Root => self.on_root(now, &f.domain, records),
            Want::Entry(hash, subtree, walk) => {
                self.on_entry(now, &f.domain, hash, subtree, walk, records)
            }
        };
        if let Err(e) = result {
            self.fail(now, f, name.to_owned(), Some(e));
        }
        self.dispatch(now);
        Ok(())
    }

    fn push_event(&mut self, ev: Event) {
        // Bounded by `dispatch`, which stops issuing lookups when the queue
        // is full; one answer adds at most a few events.
        self.events.push_back(ev);
    }

    fn fail(&mut self, now: Timestamp, f: InFlight, name: String, error: Option<Error>) {
        let retry = self.config.root_retry;
        if let Some(tree) = self.trees.get_mut(&f.domain) {
            match f.want {
                Want::Root => tree.next_check = Some(now.saturating_add(retry)),
                Want::Entry(hash, _, walk) => {
                    tree.in_flight = tree.in_flight.saturating_sub(1);
                    if walk == tree.walk {
                        tree.incomplete = true;
                        tree.seen.remove(&hash);
                    }
                }
            }
        }
        self.push_event(Event::Failed {
            domain: f.domain.clone(),
            name,
            error,
        });
        self.finish_walk(&f.domain);
    }

    fn on_root(
        &mut self,
        now: Timestamp,
        domain: &str,
        records: &[TxtRecord<'_>],
    ) -> Result<(), Error> {
        // On any error, `fail` schedules a retry after `root_retry`.
        let record = records
            .iter()
            .find(|r| r.text.starts_with(ROOT_PREFIX))
            .ok_or(Error::InvalidEntry("no enrtree-root:v1 record"))?;
        let root: Root = record.text.parse()?;
        let ttl = Duration::from_secs(u64::from(record.ttl_secs))
            .clamp(self.config.min_recheck, self.config.max_recheck);
        let tree = self
            .trees
            .get_mut(domain)
            .ok_or(Error::InvalidEntry("tree removed"))?;
        root.verify(&tree.link.public_key)?;
        // Valid root: next look after its TTL, whatever comes below.
        tree.next_check = Some(now.saturating_add(ttl));
        if let Some(old) = &tree.root {
            if root.seq < old.seq {
                return Err(Error::SequenceRegression {
                    previous: old.seq,
                    got: root.seq,
                });
            }
            let unchanged = root.enr_root == old.enr_root && root.link_root == old.link_root;
            if unchanged && !tree.incomplete {
                tree.root = Some(root);
                return Ok(());
            }
            if tree.walking && unchanged {
                // Still walking this very tree; let the walk finish.
                return Ok(());
            }
        }
        let seq = root.seq;
        tree.pending.clear();
        tree.seen.clear();
        tree.incomplete = false;
        tree.limit_hit = false;
        tree.walking = true;
        tree.walk = tree.walk.wrapping_add(1);
        for (hash, subtree) in [
            (root.enr_root, Subtree::Enr),
            (root.link_root, Subtree::Link),
        ] {
            if tree.seen.insert(hash) {
                tree.pending.push((hash, subtree));
            }
        }
        tree.root = Some(root);
        self.push_event(Event::RootUpdated {
            domain: domain.to_owned(),
            seq,
        });
        Ok(())
    }

    fn on_entry(
        &mut self,
        now: Timestamp,
        domain: &str,
        hash: EntryHash,
        subtree: Subtree,
        walk: u64,
        records: &[TxtRecord<'_>],
    ) -> Result<(), Error> {
        let max_entries = self.config.max_entries;
        let tree = self
            .trees
            .get_mut(domain)
            .ok_or(Error::InvalidEntry("tree removed"))?;
        if walk != tree.walk {
            // An answer from a walk the root has since replaced.
            tree.in_flight = tree.in_flight.saturating_sub(1);
            self.finish_walk(domain);
            return Ok(());
        }
        tree.in_flight = tree.in_flight.saturating_sub(1);
        let result = (|| {
            let text = records
                .iter()
                .find(|r| hash.matches(r.text))
                .map(|r| r.text)
                .ok_or(if records.is_empty() {
                    Error::InvalidEntry("empty answer")
                } else {
                    Error::HashMismatch
                })?;
            let entry: Entry = text.parse()?;
            match (&entry, subtree) {
                (Entry::Enr(_), Subtree::Link) | (Entry::Link(_), Subtree::Enr) => {
                    Err(Error::MisplacedEntry(subtree.name()))
                }
                _ => Ok(entry),
            }
        })();
        let entry = match result {
            Ok(e) => e,
            Err(e) => {
                // `fail` will decrement again; undo ours.
                tree.in_flight += 1;
                return Err(e);
            }
        };
        let cached = match &entry {
            Entry::Branch(children) => Cached::Branch(children.clone()),
            Entry::Enr(_) => Cached::Enr,
            Entry::Link(_) => Cached::Link,
        };
        if tree.cache.len() < max_entries {
            tree.cache.insert(hash, cached);
        }
        match entry {
            Entry::Branch(children) => {
                expand(
                    tree,
                    &mut self.events,
                    max_entries,
                    domain,
                    hash,
                    &children,
                    subtree,
                );
            }
            Entry::Enr(enr) => {
                if tree.known.insert(hash) {
                    self.events.push_back(Event::Node {
                        domain: domain.to_owned(),
                        enr,
                    });
                }
            }
            Entry::Link(link) => {
                if link.domain != domain && !self.trees.contains_key(&link.domain) {
                    let linked = self.insert_tree(now, link.clone());
                    match linked {
                        Ok(_) => self.push_event(Event::LinkFound {
                            domain: domain.to_owned(),
                            link,
                        }),
                        Err(e) => self.push_event(Event::Failed {
                            domain: domain.to_owned(),
                            name: format!("{hash}.{domain}"),
                            error: Some(e),
                        }),
                    }
                }
            }
        }
        self.finish_walk(domain);
        Ok(())
    }

    fn finish_walk(&mut self, domain: &str) {
        let Some(tree) = self.trees.get_mut(domain) else {
            return;
        };
        if tree.walking && tree.pending.is_empty() && tree.in_flight == 0 {
            tree.walking = false;
            let seen = &tree.seen;
            tree.cache.retain(|h, _| seen.contains(h));
            let seq = tree.root.as_ref().map_or(0, |r| r.seq);
            let complete = !tree.incomplete;
            self.events.push_back(Event::Synced {
                domain: domain.to_owned(),
                seq,
                complete,
            });
        }
    }

    /// Issues lookups up to the in-flight bound: due roots first, then
    /// random pending entries.
    fn dispatch(&mut self, now: Timestamp) {
        let deadline = now.saturating_add(self.config.lookup_timeout);
        let domains: Vec<String> = self.trees.keys().cloned().collect();
        for domain in &domains {
            if self.in_flight.len() >= self.config.max_in_flight
                || self.events.len() >= self.config.max_events
            {
                return;
            }
            let Some(tree) = self.trees.get_mut(domain) else {
                continue;
            };
            if tree.next_check.is_some_and(|at| at <= now) && !self.in_flight.contains_key(domain) {
                tree.next_check = None;
                self.in_flight.insert(
                    domain.clone(),
                    InFlight {
                        domain: domain.clone(),
                        want: Want::Root,
                        deadline,
                    },
                );
                self.lookups.push_back(TxtLookup {
                    name: domain.clone(),
                });
            }
        }
        loop {
            if self.in_flight.len() >= self.config.max_in_flight
                || self.events.len() >= self.config.max_events
            {
                return;
            }
            let with_pending: Vec<&String> = domains
                .iter()
                .filter(|d| self.trees.get(*d).is_some_and(|t| !t.pending.is_empty()))
                .collect();
            if with_pending.is_empty() {
                return;
            }
            let pick = self.rng.next_u32() as usize % with_pending.len();
            let Some(domain) = with_pending.get(pick).map(|d| (*d).clone()) else {
                return;
            };
            let r = self.rng.next_u32() as usize;
            let Some(tree) = self.trees.get_mut(&domain) else {
                return;
            };
            let idx = r % tree.pending.len();
            let (hash, subtree) = tree.pending.swap_remove(idx);
            if let Some(cached) = tree.cache.get(&hash).cloned() {
                // Known from an earlier walk: no lookup needed.
                match (cached, subtree) {
                    (Cached::Branch(children), _) => {
                        let max = self.config.max_entries;
                        expand(
                            tree,
                            &mut self.events,
                            max,
                            &domain,
                            hash,
                            &children,
                            subtree,
                        );
                    }
                    (Cached::Enr, Subtree::Enr) | (Cached::Link, Subtree::Link) => {}
                    _ => {
                        tree.incomplete = true;
                        self.events.push_back(Event::Failed {
                            domain: domain.clone(),
                            name: format!("{hash}.{domain}"),
                            error: Some(Error::MisplacedEntry(subtree.name())),
                        });
                    }
                }
                self.finish_walk(&domain);
                continue;
            }
            let name = format!("{hash}.{domain}");
            if self.in_flight.contains_key(&name) {
                // Still out from a replaced walk; its answer will be dropped
                // (rare: the tree changed and kept this entry).
                tree.pending.push((hash, subtree));
                return;
            }
            tree.in_flight += 1;
            let walk = tree.walk;
            self.in_flight.insert(
                name.clone(),
                InFlight {
                    domain,
                    want: Want::Entry(hash, subtree, walk),
                    deadline,
                },
            );
            self.lookups.push_back(TxtLookup { name });
        }
    }
}

/// Queues the children of a branch for the current walk, within the
/// entry bound (reported once per walk when hit).
fn expand(
    tree: &mut TreeState,
    events: &mut VecDeque<Event>,
    max_entries: usize,
    domain: &str,
    hash: EntryHash,
    children: &[EntryHash],
    subtree: Subtree,
) {
    for &child in children {
        if tree.seen.contains(&child) {
            continue;
        }
        if tree.seen.len() >= max_entries {
            if !tree.limit_hit {
                tree.limit_hit = true;
                tree.incomplete = true;
                events.push_back(Event::Failed {
                    domain: domain.to_owned(),
                    name: format!("{hash}.{domain}"),
                    error: Some(Error::TreeLimit {
                        what: "entries",
                        max: max_entries,
                    }),
                });
            }
            break;
        }
        tree.seen.insert(child);
        tree.pending.push((child, subtree));
    }
}
