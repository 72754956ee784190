//! Client holepunch rounds (`hyperdht lib/connect.js`: `holepunch` from the puncher on,
//! `probeRound`, `roundPunch`, `updateHolepunch`, `abort`): PEER_HOLEPUNCH messages through the
//! server's relay, sent from the socket we punch with, with payloads encrypted under the
//! holepunch secret. The puncher ([`Punchers`](crate::core::holepuncher::Punchers)) samples our
//! NAT and probes; its `Connected` event (a probe from the server reached us) wins at any step.
//!
//! Like upstream, a round that fails destroys the puncher first, whose `onabort` fails the
//! connect with HOLEPUNCH_ABORTED (so e.g. a remote abort or a failed relay request surface as
//! that); only `abort(c, relay, err)` (probe timeout, double random NATs, veto) keeps its error.
//! A RANDOM NAT on one side punches with `core/random_punch.rs` (random probes / birthday sockets).

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use hyperdht_crypto::ns;
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::RequestSpec;
use hyperdht_rpc::{Response, RpcError};

use super::error::ConnectError;
use super::handshake::Handshaken;
use super::{Base, ConnectOut, Phase, Step, Win};
use crate::constants::{Firewall, PayloadError};
use crate::core::holepuncher::HolepunchInfo;
use crate::core::holepuncher::{token_eq, PunchEvent, PuncherId, PUNCH_SOCKET};
use crate::core::random_punch::PoolId;
use crate::core::{Ctx, Output};
use crate::messages::{HolepunchMessage, HolepunchPayload, RouterMode};
use crate::noise_payload::RelayInfo;
use crate::path_info::PathInfo;
use crate::secure_payload::SecurePayload;
use crate::stats::Path;
use crate::Command;

/// Pause when the server does not know its NAT yet (it may still fast-open to us).
const UNKNOWN_REMOTE_PAUSE: Duration = Duration::from_secs(1);
/// How long to wait for a probe once both sides punch (10 consistent rounds, 1 s apart).
const PUNCH_WAIT: Duration = Duration::from_secs(12);
/// The same for a RANDOM-NAT punch (1750 probes 20 ms apart, plus the birthday burst).
const RANDOM_PUNCH_WAIT: Duration = Duration::from_secs(40);
/// `tryLater`: a relayed connect whose random punch found no budget (ours, or the server's
/// TRY_LATER) asks again after 10 s plus up to 10 s of jitter.
const TRY_LATER: Duration = Duration::from_secs(10);
const TRY_LATER_JITTER_MS: u64 = 10_000;

/// A PEER_HOLEPUNCH request in flight.
#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u32,
    relay: SocketAddrV4,
    peer_address: SocketAddrV4,
    token: Option<[u8; 32]>,
}

/// A decrypted PEER_HOLEPUNCH reply of a probe round.
#[derive(Debug, Clone, Copy)]
struct RoundReply {
    token: Option<[u8; 32]>,
    peer_address: SocketAddrV4,
}

enum HpStep {
    /// `probeRound`: our NAT state is out
    Probe { sent: Sent, retry: bool },
    /// the server did not know its NAT: give it a second (`c.sleeper.pause(1000)`)
    ProbePause {
        reply: RoundReply,
        retry: bool,
        until: Instant,
    },
    /// `await c.puncher.analyze(false)`
    ProbeAnalyze { reply: RoundReply, retry: bool },
    /// the app's `holepunch(...)` veto was asked
    Veto { token: Option<[u8; 32]> },
    /// `roundPunch`: we told the server we punch (`remote_token` again if it says try later)
    Punch {
        sent: Sent,
        remote_token: Option<[u8; 32]>,
    },
    /// `abort`: the server is told (best effort), then the connect fails with `err`
    Abort { seq: u32, err: ConnectError },
    /// both sides punch: waiting for a probe
    Wait { until: Instant },
    /// `tryLater`: relayed, a random punch waits for the budget (ours or the server's), then
    /// a delayed `roundPunch`
    Later {
        until: Instant,
        remote_token: Option<[u8; 32]>,
        /// the round that told the server we wait (its reply verifies the server's address)
        told: Option<Sent>,
    },
}

pub(crate) struct Holepunch {
    /// handed to the connection when a probe gets through
    hs: Option<Box<Handshaken>>,
    /// the node we handshook through (`c.connect.relayAddress`)
    relay: SocketAddrV4,
    puncher: PuncherId,
    payload: SecurePayload,
    /// the server's handshake slot (`payload.holepunch.id`)
    hp_id: u64,
    /// `c.round`
    round: u64,
    server_relay: RelayInfo,
    server_address: SocketAddrV4,
    /// `fastOpen`: where the probe rounds open a low-TTL session to
    fast: Option<SocketAddrV4>,
    step: HpStep,
    /// a NAT on either side is RANDOM (the punch uses `core/random_punch.rs`)
    random: bool,
    /// when punching started (`PathInfo::punch_time`)
    started: std::time::Instant,
}

