//! Packet encoding (discv5-wire "Packet Encoding"): masking, the static
//! header and the authdata of ordinary, WHOAREYOU and handshake packets.
//!
//! ```text
//! packet        = masking-iv || masked-header || message
//! masked-header = aesctr_encrypt(dest-id[:16], masking-iv, header)
//! header        = "discv5" || 0x0001 || flag || nonce || authdata-size || authdata
//! ```

use aes::cipher::{KeyIvInit, StreamCipher};

use super::Error;
use crate::enr::NodeId;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// `protocol-id`.
pub const PROTOCOL_ID: &[u8; 6] = b"discv5";
/// `version` of the v5.1 wire.
pub const VERSION: u16 = 0x0001;
/// Smallest packet a node accepts (discv5-wire "UDP Communication").
pub const MIN_PACKET_SIZE: usize = 63;
/// Largest packet a node generates or accepts.
pub const MAX_PACKET_SIZE: usize = 1280;
/// Length of `masking-iv`.
pub const MASKING_IV_SIZE: usize = 16;
/// `static-header` length: protocol-id, version, flag, nonce, authdata-size.
pub const STATIC_HEADER_SIZE: usize = 6 + 2 + 1 + 12 + 2;
/// Largest node record a handshake may carry (EIP-778 size limit).
pub const MAX_RECORD_SIZE: usize = 300;

/// The 96-bit AES-GCM nonce of a message packet; WHOAREYOU mirrors it.
pub type Nonce = [u8; 12];

/// Flag 0: ordinary message packet.
pub const FLAG_MESSAGE: u8 = 0;
/// Flag 1: WHOAREYOU.
pub const FLAG_WHOAREYOU: u8 = 1;
/// Flag 2: handshake message packet.
pub const FLAG_HANDSHAKE: u8 = 2;

/// The packet kind with its decoded `authdata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketKind {
    /// `flag = 0`: `authdata = src-id`.
    Message {
        /// Sender's node id.
        src_id: NodeId,
    },
    /// `flag = 1`: `authdata = id-nonce || enr-seq`.
    WhoAreYou {
        /// Random challenge.
        id_nonce: [u8; 16],
        /// The sequence number of the requester's record the challenger has
        /// (0 if none).
        enr_seq: u64,
    },
    /// `flag = 2`: `authdata = src-id || sig-size || eph-key-size ||
    /// id-signature || eph-pubkey || record`. Only the "v4" sizes (64/33)
    /// are accepted.
    Handshake {
        /// Sender's node id.
        src_id: NodeId,
        /// `id-signature` (64 bytes `r || s`).
        id_signature: [u8; 64],
        /// Compressed ephemeral public key (33 bytes).
        eph_pubkey: [u8; 33],
        /// The sender's node record (RLP), when it sent one.
        record: Option<Vec<u8>>,
    },
}

impl PacketKind {
    /// The header `flag` of this kind.
    pub fn flag(&self) -> u8 {
        match self {
            PacketKind::Message { .. } => FLAG_MESSAGE,
            PacketKind::WhoAreYou { .. } => FLAG_WHOAREYOU,
            PacketKind::Handshake { .. } => FLAG_HANDSHAKE,
        }
    }

    fn authdata_len(&self) -> usize {
        match self {
            PacketKind::Message { .. } => 32,
            PacketKind::WhoAreYou { .. } => 24,
            PacketKind::Handshake { record, .. } => {
                34 + 64 + 33 + record.as_ref().map_or(0, Vec::len)
            }
        }
    }

    fn write_authdata(&self, out: &mut Vec<u8>) {
        match self {
            PacketKind::Message { src_id } => out.extend_from_slice(&src_id.0),
            PacketKind::WhoAreYou { id_nonce, enr_seq } => {
                out.extend_from_slice(id_nonce);
                out.extend_from_slice(&enr_seq.to_be_bytes());
            }
            PacketKind::Handshake {
                src_id,
                id_signature,
                eph_pubkey,
                record,
            } => {
                out.extend_from_slice(&src_id.0);
                out.push(64);
                out.push(33);
                out.extend_from_slice(id_signature);
                out.extend_from_slice(eph_pubkey);
                if let Some(r) = record {
                    out.extend_from_slice(r);
                }
            }
        }
    }

