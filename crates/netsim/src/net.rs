//! The network: hosts, NAT devices, the routing table of public addresses, the delivery queue,
//! the virtual clock, the PRNG, counters and the trace. How a datagram travels is in
//! [`crate::path`].

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use crate::addr::{is_private, AddrPlan};
use crate::clock::Clock;
use crate::link::Link;
use crate::nat::{MappingView, NatConfig, NatState};
use crate::path::Packet;
use crate::rng::{sub_seed, Rng};
use crate::seed::seed_tag;
use crate::stats::{Counters, HostCounters};
use crate::topology::{HostConfig, HostId, NatClass, NatId, TopologyError};
use crate::trace::{Trace, TraceEntry, TraceKind};

/// Network-wide settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NetConfig {
    /// The internet core between any two edges (default: 10 ms one-way, no loss).
    pub internet: Link,
    /// A LAN (hosts behind the same NAT talking directly, and hairpinned datagrams;
    /// default: 1 ms one-way, no loss).
    pub lan: Link,
    /// Routers on the internet between two edges (default 8). With the sender's and the
    /// receiver's NAT, a NAT-to-NAT datagram crosses 10 routers and needs a TTL of at least
    /// 11; hyperdht's TTL-5 probes die on the internet after opening the sender's mapping.
    pub internet_hops: u32,
    /// Entries kept in the trace (0 turns it off; default 4096).
    pub trace_capacity: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            internet: Link::with_latency(Duration::from_millis(10)),
            lan: Link::with_latency(Duration::from_millis(1)),
            internet_hops: 8,
            trace_capacity: 4096,
        }
    }
}

/// A datagram arriving at a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub host: HostId,
    /// The local port it arrived on.
    pub dst_port: u16,
    /// The sender as this host sees it (after every NAT on the way).
    pub from: SocketAddrV4,
    pub data: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

/// Where a public address leads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Route {
    Host(HostId),
    /// A public host behind a firewall device.
    Firewalled(NatId),
    /// A translating NAT's public side.
    Nat(NatId),
}

#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub(crate) cfg: HostConfig,
    pub(crate) any_port: bool,
    pub(crate) ports: BTreeSet<u16>,
    pub(crate) counters: HostCounters,
    /// when the last datagram left / came through its access link (FIFO without reordering)
    pub(crate) last_up: Instant,
    pub(crate) last_down: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct Nat {
    pub(crate) state: NatState,
    /// hosts on its LAN by address
    pub(crate) lan: BTreeMap<Ipv4Addr, HostId>,
}

/// A deterministic simulated IPv4/UDP network. See the crate docs for the model.
#[derive(Debug)]
pub struct Net {
    pub(crate) seed: u64,
    pub(crate) cfg: NetConfig,
    pub(crate) clock: Clock,
    pub(crate) rng: Rng,
    pub(crate) hosts: Vec<Host>,
    pub(crate) nats: Vec<Nat>,
    pub(crate) routes: BTreeMap<Ipv4Addr, Route>,
    pub(crate) queue: BinaryHeap<Packet>,
    /// queue insertion counter (ties at one instant go in insertion order)
    pub(crate) seq: u64,
    /// datagrams sent so far (their trace numbers)
    pub(crate) packets: u64,
    pub(crate) counters: Counters,
    pub(crate) trace: Trace,
    /// last arrival per (source as seen outside, destination) on the core, for FIFO
    pub(crate) flows: BTreeMap<(SocketAddrV4, SocketAddrV4), Instant>,
    plan: AddrPlan,
    /// trace entries printed when the network is dropped by a panic (0: say nothing)
    panic_report: usize,
}

/// Trace entries printed by default when a panic drops a network.
const PANIC_REPORT: usize = 20;

