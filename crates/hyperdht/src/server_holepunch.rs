//! Holepunch side of a server handshake slot (`hyperdht lib/server.js`: the path selection at
//! the end of `_addHandshake`, and `_onpeerholepunch` / `_abort`).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use hyperdht_crypto::ns;
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::{IncomingRequest, Node};
use hyperdht_secret_stream::HandshakeResult;

use crate::constants::{Firewall, PayloadError};
use crate::holepunch_veto::{HolepunchInfo, HolepunchVeto};
use crate::holepuncher::{match_address, Puncher, PUNCH_SOCKET};
use crate::messages::{HolepunchMessage, HolepunchPayload, RouterMode};
use crate::noise_payload::NoisePayload;
use crate::router::RouteAction;
use crate::secure_payload::SecurePayload;
use crate::server::{NodeView, ServerState, Servers};
use crate::stats::Path;

/// `HANDSHAKE_INITIAL_TIMEOUT`: a puncher that has not started punching by then is dropped.
const PREPUNCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-slot punching state (`hs.payload`, `hs.puncher`, `hs.round`).
pub(crate) struct SlotPunch {
    payload: Arc<SecurePayload>,
    puncher: Arc<Puncher>,
    round: u64,
    /// the path its connection took if we never probed: LAN for a LAN peer (same public
    /// host), direct if we told it we are OPEN, holepunched otherwise (fast-open)
    unprobed: Path,
}

impl SlotPunch {
    pub(crate) fn destroy(self) {
        self.puncher.destroy();
    }

    /// The slot's connection path for `stats`: holepunched once we probed.
    pub(crate) fn path(&self) -> Path {
        if self.puncher.has_probed() {
            Path::Holepunched
        } else {
            self.unprobed
        }
    }
}

pub(crate) struct PlanInput<'a> {
    pub client: &'a NoisePayload,
    pub client_address: SocketAddrV4,
    /// Our address as the requester saw it (`req.to`).
    pub server_address: SocketAddrV4,
    pub view: NodeView,
    pub result: &'a HandshakeResult,
}

#[derive(Default)]
pub(crate) struct Plan {
    /// `replyFromPuncher`: routed replies go out from the punching socket, so the relay tells
    /// the client that socket's address.
    pub from_puncher: bool,
    pub punch: Option<SlotPunch>,
}

/// `isPrivate` (bogon): addresses a LAN peer may share.
fn is_private(ip: &Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || (o[0] == 100 && (64..128).contains(&o[1]))
}

/// Path selection for a relayed client that is not OPEN (`_addHandshake` after the reply).
pub(crate) fn plan(srv: &ServerState, p: PlanInput<'_>) -> Plan {
    let rpc = srv.rpc();
    let punchers = srv.punchers();
    let secret = p.result.holepunch_secret(ns::peer_holepunch());
    let remote_fw = Firewall::from_code(p.client.firewall);
    let arm = |puncher: &Arc<Puncher>| {
        let weak = Arc::downgrade(puncher);
        tokio::spawn(async move {
            tokio::time::sleep(PREPUNCH_TIMEOUT).await;
            if let Some(pu) = weak.upgrade() {
                if !pu.is_punching() {
                    pu.destroy();
                }
            }
        });
    };
    // same public host: maybe a LAN peer; keep a puncher ready but advertise the normal socket
    if p.client_address.ip() == p.server_address.ip() && srv.options().share_local_address {
        let theirs: Vec<SocketAddrV4> = p
            .client
            .addresses4
            .iter()
            .copied()
            .filter(|a| is_private(a.ip()))
            .collect();
        if match_address(&[srv.local_address()], &theirs).is_some() {
            let puncher = Puncher::new(rpc, punchers, false, remote_fw, p.view.firewalled);
            arm(&puncher);
            return Plan {
                from_puncher: false,
                punch: Some(SlotPunch {
                    payload: Arc::new(SecurePayload::new(&secret)),
                    puncher,
                    round: 0,
                    unprobed: if p.view.remote_address.is_some() {
                        Path::Direct
                    } else {
                        Path::Lan
                    },
                }),
            };
        }
    }
    if p.view.remote_address.is_some() || !srv.options().holepunch {
        return Plan::default();
    }
    let puncher = Puncher::new(rpc, punchers, false, remote_fw, p.view.firewalled);
    arm(&puncher);
    Plan {
        from_puncher: true,
        punch: Some(SlotPunch {
            payload: Arc::new(SecurePayload::new(&secret)),
            puncher,
            round: 0,
            unprobed: Path::Holepunched,
        }),
    }
}

/// `_abort(h, error)`: an encrypted error payload, and the puncher goes away.
fn abort(
    req: &IncomingRequest,
    hp: &SlotPunch,
    peer: SocketAddrV4,
    error: PayloadError,
) -> RouteAction {
    hp.puncher.destroy();
    let payload = HolepunchPayload {
        error: error.code(),
        firewall: Firewall::Unknown.code(),
        round: hp.round,
        ..HolepunchPayload::default()
    };
    relay_reply(req, hp.payload.encrypt(&payload), peer, None)
}

