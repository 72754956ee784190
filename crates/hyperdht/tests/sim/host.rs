//! A simulated hyperdht node: one sans-IO dht-rpc [`Node`] (server and client socket) and one
//! protocol [`Core`], hosted like `crates/hyperdht/src/driver/engine.rs` hosts them inside the
//! rpc driver, but without tokio: node events go to the core (requests, tagged responses,
//! owned queries), the core's outputs are executed at once (firewall and veto answers from
//! the host's [`Policy`], UDX streams with a secret-stream echo on top), and every timer of
//! node, core and streams is one deadline for the [`World`](hyperdht_netsim::World).
//!
//! Datagrams on the server socket go to the node first (dht-rpc frames), then to the UDX
//! streams (by receiver id), and a leftover single byte is a holepunch probe
//! (`Core::on_probe`); the client socket carries dht-rpc frames and probes only. Pool sockets
//! of RANDOM-NAT punching are more ports on the host (`pool.rs`); a server slot's stream
//! waits for its client on the DHT socket and on the pool sockets it reached
//! (`candidates.rs`).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Instant;

use hyperdht_core::core::announcer::AnnouncerOut;
use hyperdht_core::core::holepuncher::PuncherId;
use hyperdht_core::core::server::{ServerConfig, ServerOut, SlotKey, StreamOpen};
use hyperdht_core::core::{Core, Output};
use hyperdht_core::persistent::{Persistent, StorageLimits, WallClock};
use hyperdht_core::stats::Stats;
use hyperdht_core::{Firewall, HolepunchInfo};
use hyperdht_crypto::KeyPair;
use hyperdht_netsim::{Endpoint, Transmit};
use hyperdht_rpc::driver::{QueryEvent, HANDLER_TAG};
use hyperdht_rpc::messages::error_code::UNKNOWN_COMMAND;
use hyperdht_rpc::node::{Config, Event, Node, Reply, SocketKind};

use super::candidates::PendingAccept;
use super::pool::Pool;
use super::udx::{Open, Side, Streams};
use super::{CLIENT_PORT, SERVER_PORT};

/// Unix time (ms) at the start of every simulation.
const WALL_CLOCK_MS: u64 = 1_767_225_600_000;

/// How a server host answers its app's firewall callback (when it listens with one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirewallPolicy {
    Accept,
    Reject,
    /// never answer (the test answers, or closes the server meanwhile)
    Hold,
}

/// The app's per-host answers to hyperdht's questions.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub firewall: FirewallPolicy,
    /// the holepunch veto's answer (asked only where a veto is configured)
    pub allow_holepunch: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            firewall: FirewallPolicy::Accept,
            allow_holepunch: true,
        }
    }
}

/// A question hyperdht asked this host's app.
#[derive(Debug, Clone)]
pub enum Ask {
    Firewall { key: SlotKey, address: SocketAddrV4 },
    ServerVeto { key: SlotKey, info: HolepunchInfo },
    ClientVeto { id: u64, info: HolepunchInfo },
}

/// The latest view of one puncher (kept after it is destroyed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PunchView {
    pub initiator: bool,
    /// our NAT as the puncher classified it
    pub local: Firewall,
    /// the peer's NAT as it told us
    pub remote: Firewall,
    pub analyzed: bool,
    pub punching: bool,
    pub probed: bool,
    pub connected: bool,
}

pub struct SimHost {
    pub name: String,
    pub node: Node,
    pub core: Core,
    /// our server socket's local address (`dht.localAddress()`)
    pub local: SocketAddrV4,
    pub streams: Streams,
    pub policy: Policy,
    pub asks: Vec<Ask>,
    /// firewall questions the policy left open
    pub held: Vec<SlotKey>,
    pub announcer: Vec<(Instant, AnnouncerOut)>,
    pub punchers: BTreeMap<PuncherId, PunchView>,
    pub ready_at: Option<Instant>,
    /// a crashed host: everything it receives is dropped, it sends nothing and has no timers
    pub muted: bool,
    /// its UDX packets never leave (a path that carries DHT traffic but not the stream's)
    pub block_udx_out: bool,
    /// client connects in progress and finished (see `client.rs`)
    pub dials: BTreeMap<u64, super::client::Dial>,
    /// the last UDX stream id a connect reserved
    pub(crate) next_stream_id: u32,
    /// pool sockets of RANDOM-NAT punching (`pool.rs`)
    pub pool: Pool,
    /// accepted handshakes whose stream has not connected yet (`candidates.rs`)
    pub pending: Vec<(SlotKey, PendingAccept)>,
    out: VecDeque<Transmit>,
}

