//! The `holepunch(remoteFirewall, localFirewall, remoteAddresses, localAddresses)` option of
//! `connect()` and `createServer()` asked in JS: the engine's veto emits a `holepunch-veto`
//! event (with the server id or the connect's veto id) and waits for `holepunchReply(fid,
//! allow)`. No answer in [`VETO_TIMEOUT`] (a throwing function, a destroyed DHT) = abort.

use std::time::Duration;

use std::net::SocketAddrV4;
use std::sync::Arc;

use hyperdht_core::{HolepunchInfo, HolepunchVeto, LanPing};
use napi_derive::napi;

use crate::dht::{addr_js, emit, Sink};
use crate::events::{JsAddress, JsEvent};
use crate::server::JsQuestions;

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

/// A veto that asks JS: `sid` for a server's `holepunch` option, `vid` for a connect's.
pub(crate) fn holepunch_veto(
    questions: &JsQuestions,
    sink: Sink,
    sid: Option<u32>,
    vid: Option<u32>,
) -> HolepunchVeto {
    let questions = questions.clone();
    HolepunchVeto::new(move |info: HolepunchInfo| {
        let (fid, answer) = questions.ask(VETO_TIMEOUT);
        emit(
            &sink,
            JsEvent {
                sid,
                vid,
                fid: Some(fid),
                veto: Some(JsHolepunchInfo {
                    remote_firewall: info.remote_firewall.code() as u32,
                    local_firewall: info.local_firewall.code() as u32,
                    remote_addresses: info.remote_addresses.into_iter().map(addr_js).collect(),
                    local_addresses: info
                        .local_addresses
                        .map(|v| v.into_iter().map(addr_js).collect()),
                }),
                ..JsEvent::named("holepunch-veto")
            },
        );
        Box::pin(async move { answer.await == Some(true) })
    })
}

/// The LAN shortcut's ping through the app's own `dht.ping` (hyperdht's connect calls it, so a
/// wrapped or failing `ping` shapes the shortcut): a `lan-ping` event carrying the address,
/// answered with `holepunchReply(fid, answered)`. No answer in time = no answer.
pub(crate) fn lan_ping(questions: &JsQuestions, sink: Sink) -> LanPing {
    let questions = questions.clone();
    LanPing(Arc::new(move |addr: SocketAddrV4| {
        let (fid, answer) = questions.ask(VETO_TIMEOUT);
        emit(
            &sink,
            JsEvent {
                fid: Some(fid),
                host: Some(addr.ip().to_string()),
                port: Some(u32::from(addr.port())),
                ..JsEvent::named("lan-ping")
            },
        );
        Box::pin(async move { answer.await == Some(true) })
    }))
}
