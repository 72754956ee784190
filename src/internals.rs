//! `dht._internalCounts()`: sizes of every map that grows with connections, handshakes and
//! streams, so tests can assert that churn leaves nothing behind (issue 14 #7). Not public API.

use napi_derive::napi;

use crate::dht::NativeDht;

/// Native objects whose events still keep Node's event loop alive (test hook: after every DHT
/// was destroyed this must reach 0, or Node never exits).
#[napi(catch_unwind)]
pub fn live_event_sinks() -> u32 {
    crate::events::live_sinks() as u32
}

#[napi(object)]
pub struct JsInternalCounts {
    /// handshake slots of listening servers (pending, connecting or kept for retransmits)
    pub server_slots: u32,
    /// Noise message 1 → slot entries
    pub server_noise_keys: u32,
    /// holepunchers alive
    pub punchers: u32,
    /// remote keys with cached relay addresses (bounded)
    pub relay_cache: u32,
    /// reusable-socket routes
    pub routes: u32,
    /// UDX streams registered on the DHT socket (incl. lingering closed ones)
    pub udx_streams: u32,
    /// connections known to the glue (open or closing)
    pub connections: u32,
    /// dials in progress
    pub dialing: u32,
    /// raw streams (`createRawStream`)
    pub raw_streams: u32,
}

#[napi]
impl NativeDht {
    #[napi(catch_unwind)]
    pub fn internal_counts(&self) -> JsInternalCounts {
        let c = self.hyper.internal_counts();
        let conns = self.conns.all();
        JsInternalCounts {
            server_slots: c.server_slots as u32,
            server_noise_keys: c.server_noise_keys as u32,
            punchers: c.punchers as u32,
            relay_cache: c.relay_cache as u32,
            routes: c.routes as u32,
            udx_streams: self.udx.stream_count() as u32,
            connections: conns.iter().filter(|c| !c.is_dialing()).count() as u32,
            dialing: conns.iter().filter(|c| c.is_dialing()).count() as u32,
            raw_streams: self.raws.len() as u32,
        }
    }
}

#[napi]
impl NativeDht {
    /// Test hook (`dht._injectDriverPanic(which)`): makes the DHT (`"rpc"`) or UDX (`"udx"`)
    /// driver task panic on its next turn, to test supervision.
    #[napi(catch_unwind)]
    pub fn inject_driver_panic(&self, which: String) {
        match which.as_str() {
            "rpc" => self.hyper.rpc.inject_driver_panic(),
            _ => self.udx.inject_driver_panic(),
        }
    }
}
