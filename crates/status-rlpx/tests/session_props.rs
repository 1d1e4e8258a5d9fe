//! Properties of the session machine over arbitrary input:
//!
//! - how the byte streams are cut into reads changes nothing a session
//!   reports;
//! - arbitrary bytes never panic it, never make it buffer without bound, and
//!   are refused with a typed error;
//! - any well-framed message after Hello is handled as the spec says
//!   (checked against a small model).
//!
//! Case counts are modest so the file runs in seconds in a debug build.

mod common;

use std::sync::Arc;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use status_rlpx::p2p::{self, DisconnectReason};
use status_rlpx::session::{Config, Event, Session};
use status_rlpx::Error;

/// Read sizes for one direction: byte by byte, small, large, or everything
/// at once; cycled.
fn read_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        1 => Just(vec![1]),
        2 => vec(1usize..64, 1..6),
        2 => vec(1usize..20_000, 1..6),
        1 => Just(vec![usize::MAX]),
    ]
}

/// `bytes` cut into reads of the given sizes, cycled.
fn pieces<'a>(bytes: &'a [u8], reads: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    for &n in reads.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(n.clamp(1, rest.len()));
        out.push(piece);
        rest = tail;
    }
    out
}

/// A message: from `a` (true) or `b`, relative code, length, content seed.
type Msg = (bool, u64, usize, u64);

fn msgs() -> impl Strategy<Value = Vec<Msg>> {
    vec(
        (
            any::<bool>(),
            0u64..128,
            prop_oneof![0usize..64, 0usize..70_000],
            any::<u64>(),
        ),
        0..5,
    )
}

