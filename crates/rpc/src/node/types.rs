//! Public value types of the sans-IO node: sockets, datagrams, configuration, incoming
//! requests and replies, events, request parameters, counters.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use crate::congestion::DEFAULT_MAX_WINDOW;
use crate::error::RpcError;
use crate::messages::Response;
use crate::query::QueryId;

/// Which of the node's two UDP sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketKind {
    Server,
    Client,
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub socket: SocketKind,
    pub to: SocketAddrV4,
    pub data: Vec<u8>,
    /// IP TTL for this datagram only (holepunch "low TTL" opens); `None` = socket default.
    pub ttl: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bootstrap: Vec<SocketAddrV4>,
    /// `Some(false)`: become persistent during bootstrap; `Some(true)`: stay ephemeral;
    /// `None`: adaptive (if `adaptive`).
    pub ephemeral: Option<bool>,
    pub adaptive: bool,
    pub firewalled: bool,
    pub concurrency: usize,
    pub max_window: u32,
    /// `DHT.bootstrapper`: our configured public address, sampled once.
    pub nat_seed: Option<SocketAddrV4>,
    pub nodes: Vec<SocketAddrV4>,
    pub quick_firewall: bool,
    pub down_hints_rate_limit: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bootstrap: Vec::new(),
            ephemeral: None,
            adaptive: true,
            firewalled: true,
            concurrency: 10,
            max_window: DEFAULT_MAX_WINDOW,
            nat_seed: None,
            nodes: Vec::new(),
            quick_firewall: true,
            down_hints_rate_limit: crate::driver::DEFAULT_DOWN_HINTS_RATE_LIMIT,
        }
    }
}

/// An application (non-internal) request for the layer above (hyperdht).
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    pub tid: u16,
    pub from: SocketAddrV4,
    /// Validated id of the sender (None if absent or not matching its address).
    pub from_id: Option<[u8; 32]>,
    /// The address the requester sent to (our address as it sees it).
    pub to: SocketAddrV4,
    /// Token presented by the requester; only present when it was valid (invalid tokens are
    /// answered with INVALID_TOKEN before dispatch, like `IO.onmessage`).
    pub token: Option<[u8; 32]>,
    pub internal: bool,
    pub command: u64,
    pub target: Option<[u8; 32]>,
    pub value: Option<Vec<u8>>,
    pub socket: SocketKind,
}

/// How to answer an [`IncomingRequest`] (`req.reply` / `req.error`).
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub value: Option<Vec<u8>>,
    pub error: u64,
    pub token: bool,
    pub closer_nodes: bool,
    /// Send the reply to another address than the requester (`opts.to`).
    pub to: Option<SocketAddrV4>,
}

impl Reply {
    /// `req.reply(value)`: token and closer nodes by default.
    pub fn value(value: Option<Vec<u8>>) -> Self {
        Reply {
            value,
            error: 0,
            token: true,
            closer_nodes: true,
            to: None,
        }
    }

    /// `req.error(code)`: closer nodes, no token.
    pub fn error(code: u64) -> Self {
        Reply {
            value: None,
            error: code,
            token: false,
            closer_nodes: true,
            to: None,
        }
    }
}

/// Something the layer above should know.
#[derive(Debug, Clone)]
pub enum Event {
    Ready,
    Persistent,
    /// `nat-update`: our address as the NAT sampler sees it now; `None` (port 0) while the
    /// samples disagree, as dht-rpc emits `nat-update(null, 0)`
    NatUpdate {
        host: Option<Ipv4Addr>,
        port: u16,
    },
    Ephemeral,
    Wakeup,
    Request(IncomingRequest),
    Response {
        req: u64,
        result: Result<Response, RpcError>,
    },
    QueryReply {
        query: QueryId,
        reply: Response,
    },
    QueryDone {
        query: QueryId,
        closest: Vec<Response>,
        error: Option<RpcError>,
    },
    /// `network-update`: health changed (`dht.online`, `dht.degraded`).
    NetworkUpdate {
        online: bool,
        degraded: bool,
    },
    /// `add-node`: a node entered the routing table (only with
    /// [`Node::set_node_events`](super::Node::set_node_events) on).
    AddNode(crate::routing_table::Entry),
    /// `remove-node`: a node left the routing table (timed out, failed a check or was swapped
    /// out; only with [`Node::set_node_events`](super::Node::set_node_events) on).
    RemoveNode(crate::routing_table::Entry),
}

/// Parameters of a single request (`dht.request`).
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub to: SocketAddrV4,
    pub to_id: Option<[u8; 32]>,
    pub internal: bool,
    pub command: u64,
    pub target: Option<[u8; 32]>,
    pub token: Option<[u8; 32]>,
    pub value: Option<Vec<u8>>,
    pub retries: u32,
    pub timeout: Option<Duration>,
    pub force: bool,
    /// Cancel together with [`Node::destroy_session`](super::Node::destroy_session).
    pub session: Option<SessionId>,
    /// IP TTL for every transmission of this request.
    pub ttl: Option<u32>,
    /// Send from this socket instead of the node's request socket (`opts.socket`; hyperdht
    /// sends holepunch rounds and NAT-sampling pings from the socket it punches with).
    pub socket: Option<SocketKind>,
}

impl RequestSpec {
    pub fn new(to: SocketAddrV4, internal: bool, command: u64) -> Self {
        RequestSpec {
            to,
            to_id: None,
            internal,
            command,
            target: None,
            token: None,
            value: None,
            retries: 3,
            timeout: None,
            force: false,
            session: None,
            ttl: None,
            socket: None,
        }
    }
}

/// Groups requests so they can be cancelled together (`dht-rpc lib/session.js`).
pub type SessionId = u64;

/// Counters for observability and tests (defined in `crate::stats`).
pub use crate::stats::Stats;
