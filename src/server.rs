//! `NativeServer`: the native half of hyperdht's `Server` (lib/server.js), one per JS server:
//! `listen` with its options, relay addresses, refresh, suspend/resume and close. Its events go
//! to the callback `listen()` was given (released again on close): accepted connections (each a
//! `NativeConnection` the JS server wraps and starts), and the questions for its `firewall` and
//! `holepunch` functions.
//!
//! The firewall runs in JS (it may be sync or async): the engine's firewall future emits a
//! `firewall` event carrying a question id and waits until JS answers through
//! `firewallReply(id, reject)`. A question JS never answers (a throwing firewall, a closed
//! server) rejects the handshake after [`FIREWALL_TIMEOUT`], so a peer can never pin state.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use hyperdht_core::noise_payload::NoisePayload;
use hyperdht_core::server::{AnnounceSigner, SignRequest};
use hyperdht_core::{FirewallFn, HyperDht, ListenExtras, ListenOptions};
use hyperdht_crypto::KeyPair;
use hyperdht_udx::UdxSocket;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

use crate::connection::{Conns, JsConnectionInfo, NativeConnection};
use crate::dht::{addr_js, key_pair_of, public_only, reason, JsKeyPairArg, NativeDht};
use crate::events::{JsAddress, Sink};
use crate::live::Live;
use crate::noise::{JsNoiseAnswer, NoiseQuestions, NoiseStep};
use crate::questions::JsQuestions;
use crate::relay::{JsRelayRequest, RelayAsks, RelayEvent, Relays};
use crate::supervise::spawn_supervised;
use crate::veto::JsHolepunchInfo;

/// How long a handshake waits for JS's firewall answer before it is rejected (hyperdht itself
/// waits forever; the client gives up after its own handshake timeout long before this).
const FIREWALL_TIMEOUT: Duration = Duration::from_secs(20);
/// After `close()`, how long connections the engine accepted before it (handshake answered,
/// stream connecting) may still reach JS before the server's events close for good.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

/// Events of one listening server (`{type: 'connection', connection, info}`, ...).
#[napi(
    discriminant = "type",
    discriminant_case = "kebab-case",
    object_from_js = false
)]
pub enum JsServerEvent {
    /// an accepted connection: wrap it and `start()` it (or `destroy()` it)
    Connection {
        connection: NativeConnection,
        info: JsConnectionInfo,
    },
    /// a handshake asks the server's firewall (answer with `firewallReply(id, reject)`)
    Firewall {
        id: u32,
        remote_public_key: Buffer,
        remote_host: String,
        remote_port: u32,
        payload: JsNoisePayload,
    },
    /// the server's `holepunch` function is asked (answer with `holepunchReply(id, allow)`)
    HolepunchVeto { id: u32, veto: JsHolepunchInfo },
    /// the server's `relayThrough` function is asked (answer with `relayThroughReply(id, key)`)
    RelayThrough { id: u32 },
    /// pair a handshake's stream through a blind relay (answer with `relayReply`)
    Relay { request: JsRelayRequest },
    /// the relay connection of pairing `id` is no longer needed: end it
    RelayClose { id: u32 },
    /// `createHandshake`: a new handshake object for handshake `handshake` reads the client's
    /// message 1; answer with `noiseReply(id, {payload, remotePublicKey})`
    NoiseRecv {
        id: u32,
        handshake: f64,
        noise: Buffer,
    },
    /// `createHandshake`: handshake `handshake`'s object writes message 2 carrying `payload`
    /// (an encoded `noisePayload`); answer with `noiseReply(id, {noise, ...final()})`
    NoiseSend {
        id: u32,
        handshake: f64,
        payload: Buffer,
    },
    /// `listen(keyPair, {signAnnounce, signUnannounce})`: sign an (un)announce to node
    /// `nodeId`; answer with `signReply(id, signature)`
    Sign {
        id: u32,
        target: Buffer,
        token: Buffer,
        node_id: Buffer,
        unannounce: bool,
    },
}

