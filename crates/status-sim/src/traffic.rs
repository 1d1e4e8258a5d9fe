//! The traffic model of the vac Whisper scalability study
//! (`vac-research-whisper-scalability`, "The model"): what each user sends
//! and receives per day, its formulas for cases 1-8, and a seeded schedule
//! of sends that reproduces it in a simulation.
//!
//! The model gives every message one addressee: a user receives
//! `messages_per_user_per_day` messages, and the whole network carries
//! `B · n` bytes a day (`N(n)`). The schedule keeps that: a private message
//! is addressed to one user, a public one to the other member of one of
//! the sender's public chats (a topic two users share, so that a message
//! in it is meant for exactly one other user, as the model counts).
//!
//! ```
//! use status_sim::traffic::{Case, TrafficModel};
//!
//! let model = TrafficModel::default(); // the paper's assumptions
//! let kb = |b: f64| b / 1024.0;
//! assert_eq!(kb(model.load(Case::C1, 100)), 1000.0);
//! // case 7 at 100 users: 3.9 MB in the paper's table
//! let mb = model.load(Case::C7, 100) / (1024.0 * 1024.0);
//! assert!((mb - 3.9).abs() < 0.05, "{mb}");
//! let sends = model.schedule(7, 100, 0, 3_600_000);
//! assert!(sends.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
//! ```

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// The model's cases (its table's rows), and the Waku variant of case 7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Case {
    /// Only messages meant for you.
    C1,
    /// Everyone's messages.
    C2,
    /// Private messages on one discovery topic.
    C3,
    /// Private messages partitioned into `partitions` shards.
    C4,
    /// Case 4 plus bloom false positives on all traffic.
    C5,
    /// Case 5 plus benign duplicates (one copy per peer).
    C6,
    /// Case 6 while online, mailserver queries (bloom, no duplicates)
    /// while offline.
    C7,
    /// Case 7 with Waku topic interest instead of blooms (no false
    /// positives, live or from the mailserver); not a row of the paper.
    C7Topics,
    /// "Waka" mode, a Waku light node: one peer, topics not bloom, still
    /// partitioned.
    C8,
}

impl Case {
    /// Every case, in table order.
    pub const ALL: [Case; 9] = [
        Case::C1,
        Case::C2,
        Case::C3,
        Case::C4,
        Case::C5,
        Case::C6,
        Case::C7,
        Case::C7Topics,
        Case::C8,
    ];

    /// The row number in the paper's table (case 7 with topics: 7).
    pub fn number(self) -> u8 {
        match self {
            Case::C1 => 1,
            Case::C2 => 2,
            Case::C3 => 3,
            Case::C4 => 4,
            Case::C5 => 5,
            Case::C6 => 6,
            Case::C7 | Case::C7Topics => 7,
            Case::C8 => 8,
        }
    }

    /// `"whisper"` for the paper's Whisper cases 1-7, `"waku"` for topic
    /// interest and light nodes.
    pub fn mode(self) -> &'static str {
        match self {
            Case::C7Topics | Case::C8 => "waku",
            _ => "whisper",
        }
    }

    /// What the case measures, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Case::C1 => "only messages meant for you",
            Case::C2 => "everyone's messages",
            Case::C3 => "private messages on one discovery topic",
            Case::C4 => "private messages in partitions",
            Case::C5 => "case 4 + bloom false positives",
            Case::C6 => "case 5 + duplicates from each peer",
            Case::C7 => "case 6 online, mailserver (bloom) offline",
            Case::C7Topics => "case 7 with topic interest (Waku)",
            Case::C8 => "light node, topic interest, one peer (Waku)",
        }
    }

    /// The paper's table value in bytes per user per day for 100, 10,000
    /// and 1,000,000 users, as printed (rounded); `None` for the Waku
    /// variant of case 7, which the paper has no row for.
    pub fn paper_table(self) -> Option<[f64; 3]> {
        const KB: f64 = 1024.0;
        const MB: f64 = KB * 1024.0;
        const GB: f64 = MB * 1024.0;
        Some(match self {
            Case::C1 => [1000.0 * KB, 1000.0 * KB, 1000.0 * KB],
            Case::C2 => [97.7 * MB, 9.5 * GB, 953.7 * GB],
            Case::C3 => [49.3 * MB, 4.8 * GB, 476.8 * GB],
            Case::C4 => [1000.0 * KB, 1.5 * MB, 98.1 * MB],
            Case::C5 => [10.7 * MB, 978.0 * MB, 95.5 * GB],
            Case::C6 => [21.5 * MB, 1.9 * GB, 190.9 * GB],
            Case::C7 => [3.9 * MB, 284.8 * MB, 27.8 * GB],
            Case::C7Topics => return None,
            Case::C8 => [1000.0 * KB, 1.5 * MB, 98.1 * MB],
        })
    }
}

