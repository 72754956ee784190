//! Rust → JS events. Each live native object owns exactly one ref'd ThreadsafeFunction
//! (it keeps the Node event loop alive while the object is open, like a libuv handle) and
//! every event is one flat `JsEvent` object; `type` says which fields are set.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

#[napi(object)]
#[derive(Default)]
pub struct JsPeer {
    pub public_key: Buffer,
    /// "host:port" strings are avoided: relay addresses are `{host, port}`.
    pub relay_addresses: Vec<JsAddress>,
}

#[napi(object)]
#[derive(Default, Clone)]
pub struct JsAddress {
    pub host: String,
    pub port: u32,
}

/// One reply of a query (or ping), flat; JS shapes it per query kind (index.js `mapReply`).
#[napi(object)]
#[derive(Default)]
pub struct JsReply {
    pub tid: Option<u32>,
    pub rtt: Option<u32>,
    pub from_id: Option<Buffer>,
    pub from_host: String,
    pub from_port: u32,
    pub to_host: Option<String>,
    pub to_port: Option<u32>,
    pub token: Option<Buffer>,
    /// packed ipv4Address entries (6 bytes each); index.js decodes them on first use
    pub closer_nodes: Option<Buffer>,
    pub error: Option<u32>,
    pub value: Option<Buffer>,
    /// lookup/announce: decoded lookupRawReply
    pub peers: Option<Vec<JsPeer>>,
    pub bump: Option<f64>,
    /// findPeer: decoded peer record
    pub peer: Option<JsPeer>,
    /// mutable get/put
    pub seq: Option<f64>,
    pub signature: Option<Buffer>,
}

/// Final result attached to an `end` event (e.g. mutablePut's signature).
#[napi(object)]
#[derive(Default)]
pub struct JsResult {
    pub signature: Option<Buffer>,
    /// replies received, where only some were sent as `reply` events (the query's `successes`)
    pub successes: Option<u32>,
}

#[napi(object)]
#[derive(Default)]
pub struct JsEvent {
    /// ready | listening | persistent | nat-update | wakeup | network-update | add-node |
    /// remove-node | app-request | close | reply | end | ...
    #[napi(js_name = "type")]
    pub kind: String,
    pub qid: Option<u32>,
    pub host: Option<String>,
    pub port: Option<u32>,
    pub reply: Option<JsReply>,
    pub closest: Option<Vec<JsReply>>,
    pub error: Option<String>,
    pub result: Option<JsResult>,
    /// connection events: connection id, server id, payload bytes, keys
    pub cid: Option<u32>,
    pub sid: Option<u32>,
    pub data: Option<Buffer>,
    pub remote_public_key: Option<Buffer>,
    pub public_key: Option<Buffer>,
    pub handshake_hash: Option<Buffer>,
    pub remote_host: Option<String>,
    pub remote_port: Option<u32>,
    /// `server-firewall`: the request id to answer with `firewallReply`, and the payload
    pub fid: Option<u32>,
    pub payload: Option<crate::server::JsNoisePayload>,
    /// `holepunch-veto`: the connect's veto id (servers use `sid`) and the function's arguments
    pub vid: Option<u32>,
    pub veto: Option<crate::veto::JsHolepunchInfo>,
    /// `plugin-request`: a PLUGIN request for a registered plugin (answer with `pluginReply`)
    pub plugin: Option<JsPluginRequest>,
    /// `add-node` / `remove-node`: the routing-table entry
    pub node: Option<JsNode>,
    /// `app-request`: a request no engine handler took, for `dht.onrequest` (answer with
    /// `requestReply`)
    pub request: Option<JsAppRequest>,
}

/// A routing-table entry as dht-rpc keeps it (`{id, host, port, to, sampled, added, pinged,
/// seen, downHints}`; the tick fields count dht-rpc's 5 s ticks).
#[napi(object)]
#[derive(Default)]
pub struct JsNode {
    pub id: Buffer,
    pub host: String,
    pub port: u32,
    /// our address as this node saw it when sampled (null for nodes added by address)
    pub to: Option<JsAddress>,
    pub sampled: f64,
    pub added: f64,
    pub pinged: f64,
    pub seen: f64,
    pub down_hints: u32,
}

/// An application request for `dht.onrequest(req)` (dht-rpc io.js `Request`).
#[napi(object)]
#[derive(Default)]
pub struct JsAppRequest {
    /// the id to pass to `requestReply` / `requestRelay`
    pub id: u32,
    pub tid: u32,
    pub from_id: Option<Buffer>,
    pub from_host: String,
    pub from_port: u32,
    pub to_host: String,
    pub to_port: u32,
    pub token: Option<Buffer>,
    pub command: f64,
    pub target: Option<Buffer>,
    pub value: Option<Buffer>,
}

/// A decoded `pluginRequest` plus its outer dht-rpc request (hyperdht persistent.js `onplugin`).
#[napi(object)]
#[derive(Default)]
pub struct JsPluginRequest {
    /// the id to pass to `pluginReply`
    pub id: u32,
    pub plugin: String,
    pub version: f64,
    pub command: f64,
    pub value: Option<Buffer>,
    /// the outer request
    pub tid: u32,
    pub from_id: Option<Buffer>,
    pub from_host: String,
    pub from_port: u32,
    pub to_host: String,
    pub to_port: u32,
    pub token: Option<Buffer>,
    pub target: Option<Buffer>,
    pub outer_value: Option<Buffer>,
}

impl JsEvent {
    pub fn named(kind: &str) -> Self {
        JsEvent {
            kind: kind.to_string(),
            ..Default::default()
        }
    }
}

pub type EventTsfn = ThreadsafeFunction<JsEvent, (), JsEvent, Status, false>;

/// Owner of the event TSFN. Dropping it releases the ref that keeps Node alive.
pub struct EventSink {
    tsfn: EventTsfn,
}

impl EventSink {
    pub fn new(cb: Function<JsEvent, ()>) -> Result<Self> {
        let tsfn = cb
            .build_threadsafe_function::<JsEvent>()
            .callee_handled::<false>()
            .build()?;
        Ok(EventSink { tsfn })
    }

    /// Never blocks a tokio worker (NonBlocking). Volume is bounded by the engine: control-plane
    /// events and query replies only, never one event per packet.
    pub fn emit(&self, ev: JsEvent) {
        self.tsfn.call(ev, ThreadsafeFunctionCallMode::NonBlocking);
    }
}
