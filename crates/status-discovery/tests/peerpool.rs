//! PeerPool decisions against 1/CLIENT "Discovery" and status-go v0.55.1
//! `peers/peerpool.go` / `topicpool.go`, one test per behaviour.

use std::net::SocketAddr;
use std::time::Duration;

use status_core::{Enode, SecretKey, Timestamp};
use status_discovery::peerpool::{
    Config, Decision, Limits, MemoryPeerCache, PeerCache, PeerPool, SearchMode, TopicConfig,
    MAILSERVER_TOPIC, WHISPER_TOPIC,
};
use status_discovery::Error;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn node(i: u8) -> Enode {
    let key = SecretKey::from_bytes(&[i.max(1); 32]).unwrap();
    let addr: SocketAddr = format!("10.0.0.{i}:30303").parse().unwrap();
    Enode::new(&key.public_key(), addr)
}

fn drain(pool: &mut PeerPool) -> Vec<Decision> {
    std::iter::from_fn(|| pool.poll_decision()).collect()
}

fn dials(ds: &[Decision]) -> Vec<Enode> {
    ds.iter()
        .filter_map(|d| match d {
            Decision::Dial { enode, .. } => Some(*enode),
            _ => None,
        })
        .collect()
}

fn start(topic: &str, mode: SearchMode) -> Decision {
    let period = match mode {
        SearchMode::Fast => secs(3),
        SearchMode::Slow => secs(30),
    };
    Decision::StartDiscovery {
        topic: topic.into(),
        mode,
        period,
    }
}

fn stop(topic: &str) -> Decision {
    Decision::StopDiscovery {
        topic: topic.into(),
    }
}

fn pool() -> PeerPool {
    PeerPool::new(Config::default(), MemoryPeerCache::default()).unwrap()
}

#[test]
fn defaults_are_two_to_three_relay_peers_and_one_mailserver() {
    let c = Config::default();
    let limits: Vec<(&str, Limits)> = c
        .topics
        .iter()
        .map(|t| (t.name.as_str(), t.limits))
        .collect();
    assert_eq!(
        limits,
        [
            (WHISPER_TOPIC, Limits { min: 2, max: 3 }),
            (MAILSERVER_TOPIC, Limits { min: 1, max: 1 })
        ]
    );
    assert_eq!(WHISPER_TOPIC, "whisper");
    assert_eq!(MAILSERVER_TOPIC, "whispermail");
    assert_eq!((c.fast_sync, c.slow_sync), (secs(3), secs(30)));
}

#[test]
fn start_without_cache_searches_every_topic_in_fast_mode() {
    let mut p = pool();
    p.start(T0);
    assert_eq!(
        drain(&mut p),
        [
            start(WHISPER_TOPIC, SearchMode::Fast),
            start(MAILSERVER_TOPIC, SearchMode::Fast)
        ]
    );
    assert_eq!(p.search_mode(WHISPER_TOPIC), Some(SearchMode::Fast));
}

#[test]
fn cached_peers_are_dialled_first_and_discovery_is_not_started_when_they_suffice() {
    let mut cache = MemoryPeerCache::default();
    for i in 1..=3 {
        cache.add_peer(WHISPER_TOPIC, &node(i));
    }
    cache.add_peer(MAILSERVER_TOPIC, &node(9));
    let mut p = PeerPool::new(Config::default(), cache).unwrap();
    p.start(T0);
    let ds = drain(&mut p);
    assert_eq!(dials(&ds).len(), 4);
    assert!(
        !ds.iter()
            .any(|d| matches!(d, Decision::StartDiscovery { .. })),
        "{ds:?}"
    );
    for i in [1, 2, 3, 9] {
        p.handle_connected(T0, &node(i).id);
    }
    assert!(drain(&mut p).is_empty());
    assert_eq!(p.connected(WHISPER_TOPIC).len(), 3);
}

#[test]
fn failing_cached_peers_start_discovery() {
    let mut cache = MemoryPeerCache::default();
    cache.add_peer(MAILSERVER_TOPIC, &node(9));
    let mut p = PeerPool::new(Config::default(), cache).unwrap();
    p.start(T0);
    let ds = drain(&mut p);
    assert!(ds.contains(&Decision::Dial {
        topic: MAILSERVER_TOPIC.into(),
        enode: node(9)
    }));
    assert!(!ds.contains(&start(MAILSERVER_TOPIC, SearchMode::Fast)));
    p.handle_dial_failed(T0 + secs(1), &node(9).id);
    assert_eq!(drain(&mut p), [start(MAILSERVER_TOPIC, SearchMode::Fast)]);
    // A failed peer leaves the cache (status-go RemovePeer).
    assert!(p.cache().peers(MAILSERVER_TOPIC, 5).is_empty());
}

