//! Client connects as sans-IO state machines (`hyperdht lib/connect.js`). One `Connect` per
//! `dht.connect()`, owned by [`Connects`], goes through three phases:
//! 1. `find`: reusable-socket route → relay-address chain → FIND_PEER query with parallel
//!    PEER_HANDSHAKE attempts (`connectAndHolepunch`, `findAndConnect`, `connectThroughNode`);
//! 2. the path choice once the Noise handshake is done (`path`: direct, passive, LAN);
//! 3. holepunching (`holepunch`: `probeRound`, `roundPunch`, `abort`).
//!
//! Inputs: responses to the requests it sent (tags owned by `Owner::Connect`), events of the
//! FIND_PEER queries it started, puncher events, timers, and the driver's answers
//! (`AskVeto`, `AskLanPing`, passive stream connected). Outputs: datagrams through the rpc node
//! and [`ConnectOut`]s. The driver reserved the UDX stream before the connect started; it
//! connects it (or waits for the server to) once [`ConnectOut::Done`] says where.

pub mod error;
mod find;
mod handshake;
mod holepunch;
mod path;
pub mod routes;

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::time::Instant;

use hyperdht_crypto::KeyPair;
use hyperdht_encoding::Codec;
use hyperdht_rpc::driver::QueryEvent;
use hyperdht_rpc::node::{RequestSpec, SessionId};
use hyperdht_rpc::query::QueryId;
use hyperdht_rpc::{Response, RpcError};
use hyperdht_secret_stream::HandshakeResult;

pub use error::ConnectError;
pub use routes::{ConnectStats, StreamKey};

use self::find::Find;
pub use self::handshake::ExternalReply;
use self::handshake::{Handshaken, Initiator};
use self::holepunch::Holepunch;
use self::routes::{RelayCache, Routes};
use crate::constants::Firewall;
use crate::core::holepuncher::HolepunchInfo;
use crate::core::holepuncher::PunchEvent;
use crate::core::tags::Owner;
use crate::core::{Ctx, Output};
use crate::noise_payload::RelayThroughInfo;
use crate::path_info::PathInfo;
use crate::stats::{Path, Side};

/// `dht.connect(publicKey, opts)` as the core sees it (the app's callables stay with the
/// driver: `veto` / `lan_ping` say whether to ask it).
#[derive(Debug, Clone)]
pub struct ConnectParams {
    pub key_pair: KeyPair,
    pub remote_public_key: [u8; 32],
    /// the id of the UDX stream the driver reserved (sent in our handshake payload)
    pub stream_id: u32,
    /// the driver's key for that stream (routes are tied to it)
    pub stream: StreamKey,
    /// `localConnection`
    pub local_connection: bool,
    /// `fastOpen`
    pub fast_open: bool,
    /// `reusableSocket`
    pub reusable_socket: bool,
    /// `relayAddresses`
    pub relay_addresses: Vec<SocketAddrV4>,
    /// a `holepunch(...)` veto is set: ask it ([`ConnectOut::AskVeto`]) before punching
    pub veto: bool,
    /// the LAN shortcut pings through the app ([`ConnectOut::AskLanPing`]), not the node
    pub lan_ping: bool,
    /// `relayThrough` (its key) with the token we pair with (`c.relayToken`), sent in our
    /// handshake payload
    pub relay_through: Option<RelayThroughInfo>,
    /// `createHandshake`: the app's handshake object writes message 1
    /// ([`ConnectOut::NoiseSend`]) and reads message 2 ([`ConnectOut::NoiseRecv`]); `key_pair`
    /// is then only its public half
    pub external: bool,
}

/// Where the connection goes, once a path is chosen.
#[derive(Debug)]
pub struct Established {
    /// connect our stream to this address; `None`: the server connected to us (passive) and
    /// the stream is connected already
    pub connect_to: Option<SocketAddrV4>,
    /// the server's UDX stream id
    pub remote_id: u32,
    pub path: Path,
    pub result: Box<HandshakeResult>,
    /// the pool socket to put the stream on (a RANDOM-NAT punch got through it); `None`: the
    /// DHT socket, where the reserved stream is
    pub via: Option<crate::core::random_punch::PoolId>,
    /// how the path was found
    pub info: PathInfo,
}

