//! The XOR metric on node ids (discv5-theory "Nodes, Records and
//! Distances").

use std::cmp::Ordering;

use crate::enr::NodeId;

/// `logdistance(a, b)`: the bit length of `a XOR b`, 0 for equal ids and
/// 256 when the top bit differs. It is also the FINDNODE distance.
pub fn log2_distance(a: &NodeId, b: &NodeId) -> u16 {
    for (i, (x, y)) in a.0.iter().zip(b.0.iter()).enumerate() {
        let d = x ^ y;
        if d != 0 {
            return (256 - 8 * i as u32 - d.leading_zeros()) as u16;
        }
    }
    0
}

/// Compares `a` and `b` by XOR distance to `target`.
pub fn cmp_distance(target: &NodeId, a: &NodeId, b: &NodeId) -> Ordering {
    for ((t, x), y) in target.0.iter().zip(a.0.iter()).zip(b.0.iter()) {
        let (da, db) = (t ^ x, t ^ y);
        if da != db {
            return da.cmp(&db);
        }
    }
    Ordering::Equal
}

/// A random id at exactly `distance` (0..=256) from `origin`; used to pick
/// bucket-refresh targets.
pub(crate) fn random_at_distance(origin: &NodeId, distance: u16, random: [u8; 32]) -> NodeId {
    if distance == 0 {
        return *origin;
    }
    let bit = usize::from(distance.min(256)) - 1;
    let byte = 31 - bit / 8;
    let mut xor = random;
    for b in xor.iter_mut().take(byte) {
        *b = 0;
    }
    let in_byte = (bit % 8) as u32;
    let keep: u8 = if in_byte == 7 {
        0xff
    } else {
        (1u8 << (in_byte + 1)) - 1
    };
    xor[byte] = (xor[byte] & keep) | (1u8 << in_byte);
    let mut out = origin.0;
    for (o, x) in out.iter_mut().zip(xor.iter()) {
        *o ^= x;
    }
    NodeId(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn log2_distance_edges() {
        let a = NodeId([0; 32]);
        assert_eq!(log2_distance(&a, &a), 0);
        let mut b = [0u8; 32];
        b[31] = 1;
        assert_eq!(log2_distance(&a, &NodeId(b)), 1);
        b[0] = 0x80;
        assert_eq!(log2_distance(&a, &NodeId(b)), 256);
    }

    proptest! {
        #[test]
        fn random_at_distance_has_that_distance(
            id in any::<[u8; 32]>(), r in any::<[u8; 32]>(), d in 0u16..=256
        ) {
            let id = NodeId(id);
            prop_assert_eq!(log2_distance(&id, &random_at_distance(&id, d, r)), d);
        }
    }
}
