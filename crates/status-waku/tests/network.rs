//! A deterministic network of 14 Waku machines wired in memory (no RLPx):
//! the relay rules of 6/WAKU1 end to end.

mod common;

use common::{Net, T0};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::Timestamp;
use status_waku::filter::Filter;
use status_waku::node::Event;
use status_waku::peer::Protocol;
use status_waku::topic::symmetric_key_from_password;
use status_waku::{wrap, Encryption, Envelope, MessageParams, Topic, WakuConfig};

const FULL: usize = 8; // nodes 0..8: full nodes in a ring with chords
const LIGHT_A: [usize; 2] = [8, 9]; // light nodes on topic A
const LIGHT_B: [usize; 2] = [10, 11]; // light nodes on topic B
const STRICT: usize = 12; // full leaf demanding PoW 2
const SHH: usize = 13; // full leaf speaking whisper/6 only

fn topic_a() -> Topic {
    Topic::from_name("status")
}
fn topic_b() -> Topic {
    Topic::from_name("another-chat")
}
fn key_a() -> [u8; 32] {
    *symmetric_key_from_password("status")
}

fn full() -> WakuConfig {
    WakuConfig {
        min_pow: 0.0,
        ..WakuConfig::default()
    }
}

fn network() -> Net {
    let mut configs = vec![full(); FULL];
    for _ in 0..4 {
        configs.push(WakuConfig {
            min_pow: 0.0,
            ..WakuConfig::light()
        });
    }
    configs.push(WakuConfig {
        min_pow: 2.0,
        ..full()
    });
    configs.push(full());
    let mut net = Net::new(configs);
    // Light nodes subscribe before connecting: their Status carries the
    // topic interest.
    for l in LIGHT_A {
        net.nodes[l].subscribe(Filter::symmetric(vec![topic_a()], key_a()));
    }
    for l in LIGHT_B {
        let key = *symmetric_key_from_password("another-chat");
        net.nodes[l].subscribe(Filter::symmetric(vec![topic_b()], key));
    }
    for i in 0..FULL {
        net.link(i, (i + 1) % FULL, Protocol::Waku1);
    }
    net.link(0, 4, Protocol::Waku1);
    net.link(2, 6, Protocol::Waku1);
    net.link(LIGHT_A[0], 3, Protocol::Waku1);
    net.link(LIGHT_A[1], 5, Protocol::Waku1);
    net.link(LIGHT_A[1], 6, Protocol::Waku1);
    net.link(LIGHT_B[0], 1, Protocol::Waku1);
    net.link(LIGHT_B[1], 7, Protocol::Waku1);
    net.link(STRICT, 4, Protocol::Waku1);
    net.link(STRICT, 5, Protocol::Waku1);
    net.link(SHH, 7, Protocol::Shh6);
    net.settle();
    net
}

fn message(rng: &mut ChaCha20Rng, topic: Topic, pow_target: f64) -> Envelope {
    let key = key_a();
    let mut params = MessageParams::new(b"hello waku", Encryption::Symmetric(&key), topic);
    params.ttl = 60;
    params.pow_target = pow_target;
    params.max_pow_attempts = 1 << 24;
    wrap(rng, &params, Timestamp::from_secs(T0)).unwrap()
}

#[test]
fn every_peer_completes_the_handshake() {
    let net = network();
    for (i, n) in net.nodes.iter().enumerate() {
        for p in n.peers() {
            assert!(n.is_ready(p), "node {i} peer {p:?}");
        }
        let ready = net.events[i]
            .iter()
            .filter(|e| matches!(e, Event::PeerReady { .. }))
            .count();
        assert_eq!(ready, n.peers().count(), "node {i}");
    }
    // A light node's topic interest reached its full peer.
    let view = net.nodes[3].peer_view(net.peer_of(3, LIGHT_A[0])).unwrap();
    assert_eq!(view.topic_interest.as_deref(), Some(&[topic_a()][..]));
    assert!(view.light_node);
}

#[test]
fn an_envelope_reaches_every_full_node_and_only_the_light_nodes_on_its_topic() {
    let mut net = network();
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let env = message(&mut rng, topic_a(), 0.0);
    let hash = net.nodes[0].post(net.now, env).unwrap();
    net.run();

    for i in (0..FULL).chain([SHH]) {
        assert!(net.nodes[i].has_envelope(&hash), "full node {i}");
    }
    for l in LIGHT_A {
        assert!(
            net.nodes[l].has_envelope(&hash),
            "light node {l} on topic A"
        );
        let got: Vec<_> = net.events[l]
            .iter()
            .filter_map(|e| match e {
                Event::Message(d) => Some(d),
                _ => None,
            })
            .collect();
        assert_eq!(got.len(), 1, "light node {l}");
        assert_eq!(got[0].hash, hash);
        assert_eq!(got[0].message.payload(), b"hello waku");
        assert!(!got[0].p2p);
    }
    for l in LIGHT_B {
        assert!(
            !net.nodes[l].has_envelope(&hash),
            "light node {l} on topic B"
        );
        assert_eq!(
            net.messages_packets[l], 0,
            "light node {l} got a Messages packet"
        );
    }
    // Light nodes never forward what they receive.
    for l in LIGHT_A {
        assert_eq!(net.nodes[l].stats().forwarded, 0, "light node {l}");
    }
}

