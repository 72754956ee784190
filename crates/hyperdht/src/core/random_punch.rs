//! Holepunching with a RANDOM NAT on one side (`hyperdht lib/holepuncher.js`: `_randomProbes`,
//! `_openBirthdaySockets`, `_keepAliveRandomNat`, and the `_randomPunches` /
//! `_lastRandomPunch` budget of `index.js`).
//!
//! - We are CONSISTENT, they are RANDOM: probe random ports of their verified host from our punch
//!   socket every 20 ms (at most 1750 probes, ~35 s). One lands on a mapping their NAT made
//!   for us; their answer comes back from that port.
//! - We are RANDOM, they are CONSISTENT: open birthday sockets (1024 in all, counting our punch
//!   socket), each sending a low-TTL probe toward their verified address so our NAT makes a
//!   mapping per socket; then keep every socket's mapping alive with a probe every 20 ms, round
//!   robin, the first pass still low-TTL. With 1024 mappings among ~64 k ports, their random
//!   probes hit one after ~60 tries on average (~250 with upstream's 256; the birthday bound).
//!
//! Pool sockets are the driver's: the core asks for them with [`PoolOp::Open`], sends through
//! them with [`PoolOp::Send`], hears their probes in `Punchers::on_pool_probe`, and gives them
//! back with [`PoolOp::Close`]. A socket a connection was punched through is handed over to
//! that connection (no `Close`).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hyperdht_rpc::node::Node;

use super::holepuncher::{PuncherId, Punchers};
use crate::constants::Firewall;

/// Birthday sockets, counting the puncher's own socket. Upstream opens 256 (`BIRTHDAY_SOCKETS`);
/// the peer's random probes (one per 20 ms, the rate upstream allows) hit one of M mappings among
/// ~64 k ports with probability M/64k each, so 4x the mappings cut the expected punch time 4x
/// (simulated medians over 30 seeds: consistent->random 3.98 -> 0.92 s, random->consistent
/// 3.42 -> 1.28 s). The keep-alive still sends one datagram per 20 ms, round robin, so each
/// mapping is refreshed every ~20 s (UDP NAT timeouts are >= 30 s); the wire is unchanged.
pub const BIRTHDAY_SOCKETS: usize = 1024;
/// Probes per random strategy (`tries = 1750 // ~35s`).
const RANDOM_TRIES: u32 = 1750;
/// Pause between random probes.
const RANDOM_PAUSE: Duration = Duration::from_millis(20);
/// `_keepAliveRandomNat` waits this long after the birthday burst.
const KEEPALIVE_DELAY: Duration = Duration::from_millis(100);
/// `randomPunchInterval` default: at least this long between random punches of one node.
pub const RANDOM_PUNCH_INTERVAL: Duration = Duration::from_secs(20);
/// `_randomPunchLimit`: random punches of one node at a time.
const RANDOM_PUNCH_LIMIT: u32 = 1;
const HOLEPUNCH_TTL: u32 = 5;
const DEFAULT_TTL: u32 = 64;

/// A socket of the punching pool (the driver's handle).
pub type PoolId = u32;

/// What the driver does with pool sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolOp {
    /// Bind a fresh UDP socket for `puncher` (its probes go to `Punchers::on_pool_probe`).
    Open { puncher: PuncherId, socket: PoolId },
    /// Send a 1-byte probe from `socket` with IP TTL `ttl`.
    Send {
        socket: PoolId,
        to: SocketAddrV4,
        ttl: u32,
    },
    /// Close the socket.
    Close { socket: PoolId },
}

/// A running random strategy.
#[derive(Debug, Clone)]
pub(crate) enum RandomPunch {
    /// `_randomProbes(remoteAddr)`: random ports of `host`.
    Probes {
        host: Ipv4Addr,
        left: u32,
        next: Instant,
    },
    /// `_keepAliveRandomNat(remoteAddr)` after `_openBirthdaySockets`.
    Birthday {
        to: SocketAddrV4,
        left: u32,
        next: Instant,
        index: usize,
        low_ttl_passes: u32,
    },
}

impl RandomPunch {
    pub(crate) fn next(&self) -> Instant {
        match self {
            RandomPunch::Probes { next, .. } | RandomPunch::Birthday { next, .. } => *next,
        }
    }
}

/// The node-wide random-punch budget (`dht._randomPunches`, `dht._lastRandomPunch`).
#[derive(Debug, Clone, Copy)]
pub struct RandomBudget {
    pub punches: u32,
    pub last: Option<Instant>,
    pub interval: Duration,
}

