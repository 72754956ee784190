//! dht-rpc 6.27 in Rust, wire-compatible with the JS implementation.
//!
//! The protocol core is sans-IO: [`node::Node`] takes datagrams, time and commands and produces
//! datagrams ([`node::Transmit`]), events and timer deadlines. [`driver::Dht`] is the thin tokio
//! driver that owns the two UDP sockets. Module names follow upstream: `messages` and `io`
//! (`lib/io.js`), `peer` (`lib/peer.js`), `routing_table` (`kademlia-routing-table`),
//! `nat_sampler` (`nat-sampler`), `query` (`lib/query.js`), `node` (`index.js`).
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
pub mod tokens;

pub use driver::{
    Dht, DhtEvent, DhtOptions, IncomingRequest, QueryEvent, QueryHandle, QueryParams,
    RequestHandler, RequestParams, Responder, Session,
};
pub use error::RpcError;
pub use messages::{Command, Response};
pub use node::{Config, Node, Reply, RequestSpec, SocketKind, Transmit};
pub use peer::NodeInfo;
