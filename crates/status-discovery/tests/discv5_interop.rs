//! Interop with an independent discv5 v5.1 implementation,
//! @chainsafe/discv5 11, through `discv5-peer.mjs` (shared/peers) over
//! loopback UDP. Both directions: we handshake with it and send PING,
//! FINDNODE, TALKREQ; it handshakes with us and does the same.
//!
//! Each test prints `SKIP` and passes when `node` or the installed peer is
//! missing (set `STATUS_RS_PEERS` to a copy of shared/peers after
//! `npm ci`).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use status_core::{SecretKey, Timestamp};
use status_discovery::discv5::{Config, Discv5, Event};
use status_discovery::Enr;
use status_vectors::peers::{peers_dir, NodePeer};

const SCRIPT: &str = "discv5-peer.mjs";

fn now() -> Timestamp {
    Timestamp::from_millis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Our node on a loopback socket.
fn our_node(key_byte: u8, config: Config) -> (Discv5, UdpSocket) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let key = SecretKey::from_bytes(&[key_byte; 32]).unwrap();
    let enr = Enr::builder()
        .seq(1)
        .ip4([127, 0, 0, 1].into())
        .udp(socket.local_addr().unwrap().port())
        .sign(&key)
        .unwrap();
    let node = Discv5::new(key, enr, config, [key_byte; 32], now()).unwrap();
    (node, socket)
}

/// Runs the node on its socket, handing every event to `on_event`, until
/// it returns `true` or `within` passes.
fn drive(
    node: &mut Discv5,
    socket: &UdpSocket,
    within: Duration,
    mut on_event: impl FnMut(&mut Discv5, Event) -> bool,
) -> bool {
    let end = Instant::now() + within;
    let mut buf = [0u8; 1500];
    loop {
        while let Some(tx) = node.poll_transmit() {
            assert!(tx.to.ip().is_loopback(), "loopback only");
            socket.send_to(&tx.datagram, tx.to).unwrap();
        }
        while let Some(ev) = node.poll_event() {
            if on_event(node, ev) {
                // Flush what the last event produced (e.g. a TALKRESP).
                while let Some(tx) = node.poll_transmit() {
                    socket.send_to(&tx.datagram, tx.to).unwrap();
                }
                return true;
            }
        }
        if Instant::now() >= end {
            return false;
        }
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Err(e) = node.handle_input(now(), from, &buf[..n]) {
                    println!("dropped datagram from {from}: {e}");
                }
            }
            Err(_) => node.handle_timeout(now()),
        }
        if node.poll_timeout().is_some_and(|(t, _)| t <= now()) {
            node.handle_timeout(now());
        }
    }
}

#[test]
fn we_handshake_ping_findnode_and_talk_with_chainsafe() {
    let Some(dir) = peers_dir(SCRIPT, "@chainsafe/discv5") else {
        return;
    };
    let port = free_udp_port().to_string();
    let mut peer = NodePeer::spawn(
        &dir,
        SCRIPT,
        &["serve", "--port", &port, "--exit-after", "60"],
    );
    let line = peer.expect("ENR enr:", Duration::from_secs(20));
    let text = line
        .split_whitespace()
        .find(|w| w.starts_with("enr:"))
        .unwrap();
    let their = Enr::from_text(text).unwrap();
    assert_eq!(
        their.udp_socket(),
        Some(SocketAddr::from((
            [127, 0, 0, 1],
            port.parse::<u16>().unwrap()
        )))
    );

    let (mut node, socket) = our_node(0x21, Config::default());
    let t = now();
    let ping = node.ping(t, &their).unwrap();
    let find = node.find_node(t, &their, &[0, 256]).unwrap();
    let talk = node
        .talk_req(t, &their, b"status-test", b"\x01\x02\x03")
        .unwrap();
    let mut got_pong = None;
    let mut got_nodes = None;
    let mut got_talk = None;
    let done = drive(&mut node, &socket, Duration::from_secs(20), |_, ev| {
        match ev {
            Event::Pong {
                request_id,
                enr_seq,
                ip,
                port,
                ..
            } if request_id == ping => got_pong = Some((enr_seq, ip, port)),
            Event::Nodes {
                request_id, enrs, ..
            } if request_id == find => got_nodes = Some(enrs),
            Event::TalkResp {
                request_id,
                response,
                ..
            } if request_id == talk => got_talk = Some(response),
            Event::RequestFailed { reason, .. } => panic!("request failed: {reason}"),
            _ => {}
        }
        got_pong.is_some() && got_nodes.is_some() && got_talk.is_some()
    });
    assert!(done, "all three answered");
    let (enr_seq, ip, pong_port) = got_pong.unwrap();
    assert_eq!(enr_seq, their.seq());
    assert_eq!(ip, socket.local_addr().unwrap().ip());
    assert_eq!(pong_port, socket.local_addr().unwrap().port());
    // Distance 0 is the responder's own record.
    let nodes = got_nodes.unwrap();
    assert!(
        nodes.iter().any(|e| e.node_id() == their.node_id()),
        "{nodes:?}"
    );
    // discv5-peer.mjs echoes the TALKREQ payload.
    assert_eq!(got_talk.unwrap(), b"\x01\x02\x03");
    peer.expect("SESSION established", Duration::from_secs(5));
}

#[test]
fn chainsafe_handshakes_pings_and_talks_with_us() {
    let Some(dir) = peers_dir(SCRIPT, "@chainsafe/discv5") else {
        return;
    };
    let config = Config {
        talk_protocols: vec![b"echo".to_vec()],
        ..Config::default()
    };
    let (mut node, socket) = our_node(0x22, config);
    let ours = node.local_enr().to_text();
    let port = free_udp_port().to_string();
    let mut peer = NodePeer::spawn(
        &dir,
        SCRIPT,
        &["ping", &ours, "--port", &port, "--talk", "echo:c0ffee"],
    );
    let mut talked = false;
    let answered = drive(&mut node, &socket, Duration::from_secs(25), |node, ev| {
        if let Event::TalkRequest {
            node_id,
            addr,
            request_id,
            protocol,
            request,
        } = ev
        {
            assert_eq!(protocol, b"echo");
            assert_eq!(request, [0xc0, 0xff, 0xee]);
            node.talk_resp(now(), node_id, addr, request_id, &request)
                .unwrap();
            talked = true;
        }
        talked
    });
    assert!(answered, "chainsafe sent its TALKREQ");
    // Keep serving while the peer finishes, then check its verdict.
    let _ = drive(&mut node, &socket, Duration::from_millis(500), |_, _| false);
    let pong = peer.expect("PONG enrSeq=", Duration::from_secs(10));
    assert!(pong.contains("enrSeq=1"), "{pong}");
    peer.expect("NODES (distances 0,256) count=1", Duration::from_secs(10));
    peer.expect("TALKRESP payload=c0ffee", Duration::from_secs(10));
    let status = peer
        .wait_exit(Duration::from_secs(30))
        .expect("discv5-peer.mjs ping exits");
    assert!(
        status.success(),
        "discv5-peer.mjs ping exited with {status}"
    );
    assert!(node.stats().handshakes >= 1);
}