/// Handshake, Hello, the messages, a Ping from each side, a Disconnect from
/// `a`; with reads cut as given. Returns both sides' events.
fn exchange(
    snappy: bool,
    ab: Vec<usize>,
    ba: Vec<usize>,
    msgs: &[Msg],
) -> (Vec<Event>, Vec<Event>) {
    let c = Config {
        snappy,
        ..config(&["shh/6", "waku/1"])
    };
    let mut pair = Pair::new(c.clone(), c);
    pair.ab.chunks = ab;
    pair.ba.chunks = ba;
    pair.drive();
    for (i, &(from_a, code, len, seed)) in msgs.iter().enumerate() {
        let session = if from_a { &mut pair.a } else { &mut pair.b };
        let cap = if i % 2 == 0 { "waku" } else { "shh" };
        session.send(cap, code, &payload(seed, len)).expect("send");
        if i % 2 == 1 {
            pair.drive();
        }
    }
    pair.drive();
    let now = pair.now;
    pair.a.ping(now);
    pair.b.ping(now);
    pair.drive();
    pair.a.disconnect(DisconnectReason::ClientQuitting);
    pair.drive();
    assert!(pair.a_errors.is_empty() && pair.b_errors.is_empty());
    (pair.a_events, pair.b_events)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn how_reads_are_cut_changes_no_event(
        snappy in any::<bool>(),
        ab in read_sizes(),
        ba in read_sizes(),
        msgs in msgs(),
    ) {
        let reference = exchange(snappy, vec![usize::MAX], vec![usize::MAX], &msgs);
        let cut = exchange(snappy, ab, ba, &msgs);
        prop_assert_eq!(&cut, &reference);

        // And the reference is the exchange itself: Established, every
        // message in order, a Pong each, Closed on both sides.
        let (a, b) = reference;
        let expect_from = |from_a: bool| -> Vec<Event> {
            msgs.iter()
                .enumerate()
                .filter(|(_, m)| m.0 == from_a)
                .map(|(i, &(_, code, len, seed))| Event::Message {
                    cap: if i % 2 == 0 { 1 } else { 0 },
                    code,
                    payload: payload(seed, len).into(),
                })
                .collect()
        };
        for (events, from_a, by_peer) in [(&a, false, false), (&b, true, true)] {
            let established = matches!(events.first(), Some(Event::Established { .. }));
            prop_assert!(established);
            let got: Vec<Event> = events
                .iter()
                .filter(|e| matches!(e, Event::Message { .. }))
                .cloned()
                .collect();
            prop_assert_eq!(got, expect_from(from_a));
            prop_assert_eq!(
                events.iter().filter(|e| matches!(e, Event::Pong { .. })).count(),
                1
            );
            prop_assert_eq!(
                only_closed(events),
                (DisconnectReason::ClientQuitting, by_peer, None)
            );
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_recipient(
        bytes in vec(any::<u8>(), 0..3000),
        reads in read_sizes(),
    ) {
        let mut b = Session::recipient(Arc::new(config(&["waku/1"])), key(0x0b), T0, [2; 32]);
        let mut fed = 0;
        for piece in pieces(&bytes, &reads) {
            fed += piece.len();
            match b.handle_input(T0, piece) {
                Ok(()) => prop_assert!(!b.is_closed()),
                Err(e) => {
                    prop_assert!(
                        matches!(
                            e,
                            Error::Handshake(_)
                                | Error::MalformedHandshake { .. }
                                | Error::BadSignature
                                | Error::HandshakeTooLarge { .. }
                        ),
                        "{:?}",
                        e
                    );
                    break;
                }
            }
        }
        // Random bytes are no auth: nothing is answered, nothing framed.
        prop_assert_eq!(b.pending_transmit(), 0);
        prop_assert!(!b.is_established());
        if b.is_closed() {
            let events = drain_events(&mut b);
            let (_, by_peer, error) = only_closed(&events);
            prop_assert!(!by_peer && error.is_some());
        } else {
            prop_assert!(fed <= 2 + usize::from(u16::MAX));
            prop_assert_eq!(b.poll_event(), None);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_an_initiator(
        bytes in vec(any::<u8>(), 0..3000),
        reads in read_sizes(),
    ) {
        let mut a = Session::initiator(
            Arc::new(config(&["waku/1"])),
            key(0x0a),
            key(0x0b).public_key(),
            T0,
            [3; 32],
        );
        let mut sink = Vec::new();
        a.poll_transmit(&mut sink);
        for piece in pieces(&bytes, &reads) {
            if a.handle_input(T0, piece).is_err() {
                prop_assert!(a.is_closed());
                break;
            }
        }
        prop_assert_eq!(a.pending_transmit(), 0);
        prop_assert!(!a.is_established());
        let events = drain_events(&mut a);
        if a.is_closed() {
            only_closed(&events);
        } else {
            prop_assert!(events.is_empty());
        }
    }

    #[test]
    fn arbitrary_bytes_after_hello_are_refused_by_the_mac(
        bytes in vec(any::<u8>(), 0..200),
        reads in read_sizes(),
    ) {
        let (mut session, _peer) = raw_established(config(&["waku/1"]), &["waku/1"]);
        let mut result = Ok(());
        for piece in pieces(&bytes, &reads) {
            result = session.handle_input(T0, piece);
            if result.is_err() {
                break;
            }
        }
        if bytes.len() < 32 {
            // Not even a whole header: still waiting.
            prop_assert_eq!(result, Ok(()));
            prop_assert!(session.is_established());
        } else {
            prop_assert_eq!(result, Err(Error::BadHeaderMac));
            let (_, _, error) = only_closed(&drain_events(&mut session));
            prop_assert_eq!(error, Some(Error::BadHeaderMac));
            // Framing is out of step: no Disconnect.
            prop_assert_eq!(session.pending_transmit(), 0);
        }
    }

    #[test]
    fn any_frame_after_hello_is_handled_as_the_spec_says(
        frames in vec((0u64..0x200, vec(any::<u8>(), 0..40)), 1..12),
    ) {
        // shh at 0x10..0x90, waku at 0x90..0x110.
        let (mut session, mut peer) = raw_established(
            config(&["waku/1", "shh/6"]),
            &["waku/1", "shh/6"],
        );
        let shared = session.shared_capabilities().to_vec();
        for (code, data) in &frames {
            let frame = peer.frame(*code, data);
            let result = session.handle_input(T0, &frame);
            let events = drain_events(&mut session);
            let answer = peer.recv_from(&mut session).expect("session frames decode");
            match *code {
                p2p::HELLO => {
                    prop_assert_eq!(result, Err(Error::UnexpectedMessage("second hello")));
                }
                p2p::DISCONNECT => match p2p::decode_disconnect(data) {
                    Ok(reason) => {
                        prop_assert_eq!(result, Ok(()));
                        prop_assert_eq!(only_closed(&events), (reason, true, None));
                        prop_assert_eq!(answer, vec![]);
                    }
                    Err(e) => prop_assert_eq!(result, Err(e)),
                },
                p2p::PING => {
                    prop_assert_eq!(result, Ok(()));
                    prop_assert!(events.is_empty());
                    prop_assert_eq!(answer, vec![(p2p::PONG, p2p::PING_PAYLOAD.to_vec())]);
                }
                c if c < p2p::BASE_PROTOCOL_LENGTH => {
                    // Pong without a Ping, or a reserved id: ignored.
                    prop_assert_eq!(result, Ok(()));
                    prop_assert!(events.is_empty() && answer.is_empty());
                }
                c => match p2p::route(&shared, c) {
                    Some((cap, rel)) => {
                        prop_assert_eq!(result, Ok(()));
                        prop_assert_eq!(events, vec![Event::Message {
                            cap,
                            code: rel,
                            payload: data.clone().into(),
                        }]);
                    }
                    None => {
                        prop_assert_eq!(result, Err(Error::UnknownMessageCode(c)));
                        prop_assert_eq!(
                            answer,
                            vec![(
                                p2p::DISCONNECT,
                                p2p::encode_disconnect(DisconnectReason::SubprotocolError)
                            )]
                        );
                    }
                },
            }
            if session.is_closed() {
                // Nothing after the end.
                let more = peer.frame(0x11, b"\xc0");
                prop_assert_eq!(session.handle_input(T0, &more), Ok(()));
                prop_assert_eq!(session.poll_event(), None);
                break;
            }
        }
    }
}

#[test]
fn a_mebibyte_of_garbage_closes_the_session_with_an_error() {
    // Whatever the read size, garbage ends the session long before a
    // mebibyte is buffered: the handshake packet is bounded.
    for read in [1, 100, 4096, 65_536, 1 << 20, 2 << 20] {
        for lead in [[0xff, 0xff], [0x04, 0x10], [0x00, 0x00]] {
            let mut garbage = lead.to_vec();
            garbage.extend(payload(read as u64, 2 << 20));
            let mut b = Session::recipient(Arc::new(config(&["waku/1"])), key(0x0b), T0, [4; 32]);
            let mut fed = 0;
            for piece in garbage.chunks(read) {
                fed += piece.len();
                if b.handle_input(T0, piece).is_err() {
                    break;
                }
            }
            assert!(b.is_closed(), "read {read}, lead {lead:?}");
            assert!(fed <= 2 + usize::from(u16::MAX) + read, "fed {fed}");
            let (_, by_peer, error) = only_closed(&drain_events(&mut b));
            assert!(!by_peer && error.is_some());
        }
    }
}