/// What a connect needs from the driver.
#[derive(Debug)]
pub enum ConnectOut {
    /// The handshake is done: the server may already have a stream for us (at `known`, or
    /// wherever its data comes from), so a connect dropped from now on tells it with a DESTROY.
    Handshaken {
        id: u64,
        remote_id: u32,
        known: Option<SocketAddrV4>,
    },
    /// We told the server we are OPEN: accept its first packet as the remote of our stream and
    /// report `Core::connect_passive_connected` (or `connect_passive_failed`).
    AcceptPassive { id: u64, remote_id: u32 },
    /// Ask the app's LAN ping; answer with `Core::connect_lan_answer`.
    AskLanPing { id: u64, addr: SocketAddrV4 },
    /// Ask the app's holepunch veto; answer with `Core::connect_veto_answer`.
    AskVeto { id: u64, info: HolepunchInfo },
    /// A blind relay is in play (`relayConnection`: we asked for one, or the server's payload
    /// named one): pair our stream through the relay node `public_key` with `token`
    /// (`is_initiator` when it is our relay) while the path below is still tried. A later
    /// [`ConnectOut::Done`] with a path upgrades a relayed stream to it; its error is the
    /// connect's only if the relay fails too.
    Relay {
        id: u64,
        is_initiator: bool,
        public_key: [u8; 32],
        token: [u8; 32],
        /// the session keys (a relayed stream starts now)
        result: Box<HandshakeResult>,
    },
    /// The app's handshake writes Noise message 1 carrying `payload` (an encoded
    /// `noisePayload`); answer with `Core::connect_noise_sent`.
    NoiseSend { id: u64, payload: Vec<u8> },
    /// The app's handshake reads the server's message 2; answer with
    /// `Core::connect_noise_received`.
    NoiseRecv { id: u64, noise: Vec<u8> },
    /// The connect ended (the connect is gone from the core).
    Done {
        id: u64,
        result: Result<Established, ConnectError>,
    },
}

/// What one connect keeps besides its phase.
pub(crate) struct Base {
    pub id: u64,
    pub remote_public_key: [u8; 32],
    pub target: [u8; 32],
    pub p: ConnectParams,
    /// a persistent node's own router entry for the target (`_router.get(target).relay`)
    pub own_relay: Option<SocketAddrV4>,
    /// `c.session`: every request of the connect, cancelled together when it ends
    session: SessionId,
    next_seq: u32,
    /// the path the connect is on (`stats`)
    pub path: Path,
    /// the blind relay the connect pairs through (`ConnectOut::Relay`), and whether it paired:
    /// the connection then exists already, a path found later is an upgrade
    relay: Option<[u8; 32]>,
    relay_paired: bool,
}

impl Base {
    /// Sends a request of this connect; its response comes back with the returned seq.
    pub(crate) fn request(&mut self, mut spec: RequestSpec, ctx: &mut Ctx<'_>) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        spec.session = Some(self.session);
        let tag = ctx.tags.alloc(Owner::Connect { id: self.id, seq });
        ctx.node.request(tag, spec, ctx.now);
        seq
    }
}

/// A finished connect's winner.
pub(crate) struct Win {
    pub hs: Box<Handshaken>,
    /// where the stream goes (or, passive, where it came from, if known)
    pub addr: Option<SocketAddrV4>,
    pub passive: bool,
    /// the pool socket a RANDOM-NAT punch got through (the stream must live on it)
    pub via: Option<crate::core::random_punch::PoolId>,
}

/// What an input did to a connect.
pub(crate) enum Step {
    Stay,
    /// the handshake succeeded: choose a path
    Handshaken(Box<Handshaken>),
    Phase(Phase),
    Done(Result<Win, ConnectError>),
}

pub(crate) enum Phase {
    /// the app's handshake writes message 1 (`createHandshake`)
    Noise {
        announced_open: bool,
    },
    Find(Box<Find>),
    /// `c.passiveConnectTimeout`: the server connects to us
    Passive {
        hs: Box<Handshaken>,
        deadline: Instant,
    },
    /// the LAN shortcut's ping is out (`seq` when the node sends it, else the app was asked)
    Lan {
        hs: Box<Handshaken>,
        addr: SocketAddrV4,
        seq: Option<u32>,
    },
    Punch(Box<Holepunch>),
    /// (only while a phase is being replaced)
    Gone,
}

