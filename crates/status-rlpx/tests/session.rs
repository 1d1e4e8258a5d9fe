//! The session machine against the RLPx spec (devp2p rlpx.md, "Capability
//! Messaging" and "p2p Capability") and go-ethereum v1.9.5's behaviour where
//! the spec is silent. One test per requirement, named after it.
//!
//! Two sessions run in a [`Pair`] on a virtual clock; misbehaviour a session
//! never produces comes from a [`RawPeer`] that drives the handshake and the
//! frame codec by hand.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use rand_chacha::rand_core::SeedableRng;
use status_rlpx::frame::frame_len;
use status_rlpx::handshake::{AuthFormat, Initiator};
use status_rlpx::p2p::{self, Capability, DisconnectReason, SharedCapability};
use status_rlpx::session::{Config, Event, Session};
use status_rlpx::Error;

fn messages(events: &[Event]) -> Vec<(usize, u64, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message { cap, code, payload } => Some((*cap, *code, payload.to_vec())),
            _ => None,
        })
        .collect()
}

fn no_snappy(list: &[&str]) -> Config {
    Config {
        snappy: false,
        ..config(list)
    }
}

// ---- establishing ------------------------------------------------------------

#[test]
fn both_sides_get_established_with_each_others_hello_and_the_same_shared_capabilities() {
    let mut pair = Pair::speaking(&["waku/1"]);
    pair.drive();
    let (a_hello, a_shared) = match &pair.a_events[..] {
        [Event::Established { hello, shared }] => (hello.clone(), shared.clone()),
        other => panic!("{other:?}"),
    };
    let (b_hello, b_shared) = match &pair.b_events[..] {
        [Event::Established { hello, shared }] => (hello.clone(), shared.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(a_hello.node_id, pair.b_key.public_key().node_id());
    assert_eq!(b_hello.node_id, pair.a_key.public_key().node_id());
    assert_eq!(a_hello.protocol_version, p2p::BASE_PROTOCOL_VERSION);
    assert_eq!(a_hello.client_id, "status-rs-test");
    assert_eq!(a_hello.capabilities, vec![Capability::new("waku", 1)]);
    assert_eq!(a_shared, b_shared);
    assert_eq!(pair.a.shared_capabilities(), &a_shared[..]);
    assert_eq!(pair.b.shared_capabilities(), &b_shared[..]);
    assert_eq!(pair.a.remote(), Some(&pair.b_key.public_key()));
    assert_eq!(pair.b.remote(), Some(&pair.a_key.public_key()));
    assert!(pair.a_errors.is_empty() && pair.b_errors.is_empty());
}

#[test]
fn shared_capabilities_get_message_ids_from_0x10_in_name_order() {
    // Listed in a different order on each side: offsets follow the names.
    let mut pair = Pair::new(
        config(&["waku/1", "shh/6"]),
        config(&["shh/6", "waku/1", "les/2"]),
    );
    pair.drive();
    let expected = [
        SharedCapability {
            cap: Capability::new("shh", 6),
            offset: 0x10,
            length: 128,
        },
        SharedCapability {
            cap: Capability::new("waku", 1),
            offset: 0x90,
            length: 128,
        },
    ];
    assert_eq!(pair.a.shared_capabilities(), &expected[..]);
    assert_eq!(pair.b.shared_capabilities(), &expected[..]);
}

#[test]
fn only_the_highest_shared_version_of_a_capability_is_used() {
    let mut pair = Pair::new(config(&["waku/0", "waku/1"]), config(&["waku/1", "waku/0"]));
    pair.drive();
    let shared = pair.a.shared_capabilities();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].cap, Capability::new("waku", 1));
    assert_eq!(pair.b.shared_capabilities(), shared);
}

#[test]
fn session_is_established_whatever_the_read_sizes() {
    for chunk in [1, 2, 7, 16, 31, 32, 33, 100, 1000] {
        let mut pair = Pair::speaking(&["waku/1"]).chunked(chunk);
        pair.drive();
        assert!(
            pair.a.is_established() && pair.b.is_established(),
            "chunk {chunk}"
        );
        pair.a
            .send("waku", 1, &payload(chunk as u64, 3000))
            .unwrap();
        pair.b.send("waku", 2, b"\xc0").unwrap();
        pair.drive();
        assert_eq!(
            messages(&pair.b_events),
            vec![(0, 1, payload(chunk as u64, 3000))]
        );
        assert_eq!(messages(&pair.a_events), vec![(0, 2, b"\xc0".to_vec())]);
    }
}

#[test]
fn legacy_pre_eip8_handshake_works_end_to_end() {
    let a_config = Config {
        auth_format: AuthFormat::Legacy,
        ..config(&["waku/1"])
    };
    for chunk in [usize::MAX, 1] {
        let mut pair = Pair::new(a_config.clone(), config(&["waku/1"])).chunked(chunk);
        // The legacy auth has its fixed size.
        assert_eq!(
            pair.a.pending_transmit(),
            status_rlpx::handshake::LEGACY_AUTH_LEN
        );
        pair.drive();
        assert!(pair.a.is_established() && pair.b.is_established());
        pair.a.send("waku", 1, b"hello").unwrap();
        pair.b.send("waku", 1, b"world").unwrap();
        pair.drive();
        assert_eq!(messages(&pair.b_events), vec![(0, 1, b"hello".to_vec())]);
        assert_eq!(messages(&pair.a_events), vec![(0, 1, b"world".to_vec())]);
    }
}

