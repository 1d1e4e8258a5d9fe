//! The Node machine with in-memory links: peers, relay, roles, hostile
//! peers, mailserver client, determinism.

mod common;

use std::time::Duration;

use common::*;
use rand_chacha::rand_core::SeedableRng;
use status_node::{Cause, Config, Error, Event, HistoryRequest, Input, Post, PostKey};
use status_rlpx::p2p::DisconnectReason;
use status_waku::filter::Filter;
use status_waku::node::DropReason;
use status_waku::packet::code;
use status_waku::{wrap, Encryption, Envelope, MessageParams, RateLimits, StatusOptions, Topic};

const CHAT_KEY: [u8; 32] = [9; 32];

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn post(net: &mut Net, i: usize, topic: Topic, text: &[u8]) -> [u8; 32] {
    let now = net.now;
    net.node(i)
        .post(now, Post::new(topic, PostKey::Symmetric(CHAT_KEY), text))
        .unwrap()
}

fn subscribe(net: &mut Net, i: usize, topic: Topic) {
    let now = net.now;
    net.node(i)
        .subscribe(now, Filter::symmetric(vec![topic], CHAT_KEY));
}

fn connected(net: &Net, i: usize) -> usize {
    net.nodes[i].as_ref().map_or(0, |n| n.peer_count())
}

#[test]
fn two_nodes_connect_through_a_static_node_and_see_each_other() {
    let mut net = Net::new();
    let b = net.add(relayer(1).build().unwrap());
    let a = net.add(relayer(0).static_node(enode(1)).build().unwrap());
    assert!(net.run_until(secs(5), |n| connected(n, a) == 1 && connected(n, b) == 1));
    let pa = net.node(a).peers();
    assert_eq!(pa[0].node_id, key(1).public_key().node_id());
    assert_eq!(pa[0].direction, status_node::Direction::Outbound);
    assert!(pa[0].capabilities.iter().any(|c| c.name == "waku"));
    let ups = net
        .take_events(b)
        .into_iter()
        .filter(|e| matches!(e, Event::PeerConnected(_)))
        .count();
    assert_eq!(ups, 1);
}

#[test]
fn an_envelope_crosses_a_relay_and_reaches_each_matching_filter_exactly_once() {
    let mut net = Net::new();
    let relay = net.add(relayer(1).build().unwrap());
    let a = net.add(relayer(0).static_node(enode(1)).build().unwrap());
    let c = net.add(relayer(2).static_node(enode(1)).build().unwrap());
    let d = net.add(
        relayer(3)
            .static_node(enode(1))
            .static_node(enode(2))
            .build()
            .unwrap(),
    );
    let topic = Topic::from_name("chat");
    for i in [c, d] {
        subscribe(&mut net, i, topic);
    }
    assert!(net.run_until(secs(10), |n| connected(n, relay) == 3
        && connected(n, d) == 2));
    post(&mut net, a, topic, b"hello");
    net.run_for(secs(5));
    assert_eq!(net.messages(c), [b"hello".to_vec()]);
    assert_eq!(net.messages(d), [b"hello".to_vec()]);
    assert!(net.messages(a).is_empty());
    // d heard it from both the relay and c: the second copy was a duplicate.
    assert!(net.node(d).waku_stats().duplicates >= 1);
}

#[test]
fn a_light_node_receives_only_its_topics() {
    let mut net = Net::new();
    let relay = net.add(relayer(1).build().unwrap());
    let light = net.add(relayer(0).light().static_node(enode(1)).build().unwrap());
    let poster = net.add(relayer(2).static_node(enode(1)).build().unwrap());
    let mine = Topic::from_name("mine");
    let other = Topic::from_name("other");
    subscribe(&mut net, light, mine);
    assert!(net.run_until(secs(10), |n| connected(n, relay) == 2));
    net.run_for(secs(1));
    for i in 0..5 {
        post(&mut net, poster, mine, format!("m{i}").as_bytes());
        post(&mut net, poster, other, format!("o{i}").as_bytes());
    }
    net.run_for(secs(3));
    assert_eq!(net.messages(light).len(), 5);
    // Only its topic's envelopes ever reached it.
    assert_eq!(net.node(light).waku_stats().envelopes_received, 5);
    assert_eq!(net.node(light).waku_stats().not_interested, 0);
    // And it relays nothing of others': the relay still got all 10 once.
    assert_eq!(net.node(relay).waku_stats().accepted, 10);
}

