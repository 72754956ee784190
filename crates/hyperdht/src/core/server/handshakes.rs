//! A server's handshake slots (`hyperdht lib/server.js`: `_onpeerhandshake`, `_addHandshake`,
//! `_clearLater`). Slots are numbered (the index is the `holepunch.id` we advertise) and
//! deduplicated by the exact noise bytes (`_connects`), since relays and dht-rpc retries deliver
//! the same message several times. With a firewall callback a handshake is pending: requests for
//! it wait and are all answered (or all dropped) once `Core::firewall_answer` decides.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use hyperdht_crypto::ns;
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::{IncomingRequest, Reply, SocketKind};
use hyperdht_secret_stream::{Handshake, HandshakeResult, Pattern};

use super::holepunch::SlotPunch;
use super::{NodeView, Server, ServerOut, SlotKey, StreamOpen};
use crate::constants::{Firewall, PayloadError};
use crate::core::{Ctx, Output};
use crate::messages::{HandshakeMessage, RouterMode};
use crate::noise_payload::{HolepunchInfo, NoisePayload, RelayThroughInfo, UdxInfo};
use crate::path_info::PathInfo;
use crate::router::RouteAction;
use crate::stats::{Path, Side};

/// How long an accepted handshake waits for the client's first UDX packet
/// (`HANDSHAKE_INITIAL_TIMEOUT` plus the time a holepunch may take).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// The same when the client has to punch: a RANDOM-NAT punch probes for ~35 s once both sides
/// start, which can be 10 s after the handshake (upstream keeps the stream while its puncher
/// lives).
const PUNCH_CONNECT_TIMEOUT: Duration = Duration::from_secs(50);
/// `HANDSHAKE_CLEAR_WAIT`: a finished handshake is remembered this long (retransmits).
const HANDSHAKE_CLEAR_WAIT: Duration = Duration::from_secs(10);
/// Most handshakes in flight per server; more are dropped like lost packets (hyperdht has no
/// bound; a slot holds a handshake and an unconnected stream for up to 30 s).
const MAX_SLOTS: usize = 2048;
/// Datagrams a stream connected to a claimed client address may send before the client is
/// heard from (our secret-stream header and its first retransmissions).
const UNVERIFIED_BUDGET: usize = 3;
/// Most handshakes in flight from one client host, so one source cannot take every slot.
const MAX_SLOTS_PER_HOST: usize = 512;
/// Most requests waiting on one pending (firewall) decision.
const MAX_WAITERS: usize = 16;

/// A request waiting for its handshake's outcome.
pub(crate) struct Waiter {
    pub(super) req: IncomingRequest,
    pub(super) msg: HandshakeMessage,
}

/// The answer every request carrying the same noise bytes gets.
#[derive(Clone)]
pub(crate) struct Ready {
    noise2: Vec<u8>,
    /// `replyFromPuncher`: send routed replies from the socket we punch with.
    from_puncher: bool,
}

/// What a pending handshake keeps until the answer it waits for.
pub(crate) struct PendingHandshake {
    pub(super) waiters: Vec<Waiter>,
    pub(super) client_address: SocketAddrV4,
    pub(super) view: NodeView,
    pub(super) stage: Stage,
}

/// What a pending handshake waits for.
pub(super) enum Stage {
    /// the app's handshake object (`createHandshake`) reads message 1
    Recv,
    /// the firewall (and/or the `relayThrough` function); `hs` is ours, `None` with an app's
    /// handshake object
    Firewall {
        hs: Option<Box<Handshake>>,
        client: Box<NoisePayload>,
    },
    /// the app's handshake object writes message 2
    Send(Box<Accepting>),
}

/// What `_addHandshake` decided before message 2 is written.
pub(crate) struct Accepting {
    ok: bool,
    stream_id: u32,
    client: NoisePayload,
    client_address: SocketAddrV4,
    relay_through: Option<RelayThroughInfo>,
    view: NodeView,
}

