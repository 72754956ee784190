//! Finding the server and handshaking with it (`hyperdht lib/connect.js`: `connectAndHolepunch`
//! up to the path choice, `retryRoute`, `findAndConnect`, `connectThroughNodes`,
//! `connectThroughNode`): PEER_HANDSHAKE requests, the first reply that decrypts wins. The order
//! mirrors upstream:
//! 1. `reusableSocket` and a route to the key: one handshake sent straight to the remote's
//!    address (`retryRoute`); on failure the route is dropped and we go on.
//! 2. Relay addresses known up front (`opts.relayAddresses`, else the relay-address cache, and
//!    on a persistent node its own router entry for the key win over both) are tried one after
//!    another (`connectThroughNodes`; a handshake that fails rather than loses ends the chain,
//!    as the error thrown there does upstream) while a FIND_PEER query seeded with them runs
//!    (`nodes: relayAddresses`); replies from those same nodes are skipped. Three handshakes at
//!    most in flight (`new Semaphore(3)`), one of them the relay-address chain.
//! 3. Without known relays: FIND_PEER, a handshake through every node that returns the record,
//!    two at most in flight (`new Semaphore(2)`); replies wait for a free slot.
//!
//! With known relays the query runs twice at most (`tries = 2`), the second time unseeded; it
//! starts a little after the chain's first handshake (upstream: a tick later, since it reads the
//! query stream asynchronously), so connects started together queue all their relay handshakes
//! before any of their queries. JS starts a burst of connects in one tick; ours reach the engine
//! one by one from the runtime's workers, so "a tick" is [`QUERY_DEFER`]: a query that starts
//! between two connects of a burst fills the congestion window ahead of their handshakes (200
//! concurrent connects took 0.8-2 s, two 750 ms drains, instead of ~0.15 s), and a handshake
//! through a cached relay that answers within it makes the query unnecessary. The FIND_PEER query asks with `retries: 3`. A round ends when its query
//! ended and, if any handshake came from a query, those settled (`sem.flush()`).
//! When nothing answered: `PEER_CONNECTION_FAILED` if a query-found node was tried, else
//! `PEER_NOT_FOUND` (upstream counts only query-found attempts, so a failed relay-address chain
//! plus a query that found only those nodes gives `PEER_NOT_FOUND`).
//!
//! Differences, none visible on the wire except for fewer late messages: upstream waits for the
//! query to end (or yield again) before it acts on a handshake that succeeded; here the first good
//! answer wins at once and the rest is cancelled (the session destroyed). A query that errors
//! ends that round like a finished one (upstream destroys the socket with the query's error).
//! Records are accepted if they decode (`mapFindPeer`), whatever key they carry.

use std::collections::VecDeque;
use std::net::SocketAddrV4;
use std::time::Instant;

use hyperdht_encoding::Codec;
use hyperdht_rpc::driver::QueryEvent;
use hyperdht_rpc::node::{RequestSpec, SocketKind};
use hyperdht_rpc::query::{QueryId, QuerySpec};
use hyperdht_rpc::{Response, RpcError};

use super::error::ConnectError;
use super::handshake::{read_reply, Attempt, ExternalReply, Initiator, Settled};
use super::routes::Via;
use super::{Base, ConnectOut, Shared, Step};
use crate::core::{Ctx, Output};
use crate::messages::Peer;
use crate::Command;

/// `findAndConnect`: parallel handshakes without / with a relay-address chain.
const PARALLEL: usize = 2;
const PARALLEL_PRECONNECT: usize = 3;
/// FIND_PEER `retries` (`findAndConnect`'s query options).
const QUERY_RETRIES: u32 = 3;
/// Query replies waiting for a free handshake slot (a query yields a few dozen at most).
const MAX_BACKLOG: usize = 256;

/// How long after the relay chain's first handshake the seeded FIND_PEER query starts.
const QUERY_DEFER: std::time::Duration = std::time::Duration::from_millis(10);