#[test]
fn two_light_nodes_drop_each_other_and_stay_apart() {
    let mut net = Net::new();
    let a = net.add(relayer(1).light().build().unwrap());
    let b = net.add(relayer(0).light().static_node(enode(1)).build().unwrap());
    net.run_for(secs(3));
    assert_eq!(connected(&net, a), 0);
    assert_eq!(connected(&net, b), 0);
    let id = key(0).public_key().node_id();
    let now = net.now;
    assert!(net.node(a).is_banned(&id, now));
}

#[test]
fn simultaneous_dials_leave_one_connection_on_both_sides() {
    for (x, y) in [(0, 1), (1, 0), (5, 2)] {
        let mut net = Net::new();
        let a = net.add(relayer(x).static_node(enode(y)).build().unwrap());
        let b = net.add(relayer(y).static_node(enode(x)).build().unwrap());
        net.run_for(secs(5));
        assert_eq!(connected(&net, a), 1, "{x} {y}");
        assert_eq!(connected(&net, b), 1, "{x} {y}");
        assert_eq!(net.node(a).connection_count(), 1);
        assert_eq!(net.node(b).connection_count(), 1);
        let dup = net.node(a).stats().duplicates + net.node(b).stats().duplicates;
        assert!(dup >= 1, "both dialled: one connection lost on some side");
        // It stays that way.
        net.run_for(secs(60));
        assert_eq!(net.node(a).connection_count(), 1);
        let topic = Topic::from_name("dup");
        subscribe(&mut net, b, topic);
        net.run_for(secs(1));
        post(&mut net, a, topic, b"once");
        net.run_for(secs(2));
        assert_eq!(net.messages(b), [b"once".to_vec()]);
    }
}

#[test]
fn max_peers_bounds_established_connections() {
    let mut net = Net::new();
    let hub = net.add(relayer(0).max_peers(2).build().unwrap());
    for i in 1..=5 {
        net.add(relayer(i).static_node(enode(0)).build().unwrap());
    }
    net.run_for(secs(30));
    assert_eq!(connected(&net, hub), 2);
    assert!(net.node(hub).stats().too_many_peers >= 3);
}

#[test]
fn garbage_before_the_handshake_closes_the_connection_without_an_event() {
    let mut net = Net::new();
    let n = net.add(relayer(0).build().unwrap());
    let now = net.now;
    let conn = net.node(n).accept(now, addr(50)).unwrap();
    net.raw_send(n, conn, &[0; 400]);
    let mut closed = false;
    while let Some(o) = net.node(n).poll_output() {
        closed |= matches!(o, status_node::Output::Close { conn: c } if c == conn);
    }
    assert!(closed);
    assert_eq!(net.node(n).connection_count(), 0);
    assert!(net.take_events(n).is_empty());
    let again = net
        .node(n)
        .handle_input(now, Input::Received { conn, data: b"x" });
    assert_eq!(again, Err(Error::UnknownConnection(conn)));
}

#[test]
fn a_corrupted_frame_ends_the_session_with_a_typed_cause_and_keeps_the_peer_off() {
    let mut net = Net::new();
    let b = net.add(relayer(1).build().unwrap());
    let a = net.add(relayer(0).static_node(enode(1)).build().unwrap());
    assert!(net.run_until(secs(5), |n| connected(n, b) == 1));
    net.take_events(b);
    let conn = net.node(a).peers()[0].conn;
    net.corrupt = Some((a, conn));
    let topic = Topic::from_name("t");
    post(&mut net, a, topic, b"x");
    net.run_for(secs(1));
    let causes: Vec<Cause> = net
        .take_events(b)
        .into_iter()
        .filter_map(|e| match e {
            Event::PeerDisconnected { cause, .. } => Some(cause),
            _ => None,
        })
        .collect();
    assert!(matches!(causes.as_slice(), [Cause::Rlpx(_)]), "{causes:?}");
    assert!(causes[0].is_misbehaviour());
    // a redials (static), but b keeps it off.
    net.run_for(secs(120));
    assert_eq!(connected(&net, b), 0);
    assert!(net.node(b).stats().refused_banned >= 1);
}

