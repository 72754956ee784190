//! The `holepunch(remoteFirewall, localFirewall, remoteAddresses, localAddresses)` option of
//! `connect()` and `createServer()` asked in JS: the engine's veto asks the owning object (the
//! connection or the server), which emits a `holepunch-veto` event carrying a question id and
//! waits for `holepunchReply(id, allow)`. No answer in [`VETO_TIMEOUT`] (a throwing function, a
//! closed object) = abort. Also the LAN shortcut's ping through the app's own `dht.ping`.

use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Duration;

use hyperdht_core::{HolepunchInfo, HolepunchVeto, LanPing};
use napi_derive::napi;

use crate::dht::addr_js;
use crate::events::JsAddress;
use crate::questions::JsQuestions;

/// Holepunch rounds wait about 10 s for the other side; an answer later than that is useless.
const VETO_TIMEOUT: Duration = Duration::from_secs(10);

/// The veto's arguments as JS sees them (firewalls are hyperdht's FIREWALL codes).
#[napi(object)]
pub struct JsHolepunchInfo {
    pub remote_firewall: u32,
    pub local_firewall: u32,
    pub remote_addresses: Vec<JsAddress>,
    /// `null` until our NAT sampling produced addresses, as in hyperdht
    pub local_addresses: Option<Vec<JsAddress>>,
}

/// A veto that asks JS: `ask(id, info)` emits the question on the owning object's events
/// (false: the object is closed, which counts as no answer).
pub(crate) fn holepunch_veto(
    questions: &JsQuestions,
    ask: impl Fn(u32, JsHolepunchInfo) -> bool + Send + Sync + 'static,
) -> HolepunchVeto {
    let questions = questions.clone();
    HolepunchVeto::new(move |info: HolepunchInfo| {
        let (id, answer) = questions.ask(VETO_TIMEOUT);
        let asked = ask(
            id,
            JsHolepunchInfo {
                remote_firewall: info.remote_firewall.code() as u32,
                local_firewall: info.local_firewall.code() as u32,
                remote_addresses: info.remote_addresses.into_iter().map(addr_js).collect(),
                local_addresses: info
                    .local_addresses
                    .map(|v| v.into_iter().map(addr_js).collect()),
            },
        );
        if !asked {
            questions.forget(id);
        }
        Box::pin(async move { answer.await == Some(true) })
    })
}

/// The LAN shortcut's ping through the app's own `dht.ping` (hyperdht's connect calls it, so a
/// wrapped or failing `ping` shapes the shortcut): `ask(id, addr)` emits a `lan-ping` event,
/// answered with `lanPingReply(id, answered)`. No answer in time = no answer.
pub(crate) fn lan_ping(
    questions: &JsQuestions,
    ask: impl Fn(u32, SocketAddrV4) -> bool + Send + Sync + 'static,
) -> LanPing {
    let questions = questions.clone();
    LanPing(Arc::new(move |addr: SocketAddrV4| {
        let (id, answer) = questions.ask(VETO_TIMEOUT);
        if !ask(id, addr) {
            questions.forget(id);
        }
        Box::pin(async move { answer.await == Some(true) })
    }))
}
