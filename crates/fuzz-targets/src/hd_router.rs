//! Handshake routing on a node that is not the server (`hyperdht lib/router.js`): arbitrary
//! PEER_HANDSHAKE / PEER_HOLEPUNCH values in, and whatever is relayed or replied must be a
//! well-formed message that carries the client's noise bytes / holepunch payload unchanged.
//!
//! Input: one flag byte (bit 0: holepunch instead of handshake, bit 1: a stored route exists,
//! bit 2: the request came from the route's address), then the request value.

use std::net::{Ipv4Addr, SocketAddrV4};

use hyperdht_core::messages::{HandshakeMessage, HolepunchMessage, RouterMode};
use hyperdht_core::router::{on_peer_handshake, on_peer_holepunch, RouteAction};
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::{IncomingRequest, SocketKind};

pub fn run(data: &[u8]) {
    let Some((&flags, value)) = data.split_first() else {
        return;
    };
    let route = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 49737);
    let from = if flags & 4 != 0 {
        route
    } else {
        SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40000)
    };
    let req = IncomingRequest {
        tid: 1,
        from,
        from_id: None,
        to: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 49737),
        token: None,
        internal: false,
        command: if flags & 1 != 0 { 1 } else { 0 },
        target: Some([7; 32]),
        value: Some(value.to_vec()),
        socket: SocketKind::Server,
    };
    let relay = (flags & 2 != 0).then_some(route);
    if flags & 1 == 0 {
        let action = on_peer_handshake(&req, relay);
        let Ok(hs) = HandshakeMessage::from_bytes(value) else {
            assert!(matches!(action, RouteAction::Drop));
            return;
        };
        check_handshake(&action, &hs, from);
    } else {
        let action = on_peer_holepunch(&req, relay);
        let Ok(hp) = HolepunchMessage::from_bytes(value) else {
            assert!(matches!(action, RouteAction::Drop));
            return;
        };
        check_holepunch(&action, &hp, from);
    }
}

fn check_handshake(action: &RouteAction, hs: &HandshakeMessage, from: SocketAddrV4) {
    let out = match action {
        RouteAction::Drop => return,
        RouteAction::Relay { value, .. } => value.as_slice(),
        RouteAction::Reply { reply, .. } => match &reply.value {
            Some(v) => v.as_slice(),
            // FROM_CLIENT without a route: an empty reply with closer nodes
            None => {
                assert_eq!(hs.mode, RouterMode::FromClient.code());
                return;
            }
        },
    };
    let m = HandshakeMessage::from_bytes(out).expect("routed handshake decodes");
    assert_eq!(m.noise, hs.noise);
    let mode = RouterMode::from_code(m.mode).expect("routed mode is known");
    match RouterMode::from_code(hs.mode) {
        Some(RouterMode::FromClient) => {
            assert_eq!(mode, RouterMode::FromRelay);
            assert_eq!(m.peer_address, Some(from));
        }
        Some(RouterMode::FromRelay) => {
            assert_eq!(mode, RouterMode::FromSecondRelay);
            assert_eq!(m.relay_address, Some(from));
        }
        Some(RouterMode::FromServer) => {
            assert_eq!(mode, RouterMode::Reply);
            assert_eq!(m.peer_address, Some(from));
        }
        other => panic!("mode {other:?} must be dropped"),
    }
}

fn check_holepunch(action: &RouteAction, hp: &HolepunchMessage, from: SocketAddrV4) {
    let out = match action {
        RouteAction::Drop => return,
        RouteAction::Relay { value, .. } => value.as_slice(),
        RouteAction::Reply { reply, .. } => reply.value.as_deref().expect("holepunch reply value"),
    };
    let m = HolepunchMessage::from_bytes(out).expect("routed holepunch decodes");
    assert_eq!((m.id, &m.payload), (hp.id, &hp.payload));
    assert_eq!(m.peer_address, Some(from));
    let mode = RouterMode::from_code(m.mode);
    match RouterMode::from_code(hp.mode) {
        Some(RouterMode::FromClient) => assert_eq!(mode, Some(RouterMode::FromRelay)),
        Some(RouterMode::FromServer) => assert_eq!(mode, Some(RouterMode::Reply)),
        other => panic!("mode {other:?} must be dropped"),
    }
}