#[test]
fn a_peer_that_never_finishes_the_handshake_is_cut_off_at_its_deadline() {
    let mut net = Net::new();
    let n = net.add(relayer(0).build().unwrap());
    let r = net.add_raw(Raw::new(key(7), Behaviour::Mute), None);
    let conn = net.raw_dial(r, n).unwrap();
    assert_eq!(net.node(n).connection_count(), 1);
    let (deadline, why) = net.node(n).poll_timeout().unwrap();
    assert_eq!(why, "handshake");
    assert_eq!(deadline, T0 + secs(5));
    net.run_for(secs(6));
    assert_eq!(net.node(n).connection_count(), 0);
    assert!(net.raws[r].closed);
    let _ = conn;
}

#[test]
fn inbound_handshakes_are_bounded() {
    let mut net = Net::new();
    let mut config = relayer(0).build().unwrap();
    config.max_pending_inbound = 3;
    let n = net.add(config);
    let now = net.now;
    for _ in 0..3 {
        net.node(n).accept(now, addr(60)).unwrap();
    }
    assert_eq!(
        net.node(n).accept(now, addr(60)),
        Err(Error::TooManyPending { max: 3 })
    );
    assert_eq!(net.node(n).stats().refused, 1);
}

#[test]
fn a_flooding_peer_is_dropped_for_its_rate_and_kept_off() {
    let mut net = Net::new();
    let mut config = relayer(0).build().unwrap();
    config.waku.packet_rate_limits = RateLimits {
        ip: 0,
        peer_id: 20,
        topic: 0,
    };
    config.waku.rate_limit_tolerance = 2;
    let n = net.add(config);
    let honest = net.add(relayer(1).static_node(enode(0)).build().unwrap());
    let r = net.add_raw(Raw::new(key(7), Behaviour::Passive), None);
    let conn = net.raw_dial(r, n).unwrap();
    assert!(net.run_until(secs(5), |x| connected(x, n) == 2));
    // The raw peer ignores the advertised limits: 200 packets at once.
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
    let topic = Topic::from_name("flood");
    for i in 0..200u32 {
        let body = i.to_be_bytes();
        let params = MessageParams::new(&body, Encryption::Symmetric(&CHAT_KEY), topic);
        let env = wrap(&mut rng, &params, net.now).unwrap();
        let mut payload = Vec::new();
        status_waku::packet::encode_envelopes(&[env], &mut payload);
        let s = net.raws[r].session.as_mut().unwrap();
        if s.send("waku", code::MESSAGES, &payload).is_err() {
            break;
        }
    }
    net.settle();
    let cause = net.events[n].iter().find_map(|e| match e {
        Event::PeerDisconnected { cause, node_id, .. }
            if *node_id == key(7).public_key().node_id() =>
        {
            Some(cause.clone())
        }
        _ => None,
    });
    assert_eq!(cause, Some(Cause::Waku(DropReason::RateLimited)));
    assert!(net.raws[r].closed);
    // The honest peer keeps working.
    assert_eq!(connected(&net, n), 1);
    subscribe(&mut net, honest, Topic::from_name("ok"));
    net.run_for(secs(1));
    post(&mut net, n, Topic::from_name("ok"), b"still here");
    net.run_for(secs(1));
    assert_eq!(net.messages(honest), [b"still here".to_vec()]);
    // Kept off: the flooder comes back and is refused after Hello.
    let now = net.now;
    assert!(net.node(n).is_banned(&key(7).public_key().node_id(), now));
    let _ = conn;
}

