//! Per-node state that outlives single connects: the relay-address cache (`hyperdht index.js`:
//! `this._relayAddressesCache = new Cache({ maxSize: min(maxSize, 512), maxAge: 0 })`), the
//! reusable-socket routes (`lib/socket-pool.js`: `SocketRoutes`) and the connect counters.
//!
//! Routes: upstream keys a route by the remote public key and keeps `{ socket, address }` of the
//! raw stream; here every stream lives on the DHT server socket, so a route is the remote address
//! plus the [`StreamKey`] of the stream it was made with. Upstream drops a route when its raw
//! stream errors (or its pooled socket closes); here the driver reports a closed stream
//! (`Routes::stream_closed`) and the route lingers `ROUTE_LINGER` after that, and a handshake
//! through a route that fails drops it (`retryRoute`).

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use crate::cache::Xache;

/// `_relayAddressesCache` size cap (`Math.min(maxSize, 512)`).
pub(crate) const RELAY_CACHE_MAX: usize = 512;

/// How long a route outlives the stream it was made with (`LINGER_TIME` of upstream's
/// `lib/socket-pool.js`: a reusable socket lingers 3 s after its last stream).
pub(crate) const ROUTE_LINGER: Duration = Duration::from_secs(3);

/// The driver's name for a UDX stream a route was made with (it reports the stream's close).
pub type StreamKey = u64;

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

/// Where a handshake that got answered was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Route,
    RelayAddresses,
    FindPeer,
}

impl ConnectStats {
    pub(crate) fn count_via(&mut self, via: Via) {
        match via {
            Via::Route => self.via_route += 1,
            Via::RelayAddresses => self.via_relay_addresses += 1,
            Via::FindPeer => self.via_find_peer += 1,
        }
    }
}

/// The relay-address cache, created on first use (it needs a time; its entries never age).
#[derive(Debug)]
pub(crate) struct RelayCache {
    max: usize,
    cache: Option<Xache<[u8; 32], Vec<SocketAddrV4>>>,
}

impl Default for RelayCache {
    fn default() -> Self {
        RelayCache {
            max: RELAY_CACHE_MAX,
            cache: None,
        }
    }
}

impl RelayCache {
    /// `Math.min(maxSize, 512)` with the node's `maxSize`.
    pub(crate) fn set_max(&mut self, max_size: usize) {
        self.max = max_size.min(RELAY_CACHE_MAX);
    }

    fn cache(&mut self, now: Instant) -> &mut Xache<[u8; 32], Vec<SocketAddrV4>> {
        let max = self.max;
        self.cache
            .get_or_insert_with(|| Xache::new(max, Duration::ZERO, now))
    }

    pub(crate) fn get(&mut self, remote: &[u8; 32], now: Instant) -> Option<Vec<SocketAddrV4>> {
        self.cache(now).get(remote, now).filter(|v| !v.is_empty())
    }

    pub(crate) fn set(&mut self, remote: [u8; 32], relays: Vec<SocketAddrV4>, now: Instant) {
        self.cache(now).set(remote, relays, now);
    }

    pub(crate) fn len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.len())
    }
}

/// Reusable-socket routes (`SocketRoutes`): remote key → the address of a connection made with
/// `reusableSocket`, valid while that connection's stream is open and [`ROUTE_LINGER`] after.
/// Dead routes are removed when read and swept whenever the map doubled since the last sweep.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    map: HashMap<[u8; 32], Route>,
    by_stream: HashMap<StreamKey, [u8; 32]>,
    swept_at: usize,
}

#[derive(Debug)]
struct Route {
    addr: SocketAddrV4,
    stream: StreamKey,
    /// when the driver reported the stream closed
    closed_at: Option<Instant>,
}

impl Route {
    fn valid(&self, now: Instant) -> bool {
        self.closed_at
            .is_none_or(|t| now.saturating_duration_since(t) < ROUTE_LINGER)
    }
}

impl Routes {
    fn remove(&mut self, remote: &[u8; 32]) {
        if let Some(r) = self.map.remove(remote) {
            self.by_stream.remove(&r.stream);
        }
    }

    pub(crate) fn get(&mut self, remote: &[u8; 32], now: Instant) -> Option<SocketAddrV4> {
        let route = self.map.get(remote)?;
        if route.valid(now) {
            return Some(route.addr);
        }
        self.remove(remote);
        None
    }

