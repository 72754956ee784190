//! The client's Noise IK handshake (`hyperdht lib/connect.js: connectThroughNode`): our payload
//! in message 1, the PEER_HANDSHAKE request that carries it, and the checks on the server's
//! message 2. One Noise state per connect: the first reply that comes back is fed to it, and like
//! upstream a reply that fails to decrypt spends it.

use std::net::SocketAddrV4;

use hyperdht_crypto::ns;
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::Node;
use hyperdht_rpc::{Response, RpcError};
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, HandshakeResult, Pattern};

use super::error::ConnectError;
use super::routes::Via;
use crate::constants::{Firewall, PayloadError};
use crate::messages::{HandshakeMessage, RouterMode};
use crate::noise_payload::{NoisePayload, UdxInfo};

/// What the handshake gave us (`c.connect` plus the final Noise state).
#[derive(Debug)]
pub(crate) struct Handshaken {
    /// the node we sent the handshake to (`c.connect.relayAddress`)
    pub relay: SocketAddrV4,
    /// the reply carries the server's address: a node relayed it
    pub relayed: bool,
    /// our address as the relay saw it
    pub client_address: SocketAddrV4,
    pub server_address: SocketAddrV4,
    pub payload: NoisePayload,
    pub result: HandshakeResult,
    /// `c.remoteRelayAddresses`: the nodes we sent the handshake through, in order.
    pub tried: Vec<SocketAddrV4>,
    /// `c.firewall === FIREWALL.OPEN`: the handshake told the server we are OPEN (we had a
    /// public address and were not firewalled when it was sent), so the server connects to us.
    pub announced_open: bool,
}

/// Where our Noise state is.
enum Noise {
    /// the engine holds the key pair (`c.handshake`)
    Local(Box<Handshake>),
    /// an app's `createHandshake`: the server's message 2 goes to it
    External,
    /// the app's handshake reads this reply (through `relay`)
    Asking { relay: SocketAddrV4, reply: Reply },
    /// a reply was fed to it
    Spent,
}

/// Our side of the handshake until the server's reply is read.
pub(crate) struct Initiator {
    noise: Noise,
    /// the PEER_HANDSHAKE value (`{mode: FROM_CLIENT, noise}`)
    pub request: Vec<u8>,
    pub announced_open: bool,
}

/// A REPLY to one `Router.peerHandshake`: the message and our address as that node saw it.
pub(crate) struct Reply {
    msg: HandshakeMessage,
    client_address: SocketAddrV4,
}

/// What the app's handshake (`createHandshake`) made of the server's message 2: its payload
/// (`recv(noise)`, encoded) and `final()`.
#[derive(Debug, Clone)]
pub struct ExternalReply {
    pub payload: Vec<u8>,
    pub result: HandshakeResult,
}

/// What a reply did to the handshake.
pub(crate) enum Settled {
    /// it decrypted and the server accepted: the handshake is done
    Won(Box<Handshaken>),
    /// the app's handshake must read this message 2 ([`Initiator::settle_external`] follows)
    Ask(Vec<u8>),
    /// it did not decrypt (the state is spent), or the state was spent already
    Lost,
}

/// `{mode: FROM_CLIENT, noise}`.
fn request_of(noise: Vec<u8>) -> Vec<u8> {
    HandshakeMessage {
        mode: RouterMode::FromClient.code(),
        noise,
        peer_address: None,
        relay_address: None,
    }
    .to_bytes()
}

impl Initiator {
    /// `connectThroughNode`, first call: our stable address (if any) and our local addresses go in
    /// the payload with the id of the stream we reserved; also whether it says we are OPEN.
    pub(crate) fn payload(
        p: &super::ConnectParams,
        node: &Node,
        local_addresses: &[SocketAddrV4],
    ) -> (NoisePayload, bool) {
        let public = node.remote_address().filter(|_| !node.is_firewalled());
        let mut addresses4: Vec<SocketAddrV4> = public.into_iter().collect();
        if p.local_connection {
            addresses4.extend_from_slice(local_addresses);
        }
        let firewall = if public.is_some() {
            Firewall::Open
        } else {
            Firewall::Unknown
        };
        let payload = NoisePayload {
            firewall: firewall.code(),
            addresses4,
            udx: Some(UdxInfo {
                version: 1,
                reusable_socket: p.reusable_socket,
                id: p.stream_id as u64,
                seq: 0,
            }),
            secret_stream: Some(1),
            relay_through: p.relay_through,
            ..NoisePayload::default()
        };
        (payload, public.is_some())
    }

