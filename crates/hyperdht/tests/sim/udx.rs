//! UDX streams on a simulated host's sockets: the deterministic twin of
//! `crates/udx/src/socket.rs` (`UdxSocket::connect` / `connect_unverified` / `accept` /
//! `reserve`) without tokio. A stream lives on one socket (a local port: the DHT server
//! socket, or a pool socket of RANDOM-NAT punching); each socket demultiplexes its streams by
//! the receiver id in the UDX header, as udx-native does per socket. Each stream carries the
//! secret-stream application of [`crate::sim::secret`] on top.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::time::Instant;

use hyperdht_core::core::server::SlotKey;
use hyperdht_core::stats::Path;
use hyperdht_netsim::Transmit;
use hyperdht_udx::header::Header;
use hyperdht_udx::{Stream, StreamEvent, UdxError};

use super::secret::App;

/// Datagrams a reserved stream keeps until it is connected (`EARLY_DATAGRAMS` in udx).
const EARLY_DATAGRAMS: usize = 16;

/// Which side of hyperdht opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// a server handshake slot's stream (`ServerOut::OpenStream`)
    Server(SlotKey),
    /// a client connect's stream (its core connect id)
    Client(u64),
}

/// How an unconnected stream gets its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// connected (or closed)
    No,
    /// `accept`: the first packet connects it to its source, with this remote id
    Accept(u32),
    /// `reserve`: keep early packets until the owner connects it
    Reserved,
}

/// One UDX stream with its application, and what the test reads about it afterwards.
pub struct Conn {
    pub side: Side,
    /// the local port (socket) it lives on, and our stream id there
    pub port: u16,
    pub local_id: u32,
    pub stream: Stream,
    pub remote: Option<SocketAddrV4>,
    wait: Wait,
    /// packets kept while reserved, with their source
    early: Vec<(SocketAddrV4, Vec<u8>)>,
    /// the secret-stream layer, once the stream has a handshake result to run it with
    pub app: Option<App>,
    /// the path hyperdht reported for it (`server_stream_connected` / `ConnectOut::Done`)
    pub path: Option<Path>,
    pub opened_at: Instant,
    /// when the UDX stream first knew its peer
    pub connected_at: Option<Instant>,
    /// `true` once the host told hyperdht about `connected_at`
    pub(crate) reported: bool,
    /// a server stream gives up waiting for its client then (`OpenStream.timeout`)
    pub deadline: Option<Instant>,
    /// the server gave up waiting for the client's first packet (`server_stream_failed`)
    pub failed: bool,
    /// a server candidate (of several sockets) another candidate beat to the connection
    pub lost: bool,
    /// closed: `None` clean or destroyed locally, `Some(e)` with an error
    pub closed: Option<Option<UdxError>>,
}

impl Conn {
    fn pump_app(&mut self, now: Instant) {
        if let Some(app) = self.app.as_mut() {
            if self.closed.is_none() && self.connected_at.is_some() {
                app.pump(&mut self.stream, now);
            }
        }
    }

    fn take_events(&mut self) {
        while let Some(ev) = self.stream.poll_event() {
            match ev {
                StreamEvent::Close(e) => self.closed = Some(e),
                StreamEvent::End => {
                    if let Some(app) = self.app.as_mut() {
                        app.remote_ended = true;
                    }
                }
                StreamEvent::Message(_) | StreamEvent::Drain => {}
            }
        }
    }

    pub fn is_live(&self) -> bool {
        self.closed.is_none() || self.stream.is_lingering()
    }

    pub fn is_connected(&self) -> bool {
        self.connected_at.is_some()
    }
}

/// Every stream of one host (live and finished, in creation order) and the (port,
/// receiver id) index of the live ones.
#[derive(Default)]
pub struct Streams {
    pub list: Vec<Conn>,
    by_id: BTreeMap<(u16, u32), usize>,
}

/// How to open a stream.
pub enum Open {
    /// connect now (`connect` / `connect_unverified` with a datagram budget)
    Connect {
        remote_id: u32,
        addr: SocketAddrV4,
        budget: Option<usize>,
    },
    /// the first packet for our id connects it (`accept`)
    Accept { remote_id: u32 },
    /// keep packets until connected later (`reserve`)
    Reserve,
}

