//! Client side of `dht.connect()` (`hyperdht lib/connect.js`), driver half: the protocol runs in
//! the core (`core/connect/`: FIND_PEER → PEER_HANDSHAKE → direct / passive / LAN / holepunch);
//! this façade reserves the UDX stream on our DHT server socket before the handshake is sent,
//! starts the core connect, follows its events, then connects the stream (or lets the server
//! connect it) and wraps it in secret-stream. Dropping the future cancels the core connect.
//! With a blind relay in play (`relayThrough`, ours or the server's) the connection may open
//! through the relay first; the connect then goes on in the background and upgrades the stream
//! to the path it finds (`relay.rs`).

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;

use hyperdht_crypto::KeyPair;
use hyperdht_secret_stream::SecretStreamIo;
use hyperdht_udx::{UdxSocket, UdxStream};
use tokio::sync::mpsc;

use crate::constants::Firewall;
use crate::core::connect::{ConnectParams, Established};
use crate::dht::HyperDht;
use crate::driver::connect::{ConnectEvent, ConnectSink, EVENTS};
use crate::driver::relay::{self, RelayFuture, RelayLink, RelayPaired, RelayRequest};
use crate::noise_payload::RelayThroughInfo;
use crate::path_info::PathInfo;
use crate::stats::Path;
use hyperdht_secret_stream::HandshakeResult;
use hyperdht_udx::socket::UdxStreamRef;

pub use crate::core::connect::ConnectError;

/// An open encrypted connection.
pub type Connection = SecretStreamIo<UdxStream>;

/// `dht.connect(publicKey, opts)` options this port supports.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions {
    /// `localConnection` (default true): share our local address and try the LAN shortcut.
    pub local_connection: bool,
    /// `fastOpen` (default true): open a low-TTL session to the server before the first round.
    pub fast_open: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            local_connection: true,
            fast_open: true,
        }
    }
}

/// More `dht.connect(publicKey, opts)` options, for [`HyperDht::connect_with_extras`] (kept
/// apart so existing struct literals of [`ConnectOptions`] keep compiling).
#[derive(Debug, Clone, Default)]
pub struct ConnectExtras {
    /// `relayAddresses` (default empty): nodes believed to relay for the server (e.g. its
    /// `server.relayAddresses`, or the nodes of a `hyperdht-address` key). Handshakes go through
    /// them one by one while a FIND_PEER query seeded with them runs; empty uses the addresses
    /// cached from an earlier connect to the same key, if any.
    pub relay_addresses: Vec<SocketAddrV4>,
    /// `reusableSocket` (default false): advertise it in the handshake; when the server does too,
    /// remember the connection's remote address as a route for the key, and on later connects
    /// with this option first handshake straight to that address. Streams here always live on
    /// the DHT server socket, so there is no socket pool whose sockets would linger for reuse.
    pub reusable_socket: bool,
    /// `holepunch(remoteFirewall, localFirewall, remoteAddresses, localAddresses)`: asked
    /// before we punch; `false` aborts the connect with HOLEPUNCH_ABORTED.
    pub holepunch: Option<crate::HolepunchVeto>,
    /// How the LAN shortcut pings the server's local address (hyperdht calls `dht.ping()`, so an
    /// app that wraps it sees and may fail that ping); `None` pings through the node directly.
    pub lan_ping: Option<LanPing>,
    /// `relayThrough`: the key of a blind-relay node to pair through (sent in the handshake).
    pub relay_through: Option<[u8; 32]>,
    /// Pairs streams through blind relays (ours, or one the server names); without it relays
    /// are not used.
    pub relayer: Option<crate::Relayer>,
    /// `createHandshake`: the app's handshake object does the Noise messages; the key pair's
    /// secret key is then not used (any bytes do)
    pub noise: Option<crate::noise_wrap::ClientNoise>,
}

/// A replacement for the LAN shortcut's PING: resolves true when the address answered.
#[derive(Clone)]
pub struct LanPing(pub Arc<dyn Fn(SocketAddrV4) -> crate::HolepunchFuture + Send + Sync>);

impl std::fmt::Debug for LanPing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LanPing")
    }
}

impl HyperDht {
    /// Connects to the server listening with `remote_public_key` (default options). `udx` must
    /// be the UDX endpoint sharing this node's server socket.
    pub async fn connect(
        &self,
        udx: &UdxSocket,
        key_pair: &KeyPair,
        remote_public_key: [u8; 32],
    ) -> Result<Connection, ConnectError> {
        self.connect_with(udx, key_pair, remote_public_key, ConnectOptions::default())
            .await
    }

    /// `dht.connect(publicKey, {localConnection, fastOpen})`.
    pub async fn connect_with(
        &self,
        udx: &UdxSocket,
        key_pair: &KeyPair,
        remote_public_key: [u8; 32],
        opts: ConnectOptions,
    ) -> Result<Connection, ConnectError> {
        self.connect_with_extras(
            udx,
            key_pair,
            remote_public_key,
            opts,
            ConnectExtras::default(),
        )
        .await
    }