/// The app's announce signer: asks JS through the server's events.
fn signer(questions: &JsQuestions<[u8; 64]>, sink: ServerSink) -> AnnounceSigner {
    let questions = questions.clone();
    Arc::new(move |r: SignRequest| {
        let (id, answer) = questions.ask(FIREWALL_TIMEOUT);
        let asked = sink.emit(JsServerEvent::Sign {
            id,
            target: r.target.to_vec().into(),
            token: r.token.to_vec().into(),
            node_id: r.node_id.to_vec().into(),
            unannounce: r.unannounce,
        });
        if !asked {
            questions.forget(id);
        }
        Box::pin(answer)
    })
}

/// The sink of a listening server's events.
type ServerSink = Arc<Sink<JsServerEvent>>;

/// The engine-side firewall: asks JS through the server's events and waits for its answer.
fn firewall(questions: &JsQuestions, sink: ServerSink) -> FirewallFn {
    let questions = questions.clone();
    Arc::new(move |remote_public_key, payload, client| {
        let (id, answer) = questions.ask(FIREWALL_TIMEOUT);
        let asked = sink.emit(JsServerEvent::Firewall {
            id,
            remote_public_key: remote_public_key.to_vec().into(),
            remote_host: client.ip().to_string(),
            remote_port: u32::from(client.port()),
            payload: js_payload(&payload),
        });
        if !asked {
            questions.forget(id);
        }
        // no answer (timeout, server closed) = reject
        Box::pin(async move { answer.await != Some(false) })
    })
}

/// hyperdht's decoded `remotePayload` as the firewall sees it (lib/messages.js noisePayload).
#[napi(object)]
#[derive(Default)]
pub struct JsNoisePayload {
    pub version: u32,
    pub error: u32,
    pub firewall: u32,
    pub addresses4: Vec<JsAddress>,
    pub udx: Option<JsUdxInfo>,
    /// `secretStream.version`, when present
    pub secret_stream: Option<u32>,
    pub relay_addresses: Option<Vec<JsAddress>>,
    pub holepunch_id: Option<u32>,
}

/// One entry of `server._holepunches` (hyperdht's handshake state object, the fields it shows).
#[napi(object)]
pub struct JsHolepunch {
    pub round: f64,
    pub aborted: bool,
    pub relay_paired: bool,
}

#[napi(object)]
pub struct JsUdxInfo {
    pub version: u32,
    pub reusable_socket: bool,
    pub id: u32,
    pub seq: u32,
}

fn small(v: u64) -> u32 {
    v.min(u64::from(u32::MAX)) as u32
}

fn js_payload(p: &NoisePayload) -> JsNoisePayload {
    JsNoisePayload {
        version: small(p.version),
        error: small(p.error),
        firewall: small(p.firewall),
        addresses4: p.addresses4.iter().map(|a| addr_js(*a)).collect(),
        udx: p.udx.as_ref().map(|u| JsUdxInfo {
            version: small(u.version),
            reusable_socket: u.reusable_socket,
            id: small(u.id),
            seq: small(u.seq),
        }),
        secret_stream: p.secret_stream.map(small),
        relay_addresses: p
            .relay_addresses
            .as_ref()
            .map(|v| v.iter().map(|a| addr_js(*a)).collect()),
        holepunch_id: p.holepunch.as_ref().map(|h| small(h.id)),
    }
}

/// A `relayThrough` key from JS.
fn relay_key(key: Option<&[u8]>) -> Result<Option<[u8; 32]>> {
    key.map(|k| {
        <[u8; 32]>::try_from(k)
            .map_err(|_| Error::new(Status::InvalidArg, "relayThrough must be a 32-byte key"))
    })
    .transpose()
}

/// Asks JS's `relayThrough` function through a `relay-through` event.
fn relay_ask_fn(core: &ServerCore, sink: &ServerSink) -> hyperdht_core::RelayAskFn {
    let sink = sink.clone();
    core.relay_asks.ask_fn(Arc::new(move |id| {
        sink.emit(JsServerEvent::RelayThrough { id })
    }))
}