    /// `routes.add(publicKey, rawStream)`: the first route for a key stays while valid; a new
    /// stream on the same address keeps it alive (upstream: another stream on the same pooled
    /// socket).
    pub(crate) fn add(
        &mut self,
        remote: [u8; 32],
        addr: SocketAddrV4,
        stream: StreamKey,
        now: Instant,
    ) {
        match self.get(&remote, now) {
            Some(a) if a == addr => {
                if let Some(r) = self.map.get_mut(&remote) {
                    self.by_stream.remove(&r.stream);
                    r.stream = stream;
                    r.closed_at = None;
                    self.by_stream.insert(stream, remote);
                }
            }
            Some(_) => {}
            None => {
                self.map.insert(
                    remote,
                    Route {
                        addr,
                        stream,
                        closed_at: None,
                    },
                );
                self.by_stream.insert(stream, remote);
            }
        }
        if self.map.len() >= (2 * self.swept_at).max(64) {
            self.sweep(now);
        }
    }

    /// `route.gc()`, if the route is still the one that failed.
    pub(crate) fn drop_if(&mut self, remote: &[u8; 32], addr: SocketAddrV4) {
        if self.map.get(remote).is_some_and(|r| r.addr == addr) {
            self.remove(remote);
        }
    }

    /// The driver saw the stream `stream` closed: its route lingers from now.
    pub(crate) fn stream_closed(&mut self, stream: StreamKey, now: Instant) {
        let Some(remote) = self.by_stream.get(&stream) else {
            return;
        };
        if let Some(r) = self.map.get_mut(remote) {
            if r.stream == stream && r.closed_at.is_none() {
                r.closed_at = Some(now);
            }
        }
    }

    fn sweep(&mut self, now: Instant) {
        let dead: Vec<[u8; 32]> = self
            .map
            .iter()
            .filter(|(_, r)| !r.valid(now))
            .map(|(k, _)| *k)
            .collect();
        for k in dead {
            self.remove(&k);
        }
        self.swept_at = self.map.len();
    }

    /// Routes still valid (sweeps first).
    pub(crate) fn live(&mut self, now: Instant) -> usize {
        self.sweep(now);
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }

    #[test]
    fn route_lingers_after_its_stream_closed() {
        let t0 = Instant::now();
        let mut r = Routes::default();
        r.add([1; 32], a("1.2.3.4:5"), 7, t0);
        assert_eq!(
            r.get(&[1; 32], t0 + ROUTE_LINGER * 10),
            Some(a("1.2.3.4:5"))
        );
        r.stream_closed(7, t0 + Duration::from_secs(1));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            r.get(&[1; 32], t1 + Duration::from_secs(2)),
            Some(a("1.2.3.4:5"))
        );
        assert_eq!(r.live(t1 + Duration::from_secs(2)), 1);
        assert_eq!(r.get(&[1; 32], t1 + ROUTE_LINGER), None);
        assert_eq!(r.live(t1 + ROUTE_LINGER), 0);
        assert!(r.by_stream.is_empty());
    }

    #[test]
    fn new_stream_on_the_same_address_keeps_the_route() {
        let t0 = Instant::now();
        let mut r = Routes::default();
        r.add([1; 32], a("1.2.3.4:5"), 1, t0);
        r.stream_closed(1, t0);
        r.add([1; 32], a("1.2.3.4:5"), 2, t0 + Duration::from_secs(1));
        // the old stream's close no longer matters, the new one's does
        r.stream_closed(1, t0 + Duration::from_secs(2));
        assert_eq!(r.live(t0 + Duration::from_secs(10)), 1);
        // another address does not replace a valid route
        r.add([1; 32], a("9.9.9.9:9"), 3, t0 + Duration::from_secs(10));
        assert_eq!(
            r.get(&[1; 32], t0 + Duration::from_secs(10)),
            Some(a("1.2.3.4:5"))
        );
        r.drop_if(&[1; 32], a("9.9.9.9:9"));
        assert_eq!(r.live(t0 + Duration::from_secs(10)), 1);
        r.drop_if(&[1; 32], a("1.2.3.4:5"));
        assert_eq!(r.live(t0 + Duration::from_secs(10)), 0);
    }
}