#[test]
fn a_peer_whose_waku_status_is_garbage_is_dropped_as_misbehaving() {
    let mut net = Net::new();
    let n = net.add(relayer(0).build().unwrap());
    let r = net.add_raw(Raw::new(key(7), Behaviour::Mute), None);
    // A session without a Waku machine: the raw side speaks RLPx only.
    net.raws[r].session = None;
    let conn = net.raw_dial(r, n).unwrap();
    net.raws[r].session = Some(status_rlpx::session::Session::initiator(
        waku_caps(),
        key(7),
        key(0).public_key(),
        net.now,
        [1; 32],
    ));
    net.settle();
    let s = net.raws[r].session.as_mut().unwrap();
    assert!(s.is_established());
    s.send("waku", code::STATUS, &[0xff]).unwrap();
    net.settle();
    assert!(net.raws[r].closed);
    let now = net.now;
    assert!(net.node(n).is_banned(&key(7).public_key().node_id(), now));
    let _ = conn;
}

#[test]
fn a_restarted_peer_rejoins_through_its_static_node() {
    let mut net = Net::new();
    let b = net.add(relayer(1).build().unwrap());
    let a = net.add(relayer(0).static_node(enode(1)).build().unwrap());
    assert!(net.run_until(secs(5), |n| connected(n, a) == 1));
    net.kill(b);
    net.settle();
    assert_eq!(connected(&net, a), 0);
    let down = net.take_events(a).into_iter().any(|e| {
        matches!(
            e,
            Event::PeerDisconnected {
                cause: Cause::SocketClosed,
                ..
            }
        )
    });
    assert!(down);
    net.run_for(secs(20));
    net.restart(b, relayer(1).build().unwrap(), [77; 32]);
    assert!(net.run_until(secs(15 * 60), |n| connected(n, a) == 1
        && connected(n, b) == 1));
    let topic = Topic::from_name("back");
    subscribe(&mut net, b, topic);
    net.run_for(secs(1));
    post(&mut net, a, topic, b"welcome back");
    net.run_for(secs(1));
    assert_eq!(net.messages(b), [b"welcome back".to_vec()]);
}

#[test]
fn static_peers_can_be_added_and_removed_at_run_time() {
    let mut net = Net::new();
    let b = net.add(relayer(1).build().unwrap());
    let a = net.add(relayer(0).build().unwrap());
    net.run_for(secs(1));
    assert_eq!(connected(&net, a), 0);
    let now = net.now;
    net.node(a).add_static_peer(now, enode(1)).unwrap();
    assert!(net.run_until(secs(5), |n| connected(n, a) == 1));
    let now = net.now;
    let id = key(1).public_key().node_id();
    assert_eq!(net.node(a).remove_static_peer(now, &id), Ok(true));
    net.run_for(secs(600));
    assert_eq!(connected(&net, a), 0);
    assert_eq!(connected(&net, b), 0);
}

#[test]
fn shutdown_says_goodbye_to_every_peer() {
    let mut net = Net::new();
    let hub = net.add(relayer(0).build().unwrap());
    for i in 1..=3 {
        net.add(relayer(i).static_node(enode(0)).build().unwrap());
    }
    assert!(net.run_until(secs(5), |n| connected(n, hub) == 3));
    let now = net.now;
    net.node(hub).shutdown(now);
    net.settle();
    assert!(net.node(hub).is_shut_down());
    for i in 1..=3 {
        let goodbye = net.events[i].iter().any(|e| {
            matches!(
                e,
                Event::PeerDisconnected {
                    cause: Cause::Disconnect {
                        reason: DisconnectReason::ClientQuitting,
                        by_peer: true
                    },
                    ..
                }
            )
        });
        assert!(goodbye, "node {i}");
    }
    assert_eq!(net.node(hub).accept(now, addr(5)), Err(Error::ShuttingDown));
}

