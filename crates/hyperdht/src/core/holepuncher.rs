//! Holepunchers as sans-IO state (`hyperdht lib/holepuncher.js` and the sampling half of
//! `lib/nat.js`). A probe is the single byte `0x00`. The initiator (client) connects to the
//! first expected peer address a probe arrives from; the responder (server) answers every probe
//! with a probe.
//!
//! Each puncher classifies the NAT of the socket we punch from: it PINGs up to four recently
//! seen nodes (no retries) and feeds "our address as that node saw it" to [`Nat`]; PEER_HOLEPUNCH
//! replies add samples too. Probes go out through [`Node::send_raw_ttl`]; timers through
//! [`Punchers::poll_timeout`]. Nothing here reads a clock or owns a socket.
//!
//! Deviation from upstream, wire-compatible: upstream punches from fresh pooled sockets; this
//! port punches from the DHT server socket (the one its UDX streams live on).

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hyperdht_rpc::node::{Node, RequestSpec, SocketKind};
use hyperdht_rpc::{Response, RpcError};

use crate::constants::Firewall;
use crate::core::random_punch::{PoolId, PoolOp, RandomBudget};
use crate::core::tags::{Owner, Tags};
use crate::nat::Nat;

/// The socket we punch from (see the module docs).
pub const PUNCH_SOCKET: SocketKind = SocketKind::Server;
const PROBE: [u8; 1] = [0];
/// TTL of "open session" probes: enough to open our NAT, not to reach the peer's.
const HOLEPUNCH_TTL: u32 = 5;
const DEFAULT_TTL: u32 = 64;
/// `_consistentProbe`: rounds and pause.
const CONSISTENT_ROUNDS: u32 = 10;
const ROUND_PAUSE: Duration = Duration::from_secs(1);
/// Upper bound on waiting for the NAT analysis (upstream waits for the pings to run out).
const ANALYZE_LIMIT: Duration = Duration::from_secs(5);
/// A responder answers one address at most this often (two responders on shared sockets
/// would otherwise bounce probes forever).
const ANSWER_INTERVAL: Duration = Duration::from_millis(50);
/// Samples wanted before the analysis is finished (`_minSamples`).
const MIN_SAMPLES: usize = 4;
/// With this many known nodes the newest few are skipped (they may share our path).
const SKIP_THRESHOLD: usize = 8;
const SKIP: usize = 5;
/// `MAX_REOPENS`: fresh NAT analyses per puncher.
const MAX_REANALYSES: u32 = 3;
/// dht-rpc PING.
const PING: u64 = 0;

/// A puncher's handle.
pub type PuncherId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddress {
    pub addr: SocketAddrV4,
    pub verified: bool,
}

/// What punchers report to their owners (drained with [`Punchers::poll_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PunchEvent {
    /// The NAT analysis finished (or ran out of time): `analyze()` resolved.
    Analyzed(PuncherId),
    /// Initiator: a probe from an expected address reached us.
    Connected(PuncherId, SocketAddrV4),
    /// The puncher was destroyed (punching ran out, or its owner / the prepunch timer ended it).
    Destroyed(PuncherId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sampling {
    /// pass 0 or 1: `pending` pings out
    Pass {
        pass: u8,
        pending: usize,
    },
    Done,
}

/// What the veto sees (the puncher's view when the decision is due).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolepunchInfo {
    pub remote_firewall: Firewall,
    pub local_firewall: Firewall,
    pub remote_addresses: Vec<SocketAddrV4>,
    /// `null` in JS until our NAT sampling produced addresses
    pub local_addresses: Option<Vec<SocketAddrV4>>,
}

impl HolepunchInfo {
    /// The puncher's view now: the remote's NAT and addresses, ours from NAT sampling.
    pub(crate) fn of(puncher: &Puncher) -> Self {
        let (local_firewall, local_addresses) = puncher.local();
        HolepunchInfo {
            remote_firewall: puncher.remote_firewall(),
            local_firewall,
            remote_addresses: puncher.remote_addresses().iter().map(|a| a.addr).collect(),
            local_addresses,
        }
    }

