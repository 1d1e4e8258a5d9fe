//! The sans-IO `Mailserver` against hostile P2P Requests: arbitrary bytes as
//! a direct request's RLP, as a request envelope's RLP, as the payload of an
//! envelope sealed (signed or not) with the mailserver's key on waku/1 or
//! whisper/6 (the legacy binary form), as the fields of a well-formed
//! request, or as a burst of requests from one peer. Whatever is served is
//! run against a small in-memory archive and paged by its cursor.
//!
//! Never a panic; a served request reads at most its limit (<= 1000) per
//! page, every answer carries the request's id, and pages never repeat an
//! envelope.
#![no_main]

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use rand_chacha::rand_core::SeedableRng;
use status_core::{SecretKey, Timestamp};
use status_mailserver::{
    Archive, ArchivedEnvelope, Decision, Mailserver, MailserverConfig, MemoryArchive, Order,
    Request,
};
use status_waku::mailserver::{DirectMessagesRequest, MessagesRequest, MAX_LIMIT};
use status_waku::peer::Protocol;
use status_waku::{Bloom, Encryption, Envelope, MessageParams, RequestComplete, Topic};

const BASE: u32 = 1_700_000_000;
const KEY: [u8; 32] = [7; 32];
const TOPICS: [Topic; 3] = [
    Topic([0xca, 0xfe, 0, 1]),
    Topic([0xca, 0xfe, 0, 2]),
    Topic([0, 0, 0, 0]),
];

/// Reads the input front to back; past its end every read is zero.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
    fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.0.len())
    }
}

fn archive() -> MemoryArchive {
    let archive = MemoryArchive::default();
    let rows: Vec<_> = (0..24u32)
        .map(|i| {
            let env = Envelope::new(
                BASE - 3600 + i * 150,
                60,
                TOPICS[i as usize % TOPICS.len()],
                vec![i as u8; 1 + (i as usize * 37) % 200],
            );
            ArchivedEnvelope::new(&env)
        })
        .collect();
    archive.archive(&rows).expect("memory archive");
    archive
}

fn config(flags: u8, client: &SecretKey) -> MailserverConfig {
    let mut config = MailserverConfig {
        request_key: Some(KEY),
        order: if flags & 1 == 0 {
            Order::Ascending
        } else {
            Order::Descending
        },
        // small bundles, so that bundling and the limit interact
        max_message_size: if flags & 2 == 0 { 300 } else { 1 << 20 },
        // every field but the key as `MailserverConfig::default()`, which
        // runs PBKDF2 for the fleets' password: far too slow per input
        asym_key: None,
        min_request_pow: 0.0,
        rate_limit: None,
        max_rate_limited_peers: 100_000,
        retention: None,
        cleaner_period: Duration::from_secs(3600),
        allowed_peers: None,
    };
    if flags & 4 != 0 {
        config.rate_limit = Some(Duration::from_secs(5));
        config.max_rate_limited_peers = 2;
    }
    if flags & 8 != 0 {
        config.retention = Some(Duration::from_secs(1800));
        config.cleaner_period = Duration::from_secs(60);
    }
    if flags & 16 != 0 {
        config.allowed_peers = Some(BTreeSet::from([client.public_key().node_id()]));
    }
    if flags & 32 != 0 {
        config.asym_key = Some(SecretKey::from_bytes(&[0x22; 32]).expect("key"));
    }
    config
}

fn sealed(
    rng: &mut rand_chacha::ChaCha20Rng,
    payload: &[u8],
    client: &SecretKey,
    signed: bool,
    now: Timestamp,
) -> Option<Envelope> {
    let params = MessageParams {
        payload,
        padding: None,
        signer: signed.then_some(client),
        encryption: Encryption::Symmetric(&KEY),
        topic: Topic::default(),
        ttl: 10,
        pow_target: 0.0,
        max_pow_attempts: 1,
    };
    status_waku::wrap(rng, &params, now).ok()
}