pub(crate) enum SlotState {
    Pending(PendingHandshake),
    Ready(Ready),
    /// Rejected, undecryptable, or aborted: never answered.
    Dropped,
}

pub(crate) struct Slot {
    pub(crate) gen: u64,
    noise1: Vec<u8>,
    /// the client's host (as the first relay saw it), for the per-host bound
    host: Ipv4Addr,
    pub(super) state: SlotState,
    clear_at: Instant,
    pub(crate) hp: Option<SlotPunch>,
    /// its stream connected: kept only so retransmits of message 1 are recognised
    connected: bool,
    /// a blind relay pairs the stream (`hs.relayToken`, `hs.relayPaired`)
    relay: Option<SlotRelay>,
    /// (ours, the client's) NAT class as the handshake told, for the connection's `PathInfo`
    firewalls: (Firewall, Firewall),
    /// its puncher ended before a direct path took over (`hs.aborted`: the client aborted,
    /// punching ran out, or the server gave up)
    pub(crate) aborted: bool,
}

/// A slot's blind relay.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotRelay {
    key: [u8; 32],
    paired: bool,
}

impl Slot {
    /// A blind relay carries (or will carry) this handshake's connection (`hs.relayToken`).
    pub(crate) fn relayed(&self) -> bool {
        self.relay.is_some()
    }

    /// What `server._holepunches[id]` shows of it.
    pub(crate) fn view(&self) -> super::HolepunchView {
        super::HolepunchView {
            round: self.hp.as_ref().map_or(0, |hp| hp.round()),
            aborted: self.aborted,
            relay_paired: self.relay.is_some_and(|r| r.paired),
        }
    }
}

/// A random non-zero UDX stream id.
fn random_stream_id() -> u32 {
    loop {
        let id = rand::random::<u32>();
        if id != 0 {
            return id;
        }
    }
}

impl Server {
    pub(crate) fn slot_mut(&mut self, id: usize) -> Option<&mut Slot> {
        self.slots.get_mut(id).and_then(|s| s.as_mut())
    }

    pub(super) fn key(&self, id: usize, gen: u64) -> SlotKey {
        SlotKey {
            target: self.target(),
            slot: id,
            gen,
        }
    }

    /// The slot `key` names, if it still holds that handshake.
    pub(crate) fn slot_of(&mut self, key: SlotKey) -> Option<&mut Slot> {
        self.slot_mut(key.slot).filter(|s| s.gen == key.gen)
    }

    /// `_clearAll` (suspend / close): forget every handshake.
    pub(crate) fn clear_all(&mut self, ctx: &mut Ctx<'_>) {
        for s in self.slots.drain(..).flatten() {
            if let Some(hp) = s.hp {
                ctx.punchers.destroy(hp.puncher);
            }
        }
        self.by_noise.clear();
    }

