//! Client side of `dht.connect()` (`hyperdht lib/connect.js`): FIND_PEER → PEER_HANDSHAKE
//! (Noise IK, routed by a DHT node) → a path: direct (server OPEN, or we reached the server
//! itself), passive (we are OPEN: the server connects to us), the LAN shortcut (same public
//! host: PING the server's local address), or holepunching (`connect_holepunch.rs`) → UDX
//! stream on our DHT server socket → secret-stream. Blind relays are not implemented. Finding
//! the server and the handshake itself are in `connect_find.rs`.

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyperdht_crypto::KeyPair;
use hyperdht_secret_stream::{HandshakeResult, SecretStreamIo};
use hyperdht_udx::{UdxSocket, UdxStream};

use crate::constants::Firewall;
use crate::dht::HyperDht;
use crate::noise_payload::NoisePayload;
use crate::stats::{Path, PathCell, Side};

/// Errors with hyperdht's codes (`lib/errors.js`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    PeerNotFound,
    PeerConnectionFailed,
    HandshakeInvalid,
    ServerIncompatible,
    ServerError(String),
    CannotHolepunch,
    HolepunchAborted,
    HolepunchProbeTimeout,
    HolepunchDoubleRandomizedNats,
    HolepunchInvalid,
    BadHolepunchReply,
    RemoteAborted(u64),
    RemoteNotHolepunching,
    RemoteNotHolepunchable,
}

impl ConnectError {
    /// The JS `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::PeerNotFound => "PEER_NOT_FOUND",
            ConnectError::PeerConnectionFailed => "PEER_CONNECTION_FAILED",
            ConnectError::HandshakeInvalid => "HANDSHAKE_INVALID",
            ConnectError::ServerIncompatible => "SERVER_INCOMPATIBLE",
            ConnectError::ServerError(_) => "SERVER_ERROR",
            ConnectError::CannotHolepunch => "CANNOT_HOLEPUNCH",
            ConnectError::HolepunchAborted => "HOLEPUNCH_ABORTED",
            ConnectError::HolepunchProbeTimeout => "HOLEPUNCH_PROBE_TIMEOUT",
            ConnectError::HolepunchDoubleRandomizedNats => "HOLEPUNCH_DOUBLE_RANDOMIZED_NATS",
            ConnectError::HolepunchInvalid => "HOLEPUNCH_INVALID",
            ConnectError::BadHolepunchReply => "BAD_HOLEPUNCH_REPLY",
            ConnectError::RemoteAborted(_) => "REMOTE_ABORTED",
            ConnectError::RemoteNotHolepunching => "REMOTE_NOT_HOLEPUNCHING",
            ConnectError::RemoteNotHolepunchable => "REMOTE_NOT_HOLEPUNCHABLE",
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let msg = match self {
            ConnectError::PeerNotFound => "Peer not found".to_string(),
            ConnectError::PeerConnectionFailed => "Could not connect to peer".to_string(),
            ConnectError::HandshakeInvalid => "Received invalid handshake".to_string(),
            ConnectError::ServerIncompatible => "Server is using an incompatible version".into(),
            ConnectError::ServerError(m) => m.clone(),
            ConnectError::CannotHolepunch => "Cannot holepunch to remote".to_string(),
            ConnectError::HolepunchAborted => "Holepunch aborted".to_string(),
            ConnectError::HolepunchProbeTimeout => "Holepunching probe did not finish".into(),
            ConnectError::HolepunchDoubleRandomizedNats => {
                "Both remote and local NATs are randomized".to_string()
            }
            ConnectError::HolepunchInvalid => "Invalid holepunch payload".to_string(),
            ConnectError::BadHolepunchReply => "Bad holepunch reply".to_string(),
            ConnectError::RemoteAborted(c) => format!("Remote aborted with error code {c}"),
            ConnectError::RemoteNotHolepunching => "Remote is not holepunching".to_string(),
            ConnectError::RemoteNotHolepunchable => "Remote is not holepunchable".to_string(),
        };
        write!(f, "{}: {msg}", self.code())
    }
}

impl std::error::Error for ConnectError {}

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
}

