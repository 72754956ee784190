//! Blind relays, driver half (`hyperdht lib/connect.js: relayConnection`, `lib/server.js:
//! _relayConnection`, `lib/relay-connection.js`). The core says when a stream should be paired
//! through a relay node ([`ConnectOut::Relay`](crate::core::connect::ConnectOut::Relay),
//! [`ServerOut::Relay`](crate::core::server::ServerOut::Relay)); the pairing itself (a
//! connection to the relay node speaking the blind-relay protocol over Protomux) is the app's
//! [`Relayer`] — the Node binding runs the npm `blind-relay` client. Once paired, the stream is
//! connected to the relay node's stream for us; a later punch moves it to the peer
//! (`changeRemote`) and the relay is closed once the direct path carried a datagram
//! (`confirmDirectUpgrade`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyperdht_udx::socket::UdxStreamRef;

/// `relayConnection` / `_relayConnection`'s 15 s: a pairing that has not paired by then fails.
pub const RELAY_TIMEOUT: Duration = Duration::from_secs(15);

/// What to pair: `relay.Client.from(dht.connect(public_key)).pair(is_initiator, token, stream)`.
#[derive(Debug, Clone, Copy)]
pub struct RelayRequest {
    pub is_initiator: bool,
    /// the relay node's key
    pub public_key: [u8; 32],
    pub token: [u8; 32],
    /// our UDX stream's id (the relay's stream for us sends to it)
    pub stream_id: u32,
}

/// A paired relay: the relay node's stream for us is `remote_id` at `addr` (the relay
/// connection's remote), reached from the socket our stream is on.
pub struct RelayPaired {
    pub addr: SocketAddr,
    pub remote_id: u32,
    pub link: RelayLink,
}

/// The relay connection of a pairing: dropping it closes the connection to the relay node.
pub struct RelayLink(Option<Box<dyn FnOnce() + Send>>);

impl RelayLink {
    pub fn new(close: impl FnOnce() + Send + 'static) -> Self {
        RelayLink(Some(Box::new(close)))
    }
}

impl Drop for RelayLink {
    fn drop(&mut self) {
        if let Some(close) = self.0.take() {
            close();
        }
    }
}

/// Resolves to the pairing, or `None` when it failed (timeout, relay unreachable, refused).
pub type RelayFuture = Pin<Box<dyn Future<Output = Option<RelayPaired>> + Send>>;

/// Pairs streams through blind relays (dropping its future abandons the pairing).
#[derive(Clone)]
pub struct Relayer(pub Arc<dyn Fn(RelayRequest) -> RelayFuture + Send + Sync>);

impl std::fmt::Debug for Relayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Relayer")
    }
}

impl Relayer {
    /// Starts a pairing, bounded by [`RELAY_TIMEOUT`].
    pub(crate) fn pair(&self, req: RelayRequest) -> RelayFuture {
        let fut = (self.0)(req);
        Box::pin(async move {
            tokio::time::timeout(RELAY_TIMEOUT, fut)
                .await
                .ok()
                .flatten()
        })
    }
}

/// `changeRemote` + `confirmDirectUpgrade`: the relayed stream now goes to `remote_id` at
/// `addr`; an empty UDX message lets the peer hear the new path, and the relay connection
/// closes once the old path is no longer needed: a datagram came back on the new one and
/// whatever either side sent through the relay before the switch arrived (the peer retransmits
/// such packets through the relay), or when the stream closes.
pub(crate) async fn upgrade(
    stream: UdxStreamRef,
    remote_id: u32,
    addr: SocketAddr,
    link: RelayLink,
) {
    if !stream.change_remote(remote_id, addr) {
        return;
    }
    stream.send_message(&[]);
    stream.old_path_done().await;
    drop(link);
}

/// Keeps the relay connection while the relayed stream lives (no upgrade came).
pub(crate) async fn hold(stream: UdxStreamRef, link: RelayLink) {
    stream.closed().await;
    drop(link);
}
