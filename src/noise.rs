//! `createHandshake` in JS (hyperdht `lib/noise-wrap.js` objects, e.g. for non-custodial keys):
//! the engine's `ClientNoise` / `ServerNoise` ask the owning JS object (a connection, a server)
//! through `noise-send` / `noise-recv` events carrying a question id and the bytes; JS runs its
//! handshake object and answers with `noiseReply(id, answer)` (`null`: it threw). No answer in
//! [`NOISE_TIMEOUT`] fails that handshake.

use std::time::Duration;

use hyperdht_core::noise_wrap::{
    ClientNoise, ExternalReply, HandshakeResult, ServerNoise, ServerRecv, ServerSend,
};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::questions::JsQuestions;

/// A handshake object may be async (a signer on another device); dht-rpc gives a relayed
/// PEER_HANDSHAKE about this long before the client moves on.
const NOISE_TIMEOUT: Duration = Duration::from_secs(20);

/// What JS answers: `{noise}` for a send; `{payload, ...final()}` for a recv (a client's:
/// `final()` after `recv`; a server's recv answers `{payload, remotePublicKey}` and its send
/// `{noise, ...final()}`).
#[napi(object)]
pub struct JsNoiseAnswer {
    /// the Noise message written (`send`)
    pub noise: Option<Buffer>,
    /// the remote's payload, encoded with `noisePayload` (`recv`)
    pub payload: Option<Buffer>,
    pub public_key: Option<Buffer>,
    pub remote_public_key: Option<Buffer>,
    pub holepunch_secret: Option<Buffer>,
    /// `final()`'s hash and keys: absent when the app keeps them to itself (its own
    /// `createSecretStream` gets them)
    pub hash: Option<Buffer>,
    pub tx: Option<Buffer>,
    pub rx: Option<Buffer>,
}

/// Questions to one object's handshake objects.
pub(crate) type NoiseQuestions = JsQuestions<Option<JsNoiseAnswer>>;

fn bytes<const N: usize>(b: &Option<Buffer>) -> Option<[u8; N]> {
    b.as_ref().and_then(|b| b.as_ref().try_into().ok())
}

/// `final()` as the engine keeps it: the holepunch secret is required (or derivable from the
/// hash); hash and keys read as zeros when the app keeps them.
fn result_of(a: &JsNoiseAnswer, is_initiator: bool) -> Option<HandshakeResult> {
    let hash = bytes::<64>(&a.hash);
    let holepunch_secret = bytes::<32>(&a.holepunch_secret);
    if hash.is_none() && holepunch_secret.is_none() {
        return None;
    }
    Some(HandshakeResult {
        is_initiator,
        public_key: bytes(&a.public_key).unwrap_or([0; 32]),
        remote_public_key: bytes(&a.remote_public_key)?,
        hash: hash.unwrap_or([0; 64]),
        tx: bytes(&a.tx).unwrap_or([0; 32]),
        rx: bytes(&a.rx).unwrap_or([0; 32]),
        holepunch_secret,
    })
}

/// Asks the owning object's handshake object(s) through `emit` and waits for JS's answer.
#[derive(Clone)]
struct Asker<E> {
    q: NoiseQuestions,
    emit: E,
}

impl<E: Fn(NoiseEvent) -> bool> Asker<E> {
    /// `step` of handshake `handshake` with `data`; none if it could not be asked, JS's object
    /// threw, or no answer came in [`NOISE_TIMEOUT`].
    async fn ask(&self, step: NoiseStep, handshake: u64, data: Vec<u8>) -> Option<JsNoiseAnswer> {
        let (id, answer) = self.q.ask(NOISE_TIMEOUT);
        let event = NoiseEvent {
            id,
            step,
            data,
            handshake,
        };
        if !(self.emit)(event) {
            self.q.forget(id);
        }
        answer.await.flatten()
    }
}

/// A connect's handshake object: `emit(event)` puts a question on the connection's events.
pub(crate) fn client_noise(
    q: &NoiseQuestions,
    emit: impl Fn(NoiseEvent) -> bool + Send + Sync + Clone + 'static,
) -> ClientNoise {
    let send = Asker { q: q.clone(), emit };
    let recv = send.clone();
    ClientNoise::new(
        move |payload| {
            let asker = send.clone();
            Box::pin(async move {
                let a = asker.ask(NoiseStep::Send, 0, payload).await?;
                a.noise.map(|n| n.to_vec())
            })
        },
        move |noise| {
            let asker = recv.clone();
            Box::pin(async move {
                let a = asker.ask(NoiseStep::Recv, 0, noise).await?;
                Some(ExternalReply {
                    result: result_of(&a, true)?,
                    payload: a.payload?.to_vec(),
                })
            })
        },
    )
}

/// A server's handshake objects (`handshake` names one; JS expires those never sent to).
pub(crate) fn server_noise(
    q: &NoiseQuestions,
    emit: impl Fn(NoiseEvent) -> bool + Send + Sync + Clone + 'static,
) -> ServerNoise {
    let recv = Asker { q: q.clone(), emit };
    let send = recv.clone();
    ServerNoise::new(
        move |(handshake, noise)| {
            let asker = recv.clone();
            Box::pin(async move {
                let a = asker.ask(NoiseStep::Recv, handshake, noise).await?;
                Some(ServerRecv {
                    remote_public_key: bytes(&a.remote_public_key)?,
                    payload: a.payload?.to_vec(),
                })
            })
        },
        move |(handshake, payload)| {
            let asker = send.clone();
            Box::pin(async move {
                let a = asker.ask(NoiseStep::Send, handshake, payload).await?;
                Some(ServerSend {
                    result: result_of(&a, false)?,
                    noise: a.noise?.to_vec(),
                })
            })
        },
    )
}

/// Which message a handshake object is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoiseStep {
    /// `send(decode(payload))` → `{noise, ...final()}` (server) or `{noise}` (client)
    Send,
    /// `recv(noise)` → `{payload: encode(payload), ...}`
    Recv,
}

/// A question for the owning object's handshake object(s): question `id`, the bytes (a payload
/// to send, or a message to read), and which of a server's handshakes (0 on a connect).
pub(crate) struct NoiseEvent {
    pub id: u32,
    pub step: NoiseStep,
    pub data: Vec<u8>,
    pub handshake: u64,
}
