//! `NativeDht`: the native half of `HyperDHT` (index.js). Owns one DHT node and exactly one
//! ref'd event ThreadsafeFunction (released on destroy, so Node can exit); whole queries run in
//! Rust and only their replies cross to JS.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};

use hyperdht_core::{
    udx_on_dht, AnnounceOptions, CacheOptions, ConnectExtras, ConnectOptions, HyperDht,
    QueryOptions,
};
use hyperdht_crypto::KeyPair;
use hyperdht_rpc::driver::DhtEvent;
use hyperdht_rpc::{Dht, DhtOptions, QueryParams, Response};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::conn::{self, Conns};
use crate::events::{EventSink, JsAddress, JsEvent, JsPluginRequest, JsReply};
use crate::ops;
use crate::server::JsQuestions;
use hyperdht_core::plugin::PluginForward;
use hyperdht_rpc::node::Reply;
use hyperdht_udx::UdxSocket;
use std::sync::atomic::{AtomicU32, Ordering};

#[napi(object)]
pub struct JsDhtOptions {
    pub bootstrap: Vec<String>,
    pub port: u32,
    /// `port: [start, end]`: ports `start..end` are tried in order (dht-rpc `io.portRange`)
    pub port_range: Option<Vec<u32>>,
    pub host: String,
    pub ephemeral: Option<bool>,
    pub firewalled: bool,
    pub any_port: bool,
    pub nodes: Vec<String>,
    pub adaptive: bool,
    pub concurrency: u32,
    pub max_size: u32,
    pub max_age: f64,
    pub nat_host: Option<String>,
    pub nat_port: u32,
    /// dht-rpc `quickFirewall !== false`: a firewalled node may learn it is reachable from the
    /// first PING_NAT answers instead of waiting for persistence
    pub quick_firewall: Option<bool>,
    /// dht-rpc `maxPingDelay` (ms): longer DELAYED_PINGs get no reply
    pub max_ping_delay: Option<u32>,
}

#[napi(object)]
pub struct JsHostPort {
    pub host: String,
    pub family: u32,
    pub port: u32,
}

#[napi(object)]
pub struct JsInfo {
    pub id: Option<Buffer>,
    pub ephemeral: bool,
    pub firewalled: bool,
    pub host: Option<String>,
    pub port: u32,
    pub address: Option<JsHostPort>,
    pub local_address: Option<JsHostPort>,
    pub remote_address: Option<JsHostPort>,
    /// dht-rpc network health: `online` / `degraded` (changes come with `network-update`)
    pub online: bool,
    pub degraded: bool,
}

/// Query parameters from index.js (`_startQuery`).
#[napi(object)]
pub struct JsQuerySpec {
    pub kind: String,
    pub target: Buffer,
    pub command: Option<u32>,
    pub value: Option<Buffer>,
    pub concurrency: Option<u32>,
    pub nodes: Option<Vec<String>>,
    /// dht-rpc `onlyClosestNodes`: ask only `nodes`
    pub only_closest_nodes: Option<bool>,
    /// dht-rpc `force`: no congestion window, no retries
    pub force: Option<bool>,
    pub key_pair: Option<JsKeyPairArg>,
    pub relay_addresses: Option<Vec<String>>,
    pub bump: Option<f64>,
    pub clear: Option<bool>,
    pub seq: Option<f64>,
    pub public_key: Option<Buffer>,
    /// mutablePut with a signature computed in JS (non-custodial)
    pub signature: Option<Buffer>,
}

#[napi(object)]
pub struct JsRequest {
    pub command: u32,
    pub internal: Option<bool>,
    pub token: Option<Buffer>,
    pub target: Option<Buffer>,
    pub value: Option<Buffer>,
    pub retry: Option<bool>,
    /// `opts.session`: an id from `session()`
    pub session: Option<u32>,
}

/// `connect(remotePublicKey, opts)` options that reach the engine.
#[napi(object)]
pub struct JsConnectOptions {
    /// `localConnection !== false`
    pub local_connection: bool,
    /// `fastOpen !== false`
    pub fast_open: bool,
    /// `reusableSocket`
    pub reusable_socket: bool,
    /// `relayAddresses` (or a hyperdht-address key's nodes) as "host:port"; unusable ones are skipped
    pub relay_addresses: Vec<String>,
    /// set when `holepunch` is a function: the id its `holepunch-veto` events carry
    pub holepunch_veto: Option<u32>,
    /// the app replaced `dht.ping`: the LAN shortcut's ping is asked through `lan-ping` events
    pub lan_ping: Option<bool>,
}

