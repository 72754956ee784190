//! The tokio driver: owns the two UDP sockets (server/client, `dht-rpc lib/io.js: _bindSockets`)
//! and runs the sans-IO [`Node`] behind a mutex so synchronous getters (`id`, `toArray`, ...) are
//! answered without a thread hop. One task per node; every queue it feeds is bounded.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::Instant;

use crate::error::RpcError;
use crate::messages::{Command, Response, MAX_DATAGRAM};
use crate::node::{Config, Event, Node, Reply, RequestSpec, SocketKind, Stats};
use crate::peer::NodeInfo;
use crate::query::{QueryId, QuerySpec};

pub use crate::node::IncomingRequest;

/// Default hyperdht/dht-rpc query concurrency.
pub const DEFAULT_CONCURRENCY: usize = 10;
const EVENT_QUEUE: usize = 256;
/// Linux default IP TTL, restored after a low-TTL send.
const DEFAULT_TTL: u32 = 64;
const QUERY_QUEUE: usize = 1024;

/// Options of [`Dht::bind`] (the dht-rpc constructor options this port supports).
#[derive(Debug, Clone)]
pub struct DhtOptions {
    /// `"host:port"` or `"suggestedIP@hostname:port"` entries.
    pub bootstrap: Vec<String>,
    /// Server port; tried as `[port, port + 5)`. 0 = random.
    pub port: u16,
    pub host: Ipv4Addr,
    pub ephemeral: Option<bool>,
    pub adaptive: bool,
    pub firewalled: bool,
    pub any_port: bool,
    pub nodes: Vec<SocketAddrV4>,
    pub concurrency: usize,
    /// Our public address when running as `DHT.bootstrapper(port, host)`.
    pub nat_seed: Option<SocketAddrV4>,
    pub quick_firewall: bool,
}

impl Default for DhtOptions {
    fn default() -> Self {
        DhtOptions {
            bootstrap: Vec::new(),
            port: 0,
            host: Ipv4Addr::UNSPECIFIED,
            ephemeral: None,
            adaptive: true,
            firewalled: true,
            any_port: true,
            nodes: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            nat_seed: None,
            quick_firewall: true,
        }
    }
}

impl DhtOptions {
    /// `DHT.bootstrapper(port, host)`: persistent from the start with `id = hash(host:port)`,
    /// not firewalled, exact port, no bootstrap nodes. `host` must be the public IPv4 address;
    /// like upstream the sockets still bind to `0.0.0.0` unless [`DhtOptions::host`] is set.
    /// Unlike upstream (`Port is required`) port 0 is allowed: with `any_port` set the node
    /// binds a random port and seeds its public address with that port.
    pub fn bootstrapper(port: u16, host: Ipv4Addr) -> Self {
        DhtOptions {
            port,
            ephemeral: Some(false),
            adaptive: false,
            firewalled: false,
            any_port: false,
            nat_seed: Some(SocketAddrV4::new(host, port)),
            ..DhtOptions::default()
        }
    }
}

/// Node-level events for the embedding layer (bounded queue; see [`Dht::take_events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhtEvent {
    Listening,
    Ready,
    Persistent,
    Ephemeral,
    Wakeup,
    NatUpdate {
        host: Ipv4Addr,
        port: u16,
    },
    /// `network-update` (health): see [`Dht::online`] / [`Dht::degraded`].
    NetworkUpdate {
        online: bool,
        degraded: bool,
    },
    Close,
}

/// Application request handler (hyperdht's `onrequest`). Runs on the driver task with the node
/// locked: reply immediately through `node.reply(..)`, relay with `node.relay(..)`, or send more
/// requests with `node.request(..)` using ids from [`Dht::reserve_request_id`] and receive their
/// outcome in [`RequestHandler::on_response`]. Return false to let the node answer
/// UNKNOWN_COMMAND.
pub trait RequestHandler: Send + 'static {
    fn on_request(&mut self, req: IncomingRequest, node: &mut Node) -> bool;
    fn on_response(&mut self, _req: u64, _result: Result<Response, RpcError>, _node: &mut Node) {}
}