    /// The earliest slot expiry.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.slots.iter().flatten().map(|s| s.clear_at).min()
    }

    /// Drops expired slots (`_clearLater`).
    pub(crate) fn gc(&mut self, ctx: &mut Ctx<'_>) {
        for i in 0..self.slots.len() {
            if self.slots[i]
                .as_ref()
                .is_some_and(|s| s.clear_at <= ctx.now)
            {
                if let Some(s) = self.slots[i].take() {
                    self.by_noise.remove(&s.noise1);
                    if let Some(hp) = s.hp {
                        ctx.punchers.destroy(hp.puncher);
                    }
                }
            }
        }
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
    }

    fn free_slot(&self) -> Option<usize> {
        match self.slots.iter().position(|s| s.is_none()) {
            Some(i) => Some(i),
            None if self.slots.len() < MAX_SLOTS => Some(self.slots.len()),
            None => None,
        }
    }

    /// Reads Noise IK message 1: the handshake, the client's payload and its static key.
    fn read_noise1(&self, noise: &[u8]) -> Option<(Handshake, NoisePayload, [u8; 32])> {
        let mut hs = Handshake::new(
            Pattern::IK,
            false,
            self.key_pair.clone(),
            ns::peer_handshake(),
            None,
        )
        .ok()?;
        let client = NoisePayload::from_bytes(&hs.recv(noise).ok()?).ok()?;
        let remote_pk = hs.remote_static()?;
        Some((hs, client, remote_pk))
    }

    /// A slot for a decrypted handshake from `host`. Slots that only remember a finished
    /// handshake (connected, or rejected) give way first: the host's oldest when it holds
    /// [`MAX_SLOTS_PER_HOST`], anyone's oldest when all are taken. Handshakes still in progress
    /// are never evicted, so a flood from one host fills that host's share and no more.
    pub(super) fn take_slot(
        &mut self,
        noise1: &[u8],
        host: Ipv4Addr,
        ctx: &mut Ctx<'_>,
    ) -> Option<usize> {
        let live = self.slots.iter().flatten();
        let id = if live.filter(|s| s.host == host).count() >= MAX_SLOTS_PER_HOST {
            self.evict_oldest(Some(host), ctx)?
        } else {
            match self.free_slot() {
                Some(id) => id,
                None => self.evict_oldest(None, ctx)?,
            }
        };
        self.next_gen += 1;
        let slot = Slot {
            gen: self.next_gen,
            noise1: noise1.to_vec(),
            host,
            state: SlotState::Dropped,
            clear_at: ctx.now + CONNECT_TIMEOUT + HANDSHAKE_CLEAR_WAIT,
            hp: None,
            connected: false,
            relay: None,
            firewalls: (Firewall::Unknown, Firewall::Unknown),
            aborted: false,
        };
        if id == self.slots.len() {
            self.slots.push(Some(slot));
        } else {
            self.slots[id] = Some(slot);
        }
        self.by_noise.insert(noise1.to_vec(), id);
        Some(id)
    }

    /// Frees the oldest slot (of `host`, if given) that only remembers a finished handshake.
    fn evict_oldest(&mut self, host: Option<Ipv4Addr>, ctx: &mut Ctx<'_>) -> Option<usize> {
        let (id, _) = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
            .filter(|(_, s)| host.is_none_or(|h| s.host == h))
            .filter(|(_, s)| s.connected || matches!(s.state, SlotState::Dropped))
            .min_by_key(|(_, s)| s.clear_at)?;
        let old = self.slots[id].take()?;
        self.by_noise.remove(&old.noise1);
        if let Some(hp) = old.hp {
            ctx.punchers.destroy(hp.puncher);
        }
        Some(id)
    }

    /// `Router.onpeerhandshake` with `isServer` (`Server._onpeerhandshake`): returns what to send
    /// now; `Drop` also covers "answered later" (the firewall decision is pending).
    pub(crate) fn on_peer_handshake(
        &mut self,
        req: &IncomingRequest,
        ctx: &mut Ctx<'_>,
    ) -> RouteAction {
        let Some(msg) = req
            .value
            .as_ref()
            .and_then(|v| HandshakeMessage::from_bytes(v).ok())
        else {
            return RouteAction::Drop;
        };
        if self.suspended || msg.noise.is_empty() {
            return RouteAction::Drop;
        }
        self.gc(ctx);
        if let Some(&id) = self.by_noise.get(&msg.noise) {
            let Some(slot) = self.slot_mut(id) else {
                return RouteAction::Drop;
            };
            return match &mut slot.state {
                SlotState::Ready(r) => routed_reply(req, &msg, r),
                SlotState::Pending(p) => {
                    if p.waiters.len() < MAX_WAITERS {
                        p.waiters.push(Waiter {
                            req: req.clone(),
                            msg,
                        });
                    }
                    RouteAction::Drop
                }
                SlotState::Dropped => RouteAction::Drop,
            };
        }
        if self.config.external {
            return self.ask_recv(req, msg, ctx);
        }
        // Noise responder first: a message we cannot read is dropped silently and costs no slot
        let Some((hs, client, remote_pk)) = self.read_noise1(&msg.noise) else {
            return RouteAction::Drop;
        };
        let client_address = msg.peer_address.unwrap_or(req.from);
        let Some(id) = self.take_slot(&msg.noise, *client_address.ip(), ctx) else {
            return RouteAction::Drop;
        };
        let view = NodeView::of(ctx.node, ctx.local_addresses);
        if !self.config.asks_app() {
            let relay = self.config.relay_through.resolve(None);
            let ready = self.complete(id, hs, client, client_address, req, &msg, view, relay, ctx);
            return match ready {
                Some(r) => routed_reply(req, &msg, &r),
                None => RouteAction::Drop,
            };
        }
        // firewall callback: park this request and ask
        let waiters = vec![Waiter {
            req: req.clone(),
            msg,
        }];
        let hs = Some(Box::new(hs));
        self.ask_firewall(
            id,
            hs,
            client,
            remote_pk,
            client_address,
            waiters,
            view,
            ctx,
        );
        RouteAction::Drop
    }

    /// Parks the handshake's requests and asks the firewall (and/or the relay function).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ask_firewall(
        &mut self,
        id: usize,
        hs: Option<Box<Handshake>>,
        client: NoisePayload,
        remote_pk: [u8; 32],
        client_address: SocketAddrV4,
        waiters: Vec<Waiter>,
        view: NodeView,
        ctx: &mut Ctx<'_>,
    ) {
        let gen = self.slot_mut(id).map_or(0, |s| s.gen);
        ctx.out.push_back(Output::Server(ServerOut::AskFirewall {
            key: self.key(id, gen),
            remote_public_key: remote_pk,
            payload: Box::new(client.clone()),
            address: client_address,
            firewall: self.config.firewall,
            relay: self.config.asks_relay(),
        }));
        if let Some(s) = self.slot_mut(id) {
            s.state = SlotState::Pending(PendingHandshake {
                waiters,
                client_address,
                view,
                stage: Stage::Firewall {
                    hs,
                    client: Box::new(client),
                },
            });
        }
    }

    /// The firewall's answer for a pending handshake (and the relay to pair through, when the
    /// app was asked): every waiting request is answered (or the slot is dropped).
    pub(crate) fn firewall_answer(
        &mut self,
        key: SlotKey,
        rejected: bool,
        relay: Option<[u8; 32]>,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(pending) = self.take_pending(key, |s| matches!(s, Stage::Firewall { .. })) else {
            return;
        };
        if rejected || self.suspended {
            self.drop_slot(key.slot, ctx.now);
            return;
        }
        let PendingHandshake {
            waiters,
            client_address,
            view,
            stage,
        } = pending;
        let Stage::Firewall { hs, client } = stage else {
            return;
        };
        let relay = self.config.relay_through.resolve(relay);
        let Some(hs) = hs else {
            self.ask_send(key.slot, *client, client_address, waiters, view, relay, ctx);
            return;
        };
        let first = &waiters[0];
        let ready = self.complete(
            key.slot,
            *hs,
            *client,
            client_address,
            &first.req,
            &first.msg,
            view,
            relay,
            ctx,
        );
        if let Some(r) = ready {
            for w in waiters {
                routed_reply(&w.req, &w.msg, &r).apply(&w.req, ctx.node);
            }
        }
    }

    pub(super) fn drop_slot(&mut self, id: usize, now: Instant) {
        if let Some(s) = self.slot_mut(id) {
            s.state = SlotState::Dropped;
            s.clear_at = now + HANDSHAKE_CLEAR_WAIT;
        }
    }

    /// `_addHandshake` after the firewall accepted: payload, Noise message 2, the raw stream
    /// that connects on the client's first UDX packet, and the choice of path.
    #[allow(clippy::too_many_arguments)]
    fn complete(
        &mut self,
        id: usize,
        mut hs: Handshake,
        client: NoisePayload,
        client_address: SocketAddrV4,
        req: &IncomingRequest,
        msg: &HandshakeMessage,
        view: NodeView,
        relay: Option<[u8; 32]>,
        ctx: &mut Ctx<'_>,
    ) -> Option<Ready> {
        let (accepting, payload) = self.prepare(id, client, client_address, view, relay);
        let Ok(noise2) = hs.send(&payload.to_bytes()) else {
            self.drop_slot(id, ctx.now);
            return None;
        };
        self.accept(id, noise2, hs.result(), accepting, req, msg, ctx)
    }

    /// `_addHandshake`'s decisions before message 2: the error to report, our stream id, the
    /// relay we pair through; and our payload.
    pub(super) fn prepare(
        &self,
        id: usize,
        client: NoisePayload,
        client_address: SocketAddrV4,
        view: NodeView,
        relay: Option<[u8; 32]>,
    ) -> (Accepting, NoisePayload) {
        let error = if client.version != 1 {
            PayloadError::VersionMismatch
        } else if client.udx.is_none() {
            PayloadError::Aborted
        } else {
            PayloadError::None
        };
        let ok = error == PayloadError::None;
        let stream_id = if ok { random_stream_id() } else { 0 };
        // `hs.relayToken = relay.token()` when we relay through a node of our own
        let relay_through = relay.map(|public_key| RelayThroughInfo {
            version: 1,
            public_key,
            token: rand::random(),
        });
        let mut payload = self.server_payload(id, error, stream_id, &view);
        payload.relay_through = relay_through;
        let accepting = Accepting {
            ok,
            stream_id,
            client,
            client_address,
            relay_through,
            view,
        };
        (accepting, payload)
    }

    /// `_addHandshake` once message 2 is written: the raw stream that connects on the client's
    /// first UDX packet, and the choice of path; the answer every request for it gets.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn accept(
        &mut self,
        id: usize,
        noise2: Vec<u8>,
        result: Option<HandshakeResult>,
        a: Accepting,
        req: &IncomingRequest,
        msg: &HandshakeMessage,
        ctx: &mut Ctx<'_>,
    ) -> Option<Ready> {
        let Accepting {
            ok,
            stream_id,
            client,
            client_address,
            relay_through,
            view,
        } = a;
        let (Some(result), true) = (result, ok) else {
            // an error payload is still answered, but nothing connects
            let ready = Ready {
                noise2,
                from_puncher: false,
            };
            self.set_ready(id, ready.clone(), ctx.now);
            return Some(ready);
        };
        let remote_udx_id = client.udx.map(|u| u.id as u32).unwrap_or(0);
        let gen = self.slot_mut(id).map_or(0, |s| s.gen);
        if let Some(s) = self.slot_mut(id) {
            let ours = if view.remote_address.is_some() {
                Firewall::Open
            } else {
                Firewall::Unknown
            };
            s.firewalls = (ours, Firewall::from_code(client.firewall));
        }
        let route = self.config.reusable_socket && client.udx.is_some_and(|u| u.reusable_socket);
        let open = |open: StreamOpen, key: SlotKey, result: HandshakeResult| {
            let timeout = match open {
                StreamOpen::Accept => PUNCH_CONNECT_TIMEOUT,
                StreamOpen::Unverified { .. } => CONNECT_TIMEOUT,
            };
            Output::Server(ServerOut::OpenStream {
                key,
                local_id: stream_id,
                remote_id: remote_udx_id,
                open,
                result: Box::new(result),
                timeout,
                route,
            })
        };
        let key = self.key(id, gen);
        // the client is reachable (OPEN) or talked to us directly: we connect right away
        if Firewall::from_code(client.firewall) == Firewall::Open || msg.peer_address.is_none() {
            ctx.stats.punch_open();
            // the address is only claimed (by the client payload or a relay): a spoofed
            // handshake may name a victim, so send little until the client speaks
            let how = StreamOpen::Unverified {
                addr: client_address,
                budget: UNVERIFIED_BUDGET,
            };
            ctx.out.push_back(open(how, key, result));
            let ready = Ready {
                noise2,
                from_puncher: false,
            };
            self.set_ready(id, ready.clone(), ctx.now);
            return Some(ready);
        }
        let plan =
            super::holepunch::plan(self, &client, client_address, req.to, view, &result, ctx);
        ctx.out.push_back(open(StreamOpen::Accept, key, result));
        // `_relayConnection`: ours first, else the one the client asked for
        let pairing = match (relay_through, client.relay_through) {
            (Some(r), _) => Some((true, r)),
            (None, Some(r)) => Some((false, r)),
            (None, None) => None,
        };
        if let Some((is_initiator, r)) = pairing {
            ctx.stats.relay_attempt();
            ctx.out.push_back(Output::Server(ServerOut::Relay {
                key,
                is_initiator,
                public_key: r.public_key,
                token: r.token,
            }));
            if let Some(s) = self.slot_mut(id) {
                s.relay = Some(SlotRelay {
                    key: r.public_key,
                    paired: false,
                });
            }
        }
        let ready = Ready {
            noise2,
            from_puncher: plan.from_puncher,
        };
        self.set_ready(id, ready.clone(), ctx.now);
        if let Some(s) = self.slot_mut(id) {
            s.hp = plan.punch;
            s.clear_at = ctx.now + PUNCH_CONNECT_TIMEOUT + HANDSHAKE_CLEAR_WAIT;
        }
        Some(ready)
    }

    /// Our handshake payload (`_addHandshake`).
    fn server_payload(
        &self,
        id: usize,
        error: PayloadError,
        stream_id: u32,
        view: &NodeView,
    ) -> NoisePayload {
        let mut addresses4 = Vec::new();
        if let Some(a) = view.remote_address {
            addresses4.push(a);
        }
        if self.config.share_local_address {
            addresses4.extend_from_slice(&view.local_addresses);
        }
        let open = view.remote_address.is_some();
        NoisePayload {
            error: error.code(),
            firewall: if open {
                Firewall::Open.code()
            } else {
                Firewall::Unknown.code()
            },
            holepunch: (!open).then(|| HolepunchInfo {
                id: id as u64,
                relays: self.relays.clone(),
            }),
            addresses4,
            udx: Some(UdxInfo {
                version: 1,
                reusable_socket: self.config.reusable_socket,
                id: stream_id as u64,
                seq: 0,
            }),
            secret_stream: Some(1),
            relay_addresses: (!self.relay_addresses.is_empty())
                .then(|| self.relay_addresses.clone()),
            ..NoisePayload::default()
        }
    }

    fn set_ready(&mut self, id: usize, r: Ready, now: Instant) {
        if let Some(s) = self.slot_mut(id) {
            s.state = SlotState::Ready(r);
            // remembered for retransmits, then the slot id may be reused
            s.clear_at = now + CONNECT_TIMEOUT + HANDSHAKE_CLEAR_WAIT;
        }
    }

    /// The slot's stream connected (`hs.onsocket`): the slot is kept `HANDSHAKE_CLEAR_WAIT`
    /// more for retransmits only, its puncher destroyed; returns how the path was found.
    pub(crate) fn stream_connected(
        &mut self,
        key: SlotKey,
        via: Option<crate::core::random_punch::PoolId>,
        ctx: &mut Ctx<'_>,
    ) -> PathInfo {
        let now = ctx.now;
        let Some(s) = self.slot_of(key) else {
            ctx.stats.connection(Side::Server, Path::Direct, true);
            return PathInfo::unpunched(Path::Direct, Firewall::Unknown, Firewall::Unknown);
        };
        let (ours, theirs) = s.firewalls;
        if let Some(r) = s.relay.filter(|r| r.paired) {
            // connected through the relay: the puncher keeps going for an upgrade
            s.connected = true;
            ctx.stats.connection(Side::Server, Path::Relayed, true);
            let mut info = match &s.hp {
                Some(hp) => hp.path_info(Path::Relayed, ctx.punchers, now),
                None => PathInfo::unpunched(Path::Relayed, ours, theirs),
            };
            info.relay_through = Some(r.key);
            return info;
        }
        let mut info = PathInfo::unpunched(Path::Direct, ours, theirs);
        if let Some(hp) = s.hp.take() {
            let path = hp.path(ctx.punchers);
            info = hp.path_info(path, ctx.punchers, now);
            // a pool socket the stream connected through now belongs to the connection
            if let Some(p) = ctx.punchers.get_mut(hp.puncher) {
                p.connected_via = via;
            }
            ctx.punchers.destroy(hp.puncher);
        }
        s.clear_at = s.clear_at.min(now + HANDSHAKE_CLEAR_WAIT);
        s.connected = true;
        ctx.stats.connection(Side::Server, info.path, true);
        info
    }

    /// The slot's blind relay paired (its stream is connected to the relay next).
    pub(crate) fn relay_paired(&mut self, key: SlotKey, ctx: &mut Ctx<'_>) -> bool {
        let Some(r) = self.slot_of(key).and_then(|s| s.relay.as_mut()) else {
            return false;
        };
        if !r.paired {
            r.paired = true;
            ctx.stats.relay_success();
        }
        true
    }

    /// The slot's blind relay failed before pairing (`relaying.aborts`).
    pub(crate) fn relay_failed(&mut self, key: SlotKey, ctx: &mut Ctx<'_>) {
        if let Some(s) = self.slot_of(key) {
            if s.relay.take().is_some_and(|r| !r.paired) {
                ctx.stats.relay_abort();
            }
        }
    }

    /// The relayed slot's client reached us on pool socket `socket` (a birthday punch got
    /// through): the socket leaves the slot's puncher for the connection's stream. False if it
    /// is not this slot's.
    pub(crate) fn relay_via_pool(
        &mut self,
        key: SlotKey,
        socket: crate::core::random_punch::PoolId,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        let Some(hp) = self.slot_of(key).and_then(|s| s.hp.as_ref()) else {
            return false;
        };
        ctx.punchers.take_pool_socket(hp.puncher, socket)
    }

    /// The client reached the slot's relayed stream directly (`hs.onsocket` from the stream
    /// firewall): the stream moves there, the puncher is done.
    pub(crate) fn relay_upgraded(&mut self, key: SlotKey, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        let Some(s) = self.slot_of(key) else { return };
        if let Some(hp) = s.hp.take() {
            ctx.punchers.destroy(hp.puncher);
        }
        s.clear_at = s.clear_at.min(now + HANDSHAKE_CLEAR_WAIT);
        ctx.stats.relay_upgrade();
    }

    /// The slot's stream never connected.
    pub(crate) fn stream_failed(&mut self, key: SlotKey, ctx: &mut Ctx<'_>) {
        let path = self
            .slot_of(key)
            .and_then(|s| s.hp.as_ref())
            .map_or(Path::Direct, |hp| hp.path(ctx.punchers));
        ctx.stats.connection(Side::Server, path, false);
    }
}

