#![deny(clippy::all)]
//! napi glue only: argument conversion, ThreadsafeFunction plumbing, class wrappers.
//! All protocol and I/O logic lives in the pure-Rust crates under `crates/`.