    /// Nothing known (the puncher is gone).
    pub(crate) fn unknown() -> Self {
        HolepunchInfo {
            remote_firewall: Firewall::Unknown,
            local_firewall: Firewall::Unknown,
            remote_addresses: Vec::new(),
            local_addresses: None,
        }
    }
}

/// One holepuncher (`class Holepuncher`).
#[derive(Debug)]
pub struct Puncher {
    pub(crate) initiator: bool,
    pub nat: Nat,
    pub(crate) remote_firewall: Firewall,
    pub(crate) remote_addresses: Vec<RemoteAddress>,
    remote_holepunching: bool,
    /// Where the initiator accepts probes from besides `remote_addresses`.
    expected: Vec<SocketAddrV4>,
    pub(crate) punching: bool,
    /// `_consistentProbe` progress: rounds done and when the next one is due
    rounds: u32,
    next_round: Option<Instant>,
    pub(crate) connected: Option<SocketAddrV4>,
    pub(crate) destroyed: bool,
    /// a probe with the normal TTL went out (the server tells punched from LAN by it)
    probed: bool,
    sampling: Sampling,
    sampled_from: Vec<SocketAddrV4>,
    analyze_deadline: Instant,
    /// `HANDSHAKE_INITIAL_TIMEOUT`: destroyed then unless punching started
    pub(crate) prepunch_deadline: Option<Instant>,
    /// a RANDOM-NAT strategy in progress (`random_punch.rs`)
    pub(crate) random: Option<crate::core::random_punch::RandomPunch>,
    /// birthday sockets of the pool this puncher holds
    pub(crate) pool: Vec<PoolId>,
    /// the pool socket the initiator connected through (`None`: the punch socket)
    pub(crate) connected_via: Option<PoolId>,
    /// counted in the node's random-punch budget
    pub(crate) randomized: bool,
    /// the initiator told the remote it punches (a punching round went out): from then on a
    /// RANDOM remote's probes, from any port, are this punch's. Upstream gives every puncher a
    /// socket of its own; here the initiators of one node share the punch socket, so before
    /// that a probe from the remote's host belongs to another connection's punch (a second
    /// connection to the same server took the first one's birthday socket and broke both)
    pub(crate) punch_requested: bool,
    /// fresh analyses done (`MAX_REOPENS`)
    reanalyses: u32,
}

impl Puncher {
    pub fn is_initiator(&self) -> bool {
        self.initiator
    }
    pub fn is_connected(&self) -> bool {
        self.connected.is_some()
    }
    /// Initiator: the address whose probe reached us first.
    pub fn connected_to(&self) -> Option<SocketAddrV4> {
        self.connected
    }
    pub fn is_destroyed(&self) -> bool {
        self.destroyed
    }
    /// The pool socket the initiator connected through (`None`: the punch socket); the
    /// connection's stream must live on it.
    pub fn connected_via(&self) -> Option<PoolId> {
        self.connected_via
    }
    pub fn is_punching(&self) -> bool {
        self.punching
    }
    pub fn has_probed(&self) -> bool {
        self.probed
    }
    pub fn is_analyzed(&self) -> bool {
        self.nat.is_analyzed()
    }
    pub fn remote_firewall(&self) -> Firewall {
        self.remote_firewall
    }
    pub fn remote_holepunching(&self) -> bool {
        self.remote_holepunching
    }
    pub fn remote_addresses(&self) -> &[RemoteAddress] {
        &self.remote_addresses
    }
    /// (our NAT class, our addresses as sampled).
    pub fn local(&self) -> (Firewall, Option<Vec<SocketAddrV4>>) {
        (self.nat.firewall, self.nat.addresses.clone())
    }

    /// `analyze()` verdict once analyzed: false if the NAT combination is unusable.
    pub fn stable(&self) -> bool {
        let local = self.nat.firewall;
        let remote = self.remote_firewall;
        !((remote >= Firewall::Random && local >= Firewall::Random) || local == Firewall::Unknown)
    }

    /// Initiator: also accept probes from `addr` (the server address a relay reported).
    pub fn expect(&mut self, addr: SocketAddrV4) {
        if !self.expected.contains(&addr) {
            self.expected.push(addr);
        }
    }