/// `reusableSocket` and the relay options of `createServer(opts)`.
fn relay_extras(
    core: &ServerCore,
    opts: &JsListenOptions,
    sink: &ServerSink,
) -> Result<ListenExtras> {
    let relay_through = relay_key(opts.relay_through.as_deref())?;
    let relayer = (opts.relays == Some(true)).then(|| {
        let sink = sink.clone();
        core.relays.relayer(Arc::new(move |ev| {
            sink.emit(match ev {
                RelayEvent::Pair(request) => JsServerEvent::Relay { request },
                RelayEvent::Close(id) => JsServerEvent::RelayClose { id },
            })
        }))
    });
    let relay_ask = (opts.relay_ask == Some(true)).then(|| relay_ask_fn(core, sink));
    let noise = (opts.external_handshake == Some(true)).then(|| {
        let sink = sink.clone();
        crate::noise::server_noise(&core.noise, move |ev| {
            let (id, handshake, data) = (ev.id, ev.handshake as f64, ev.data.into());
            sink.emit(match ev.step {
                NoiseStep::Recv => JsServerEvent::NoiseRecv {
                    id,
                    handshake,
                    noise: data,
                },
                NoiseStep::Send => JsServerEvent::NoiseSend {
                    id,
                    handshake,
                    payload: data,
                },
            })
        })
    });
    let signer = (opts.sign == Some(true)).then(|| signer(&core.signs, sink.clone()));
    Ok(ListenExtras {
        reusable_socket: opts.reusable_socket,
        relay_through,
        relay_ask,
        relayer,
        noise,
        signer,
    })
}

/// `createServer(opts)` options that reach the engine.
#[napi(object)]
pub struct JsListenOptions {
    /// JS has a firewall function: ask it about every handshake
    pub firewall: bool,
    /// `holepunch !== false`
    pub holepunch: bool,
    /// `shareLocalAddress !== false`
    pub share_local_address: bool,
    /// `reusableSocket`
    pub reusable_socket: bool,
    /// JS has a `holepunch` function: ask it before punching back
    pub holepunch_veto: bool,
    /// `relayThrough` as a key
    pub relay_through: Option<Buffer>,
    /// `relayThrough` is a function: ask it per handshake through `relay-through` events
    pub relay_ask: Option<bool>,
    /// relays are paired through the server's `relay` events (always in lib/server.js)
    pub relays: Option<bool>,
    /// `createHandshake`: the Noise messages are asked through `noise-recv` / `noise-send`
    /// events; the key pair needs no secret key
    pub external_handshake: Option<bool>,
    /// `listen(keyPair, {signAnnounce, signUnannounce})`: announces are signed in JS through
    /// `sign` events; the key pair needs no secret key
    pub sign: Option<bool>,
}

pub(crate) type Servers = Arc<Live<ServerCore>>;

/// One server's shared state (the JS server's `NativeServer`, its accept loop, the node's
/// list of listening servers).
pub(crate) struct ServerCore {
    hyper: HyperDht,
    udx: UdxSocket,
    conns: Conns,
    servers: Weak<Live<ServerCore>>,
    questions: JsQuestions,
    /// `createHandshake` questions (src/noise.rs)
    noise: NoiseQuestions,
    /// signatures asked of the app's `signAnnounce` / `signUnannounce`
    signs: JsQuestions<[u8; 64]>,
    relays: Relays,
    relay_asks: RelayAsks,
    listening: Mutex<Option<Listening>>,
    /// `close()` reached a running accept loop: it delivers what is queued, then closes the sink
    accept_stop: tokio::sync::Notify,
}

struct Listening {
    /// the id in the node's list of servers
    id: u64,
    key_pair: KeyPair,
    sink: ServerSink,
    /// the app signs: its events stay open until a close has unannounced
    signing: bool,
    /// the accept loop runs and closes the sink itself once stopped
    accepting: bool,
}

