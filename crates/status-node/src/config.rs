//! One configuration for every role, built with [`ConfigBuilder`] from
//! status-go's defaults (v0.55.1 `params/`), and the fleet lists in the
//! form status-go's config files use ([`Fleet`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use status_core::{Enode, SecretKey};
use status_discovery::discv5;
use status_discovery::dnsdisc::Link;
use status_discovery::peerpool::{self, Limits, TopicConfig, MAILSERVER_TOPIC, WHISPER_TOPIC};
use status_discovery::{rendezvous, Enr};
use status_rlpx::p2p::{Capability, CapabilityConfig};
use status_rlpx::session;
use status_waku::topic::symmetric_key_from_password;
use status_waku::WakuConfig;

use crate::Error;

/// status-go's `MaxPeers` default (`params.NewNodeConfig`).
pub const DEFAULT_MAX_PEERS: usize = 25;
/// go-ethereum's `defaultMaxPendingPeers`, what status-go's `MaxPendingPeers:
/// 0` falls back to.
pub const DEFAULT_MAX_PENDING: usize = 50;
/// The mailserver password of status-go's fleets (`MailServerPassword`),
/// from which the history request key is derived.
pub const DEFAULT_MAILSERVER_PASSWORD: &str = "status-offline-inbox";
/// Waku and Whisper v6 both reserve this many message codes
/// (status-go `NumberOfMessageCodes`).
const MESSAGE_CODES: u64 = 128;

/// What the node does for the network (1/CLIENT "Node types").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A full Waku node that relays every envelope (1/CLIENT: a relayer
    /// MUST forward). Keeps searching for peers in the background.
    Relayer,
    /// A mobile node: Waku light mode with topic interest, only its own
    /// envelopes forwarded, 2-3 peers, discovery stopped once satisfied.
    Light,
}

/// The mailserver client role (status-11 / 11/WAKU-MAILSERVER): a
/// trusted mailserver chosen from the fleet by the PeerPool, history
/// requests paged with the cursor until complete, retried on another
/// mailserver when one does not answer.
#[derive(Debug, Clone)]
pub struct MailserverClientConfig {
    /// Mailservers to choose from (status-go `TrustedMailServers`).
    pub mailservers: Vec<Enode>,
    /// Key the request envelopes are encrypted with (derived from the
    /// mailserver password, [`DEFAULT_MAILSERVER_PASSWORD`] by default).
    pub request_key: [u8; 32],
    /// Time a mailserver has to answer one page (status-go
    /// `defaultRequestTimeout`, 10 s).
    pub request_timeout: Duration,
    /// Mailservers tried for one request before it fails.
    pub max_attempts: u32,
    /// Envelopes asked for per page (status-go's mailserver serves at
    /// most 1000, `maxQueryLimit`).
    pub page_limit: u32,
    /// History requests waiting for a mailserver or in flight at most.
    pub max_requests: usize,
    /// PoW of the request envelope (it is not relayed).
    pub request_pow: f64,
}

impl Default for MailserverClientConfig {
    fn default() -> Self {
        MailserverClientConfig {
            mailservers: Vec::new(),
            request_key: *symmetric_key_from_password(DEFAULT_MAILSERVER_PASSWORD),
            request_timeout: Duration::from_secs(10),
            max_attempts: 3,
            page_limit: 1000,
            max_requests: 64,
            request_pow: 0.0,
        }
    }
}

/// discv5 settings: where our UDP socket is reachable and whom to ask
/// first.
#[derive(Debug, Clone)]
pub struct Discv5Config {
    /// The UDP address announced in our record (the driver binds it).
    pub addr: SocketAddr,
    /// Bootstrap records (1/CLIENT "bootnodes"), as `enr:` text.
    pub bootnodes: Vec<Enr>,
    /// The machine's own settings.
    pub machine: discv5::Config,
}