enum Stage {
    /// `retryRoute`: one handshake straight to the route's address
    Route {
        addr: SocketAddrV4,
    },
    /// the query starts at the next tick (after the chain's first handshake is queued)
    QueryAt(Instant),
    Query {
        id: QueryId,
        done: bool,
    },
    /// every round is over: the handshakes still in flight settle
    Draining,
}

pub(crate) struct Find {
    init: Initiator,
    /// the attempt whose reply the app's handshake reads (`createHandshake`)
    asking: Option<Attempt>,
    /// `c.remoteRelayAddresses`: nodes we handshook through, in order
    tried: Vec<SocketAddrV4>,
    stage: Stage,
    /// the relay-address chain and the next one to try
    chain: Vec<SocketAddrV4>,
    chain_next: usize,
    preconnect: bool,
    /// free semaphore slots
    free: usize,
    /// handshakes sent to query-found nodes
    attempts: usize,
    in_flight: Vec<Attempt>,
    round: u32,
    tries: u32,
    /// the first query's `nodes`
    seed: Option<Vec<SocketAddrV4>>,
    /// query replies (their nodes) waiting for a slot
    backlog: VecDeque<SocketAddrV4>,
}

impl Find {
    /// `connectAndHolepunch`: the route first if there is one, else `findAndConnect`.
    pub(super) fn start(
        init: Initiator,
        base: &mut Base,
        sh: &mut Shared,
        ctx: &mut Ctx<'_>,
    ) -> (Find, Step) {
        let mut f = Find {
            init,
            asking: None,
            tried: Vec::new(),
            stage: Stage::Draining,
            chain: Vec::new(),
            chain_next: 0,
            preconnect: false,
            free: 0,
            attempts: 0,
            in_flight: Vec::new(),
            round: 0,
            tries: 1,
            seed: None,
            backlog: VecDeque::new(),
        };
        let route = base
            .p
            .reusable_socket
            .then(|| sh.routes.get(&base.remote_public_key, ctx.now))
            .flatten();
        if let Some(addr) = route {
            f.send(base, Via::Route, addr, ctx);
            f.stage = Stage::Route { addr };
            return (f, Step::Stay);
        }
        let step = f.begin(base, sh, ctx);
        (f, step)
    }

    /// `Router.peerHandshake(target, {noise, socket}, address)`.
    fn send(&mut self, base: &mut Base, via: Via, to: SocketAddrV4, ctx: &mut Ctx<'_>) {
        let mut spec = RequestSpec::new(to, false, Command::PeerHandshake.code());
        spec.target = Some(base.target);
        spec.value = Some(self.init.request.clone());
        if via == Via::Route {
            // `retryRoute`: through the socket the earlier stream used
            spec.socket = Some(SocketKind::Server);
        }
        let seq = base.request(spec, ctx);
        self.in_flight.push(Attempt { seq, via, to });
    }

    /// `opts.relayAddresses`, else the cache; a persistent node's own route wins over both.
    fn known_relays(base: &Base, sh: &mut Shared, now: Instant) -> Option<Vec<SocketAddrV4>> {
        let mut relays = if base.p.relay_addresses.is_empty() {
            sh.relay_cache.get(&base.remote_public_key, now)
        } else {
            Some(base.p.relay_addresses.clone())
        };
        if let Some(own) = base.own_relay {
            relays = Some(vec![own]);
        }
        relays
    }

    /// `findAndConnect`: the relay-address chain's first handshake, then the query.
    fn begin(&mut self, base: &mut Base, sh: &mut Shared, ctx: &mut Ctx<'_>) -> Step {
        let relays = Self::known_relays(base, sh, ctx.now);
        self.chain = relays.clone().unwrap_or_default();
        self.preconnect = !self.chain.is_empty();
        self.free = if self.preconnect {
            PARALLEL_PRECONNECT
        } else {
            PARALLEL
        };
        if let Some(&first) = self.chain.first() {
            self.free -= 1;
            self.chain_next = 1;
            self.tried.push(first);
            self.send(base, Via::RelayAddresses, first, ctx);
        }
        self.tries = if relays.is_some() { 2 } else { 1 };
        self.seed = relays;
        if self.preconnect {
            self.stage = Stage::QueryAt(ctx.now + QUERY_DEFER);
        } else {
            self.start_query(base, sh, ctx);
        }
        Step::Stay
    }