#[test]
fn recipient_answers_in_the_format_it_was_spoken_to() {
    for format in [AuthFormat::Legacy, AuthFormat::Eip8] {
        let mut b = Session::recipient(Arc::new(config(&["waku/1"])), key(0x0b), T0, [1; 32]);
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
        let dialer = Initiator::new(&mut rng, key(0x0c), key(0x0b).public_key(), format);
        b.handle_input(T0, dialer.auth_packet()).unwrap();
        let mut wire = Vec::new();
        b.poll_transmit(&mut wire);
        let (done, used) = dialer.handle_ack(&wire).unwrap().unwrap();
        assert_eq!(done.format, format);
        if format == AuthFormat::Legacy {
            assert_eq!(used, status_rlpx::handshake::LEGACY_ACK_LEN);
        }
        // Hello follows the ack.
        assert!(wire.len() > used);
    }
}

// ---- capability messages -------------------------------------------------------

#[test]
fn capability_messages_flow_both_ways_with_relative_codes() {
    let mut pair = Pair::established(config(&["shh/6", "waku/1"]), config(&["waku/1", "shh/6"]));
    pair.a.send("waku", 0, b"\xc1\x01").unwrap();
    pair.a.send("shh", 127, b"\xc1\x02").unwrap();
    pair.b.send("waku", 1, b"\xc1\x03").unwrap();
    pair.b.send("shh", 0, b"").unwrap();
    pair.drive();
    // shh is capability 0, waku 1 (name order).
    assert_eq!(
        messages(&pair.b_events),
        vec![(1, 0, b"\xc1\x01".to_vec()), (0, 127, b"\xc1\x02".to_vec())]
    );
    assert_eq!(
        messages(&pair.a_events),
        vec![(1, 1, b"\xc1\x03".to_vec()), (0, 0, Vec::new())]
    );
}

#[test]
fn sent_message_id_is_the_capability_offset_plus_the_relative_code() {
    let (mut session, mut peer) =
        raw_established(config(&["waku/1", "shh/6"]), &["shh/6", "waku/1"]);
    session.send("waku", 1, b"\xc0").unwrap();
    session.send("shh", 1, b"\xc0").unwrap();
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames,
        vec![(0x91, b"\xc0".to_vec()), (0x11, b"\xc0".to_vec())]
    );
}

#[test]
fn message_id_past_every_capability_closes_with_subprotocol_error() {
    let (mut session, mut peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    let frame = peer.frame(0x10 + 128, b"\xc0");
    assert_eq!(
        session.handle_input(T0, &frame),
        Err(Error::UnknownMessageCode(0x90))
    );
    assert!(session.is_closed());
    let (reason, by_peer, error) = only_closed(&drain_events(&mut session));
    assert_eq!(reason, DisconnectReason::SubprotocolError);
    assert!(!by_peer);
    assert_eq!(error, Some(Error::UnknownMessageCode(0x90)));
    // The peer is told why.
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames,
        vec![(
            p2p::DISCONNECT,
            p2p::encode_disconnect(DisconnectReason::SubprotocolError)
        )]
    );
}