#[test]
fn found_peers_are_dialled_up_to_max_and_never_more() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    for i in 1..=10 {
        p.handle_found(T0, WHISPER_TOPIC, node(i)).unwrap();
    }
    let ds = drain(&mut p);
    assert_eq!(dials(&ds).len(), 3);
    // The most recently discovered first (status-go's priority queue).
    assert_eq!(dials(&ds)[0], node(1));
    assert_eq!(dials(&ds)[2], node(3));
    assert_eq!(
        p.handle_found(T0, "nope", node(1)),
        Err(Error::UnknownTopic("nope".into()))
    );
}

#[test]
fn reaching_min_switches_to_slow_mode_and_dropping_below_min_back_to_fast() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    for i in 1..=2 {
        p.handle_found(T0, WHISPER_TOPIC, node(i)).unwrap();
    }
    drain(&mut p);
    p.handle_connected(T0 + secs(1), &node(1).id);
    assert!(drain(&mut p).is_empty());
    p.handle_connected(T0 + secs(1), &node(2).id);
    assert_eq!(drain(&mut p), [start(WHISPER_TOPIC, SearchMode::Slow)]);
    p.handle_disconnected(T0 + secs(2), &node(2).id);
    assert_eq!(drain(&mut p), [start(WHISPER_TOPIC, SearchMode::Fast)]);
}

#[test]
fn fast_mode_times_out_to_slow_after_30_seconds() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    let (at, why) = p.poll_timeout().unwrap();
    assert_eq!((at, why), (T0 + secs(30), "fast mode timeout"));
    p.handle_timeout(at);
    assert_eq!(
        drain(&mut p),
        [
            start(WHISPER_TOPIC, SearchMode::Slow),
            start(MAILSERVER_TOPIC, SearchMode::Slow)
        ]
    );
}

#[test]
fn a_full_topic_stops_its_search_after_the_stop_delay() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    p.handle_found(T0, MAILSERVER_TOPIC, node(9)).unwrap();
    drain(&mut p);
    p.handle_connected(T0 + secs(1), &node(9).id);
    assert_eq!(drain(&mut p), [start(MAILSERVER_TOPIC, SearchMode::Slow)]);
    p.handle_timeout(T0 + secs(10));
    assert!(drain(&mut p).is_empty(), "not before the 10 s delay");
    p.handle_timeout(T0 + secs(11));
    assert_eq!(drain(&mut p), [stop(MAILSERVER_TOPIC)]);
    assert_eq!(p.search_mode(MAILSERVER_TOPIC), None);
    assert_eq!(p.search_mode(WHISPER_TOPIC), Some(SearchMode::Fast));
}

/// The stop delay belongs to a full topic: a topic that falls below max
/// before it fires keeps searching (found by a doc example: the search of
/// an empty mailserver topic used to stop at the old deadline).
#[test]
fn a_topic_that_falls_below_max_before_the_stop_delay_keeps_searching() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    p.handle_found(T0, MAILSERVER_TOPIC, node(9)).unwrap();
    p.handle_found(T0, MAILSERVER_TOPIC, node(8)).unwrap(); // a candidate
    drain(&mut p);
    p.handle_connected(T0, &node(9).id); // max 1: stop due at +10 s
    drain(&mut p);
    p.handle_disconnected(T0 + secs(2), &node(9).id);
    let ds = drain(&mut p);
    assert_eq!(dials(&ds), [node(8)]);
    assert!(ds.contains(&start(MAILSERVER_TOPIC, SearchMode::Fast)));
    p.handle_timeout(T0 + secs(10));
    assert!(
        !drain(&mut p).contains(&stop(MAILSERVER_TOPIC)),
        "no mailserver connected: the search goes on"
    );
    assert_eq!(p.search_mode(MAILSERVER_TOPIC), Some(SearchMode::Fast));
    // full again: a new delay starts from there
    p.handle_connected(T0 + secs(12), &node(8).id);
    drain(&mut p);
    p.handle_timeout(T0 + secs(21));
    assert!(!drain(&mut p).contains(&stop(MAILSERVER_TOPIC)));
    p.handle_timeout(T0 + secs(22));
    assert_eq!(drain(&mut p), [stop(MAILSERVER_TOPIC)]);
}

