//! The tokio side of the node: hosts the sans-IO [`crate::core::Core`] on the rpc driver task
//! and runs what the core asks of the outside world (`engine.rs`).

pub(crate) mod connect;
pub(crate) mod engine;
pub mod plugins;
pub(crate) mod pool;