/// The state every connect of the node shares.
#[derive(Default)]
pub(crate) struct Shared {
    pub relay_cache: RelayCache,
    pub routes: Routes,
    pub stats: ConnectStats,
    /// FIND_PEER queries started by connects
    pub queries: HashMap<QueryId, u64>,
}

pub(crate) struct Connect {
    base: Base,
    phase: Phase,
}

/// Every client connect of the node, plus their shared state.
#[derive(Default)]
pub struct Connects {
    list: HashMap<u64, Connect>,
    next_id: u64,
    pub(crate) sh: Shared,
}

impl Connects {
    /// Connects in progress.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether connect `id` still runs.
    pub fn is_running(&self, id: u64) -> bool {
        self.list.contains_key(&id)
    }

    pub fn stats(&self) -> ConnectStats {
        self.sh.stats
    }

    pub fn owns_query(&self, q: QueryId) -> bool {
        self.sh.queries.contains_key(&q)
    }

    /// Remote keys with cached relay addresses.
    pub fn relay_cache_len(&self) -> usize {
        self.sh.relay_cache.len()
    }

    /// `Math.min(maxSize, 512)` entries in the relay-address cache.
    pub fn set_relay_cache_max(&mut self, max_size: usize) {
        self.sh.relay_cache.set_max(max_size);
    }

    /// Reusable-socket routes still valid.
    pub fn routes_live(&mut self, now: Instant) -> usize {
        self.sh.routes.live(now)
    }

    /// A server connection made with `reusableSocket` on both sides: a route to its client.
    pub fn add_route(&mut self, remote: [u8; 32], addr: SocketAddrV4, s: StreamKey, now: Instant) {
        self.sh.routes.add(remote, addr, s, now);
    }

    /// The driver saw a routed stream close.
    pub fn route_stream_closed(&mut self, stream: StreamKey, now: Instant) {
        self.sh.routes.stream_closed(stream, now);
    }

