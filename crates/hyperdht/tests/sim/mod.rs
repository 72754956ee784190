//! A deterministic simulation harness for hyperdht connections: many sans-IO nodes
//! ([`host::SimHost`]: dht-rpc `Node` + hyperdht `Core` + UDX streams + secret-stream) on one
//! `hyperdht_netsim` network with a virtual clock and NAT models, in one test thread.
//!
//! * [`Sim::new`] builds a public DHT: a bootstrapper and `n` persistent public nodes (use
//!   n ≥ 3, or an open peer is never told it is open; see the netsim README);
//! * [`Sim::add_peer`] adds a default (adaptive, firewalled-until-proven) hyperdht node on a
//!   host of any NAT class;
//! * the test drives nodes through [`Sim::host_mut`] (listen, connect, answers) and runs the
//!   world with [`Sim::run_until`], whose failures name the seed.
//!
//! A host runs what the tokio driver runs (`crates/hyperdht/src/driver/`): client connects
//! (`client.rs`, `driver/dial.rs`), the pool sockets of RANDOM-NAT punching as more UDP ports
//! (`pool.rs`, `driver/pool.rs`), and a server slot's stream waiting on several sockets
//! (`candidates.rs`, `driver/engine.rs`).
//!
//! Reproducing a failure: every message carries `seed=N`; `NETSIM_SEED=N cargo test -p
//! hyperdht-core --test <file> <name>` runs the same network: topology, NAT ports, and the
//! random stream that latency jitter and loss draw from. Key pairs and payloads come from the
//! seed too. What the seed cannot pin is the nodes' own randomness, which the crates draw from
//! the OS / thread RNG with no hook: dht-rpc's ephemeral table ids, tids and tick phases
//! (maintenance timing), `HashMap` iteration orders in the rpc node and the core, Noise
//! ephemeral keys, secretstream headers, holepunch nonces and server UDX stream ids (the
//! ports RANDOM-NAT punching probes do follow the seed: `Punchers::seed_random_ports`). Hence:
//! * on links without jitter and loss (the matrix) a seed repeats a run exactly as far as a
//!   test can see: outcome, paths, NAT verdicts and virtual timings (`a_seed_repeats_its_outcome`);
//!   only background maintenance traffic varies a little;
//! * with jitter or loss every datagram draws from the network's one stream, so that
//!   maintenance traffic shifts the draws: a seed repeats the conditions, not the exact run.
//!   Exact replay there needs a seed hook in `hyperdht_rpc::node::Config` and the core, and
//!   ordered maps (or sorted keys) where iteration order decides what is sent first.
#![allow(dead_code)]

pub mod candidates;
pub mod client;
pub mod host;
pub mod pool;
pub mod scenario;
pub mod secret;
pub mod udx;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use hyperdht_crypto::KeyPair;
use hyperdht_netsim::{rng::Rng, HostId, Net, NetConfig, World};
use hyperdht_rpc::node::Config;

pub use host::SimHost;

/// The DHT server socket's port on every host (UDX streams and punching use it too).
pub const SERVER_PORT: u16 = 49737;
/// The DHT client socket's port.
pub const CLIENT_PORT: u16 = 50001;

/// A simulated network of hyperdht nodes.
pub struct Sim {
    pub world: World<SimHost>,
    /// the bootstrapper's address
    pub boot: SocketAddrV4,
    /// the public DHT nodes' endpoint indices (bootstrapper first)
    pub dht: Vec<usize>,
    rng: Rng,
    /// nodes added so far
    nodes: u64,
}

