//! The native half of hyperdht's `Server` (lib/server.js): `listen` with its options, the
//! `firewall(remotePublicKey, remotePayload, clientAddress)` round trip to JS, relay addresses,
//! refresh, suspend/resume and close.
//!
//! The firewall runs in JS (it may be sync or async): the engine's firewall future emits one
//! `server-firewall` event carrying a request id and waits on a oneshot that JS completes through
//! `firewallReply(id, reject)`. A request JS never answers (a throwing firewall, a DHT that is
//! destroyed) rejects the handshake after [`FIREWALL_TIMEOUT`], so a peer can never pin state.

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyperdht_core::noise_payload::NoisePayload;
use hyperdht_core::{FirewallFn, ListenExtras, ListenOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio::sync::oneshot;

use crate::conn;
use crate::dht::{addr_js, emit, key_pair_of, reason, JsKeyPairArg, NativeDht, Sink};
use crate::events::{JsAddress, JsEvent};

/// How long a handshake waits for JS's firewall answer before it is rejected (hyperdht itself
/// waits forever; the client gives up after its own handshake timeout long before this).
const FIREWALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Yes/no questions waiting for JS (firewall, holepunch veto), keyed by request id.
#[derive(Default, Clone)]
pub(crate) struct JsQuestions {
    next: Arc<AtomicU32>,
    pending: Arc<Mutex<HashMap<u32, oneshot::Sender<bool>>>>,
}

impl JsQuestions {
    /// Answers question `id` (for the firewall: true = reject). Unknown ids are ignored.
    pub(crate) fn answer(&self, id: u32, value: bool) {
        let tx = self.pending.lock().ok().and_then(|mut m| m.remove(&id));
        if let Some(tx) = tx {
            let _ = tx.send(value);
        }
    }

    /// Rejects everything still waiting (DHT destroy).
    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.pending.lock() {
            m.clear();
        }
    }

    /// Registers a question for JS: its id, and a future resolving to JS's answer (`None`
    /// when JS does not answer within `timeout` or the question was dropped on destroy).
    pub(crate) fn ask(
        &self,
        timeout: Duration,
    ) -> (u32, impl std::future::Future<Output = Option<bool>>) {
        let (tx, rx) = oneshot::channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.pending.lock() {
            m.insert(id, tx);
        }
        let pending = self.pending.clone();
        (id, async move {
            let answer = tokio::time::timeout(timeout, rx).await;
            if let Ok(mut m) = pending.lock() {
                m.remove(&id);
            }
            answer.ok().and_then(|a| a.ok())
        })
    }

    /// The engine-side firewall for server `sid`: asks JS and waits for its answer.
    fn callback(&self, sid: u32, sink: Sink) -> FirewallFn {
        let me = self.clone();
        Arc::new(move |remote_public_key, payload, client| {
            let (id, answer) = me.ask(FIREWALL_TIMEOUT);
            emit(
                &sink,
                JsEvent {
                    sid: Some(sid),
                    fid: Some(id),
                    remote_public_key: Some(remote_public_key.to_vec().into()),
                    remote_host: Some(client.ip().to_string()),
                    remote_port: Some(u32::from(client.port())),
                    payload: Some(js_payload(&payload)),
                    ..JsEvent::named("server-firewall")
                },
            );
            // no answer (timeout, dropped on destroy) = reject
            Box::pin(async move { answer.await != Some(false) })
        })
    }
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
}

fn public_key(b: &[u8]) -> Result<[u8; 32]> {
    b.try_into()
        .map_err(|_| Error::new(Status::InvalidArg, "publicKey must be 32 bytes"))
}

#[napi]
impl NativeDht {
    /// `server.listen(keyPair)`: announces; each accepted connection arrives as a `conn-open`
    /// event carrying `sid`.
    #[napi(catch_unwind)]
    pub async fn listen(
        &self,
        sid: u32,
        key_pair: JsKeyPairArg,
        opts: JsListenOptions,
    ) -> Result<()> {
        let kp = key_pair_of(&key_pair)?;
        let options = ListenOptions {
            firewall: opts
                .firewall
                .then(|| self.questions.callback(sid, self.sink.clone())),
            holepunch: opts.holepunch,
            share_local_address: opts.share_local_address,
            holepunch_veto: opts.holepunch_veto.then(|| {
                crate::veto::holepunch_veto(&self.questions, self.sink.clone(), Some(sid), None)
            }),
        };
        let mut rx = self
            .hyper
            .listen_with_extras(
                self.udx.clone(),
                &kp,
                options,
                ListenExtras {
                    reusable_socket: opts.reusable_socket,
                },
            )
            .await
            .map_err(reason)?;
        let (conns, sink, next) = (self.conns.clone(), self.sink.clone(), self.next_cid.clone());
        tokio::spawn(async move {
            while let Some(conn) = rx.recv().await {
                let cid = next.fetch_add(1, Ordering::Relaxed);
                conn::spawn_connection(&conns, sink.clone(), cid, Some(sid), conn);
            }
        });
        Ok(())
    }

    /// JS's answer to a `server-firewall` event.
    #[napi(catch_unwind)]
    pub fn firewall_reply(&self, id: u32, reject: bool) {
        self.questions.answer(id, reject);
    }

    /// `server.close()`: stops accepting and unannounces.
    #[napi(catch_unwind)]
    pub async fn unlisten(&self, key_pair: JsKeyPairArg) -> Result<()> {
        let kp = key_pair_of(&key_pair)?;
        self.hyper.unlisten(&kp).await;
        Ok(())
    }

    /// `server.relayAddresses`: the nodes our announcement currently sits on.
    #[napi(catch_unwind)]
    pub fn server_relay_addresses(&self, public_key_buf: &[u8]) -> Result<Vec<JsAddress>> {
        let pk = public_key(public_key_buf)?;
        let relays: Vec<SocketAddrV4> = self.hyper.relay_addresses(&pk);
        Ok(relays.into_iter().map(addr_js).collect())
    }

    /// `server.refresh()`: re-announce now.
    #[napi(catch_unwind)]
    pub fn server_refresh(&self, public_key_buf: &[u8]) -> Result<()> {
        self.hyper.refresh(&public_key(public_key_buf)?);
        Ok(())
    }

    /// `server.suspend()` / `server.resume()`.
    #[napi(catch_unwind)]
    pub async fn server_suspend(&self, public_key_buf: Buffer, suspend: bool) -> Result<()> {
        let pk = public_key(&public_key_buf)?;
        if suspend {
            self.hyper.suspend_server(&pk).await;
        } else {
            self.hyper.resume_server(&pk).await;
        }
        Ok(())
    }
}
