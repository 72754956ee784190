//! Handshake routing (`hyperdht lib/router.js`): a DHT node that holds a server's forward (from
//! its announce-self) relays PEER_HANDSHAKE and PEER_HOLEPUNCH between client and server using
//! tid-preserving `req.relay` and `req.reply({to})`. Works on ephemeral nodes too, and for any
//! peers (JS or Rust). Servers hosted on this node are handled by the connection layer; without
//! one, this node only routes.

use std::net::SocketAddrV4;

use hyperdht_encoding::Codec;
use hyperdht_rpc::node::{IncomingRequest, Node, Reply, SocketKind};

use crate::messages::{HandshakeMessage, HolepunchMessage, RouterMode};

/// What the node should do with a routed request. `socket: None` means the socket the
/// request arrived on; servers answer from the socket they punch with (`reply.socket`).
#[derive(Debug, Clone)]
pub enum RouteAction {
    /// `req.relay(value, to, {socket})`: re-send the request (same tid) to `to`.
    Relay {
        value: Vec<u8>,
        to: SocketAddrV4,
        socket: Option<SocketKind>,
    },
    /// `req.reply(value, opts)`.
    Reply {
        reply: Reply,
        socket: Option<SocketKind>,
    },
    Drop,
}

impl RouteAction {
    /// Performs the action on the node.
    pub fn apply(self, req: &IncomingRequest, node: &mut Node) {
        match self {
            RouteAction::Relay { value, to, socket } => {
                node.relay_on(req, Some(value), to, socket.unwrap_or(req.socket))
            }
            RouteAction::Reply { reply, socket } => {
                node.reply_on(req, reply, socket.unwrap_or(req.socket))
            }
            RouteAction::Drop => {}
        }
    }
}

fn reply(value: Option<Vec<u8>>, to: Option<SocketAddrV4>, closer_nodes: bool) -> RouteAction {
    RouteAction::Reply {
        reply: Reply {
            value,
            error: 0,
            token: false,
            closer_nodes,
            to,
        },
        socket: None,
    }
}

/// `Router.onpeerhandshake` for a node that is not the server. `relay` is the stored route
/// (the server's address from its announce-self) for `req.target`, if any.
pub fn on_peer_handshake(req: &IncomingRequest, relay: Option<SocketAddrV4>) -> RouteAction {
    let Some(hs) = req
        .value
        .as_ref()
        .and_then(|v| HandshakeMessage::from_bytes(v).ok())
    else {
        return RouteAction::Drop;
    };
    match RouterMode::from_code(hs.mode) {
        Some(RouterMode::FromClient) => {
            let Some(to) = hs.relay_address.or(relay) else {
                // help the client route: empty value plus closer nodes
                return reply(None, None, true);
            };
            let m = HandshakeMessage {
                mode: RouterMode::FromRelay.code(),
                noise: hs.noise,
                peer_address: Some(req.from),
                relay_address: None,
            };
            RouteAction::Relay {
                value: m.to_bytes(),
                to,
                socket: None,
            }
        }
        Some(RouterMode::FromRelay) => {
            let Some(to) = relay else {
                return RouteAction::Drop;
            };
            let m = HandshakeMessage {
                mode: RouterMode::FromSecondRelay.code(),
                noise: hs.noise,
                peer_address: hs.peer_address,
                relay_address: Some(req.from),
            };
            RouteAction::Relay {
                value: m.to_bytes(),
                to,
                socket: None,
            }
        }
        Some(RouterMode::FromServer) => {
            let Some(client) = hs.peer_address else {
                return RouteAction::Drop;
            };
            let m = HandshakeMessage {
                mode: RouterMode::Reply.code(),
                noise: hs.noise,
                peer_address: Some(req.from),
                relay_address: None,
            };
            reply(Some(m.to_bytes()), Some(client), false)
        }
        _ => RouteAction::Drop,
    }
}

/// `Router.onpeerholepunch` for a node that is not the server.
pub fn on_peer_holepunch(req: &IncomingRequest, relay: Option<SocketAddrV4>) -> RouteAction {
    let Some(hp) = req
        .value
        .as_ref()
        .and_then(|v| HolepunchMessage::from_bytes(v).ok())
    else {
        return RouteAction::Drop;
    };
    match RouterMode::from_code(hp.mode) {
        Some(RouterMode::FromClient) => {
            let Some(to) = hp.peer_address.or(relay) else {
                return RouteAction::Drop;
            };
            let m = HolepunchMessage {
                mode: RouterMode::FromRelay.code(),
                id: hp.id,
                payload: hp.payload,
                peer_address: Some(req.from),
            };
            RouteAction::Relay {
                value: m.to_bytes(),
                to,
                socket: None,
            }
        }
        Some(RouterMode::FromServer) => {
            let Some(client) = hp.peer_address else {
                return RouteAction::Drop;
            };
            let m = HolepunchMessage {
                mode: RouterMode::Reply.code(),
                id: hp.id,
                payload: hp.payload,
                peer_address: Some(req.from),
            };
            reply(Some(m.to_bytes()), Some(client), false)
        }
        // FROM_RELAY is only meaningful on the server itself
        _ => RouteAction::Drop,
    }
}