/// The traffic of a population, as the model's assumptions. `Default` is
/// the paper's.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficModel {
    /// Public chats each user is in (each shared with one other user).
    pub chats_per_user: u32,
    /// Messages a user receives (and sends) per day.
    pub messages_per_user_per_day: f64,
    /// Envelopes per message (negotiation, data sync overhead).
    pub envelopes_per_message: u32,
    /// Bytes of one envelope.
    pub envelope_size: usize,
    /// Share of messages that are private (1:1, group).
    pub private_fraction: f64,
    /// Partition topics private messages are spread over.
    pub partitions: u32,
    /// False-positive rate of a user's bloom filter (live traffic).
    pub bloom_false_positive: f64,
    /// False-positive rate of the bloom in a mailserver query.
    pub mailserver_false_positive: f64,
    /// Full-node peers a user is connected to (benign duplicate factor).
    pub peers: u32,
    /// Share of the day a user is online.
    pub online_fraction: f64,
    /// Times a day a user comes online and queries its mailserver for
    /// what it missed (case 7, 8).
    pub mailserver_queries_per_day: f64,
    /// Envelope time to live, seconds. Relays hand the envelopes they hold
    /// (younger than this) to a peer that connects, so a returning user
    /// gets the last `ttl` seconds from every peer on top of its
    /// mailserver's answer: the model does not count that, and with
    /// status-go's 120 s and hourly sessions it would add about a third.
    pub ttl: u32,
}

impl Default for TrafficModel {
    fn default() -> Self {
        TrafficModel {
            chats_per_user: 4,
            messages_per_user_per_day: 100.0,
            envelopes_per_message: 10,
            envelope_size: 1024,
            private_fraction: 0.5,
            partitions: 5000,
            bloom_false_positive: 0.1,
            mailserver_false_positive: 0.01,
            peers: 2,
            online_fraction: 0.1,
            mailserver_queries_per_day: 24.0,
            ttl: 10,
        }
    }
}

/// To whom a scheduled message is addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressee {
    /// A private message to this user.
    User(u32),
    /// A message in this public chat (see [`TrafficModel::chat_members`]).
    Chat(u32),
}

/// One message of a [`TrafficModel::schedule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Send {
    /// Time from the start of the window, ms.
    pub at_ms: u64,
    /// The sending user.
    pub from: u32,
    /// The addressee.
    pub to: Addressee,
}

impl TrafficModel {
    /// `B`: bytes of the messages meant for one user per day.
    pub fn own_bytes_per_day(&self) -> f64 {
        self.envelope_size as f64
            * f64::from(self.envelopes_per_message)
            * self.messages_per_user_per_day
    }

    /// `f(n)`: users sharing a partition (1 below `partitions` users).
    pub fn partition_factor(&self, users: u64) -> f64 {
        if users < u64::from(self.partitions) {
            1.0
        } else {
            users as f64 / f64::from(self.partitions)
        }
    }

    /// `T(n)`: private messages of the user's partition plus its public
    /// messages.
    pub fn partitioned(&self, users: u64) -> f64 {
        let b = self.own_bytes_per_day();
        self.private_fraction * b * self.partition_factor(users) + (1.0 - self.private_fraction) * b
    }

    /// `N(n)`: all traffic of the network.
    pub fn network(&self, users: u64) -> f64 {
        self.own_bytes_per_day() * users as f64
    }

    /// The model's load per user per day, bytes, for `case` at `users`.
    pub fn load(&self, case: Case, users: u64) -> f64 {
        let b = self.own_bytes_per_day();
        let (t, n) = (self.partitioned(users), self.network(users));
        let (p, pm) = (self.bloom_false_positive, self.mailserver_false_positive);
        let (d, o) = (f64::from(self.peers), self.online_fraction);
        match case {
            Case::C1 => b,
            Case::C2 => n,
            Case::C3 => self.private_fraction * n + (1.0 - self.private_fraction) * b,
            Case::C4 | Case::C8 => t,
            Case::C5 => t + p * n,
            Case::C6 => d * (t + p * n),
            Case::C7 => (1.0 - o) * (t + pm * n) + o * d * (t + p * n),
            Case::C7Topics => (1.0 - o) * t + o * d * t,
        }
    }

    /// The two users of public chat `chat`: chat `k · users + u` joins user
    /// `u` and user `u + k + 1` (mod `users`), for `k < chats_per_user / 2`.
    pub fn chat_members(&self, users: u32, chat: u32) -> (u32, u32) {
        let (k, u) = (chat / users.max(1), chat % users.max(1));
        (u, (u + k + 1) % users.max(1))
    }

