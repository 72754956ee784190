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

/// `createServer({relayThrough})` given as a function: asked once per handshake (after the
/// firewall) for the relay node to pair through, or none.
pub type RelayAskFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<[u8; 32]>> + Send>> + Send + Sync>;

/// What the app is asked to sign for a server's announcer (`signAnnounce(target, token, id,
/// ann)` / `signUnannounce`, with `ann = {peer: {publicKey, relayAddresses: []}, refresh: null}`).
#[derive(Debug, Clone, Copy)]
pub struct SignRequest {
    pub target: [u8; 32],
    pub token: [u8; 32],
    pub node_id: [u8; 32],
    pub unannounce: bool,
}

/// `listen(keyPair, {signAnnounce, signUnannounce})`: the app's signer (it resolves to the
/// 64-byte signature, or `None` when it failed).
pub type AnnounceSigner = Arc<
    dyn Fn(SignRequest) -> Pin<Box<dyn Future<Output = Option<[u8; 64]>> + Send>> + Send + Sync,
>;

/// `createServer(opts)` options beyond [`ListenOptions`] (kept apart so existing struct literals
/// of `ListenOptions` keep compiling).
#[derive(Clone, Default)]
pub struct ListenExtras {
    /// `reusableSocket` (default false): advertise it in the handshake, and when the client
    /// does too, remember the connection's remote address as a route for the client's key
    /// (used by this node's own connects with `reusable_socket` to that key).
    pub reusable_socket: bool,
    /// `relayThrough` as a key: every handshake that needs punching pairs through that node.
    pub relay_through: Option<[u8; 32]>,
    /// `relayThrough` as a function (wins over `relay_through`).
    pub relay_ask: Option<RelayAskFn>,
    /// Pairs streams through blind relays (ours, or one a client names); without it relays
    /// are not used.
    pub relayer: Option<crate::Relayer>,
    /// `createHandshake`: the app's handshake objects do the Noise messages; the key pair's
    /// secret key is then not used (any bytes do)
    pub noise: Option<crate::noise_wrap::ServerNoise>,
    /// `signAnnounce`/`signUnannounce`: the app signs the announcer's requests; the key pair's
    /// secret key is then not used
    pub signer: Option<AnnounceSigner>,
}

impl std::fmt::Debug for ListenExtras {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenExtras")
            .field("reusable_socket", &self.reusable_socket)
            .field("relay_through", &self.relay_through.is_some())
            .field("relay_ask", &self.relay_ask.is_some())
            .field("relayer", &self.relayer.is_some())
            .field("noise", &self.noise.is_some())
            .field("signer", &self.signer.is_some())
            .finish()
    }
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
