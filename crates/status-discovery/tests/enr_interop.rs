//! ENR cross-check with an independent implementation: @chainsafe/enr,
//! through `enr-tool.mjs` (shared/peers; install with `npm ci` in a copy and
//! point `STATUS_RS_PEERS` at it, or let `.ci/run` install it in
//! `target/peers`).
//!
//! Prints `SKIP` and passes when `node` or the installed tool is missing.

use std::path::Path;
use std::process::Command;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use status_core::SecretKey;
use status_discovery::enr::Enr;
use status_vectors::peers::peers_dir;

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("node")
        .arg("enr-tool.mjs")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "enr-tool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// (key, seq, ip, tcp, udp, extra key/value) for the records both sides make.
///
/// Ports are at least 256: @chainsafe/enr writes every port as 2 bytes and
/// refuses to read a 1-byte one, see `chainsafe_small_ports_are_zero_padded`.
type Record = (SecretKey, u64, [u8; 4], u16, u16, (&'static str, Vec<u8>));

fn records() -> Vec<Record> {
    let mut rng = ChaCha20Rng::from_seed([7u8; 32]);
    vec![
        (
            SecretKey::random(&mut rng),
            1,
            [127, 0, 0, 1],
            30303,
            30303,
            ("waku2", vec![0x0f]),
        ),
        (
            SecretKey::random(&mut rng),
            2,
            [10, 1, 2, 3],
            443,
            30305,
            ("les", vec![0xaa, 0xbb]),
        ),
        (
            SecretKey::random(&mut rng),
            999_999,
            [192, 168, 0, 1],
            256,
            65535,
            ("zzz", vec![0u8; 40]),
        ),
    ]
}

#[test]
fn chainsafe_decodes_our_records() {
    let Some(dir) = peers_dir("enr-tool.mjs", "@chainsafe/enr") else {
        return;
    };
    for (key, seq, ip, tcp, udp, (k, v)) in records() {
        let enr = Enr::builder()
            .seq(seq)
            .ip4(ip.into())
            .tcp(tcp)
            .udp(udp)
            .insert(k, &v)
            .sign(&key)
            .unwrap();
        let json: Value = serde_json::from_str(&run(&dir, &["decode", &enr.to_text()])).unwrap();
        assert_eq!(json["rlp"], hex::encode(enr.as_bytes()));
        assert_eq!(json["reencodedTxt"], enr.to_text());
        assert_eq!(json["seq"], seq.to_string());
        assert_eq!(json["nodeId"], hex::encode(enr.node_id().0));
        assert_eq!(
            json["publicKey"],
            hex::encode(key.public_key().to_compressed())
        );
        assert_eq!(json["ip"], std::net::Ipv4Addr::from(ip).to_string());
        assert_eq!(json["tcp"], u64::from(tcp));
        assert_eq!(json["udp"], u64::from(udp));
        assert_eq!(json["kv"][k], hex::encode(&v));
        assert_eq!(json["signature"], hex::encode(enr.signature()));
    }
}

#[test]
fn we_decode_chainsafe_records_and_sign_the_same_bytes() {
    let Some(dir) = peers_dir("enr-tool.mjs", "@chainsafe/enr") else {
        return;
    };
    for (key, seq, ip, tcp, udp, (k, v)) in records() {
        let ip_s = std::net::Ipv4Addr::from(ip).to_string();
        let kv = format!("{k}={}", hex::encode(&v));
        let text = run(
            &dir,
            &[
                "encode",
                "--key",
                &hex::encode(key.to_bytes().as_slice()),
                "--seq",
                &seq.to_string(),
                "--ip",
                &ip_s,
                "--tcp",
                &tcp.to_string(),
                "--udp",
                &udp.to_string(),
                "--kv",
                &kv,
            ],
        );
        let theirs: Enr = text.trim().parse().unwrap();
        assert_eq!(theirs.seq(), seq);
        assert_eq!(theirs.public_key(), &key.public_key());
        assert_eq!(theirs.ip4(), Some(ip.into()));
        assert_eq!(theirs.tcp(), Some(tcp));
        assert_eq!(theirs.udp(), Some(udp));
        assert_eq!(theirs.get_bytes(k.as_bytes()), Some(&v[..]));
        // Both sides use RFC 6979 nonces, so the records are identical.
        let ours = Enr::builder()
            .seq(seq)
            .ip4(ip.into())
            .tcp(tcp)
            .udp(udp)
            .insert(k, &v)
            .sign(&key)
            .unwrap();
        assert_eq!(ours, theirs);
    }
}

/// @chainsafe/enr writes port 1 as `0x0001` (not a canonical RLP integer):
/// we still read it, and our canonical 1-byte form differs from theirs.
#[test]
fn chainsafe_small_ports_are_zero_padded() {
    let Some(dir) = peers_dir("enr-tool.mjs", "@chainsafe/enr") else {
        return;
    };
    let key = SecretKey::from_bytes(&[3u8; 32]).unwrap();
    let text = run(
        &dir,
        &[
            "encode",
            "--key",
            &hex::encode([3u8; 32]),
            "--tcp",
            "1",
            "--udp",
            "80",
        ],
    );
    let theirs: Enr = text.trim().parse().unwrap();
    assert_eq!(theirs.get_bytes(b"tcp"), Some(&[0u8, 1][..]));
    assert_eq!(theirs.tcp(), Some(1));
    assert_eq!(theirs.udp(), Some(80));
    let ours = Enr::builder().tcp(1).udp(80).sign(&key).unwrap();
    assert_eq!(ours.get_bytes(b"tcp"), Some(&[1u8][..]));
    assert_ne!(ours.as_bytes(), theirs.as_bytes());
}