    fn expects(&self, from: &SocketAddrV4) -> bool {
        self.expected.contains(from) || self.remote_addresses.iter().any(|a| a.addr == *from)
    }

    /// Whether a probe from `from` is the peer's: an expected address, or any port of its
    /// verified host when its NAT is RANDOM (its answer comes from a fresh mapping).
    fn expects_probe(&self, from: &SocketAddrV4) -> bool {
        self.expects(from)
            || (self.remote_firewall >= Firewall::Random
                && (self.punching || self.punch_requested)
                && self
                    .remote_addresses
                    .iter()
                    .any(|a| a.verified && a.addr.ip() == from.ip()))
    }

    /// The remote proved it reads us at `host` (it echoed our token from there): its addresses
    /// on that host are verified.
    pub fn verify_host(&mut self, host: Ipv4Addr) {
        for a in &mut self.remote_addresses {
            if *a.addr.ip() == host {
                a.verified = true;
            }
        }
    }

    /// `updateRemote({punching, firewall, addresses, verified})`.
    pub fn update_remote(
        &mut self,
        punching: bool,
        firewall: Firewall,
        addresses: Option<&[SocketAddrV4]>,
        verified_host: Option<Ipv4Addr>,
    ) {
        let previously: Vec<Ipv4Addr> = self
            .remote_addresses
            .iter()
            .filter(|a| a.verified)
            .map(|a| *a.addr.ip())
            .collect();
        self.remote_addresses = addresses
            .unwrap_or_default()
            .iter()
            .map(|a| RemoteAddress {
                addr: *a,
                verified: verified_host == Some(*a.ip()) || previously.contains(a.ip()),
            })
            .collect();
        self.remote_firewall = firewall;
        self.remote_holepunching = punching;
    }
}

/// Every puncher of one node, fed by its probes, ping replies and timers.
#[derive(Debug, Default)]
pub struct Punchers {
    pub(crate) list: HashMap<PuncherId, Puncher>,
    next_id: PuncherId,
    answered: HashMap<SocketAddrV4, Instant>,
    events: VecDeque<PunchEvent>,
    /// `dht._randomPunches` / `_lastRandomPunch`
    pub(crate) random: RandomBudget,
    pub(crate) pool_ops: VecDeque<PoolOp>,
    pub(crate) pool_hits: VecDeque<(PuncherId, PoolId, SocketAddrV4)>,
    pub(crate) pool_owner: HashMap<PoolId, PuncherId>,
    pub(crate) next_pool: PoolId,
    /// test support: the random probes' ports come from this stream instead of the thread RNG
    /// (`Punchers::seed_random_ports`)
    pub(crate) port_seed: Option<u64>,
    /// birthday sockets per RANDOM-NAT punch (`Punchers::set_birthday_sockets`; default
    /// `BIRTHDAY_SOCKETS`)
    pub(crate) birthday_sockets: Option<usize>,
    /// the latest time an input brought (for bookkeeping in `destroy`, which takes none)
    pub(crate) last_now: Option<Instant>,
}

impl Punchers {
    /// A punched connection's [`PathInfo`]: the NAT classes puncher `id` saw (`Unknown` once it
    /// is gone), `rounds` PEER_HOLEPUNCH rounds, punching since `started`.
    pub(crate) fn path_info(
        &self,
        id: PuncherId,
        path: crate::stats::Path,
        rounds: u64,
        started: Instant,
        now: Instant,
    ) -> crate::path_info::PathInfo {
        let (local, remote) = self
            .get(id)
            .map_or((Firewall::Unknown, Firewall::Unknown), |p| {
                (p.local().0, p.remote_firewall())
            });
        crate::path_info::PathInfo {
            punch_rounds: rounds as u32,
            punch_time: Some(now.duration_since(started)),
            ..crate::path_info::PathInfo::unpunched(path, local, remote)
        }
    }

    /// Punchers not destroyed.
    pub fn live(&self) -> usize {
        self.list.values().filter(|p| !p.destroyed).count()
    }

    pub fn get(&self, id: PuncherId) -> Option<&Puncher> {
        self.list.get(&id)
    }