#[test]
fn all_discovery_stops_after_three_minutes() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    p.handle_timeout(T0 + secs(30));
    drain(&mut p);
    assert_eq!(
        p.poll_timeout().unwrap(),
        (T0 + secs(180), "discovery timeout")
    );
    p.handle_timeout(T0 + secs(180));
    assert_eq!(drain(&mut p), [stop(WHISPER_TOPIC), stop(MAILSERVER_TOPIC)]);
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn a_dropped_peer_is_replaced_and_a_mailserver_disconnect_resumes_discovery() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    // Fill the mailserver topic and let its search stop.
    p.handle_found(T0, MAILSERVER_TOPIC, node(9)).unwrap();
    drain(&mut p);
    p.handle_connected(T0, &node(9).id);
    p.handle_timeout(T0 + secs(11));
    drain(&mut p);
    assert_eq!(p.search_mode(MAILSERVER_TOPIC), None);
    // 1/CLIENT: discovery "should resume if [...] a Mailserver disconnects".
    p.handle_disconnected(T0 + secs(20), &node(9).id);
    assert_eq!(drain(&mut p), [start(MAILSERVER_TOPIC, SearchMode::Fast)]);

    // Relay: a spare candidate replaces a dropped peer.
    for i in 1..=4 {
        p.handle_found(T0 + secs(20), WHISPER_TOPIC, node(i))
            .unwrap();
    }
    let first = dials(&drain(&mut p));
    assert_eq!(first.len(), 3);
    for e in &first {
        p.handle_connected(T0 + secs(21), &e.id);
    }
    drain(&mut p);
    p.handle_disconnected(T0 + secs(22), &first[0].id);
    let ds = drain(&mut p);
    assert_eq!(dials(&ds), [node(4)]);
}

#[test]
fn static_nodes_are_always_preferred() {
    let mut config = Config::default();
    config.topics[0].static_nodes = vec![node(50)];
    let mut p = PeerPool::new(config, MemoryPeerCache::default()).unwrap();
    p.start(T0);
    let ds = drain(&mut p);
    // Dialled first, before any search decision.
    assert_eq!(
        ds[0],
        Decision::Dial {
            topic: WHISPER_TOPIC.into(),
            enode: node(50)
        }
    );
    // The static dial fails; discovered peers fill the topic meanwhile.
    p.handle_dial_failed(T0, &node(50).id);
    drain(&mut p);
    for i in 1..=3 {
        p.handle_found(T0, WHISPER_TOPIC, node(i)).unwrap();
    }
    for e in dials(&drain(&mut p)) {
        p.handle_connected(T0, &e.id);
    }
    drain(&mut p);
    assert_eq!(p.connected(WHISPER_TOPIC).len(), 3);
    // After its back-off the static node is dialled again although the
    // topic is full, and a discovered peer makes room for it.
    let (at, why) = p.poll_timeout().unwrap();
    assert_eq!(why, "peer back-off");
    assert_eq!(at, T0 + secs(5));
    p.handle_timeout(at);
    assert_eq!(dials(&drain(&mut p)), [node(50)]);
    p.handle_connected(at, &node(50).id);
    let ds = drain(&mut p);
    assert!(
        matches!(&ds[..], [Decision::Drop { enode, .. }] if *enode != node(50)),
        "{ds:?}"
    );
    let connected = p.connected(WHISPER_TOPIC);
    assert!(connected.contains(&node(50)));
    assert_eq!(connected.len(), 3);
    // Static nodes never enter the cache.
    assert!(!p.cache().peers(WHISPER_TOPIC, 10).contains(&node(50)));
}

#[test]
fn failing_peers_back_off_exponentially_and_are_forgotten() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    p.handle_found(T0, MAILSERVER_TOPIC, node(9)).unwrap();
    let mut now = T0;
    let mut waits = Vec::new();
    for _ in 0..5 {
        assert_eq!(dials(&drain(&mut p)), [node(9)]);
        p.handle_dial_failed(now, &node(9).id);
        drain(&mut p);
        // Run other timers (fast mode, discovery timeout) until the
        // back-off's own wake-up.
        let at = loop {
            match p.poll_timeout() {
                Some((at, "peer back-off")) => break Some(at),
                Some((at, _)) => {
                    p.handle_timeout(at);
                    assert!(dials(&drain(&mut p)).is_empty());
                }
                None => break None,
            }
        };
        let Some(at) = at else { break };
        // Not re-dialled before the back-off ends.
        p.handle_timeout(Timestamp::from_millis(at.as_millis() - 1000));
        assert!(dials(&drain(&mut p)).is_empty());
        waits.push(at.saturating_duration_since(now));
        now = at;
        p.handle_timeout(now);
    }
    assert_eq!(waits, [secs(5), secs(10), secs(20), secs(40)]);
    // Forgotten after the fifth failure.
    p.handle_timeout(now + secs(3600));
    assert!(dials(&drain(&mut p)).is_empty());
}

#[test]
fn a_dial_without_answer_times_out_as_a_failure() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    p.handle_found(T0 + secs(5), MAILSERVER_TOPIC, node(9))
        .unwrap();
    drain(&mut p);
    p.handle_timeout(T0 + secs(30));
    drain(&mut p);
    let (at, why) = p.poll_timeout().unwrap();
    assert_eq!((at, why), (T0 + secs(35), "dial timeout"));
    p.handle_timeout(at);
    // The connected event after the timeout is for nobody we dial.
    p.handle_connected(at, &node(9).id);
    assert!(p.connected(MAILSERVER_TOPIC).is_empty());
}

