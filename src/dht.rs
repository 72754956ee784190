//! `NativeDht`: the native half of `HyperDHT` (index.js). Owns one DHT node and one ref'd
//! event ThreadsafeFunction for the node's own events (released on destroy, so Node can exit).
//! The objects it makes — servers, connections, queries, raw streams — deliver their events to
//! their own JS objects (src/server.rs, src/connection.rs, src/query.rs, src/raw_stream.rs);
//! the node only keeps a list of them to close on destroy (src/live.rs).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use hyperdht_core::{udx_on_dht, CacheOptions, ConnectExtras, ConnectOptions, HyperDht};
use hyperdht_crypto::KeyPair;
use hyperdht_rpc::driver::DhtEvent;
use hyperdht_rpc::{Dht, DhtOptions, Response};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::connection::{Dial, JsConnectionEvent, NativeConnection};
use crate::events::{JsAddress, JsAppRequest, JsPluginRequest, JsReply, Sink};
use crate::teardown::NodeParts;
use hyperdht_core::plugin::PluginForward;
use hyperdht_rpc::node::Reply;

/// The node's own events (`{type: 'ready'}`, `{type: 'nat-update', host, port}`, ...); the
/// plain ones are re-emitted by index.js under their `type`.
#[napi(
    discriminant = "type",
    discriminant_case = "kebab-case",
    object_from_js = false
)]
pub enum JsDhtEvent {
    Listening,
    Ready,
    Persistent,
    Ephemeral,
    Wakeup,
    /// `host` null (port 0) while the samples disagree
    NatUpdate {
        host: Option<String>,
        port: u32,
    },
    NetworkUpdate,
    /// `add-node` / `remove-node` changes numbered up to `upto` wait for `takeNodeChanges`
    NodeChanges {
        upto: f64,
    },
    /// an application request for `dht.onrequest` (answer with `requestReply`)
    AppRequest {
        request: JsAppRequest,
    },
    /// a PLUGIN request for a registered plugin (answer with `pluginReply`)
    PluginRequest {
        plugin: JsPluginRequest,
    },
}

pub(crate) type DhtSink = Arc<Sink<JsDhtEvent>>;

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
    /// hyperdht `randomPunchInterval` (ms): the least time between two RANDOM-NAT punches
    pub random_punch_interval: Option<u32>,
    /// hyperdht `deferRandomPunch`: that time counts from construction and every `resume()`
    pub defer_random_punch: Option<bool>,
    /// dht-rpc `maxWindow` (default 80)
    pub max_window: Option<u32>,
    /// dht-rpc `downHintsRateLimit` (-1: unlimited), 0 with `sendDownHints: false`
    pub down_hints_rate_limit: Option<i64>,
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
    /// `holepunch` is a function: ask it through the connection's `holepunch-veto` events
    pub holepunch_veto: Option<bool>,
    /// the app replaced `dht.ping`: the LAN shortcut's ping is asked through the connection's
    /// `lan-ping` events
    pub lan_ping: Option<bool>,
    /// `relayThrough` (resolved to a key in JS): pair through that blind relay
    pub relay_through: Option<Buffer>,
    /// relays are paired through the connection's `relay` events (always in index.js)
    pub relays: Option<bool>,
    /// `createSecretStream`: the connection opens as its bare stream (not started), which JS
    /// adopts (`adoptConnection`) for the app's secret-stream
    pub raw: Option<bool>,
    /// `createHandshake`: the Noise messages are asked through the connection's `noise-send` /
    /// `noise-recv` events; the key pair needs no secret key
    pub external_handshake: Option<bool>,
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

// A node's parts (`self.dht`, `self.hyper`, ... through `Deref`) are shared with its
// environment's teardown (src/teardown.rs), which closes them if the node outlives its worker.
#[napi]
pub struct NativeDht {
    parts: Arc<NodeParts>,
}