    /// Every puncher still here, by id (observability: the simulation tests read each side's
    /// NAT verdict from it).
    pub fn iter(&self) -> impl Iterator<Item = (PuncherId, &Puncher)> {
        self.list.iter().map(|(id, p)| (*id, p))
    }

    pub fn get_mut(&mut self, id: PuncherId) -> Option<&mut Puncher> {
        self.list.get_mut(&id)
    }

    pub fn poll_event(&mut self) -> Option<PunchEvent> {
        self.events.pop_front()
    }

    /// A puncher that starts sampling its NAT at once. `remote_firewall` is what the peer's
    /// handshake payload said; `prepunch` arms upstream's server-side timer that destroys a
    /// puncher which has not started punching by then.
    pub fn create(
        &mut self,
        initiator: bool,
        remote_firewall: Firewall,
        prepunch: Option<Duration>,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
    ) -> PuncherId {
        let id = self.next_id;
        self.next_id += 1;
        self.last_now = Some(now);
        let p = Puncher {
            initiator,
            nat: Nat::new(node.is_firewalled()),
            remote_firewall,
            remote_addresses: Vec::new(),
            remote_holepunching: false,
            expected: Vec::new(),
            punching: false,
            rounds: 0,
            next_round: None,
            connected: None,
            destroyed: false,
            probed: false,
            sampling: Sampling::Pass {
                pass: 0,
                pending: 0,
            },
            sampled_from: Vec::new(),
            analyze_deadline: now + ANALYZE_LIMIT,
            prepunch_deadline: prepunch.map(|d| now + d),
            punch_requested: false,
            random: None,
            pool: Vec::new(),
            connected_via: None,
            randomized: false,
            reanalyses: 0,
        };
        self.list.insert(id, p);
        self.sample_pass(id, 0, tags, node, now);
        id
    }

    /// `autoSample()`: PING up to four recently seen nodes from the punch socket (no retries);
    /// one more pass over other nodes if that gave too few samples, then the analysis ends.
    fn sample_pass(
        &mut self,
        id: PuncherId,
        pass: u8,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
    ) {
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        let nodes = node.to_array(0);
        let skip = if nodes.len() >= SKIP_THRESHOLD {
            SKIP
        } else {
            0
        };
        let need = MIN_SAMPLES.saturating_sub(p.nat.sampled());
        let picks: Vec<SocketAddrV4> = nodes
            .iter()
            .skip(skip)
            .map(|n| n.addr)
            .filter(|a| !p.sampled_from.contains(a))
            .take(need)
            .collect();
        p.sampled_from.extend(&picks);
        let pending = picks.len();
        for to in picks {
            let mut spec = RequestSpec::new(to, true, PING);
            spec.retries = 0;
            spec.socket = Some(PUNCH_SOCKET);
            node.request(tags.alloc(Owner::NatPing(id)), spec, now);
        }
        p.sampling = Sampling::Pass { pass, pending };
        if pending == 0 {
            self.sampling_settled(id, tags, node, now);
        }
    }

    /// `_reopen`: a fresh NAT analysis (at most `MAX_REANALYSES` per puncher); false if
    /// none may start. Upstream binds a new socket first; ours is shared, so this samples again.
    pub fn reanalyze(
        &mut self,
        id: PuncherId,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
    ) -> bool {
        let Some(p) = self.list.get_mut(&id) else {
            return false;
        };
        if p.destroyed || p.punching || p.reanalyses >= MAX_REANALYSES {
            return false;
        }
        p.reanalyses += 1;
        p.nat = Nat::new(node.is_firewalled());
        p.sampled_from.clear();
        p.analyze_deadline = now + ANALYZE_LIMIT;
        self.sample_pass(id, 0, tags, node, now);
        true
    }

    /// A sampling PING came back (or failed).
    pub fn on_ping(
        &mut self,
        id: PuncherId,
        result: Result<Response, RpcError>,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
    ) {
        if !self.list.contains_key(&id) {
            return;
        }
        if let Ok(res) = &result {
            self.add_sample(id, res.to, res.from);
        }
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        if let Sampling::Pass { pass, pending } = p.sampling {
            let pending = pending.saturating_sub(1);
            p.sampling = Sampling::Pass { pass, pending };
            if pending == 0 {
                self.sampling_settled(id, tags, node, now);
            }
        }
    }

