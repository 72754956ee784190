//! The tokio driver: owns the two UDP sockets (server/client, `dht-rpc lib/io.js: _bindSockets`)
//! and runs the sans-IO [`Node`] behind a mutex so synchronous getters (`id`, `toArray`, ...) are
//! answered without a thread hop. One task per node; every queue it feeds is bounded.

mod batch;
mod external;
mod handles;
mod node_log;
mod runtime;
mod supervisor;
mod types;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::Instant;

use crate::error::RpcError;
use crate::messages::{Command, Response};
use crate::node::{Config, Node, RequestSpec, SocketKind, Stats};
use crate::peer::NodeInfo;
use crate::query::{QueryId, QuerySpec};
use runtime::{bind_udp, local_v4, process_events, resolve_bootstrap, send_now, take_transmits};

pub use crate::node::IncomingRequest;
pub use external::ServerRecv;
pub use handles::{QueryHandle, Responder, Session};
pub use node_log::NodeChange;
pub use types::*;

pub(super) struct State {
    pub(super) node: Node,
    pub(super) handler: Option<Box<dyn RequestHandler>>,
    pub(super) handler_requests: std::collections::HashSet<u64>,
    /// requests neither the node nor `handler` answered (see [`Dht::set_unhandled_request_hook`])
    pub(super) unhandled: Option<UnhandledHook>,
    pub(super) requests: HashMap<u64, oneshot::Sender<Result<Response, RpcError>>>,
    pub(super) queries: HashMap<QueryId, mpsc::Sender<QueryEvent>>,
    pub(super) next_req: u64,
    pub(super) events: mpsc::Sender<DhtEvent>,
    pub(super) dropped_events: u64,
    /// routing-table changes waiting for the application (`add-node` / `remove-node`)
    pub(super) node_log: node_log::NodeLog,
    /// when the driver task wakes up next on its own (its timer), as of its last turn
    pub(super) driver_wakes_at: Option<Instant>,
    /// set when the driver task panicked: every later request and query fails with it
    pub(super) failure: Option<RpcError>,
}

impl State {
    /// After a call changed the node from outside the driver (everything it produced was sent
    /// already): does the driver need waking to re-arm its timer earlier? Usually not: it
    /// wakes every 750 ms for the congestion drain, before any new request's 1 s timeout, so
    /// skipping the wake-up spares a worker thread per request/query started from JS.
    pub(super) fn driver_must_wake(&self) -> bool {
        match (runtime::next_deadline(self), self.driver_wakes_at) {
            (Some(t), Some(at)) => Instant::from_std(t) < at,
            (None, Some(_)) => false,
            (_, None) => true,
        }
    }
}

pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    pub(super) notify: Notify,
    pub(super) ready: watch::Sender<Option<Result<(), RpcError>>>,
    pub(super) events_rx: Mutex<Option<mpsc::Receiver<DhtEvent>>>,
    pub(super) server_addr: SocketAddrV4,
    pub(super) client_addr: SocketAddrV4,
    pub(super) closed: watch::Sender<bool>,
    /// Kept apart from the node state so the handler may call back into [`Dht`].
    pub(super) foreign: Mutex<Foreign>,
    /// GSO/GRO batching on the server socket, once UDX traffic uses it (see `batch.rs`)
    pub(super) batch: std::sync::OnceLock<hyperdht_udp::BatchUdp>,
    /// Taken (and so closed once the driver task lets go) when the node is destroyed, even if
    /// handles to it live on.
    pub(super) sockets: std::sync::RwLock<Option<[Arc<UdpSocket>; 2]>>,
    /// test hook ([`Dht::inject_driver_panic`])
    pub(super) panic_next: std::sync::atomic::AtomicBool,
    /// datagrams and bytes through both sockets (`stats.rs`)
    pub(super) io: crate::stats::SocketCounters,
    /// receiving on the server socket from another event loop (`external.rs`)
    pub(super) external: external::External,
}

/// A dht-rpc node handle (cheap to clone).
#[derive(Clone)]
pub struct Dht {
    shared: Arc<Shared>,
}