/// Starts holepunching (`c.puncher = new Holepuncher(...)`, then the first probe round).
pub(super) fn start(base: &mut Base, hs: Box<Handshaken>, ctx: &mut Ctx<'_>) -> Step {
    base.path = Path::Holepunched;
    let Some(info) = hs
        .payload
        .holepunch
        .clone()
        .filter(|i| !i.relays.is_empty())
    else {
        return Step::Done(Err(ConnectError::CannotHolepunch));
    };
    let puncher = ctx.punchers.create(
        true,
        Firewall::from_code(hs.payload.firewall),
        None,
        ctx.tags,
        ctx.node,
        ctx.now,
    );
    if let Some(p) = ctx.punchers.get_mut(puncher) {
        p.expect(hs.server_address);
    }
    // `pickServerRelay`: the server relay we talked through, else its first
    let server_relay = info
        .relays
        .iter()
        .copied()
        .find(|x| x.relay_address == hs.relay)
        .unwrap_or(info.relays[0]);
    let mut h = Holepunch {
        relay: hs.relay,
        puncher,
        payload: SecurePayload::new(&hs.result.holepunch_secret(ns::peer_holepunch())),
        hp_id: info.id,
        round: 0,
        server_relay,
        server_address: hs.server_address,
        fast: base.p.fast_open.then_some(hs.server_address),
        step: HpStep::Wait { until: ctx.now },
        random: false,
        started: ctx.now,
        hs: Some(hs),
    };
    h.send_probe(base, true, ctx);
    Step::Phase(Phase::Punch(Box::new(h)))
}

impl Holepunch {
    pub(super) fn puncher(&self) -> PuncherId {
        self.puncher
    }

    /// The puncher goes (the connect ended or was dropped).
    pub(super) fn stop(&mut self, ctx: &mut Ctx<'_>) {
        ctx.punchers.destroy(self.puncher);
    }

    /// What the punching saw and took, for the connection's [`PathInfo`] (before `stop`).
    pub(super) fn path_info(&self, path: Path, ctx: &Ctx<'_>) -> PathInfo {
        ctx.punchers
            .path_info(self.puncher, path, self.round, self.started, ctx.now)
    }

    fn next_round(&mut self) -> u64 {
        let r = self.round;
        self.round += 1;
        r
    }

    /// `updateHolepunch`: one PEER_HOLEPUNCH request through `relay`, from the punch socket.
    fn update(
        &mut self,
        base: &mut Base,
        peer_address: SocketAddrV4,
        relay: SocketAddrV4,
        payload: HolepunchPayload,
        ctx: &mut Ctx<'_>,
    ) -> Sent {
        let msg = HolepunchMessage {
            mode: RouterMode::FromClient.code(),
            id: self.hp_id,
            payload: self.payload.encrypt(&payload),
            peer_address: Some(peer_address),
        };
        let mut spec = RequestSpec::new(relay, false, Command::PeerHolepunch.code());
        spec.target = Some(base.target);
        spec.value = Some(msg.to_bytes());
        spec.socket = Some(PUNCH_SOCKET);
        Sent {
            seq: base.request(spec, ctx),
            relay,
            peer_address,
            token: payload.token,
        }
    }

