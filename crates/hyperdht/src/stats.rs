//! Counters of hyperdht's `dht.stats` (`hyperdht index.js`: `stats.punches`, `stats.relaying`,
//! `stats.socketPool`), bumped where upstream bumps them: `punches.consistent` when a
//! holepuncher starts probing two consistent NATs (`lib/holepuncher.js: _punch`),
//! `punches.open` when a connect or a server handshake takes the direct path
//! (`lib/connect.js: holepunch`, `lib/server.js: _addHandshake`). Plus what this port adds
//! for metrics: connections opened and failed, by side and path, and the record stores.
//!
//! Not bumped yet, because the code paths do not exist in this port: `punches.random` and
//! `punches.tryLater*` (RANDOM-NAT punching), `relaying.*` (blind relays), `socketPool.*`
//! (every stream lives on the DHT socket; there is no pool of punching sockets). They are
//! here so that work only has to call [`Stats`]'s methods.

use std::sync::atomic::{AtomicU64, Ordering};

use hyperdht_rpc::node::Stats as RpcStats;

/// How a connection reached the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    /// To the address the peer handshook from or announced: no punching (the peer, or we,
    /// are reachable, or we talked to the peer's own node).
    Direct,
    /// To the peer's local (LAN) address (same public host).
    Lan,
    /// Through a holepunch (PEER_HOLEPUNCH rounds and probes).
    Holepunched,
    /// Through a blind relay (not implemented yet).
    Relayed,
    /// A connect that failed before any path was chosen (peer not found, handshake failed).
    NotChosen,
}

impl Path {
    /// Every path, in the order of [`PathCounts`].
    pub const ALL: [Path; 5] = [
        Path::Direct,
        Path::Lan,
        Path::Holepunched,
        Path::Relayed,
        Path::NotChosen,
    ];

    /// The metrics label value.
    pub fn label(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Lan => "lan",
            Path::Holepunched => "holepunched",
            Path::Relayed => "relayed",
            Path::NotChosen => "none",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// We called `connect`.
    Client,
    /// A server of ours accepted it.
    Server,
}

/// Counts by [`Path`], indexed in [`Path::ALL`] order.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PathCounts(pub [u64; 5]);

impl PathCounts {
    pub fn get(&self, path: Path) -> u64 {
        self.0[path.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// `stats.punches`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Punches {
    pub consistent: u64,
    pub random: u64,
    pub open: u64,
    pub try_later: u64,
    pub try_later_relayed_handshakes_at_least_once: u64,
}

/// `stats.relaying`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Relaying {
    pub attempts: u64,
    pub successes: u64,
    pub aborts: u64,
    /// relayed connections that moved to a direct path (beyond upstream)
    pub upgrades: u64,
}

/// `stats.socketPool`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SocketPool {
    pub sockets_added: u64,
    pub sockets_removed: u64,
}

/// Connections by side and path.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    pub client_opened: PathCounts,
    pub client_failed: PathCounts,
    pub server_opened: PathCounts,
    pub server_failed: PathCounts,
}

/// Entries in this node's record stores (`lib/persistent.js`), as of now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Records {
    /// Announce records (`persistent.records`).
    pub announces: u64,
    pub mutables: u64,
    pub immutables: u64,
    /// Router entries: announced servers we forward handshakes to, and our own servers.
    pub router: u64,
}

/// Everything `dht.stats` needs, read at once.
#[derive(Debug, Default, Clone, Copy)]
pub struct StatsSnapshot {
    pub punches: Punches,
    pub relaying: Relaying,
    pub socket_pool: SocketPool,
    pub connections: Connections,
    pub records: Records,
    /// dht-rpc's counters (queries, requests, commands, frames, sockets).
    pub rpc: RpcStats,
}

