//! NAT and firewall models, in the terms of RFC 4787 (mapping and filtering behaviour) and as
//! hyperdht tells them apart (`hyperdht/lib/nat.js`: OPEN, CONSISTENT, RANDOM; dht-rpc's
//! `firewalled` flag from `_checkIfFirewalled`).
//!
//! A NAT keeps one table of mappings. A mapping ties an inside socket (`internal`) to the
//! address it has outside (`external`) and remembers which remote endpoints the inside socket
//! has sent to ("permissions", each with its own idle timer). Inbound datagrams to an external
//! address pass only through a live mapping whose filter admits the sender.
//!
//! | model | [`Mapping`] | [`Filtering`] default | real thing |
//! |---|---|---|---|
//! | firewalled | `None` (no translation) | address+port-dependent | stateful `iptables -m conntrack --ctstate ESTABLISHED` |
//! | consistent | `EndpointIndependent` (internal port kept when free) | address+port-dependent | Linux `MASQUERADE` |
//! | random | `Random` (fresh random port per destination) | address+port-dependent | `MASQUERADE --random-fully` |

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use crate::rng::Rng;

/// How inside sockets get their outside address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// No translation: inside hosts have public addresses and keep them (a stateful firewall).
    None,
    /// Endpoint-independent mapping: one external port per inside socket, whatever the
    /// destination. The inside port is kept when free (see [`NatConfig::preserve_port`]).
    EndpointIndependent,
    /// Endpoint-dependent mapping: a new random external port for every new destination
    /// address+port of an inside socket.
    Random,
}

/// Which inbound datagrams a mapping lets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filtering {
    /// Anyone may send to a live mapping ("full cone").
    EndpointIndependent,
    /// Only hosts (any port) the inside socket has sent to ("restricted cone").
    AddressDependent,
    /// Only the exact address+port pairs the inside socket has sent to ("port-restricted").
    AddressAndPortDependent,
}

/// A NAT's (or firewall's) configuration. Build with [`NatConfig::firewall`],
/// [`NatConfig::consistent`] or [`NatConfig::random`] and adjust.
#[derive(Debug, Clone, PartialEq)]
pub struct NatConfig {
    /// The NAT's public address (ignored for [`Mapping::None`]).
    pub public_ip: Ipv4Addr,
    pub mapping: Mapping,
    pub filtering: Filtering,
    /// Whether inside hosts reach each other through the NAT's public address.
    pub hairpin: bool,
    /// Idle time after which a mapping, or one of its permissions, is forgotten. Refreshed by
    /// outbound datagrams (and by inbound ones if [`NatConfig::inbound_refreshes`]).
    pub timeout: Duration,
    /// Whether accepted inbound datagrams refresh the mapping too (Linux conntrack does;
    /// many home routers do not).
    pub inbound_refreshes: bool,
    /// Endpoint-independent mapping only: keep the inside port as the external port when no
    /// other mapping uses it (Linux masquerade does); otherwise pick a random free port.
    pub preserve_port: bool,
    /// External ports the NAT allocates from (inclusive).
    pub ports: (u16, u16),
}