impl Sim {
    /// A bootstrapper and `n` persistent public nodes, settled (every node ready).
    pub fn new(seed: u64, cfg: NetConfig, n: usize) -> Sim {
        let mut net = Net::with_config(seed, cfg);
        let rng = Rng::new(net.sub_seed(0x5eed));
        let h = net.add_public_host();
        let boot = SocketAddrV4::new(net.host_ip(h), SERVER_PORT);
        let mut sim = Sim {
            world: World::new(net),
            boot,
            dht: Vec::new(),
            rng,
            nodes: 0,
        };
        let cfg = Config {
            ephemeral: Some(false),
            adaptive: false,
            firewalled: false,
            nat_seed: Some(boot),
            ..Config::default()
        };
        let i = sim.add_node(h, "boot", cfg);
        sim.dht.push(i);
        sim.world.run_for(Duration::from_millis(50));
        for k in 0..n {
            let h = sim.world.net_mut().add_public_host();
            let cfg = Config {
                bootstrap: vec![boot],
                ephemeral: Some(false),
                adaptive: false,
                firewalled: false,
                ..Config::default()
            };
            let i = sim.add_node(h, &format!("dht{k}"), cfg);
            sim.dht.push(i);
            sim.world.run_for(Duration::from_millis(100));
        }
        let dht = sim.dht.clone();
        let ok = sim.run_until(Duration::from_secs(30), |s| {
            dht.iter().all(|&i| s.host(i).ready_at.is_some())
        });
        assert!(ok, "public DHT nodes ready, {}", sim.tag());
        sim
    }

    /// `"seed=N"` for assertion messages.
    pub fn tag(&self) -> String {
        self.world.tag()
    }

    pub fn now(&self) -> Instant {
        self.world.now()
    }

    /// Elapsed virtual time since `t`, in ms.
    pub fn ms_since(&self, t: Instant) -> u128 {
        self.now().duration_since(t).as_millis()
    }

    fn add_node(&mut self, host: HostId, name: &str, cfg: Config) -> usize {
        let local = SocketAddrV4::new(self.world.net().host_ip(host), SERVER_PORT);
        let now = self.world.now();
        let mut h = SimHost::new(name, cfg, local, now);
        // the random probes' ports follow the seed (one stream per node)
        self.nodes += 1;
        let seed = self.world.net().sub_seed(0x9047_0000 + self.nodes);
        h.core.punchers.seed_random_ports(seed);
        self.world.add(host, h)
    }

    /// A default hyperdht node (adaptive, firewalled until proven otherwise) on `host`,
    /// bootstrapping from the public DHT.
    pub fn add_peer(&mut self, host: HostId, name: &str) -> usize {
        let cfg = Config {
            bootstrap: vec![self.boot],
            ..Config::default()
        };
        self.add_node(host, name, cfg)
    }

    pub fn host(&self, i: usize) -> &SimHost {
        self.world.endpoint(i)
    }

    pub fn host_mut(&mut self, i: usize) -> &mut SimHost {
        self.world.endpoint_mut(i)
    }

    /// Runs `f` on host `i` with the current time (commands: listen, connect, answers).
    pub fn with<R>(&mut self, i: usize, f: impl FnOnce(&mut SimHost, Instant) -> R) -> R {
        let now = self.world.now();
        f(self.world.endpoint_mut(i), now)
    }

    /// Runs the world until `cond` holds or `within` of virtual time passed.
    pub fn run_until(&mut self, within: Duration, mut cond: impl FnMut(&Sim) -> bool) -> bool {
        let deadline = self.world.now() + within;
        loop {
            if cond(self) {
                return true;
            }
            match self.world.next_event_time() {
                Some(t) if t <= deadline => {
                    self.world.step();
                }
                _ => {
                    self.world.run_until(deadline);
                    return cond(self);
                }
            }
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        self.world.run_for(d);
    }

    /// A key pair derived from the seed (the `k`-th drawn).
    pub fn key_pair(&mut self) -> KeyPair {
        let mut seed = [0u8; 32];
        for c in seed.chunks_mut(8) {
            c.copy_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        KeyPair::from_seed(&seed)
    }

    /// `len` bytes derived from the seed.
    pub fn payload(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        v.truncate(len);
        v
    }
}