    fn start_query(&mut self, base: &mut Base, sh: &mut Shared, ctx: &mut Ctx<'_>) {
        sh.stats.find_peer_queries += 1;
        let spec = QuerySpec {
            target: base.target,
            internal: false,
            command: Command::FindPeer.code(),
            value: None,
            concurrency: ctx.node.concurrency(),
            retries: QUERY_RETRIES,
            nodes: self.seed.take().unwrap_or_default(),
            background: false,
            only_closest_nodes: false,
            force: false,
        };
        let id = ctx.node.query(spec, ctx.now);
        sh.queries.insert(id, base.id);
        self.stage = Stage::Query { id, done: false };
    }

    pub(super) fn on_query_event(
        &mut self,
        base: &mut Base,
        q: QueryId,
        ev: QueryEvent,
        sh: &mut Shared,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        let Stage::Query { id, done } = &mut self.stage else {
            return Step::Stay;
        };
        if *id != q {
            return Step::Stay;
        }
        match ev {
            QueryEvent::Reply(r) => {
                let record = r
                    .value
                    .as_ref()
                    .is_some_and(|v| Peer::from_bytes(v).is_ok());
                // `relayAddresses = null` after the first round: only the seeded query skips
                // the nodes the relay-address chain covers
                let skip = self.preconnect && self.round == 0 && self.chain.contains(&r.from);
                if record && !skip && self.backlog.len() < MAX_BACKLOG {
                    self.backlog.push_back(r.from);
                }
                self.pump(base, ctx);
                Step::Stay
            }
            QueryEvent::Done { .. } => {
                *done = true;
                self.check(base, sh, ctx)
            }
        }
    }

    /// Handshakes through query-found nodes while slots are free.
    fn pump(&mut self, base: &mut Base, ctx: &mut Ctx<'_>) {
        while self.free > 0 {
            let Some(from) = self.backlog.pop_front() else {
                return;
            };
            self.tried.push(from);
            self.attempts += 1;
            self.free -= 1;
            self.send(base, Via::FindPeer, from, ctx);
        }
    }

    /// Ends rounds whose query and handshakes are over; the last one ends the connect.
    fn check(&mut self, base: &mut Base, sh: &mut Shared, ctx: &mut Ctx<'_>) -> Step {
        if self.asking.is_some() {
            // the app's handshake reads a reply: its answer decides
            return Step::Stay;
        }
        loop {
            match self.stage {
                Stage::Route { .. } | Stage::QueryAt(_) | Stage::Query { done: false, .. } => {
                    return Step::Stay
                }
                Stage::Query { done: true, .. } => {
                    // a finished query waits for its handshakes (`sem.flush()`) only if it
                    // started any
                    let waiting = self.attempts > 0 && !self.in_flight.is_empty();
                    if !self.backlog.is_empty() || waiting {
                        return Step::Stay;
                    }
                    self.round += 1;
                    if self.round < self.tries {
                        self.start_query(base, sh, ctx);
                        return Step::Stay;
                    }
                    self.stage = Stage::Draining;
                }
                Stage::Draining => {
                    if !self.in_flight.is_empty() {
                        return Step::Stay;
                    }
                    return Step::Done(Err(if self.attempts > 0 {
                        ConnectError::PeerConnectionFailed
                    } else {
                        ConnectError::PeerNotFound
                    }));
                }
            }
        }
    }

