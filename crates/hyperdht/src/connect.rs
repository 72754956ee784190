//! Client side of `dht.connect()` (`hyperdht lib/connect.js`) for peers on the same host/LAN or
//! behind an open firewall: FIND_PEER → PEER_HANDSHAKE (Noise IK, routed by a DHT node) →
//! direct path (server OPEN, or the LAN shortcut: same public host, PING the server's local
//! address) → UDX stream on our DHT server socket → secret-stream. Holepunching (PEER_HOLEPUNCH
//! rounds) and blind relays are not implemented yet: those cases fail with `CANNOT_HOLEPUNCH`.

use std::net::{SocketAddr, SocketAddrV4};

use hyperdht_crypto::{hash, ns, KeyPair};
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::RequestSpec;
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, Pattern, SecretStreamIo};
use hyperdht_udx::{UdxSocket, UdxStream};

use crate::constants::Firewall;
use crate::dht::{HyperDht, QueryOptions};
use crate::messages::{HandshakeMessage, Peer, RouterMode};
use crate::noise_payload::{NoisePayload, UdxInfo};
use crate::Command;

/// Errors with hyperdht's codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    PeerNotFound,
    PeerConnectionFailed,
    HandshakeInvalid,
    ServerError(u64),
    CannotHolepunch,
    HolepunchAborted,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::PeerNotFound => f.write_str("PEER_NOT_FOUND: Peer not found"),
            ConnectError::PeerConnectionFailed => {
                f.write_str("PEER_CONNECTION_FAILED: Could not connect to peer")
            }
            ConnectError::HandshakeInvalid => {
                f.write_str("HANDSHAKE_INVALID: Received invalid handshake")
            }
            ConnectError::ServerError(c) => {
                write!(f, "SERVER_ERROR: Server returned an error ({c})")
            }
            ConnectError::CannotHolepunch => {
                f.write_str("CANNOT_HOLEPUNCH: Cannot holepunch to remote")
            }
            ConnectError::HolepunchAborted => f.write_str("HOLEPUNCH_ABORTED: Holepunch aborted"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// An open encrypted connection.
pub type Connection = SecretStreamIo<UdxStream>;

/// Concurrent PEER_HANDSHAKE attempts (`findAndConnect`: `new Semaphore(2)`).
const PARALLEL_HANDSHAKES: usize = 2;

fn is_reserved(a: &SocketAddrV4) -> bool {
    // hyperdht connect.js `isReserved`: unspecified / broadcast / multicast are unusable
    let ip = a.ip();
    ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a.port() == 0
}

impl HyperDht {
    /// Connects to the server listening with `remote_public_key`. `udx` must be the UDX endpoint
    /// sharing this node's server socket (see `UdxSocket::with_transport`).
    pub async fn connect(
        &self,
        udx: &UdxSocket,
        key_pair: &KeyPair,
        remote_public_key: [u8; 32],
    ) -> Result<Connection, ConnectError> {
        let target = hash(&remote_public_key);
        // 1. find the nodes holding the server's announcement
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

        // 2. Noise IK message 1 with our handshake payload
        let stream_id: u32 = loop {
            let id = rand::random::<u32>();
            if id != 0 {
                break id;
            }
        };
        let local = self.rpc.server_address();
        let payload = NoisePayload {
            firewall: Firewall::Unknown.code(),
            addresses4: vec![local],
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

        // 3. PEER_HANDSHAKE through the relays, two at a time (`findAndConnect`'s semaphore);
        //    the first proper reply wins
        let Some((m, client_address, relay)) =
            self.handshake_through(target, &request, &relays).await
        else {
            return Err(ConnectError::PeerConnectionFailed);
        };
        let relayed = m.peer_address.is_some();
        let server_address = m.peer_address.unwrap_or(relay);
        let remote = hs
            .recv(&m.noise)
            .map_err(|_| ConnectError::HandshakeInvalid)?;
        let remote =
            NoisePayload::from_bytes(&remote).map_err(|_| ConnectError::HandshakeInvalid)?;
        if remote.version != 1 {
            return Err(ConnectError::HolepunchAborted);
        }
        if remote.error != 0 {
            return Err(ConnectError::ServerError(remote.error));
        }
        let Some(remote_udx) = remote.udx else {
            return Err(ConnectError::HandshakeInvalid);
        };
        let result = hs.result().ok_or(ConnectError::HandshakeInvalid)?;

        // 4. choose a direct path
        let addr = if Firewall::from_code(remote.firewall) == Firewall::Open {
            remote
                .addresses4
                .iter()
                .copied()
                .find(|a| !is_reserved(a))
                .unwrap_or(server_address)
        } else if relayed && client_address.ip() == server_address.ip() {
            let candidates: Vec<SocketAddrV4> = remote
                .addresses4
                .iter()
                .copied()
                .filter(|a| !is_reserved(a))
                .collect();
            let pick = candidates
                .iter()
                .copied()
                .find(|a| a.ip() == local.ip())
                .or(candidates.first().copied());
            let Some(pick) = pick else {
                return Err(ConnectError::CannotHolepunch);
            };
            // the LAN shortcut: a DHT ping proves the server's local address is reachable
            self.rpc
                .ping(pick)
                .await
                .map_err(|_| ConnectError::HolepunchAborted)?;
            pick
        } else {
            return Err(ConnectError::CannotHolepunch);
        };

        // 5. UDX stream from our server socket, then secret-stream
        let raw = udx.connect(stream_id, remote_udx.id as u32, SocketAddr::V4(addr));
        Ok(SecretStreamIo::new(raw, result))
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
