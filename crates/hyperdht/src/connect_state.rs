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
    routes: Mutex<HashMap<[u8; 32], SocketAddrV4>>,
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
            routes: Mutex::default(),
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
        lock(&self.routes).get(remote).copied()
    }

    /// `routes.add(publicKey, rawStream)`: the first route for a key stays until it fails.
    pub(crate) fn add_route(&self, remote: [u8; 32], addr: SocketAddrV4) {
        lock(&self.routes).entry(remote).or_insert(addr);
    }

    /// `route.gc()`, if the route is still the one that failed.
    pub(crate) fn drop_route(&self, remote: &[u8; 32], addr: SocketAddrV4) {
        let mut r = lock(&self.routes);
        if r.get(remote) == Some(&addr) {
            r.remove(remote);
        }
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
        (lock(&self.relay_cache).len(), lock(&self.routes).len())
    }
}