fn archive(topic: Topic, n: usize, now: u32) -> Vec<Envelope> {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
    (0..n)
        .map(|i| {
            let text = format!("old {i}");
            let params =
                MessageParams::new(text.as_bytes(), Encryption::Symmetric(&CHAT_KEY), topic);
            wrap(
                &mut rng,
                &params,
                status_core::Timestamp::from_secs(u64::from(now) - 3600 + i as u64),
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn history_is_paged_with_the_cursor_until_complete() {
    let mut net = Net::new();
    let topic = Topic::from_name("history");
    let mut ms = Raw::new(key(50), Behaviour::Mailserver { page: 3 });
    ms.archive = archive(topic, 7, T0.as_secs() as u32);
    net.add_raw(ms, Some(addr(50)));
    let c = net.add(
        relayer(0)
            .light()
            .mailserver_client(vec![enode(50)])
            .build()
            .unwrap(),
    );
    subscribe(&mut net, c, topic);
    let now = net.now;
    let req = net
        .node(c)
        .request_history(
            now,
            HistoryRequest {
                topics: vec![topic],
                from: T0.as_secs() as u32 - 7200,
                to: T0.as_secs() as u32,
            },
        )
        .unwrap();
    net.run_for(secs(5));
    let events = net.take_events(c);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::MailserverAvailable { .. })));
    let payloads: Vec<Vec<u8>> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) if m.p2p => Some(m.message.payload().to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(payloads.len(), 7);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::HistoryComplete { request, pages: 3 } if *request == req)));
    // progress after every page but the last, in order
    let progress: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::HistoryPage { request, pages } if *request == req => Some(*pages),
            _ => None,
        })
        .collect();
    assert_eq!(progress, [1, 2]);
    assert_eq!(net.raws[0].requests, 3);
}

#[test]
fn a_mailserver_that_does_not_answer_is_replaced_by_another() {
    let mut net = Net::new();
    let topic = Topic::from_name("history");
    let silent = Raw::new(key(50), Behaviour::SilentMailserver);
    let mut good = Raw::new(key(51), Behaviour::Mailserver { page: 10 });
    good.archive = archive(topic, 2, T0.as_secs() as u32);
    net.add_raw(silent, Some(addr(50)));
    net.add_raw(good, Some(addr(51)));
    // Whichever the pool picks first, the request ends at the good one.
    let c = net.add(
        relayer(0)
            .light()
            .mailserver_client(vec![enode(50), enode(51)])
            .build()
            .unwrap(),
    );
    subscribe(&mut net, c, topic);
    let now = net.now;
    let req = net
        .node(c)
        .request_history(
            now,
            HistoryRequest {
                topics: vec![topic],
                from: 0,
                to: T0.as_secs() as u32,
            },
        )
        .unwrap();
    assert!(net.run_until(secs(120), |n| n.events[c].iter().any(
        |e| matches!(e, Event::HistoryComplete { request, .. } if *request == req)
    )));
    assert_eq!(net.messages(c).len(), 2);
    assert_eq!(net.raws[1].requests, 1);
}

#[test]
fn history_fails_after_every_attempt_timed_out() {
    let mut net = Net::new();
    net.add_raw(
        Raw::new(key(50), Behaviour::SilentMailserver),
        Some(addr(50)),
    );
    let c = net.add(
        relayer(0)
            .light()
            .mailserver_client(vec![enode(50)])
            .build()
            .unwrap(),
    );
    let now = net.now;
    let req = net
        .node(c)
        .request_history(
            now,
            HistoryRequest {
                topics: vec![Topic([1, 2, 3, 4])],
                from: 0,
                to: 1,
            },
        )
        .unwrap();
    assert!(net.run_until(secs(30 * 60), |n| {
        n.events[c].iter().any(|e| matches!(
        e,
        Event::HistoryFailed { request, error: status_node::HistoryError::Timeout { attempts: 3 } }
            if *request == req
    ))
    }));
    assert!(net.raws[0].requests >= 3);
}

#[test]
fn a_history_request_without_the_role_is_refused() {
    let mut net = Net::new();
    let n = net.add(relayer(0).build().unwrap());
    let now = net.now;
    let r = net.node(n).request_history(
        now,
        HistoryRequest {
            topics: vec![],
            from: 0,
            to: 1,
        },
    );
    assert_eq!(r, Err(Error::NoMailserverClient));
}

