//! Pool sockets of a simulated host: the deterministic twin of `crates/hyperdht/src/driver/
//! pool.rs` (upstream `lib/socket-pool.js`, as far as RANDOM-NAT punching needs it). The core
//! asks for them with `Output::Pool(PoolOp::{Open, Send, Close})` (`core/random_punch.rs`);
//! each is one more UDP port on the host, so the netsim NAT in front of it maps it apart from
//! the DHT sockets. A pool socket is a UDX endpoint of its own: a 1-byte datagram on it goes to
//! `Core::on_pool_probe`, a UDX packet to its streams (by receiver id), or, for a pending server
//! stream it does not have yet, makes a candidate there (`candidates.rs`).
//!
//! A socket a connection was punched through is not closed by the core: it is handed over to
//! that connection (`Established.via` on a client, the winning candidate on a server) and
//! closed here once no stream lives on it any more (the driver checks every 2 s).

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::time::Instant;

use hyperdht_core::core::holepuncher::PuncherId;
use hyperdht_core::core::random_punch::{PoolId, PoolOp};
use hyperdht_netsim::Transmit;

use super::host::SimHost;
use super::{CLIENT_PORT, SERVER_PORT};

/// Local ports pool sockets bind to (the DHT sockets' ports are skipped).
const PORTS: (u16, u16) = (20_000, 45_000);

/// One open pool socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSocket {
    pub port: u16,
    pub puncher: PuncherId,
    /// a connection's stream lives on it (the core no longer owns it)
    pub handed: bool,
}

/// The host's pool sockets, and what the test reads about them.
#[derive(Debug)]
pub struct Pool {
    pub sockets: BTreeMap<PoolId, PoolSocket>,
    by_port: BTreeMap<u16, PoolId>,
    next_port: u16,
    /// sockets opened so far, and the most open at once
    pub opened: usize,
    pub peak: usize,
    /// 1-byte probes sent from pool sockets
    pub probes_sent: usize,
    /// `PoolOp`s for sockets that were not open (a core bug if it happens)
    pub unknown_ops: Vec<PoolOp>,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            sockets: BTreeMap::new(),
            by_port: BTreeMap::new(),
            next_port: PORTS.0,
            opened: 0,
            peak: 0,
            probes_sent: 0,
            unknown_ops: Vec::new(),
        }
    }
}

impl Pool {
    /// The pool socket bound to local port `port`.
    pub fn at_port(&self, port: u16) -> Option<PoolId> {
        self.by_port.get(&port).copied()
    }

    pub fn port_of(&self, socket: PoolId) -> Option<u16> {
        self.sockets.get(&socket).map(|s| s.port)
    }

    /// Pool sockets open now.
    pub fn open_now(&self) -> usize {
        self.sockets.len()
    }

    /// A free local port (never a DHT socket's), wrapping around the range.
    fn bind(&mut self) -> u16 {
        let span = u32::from(PORTS.1 - PORTS.0) + 1;
        for _ in 0..span {
            let p = self.next_port;
            self.next_port = if p >= PORTS.1 { PORTS.0 } else { p + 1 };
            if p != SERVER_PORT && p != CLIENT_PORT && !self.by_port.contains_key(&p) {
                return p;
            }
        }
        panic!("the sim host ran out of pool ports");
    }

    fn open(&mut self, socket: PoolId, puncher: PuncherId) {
        let port = self.bind();
        self.sockets.insert(
            socket,
            PoolSocket {
                port,
                puncher,
                handed: false,
            },
        );
        self.by_port.insert(port, socket);
        self.opened += 1;
        self.peak = self.peak.max(self.sockets.len());
    }

    fn close(&mut self, socket: PoolId) -> Option<PoolSocket> {
        let s = self.sockets.remove(&socket)?;
        self.by_port.remove(&s.port);
        Some(s)
    }

    /// The socket now belongs to a connection's stream.
    pub(crate) fn hand_over(&mut self, socket: PoolId) {
        if let Some(s) = self.sockets.get_mut(&socket) {
            s.handed = true;
        }
    }
}

impl SimHost {
    /// Executes one `PoolOp` of the core.
    pub(crate) fn pool_op(&mut self, op: PoolOp, now: Instant) {
        match op {
            PoolOp::Open { puncher, socket } => self.pool.open(socket, puncher),
            PoolOp::Send { socket, to, ttl } => {
                let Some(port) = self.pool.port_of(socket) else {
                    self.pool.unknown_ops.push(op);
                    return;
                };
                self.pool.probes_sent += 1;
                self.queue(Transmit {
                    src_port: port,
                    to,
                    data: vec![0],
                    ttl: Some(ttl),
                });
            }
            PoolOp::Close { socket } => {
                let Some(s) = self.pool.close(socket) else {
                    self.pool.unknown_ops.push(op);
                    return;
                };
                // streams on it go with it: only candidates that never connected can be
                // there (the core keeps the socket a connection lives on)
                self.drop_streams_on(s.port, now);
            }
        }
    }

    /// A datagram on pool socket `socket` (bound to `port`).
    pub(crate) fn pool_datagram(
        &mut self,
        socket: PoolId,
        port: u16,
        from: SocketAddrV4,
        data: &[u8],
        now: Instant,
    ) {
        if self.streams.feed(port, from, data, now) {
            return;
        }
        if data.len() == 1 {
            self.core.on_pool_probe(socket, from, &mut self.node, now);
        } else if let Some(id) = hyperdht_udx::header::Header::peek_id(data) {
            self.pool_stream_packet(port, id, from, data, now);
        }
    }

    /// Closes handed-over sockets whose connection is gone.
    pub(crate) fn release_handed(&mut self) {
        let done: Vec<PoolId> = self
            .pool
            .sockets
            .iter()
            .filter(|(_, s)| s.handed && !self.streams.live_on(s.port))
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            self.pool.close(id);
        }
    }
}