#[test]
fn reserved_base_protocol_ids_are_ignored() {
    let (mut session, mut peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    for code in 0x04..0x10 {
        let frame = peer.frame(code, b"\xc0");
        session.handle_input(T0, &frame).unwrap();
    }
    let frame = peer.frame(0x11, b"\xc0");
    session.handle_input(T0, &frame).unwrap();
    assert_eq!(
        messages(&drain_events(&mut session)),
        vec![(0, 1, b"\xc0".to_vec())]
    );
    assert!(session.is_established());
}

// ---- snappy (EIP-706) ------------------------------------------------------------

/// Wire bytes `send` queues for a payload of zeros.
fn wire_size_of_zeros(pair: &mut Pair, side: Side, len: usize) -> usize {
    let session = pair.session(side);
    let before = session.pending_transmit();
    session.send("waku", 1, &vec![0u8; len]).unwrap();
    session.pending_transmit() - before
}

#[test]
fn snappy_is_on_after_hello_when_both_sides_announce_v5() {
    let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
    for side in [Side::A, Side::B] {
        assert!(wire_size_of_zeros(&mut pair, side, 65536) < 4096);
    }
    pair.drive();
    assert_eq!(messages(&pair.a_events), vec![(0, 1, vec![0; 65536])]);
    assert_eq!(messages(&pair.b_events), vec![(0, 1, vec![0; 65536])]);
}

#[test]
fn snappy_is_off_when_one_side_announces_v4() {
    for (a_snappy, b_snappy) in [(false, true), (true, false), (false, false)] {
        let a_config = Config {
            snappy: a_snappy,
            ..config(&["waku/1"])
        };
        let b_config = Config {
            snappy: b_snappy,
            ..config(&["waku/1"])
        };
        let mut pair = Pair::new(a_config, b_config);
        pair.drive();
        let version = |events: &[Event]| match events {
            [Event::Established { hello, .. }] => hello.protocol_version,
            other => panic!("{other:?}"),
        };
        // Whoever is configured without snappy announces p2p v4.
        assert_eq!(version(&pair.b_events), if a_snappy { 5 } else { 4 });
        assert_eq!(version(&pair.a_events), if b_snappy { 5 } else { 4 });
        pair.a_events.clear();
        pair.b_events.clear();
        for side in [Side::A, Side::B] {
            assert!(wire_size_of_zeros(&mut pair, side, 65536) > 65536);
        }
        pair.drive();
        assert_eq!(messages(&pair.a_events), vec![(0, 1, vec![0; 65536])]);
        assert_eq!(messages(&pair.b_events), vec![(0, 1, vec![0; 65536])]);
    }
}

#[test]
fn one_mebibyte_message_passes_with_and_without_snappy() {
    let big = payload(7, 1 << 20);
    for snappy in [true, false] {
        for chunk in [usize::MAX, 4096] {
            let c = Config {
                snappy,
                ..config(&["waku/1"])
            };
            let mut pair = Pair::established(c.clone(), c).chunked(chunk);
            pair.a.send("waku", 1, &big).unwrap();
            pair.b.send("waku", 2, &big).unwrap();
            pair.drive();
            assert_eq!(messages(&pair.b_events), vec![(0, 1, big.clone())]);
            assert_eq!(messages(&pair.a_events), vec![(0, 2, big.clone())]);
        }
    }
}

// ---- ping / pong -----------------------------------------------------------------

#[test]
fn ping_is_answered_with_pong_and_rtt_is_the_time_elapsed() {
    let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
    pair.a.ping(pair.now);
    // 150 ms pass while the Ping and its Pong are in flight.
    pair.advance(Duration::from_millis(150));
    pair.drive();
    assert_eq!(
        pair.a_events,
        vec![Event::Pong {
            rtt: Duration::from_millis(150)
        }]
    );
    // The pinged side reports nothing: answering is the session's job.
    assert!(pair.b_events.is_empty());
}

#[test]
fn session_pings_by_itself_after_ping_interval() {
    let c = Config {
        ping_interval: Duration::from_secs(15),
        ..config(&["waku/1"])
    };
    let mut pair = Pair::established(c.clone(), c);
    let start = pair.now;
    assert_eq!(
        pair.a.poll_timeout(),
        Some((start + Duration::from_secs(15), "ping"))
    );
    assert_eq!(pair.advance_to_next_timeout(), Some("ping"));
    assert_eq!(pair.now, start + Duration::from_secs(15));
    // Both pinged (same interval), both were answered at once.
    assert_eq!(
        pair.a_events,
        vec![Event::Pong {
            rtt: Duration::ZERO
        }]
    );
    assert_eq!(
        pair.b_events,
        vec![Event::Pong {
            rtt: Duration::ZERO
        }]
    );
    // And the next ping is due one interval later.
    assert_eq!(
        pair.a.poll_timeout(),
        Some((start + Duration::from_secs(30), "ping"))
    );
}

#[test]
fn no_pong_within_ping_timeout_closes_with_ping_timeout() {
    let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
    let start = pair.now;
    pair.drop_link();
    assert_eq!(pair.advance_to_next_timeout(), Some("ping"));
    assert!(pair.a.is_established());
    assert_eq!(
        pair.a.poll_timeout(),
        Some((start + Duration::from_secs(15 + 20), "pong"))
    );
    // A moment before the deadline nothing happens.
    pair.advance(Duration::from_secs(20) - Duration::from_millis(1));
    assert!(pair.a.is_established());
    let written = (pair.ab.total, pair.ba.total);
    assert_eq!(pair.advance_to_next_timeout(), Some("pong"));
    for side in [Side::A, Side::B] {
        let (reason, by_peer, error) = pair.closed(side);
        assert_eq!(reason, DisconnectReason::PingTimeout);
        assert!(!by_peer);
        assert_eq!(error, Some(Error::Timeout("pong")));
    }
    // Each tried to say goodbye (the link being down, nobody heard it).
    assert!(pair.ab.total > written.0 && pair.ba.total > written.1);
}

#[test]
fn ping_timeout_sends_disconnect_with_ping_timeout_reason() {
    let (mut session, mut peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    session.ping(T0);
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(frames, vec![(p2p::PING, p2p::PING_PAYLOAD.to_vec())]);
    let (deadline, why) = session.poll_timeout().unwrap();
    assert_eq!(why, "pong");
    session.handle_timeout(deadline);
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames,
        vec![(
            p2p::DISCONNECT,
            p2p::encode_disconnect(DisconnectReason::PingTimeout)
        )]
    );
}

#[test]
fn repeated_ping_does_not_postpone_the_pong_deadline() {
    let (mut session, _peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    session.ping(T0);
    let deadline = T0 + Duration::from_secs(20);
    // The application pings again and again; the peer never answers.
    for s in [5, 10, 15, 19] {
        session.ping(T0 + Duration::from_secs(s));
        assert_eq!(session.poll_timeout(), Some((deadline, "pong")), "at {s} s");
    }
    session.handle_timeout(deadline);
    assert!(session.is_closed());
    let (reason, _, error) = only_closed(&drain_events(&mut session));
    assert_eq!(reason, DisconnectReason::PingTimeout);
    assert_eq!(error, Some(Error::Timeout("pong")));
}

#[test]
fn pong_answers_the_outstanding_ping_once() {
    let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
    pair.a.ping(pair.now);
    pair.advance(Duration::from_millis(40));
    pair.a.ping(pair.now); // while the first is outstanding
    pair.advance(Duration::from_millis(60));
    pair.drive();
    // The first Ping's Pong measures from the first Ping.
    assert_eq!(
        pair.a_events,
        vec![Event::Pong {
            rtt: Duration::from_millis(100)
        }]
    );
}

#[test]
fn unsolicited_pong_is_ignored() {
    let (mut session, mut peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    let frame = peer.frame(p2p::PONG, &p2p::PING_PAYLOAD);
    session.handle_input(T0, &frame).unwrap();
    assert_eq!(session.poll_event(), None);
    assert!(session.is_established());
}

#[test]
fn ping_from_the_peer_is_answered_even_when_the_send_buffer_is_full() {
    let c = Config {
        max_send_buffer: 4096,
        snappy: false,
        ..config(&["waku/1"])
    };
    let (mut session, mut peer) = raw_established(c, &["waku/1"]);
    // The application fills the transmit buffer to the brim...
    while session.send("waku", 1, b"\xc0").is_ok() {}
    assert!(matches!(
        session.send("waku", 1, b"\xc0"),
        Err(Error::SendBufferFull { .. })
    ));
    // ...and the peer pings: that is no fault of the peer's.
    let frame = peer.frame(p2p::PING, &p2p::PING_PAYLOAD);
    assert_eq!(session.handle_input(T0, &frame), Ok(()));
    assert!(session.is_established());
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames.last(),
        Some(&(p2p::PONG, p2p::PING_PAYLOAD.to_vec()))
    );
}

#[test]
fn a_ping_flood_from_a_peer_that_never_reads_stays_bounded() {
    let c = Config {
        max_send_buffer: 4096,
        snappy: false,
        ..config(&["waku/1"])
    };
    let (mut session, mut peer) = raw_established(c, &["waku/1"]);
    // The peer pings ten thousand times and never reads our answers.
    for _ in 0..10_000 {
        let frame = peer.frame(p2p::PING, &p2p::PING_PAYLOAD);
        assert_eq!(session.handle_input(T0, &frame), Ok(()));
    }
    assert!(session.is_established());
    // Pongs stop at twice the send limit (plus the one frame that crossed it).
    assert!(
        session.pending_transmit() <= 2 * 4096 + 64,
        "{} bytes queued",
        session.pending_transmit()
    );
}

#[test]
fn automatic_ping_is_sent_even_when_the_send_buffer_is_full() {
    let c = Config {
        max_send_buffer: 4096,
        ..config(&["waku/1"])
    };
    let (mut session, mut peer) = raw_established(c, &["waku/1"]);
    while session.send("waku", 1, b"\xc0").is_ok() {}
    let (deadline, why) = session.poll_timeout().unwrap();
    assert_eq!(why, "ping");
    session.handle_timeout(deadline);
    // The timer was acted on: the deadline moved on (no busy loop).
    let (next, why) = session.poll_timeout().unwrap();
    assert_eq!(why, "pong");
    assert!(next > deadline);
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames.last(),
        Some(&(p2p::PING, p2p::PING_PAYLOAD.to_vec()))
    );
}

// ---- handshake timeouts ----------------------------------------------------------

#[test]
fn handshake_times_out_when_the_peer_never_answers() {
    let mut a = Session::initiator(
        Arc::new(config(&["waku/1"])),
        key(0x0a),
        key(0x0b).public_key(),
        T0,
        [1; 32],
    );
    let deadline = T0 + Duration::from_secs(5);
    assert_eq!(a.poll_timeout(), Some((deadline, "handshake")));
    a.handle_timeout(T0 + Duration::from_millis(4999));
    assert!(!a.is_closed());
    assert_eq!(a.poll_event(), None);
    a.handle_timeout(deadline);
    assert!(a.is_closed());
    let (reason, by_peer, error) = only_closed(&drain_events(&mut a));
    assert_eq!(error, Some(Error::Timeout("handshake")));
    assert_eq!(reason, DisconnectReason::PingTimeout);
    assert!(!by_peer);
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn handshake_times_out_when_the_recipient_never_receives_auth() {
    let mut b = Session::recipient(Arc::new(config(&["waku/1"])), key(0x0b), T0, [1; 32]);
    assert_eq!(
        b.poll_timeout(),
        Some((T0 + Duration::from_secs(5), "handshake"))
    );
    b.handle_input(T0, &[0x01; 100]).unwrap(); // a partial auth: no progress
    b.handle_timeout(T0 + Duration::from_secs(5));
    let (_, _, error) = only_closed(&drain_events(&mut b));
    assert_eq!(error, Some(Error::Timeout("handshake")));
    // Nothing was framed yet: nothing to send.
    assert_eq!(b.pending_transmit(), 0);
}

#[test]
fn handshake_times_out_when_the_peer_never_sends_hello() {
    let (mut session, mut peer, _) = raw_dialer(config(&["waku/1"]));
    assert_eq!(
        session.poll_timeout(),
        Some((T0 + Duration::from_secs(5), "handshake"))
    );
    session.handle_timeout(T0 + Duration::from_secs(5));
    let (_, by_peer, error) = only_closed(&drain_events(&mut session));
    assert_eq!(error, Some(Error::Timeout("handshake")));
    assert!(!by_peer);
    // Framing is up, so the session says goodbye (uncompressed: no Hello
    // was received, so snappy never started).
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, p2p::DISCONNECT);
}

#[test]
fn a_timer_fires_once() {
    let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
    pair.drop_link();
    pair.advance_to_next_timeout(); // ping
    pair.advance_to_next_timeout(); // pong: closed
    assert!(pair.a.is_closed() && pair.b.is_closed());
    assert_eq!(pair.next_timeout(), None);
    // Late or repeated calls change nothing.
    for s in [0, 1, 100] {
        let later = pair.now + Duration::from_secs(s);
        pair.a.handle_timeout(later);
        pair.b.handle_timeout(later);
    }
    pair.drive();
    pair.closed(Side::A);
    pair.closed(Side::B);
}

#[test]
fn handle_timeout_at_the_deadline_always_acts_on_it() {
    // A driver that re-arms its timer from poll_timeout must never find the
    // same deadline still due after handle_timeout (it would spin).
    let check = |session: &mut Session| {
        let (deadline, why) = session.poll_timeout().expect("a deadline");
        session.handle_timeout(deadline);
        if let Some((next, _)) = session.poll_timeout() {
            assert!(next > deadline, "{why} deadline still due");
        }
    };
    // Waiting for the ack; waiting for Hello.
    let mut pair = Pair::speaking(&["waku/1"]);
    check(&mut pair.a);
    let (mut session, _peer, _) = raw_dialer(config(&["waku/1"]));
    check(&mut session);
    // Established: the ping, then its pong.
    let (mut session, _peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    check(&mut session);
    check(&mut session);
    assert!(session.is_closed());
}

// ---- capability negotiation failures ---------------------------------------------

#[test]
fn no_shared_capability_disconnects_with_useless_peer() {
    let mut pair = Pair::new(config(&["waku/1"]), config(&["shh/6"]));
    pair.drive();
    // Each side finds the other useless on its Hello and says so.
    for side in [Side::A, Side::B] {
        let (reason, by_peer, error) = pair.closed(side);
        assert_eq!(reason, DisconnectReason::UselessPeer);
        assert!(!by_peer);
        assert_eq!(error, Some(Error::UselessPeer));
    }
    assert_eq!(pair.a_errors, vec![Error::UselessPeer]);
    assert_eq!(pair.b_errors, vec![Error::UselessPeer]);
}

#[test]
fn useless_peer_disconnect_is_seen_by_the_peer_with_that_reason() {
    // A node without capabilities (a crawler, say) finds nobody useless, as
    // go-ethereum's server with no protocols; its peer finds it useless.
    let mut pair = Pair::new(config(&[]), config(&["waku/1"]));
    pair.drive();
    assert!(matches!(
        &pair.a_events[0],
        Event::Established { shared, .. } if shared.is_empty()
    ));
    assert_eq!(
        pair.closed(Side::A),
        (DisconnectReason::UselessPeer, true, None)
    );
    assert_eq!(
        pair.closed(Side::B),
        (
            DisconnectReason::UselessPeer,
            false,
            Some(Error::UselessPeer)
        )
    );
}

#[test]
fn disconnect_after_rejecting_a_hello_is_compressed_as_the_peer_expects() {
    // The peer announced v5 and got our v5 Hello: it reads everything after
    // Hello through snappy, our Disconnect included.
    let (mut session, mut peer, _) = raw_dialer(config(&["waku/1"]));
    let frame = peer.hello_frame(&hello(&key(0x0c), &["shh/6"], 5));
    assert_eq!(session.handle_input(T0, &frame), Err(Error::UselessPeer));
    peer.snappy();
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames,
        vec![(
            p2p::DISCONNECT,
            p2p::encode_disconnect(DisconnectReason::UselessPeer)
        )]
    );
}

// ---- Hello validation -------------------------------------------------------------

#[test]
fn hello_node_id_other_than_the_handshake_identity_is_unexpected_identity() {
    let (mut session, mut peer, _) = raw_dialer(config(&["waku/1"]));
    // Proved key 0x0c in the handshake, claims key 0x0d in Hello.
    let frame = peer.hello_frame(&hello(&key(0x0d), &["waku/1"], 5));
    assert_eq!(session.handle_input(T0, &frame), Err(Error::NodeIdMismatch));
    let (reason, by_peer, error) = only_closed(&drain_events(&mut session));
    assert_eq!(reason, DisconnectReason::UnexpectedIdentity);
    assert!(!by_peer);
    assert_eq!(error, Some(Error::NodeIdMismatch));
    peer.snappy();
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames,
        vec![(
            p2p::DISCONNECT,
            p2p::encode_disconnect(DisconnectReason::UnexpectedIdentity)
        )]
    );
}

