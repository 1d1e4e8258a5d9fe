//! The node machine against 2/MVDS "Synchronization", two nodes at a time
//! on a virtual clock (the quinn-style `Pair`).

use status_core::Timestamp;
use status_mvds::{
    Backoff, Config, Error, GroupId, MemoryStore, MessageId, Mode, Mvds, Output, Payload,
    RecordType, StateStore,
};

const A: u8 = 0;
const B: u8 = 1;
const G: GroupId = GroupId([9; 32]);

fn t0() -> Timestamp {
    Timestamp::from_secs(1_600_000_000)
}

fn config(mode: Mode) -> Config {
    Config {
        mode,
        backoff: Backoff { base: 2, max: 16 },
        ..Config::default()
    }
}

/// What crossed the wire: (time, from, payload).
type Log = Vec<(Timestamp, u8, Payload)>;

/// Decides whether a payload from the given node is lost.
type DropFn = Box<dyn FnMut(u8, &Payload) -> bool>;

struct Pair {
    nodes: [Mvds<u8>; 2],
    now: Timestamp,
    log: Log,
    received: [Vec<MessageId>; 2],
    delivered: [Vec<MessageId>; 2],
    /// Drops a payload when this returns true (from, index in log).
    drop: DropFn,
}

impl Pair {
    fn new(mode: Mode) -> Pair {
        Pair::with(Mvds::new(config(mode), t0()), Mvds::new(config(mode), t0()))
    }

    fn with(a: Mvds<u8>, b: Mvds<u8>) -> Pair {
        Pair {
            nodes: [a, b],
            now: t0(),
            log: Vec::new(),
            received: [Vec::new(), Vec::new()],
            delivered: [Vec::new(), Vec::new()],
            drop: Box::new(|_, _| false),
        }
    }

