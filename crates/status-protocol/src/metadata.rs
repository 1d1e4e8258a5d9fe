//! `ApplicationMetadataMessage` (6/PAYLOADS "Wire format"): every
//! application payload travels inside one, signed by its author.
//!
//! status-go v0.55.1 (`v1protocol.WrapMessageV1`) signs
//! `keccak256(payload)` with the author's identity key, 65 bytes
//! `r || s || v` with `v` in `0..=1`, and names the message by
//! [`MessageId::of`] over the wrapped bytes as they are on the wire.

use status_core::{keccak256, PublicKey, RecoverableSignature, SecretKey};
use status_proto::protobuf::{application_metadata_message, ApplicationMetadataMessage};
use status_proto::Message;

use crate::{Error, MessageId};

/// The `ApplicationMetadataMessage.Type` of a payload.
pub type MessageType = application_metadata_message::Type;

/// A verified `ApplicationMetadataMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// The author, recovered from the signature.
    pub signer: PublicKey,
    /// The message id over the bytes as received.
    pub id: MessageId,
    /// The payload type, as sent (unknown values kept).
    pub kind: i32,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Wraps `payload` of type `kind`, signed by `signer` when given (status-go
/// wraps unsigned only where no identity exists).
///
/// ```
/// use status_core::SecretKey;
/// use status_protocol::{metadata, MessageType};
/// let key = SecretKey::from_bytes(&[0xaa; 32]).unwrap();
/// let wrapped = metadata::wrap(b"hi", MessageType::ChatMessage, Some(&key));
/// let got = metadata::unwrap(&wrapped).unwrap();
/// assert_eq!((got.signer, got.payload.as_slice()), (key.public_key(), &b"hi"[..]));
/// assert_eq!(got.kind, MessageType::ChatMessage as i32);
/// ```
pub fn wrap(payload: &[u8], kind: MessageType, signer: Option<&SecretKey>) -> Vec<u8> {
    let signature = signer
        .map(|k| k.sign_recoverable(&keccak256(payload)).0.to_vec())
        .unwrap_or_default();
    ApplicationMetadataMessage {
        signature,
        payload: payload.to_vec(),
        r#type: kind.into(),
    }
    .encode_to_vec()
}

/// Decodes and verifies a wrapped message: the signature must recover a
/// key (an unsigned wrap is refused: status-go's `RecoverKey` fails on it).
pub fn unwrap(wrapped: &[u8]) -> Result<Unwrapped, Error> {
    let msg = ApplicationMetadataMessage::decode(wrapped).map_err(|_| Error::Malformed {
        what: "ApplicationMetadataMessage",
    })?;
    if msg.signature.is_empty() {
        return Err(Error::MetadataUnsigned);
    }
    let signer = recover(&msg.signature, &keccak256(&msg.payload)).ok_or(Error::BadSignature {
        what: "ApplicationMetadataMessage",
    })?;
    Ok(Unwrapped {
        id: MessageId::of(&signer, wrapped),
        signer,
        kind: msg.r#type,
        payload: msg.payload,
    })
}

/// Recovers the signer of a go-ethereum style signature. Unlike
/// [`RecoverableSignature::from_slice`], `v` must be 0..=3 as go-ethereum's
/// `SigToPub` requires (it refuses the legacy 27/28 offset).
pub(crate) fn recover(signature: &[u8], digest: &[u8; 32]) -> Option<PublicKey> {
    if signature.len() != 65 || signature[64] > 3 {
        return None;
    }
    RecoverableSignature::from_slice(signature)
        .ok()?
        .recover(digest)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn wrap_unwrap_round_trips(payload in proptest::collection::vec(any::<u8>(), 0..512), kind in 0i32..15, seed in 1u8..255) {
            let key = SecretKey::from_bytes(&[seed; 32]).unwrap();
            let kind = MessageType::try_from(kind).unwrap_or(MessageType::ChatMessage);
            let wrapped = wrap(&payload, kind, Some(&key));
            let got = unwrap(&wrapped).unwrap();
            prop_assert_eq!(got.signer, key.public_key());
            prop_assert_eq!(got.payload, payload);
            prop_assert_eq!(got.kind, kind as i32);
            prop_assert_eq!(got.id, MessageId::of(&key.public_key(), &wrapped));
        }

        #[test]
        fn unwrap_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = unwrap(&bytes);
        }
    }

    #[test]
    fn unsigned_and_legacy_v_are_refused() {
        let unsigned = wrap(b"x", MessageType::ChatMessage, None);
        assert_eq!(unwrap(&unsigned), Err(Error::MetadataUnsigned));
        let key = SecretKey::from_bytes(&[1; 32]).unwrap();
        let mut msg = ApplicationMetadataMessage::decode(
            wrap(b"x", MessageType::ChatMessage, Some(&key)).as_slice(),
        )
        .unwrap();
        msg.signature[64] += 27;
        assert!(matches!(
            unwrap(&msg.encode_to_vec()),
            Err(Error::BadSignature { .. })
        ));
    }
}