#[napi(object)]
pub struct JsKeyPairArg {
    pub public_key: Buffer,
    pub secret_key: Option<Buffer>,
}

pub(crate) fn host_port(a: SocketAddrV4) -> JsHostPort {
    JsHostPort {
        host: a.ip().to_string(),
        family: 4,
        port: a.port() as u32,
    }
}

pub(crate) fn addr_js(a: SocketAddrV4) -> JsAddress {
    JsAddress {
        host: a.ip().to_string(),
        port: a.port() as u32,
    }
}

pub(crate) fn parse_addr(s: &str) -> Result<SocketAddrV4> {
    s.parse::<SocketAddrV4>()
        .map_err(|_| Error::new(Status::InvalidArg, format!("invalid IPv4 address {s}")))
}

fn parse_ip(s: &str) -> Result<Ipv4Addr> {
    s.parse::<Ipv4Addr>()
        .map_err(|_| Error::new(Status::InvalidArg, format!("invalid IPv4 host {s}")))
}

pub(crate) fn reason<E: std::fmt::Display>(e: E) -> Error {
    Error::from_reason(e.to_string())
}

/// Shapes an RPC reply for JS (index.js `mapReply` finishes it per query kind).
/// Closer nodes as compact-encoding ipv4Address entries (4 address bytes, port u16 LE): one
/// Buffer per reply instead of ~20 JS objects built through napi, decoded by JS only if read.
fn pack_nodes(nodes: &[SocketAddrV4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nodes.len() * 6);
    for n in nodes {
        out.extend_from_slice(&n.ip().octets());
        out.extend_from_slice(&n.port().to_le_bytes());
    }
    out
}

pub(crate) fn js_reply(r: &Response) -> JsReply {
    JsReply {
        tid: Some(r.tid as u32),
        rtt: Some(r.rtt_ms),
        from_id: r.from_id.map(|id| id.to_vec().into()),
        from_host: r.from.ip().to_string(),
        from_port: r.from.port() as u32,
        to_host: Some(r.to.ip().to_string()),
        to_port: Some(r.to.port() as u32),
        token: r.token.map(|t| t.to_vec().into()),
        closer_nodes: Some(pack_nodes(&r.closer_nodes).into()),
        error: Some(r.error as u32),
        value: r.value.as_ref().map(|v| v.clone().into()),
        ..Default::default()
    }
}

pub(crate) type Sink = Arc<Mutex<Option<EventSink>>>;

pub(crate) fn emit(sink: &Sink, ev: JsEvent) {
    if let Ok(g) = sink.lock() {
        if let Some(s) = g.as_ref() {
            s.emit(ev);
        }
    }
}

#[napi]
pub struct NativeDht {
    dht: Dht,
    pub(crate) hyper: HyperDht,
    pub(crate) sink: Sink,
    queries: Arc<Mutex<HashMap<u32, tokio::task::AbortHandle>>>,
    pub(crate) udx: UdxSocket,
    pub(crate) conns: Conns,
    pub(crate) dialing: conn::Dialing,
    /// `dht.createRawStream()` streams (src/raw_stream.rs)
    pub(crate) raws: crate::raw_stream::RawStreams,
    pub(crate) next_cid: Arc<AtomicU32>,
    /// firewall / holepunch-veto questions waiting for JS (src/server.rs, src/veto.rs)
    pub(crate) questions: JsQuestions,
    /// application requests waiting for `dht.onrequest` (src/app_requests.rs)
    pub(crate) app_requests: crate::app_requests::AppRequests,
}

pub(crate) fn key_pair_of(kp: &JsKeyPairArg) -> Result<KeyPair> {
    let sk: [u8; 64] = kp
        .secret_key
        .as_ref()
        .and_then(|s| s.as_ref().try_into().ok())
        .ok_or_else(|| Error::new(Status::InvalidArg, "keyPair.secretKey must be 64 bytes"))?;
    let pair = KeyPair::from_secret_key(&sk).map_err(reason)?;
    if pair.public_key.as_slice() != kp.public_key.as_ref() {
        return Err(Error::new(
            Status::InvalidArg,
            "keyPair.publicKey does not match secretKey",
        ));
    }
    Ok(pair)
}