impl Streams {
    /// A new stream with our id `local_id` on socket `port`; returns its index in
    /// [`Streams::list`].
    pub fn open(&mut self, side: Side, port: u16, local_id: u32, how: Open, now: Instant) -> usize {
        let mut stream = Stream::new_at(local_id, now);
        let (wait, remote, connected_at) = match how {
            Open::Connect {
                remote_id,
                addr,
                budget,
            } => {
                if let Some(b) = budget {
                    stream.limit_until_verified(b);
                }
                stream.connect(remote_id, now);
                (Wait::No, Some(addr), Some(now))
            }
            Open::Accept { remote_id } => (Wait::Accept(remote_id), None, None),
            Open::Reserve => (Wait::Reserved, None, None),
        };
        let i = self.list.len();
        self.list.push(Conn {
            side,
            port,
            local_id,
            stream,
            remote,
            wait,
            early: Vec::new(),
            app: None,
            path: None,
            opened_at: now,
            connected_at,
            reported: false,
            deadline: None,
            failed: false,
            lost: false,
            closed: None,
        });
        self.by_id.insert((port, local_id), i);
        i
    }

    /// The index of the live stream with our id `local_id` on socket `port`.
    pub fn index_of(&self, port: u16, local_id: u32) -> Option<usize> {
        self.by_id.get(&(port, local_id)).copied()
    }

    /// Whether a stream still lives on socket `port`.
    pub fn live_on(&self, port: u16) -> bool {
        self.by_id.keys().any(|(p, _)| *p == port)
    }

    /// Connects a reserved (or accepting) stream to `remote_id` at `addr`, then replays the
    /// packets it kept. A stream connected already stays as it is.
    pub fn connect(&mut self, i: usize, remote_id: u32, addr: SocketAddrV4, now: Instant) {
        let c = &mut self.list[i];
        if c.wait == Wait::No {
            return;
        }
        c.wait = Wait::No;
        c.remote = Some(addr);
        c.connected_at = Some(now);
        c.stream.connect(remote_id, now);
        for (_, d) in std::mem::take(&mut c.early) {
            c.stream.handle_datagram(&d, now);
        }
    }

    /// Where the first packet a reserved stream keeps came from (`kept_source`).
    pub fn kept_source(&self, i: usize) -> Option<SocketAddrV4> {
        self.list[i].early.first().map(|(from, _)| *from)
    }

    /// Lets the first packet decide the peer (`set_firewall` accepting everyone); a packet
    /// kept already decides at once.
    pub fn accept_first(&mut self, i: usize, remote_id: u32, now: Instant) {
        let c = &mut self.list[i];
        if c.wait == Wait::No {
            return;
        }
        match c.early.first().map(|(from, _)| *from) {
            Some(from) => self.connect(i, remote_id, from, now),
            None => c.wait = Wait::Accept(remote_id),
        }
    }

    /// Destroys a stream (sends DESTROY if connected) and forgets kept packets.
    pub fn destroy(&mut self, i: usize) {
        let c = &mut self.list[i];
        c.wait = Wait::No;
        c.early.clear();
        c.stream.destroy();
    }

    /// A datagram on socket `port`: true if it was a UDX packet for one of its streams.
    pub fn feed(&mut self, port: u16, from: SocketAddrV4, d: &[u8], now: Instant) -> bool {
        let Some(i) = Header::peek_id(d).and_then(|id| self.by_id.get(&(port, id)).copied()) else {
            return false;
        };
        let c = &mut self.list[i];
        match c.wait {
            Wait::No => c.stream.handle_datagram(d, now),
            Wait::Accept(remote_id) => {
                c.wait = Wait::No;
                c.remote = Some(from);
                c.connected_at = Some(now);
                c.stream.connect(remote_id, now);
                c.stream.handle_datagram(d, now);
            }
            Wait::Reserved => {
                if c.early.len() < EARLY_DATAGRAMS {
                    c.early.push((from, d.to_vec()));
                }
            }
        }
        true
    }

    /// Runs the applications (reads, echoes, writes) and collects stream events.
    pub fn run_apps(&mut self, now: Instant) {
        for c in &mut self.list {
            // events, app, events again, and the app once more for what they said (an END)
            c.take_events();
            c.pump_app(now);
            c.take_events();
            c.pump_app(now);
        }
    }

    /// Moves every stream's outgoing datagrams to `out` (from the stream's socket).
    pub fn drain_transmits(&mut self, out: &mut std::collections::VecDeque<Transmit>) {
        for c in &mut self.list {
            let Some(to) = c.remote else {
                continue;
            };
            while let Some(d) = c.stream.poll_transmit() {
                out.push_back(Transmit {
                    src_port: c.port,
                    to,
                    data: d,
                    ttl: None,
                });
            }
        }
        // streams that closed and stopped lingering leave the index
        let list = &self.list;
        self.by_id.retain(|_, i| list[*i].is_live());
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.by_id
            .values()
            .filter_map(|&i| self.list[i].stream.poll_timeout())
            .min()
    }

    pub fn on_timeout(&mut self, now: Instant) {
        for &i in self.by_id.values() {
            let s = &mut self.list[i].stream;
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
    }
}