impl Default for RandomBudget {
    fn default() -> Self {
        RandomBudget {
            punches: 0,
            last: None,
            interval: RANDOM_PUNCH_INTERVAL,
        }
    }
}

impl RandomBudget {
    /// Whether a random punch may start now (else: TRY_LATER, or a relay).
    pub fn allows(&self, now: Instant) -> bool {
        self.punches < RANDOM_PUNCH_LIMIT
            && self
                .last
                .is_none_or(|t| now.saturating_duration_since(t) >= self.interval)
    }
}

impl Punchers {
    /// `randomPort()`: 1000..65536.
    fn random_port(&mut self) -> u16 {
        let r = match self.port_seed.as_mut() {
            Some(state) => splitmix32(state),
            None => rand::random::<u32>(),
        };
        1000 + (r % 64536) as u16
    }

    /// Test support: draws the random probes' ports (`_randomProbes`) from a stream seeded
    /// with `seed` instead of the thread RNG, so a simulated RANDOM-NAT punch replays by seed
    /// (`crates/hyperdht/tests/sim`).
    pub fn seed_random_ports(&mut self, seed: u64) {
        self.port_seed = Some(seed);
    }

    /// How many birthday sockets a RANDOM-NAT punch opens, counting the punch socket (default
    /// [`BIRTHDAY_SOCKETS`]; upstream's 256 reproduces its timing).
    pub fn set_birthday_sockets(&mut self, n: usize) {
        self.birthday_sockets = Some(n.max(1));
    }

    /// Starts the random strategy for `(local, remote)`; false if this pair has none (or the
    /// remote has no verified address).
    pub(crate) fn punch_random(
        &mut self,
        id: PuncherId,
        local: Firewall,
        remote: Firewall,
        now: Instant,
    ) -> bool {
        let Some(p) = self.list.get_mut(&id) else {
            return false;
        };
        let Some(verified) = p
            .remote_addresses
            .iter()
            .find(|a| a.verified)
            .map(|a| a.addr)
        else {
            return false;
        };
        let strategy = if local == Firewall::Consistent && remote >= Firewall::Random {
            RandomPunch::Probes {
                host: *verified.ip(),
                left: RANDOM_TRIES,
                next: now,
            }
        } else if local >= Firewall::Random && remote == Firewall::Consistent {
            RandomPunch::Birthday {
                to: verified,
                left: RANDOM_TRIES,
                next: now + KEEPALIVE_DELAY,
                index: 0,
                low_ttl_passes: 1,
            }
        } else {
            return false;
        };
        let birthday = matches!(strategy, RandomPunch::Birthday { .. });
        p.random = Some(strategy);
        p.punching = true;
        p.prepunch_deadline = None;
        if !p.randomized {
            p.randomized = true;
            self.random.punches += 1;
        }
        if birthday {
            self.open_birthday_sockets(id, verified);
        }
        true
    }

    /// A relayed connection moves to pool socket `socket` of its puncher `id` (the peer's
    /// packets reached us there): the socket leaves the puncher (it is not closed with it) and
    /// belongs to the connection's stream from now on. False if `id` does not own `socket`.
    pub(crate) fn take_pool_socket(&mut self, id: PuncherId, socket: PoolId) -> bool {
        if self.pool_owner.get(&socket) != Some(&id) {
            return false;
        }
        self.pool_owner.remove(&socket);
        if let Some(p) = self.list.get_mut(&id) {
            p.pool.retain(|s| *s != socket);
        }
        true
    }

    /// `_openBirthdaySockets`: sockets until [`BIRTHDAY_SOCKETS`] in all, each opening its NAT mapping toward
    /// `to` with a low-TTL probe.
    fn open_birthday_sockets(&mut self, id: PuncherId, to: SocketAddrV4) {
        let have = self.list.get(&id).map_or(0, |p| p.pool.len());
        let all = self.birthday_sockets.unwrap_or(BIRTHDAY_SOCKETS);
        for _ in have + 1..all {
            self.next_pool = self.next_pool.wrapping_add(1);
            let socket = self.next_pool;
            self.pool_owner.insert(socket, id);
            if let Some(p) = self.list.get_mut(&id) {
                p.pool.push(socket);
            }
            self.pool_ops.push_back(PoolOp::Open {
                puncher: id,
                socket,
            });
            self.pool_ops.push_back(PoolOp::Send {
                socket,
                to,
                ttl: HOLEPUNCH_TTL,
            });
        }
    }

