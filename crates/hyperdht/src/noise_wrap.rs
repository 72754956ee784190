//! An app's `createHandshake(keyPair, remotePublicKey)` (`hyperdht lib/noise-wrap.js` objects:
//! `send(payload)`, `recv(noise)`, `final()`): the Noise IK messages of a connect, or of a
//! server's handshakes, made outside the engine, which then never holds the secret key
//! (non-custodial keys; upstream test `noncustodial.js`). Payloads cross as encoded
//! `noisePayload`s. Each call may be async (the napi glue asks JS); `None` means the object threw
//! or did not answer, which fails that handshake as an undecryptable message would.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use hyperdht_secret_stream::HandshakeResult;

pub use crate::core::connect::ExternalReply;

/// The answer to one call on the app's handshake object.
pub type NoiseFuture<T> = Pin<Box<dyn Future<Output = Option<T>> + Send>>;

type Call<A, T> = Arc<dyn Fn(A) -> NoiseFuture<T> + Send + Sync>;

/// A connect's handshake object (initiator; cheap to clone).
#[derive(Clone)]
pub struct ClientNoise {
    send: Call<Vec<u8>, Vec<u8>>,
    recv: Call<Vec<u8>, ExternalReply>,
}

impl ClientNoise {
    /// `send(payload)` → message 1; `recv(noise)` → the server's payload and `final()`.
    pub fn new(
        send: impl Fn(Vec<u8>) -> NoiseFuture<Vec<u8>> + Send + Sync + 'static,
        recv: impl Fn(Vec<u8>) -> NoiseFuture<ExternalReply> + Send + Sync + 'static,
    ) -> Self {
        ClientNoise {
            send: Arc::new(send),
            recv: Arc::new(recv),
        }
    }

    pub(crate) fn send(&self, payload: Vec<u8>) -> NoiseFuture<Vec<u8>> {
        (self.send)(payload)
    }

    pub(crate) fn recv(&self, noise: Vec<u8>) -> NoiseFuture<ExternalReply> {
        (self.recv)(noise)
    }
}

/// What a server's handshake object made of a client's message 1.
#[derive(Debug, Clone)]
pub struct ServerRecv {
    /// the client's payload, encoded
    pub payload: Vec<u8>,
    /// `handshake.remotePublicKey`
    pub remote_public_key: [u8; 32],
}

/// What it answered: message 2 and `final()`.
#[derive(Debug, Clone)]
pub struct ServerSend {
    pub noise: Vec<u8>,
    pub result: HandshakeResult,
}

/// A server's handshake objects, one per handshake (`createHandshake(keyPair, null)` each
/// time), named by a handshake id the engine picks: `recv(id, noise)` makes one and reads
/// message 1, `send(id, payload)` writes message 2 and ends it. One that is never sent to (the
/// firewall rejected it, the client went away) is the asker's to expire. Cheap to clone.
#[derive(Clone)]
pub struct ServerNoise {
    recv: Call<(u64, Vec<u8>), ServerRecv>,
    send: Call<(u64, Vec<u8>), ServerSend>,
}

impl ServerNoise {
    pub fn new(
        recv: impl Fn((u64, Vec<u8>)) -> NoiseFuture<ServerRecv> + Send + Sync + 'static,
        send: impl Fn((u64, Vec<u8>)) -> NoiseFuture<ServerSend> + Send + Sync + 'static,
    ) -> Self {
        ServerNoise {
            recv: Arc::new(recv),
            send: Arc::new(send),
        }
    }

    pub(crate) fn recv(&self, id: u64, noise: Vec<u8>) -> NoiseFuture<ServerRecv> {
        (self.recv)((id, noise))
    }

    pub(crate) fn send(&self, id: u64, payload: Vec<u8>) -> NoiseFuture<ServerSend> {
        (self.send)((id, payload))
    }
}

impl std::fmt::Debug for ClientNoise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientNoise(..)")
    }
}

impl std::fmt::Debug for ServerNoise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerNoise(..)")
    }
}
