//! Protocol messages (discv5-wire "Protocol Messages"):
//! `message-pt = message-type || rlp(message-data)`.
//!
//! Node records inside NODES are kept as their raw RLP here; the node
//! machine decodes and verifies them (and checks their distances), so that
//! this codec stays cheap and total.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::rlp_strict::{self, Item};

use super::packet::MAX_RECORD_SIZE;
use super::Error;

/// PING message-type.
pub const PING: u8 = 0x01;
/// PONG message-type.
pub const PONG: u8 = 0x02;
/// FINDNODE message-type.
pub const FINDNODE: u8 = 0x03;
/// NODES message-type.
pub const NODES: u8 = 0x04;
/// TALKREQ message-type.
pub const TALKREQ: u8 = 0x05;
/// TALKRESP message-type.
pub const TALKRESP: u8 = 0x06;

/// A `request-id`: an RLP byte array of at most 8 bytes, chosen by the
/// requester and mirrored in responses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RequestId {
    len: u8,
    bytes: [u8; 8],
}

impl RequestId {
    /// From up to 8 bytes.
    pub fn from_slice(b: &[u8]) -> Result<RequestId, Error> {
        if b.len() > 8 {
            return Err(Error::RequestIdTooLong(b.len()));
        }
        let mut bytes = [0u8; 8];
        bytes[..b.len()].copy_from_slice(b);
        Ok(RequestId {
            len: b.len() as u8,
            bytes,
        })
    }

    /// An 8-byte id from a `u64` (how this implementation numbers requests).
    pub fn from_u64(v: u64) -> RequestId {
        RequestId {
            len: 8,
            bytes: v.to_be_bytes(),
        }
    }

    /// The id's bytes as sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequestId({})", hex::encode(self.as_bytes()))
    }
}

/// One discv5 message (topic messages 0x07..=0x0a are not implemented and
/// decode to [`Error::UnknownMessageType`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `PING [request-id, enr-seq]`: liveness, and the sender's record seq.
    Ping {
        /// Request id.
        request_id: RequestId,
        /// Sender's record sequence number.
        enr_seq: u64,
    },
    /// `PONG [request-id, enr-seq, recipient-ip, recipient-port]`.
    Pong {
        /// Mirrors the PING's.
        request_id: RequestId,
        /// Responder's record sequence number.
        enr_seq: u64,
        /// The PING's source IP as the responder saw it.
        ip: IpAddr,
        /// The PING's source UDP port as the responder saw it.
        port: u16,
    },
    /// `FINDNODE [request-id, [distance, ...]]`.
    FindNode {
        /// Request id.
        request_id: RequestId,
        /// Log2 distances 0..=256 from the recipient.
        distances: Vec<u16>,
    },
    /// `NODES [request-id, total, [ENR, ...]]`.
    Nodes {
        /// Mirrors the request's.
        request_id: RequestId,
        /// How many NODES messages answer the request.
        total: u64,
        /// Node records, each its RLP as received.
        enrs: Vec<Vec<u8>>,
    },
    /// `TALKREQ [request-id, protocol, request]`.
    TalkReq {
        /// Request id.
        request_id: RequestId,
        /// Application protocol name.
        protocol: Vec<u8>,
        /// Opaque request.
        request: Vec<u8>,
    },
    /// `TALKRESP [request-id, response]`.
    TalkResp {
        /// Mirrors the TALKREQ's.
        request_id: RequestId,
        /// Opaque response (empty for an unknown protocol).
        response: Vec<u8>,
    },
}

impl Message {
    /// The message's request id.
    pub fn request_id(&self) -> &RequestId {
        match self {
            Message::Ping { request_id, .. }
            | Message::Pong { request_id, .. }
            | Message::FindNode { request_id, .. }
            | Message::Nodes { request_id, .. }
            | Message::TalkReq { request_id, .. }
            | Message::TalkResp { request_id, .. } => request_id,
        }
    }