/// Datagrams on our sockets that are not DHT frames (UDX packets, holepunch probes).
pub type ForeignHandler = Box<dyn FnMut(SocketKind, SocketAddrV4, &[u8]) + Send>;

/// What a query yields.
#[derive(Debug, Clone)]
pub enum QueryEvent {
    Reply(Response),
    Done {
        closest: Vec<Response>,
        error: Option<RpcError>,
    },
}

/// Parameters of [`Dht::query`].
#[derive(Debug, Clone)]
pub struct QueryParams {
    pub target: [u8; 32],
    pub command: u64,
    pub internal: bool,
    pub value: Option<Vec<u8>>,
    pub concurrency: Option<usize>,
    pub nodes: Vec<SocketAddrV4>,
}

impl QueryParams {
    pub fn find_node(target: [u8; 32]) -> Self {
        QueryParams {
            target,
            command: Command::FindNode.code(),
            internal: true,
            value: None,
            concurrency: None,
            nodes: Vec::new(),
        }
    }
}

/// Parameters of [`Dht::request`].
pub type RequestParams = RequestSpec;

/// A running query: replies then one `Done`. Dropping it cancels the query.
pub struct QueryHandle {
    id: QueryId,
    rx: mpsc::Receiver<QueryEvent>,
    dht: Dht,
    done: bool,
    closest: Vec<Response>,
    error: Option<RpcError>,
}

impl QueryHandle {
    pub fn id(&self) -> QueryId {
        self.id
    }

    pub async fn next(&mut self) -> Option<QueryEvent> {
        if self.done {
            return None;
        }
        let ev = self.rx.recv().await;
        match &ev {
            Some(QueryEvent::Done { closest, error }) => {
                self.done = true;
                self.closest = closest.clone();
                self.error = error.clone();
            }
            None => {
                self.done = true;
                self.error = Some(RpcError::Destroyed);
            }
            Some(QueryEvent::Reply(_)) => {}
        }
        ev
    }

    /// Whether the query has ended (after `next()` returned `Done` or `None`).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// `query.closestReplies` once done: up to k id-bearing successful replies, closest first.
    /// This is what a commit phase (hyperdht announce/put) sends its token-carrying requests to.
    pub fn closest_replies(&self) -> &[Response] {
        &self.closest
    }

    /// `query.closestNodes` once done.
    pub fn closest_nodes(&self) -> Vec<SocketAddrV4> {
        self.closest.iter().map(|r| r.from).collect()
    }

    /// The query error, if it ended with one.
    pub fn error(&self) -> Option<&RpcError> {
        self.error.as_ref()
    }

    /// Drains replies, returns the closest replies (or the query error).
    pub async fn finish(mut self) -> Result<Vec<Response>, RpcError> {
        while let Some(ev) = self.next().await {
            if let QueryEvent::Done { closest, error } = ev {
                return match error {
                    Some(e) => Err(e),
                    None => Ok(closest),
                };
            }
        }
        Err(RpcError::Destroyed)
    }
}

impl Drop for QueryHandle {
    fn drop(&mut self) {
        if !self.done {
            self.dht.cancel_query(self.id);
        }
    }
}

/// A group of requests cancelled together (`dht-rpc lib/session.js`).
#[derive(Clone)]
pub struct Session {
    dht: Dht,
    id: crate::node::SessionId,
}

impl Session {
    pub fn id(&self) -> crate::node::SessionId {
        self.id
    }
    /// `session.request(...)`.
    pub async fn request(&self, mut spec: RequestSpec) -> Result<Response, RpcError> {
        spec.session = Some(self.id);
        self.dht.request(spec).await
    }
    /// `session.ping(...)`.
    pub async fn ping(&self, to: SocketAddrV4) -> Result<Response, RpcError> {
        self.request(RequestSpec::new(to, true, Command::Ping.code()))
            .await
    }
    /// `session.destroy()`: in-flight requests fail with `RequestDestroyed`.
    pub fn destroy(&self) {
        let id = self.id;
        self.dht
            .with_node(|n| n.destroy_session(id, Instant::now().into_std()));
    }
}