/// Everything a [`Node`](crate::Node) needs; build it with
/// [`Config::builder`]. Fields are public so that one setting can be
/// changed after `build()`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our static key: the node id peers see.
    pub key: SecretKey,
    /// The role (also reflected in `waku` and `peer_pool`).
    pub role: Role,
    /// The TCP address we listen on and announce (port in Hello and in
    /// our record); `None` for a node that only dials.
    pub listen: Option<SocketAddr>,
    /// RLPx session settings shared by all connections.
    pub rlpx: Arc<session::Config>,
    /// The Waku machine's settings.
    pub waku: WakuConfig,
    /// Also speak Whisper v6 (`shh/6`) and bridge it to Waku (6/WAKU1
    /// "Waku-Whisper bridging").
    pub bridge_whisper: bool,
    /// PeerPool topics, limits and timers.
    pub peer_pool: peerpool::Config,
    /// Established connections at most (status-go `MaxPeers`); an inbound
    /// peer past this is told `TooManyPeers`.
    pub max_peers: usize,
    /// Inbound handshakes in flight at most; more connections are refused
    /// at once ([`Error::TooManyPending`]).
    pub max_pending_inbound: usize,
    /// Time a dial may take from [`Output::Dial`](crate::Output::Dial)
    /// until the TCP connection is up (go-ethereum `defaultDialTimeout`).
    pub dial_timeout: Duration,
    /// How long a misbehaving peer is kept off (not dialled, refused).
    pub ban_duration: Duration,
    /// Peers remembered as kept off at most; the earliest to expire are
    /// forgotten first.
    pub max_bans: usize,
    /// Bytes handed to the driver for one connection and not yet reported
    /// [`Input::Written`](crate::Input::Written): past this the node keeps
    /// further bytes in the session (bounded by `rlpx.max_send_buffer`).
    pub write_high_water: usize,
    /// discv5, if the node runs it.
    pub discv5: Option<Discv5Config>,
    /// EIP-1459 lists to follow (`enrtree://...`).
    pub dns_lists: Vec<Link>,
    /// DNS resolver settings.
    pub dns: status_discovery::dnsdisc::Config,
    /// Rendezvous client settings (servers empty: not used).
    pub rendezvous: rendezvous::Config,
    /// The mailserver client role, if enabled.
    pub mailserver_client: Option<MailserverClientConfig>,
    /// TTL of envelopes posted with [`Post`](crate::Post) (status-go
    /// `WakuTTL`, 120 s).
    pub post_ttl: u32,
    /// Nodes the Waku machine never rate-limits, in addition to
    /// `waku.rate_limit_exempt_ids`: the static nodes (status-go exempts
    /// its fleet).
    pub exempt_static_nodes: bool,
}

impl Config {
    /// A builder with status-go's defaults for a relayer.
    pub fn builder(key: SecretKey) -> ConfigBuilder {
        ConfigBuilder::new(key)
    }

    /// Our enode URL, when listening.
    pub fn enode(&self) -> Option<Enode> {
        self.listen.map(|a| Enode::new(&self.key.public_key(), a))
    }
}

/// Builds a [`Config`]: pick a role, add peers and discovery sources,
/// then [`build`](Self::build).
///
/// ```
/// use status_core::SecretKey;
/// use status_node::{Config, Role};
///
/// let key = SecretKey::from_bytes(&[1; 32]).unwrap();
/// let config = Config::builder(key)
///     .light()
///     .listen("127.0.0.1:30303".parse().unwrap())
///     .static_node("enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@127.0.0.1:30304".parse().unwrap())
///     .build()?;
/// assert_eq!(config.role, Role::Light);
/// assert!(config.waku.light_node);
/// assert_eq!(config.peer_pool.topics[0].static_nodes.len(), 1);
/// # Ok::<(), status_node::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    key: SecretKey,
    role: Role,
    listen: Option<SocketAddr>,
    static_nodes: Vec<Enode>,
    bootnodes: Vec<Enr>,
    discv5_addr: Option<SocketAddr>,
    dns_lists: Vec<Link>,
    rendezvous: Vec<String>,
    mailserver: Option<MailserverClientConfig>,
    max_peers: usize,
    bridge_whisper: bool,
    min_pow: Option<f64>,
    mailserver_role: bool,
}

impl ConfigBuilder {
    fn new(key: SecretKey) -> Self {
        ConfigBuilder {
            key,
            role: Role::Relayer,
            listen: None,
            static_nodes: Vec::new(),
            bootnodes: Vec::new(),
            discv5_addr: None,
            dns_lists: Vec::new(),
            rendezvous: Vec::new(),
            mailserver: None,
            max_peers: DEFAULT_MAX_PEERS,
            bridge_whisper: false,
            min_pow: None,
            mailserver_role: false,
        }
    }

    /// A full relaying node (the default).
    pub fn relayer(mut self) -> Self {
        self.role = Role::Relayer;
        self
    }

    /// A mobile / light node.
    pub fn light(mut self) -> Self {
        self.role = Role::Light;
        self
    }

    /// Listen (and announce) this TCP address.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }

    /// A static node: always dialled, re-dialled after back-off.
    pub fn static_node(mut self, enode: Enode) -> Self {
        self.static_nodes.push(enode);
        self
    }

    /// A discv5 bootstrap node; enables discv5 (on the listen address's
    /// IP and port unless [`discv5_addr`](Self::discv5_addr) says where).
    pub fn bootnode(mut self, enr: Enr) -> Self {
        self.bootnodes.push(enr);
        self
    }