    fn sampling_settled(&mut self, id: PuncherId, tags: &mut Tags, node: &mut Node, now: Instant) {
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        let Sampling::Pass { pass, .. } = p.sampling else {
            return;
        };
        if pass == 0 && p.nat.sampled() < MIN_SAMPLES && !p.destroyed {
            self.sample_pass(id, 1, tags, node, now);
            return;
        }
        p.sampling = Sampling::Done;
        self.finish_analysis(id);
    }

    fn finish_analysis(&mut self, id: PuncherId) {
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        let was = p.nat.is_analyzed();
        p.nat.finish();
        if !was && !p.destroyed {
            self.events.push_back(PunchEvent::Analyzed(id));
        }
    }

    /// `nat.add(addr, from)`: `addr` is our punch socket's address as the node at `from` saw it.
    pub fn add_sample(&mut self, id: PuncherId, addr: SocketAddrV4, from: SocketAddrV4) {
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        let was = p.nat.is_analyzed();
        p.nat.add(addr, from);
        if !was && p.nat.is_analyzed() && !p.destroyed {
            self.events.push_back(PunchEvent::Analyzed(id));
        }
    }

    /// `ping(addr)`: a probe with the normal TTL.
    pub fn ping(&mut self, id: PuncherId, addr: SocketAddrV4, node: &mut Node) {
        if let Some(p) = self.list.get_mut(&id) {
            p.probed = true;
        }
        node.send_raw_ttl(PUNCH_SOCKET, addr, PROBE.to_vec(), DEFAULT_TTL);
    }

    /// `openSession(addr)`: a low-TTL probe that only opens our side of the NAT.
    pub fn open_session(&mut self, addr: SocketAddrV4, node: &mut Node) {
        node.send_raw_ttl(PUNCH_SOCKET, addr, PROBE.to_vec(), HOLEPUNCH_TTL);
    }

    /// `punch()`: starts probing; false if the NAT combination is not one this port punches.
    pub fn punch(&mut self, id: PuncherId, stats: &crate::stats::Stats, now: Instant) -> bool {
        let Some(p) = self.list.get_mut(&id) else {
            return false;
        };
        if p.destroyed || p.connected.is_some() || p.remote_addresses.is_empty() {
            return false;
        }
        if p.punching {
            return true;
        }
        let local = p.nat.firewall.coerced();
        let remote = p.remote_firewall.coerced();
        if local != Firewall::Consistent || remote != Firewall::Consistent {
            let ok = self.punch_random(id, local, remote, now);
            if ok {
                stats.punch_random();
            }
            return ok;
        }
        p.punching = true;
        p.prepunch_deadline = None;
        stats.punch_consistent();
        // the responder starts a second late (its fast-mode ping already went)
        p.next_round = Some(if p.initiator { now } else { now + ROUND_PAUSE });
        true
    }

    /// A 1-byte datagram from `from` on `socket` (`_onholepunchmessage`).
    pub fn on_probe(
        &mut self,
        socket: SocketKind,
        from: SocketAddrV4,
        node: &mut Node,
        now: Instant,
    ) {
        self.last_now = Some(now);
        if socket != PUNCH_SOCKET {
            return;
        }
        // initiators: the first probe from an address we expect wins
        let mut ids: Vec<PuncherId> = self.list.keys().copied().collect();
        ids.sort_unstable();
        for id in &ids {
            let p = &self.list[id];
            if p.initiator && !p.destroyed && p.connected.is_none() && p.expects_probe(&from) {
                self.mark_connected_via(*id, from, None);
                break;
            }
        }
        // responders answer with a probe from the same socket
        let responder = ids
            .iter()
            .copied()
            .find(|id| !self.list[id].initiator && !self.list[id].destroyed);
        if let Some(id) = responder {
            self.answered
                .retain(|_, t| now.duration_since(*t) < ANSWER_INTERVAL);
            if let std::collections::hash_map::Entry::Vacant(e) = self.answered.entry(from) {
                e.insert(now);
                self.ping(id, from, node);
            }
        }
    }