    /// Our Noise message 1 with [`Initiator::payload`].
    pub(crate) fn new(
        p: &super::ConnectParams,
        node: &Node,
        local_addresses: &[SocketAddrV4],
    ) -> Result<Self, ConnectError> {
        let (payload, announced_open) = Self::payload(p, node, local_addresses);
        // A remote key that is no Ed25519 point (half of all random 32-byte strings) cannot be
        // DH'd with. JS computes the first Noise message only once a peer was found, and no
        // storing node keeps a record signed by such a key, so its connect always ends in
        // PEER_NOT_FOUND after the lookup: ours says so at once (it said HANDSHAKE_INVALID).
        let mut hs = Handshake::new(
            Pattern::IK,
            true,
            DhKeyPair::from_seed(&p.key_pair.seed()),
            ns::peer_handshake(),
            Some(p.remote_public_key),
        )
        .map_err(|_| ConnectError::PeerNotFound)?;
        let noise = hs
            .send(&payload.to_bytes())
            .map_err(|_| ConnectError::PeerNotFound)?;
        Ok(Initiator {
            noise: Noise::Local(Box::new(hs)),
            request: request_of(noise),
            announced_open,
        })
    }

    /// Message 1 as the app's handshake wrote it (`await c.handshake.send(payload)`).
    pub(crate) fn external(noise: Vec<u8>, announced_open: bool) -> Self {
        Initiator {
            noise: Noise::External,
            request: request_of(noise),
            announced_open,
        }
    }

    /// Whether a reply already spent the Noise state.
    pub(crate) fn spent(&self) -> bool {
        matches!(self.noise, Noise::Spent)
    }

    /// The rest of `connectThroughNode`: decrypt the server's payload and check it. A reply that
    /// does not decrypt is ignored (but spends the Noise state); version / error / missing UDX
    /// data end the connect. An app's handshake is asked to read it first.
    pub(crate) fn settle(
        &mut self,
        relay: SocketAddrV4,
        reply: Reply,
        tried: &[SocketAddrV4],
    ) -> Result<Settled, ConnectError> {
        match std::mem::replace(&mut self.noise, Noise::Spent) {
            Noise::Local(mut hs) => {
                let remote = hs
                    .recv(&reply.msg.noise)
                    .ok()
                    .and_then(|p| NoisePayload::from_bytes(&p).ok());
                match (remote, hs.result()) {
                    (Some(remote), Some(result)) => {
                        self.handshaken(relay, reply, remote, result, tried)
                    }
                    (Some(_), None) => Err(ConnectError::HandshakeInvalid),
                    (None, _) => Ok(Settled::Lost),
                }
            }
            Noise::External => {
                let noise = reply.msg.noise.clone();
                self.noise = Noise::Asking { relay, reply };
                Ok(Settled::Ask(noise))
            }
            other => {
                self.noise = other;
                Ok(Settled::Lost)
            }
        }
    }

    /// The app's handshake read the reply [`Initiator::settle`] asked about (`None`: it threw).
    pub(crate) fn settle_external(
        &mut self,
        answer: Option<ExternalReply>,
        tried: &[SocketAddrV4],
    ) -> Result<Settled, ConnectError> {
        let Noise::Asking { relay, reply } = std::mem::replace(&mut self.noise, Noise::Spent)
        else {
            return Ok(Settled::Lost);
        };
        let Some((remote, result)) = answer.and_then(|a| {
            let remote = NoisePayload::from_bytes(&a.payload).ok()?;
            Some((remote, a.result))
        }) else {
            return Ok(Settled::Lost);
        };
        self.handshaken(relay, reply, remote, result, tried)
    }

    fn handshaken(
        &self,
        relay: SocketAddrV4,
        reply: Reply,
        remote: NoisePayload,
        result: HandshakeResult,
        tried: &[SocketAddrV4],
    ) -> Result<Settled, ConnectError> {
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
        Ok(Settled::Won(Box::new(Handshaken {
            relay,
            relayed: reply.msg.peer_address.is_some(),
            client_address: reply.client_address,
            server_address: reply.msg.peer_address.unwrap_or(relay),
            payload: remote,
            result,
            tried: tried.to_vec(),
            announced_open: self.announced_open,
        })))
    }
}

/// `Router.peerHandshake(target, {noise, socket}, address)`: the REPLY from that node, if the
/// response is one (right mode, from the node asked, with a Noise message).
pub(crate) fn read_reply(to: SocketAddrV4, result: Result<Response, RpcError>) -> Option<Reply> {
    let res = result.ok()?;
    let msg = HandshakeMessage::from_bytes(res.value.as_ref()?).ok()?;
    let ok = msg.mode == RouterMode::Reply.code() && res.from == to;
    (ok && !msg.noise.is_empty()).then_some(Reply {
        msg,
        client_address: res.to,
    })
}

/// A handshake request in flight: its request seq, how it was sent and to whom.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt {
    pub seq: u32,
    pub via: Via,
    pub to: SocketAddrV4,
}
