//! One server and one client on a fresh simulated network, and what a connect between them
//! came to ([`Outcome`]): the shared shape of the connect-matrix and failure tests.

use std::time::{Duration, Instant};

use hyperdht_core::core::server::ServerConfig;
use hyperdht_core::stats::Path;
use hyperdht_core::Firewall;
use hyperdht_crypto::KeyPair;
use hyperdht_netsim::{HostId, NatClass, NatConfig, Net, NetConfig};

use super::client::ConnectOpts;
use super::{Sim, SERVER_PORT};

/// Public DHT nodes besides the bootstrapper (≥ 3, see the netsim README).
pub const DHT_NODES: usize = 4;
/// What the client sends and expects echoed.
pub const PAYLOAD: usize = 64 * 1024;

/// The network of the matrix: 20 ms one-way on the internet, 1 ms on a LAN, no jitter and
/// no loss, so a seed repeats a cell exactly (see `tests/sim/mod.rs`); the seed still picks
/// the random NATs' ports. Jitter and loss have their own tests.
pub fn internet() -> NetConfig {
    NetConfig {
        internet: hyperdht_netsim::Link::with_latency(Duration::from_millis(20)),
        ..NetConfig::default()
    }
}

/// [`internet`] with jitter (up to 10 ms) and `loss` on every internet crossing.
pub fn rough(loss: f64) -> NetConfig {
    let mut cfg = internet();
    cfg.internet = cfg.internet.jitter(Duration::from_millis(10)).loss(loss);
    cfg
}

/// Where the two peers sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// each on its own host of the given class (client, server)
    Apart(NatClass, NatClass),
    /// both behind one NAT of the given mapping (consistent or random), on its LAN
    SameLan(NatClass),
}

/// The hyperdht class a netsim NAT class should be detected as.
pub fn hyperdht_class(c: NatClass) -> Firewall {
    match c {
        NatClass::Open => Firewall::Open,
        NatClass::Firewalled | NatClass::Consistent => Firewall::Consistent,
        NatClass::Random => Firewall::Random,
    }
}

/// A server and a client on a public DHT, both bootstrapped and classified.
pub struct Pair {
    pub s: Sim,
    pub name: String,
    pub server: usize,
    pub client: usize,
    pub skp: KeyPair,
    pub ckp: KeyPair,
}

fn place(net: &mut Net, layout: Layout) -> (HostId, HostId) {
    match layout {
        Layout::Apart(c, s) => {
            let hs = net.add_host_class(s);
            let hc = net.add_host_class(c);
            (hc, hs)
        }
        Layout::SameLan(class) => {
            let ip = net.alloc_nat_ip();
            let cfg = match class {
                NatClass::Random => NatConfig::random(ip),
                _ => NatConfig::consistent(ip),
            };
            let nat = net.add_nat(cfg);
            let hs = net.add_lan_host(nat);
            let hc = net.add_lan_host(nat);
            (hc, hs)
        }
    }
}

impl Pair {
    /// Builds the network and both peers, and waits until both are bootstrapped and past
    /// dht-rpc's firewall check.
    pub fn new(name: &str, seed: u64, cfg: NetConfig, layout: Layout) -> Pair {
        Pair::with_nodes(name, seed, cfg, layout, DHT_NODES)
    }

    /// [`Pair::new`] with `nodes` public DHT nodes besides the bootstrapper.
    pub fn with_nodes(name: &str, seed: u64, cfg: NetConfig, layout: Layout, nodes: usize) -> Pair {
        let mut s = Sim::new(seed, cfg, nodes);
        let (hc, hs) = place(s.world.net_mut(), layout);
        let server = s.add_peer(hs, "server");
        let client = s.add_peer(hc, "client");
        let skp = s.key_pair();
        let ckp = s.key_pair();
        let mut p = Pair {
            s,
            name: name.to_string(),
            server,
            client,
            skp,
            ckp,
        };
        let ok = p.s.run_until(Duration::from_secs(30), |s| {
            s.host(server).ready_at.is_some() && s.host(client).ready_at.is_some()
        });
        assert!(ok, "both peers bootstrapped, {}", p.tag());
        // the quick firewall check follows the bootstrap
        p.s.run_for(Duration::from_secs(3));
        p
    }

    /// `"<cell> seed=N"` for assertion messages (re-run with `NETSIM_SEED=N`).
    pub fn tag(&self) -> String {
        format!("[{}] {}", self.name, self.s.tag())
    }

    /// The server listens with `cfg` and finishes its first announce.
    pub fn listen(&mut self, cfg: ServerConfig) {
        let kp = self.skp.clone();
        self.s.with(self.server, |h, now| h.listen(&kp, cfg, now));
        let (server, pk) = (self.server, self.skp.public_key);
        let ok = self
            .s
            .run_until(Duration::from_secs(30), |s| s.host(server).announced(&pk));
        assert!(ok, "server announced, {}", self.tag());
    }

