//! Holepunch side of a server handshake slot (`hyperdht lib/server.js`: the path selection at
//! the end of `_addHandshake`, and `_onpeerholepunch` / `_abort`). A PEER_HOLEPUNCH round may
//! have to wait for the NAT analysis (`await puncher.analyze()`) and for the app's holepunch veto;
//! the round is parked on the slot and resumed by `Analyzed` events and `server_veto_answer`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use hyperdht_crypto::ns;
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::IncomingRequest;
use hyperdht_secret_stream::HandshakeResult;

use super::{NodeView, Server, ServerOut, SlotKey};
use crate::constants::{Firewall, PayloadError};
use crate::core::holepuncher::HolepunchInfo;
use crate::core::holepuncher::{match_address, token_eq, PuncherId, Punchers, PUNCH_SOCKET};
use crate::core::{Ctx, Output};
use crate::messages::{HolepunchMessage, HolepunchPayload, RouterMode};
use crate::noise_payload::NoisePayload;
use crate::path_info::PathInfo;
use crate::router::RouteAction;
use crate::secure_payload::SecurePayload;
use crate::stats::Path;

/// `HANDSHAKE_INITIAL_TIMEOUT`: a puncher that has not started punching by then is dropped.
const PREPUNCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Rounds parked per slot (a client has one in flight, plus dht-rpc retries).
const MAX_PARKED: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Analyzing,
    Veto,
}

/// A PEER_HOLEPUNCH round waiting for the NAT verdict or the veto.
struct Parked {
    req: IncomingRequest,
    remote: HolepunchPayload,
    peer: SocketAddrV4,
    is_server_relay: bool,
    token: [u8; 32],
    round: u64,
    stage: Stage,
    /// a fresh NAT analysis was asked for this round already
    reanalyzed: bool,
}

/// Per-slot punching state (`hs.payload`, `hs.puncher`, `hs.round`).
pub(crate) struct SlotPunch {
    payload: SecurePayload,
    pub(crate) puncher: PuncherId,
    round: u64,
    /// the path its connection took if we never probed: LAN for a LAN peer (same public
    /// host), direct if we told it we are OPEN, holepunched otherwise (fast-open)
    unprobed: Path,
    parked: Vec<Parked>,
    /// when the slot started punching (`PathInfo::punch_time`)
    started: std::time::Instant,
    /// told the client to try later at least once (`hs.tryLaterCounted`)
    try_later_counted: bool,
}

impl SlotPunch {
    /// The holepunch round reached (`hs.round`).
    pub(crate) fn round(&self) -> u64 {
        self.round
    }

    /// What the slot's punching saw and took, for the connection's [`PathInfo`].
    pub(crate) fn path_info(
        &self,
        path: Path,
        punchers: &Punchers,
        now: std::time::Instant,
    ) -> PathInfo {
        punchers.path_info(self.puncher, path, self.round, self.started, now)
    }

    /// The slot's connection path for `stats`: holepunched once we probed.
    pub(crate) fn path(&self, punchers: &Punchers) -> Path {
        if punchers.get(self.puncher).is_some_and(|p| p.has_probed()) {
            Path::Holepunched
        } else {
            self.unprobed
        }
    }
}