impl ServerCore {
    /// The engine's `firewall` and `holepunch` veto callbacks for the asks JS wants: each asks
    /// JS through this server's events.
    fn asks(
        &self,
        sink: &ServerSink,
        firewall: bool,
        holepunch_veto: bool,
    ) -> (Option<FirewallFn>, Option<hyperdht_core::HolepunchVeto>) {
        let fw = firewall.then(|| crate::server::firewall(&self.questions, sink.clone()));
        let veto_sink = sink.clone();
        let veto = holepunch_veto.then(|| {
            crate::veto::holepunch_veto(&self.questions, move |id, veto| {
                veto_sink.emit(JsServerEvent::HolepunchVeto { id, veto })
            })
        });
        (fw, veto)
    }

    fn listening(&self) -> MutexGuard<'_, Option<Listening>> {
        self.listening.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn public_key(&self) -> Option<[u8; 32]> {
        self.listening().as_ref().map(|l| l.key_pair.public_key)
    }

    /// The key listened with and the event sink, while listening.
    fn listening_key_and_sink(&self) -> Option<([u8; 32], ServerSink)> {
        self.listening()
            .as_ref()
            .map(|l| (l.key_pair.public_key, l.sink.clone()))
    }

    /// Stops delivering events (close, node destroyed): the event callback is released and
    /// pending questions count as unanswered. Returns the key pair it listened with.
    pub(crate) fn stop(&self) -> Option<KeyPair> {
        let l = self.listening().take()?;
        if l.accepting {
            self.accept_stop.notify_one();
        } else {
            l.sink.close();
        }
        self.questions.clear();
        self.noise.clear();
        self.signs.clear();
        self.relays.clear();
        self.relay_asks.clear();
        if let Some(s) = self.servers.upgrade() {
            s.remove(l.id);
        }
        Some(l.key_pair)
    }
}

#[napi]
pub struct NativeServer {
    core: Arc<ServerCore>,
}

#[napi]
impl NativeDht {
    /// `dht.createServer()`: a server that is not listening yet.
    #[napi(catch_unwind)]
    pub fn create_server(&self) -> NativeServer {
        NativeServer {
            core: Arc::new(ServerCore {
                hyper: self.hyper.clone(),
                udx: self.udx.clone(),
                conns: self.conns.clone(),
                servers: Arc::downgrade(&self.servers),
                questions: JsQuestions::default(),
                noise: NoiseQuestions::default(),
                signs: JsQuestions::default(),
                relays: Relays::default(),
                relay_asks: RelayAsks::default(),
                listening: Mutex::new(None),
                accept_stop: tokio::sync::Notify::new(),
            }),
        }
    }
}