    /// The client starts connecting to the server's key; returns the connect id and when.
    pub fn connect(&mut self, opts: ConnectOpts) -> (u64, Instant) {
        let (kp, pk) = (self.ckp.clone(), self.skp.public_key);
        let id = self
            .s
            .with(self.client, |h, now| h.connect(&kp, pk, opts, now));
        (id, self.s.now())
    }

    /// Runs until connect `id` failed or its echo came back (at most `within`).
    pub fn run_connect(&mut self, id: u64, within: Duration) {
        let client = self.client;
        self.s.run_until(within, |s| {
            let h = s.host(client);
            let d = h.dial(id);
            let echoed = h
                .dial_conn(id)
                .app
                .as_ref()
                .is_some_and(|a| a.echoed_at.is_some());
            matches!(d.result, Some(Err(_))) || echoed
        });
    }

    /// What connect `id` (started at `t0`) came to so far.
    pub fn outcome(&self, id: u64, t0: Instant) -> Outcome {
        let c = self.s.host(self.client);
        let srv = self.s.host(self.server);
        let d = c.dial(id);
        let conn = c.dial_conn(id);
        let app = conn.app.as_ref();
        let ms = |t: Instant| t.duration_since(t0).as_millis();
        let server_conns: Vec<&super::udx::Conn> = srv
            .streams
            .list
            .iter()
            .filter(|c| c.is_connected())
            .collect();
        Outcome {
            result: d.result.clone().map(|r| r.map_err(|e| e.code())),
            server_paths: server_conns.iter().filter_map(|c| c.path).collect(),
            client_node: c.node_class(),
            server_node: srv.node_class(),
            client_punch: c.punch_classes(),
            server_punch: srv.punch_classes(),
            connect_ms: d.done_at.map(ms),
            echo_ms: app.and_then(|a| a.echoed_at).map(ms),
            echo_exact: app.is_some_and(|a| a.received == a.payload()),
            server_secret_at: server_conns
                .iter()
                .filter_map(|c| c.app.as_ref().and_then(|a| a.secret_at))
                .map(ms)
                .next(),
            client_on_pool: d.via.is_some(),
            server_on_pool: server_conns.iter().any(|c| c.port != SERVER_PORT),
            client_pool_peak: c.pool.peak,
            server_pool_peak: srv.pool.peak,
        }
    }
}

/// What a connect came to, as the test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `None` while running; the client's path, or its error code
    pub result: Option<Result<Path, &'static str>>,
    /// paths of the server's connected streams (one per connection)
    pub server_paths: Vec<Path>,
    /// dht-rpc's verdict on each node (firewalled, NAT sampler)
    pub client_node: Firewall,
    pub server_node: Firewall,
    /// each side's punchers' verdicts on their own NAT (empty: never punched)
    pub client_punch: Vec<Firewall>,
    pub server_punch: Vec<Firewall>,
    /// virtual ms from the connect call to `Done`, and to the full echo
    pub connect_ms: Option<u128>,
    pub echo_ms: Option<u128>,
    /// the echo came back byte for byte
    pub echo_exact: bool,
    /// virtual ms until the server's secret stream was up
    pub server_secret_at: Option<u128>,
    /// the client's / server's connection lives on a pool socket (RANDOM-NAT punching)
    pub client_on_pool: bool,
    pub server_on_pool: bool,
    /// pool sockets each side had open at once, at most (birthday sockets: 255)
    pub client_pool_peak: usize,
    pub server_pool_peak: usize,
}

impl Outcome {
    /// One line for the results table.
    pub fn row(&self, name: &str) -> String {
        let result = match &self.result {
            Some(Ok(p)) => format!("{p:?}"),
            Some(Err(code)) => code.to_string(),
            None => "-".into(),
        };
        let opt = |v: Option<u128>| v.map_or("-".to_string(), |v| v.to_string());
        let pool = |on: bool, peak: usize| match (on, peak) {
            (_, 0) => "-".to_string(),
            (true, n) => format!("{n}, on one"),
            (false, n) => format!("{n}"),
        };
        format!(
            "| {name} | {result} | {:?} | node c={:?} s={:?} | punch c={:?} s={:?} | pool c={} s={} | {} | {} |",
            self.server_paths,
            self.client_node,
            self.server_node,
            self.client_punch,
            self.server_punch,
            pool(self.client_on_pool, self.client_pool_peak),
            pool(self.server_on_pool, self.server_pool_peak),
            opt(self.connect_ms),
            opt(self.echo_ms),
        )
    }
}