    /// The public chats of `user` (see [`chat_members`](Self::chat_members)).
    pub fn chats_of(&self, users: u32, user: u32) -> Vec<u32> {
        let half = self.chats_per_user / 2;
        let mut chats = Vec::with_capacity(2 * half as usize);
        for k in 0..half {
            chats.push(k * users + user);
            chats.push(k * users + (user + users - k - 1) % users);
        }
        chats
    }

    /// The partition of `user`'s private topic. The model's `f(n)` assumes
    /// users spread evenly, so this is the user's index modulo
    /// `partitions` (Status hashes the public key instead, which puts
    /// `1 + (n - 1) / partitions` users in a partition on average: 3 at
    /// 10,000 users, not the model's 2).
    pub fn partition_of(&self, user: u32) -> u32 {
        user % self.partitions.max(1)
    }

    /// Messages sent by `users` users in `window_ms`, with their times
    /// drawn from `seed`: `messages_per_user_per_day` per user per day, a
    /// `private_fraction` of them to a uniformly drawn other user, the rest
    /// in one of the sender's public chats. Sorted by time; each user
    /// sends its share of the total (rounded) in turn, so every user sends
    /// the same number of messages, or one more.
    pub fn schedule(&self, seed: u64, users: u32, start_ms: u64, window_ms: u64) -> Vec<Send> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let total = (f64::from(users) * self.messages_per_user_per_day * window_ms as f64
            / DAY_MS as f64)
            .round() as u64;
        let mut out = Vec::with_capacity(total as usize);
        if users < 2 {
            return out;
        }
        let half = self.chats_per_user / 2;
        let first = rng.next_u32() % users;
        for i in 0..total {
            let from = ((u64::from(first) + i) % u64::from(users)) as u32;
            let at_ms = start_ms + rng.next_u64() % window_ms.max(1);
            let private = unit(&mut rng) < self.private_fraction || half == 0;
            let to = if private {
                let other = rng.next_u32() % (users - 1);
                Addressee::User(if other >= from { other + 1 } else { other })
            } else {
                let chats = self.chats_of(users, from);
                Addressee::Chat(chats[(rng.next_u32() as usize) % chats.len()])
            };
            out.push(Send { at_ms, from, to });
        }
        out.sort_by_key(|s| (s.at_ms, s.from));
        out
    }
}

/// A uniform draw in [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formulas give the paper's printed table (rounded to its one
    /// decimal in its own unit).
    #[test]
    fn the_formulas_give_the_papers_table() {
        let m = TrafficModel::default();
        for case in Case::ALL {
            let Some(table) = case.paper_table() else {
                continue;
            };
            for (users, printed) in [100u64, 10_000, 1_000_000].into_iter().zip(table) {
                let got = m.load(case, users);
                let unit = [1024.0f64, 1024.0 * 1024.0, 1024.0 * 1024.0 * 1024.0]
                    .into_iter()
                    .rev()
                    .find(|u| printed >= *u)
                    .unwrap_or(1024.0);
                let diff = (got / unit - printed / unit).abs();
                assert!(diff <= 0.051, "{case:?} at {users}: {got} vs {printed}");
            }
        }
    }

    #[test]
    fn every_user_is_in_its_chats_and_each_chat_has_two() {
        let m = TrafficModel::default();
        let users = 10;
        for u in 0..users {
            let chats = m.chats_of(users, u);
            assert_eq!(chats.len(), m.chats_per_user as usize);
            for c in chats {
                let (a, b) = m.chat_members(users, c);
                assert!(a == u || b == u, "user {u} chat {c}: {a} {b}");
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn a_day_of_schedule_sends_the_models_messages() {
        let m = TrafficModel::default();
        let users = 50;
        let sends = m.schedule(3, users, 1000, DAY_MS);
        assert_eq!(
            sends.len() as f64,
            f64::from(users) * m.messages_per_user_per_day
        );
        let mut received = vec![0u32; users as usize];
        for s in &sends {
            assert!((1000..1000 + DAY_MS).contains(&s.at_ms));
            match s.to {
                Addressee::User(u) => {
                    assert_ne!(u, s.from);
                    received[u as usize] += 1;
                }
                Addressee::Chat(c) => {
                    let (a, b) = m.chat_members(users, c);
                    assert!(a == s.from || b == s.from);
                    received[if a == s.from { b } else { a } as usize] += 1;
                }
            }
        }
        let private = sends
            .iter()
            .filter(|s| matches!(s.to, Addressee::User(_)))
            .count() as f64;
        assert!((private / sends.len() as f64 - 0.5).abs() < 0.05);
        let mean = received.iter().sum::<u32>() as f64 / f64::from(users);
        assert_eq!(mean, m.messages_per_user_per_day);
        assert_eq!(m.schedule(3, users, 1000, DAY_MS), sends);
        assert_ne!(m.schedule(4, users, 1000, DAY_MS), sends);
    }
}
