//! Holepunching (`hyperdht lib/holepuncher.js`) for the consistent cases. A probe is the single
//! byte `0x00`. The initiator (client) connects to the first expected peer address a probe
//! arrives from; the responder (server) answers every probe with a probe and connects on the
//! client's first UDX packet instead.
//!
//! Deviation from upstream, wire-compatible: upstream punches from fresh pooled sockets; this
//! port punches from the DHT server socket (the one its UDX streams live on), so NAT samples,
//! PEER_HOLEPUNCH rounds and probes all use that socket, and a puncher cannot "reopen" its
//! socket. Strategies for RANDOM NATs (birthday sockets, random port probes) are not
//! implemented: a puncher facing one reports that it cannot punch.

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hyperdht_rpc::node::SocketKind;
use hyperdht_rpc::Dht;
use tokio::sync::{oneshot, Notify};

use crate::constants::Firewall;
use crate::nat::{auto_sample, SharedNat};
use crate::stats::Stats;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddress {
    pub addr: SocketAddrV4,
    pub verified: bool,
}

#[derive(Debug)]
struct Remote {
    firewall: Firewall,
    addresses: Vec<RemoteAddress>,
    holepunching: bool,
    /// Where the initiator accepts probes from besides `addresses` (the server address).
    expected: Vec<SocketAddrV4>,
}

/// One holepuncher (`class Holepuncher`).
pub struct Puncher {
    rpc: Dht,
    pub nat: SharedNat,
    initiator: bool,
    remote: Mutex<Remote>,
    punching: AtomicBool,
    connected: AtomicBool,
    destroyed: AtomicBool,
    on_connect: Mutex<Option<oneshot::Sender<SocketAddrV4>>>,
    wake: Notify,
    /// the node's counters (`punches.consistent`)
    stats: Arc<Stats>,
    /// a probe went out (the server tells a punched connection from a LAN one by it)
    probed: AtomicBool,
}

/// Live punchers of one node, fed by its foreign-datagram handler. Also carries the node's
/// counters (`dht.stats`), which its connects, servers and punchers all reach through it.
#[derive(Clone, Default)]
pub struct Punchers {
    list: Arc<Mutex<Vec<Weak<Puncher>>>>,
    answered: Arc<Mutex<HashMap<SocketAddrV4, Instant>>>,
    stats: Arc<Stats>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Punchers {
    /// The node's counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    fn add(&self, p: &Arc<Puncher>) {
        let mut l = lock(&self.list);
        l.retain(|w| w.strong_count() > 0);
        l.push(Arc::downgrade(p));
    }

    /// Holepunchers still alive (not destroyed and still referenced); prunes the bookkeeping.
    pub fn live(&self) -> usize {
        let now = Instant::now();
        lock(&self.answered).retain(|_, t| now.duration_since(*t) < ANSWER_INTERVAL);
        let mut l = lock(&self.list);
        l.retain(|w| w.strong_count() > 0);
        l.iter()
            .filter_map(|w| w.upgrade())
            .filter(|p| !p.is_destroyed())
            .count()
    }

    /// A 1-byte datagram from `from` on `socket` (`_onholepunchmessage`).
    pub fn on_probe(&self, socket: SocketKind, from: SocketAddrV4) {
        if socket != PUNCH_SOCKET {
            return;
        }
        let live: Vec<Arc<Puncher>> = {
            let mut l = lock(&self.list);
            l.retain(|w| w.strong_count() > 0);
            l.iter().filter_map(|w| w.upgrade()).collect()
        };
        let live: Vec<Arc<Puncher>> = live.into_iter().filter(|p| !p.is_destroyed()).collect();
        // initiators: the first probe from an address we expect wins
        let mut taken = false;
        for p in live.iter().filter(|p| p.initiator) {
            if !taken && p.expects(&from) && p.mark_connected(from) {
                taken = true;
            }
        }
        // responders answer with a probe from the same socket
        if let Some(p) = live.iter().find(|p| !p.initiator) {
            let now = Instant::now();
            let mut a = lock(&self.answered);
            a.retain(|_, t| now.duration_since(*t) < ANSWER_INTERVAL);
            if let std::collections::hash_map::Entry::Vacant(e) = a.entry(from) {
                e.insert(now);
                drop(a);
                p.ping(from);
            }
        }
    }
}

impl Puncher {
    /// A puncher that starts sampling its NAT at once. `remote_firewall` is what the peer's
    /// handshake payload said; `firewalled` is `dht.firewalled` (passed in because servers
    /// create punchers under the node lock).
    pub fn new(
        rpc: &Dht,
        punchers: &Punchers,
        initiator: bool,
        remote_firewall: Firewall,
        firewalled: bool,
    ) -> Arc<Puncher> {
        let nat = SharedNat::new(firewalled);
        let p = Arc::new(Puncher {
            rpc: rpc.clone(),
            nat: nat.clone(),
            initiator,
            remote: Mutex::new(Remote {
                firewall: remote_firewall,
                addresses: Vec::new(),
                holepunching: false,
                expected: Vec::new(),
            }),
            punching: AtomicBool::new(false),
            connected: AtomicBool::new(false),
            destroyed: AtomicBool::new(false),
            on_connect: Mutex::new(None),
            wake: Notify::new(),
            stats: punchers.stats.clone(),
            probed: AtomicBool::new(false),
        });
        punchers.add(&p);
        tokio::spawn(auto_sample(nat, rpc.clone(), PUNCH_SOCKET));
        p
    }