#[test]
fn the_same_seeds_replay_the_same_outputs_byte_for_byte() {
    let run = |salt: u8| {
        let mut net = Net::new();
        net.record_trace = true;
        let topic = Topic::from_name("replay");
        net.add_seeded(relayer(1).build().unwrap(), [salt; 32]);
        net.add_seeded(relayer(0).static_node(enode(1)).build().unwrap(), [2; 32]);
        net.add_seeded(relayer(2).static_node(enode(1)).build().unwrap(), [3; 32]);
        subscribe(&mut net, 2, topic);
        net.run_for(secs(2));
        post(&mut net, 1, topic, b"same");
        net.run_for(secs(30));
        net.trace
    };
    let (a, b, c) = (run(1), run(1), run(9));
    assert!(a.len() > 20);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn our_status_tells_peers_what_we_are() {
    // A light node announces light mode and its topic list, a relayer the
    // full bloom (what status-go peers route on).
    let mut net = Net::new();
    let r = net.add_raw(Raw::new(key(7), Behaviour::Passive), Some(addr(7)));
    let n = net.add(relayer(0).light().static_node(enode(7)).build().unwrap());
    let topic = Topic::from_name("x");
    subscribe(&mut net, n, topic);
    net.run_for(secs(2));
    let peer = net.raws[r].peer.unwrap();
    let view = net.raws[r].waku.peer_view(peer).unwrap().clone();
    assert!(view.light_node);
    assert_eq!(view.topic_interest, Some(vec![topic]));
    let _ = StatusOptions::default();
}

#[test]
fn fleet_lists_become_static_nodes_and_mailservers() {
    let json = format!(
        r#"{{"ClusterConfig": {{"StaticNodes": ["{}"], "BootNodes": ["{}"], "TrustedMailServers": ["{}"]}}}}"#,
        enode(1),
        enode(2),
        enode(3)
    );
    let fleet = status_node::Fleet::from_json(&json).unwrap();
    let config = Config::builder(key(0))
        .fleet(&fleet)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        config.peer_pool.topics[0].static_nodes,
        [enode(1), enode(2)]
    );
    assert_eq!(
        config.mailserver_client.as_ref().unwrap().mailservers,
        [enode(3)]
    );
    assert_eq!(config.peer_pool.topics[1].name, "whispermail");
}

#[test]
fn rendezvous_registers_us_and_finds_peers_for_the_pool() {
    use status_discovery::rendezvous::{Message, Status};
    let mut net = Net::new();
    let b = net.add(relayer(1).build().unwrap());
    let b_enr = status_discovery::Enr::builder()
        .ip(addr(1).ip())
        .tcp(addr(1).port())
        .sign(&key(1))
        .unwrap();
    let registered = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = registered.clone();
    net.rendezvous = Some(Box::new(move |bytes: &[u8]| {
        let answer = match Message::decode(bytes).ok()? {
            Message::Register { topic, record, .. } => {
                seen.borrow_mut().push((topic, record));
                Message::RegisterResponse {
                    status: Status::Ok,
                    message: String::new(),
                }
            }
            Message::Discover { .. } => Message::DiscoverResponse {
                status: Status::Ok,
                message: String::new(),
                records: vec![b_enr.clone()],
            },
            _ => return None,
        };
        Some(answer.to_bytes())
    }));
    // A relayer with discv5 (so it has a record) and a rendezvous server.
    let a = net.add(
        relayer(0)
            .discv5_addr(addr(0))
            .rendezvous_node("/ip4/127.0.0.1/tcp/30703/ethv4/16Uiu2HAm")
            .build()
            .unwrap(),
    );
    assert!(net.run_until(secs(10), |n| connected(n, a) == 1 && connected(n, b) == 1));
    assert!(!net.rendezvous_requests.is_empty());
    // It registered its own record under "whisper".
    let regs = registered.borrow();
    assert!(regs.iter().any(|(t, r)| t == "whisper"
        && r.node_id()
            == net.nodes[a]
                .as_ref()
                .unwrap()
                .local_enr()
                .unwrap()
                .node_id()));
}