/// The default mapping idle timeout (30 s, Linux's `nf_conntrack_udp_timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl NatConfig {
    /// A stateful firewall in front of public hosts: no translation, address+port-dependent
    /// filtering (only replies from where the host sent to get in).
    pub fn firewall() -> Self {
        NatConfig {
            public_ip: Ipv4Addr::UNSPECIFIED,
            mapping: Mapping::None,
            ..Self::consistent(Ipv4Addr::UNSPECIFIED)
        }
    }

    /// Linux `MASQUERADE`: endpoint-independent, port-preserving mapping with
    /// address+port-dependent filtering. hyperdht classifies it CONSISTENT.
    pub fn consistent(public_ip: Ipv4Addr) -> Self {
        NatConfig {
            public_ip,
            mapping: Mapping::EndpointIndependent,
            filtering: Filtering::AddressAndPortDependent,
            hairpin: false,
            timeout: DEFAULT_TIMEOUT,
            inbound_refreshes: false,
            preserve_port: true,
            ports: (1024, 65535),
        }
    }

    /// `MASQUERADE --random-fully`: a fresh random port per destination, address+port-dependent
    /// filtering. hyperdht classifies it RANDOM.
    pub fn random(public_ip: Ipv4Addr) -> Self {
        NatConfig {
            mapping: Mapping::Random,
            preserve_port: false,
            ..Self::consistent(public_ip)
        }
    }

    /// Sets the filtering behaviour.
    pub fn filtering(mut self, filtering: Filtering) -> Self {
        self.filtering = filtering;
        self
    }

    /// Turns hairpinning on or off.
    pub fn hairpin(mut self, on: bool) -> Self {
        self.hairpin = on;
        self
    }

    /// Sets the mapping idle timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether this device rewrites addresses.
    pub fn translates(&self) -> bool {
        self.mapping != Mapping::None
    }
}

/// A live mapping, as [`Net::nat_mappings`](crate::Net::nat_mappings) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingView {
    pub internal: SocketAddrV4,
    pub external: SocketAddrV4,
    /// The single destination of a [`Mapping::Random`] mapping.
    pub dest: Option<SocketAddrV4>,
    /// Remote endpoints the inside socket sent to within the timeout.
    pub permits: Vec<SocketAddrV4>,
}

#[derive(Debug, Clone)]
struct Entry {
    internal: SocketAddrV4,
    dest: Option<SocketAddrV4>,
    last_out: Instant,
    permits: BTreeMap<SocketAddrV4, Instant>,
}

/// Why an inbound datagram was refused.
pub(crate) type Refusal = &'static str;

/// The state of one NAT device.
#[derive(Debug, Clone)]
pub(crate) struct NatState {
    pub(crate) cfg: NatConfig,
    by_external: BTreeMap<SocketAddrV4, Entry>,
    /// (inside socket, destination for random mappings) -> external address
    by_internal: BTreeMap<(SocketAddrV4, Option<SocketAddrV4>), SocketAddrV4>,
}

/// Above this many entries, expired ones are swept before allocating.
const SWEEP_AT: usize = 4096;
/// Random probes for a free port before a linear scan.
const PORT_TRIES: usize = 64;

impl NatState {
    pub(crate) fn new(cfg: NatConfig) -> Self {
        NatState {
            cfg,
            by_external: BTreeMap::new(),
            by_internal: BTreeMap::new(),
        }
    }

    fn alive(&self, since: Instant, now: Instant) -> bool {
        now.saturating_duration_since(since) < self.cfg.timeout
    }

    /// Forgets every mapping (a router reboot, or a new NAT after a network change).
    pub(crate) fn reset(&mut self) {
        self.by_external.clear();
        self.by_internal.clear();
    }

    fn remove(&mut self, external: SocketAddrV4) {
        if let Some(e) = self.by_external.remove(&external) {
            self.by_internal.remove(&(e.internal, e.dest));
        }
    }

    fn sweep(&mut self, now: Instant) {
        let dead: Vec<SocketAddrV4> = self
            .by_external
            .iter()
            .filter(|(_, e)| !self.alive(e.last_out, now))
            .map(|(a, _)| *a)
            .collect();
        for a in dead {
            self.remove(a);
        }
    }

    /// Whether `port` on the public address is free now (an expired holder is evicted).
    fn port_free(&mut self, port: u16, now: Instant) -> bool {
        let ext = SocketAddrV4::new(self.cfg.public_ip, port);
        match self.by_external.get(&ext) {
            None => true,
            Some(e) if !self.alive(e.last_out, now) => {
                self.remove(ext);
                true
            }
            Some(_) => false,
        }
    }