#[test]
fn null_node_id_in_hello_is_invalid_identity() {
    let (mut session, mut peer, _) = raw_dialer(config(&["waku/1"]));
    let mut h = hello(&key(0x0c), &["waku/1"], 5);
    h.node_id = null_node_id();
    let frame = peer.hello_frame(&h);
    assert_eq!(
        session.handle_input(T0, &frame),
        Err(Error::InvalidIdentity)
    );
    let (reason, _, error) = only_closed(&drain_events(&mut session));
    assert_eq!(reason, DisconnectReason::InvalidIdentity);
    assert_eq!(error, Some(Error::InvalidIdentity));
    peer.snappy();
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames,
        vec![(
            p2p::DISCONNECT,
            p2p::encode_disconnect(DisconnectReason::InvalidIdentity)
        )]
    );
}

#[test]
fn hello_from_a_lower_p2p_version_is_accepted_without_snappy() {
    // "Implementations must ignore any difference in protocol version."
    let (mut session, mut peer, _) = raw_dialer(config(&["waku/1"]));
    let frame = peer.hello_frame(&hello(&key(0x0c), &["waku/1"], 3));
    session.handle_input(T0, &frame).unwrap();
    assert!(session.is_established());
    session.send("waku", 1, b"\xc0").unwrap();
    // Uncompressed: the raw peer never turned snappy on.
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(frames, vec![(0x11, b"\xc0".to_vec())]);
}