    /// The rest of `updateHolepunch`: check and decrypt the reply, update the puncher's view of
    /// the remote.
    fn read_update(
        &mut self,
        sent: Sent,
        result: Result<Response, RpcError>,
        ctx: &mut Ctx<'_>,
    ) -> Result<RoundReply, ConnectError> {
        let res = result.map_err(|_| ConnectError::HolepunchAborted)?;
        let hp = res
            .value
            .as_ref()
            .and_then(|v| HolepunchMessage::from_bytes(v).ok())
            .filter(|m| m.mode == RouterMode::Reply.code() && res.from == sent.relay)
            .ok_or(ConnectError::BadHolepunchReply)?;
        let remote = self
            .payload
            .decrypt(&hp.payload)
            .ok_or(ConnectError::HolepunchInvalid)?;
        let echoed = remote.remote_token.is_some() && token_eq(remote.remote_token, sent.token);
        if PayloadError::from_code(remote.error) == PayloadError::TryLater && echoed {
            // the server echoed our token from its address: that address is verified, as a
            // normal reply would have made it. Upstream skips this, so a client whose first
            // punching round is told to try later retries with no token (delayed), never
            // verifies the server and cannot start a RANDOM-NAT punch (REMOTE_NOT_HOLEPUNCHABLE;
            // a relayed connection then never upgrades)
            if let Some(p) = ctx.punchers.get_mut(self.puncher) {
                p.verify_host(*sent.peer_address.ip());
            }
        }
        if PayloadError::from_code(remote.error) != PayloadError::None {
            return Err(ConnectError::RemoteAborted(remote.error));
        }
        ctx.punchers.add_sample(self.puncher, res.to, res.from);
        if let Some(p) = ctx.punchers.get_mut(self.puncher) {
            p.update_remote(
                remote.punching,
                Firewall::from_code(remote.firewall),
                remote.addresses.as_deref(),
                echoed.then_some(*sent.peer_address.ip()),
            );
            for a in remote.addresses.iter().flatten() {
                p.expect(*a);
            }
        }
        Ok(RoundReply {
            token: remote.token,
            peer_address: hp.peer_address.unwrap_or(sent.relay),
        })
    }

    /// `probeRound`: a low-TTL session to the server (fast open), then our NAT state.
    fn send_probe(&mut self, base: &mut Base, retry: bool, ctx: &mut Ctx<'_>) {
        if let Some(a) = self.fast {
            ctx.punchers.open_session(a, ctx.node);
        }
        let (firewall, addresses) = ctx
            .punchers
            .get(self.puncher)
            .map(|p| p.local())
            .unwrap_or((Firewall::Unknown, None));
        let round = self.next_round();
        let payload = HolepunchPayload {
            firewall: firewall.code(),
            round,
            addresses,
            remote_address: self.fast,
            ..HolepunchPayload::default()
        };
        let relay = self.server_relay;
        let sent = self.update(base, relay.peer_address, relay.relay_address, payload, ctx);
        self.step = HpStep::Probe { sent, retry };
    }

    pub(super) fn on_response(
        &mut self,
        base: &mut Base,
        seq: u32,
        result: Result<Response, RpcError>,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        match &self.step {
            HpStep::Probe { sent, retry } if sent.seq == seq => {
                let (sent, retry) = (*sent, *retry);
                match self.read_update(sent, result, ctx) {
                    Ok(reply) => self.probe_replied(base, reply, retry, ctx),
                    Err(e) => self.fail(e, ctx),
                }
            }
            HpStep::Punch { sent, remote_token } if sent.seq == seq => {
                let (sent, remote_token) = (*sent, *remote_token);
                match self.read_update(sent, result, ctx) {
                    Ok(_) => self.punched(ctx),
                    // the server's random-punch budget is spent; relayed, we ask again later
                    Err(ConnectError::RemoteAborted(code))
                        if code == PayloadError::TryLater.code() && base.relay.is_some() =>
                    {
                        self.later(remote_token, None, ctx)
                    }
                    Err(e) => self.fail(e, ctx),
                }
            }
            // the server heard we wait: its reply updates our view of it (a failed one fails
            // the punch, as upstream's awaited `updateHolepunch` throws)
            HpStep::Later {
                told: Some(sent), ..
            } if sent.seq == seq => {
                let sent = *sent;
                match self.read_update(sent, result, ctx) {
                    Ok(_) => {
                        if let HpStep::Later { told, .. } = &mut self.step {
                            *told = None;
                        }
                        Step::Stay
                    }
                    Err(e) => self.fail(e, ctx),
                }
            }
            HpStep::Abort { seq: s, err } if *s == seq => {
                let err = err.clone();
                self.fail(err, ctx)
            }
            _ => Step::Stay,
        }
    }

    fn remote_firewall(&self, ctx: &Ctx<'_>) -> Firewall {
        ctx.punchers
            .get(self.puncher)
            .map_or(Firewall::Unknown, |p| p.remote_firewall())
    }

    fn probe_replied(
        &mut self,
        base: &mut Base,
        reply: RoundReply,
        retry: bool,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        if self.remote_firewall(ctx) == Firewall::Unknown {
            self.step = HpStep::ProbePause {
                reply,
                retry,
                until: ctx.now + UNKNOWN_REMOTE_PAUSE,
            };
            return Step::Stay;
        }
        self.analyze(base, reply, retry, ctx)
    }

    /// `await c.puncher.analyze(false)`: on at once if the NAT analysis is done.
    fn analyze(
        &mut self,
        base: &mut Base,
        reply: RoundReply,
        retry: bool,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        let analyzed = ctx
            .punchers
            .get(self.puncher)
            .is_none_or(|p| p.is_analyzed());
        if analyzed {
            return self.analyzed(base, reply, retry, ctx);
        }
        self.step = HpStep::ProbeAnalyze { reply, retry };
        Step::Stay
    }

