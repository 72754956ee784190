//! dht-rpc 6.27 in Rust, wire-compatible with the JS implementation.
//!
//! The protocol core is sans-IO: [`node::Node`] takes datagrams, time and commands and produces
//! datagrams ([`node::Transmit`]), events and timer deadlines. [`driver::Dht`] is the thin tokio
//! driver that owns the two UDP sockets. Module names follow upstream: `messages` and `node::io`
//! (`lib/io.js`), `peer` (`lib/peer.js`), `routing_table` (`kademlia-routing-table`),
//! `nat_sampler` (`nat-sampler`), `query` (`lib/query.js`), `health` (`lib/health.js`),
//! `congestion` (`CongestionWindow`), `tokens` (`IO.token`), `node` (`index.js`).
//!
//! # Sans-IO core ([`Node`])
//!
//! ```text
//! Node::new(Config, now) ; node.start(server_port, now)
//! node.handle_datagram(SocketKind, from, &bytes, now) -> bool   // false: not a DHT frame
//! node.handle_timeout(now) ; node.poll_timeout() -> Option<Instant>
//! node.poll_transmit() -> Option<Transmit{socket, to, data, ttl}>
//! node.poll_event() -> Option<Event>   // Ready, Persistent, NatUpdate, NetworkUpdate, Request,
//!                                      // Response{req}, QueryReply, QueryDone, Ephemeral, Wakeup
//! node.request(req_id, RequestSpec, now) ; node.query(QuerySpec, now) -> QueryId
//! node.reply(&IncomingRequest, Reply) ; node.relay(&IncomingRequest, value, to)
//! node.session() / node.destroy_session(id, now) ; node.add_node(addr) ; node.destroy(now)
//! ```
//!
//! Tests run many nodes on a virtual clock in one thread (`tests/sim.rs`).
//!
//! # Tokio driver ([`Dht`])
//!
//! ```text
//! Dht::new(DhtOptions) / Dht::bind(DhtOptions).await -> Result<Dht, RpcError>
//!     DhtOptions { bootstrap: Vec<String> ("host:port" | "suggestedIP@host:port"), port, host,
//!                  ephemeral: Option<bool>, adaptive, firewalled (default true), any_port,
//!                  nodes, concurrency, nat_seed, quick_firewall }
//!     DhtOptions::bootstrapper(port, public_host)            // DHT.bootstrapper
//! dht.ready().await / fully_bootstrapped().await ; dht.take_events() -> Receiver<DhtEvent>
//! dht.id() ; is_ephemeral() ; is_firewalled() ; online() ; degraded() ; nat() ; remote_address()
//! dht.address() (request socket) ; server_address() ; client_address() ; local_address()
//! dht.to_array(limit) -> Vec<NodeInfo{id, addr}> ; add_node(addr) ; stats() (dropped, ...)
//! dht.ping(to).await ; request(RequestSpec).await -> Result<Response, RpcError>
//! dht.query(QueryParams) / find_node(target) -> QueryHandle
//!     handle.next().await -> Option<QueryEvent::{Reply(Response), Done{closest, error}}>
//!     handle.closest_replies() / closest_nodes()  (after Done; dropping the handle cancels)
//! dht.session() -> Session { request, ping, destroy }
//! dht.set_request_handler(Box<dyn RequestHandler>)     // non-internal commands
//! dht.set_foreign_datagram_handler(Box<FnMut(SocketKind, SocketAddrV4, &[u8])>)
//! dht.set_foreign_batch_end(Box<FnMut()>)   // after each received batch (UDX flushes once)
//! dht.send_raw(socket, to, bytes) ; send_raw_ttl(socket, to, bytes, ttl)
//! dht.send_batch(to, bytes, segment) ; max_segments() ; enable_batched_io()  // GSO on the
//!     server socket for UDX sharing it; receives switch to recvmmsg + GRO (hyperdht-udp)
//! dht.inject_datagram(socket, from, bytes)   // DHT frames that arrived on other sockets
//! dht.commit(&closest, |reply| Some(RequestSpec)) ; auto_commit(&params, &closest)
//! dht.delayed_ping(to, ms) ; randomized() ; with_node(|n| ..) ; with_node_or_defer(..)
//! dht.suspend().await ; resume().await ; is_suspended()
//! dht.destroy().await   // bounded (2 s); pending work fails; sockets are closed
//! ```
//!
//! Application requests: the [`RequestHandler`] runs synchronously on the driver task with the
//! node locked (`&mut Node`): answer with `node.reply(&req, Reply::value(..))` (token and closer
//! nodes by default, like `req.reply`) or `Reply::error(code)` (like `req.error`), relay with
//! `node.relay`, return `true` without answering to drop it, or keep a [`Responder`] (built from
//! a `Dht` clone) to answer later (it is safe to use even inside the handler). Returning
//! `false` makes the node answer UNKNOWN_COMMAND.
//! Requests carrying a token we did not issue never reach the handler: like `IO.onmessage` the
//! node answers INVALID_TOKEN with a fresh token, so [`IncomingRequest::token`] is always valid.
//! Do not call locking [`Dht`] methods from inside the handler (use the `&mut Node`).
//!
//! Commit phase (hyperdht announce/put): run the query, then send one request per
//! [`QueryHandle::closest_replies`] entry with that reply's token (the hyperdht layer supplies
//! the per-node request).
//!
//! Never panics on network input: malformed frames are dropped and counted in
//! [`node::Stats::dropped`]; datagrams are truncated to 2048 bytes like libudx.
#![forbid(unsafe_code)]

pub mod congestion;
pub mod driver;
pub mod error;
pub mod health;
pub mod messages;
pub mod nat_sampler;
pub mod node;
pub mod peer;
pub mod query;
pub mod routing_table;
pub mod stats;
pub mod tokens;

pub use driver::{
    Dht, DhtEvent, DhtOptions, IncomingRequest, NodeChange, QueryEvent, QueryHandle, QueryParams,
    RequestHandler, RequestParams, Responder, Session,
};
pub use error::RpcError;
pub use messages::{Command, Response};
pub use node::{Config, Node, Reply, RequestSpec, SocketKind, Transmit};
pub use peer::NodeInfo;