#[test]
fn hello_extra_list_elements_are_ignored() {
    let (mut session, mut peer, _) = raw_dialer(config(&["waku/1"]));
    let data = hello(&key(0x0c), &["waku/1"], 6).encode();
    // The same list with one more element, as a future version may send.
    let r = rlp::Rlp::new(&data);
    let mut s = rlp::RlpStream::new_list(r.item_count().unwrap() + 1);
    for item in r.iter() {
        s.append_raw(item.as_raw(), 1);
    }
    s.append(&"future");
    let frame = peer.frame(p2p::HELLO, &s.out());
    session.handle_input(T0, &frame).unwrap();
    assert!(session.is_established());
}

#[test]
fn second_hello_is_breach_of_protocol() {
    let (mut session, mut peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    let h = hello(&key(0x0c), &["waku/1"], 5);
    let frame = peer.frame(p2p::HELLO, &h.encode());
    assert_eq!(
        session.handle_input(T0, &frame),
        Err(Error::UnexpectedMessage("second hello"))
    );
    let (reason, _, _) = only_closed(&drain_events(&mut session));
    assert_eq!(reason, DisconnectReason::BreachOfProtocol);
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames,
        vec![(
            p2p::DISCONNECT,
            p2p::encode_disconnect(DisconnectReason::BreachOfProtocol)
        )]
    );
}

#[test]
fn capability_message_before_hello_is_breach_of_protocol() {
    for code in [0x10, p2p::PING, p2p::PONG] {
        let (mut session, mut peer, _) = raw_dialer(config(&["waku/1"]));
        let frame = peer.frame(code, b"\xc0");
        assert_eq!(
            session.handle_input(T0, &frame),
            Err(Error::UnexpectedMessage("message before hello")),
            "code {code:#x}"
        );
        let (reason, _, _) = only_closed(&drain_events(&mut session));
        assert_eq!(reason, DisconnectReason::BreachOfProtocol);
        // No Hello was received: the goodbye is uncompressed.
        let frames = peer.recv_from(&mut session).unwrap();
        assert_eq!(
            frames,
            vec![(
                p2p::DISCONNECT,
                p2p::encode_disconnect(DisconnectReason::BreachOfProtocol)
            )]
        );
    }
}