    /// The initiator's first probe arrived (through pool socket `via`, or the punch socket):
    /// the other pool sockets go back, the budget is freed.
    pub(crate) fn mark_connected_via(
        &mut self,
        id: PuncherId,
        from: SocketAddrV4,
        via: Option<PoolId>,
    ) {
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        p.connected = Some(from);
        p.connected_via = via;
        p.punching = false;
        p.next_round = None;
        p.random = None;
        self.release_pool(id, via);
        self.end_randomized(id, self.last_now);
        self.events.push_back(PunchEvent::Connected(id, from));
    }

    /// `_autoDestroy`: a strategy ran out without a connection.
    pub(crate) fn auto_destroy(&mut self, id: PuncherId) {
        if self.list.get(&id).is_some_and(|p| p.connected.is_none()) {
            self.destroy(id);
        }
    }

    /// `destroy()`: stops punching and probe handling; the entry goes away.
    pub fn destroy(&mut self, id: PuncherId) {
        let Some(p) = self.list.get(&id) else {
            return;
        };
        let keep = p.connected_via;
        self.release_pool(id, keep);
        if let Some(k) = keep {
            self.pool_owner.remove(&k);
        }
        self.end_randomized(id, self.last_now);
        let Some(mut p) = self.list.remove(&id) else {
            return;
        };
        if !p.destroyed {
            p.destroyed = true;
            self.events.push_back(PunchEvent::Destroyed(id));
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.list
            .values()
            .filter(|p| !p.destroyed)
            .flat_map(|p| {
                let analyze = (!p.nat.is_analyzed()).then_some(p.analyze_deadline);
                let random = p.random.as_ref().map(|r| r.next());
                [p.next_round, p.prepunch_deadline, analyze, random]
            })
            .flatten()
            .min()
    }

    pub fn on_timeout(&mut self, node: &mut Node, now: Instant) {
        self.last_now = Some(now);
        let mut ids: Vec<PuncherId> = self.list.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let Some(p) = self.list.get_mut(&id) else {
                continue;
            };
            if !p.nat.is_analyzed() && p.analyze_deadline <= now {
                self.finish_analysis(id);
            }
            let Some(p) = self.list.get_mut(&id) else {
                continue;
            };
            if p.prepunch_deadline.is_some_and(|t| t <= now) && !p.punching {
                self.destroy(id);
                continue;
            }
            if p.next_round.is_some_and(|t| t <= now) {
                self.consistent_round(id, node, now);
            }
            let due = self
                .list
                .get(&id)
                .and_then(|p| p.random.as_ref())
                .is_some_and(|r| r.next() <= now);
            if due {
                self.random_step(id, node, now);
            }
        }
    }

    /// One `_consistentProbe` round: the verified addresses every round, the unverified ones
    /// only in rounds 4 and 8; after the last round an unconnected puncher is destroyed.
    fn consistent_round(&mut self, id: PuncherId, node: &mut Node, now: Instant) {
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        if !p.punching || p.rounds >= CONSISTENT_ROUNDS {
            p.next_round = None;
            if p.connected.is_none() {
                self.destroy(id);
            }
            return;
        }
        p.rounds += 1;
        let tries = p.rounds;
        let targets: Vec<SocketAddrV4> = p
            .remote_addresses
            .iter()
            .filter(|a| a.verified || tries & 3 == 0)
            .map(|a| a.addr)
            .collect();
        p.next_round = Some(now + ROUND_PAUSE);
        for a in targets {
            self.ping(id, a, node);
        }
    }
}

/// `matchAddress(mine, theirs)`: the peer LAN address sharing the longest dotted prefix (1–3
/// octets) with one of ours.
pub fn match_address(mine: &[SocketAddrV4], theirs: &[SocketAddrV4]) -> Option<SocketAddrV4> {
    let mut best: Option<(usize, SocketAddrV4)> = None;
    for m in mine {
        let a = m.ip().octets();
        for t in theirs {
            let b = t.ip().octets();
            let common = a
                .iter()
                .zip(b.iter())
                .take(3)
                .take_while(|(x, y)| x == y)
                .count();
            if common == 3 {
                return Some(*t);
            }
            if common > 0 && best.is_none_or(|(c, _)| common > c) {
                best = Some((common, *t));
            }
        }
    }
    best.map(|(_, a)| a)
}