#[test]
fn duplicates_are_not_re_forwarded() {
    let mut net = network();
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let env = message(&mut rng, topic_a(), 0.0);
    net.nodes[2].post(net.now, env.clone()).unwrap();
    net.run();

    for (i, n) in net.nodes.iter().enumerate() {
        let s = n.stats();
        // Each node accepted it once and sent it to each peer at most once.
        assert!(s.accepted <= 1, "node {i} accepted {}", s.accepted);
        assert!(
            s.forwarded <= n.peers().count() as u64,
            "node {i} forwarded {} copies to {} peers",
            s.forwarded,
            n.peers().count()
        );
    }
    // The ring has cycles, so some nodes saw it twice and dropped the copy.
    let dups: u64 = net.nodes.iter().map(|n| n.stats().duplicates).sum();
    assert!(dups > 0);

    // Posting or receiving it again moves nothing.
    let before: Vec<u64> = net.nodes.iter().map(|n| n.stats().forwarded).collect();
    net.nodes[2].post(net.now, env.clone()).unwrap();
    let raw = {
        let mut v = Vec::new();
        status_waku::packet::encode_envelopes(&[env], &mut v);
        v
    };
    let p = net.peer_of(5, 4);
    net.nodes[5]
        .handle_input(net.now, p, 1, raw.into())
        .unwrap();
    net.run();
    let after: Vec<u64> = net.nodes.iter().map(|n| n.stats().forwarded).collect();
    assert_eq!(before, after);
}

#[test]
fn a_node_requiring_more_pow_never_receives_weaker_envelopes() {
    let mut net = network();
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let weak = message(&mut rng, topic_a(), 0.0);
    assert!(weak.pow() < 2.0);
    let weak_hash = net.nodes[0].post(net.now, weak).unwrap();
    net.run();
    assert!(net.nodes[4].has_envelope(&weak_hash));
    assert!(!net.nodes[STRICT].has_envelope(&weak_hash));
    assert_eq!(net.messages_packets[STRICT], 0);
    // It was never even offered, so it never had to reject one.
    assert_eq!(net.nodes[STRICT].stats().low_pow, 0);
    assert_eq!(net.nodes[STRICT].stats().envelopes_received, 0);

    let strong = message(&mut rng, topic_a(), 2.0);
    assert!(strong.pow() >= 2.0, "{}", strong.pow());
    let strong_hash = net.nodes[0].post(net.now, strong).unwrap();
    net.run();
    assert!(net.nodes[STRICT].has_envelope(&strong_hash));
}

#[test]
fn whisper_and_waku_peers_are_bridged() {
    let mut net = network();
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    // Posted at the whisper/6-only node, it crosses node 7 into waku/1.
    let env = message(&mut rng, topic_a(), 0.0);
    let hash = net.nodes[SHH].post(net.now, env).unwrap();
    net.run();
    for i in 0..FULL {
        assert!(net.nodes[i].has_envelope(&hash), "node {i}");
    }
    for l in LIGHT_A {
        assert!(net.nodes[l].has_envelope(&hash), "light node {l}");
    }
}

#[test]
fn stored_envelopes_reach_a_peer_that_connects_later() {
    let mut net = network();
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let env = message(&mut rng, topic_a(), 0.0);
    let hash = net.nodes[0].post(net.now, env).unwrap();
    net.run();
    // A new full node joins after the envelope spread.
    let late = net.nodes.len();
    net.nodes.push(status_waku::Waku::new(full(), net.now));
    net.events.push(Vec::new());
    net.messages_packets.push(0);
    net.link(late, 6, Protocol::Waku1);
    net.run();
    assert!(net.nodes[late].has_envelope(&hash));
}

#[test]
fn expired_envelopes_are_forgotten_by_handle_timeout() {
    let mut net = network();
    let mut rng = ChaCha20Rng::from_seed([6; 32]);
    let env = message(&mut rng, topic_a(), 0.0);
    let hash = net.nodes[0].post(net.now, env).unwrap();
    net.run();
    assert!(net.nodes[1].stored_len() > 0);
    net.advance(std::time::Duration::from_secs(62));
    for (i, n) in net.nodes.iter().enumerate() {
        assert!(!n.has_envelope(&hash), "node {i}");
        assert_eq!(n.stored_len(), 0);
        assert_eq!(n.stored_bytes(), 0);
        assert_eq!(n.seen_len(), 0);
    }
}
