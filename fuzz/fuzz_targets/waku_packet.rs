//! waku/1 and whisper/6 packet decoders, every code, on arbitrary bytes:
//! the first byte picks the code, the rest is the payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use status_waku::packet::{Limits, Packet, ShhPacket};

fuzz_target!(|data: &[u8]| {
    let Some((&c, payload)) = data.split_first() else {
        return;
    };
    // Codes 0..=127 of the capability plus a few beyond.
    let code = u64::from(c % 132);
    let limits = Limits {
        max_packet_size: 64 << 10,
        max_envelope_size: 32 << 10,
    };
    if let Ok(p) = Packet::decode(code, &payload.to_vec().into(), &limits) {
        // What we accept we can write back; writing is stable from then on.
        let once = p.to_vec();
        let again = Packet::decode(p.code(), &once.clone().into(), &limits).expect("re-decode");
        assert_eq!(again.to_vec(), once);
    }
    if let Ok(p) = ShhPacket::decode(code, &payload.to_vec().into(), &limits) {
        let once = p.to_vec();
        let again = ShhPacket::decode(p.code(), &once.clone().into(), &limits).expect("re-decode");
        assert_eq!(again.to_vec(), once);
    }
});