impl std::ops::Deref for NativeDht {
    type Target = NodeParts;
    fn deref(&self) -> &NodeParts {
        &self.parts
    }
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

/// The key pair of a `createHandshake` connect or server: only its public key is used (the
/// app's handshake object holds the secret), so the secret half is left zero.
pub(crate) fn public_only(kp: &JsKeyPairArg) -> Result<KeyPair> {
    let public_key: [u8; 32] = kp
        .public_key
        .as_ref()
        .try_into()
        .map_err(|_| Error::new(Status::InvalidArg, "keyPair.publicKey must be 32 bytes"))?;
    Ok(KeyPair {
        public_key,
        secret_key: [0; 64],
    })
}

#[napi]
impl NativeDht {
    #[napi(constructor, catch_unwind)]
    pub fn new(opts: JsDhtOptions, on_event: Function<JsDhtEvent, ()>) -> Result<Self> {
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
            max_window: opts
                .max_window
                .filter(|&w| w > 0)
                .unwrap_or(hyperdht_rpc::congestion::DEFAULT_MAX_WINDOW),
            down_hints_rate_limit: opts
                .down_hints_rate_limit
                .unwrap_or(hyperdht_rpc::driver::DEFAULT_DOWN_HINTS_RATE_LIMIT),
        };
        let dht = crate::rt::within(|| Dht::new(dopts)).map_err(reason)?;
        let env = Env::from_raw(on_event.value().env);
        let sink: DhtSink = Arc::new(Sink::new(on_event)?);
        let mut events = dht
            .take_events()
            .ok_or_else(|| Error::from_reason("events already taken"))?;
        let s2 = sink.clone();
        napi::bindgen_prelude::spawn(async move {
            while let Some(ev) = events.recv().await {
                let js = match ev {
                    DhtEvent::Listening => JsDhtEvent::Listening,
                    DhtEvent::Ready => JsDhtEvent::Ready,
                    DhtEvent::Persistent => JsDhtEvent::Persistent,
                    DhtEvent::Ephemeral => JsDhtEvent::Ephemeral,
                    DhtEvent::Wakeup => JsDhtEvent::Wakeup,
                    DhtEvent::NatUpdate { host, port } => JsDhtEvent::NatUpdate {
                        host: host.map(|h| h.to_string()),
                        port: u32::from(port),
                    },
                    DhtEvent::NetworkUpdate { .. } => JsDhtEvent::NetworkUpdate,
                    DhtEvent::NodeChanges { upto } => JsDhtEvent::NodeChanges { upto: upto as f64 },
                    DhtEvent::Close => break,
                };
                s2.emit(js);
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
        let interval = opts
            .random_punch_interval
            .filter(|&ms| ms > 0)
            .map(|ms| std::time::Duration::from_millis(u64::from(ms)));
        let defer = opts.defer_random_punch == Some(true);
        if interval.is_some() || defer {
            hyper.configure_random_punch(interval, defer);
        }
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
                s3.emit(JsDhtEvent::PluginRequest { plugin });
            }));
        // UDX shares the DHT's server socket (one UDP port for both, like hyperdht)
        let udx = crate::rt::within(|| udx_on_dht(&dht));
        // issue 16: the JS thread receives on the server socket (unless HYPERDHT_RS_JSLOOP=0)
        let socket_released = std::sync::Mutex::new(crate::server_recv::attach(&env, &dht, &udx));
        let parts = Arc::new(NodeParts {
            dht,
            hyper,
            udx,
            socket_released,
            conns: Arc::default(),
            servers: Arc::default(),
            queries: Arc::default(),
            raws: Arc::default(),
            sink,
            app_requests,
            node_stash: Default::default(),
        });
        crate::teardown::on_env_exit(&env, &parts);
        Ok(NativeDht { parts })
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
        let open = self.conns.all().iter().filter(|c| c.is_open()).count();
        crate::stats::to_js(&self.hyper.stats(), open, self.raws.len())
    }