#[test]
fn malformed_hello_is_breach_of_protocol() {
    let (mut session, mut peer, _) = raw_dialer(config(&["waku/1"]));
    let frame = peer.frame(p2p::HELLO, b"\xc3\x05\x80");
    assert!(matches!(
        session.handle_input(T0, &frame),
        Err(Error::MalformedP2p { which: "hello", .. })
    ));
    let (reason, _, _) = only_closed(&drain_events(&mut session));
    assert_eq!(reason, DisconnectReason::BreachOfProtocol);
}

#[test]
fn disconnect_instead_of_hello_is_reported_with_its_reason() {
    let (mut session, mut peer, _) = raw_dialer(config(&["waku/1"]));
    let frame = peer.frame(
        p2p::DISCONNECT,
        &p2p::encode_disconnect(DisconnectReason::TooManyPeers),
    );
    session.handle_input(T0, &frame).unwrap();
    assert_eq!(
        only_closed(&drain_events(&mut session)),
        (DisconnectReason::TooManyPeers, true, None)
    );
    // Nothing is sent back to a peer that left.
    assert_eq!(peer.recv_from(&mut session).unwrap(), vec![]);
}

// ---- disconnect ----------------------------------------------------------------------

#[test]
fn disconnect_by_one_side_is_seen_by_the_other_with_its_reason() {
    for reason in [
        DisconnectReason::Requested,
        DisconnectReason::ClientQuitting,
        DisconnectReason::TooManyPeers,
        DisconnectReason::SubprotocolError,
        DisconnectReason::Other(0x42),
    ] {
        let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
        pair.b.disconnect(reason);
        assert!(pair.b.is_closed());
        pair.drive();
        assert_eq!(pair.closed(Side::B), (reason, false, None));
        assert_eq!(pair.closed(Side::A), (reason, true, None));
        assert_eq!(pair.next_timeout(), None);
    }
}

#[test]
fn messages_sent_before_disconnect_arrive_before_it() {
    let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
    pair.a.send("waku", 1, b"last words").unwrap();
    pair.a.disconnect(DisconnectReason::ClientQuitting);
    pair.drive();
    assert_eq!(
        messages(&pair.b_events),
        vec![(0, 1, b"last words".to_vec())]
    );
    assert_eq!(
        pair.closed(Side::B),
        (DisconnectReason::ClientQuitting, true, None)
    );
}

#[test]
fn disconnect_during_the_handshake_closes_without_sending() {
    let mut pair = Pair::speaking(&["waku/1"]);
    pair.a.disconnect(DisconnectReason::Requested);
    let mut sink = Vec::new();
    pair.a.poll_transmit(&mut sink); // the auth, already queued
    pair.a.disconnect(DisconnectReason::Requested); // twice: no second event
    assert_eq!(pair.a.pending_transmit(), 0);
    let (reason, by_peer, error) = only_closed(&drain_events(&mut pair.a));
    assert_eq!(
        (reason, by_peer, error),
        (DisconnectReason::Requested, false, None)
    );
}

#[test]
fn disconnect_is_sent_even_when_the_send_buffer_is_full() {
    let c = Config {
        max_send_buffer: 4096,
        ..config(&["waku/1"])
    };
    let (mut session, mut peer) = raw_established(c, &["waku/1"]);
    while session.send("waku", 1, b"\xc0").is_ok() {}
    session.disconnect(DisconnectReason::ClientQuitting);
    let frames = peer.recv_from(&mut session).unwrap();
    assert_eq!(
        frames.last(),
        Some(&(
            p2p::DISCONNECT,
            p2p::encode_disconnect(DisconnectReason::ClientQuitting)
        ))
    );
}

// ---- the caller's mistakes ------------------------------------------------------------

#[test]
fn message_over_max_frame_size_is_refused_and_the_session_stays_usable() {
    let c = Config {
        max_frame_size: 1024,
        ..no_snappy(&["waku/1"])
    };
    let mut pair = Pair::established(c.clone(), c);
    assert!(matches!(
        pair.a.send("waku", 1, &[0x80; 1024]),
        Err(Error::FrameTooLarge { max: 1024, .. })
    ));
    assert_eq!(pair.a.pending_transmit(), 0);
    pair.a.send("waku", 1, &[0x80; 1000]).unwrap();
    pair.drive();
    assert_eq!(messages(&pair.b_events), vec![(0, 1, vec![0x80; 1000])]);
}

#[test]
fn send_before_established_is_not_connected() {
    let mut pair = Pair::speaking(&["waku/1"]);
    assert_eq!(pair.a.send("waku", 1, b"\xc0"), Err(Error::NotConnected));
    assert_eq!(pair.b.send("waku", 1, b"\xc0"), Err(Error::NotConnected));
    pair.drive();
    pair.a.send("waku", 1, b"\xc0").unwrap();
}

#[test]
fn send_after_close_is_not_connected() {
    let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
    pair.a.disconnect(DisconnectReason::Requested);
    assert_eq!(pair.a.send("waku", 1, b"\xc0"), Err(Error::NotConnected));
    pair.drive();
    assert_eq!(pair.b.send("waku", 1, b"\xc0"), Err(Error::NotConnected));
}

#[test]
fn send_on_an_unshared_capability_is_refused() {
    let mut pair = Pair::established(config(&["waku/1", "les/2"]), config(&["waku/1"]));
    assert_eq!(
        pair.a.send("les", 0, b"\xc0"),
        Err(Error::CapabilityNotShared("les".into()))
    );
    assert_eq!(pair.a.pending_transmit(), 0);
    pair.a.send("waku", 0, b"\xc0").unwrap();
    pair.drive();
    assert_eq!(messages(&pair.b_events).len(), 1);
}