#[napi]
impl NativeServer {
    /// `server.listen(keyPair)`: announces; events go to `onEvent` until `close()`.
    #[napi(catch_unwind)]
    pub async fn listen(
        &self,
        key_pair: JsKeyPairArg,
        opts: JsListenOptions,
        on_event: ThreadsafeFunction<JsServerEvent, (), JsServerEvent, Status, false>,
    ) -> Result<()> {
        let core = &self.core;
        let external = opts.external_handshake == Some(true) || opts.sign == Some(true);
        let kp = if external && key_pair.secret_key.is_none() {
            public_only(&key_pair)?
        } else {
            key_pair_of(&key_pair)?
        };
        let sink: ServerSink = Arc::new(Sink::from_fn(on_event));
        let servers = core
            .servers
            .upgrade()
            .ok_or_else(|| Error::from_reason("NODE_DESTROYED: Node destroyed"))?;
        let id = {
            let mut l = core.listening();
            if l.is_some() {
                return Err(Error::from_reason("ALREADY_LISTENING: Already listening"));
            }
            let id = servers
                .add(core.clone())
                .ok_or_else(|| Error::from_reason("NODE_DESTROYED: Node destroyed"))?;
            *l = Some(Listening {
                id,
                key_pair: kp.clone(),
                sink: sink.clone(),
                signing: opts.sign == Some(true),
                accepting: false,
            });
            id
        };
        let (firewall, holepunch_veto) = core.asks(&sink, opts.firewall, opts.holepunch_veto);
        let options = ListenOptions {
            firewall,
            holepunch: opts.holepunch,
            share_local_address: opts.share_local_address,
            holepunch_veto,
        };
        let listened = core
            .hyper
            .listen_with_extras(
                core.udx.clone(),
                &kp,
                options,
                relay_extras(core, &opts, &sink)?,
            )
            .await;
        let mut rx = match listened {
            Ok(rx) => rx,
            Err(e) => {
                core.stop();
                return Err(reason(e));
            }
        };
        let conns = core.conns.clone();
        let hyper = core.hyper.clone();
        let events = sink.clone();
        let deliver = move |conn: hyperdht_core::server::Connection| {
            let path = hyper.path_info(conn.get_ref().local_id());
            if let Some((connection, info)) = NativeConnection::accepted(&conns, conn) {
                connection.core().set_path(path);
                // not delivered (sink closed): dropping it destroys the connection
                sink.emit(JsServerEvent::Connection { connection, info });
            }
        };
        let still = match core.listening().as_mut() {
            Some(l) if l.id == id => {
                l.accepting = true;
                true
            }
            _ => false,
        };
        if !still {
            // close() ran while the engine took the key, and its unlisten may have come first:
            // without this the engine would answer handshakes for the closed server
            core.hyper.unlisten(&kp).await;
            return Ok(());
        }
        let owner = core.clone();
        let accept = async move {
            let stopped = loop {
                tokio::select! {
                    c = rx.recv() => match c {
                        Some(conn) => deliver(conn),
                        None => break false,
                    },
                    _ = owner.accept_stop.notified() => {
                        // hyperdht emits a connection as soon as its stream connects, so one
                        // that connected before close() still reaches the app; the channel
                        // ends once the engine forgot the key (close's unlisten)
                        let drain = async {
                            while let Some(conn) = rx.recv().await {
                                deliver(conn);
                            }
                        };
                        let _ = tokio::time::timeout(CLOSE_DRAIN, drain).await;
                        break true;
                    }
                }
            };
            // the channel ended first (a signing server's close unlistens before it stops, and
            // its unannounce signatures still need the events): stop() closes them; unless it
            // already ran, counting on this loop
            let close = stopped
                || match owner.listening().as_mut() {
                    Some(l) => {
                        l.accepting = false;
                        false
                    }
                    None => true,
                };
            if close {
                events.close();
            }
        };
        // nothing to tell JS if this loop panicked (hyperdht servers have no error event; the
        // panic hook printed it): connections then stop arriving, as if the server was closed
        spawn_supervised(accept, |_| {}, false);
        Ok(())
    }

    /// JS's answer to a `firewall` event.
    #[napi(catch_unwind)]
    pub fn firewall_reply(&self, id: u32, reject: bool) {
        self.core.questions.answer(id, reject);
    }

    /// JS's answer to a `relay-through` event (the relay key its function chose, or null).
    #[napi(catch_unwind)]
    pub fn relay_through_reply(&self, id: u32, key: Option<Buffer>) {
        let key = key.and_then(|k| <[u8; 32]>::try_from(k.as_ref()).ok());
        self.core.relay_asks.answer(id, key);
    }

    /// JS paired relay request `id` (see `NativeConnection.relayReply`).
    #[napi(catch_unwind)]
    pub fn relay_reply(
        &self,
        id: u32,
        relay_host: Option<String>,
        relay_port: u32,
        remote_id: u32,
    ) -> bool {
        self.core
            .relays
            .reply(id, relay_host, relay_port, remote_id)
    }

    /// JS's answer to a `noise-recv` / `noise-send` event (`null`: the handshake object threw).
    #[napi(catch_unwind)]
    pub fn noise_reply(&self, id: u32, answer: Option<JsNoiseAnswer>) {
        self.core.noise.answer(id, answer);
    }

