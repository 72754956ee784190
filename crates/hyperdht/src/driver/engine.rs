//! Hosts the sans-IO [`Core`] inside the rpc driver task (as its request handler) and executes
//! the core's [`Output`]s: asking the app's async callbacks, opening UDX streams and handing
//! connected ones to their listener. Everything here only moves bytes, time and answers; the
//! decisions are the core's.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::Instant;

use hyperdht_rpc::driver::{QueryEvent, RequestHandler};
use hyperdht_rpc::node::{IncomingRequest, Node};
use hyperdht_rpc::query::QueryId;
use hyperdht_rpc::{Dht, Response, RpcError};
use hyperdht_secret_stream::SecretStreamIo;
use hyperdht_udx::UdxSocket;
use tokio::sync::{mpsc, oneshot};

use super::connect::{ConnectSink, RouteStreams};
use crate::core::announcer::AnnouncerOut;
use crate::core::random_punch::PoolId;
use crate::core::server::{ServerOut, SlotKey, StreamOpen};
use crate::core::{Core, Output};
use crate::driver::paths::Paths;
use crate::driver::plugins::Forwarder;
use crate::driver::pool::Pool;
use crate::driver::relay::{self, RelayRequest, Relayer};
use crate::server::{AnnounceSigner, Connection, FirewallFn, RelayAskFn};
use crate::HolepunchVeto;

/// What the driver keeps for a listening server: where its connections go and its callbacks.
pub(crate) struct ServerSink {
    pub connections: mpsc::Sender<Connection>,
    pub firewall: Option<FirewallFn>,
    pub veto: Option<HolepunchVeto>,
    pub relay_ask: Option<RelayAskFn>,
    pub relayer: Option<Relayer>,
    pub noise: Option<crate::noise_wrap::ServerNoise>,
}

/// The rpc request handler of a hyperdht node.
pub(crate) struct Engine {
    pub core: Core,
    pub(crate) plugin_forwarder: Option<Forwarder>,
    pub(crate) rpc: Option<Dht>,
    udx: Option<UdxSocket>,
    pub(crate) sinks: HashMap<[u8; 32], ServerSink>,
    /// pool sockets for RANDOM-NAT punching
    pub(crate) pool: Pool,
    /// accepted handshakes whose stream has not connected yet (candidates on several sockets)
    pending_streams: HashMap<SlotKey, PendingStream>,
    /// callers waiting for an announcer phase (`listen`, `suspend`, `close`)
    waiters: Vec<(AnnouncerOut, oneshot::Sender<()>)>,
    /// client connects in progress
    pub(crate) connect_sinks: HashMap<u64, ConnectSink>,
    /// the app's announce signers, by server target (`listen(keyPair, {signAnnounce})`)
    pub(crate) signers: HashMap<[u8; 32], AnnounceSigner>,
    /// streams reusable-socket routes are tied to
    pub(crate) route_streams: RouteStreams,
    /// how each open connection was made
    pub(crate) paths: Paths,
    /// relayed server streams waiting for an upgrade, by local stream id: the client's packets
    /// may reach us on a pool socket the stream then moves to
    relayed: HashMap<u32, (SlotKey, hyperdht_udx::socket::UdxStreamRef)>,
}

impl Engine {
    pub(crate) fn new(core: Core) -> Self {
        Engine {
            core,
            plugin_forwarder: None,
            rpc: None,
            udx: None,
            sinks: HashMap::new(),
            pool: Pool::default(),
            pending_streams: HashMap::new(),
            waiters: Vec::new(),
            connect_sinks: HashMap::new(),
            signers: HashMap::new(),
            route_streams: RouteStreams::default(),
            paths: Paths::default(),
            relayed: HashMap::new(),
        }
    }

    /// The handle the engine's tasks use to come back (set once the handler is installed;
    /// the rpc driver drops the handler at destroy, which breaks the cycle).
    pub(crate) fn set_rpc(&mut self, rpc: Dht) {
        self.rpc = Some(rpc);
    }

    pub(crate) fn set_udx(&mut self, udx: UdxSocket) {
        if self.udx.is_none() {
            self.udx = Some(udx);
        }
    }