    /// Runs discv5 on this UDP address (without bootnodes the node only
    /// answers others, as a bootnode does).
    pub fn discv5_addr(mut self, addr: SocketAddr) -> Self {
        self.discv5_addr = Some(addr);
        self
    }

    /// Follows an EIP-1459 list.
    pub fn dns_list(mut self, link: Link) -> Self {
        self.dns_lists.push(link);
        self
    }

    /// A rendezvous server (status-go `RendezvousNodes`, a multiaddr).
    pub fn rendezvous_node(mut self, addr: impl Into<String>) -> Self {
        self.rendezvous.push(addr.into());
        self
    }

    /// Enables the mailserver client with these mailservers to choose from
    /// (and the rest of [`MailserverClientConfig`] at its defaults).
    pub fn mailserver_client(mut self, mailservers: Vec<Enode>) -> Self {
        let mut c = self.mailserver.take().unwrap_or_default();
        c.mailservers.extend(mailservers);
        self.mailserver = Some(c);
        self
    }

    /// Enables the mailserver client with full settings.
    pub fn mailserver_client_config(mut self, config: MailserverClientConfig) -> Self {
        self.mailserver = Some(config);
        self
    }

    /// Runs the mailserver role (11/WAKU-MAILSERVER) beside the relay:
    /// every accepted envelope is reported as
    /// [`Event::Archive`](crate::Event::Archive) and every history request
    /// as [`Event::MailserverRequest`](crate::Event::MailserverRequest),
    /// to be answered with [`Node::send_p2p_messages`](crate::Node::send_p2p_messages)
    /// and [`Node::send_p2p_request_complete`](crate::Node::send_p2p_request_complete)
    /// (the `status-mailserver` crate does both); our discv5 record
    /// advertises the `whispermail` topic.
    pub fn mailserver(mut self) -> Self {
        self.mailserver_role = true;
        self
    }

    /// Established connections at most.
    pub fn max_peers(mut self, n: usize) -> Self {
        self.max_peers = n;
        self
    }

    /// Also speak Whisper v6 and bridge it to Waku.
    pub fn bridge_whisper(mut self) -> Self {
        self.bridge_whisper = true;
        self
    }

    /// Our PoW requirement (default status-go's `WakuMinimumPoW`).
    pub fn min_pow(mut self, pow: f64) -> Self {
        self.min_pow = Some(pow);
        self
    }

    /// Every list of a fleet: static nodes, bootnodes (the `enr:` ones go
    /// to discv5, `enode://` ones are dialled like static nodes), trusted
    /// mailservers (enabling the mailserver client) and rendezvous nodes.
    pub fn fleet(mut self, fleet: &Fleet) -> Result<Self, Error> {
        for s in &fleet.static_nodes {
            self.static_nodes.push(parse_enode(s)?);
        }
        for b in &fleet.boot_nodes {
            if b.starts_with("enr:") {
                self.bootnodes
                    .push(Enr::from_text(b).map_err(|e| Error::Fleet(format!("{b}: {e}")))?);
            } else {
                self.static_nodes.push(parse_enode(b)?);
            }
        }
        if !fleet.trusted_mail_servers.is_empty() {
            let ms = fleet
                .trusted_mail_servers
                .iter()
                .map(|s| parse_enode(s))
                .collect::<Result<Vec<_>, _>>()?;
            self = self.mailserver_client(ms);
        }
        self.rendezvous
            .extend(fleet.rendezvous_nodes.iter().cloned());
        Ok(self)
    }

