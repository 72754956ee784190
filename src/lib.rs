#![deny(clippy::all)]
// napi exports are only referenced by the generated registration code, absent from test builds.
#![cfg_attr(test, allow(dead_code))]
//! napi glue only: argument conversion, ThreadsafeFunction plumbing, class wrappers.
//! All protocol and I/O logic lives in the pure-Rust crates under `crates/`.
//!
//! One native class per JS object, each delivering its own typed events to the JS object that
//! owns it (src/events.rs): `NativeDht` (index.js), `NativeServer` (lib/server.js),
//! `NativeConnection` (lib/connection.js), `NativeQuery` (lib/query.js), `NativeRawStream`
//! (lib/raw-stream.js). The tasks driving them are supervised (src/supervise.rs).

mod adopt;
mod app_requests;
mod connection;
mod crypto;
mod dht;
mod events;
mod flow;
mod internals;
mod jsloop;
mod live;
mod noise;
mod ops;
mod path_info;
mod query;
mod questions;
mod raw_stream;
mod records;
mod relay;
mod rpc_extra;
mod rt;
mod server;
mod server_recv;
mod stats;
mod supervise;
mod teardown;
mod uvloop;
mod veto;

/// Our own runtime config (napi would otherwise lazily build a default one). napi shuts it down
/// in its env-cleanup hook, so the process exits promptly once every native object is closed.
#[cfg(not(test))]
#[napi_derive::module_init]
fn init() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::env::var("HYPERDHT_RS_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(2),
        )
        .thread_name("hyperdht-rs")
        .enable_all()
        .build()
        .expect("tokio runtime");
    napi::bindgen_prelude::create_custom_tokio_runtime(rt);
}