    fn parse_authdata(flag: u8, a: &[u8]) -> Result<PacketKind, Error> {
        let bad = || Error::InvalidAuthdataSize { flag, got: a.len() };
        match flag {
            FLAG_MESSAGE => {
                let src: [u8; 32] = a.try_into().map_err(|_| bad())?;
                Ok(PacketKind::Message {
                    src_id: NodeId(src),
                })
            }
            FLAG_WHOAREYOU => {
                if a.len() != 24 {
                    return Err(bad());
                }
                let (n, s) = a.split_at(16);
                let id_nonce: [u8; 16] = n.try_into().map_err(|_| bad())?;
                let seq: [u8; 8] = s.try_into().map_err(|_| bad())?;
                Ok(PacketKind::WhoAreYou {
                    id_nonce,
                    enr_seq: u64::from_be_bytes(seq),
                })
            }
            FLAG_HANDSHAKE => {
                if a.len() < 34 {
                    return Err(bad());
                }
                let (head, rest) = a.split_at(34);
                let (src, sizes) = head.split_at(32);
                let (sig, key) = match sizes {
                    [s, k] => (*s, *k),
                    _ => return Err(bad()),
                };
                if sig != 64 || key != 33 {
                    return Err(Error::UnsupportedIdScheme { sig, key });
                }
                if rest.len() < 97 {
                    return Err(bad());
                }
                let (sig_bytes, rest) = rest.split_at(64);
                let (key_bytes, record) = rest.split_at(33);
                if record.len() > MAX_RECORD_SIZE {
                    return Err(Error::InvalidRecord("record above 300 bytes"));
                }
                Ok(PacketKind::Handshake {
                    src_id: NodeId(src.try_into().map_err(|_| bad())?),
                    id_signature: sig_bytes.try_into().map_err(|_| bad())?,
                    eph_pubkey: key_bytes.try_into().map_err(|_| bad())?,
                    record: (!record.is_empty()).then(|| record.to_vec()),
                })
            }
            other => Err(Error::UnknownFlag(other)),
        }
    }
}

/// A packet header in the clear: masking IV, nonce and kind. Its encoding
/// (`masking-iv || static-header || authdata`) is both the AES-GCM
/// `message-ad` and, for WHOAREYOU, the handshake's `challenge-data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketHeader {
    /// `masking-iv`: random per packet.
    pub masking_iv: [u8; 16],
    /// `nonce` (for WHOAREYOU: the nonce of the packet it answers).
    pub nonce: Nonce,
    /// Flag and authdata.
    pub kind: PacketKind,
}

impl PacketHeader {
    /// `masking-iv || static-header || authdata`, unmasked: the
    /// `message-ad` of discv5-wire and the `challenge-data` of
    /// discv5-theory, appended to `out`.
    pub fn write_authenticated_data(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.masking_iv);
        out.extend_from_slice(PROTOCOL_ID);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.push(self.kind.flag());
        out.extend_from_slice(&self.nonce);
        // authdata is at most 34 + 97 + 300 bytes, always fits u16.
        out.extend_from_slice(&(self.kind.authdata_len() as u16).to_be_bytes());
        self.kind.write_authdata(out);
    }

    /// [`write_authenticated_data`](Self::write_authenticated_data) into a
    /// new vector.
    pub fn authenticated_data(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MASKING_IV_SIZE + STATIC_HEADER_SIZE + 64);
        self.write_authenticated_data(&mut out);
        out
    }

    /// Size of `masking-iv || header` on the wire.
    pub fn encoded_len(&self) -> usize {
        MASKING_IV_SIZE + STATIC_HEADER_SIZE + self.kind.authdata_len()
    }
}