impl SimHost {
    /// A node whose server socket is `local` (`SERVER_PORT` on the host's own address).
    pub fn new(name: &str, cfg: Config, local: SocketAddrV4, now: Instant) -> Self {
        let mut node = Node::new(cfg, now);
        node.start(SERVER_PORT, now);
        // a fixed wall clock: announce bumps are checked against it
        let wall = WallClock {
            at: now,
            unix_ms: WALL_CLOCK_MS,
        };
        let store = Persistent::new(StorageLimits::from_options(None, None), now, wall);
        let core = Core::new(store, Arc::new(Stats::default()), vec![local]);
        SimHost {
            name: name.to_string(),
            node,
            core,
            local,
            streams: Streams::default(),
            policy: Policy::default(),
            asks: Vec::new(),
            held: Vec::new(),
            announcer: Vec::new(),
            punchers: BTreeMap::new(),
            ready_at: None,
            muted: false,
            block_udx_out: false,
            dials: BTreeMap::new(),
            next_stream_id: 0x5100_0000,
            pool: Pool::default(),
            pending: Vec::new(),
            out: VecDeque::new(),
        }
    }

    // ---- commands (what an app calls) ---------------------------------------------------

    /// `server.listen(keyPair)` with `config`.
    pub fn listen(&mut self, key_pair: &KeyPair, config: ServerConfig, now: Instant) {
        self.core.listen(key_pair, config, &mut self.node, now);
        self.pump(now);
    }

    /// `server.close()`.
    pub fn unlisten(&mut self, public_key: &[u8; 32], now: Instant) {
        let target = hyperdht_crypto::hash(public_key);
        self.core.unlisten(&target, &mut self.node, now);
        self.pump(now);
    }

    /// Answers a held firewall question.
    pub fn answer_firewall(&mut self, key: SlotKey, rejected: bool, now: Instant) {
        self.held.retain(|k| *k != key);
        self.core
            .firewall_answer(key, rejected, None, &mut self.node, now);
        self.pump(now);
    }

    // ---- what the test reads ------------------------------------------------------------

    /// The first announce of the server with `public_key` finished.
    pub fn announced(&self, public_key: &[u8; 32]) -> bool {
        let target = hyperdht_crypto::hash(public_key);
        self.announcer
            .iter()
            .any(|(_, o)| *o == AnnouncerOut::Ready { target })
    }

    /// dht-rpc's verdict on this node, in hyperdht's terms: OPEN when not firewalled, else
    /// CONSISTENT when the NAT sampler agreed on a port, RANDOM when only the host was voted.
    pub fn node_class(&self) -> Firewall {
        if !self.node.is_firewalled() {
            return Firewall::Open;
        }
        match self.node.nat_host() {
            None => Firewall::Unknown,
            Some(_) if self.node.nat_port() == 0 => Firewall::Random,
            Some(_) => Firewall::Consistent,
        }
    }

    /// What this host's punchers concluded about our NAT (destroyed ones included), in id
    /// order, deduplicated.
    pub fn punch_classes(&self) -> Vec<Firewall> {
        let mut v: Vec<Firewall> = self.punchers.values().map(|p| p.local).collect();
        v.dedup();
        v
    }

    /// Punchers still alive in the core.
    pub fn live_punchers(&self) -> usize {
        self.core.punchers.live()
    }

    // ---- the engine -----------------------------------------------------------------------

    /// Runs everything the last input set off: node events into the core, core outputs into
    /// streams and policies, streams' applications, until quiet; then queues the datagrams.
    pub(crate) fn pump(&mut self, now: Instant) {
        loop {
            let mut busy = false;
            while let Some(ev) = self.node.poll_event() {
                busy = true;
                self.on_node_event(ev, now);
            }
            while let Some(o) = self.core.poll_output() {
                busy = true;
                self.on_output(o, now);
            }
            self.streams.run_apps(now);
            busy |= self.report_connected(now);
            if !busy {
                break;
            }
        }
        for (id, p) in self.core.punchers.iter() {
            let (local, _) = p.local();
            self.punchers.insert(
                id,
                PunchView {
                    initiator: p.is_initiator(),
                    local,
                    remote: p.remote_firewall(),
                    analyzed: p.is_analyzed(),
                    punching: p.is_punching(),
                    probed: p.has_probed(),
                    connected: p.is_connected(),
                },
            );
        }
        self.release_handed();
        let before = self.out.len();
        self.streams.drain_transmits(&mut self.out);
        if self.block_udx_out {
            self.out.truncate(before);
        }
        while let Some(t) = self.node.poll_transmit() {
            self.out.push_back(Transmit {
                src_port: match t.socket {
                    SocketKind::Server => SERVER_PORT,
                    SocketKind::Client => CLIENT_PORT,
                },
                to: t.to,
                data: t.data,
                ttl: t.ttl,
            });
        }
    }

    /// `process_events` of the rpc driver, with the core as the request handler.
    fn on_node_event(&mut self, ev: Event, now: Instant) {
        let node = &mut self.node;
        match ev {
            Event::Request(req) if !self.core.on_request(&req, node, now) => {
                node.reply(&req, Reply::error(UNKNOWN_COMMAND));
            }
            Event::Response { req, result } if req & HANDLER_TAG != 0 => {
                self.core.on_response(req, result, node, now);
            }
            Event::QueryReply { query, reply } if self.core.owns_query(query) => {
                self.core
                    .on_query_event(query, QueryEvent::Reply(reply), node, now);
            }
            Event::QueryDone {
                query,
                closest,
                error,
            } if self.core.owns_query(query) => {
                let ev = QueryEvent::Done { closest, error };
                self.core.on_query_event(query, ev, node, now);
            }
            Event::Ready => {
                self.ready_at.get_or_insert(now);
            }
            _ => {}
        }
    }

