//! `connection.path` (not in hyperdht, hyperdht#303): the engine's `PathInfo` of a connection
//! as JS sees it.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

/// `connection.path` (not in hyperdht): how a connection was made.
#[napi(object)]
pub struct JsPathInfo {
    /// 'direct' | 'lan' | 'holepunched' | 'relayed' | 'upgraded' (relayed, then moved to a
    /// direct path)
    #[napi(js_name = "type")]
    pub kind: String,
    /// our NAT class as the connect saw it: 'unknown' | 'open' | 'consistent' | 'random'
    pub local_firewall: String,
    /// the peer's NAT class
    pub remote_firewall: String,
    /// the blind relay's key when one was used
    pub relay_through: Option<Buffer>,
    /// PEER_HOLEPUNCH rounds
    pub punch_rounds: u32,
    /// milliseconds from the start of punching to the path (null when we did not punch)
    pub punch_ms: Option<f64>,
}

fn firewall_name(f: hyperdht_core::Firewall) -> String {
    match f {
        hyperdht_core::Firewall::Unknown => "unknown",
        hyperdht_core::Firewall::Open => "open",
        hyperdht_core::Firewall::Consistent => "consistent",
        hyperdht_core::Firewall::Random => "random",
    }
    .to_string()
}

pub(crate) fn js_path_info(p: &hyperdht_core::path_info::PathInfo) -> JsPathInfo {
    JsPathInfo {
        kind: p.label().to_string(),
        local_firewall: firewall_name(p.local_firewall),
        remote_firewall: firewall_name(p.remote_firewall),
        relay_through: p.relay_through.map(|k| k.to_vec().into()),
        punch_rounds: p.punch_rounds,
        punch_ms: p.punch_time.map(|d| d.as_secs_f64() * 1000.0),
    }
}