/// Holepunch tokens compared in constant time (both absent counts as equal, like `==`).
pub(crate) fn token_eq(a: Option<[u8; 32]>, b: Option<[u8; 32]>) -> bool {
    use subtle::ConstantTimeEq;
    match (a, b) {
        (Some(a), Some(b)) => bool::from(a.ct_eq(&b)),
        (None, None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RANDOM-NAT punch needs a verified address of the remote; a TRY_LATER reply that echoed
    /// our token verifies it (`verify_host`), else a delayed round (sent without a token) never
    /// could and the punch would not start.
    #[test]
    fn a_random_punch_starts_once_the_remote_host_is_verified() {
        use hyperdht_rpc::node::{Config, Node};
        let now = Instant::now();
        let mut node = Node::new(Config::default(), now);
        let mut tags = Tags::default();
        let mut ps = Punchers::default();
        let stats = crate::stats::Stats::default();
        let host = std::net::Ipv4Addr::new(198, 18, 11, 1);
        let id = ps.create(true, Firewall::Random, None, &mut tags, &mut node, now);
        let p = ps.get_mut(id).unwrap();
        p.nat.firewall = Firewall::Consistent;
        p.update_remote(
            true,
            Firewall::Random,
            Some(&[SocketAddrV4::new(host, 0)]),
            None,
        );
        assert!(
            !ps.punch(id, &stats, now),
            "no verified address: no random punch"
        );
        ps.get_mut(id).unwrap().verify_host(host);
        assert!(ps.punch(id, &stats, now));
        assert!(ps.get(id).unwrap().is_punching());
    }

    /// Two connects of one node to the same RANDOM-NAT server share the punch socket: the
    /// probes a server's birthday sockets send (from any port of its host) belong to the
    /// connect that asked for that punch, never to one still waiting for the random-punch
    /// budget (which then "connected" to another connection's socket and broke both).
    #[test]
    fn a_random_remotes_probes_go_to_the_punch_that_asked_for_them() {
        use hyperdht_rpc::node::{Config, Node};
        let now = Instant::now();
        let mut node = Node::new(Config::default(), now);
        let mut tags = Tags::default();
        let mut ps = Punchers::default();
        let server: SocketAddrV4 = "198.18.11.1:49737".parse().unwrap();
        let from = |port: u16| SocketAddrV4::new(*server.ip(), port);
        let mut punch = || {
            let id = ps.create(true, Firewall::Random, None, &mut tags, &mut node, now);
            let p = ps.get_mut(id).unwrap();
            p.update_remote(true, Firewall::Random, Some(&[server]), Some(*server.ip()));
            id
        };
        let (a, b) = (punch(), punch());
        ps.get_mut(a).unwrap().punch_requested = true;
        ps.on_probe(PUNCH_SOCKET, from(44524), &mut node, now);
        assert_eq!(ps.get(a).unwrap().connected_to(), Some(from(44524)));
        // the rest of `a`'s punch (other birthday sockets) is not `b`'s
        ps.on_probe(PUNCH_SOCKET, from(36212), &mut node, now);
        assert_eq!(ps.get(b).unwrap().connected_to(), None);
        // once `b` asked for its own punch, the server's probes are its
        ps.get_mut(b).unwrap().punch_requested = true;
        ps.on_probe(PUNCH_SOCKET, from(50001), &mut node, now);
        assert_eq!(ps.get(b).unwrap().connected_to(), Some(from(50001)));
    }

    #[test]
    fn lan_match_prefers_longest_prefix() {
        let a = |s: &str| s.parse().unwrap();
        let mine = [a("192.168.122.238:1")];
        assert_eq!(
            match_address(&mine, &[a("192.168.0.23:5"), a("192.168.122.1:6")]),
            Some(a("192.168.122.1:6"))
        );
        assert_eq!(
            match_address(&mine, &[a("192.1.0.1:5")]),
            Some(a("192.1.0.1:5"))
        );
        assert_eq!(match_address(&mine, &[a("10.0.0.1:5")]), None);
        assert_eq!(match_address(&mine, &[]), None);
    }
}
