//! Property tests: the payload codec round-trips, and no input sequence
//! panics or grows the state past its bounds.

use proptest::prelude::*;
use status_core::Timestamp;
use status_mvds::{
    decode_payload, encode_payload, Backoff, Config, GroupId, Message, Mode, Mvds, Output, Payload,
    StateStore,
};

fn id() -> impl Strategy<Value = Vec<u8>> {
    // A small pool so that acks/requests hit ids that were offered or sent.
    (0u8..6).prop_map(|b| vec![b; 32])
}

fn message() -> impl Strategy<Value = Message> {
    (
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<i64>(),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(group_id, timestamp, body)| Message {
            group_id,
            timestamp,
            body,
        })
}

fn payload() -> impl Strategy<Value = Payload> {
    (
        proptest::collection::vec(id(), 0..5),
        proptest::collection::vec(id(), 0..5),
        proptest::collection::vec(id(), 0..5),
        proptest::collection::vec(message(), 0..4),
    )
        .prop_map(|(acks, offers, requests, messages)| Payload {
            acks,
            offers,
            requests,
            messages,
        })
}

#[derive(Debug, Clone)]
enum Input {
    Send { peers: Vec<u8>, body: u8 },
    Payload { from: u8, payload: Payload },
    Raw { from: u8, bytes: Vec<u8> },
    Advance(u64),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (proptest::collection::vec(0u8..4, 0..4), any::<u8>())
            .prop_map(|(peers, body)| Input::Send { peers, body }),
        (0u8..4, payload()).prop_map(|(from, payload)| Input::Payload { from, payload }),
        (0u8..4, proptest::collection::vec(any::<u8>(), 0..80))
            .prop_map(|(from, bytes)| Input::Raw { from, bytes }),
        (0u64..5_000).prop_map(Input::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn payload_round_trips(p in payload()) {
        let mut wire = Vec::new();
        encode_payload(&p, &mut wire);
        prop_assert_eq!(decode_payload(&wire, 1000).unwrap(), p);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_payload(&bytes, 16);
    }

    #[test]
    fn arbitrary_inputs_never_panic_nor_exceed_the_bounds(
        interactive in any::<bool>(),
        inputs in proptest::collection::vec(input(), 0..60),
    ) {
        let config = Config {
            mode: if interactive { Mode::Interactive } else { Mode::Batch },
            backoff: Backoff { base: 1, max: 8 },
            max_in_flight: 12,
            max_pending_acks: 7,
            max_payload_records: 10,
            max_received_ids: 9,
            ..Config::default()
        };
        let mut now = Timestamp::from_secs(1_600_000_000);
        let mut node: Mvds<u8> = Mvds::new(config, now);
        for input in inputs {
            match input {
                Input::Send { peers, body } => {
                    let _ = node.send(now, GroupId([1; 32]), &peers, vec![body]);
                }
                Input::Payload { from, payload } => {
                    let _ = node.handle_payload(now, &from, payload);
                }
                Input::Raw { from, bytes } => {
                    if let Ok(p) = decode_payload(&bytes, 10) {
                        let _ = node.handle_payload(now, &from, p);
                    }
                }
                Input::Advance(ms) => {
                    now = now + std::time::Duration::from_millis(ms);
                    node.handle_timeout(now);
                }
            }
            let mut acks = 0;
            while let Some(out) = node.poll_output() {
                if let Output::Transmit { payload, .. } = out {
                    acks += payload.acks.len();
                }
            }
            prop_assert!(acks <= 7);
            prop_assert!(node.in_flight() <= 12);
            prop_assert!(node.store().message_count() <= node.in_flight());
            prop_assert!(node.store().received_count() <= 9);
            if let Some((t, _)) = node.poll_timeout() {
                prop_assert!(t > now || node.epoch_at(t) > node.epoch_at(now));
            }
        }
    }
}