    fn allocate(&mut self, internal: SocketAddrV4, now: Instant, rng: &mut Rng) -> Option<u16> {
        let (lo, hi) = self.cfg.ports;
        let in_range = (lo..=hi).contains(&internal.port());
        if self.cfg.mapping == Mapping::EndpointIndependent
            && self.cfg.preserve_port
            && in_range
            && self.port_free(internal.port(), now)
        {
            return Some(internal.port());
        }
        for _ in 0..PORT_TRIES {
            let p = rng.range_u16(lo, hi);
            if self.port_free(p, now) {
                return Some(p);
            }
        }
        let start = rng.range_u16(lo, hi);
        let span = hi as u32 - lo as u32 + 1;
        (0..span)
            .map(|i| lo + ((start - lo) as u32 + i).rem_euclid(span) as u16)
            .find(|&p| self.port_free(p, now))
    }

    /// An inside socket sends to `dst`: finds or creates its mapping, records the permission
    /// and returns the external address plus whether the mapping is new. `None`: out of ports.
    pub(crate) fn outbound(
        &mut self,
        internal: SocketAddrV4,
        dst: SocketAddrV4,
        now: Instant,
        rng: &mut Rng,
    ) -> Option<(SocketAddrV4, bool)> {
        let key_dest = (self.cfg.mapping == Mapping::Random).then_some(dst);
        let key = (internal, key_dest);
        let mut fresh = false;
        let external = match self.by_internal.get(&key).copied() {
            Some(ext)
                if self
                    .by_external
                    .get(&ext)
                    .is_some_and(|e| self.alive(e.last_out, now)) =>
            {
                ext
            }
            stale => {
                if let Some(ext) = stale {
                    self.remove(ext);
                }
                if self.by_external.len() >= SWEEP_AT {
                    self.sweep(now);
                }
                let ext = if self.cfg.translates() {
                    SocketAddrV4::new(self.cfg.public_ip, self.allocate(internal, now, rng)?)
                } else {
                    internal
                };
                self.by_external.insert(
                    ext,
                    Entry {
                        internal,
                        dest: key_dest,
                        last_out: now,
                        permits: BTreeMap::new(),
                    },
                );
                self.by_internal.insert(key, ext);
                fresh = true;
                ext
            }
        };
        let entry = self
            .by_external
            .get_mut(&external)
            .expect("mapping just found or made");
        entry.last_out = now;
        entry.permits.insert(dst, now);
        if entry.permits.len() > SWEEP_AT {
            let timeout = self.cfg.timeout;
            entry
                .permits
                .retain(|_, t| now.saturating_duration_since(*t) < timeout);
        }
        Some((external, fresh))
    }

    /// A datagram from `src` reaches the external address `external`: returns the inside
    /// socket it is for, or why it is dropped.
    pub(crate) fn inbound(
        &mut self,
        external: SocketAddrV4,
        src: SocketAddrV4,
        now: Instant,
    ) -> Result<SocketAddrV4, Refusal> {
        let timeout = self.cfg.timeout;
        let alive = |t: Instant| now.saturating_duration_since(t) < timeout;
        let Some(entry) = self.by_external.get_mut(&external) else {
            return Err("no mapping");
        };
        if !alive(entry.last_out) {
            self.remove(external);
            return Err("mapping expired");
        }
        let admitted = match self.cfg.filtering {
            Filtering::EndpointIndependent => true,
            Filtering::AddressDependent => entry
                .permits
                .iter()
                .any(|(a, t)| a.ip() == src.ip() && alive(*t)),
            Filtering::AddressAndPortDependent => {
                entry.permits.get(&src).is_some_and(|t| alive(*t))
            }
        };
        if !admitted {
            return Err("filtered");
        }
        if self.cfg.inbound_refreshes {
            entry.last_out = now;
            if let Some(t) = entry.permits.get_mut(&src) {
                *t = now;
            }
        }
        Ok(entry.internal)
    }