    /// One step of a random strategy; an exhausted strategy destroys an unconnected puncher.
    pub(crate) fn random_step(&mut self, id: PuncherId, node: &mut Node, now: Instant) {
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        let Some(strategy) = p.random.as_mut() else {
            return;
        };
        if !p.punching {
            p.random = None;
            return;
        }
        match strategy {
            RandomPunch::Probes { host, left, next } => {
                if *left == 0 {
                    p.random = None;
                    self.auto_destroy(id);
                    return;
                }
                *left -= 1;
                *next = now + RANDOM_PAUSE;
                let host = *host;
                let to = SocketAddrV4::new(host, self.random_port());
                self.ping(id, to, node);
            }
            RandomPunch::Birthday {
                to,
                left,
                next,
                index,
                low_ttl_passes,
            } => {
                if *left == 0 {
                    p.random = None;
                    self.auto_destroy(id);
                    return;
                }
                *left -= 1;
                *next = now + RANDOM_PAUSE;
                // socket 0 is our punch socket, then the pool in order
                let sockets = p.pool.len() + 1;
                if *index >= sockets {
                    *index = 0;
                    *low_ttl_passes = low_ttl_passes.saturating_sub(1);
                }
                let i = *index;
                *index += 1;
                let ttl = if *low_ttl_passes > 0 {
                    HOLEPUNCH_TTL
                } else {
                    DEFAULT_TTL
                };
                let to = *to;
                if i == 0 {
                    node.send_raw_ttl(super::holepuncher::PUNCH_SOCKET, to, vec![0], ttl);
                } else if let Some(&socket) = p.pool.get(i - 1) {
                    self.pool_ops.push_back(PoolOp::Send { socket, to, ttl });
                }
            }
        }
    }

    /// A 1-byte datagram on pool socket `socket`: the initiator connects through it, the
    /// responder answers from it.
    pub fn on_pool_probe(&mut self, socket: PoolId, from: SocketAddrV4, now: Instant) {
        self.last_now = Some(now);
        let Some(&id) = self.pool_owner.get(&socket) else {
            return;
        };
        let Some(p) = self.list.get(&id) else { return };
        if p.destroyed {
            return;
        }
        if p.initiator {
            if p.connected.is_none() {
                self.mark_connected_via(id, from, Some(socket));
            }
        } else {
            self.pool_ops.push_back(PoolOp::Send {
                socket,
                to: from,
                ttl: DEFAULT_TTL,
            });
            self.pool_hits.push_back((id, socket, from));
        }
    }

    /// The next thing the driver must do with pool sockets.
    pub fn poll_pool_op(&mut self) -> Option<PoolOp> {
        self.pool_ops.pop_front()
    }

    /// Responder pool sockets that heard the peer: (puncher, socket, peer address). A server
    /// accepts its connection's stream there too.
    pub fn poll_pool_hit(&mut self) -> Option<(PuncherId, PoolId, SocketAddrV4)> {
        self.pool_hits.pop_front()
    }

    /// Gives back every pool socket of `id` except `keep`.
    pub(crate) fn release_pool(&mut self, id: PuncherId, keep: Option<PoolId>) {
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        for socket in std::mem::take(&mut p.pool) {
            if Some(socket) == keep {
                p.pool.push(socket);
                continue;
            }
            self.pool_owner.remove(&socket);
            self.pool_ops.push_back(PoolOp::Close { socket });
        }
    }

    /// `_decrementRandomized`: the budget is freed and the interval starts, however the punch
    /// ended (upstream stamps `_lastRandomPunch` on every end: a connection, a puncher
    /// destroyed unconnected, and a responder's, which never counts as connected).
    pub(crate) fn end_randomized(&mut self, id: PuncherId, now: Option<Instant>) {
        let Some(p) = self.list.get_mut(&id) else {
            return;
        };
        if !p.randomized {
            return;
        }
        p.randomized = false;
        self.random.punches = self.random.punches.saturating_sub(1);
        self.random.last = now.or(self.random.last);
    }

    /// The random-punch budget (servers and connects check it before punching).
    pub fn random_budget(&self) -> &RandomBudget {
        &self.random
    }

    /// `deferRandomPunch` / `randomPunchInterval` options.
    pub fn configure_random(&mut self, interval: Duration, defer_until: Option<Instant>) {
        self.random.interval = interval;
        if defer_until.is_some() {
            self.random.last = defer_until;
        }
    }
}

/// One step of splitmix64, the high half.
fn splitmix32(state: &mut u64) -> u32 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 32) as u32
}