    fn on_output(&mut self, o: Output, now: Instant) {
        match o {
            Output::Server(s) => self.on_server_out(s, now),
            Output::Announcer(a) => self.announcer.push((now, a)),
            Output::Pool(op) => self.pool_op(op, now),
            // client connects (`client.rs`); PLUGIN forwards never come (no plugin registered)
            #[allow(unreachable_patterns)]
            other => self.on_connect_output(other, now),
        }
    }

    fn on_server_out(&mut self, o: ServerOut, now: Instant) {
        match o {
            // servers here have no relay
            ServerOut::Relay { .. } => {}
            // nor handshake objects of an app (createHandshake: `connect_core.rs`)
            ServerOut::NoiseRecv { .. } | ServerOut::NoiseSend { .. } => {}
            ServerOut::AskFirewall { key, address, .. } => {
                self.asks.push(Ask::Firewall { key, address });
                match self.policy.firewall {
                    FirewallPolicy::Accept | FirewallPolicy::Reject => {
                        let rejected = self.policy.firewall == FirewallPolicy::Reject;
                        self.core
                            .firewall_answer(key, rejected, None, &mut self.node, now);
                    }
                    FirewallPolicy::Hold => self.held.push(key),
                }
            }
            ServerOut::AcceptOn { key, socket } => self.accept_on(key, socket, now),
            ServerOut::AskVeto { key, info } => {
                self.asks.push(Ask::ServerVeto { key, info });
                let allowed = self.policy.allow_holepunch;
                self.core
                    .server_veto_answer(key, allowed, &mut self.node, now);
            }
            ServerOut::OpenStream {
                key,
                local_id,
                remote_id,
                open,
                result,
                timeout,
                ..
            } => {
                let how = match open {
                    StreamOpen::Unverified { addr, budget } => Open::Connect {
                        remote_id,
                        addr,
                        budget: Some(budget),
                    },
                    StreamOpen::Accept => Open::Accept { remote_id },
                };
                let pending = PendingAccept {
                    local_id,
                    remote_id,
                    result,
                    timeout,
                };
                self.pending.push((key, pending));
                self.candidate(key, SERVER_PORT, how, now);
            }
        }
    }

    /// Streams that found their peer since the last look: hyperdht hears of it (a server
    /// slot's path, a passive client connect). Returns whether there were any.
    fn report_connected(&mut self, now: Instant) -> bool {
        let mut any = false;
        for i in 0..self.streams.list.len() {
            let c = &mut self.streams.list[i];
            if c.reported || c.connected_at.is_none() || c.failed {
                continue;
            }
            c.reported = true;
            any = true;
            match c.side {
                Side::Server(key) => self.candidate_connected(key, i, now),
                Side::Client(id) => self.client_stream_connected(id, i, now),
            }
        }
        any
    }

    /// Server candidate streams whose client never came (`candidate`'s timeout in the engine).
    fn expire_accepts(&mut self, now: Instant) {
        for i in 0..self.streams.list.len() {
            let c = &self.streams.list[i];
            let due = c.deadline.is_some_and(|t| t <= now);
            if !due || c.connected_at.is_some() || c.failed {
                continue;
            }
            self.candidate_failed(i, now);
        }
    }

    /// Queues a datagram (pool probes; everything else is drained in `pump`).
    pub(crate) fn queue(&mut self, t: Transmit) {
        self.out.push_back(t);
    }

    fn accept_deadline(&self) -> Option<Instant> {
        self.streams
            .list
            .iter()
            .filter(|c| c.connected_at.is_none() && !c.failed)
            .filter_map(|c| c.deadline)
            .min()
    }
}

impl Endpoint for SimHost {
    fn handle_datagram(&mut self, port: u16, from: SocketAddrV4, data: &[u8], now: Instant) {
        if self.muted {
            return;
        }
        let socket = match port {
            SERVER_PORT => SocketKind::Server,
            CLIENT_PORT => SocketKind::Client,
            _ => {
                if let Some(socket) = self.pool.at_port(port) {
                    self.pool_datagram(socket, port, from, data, now);
                    self.pump(now);
                }
                return; // else nothing bound there
            }
        };
        let dht = self.node.handle_datagram(socket, from, data, now);
        let udx =
            !dht && socket == SocketKind::Server && self.streams.feed(SERVER_PORT, from, data, now);
        if !dht && !udx && data.len() == 1 {
            self.core.on_probe(socket, from, &mut self.node, now);
        }
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.muted {
            return;
        }
        self.node.handle_timeout(now);
        if self.core.poll_timeout().is_some_and(|t| t <= now) {
            self.core.on_timeout(&mut self.node, now);
        }
        self.streams.on_timeout(now);
        self.expire_accepts(now);
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.muted {
            self.out.clear();
        }
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.muted {
            return None;
        }
        [
            self.node.poll_timeout(),
            self.core.poll_timeout(),
            self.streams.poll_timeout(),
            self.accept_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
