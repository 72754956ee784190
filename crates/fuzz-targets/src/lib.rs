//! Bodies of the coverage-guided fuzz targets in `fuzz/` (cargo-fuzz, nightly). Every target is
//! a module with `pub fn run(data: &[u8])`; `fuzz/fuzz_targets/<name>.rs` only wraps it, so the
//! targets build and run on stable too: `tests/replay.rs` feeds every committed corpus file
//! (`fuzz/corpus/<name>/`) and crash reproducer (`fuzz/artifacts/<name>/`) through [`TARGETS`].
//!
//! Decoder targets assert decode → encode → decode round-trips; state-machine targets drive a
//! sans-IO engine with a sequence of operations decoded from the input ([`ops`]) and assert
//! invariants (no panic, bounded state, no busy timers, data integrity where the model knows it).
#![forbid(unsafe_code)]

pub mod codec;
pub mod ops;

pub mod hd_announce;
pub mod hd_handshake;
pub mod hd_holepunch;
pub mod hd_holepunch_payload;
pub mod hd_lookup_reply;
pub mod hd_mutable_get;
pub mod hd_mutable_put;
pub mod hd_noise_payload;
pub mod hd_peer;
pub mod hd_persistent;
pub mod hd_plugin_request;
pub mod hd_router;
pub mod hd_secure_payload;
pub mod noise_ik;
pub mod rpc_message;
pub mod rpc_node;
pub mod secret_stream;
pub mod udx_header;
pub mod udx_stream;

/// A target body.
pub type Run = fn(&[u8]);

/// Every target by name (the cargo-fuzz target and corpus directory name).
pub const TARGETS: &[(&str, Run)] = &[
    ("rpc_message", rpc_message::run),
    ("rpc_node", rpc_node::run),
    ("hd_peer", hd_peer::run),
    ("hd_announce", hd_announce::run),
    ("hd_lookup_reply", hd_lookup_reply::run),
    ("hd_mutable_put", hd_mutable_put::run),
    ("hd_mutable_get", hd_mutable_get::run),
    ("hd_handshake", hd_handshake::run),
    ("hd_holepunch", hd_holepunch::run),
    ("hd_holepunch_payload", hd_holepunch_payload::run),
    ("hd_noise_payload", hd_noise_payload::run),
    ("hd_secure_payload", hd_secure_payload::run),
    ("hd_plugin_request", hd_plugin_request::run),
    ("hd_router", hd_router::run),
    ("hd_persistent", hd_persistent::run),
    ("udx_header", udx_header::run),
    ("udx_stream", udx_stream::run),
    ("secret_stream", secret_stream::run),
    ("noise_ik", noise_ik::run),
];
