//! Options, events and parameter types of the tokio driver.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::error::RpcError;
use crate::messages::{Command, Response};
use crate::node::{IncomingRequest, Node, RequestSpec, SocketKind};
use crate::query::QueryId;

/// Default hyperdht/dht-rpc query concurrency.
pub const DEFAULT_CONCURRENCY: usize = 10;
pub(super) const EVENT_QUEUE: usize = 256;
/// Linux default IP TTL, restored after a low-TTL send.
pub(super) const DEFAULT_TTL: u32 = 64;
pub(super) const QUERY_QUEUE: usize = 1024;

/// Options of [`Dht::bind`](super::Dht::bind) (the dht-rpc constructor options this port supports).
#[derive(Debug, Clone)]
pub struct DhtOptions {
    /// `"host:port"` or `"suggestedIP@hostname:port"` entries.
    pub bootstrap: Vec<String>,
    /// Server port; tried as `[port, port + 5)`. 0 = random.
    pub port: u16,
    /// `port: [start, end]` (dht-rpc `io.portRange`): ports `start..end` are tried in order
    /// instead of `[port, port + 5)`; overrides `port`.
    pub port_range: Option<(u16, u16)>,
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
    /// dht-rpc `maxWindow`: requests in flight per congestion-window slot (default 80).
    pub max_window: u32,
    /// dht-rpc `downHintsRateLimit` (-1: no limit; `sendDownHints: false` is 0): DOWN_HINTs a
    /// query may send per tick (default 50).
    pub down_hints_rate_limit: i64,
}

impl Default for DhtOptions {
    fn default() -> Self {
        DhtOptions {
            bootstrap: Vec::new(),
            port: 0,
            port_range: None,
            host: Ipv4Addr::UNSPECIFIED,
            ephemeral: None,
            adaptive: true,
            firewalled: true,
            any_port: true,
            nodes: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            nat_seed: None,
            quick_firewall: true,
            max_window: crate::congestion::DEFAULT_MAX_WINDOW,
            down_hints_rate_limit: DEFAULT_DOWN_HINTS_RATE_LIMIT,
        }
    }
}

/// dht-rpc's `downHintsRateLimit` default (`10 * 5`).
pub const DEFAULT_DOWN_HINTS_RATE_LIMIT: i64 = 50;

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

/// Node-level events for the embedding layer (bounded queue; see [`Dht::take_events`](super::Dht::take_events)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DhtEvent {
    Listening,
    Ready,
    Persistent,
    Ephemeral,
    Wakeup,
    /// our address as sampled; `host: None` (port 0) while the samples disagree
    NatUpdate {
        host: Option<Ipv4Addr>,
        port: u16,
    },
    /// `network-update` (health): see [`Dht::online`](super::Dht::online) / [`Dht::degraded`](super::Dht::degraded).
    NetworkUpdate {
        online: bool,
        degraded: bool,
    },
    /// `add-node` / `remove-node` (after
    /// [`Dht::set_node_events`](super::Dht::set_node_events)`(true)`): routing-table changes
    /// numbered up to `upto` wait in order for
    /// [`Dht::take_node_changes`](super::Dht::take_node_changes)`(Some(upto))` (a synchronous
    /// [`Dht::read_node`](super::Dht::read_node) may have taken them already).
    NodeChanges {
        upto: u64,
    },
    Close,
}

/// Application request handler (hyperdht's `onrequest`). Runs on the driver task with the node
/// locked: reply immediately through `node.reply(..)`, relay with `node.relay(..)`, or send more
/// requests with `node.request(..)` using ids from [`Dht::reserve_request_id`](super::Dht::reserve_request_id) and receive their
/// outcome in [`RequestHandler::on_response`]. Return false to let the node answer
/// UNKNOWN_COMMAND.
///
/// A handler is also a sans-IO protocol layer hosted by the driver: it may start queries with
/// [`Node::query`] (claim them with [`RequestHandler::owns_query`] to receive their events in
/// [`RequestHandler::on_query_event`]), send requests tagged with [`HANDLER_TAG`] set (their
/// outcome comes to [`RequestHandler::on_response`] without reserving ids), and keep timers
/// ([`RequestHandler::poll_timeout`] / [`RequestHandler::on_timeout`]). The driver is its only
/// caller, so the handler owns its state without locks; [`Dht::with_handler`](super::Dht::with_handler)
/// runs commands on it.
pub trait RequestHandler: Send + 'static {
    fn on_request(&mut self, req: IncomingRequest, node: &mut Node) -> bool;
    fn on_response(&mut self, _req: u64, _result: Result<Response, RpcError>, _node: &mut Node) {}
    /// Whether query `q` was started by this handler (its events then go to
    /// [`RequestHandler::on_query_event`] instead of a [`QueryHandle`](super::QueryHandle)).
    fn owns_query(&self, _q: QueryId) -> bool {
        false
    }
    fn on_query_event(&mut self, _q: QueryId, _ev: QueryEvent, _node: &mut Node) {}
    /// The handler's next deadline; the driver wakes then and calls
    /// [`RequestHandler::on_timeout`].
    fn poll_timeout(&self) -> Option<std::time::Instant> {
        None
    }
    fn on_timeout(&mut self, _now: std::time::Instant, _node: &mut Node) {}
    /// For [`Dht::with_handler`](super::Dht::with_handler): the concrete handler.
    fn as_any(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }
}

/// Request tags with this bit set belong to the [`RequestHandler`]: their responses go to its
/// `on_response` (the driver's own tags count up from 0 and never reach it).
pub const HANDLER_TAG: u64 = 1 << 63;

/// See [`Dht::set_unhandled_request_hook`](super::Dht::set_unhandled_request_hook): takes a
/// request nobody answered; false = answer UNKNOWN_COMMAND now.
pub type UnhandledHook = Box<dyn FnMut(&IncomingRequest) -> bool + Send>;

/// Datagrams on our sockets that are not DHT frames (UDX packets, holepunch probes).
pub type ForeignHandler = Box<dyn FnMut(SocketKind, SocketAddrV4, &[u8]) + Send>;

/// Runs after each received batch went through the [`ForeignHandler`].
pub type BatchEndHandler = Box<dyn FnMut() + Send>;

/// The foreign-datagram hooks, behind one lock.
#[derive(Default)]
pub(crate) struct Foreign {
    pub(crate) datagram: Option<ForeignHandler>,
    pub(crate) batch_end: Option<BatchEndHandler>,
}

/// What a query yields.
#[derive(Debug, Clone)]
pub enum QueryEvent {
    Reply(Response),
    Done {
        closest: Vec<Response>,
        error: Option<RpcError>,
    },
}

/// Parameters of [`Dht::query`](super::Dht::query).
#[derive(Debug, Clone)]
pub struct QueryParams {
    pub target: [u8; 32],
    pub command: u64,
    pub internal: bool,
    pub value: Option<Vec<u8>>,
    pub concurrency: Option<usize>,
    pub nodes: Vec<SocketAddrV4>,
    /// dht-rpc `opts.onlyClosestNodes`: ask only `nodes`
    pub only_closest_nodes: bool,
    /// dht-rpc `opts.force`: no congestion window, no retries
    pub force: bool,
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
            only_closest_nodes: false,
            force: false,
        }
    }
}

/// Parameters of [`Dht::request`](super::Dht::request).
pub type RequestParams = RequestSpec;