    /// `dht.connect(publicKey, {localConnection, fastOpen, relayAddresses, reusableSocket})`.
    pub async fn connect_with_extras(
        &self,
        udx: &UdxSocket,
        key_pair: &KeyPair,
        remote_public_key: [u8; 32],
        opts: ConnectOptions,
        extras: ConnectExtras,
    ) -> Result<Connection, ConnectError> {
        self.ensure_attached(udx.clone());
        let stream_id: u32 = loop {
            let id = rand::random::<u32>();
            if id != 0 {
                break id;
            }
        };
        // like hyperdht's `c.rawStream`, the stream exists before the handshake is sent, so the
        // server's first datagrams are kept even when they overtake our handling of its reply
        let raw = udx.reserve(stream_id);
        let (tx, rx) = mpsc::channel(EVENTS);
        let sink = ConnectSink {
            events: tx,
            veto: extras.holepunch.clone(),
            lan_ping: extras.lan_ping.clone(),
            noise: extras.noise.clone(),
        };
        let stream_ref = raw.downgrade();
        let reusable = extras.reusable_socket;
        let relayer = extras.relayer.clone();
        // `c.relayToken = relay.token()`
        let relay_through = extras
            .relay_through
            .filter(|_| relayer.is_some())
            .map(|public_key| RelayThroughInfo {
                version: 1,
                public_key,
                token: rand::random(),
            });
        let started = self.engine(move |e, node, now| {
            e.sync_routes(now);
            let stream = e.stream_key();
            if reusable {
                e.watch_route_stream(stream, stream_ref);
            }
            let params = ConnectParams {
                key_pair: key_pair.clone(),
                remote_public_key,
                stream_id,
                stream,
                local_connection: opts.local_connection,
                fast_open: opts.fast_open,
                reusable_socket: extras.reusable_socket,
                relay_addresses: extras.relay_addresses,
                veto: sink.veto.is_some(),
                lan_ping: sink.lan_ping.is_some(),
                relay_through,
                external: sink.noise.is_some(),
            };
            let id = e.core.connect(params, node, now);
            e.connect_sinks.insert(id, sink);
            id
        });
        let Some(id) = started else {
            // the node is destroyed
            raw.destroy();
            return Err(ConnectError::PeerNotFound);
        };
        let mut dial = Dialing {
            dht: self,
            id,
            raw: Some(raw),
            rx,
            peer: None,
            done: false,
            relayer,
        };
        dial.run().await
    }
}

/// A connect in progress: its reserved stream and its events. Dropped before the end (the app
/// gave up), it cancels the core connect; a stream that did not become a connection is
/// destroyed, and a server that may have connected its stream to us is told with a DESTROY,
/// like a client destroying an open connection.
struct Dialing<'a> {
    dht: &'a HyperDht,
    id: u64,
    raw: Option<UdxStream>,
    rx: mpsc::Receiver<ConnectEvent>,
    /// the server's stream id once the handshake is done, and its address where known
    peer: Option<(u32, Option<SocketAddr>)>,
    /// the core connect ended (nothing to cancel)
    done: bool,
    relayer: Option<crate::Relayer>,
}