    fn drain(&mut self) {
        loop {
            let mut moved = false;
            for me in [A, B] {
                while let Some(out) = self.nodes[me as usize].poll_output() {
                    moved = true;
                    match out {
                        Output::Transmit { peer, payload } => {
                            assert_eq!(peer, 1 - me);
                            self.log.push((self.now, me, payload.clone()));
                            if !(self.drop)(me, &payload) {
                                self.nodes[peer as usize]
                                    .handle_payload(self.now, &me, payload)
                                    .unwrap();
                            }
                        }
                        Output::Received { from, id, .. } => {
                            assert_eq!(from, 1 - me);
                            self.received[me as usize].push(id)
                        }
                        Output::Delivered { peer, id } => {
                            assert_eq!(peer, 1 - me);
                            self.delivered[me as usize].push(id)
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Advances to the next timeout of either node; false when idle.
    fn step(&mut self) -> bool {
        self.drain();
        let Some(next) = self
            .nodes
            .iter()
            .filter_map(|n| n.poll_timeout().map(|(t, _)| t))
            .min()
        else {
            return false;
        };
        assert!(next > self.now, "timeout in the past");
        self.now = next;
        for n in &mut self.nodes {
            n.handle_timeout(next);
        }
        self.drain();
        true
    }

    fn run(&mut self, max_steps: usize) {
        for _ in 0..max_steps {
            if !self.step() {
                return;
            }
        }
        panic!("not idle after {max_steps} steps");
    }

    fn epoch(&self, t: Timestamp) -> u64 {
        self.nodes[0].epoch_at(t)
    }
}

#[test]
fn batch_mode_sends_message_then_ack() {
    let mut p = Pair::new(Mode::Batch);
    let id = p.nodes[0].send(p.now, G, &[B], b"hello".to_vec()).unwrap();
    p.run(100);
    assert_eq!(p.received[1], [id]);
    assert_eq!(p.delivered[0], [id]);
    assert_eq!(p.log.len(), 2);
    assert_eq!(p.log[0].2.messages.len(), 1);
    assert_eq!(p.log[1].2.acks, [id.0.to_vec()]);
    assert_eq!(p.nodes[0].in_flight() + p.nodes[1].in_flight(), 0);
    assert_eq!(p.nodes[0].store().message_count(), 0);
}

#[test]
fn interactive_mode_sends_offer_request_message_ack() {
    let mut p = Pair::new(Mode::Interactive);
    let id = p.nodes[0].send(p.now, G, &[B], b"hello".to_vec()).unwrap();
    p.run(100);
    let kinds: Vec<(u8, usize, usize, usize, usize)> = p
        .log
        .iter()
        .map(|(_, from, pl)| {
            (
                *from,
                pl.offers.len(),
                pl.requests.len(),
                pl.messages.len(),
                pl.acks.len(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (A, 1, 0, 0, 0),
            (B, 0, 1, 0, 0),
            (A, 0, 0, 1, 0),
            (B, 0, 0, 0, 1)
        ]
    );
    // One epoch per leg.
    let epochs: Vec<u64> = p.log.iter().map(|(t, _, _)| p.epoch(*t)).collect();
    assert!(epochs.windows(2).all(|w| w[1] == w[0] + 1), "{epochs:?}");
    assert_eq!(p.received[1], [id]);
    assert_eq!(p.delivered[0], [id]);
    assert_eq!(p.nodes[0].in_flight() + p.nodes[1].in_flight(), 0);
}

#[test]
fn acks_and_messages_are_piggybacked_in_one_payload_per_epoch() {
    let mut p = Pair::new(Mode::Batch);
    let a1 = p.nodes[0].send(p.now, G, &[B], b"a1".to_vec()).unwrap();
    let a2 = p.nodes[0].send(p.now, G, &[B], b"a2".to_vec()).unwrap();
    p.step();
    // b answers with an ack for both, and sends its own message with it.
    let b1 = p.nodes[1].send(p.now, G, &[A], b"b1".to_vec()).unwrap();
    p.run(100);
    assert_eq!(p.log.len(), 3, "{:?}", p.log);
    let (_, from, second) = &p.log[1];
    assert_eq!(*from, B);
    // Records of one epoch go out in (peer, id) order.
    let mut want = vec![a1.0.to_vec(), a2.0.to_vec()];
    want.sort();
    assert_eq!(second.acks, want);
    assert_eq!(second.messages.len(), 1);
    assert_eq!(p.log[2].2.acks, [b1.0.to_vec()]);
    // At most one payload per peer per epoch.
    for w in p.log.windows(2) {
        assert!(w[0].1 != w[1].1 || p.epoch(w[0].0) != p.epoch(w[1].0));
    }
}

#[test]
fn lost_records_are_retransmitted_on_the_backoff_schedule() {
    for mode in [Mode::Batch, Mode::Interactive] {
        let mut p = Pair::new(mode);
        // Everything a sends is lost for the first 6 transmissions.
        let mut dropped = 0;
        p.drop = Box::new(move |from, _| {
            if from == A && dropped < 6 {
                dropped += 1;
                return true;
            }
            false
        });
        let id = p.nodes[0].send(p.now, G, &[B], b"x".to_vec()).unwrap();
        p.run(1000);
        let sends: Vec<u64> = p
            .log
            .iter()
            .filter(|(_, from, _)| *from == A)
            .map(|(t, _, _)| p.epoch(*t))
            .collect();
        let gaps: Vec<u64> = sends.windows(2).map(|w| w[1] - w[0]).collect();
        // base 2, max 16: 2, 4, 8, 16, then back to 2; the 7th send gets
        // through (then, in interactive mode, the MESSAGE one epoch later).
        assert_eq!(&gaps[..6], [2, 4, 8, 16, 2, 4], "{mode:?}");
        assert_eq!(p.nodes[0].stats().retransmissions, 6, "{mode:?}");
        assert_eq!(p.received[1], [id]);
        assert_eq!(p.delivered[0], [id]);
    }
}

#[test]
fn a_duplicate_message_is_acked_again_but_received_once() {
    let mut p = Pair::new(Mode::Batch);
    // Drop b's first ack: a retransmits, b sees the message twice.
    let mut dropped = false;
    p.drop = Box::new(move |from, _| {
        if from == B && !dropped {
            dropped = true;
            return true;
        }
        false
    });
    let id = p.nodes[0].send(p.now, G, &[B], b"x".to_vec()).unwrap();
    p.run(100);
    assert_eq!(p.received[1], [id]);
    assert_eq!(p.delivered[0], [id]);
    assert_eq!(p.nodes[1].stats().duplicates_received, 1);
    assert_eq!(p.nodes[1].stats().acks_sent, 2);
}

#[test]
fn an_offer_of_a_message_already_held_is_acked_not_requested() {
    let t = t0();
    let mut b: Mvds<u8> = Mvds::new(config(Mode::Interactive), t);
    let id = b.send(t, G, &[A], b"mine".to_vec()).unwrap();
    b.handle_payload(
        t,
        &A,
        Payload {
            offers: vec![id.0.to_vec()],
            ..Payload::default()
        },
    )
    .unwrap();
    assert_eq!(
        b.store().record(&A, &id).map(|r| r.kind),
        Some(RecordType::Offer)
    );
    b.handle_timeout(t + std::time::Duration::from_secs(1));
    let Some(Output::Transmit { payload, .. }) = b.poll_output() else {
        panic!()
    };
    assert_eq!(payload.acks, [id.0.to_vec()]);
    assert!(payload.requests.is_empty());
}

/// Only records `send` would create count against `max_in_flight`: the
/// same body in the same second is the same message, and a peer named
/// twice is one record.
#[test]
fn sending_an_existing_message_again_needs_no_room() {
    let t = t0();
    let cfg = Config {
        max_in_flight: 2,
        ..config(Mode::Batch)
    };
    let mut n: Mvds<u8> = Mvds::new(cfg, t);
    let id = n.send(t, G, &[1], b"1".to_vec()).unwrap();
    assert_eq!(n.send(t, G, &[1, 2, 2], b"1".to_vec()), Ok(id));
    assert_eq!(n.in_flight(), 2);
    assert_eq!(
        n.send(t, G, &[1, 2], b"1".to_vec()),
        Ok(id),
        "full, but nothing new"
    );
    assert_eq!(
        n.send(t, G, &[1, 3], b"1".to_vec()),
        Err(Error::InFlightFull {
            records: 2,
            needed: 1,
            max: 2
        })
    );
}

#[test]
fn send_past_the_in_flight_bound_is_an_error_and_offers_are_dropped() {
    let t = t0();
    let cfg = Config {
        max_in_flight: 3,
        ..config(Mode::Batch)
    };
    let mut n: Mvds<u8> = Mvds::new(cfg, t);
    n.send(t, G, &[1, 2], b"1".to_vec()).unwrap();
    assert_eq!(
        n.send(t, G, &[1, 2], b"2".to_vec()),
        Err(Error::InFlightFull {
            records: 2,
            needed: 2,
            max: 3
        })
    );
    assert_eq!(n.send(t, G, &[], b"3".to_vec()), Err(Error::NoPeers));
    let offers = (0..5u8).map(|i| vec![i; 32]).collect();
    n.handle_payload(
        t,
        &7,
        Payload {
            offers,
            ..Payload::default()
        },
    )
    .unwrap();
    assert_eq!(n.in_flight(), 3);
    assert_eq!(n.stats().offers_dropped, 4);
}

#[test]
fn malformed_payloads_are_rejected_before_any_state_changes() {
    let t = t0();
    let mut n: Mvds<u8> = Mvds::new(config(Mode::Batch), t);
    let bad = Payload {
        offers: vec![vec![1; 32]],
        requests: vec![vec![2; 31]],
        ..Payload::default()
    };
    assert_eq!(
        n.handle_payload(t, &1, bad),
        Err(Error::InvalidMessageId(31))
    );
    assert_eq!(n.in_flight(), 0);
    let cfg = Config {
        max_payload_records: 2,
        ..config(Mode::Batch)
    };
    let mut n: Mvds<u8> = Mvds::new(cfg, t);
    let big = Payload {
        acks: vec![vec![0; 32]; 3],
        ..Payload::default()
    };
    assert_eq!(
        n.handle_payload(t, &1, big),
        Err(Error::TooManyRecords { got: 3, max: 2 })
    );
    assert!(matches!(
        status_mvds::decode_payload(&[0xff, 0xff], 10),
        Err(Error::InvalidPayload(_))
    ));
}

#[test]
fn requests_for_messages_not_offered_to_the_requester_are_ignored() {
    let t = t0();
    let mut n: Mvds<u8> = Mvds::new(config(Mode::Interactive), t);
    let id = n.send(t, G, &[1], b"for 1".to_vec()).unwrap();
    n.handle_payload(
        t,
        &2,
        Payload {
            requests: vec![id.0.to_vec()],
            ..Payload::default()
        },
    )
    .unwrap();
    assert_eq!(n.stats().unknown_requests, 1);
    assert!(n.store().record(&2, &id).is_none());
}

#[test]
fn restoring_both_nodes_from_their_stores_mid_exchange_continues_it() {
    let mut p = Pair::new(Mode::Interactive);
    let id = p.nodes[0]
        .send(p.now, G, &[B], b"survive".to_vec())
        .unwrap();
    // offer, then request: stop right after b's REQUEST went out.
    p.step();
    p.step();
    assert_eq!(p.log.len(), 2);
    assert_eq!(p.log[1].2.requests, [id.0.to_vec()]);
    let now = p.now;
    let [a, b] = p.nodes;
    let a_store: MemoryStore<u8> = a.into_store();
    let b_store: MemoryStore<u8> = b.into_store();
    assert_eq!(
        a_store.record(&B, &id).map(|r| r.kind),
        Some(RecordType::Message)
    );
    assert_eq!(
        b_store.record(&A, &id).map(|r| r.kind),
        Some(RecordType::Request)
    );
    let mut q = Pair::with(
        Mvds::with_store(config(Mode::Interactive), a_store, now),
        Mvds::with_store(config(Mode::Interactive), b_store, now),
    );
    q.now = now;
    q.run(100);
    assert_eq!(q.received[1], [id]);
    assert_eq!(q.delivered[0], [id]);
    assert_eq!(q.nodes[0].in_flight() + q.nodes[1].in_flight(), 0);
}

#[test]
fn poll_timeout_is_none_when_idle_and_names_its_reason() {
    let t = t0();
    let mut n: Mvds<u8> = Mvds::new(config(Mode::Batch), t);
    assert_eq!(n.poll_timeout(), None);
    n.send(t, G, &[1], b"x".to_vec()).unwrap();
    let (at, why) = n.poll_timeout().unwrap();
    assert_eq!(n.epoch_at(at), n.epoch_at(t) + 1);
    assert_eq!(why, "send epoch");
    n.handle_payload(
        t,
        &1,
        Payload {
            messages: vec![status_mvds::Message::default()],
            ..Payload::default()
        },
    )
    .unwrap();
    assert_eq!(n.poll_timeout().unwrap().1, "ack");
}