    /// Runs `f` on the engine of `rpc` (with the node and the time), then executes what the
    /// core produced.
    pub(crate) fn run<R>(
        rpc: &Dht,
        f: impl FnOnce(&mut Engine, &mut Node, Instant) -> R,
    ) -> Option<R> {
        rpc.with_handler::<Engine, R>(|e, node, now| {
            let r = f(e, node, now);
            e.flush();
            r
        })
    }

    /// Waits off the engine for what the app was asked (`asked`: a firewall, a veto, a handshake
    /// object, a signer), then hands the answer to the core with `answer` (dropped if the node
    /// is gone by then).
    pub(crate) fn answer_later<T: Send + 'static>(
        &self,
        asked: impl std::future::Future<Output = T> + Send + 'static,
        answer: impl FnOnce(&mut Core, T, &mut Node, Instant) + Send + 'static,
    ) {
        let Some(rpc) = self.rpc.clone() else { return };
        spawn(async move {
            let value = asked.await;
            Engine::run(&rpc, |e, n, now| answer(&mut e.core, value, n, now));
        });
    }

    /// A receiver that fires when the core reports `what` (or is dropped with the engine).
    pub(crate) fn wait_for(&mut self, what: AnnouncerOut) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.waiters.retain(|(_, t)| !t.is_closed());
        self.waiters.push((what, tx));
        rx
    }

    /// Executes the core's outputs.
    pub(crate) fn flush(&mut self) {
        while let Some(o) = self.core.poll_output() {
            match o {
                Output::Server(s) => self.server_out(s),
                Output::Connect(c) => self.connect_out(c),
                Output::Pool(op) => {
                    if let Some(rpc) = self.rpc.clone() {
                        let host = *rpc.server_address().ip();
                        self.pool.run(op, &rpc, host);
                    }
                }
                Output::Plugin(f) => {
                    if let Some(fw) = self.plugin_forwarder.as_ref() {
                        fw(f);
                    }
                }
                Output::Announcer(AnnouncerOut::Sign {
                    target,
                    announcer,
                    seq,
                    token,
                    node_id,
                    unannounce,
                }) => {
                    let Some(signer) = self.signers.get(&target) else {
                        continue;
                    };
                    let signed = signer(crate::server::SignRequest {
                        target,
                        token,
                        node_id,
                        unannounce,
                    });
                    self.answer_later(signed, move |core, sig, n, now| {
                        core.announcer_signed(announcer, seq, sig, n, now)
                    });
                }
                Output::Announcer(a) => {
                    if let AnnouncerOut::Stopped { target } = a {
                        // a new listen on the key put its own sink (and signer) in place
                        if !self.sinks.contains_key(&target) {
                            self.signers.remove(&target);
                        }
                    }
                    // a stopped announcer also ends a listen or suspend still waiting on it
                    let ends = |w: &AnnouncerOut| match (a, *w) {
                        (AnnouncerOut::Stopped { target }, AnnouncerOut::Ready { target: t })
                        | (
                            AnnouncerOut::Stopped { target },
                            AnnouncerOut::Suspended { target: t },
                        ) => t == target,
                        _ => *w == a,
                    };
                    let (done, rest) = std::mem::take(&mut self.waiters)
                        .into_iter()
                        .partition(|(w, _)| ends(w));
                    self.waiters = rest;
                    for (_, tx) in done {
                        let _ = tx.send(());
                    }
                }
            }
        }
    }

    fn server_out(&mut self, o: ServerOut) {
        let Some(rpc) = self.rpc.clone() else { return };
        match o {
            ServerOut::AskFirewall {
                key,
                remote_public_key,
                payload,
                address,
                firewall,
                relay,
            } => {
                let Some(sink) = self.sinks.get(&key.target) else {
                    return;
                };
                // (a server listens with `firewall: true` only when its sink has the callback)
                let fw = sink.firewall.clone().filter(|_| firewall);
                if firewall && fw.is_none() {
                    return;
                }
                let ask = sink.relay_ask.clone().filter(|_| relay);
                let asked = async move {
                    let rejected = match fw {
                        Some(fw) => fw(remote_public_key, *payload, address).await,
                        None => false,
                    };
                    // `selectRelay(this.relayThrough)` once the firewall let the client in
                    let relay = match (rejected, ask) {
                        (false, Some(ask)) => ask().await,
                        _ => None,
                    };
                    (rejected, relay)
                };
                self.answer_later(asked, move |core, (rejected, relay), n, now| {
                    core.firewall_answer(key, rejected, relay, n, now)
                });
            }
            ServerOut::Relay {
                key,
                is_initiator,
                public_key,
                token,
            } => self.server_relay(rpc, key, is_initiator, public_key, token),
            ServerOut::NoiseRecv { key, noise: msg } => {
                let noise = self.sinks.get(&key.target).and_then(|s| s.noise.clone());
                let asked = async move {
                    match noise {
                        Some(n) => n.recv(key.gen, msg).await,
                        None => None,
                    }
                };
                self.answer_later(asked, move |core, read, n, now| {
                    core.server_noise_received(key, read, n, now)
                });
            }
            ServerOut::NoiseSend { key, payload } => {
                let noise = self.sinks.get(&key.target).and_then(|s| s.noise.clone());
                let asked = async move {
                    match noise {
                        Some(n) => n.send(key.gen, payload).await,
                        None => None,
                    }
                };
                self.answer_later(asked, move |core, sent, n, now| {
                    core.server_noise_sent(key, sent, n, now)
                });
            }
            ServerOut::AskVeto { key, info } => {
                let veto = self.sinks.get(&key.target).and_then(|s| s.veto.clone());
                let asked = async move {
                    match veto {
                        Some(v) => v.allows(info).await,
                        None => true,
                    }
                };
                self.answer_later(asked, move |core, allowed, n, now| {
                    core.server_veto_answer(key, allowed, n, now)
                });
            }
            ServerOut::OpenStream {
                key,
                local_id,
                remote_id,
                open,
                result,
                timeout,
                route,
            } => {
                let Some(udx) = self.udx.clone() else { return };
                let Some(tx) = self.sinks.get(&key.target).map(|s| s.connections.clone()) else {
                    return;
                };
                let raw = match open {
                    StreamOpen::Unverified { addr, budget } => {
                        udx.connect_unverified(local_id, remote_id, SocketAddr::V4(addr), budget)
                    }
                    StreamOpen::Accept => udx.accept(
                        local_id,
                        Box::new(move |from: SocketAddr| Some((remote_id, from))),
                    ),
                };
                let info = PendingStream {
                    local_id,
                    remote_id,
                    result: *result,
                    timeout,
                    route,
                    tx,
                    candidates: 0,
                    on_dht: raw.downgrade(),
                };
                self.pending_streams.insert(key, info);
                self.candidate(rpc, key, raw, None);
            }
            ServerOut::AcceptOn { key, socket } => {
                self.accept_on_pool(rpc, key, socket);
            }
        }
    }

    /// `_relayConnection`: pairs the pending stream `key` through a blind relay; once paired,
    /// its DHT-socket candidate connects to the relay node's stream for it (and wins), and the
    /// relay stays until the slot's punch upgrades the connection or the stream closes.
    fn server_relay(
        &mut self,
        rpc: Dht,
        key: SlotKey,
        is_initiator: bool,
        public_key: [u8; 32],
        token: [u8; 32],
    ) {
        let relayer = self.sinks.get(&key.target).and_then(|s| s.relayer.clone());
        let (Some(relayer), Some(info)) = (relayer, self.pending_streams.get(&key)) else {
            return;
        };
        let stream_id = info.local_id;
        let stream = info.on_dht.clone();
        let req = RelayRequest {
            is_initiator,
            public_key,
            token,
            stream_id,
        };
        let pairing = relayer.pair(req);
        spawn(async move {
            let Some(p) = pairing.await else {
                Engine::run(&rpc, |e, n, now| e.core.server_relay_failed(key, n, now));
                return;
            };
            let paired = Engine::run(&rpc, |e, n, now| {
                let client_id = e.pending_streams.get(&key)?.remote_id;
                let ok =
                    e.core.server_relay_paired(key, n, now) && stream.connect(p.remote_id, p.addr);
                if ok {
                    e.relayed.insert(stream_id, (key, stream.clone()));
                }
                ok.then_some(client_id)
            });
            let Some(Some(client_id)) = paired else {
                return;
            };
            // the client punched through and talks to us directly (libudx's stream firewall
            // for a packet from elsewhere → `hs.onsocket` → `changeRemote`)
            let (tx, rx) = oneshot::channel();
            stream.on_new_source(Box::new(move |from| {
                let _ = tx.send(from);
            }));
            let up = tokio::select! {
                _ = stream.closed() => None,
                r = rx => r.ok(),
            };
            Engine::run(&rpc, |e, _, _| e.relayed.remove(&stream_id));
            match up {
                Some(addr) => {
                    Engine::run(&rpc, |e, n, now| {
                        e.core.server_relay_upgraded(key, n, now);
                        e.paths.upgraded(stream_id);
                    });
                    relay::upgrade(stream, client_id, addr, p.link).await;
                }
                None => relay::hold(stream, p.link).await,
            }
        });
    }

    /// Makes pool socket `socket` a candidate for the pending server stream `key`: the slot's
    /// stream id is reserved there and connects on the client's first packet. The socket, if
    /// the stream id could be reserved on it.
    fn accept_on_pool(&mut self, rpc: Dht, key: SlotKey, socket: PoolId) -> Option<UdxSocket> {
        let info = self.pending_streams.get(&key)?;
        let udx = self.pool.get(socket)?.clone();
        let remote_id = info.remote_id;
        let raw = udx.try_reserve(info.local_id)?;
        raw.set_firewall(Box::new(move |from: SocketAddr| Some((remote_id, from))));
        self.candidate(rpc, key, raw, Some(socket));
        Some(udx)
    }

    /// A UDX packet for stream `id` reached pool socket `socket`, which has no such stream: a
    /// pending server stream with that id becomes a candidate there (the client connected to
    /// this socket's mapping before any of its probes reached us) and gets the packet.
    pub(crate) fn pool_stream_packet(
        &mut self,
        socket: PoolId,
        id: u32,
        from: SocketAddrV4,
        d: &[u8],
        node: &mut Node,
        now: Instant,
    ) {
        let Some(key) = self
            .pending_streams
            .iter()
            .find(|(_, p)| p.local_id == id)
            .map(|(k, _)| *k)
        else {
            // a relayed stream's client punched through to this socket: the stream moves here
            // and the packet, from a new source, starts the upgrade (`server_relay`)
            let Some((key, stream)) = self.relayed.get(&id).cloned() else {
                return;
            };
            if self.core.server_relay_via_pool(key, socket, node, now) {
                if let Some(udx) = self.adopt_pool(socket, &stream) {
                    udx.feed(SocketAddr::V4(from), d);
                }
            }
            return;
        };
        let Some(rpc) = self.rpc.clone() else { return };
        if let Some(udx) = self.accept_on_pool(rpc, key, socket) {
            udx.feed(SocketAddr::V4(from), d);
        }
    }

    /// Moves the live `stream` (a relayed connection upgrading) to pool socket `socket`, which
    /// then belongs to it; the socket, or `None` (and the socket closed) if the stream could
    /// not move there.
    pub(crate) fn adopt_pool(
        &mut self,
        socket: PoolId,
        stream: &hyperdht_udx::socket::UdxStreamRef,
    ) -> Option<UdxSocket> {
        let udx = self.pool.get(socket)?.clone();
        if !stream.move_to(&udx) {
            self.pool.close(socket);
            return None;
        }
        self.pool.hand_over(socket, stream.clone());
        Some(udx)
    }

    /// A stream with our id `local_id` on pool socket `socket` (a connect punched through it),
    /// which then belongs to that stream.
    pub(crate) fn pool_stream(
        &mut self,
        socket: PoolId,
        local_id: u32,
    ) -> Option<hyperdht_udx::UdxStream> {
        let raw = self.pool.get(socket)?.try_reserve(local_id)?;
        self.pool.hand_over(socket, raw.downgrade());
        Some(raw)
    }

    /// Waits for one candidate stream of an accepted handshake (the DHT socket, or a pool
    /// socket the client punched through).
    fn candidate(
        &mut self,
        rpc: Dht,
        key: SlotKey,
        raw: hyperdht_udx::UdxStream,
        via: Option<PoolId>,
    ) {
        let Some(info) = self.pending_streams.get_mut(&key) else {
            return;
        };
        info.candidates += 1;
        let timeout = info.timeout;
        spawn(async move {
            let connected = tokio::time::timeout(timeout, raw.connected()).await == Ok(true);
            let won = Engine::run(&rpc, |e, n, now| {
                e.settle(key, &raw, via, connected, n, now)
            });
            match won.flatten() {
                Some(delivery) => {
                    let _ = delivery
                        .tx
                        .send(SecretStreamIo::new(raw, delivery.result))
                        .await;
                }
                None => raw.destroy(),
            }
        });
    }

    /// A candidate connected or timed out: the first to connect gets the connection; the
    /// slot fails when the last candidate times out.
    fn settle(
        &mut self,
        key: SlotKey,
        raw: &hyperdht_udx::UdxStream,
        via: Option<PoolId>,
        connected: bool,
        node: &mut Node,
        now: Instant,
    ) -> Option<Delivery> {
        let info = self.pending_streams.get_mut(&key)?;
        info.candidates -= 1;
        if !connected {
            if info.candidates == 0 {
                self.pending_streams.remove(&key);
                self.core.server_stream_failed(key, node, now);
            }
            return None;
        }
        let info = self.pending_streams.remove(&key)?;
        let path = self.core.server_stream_connected(key, via, node, now);
        self.paths.record(raw, path);
        if let Some(socket) = via {
            self.pool.hand_over(socket, raw.downgrade());
        }
        if let (true, Some(SocketAddr::V4(addr))) = (info.route, raw.remote()) {
            // a route to the client's key, tied to this stream
            self.sync_routes(now);
            let k = self.stream_key();
            self.watch_route_stream(k, raw.downgrade());
            self.core
                .add_route(info.result.remote_public_key, addr, k, now);
        }
        Some(Delivery {
            result: info.result,
            tx: info.tx,
        })
    }
}