#[test]
fn connected_peers_enter_the_cache_and_dropped_ones_leave_it() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    p.handle_found(T0, WHISPER_TOPIC, node(1)).unwrap();
    drain(&mut p);
    assert!(p.cache().peers(WHISPER_TOPIC, 5).is_empty());
    p.handle_connected(T0, &node(1).id);
    assert_eq!(p.cache().peers(WHISPER_TOPIC, 5), [node(1)]);
    p.handle_disconnected(T0, &node(1).id);
    assert!(p.cache().peers(WHISPER_TOPIC, 5).is_empty());
}

#[test]
fn candidates_expire_after_sixty_minutes() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    for i in 1..=4 {
        p.handle_found(T0, WHISPER_TOPIC, node(i)).unwrap();
    }
    let first = dials(&drain(&mut p));
    for e in &first {
        p.handle_connected(T0, &e.id);
    }
    drain(&mut p);
    // node(4) waits as a candidate; an hour later it is stale.
    p.handle_disconnected(T0 + secs(3600), &first[0].id);
    assert!(dials(&drain(&mut p)).is_empty());
}

#[test]
fn inbound_peers_are_ignored() {
    let mut p = pool();
    p.start(T0);
    drain(&mut p);
    p.handle_connected(T0, &node(7).id);
    p.handle_disconnected(T0, &node(7).id);
    assert!(drain(&mut p).is_empty());
    assert!(p.connected(WHISPER_TOPIC).is_empty());
}

#[test]
fn limits_are_checked() {
    for (min, max) in [(2, 1), (0, 0)] {
        let config = Config {
            topics: vec![TopicConfig {
                name: "t".into(),
                limits: Limits { min, max },
                static_nodes: vec![],
            }],
            ..Config::default()
        };
        assert_eq!(
            PeerPool::new(config, MemoryPeerCache::default()).err(),
            Some(Error::InvalidLimits { min, max })
        );
    }
}

#[test]
fn memory_cache_is_bounded() {
    let mut c = MemoryPeerCache::new(2);
    for i in 1..=5 {
        c.add_peer("t", &node(i));
    }
    assert_eq!(c.peers("t", 10), [node(5), node(4)]);
}

#[test]
fn a_static_node_added_at_run_time_is_dialled_and_survives_a_full_topic() {
    let now = Timestamp::from_secs(1_700_000_000);
    let mut p = pool();
    p.start(now);
    drain(&mut p);
    for i in 1..=3 {
        p.handle_found(now, WHISPER_TOPIC, node(i)).unwrap();
        p.handle_connected(now, &node(i).id);
    }
    drain(&mut p);
    // The topic is full (max 3): a static node is dialled anyway, and a
    // discovered peer makes room for it once it is connected.
    p.add_static_node(now, WHISPER_TOPIC, node(9)).unwrap();
    assert_eq!(dials(&drain(&mut p)), [node(9)]);
    p.handle_connected(now, &node(9).id);
    let drops: Vec<Decision> = drain(&mut p)
        .into_iter()
        .filter(|d| matches!(d, Decision::Drop { .. }))
        .collect();
    assert_eq!(drops.len(), 1);
    assert!(!matches!(&drops[0], Decision::Drop { enode, .. } if *enode == node(9)));
    // Added twice: nothing new.
    p.add_static_node(now, WHISPER_TOPIC, node(9)).unwrap();
    assert!(dials(&drain(&mut p)).is_empty());
    assert_eq!(
        p.add_static_node(now, "nope", node(9)),
        Err(Error::UnknownTopic("nope".into()))
    );
}

#[test]
fn a_removed_static_node_is_not_dialled_again() {
    let now = Timestamp::from_secs(1_700_000_000);
    let mut p = pool();
    p.add_static_node(now, WHISPER_TOPIC, node(9)).unwrap();
    p.start(now);
    assert_eq!(dials(&drain(&mut p)), [node(9)]);
    assert_eq!(
        p.remove_static_node(now, WHISPER_TOPIC, &node(9).id),
        Ok(true)
    );
    // Forgotten: its dial failing is not reported as a failure to retry.
    let mut t = now;
    for _ in 0..10 {
        p.handle_dial_failed(t, &node(9).id);
        t = t + Duration::from_secs(3600);
        p.handle_timeout(t);
        drain(&mut p);
    }
    assert!(dials(&drain(&mut p)).is_empty());
    assert_eq!(
        p.remove_static_node(now, WHISPER_TOPIC, &node(9).id),
        Ok(false)
    );
}
