//! Hosts the sans-IO [`Core`] inside the rpc driver task (as its request handler) and executes
//! the core's [`Output`]s: asking the app's async callbacks, opening UDX streams and handing
//! connected ones to their listener. Everything here only moves bytes, time and answers; the
//! decisions are the core's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyperdht_rpc::driver::{QueryEvent, RequestHandler};
use hyperdht_rpc::node::{IncomingRequest, Node};
use hyperdht_rpc::query::QueryId;
use hyperdht_rpc::{Dht, Response, RpcError};
use hyperdht_secret_stream::SecretStreamIo;
use hyperdht_udx::UdxSocket;
use tokio::sync::{mpsc, oneshot};

use crate::connect_state::ConnectShared;
use crate::core::announcer::AnnouncerOut;
use crate::core::server::{ServerOut, SlotKey, StreamOpen};
use crate::core::{Core, Output};
use crate::driver::plugins::Forwarder;
use crate::server::{Connection, FirewallFn};
use crate::HolepunchVeto;

/// What the driver keeps for a listening server: where its connections go and its callbacks.
pub(crate) struct ServerSink {
    pub connections: mpsc::Sender<Connection>,
    pub firewall: Option<FirewallFn>,
    pub veto: Option<HolepunchVeto>,
}

/// The rpc request handler of a hyperdht node.
pub(crate) struct Engine {
    pub core: Core,
    pub(crate) plugin_forwarder: Option<Forwarder>,
    rpc: Option<Dht>,
    udx: Option<UdxSocket>,
    pub(crate) sinks: HashMap<[u8; 32], ServerSink>,
    /// callers waiting for an announcer phase (`listen`, `suspend`, `close`)
    waiters: Vec<(AnnouncerOut, oneshot::Sender<()>)>,
    connects: Arc<ConnectShared>,
}

impl Engine {
    pub(crate) fn new(core: Core, connects: Arc<ConnectShared>) -> Self {
        Engine {
            core,
            plugin_forwarder: None,
            rpc: None,
            udx: None,
            sinks: HashMap::new(),
            waiters: Vec::new(),
            connects,
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
                Output::Plugin(f) => {
                    if let Some(fw) = self.plugin_forwarder.as_ref() {
                        fw(f);
                    }
                }
                Output::Announcer(a) => {
                    let (done, rest) = std::mem::take(&mut self.waiters)
                        .into_iter()
                        .partition(|(w, _)| *w == a);
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
            } => {
                // (a server listens with `firewall: true` only when its sink has the callback)
                let Some(fw) = self.sinks.get(&key.target).and_then(|s| s.firewall.clone()) else {
                    return;
                };
                spawn(async move {
                    let rejected = fw(remote_public_key, *payload, address).await;
                    Engine::run(&rpc, |e, n, now| {
                        e.core.firewall_answer(key, rejected, n, now)
                    });
                });
            }
            ServerOut::AskVeto { key, info } => {
                let veto = self.sinks.get(&key.target).and_then(|s| s.veto.clone());
                spawn(async move {
                    let allowed = match veto {
                        Some(v) => v.allows(info).await,
                        None => true,
                    };
                    Engine::run(&rpc, |e, n, now| {
                        e.core.server_veto_answer(key, allowed, n, now)
                    });
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
                let connects = self.connects.clone();
                spawn(deliver(
                    rpc,
                    key,
                    raw,
                    *result,
                    timeout,
                    route.then_some(connects),
                    tx,
                ));
            }
        }
    }
}

/// Spawns on the current tokio runtime (the engine runs on the rpc driver task or in async
/// callers); without one the work is dropped, like every task of a runtime shut down.
fn spawn(fut: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(fut);
    }
}

/// Waits for an accepted handshake's stream to connect, then hands it to the listener.
async fn deliver(
    rpc: Dht,
    key: SlotKey,
    raw: hyperdht_udx::UdxStream,
    result: hyperdht_secret_stream::HandshakeResult,
    timeout: std::time::Duration,
    route: Option<Arc<ConnectShared>>,
    tx: mpsc::Sender<Connection>,
) {
    if tokio::time::timeout(timeout, raw.connected()).await != Ok(true) {
        Engine::run(&rpc, |e, n, now| e.core.server_stream_failed(key, n, now));
        raw.destroy();
        return;
    }
    Engine::run(&rpc, |e, n, now| {
        e.core.server_stream_connected(key, n, now)
    });
    if let (Some(connects), Some(SocketAddr::V4(addr))) = (route, raw.remote()) {
        connects.add_route(result.remote_public_key, addr, raw.downgrade());
    }
    let _ = tx.send(SecretStreamIo::new(raw, result)).await;
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