/// Writes `masking-iv || masked-header || message` for `dest_id` into
/// `out` (cleared first). `message` is the already AES-GCM sealed message
/// (empty for WHOAREYOU).
pub fn encode_packet(dest_id: &NodeId, header: &PacketHeader, message: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(header.encoded_len() + message.len());
    header.write_authenticated_data(out);
    mask(dest_id, &header.masking_iv, &mut out[MASKING_IV_SIZE..]);
    out.extend_from_slice(message);
}

fn mask(dest_id: &NodeId, iv: &[u8; 16], data: &mut [u8]) {
    let mut key = [0u8; 16];
    key.copy_from_slice(&dest_id.0[..16]);
    let mut cipher = Aes128Ctr::new(&key.into(), iv.into());
    cipher.apply_keystream(data);
}

/// A received packet: the unmasked header, the authenticated data in the
/// clear and the still-sealed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedPacket<'a> {
    /// The decoded header.
    pub header: PacketHeader,
    /// `masking-iv || static-header || authdata` exactly as received
    /// (unmasked): the AES-GCM associated data, or the `challenge-data`.
    pub authenticated_data: Vec<u8>,
    /// The sealed message (ciphertext and tag); empty for WHOAREYOU.
    pub message: &'a [u8],
}

/// Unmasks and parses a datagram addressed to `local_id`.
///
/// Rejects (with a typed error, never a panic) sizes outside 63..=1280,
/// a wrong protocol-id or version, unknown flags, authdata sizes that do
/// not fit the flag or the datagram, and WHOAREYOU packets with a body.
///
/// ```
/// use status_discovery::discv5::packet::{decode_packet, encode_packet, PacketHeader, PacketKind};
/// use status_discovery::discv5::Error;
/// use status_discovery::NodeId;
///
/// let dest = NodeId([7; 32]);
/// let header = PacketHeader {
///     masking_iv: [1; 16],
///     nonce: [2; 12],
///     kind: PacketKind::WhoAreYou { id_nonce: [3; 16], enr_seq: 5 },
/// };
/// let mut datagram = Vec::new();
/// encode_packet(&dest, &header, &[], &mut datagram);
/// assert_eq!(datagram.len(), 63); // the smallest packet there is
///
/// let packet = decode_packet(&dest, &datagram)?;
/// assert_eq!(packet.header, header);
/// assert_eq!(packet.authenticated_data, header.authenticated_data());
/// assert!(packet.message.is_empty());
///
/// // Masked for another node, or WHOAREYOU with a body: typed errors.
/// let other = NodeId([8; 32]);
/// assert_eq!(decode_packet(&other, &datagram).err(), Some(Error::InvalidProtocolId));
/// encode_packet(&dest, &header, &[0; 16], &mut datagram);
/// assert_eq!(decode_packet(&dest, &datagram).err(), Some(Error::WhoAreYouWithMessage(16)));
/// assert_eq!(decode_packet(&dest, &[0; 1300]).err(), Some(Error::PacketTooLarge(1300)));
/// # Ok::<(), Error>(())
/// ```
pub fn decode_packet<'a>(
    local_id: &NodeId,
    datagram: &'a [u8],
) -> Result<DecodedPacket<'a>, Error> {
    if datagram.len() < MIN_PACKET_SIZE {
        return Err(Error::PacketTooSmall(datagram.len()));
    }
    if datagram.len() > MAX_PACKET_SIZE {
        return Err(Error::PacketTooLarge(datagram.len()));
    }
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&datagram[..MASKING_IV_SIZE]);
    let mut key = [0u8; 16];
    key.copy_from_slice(&local_id.0[..16]);
    let mut cipher = Aes128Ctr::new(&key.into(), (&iv).into());

    let head_end = MASKING_IV_SIZE + STATIC_HEADER_SIZE;
    let mut ad = Vec::with_capacity(head_end + 64);
    ad.extend_from_slice(&datagram[..head_end]);
    cipher.apply_keystream(&mut ad[MASKING_IV_SIZE..]);
    let stat = &ad[MASKING_IV_SIZE..];
    if &stat[..6] != PROTOCOL_ID {
        return Err(Error::InvalidProtocolId);
    }
    let version = u16::from_be_bytes([stat[6], stat[7]]);
    if version != VERSION {
        return Err(Error::UnsupportedVersion(version));
    }
    let flag = stat[8];
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&stat[9..21]);
    let authdata_size = usize::from(u16::from_be_bytes([stat[21], stat[22]]));
    if flag > FLAG_HANDSHAKE {
        return Err(Error::UnknownFlag(flag));
    }
    let auth_end = head_end + authdata_size;
    if auth_end > datagram.len() {
        return Err(Error::InvalidAuthdataSize {
            flag,
            got: authdata_size,
        });
    }
    ad.extend_from_slice(&datagram[head_end..auth_end]);
    cipher.apply_keystream(&mut ad[head_end..]);
    let kind = PacketKind::parse_authdata(flag, &ad[head_end..])?;
    let message = &datagram[auth_end..];
    if flag == FLAG_WHOAREYOU && !message.is_empty() {
        return Err(Error::WhoAreYouWithMessage(message.len()));
    }
    Ok(DecodedPacket {
        header: PacketHeader {
            masking_iv: iv,
            nonce,
            kind,
        },
        authenticated_data: ad,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_kind() -> impl Strategy<Value = PacketKind> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|s| PacketKind::Message { src_id: NodeId(s) }),
            (any::<[u8; 16]>(), any::<u64>())
                .prop_map(|(id_nonce, enr_seq)| PacketKind::WhoAreYou { id_nonce, enr_seq }),
            (
                any::<[u8; 32]>(),
                proptest::collection::vec(any::<u8>(), 64),
                proptest::collection::vec(any::<u8>(), 33),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 1..300)),
            )
                .prop_map(|(s, sig, key, record)| PacketKind::Handshake {
                    src_id: NodeId(s),
                    id_signature: sig.try_into().unwrap(),
                    eph_pubkey: key.try_into().unwrap(),
                    record,
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn packet_round_trip(
            dest in any::<[u8; 32]>(),
            iv in any::<[u8; 16]>(),
            nonce in any::<[u8; 12]>(),
            kind in arb_kind(),
            body in proptest::collection::vec(any::<u8>(), 16..200),
        ) {
            let dest = NodeId(dest);
            let body = if kind.flag() == FLAG_WHOAREYOU { Vec::new() } else { body };
            let header = PacketHeader { masking_iv: iv, nonce, kind };
            let mut out = Vec::new();
            encode_packet(&dest, &header, &body, &mut out);
            prop_assume!(out.len() >= MIN_PACKET_SIZE && out.len() <= MAX_PACKET_SIZE);
            let dec = decode_packet(&dest, &out).unwrap();
            prop_assert_eq!(&dec.header, &header);
            prop_assert_eq!(dec.authenticated_data, header.authenticated_data());
            prop_assert_eq!(dec.message, &body[..]);
        }

        #[test]
        fn arbitrary_datagrams_never_panic(
            dest in any::<[u8; 32]>(),
            data in proptest::collection::vec(any::<u8>(), 0..1400),
        ) {
            let _ = decode_packet(&NodeId(dest), &data);
        }
    }

    #[test]
    fn packets_outside_size_bounds_are_rejected() {
        let id = NodeId([1; 32]);
        assert_eq!(decode_packet(&id, &[0; 62]), Err(Error::PacketTooSmall(62)));
        assert_eq!(
            decode_packet(&id, &[0; 1281]),
            Err(Error::PacketTooLarge(1281))
        );
        assert_eq!(decode_packet(&id, &[0; 100]), Err(Error::InvalidProtocolId));
    }
}