impl Dht {
    /// Binds the sockets and starts bootstrapping in the background (async convenience).
    pub async fn bind(opts: DhtOptions) -> Result<Dht, RpcError> {
        Self::new(opts)
    }

    /// Binds the sockets synchronously (must run inside a tokio runtime) and spawns the driver,
    /// which resolves bootstrap host names and then starts bootstrapping.
    pub fn new(opts: DhtOptions) -> Result<Dht, RpcError> {
        let server = bind_server(&opts)?;
        let client = bind_udp(opts.host, 0).map_err(|e| RpcError::Bind(e.to_string()))?;
        let cfg = Config {
            bootstrap: Vec::new(),
            ephemeral: opts.ephemeral,
            adaptive: opts.adaptive && opts.ephemeral.is_none(),
            firewalled: opts.firewalled,
            concurrency: opts.concurrency.max(1),
            // port 0 (a bootstrapper on a random port, tests) means "the port we bound"
            nat_seed: opts.nat_seed.map(|a| {
                if a.port() == 0 {
                    SocketAddrV4::new(*a.ip(), local_v4(&server).port())
                } else {
                    a
                }
            }),
            nodes: opts.nodes.clone(),
            quick_firewall: opts.quick_firewall,
            max_window: opts.max_window.max(1),
            down_hints_rate_limit: opts.down_hints_rate_limit,
        };
        let now = Instant::now().into_std();
        let node = Node::new(cfg, now);
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_QUEUE);
        let server_addr = local_v4(&server);
        let client_addr = local_v4(&client);
        let (ready, _) = watch::channel(None);
        let (closed, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                node,
                handler: None,
                handler_requests: Default::default(),
                unhandled: None,
                requests: HashMap::new(),
                queries: HashMap::new(),
                next_req: 1,
                events: ev_tx,
                dropped_events: 0,
                node_log: Default::default(),
                driver_wakes_at: None,
                failure: None,
            }),
            notify: Notify::new(),
            ready,
            events_rx: Mutex::new(Some(ev_rx)),
            server_addr,
            client_addr,
            closed,
            foreign: Mutex::new(Foreign::default()),
            batch: std::sync::OnceLock::new(),
            sockets: std::sync::RwLock::new(Some([Arc::new(server), Arc::new(client)])),
            panic_next: std::sync::atomic::AtomicBool::new(false),
            io: Default::default(),
            external: Default::default(),
        });
        let dht = Dht { shared };
        let _ = dht.lock().events.try_send(DhtEvent::Listening);
        // the driver runs from the start so bootstrap resolution can ping suggested IPs
        supervisor::spawn_driver(dht.shared.clone());
        let bootstrap = opts.bootstrap.clone();
        let d = dht.clone();
        tokio::spawn(async move {
            let resolved = resolve_bootstrap(&d, &bootstrap).await;
            d.with_node(|n| {
                if !n.is_destroyed() {
                    n.set_bootstrap(resolved);
                    n.start(server_addr.port(), Instant::now().into_std());
                }
            });
        });
        Ok(dht)
    }

    /// `dht.refresh()`: a background FIND_NODE for a random table entry (or our own id).
    pub fn refresh(&self) {
        let now = Instant::now().into_std();
        self.with_node(|n| n.refresh(now));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.shared.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Runs `f` on the node and wakes the driver to flush what it produced.
    pub fn with_node<R>(&self, f: impl FnOnce(&mut Node) -> R) -> R {
        let r = {
            let mut st = self.lock();
            let r = f(&mut st.node);
            process_events(&mut st);
            r
        };
        self.shared.notify.notify_one();
        r
    }

    /// Runs `f` on the installed [`RequestHandler`] (downcast to `H`) and the node, on the
    /// calling thread, then flushes what they produced and wakes the driver to re-arm its
    /// timer. `None` if no handler of type `H` is installed (e.g. after destroy).
    pub fn with_handler<H: 'static, R>(
        &self,
        f: impl FnOnce(&mut H, &mut Node, std::time::Instant) -> R,
    ) -> Option<R> {
        let (r, out) = {
            let mut st = self.lock();
            let State { handler, node, .. } = &mut *st;
            let h = handler.as_mut()?.as_any()?.downcast_mut::<H>()?;
            let r = f(h, node, Instant::now().into_std());
            process_events(&mut st);
            // outside a runtime (a sync napi call on the JS thread) the driver sends them: a
            // full socket buffer would need a task to wait on, and there is no runtime to spawn
            // it on
            let out = if tokio::runtime::Handle::try_current().is_ok() {
                take_transmits(&mut st)
            } else {
                Vec::new()
            };
            (r, out)
        };
        send_now(&self.shared, out);
        self.shared.notify.notify_one();
        Some(r)
    }

    /// Like [`Dht::with_node`] but never blocks: if the node is locked (e.g. we are inside the
    /// request handler, or another thread holds it) `f` runs on a spawned task instead.
    pub fn with_node_or_defer(&self, f: impl FnOnce(&mut Node) + Send + 'static) {
        let ran = match self.shared.state.try_lock() {
            Ok(mut st) => {
                f(&mut st.node);
                process_events(&mut st);
                true
            }
            Err(std::sync::TryLockError::Poisoned(p)) => {
                let mut st = p.into_inner();
                f(&mut st.node);
                process_events(&mut st);
                true
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                let dht = self.clone();
                match tokio::runtime::Handle::try_current() {
                    Ok(rt) => {
                        rt.spawn(async move { dht.with_node(f) });
                    }
                    Err(_) => {
                        std::thread::spawn(move || dht.with_node(f));
                    }
                }
                false
            }
        };
        if ran {
            self.shared.notify.notify_one();
        }
    }

    pub fn take_events(&self) -> Option<mpsc::Receiver<DhtEvent>> {
        self.shared.events_rx.lock().ok().and_then(|mut g| g.take())
    }

    pub fn set_request_handler(&self, h: Box<dyn RequestHandler>) {
        self.lock().handler = Some(h);
    }

    /// Application requests that neither the node nor the [`RequestHandler`] answered go to
    /// `h` instead of getting UNKNOWN_COMMAND (dht-rpc: a subclass's `onrequest` returning
    /// false). `h` runs on the driver with the node locked: it must not call locking [`Dht`]
    /// methods; it keeps the request and answers later (e.g. with
    /// [`Node::reply`](crate::node::Node::reply) through [`Dht::with_node`]) or returns false
    /// to have UNKNOWN_COMMAND sent now. `None` restores the default.
    pub fn set_unhandled_request_hook(&self, h: Option<UnhandledHook>) {
        self.lock().unhandled = h;
    }

    /// Datagrams on our sockets that are not dht-rpc frames (shorter than 2 bytes or a first
    /// byte other than `0x03`/`0x13`: UDX packets, 1-byte holepunch probes) go to `h`, called
    /// on the driver task without the node lock held (it may call any [`Dht`] method).
    pub fn set_foreign_datagram_handler(&self, h: ForeignHandler) {
        if let Ok(mut g) = self.shared.foreign.lock() {
            g.datagram = Some(h);
        }
    }

    /// Called after each batch of received datagrams has gone through the foreign handler
    /// (after every datagram when batching is off), so a UDX endpoint can ACK and flush once
    /// per batch instead of once per datagram.
    pub fn set_foreign_batch_end(&self, h: BatchEndHandler) {
        if let Ok(mut g) = self.shared.foreign.lock() {
            g.batch_end = Some(h);
        }
    }

    /// Turns on GSO sends and `recvmmsg`/GRO receives on the server socket (idempotent; see
    /// `driver/batch.rs`). [`Dht::send_batch`] and [`Dht::max_segments`] do it on first use.
    pub fn enable_batched_io(&self) -> bool {
        if self.shared.batch.get().is_some() {
            return true;
        }
        let Some(s) = self.shared.socket(SocketKind::Server) else {
            return false;
        };
        match hyperdht_udp::BatchUdp::new(&s) {
            Ok(b) => {
                let _ = self.shared.batch.set(b);
                // the driver switches its receive path on its next turn
                self.shared.notify.notify_one();
                true
            }
            Err(_) => false,
        }
    }

    /// How many datagrams one [`Dht::send_batch`] call may carry on the server socket.
    pub fn max_segments(&self) -> usize {
        if !self.enable_batched_io() {
            return 1;
        }
        self.shared.batch.get().map_or(1, |b| b.max_segments())
    }

    /// Sends datagrams laid out back to back in `data` (each `segment` bytes, the last possibly
    /// shorter) from the server socket, with one GSO `sendmsg` where the kernel allows. For
    /// traffic that recovers from loss (UDX): a full socket buffer drops, it never queues.
    pub fn send_batch(&self, to: SocketAddrV4, data: &[u8], segment: usize) {
        let Some(s) = self.shared.socket(SocketKind::Server) else {
            return;
        };
        self.enable_batched_io();
        self.shared.io.sent_segments(data.len(), segment);
        match self.shared.batch.get() {
            Some(b) => b.send(&s, SocketAddr::V4(to), data, segment),
            // the kernel state could not be set up: plain sends
            None => {
                for d in data.chunks(segment.max(1)) {
                    let _ = external::send_direct(&s, d, to);
                }
            }
        }
    }

    /// A request id whose outcome goes to the request handler's `on_response`.
    pub fn reserve_request_id(&self) -> u64 {
        let mut st = self.lock();
        let id = st.next_req;
        st.next_req += 1;
        st.handler_requests.insert(id);
        id
    }

    pub async fn ready(&self) -> Result<(), RpcError> {
        let mut rx = self.shared.ready.subscribe();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                return Err(RpcError::Destroyed);
            }
        }
    }

    pub async fn fully_bootstrapped(&self) -> Result<(), RpcError> {
        self.ready().await
    }

    pub fn id(&self) -> Option<[u8; 32]> {
        self.lock().node.id()
    }
    pub fn is_ephemeral(&self) -> bool {
        self.lock().node.is_ephemeral()
    }
    pub fn is_firewalled(&self) -> bool {
        self.lock().node.is_firewalled()
    }
    pub fn is_destroyed(&self) -> bool {
        self.lock().node.is_destroyed()
    }
    /// `(dht.host, dht.port)`: our NAT-sampled public address.
    pub fn nat(&self) -> (Option<Ipv4Addr>, u16) {
        let st = self.lock();
        (st.node.nat_host(), st.node.nat_port())
    }
    /// `dht.randomized`: consistent public IP but inconsistent port (NAT sampler port 0).
    pub fn randomized(&self) -> bool {
        let (host, port) = self.nat();
        host.is_some() && port == 0
    }
    pub fn remote_address(&self) -> Option<SocketAddrV4> {
        self.lock().node.remote_address()
    }
    /// `address()`: the socket requests currently go out on.
    pub fn address(&self) -> SocketAddrV4 {
        if self.is_firewalled() {
            self.shared.client_addr
        } else {
            self.shared.server_addr
        }
    }
    pub fn server_address(&self) -> SocketAddrV4 {
        self.shared.server_addr
    }
    pub fn client_address(&self) -> SocketAddrV4 {
        self.shared.client_addr
    }
    /// The node's counters with the socket counters filled in.
    pub fn stats(&self) -> Stats {
        Stats {
            socket: self.shared.io.snapshot(),
            ..self.lock().node.stats()
        }
    }
    pub fn to_array(&self, limit: usize) -> Vec<NodeInfo> {
        self.lock().node.to_array(limit)
    }
    pub fn add_node(&self, addr: SocketAddrV4) {
        self.with_node(|n| n.add_node(addr));
    }

    /// Sends (or queues behind the congestion window) right away, at the call, not at the first
    /// poll: requests keep the order they were made in, like dht-rpc's `_pending` FIFO (hyperdht
    /// relies on that to get a preconnect handshake out ahead of its FIND_PEER query).
    pub fn request(
        &self,
        spec: RequestSpec,
    ) -> impl std::future::Future<Output = Result<Response, RpcError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let (wake, out) = {
            let mut st = self.lock();
            if let Some(err) = st.failure.clone() {
                let _ = tx.send(Err(err));
                (false, Vec::new())
            } else {
                let id = st.next_req;
                st.next_req += 1;
                st.requests.insert(id, tx);
                let now = Instant::now().into_std();
                st.node.request(id, spec, now);
                process_events(&mut st);
                (st.driver_must_wake(), take_transmits(&mut st))
            }
        };
        send_now(&self.shared, out);
        if wake {
            self.shared.notify.notify_one();
        }
        async move { rx.await.unwrap_or(Err(RpcError::Destroyed)) }
    }

    /// Test hook: makes the driver task panic on its next turn, to exercise supervision
    /// (pending and later requests then fail with [`RpcError::DriverFailed`]).
    #[doc(hidden)]
    pub fn inject_driver_panic(&self) {
        supervisor::inject_panic(&self.shared);
    }

    pub async fn ping(&self, to: SocketAddrV4) -> Result<Response, RpcError> {
        self.request(RequestSpec::new(to, true, Command::Ping.code()))
            .await
    }

    /// Feeds a datagram received elsewhere (hyperdht's pooled holepunch sockets feed theirs into
    /// `DHT.onmessage`): responses are matched by tid like any other; a request would be
    /// answered from `socket`. Returns false if it is not a dht-rpc frame.
    pub fn inject_datagram(&self, socket: SocketKind, from: SocketAddrV4, data: &[u8]) -> bool {
        let now = Instant::now().into_std();
        self.with_node(|n| n.handle_datagram(socket, from, data, now))
    }

    /// `dht.delayedPing(to, delayMs)`: the responder waits `delay_ms` (at most its
    /// `maxPingDelay`, else it does not answer) before answering; the per-attempt timeout is
    /// `delay + 1 s`. Asking for more than our own [`Dht::max_ping_delay`] is an error.
    pub async fn delayed_ping(
        &self,
        to: SocketAddrV4,
        delay_ms: u32,
    ) -> Result<Response, RpcError> {
        let spec = self.delayed_ping_spec(to, delay_ms)?;
        self.request(spec).await
    }

    /// The request [`Dht::delayed_ping`] sends (set `session`, `retries`, ... before sending it
    /// with [`Dht::request`]).
    pub fn delayed_ping_spec(
        &self,
        to: SocketAddrV4,
        delay_ms: u32,
    ) -> Result<RequestSpec, RpcError> {
        let max = self.max_ping_delay();
        if delay_ms > max {
            return Err(RpcError::InvalidArgument(format!(
                "Delay exceeds max delay: {max}ms"
            )));
        }
        let mut spec = RequestSpec::new(to, true, Command::DelayedPing.code());
        spec.value = Some(delay_ms.to_le_bytes().to_vec());
        spec.timeout = Some(Duration::from_millis(delay_ms as u64 + 1000));
        Ok(spec)
    }

    /// `dht.maxPingDelay` (default 10 000 ms).
    pub fn max_ping_delay(&self) -> u32 {
        self.lock().node.max_ping_delay()
    }

    /// `opts.maxPingDelay`: longer DELAYED_PINGs get no reply, and we ask for none longer.
    pub fn set_max_ping_delay(&self, ms: u32) {
        self.lock().node.set_max_ping_delay(ms);
    }

    /// Routing-table changes are logged for [`Dht::take_node_changes`] and announced by
    /// [`DhtEvent::NodeChanges`] (off by default; the wake-ups share the bounded event queue).
    pub fn set_node_events(&self, on: bool) {
        self.lock().node.set_node_events(on);
    }

    /// `dht.health`: a copy of the network-health window.
    pub fn health(&self) -> crate::health::NetworkHealth {
        self.lock().node.health().clone()
    }

    /// `dht.table.id` (also while ephemeral).
    pub fn table_id(&self) -> [u8; 32] {
        self.lock().node.table_id()
    }

    /// The routing table's entries, most recently heard first (`dht.nodes`); 0 = all.
    pub fn table_entries(&self, limit: usize) -> Vec<crate::routing_table::Entry> {
        self.lock().node.table_entries(limit)
    }

    /// `dht.table.closest(target, k)`.
    pub fn table_closest(&self, target: &[u8; 32], k: usize) -> Vec<crate::routing_table::Entry> {
        self.lock().node.table_closest(target, k)
    }

    /// `dht.table.get(id)`.
    pub fn table_get(&self, id: &[u8; 32]) -> Option<crate::routing_table::Entry> {
        self.lock().node.table_get(id)
    }

    /// `dht.table.random()`.
    pub fn table_random(&self) -> Option<crate::routing_table::Entry> {
        self.lock().node.table_random()
    }

    pub fn query(&self, p: QueryParams) -> QueryHandle {
        let (tx, rx) = mpsc::channel(QUERY_QUEUE);
        let (id, wake, out) = {
            let mut st = self.lock();
            let concurrency = p.concurrency.unwrap_or(st.node.concurrency());
            let spec = QuerySpec {
                target: p.target,
                internal: p.internal,
                command: p.command,
                value: p.value,
                concurrency,
                retries: 5,
                nodes: p.nodes,
                background: false,
                only_closest_nodes: p.only_closest_nodes,
                force: p.force,
            };
            let now = Instant::now().into_std();
            if let Some(err) = st.failure.clone() {
                let _ = tx.try_send(QueryEvent::Done {
                    closest: Vec::new(),
                    error: Some(err),
                });
            }
            // register the channel before the query can emit anything
            let next = st.node.peek_next_query_id();
            st.queries.insert(next, tx);
            let id = st.node.query(spec, now);
            process_events(&mut st);
            // The first request (to the closest candidate, the likeliest to answer with what
            // the caller wants) leaves from the calling thread now; the driver task sends the
            // rest. A JS caller then returns after one send instead of `concurrency` of them
            // (about 10 µs each on loopback, most of a query's start-up cost).
            let first: Vec<_> = st.node.poll_transmit().into_iter().collect();
            (id, st.node.has_transmit() || st.driver_must_wake(), first)
        };
        send_now(&self.shared, out);
        if wake {
            self.shared.notify.notify_one();
        }
        QueryHandle {
            id,
            rx,
            dht: self.clone(),
            done: false,
            closest: Vec::new(),
            error: None,
        }
    }

    /// The commit phase of a query (`lib/query.js: _flush/_endAfterCommit`): `make` builds the
    /// request for each closest reply (or `None` to skip it); all are sent concurrently.
    /// Resolves with the successful responses if at least one succeeded, with
    /// [`RpcError::TooFewNodes`] when there was nothing to commit to, else with the last error.
    pub async fn commit(
        &self,
        closest: &[Response],
        mut make: impl FnMut(&Response) -> Option<RequestSpec>,
    ) -> Result<Vec<Response>, RpcError> {
        let mut set = tokio::task::JoinSet::new();
        for r in closest {
            if let Some(spec) = make(r) {
                let dht = self.clone();
                set.spawn(async move { dht.request(spec).await });
            }
        }
        if set.is_empty() {
            return Err(RpcError::TooFewNodes);
        }
        let mut ok = Vec::new();
        let mut last_err = RpcError::TooFewNodes;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(res)) => ok.push(res),
                Ok(Err(e)) => last_err = e,
                Err(_) => last_err = RpcError::RequestDestroyed,
            }
        }
        if ok.is_empty() {
            Err(last_err)
        } else {
            Ok(ok)
        }
    }

    /// `commit: true` (`autoCommit`): repeat the query's command with each closest reply's
    /// token; replies without a token are skipped (JS rejects them individually).
    pub async fn auto_commit(
        &self,
        params: &QueryParams,
        closest: &[Response],
    ) -> Result<Vec<Response>, RpcError> {
        self.commit(closest, |r| {
            let token = r.token?;
            let mut spec = RequestSpec::new(r.from, false, params.command);
            spec.token = Some(token);
            spec.target = Some(params.target);
            spec.value = params.value.clone();
            Some(spec)
        })
        .await
    }

    pub fn find_node(&self, target: [u8; 32]) -> QueryHandle {
        self.query(QueryParams::find_node(target))
    }

    pub fn cancel_query(&self, id: QueryId) {
        let mut st = self.lock();
        st.queries.remove(&id);
        st.node.cancel_query(id);
    }

    /// `dht.suspend()`: pending requests and queries fail with [`RpcError::Suspended`], the
    /// node stops ticking and ignores DHT traffic (sockets stay bound).
    pub async fn suspend(&self) {
        let now = Instant::now().into_std();
        self.with_node(|n| n.suspend(now));
    }

    /// `dht.resume()`: like a wake-up (adaptive nodes become ephemeral again), then a refresh.
    pub async fn resume(&self) {
        let now = Instant::now().into_std();
        self.with_node(|n| n.resume(now));
    }

    /// `opts.filterNode`: see [`Node::set_node_filter`].
    pub fn set_node_filter(&self, filter: Option<crate::query::NodeFilter>) {
        self.with_node(|n| n.set_node_filter(filter));
    }

    pub fn is_suspended(&self) -> bool {
        self.lock().node.is_suspended()
    }

    /// `dht.online` (network health; false after 2 ticks without any response).
    pub fn online(&self) -> bool {
        self.lock().node.is_online()
    }
    /// `dht.degraded` (network health: timeout rate above 50% for 4 ticks).
    pub fn degraded(&self) -> bool {
        self.lock().node.is_degraded()
    }
    /// `localAddress()`: the bound server socket (host as bound, e.g. `0.0.0.0`).
    pub fn local_address(&self) -> SocketAddrV4 {
        self.shared.server_addr
    }

    /// `dht.session()`: requests made through it can be cancelled together.
    pub fn session(&self) -> Session {
        let id = self.lock().node.session();
        Session {
            dht: self.clone(),
            id,
        }
    }

    /// Sends a raw datagram with a one-off IP TTL (holepunch low-TTL opens).
    pub fn send_raw_ttl(&self, socket: SocketKind, to: SocketAddrV4, data: Vec<u8>, ttl: u32) {
        let Some(s) = self.shared.socket(socket) else {
            return;
        };
        self.shared.io.sent(1, data.len());
        let _ = s.set_ttl(ttl);
        let _ = external::send_direct(&s, &data, to);
        let _ = s.set_ttl(DEFAULT_TTL);
    }

    /// Sends a raw datagram from one of our sockets (UDX, holepunch probes).
    pub fn send_raw(&self, socket: SocketKind, to: SocketAddrV4, data: Vec<u8>) {
        let Some(s) = self.shared.socket(socket) else {
            return;
        };
        self.shared.io.sent(1, data.len());
        if external::send_direct(&s, &data, to).is_err() && external::can_wait(&self.shared, socket)
        {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = s.send_to(&data, SocketAddr::V4(to)).await;
                });
            }
        }
    }

    /// Destroys the node: pending requests and queries fail, sockets close. Bounded in time.
    pub async fn destroy(&self) {
        {
            let mut st = self.lock();
            let now = Instant::now().into_std();
            st.node.destroy(now);
            process_events(&mut st);
            let _ = st.events.try_send(DhtEvent::Close);
        }
        self.shared.ready.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(Err(RpcError::Destroyed));
                true
            } else {
                false
            }
        });
        self.shared.notify.notify_one();
        let mut closed = self.shared.closed.subscribe();
        let wait = async {
            while !*closed.borrow_and_update() {
                if closed.changed().await.is_err() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), wait).await;
    }
}

/// Binds the server socket like dht-rpc `IO._bindSockets`: the candidate ports are
/// `portRange[0]..portRange[1]` (`[port, port + 5)` for a number, nothing for 0); a failed bind
/// is fatal unless `anyPort`, and with `anyPort` a random port is the last resort.
fn bind_server(opts: &DhtOptions) -> Result<UdpSocket, RpcError> {
    let (start, end) = match opts.port_range {
        Some(r) => r,
        None if opts.port == 0 => (0, 0),
        None => (opts.port, opts.port.saturating_add(5)),
    };
    for p in start..end {
        match bind_udp(opts.host, p) {
            Ok(s) => return Ok(s),
            Err(e) if !opts.any_port => return Err(RpcError::Bind(e.to_string())),
            Err(_) => {}
        }
    }
    bind_udp(opts.host, 0).map_err(|e| RpcError::Bind(e.to_string()))
}