    /// `connect(dht, publicKey, opts)`: starts a connect; its outcome comes as
    /// [`ConnectOut::Done`] with the returned id.
    pub(crate) fn start(
        &mut self,
        p: ConnectParams,
        own_relay: Option<SocketAddrV4>,
        ctx: &mut Ctx<'_>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let base = Base {
            id,
            remote_public_key: p.remote_public_key,
            target: hyperdht_crypto::hash(&p.remote_public_key),
            p,
            own_relay,
            session: ctx.node.session(),
            next_seq: 0,
            path: Path::NotChosen,
            relay: None,
            relay_paired: false,
        };
        if base.p.external {
            let (payload, announced_open) =
                Initiator::payload(&base.p, ctx.node, ctx.local_addresses);
            ctx.out.push_back(Output::Connect(ConnectOut::NoiseSend {
                id,
                payload: payload.to_bytes(),
            }));
            let phase = Phase::Noise { announced_open };
            self.list.insert(id, Connect { base, phase });
            return id;
        }
        match Initiator::new(&base.p, ctx.node, ctx.local_addresses) {
            Ok(init) => self.find(base, init, ctx),
            Err(e) => {
                ctx.stats.connection(Side::Client, Path::NotChosen, false);
                ctx.out
                    .push_back(Output::Connect(ConnectOut::Done { id, result: Err(e) }));
            }
        }
        id
    }

    /// Phase 1 with our message 1 ready.
    fn find(&mut self, mut base: Base, init: Initiator, ctx: &mut Ctx<'_>) {
        let id = base.id;
        let (find, step) = Find::start(init, &mut base, &mut self.sh, ctx);
        let phase = Phase::Find(Box::new(find));
        self.list.insert(id, Connect { base, phase });
        self.apply(id, step, ctx);
    }

    /// The app's handshake wrote message 1 (`None`: it failed, the connect ends).
    pub(crate) fn noise_sent(&mut self, id: u64, noise: Option<Vec<u8>>, ctx: &mut Ctx<'_>) {
        let Some(Phase::Noise { announced_open }) = self.list.get(&id).map(|c| &c.phase) else {
            return;
        };
        let announced_open = *announced_open;
        match noise {
            Some(noise) => {
                let Some(c) = self.list.remove(&id) else {
                    return;
                };
                self.find(c.base, Initiator::external(noise, announced_open), ctx);
            }
            None => self.finish(id, Err(ConnectError::HandshakeInvalid), ctx),
        }
    }

    /// The app's handshake read the reply it was asked about (`None`: it failed).
    pub(crate) fn noise_received(
        &mut self,
        id: u64,
        answer: Option<ExternalReply>,
        ctx: &mut Ctx<'_>,
    ) {
        self.with(id, ctx, |c, sh, ctx| match &mut c.phase {
            Phase::Find(f) => f.noise_received(&mut c.base, answer, sh, ctx),
            _ => Step::Stay,
        });
    }

    /// Runs `f` on connect `id` (if it is still running) and applies what it decided.
    fn with(
        &mut self,
        id: u64,
        ctx: &mut Ctx<'_>,
        f: impl FnOnce(&mut Connect, &mut Shared, &mut Ctx<'_>) -> Step,
    ) {
        let Some(c) = self.list.get_mut(&id) else {
            return;
        };
        let step = f(c, &mut self.sh, ctx);
        self.apply(id, step, ctx);
    }

    fn apply(&mut self, id: u64, mut step: Step, ctx: &mut Ctx<'_>) {
        loop {
            let Some(c) = self.list.get_mut(&id) else {
                return;
            };
            step = match step {
                Step::Stay => return,
                Step::Handshaken(hs) => {
                    // `c.session.destroy()` at the end of `connectThroughNode`: the query and
                    // the other handshakes in flight stop
                    if let Phase::Find(f) = &mut c.phase {
                        f.stop(&mut self.sh, ctx);
                    }
                    ctx.node.destroy_session(c.base.session, ctx.now);
                    let relay = relay_of(&c.base, &hs);
                    let step = path::choose(&mut c.base, hs, ctx);
                    // `relayConnection` runs unless the path is already there (upstream starts
                    // it anyway and drops it once paired, as `c.rawStream` is gone by then)
                    if let (Some(r), false) = (relay, matches!(step, Step::Done(Ok(_)))) {
                        if let ConnectOut::Relay { public_key, .. } = &r {
                            c.base.relay = Some(*public_key);
                        }
                        ctx.out.push_back(Output::Connect(r));
                    }
                    step
                }
                Step::Phase(p) => {
                    c.phase = p;
                    return;
                }
                Step::Done(r) => {
                    self.finish(id, r, ctx);
                    return;
                }
            };
        }
    }

    /// The connect ended: cleanup, stats, `onsocket` bookkeeping, and the driver is told.
    fn finish(&mut self, id: u64, r: Result<Win, ConnectError>, ctx: &mut Ctx<'_>) {
        let Some(mut c) = self.list.remove(&id) else {
            return;
        };
        let mut info = match &c.phase {
            Phase::Punch(h) => h.path_info(c.base.path, ctx),
            _ => {
                let remote = r.as_ref().ok().map_or(Firewall::Unknown, |w| {
                    Firewall::from_code(w.hs.payload.firewall)
                });
                let local = if ctx.node.is_firewalled() {
                    Firewall::Unknown
                } else {
                    Firewall::Open
                };
                PathInfo::unpunched(c.base.path, local, remote)
            }
        };
        info.relay_through = c.base.relay;
        c.cleanup(&mut self.sh, ctx);
        if !c.base.relay_paired {
            ctx.stats.connection(Side::Client, c.base.path, r.is_ok());
        } else if r.is_ok() {
            // the relayed connection (counted when it paired) moves to this path
            ctx.stats.relay_upgrade();
        }
        let result = r.map(|w| {
            if let Some(addr) = w.addr {
                on_socket(&c.base, &w.hs, addr, &mut self.sh, ctx.now);
            }
            Established {
                connect_to: if w.passive { None } else { w.addr },
                remote_id: remote_udx_id(&w.hs),
                path: c.base.path,
                result: Box::new(w.hs.result),
                via: w.via,
                info,
            }
        });
        ctx.out
            .push_back(Output::Connect(ConnectOut::Done { id, result }));
    }

    /// The connect's blind relay paired: the connection exists (relayed); the connect goes on
    /// for an upgrade.
    pub(crate) fn relay_paired(&mut self, id: u64, ctx: &mut Ctx<'_>) {
        if let Some(c) = self.list.get_mut(&id) {
            if !c.base.relay_paired {
                c.base.relay_paired = true;
                ctx.stats.connection(Side::Client, Path::Relayed, true);
            }
        }
    }

    /// The app dropped the connect mid-way (`encryptedSocket.on('close')`): the query, the
    /// requests in flight and the puncher go; nothing is reported.
    pub(crate) fn cancel(&mut self, id: u64, ctx: &mut Ctx<'_>) {
        if let Some(mut c) = self.list.remove(&id) {
            c.cleanup(&mut self.sh, ctx);
        }
    }

    pub(crate) fn on_response(
        &mut self,
        id: u64,
        seq: u32,
        result: Result<Response, RpcError>,
        ctx: &mut Ctx<'_>,
    ) {
        self.with(id, ctx, |c, sh, ctx| match &mut c.phase {
            Phase::Find(f) => f.on_response(&mut c.base, seq, result, sh, ctx),
            Phase::Lan { seq: Some(s), .. } if *s == seq => {
                let answered = result.is_ok();
                c.lan_answered(answered, ctx)
            }
            Phase::Punch(h) => h.on_response(&mut c.base, seq, result, ctx),
            _ => Step::Stay,
        });
    }

    pub(crate) fn on_query_event(&mut self, q: QueryId, ev: QueryEvent, ctx: &mut Ctx<'_>) {
        let Some(&id) = self.sh.queries.get(&q) else {
            return;
        };
        if matches!(ev, QueryEvent::Done { .. }) {
            self.sh.queries.remove(&q);
        }
        self.with(id, ctx, |c, sh, ctx| match &mut c.phase {
            Phase::Find(f) => f.on_query_event(&mut c.base, q, ev, sh, ctx),
            _ => Step::Stay,
        });
    }

    pub(crate) fn on_punch_event(&mut self, ev: PunchEvent, ctx: &mut Ctx<'_>) {
        let pid = match ev {
            PunchEvent::Analyzed(p) | PunchEvent::Connected(p, _) | PunchEvent::Destroyed(p) => p,
        };
        let Some(id) = self
            .list
            .iter()
            .find(|(_, c)| matches!(&c.phase, Phase::Punch(h) if h.puncher() == pid))
            .map(|(id, _)| *id)
        else {
            return;
        };
        self.with(id, ctx, |c, _, ctx| match &mut c.phase {
            Phase::Punch(h) => h.on_punch_event(&mut c.base, ev, ctx),
            _ => Step::Stay,
        });
    }

    pub(crate) fn veto_answer(&mut self, id: u64, allowed: bool, ctx: &mut Ctx<'_>) {
        self.with(id, ctx, |c, _, ctx| match &mut c.phase {
            Phase::Punch(h) => h.veto_answer(&mut c.base, allowed, ctx),
            _ => Step::Stay,
        });
    }

    pub(crate) fn lan_answer(&mut self, id: u64, answered: bool, ctx: &mut Ctx<'_>) {
        self.with(id, ctx, |c, _, ctx| match &c.phase {
            Phase::Lan { seq: None, .. } => c.lan_answered(answered, ctx),
            _ => Step::Stay,
        });
    }

    /// The server connected our stream (passive path); `addr` is where it came from.
    pub(crate) fn passive_connected(
        &mut self,
        id: u64,
        addr: Option<SocketAddrV4>,
        ctx: &mut Ctx<'_>,
    ) {
        self.with(id, ctx, |c, _, _| match &c.phase {
            Phase::Passive { .. } => c.passive_done(Ok(addr)),
            _ => Step::Stay,
        });
    }

    /// The stream we waited on passively closed before connecting.
    pub(crate) fn passive_failed(&mut self, id: u64, ctx: &mut Ctx<'_>) {
        self.with(id, ctx, |c, _, _| match &c.phase {
            Phase::Passive { .. } => c.passive_done(Err(ConnectError::HolepunchAborted)),
            _ => Step::Stay,
        });
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.list
            .values()
            .filter_map(|c| match &c.phase {
                Phase::Find(f) => f.poll_timeout(),
                Phase::Passive { deadline, .. } => Some(*deadline),
                Phase::Noise { .. } | Phase::Lan { .. } | Phase::Gone => None,
                Phase::Punch(h) => h.poll_timeout(),
            })
            .min()
    }

    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let due: Vec<u64> = self
            .list
            .iter()
            .filter(|(_, c)| {
                let t = match &c.phase {
                    Phase::Find(f) => f.poll_timeout(),
                    Phase::Passive { deadline, .. } => Some(*deadline),
                    Phase::Noise { .. } | Phase::Lan { .. } | Phase::Gone => None,
                    Phase::Punch(h) => h.poll_timeout(),
                };
                t.is_some_and(|t| t <= ctx.now)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.with(id, ctx, |c, sh, ctx| match &mut c.phase {
                Phase::Find(f) => f.on_timeout(&mut c.base, sh, ctx),
                // `passiveConnectTimeout` → `onabort`
                Phase::Passive { .. } => c.passive_done(Err(ConnectError::HolepunchAborted)),
                Phase::Noise { .. } | Phase::Lan { .. } | Phase::Gone => Step::Stay,
                Phase::Punch(h) => h.on_timeout(&mut c.base, ctx),
            });
        }
    }
}