    /// The end of `probeRound`: retry once if the server's NAT or token is missing; both NATs
    /// must be known and not both random.
    fn analyzed(
        &mut self,
        base: &mut Base,
        reply: RoundReply,
        retry: bool,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        let remote = self.remote_firewall(ctx);
        if (remote == Firewall::Unknown || reply.token.is_none()) && retry {
            self.send_probe(base, false, ctx);
            return Step::Stay;
        }
        let Some(p) = ctx.punchers.get_mut(self.puncher) else {
            return self.fail(ConnectError::HolepunchAborted, ctx);
        };
        let local = p.local().0;
        if remote == Firewall::Unknown || local == Firewall::Unknown {
            return self.abort(base, ConnectError::HolepunchProbeTimeout, ctx);
        }
        if remote >= Firewall::Random && local >= Firewall::Random {
            return self.abort(base, ConnectError::HolepunchDoubleRandomizedNats, ctx);
        }
        // the server answered through the relay we used and moved its socket: follow it
        if self.server_relay.relay_address == self.relay
            && reply.peer_address != self.server_address
        {
            self.server_address = reply.peer_address;
            p.expect(reply.peer_address);
            ctx.punchers.open_session(reply.peer_address, ctx.node);
        }
        if base.p.veto {
            let info = ctx
                .punchers
                .get(self.puncher)
                .map(HolepunchInfo::of)
                .unwrap_or_else(HolepunchInfo::unknown);
            ctx.out
                .push_back(Output::Connect(ConnectOut::AskVeto { id: base.id, info }));
            self.step = HpStep::Veto { token: reply.token };
            return Step::Stay;
        }
        self.punch_round(base, reply.token, false, ctx)
    }

    /// The app's veto answered.
    pub(super) fn veto_answer(
        &mut self,
        base: &mut Base,
        allowed: bool,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        let HpStep::Veto { token } = self.step else {
            return Step::Stay;
        };
        if !allowed {
            // 'Client aborted holepunch'
            return self.abort(base, ConnectError::HolepunchAborted, ctx);
        }
        self.punch_round(base, token, false, ctx)
    }

    /// `roundPunch`: freeze our NAT verdict and tell the server we punch. `delayed` (a retry
    /// after `tryLater`) goes through the server's chosen relay, without a token.
    fn punch_round(
        &mut self,
        base: &mut Base,
        remote_token: Option<[u8; 32]>,
        delayed: bool,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        let Some(p) = ctx.punchers.get_mut(self.puncher) else {
            return self.fail(ConnectError::HolepunchAborted, ctx);
        };
        p.nat.freeze();
        let (local, addresses) = p.local();
        // a random punch waits for the node's budget (one at a time, 20 s apart): with no relay
        // to fall back on (`c.relayToken`) the connect gives up, a relayed one tries later and
        // first tells the server where it stands (not punching)
        let random = local >= Firewall::Random || p.remote_firewall() >= Firewall::Random;
        if random && !ctx.punchers.random_budget().allows(ctx.now) {
            if base.relay.is_none() {
                return self.abort(base, ConnectError::HolepunchAborted, ctx);
            }
            if !delayed {
                let payload = HolepunchPayload {
                    firewall: local.code(),
                    round: self.next_round(),
                    addresses,
                    token: Some(self.payload.token(&self.server_address)),
                    remote_token,
                    ..HolepunchPayload::default()
                };
                let (to, relay) = (self.server_address, self.relay);
                let told = self.update(base, to, relay, payload, ctx);
                return self.later(remote_token, Some(told), ctx);
            }
            return self.later(remote_token, None, ctx);
        }
        self.random = random;
        // from here a RANDOM remote's probes from any of its ports are ours
        if let Some(p) = ctx.punchers.get_mut(self.puncher) {
            p.punch_requested = true;
        }
        let (to, relay, token) = if delayed {
            let r = self.server_relay;
            (r.peer_address, r.relay_address, None)
        } else {
            let token = self.payload.token(&self.server_address);
            (self.server_address, self.relay, Some(token))
        };
        let round = self.next_round();
        let payload = HolepunchPayload {
            firewall: local.code(),
            round,
            punching: true,
            addresses,
            token,
            remote_token,
            ..HolepunchPayload::default()
        };
        let sent = self.update(base, to, relay, payload, ctx);
        self.step = HpStep::Punch { sent, remote_token };
        Step::Stay
    }

