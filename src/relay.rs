//! Blind-relay pairings through JS. The engine asks for a pairing (`Relayer`); the owning
//! object (a connection for its dial, a server for its handshakes) emits a `relay` event with
//! an id, JS pairs with the npm `blind-relay` client over `dht.connect(relayKey)` (lib/relay.js)
//! and answers `relayReply(id, relayConnection, remoteId)`: the stream is then connected to the
//! relay node's stream `remoteId` at the relay connection's remote address. When the engine no
//! longer needs that relay connection (the pairing was abandoned, failed, or a direct path
//! replaced it), a `relay-close` event with the same id tells JS to end it; JS also ends it
//! when the connection it serves closes.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::questions::JsQuestions;
use hyperdht_core::{RelayLink, RelayPaired, RelayRequest, Relayer};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

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

/// Pairings waiting for JS's answer (the relay's stream for us), keyed by id. Cheap to clone.
#[derive(Default, Clone)]
pub(crate) struct Relays(JsQuestions<(SocketAddr, u32)>);

impl Relays {
    /// `relayReply(id, relayHost, relayPort, remoteId)` from JS (`relayHost` null: failed).
    /// False when nobody waits for it any more (JS then ends that relay connection itself).
    pub(crate) fn reply(&self, id: u32, host: Option<String>, port: u32, remote_id: u32) -> bool {
        match relay_target(host, port, remote_id) {
            Some(p) => self.0.answer(id, p),
            None => {
                self.0.forget(id);
                false
            }
        }
    }

    /// Drops every pairing still waiting (the object closed).
    pub(crate) fn clear(&self) {
        self.0.clear();
    }

    /// The engine's relayer for an object whose events go through `emit`.
    pub(crate) fn relayer(&self, emit: Emit) -> Relayer {
        let relays = self.0.clone();
        Relayer(Arc::new(move |req: RelayRequest| {
            let (id, rx) = relays.register();
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
                relays.forget(id);
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
pub(crate) struct RelayAsks(JsQuestions<Option<[u8; 32]>>);

/// How long a handshake waits for JS's `relayThrough` answer before going on without a relay.
const ASK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl RelayAsks {
    pub(crate) fn answer(&self, id: u32, key: Option<[u8; 32]>) {
        self.0.answer(id, key);
    }

    pub(crate) fn clear(&self) {
        self.0.clear();
    }

    /// The engine's `relayThrough` function for an object whose question events go through
    /// `emit(id)`.
    pub(crate) fn ask_fn(
        &self,
        emit: Arc<dyn Fn(u32) -> bool + Send + Sync>,
    ) -> hyperdht_core::RelayAskFn {
        let asks = self.0.clone();
        Arc::new(move || {
            let (id, answer) = asks.ask(ASK_TIMEOUT);
            if !emit(id) {
                asks.forget(id);
            }
            Box::pin(async move { answer.await.flatten() })
        })
    }
}