    #[napi(catch_unwind)]
    pub fn to_array(&self, limit: u32) -> Vec<JsAddress> {
        self.read_node(|n| n.to_array(limit as usize))
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

    /// hyperdht `deferRandomPunch` at `resume()`: the random-punch interval counts from now.
    #[napi(catch_unwind)]
    pub fn defer_random_punch(&self) {
        self.hyper.configure_random_punch(None, true);
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

    /// `dht.connect(remotePublicKey, {keyPair, ...})`: the connection's native half, dialing
    /// now; its events (`open` first, or `close` with the error) go to `onEvent`.
    #[napi(catch_unwind)]
    pub fn connect(
        &self,
        remote_public_key: Buffer,
        key_pair: JsKeyPairArg,
        opts: JsConnectOptions,
        on_event: Function<JsConnectionEvent, ()>,
    ) -> Result<NativeConnection> {
        let pk: [u8; 32] = remote_public_key
            .as_ref()
            .try_into()
            .map_err(|_| Error::new(Status::InvalidArg, "remotePublicKey must be 32 bytes"))?;
        let external = opts.external_handshake == Some(true);
        let kp = if external {
            public_only(&key_pair)?
        } else {
            key_pair_of(&key_pair)?
        };
        let dial = Arc::new(Dial::default());
        dial.raw
            .store(opts.raw == Some(true), std::sync::atomic::Ordering::Release);
        let native = NativeConnection::dialing(&self.conns, dial.clone(), on_event)?;
        let core = native.core();
        if !core.is_dialing() {
            return Ok(native);
        }
        let options = ConnectOptions {
            local_connection: opts.local_connection,
            fast_open: opts.fast_open,
        };
        // the questions reach the connection only while it is alive (no cycle through the dial)
        let weak = Arc::downgrade(core);
        let holepunch = (opts.holepunch_veto == Some(true)).then(|| {
            let weak = weak.clone();
            crate::veto::holepunch_veto(core.questions(), move |id, veto| {
                weak.upgrade().is_some_and(|c| c.ask_veto(id, veto))
            })
        });
        let relayer = (opts.relays == Some(true)).then(|| {
            let weak = weak.clone();
            core.relays().relayer(Arc::new(move |ev| {
                weak.upgrade().is_some_and(|c| c.relay_event(ev))
            }))
        });
        let relay_through = match opts.relay_through.as_deref() {
            None => None,
            Some(k) => Some(<[u8; 32]>::try_from(k).map_err(|_| {
                Error::new(Status::InvalidArg, "relayThrough must be a 32-byte key")
            })?),
        };
        let noise = external.then(|| {
            let weak = weak.clone();
            crate::noise::client_noise(core.noise_questions(), move |ev| {
                weak.upgrade().is_some_and(|c| c.ask_noise(ev))
            })
        });
        let lan_ping = (opts.lan_ping == Some(true)).then(|| {
            crate::veto::lan_ping(core.questions(), move |id, addr| {
                weak.upgrade().is_some_and(|c| c.ask_lan_ping(id, addr))
            })
        });
        let extras = ConnectExtras {
            relay_addresses: opts
                .relay_addresses
                .iter()
                .filter_map(|a| parse_addr(a).ok())
                .collect(),
            reusable_socket: opts.reusable_socket,
            holepunch,
            lan_ping,
            relay_through,
            relayer,
            noise,
        };
        let (hyper, udx) = (self.hyper.clone(), self.udx.clone());
        let conn_core = core.clone();
        // a dial aborted by its node's destroy() fails as hyperdht's connect does when its
        // FIND_PEER query dies with the node: PEER_NOT_FOUND (later stages give
        // PEER_CONNECTION_FAILED or HOLEPUNCH_ABORTED there, by timing); a dial aborted by its own
        // stream's destroy() has nobody left to tell
        let aborted = || hyperdht_core::ConnectError::PeerNotFound.to_string();
        native.run_dial(async move {
            tokio::select! {
                biased;
                _ = dial.aborted() => return Err(aborted()),
                _ = dial.started() => {}
            }
            tokio::select! {
                biased;
                _ = dial.aborted() => Err(aborted()),
                r = hyper.connect_with_extras(&udx, &kp, pk, options, extras) => {
                    if let Ok(c) = &r {
                        conn_core.set_path(hyper.path_info(c.get_ref().local_id()));
                    }
                    r.map_err(|e| e.to_string())
                }
            }
        });
        Ok(native)
    }

    /// Closes sockets, fails pending work, then releases the event callback so Node can exit.
    #[napi(catch_unwind)]
    pub async fn destroy(&self, _force: bool) -> Result<()> {
        self.close_objects();
        self.dht.destroy().await;
        // the JS thread's receiver lets go of the socket a few loop turns after the node
        // stopped: resolving only then frees the port for a node started right after
        let released = self
            .socket_released
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(released) = released {
            let _ = released.await;
        }
        self.sink.close();
        Ok(())
    }
}