#[test]
fn code_outside_the_capability_is_refused() {
    let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
    assert_eq!(
        pair.a.send("waku", 128, b"\xc0"),
        Err(Error::CodeOutOfRange {
            code: 128,
            len: 128
        })
    );
    assert_eq!(
        pair.a.send("waku", u64::MAX, b"\xc0"),
        Err(Error::CodeOutOfRange {
            code: u64::MAX,
            len: 128
        })
    );
    pair.a.send("waku", 127, b"\xc0").unwrap();
    pair.drive();
    assert_eq!(messages(&pair.b_events), vec![(0, 127, b"\xc0".to_vec())]);
}

#[test]
fn send_buffer_full_is_refused_and_recovers_once_drained() {
    let c = Config {
        max_send_buffer: 10_000,
        ..no_snappy(&["waku/1"])
    };
    let mut pair = Pair::established(c.clone(), c);
    let mut sent = 0;
    let err = loop {
        match pair.a.send("waku", 1, &[0x80; 1000]) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, Error::SendBufferFull { max: 10_000, .. }),
        "{err:?}"
    );
    assert!(pair.a.is_established());
    pair.drive();
    assert_eq!(messages(&pair.b_events).len(), sent);
    pair.a.send("waku", 1, &[0x80; 1000]).unwrap();
}

#[test]
fn transmit_buffer_never_exceeds_max_send_buffer_through_send() {
    // Frames add a header, MACs and padding to the payload: the limit is on
    // the bytes waiting, not on the payloads.
    let max = 10_000;
    let c = Config {
        max_send_buffer: max,
        ..no_snappy(&["waku/1"])
    };
    let (mut session, _peer) = raw_established(c, &["waku/1"]);
    for len in [1, 100, 999, 1000, 4000] {
        let mut sink = Vec::new();
        session.poll_transmit(&mut sink);
        while session.send("waku", 1, &vec![0x80; len]).is_ok() {
            assert!(
                session.pending_transmit() <= max,
                "{} > {max} with {len}-byte messages",
                session.pending_transmit()
            );
        }
    }
}

#[test]
fn a_message_larger_than_the_send_buffer_still_goes_into_an_empty_buffer() {
    let c = Config {
        max_send_buffer: 1000,
        ..no_snappy(&["waku/1"])
    };
    let mut pair = Pair::established(c.clone(), c);
    pair.a.send("waku", 1, &[0x80; 5000]).unwrap();
    assert_eq!(pair.a.pending_transmit(), frame_len(1 + 5000));
    assert!(matches!(
        pair.a.send("waku", 1, b"\xc0"),
        Err(Error::SendBufferFull { .. })
    ));
    pair.drive();
    assert_eq!(messages(&pair.b_events), vec![(0, 1, vec![0x80; 5000])]);
}

// ---- life after close -----------------------------------------------------------------

#[test]
fn input_after_closed_is_ignored() {
    let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
    pair.a.send("waku", 1, b"\xc0").unwrap();
    let mut wire = Vec::new();
    pair.a.poll_transmit(&mut wire);
    pair.b.disconnect(DisconnectReason::Requested);
    let _ = drain_events(&mut pair.b);
    assert_eq!(pair.b.handle_input(pair.now, &wire), Ok(()));
    assert_eq!(pair.b.handle_input(pair.now, b"garbage"), Ok(()));
    assert_eq!(pair.b.poll_event(), None);
}