    /// A handshake settled: the winner; or its slot goes to the next chained relay address
    /// (`connectThroughNodes`) or back to the pool.
    pub(super) fn on_response(
        &mut self,
        base: &mut Base,
        seq: u32,
        result: Result<Response, RpcError>,
        sh: &mut Shared,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        let Some(i) = self.in_flight.iter().position(|a| a.seq == seq) else {
            return Step::Stay;
        };
        let att = self.in_flight.remove(i);
        if self.asking.is_some() {
            // upstream's second `handshake.recv` on the app's object fails: only the slot is freed
            self.free += 1;
            return Step::Stay;
        }
        let Some(reply) = read_reply(att.to, result) else {
            // upstream's `connectThroughNodes` awaits each relay address in turn, and a
            // handshake that fails (a timeout, a bad reply) throws out of it: the chain ends
            // there; only one that was answered but lost goes on to the next address. (Going
            // on made a stale peer's connect take 4 s per relay address, 12-16 s, not 8.)
            if att.via == Via::RelayAddresses {
                self.chain_next = self.chain.len();
            }
            return self.lost(att, base, sh, ctx);
        };
        match self.init.settle(att.to, reply, &self.tried) {
            Err(e) => Step::Done(Err(e)),
            Ok(Settled::Won(hs)) => {
                sh.stats.count_via(att.via);
                Step::Handshaken(hs)
            }
            Ok(Settled::Ask(noise)) => {
                self.asking = Some(att);
                ctx.out.push_back(Output::Connect(ConnectOut::NoiseRecv {
                    id: base.id,
                    noise,
                }));
                Step::Stay
            }
            Ok(Settled::Lost) => self.lost(att, base, sh, ctx),
        }
    }

    /// The app's handshake read the reply it was asked about (`None`: it failed).
    pub(super) fn noise_received(
        &mut self,
        base: &mut Base,
        answer: Option<ExternalReply>,
        sh: &mut Shared,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        let Some(att) = self.asking.take() else {
            return Step::Stay;
        };
        match self.init.settle_external(answer, &self.tried) {
            Err(e) => Step::Done(Err(e)),
            Ok(Settled::Won(hs)) => {
                sh.stats.count_via(att.via);
                Step::Handshaken(hs)
            }
            Ok(_) => self.lost(att, base, sh, ctx),
        }
    }

    /// A handshake attempt that gave nothing: the route is dropped, or the slot goes on.
    fn lost(&mut self, att: Attempt, base: &mut Base, sh: &mut Shared, ctx: &mut Ctx<'_>) -> Step {
        if let Stage::Route { addr } = self.stage {
            sh.routes.drop_if(&base.remote_public_key, addr);
            if self.init.spent() {
                return Step::Done(Err(ConnectError::HandshakeInvalid));
            }
            return self.begin(base, sh, ctx);
        }
        if self.init.spent() {
            // a reply that did not decrypt spent the Noise state: nothing else can succeed
            return Step::Done(Err(ConnectError::PeerConnectionFailed));
        }
        let next = (att.via == Via::RelayAddresses)
            .then(|| self.chain.get(self.chain_next).copied())
            .flatten();
        match next {
            Some(addr) => {
                self.chain_next += 1;
                self.tried.push(addr);
                self.send(base, Via::RelayAddresses, addr, ctx);
            }
            None => self.free += 1,
        }
        self.pump(base, ctx);
        self.check(base, sh, ctx)
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self.stage {
            Stage::QueryAt(t) => Some(t),
            _ => None,
        }
    }

    pub(super) fn on_timeout(
        &mut self,
        base: &mut Base,
        sh: &mut Shared,
        ctx: &mut Ctx<'_>,
    ) -> Step {
        match self.stage {
            Stage::QueryAt(t) if t <= ctx.now => {
                self.start_query(base, sh, ctx);
                Step::Stay
            }
            _ => Step::Stay,
        }
    }

    /// The query stops (the handshake succeeded, or the connect ended).
    pub(super) fn stop(&mut self, sh: &mut Shared, ctx: &mut Ctx<'_>) {
        if let Stage::Query { id, .. } = self.stage {
            ctx.node.cancel_query(id);
            sh.queries.remove(&id);
        }
        self.stage = Stage::Draining;
    }
}