#[napi]
impl NativeDht {
    #[napi(constructor, catch_unwind)]
    pub fn new(opts: JsDhtOptions, on_event: Function<JsEvent, ()>) -> Result<Self> {
        let host = parse_ip(&opts.host)?;
        let nat_seed = match &opts.nat_host {
            Some(h) => Some(SocketAddrV4::new(parse_ip(h)?, opts.nat_port as u16)),
            None => None,
        };
        let nodes = opts
            .nodes
            .iter()
            .map(|s| parse_addr(s))
            .collect::<Result<Vec<_>>>()?;
        let port_range = match opts.port_range.as_deref() {
            Some([start, end]) => Some(((*start).min(65535) as u16, (*end).min(65535) as u16)),
            Some(_) => {
                return Err(Error::new(
                    Status::InvalidArg,
                    "port range must be [start, end]",
                ))
            }
            None => None,
        };
        let dopts = DhtOptions {
            bootstrap: opts.bootstrap,
            port: opts.port.min(65535) as u16,
            port_range,
            host,
            ephemeral: opts.ephemeral,
            adaptive: opts.adaptive,
            firewalled: opts.firewalled,
            any_port: opts.any_port,
            nodes,
            concurrency: opts.concurrency.max(1) as usize,
            nat_seed,
            quick_firewall: opts.quick_firewall != Some(false),
        };
        let dht = napi::bindgen_prelude::within_runtime_if_available(|| Dht::new(dopts))
            .map_err(reason)?;
        let sink: Sink = Arc::new(Mutex::new(Some(EventSink::new(on_event)?)));
        let mut events = dht
            .take_events()
            .ok_or_else(|| Error::from_reason("events already taken"))?;
        let s2 = sink.clone();
        napi::bindgen_prelude::spawn(async move {
            while let Some(ev) = events.recv().await {
                let js = match ev {
                    DhtEvent::Listening => JsEvent::named("listening"),
                    DhtEvent::Ready => JsEvent::named("ready"),
                    DhtEvent::Persistent => JsEvent::named("persistent"),
                    DhtEvent::Ephemeral => JsEvent::named("ephemeral"),
                    DhtEvent::Wakeup => JsEvent::named("wakeup"),
                    DhtEvent::NatUpdate { host, port } => JsEvent {
                        host: Some(host.to_string()),
                        port: Some(port as u32),
                        ..JsEvent::named("nat-update")
                    },
                    DhtEvent::NetworkUpdate { .. } => JsEvent::named("network-update"),
                    DhtEvent::AddNode(e) => JsEvent {
                        node: Some(crate::rpc_extra::js_node(&e)),
                        ..JsEvent::named("add-node")
                    },
                    DhtEvent::RemoveNode(e) => JsEvent {
                        node: Some(crate::rpc_extra::js_node(&e)),
                        ..JsEvent::named("remove-node")
                    },
                    DhtEvent::Close => break,
                };
                emit(&s2, js);
            }
        });
        let cache = CacheOptions {
            max_size: (opts.max_size > 0).then_some(opts.max_size as usize),
            max_age: (opts.max_age > 0.0)
                .then(|| std::time::Duration::from_millis(opts.max_age as u64)),
        };
        if let Some(ms) = opts.max_ping_delay {
            dht.set_max_ping_delay(ms);
        }
        let hyper = HyperDht::new(dht.clone(), cache);
        let app_requests = crate::app_requests::AppRequests::default();
        dht.set_unhandled_request_hook(Some(app_requests.hook(sink.clone())));
        let s3 = sink.clone();
        hyper
            .plugins
            .set_forwarder(Box::new(move |f: PluginForward| {
                let o = &f.outer;
                let plugin = JsPluginRequest {
                    id: f.id,
                    plugin: f.request.plugin,
                    version: f.request.version as f64,
                    command: f.request.command as f64,
                    value: f.request.value.map(Into::into),
                    tid: o.tid as u32,
                    from_id: o.from_id.map(|i| i.to_vec().into()),
                    from_host: o.from.ip().to_string(),
                    from_port: o.from.port() as u32,
                    to_host: o.to.ip().to_string(),
                    to_port: o.to.port() as u32,
                    token: o.token.map(|t| t.to_vec().into()),
                    target: o.target.map(|t| t.to_vec().into()),
                    outer_value: o.value.clone().map(Into::into),
                };
                emit(
                    &s3,
                    JsEvent {
                        plugin: Some(plugin),
                        ..JsEvent::named("plugin-request")
                    },
                );
            }));
        // UDX shares the DHT's server socket (one UDP port for both, like hyperdht)
        let udx = napi::bindgen_prelude::within_runtime_if_available(|| udx_on_dht(&dht));
        Ok(NativeDht {
            dht,
            hyper,
            udx,
            conns: Arc::default(),
            dialing: Arc::new(Mutex::new(HashMap::new())),
            raws: Arc::new(Mutex::new(HashMap::new())),
            next_cid: Arc::new(AtomicU32::new(1)),
            sink,
            queries: Arc::new(Mutex::new(HashMap::new())),
            questions: JsQuestions::default(),
            app_requests,
        })
    }

