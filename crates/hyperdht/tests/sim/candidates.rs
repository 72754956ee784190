//! A server handshake slot's stream waiting for its client on several sockets: the twin of
//! `crates/hyperdht/src/driver/engine.rs` (`ServerOut::OpenStream` / `AcceptOn`, `candidate`,
//! `settle`, `pool_stream_packet`). The slot's stream (one local id) is a candidate on the DHT
//! socket, and on every pool socket the client reached (its probe: `AcceptOn`; or its first
//! UDX packet there). The first candidate to connect wins: hyperdht hears which socket
//! (`Core::server_stream_connected(key, via)`), the echo application starts on it, the socket
//! (if a pool socket) belongs to the connection. The slot fails when its last candidate gave
//! up (`Core::server_stream_failed`).
//!
//! One simplification: the driver lets losing candidates wait out their timeout (and destroys
//! them then); here they are destroyed when the winner connects. They never connected, so
//! nothing goes on the wire either way.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use hyperdht_core::core::server::SlotKey;
use hyperdht_secret_stream::HandshakeResult;

use super::host::SimHost;
use super::secret::{App, Role};
use super::udx::{Open, Side};
use super::SERVER_PORT;

/// An accepted handshake whose stream has not connected yet.
pub struct PendingAccept {
    pub local_id: u32,
    pub remote_id: u32,
    pub result: Box<HandshakeResult>,
    pub timeout: Duration,
}

impl SimHost {
    fn pending_of(&self, key: SlotKey) -> Option<&PendingAccept> {
        self.pending.iter().find(|(k, _)| *k == key).map(|(_, p)| p)
    }

    fn take_pending(&mut self, key: SlotKey) -> Option<PendingAccept> {
        let i = self.pending.iter().position(|(k, _)| *k == key)?;
        Some(self.pending.remove(i).1)
    }

    /// A candidate stream for slot `key` on socket `port` (`how`: connect at once, or accept
    /// the first packet); `None` if that socket has a stream with the id already.
    pub(crate) fn candidate(
        &mut self,
        key: SlotKey,
        port: u16,
        how: Open,
        now: Instant,
    ) -> Option<usize> {
        let p = self.pending_of(key)?;
        let (local_id, timeout) = (p.local_id, p.timeout);
        if self.streams.index_of(port, local_id).is_some() {
            return None;
        }
        let i = self
            .streams
            .open(Side::Server(key), port, local_id, how, now);
        self.streams.list[i].deadline = Some(now + timeout);
        Some(i)
    }

    /// `ServerOut::AcceptOn`: the client's probe reached pool socket `socket`.
    pub(crate) fn accept_on(&mut self, key: SlotKey, socket: u32, now: Instant) {
        let Some(port) = self.pool.port_of(socket) else {
            return;
        };
        let Some(remote_id) = self.pending_of(key).map(|p| p.remote_id) else {
            return;
        };
        self.candidate(key, port, Open::Accept { remote_id }, now);
    }

    /// A UDX packet for stream `id` on pool socket `port`, which has no such stream: a pending
    /// server stream with that id becomes a candidate there and gets the packet.
    pub(crate) fn pool_stream_packet(
        &mut self,
        port: u16,
        id: u32,
        from: SocketAddrV4,
        data: &[u8],
        now: Instant,
    ) {
        let Some((key, remote_id)) = self
            .pending
            .iter()
            .find(|(_, p)| p.local_id == id)
            .map(|(k, p)| (*k, p.remote_id))
        else {
            return;
        };
        if self
            .candidate(key, port, Open::Accept { remote_id }, now)
            .is_some()
        {
            self.streams.feed(port, from, data, now);
        }
    }

    /// Candidate `i` of slot `key` connected: the first one wins, the others go.
    pub(crate) fn candidate_connected(&mut self, key: SlotKey, i: usize, now: Instant) {
        let Some(p) = self.take_pending(key) else {
            // the slot was settled already
            self.lose(i);
            return;
        };
        let port = self.streams.list[i].port;
        let via = if port == SERVER_PORT {
            None
        } else {
            self.pool.at_port(port)
        };
        let path = self
            .core
            .server_stream_connected(key, via, &mut self.node, now);
        if let Some(socket) = via {
            self.pool.hand_over(socket);
        }
        let c = &mut self.streams.list[i];
        c.path = Some(path.path);
        c.deadline = None;
        c.app = Some(App::new(&p.result, Role::Echo));
        let others: Vec<usize> = (0..self.streams.list.len())
            .filter(|&j| j != i && self.waiting(j, key))
            .collect();
        for j in others {
            self.lose(j);
        }
    }

    /// Whether stream `j` is a candidate of `key` still waiting.
    fn waiting(&self, j: usize, key: SlotKey) -> bool {
        let c = &self.streams.list[j];
        c.side == Side::Server(key)
            && !c.is_connected()
            && !c.failed
            && !c.lost
            && c.closed.is_none()
    }

    fn lose(&mut self, i: usize) {
        let c = &mut self.streams.list[i];
        c.lost = true;
        c.deadline = None;
        self.streams.destroy(i);
    }

    /// Candidate `i` gave up (timed out, or its socket closed): the slot fails with its last.
    pub(crate) fn candidate_failed(&mut self, i: usize, now: Instant) {
        let c = &mut self.streams.list[i];
        c.failed = true;
        c.deadline = None;
        let side = c.side;
        self.streams.destroy(i);
        let Side::Server(key) = side else {
            return;
        };
        if self.pending_of(key).is_none() {
            return;
        }
        let last = !(0..self.streams.list.len()).any(|j| self.waiting(j, key));
        if last {
            self.take_pending(key);
            self.core.server_stream_failed(key, &mut self.node, now);
        }
    }

    /// The socket on `port` closed: its streams that never connected give up.
    pub(crate) fn drop_streams_on(&mut self, port: u16, now: Instant) {
        let on: Vec<usize> = (0..self.streams.list.len())
            .filter(|&i| {
                let c = &self.streams.list[i];
                c.port == port && c.closed.is_none() && !c.failed && !c.lost
            })
            .collect();
        for i in on {
            assert!(
                !self.streams.list[i].is_connected(),
                "{}: the core closed pool socket port {port} under a connected stream",
                self.name
            );
            self.candidate_failed(i, now);
        }
    }
}