/// Replies to a request later (kept by a handler doing async work).
pub struct Responder {
    dht: Dht,
    req: IncomingRequest,
}

impl Responder {
    pub fn new(dht: Dht, req: IncomingRequest) -> Self {
        Responder { dht, req }
    }
    /// The request being answered.
    pub fn request(&self) -> &IncomingRequest {
        &self.req
    }
    /// `req.reply(...)` / `req.error(...)`.
    pub fn reply(self, reply: Reply) {
        self.dht.with_node(|n| n.reply(&self.req, reply));
    }
    /// `req.relay(value, to)`: forward with the same tid; the target answers the requester.
    pub fn relay(self, value: Option<Vec<u8>>, to: SocketAddrV4) {
        self.dht.with_node(|n| n.relay(&self.req, value, to));
    }
    /// Drop the request without any answer (the requester will retry and time out).
    pub fn drop_silently(self) {}
}

struct State {
    node: Node,
    handler: Option<Box<dyn RequestHandler>>,
    handler_requests: std::collections::HashSet<u64>,
    requests: HashMap<u64, oneshot::Sender<Result<Response, RpcError>>>,
    queries: HashMap<QueryId, mpsc::Sender<QueryEvent>>,
    next_req: u64,
    events: mpsc::Sender<DhtEvent>,
    dropped_events: u64,
}

struct Shared {
    state: Mutex<State>,
    notify: Notify,
    ready: watch::Sender<Option<Result<(), RpcError>>>,
    events_rx: Mutex<Option<mpsc::Receiver<DhtEvent>>>,
    server_addr: SocketAddrV4,
    client_addr: SocketAddrV4,
    closed: watch::Sender<bool>,
    /// Kept apart from the node state so the handler may call back into [`Dht`].
    foreign: Mutex<Option<ForeignHandler>>,
    /// Taken (and so closed once the driver task lets go) when the node is destroyed, even if
    /// handles to it live on.
    sockets: std::sync::RwLock<Option<[Arc<UdpSocket>; 2]>>,
}

/// A dht-rpc node handle (cheap to clone).
#[derive(Clone)]
pub struct Dht {
    shared: Arc<Shared>,
}

fn bind_udp(host: Ipv4Addr, port: u16) -> std::io::Result<UdpSocket> {
    let s = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    s.set_nonblocking(true)?;
    // larger buffers absorb bursts of replies during queries
    let _ = s.set_recv_buffer_size(1 << 20);
    let _ = s.set_send_buffer_size(1 << 20);
    s.bind(&SocketAddr::V4(SocketAddrV4::new(host, port)).into())?;
    UdpSocket::from_std(s.into())
}

fn local_v4(s: &UdpSocket) -> SocketAddrV4 {
    match s.local_addr() {
        Ok(SocketAddr::V4(a)) => a,
        _ => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
    }
}

/// Resolves bootstrap entries: `ip:port`, `suggestedIP@host:port` (the suggested IP is used),
/// or `hostname:port` (DNS, skipped when it fails).
async fn resolve_bootstrap(list: &[String]) -> Vec<SocketAddrV4> {
    let mut out = Vec::new();
    for entry in list {
        let Some((host, port)) = entry.rsplit_once(':') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        let host = host.split('@').next().unwrap_or(host);
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            out.push(SocketAddrV4::new(ip, port));
            continue;
        }
        let lookup = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::lookup_host((host, port)),
        )
        .await;
        if let Ok(Ok(addrs)) = lookup {
            if let Some(SocketAddr::V4(a)) = addrs.into_iter().find(|a| a.is_ipv4()) {
                out.push(a);
            }
        }
    }
    out
}

impl Dht {
    /// Binds the sockets and starts bootstrapping in the background (async convenience).
    pub async fn bind(opts: DhtOptions) -> Result<Dht, RpcError> {
        Self::new(opts)
    }