    #[napi(catch_unwind)]
    pub async fn ready(&self) -> Result<()> {
        self.dht.ready().await.map_err(reason)
    }

    #[napi(catch_unwind)]
    pub fn info(&self) -> JsInfo {
        let (host, port) = self.dht.nat();
        JsInfo {
            id: self.dht.id().map(|i| i.to_vec().into()),
            ephemeral: self.dht.is_ephemeral(),
            firewalled: self.dht.is_firewalled(),
            host: host.map(|h| h.to_string()),
            port: port as u32,
            address: if self.dht.is_destroyed() {
                None
            } else {
                Some(host_port(self.dht.address()))
            },
            local_address: Some(host_port(self.dht.server_address())),
            remote_address: self.dht.remote_address().map(host_port),
            online: self.dht.online(),
            degraded: self.dht.degraded(),
        }
    }

    /// Every counter at once (`dht.stats`, `dht.metrics()`; src/stats.rs).
    #[napi(catch_unwind)]
    pub fn stats(&self) -> crate::stats::JsStats {
        let open = self.conns.lock().map_or(0, |m| m.len());
        let raws = self.raws.lock().map_or(0, |m| m.len());
        crate::stats::to_js(&self.hyper.stats(), open, raws)
    }

    #[napi(catch_unwind)]
    pub fn to_array(&self, limit: u32) -> Vec<JsAddress> {
        self.dht
            .to_array(limit as usize)
            .into_iter()
            .map(|n| addr_js(n.addr))
            .collect()
    }

    #[napi(catch_unwind)]
    pub fn add_node(&self, host: String, port: u32) -> Result<()> {
        let ip = parse_ip(&host)?;
        self.dht
            .add_node(SocketAddrV4::new(ip, port.min(65535) as u16));
        Ok(())
    }

    #[napi(catch_unwind)]
    pub async fn ping(&self, host: String, port: u32) -> Result<JsReply> {
        let ip = parse_ip(&host)?;
        let r = self
            .dht
            .ping(SocketAddrV4::new(ip, port.min(65535) as u16))
            .await
            .map_err(reason)?;
        Ok(js_reply(&r))
    }

    /// `dht.request({token, target, command, value}, {host, port})`: one application request.
    #[napi(catch_unwind)]
    pub async fn request(&self, host: String, port: u32, req: JsRequest) -> Result<JsReply> {
        let ip = parse_ip(&host)?;
        let mut spec = hyperdht_rpc::RequestSpec::new(
            SocketAddrV4::new(ip, port.min(65535) as u16),
            req.internal.unwrap_or(false),
            req.command as u64,
        );
        spec.token = match &req.token {
            Some(t) => Some(
                t.as_ref()
                    .try_into()
                    .map_err(|_| Error::new(Status::InvalidArg, "token must be 32 bytes"))?,
            ),
            None => None,
        };
        spec.target = match &req.target {
            Some(t) => Some(
                t.as_ref()
                    .try_into()
                    .map_err(|_| Error::new(Status::InvalidArg, "target must be 32 bytes"))?,
            ),
            None => None,
        };
        spec.value = req.value.as_ref().map(|v| v.to_vec());
        if req.retry == Some(false) {
            spec.retries = 0;
        }
        crate::rpc_extra::set_session(&mut spec, req.session);
        let r = self.dht.request(spec).await.map_err(reason)?;
        Ok(js_reply(&r))
    }