/// Runs one decision the way `MailserverRole` does, then follows the
/// cursor for a few pages.
fn serve(
    server: &mut Mailserver,
    archive: &MemoryArchive,
    decision: Decision,
    id: Option<[u8; 32]>,
) {
    let req = match decision {
        Decision::Serve(req) => req,
        Decision::Refuse { complete, .. } => {
            match complete {
                RequestComplete::Failed { request_id, error } => {
                    assert!(!error.is_empty());
                    if let Some(id) = id {
                        assert_eq!(request_id, id);
                    }
                }
                other => panic!("a refusal that completes: {other:?}"),
            }
            return;
        }
        Decision::Ignore => return,
    };
    if let Some(id) = id {
        assert_eq!(req.id, id);
    }
    let mut seen = HashSet::new();
    let mut req: Request = req;
    for _page in 0..4 {
        let rows = match &req.query {
            Some(q) => {
                assert!(q.limit >= 1 && q.limit <= MAX_LIMIT);
                assert!(q.lower <= q.upper);
                let rows = archive.query(q).expect("memory archive");
                assert!(rows.len() <= q.limit as usize);
                assert!(rows.iter().all(|r| q.wants(&r.key)));
                rows
            }
            None => Vec::new(),
        };
        let limit = req.query.as_ref().map_or(0, |q| q.limit as usize);
        let response = server.respond(&req, rows);
        let sent: Vec<_> = response.messages.iter().flatten().collect();
        assert!(sent.len() <= limit);
        if !req.batch {
            assert!(response.messages.iter().all(|m| m.len() == 1));
        }
        for raw in &sent {
            assert!(seen.insert(raw.to_vec()), "an envelope on two pages");
        }
        let RequestComplete::Completed {
            request_id, cursor, ..
        } = response.complete
        else {
            panic!("a served request that fails");
        };
        assert_eq!(request_id, req.id);
        if cursor.is_empty() {
            return;
        }
        let Some(q) = req.query.as_mut() else {
            panic!("a cursor without a query");
        };
        q.cursor = Some(cursor.as_slice().try_into().expect("a 36-byte cursor"));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mode = input.u8();
    let flags = input.u8();
    let now = Timestamp::from_secs(u64::from(BASE) + u64::from(input.u8()) * 60);
    let client = SecretKey::from_bytes(&[0x11; 32]).expect("key");
    let stranger = SecretKey::from_bytes(&[0x33; 32]).expect("key");
    let peer = if flags & 64 == 0 {
        client.public_key().node_id()
    } else {
        stranger.public_key().node_id()
    };
    let protocol = if flags & 128 == 0 {
        Protocol::Waku1
    } else {
        Protocol::Shh6
    };
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([mode; 32]);
    let archive = archive();
    let mut server = Mailserver::new(config(flags, &client), now);

    match mode % 6 {
        // a direct request's RLP
        0 => {
            let payload = input.rest();
            let d = server.handle_request(now, peer, protocol, None, payload);
            serve(&mut server, &archive, d, None);
        }
        // a request envelope's RLP
        1 => {
            if let Ok(env) = Envelope::decode(input.rest(), 1 << 20) {
                let d = server.handle_request(now, peer, protocol, Some(&env), &[]);
                serve(&mut server, &archive, d, Some(env.hash()));
            }
        }
        // arbitrary bytes sealed with the mailserver key
        2 | 3 => {
            let signed = mode % 6 == 2;
            let payload = input.rest();
            if let Some(env) = sealed(&mut rng, payload, &client, signed, now) {
                let d = server.handle_request(now, peer, protocol, Some(&env), &[]);
                serve(&mut server, &archive, d, Some(env.hash()));
            }
        }
        // a well-formed request whose fields are the input's
        4 => {
            let lower = BASE - 4000 + input.u32() % 8000;
            let upper = match input.u8() {
                0 => 0,
                1 => u32::MAX,
                2 => input.u32(),
                _ => BASE - 4000 + input.u32() % 8000,
            };
            let limit = match input.u8() {
                0 => input.u32(),
                n => u32::from(n) % 30,
            };
            let bloom = match input.u8() % 4 {
                0 => None,
                1 => Some(Bloom::FULL),
                2 => Bloom::from_slice(input.bytes(64)),
                _ => Some(Bloom::from_topic(TOPICS[usize::from(input.u8()) % 3])),
            };
            let topics = (0..input.u8() % 4)
                .map(|_| Topic([input.u8(), input.u8(), input.u8(), input.u8()]))
                .collect();
            let cursor_len = usize::from(input.u8() % 40);
            let cursor = input.bytes(cursor_len).to_vec();
            let request = MessagesRequest {
                lower,
                upper,
                bloom,
                topics,
                limit,
                cursor,
                batch: input.u8() & 1 == 0,
            };
            if input.u8() & 1 == 0 {
                let env = sealed(&mut rng, &request.to_vec(), &client, true, now);
                if let Some(env) = env {
                    let d = server.handle_request(now, peer, protocol, Some(&env), &[]);
                    serve(&mut server, &archive, d, Some(env.hash()));
                }
            } else {
                let direct = DirectMessagesRequest {
                    id: [mode; 32],
                    from: request.lower,
                    to: request.upper,
                    limit: request.limit,
                    cursor: request.cursor,
                    bloom: request.bloom,
                    topics: request.topics,
                };
                let d = server.handle_request(now, peer, protocol, None, &direct.to_vec());
                serve(&mut server, &archive, d, Some(direct.id));
            }
        }
        // a burst from one peer, time moving on, the cleaner and the
        // rate limiter's sweep on their timers
        _ => {
            let mut now = now;
            for _ in 0..16 {
                let len = usize::from(input.u8());
                if input.0.is_empty() {
                    break;
                }
                now = now.saturating_add(Duration::from_secs(u64::from(input.u8() % 8)));
                if let Some((t, why)) = server.poll_timeout() {
                    assert!(why == "cleaner" || why == "rate limit sweep");
                    if t <= now {
                        if let Some(before) = server.handle_timeout(now) {
                            archive.prune(before).expect("memory archive");
                        }
                    }
                }
                let payload = input.bytes(len);
                let d = server.handle_request(now, peer, protocol, None, payload);
                serve(&mut server, &archive, d, None);
            }
            let stats = server.stats();
            assert!(stats.rate_limited <= stats.refused);
        }
    }
});
