//! Whole networks of messengers in status-sim (feature `sim`): each
//! [`Device`] is a real [`Messenger`] over a real `status_waku` machine,
//! glued by [`Bridge`]; links carry Waku packets (code, payload), so one
//! seed replays a conversation byte for byte. status-sim itself knows no
//! protocol; this is the scenario side that lives beside the crate it
//! tests (DESIGN.md).
//!
//! ```
//! use status_protocol::sim::Net;
//! use status_protocol::Command;
//! use status_sim::LinkConfig;
//!
//! let mut net = Net::new(7, &["alice", "bob"], LinkConfig::default());
//! for i in 0..2 {
//!     net.with(i, |d, ctx| d.command(ctx, Command::JoinPublic { name: "status".into() }));
//! }
//! let chat = status_protocol::ChatId::public("status").unwrap();
//! net.with(0, |d, ctx| {
//!     d.command(ctx, Command::SendText { chat: chat.clone(), text: "hi".into(), response_to: None })
//! });
//! net.run_for(2_000);
//! assert_eq!(net.dev(1).received_in(&chat).len(), 1);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::store::MemoryStore;
use crate::{Bridge, ChatId, Command, Config, Event, Input, MessageId, Messenger, Outcome};
use bytes::Bytes;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{PublicKey, SecretKey, Timestamp};
use status_sim::{Ctx, LinkConfig, Node, NodeIndex, Sim, SimConfig};
use status_waku::node::Event as WakuEvent;
use status_waku::peer::{PeerId, Protocol};
use status_waku::{Waku, WakuConfig};

/// The simulations' epoch, in ms (2023-11-14).
pub const T0: u64 = 1_700_000_000_000;

/// [`T0`] as a timestamp.
pub fn t0() -> Timestamp {
    Timestamp::from_millis(T0)
}

/// One device: a messenger over an in-memory store and its Waku node.
pub struct Device {
    /// Its name in the scenario.
    pub name: String,
    /// Its account's identity.
    pub key: SecretKey,
    /// The messenger (`None` only while restarting).
    pub messenger: Option<Messenger<MemoryStore>>,
    /// Its Waku node.
    pub waku: Waku,
    bridge: Bridge,
    rng: ChaCha20Rng,
    seed: [u8; 32],
    config: Config,
    peer_of: BTreeMap<NodeIndex, PeerId>,
    node_of: BTreeMap<PeerId, NodeIndex>,
    /// Every event the messenger emitted, in order.
    pub events: Vec<Event>,
    /// Errors of received messages (peer errors).
    pub rejected: Vec<String>,
    /// Restarts so far.
    pub restarts: u32,
}

impl Device {
    /// A device of the account `key`, seeded from `seed`.
    pub fn new(name: &str, key: SecretKey, seed: u64, config: Config) -> Device {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        let messenger =
            Messenger::open(config.clone(), key.clone(), MemoryStore::new(), t0(), s).unwrap(); // ok: a scenario bug, never input
        let waku_config = WakuConfig {
            min_pow: 0.0,
            ..WakuConfig::default()
        };
        Device {
            name: name.into(),
            bridge: Bridge::new(key.clone()),
            key,
            messenger: Some(messenger),
            waku: Waku::new(waku_config, t0()),
            rng: ChaCha20Rng::seed_from_u64(seed ^ 0x5eed),
            seed: s,
            config,
            peer_of: BTreeMap::new(),
            node_of: BTreeMap::new(),
            events: Vec::new(),
            rejected: Vec::new(),
            restarts: 0,
        }
    }

    /// The running messenger.
    pub fn m(&mut self) -> &mut Messenger<MemoryStore> {
        self.messenger.as_mut().expect("messenger running") // ok: a scenario bug, never input
    }

    /// Its account's public key.
    pub fn public(&self) -> PublicKey {
        self.key.public_key()
    }

    /// Crash and restart: what the store committed is all that survives.
    pub fn restart(&mut self, now: Timestamp) {
        let store = self.messenger.take().expect("running").into_store(); // ok: a scenario bug, never input
        self.restarts += 1;
        let mut seed = self.seed;
        seed[31] = seed[31].wrapping_add(self.restarts as u8);
        let m = Messenger::open(self.config.clone(), self.key.clone(), store, now, seed).unwrap(); // ok: a scenario bug, never input
                                                                                                   // a new process: the messenger asks for its filters again
        self.bridge.clear(&mut self.waku);
        self.messenger = Some(m);
    }