    /// Starts a query; replies arrive as `{type: 'reply', qid}` events, then one `{type: 'end'}`.
    #[napi(catch_unwind)]
    pub fn query(&self, qid: u32, spec: JsQuerySpec) -> Result<()> {
        let target: [u8; 32] = spec
            .target
            .as_ref()
            .try_into()
            .map_err(|_| Error::new(Status::InvalidArg, "target must be 32 bytes"))?;
        let nodes = match &spec.nodes {
            Some(n) => n
                .iter()
                .map(|s| parse_addr(s))
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let concurrency = spec.concurrency.map(|c| c.max(1) as usize);
        let hyper = self.hyper.clone();
        let sink = self.sink.clone();
        let queries = self.queries.clone();
        let only_closest_nodes = spec.only_closest_nodes.unwrap_or(false);
        let force = spec.force.unwrap_or(false);
        let o = QueryOptions {
            nodes: nodes.clone(),
            concurrency,
            only_closest_nodes,
            force,
        };
        let key_pair = || -> Result<KeyPair> {
            let kp = spec
                .key_pair
                .as_ref()
                .ok_or_else(|| Error::new(Status::InvalidArg, "keyPair is required"))?;
            let sk: [u8; 64] = kp
                .secret_key
                .as_ref()
                .and_then(|s| s.as_ref().try_into().ok())
                .ok_or_else(|| {
                    Error::new(Status::InvalidArg, "keyPair.secretKey must be 64 bytes")
                })?;
            let pair = KeyPair::from_secret_key(&sk).map_err(reason)?;
            if pair.public_key.as_slice() != kp.public_key.as_ref() {
                return Err(Error::new(
                    Status::InvalidArg,
                    "keyPair.publicKey does not match secretKey",
                ));
            }
            Ok(pair)
        };
        let u64_of = |v: Option<f64>| {
            v.filter(|x| x.is_finite() && *x >= 0.0)
                .map(|x| x as u64)
                .unwrap_or(0)
        };
        let job = match spec.kind.as_str() {
            "findNode" | "query" => {
                let (command, internal) = if spec.kind == "findNode" {
                    (hyperdht_rpc::Command::FindNode.code(), true)
                } else {
                    (spec.command.unwrap_or(0) as u64, false)
                };
                ops::Job::Raw(QueryParams {
                    target,
                    command,
                    internal,
                    value: spec.value.as_ref().map(|v| v.to_vec()),
                    concurrency,
                    nodes,
                    only_closest_nodes,
                    force,
                })
            }
            "lookup" => ops::Job::Lookup { topic: target, o },
            "findPeer" => ops::Job::FindPeer { target, o },
            "announce" => {
                let relays = match &spec.relay_addresses {
                    Some(r) => r
                        .iter()
                        .map(|s| parse_addr(s))
                        .collect::<Result<Vec<_>>>()?,
                    None => Vec::new(),
                };
                let a = AnnounceOptions {
                    relays,
                    bump: u64_of(spec.bump),
                    clear: spec.clear.unwrap_or(false),
                };
                ops::Job::Announce {
                    topic: target,
                    kp: key_pair()?,
                    a,
                    o,
                }
            }
            "lookupAndUnannounce" => ops::Job::LookupAndUnannounce {
                topic: target,
                kp: key_pair()?,
                o,
            },
            "immutablePut" => {
                let value = spec.value.as_ref().map(|v| v.to_vec()).unwrap_or_default();
                ops::Job::ImmutablePut { value, o }
            }
            "immutableGet" => ops::Job::ImmutableGet { target, o },
            "mutablePut" => {
                let value = spec.value.as_ref().map(|v| v.to_vec()).unwrap_or_default();
                let seq = u64_of(spec.seq);
                match (&spec.signature, &spec.key_pair) {
                    (Some(sig), Some(kp)) => ops::Job::MutablePutSigned {
                        public_key: kp.public_key.as_ref().try_into().map_err(|_| {
                            Error::new(Status::InvalidArg, "publicKey must be 32 bytes")
                        })?,
                        value,
                        seq,
                        signature: sig.as_ref().try_into().map_err(|_| {
                            Error::new(Status::InvalidArg, "signature must be 64 bytes")
                        })?,
                        o,
                    },
                    _ => ops::Job::MutablePut {
                        kp: key_pair()?,
                        value,
                        seq,
                        o,
                    },
                }
            }
            "mutableGet" => {
                let pk: [u8; 32] = spec
                    .public_key
                    .as_ref()
                    .and_then(|p| p.as_ref().try_into().ok())
                    .ok_or_else(|| Error::new(Status::InvalidArg, "publicKey must be 32 bytes"))?;
                ops::Job::MutableGet {
                    public_key: pk,
                    seq: u64_of(spec.seq),
                    o,
                }
            }
            other => {
                return Err(Error::new(
                    Status::InvalidArg,
                    format!("unknown query kind {other}"),
                ))
            }
        };
        let handle = ops::spawn_started(async move {
            ops::run(hyper, job, qid, &sink).await;
            if let Ok(mut q) = queries.lock() {
                q.remove(&qid);
            }
        });
        if let Ok(mut q) = self.queries.lock() {
            q.insert(qid, handle.abort_handle());
        }
        Ok(())
    }

    /// `dht.register(name, plugin)`: PLUGIN requests for `name` at `version` become
    /// `plugin-request` events.
    #[napi(catch_unwind)]
    pub fn register_plugin(&self, name: String, version: f64) {
        let v = if version.is_finite() && version >= 0.0 {
            version as u64
        } else {
            return;
        };
        self.hyper.plugins.register(&name, v);
    }

    /// A plugin's `req.reply(value, {token, closerNodes})` (`error` 0) or `req.error(code)`.
    #[napi(catch_unwind)]
    pub fn plugin_reply(
        &self,
        id: u32,
        value: Option<Buffer>,
        error: u32,
        token: bool,
        closer_nodes: bool,
    ) {
        let reply = Reply {
            value: if error == 0 {
                value.map(|v| v.to_vec())
            } else {
                None
            },
            error: error as u64,
            token,
            closer_nodes,
            to: None,
        };
        self.hyper.plugins.reply(&self.dht, id, reply);
    }

    /// dht-rpc `suspend()`: pending requests and queries fail with IO_SUSPENDED, the node stops
    /// ticking and ignores DHT traffic.
    #[napi(catch_unwind)]
    pub async fn suspend(&self) {
        self.dht.suspend().await;
    }

    /// dht-rpc `resume()`: a wake-up, then a refresh.
    #[napi(catch_unwind)]
    pub async fn resume(&self) {
        self.dht.resume().await;
    }

    /// dht-rpc `refresh()`.
    #[napi(catch_unwind)]
    pub fn refresh(&self) {
        if !self.dht.is_destroyed() {
            self.dht.refresh();
        }
    }

    /// Requests this node created (dht-rpc `stats.requests.total`; `io._tid` grows with it).
    #[napi(catch_unwind)]
    pub fn request_count(&self) -> f64 {
        self.dht.stats().requests_out as f64
    }

    #[napi(catch_unwind)]
    pub fn cancel_query(&self, qid: u32) {
        if let Some(h) = self.queries.lock().ok().and_then(|mut q| q.remove(&qid)) {
            h.abort();
        }
    }

    /// A connection id for `connect()`: JS registers its stream under it before dialing, so
    /// every event of the connection finds its object.
    #[napi(catch_unwind)]
    pub fn reserve_cid(&self) -> u32 {
        self.next_cid.fetch_add(1, Ordering::Relaxed)
    }

    /// `dht.connect(remotePublicKey)` under a reserved connection id: resolves once open (the
    /// `conn-open` event carries the details); `connDestroy(cid)` before that cancels the dial.
    #[napi(catch_unwind)]
    pub async fn connect(
        &self,
        cid: u32,
        remote_public_key: Buffer,
        key_pair: JsKeyPairArg,
        opts: JsConnectOptions,
    ) -> Result<()> {
        let pk: [u8; 32] = remote_public_key
            .as_ref()
            .try_into()
            .map_err(|_| Error::new(Status::InvalidArg, "remotePublicKey must be 32 bytes"))?;
        let kp = key_pair_of(&key_pair)?;
        let options = ConnectOptions {
            local_connection: opts.local_connection,
            fast_open: opts.fast_open,
        };
        let extras = ConnectExtras {
            relay_addresses: opts
                .relay_addresses
                .iter()
                .filter_map(|a| parse_addr(a).ok())
                .collect(),
            reusable_socket: opts.reusable_socket,
            holepunch: opts.holepunch_veto.map(|vid| {
                crate::veto::holepunch_veto(&self.questions, self.sink.clone(), None, Some(vid))
            }),
            lan_ping: (opts.lan_ping == Some(true))
                .then(|| crate::veto::lan_ping(&self.questions, self.sink.clone())),
        };
        let dial = conn::start_dial(&self.dialing, cid);
        let result = tokio::select! {
            r = self.hyper.connect_with_extras(&self.udx, &kp, pk, options, extras) => r.map_err(reason),
            _ = dial.aborted() => Err(Error::from_reason("DESTROYED: Connection destroyed")),
        };
        let (conn, err) = match result {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        if conn::finish_dial(&self.dialing, &self.conns, self.sink.clone(), cid, conn) {
            Ok(())
        } else {
            Err(err.unwrap_or_else(|| Error::from_reason("DESTROYED: Connection destroyed")))
        }
    }

    /// Queues a write; false = queue full, wait for `conn-drain` and retry.
    #[napi(catch_unwind)]
    pub fn conn_write(&self, cid: u32, data: &[u8]) -> bool {
        conn::write(&self.conns, cid, data)
    }

    #[napi(catch_unwind)]
    pub fn conn_end(&self, cid: u32) {
        if let Ok(m) = self.conns.lock() {
            if let Some(h) = m.get(&cid) {
                let tx = h.tx.clone();
                napi::bindgen_prelude::spawn(async move {
                    let _ = tx.send(conn::ConnCmd::End).await;
                });
            }
        }
    }

    /// `setKeepAlive(ms)` (0 = off).
    #[napi(catch_unwind)]
    pub fn conn_set_keep_alive(&self, cid: u32, ms: u32) {
        conn::control(&self.conns, cid, conn::Control::KeepAlive(ms));
    }

    /// `setTimeout(ms)` (0 = off): the stream fails when nothing arrives for `ms`.
    #[napi(catch_unwind)]
    pub fn conn_set_timeout(&self, cid: u32, ms: u32) {
        conn::control(&self.conns, cid, conn::Control::Timeout(ms));
    }

    #[napi(catch_unwind)]
    pub fn conn_send_keep_alive(&self, cid: u32) {
        conn::control(&self.conns, cid, conn::Control::SendKeepAlive);
    }

    /// JS's answer to a `holepunch-veto` event (`allow` = the function returned truthy).
    #[napi(catch_unwind)]
    pub fn holepunch_reply(&self, fid: u32, allow: bool) {
        self.questions.answer(fid, allow);
    }

    /// `rawStream.rtt` in milliseconds.
    #[napi(catch_unwind)]
    pub fn conn_rtt(&self, cid: u32) -> u32 {
        conn::rtt_ms(&self.conns, cid)
    }

    /// `rawStream.mtu` (starts at 1200 and grows by path-MTU probing, like udx-native).
    #[napi(catch_unwind)]
    pub fn conn_mtu(&self, cid: u32) -> u32 {
        conn::mtu(&self.conns, cid)
    }

    /// Read-side backpressure: `paused` = JS's readable buffer is full.
    #[napi(catch_unwind)]
    pub fn conn_set_paused(&self, cid: u32, paused: bool) {
        conn::set_paused(&self.conns, cid, paused);
    }

    /// JS took `bytes` of `conn-data` off the event queue (sent in batches).
    #[napi(catch_unwind)]
    pub fn conn_ack(&self, cid: u32, bytes: u32) {
        conn::ack(&self.conns, cid, bytes as usize);
    }

    #[napi(catch_unwind)]
    pub fn conn_destroy(&self, cid: u32) {
        conn::destroy_one(&self.dialing, &self.conns, cid);
    }

    /// Closes sockets, fails pending work, then releases the event callback so Node can exit.
    #[napi(catch_unwind)]
    pub async fn destroy(&self, _force: bool) -> Result<()> {
        if let Ok(mut q) = self.queries.lock() {
            for (_, h) in q.drain() {
                h.abort();
            }
        }
        conn::destroy_all(&self.dialing, &self.conns);
        crate::raw_stream::destroy_all(&self.raws, &self.sink);
        self.questions.clear();
        self.hyper.plugins.clear();
        self.app_requests.clear();
        self.udx.close();
        self.dht.destroy().await;
        emit(&self.sink, JsEvent::named("close"));
        if let Ok(mut s) = self.sink.lock() {
            s.take();
        }
        Ok(())
    }
}
