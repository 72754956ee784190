//! Client side of `dht.connect()` (`hyperdht lib/connect.js`): FIND_PEER → PEER_HANDSHAKE
//! (Noise IK, routed by a DHT node) → a path: direct (server OPEN, or we reached the server
//! itself), passive (we are OPEN: the server connects to us), the LAN shortcut (same public
//! host: PING the server's local address), or holepunching (`connect_holepunch.rs`) → UDX
//! stream on our DHT server socket → secret-stream. Blind relays are not implemented.

use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use hyperdht_crypto::{hash, ns, KeyPair};
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::RequestSpec;
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, HandshakeResult, Pattern, SecretStreamIo};
use hyperdht_udx::{UdxSocket, UdxStream};

use crate::constants::{Firewall, PayloadError};
use crate::dht::{HyperDht, QueryOptions};
use crate::messages::{HandshakeMessage, Peer, RouterMode};
use crate::noise_payload::{NoisePayload, UdxInfo};
use crate::Command;

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

/// Concurrent PEER_HANDSHAKE attempts (`findAndConnect`: `new Semaphore(2)`).
const PARALLEL_HANDSHAKES: usize = 2;
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
        self.ensure_attached(udx.clone());
        let stream_id: u32 = loop {
            let id = rand::random::<u32>();
            if id != 0 {
                break id;
            }
        };
        let hs = self
            .find_and_handshake(key_pair, remote_public_key, stream_id, &opts)
            .await?;
        let remote_udx = hs.payload.udx.map(|u| u.id as u32).unwrap_or(0);
        let holepunchable = hs
            .payload
            .holepunch
            .as_ref()
            .is_some_and(|h| !h.relays.is_empty());
        let server_fw = Firewall::from_code(hs.payload.firewall);
        let stream = |addr: SocketAddrV4| {
            SecretStreamIo::new(
                udx.connect(stream_id, remote_udx, SocketAddr::V4(addr)),
                hs.result.clone(),
            )
        };

        // not relayed: we handshook with the server's own node
        if !hs.relayed {
            return Ok(stream(hs.relay));
        }
        // server OPEN, or not holepunchable: its first public address, else the relay's view
        if server_fw == Firewall::Open || !holepunchable {
            let addr = hs
                .payload
                .addresses4
                .iter()
                .copied()
                .find(|a| !is_bogon(a))
                .unwrap_or(hs.server_address);
            return Ok(stream(addr));
        }
        // we are OPEN: the server connects to us
        if self.rpc.remote_address().is_some() && !self.rpc.is_firewalled() {
            let raw = udx.accept(
                stream_id,
                Box::new(move |from: SocketAddr| Some((remote_udx, from))),
            );
            return match tokio::time::timeout(PASSIVE_TIMEOUT, raw.connected()).await {
                Ok(true) => Ok(SecretStreamIo::new(raw, hs.result)),
                _ => {
                    raw.destroy();
                    Err(ConnectError::HolepunchAborted)
                }
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
                if self.rpc.ping(pick).await.is_ok() {
                    return Ok(stream(pick));
                }
            }
        }
        let addr = self.holepunch(&hs, &opts).await?;
        Ok(stream(addr))
    }

    /// `findAndConnect` + `connectThroughNode`: the relays holding the server's record, then the
    /// routed handshake (the same Noise message 1 through every relay).
    async fn find_and_handshake(
        &self,
        key_pair: &KeyPair,
        remote_public_key: [u8; 32],
        stream_id: u32,
        opts: &ConnectOptions,
    ) -> Result<Handshaken, ConnectError> {
        let target = hash(&remote_public_key);
        let mut relays: Vec<SocketAddrV4> = Vec::new();
        let _ = self
            .find_peer(target, &QueryOptions::default(), |r| {
                let ok = r
                    .value
                    .as_ref()
                    .and_then(|v| Peer::from_bytes(v).ok())
                    .is_some_and(|p| p.public_key == remote_public_key);
                if ok && !relays.contains(&r.from) {
                    relays.push(r.from);
                }
            })
            .await;
        if relays.is_empty() {
            return Err(ConnectError::PeerNotFound);
        }

        let public = self
            .rpc
            .remote_address()
            .filter(|_| !self.rpc.is_firewalled());
        let mut addresses4: Vec<SocketAddrV4> = public.into_iter().collect();
        if opts.local_connection {
            addresses4.push(self.rpc.server_address());
        }
        let payload = NoisePayload {
            firewall: if public.is_some() {
                Firewall::Open.code()
            } else {
                Firewall::Unknown.code()
            },
            addresses4,
            udx: Some(UdxInfo {
                version: 1,
                reusable_socket: false,
                id: stream_id as u64,
                seq: 0,
            }),
            secret_stream: Some(1),
            ..NoisePayload::default()
        };
        let mut hs = Handshake::new(
            Pattern::IK,
            true,
            DhKeyPair::from_seed(&key_pair.seed()),
            ns::peer_handshake(),
            Some(remote_public_key),
        )
        .map_err(|_| ConnectError::HandshakeInvalid)?;
        let noise1 = hs
            .send(&payload.to_bytes())
            .map_err(|_| ConnectError::HandshakeInvalid)?;
        let request = HandshakeMessage {
            mode: RouterMode::FromClient.code(),
            noise: noise1,
            peer_address: None,
            relay_address: None,
        }
        .to_bytes();
        let Some((m, client_address, relay)) =
            self.handshake_through(target, &request, &relays).await
        else {
            return Err(ConnectError::PeerConnectionFailed);
        };
        let remote = hs
            .recv(&m.noise)
            .ok()
            .and_then(|p| NoisePayload::from_bytes(&p).ok())
            .ok_or(ConnectError::HandshakeInvalid)?;
        if remote.version != 1 {
            return Err(ConnectError::ServerIncompatible);
        }
        if PayloadError::from_code(remote.error) != PayloadError::None {
            return Err(ConnectError::ServerError(format!(
                "Server returned an error ({})",
                remote.error
            )));
        }
        if remote.udx.is_none() {
            return Err(ConnectError::ServerError(
                "Server did not send UDX data".into(),
            ));
        }
        let result = hs.result().ok_or(ConnectError::HandshakeInvalid)?;
        Ok(Handshaken {
            relay,
            relayed: m.peer_address.is_some(),
            client_address,
            server_address: m.peer_address.unwrap_or(relay),
            payload: remote,
            result,
            target,
        })
    }

    /// `Router.peerHandshake` through each relay, at most two at once: the first reply that
    /// decodes, has mode REPLY and comes from the node we asked. Returns the message, our
    /// address as the relay saw it, and the relay.
    async fn handshake_through(
        &self,
        target: [u8; 32],
        request: &[u8],
        relays: &[SocketAddrV4],
    ) -> Option<(HandshakeMessage, SocketAddrV4, SocketAddrV4)> {
        let mut pending = relays.iter().copied();
        let mut set = tokio::task::JoinSet::new();
        loop {
            while set.len() < PARALLEL_HANDSHAKES {
                let Some(relay) = pending.next() else { break };
                let mut spec = RequestSpec::new(relay, false, Command::PeerHandshake.code());
                spec.target = Some(target);
                spec.value = Some(request.to_vec());
                let rpc = self.rpc.clone();
                set.spawn(async move { (relay, rpc.request(spec).await) });
            }
            let (relay, res) = set.join_next().await?.ok()?;
            let Ok(res) = res else { continue };
            let Some(m) = res
                .value
                .as_ref()
                .and_then(|v| HandshakeMessage::from_bytes(v).ok())
            else {
                continue;
            };
            if m.mode != RouterMode::Reply.code() || res.from != relay || m.noise.is_empty() {
                continue;
            }
            set.abort_all();
            return Some((m, res.to, relay));
        }
    }
}