fn relay_reply(
    req: &IncomingRequest,
    payload: Vec<u8>,
    peer: SocketAddrV4,
    socket: Option<hyperdht_rpc::node::SocketKind>,
) -> RouteAction {
    RouteAction::Relay {
        value: HolepunchMessage {
            mode: RouterMode::FromServer.code(),
            id: 0,
            payload,
            peer_address: Some(peer),
        }
        .to_bytes(),
        to: req.from,
        socket,
    }
}

impl ServerState {
    /// `Router.onpeerholepunch` on the server: FROM_RELAY rounds are ours (`_onpeerholepunch`);
    /// `None` means "route it like any node".
    pub fn on_peer_holepunch(
        &mut self,
        req: &IncomingRequest,
        _node: &Node,
        _servers: &Servers,
    ) -> Option<RouteAction> {
        let msg = req
            .value
            .as_ref()
            .and_then(|v| HolepunchMessage::from_bytes(v).ok())?;
        if RouterMode::from_code(msg.mode) != Some(RouterMode::FromRelay) {
            return None;
        }
        let Some(peer) = msg.peer_address else {
            return Some(RouteAction::Drop);
        };
        if self.suspended {
            return Some(RouteAction::Drop);
        }
        let is_server_relay = self.relay_generations.is_relay(&req.from);
        let id = usize::try_from(msg.id).ok()?;
        let hp = self.slot_mut(id)?.hp.as_mut()?;
        let remote = hp.payload.decrypt(&msg.payload)?;
        if hp.puncher.is_destroyed() {
            return Some(abort(req, hp, peer, PayloadError::Aborted));
        }
        if PayloadError::from_code(remote.error) != PayloadError::None {
            hp.round = hp.round.max(remote.round);
            return Some(abort(req, hp, peer, PayloadError::Aborted));
        }
        let token = hp.payload.token(&peer);
        let echoed =
            is_server_relay && crate::holepuncher::token_eq(remote.remote_token, Some(token));
        if req.socket == PUNCH_SOCKET {
            hp.puncher.nat.with(|n| n.add(req.to, req.from));
        }
        if remote.round >= hp.round {
            hp.round = remote.round;
            hp.puncher.update_remote(
                remote.punching,
                Firewall::from_code(remote.firewall),
                remote.addresses.as_deref(),
                echoed.then_some(*peer.ip()),
            );
        }
        let (puncher, payload, round) = (hp.puncher.clone(), hp.payload.clone(), hp.round);
        let veto = self.options().holepunch_veto.clone();
        let rpc = self.rpc().clone();
        let req = req.clone();
        // the NAT verdict may still be coming: answer from a task
        tokio::spawn(async move {
            let action = punch_round(
                &puncher,
                &payload,
                round,
                &remote,
                &req,
                peer,
                is_server_relay,
                token,
                veto,
            )
            .await;
            if let Some(action) = action {
                rpc.with_node_or_defer(move |n| action.apply(&req, n));
            }
        });
        Some(RouteAction::Drop)
    }
}

/// The asynchronous part of `_onpeerholepunch`.
#[allow(clippy::too_many_arguments)]
async fn punch_round(
    puncher: &Arc<Puncher>,
    payload: &SecurePayload,
    round: u64,
    remote: &HolepunchPayload,
    req: &IncomingRequest,
    peer: SocketAddrV4,
    is_server_relay: bool,
    token: [u8; 32],
    veto: Option<HolepunchVeto>,
) -> Option<RouteAction> {
    let aborted = |e: PayloadError| {
        puncher.destroy();
        let p = HolepunchPayload {
            error: e.code(),
            firewall: Firewall::Unknown.code(),
            round,
            ..HolepunchPayload::default()
        };
        Some(relay_reply(req, payload.encrypt(&p), peer, None))
    };
    let stable = puncher.analyze().await;
    if puncher.is_destroyed() {
        return None;
    }
    if !puncher.remote_holepunching() && !stable {
        return aborted(PayloadError::Aborted);
    }
    let (local, addresses) = puncher.nat.state();
    // fast mode: the client opened a session to one of our addresses, probe back right away
    if local.is_consistent() {
        if let (Some(ra), Some(ours)) = (remote.remote_address, addresses.as_ref()) {
            if ours.contains(&ra) {
                puncher.ping(peer);
            }
        }
    }
    if puncher.remote_holepunching() {
        if let Some(veto) = veto {
            let allowed = veto.allows(HolepunchInfo::of(puncher)).await;
            if puncher.is_destroyed() {
                return None;
            }
            if !allowed {
                return aborted(PayloadError::Aborted);
            }
        }
        if !puncher.punch() {
            return aborted(PayloadError::Aborted);
        }
    }
    let (local, addresses) = puncher.nat.state();
    if local != Firewall::Unknown {
        puncher.nat.with(|n| n.freeze());
    }
    let reply = HolepunchPayload {
        error: PayloadError::None.code(),
        firewall: local.code(),
        round,
        connected: puncher.is_connected(),
        punching: puncher.is_punching(),
        addresses,
        remote_address: None,
        token: is_server_relay.then_some(token),
        remote_token: remote.token,
    };
    Some(relay_reply(
        req,
        payload.encrypt(&reply),
        peer,
        Some(PUNCH_SOCKET),
    ))
}
