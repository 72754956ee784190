//! `createServer({createSecretStream})` and `connect(key, {createSecretStream})`: the app runs
//! secret-stream itself (e.g. the npm `@hyperswarm/secret-stream` with its own options). The
//! engine still runs the Noise handshake; an accepted connection (or a raw dial's, once open) is
//! handed over as its bare UDX stream (a raw stream of the node, like
//! `dht.createRawStream()`) plus the handshake result hyperdht passes as `opts.handshake`
//! (`{publicKey, remotePublicKey, hash, tx, rx}`). Nothing was written on the stream yet: the
//! secret-stream header is the app's.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::connection::NativeConnection;
use crate::dht::NativeDht;
use crate::raw_stream::NativeRawStream;

/// What `createSecretStream(isInitiator, rawStream, {handshake})` needs besides the stream.
#[napi(object)]
pub struct JsAdoptedHandshake {
    pub public_key: Buffer,
    pub remote_public_key: Buffer,
    pub hash: Buffer,
    pub tx: Buffer,
    pub rx: Buffer,
    /// where the stream is connected (for the raw stream's `connect`)
    pub remote_id: u32,
    pub remote_host: Option<String>,
    pub remote_port: u32,
}

#[napi]
impl NativeDht {
    /// Takes an accepted connection (not started; or a raw dial's, see `JsConnectOptions.raw`)
    /// as a raw stream of this node; its handshake goes to `onHandshake` first. None if the
    /// connection was started or closed already.
    #[napi(catch_unwind)]
    pub fn adopt_connection(
        &self,
        connection: &NativeConnection,
        on_handshake: Function<JsAdoptedHandshake, ()>,
    ) -> Result<Option<NativeRawStream>> {
        let Some(conn) = connection.core().take_accepted() else {
            return Ok(None);
        };
        let hs = conn.handshake_result().clone();
        let stream = conn.into_inner();
        let remote = stream.remote();
        on_handshake.call(JsAdoptedHandshake {
            public_key: hs.public_key.to_vec().into(),
            remote_public_key: hs.remote_public_key.to_vec().into(),
            hash: hs.hash.to_vec().into(),
            tx: hs.tx.to_vec().into(),
            rx: hs.rx.to_vec().into(),
            remote_id: stream.remote_id(),
            remote_host: remote.map(|r| r.ip().to_string()),
            remote_port: remote.map_or(0, |r| u32::from(r.port())),
        })?;
        self.register_raw(stream).map(Some)
    }
}