/// An accepted handshake waiting for its stream.
struct PendingStream {
    local_id: u32,
    remote_id: u32,
    result: hyperdht_secret_stream::HandshakeResult,
    timeout: std::time::Duration,
    route: bool,
    tx: mpsc::Sender<Connection>,
    /// candidate streams still waiting
    candidates: usize,
    /// the candidate on the DHT socket (a blind relay connects it)
    on_dht: hyperdht_udx::socket::UdxStreamRef,
}

/// What the winning candidate hands to the listener.
struct Delivery {
    result: hyperdht_secret_stream::HandshakeResult,
    tx: mpsc::Sender<Connection>,
}

/// Spawns on the current tokio runtime (the engine runs on the rpc driver task or in async
/// callers); without one the work is dropped, like every task of a runtime shut down.
pub(crate) fn spawn(fut: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(fut);
    }
}

impl RequestHandler for Engine {
    fn on_request(&mut self, req: IncomingRequest, node: &mut Node) -> bool {
        let now = Instant::now();
        let handled = self.core.on_request(&req, node, now);
        self.flush();
        handled
    }

    fn on_response(&mut self, req: u64, result: Result<Response, RpcError>, node: &mut Node) {
        self.core.on_response(req, result, node, Instant::now());
        self.flush();
    }

    fn owns_query(&self, q: QueryId) -> bool {
        self.core.owns_query(q)
    }

    fn on_query_event(&mut self, q: QueryId, ev: QueryEvent, node: &mut Node) {
        self.core.on_query_event(q, ev, node, Instant::now());
        self.flush();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    fn on_timeout(&mut self, now: Instant, node: &mut Node) {
        self.core.on_timeout(node, now);
        self.flush();
    }

    fn as_any(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}