/// A replacement for the LAN shortcut's PING: resolves true when the address answered.
#[derive(Clone)]
pub struct LanPing(pub Arc<dyn Fn(SocketAddrV4) -> crate::HolepunchFuture + Send + Sync>);

impl std::fmt::Debug for LanPing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LanPing")
    }
}

/// `passiveConnectTimeout`: how long an OPEN client waits for the server to connect.
const PASSIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// `isReserved` (bogon): addresses nobody can be reached at.
pub(crate) fn is_reserved(a: &SocketAddrV4) -> bool {
    let ip = a.ip();
    let o = ip.octets();
    ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || o[0] == 0
        || o[0] >= 240
        || a.port() == 0
}

/// `isBogon`: reserved or private (not a public address).
fn is_bogon(a: &SocketAddrV4) -> bool {
    let ip = a.ip();
    let o = ip.octets();
    is_reserved(a)
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || (o[0] == 100 && (64..128).contains(&o[1]))
}

/// What the handshake gave us (`c.connect`).
pub(crate) struct Handshaken {
    pub relay: SocketAddrV4,
    pub relayed: bool,
    pub client_address: SocketAddrV4,
    pub server_address: SocketAddrV4,
    pub payload: NoisePayload,
    pub result: HandshakeResult,
    pub target: [u8; 32],
    /// `c.remoteRelayAddresses`: the nodes we sent the handshake through, in order.
    pub tried: Vec<SocketAddrV4>,
    /// `c.firewall === FIREWALL.OPEN`: the handshake told the server we are OPEN (we had a
    /// public address and were not firewalled when it was sent), so the server connects to us.
    pub announced_open: bool,
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
        let mut raw = Reserved {
            raw: Some(udx.reserve(stream_id)),
            peer: Mutex::new(None),
            path: PathCell::default(),
        };
        let result = self
            .connect_reserved(&raw, key_pair, remote_public_key, &opts, &extras)
            .await;
        self.punchers
            .stats()
            .connection(Side::Client, raw.path.get(), result.is_ok());
        let result = result?;
        let stream = raw.raw.take().expect("taken once");
        Ok(SecretStreamIo::new(stream, result))
    }

    async fn connect_reserved(
        &self,
        raw: &Reserved,
        key_pair: &KeyPair,
        remote_public_key: [u8; 32],
        opts: &ConnectOptions,
        extras: &ConnectExtras,
    ) -> Result<HandshakeResult, ConnectError> {
        let reserved = raw;
        let raw = reserved.stream();
        let stream_id = raw.local_id();
        let hs = self
            .find_and_handshake(key_pair, remote_public_key, stream_id, opts, extras)
            .await?;
        let remote_udx = hs.payload.udx.map(|u| u.id as u32).unwrap_or(0);
        let holepunchable = hs
            .payload
            .holepunch
            .as_ref()
            .is_some_and(|h| !h.relays.is_empty());
        let server_fw = Firewall::from_code(hs.payload.firewall);
        let public_addr = || {
            hs.payload
                .addresses4
                .iter()
                .copied()
                .find(|a| !is_bogon(a))
                .unwrap_or(hs.server_address)
        };
        // the server may already have a stream for us (it connects at once when we talked to it
        // directly or it is OPEN): if this connect is dropped now, that stream hears a DESTROY
        let known = if !hs.relayed {
            Some(hs.relay)
        } else if server_fw == Firewall::Open || !holepunchable {
            Some(public_addr())
        } else {
            None
        };
        reserved.expect_peer(remote_udx, known.map(SocketAddr::V4));
        let stream = |addr: SocketAddrV4, path: Path| {
            reserved.path.set(path);
            self.on_socket(&hs, extras, remote_public_key, addr, raw);
            raw.connect(remote_udx, SocketAddr::V4(addr));
            hs.result.clone()
        };
        // not relayed: we handshook with the server's own node
        if !hs.relayed {
            return Ok(stream(hs.relay, Path::Direct));
        }
        // server OPEN, or not holepunchable: its first public address, else the relay's view
        if server_fw == Firewall::Open || !holepunchable {
            self.punchers.stats().punch_open();
            return Ok(stream(public_addr(), Path::Direct));
        }
        // we told the server we are OPEN: it connects to us. Decided by what the handshake said
        // (`c.firewall`), not by our state now: a client whose bootstrap finished while the
        // handshake was in flight told the server UNKNOWN, and that server waits for us to punch
        if hs.announced_open {
            reserved.path.set(Path::Direct);
            raw.set_firewall(Box::new(move |from: SocketAddr| Some((remote_udx, from))));
            return match tokio::time::timeout(PASSIVE_TIMEOUT, raw.connected()).await {
                Ok(true) => {
                    if let Some(SocketAddr::V4(addr)) = raw.remote() {
                        self.on_socket(&hs, extras, remote_public_key, addr, raw);
                    }
                    Ok(hs.result)
                }
                _ => Err(ConnectError::HolepunchAborted),
            };
        }
        // the LAN shortcut: same public host, PING the server's local address
        if opts.local_connection && hs.client_address.ip() == hs.server_address.ip() {
            let candidates: Vec<SocketAddrV4> = hs
                .payload
                .addresses4
                .iter()
                .copied()
                .filter(|a| !is_reserved(a))
                .collect();
            let local = self.rpc.server_address();
            let pick = crate::holepuncher::match_address(&[local], &candidates)
                .or(candidates.first().copied());
            if let Some(pick) = pick {
                // a blocked LAN ping is not fatal: holepunching may still work
                let answered = match &extras.lan_ping {
                    Some(ping) => (ping.0)(pick).await,
                    None => self.rpc.ping(pick).await.is_ok(),
                };
                if answered {
                    return Ok(stream(pick, Path::Lan));
                }
            }
        }
        reserved.path.set(Path::Holepunched);
        let addr = self.holepunch(&hs, opts, extras.holepunch.clone()).await?;
        Ok(stream(addr, Path::Holepunched))
    }

    /// `c.onsocket` bookkeeping once a path is chosen: cache the relay addresses for the next
    /// connect to this key (the server's own list preferred, else the nodes we went through),
    /// and add a reusable-socket route when both sides asked for one.
    fn on_socket(
        &self,
        hs: &Handshaken,
        extras: &ConnectExtras,
        remote_public_key: [u8; 32],
        addr: SocketAddrV4,
        raw: &UdxStream,
    ) {
        match hs
            .payload
            .relay_addresses
            .as_ref()
            .filter(|r| !r.is_empty())
        {
            Some(r) => self.connects.cache_relays(remote_public_key, r.clone()),
            None if !hs.tried.is_empty() => self
                .connects
                .cache_relays(remote_public_key, hs.tried.clone()),
            None => {}
        }
        let theirs = hs.payload.udx.is_some_and(|u| u.reusable_socket);
        if extras.reusable_socket && theirs {
            self.connects
                .add_route(remote_public_key, addr, raw.downgrade());
        }
    }
}

/// The client's stream while the connect runs: destroyed if the connect fails or is dropped.
struct Reserved {
    raw: Option<UdxStream>,
    /// the server's stream id once the handshake is done, and its address where known
    peer: Mutex<Option<(u32, Option<SocketAddr>)>>,
    /// the path the connect is on (`stats`)
    path: PathCell,
}

impl Reserved {
    fn stream(&self) -> &UdxStream {
        self.raw
            .as_ref()
            .expect("a reserved stream until the connect returns")
    }

    fn expect_peer(&self, remote_id: u32, addr: Option<SocketAddr>) {
        if let Ok(mut p) = self.peer.lock() {
            *p = Some((remote_id, addr));
        }
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        let Some(raw) = self.raw.take() else { return };
        // a server that already connected its stream to us (known address, or one whose data
        // we kept) is told with a DESTROY, like a client destroying an open connection
        let peer = self.peer.lock().ok().and_then(|p| *p);
        if let Some((remote_id, addr)) = peer {
            if let Some(addr) = addr.or_else(|| raw.kept_source()) {
                raw.connect(remote_id, addr);
            }
        }
        raw.destroy();
    }
}
