//! Blind-relay pairings through JS. The engine asks for a pairing (`Relayer`); the owning
//! object (a connection for its dial, a server for its handshakes) emits a `relay` event with
//! an id, JS pairs with the npm `blind-relay` client over `dht.connect(relayKey)` (lib/relay.js)
//! and answers `relayReply(id, relayConnection, remoteId)`: the stream is then connected to the
//! relay node's stream `remoteId` at the relay connection's remote address. When the engine no
//! longer needs that relay connection (the pairing was abandoned, failed, or a direct path
//! replaced it), a `relay-close` event with the same id tells JS to end it; JS also ends it
//! when the connection it serves closes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use hyperdht_core::{RelayLink, RelayPaired, RelayRequest, Relayer};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use tokio::sync::oneshot;

/// A pairing request as JS sees it.
#[napi(object)]
pub struct JsRelayRequest {
    pub id: u32,
    pub is_initiator: bool,
    /// the relay node's key
    pub public_key: Buffer,
    pub token: Buffer,
    /// the id of the stream to pair (`pair(isInitiator, token, {id})`)
    pub stream_id: u32,
}

/// What an object's relay events say.
pub(crate) enum RelayEvent {
    Pair(JsRelayRequest),
    Close(u32),
}

type Emit = Arc<dyn Fn(RelayEvent) -> bool + Send + Sync>;

/// Answers JS still owes, by id.
type Pending<T> = Arc<Mutex<HashMap<u32, oneshot::Sender<T>>>>;

/// Pairings waiting for JS's answer, keyed by id. Cheap to clone (shared).
#[derive(Default, Clone)]
pub(crate) struct Relays {
    next: Arc<AtomicU32>,
    pending: Pending<(SocketAddr, u32)>,
}

impl Relays {
    /// JS paired `id`: the relay's stream for us is `remote_id` at `addr`. False when nobody
    /// waits for it any more (JS then ends that relay connection itself).
    pub(crate) fn answer(&self, id: u32, paired: Option<(SocketAddr, u32)>) -> bool {
        let tx = self.pending.lock().ok().and_then(|mut m| m.remove(&id));
        match (tx, paired) {
            (Some(tx), Some(p)) => tx.send(p).is_ok(),
            _ => false,
        }
    }

    /// `relayReply(id, relayHost, relayPort, remoteId)` from JS (`relayHost` null: failed).
    pub(crate) fn reply(&self, id: u32, host: Option<String>, port: u32, remote_id: u32) -> bool {
        self.answer(id, relay_target(host, port, remote_id))
    }

    /// Drops every pairing still waiting (the object closed).
    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.pending.lock() {
            m.clear();
        }
    }

    /// The engine's relayer for an object whose events go through `emit`.
    pub(crate) fn relayer(&self, emit: Emit) -> Relayer {
        let relays = self.clone();
        Relayer(Arc::new(move |req: RelayRequest| {
            let id = relays.next.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            if let Ok(mut m) = relays.pending.lock() {
                m.insert(id, tx);
            }
            let asked = emit(RelayEvent::Pair(JsRelayRequest {
                id,
                is_initiator: req.is_initiator,
                public_key: req.public_key.to_vec().into(),
                token: req.token.to_vec().into(),
                stream_id: req.stream_id,
            }));
            // until paired, dropping the pairing (or its failing) ends JS's relay connection
            let link = RelayLink::new({
                let emit = emit.clone();
                move || {
                    emit(RelayEvent::Close(id));
                }
            });
            if !asked {
                relays.answer(id, None);
            }
            Box::pin(async move {
                let (addr, remote_id) = rx.await.ok()?;
                Some(RelayPaired {
                    addr,
                    remote_id,
                    link,
                })
            })
        }))
    }
}

/// The relay node's stream for us, from `relayReply`'s arguments (`None`: the pairing failed).
fn relay_target(host: Option<String>, port: u32, remote_id: u32) -> Option<(SocketAddr, u32)> {
    let ip: std::net::IpAddr = host?.parse().ok()?;
    let port = u16::try_from(port).ok().filter(|p| *p != 0)?;
    Some((SocketAddr::new(ip, port), remote_id))
}

/// `relayThrough` functions asked per handshake: the relay key JS chose, by question id.
#[derive(Default, Clone)]
pub(crate) struct RelayAsks {
    next: Arc<AtomicU32>,
    pending: Pending<Option<[u8; 32]>>,
}

/// How long a handshake waits for JS's `relayThrough` answer before going on without a relay.
const ASK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl RelayAsks {
    pub(crate) fn answer(&self, id: u32, key: Option<[u8; 32]>) {
        let tx = self.pending.lock().ok().and_then(|mut m| m.remove(&id));
        if let Some(tx) = tx {
            let _ = tx.send(key);
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.pending.lock() {
            m.clear();
        }
    }

    /// The engine's `relayThrough` function for an object whose question events go through
    /// `emit(id)`.
    pub(crate) fn ask_fn(
        &self,
        emit: Arc<dyn Fn(u32) -> bool + Send + Sync>,
    ) -> hyperdht_core::RelayAskFn {
        let asks = self.clone();
        Arc::new(move || {
            let id = asks.next.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            if let Ok(mut m) = asks.pending.lock() {
                m.insert(id, tx);
            }
            if !emit(id) {
                asks.answer(id, None);
            }
            let pending = asks.pending.clone();
            Box::pin(async move {
                let key = tokio::time::timeout(ASK_TIMEOUT, rx).await;
                if let Ok(mut m) = pending.lock() {
                    m.remove(&id);
                }
                key.ok().and_then(|k| k.ok()).flatten()
            })
        })
    }
}

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
