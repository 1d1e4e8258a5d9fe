//! Payload codec with the checks 2/MVDS implies (ids are 32 bytes) and a
//! bound on records per payload.

use status_proto::mvds::Payload;
use status_proto::Message as _;

use crate::{Error, MessageId};

/// Decodes a protobuf `mvds.Payload` from untrusted bytes and checks it
/// with [`validate_payload`].
///
/// ```
/// use status_mvds::{decode_payload, encode_payload, record_count, Error, Message, Payload};
///
/// let payload = Payload {
///     acks: vec![vec![1; 32]],
///     messages: vec![Message { group_id: vec![7; 32], timestamp: 1, body: b"hi".to_vec() }],
///     ..Payload::default()
/// };
/// let mut wire = Vec::new();
/// encode_payload(&payload, &mut wire);
/// assert_eq!(decode_payload(&wire, 10)?, payload);
///
/// assert_eq!(decode_payload(&wire, 1), Err(Error::TooManyRecords { got: 2, max: 1 }));
/// assert!(matches!(decode_payload(&wire[..5], 10), Err(Error::InvalidPayload(_))));
///
/// let short_id = Payload { requests: vec![vec![1; 20]], ..Payload::default() };
/// wire.clear();
/// encode_payload(&short_id, &mut wire);
/// assert_eq!(decode_payload(&wire, 10), Err(Error::InvalidMessageId(20)));
/// assert_eq!(record_count(&short_id), 1);
/// # Ok::<(), Error>(())
/// ```
pub fn decode_payload(bytes: &[u8], max_records: usize) -> Result<Payload, Error> {
    let payload = Payload::decode(bytes)?;
    validate_payload(&payload, max_records)?;
    Ok(payload)
}

/// Checks a decoded payload: at most `max_records` records in all, and
/// every ack, offer and request a 32-byte [`MessageId`].
pub fn validate_payload(payload: &Payload, max_records: usize) -> Result<(), Error> {
    let got = record_count(payload);
    if got > max_records {
        return Err(Error::TooManyRecords {
            got,
            max: max_records,
        });
    }
    for id in payload
        .acks
        .iter()
        .chain(&payload.offers)
        .chain(&payload.requests)
    {
        MessageId::from_slice(id)?;
    }
    Ok(())
}

/// Appends the protobuf encoding of `payload` to `out` (the bytes
/// vacp2p/mvds produces for the same payload).
pub fn encode_payload(payload: &Payload, out: &mut Vec<u8>) {
    out.reserve(payload.encoded_len());
    // Encoding into a Vec cannot run out of capacity after the reserve.
    let _ = payload.encode(out);
}

/// Acks + offers + requests + messages.
pub fn record_count(payload: &Payload) -> usize {
    payload.acks.len() + payload.offers.len() + payload.requests.len() + payload.messages.len()
}