    /// `await tryLater(c)`: sleep 10-20 s, then a delayed `roundPunch`.
    fn later(
        &mut self,
        remote_token: Option<[u8; 32]>,
        told: Option<Sent>,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        let jitter = Duration::from_millis(rand::random::<u64>() % (TRY_LATER_JITTER_MS + 1));
        self.step = HpStep::Later {
            until: ctx.now + TRY_LATER + jitter,
            remote_token,
            told,
        };
        Step::Stay
    }

    /// The server answered our punching round: punch too, and wait for a probe.
    fn punched(&mut self, ctx: &mut Ctx<'_>) -> Step {
        let Some(p) = ctx.punchers.get(self.puncher) else {
            return self.fail(ConnectError::HolepunchAborted, ctx);
        };
        if let Some(addr) = p.connected_to() {
            return self.win(addr, p.connected_via());
        }
        if !p.remote_holepunching() {
            return self.fail(ConnectError::RemoteNotHolepunching, ctx);
        }
        if !ctx.punchers.punch(self.puncher, ctx.stats, ctx.now) {
            return self.fail(ConnectError::RemoteNotHolepunchable, ctx);
        }
        // random strategies probe for up to ~35 s; the puncher ends the wait when they run out
        let wait = if self.random {
            RANDOM_PUNCH_WAIT
        } else {
            PUNCH_WAIT
        };
        self.step = HpStep::Wait {
            until: ctx.now + wait,
        };
        Step::Stay
    }

    /// `abort`: tell the server (best effort); the connect fails with `err` once answered.
    fn abort(&mut self, base: &mut Base, err: ConnectError, ctx: &mut Ctx<'_>) -> Step {
        let round = self.next_round();
        let payload = HolepunchPayload {
            error: PayloadError::Aborted.code(),
            round,
            ..HolepunchPayload::default()
        };
        let relay = self.server_relay;
        let sent = self.update(base, relay.peer_address, relay.relay_address, payload, ctx);
        self.step = HpStep::Abort { seq: sent.seq, err };
        Step::Stay
    }

    /// A round failed: unless a probe got through meanwhile (`isDone(c)`), the connect fails.
    fn fail(&mut self, err: ConnectError, ctx: &mut Ctx<'_>) -> Step {
        if let Some((addr, via)) = ctx
            .punchers
            .get(self.puncher)
            .and_then(|p| Some((p.connected_to()?, p.connected_via())))
        {
            return self.win(addr, via);
        }
        ctx.punchers.destroy(self.puncher);
        // upstream's `abort()` and `holepunch()`'s catch both destroy the puncher first, whose
        // `onabort` ends the socket with HOLEPUNCH_ABORTED before their own error (probe
        // timeout, double randomized NATs, remote aborted...) is tried: that is what a JS
        // client reports, so ours does too
        let _cause = err;
        Step::Done(Err(ConnectError::HolepunchAborted))
    }

    fn win(&mut self, addr: SocketAddrV4, via: Option<PoolId>) -> Step {
        match self.hs.take() {
            Some(hs) => Step::Done(Ok(Win {
                hs,
                addr: Some(addr),
                passive: false,
                via,
            })),
            None => Step::Stay,
        }
    }

    pub(super) fn on_punch_event(
        &mut self,
        base: &mut Base,
        ev: PunchEvent,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        match ev {
            PunchEvent::Connected(p, addr) => {
                let via = ctx.punchers.get(p).and_then(|p| p.connected_via());
                self.win(addr, via)
            }
            // punching ran out (`onabort`)
            PunchEvent::Destroyed(_) => Step::Done(Err(ConnectError::HolepunchAborted)),
            PunchEvent::Analyzed(_) => match self.step {
                HpStep::ProbeAnalyze { reply, retry } => self.analyzed(base, reply, retry, ctx),
                _ => Step::Stay,
            },
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self.step {
            HpStep::ProbePause { until, .. }
            | HpStep::Wait { until }
            | HpStep::Later { until, .. } => Some(until),
            _ => None,
        }
    }

    pub(super) fn on_timeout(&mut self, base: &mut Base, ctx: &mut Ctx<'_>) -> Step {
        match self.step {
            HpStep::ProbePause {
                reply,
                retry,
                until,
            } if until <= ctx.now => self.analyze(base, reply, retry, ctx),
            HpStep::Wait { until } if until <= ctx.now => {
                self.fail(ConnectError::HolepunchAborted, ctx)
            }
            HpStep::Later {
                until,
                remote_token,
                ..
            } if until <= ctx.now => self.punch_round(base, remote_token, true, ctx),
            _ => Step::Stay,
        }
    }
}
