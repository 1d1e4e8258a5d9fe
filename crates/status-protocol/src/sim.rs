//! A network of devices in status-sim: each is a real [`Messenger`] over a
//! real `status_waku` machine, glued by [`Bridge`]; links carry Waku
//! packets (code, payload).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use status_core::{PublicKey, SecretKey, Timestamp};
use status_protocol::store::MemoryStore;
use status_protocol::{Bridge, ChatId, Config, Event, Input, MessageId, Messenger};
use status_sim::{Ctx, LinkConfig, Node, NodeIndex, Sim, SimConfig};
use status_waku::node::Event as WakuEvent;
use status_waku::peer::{PeerId, Protocol};
use status_waku::{Waku, WakuConfig};

pub const T0: u64 = 1_700_000_000_000;

pub fn t0() -> Timestamp {
    Timestamp::from_millis(T0)
}

pub struct Device {
    pub name: String,
    pub key: SecretKey,
    pub messenger: Option<Messenger<MemoryStore>>,
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
    pub fn new(name: &str, key: SecretKey, seed: u64, config: Config) -> Device {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        let messenger =
            Messenger::open(config.clone(), key.clone(), MemoryStore::new(), t0(), s).unwrap();
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

    pub fn m(&mut self) -> &mut Messenger<MemoryStore> {
        self.messenger.as_mut().expect("messenger running")
    }

    pub fn public(&self) -> PublicKey {
        self.key.public_key()
    }

    /// Crash and restart: what the store committed is all that survives.
    pub fn restart(&mut self, now: Timestamp) {
        let store = self.messenger.take().expect("running").into_store();
        self.restarts += 1;
        let mut seed = self.seed;
        seed[31] = seed[31].wrapping_add(self.restarts as u8);
        let m = Messenger::open(self.config.clone(), self.key.clone(), store, now, seed).unwrap();
        // a new process: the messenger asks for its filters again
        self.bridge.clear(&mut self.waku);
        self.messenger = Some(m);
    }

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

    pub fn command(
        &mut self,
        ctx: &mut Ctx<'_, (u64, Bytes)>,
        cmd: status_protocol::Command,
    ) -> status_protocol::Outcome {
        let now = ctx.now();
        let r = self.m().handle_input(now, Input::Command(cmd)).unwrap();
        self.pump(ctx);
        r
    }

    /// Ids of chat messages received (ours from other devices included),
    /// with how often each arrived.
    pub fn received(&self) -> BTreeMap<MessageId, usize> {
        let mut out = BTreeMap::new();
        for e in &self.events {
            if let Event::MessageReceived(m) = e {
                *out.entry(m.id).or_default() += 1;
            }
        }
        out
    }

    pub fn received_in(&self, chat: &ChatId) -> Vec<(PublicKey, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::MessageReceived(m) if &m.chat == chat => Some((m.from, m.text.clone())),
                _ => None,
            })
            .collect()
    }

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
                m.handle_timeout(now).unwrap();
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

pub struct Net {
    pub sim: Sim<Device>,
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
                SecretKey::from_bytes(&b).unwrap()
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
        let b_id = self.sim.node(b).unwrap().public().node_id();
        self.sim.with_node(a, |dev, ctx| {
            let now = ctx.now();
            let peer = dev.waku.add_peer(now, b_id, None, Protocol::Waku1);
            dev.peer_of.insert(b, peer);
            dev.node_of.insert(peer, b);
            dev.pump(ctx);
        });
    }

    pub fn dev(&self, i: usize) -> &Device {
        self.sim.node(self.nodes[i]).unwrap()
    }

    pub fn with<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Device, &mut Ctx<'_, (u64, Bytes)>) -> R,
    ) -> R {
        self.sim.with_node(self.nodes[i], f).expect("node exists")
    }

    pub fn run_for(&mut self, ms: u64) {
        let until = Timestamp::from_millis(self.sim.now().as_millis() + ms);
        self.sim.run_until(until);
    }

    pub fn now(&self) -> Timestamp {
        self.sim.now()
    }
}
