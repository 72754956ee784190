//! Per-node state that outlives single connects: the relay-address cache (`hyperdht index.js`:
//! `this._relayAddressesCache = new Cache({ maxSize: min(maxSize, 512), maxAge: 0 })`), the
//! reusable-socket routes (`lib/socket-pool.js`: `SocketRoutes`), and connect counters.
//!
//! Routes: upstream keys a route by the remote public key and keeps `{ socket, address }` of the
//! raw stream; here every stream lives on the DHT server socket, so a route is just the remote
//! address. Upstream drops a route when its raw stream errors (or its pooled socket closes); this
//! port drops it when a handshake through it fails (`retryRoute`), because watching every stream
//! for errors would cost a task per connection.

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyperdht_udx::socket::UdxStreamRef;

use crate::cache::Xache;

/// `_relayAddressesCache` size cap (`Math.min(maxSize, 512)`).
const RELAY_CACHE_MAX: usize = 512;

/// How connects of this node went, for tests and stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectStats {
    /// FIND_PEER queries started by connects (upstream runs one even with relay addresses: it is
    /// seeded with them and raced against the direct handshakes).
    pub find_peer_queries: u64,
    /// Handshakes answered through a relay address known before the query (`opts.relayAddresses`,
    /// the relay-address cache, or the persistent node's own router entry).
    pub via_relay_addresses: u64,
    /// Handshakes answered through a node the FIND_PEER query found.
    pub via_find_peer: u64,
    /// Handshakes answered directly by the remote through a reusable-socket route.
    pub via_route: u64,
}

/// Sizes of the per-node maps that grow with connects (see [`crate::HyperDht::internal_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InternalCounts {
    /// Handshake slots of all listening servers (`_holepunches`), pending or kept for retransmits.
    pub server_slots: usize,
    /// Noise message 1 → slot index entries (`_connects`).
    pub server_noise_keys: usize,
    /// Holepunchers alive (client and server).
    pub punchers: usize,
    /// Remote keys with cached relay addresses (bounded: 512).
    pub relay_cache: usize,
    /// Reusable-socket routes.
    pub routes: usize,
}

pub(crate) struct ConnectShared {
    relay_cache: Mutex<Xache<[u8; 32], Vec<SocketAddrV4>>>,
    routes: Mutex<Routes>,
    find_peer_queries: AtomicU64,
    via_relay_addresses: AtomicU64,
    via_find_peer: AtomicU64,
    via_route: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Where a handshake that got answered was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Route,
    RelayAddresses,
    FindPeer,
}

impl ConnectShared {
    pub(crate) fn new(max_size: usize) -> Self {
        ConnectShared {
            relay_cache: Mutex::new(Xache::new(
                max_size.min(RELAY_CACHE_MAX),
                Duration::ZERO,
                Instant::now(),
            )),
            routes: Mutex::new(Routes::default()),
            find_peer_queries: AtomicU64::new(0),
            via_relay_addresses: AtomicU64::new(0),
            via_find_peer: AtomicU64::new(0),
            via_route: AtomicU64::new(0),
        }
    }

    pub(crate) fn cached_relays(&self, remote: &[u8; 32]) -> Option<Vec<SocketAddrV4>> {
        lock(&self.relay_cache)
            .get(remote, Instant::now())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn cache_relays(&self, remote: [u8; 32], relays: Vec<SocketAddrV4>) {
        lock(&self.relay_cache).set(remote, relays, Instant::now());
    }

    pub(crate) fn route(&self, remote: &[u8; 32]) -> Option<SocketAddrV4> {
        lock(&self.routes).get(remote)
    }

    /// `routes.add(publicKey, rawStream)`: the first route for a key stays while its stream is
    /// open (upstream: while its pooled socket is).
    pub(crate) fn add_route(&self, remote: [u8; 32], addr: SocketAddrV4, stream: UdxStreamRef) {
        lock(&self.routes).add(remote, addr, stream);
    }

    /// `route.gc()`, if the route is still the one that failed.
    pub(crate) fn drop_route(&self, remote: &[u8; 32], addr: SocketAddrV4) {
        lock(&self.routes).drop_if(remote, addr);
    }

    pub(crate) fn count_query(&self) {
        self.find_peer_queries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_via(&self, via: Via) {
        let c = match via {
            Via::Route => &self.via_route,
            Via::RelayAddresses => &self.via_relay_addresses,
            Via::FindPeer => &self.via_find_peer,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> ConnectStats {
        ConnectStats {
            find_peer_queries: self.find_peer_queries.load(Ordering::Relaxed),
            via_relay_addresses: self.via_relay_addresses.load(Ordering::Relaxed),
            via_find_peer: self.via_find_peer.load(Ordering::Relaxed),
            via_route: self.via_route.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn sizes(&self) -> (usize, usize) {
        (lock(&self.relay_cache).len(), lock(&self.routes).live())
    }
}

/// How long a route outlives the stream it was made with (`LINGER_TIME` of upstream's
/// `lib/socket-pool.js`: a reusable socket lingers 3 s after its last stream).
const ROUTE_LINGER: Duration = Duration::from_secs(3);

/// Reusable-socket routes (`SocketRoutes`): remote key → the address of a connection made with
/// `reusableSocket`, valid while that connection's stream is open and [`ROUTE_LINGER`] after.
/// Upstream drops a route when its pooled socket closes; every stream of ours runs on the DHT
/// socket, which never does, so the stream's own lifetime stands in (otherwise every peer ever
/// connected stays forever). Dead routes are removed when read and swept whenever the map
/// doubled since the last sweep.
#[derive(Default)]
struct Routes {
    map: HashMap<[u8; 32], Route>,
    swept_at: usize,
}

struct Route {
    addr: SocketAddrV4,
    stream: UdxStreamRef,
    /// when the stream was first seen closed
    closed_seen: Option<Instant>,
}

impl Route {
    fn valid(&mut self, now: Instant) -> bool {
        if self.stream.is_open() {
            self.closed_seen = None;
            return true;
        }
        let since = *self.closed_seen.get_or_insert(now);
        now.duration_since(since) < ROUTE_LINGER
    }
}

impl Routes {
    fn get(&mut self, remote: &[u8; 32]) -> Option<SocketAddrV4> {
        let now = Instant::now();
        let route = self.map.get_mut(remote)?;
        if route.valid(now) {
            return Some(route.addr);
        }
        self.map.remove(remote);
        None
    }

    /// The first route for a key stays while valid; a new stream on the same address keeps it
    /// alive (upstream: another stream on the same pooled socket).
    fn add(&mut self, remote: [u8; 32], addr: SocketAddrV4, stream: UdxStreamRef) {
        match self.get(&remote) {
            Some(a) if a == addr => {
                if let Some(r) = self.map.get_mut(&remote) {
                    r.stream = stream;
                    r.closed_seen = None;
                }
            }
            Some(_) => {}
            None => {
                let closed_seen = None;
                self.map.insert(
                    remote,
                    Route {
                        addr,
                        stream,
                        closed_seen,
                    },
                );
            }
        }
        if self.map.len() >= (2 * self.swept_at).max(64) {
            self.sweep();
        }
    }

    fn drop_if(&mut self, remote: &[u8; 32], addr: SocketAddrV4) {
        if self.map.get(remote).is_some_and(|r| r.addr == addr) {
            self.map.remove(remote);
        }
    }

    fn sweep(&mut self) {
        let now = Instant::now();
        self.map.retain(|_, r| r.valid(now));
        self.swept_at = self.map.len();
    }

    /// Routes still valid (sweeps first).
    fn live(&mut self) -> usize {
        self.sweep();
        self.map.len()
    }
}