    /// The live mappings at `now`, in external-address order.
    pub(crate) fn mappings(&self, now: Instant) -> Vec<MappingView> {
        self.by_external
            .iter()
            .filter(|(_, e)| self.alive(e.last_out, now))
            .map(|(ext, e)| MappingView {
                internal: e.internal,
                external: *ext,
                dest: e.dest,
                permits: e
                    .permits
                    .iter()
                    .filter(|(_, t)| self.alive(**t, now))
                    .map(|(a, _)| *a)
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(a: [u8; 4], p: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from(a), p)
    }

    #[test]
    fn consistent_keeps_the_port_and_filters_per_endpoint() {
        let t0 = crate::clock::epoch();
        let mut rng = Rng::new(1);
        let mut n = NatState::new(NatConfig::consistent(Ipv4Addr::new(203, 0, 113, 1)));
        let inside = sa([10, 0, 0, 2], 5000);
        let (e1, new1) = n
            .outbound(inside, sa([198, 18, 0, 1], 1), t0, &mut rng)
            .unwrap();
        let (e2, new2) = n
            .outbound(inside, sa([198, 18, 0, 2], 2), t0, &mut rng)
            .unwrap();
        assert_eq!(e1, sa([203, 0, 113, 1], 5000));
        assert_eq!((e1, new1, new2), (e2, true, false));
        assert_eq!(n.inbound(e1, sa([198, 18, 0, 1], 1), t0), Ok(inside));
        assert_eq!(n.inbound(e1, sa([198, 18, 0, 1], 9), t0), Err("filtered"));
        // a second inside host with the same port gets another one
        let (e3, _) = n
            .outbound(
                sa([10, 0, 0, 3], 5000),
                sa([198, 18, 0, 1], 1),
                t0,
                &mut rng,
            )
            .unwrap();
        assert_ne!(e3.port(), 5000);
        // idle past the timeout: gone
        let later = t0 + DEFAULT_TIMEOUT;
        assert_eq!(
            n.inbound(e1, sa([198, 18, 0, 1], 1), later),
            Err("mapping expired")
        );
    }

    #[test]
    fn random_maps_each_destination_apart() {
        let t0 = crate::clock::epoch();
        let mut rng = Rng::new(2);
        let mut n = NatState::new(NatConfig::random(Ipv4Addr::new(203, 0, 113, 1)));
        let inside = sa([10, 0, 0, 2], 5000);
        let ports: Vec<u16> = (0..50)
            .map(|i| {
                n.outbound(inside, sa([198, 18, 0, 1], 1000 + i), t0, &mut rng)
                    .unwrap()
                    .0
                    .port()
            })
            .collect();
        let mut uniq = ports.clone();
        uniq.sort_unstable();
        uniq.dedup();
        assert_eq!(uniq.len(), 50);
        // the same destination again reuses its mapping
        let again = n
            .outbound(inside, sa([198, 18, 0, 1], 1000), t0, &mut rng)
            .unwrap();
        assert_eq!((again.0.port(), again.1), (ports[0], false));
    }

    #[test]
    fn a_full_port_range_refuses_new_mappings() {
        let t0 = crate::clock::epoch();
        let mut rng = Rng::new(3);
        let mut cfg = NatConfig::random(Ipv4Addr::new(203, 0, 113, 1));
        cfg.ports = (2000, 2003);
        let mut n = NatState::new(cfg);
        let inside = sa([10, 0, 0, 2], 5000);
        for i in 0..4 {
            assert!(n
                .outbound(inside, sa([198, 18, 0, 1], i), t0, &mut rng)
                .is_some());
        }
        assert!(n
            .outbound(inside, sa([198, 18, 0, 1], 99), t0, &mut rng)
            .is_none());
        // once they expire, ports are reused
        let later = t0 + DEFAULT_TIMEOUT;
        assert!(n
            .outbound(inside, sa([198, 18, 0, 1], 99), later, &mut rng)
            .is_some());
    }
}