    /// Runs the glue loop until quiet: messenger outputs to Waku, Waku
    /// deliveries to the messenger, Waku packets onto the links.
    pub fn pump(&mut self, ctx: &mut Ctx<'_, (u64, Bytes)>) {
        let now = ctx.now();
        loop {
            let mut busy = false;
            if let Some(m) = self.messenger.as_mut() {
                while let Some(out) = m.poll_output() {
                    busy = true;
                    match self.bridge.apply(&mut self.waku, &mut self.rng, now, out) {
                        Ok(Some(e)) => self.events.push(e),
                        Ok(None) => {}
                        Err(e) => self.rejected.push(format!("post: {e}")),
                    }
                }
            }
            while let Some(ev) = self.waku.poll_event() {
                busy = true;
                if let WakuEvent::Message(d) = ev {
                    if let (Some(input), Some(m)) = (self.bridge.input(&d), self.messenger.as_mut())
                    {
                        if let Err(e) = m.handle_input(now, input) {
                            self.rejected.push(e.to_string());
                        }
                    }
                }
            }
            while let Some(t) = self.waku.poll_transmit() {
                busy = true;
                if let Some(to) = self.node_of.get(&t.peer) {
                    ctx.send(*to, (t.code, t.payload));
                }
            }
            if !busy {
                break;
            }
        }
    }

    /// Runs a command now and pumps.
    ///
    /// # Panics
    /// If the messenger refuses it: scenarios issue valid commands only.
    pub fn command(&mut self, ctx: &mut Ctx<'_, (u64, Bytes)>, cmd: Command) -> Outcome {
        let now = ctx.now();
        let r = self
            .m()
            .handle_input(now, Input::Command(cmd))
            .unwrap_or_else(|e| panic!("scenario command refused: {e}"));
        self.pump(ctx);
        r
    }

    /// Ids of chat messages received (ours from other devices included),
    /// with how often each arrived.
    /// Every message id received, with how often it arrived.
    pub fn received(&self) -> BTreeMap<MessageId, usize> {
        let mut out = BTreeMap::new();
        for e in &self.events {
            if let Event::MessageReceived(m) = e {
                *out.entry(m.id).or_default() += 1;
            }
        }
        out
    }

    /// `(author, text)` of every message received in `chat`.
    pub fn received_in(&self, chat: &ChatId) -> Vec<(PublicKey, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::MessageReceived(m) if &m.chat == chat => Some((m.from, m.text.clone())),
                _ => None,
            })
            .collect()
    }

    /// Ids of our messages acknowledged by a recipient.
    pub fn delivered(&self) -> BTreeSet<MessageId> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::MessageDelivered { id, .. } => Some(*id),
                _ => None,
            })
            .collect()
    }
}

impl Node for Device {
    type Packet = (u64, Bytes);

    fn handle_packet(
        &mut self,
        ctx: &mut Ctx<'_, Self::Packet>,
        from: NodeIndex,
        packet: Self::Packet,
    ) {
        let now = ctx.now();
        if let Some(peer) = self.peer_of.get(&from) {
            let _ = self.waku.handle_input(now, *peer, packet.0, packet.1);
        }
        self.pump(ctx);
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_, Self::Packet>) {
        let now = ctx.now();
        if self.waku.poll_timeout().is_some_and(|(t, _)| t <= now) {
            self.waku.handle_timeout(now);
        }
        if let Some(m) = self.messenger.as_mut() {
            if m.poll_timeout().is_some_and(|(t, _)| t <= now) {
                m.handle_timeout(now).unwrap(); // ok: a scenario bug, never input
            }
        }
        self.pump(ctx);
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        let w = self.waku.poll_timeout().map(|(t, _)| t);
        let m = self
            .messenger
            .as_ref()
            .and_then(|m| m.poll_timeout())
            .map(|(t, _)| t);
        [w, m].into_iter().flatten().min()
    }