impl Dialing<'_> {
    async fn run(&mut self) -> Result<Connection, ConnectError> {
        let mut passive = false;
        // a pairing in progress, and the stream's secret-stream keys for it
        let mut relay: Option<(RelayFuture, [u8; 32], Box<HandshakeResult>)> = None;
        // the core connect failed while a relay was still pairing (`maybeDestroyEncryptedSocket`
        // waits for the relay)
        let mut failed = false;
        loop {
            let raw = self
                .raw
                .as_ref()
                .expect("a reserved stream until the connect returns");
            tokio::select! {
                ev = self.rx.recv(), if !failed => match ev {
                    Some(ConnectEvent::Handshaken { remote_id, known }) => {
                        self.peer = Some((remote_id, known.map(SocketAddr::V4)));
                    }
                    Some(ConnectEvent::AcceptPassive { remote_id }) => {
                        raw.set_firewall(Box::new(move |from: SocketAddr| Some((remote_id, from))));
                        passive = true;
                    }
                    Some(ConnectEvent::Relay { is_initiator, public_key, token, result }) => {
                        if let Some(r) = &self.relayer {
                            let req = RelayRequest { is_initiator, public_key, token, stream_id: raw.local_id() };
                            relay = Some((r.pair(req), public_key, result));
                        }
                    }
                    Some(ConnectEvent::Done(r)) => {
                        self.done = true;
                        match r {
                            Ok(est) => return Ok(self.established(est)),
                            Err(e) if relay.is_none() => return Err(e),
                            Err(_) => failed = true,
                        }
                    }
                    None => {
                        // the engine went away (the node was destroyed)
                        self.done = true;
                        return Err(ConnectError::PeerNotFound);
                    }
                },
                paired = async { relay.as_mut().map(|r| &mut r.0).expect("guarded").await }, if relay.is_some() => {
                    let (_, key, result) = relay.take().expect("guarded");
                    match paired {
                        Some(p) => return Ok(self.relayed(p, key, *result)),
                        // `onabort`: RELAY_ABORTED unless the connect still runs
                        None if failed => return Err(ConnectError::RelayAborted),
                        None => {}
                    }
                }
                ok = raw.connected(), if passive => {
                    passive = false;
                    let id = self.id;
                    let from = match raw.remote() {
                        Some(SocketAddr::V4(a)) => Some(a),
                        _ => None,
                    };
                    self.dht.engine(move |e, n, now| {
                        if ok {
                            e.core.connect_passive_connected(id, from, n, now)
                        } else {
                            e.core.connect_passive_failed(id, n, now)
                        }
                    });
                }
            }
        }
    }

    /// The relay paired first: the stream starts on the relay node's stream for us, and the
    /// connect goes on in the background (`follow`) to upgrade it.
    fn relayed(&mut self, p: RelayPaired, key: [u8; 32], result: HandshakeResult) -> Connection {
        let raw = self.raw.take().expect("taken once");
        raw.connect(p.remote_id, p.addr);
        let id = self.id;
        let info = PathInfo {
            relay_through: Some(key),
            ..PathInfo::unpunched(Path::Relayed, Firewall::Unknown, Firewall::Unknown)
        };
        self.dht.engine(|e, n, now| {
            e.paths.record(&raw, info);
            e.core.connect_relay_paired(id, n, now);
        });
        let stream = raw.downgrade();
        let rx = if self.done {
            None
        } else {
            self.done = true;
            let (_, closed) = mpsc::channel(1);
            Some(std::mem::replace(&mut self.rx, closed))
        };
        let dht = self.dht.clone();
        tokio::spawn(follow(dht, id, raw.local_id(), rx, stream, p.link));
        SecretStreamIo::new(raw, result)
    }

    /// The path is chosen: connect the stream there (unless the server connected it already).
    fn established(&mut self, est: Established) -> Connection {
        let mut raw = self.raw.take().expect("taken once");
        // a RANDOM-NAT punch got through a pool socket: the stream (same id) lives there
        if let (Some(socket), Some(_)) = (est.via, est.connect_to) {
            let id = raw.local_id();
            let moved = self
                .dht
                .engine(move |e, _, _| e.pool_stream(socket, id))
                .flatten();
            // (if the pool socket went away first, the connection is made on the DHT socket and
            // its packets may not pass the NAT: the peer then times out)
            if let Some(moved) = moved {
                raw.destroy();
                raw = moved;
            }
        }
        if let Some(addr) = est.connect_to {
            raw.connect(est.remote_id, SocketAddr::V4(addr));
        }
        self.dht.engine(|e, _, _| e.paths.record(&raw, est.info));
        SecretStreamIo::new(raw, *est.result)
    }
}

/// A relayed connection whose connect still runs: a path it finds replaces the relay (through
/// one of our pool sockets too: the stream moves there); a connect that fails leaves the
/// connection relayed. The relay connection lives as long as the stream needs it; a stream
/// closed meanwhile cancels the connect.
async fn follow(
    dht: HyperDht,
    id: u64,
    local_id: u32,
    rx: Option<mpsc::Receiver<ConnectEvent>>,
    stream: UdxStreamRef,
    link: RelayLink,
) {
    if let Some(mut rx) = rx {
        let found = loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ConnectEvent::Done(r)) => break r.ok(),
                    Some(_) => {}
                    None => break None,
                },
                _ = stream.closed() => {
                    cancel(&dht, id);
                    return;
                }
            }
        };
        if let Some(est) = found {
            // a pool socket the punch got through (our side behind a RANDOM NAT) is the
            // stream's from now on, as upstream's `changeRemote(socket, ...)` (or goes back)
            let s = stream.clone();
            let moved = match (est.via, est.connect_to) {
                (Some(socket), Some(_)) => {
                    dht.engine(move |e, _, _| e.adopt_pool(socket, &s).is_some()) == Some(true)
                }
                (Some(socket), None) => {
                    dht.engine(move |e, _, _| e.pool.close(socket));
                    false
                }
                (None, _) => true,
            };
            if let (true, Some(addr)) = (moved, est.connect_to) {
                dht.engine(|e, _, _| e.paths.upgraded(local_id));
                relay::upgrade(stream, est.remote_id, SocketAddr::V4(addr), link).await;
                return;
            }
        }
    }
    relay::hold(stream, link).await;
}

/// Stops core connect `id` (the app gave up on it).
fn cancel(dht: &HyperDht, id: u64) {
    dht.engine(move |e, n, now| {
        e.connect_sinks.remove(&id);
        e.core.cancel_connect(id, n, now);
    });
}

impl Drop for Dialing<'_> {
    fn drop(&mut self) {
        if !self.done {
            cancel(self.dht, self.id);
        }
        let Some(raw) = self.raw.take() else { return };
        // events not read yet may say where the server is
        while let Ok(ev) = self.rx.try_recv() {
            if let ConnectEvent::Handshaken { remote_id, known } = ev {
                self.peer = Some((remote_id, known.map(SocketAddr::V4)));
            }
        }
        if let Some((remote_id, addr)) = self.peer {
            if let Some(addr) = addr.or_else(|| raw.kept_source()) {
                raw.connect(remote_id, addr);
            }
        }
        raw.destroy();
    }
}