impl Connect {
    /// Whatever the connect still holds in the node: its query, its requests, its puncher.
    fn cleanup(&mut self, sh: &mut Shared, ctx: &mut Ctx<'_>) {
        match &mut self.phase {
            Phase::Find(f) => f.stop(sh, ctx),
            Phase::Punch(h) => h.stop(ctx),
            Phase::Noise { .. } | Phase::Passive { .. } | Phase::Lan { .. } | Phase::Gone => {}
        }
        ctx.node.destroy_session(self.base.session, ctx.now);
    }

    fn lan_answered(&mut self, answered: bool, ctx: &mut Ctx<'_>) -> Step {
        let phase = std::mem::replace(&mut self.phase, Phase::Gone);
        let Phase::Lan { hs, addr, .. } = phase else {
            self.phase = phase;
            return Step::Stay;
        };
        path::lan_answered(&mut self.base, hs, addr, answered, ctx)
    }

    fn passive_done(&mut self, r: Result<Option<SocketAddrV4>, ConnectError>) -> Step {
        let phase = std::mem::replace(&mut self.phase, Phase::Gone);
        let Phase::Passive { hs, .. } = phase else {
            self.phase = phase;
            return Step::Stay;
        };
        Step::Done(r.map(|addr| Win {
            hs,
            addr,
            passive: true,
            via: None,
        }))
    }
}