/// The router's answer for one request (`Router.onpeerhandshake`, server branch).
pub(super) fn routed_reply(
    req: &IncomingRequest,
    msg: &HandshakeMessage,
    r: &Ready,
) -> RouteAction {
    let socket = r.from_puncher.then_some(SocketKind::Server);
    let out = |mode: RouterMode, peer_address| HandshakeMessage {
        mode: mode.code(),
        noise: r.noise2.clone(),
        peer_address,
        relay_address: None,
    };
    match RouterMode::from_code(msg.mode) {
        Some(RouterMode::FromClient) => RouteAction::Reply {
            reply: Reply {
                value: Some(out(RouterMode::Reply, None).to_bytes()),
                error: 0,
                token: false,
                closer_nodes: false,
                to: None,
            },
            socket,
        },
        Some(RouterMode::FromRelay) => RouteAction::Relay {
            value: out(RouterMode::FromServer, msg.peer_address).to_bytes(),
            to: req.from,
            socket,
        },
        Some(RouterMode::FromSecondRelay) => match msg.relay_address {
            Some(to) => RouteAction::Relay {
                value: out(RouterMode::FromServer, msg.peer_address).to_bytes(),
                to,
                socket,
            },
            None => RouteAction::Drop,
        },
        _ => RouteAction::Drop,
    }
}