    /// Binds the sockets synchronously (must run inside a tokio runtime) and spawns the driver,
    /// which resolves bootstrap host names and then starts bootstrapping.
    pub fn new(opts: DhtOptions) -> Result<Dht, RpcError> {
        let server = if opts.port == 0 {
            bind_udp(opts.host, 0).map_err(|e| RpcError::Bind(e.to_string()))?
        } else {
            let mut bound = None;
            let mut last_err = None;
            let end = if opts.any_port {
                opts.port.saturating_add(5)
            } else {
                opts.port.saturating_add(1)
            };
            for p in opts.port..end {
                match bind_udp(opts.host, p) {
                    Ok(s) => {
                        bound = Some(s);
                        break;
                    }
                    Err(e) => last_err = Some(e),
                }
            }
            match bound {
                Some(s) => s,
                None if opts.any_port => {
                    bind_udp(opts.host, 0).map_err(|e| RpcError::Bind(e.to_string()))?
                }
                None => {
                    return Err(RpcError::Bind(
                        last_err.map(|e| e.to_string()).unwrap_or_default(),
                    ))
                }
            }
        };
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
            ..Config::default()
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
                requests: HashMap::new(),
                queries: HashMap::new(),
                next_req: 1,
                events: ev_tx,
                dropped_events: 0,
            }),
            notify: Notify::new(),
            ready,
            events_rx: Mutex::new(Some(ev_rx)),
            server_addr,
            client_addr,
            closed,
            foreign: Mutex::new(None),
            sockets: std::sync::RwLock::new(Some([Arc::new(server), Arc::new(client)])),
        });
        let dht = Dht { shared };
        let _ = dht.lock().events.try_send(DhtEvent::Listening);
        let bootstrap = opts.bootstrap.clone();
        let shared = dht.shared.clone();
        tokio::spawn(async move {
            let resolved = resolve_bootstrap(&bootstrap).await;
            {
                let mut st = match shared.state.lock() {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                st.node.set_bootstrap(resolved);
                st.node.start(server_addr.port(), Instant::now().into_std());
            }
            run(shared).await
        });
        Ok(dht)
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

    pub fn take_events(&self) -> Option<mpsc::Receiver<DhtEvent>> {
        self.shared.events_rx.lock().ok().and_then(|mut g| g.take())
    }

    pub fn set_request_handler(&self, h: Box<dyn RequestHandler>) {
        self.lock().handler = Some(h);
    }

    /// Datagrams on our sockets that are not dht-rpc frames (shorter than 2 bytes or a first
    /// byte other than `0x03`/`0x13`: UDX packets, 1-byte holepunch probes) go to `h`, called
    /// on the driver task without the node lock held (it may call any [`Dht`] method).
    pub fn set_foreign_datagram_handler(&self, h: ForeignHandler) {
        if let Ok(mut g) = self.shared.foreign.lock() {
            *g = Some(h);
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
    pub fn stats(&self) -> Stats {
        self.lock().node.stats()
    }
    pub fn to_array(&self, limit: usize) -> Vec<NodeInfo> {
        self.lock().node.to_array(limit)
    }
    pub fn add_node(&self, addr: SocketAddrV4) {
        self.with_node(|n| n.add_node(addr));
    }

    pub async fn request(&self, spec: RequestSpec) -> Result<Response, RpcError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut st = self.lock();
            let id = st.next_req;
            st.next_req += 1;
            st.requests.insert(id, tx);
            let now = Instant::now().into_std();
            st.node.request(id, spec, now);
            process_events(&mut st);
        }
        self.shared.notify.notify_one();
        rx.await.unwrap_or(Err(RpcError::Destroyed))
    }

    pub async fn ping(&self, to: SocketAddrV4) -> Result<Response, RpcError> {
        self.request(RequestSpec::new(to, true, Command::Ping.code()))
            .await
    }

    /// `dht.delayedPing(to, delayMs)`: the responder waits `delay_ms` (≤ 10 000, its
    /// `maxPingDelay`) before answering; the per-attempt timeout is `delay + 1 s`.
    pub async fn delayed_ping(
        &self,
        to: SocketAddrV4,
        delay_ms: u32,
    ) -> Result<Response, RpcError> {
        if delay_ms > crate::node::MAX_PING_DELAY_MS {
            return Err(RpcError::InvalidArgument(format!(
                "Delay exceeds max delay: {}ms",
                crate::node::MAX_PING_DELAY_MS
            )));
        }
        let mut spec = RequestSpec::new(to, true, Command::DelayedPing.code());
        spec.value = Some(delay_ms.to_le_bytes().to_vec());
        spec.timeout = Some(Duration::from_millis(delay_ms as u64 + 1000));
        self.request(spec).await
    }

    pub fn query(&self, p: QueryParams) -> QueryHandle {
        let (tx, rx) = mpsc::channel(QUERY_QUEUE);
        let id = {
            let mut st = self.lock();
            let concurrency = p.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
            let spec = QuerySpec {
                target: p.target,
                internal: p.internal,
                command: p.command,
                value: p.value,
                concurrency,
                retries: 5,
                nodes: p.nodes,
                background: false,
            };
            let now = Instant::now().into_std();
            // register the channel before the query can emit anything
            let next = st.node.peek_next_query_id();
            st.queries.insert(next, tx);
            let id = st.node.query(spec, now);
            process_events(&mut st);
            id
        };
        self.shared.notify.notify_one();
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
        let _ = s.set_ttl(ttl);
        let _ = s.try_send_to(&data, SocketAddr::V4(to));
        let _ = s.set_ttl(DEFAULT_TTL);
    }

    /// Sends a raw datagram from one of our sockets (UDX, holepunch probes).
    pub fn send_raw(&self, socket: SocketKind, to: SocketAddrV4, data: Vec<u8>) {
        let Some(s) = self.shared.socket(socket) else {
            return;
        };
        if s.try_send_to(&data, SocketAddr::V4(to)).is_err() {
            tokio::spawn(async move {
                let _ = s.send_to(&data, SocketAddr::V4(to)).await;
            });
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

fn socket_index(s: SocketKind) -> usize {
    match s {
        SocketKind::Server => 0,
        SocketKind::Client => 1,
    }
}

/// Routes node events to their consumers. Called with the state locked.
fn process_events(st: &mut State) {
    while let Some(ev) = st.node.poll_event() {
        match ev {
            Event::Request(req) => {
                let handled = match st.handler.as_mut() {
                    Some(h) => h.on_request(req.clone(), &mut st.node),
                    None => false,
                };
                if !handled {
                    st.node.reply(
                        &req,
                        Reply::error(crate::messages::error_code::UNKNOWN_COMMAND),
                    );
                }
            }
            Event::Response { req, result } => {
                if st.handler_requests.remove(&req) {
                    if let Some(h) = st.handler.as_mut() {
                        h.on_response(req, result, &mut st.node);
                    }
                } else if let Some(tx) = st.requests.remove(&req) {
                    let _ = tx.send(result);
                }
            }
            Event::QueryReply { query, reply } => {
                // bounded: a consumer that lags by more than QUERY_QUEUE replies loses replies
                if let Some(tx) = st.queries.get(&query) {
                    if tx.try_send(QueryEvent::Reply(reply)).is_err() {
                        st.dropped_events += 1;
                    }
                }
            }
            Event::QueryDone {
                query,
                closest,
                error,
            } => {
                if let Some(tx) = st.queries.remove(&query) {
                    // the end must not be lost when the consumer lags: hand it to a task
                    if let Err(mpsc::error::TrySendError::Full(ev)) =
                        tx.try_send(QueryEvent::Done { closest, error })
                    {
                        if let Ok(rt) = tokio::runtime::Handle::try_current() {
                            rt.spawn(async move {
                                let _ = tx.send(ev).await;
                            });
                        }
                    }
                }
            }
            Event::Ready => emit(st, DhtEvent::Ready),
            Event::Persistent => emit(st, DhtEvent::Persistent),
            Event::Ephemeral => emit(st, DhtEvent::Ephemeral),
            Event::Wakeup => emit(st, DhtEvent::Wakeup),
            Event::NatUpdate { host, port } => emit(st, DhtEvent::NatUpdate { host, port }),
            Event::NetworkUpdate { online, degraded } => {
                emit(st, DhtEvent::NetworkUpdate { online, degraded })
            }
        }
    }
}

fn emit(st: &mut State, ev: DhtEvent) {
    if st.events.try_send(ev).is_err() {
        st.dropped_events += 1;
    }
}

impl Shared {
    fn socket(&self, kind: SocketKind) -> Option<Arc<UdpSocket>> {
        let g = match self.sockets.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.as_ref().map(|s| s[socket_index(kind)].clone())
    }
}

async fn run(shared: Arc<Shared>) {
    let Some(sockets) = shared.sockets.read().ok().and_then(|g| g.clone()) else {
        shared.closed.send_replace(true);
        return;
    };
    let [server, client] = sockets;
    let mut buf_s = vec![0u8; MAX_DATAGRAM];
    let mut buf_c = vec![0u8; MAX_DATAGRAM];
    let mut out = Vec::new();
    let mut was_ready = false;
    loop {
        let (deadline, destroyed, ready) = {
            let mut st = match shared.state.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            process_events(&mut st);
            while let Some(t) = st.node.poll_transmit() {
                out.push(t);
            }
            (
                st.node.poll_timeout(),
                st.node.is_destroyed(),
                st.node.is_bootstrapped(),
            )
        };
        if ready && !was_ready {
            was_ready = true;
            shared.ready.send_if_modified(|r| {
                if r.is_none() {
                    *r = Some(Ok(()));
                    true
                } else {
                    false
                }
            });
        }
        for t in out.drain(..) {
            let s = match t.socket {
                SocketKind::Server => &server,
                SocketKind::Client => &client,
            };
            if let Some(ttl) = t.ttl {
                let _ = s.set_ttl(ttl);
            }
            if s.try_send_to(&t.data, SocketAddr::V4(t.to)).is_err() {
                let _ = s.send_to(&t.data, SocketAddr::V4(t.to)).await;
            }
            if t.ttl.is_some() {
                let _ = s.set_ttl(DEFAULT_TTL);
            }
        }
        if destroyed {
            break;
        }
        let sleep_until = deadline
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            r = server.recv_from(&mut buf_s) => on_datagram(&shared, SocketKind::Server, r, &buf_s),
            r = client.recv_from(&mut buf_c) => on_datagram(&shared, SocketKind::Client, r, &buf_c),
            _ = shared.notify.notified() => {}
            _ = tokio::time::sleep_until(sleep_until) => {
                let mut st = match shared.state.lock() { Ok(g) => g, Err(p) => p.into_inner() };
                st.node.handle_timeout(Instant::now().into_std());
            }
        }
    }
    // close the sockets and break handler -> Dht reference cycles
    drop((server, client));
    if let Ok(mut g) = shared.sockets.write() {
        *g = None;
    }
    if let Ok(mut g) = shared.foreign.lock() {
        *g = None;
    }
    {
        let mut st = match shared.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        st.handler = None;
    }
    shared.closed.send_replace(true);
}

fn on_datagram(
    shared: &Shared,
    socket: SocketKind,
    r: std::io::Result<(usize, SocketAddr)>,
    buf: &[u8],
) {
    let Ok((n, SocketAddr::V4(from))) = r else {
        return;
    };
    let Some(data) = buf.get(..n) else {
        return;
    };
    let dht_frame = {
        let mut st = match shared.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now().into_std();
        st.node.handle_datagram(socket, from, data, now)
    };
    if !dht_frame {
        let mut g = match shared.foreign.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(f) = g.as_mut() {
            f(socket, from, data);
        }
    }
}
