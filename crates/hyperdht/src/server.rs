//! `createServer(opts)` options and the types a listener sees (`hyperdht lib/server.js`). The
//! server's protocol state lives in `core/server/`; the driver runs its callbacks.

use std::future::Future;
use std::net::SocketAddrV4;
use std::pin::Pin;
use std::sync::Arc;

use hyperdht_secret_stream::SecretStreamIo;
use hyperdht_udx::UdxStream;

use crate::noise_payload::NoisePayload;

pub type Connection = SecretStreamIo<UdxStream>;

/// What the firewall callback returns: `true` rejects the client (no answer at all).
pub type FirewallFuture = Pin<Box<dyn Future<Output = bool> + Send>>;

/// `createServer({firewall(remotePublicKey, remotePayload, clientAddress)})`. Called once per
/// distinct Noise message 1, after decryption (so the key is authenticated). `clientAddress` is
/// the client as seen by the first relay (or directly).
pub type FirewallFn =
    Arc<dyn Fn([u8; 32], NoisePayload, SocketAddrV4) -> FirewallFuture + Send + Sync>;

/// `createServer(opts)` options beyond [`ListenOptions`] (kept apart so existing struct literals
/// of `ListenOptions` keep compiling).
#[derive(Debug, Clone, Copy, Default)]
pub struct ListenExtras {
    /// `reusableSocket` (default false): advertise it in the handshake, and when the client
    /// does too, remember the connection's remote address as a route for the client's key
    /// (used by this node's own connects with `reusable_socket` to that key).
    pub reusable_socket: bool,
}

/// `createServer(opts)` options this port supports.
#[derive(Clone)]
pub struct ListenOptions {
    pub firewall: Option<FirewallFn>,
    /// `holepunch: false` never punches (clients then need the LAN or OPEN path).
    pub holepunch: bool,
    /// `shareLocalAddress` (default true): put our local address into the handshake payload.
    pub share_local_address: bool,
    /// `holepunch` given as a function: asked before we punch back to a client that punches;
    /// `false` aborts the round (the client sees HOLEPUNCH_ABORTED).
    pub holepunch_veto: Option<crate::HolepunchVeto>,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            firewall: None,
            holepunch: true,
            share_local_address: true,
            holepunch_veto: None,
        }
    }
}