/// The live counters of one node (shared by its connects, servers and holepunchers).
#[derive(Debug, Default)]
pub struct Stats {
    punches_consistent: AtomicU64,
    punches_random: AtomicU64,
    punches_open: AtomicU64,
    try_later: AtomicU64,
    try_later_relayed: AtomicU64,
    relay_attempts: AtomicU64,
    relay_successes: AtomicU64,
    relay_aborts: AtomicU64,
    relay_upgrades: AtomicU64,
    sockets_added: AtomicU64,
    sockets_removed: AtomicU64,
    /// `[side][path]`
    opened: [[AtomicU64; 5]; 2],
    failed: [[AtomicU64; 5]; 2],
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn read(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

impl Stats {
    /// `punches.consistent`: probing between two consistent NATs started.
    pub fn punch_consistent(&self) {
        bump(&self.punches_consistent);
    }

    /// `punches.random`: punching with a RANDOM NAT on one side started.
    pub fn punch_random(&self) {
        bump(&self.punches_random);
    }

    /// `punches.open`: a direct path, no punching needed.
    pub fn punch_open(&self) {
        bump(&self.punches_open);
    }

    /// `punches.tryLater` (the random-punch budget was spent); `first_relayed` also bumps
    /// `tryLaterRelayedHandshakesAtLeastOnce` (the first time for a relayed handshake).
    pub fn try_later(&self, first_relayed: bool) {
        bump(&self.try_later);
        if first_relayed {
            bump(&self.try_later_relayed);
        }
    }

    /// `relaying.attempts`: a blind-relay pairing started.
    pub fn relay_attempt(&self) {
        bump(&self.relay_attempts);
    }

    /// `relaying.successes`: a blind relay paired us.
    pub fn relay_success(&self) {
        bump(&self.relay_successes);
    }

    /// `relaying.aborts`: a pairing ended before it paired.
    pub fn relay_abort(&self) {
        bump(&self.relay_aborts);
    }

    /// `relaying.upgrades`: a relayed connection moved to a direct path.
    pub fn relay_upgrade(&self) {
        bump(&self.relay_upgrades);
    }

    /// `socketPool.socketsAdded`.
    pub fn socket_added(&self) {
        bump(&self.sockets_added);
    }

    /// `socketPool.socketsRemoved`.
    pub fn socket_removed(&self) {
        bump(&self.sockets_removed);
    }

    /// A connection opened (`ok`) or failed, on `side`, over `path`.
    pub fn connection(&self, side: Side, path: Path, ok: bool) {
        let table = if ok { &self.opened } else { &self.failed };
        bump(&table[side_index(side)][path.index()]);
    }

    fn paths(table: &[[AtomicU64; 5]; 2], side: Side) -> PathCounts {
        PathCounts(table[side_index(side)].each_ref().map(read))
    }

    /// The counters as of now; `records` and `rpc` are left for the caller to fill.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            punches: Punches {
                consistent: read(&self.punches_consistent),
                random: read(&self.punches_random),
                open: read(&self.punches_open),
                try_later: read(&self.try_later),
                try_later_relayed_handshakes_at_least_once: read(&self.try_later_relayed),
            },
            relaying: Relaying {
                attempts: read(&self.relay_attempts),
                successes: read(&self.relay_successes),
                aborts: read(&self.relay_aborts),
                upgrades: read(&self.relay_upgrades),
            },
            socket_pool: SocketPool {
                sockets_added: read(&self.sockets_added),
                sockets_removed: read(&self.sockets_removed),
            },
            connections: Connections {
                client_opened: Self::paths(&self.opened, Side::Client),
                client_failed: Self::paths(&self.failed, Side::Client),
                server_opened: Self::paths(&self.opened, Side::Server),
                server_failed: Self::paths(&self.failed, Side::Server),
            },
            records: Records::default(),
            rpc: RpcStats::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_order() {
        let labels: Vec<&str> = Path::ALL.iter().map(|p| p.label()).collect();
        assert_eq!(labels, ["direct", "lan", "holepunched", "relayed", "none"]);
        for (i, p) in Path::ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
        }
    }

    #[test]
    fn punches_and_relaying_count_separately() {
        let s = Stats::default();
        s.punch_consistent();
        s.punch_consistent();
        s.punch_open();
        s.try_later(true);
        s.try_later(false);
        s.relay_attempt();
        s.relay_abort();
        s.socket_added();
        let snap = s.snapshot();
        assert_eq!(
            snap.punches,
            Punches {
                consistent: 2,
                random: 0,
                open: 1,
                try_later: 2,
                try_later_relayed_handshakes_at_least_once: 1,
            }
        );
        assert_eq!(
            snap.relaying,
            Relaying {
                attempts: 1,
                successes: 0,
                aborts: 1,
                upgrades: 0
            }
        );
        assert_eq!(snap.socket_pool.sockets_added, 1);
        assert_eq!(snap.socket_pool.sockets_removed, 0);
    }

    #[test]
    fn connections_by_side_and_path() {
        let s = Stats::default();
        s.connection(Side::Client, Path::Holepunched, true);
        s.connection(Side::Client, Path::Holepunched, true);
        s.connection(Side::Client, Path::NotChosen, false);
        s.connection(Side::Server, Path::Lan, true);
        s.connection(Side::Server, Path::Direct, false);
        let c = s.snapshot().connections;
        assert_eq!(c.client_opened.get(Path::Holepunched), 2);
        assert_eq!(c.client_opened.total(), 2);
        assert_eq!(c.client_failed.get(Path::NotChosen), 1);
        assert_eq!(c.server_opened.get(Path::Lan), 1);
        assert_eq!(c.server_opened.total(), 1);
        assert_eq!(c.server_failed.get(Path::Direct), 1);
    }
}