    /// Initiator: resolves with the peer address of the first probe that reaches us.
    pub fn on_connect(&self) -> oneshot::Receiver<SocketAddrV4> {
        let (tx, rx) = oneshot::channel();
        *lock(&self.on_connect) = Some(tx);
        rx
    }

    /// Initiator: also accept probes from `addr` (the server address a relay reported).
    pub fn expect(&self, addr: SocketAddrV4) {
        let mut r = lock(&self.remote);
        if !r.expected.contains(&addr) {
            r.expected.push(addr);
        }
    }

    fn expects(&self, from: &SocketAddrV4) -> bool {
        let r = lock(&self.remote);
        r.expected.contains(from) || r.addresses.iter().any(|a| a.addr == *from)
    }

    fn mark_connected(&self, from: SocketAddrV4) -> bool {
        if self.connected.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.punching.store(false, Ordering::Release);
        self.wake.notify_waiters();
        if let Some(tx) = lock(&self.on_connect).take() {
            let _ = tx.send(from);
        }
        true
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    pub fn is_destroyed(&self) -> bool {
        self.destroyed.load(Ordering::Acquire)
    }

    pub fn is_punching(&self) -> bool {
        self.punching.load(Ordering::Acquire)
    }

    /// Whether this puncher sent a probe (normal TTL) yet.
    pub fn has_probed(&self) -> bool {
        self.probed.load(Ordering::Acquire)
    }

    /// `updateRemote({punching, firewall, addresses, verified})`.
    pub fn update_remote(
        &self,
        punching: bool,
        firewall: Firewall,
        addresses: Option<&[SocketAddrV4]>,
        verified_host: Option<std::net::Ipv4Addr>,
    ) {
        let mut r = lock(&self.remote);
        let previously: Vec<std::net::Ipv4Addr> = r
            .addresses
            .iter()
            .filter(|a| a.verified)
            .map(|a| *a.addr.ip())
            .collect();
        r.addresses = addresses
            .unwrap_or_default()
            .iter()
            .map(|a| RemoteAddress {
                addr: *a,
                verified: verified_host == Some(*a.ip()) || previously.contains(a.ip()),
            })
            .collect();
        r.firewall = firewall;
        r.holepunching = punching;
    }

    pub fn remote_firewall(&self) -> Firewall {
        lock(&self.remote).firewall
    }

    pub fn remote_holepunching(&self) -> bool {
        lock(&self.remote).holepunching
    }

    pub fn remote_addresses(&self) -> Vec<RemoteAddress> {
        lock(&self.remote).addresses.clone()
    }

    /// `ping(addr)`: a probe with the normal TTL.
    pub fn ping(&self, addr: SocketAddrV4) {
        self.probed.store(true, Ordering::Release);
        self.rpc
            .send_raw_ttl(PUNCH_SOCKET, addr, PROBE.to_vec(), DEFAULT_TTL);
    }

    /// `openSession(addr)`: a low-TTL probe that only opens our side of the NAT.
    pub fn open_session(&self, addr: SocketAddrV4) {
        self.rpc
            .send_raw_ttl(PUNCH_SOCKET, addr, PROBE.to_vec(), HOLEPUNCH_TTL);
    }

    fn unstable(&self) -> bool {
        let (local, _) = self.nat.state();
        let remote = self.remote_firewall();
        (remote >= Firewall::Random && local >= Firewall::Random) || local == Firewall::Unknown
    }

    /// `analyze(allowReopen)`: waits for the NAT verdict; false if it is unusable. Reopening
    /// the socket is not possible here (shared socket), so `allowReopen` changes nothing.
    pub async fn analyze(&self) -> bool {
        self.nat.analyzing(ANALYZE_LIMIT).await;
        !self.unstable()
    }

    /// `punch()`: starts probing in the background; false if the NAT combination is not one
    /// this port can punch.
    pub fn punch(self: &Arc<Self>) -> bool {
        if self.is_destroyed() || self.is_connected() || self.remote_addresses().is_empty() {
            return false;
        }
        let (local, _) = self.nat.state();
        let remote = self.remote_firewall();
        if local.coerced() != Firewall::Consistent || remote.coerced() != Firewall::Consistent {
            return false;
        }
        if self.punching.swap(true, Ordering::AcqRel) {
            return true;
        }
        self.stats.punch_consistent();
        tokio::spawn(self.clone().consistent_probe());
        true
    }

    /// `_consistentProbe`: every second probe the verified addresses, the unverified ones only
    /// in rounds 4 and 8; the responder starts a second late (its fast-mode ping already went).
    async fn consistent_probe(self: Arc<Self>) {
        if !self.initiator {
            self.pause(ROUND_PAUSE).await;
        }
        let mut tries = 0;
        while self.is_punching() && tries < CONSISTENT_ROUNDS {
            tries += 1;
            for a in self.remote_addresses() {
                if !a.verified && tries & 3 != 0 {
                    continue;
                }
                self.ping(a.addr);
            }
            if self.is_punching() {
                self.pause(ROUND_PAUSE).await;
            }
        }
        if !self.is_connected() {
            self.destroy();
        }
    }

    async fn pause(&self, d: Duration) {
        let _ = tokio::time::timeout(d, self.wake.notified()).await;
    }

    /// `destroy()`: stops punching and probe handling.
    pub fn destroy(&self) {
        if self.destroyed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.punching.store(false, Ordering::Release);
        self.nat.with(|n| n.finish());
        self.wake.notify_waiters();
        // dropping the sender tells a waiting initiator that punching ended
        lock(&self.on_connect).take();
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
    use super::match_address;

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