    /// `true` for PING, FINDNODE and TALKREQ.
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Message::Ping { .. } | Message::FindNode { .. } | Message::TalkReq { .. }
        )
    }

    /// `message-type || rlp(message-data)`, appended to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut body = Vec::with_capacity(64);
        let ty = match self {
            Message::Ping {
                request_id,
                enr_seq,
            } => {
                rlp_strict::encode_bytes(&mut body, request_id.as_bytes());
                rlp_strict::encode_u64(&mut body, *enr_seq);
                PING
            }
            Message::Pong {
                request_id,
                enr_seq,
                ip,
                port,
            } => {
                rlp_strict::encode_bytes(&mut body, request_id.as_bytes());
                rlp_strict::encode_u64(&mut body, *enr_seq);
                match ip {
                    IpAddr::V4(v4) => rlp_strict::encode_bytes(&mut body, &v4.octets()),
                    IpAddr::V6(v6) => rlp_strict::encode_bytes(&mut body, &v6.octets()),
                }
                rlp_strict::encode_u64(&mut body, u64::from(*port));
                PONG
            }
            Message::FindNode {
                request_id,
                distances,
            } => {
                rlp_strict::encode_bytes(&mut body, request_id.as_bytes());
                let mut list = Vec::with_capacity(distances.len() * 3);
                for d in distances {
                    rlp_strict::encode_u64(&mut list, u64::from(*d));
                }
                rlp_strict::encode_header(&mut body, list.len(), true);
                body.extend_from_slice(&list);
                FINDNODE
            }
            Message::Nodes {
                request_id,
                total,
                enrs,
            } => {
                rlp_strict::encode_bytes(&mut body, request_id.as_bytes());
                rlp_strict::encode_u64(&mut body, *total);
                let len = enrs.iter().map(Vec::len).sum();
                rlp_strict::encode_header(&mut body, len, true);
                for e in enrs {
                    body.extend_from_slice(e);
                }
                NODES
            }
            Message::TalkReq {
                request_id,
                protocol,
                request,
            } => {
                rlp_strict::encode_bytes(&mut body, request_id.as_bytes());
                rlp_strict::encode_bytes(&mut body, protocol);
                rlp_strict::encode_bytes(&mut body, request);
                TALKREQ
            }
            Message::TalkResp {
                request_id,
                response,
            } => {
                rlp_strict::encode_bytes(&mut body, request_id.as_bytes());
                rlp_strict::encode_bytes(&mut body, response);
                TALKRESP
            }
        };
        out.push(ty);
        rlp_strict::encode_header(out, body.len(), true);
        out.extend_from_slice(&body);
    }

    /// [`encode_into`](Self::encode_into) a new vector.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80);
        self.encode_into(&mut out);
        out
    }

    /// Decodes `message-type || rlp(message-data)`. Extra list elements
    /// after the defined ones are ignored (forward compatibility, as
    /// go-ethereum's `rlp:"tail"`); trailing bytes after the list are not.
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use status_discovery::discv5::message::{Message, PONG};
    /// use status_discovery::discv5::{Error, RequestId};
    ///
    /// let pong = Message::Pong {
    ///     request_id: RequestId::from_u64(1),
    ///     enr_seq: 3,
    ///     ip: Ipv4Addr::new(10, 0, 0, 1).into(),
    ///     port: 30303,
    /// };
    /// let pt = pong.encode();
    /// assert_eq!(pt[0], PONG);
    /// assert_eq!(Message::decode(&pt)?, pong);
    ///
    /// let mut trailing = pt.clone();
    /// trailing.push(0x80);
    /// assert!(matches!(Message::decode(&trailing), Err(Error::InvalidMessage(_))));
    /// // 0x07 is REGTOPIC, which this implementation does not speak.
    /// let mut regtopic = pt;
    /// regtopic[0] = 0x07;
    /// assert_eq!(Message::decode(&regtopic), Err(Error::UnknownMessageType(0x07)));
    /// assert_eq!(RequestId::from_slice(&[0; 9]), Err(Error::RequestIdTooLong(9)));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn decode(pt: &[u8]) -> Result<Message, Error> {
        let (&ty, rest) = pt
            .split_first()
            .ok_or(Error::InvalidMessage("empty message"))?;
        if !(PING..=TALKRESP).contains(&ty) {
            return Err(Error::UnknownMessageType(ty));
        }
        let list = rlp_strict::single(rest)?;
        let mut items = list.items()?;
        let mut next = |what: &'static str| -> Result<Item<'_>, Error> {
            items
                .next()
                .ok_or(Error::InvalidMessage(what))?
                .map_err(Error::from)
        };
        let request_id = RequestId::from_slice(next("request-id")?.bytes()?)?;
        let msg = match ty {
            PING => Message::Ping {
                request_id,
                enr_seq: next("enr-seq")?.u64()?,
            },
            PONG => {
                let enr_seq = next("enr-seq")?.u64()?;
                let ip = match next("recipient-ip")?.bytes()? {
                    b if b.len() == 4 => {
                        let a: [u8; 4] = b.try_into().map_err(|_| Error::InvalidMessage("ip"))?;
                        IpAddr::V4(Ipv4Addr::from(a))
                    }
                    b if b.len() == 16 => {
                        let a: [u8; 16] = b.try_into().map_err(|_| Error::InvalidMessage("ip"))?;
                        IpAddr::V6(Ipv6Addr::from(a))
                    }
                    _ => return Err(Error::InvalidMessage("recipient-ip is not 4 or 16 bytes")),
                };
                let port = u16::try_from(next("recipient-port")?.u64()?)
                    .map_err(|_| Error::InvalidMessage("recipient-port above 65535"))?;
                Message::Pong {
                    request_id,
                    enr_seq,
                    ip,
                    port,
                }
            }
            FINDNODE => {
                let mut distances = Vec::new();
                for d in next("distances")?.items()? {
                    let d = d?.u64()?;
                    if d > 256 {
                        return Err(Error::InvalidMessage("distance above 256"));
                    }
                    distances.push(d as u16);
                }
                Message::FindNode {
                    request_id,
                    distances,
                }
            }
            NODES => {
                let total = next("total")?.u64()?;
                let mut enrs = Vec::new();
                for e in next("records")?.items()? {
                    let e = e?;
                    if !e.is_list {
                        return Err(Error::InvalidMessage("record is not a list"));
                    }
                    if e.raw.len() > MAX_RECORD_SIZE {
                        return Err(Error::InvalidRecord("record above 300 bytes"));
                    }
                    enrs.push(e.raw.to_vec());
                }
                Message::Nodes {
                    request_id,
                    total,
                    enrs,
                }
            }
            TALKREQ => Message::TalkReq {
                request_id,
                protocol: next("protocol")?.bytes()?.to_vec(),
                request: next("request")?.bytes()?.to_vec(),
            },
            _ => Message::TalkResp {
                request_id,
                response: next("response")?.bytes()?.to_vec(),
            },
        };
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_id() -> impl Strategy<Value = RequestId> {
        proptest::collection::vec(any::<u8>(), 0..=8)
            .prop_map(|b| RequestId::from_slice(&b).unwrap())
    }

    fn arb_record() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..100).prop_map(|b| {
            let mut item = Vec::new();
            rlp_strict::encode_bytes(&mut item, &b);
            rlp_strict::encode_list(&item)
        })
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..100);
        prop_oneof![
            (arb_id(), any::<u64>()).prop_map(|(request_id, enr_seq)| Message::Ping {
                request_id,
                enr_seq
            }),
            (
                arb_id(),
                any::<u64>(),
                any::<[u8; 4]>(),
                any::<[u8; 16]>(),
                any::<bool>(),
                any::<u16>()
            )
                .prop_map(|(request_id, enr_seq, v4, v6, four, port)| Message::Pong {
                    request_id,
                    enr_seq,
                    ip: if four {
                        IpAddr::from(v4)
                    } else {
                        IpAddr::from(v6)
                    },
                    port,
                }),
            (arb_id(), proptest::collection::vec(0u16..=256, 0..10)).prop_map(
                |(request_id, distances)| Message::FindNode {
                    request_id,
                    distances
                }
            ),
            (
                arb_id(),
                any::<u64>(),
                proptest::collection::vec(arb_record(), 0..4)
            )
                .prop_map(|(request_id, total, enrs)| Message::Nodes {
                    request_id,
                    total,
                    enrs
                }),
            (arb_id(), bytes(), bytes()).prop_map(|(request_id, protocol, request)| {
                Message::TalkReq {
                    request_id,
                    protocol,
                    request,
                }
            }),
            (arb_id(), bytes()).prop_map(|(request_id, response)| Message::TalkResp {
                request_id,
                response
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn message_round_trip(m in arb_message()) {
            prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn arbitrary_plaintext_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Message::decode(&data);
        }
    }

    #[test]
    fn ping_matches_the_spec_example() {
        // discv5-wire test vectors: ping.req-id = 0x00000001, enr-seq = 2.
        let m = Message::Ping {
            request_id: RequestId::from_slice(&[0, 0, 0, 1]).unwrap(),
            enr_seq: 2,
        };
        assert_eq!(hex::encode(m.encode()), "01c6840000000102");
    }

    #[test]
    fn rejects_long_request_ids_and_bad_distances() {
        assert_eq!(
            Message::decode(&hex::decode("01cb8900000000000000000102").unwrap()),
            Err(Error::RequestIdTooLong(9))
        );
        // FINDNODE [1, [257]]
        assert!(Message::decode(&hex::decode("03c601c3820101").unwrap()).is_err());
        assert_eq!(
            Message::decode(&[0x07, 0xc0]),
            Err(Error::UnknownMessageType(7))
        );
    }
}
