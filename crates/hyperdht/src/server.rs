//! Server side of hyperdht connections (`hyperdht lib/server.js`) for the direct cases: the
//! local router entry that answers PEER_HANDSHAKE with Noise IK message 2 and our handshake
//! payload (deduplicated by the noise bytes, since relays retransmit), an unconnected UDX
//! stream that connects to the client on its first packet (firewall hook), and secret-stream.
//! Holepunch rounds are not implemented: we advertise no holepunch relays, so clients use the
//! OPEN / LAN path.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyperdht_crypto::{ns, KeyPair};
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::{IncomingRequest, Reply};
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, Pattern, SecretStreamIo};
use hyperdht_udx::{UdxSocket, UdxStream};
use tokio::sync::mpsc;

use crate::connect::firewall;
use crate::messages::{HandshakeMessage, RouterMode};
use crate::noise_payload::{NoisePayload, UdxInfo};
use crate::router::RouteAction;

/// How long an accepted handshake waits for the client's first UDX packet.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Remembered handshakes (for retransmitted requests), per server.
const MAX_SESSIONS: usize = 1024;

pub type Connection = SecretStreamIo<UdxStream>;

/// A listening server's state, shared with the request handler.
pub struct ServerState {
    key_pair: DhKeyPair,
    udx: UdxSocket,
    local_address: SocketAddrV4,
    firewalled: bool,
    sessions: HashMap<Vec<u8>, Vec<u8>>,
    connections: mpsc::Sender<Connection>,
}

pub type Servers = Arc<Mutex<HashMap<[u8; 32], ServerState>>>;

impl ServerState {
    pub fn new(
        key_pair: &KeyPair,
        udx: UdxSocket,
        local_address: SocketAddrV4,
        firewalled: bool,
        connections: mpsc::Sender<Connection>,
    ) -> Self {
        ServerState {
            key_pair: DhKeyPair::from_seed(&key_pair.seed()),
            udx,
            local_address,
            firewalled,
            sessions: HashMap::new(),
            connections,
        }
    }

    /// `Router.onpeerhandshake` with `isServer`: returns what to send, or `Drop`.
    pub fn on_peer_handshake(&mut self, req: &IncomingRequest) -> RouteAction {
        let Some(hs) = req
            .value
            .as_ref()
            .and_then(|v| HandshakeMessage::from_bytes(v).ok())
        else {
            return RouteAction::Drop;
        };
        let noise2 = match self.sessions.get(&hs.noise) {
            Some(n) => n.clone(),
            None => match self.accept(&hs.noise) {
                Some(n) => {
                    if self.sessions.len() >= MAX_SESSIONS {
                        self.sessions.clear();
                    }
                    self.sessions.insert(hs.noise.clone(), n.clone());
                    n
                }
                None => return RouteAction::Drop,
            },
        };
        let no_extras = |value: Vec<u8>, to: Option<SocketAddrV4>| Reply {
            value: Some(value),
            error: 0,
            token: false,
            closer_nodes: false,
            to,
        };
        match RouterMode::from_code(hs.mode) {
            Some(RouterMode::FromClient) => {
                let m = HandshakeMessage {
                    mode: RouterMode::Reply.code(),
                    noise: noise2,
                    peer_address: None,
                    relay_address: None,
                };
                RouteAction::Reply(no_extras(m.to_bytes(), None))
            }
            Some(RouterMode::FromRelay) => {
                let m = HandshakeMessage {
                    mode: RouterMode::FromServer.code(),
                    noise: noise2,
                    peer_address: hs.peer_address,
                    relay_address: None,
                };
                RouteAction::Relay {
                    value: m.to_bytes(),
                    to: req.from,
                }
            }
            Some(RouterMode::FromSecondRelay) => {
                let Some(to) = hs.relay_address else {
                    return RouteAction::Drop;
                };
                let m = HandshakeMessage {
                    mode: RouterMode::FromServer.code(),
                    noise: noise2,
                    peer_address: hs.peer_address,
                    relay_address: None,
                };
                RouteAction::Relay {
                    value: m.to_bytes(),
                    to,
                }
            }
            _ => RouteAction::Drop,
        }
    }

    /// Runs the Noise responder; on success prepares the UDX stream and returns message 2.
    fn accept(&mut self, noise1: &[u8]) -> Option<Vec<u8>> {
        let mut hs = Handshake::new(
            Pattern::IK,
            false,
            self.key_pair.clone(),
            ns::peer_handshake(),
            None,
        )
        .ok()?;
        let client = NoisePayload::from_bytes(&hs.recv(noise1).ok()?).ok()?;
        if client.version != 1 {
            return None;
        }
        let client_udx = client.udx?;
        let stream_id: u32 = loop {
            let id = rand::random::<u32>();
            if id != 0 {
                break id;
            }
        };
        let payload = NoisePayload {
            firewall: if self.firewalled {
                firewall::UNKNOWN
            } else {
                firewall::OPEN
            },
            addresses4: vec![self.local_address],
            udx: Some(UdxInfo {
                version: 1,
                reusable_socket: false,
                id: stream_id as u64,
                seq: 0,
            }),
            secret_stream: Some(1),
            ..NoisePayload::default()
        };
        let noise2 = hs.send(&payload.to_bytes()).ok()?;
        let result = hs.result()?;
        let remote_id = client_udx.id as u32;
        // the client's first UDX packet connects us back to wherever it came from
        let raw = self.udx.accept(
            stream_id,
            Box::new(move |from: SocketAddr| Some((remote_id, from))),
        );
        let tx = self.connections.clone();
        tokio::spawn(async move {
            if tokio::time::timeout(CONNECT_TIMEOUT, raw.connected()).await == Ok(true) {
                let _ = tx.send(SecretStreamIo::new(raw, result)).await;
            } else {
                raw.destroy();
            }
        });
        Some(noise2)
    }
}
