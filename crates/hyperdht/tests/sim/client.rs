//! Client connects on a simulated host (filled in once the core's `connect` lands).

use std::time::Instant;

use hyperdht_core::core::Output;

use super::host::SimHost;

/// One client connect.
pub struct Dial;

impl SimHost {
    pub(crate) fn on_connect_output(&mut self, _o: Output, _now: Instant) {}

    pub(crate) fn client_stream_connected(&mut self, _id: u64, _i: usize, _now: Instant) {}
}