/// `relayConnection(c, c.relayThrough, payload)`: the server's relay (we follow) or ours.
fn relay_of(base: &Base, hs: &Handshaken) -> Option<ConnectOut> {
    let (is_initiator, r) = match (&hs.payload.relay_through, &base.p.relay_through) {
        (Some(theirs), _) => (false, theirs),
        (None, Some(ours)) => (true, ours),
        (None, None) => return None,
    };
    Some(ConnectOut::Relay {
        id: base.id,
        is_initiator,
        public_key: r.public_key,
        token: r.token,
        result: Box::new(hs.result.clone()),
    })
}

/// The server's UDX stream id.
pub(crate) fn remote_udx_id(hs: &Handshaken) -> u32 {
    hs.payload.udx.map(|u| u.id as u32).unwrap_or(0)
}

/// `c.onsocket` bookkeeping once a path is chosen: cache the relay addresses for the next
/// connect to this key (the server's own list preferred, else the nodes we went through), and
/// add a reusable-socket route when both sides asked for one.
fn on_socket(base: &Base, hs: &Handshaken, addr: SocketAddrV4, sh: &mut Shared, now: Instant) {
    let pk = base.remote_public_key;
    match hs
        .payload
        .relay_addresses
        .as_ref()
        .filter(|r| !r.is_empty())
    {
        Some(r) => sh.relay_cache.set(pk, r.clone(), now),
        None if !hs.tried.is_empty() => sh.relay_cache.set(pk, hs.tried.clone(), now),
        None => {}
    }
    let theirs = hs.payload.udx.is_some_and(|u| u.reusable_socket);
    if base.p.reusable_socket && theirs {
        sh.routes.add(pk, addr, base.p.stream, now);
    }
}
