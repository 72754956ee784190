//! The tokio side of the node: hosts the sans-IO [`crate::core::Core`] on the rpc driver task
//! and runs what the core asks of the outside world, plus the async façades apps call.
//!
//! - `engine.rs`: the core as the rpc driver's request handler; executes server, announcer and
//!   plugin outputs; candidate streams of accepted handshakes.
//! - `connect.rs`: executes a connect's outputs (per-connect sink, reusable-socket streams).
//! - `pool.rs`: UDP sockets for RANDOM-NAT punching.
//! - `local_addresses.rs`: the interface addresses shared with peers behind the same NAT.
//! - `plugins.rs`: the embedder's plugin handle.
//! - `dht.rs` (`HyperDht`: listen, queries, records), `dial.rs` (`dht.connect()`),
//!   `transport.rs` (UDX on the DHT socket): async façades.

pub(crate) mod connect;
pub mod dht;
pub mod dial;
pub(crate) mod engine;
pub(crate) mod local_addresses;
pub mod paths;
pub mod plugins;
pub(crate) mod pool;
pub mod relay;
pub mod transport;