impl Drop for Net {
    /// A test that panics while it owns a network (directly or in a [`World`](crate::World))
    /// prints the seed and the last datagrams, whatever its assertion message said.
    fn drop(&mut self) {
        if self.panic_report > 0 && std::thread::panicking() {
            eprintln!(
                "netsim: panicked with {} (re-run with {}={}) at t={:?}\n{}",
                self.tag(),
                crate::seed::SEED_ENV,
                self.seed,
                self.elapsed(),
                self.trace.dump(self.panic_report)
            );
        }
    }
}

impl Net {
    /// A network with default settings whose every random choice comes from `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, NetConfig::default())
    }

    /// A network with explicit settings.
    pub fn with_config(seed: u64, cfg: NetConfig) -> Self {
        Net {
            seed,
            rng: Rng::new(seed),
            clock: Clock::new(),
            trace: Trace::new(cfg.trace_capacity),
            cfg,
            hosts: Vec::new(),
            nats: Vec::new(),
            routes: BTreeMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            packets: 0,
            counters: Counters::default(),
            flows: BTreeMap::new(),
            plan: AddrPlan::default(),
            panic_report: PANIC_REPORT,
        }
    }

    // ---- seed and clock ------------------------------------------------------------------------

    /// The seed this network was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// `"seed=N"` for assertion messages.
    pub fn tag(&self) -> String {
        seed_tag(self.seed)
    }

    /// A seed for the `index`-th endpoint's own randomness, independent of the network's
    /// stream (give each simulated node one so the whole run follows the seed).
    pub fn sub_seed(&self, index: u64) -> u64 {
        sub_seed(self.seed, index)
    }

    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// Changes the internet / LAN links for datagrams sent from now on.
    pub fn config_mut(&mut self) -> &mut NetConfig {
        &mut self.cfg
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.clock.elapsed()
    }

    /// Moves the clock forward to `t` (never back). Nothing is delivered by this alone.
    pub fn advance_to(&mut self, t: Instant) {
        self.clock.advance_to(t);
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&mut self, d: Duration) {
        let t = self.now() + d;
        self.clock.advance_to(t);
    }

    // ---- topology ------------------------------------------------------------------------------

    /// The next unused public host address (198.18.0.0/15).
    pub fn alloc_public_ip(&mut self) -> Ipv4Addr {
        loop {
            let ip = self.plan.public();
            if !self.routes.contains_key(&ip) {
                return ip;
            }
        }
    }

    /// The next unused NAT public address (203.0.113.0/24, then 198.51.100.0/24).
    pub fn alloc_nat_ip(&mut self) -> Ipv4Addr {
        loop {
            let ip = self.plan.nat();
            if !self.routes.contains_key(&ip) {
                return ip;
            }
        }
    }

    /// The next unused address on `nat`'s LAN: a private 10.x address behind a translating
    /// NAT, a public one behind a firewall.
    pub fn alloc_lan_ip(&mut self, nat: NatId) -> Ipv4Addr {
        if !self.nats[nat.0].state.cfg.translates() {
            return self.alloc_public_ip();
        }
        (0..)
            .map(|n| AddrPlan::private(nat.0, n))
            .find(|ip| !self.nats[nat.0].lan.contains_key(ip))
            .expect("a free LAN address")
    }

    /// Adds a NAT or firewall device; panics on a bad configuration (see [`Net::try_add_nat`]).
    pub fn add_nat(&mut self, cfg: NatConfig) -> NatId {
        self.try_add_nat(cfg)
            .unwrap_or_else(|e| panic!("netsim add_nat: {e}"))
    }

    /// Adds a NAT or firewall device. A translating NAT needs an unused, non-private public
    /// address; a firewall's `public_ip` is ignored.
    pub fn try_add_nat(&mut self, cfg: NatConfig) -> Result<NatId, TopologyError> {
        let id = NatId(self.nats.len());
        if cfg.translates() {
            let ip = cfg.public_ip;
            if is_private(ip) || ip.is_unspecified() {
                return Err(TopologyError::PrivateOnInternet(ip));
            }
            if self.routes.contains_key(&ip) {
                return Err(TopologyError::DuplicateAddress(ip));
            }
            self.routes.insert(ip, Route::Nat(id));
        }
        self.nats.push(Nat {
            state: NatState::new(cfg),
            lan: BTreeMap::new(),
        });
        Ok(id)
    }

    /// Adds a host; panics on a bad configuration (see [`Net::try_add_host`]).
    pub fn add_host(&mut self, cfg: HostConfig) -> HostId {
        self.try_add_host(cfg)
            .unwrap_or_else(|e| panic!("netsim add_host: {e}"))
    }

    /// Adds a host. Public hosts and hosts behind a firewall need unused public addresses;
    /// hosts behind a translating NAT need private addresses unused on that LAN (two LANs may
    /// use the same private addresses).
    pub fn try_add_host(&mut self, cfg: HostConfig) -> Result<HostId, TopologyError> {
        let id = HostId(self.hosts.len());
        let ip = cfg.ip;
        match cfg.behind {
            None => {
                if is_private(ip) || ip.is_unspecified() {
                    return Err(TopologyError::PrivateOnInternet(ip));
                }
                if self.routes.contains_key(&ip) {
                    return Err(TopologyError::DuplicateAddress(ip));
                }
                self.routes.insert(ip, Route::Host(id));
            }
            Some(n) => {
                let nat = self.nats.get(n.0).ok_or(TopologyError::UnknownNat(n))?;
                if nat.lan.contains_key(&ip) {
                    return Err(TopologyError::DuplicateAddress(ip));
                }
                if nat.state.cfg.translates() {
                    if !is_private(ip) {
                        return Err(TopologyError::PublicBehindNat(ip));
                    }
                } else {
                    if is_private(ip) || ip.is_unspecified() {
                        return Err(TopologyError::PrivateBehindFirewall(ip));
                    }
                    if self.routes.contains_key(&ip) {
                        return Err(TopologyError::DuplicateAddress(ip));
                    }
                    self.routes.insert(ip, Route::Firewalled(n));
                }
                self.nats[n.0].lan.insert(ip, id);
            }
        }
        let start = self.now();
        self.hosts.push(Host {
            cfg,
            any_port: false,
            ports: BTreeSet::new(),
            counters: HostCounters::default(),
            last_up: start,
            last_down: start,
        });
        Ok(id)
    }

    /// One host of a hyperdht NAT class, with its own NAT / firewall device where it has one
    /// (default configurations: 30 s timeout, address+port-dependent filtering, no hairpin).
    pub fn add_host_class(&mut self, class: NatClass) -> HostId {
        let nat = match class {
            NatClass::Open => None,
            NatClass::Firewalled => Some(self.add_nat(NatConfig::firewall())),
            NatClass::Consistent => {
                let ip = self.alloc_nat_ip();
                Some(self.add_nat(NatConfig::consistent(ip)))
            }
            NatClass::Random => {
                let ip = self.alloc_nat_ip();
                Some(self.add_nat(NatConfig::random(ip)))
            }
        };
        match nat {
            None => {
                let ip = self.alloc_public_ip();
                self.add_host(HostConfig::public(ip))
            }
            Some(n) => {
                let ip = self.alloc_lan_ip(n);
                self.add_host(HostConfig::behind(ip, n))
            }
        }
    }

    /// A new host on `nat`'s LAN at the next free LAN address.
    pub fn add_lan_host(&mut self, nat: NatId) -> HostId {
        let ip = self.alloc_lan_ip(nat);
        self.add_host(HostConfig::behind(ip, nat))
    }

    /// A new public host at the next free public address.
    pub fn add_public_host(&mut self) -> HostId {
        let ip = self.alloc_public_ip();
        self.add_host(HostConfig::public(ip))
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    pub fn host_ip(&self, host: HostId) -> Ipv4Addr {
        self.hosts[host.0].cfg.ip
    }

    /// The NAT or firewall a host sits behind.
    pub fn host_nat(&self, host: HostId) -> Option<NatId> {
        self.hosts[host.0].cfg.behind
    }

    /// The address the internet sees for this host: its NAT's public address, else its own.
    /// (Ports are another matter: see [`Net::nat_mappings`].)
    pub fn public_ip(&self, host: HostId) -> Ipv4Addr {
        match self.host_nat(host) {
            Some(n) if self.nats[n.0].state.cfg.translates() => self.nats[n.0].state.cfg.public_ip,
            _ => self.host_ip(host),
        }
    }

    /// The host's access link.
    pub fn host_link(&self, host: HostId) -> Link {
        self.hosts[host.0].cfg.link
    }

    /// Changes a host's access link for datagrams from now on (a host going lossy, say).
    pub fn set_host_link(&mut self, host: HostId, link: Link) {
        self.hosts[host.0].cfg.link = link;
    }

    pub fn nat_config(&self, nat: NatId) -> &NatConfig {
        &self.nats[nat.0].state.cfg
    }

    /// Changes a NAT's behaviour (hairpin, filtering, timeout) from now on; existing mappings
    /// stay. Do not change `public_ip` (the routing table is not updated).
    pub fn nat_config_mut(&mut self, nat: NatId) -> &mut NatConfig {
        &mut self.nats[nat.0].state.cfg
    }

    /// The live mappings of a NAT now.
    pub fn nat_mappings(&self, nat: NatId) -> Vec<MappingView> {
        self.nats[nat.0].state.mappings(self.now())
    }

    /// Forgets all mappings of one NAT.
    pub fn reset_nat(&mut self, nat: NatId) {
        self.nats[nat.0].state.reset();
    }

    /// Forgets all mappings of every NAT.
    pub fn reset_nats(&mut self) {
        for n in &mut self.nats {
            n.state.reset();
        }
    }

    // ---- listeners -----------------------------------------------------------------------------

    /// Lets `host` receive on `port`. A host receives only on bound ports (or on every port
    /// after [`Net::bind_any`]); anything else is dropped as no-listener.
    pub fn bind(&mut self, host: HostId, port: u16) {
        self.hosts[host.0].ports.insert(port);
    }

    /// Stops receiving on `port`.
    pub fn unbind(&mut self, host: HostId, port: u16) {
        self.hosts[host.0].ports.remove(&port);
    }

    /// Lets `host` receive on every port ([`World::add`](crate::World::add) does this: the
    /// endpoint decides).
    pub fn bind_any(&mut self, host: HostId) {
        self.hosts[host.0].any_port = true;
    }

    // ---- observation ---------------------------------------------------------------------------

    pub fn counters(&self) -> Counters {
        self.counters
    }

    pub fn host_counters(&self, host: HostId) -> HostCounters {
        self.hosts[host.0].counters
    }

    /// Datagrams queued (on their way to an edge or a host).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The trace entries kept, oldest first.
    pub fn trace(&self) -> impl Iterator<Item = &TraceEntry> {
        self.trace.entries()
    }

    /// The last `n` trace entries as text, headed by the seed: append it to failure messages.
    pub fn trace_dump(&self, n: usize) -> String {
        format!(
            "{} t={:?}\n{}",
            self.tag(),
            self.elapsed(),
            self.trace.dump(n)
        )
    }

    /// How many trace entries a panic that drops this network prints after the seed (default
    /// 20; 0 prints nothing, not even the seed).
    pub fn set_panic_report(&mut self, entries: usize) {
        self.panic_report = entries;
    }

    /// Sets how many trace entries are kept (0 turns tracing off).
    pub fn set_trace_capacity(&mut self, capacity: usize) {
        self.trace.set_capacity(capacity);
    }

    pub(crate) fn log(&mut self, at: Instant, packet: u64, kind: TraceKind) {
        let at = at.saturating_duration_since(crate::clock::epoch());
        self.trace.push(at, packet, kind);
    }
}