#[derive(Default)]
pub(crate) struct Plan {
    /// `replyFromPuncher`: routed replies go out from the punching socket.
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
pub(crate) fn plan(
    srv: &Server,
    client: &NoisePayload,
    client_address: SocketAddrV4,
    server_address: SocketAddrV4,
    view: NodeView,
    result: &HandshakeResult,
    ctx: &mut Ctx<'_>,
) -> Plan {
    let secret = result.holepunch_secret(ns::peer_holepunch());
    let remote_fw = Firewall::from_code(client.firewall);
    let mut punch = |unprobed| {
        let puncher = ctx.punchers.create(
            false,
            remote_fw,
            Some(PREPUNCH_TIMEOUT),
            ctx.tags,
            ctx.node,
            ctx.now,
        );
        SlotPunch {
            payload: SecurePayload::new(&secret),
            puncher,
            round: 0,
            unprobed,
            parked: Vec::new(),
            started: ctx.now,
            try_later_counted: false,
        }
    };
    // same public host: maybe a LAN peer; keep a puncher ready but advertise the normal socket
    if client_address.ip() == server_address.ip() && srv.config.share_local_address {
        let theirs: Vec<SocketAddrV4> = client
            .addresses4
            .iter()
            .copied()
            .filter(|a| is_private(a.ip()))
            .collect();
        if match_address(&view.local_addresses, &theirs).is_some() {
            let unprobed = if view.remote_address.is_some() {
                Path::Direct
            } else {
                Path::Lan
            };
            return Plan {
                from_puncher: false,
                punch: Some(punch(unprobed)),
            };
        }
    }
    if view.remote_address.is_some() || !srv.config.holepunch {
        return Plan::default();
    }
    Plan {
        from_puncher: true,
        punch: Some(punch(Path::Holepunched)),
    }
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

/// `_abort(h, error)`: an encrypted error payload, and the puncher goes away.
fn abort(
    req: &IncomingRequest,
    hp: &SlotPunch,
    round: u64,
    peer: SocketAddrV4,
    ctx: &mut Ctx<'_>,
) -> RouteAction {
    abort_with(req, hp, round, peer, PayloadError::Aborted, ctx)
}

fn abort_with(
    req: &IncomingRequest,
    hp: &SlotPunch,
    round: u64,
    peer: SocketAddrV4,
    error: PayloadError,
    ctx: &mut Ctx<'_>,
) -> RouteAction {
    ctx.punchers.destroy(hp.puncher);
    let payload = HolepunchPayload {
        error: error.code(),
        firewall: Firewall::Unknown.code(),
        round,
        ..HolepunchPayload::default()
    };
    relay_reply(req, hp.payload.encrypt(&payload), peer, None)
}

impl Server {
    /// `Router.onpeerholepunch` on the server: FROM_RELAY rounds are ours (`_onpeerholepunch`);
    /// `None` means "route it like any node".
    pub(crate) fn on_peer_holepunch(
        &mut self,
        req: &IncomingRequest,
        ctx: &mut Ctx<'_>,
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
        let target = self.target();
        let slot = self.slot_mut(id)?;
        let gen = slot.gen;
        let hp = slot.hp.as_mut()?;
        let remote = hp.payload.decrypt(&msg.payload)?;
        let alive = ctx
            .punchers
            .get(hp.puncher)
            .is_some_and(|p| !p.is_destroyed());
        if !alive {
            return Some(abort(req, hp, hp.round, peer, ctx));
        }
        if PayloadError::from_code(remote.error) != PayloadError::None {
            hp.round = hp.round.max(remote.round);
            return Some(abort(req, hp, hp.round, peer, ctx));
        }
        let token = hp.payload.token(&peer);
        let echoed = is_server_relay && token_eq(remote.remote_token, Some(token));
        if req.socket == PUNCH_SOCKET {
            ctx.punchers.add_sample(hp.puncher, req.to, req.from);
        }
        if remote.round >= hp.round {
            hp.round = remote.round;
            if let Some(p) = ctx.punchers.get_mut(hp.puncher) {
                p.update_remote(
                    remote.punching,
                    Firewall::from_code(remote.firewall),
                    remote.addresses.as_deref(),
                    echoed.then_some(*peer.ip()),
                );
            }
        }
        if hp.parked.len() >= MAX_PARKED {
            return Some(RouteAction::Drop);
        }
        hp.parked.push(Parked {
            req: req.clone(),
            remote,
            peer,
            is_server_relay,
            token,
            round: hp.round,
            stage: Stage::Analyzing,
            reanalyzed: false,
        });
        let key = SlotKey {
            target,
            slot: id,
            gen,
        };
        self.advance_rounds(key, ctx);
        Some(RouteAction::Drop)
    }

    /// Moves the slot's parked rounds on as far as they can go now.
    pub(crate) fn advance_rounds(&mut self, key: SlotKey, ctx: &mut Ctx<'_>) {
        let veto = self.config.holepunch_veto;
        let Some(slot) = self.slot_of(key) else {
            return;
        };
        let relayed = slot.relayed();
        let Some(hp) = slot.hp.as_mut() else {
            return;
        };
        let mut i = 0;
        while i < hp.parked.len() {
            let Some(p) = ctx.punchers.get(hp.puncher) else {
                hp.parked.clear();
                return;
            };
            if hp.parked[i].stage == Stage::Veto || !p.is_analyzed() {
                i += 1;
                continue;
            }
            // `analyze(true)`: an unknown verdict gets a fresh analysis (upstream reopens its
            // socket; ours is shared, so it samples again) before the round gives up
            if p.nat.firewall == Firewall::Unknown && !hp.parked[i].reanalyzed {
                hp.parked[i].reanalyzed = true;
                if ctx
                    .punchers
                    .reanalyze(hp.puncher, ctx.tags, ctx.node, ctx.now)
                {
                    i += 1;
                    continue;
                }
            }
            let Some(p) = ctx.punchers.get(hp.puncher) else {
                hp.parked.clear();
                return;
            };
            let r = hp.parked.remove(i);
            if !p.remote_holepunching() && !p.stable() {
                abort(&r.req, hp, r.round, r.peer, ctx).apply(&r.req, ctx.node);
                continue;
            }
            // fast mode: the client opened a session to one of our addresses, probe back now
            let (local, addresses) = p.local();
            if local.is_consistent() {
                if let (Some(ra), Some(ours)) = (r.remote.remote_address, addresses.as_ref()) {
                    if ours.contains(&ra) {
                        ctx.punchers.ping(hp.puncher, r.peer, ctx.node);
                    }
                }
            }
            let punching = ctx
                .punchers
                .get(hp.puncher)
                .is_some_and(|p| p.remote_holepunching());
            if punching && veto {
                let info = holepunch_info(ctx.punchers, hp.puncher);
                ctx.out
                    .push_back(Output::Server(ServerOut::AskVeto { key, info }));
                hp.parked.insert(
                    i,
                    Parked {
                        stage: Stage::Veto,
                        ..r
                    },
                );
                i += 1;
                continue;
            }
            finish_round(hp, r, punching, relayed, ctx);
        }
    }

    /// The app's holepunch veto answered for the slot's oldest round waiting on it.
    pub(crate) fn veto_answer(&mut self, key: SlotKey, allowed: bool, ctx: &mut Ctx<'_>) {
        let Some(slot) = self.slot_of(key) else {
            return;
        };
        let relayed = slot.relayed();
        let Some(hp) = slot.hp.as_mut() else {
            return;
        };
        let Some(i) = hp.parked.iter().position(|p| p.stage == Stage::Veto) else {
            return;
        };
        let r = hp.parked.remove(i);
        if ctx.punchers.get(hp.puncher).is_none() {
            return;
        }
        if !allowed {
            abort(&r.req, hp, r.round, r.peer, ctx).apply(&r.req, ctx.node);
            return;
        }
        finish_round(hp, r, true, relayed, ctx);
    }
}

/// What the veto sees (the puncher's view when the decision is due).
pub(crate) fn holepunch_info(punchers: &Punchers, id: PuncherId) -> HolepunchInfo {
    punchers
        .get(id)
        .map(HolepunchInfo::of)
        .unwrap_or_else(HolepunchInfo::unknown)
}

/// The end of `_onpeerholepunch`: punch if the client does, then answer with our NAT state.
/// `relayed`: a blind relay carries the connection (`hs.relayToken`).
fn finish_round(hp: &mut SlotPunch, r: Parked, punch: bool, relayed: bool, ctx: &mut Ctx<'_>) {
    // the client punches and the veto agreed: the prepunch timer goes (`h.prepunching`), so a
    // client told to try later finds the slot's puncher still there. Relayed, any round stops
    // it (upstream: a punching one): a client waiting on its own random-punch budget says so
    // in a round that does not punch and comes back 10-40 s later
    if punch || relayed {
        if let Some(p) = ctx.punchers.get_mut(hp.puncher) {
            p.prepunch_deadline = None;
        }
    }
    // a random punch waits for the node's budget (one at a time, 20 s apart): the client is
    // told to try later, in an abort when there is no relay to fall back on, else in a normal
    // reply (the handshake stays; the client's `tryLater` loop comes back)
    let random = ctx.punchers.get(hp.puncher).is_some_and(|p| {
        p.remote_firewall() >= Firewall::Random || p.local().0 >= Firewall::Random
    });
    let punching = ctx
        .punchers
        .get(hp.puncher)
        .is_some_and(|p| p.is_punching());
    if punch && random && !punching && !ctx.punchers.random_budget().allows(ctx.now) {
        ctx.stats.try_later(relayed && !hp.try_later_counted);
        if !relayed {
            let reply = abort_with(&r.req, hp, r.round, r.peer, PayloadError::TryLater, ctx);
            reply.apply(&r.req, ctx.node);
            return;
        }
        hp.try_later_counted = true;
        reply_state(hp, r, PayloadError::TryLater, ctx);
        return;
    }
    if punch && !ctx.punchers.punch(hp.puncher, ctx.stats, ctx.now) {
        abort(&r.req, hp, r.round, r.peer, ctx).apply(&r.req, ctx.node);
        return;
    }
    reply_state(hp, r, PayloadError::None, ctx);
}

/// Answers a round with our NAT state (and `error`: none, or TRY_LATER to a relayed client).
fn reply_state(hp: &mut SlotPunch, r: Parked, error: PayloadError, ctx: &mut Ctx<'_>) {
    let Some(p) = ctx.punchers.get_mut(hp.puncher) else {
        return;
    };
    let (local, addresses) = p.local();
    if local != Firewall::Unknown {
        p.nat.freeze();
    }
    let reply = HolepunchPayload {
        error: error.code(),
        firewall: local.code(),
        round: r.round,
        connected: p.is_connected(),
        punching: p.is_punching(),
        addresses,
        remote_address: None,
        token: r.is_server_relay.then_some(r.token),
        remote_token: r.remote.token,
    };
    relay_reply(
        &r.req,
        hp.payload.encrypt(&reply),
        r.peer,
        Some(PUNCH_SOCKET),
    )
    .apply(&r.req, ctx.node);
}