    fn packet_size(p: &Self::Packet) -> usize {
        p.1.len() + 8
    }
}

/// Devices in a full mesh of Waku peers.
pub struct Net {
    /// The simulator.
    pub sim: Sim<Device>,
    /// The devices, in the order they were added.
    pub nodes: Vec<NodeIndex>,
    link: LinkConfig,
}

impl Net {
    /// `names.len()` devices, each with its own identity, in a full mesh of
    /// Waku peers over `link`.
    pub fn new(seed: u64, names: &[&str], link: LinkConfig) -> Net {
        let keys: Vec<SecretKey> = names
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let mut b = [0u8; 32];
                b[..8].copy_from_slice(&(seed.wrapping_mul(1000) + i as u64 + 1).to_le_bytes());
                b[31] = 1;
                SecretKey::from_bytes(&b).unwrap() // ok: a scenario bug, never input
            })
            .collect();
        Net::with_keys(seed, names, keys, link)
    }

    /// The Waku handshakes run over clean links (over TCP a lost Status
    /// packet would be a lost connection, not a lost packet); `link` applies
    /// once every pair is connected.
    pub fn with_keys(seed: u64, names: &[&str], keys: Vec<SecretKey>, link: LinkConfig) -> Net {
        let clean = LinkConfig {
            latency: link.latency,
            ..LinkConfig::default()
        };
        let mut sim = Sim::new(SimConfig {
            seed,
            default_link: clean,
            ..SimConfig::default()
        });
        sim.run_until(t0());
        let mut nodes = Vec::new();
        for (i, (name, key)) in names.iter().zip(keys).enumerate() {
            let config = Config {
                installation_id: Some(format!("{name}-device")),
                ..Config::default()
            };
            nodes.push(sim.add_node(Device::new(name, key, seed * 100 + i as u64, config)));
        }
        let mut net = Net { sim, nodes, link };
        for i in 0..net.nodes.len() {
            for j in 0..net.nodes.len() {
                if i != j {
                    net.connect(net.nodes[i], net.nodes[j]);
                }
            }
        }
        net.run_for(1_000);
        for &a in &net.nodes {
            for &b in &net.nodes {
                if a != b {
                    net.sim.set_link(a, b, net.link);
                }
            }
        }
        net
    }

    /// Adds a device of account `key`, connected to every other.
    pub fn add_device(
        &mut self,
        name: &str,
        key: SecretKey,
        seed: u64,
        installation: &str,
    ) -> NodeIndex {
        let config = Config {
            installation_id: Some(installation.into()),
            ..Config::default()
        };
        let idx = self.sim.add_node(Device::new(name, key, seed, config));
        for other in self.nodes.clone() {
            self.connect(idx, other);
            self.connect(other, idx);
        }
        self.run_for(1_000);
        for other in self.nodes.clone() {
            self.sim.set_link(idx, other, self.link);
            self.sim.set_link(other, idx, self.link);
        }
        self.nodes.push(idx);
        idx
    }

    fn connect(&mut self, a: NodeIndex, b: NodeIndex) {
        let b_id = self.sim.node(b).unwrap().public().node_id(); // ok: a scenario bug, never input
        self.sim.with_node(a, |dev, ctx| {
            let now = ctx.now();
            let peer = dev.waku.add_peer(now, b_id, None, Protocol::Waku1);
            dev.peer_of.insert(b, peer);
            dev.node_of.insert(peer, b);
            dev.pump(ctx);
        });
    }

    /// Device `i`.
    pub fn dev(&self, i: usize) -> &Device {
        self.sim.node(self.nodes[i]).unwrap() // ok: a scenario bug, never input
    }

    /// Runs `f` on device `i` now, sending what it produced.
    pub fn with<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Device, &mut Ctx<'_, (u64, Bytes)>) -> R,
    ) -> R {
        self.sim.with_node(self.nodes[i], f).expect("node exists") // ok: a scenario bug, never input
    }

    /// Runs the simulation for `ms` of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        let until = Timestamp::from_millis(self.sim.now().as_millis() + ms);
        self.sim.run_until(until);
    }

    /// Virtual time now.
    pub fn now(&self) -> Timestamp {
        self.sim.now()
    }
}