    /// JS's answer to a `holepunch-veto` event.
    #[napi(catch_unwind)]
    pub fn holepunch_reply(&self, id: u32, allow: bool) {
        self.core.questions.answer(id, allow);
    }

    /// `server.close()`: stops accepting and unannounces; no events after this.
    #[napi(catch_unwind)]
    pub async fn close(&self) {
        let signing = self
            .core
            .listening()
            .as_ref()
            .and_then(|l| l.signing.then(|| l.key_pair.clone()));
        if let Some(kp) = signing {
            // the app signs the unannounces: its events stay open until they are out
            self.core.hyper.unlisten(&kp).await;
            self.core.stop();
        } else if let Some(kp) = self.core.stop() {
            self.core.hyper.unlisten(&kp).await;
        }
    }

    /// JS's answer to a `sign` event (the 64-byte signature; anything else: it failed).
    #[napi(catch_unwind)]
    pub fn sign_reply(&self, id: u32, signature: Option<Buffer>) {
        match signature.and_then(|s| <[u8; 64]>::try_from(s.as_ref()).ok()) {
            Some(sig) => {
                self.core.signs.answer(id, sig);
            }
            None => self.core.signs.forget(id),
        }
    }

    /// `server.relayAddresses`: the nodes our announcement currently sits on.
    #[napi(catch_unwind)]
    pub fn relay_addresses(&self) -> Vec<JsAddress> {
        self.core
            .public_key()
            .map(|pk| self.core.hyper.relay_addresses(&pk))
            .unwrap_or_default()
            .into_iter()
            .map(addr_js)
            .collect()
    }

    /// `server._holepunches`: the handshake slots by id, `null` where free.
    #[napi(catch_unwind)]
    pub fn holepunches(&self) -> Vec<Option<JsHolepunch>> {
        let Some(pk) = self.core.public_key() else {
            return Vec::new();
        };
        self.core
            .hyper
            .server_holepunches(&pk)
            .into_iter()
            .map(|v| {
                v.map(|v| JsHolepunch {
                    round: v.round as f64,
                    aborted: v.aborted,
                    relay_paired: v.relay_paired,
                })
            })
            .collect()
    }

    /// `server.firewall` / `server.holepunch` assigned while listening: whether the engine asks
    /// JS from now on (hyperdht reads both per handshake).
    #[napi(catch_unwind)]
    pub fn set_asks(&self, firewall: bool, holepunch_veto: bool) {
        let Some((pk, sink)) = self.core.listening_key_and_sink() else {
            return;
        };
        let (fw, veto) = self.core.asks(&sink, firewall, holepunch_veto);
        self.core.hyper.set_server_callbacks(&pk, fw, veto);
    }

    /// `server.relayThrough = ...` while listening: a key, or `ask` for a function (answered
    /// per handshake through `relay-through` events), or neither for no relay.
    #[napi(catch_unwind)]
    pub fn set_relay_through(&self, key: Option<Buffer>, ask: bool) -> Result<()> {
        let key = relay_key(key.as_deref())?;
        let Some((pk, sink)) = self.core.listening_key_and_sink() else {
            return Ok(());
        };
        let ask = ask.then(|| relay_ask_fn(&self.core, &sink));
        self.core.hyper.set_server_relay(&pk, key, ask);
        Ok(())
    }

    /// `server.refresh()`: re-announce now.
    #[napi(catch_unwind)]
    pub fn refresh(&self) {
        if let Some(pk) = self.core.public_key() {
            self.core.hyper.refresh(&pk);
        }
    }

    /// `server.suspend()` / `server.resume()`.
    #[napi(catch_unwind)]
    pub async fn suspend(&self, suspend: bool) {
        let Some(pk) = self.core.public_key() else {
            return;
        };
        if suspend {
            self.core.hyper.suspend_server(&pk).await;
        } else {
            self.core.hyper.resume_server(&pk).await;
        }
    }
}