    /// The configuration. Fails for limits that cannot hold (no peers
    /// allowed).
    pub fn build(self) -> Result<Config, Error> {
        if self.max_peers == 0 {
            return Err(Error::InvalidConfig("max_peers must be at least 1".into()));
        }
        let mut waku = match self.role {
            Role::Relayer => WakuConfig::default(),
            Role::Light => WakuConfig::light(),
        };
        if let Some(pow) = self.min_pow {
            waku.min_pow = pow;
        }
        waku.mailserver = self.mailserver_role;
        let mut caps = vec![CapabilityConfig {
            cap: Capability::new("waku", 1),
            length: MESSAGE_CODES,
        }];
        if self.bridge_whisper {
            caps.push(CapabilityConfig {
                cap: Capability::new("shh", 6),
                length: MESSAGE_CODES,
            });
        }
        let rlpx = session::Config {
            capabilities: caps,
            listen_port: self.listen.map_or(0, |a| a.port()),
            // Two largest Waku packets: enough for any one message, and a
            // peer that does not read costs us at most this.
            max_send_buffer: 2 * waku.limits.max_packet_size,
            // No Waku packet is larger; a 16 MiB frame would be a 16 MiB
            // buffer per hostile peer.
            max_frame_size: waku.limits.max_packet_size + 1024,
            max_decompressed_size: waku.limits.max_packet_size + 1024,
            ..session::Config::default()
        };
        // Relayers dial a third of their peers (go-ethereum's dial ratio)
        // and take the rest inbound; mobile nodes keep 2-3 (1/CLIENT).
        let whisper = match self.role {
            Role::Relayer => Limits {
                min: 2.min(self.max_peers),
                max: (self.max_peers / 3).max(2).min(self.max_peers),
            },
            Role::Light => Limits {
                min: 2.min(self.max_peers),
                max: 3.min(self.max_peers),
            },
        };
        let mut topics = vec![TopicConfig {
            name: WHISPER_TOPIC.into(),
            limits: whisper,
            static_nodes: dedup(self.static_nodes),
        }];
        if self.mailserver.is_some() {
            topics.push(TopicConfig {
                name: MAILSERVER_TOPIC.into(),
                limits: Limits { min: 1, max: 1 },
                static_nodes: Vec::new(),
            });
        }
        let peer_pool = peerpool::Config {
            topics,
            allow_stop: self.role == Role::Light,
            ..peerpool::Config::default()
        };
        let discv5_addr = self.discv5_addr.or_else(|| {
            (!self.bootnodes.is_empty())
                .then_some(self.listen)
                .flatten()
        });
        if !self.bootnodes.is_empty() && discv5_addr.is_none() {
            return Err(Error::InvalidConfig(
                "bootnodes need a discv5 (or listen) address".into(),
            ));
        }
        let discv5 = discv5_addr.map(|addr| Discv5Config {
            addr,
            bootnodes: self.bootnodes,
            machine: discv5::Config::default(),
        });
        Ok(Config {
            key: self.key,
            role: self.role,
            listen: self.listen,
            rlpx: Arc::new(rlpx),
            waku,
            bridge_whisper: self.bridge_whisper,
            peer_pool,
            max_peers: self.max_peers,
            max_pending_inbound: DEFAULT_MAX_PENDING,
            dial_timeout: Duration::from_secs(15),
            ban_duration: Duration::from_secs(10 * 60),
            max_bans: 1024,
            write_high_water: 256 << 10,
            discv5,
            dns_lists: self.dns_lists,
            dns: status_discovery::dnsdisc::Config::default(),
            rendezvous: rendezvous::Config {
                servers: self.rendezvous,
                ..rendezvous::Config::default()
            },
            mailserver_client: self.mailserver,
            post_ttl: 120,
            exempt_static_nodes: true,
        })
    }
}

fn dedup(mut v: Vec<Enode>) -> Vec<Enode> {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|e| seen.insert(e.id));
    v
}

fn parse_enode(s: &str) -> Result<Enode, Error> {
    s.parse().map_err(|e| Error::Fleet(format!("{s}: {e}")))
}

/// A fleet's node lists, as status-go's `ClusterConfig` (and the
/// `fleet-*.json` files) spell them.
///
/// ```
/// use status_node::Fleet;
///
/// let json = r#"{ "ClusterConfig": {
///     "Enabled": true, "Fleet": "eth.test",
///     "StaticNodes": ["enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@127.0.0.1:30303"],
///     "TrustedMailServers": [],
///     "RendezvousNodes": ["/ip4/127.0.0.1/tcp/30703/ethv4/16Uiu2HAm..."]
/// } }"#;
/// let fleet = Fleet::from_json(json)?;
/// assert_eq!(fleet.static_nodes.len(), 1);
/// assert_eq!(fleet.rendezvous_nodes.len(), 1);
/// assert!(fleet.boot_nodes.is_empty());
/// # Ok::<(), status_node::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Fleet {
    /// The fleet's name (`eth.prod`).
    pub fleet: String,
    /// Always-connected relay nodes (`enode://`).
    pub static_nodes: Vec<String>,
    /// Discovery bootstrap nodes (`enode://` or `enr:`).
    pub boot_nodes: Vec<String>,
    /// Mailservers to choose from (`enode://`).
    pub trusted_mail_servers: Vec<String>,
    /// Rendezvous servers (multiaddrs).
    pub rendezvous_nodes: Vec<String>,
}

impl Fleet {
    /// Reads a `ClusterConfig` object, or a whole status-go node config
    /// holding one under `"ClusterConfig"`.
    pub fn from_json(json: &str) -> Result<Fleet, Error> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::Fleet(e.to_string()))?;
        let cluster = value.get("ClusterConfig").unwrap_or(&value);
        serde_json::from_value(cluster.clone()).map_err(|e| Error::Fleet(e.to_string()))
    }
}