#[test]
fn after_an_error_the_session_is_closed_and_emits_exactly_one_closed() {
    let (mut session, mut peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    let frame = peer.frame(0x7777, b"\xc0");
    assert!(session.handle_input(T0, &frame).is_err());
    assert!(session.is_closed());
    assert!(!session.is_established());
    // Whatever comes next adds nothing.
    let more = peer.frame(0x11, b"\xc0");
    assert_eq!(session.handle_input(T0, &more), Ok(()));
    session.handle_timeout(T0 + Duration::from_secs(3600));
    session.disconnect(DisconnectReason::Requested);
    session.ping(T0);
    assert_eq!(session.send("waku", 1, b"\xc0"), Err(Error::NotConnected));
    assert_eq!(session.poll_timeout(), None);
    only_closed(&drain_events(&mut session));
}

#[test]
fn peer_disconnect_followed_by_more_frames_emits_one_closed() {
    let (mut session, mut peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    let mut wire = peer.frame(0x11, b"\xc1\x01");
    wire.extend(peer.frame(
        p2p::DISCONNECT,
        &p2p::encode_disconnect(DisconnectReason::ClientQuitting),
    ));
    wire.extend(peer.frame(0x11, b"\xc1\x02"));
    session.handle_input(T0, &wire).unwrap();
    let events = drain_events(&mut session);
    assert_eq!(messages(&events), vec![(0, 1, b"\xc1\x01".to_vec())]);
    assert_eq!(
        only_closed(&events),
        (DisconnectReason::ClientQuitting, true, None)
    );
}

#[test]
fn malformed_disconnect_is_breach_of_protocol() {
    let (mut session, mut peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
    let frame = peer.frame(p2p::DISCONNECT, b"\xc2\x82\x01");
    assert!(matches!(
        session.handle_input(T0, &frame),
        Err(Error::MalformedP2p {
            which: "disconnect",
            ..
        })
    ));
    let (reason, by_peer, _) = only_closed(&drain_events(&mut session));
    assert_eq!(
        (reason, by_peer),
        (DisconnectReason::BreachOfProtocol, false)
    );
}

// ---- garbage on the wire ----------------------------------------------------------------

fn recipient() -> Session {
    Session::recipient(Arc::new(config(&["waku/1"])), key(0x0b), T0, [3; 32])
}

#[test]
fn garbage_instead_of_auth_is_a_typed_error() {
    // A size prefix below the ECIES overhead.
    let mut b = recipient();
    let err = b.handle_input(T0, &[0u8; 400]).unwrap_err();
    assert!(matches!(err, Error::MalformedHandshake { .. }), "{err:?}");
    assert_eq!(only_closed(&drain_events(&mut b)).2, Some(err));
    assert_eq!(b.pending_transmit(), 0);

    // A plausible size prefix, then bytes that do not decrypt.
    let mut b = recipient();
    let mut garbage = vec![0x01, 0x90];
    garbage.extend(payload(9, 0x190));
    let err = b.handle_input(T0, &garbage).unwrap_err();
    assert!(matches!(err, Error::Handshake(_)), "{err:?}");
    assert!(b.is_closed());
}

#[test]
fn garbage_instead_of_ack_is_a_typed_error() {
    let mut a = Session::initiator(
        Arc::new(config(&["waku/1"])),
        key(0x0a),
        key(0x0b).public_key(),
        T0,
        [1; 32],
    );
    let mut garbage = vec![0x01, 0x00];
    garbage.extend(payload(10, 0x100));
    let err = a.handle_input(T0, &garbage).unwrap_err();
    assert!(matches!(err, Error::Handshake(_)), "{err:?}");
    assert_eq!(only_closed(&drain_events(&mut a)).2, Some(err));
}

#[test]
fn largest_eip8_size_prefix_is_waited_for_then_rejected() {
    // 0xffff announces the largest packet the prefix can: the session waits
    // for all of it (65537 bytes), no more.
    let mut b = recipient();
    let mut garbage = vec![0xff, 0xff];
    garbage.extend(payload(11, 0xffff));
    let (most, last) = garbage.split_at(garbage.len() - 1);
    for chunk in most.chunks(4096) {
        b.handle_input(T0, chunk).unwrap();
    }
    assert!(!b.is_closed());
    let err = b.handle_input(T0, last).unwrap_err();
    assert!(matches!(err, Error::Handshake(_)), "{err:?}");
}

#[test]
fn more_than_a_handshake_packet_before_the_handshake_is_too_large() {
    let mut b = recipient();
    let mut garbage = vec![0xff, 0xff];
    garbage.extend(payload(12, 0x10000));
    let err = b.handle_input(T0, &garbage).unwrap_err();
    assert!(
        matches!(err, Error::HandshakeTooLarge { max: 65537, .. }),
        "{err:?}"
    );
    assert!(b.is_closed());
}

#[test]
fn bit_flip_in_a_frame_after_hello_is_bad_mac_and_sends_no_disconnect() {
    // The byte positions: 0..16 header, 16..32 header MAC, then body and
    // body MAC.
    for (pos, expected) in [
        (0, Error::BadHeaderMac),
        (20, Error::BadHeaderMac),
        (40, Error::BadFrameMac),
        (60, Error::BadFrameMac),
    ] {
        let mut pair = Pair::established(config(&["waku/1"]), config(&["waku/1"]));
        pair.a.send("waku", 1, &payload(3, 30)).unwrap();
        let mut wire = Vec::new();
        pair.a.poll_transmit(&mut wire);
        wire[pos] ^= 0x04;
        assert_eq!(pair.b.handle_input(pair.now, &wire), Err(expected.clone()));
        let (reason, by_peer, error) = only_closed(&drain_events(&mut pair.b));
        assert_eq!(error, Some(expected));
        assert_eq!(
            (reason, by_peer),
            (DisconnectReason::BreachOfProtocol, false)
        );
        // Framing is out of step: a Disconnect could not be read.
        assert_eq!(pair.b.pending_transmit(), 0, "flip at {pos}");
    }
}

#[test]
fn oversized_frame_header_is_refused_before_its_body_arrives() {
    let c = Config {
        max_frame_size: 4096,
        ..config(&["waku/1"])
    };
    let (mut session, mut peer) = raw_established(c, &["waku/1"]);
    let frame = peer.frame(0x11, &payload(4, 8000));
    // The header alone (32 bytes) is enough to refuse.
    let err = session.handle_input(T0, &frame[..32]).unwrap_err();
    assert!(
        matches!(err, Error::FrameTooLarge { max: 4096, .. }),
        "{err:?}"
    );
    assert!(session.is_closed());
}

#[test]
fn garbage_after_the_handshake_is_refused_without_panic() {
    for len in [1, 31, 32, 33, 1000] {
        let (mut session, _peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
        let result = session.handle_input(T0, &payload(len as u64, len));
        if len < 32 {
            assert_eq!(result, Ok(()));
            assert!(session.is_established());
        } else {
            assert_eq!(result, Err(Error::BadHeaderMac));
            assert!(session.is_closed());
        }
    }
}

#[test]
fn a_handshake_packet_trickled_in_is_not_reparsed_for_every_byte() {
    // A packet starting with a valid public key makes every legacy decrypt
    // attempt reach its ECDH; its first two bytes, read as an EIP-8 size,
    // announce 0x04xx bytes. Byte by byte, that is ~1000 attempts unless
    // the session waits for the bytes that can change the answer.
    let mut packet = key(0x42).public_key().to_uncompressed().to_vec();
    let size = usize::from(u16::from_be_bytes([packet[0], packet[1]]));
    packet.resize(2 + size, 0x55);
    let time = |chunk: usize| {
        let mut b = recipient();
        let start = std::time::Instant::now();
        for piece in packet.chunks(chunk) {
            if b.handle_input(T0, piece).is_err() {
                break;
            }
        }
        assert!(b.is_closed(), "the packet does not decrypt");
        start.elapsed()
    };
    let whole = (0..5).map(|_| time(packet.len())).min().unwrap();
    let trickled = (0..2).map(|_| time(1)).min().unwrap();
    // Parsing twice (legacy at 307 bytes, EIP-8 at the end) costs about two
    // whole-packet parses; a parse per byte would cost hundreds.
    assert!(
        trickled < whole * 40,
        "byte by byte {trickled:?}, at once {whole:?}"
    );
}
