//! A listening server's announcer as sans-IO state (`hyperdht lib/announcer.js`): finds the
//! closest nodes to `hash(publicKey)` (FIND_PEER, seeded with the previous closest), sends a
//! signed ANNOUNCE-self to the best 3 (they become our relay nodes: they store the forward and
//! route handshakes to us), pings them every 3 s, re-announces at once when too few answer and
//! otherwise every ~5 minutes (100 rounds) or on `refresh()`, and unannounces relays that
//! dropped out of the set (FIND_PEER for a fresh token, then UNANNOUNCE). Suspend and stop
//! unannounce from the current relays.
//!
//! Inputs: query events and responses (routed by the core), timers, and the commands
//! `refresh`, `suspend`, `resume`, `stop`. Outputs: requests and queries on the node, the relay
//! set for the server (`Update`), and [`AnnouncerOut`] when a phase the app waits on finishes.

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use hyperdht_crypto::KeyPair;
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::{Node, RequestSpec};
use hyperdht_rpc::query::{QueryId, QuerySpec};
use hyperdht_rpc::Response;

use crate::core::tags::{Owner, Tags};
use crate::messages::{Announce, Peer};
use crate::noise_payload::RelayInfo;
use crate::signing::{sign_announce, sign_unannounce};
use crate::Command;

/// `MIN_ACTIVE`: re-announce when fewer than `min(#relays, 3)` relays answer a ping round.
const MIN_ACTIVE: usize = 3;
/// Relay nodes announced to per cycle (`pickBest`) and relay addresses advertised.
const MAX_RELAYS: usize = 3;
/// Rounds of relay pings between two scheduled re-announces (~5 min).
const ROUNDS: usize = 100;
const ROUND_PAUSE: Duration = Duration::from_secs(3);
const OFFLINE_POLL: Duration = Duration::from_secs(1);
/// dht-rpc PING.
const PING: u64 = 0;

/// The three relay generations (`_serverRelays`): the newest is the current set, the older
/// two still count for `isRelay` while a re-announce settles.
#[derive(Debug, Default, Clone)]
pub struct RelayGenerations {
    gens: [Vec<SocketAddrV4>; 3],
}

impl RelayGenerations {
    /// `isRelay(addr)`: whether `addr` is (or recently was) one of our relay nodes.
    pub fn is_relay(&self, addr: &SocketAddrV4) -> bool {
        self.gens.iter().any(|g| g.contains(addr))
    }
    fn cycle(&mut self) {
        self.gens.rotate_left(1);
        self.gens[2].clear();
    }
    fn insert_current(&mut self, a: SocketAddrV4) {
        if !self.gens[2].contains(&a) {
            self.gens[2].push(a);
        }
    }
    fn current(&self) -> Vec<SocketAddrV4> {
        self.gens[2].clone()
    }
    fn all(&self) -> impl Iterator<Item = SocketAddrV4> + '_ {
        self.gens.iter().flatten().copied()
    }
    fn removed(&self) -> Vec<SocketAddrV4> {
        self.gens[1]
            .iter()
            .filter(|a| !self.gens[2].contains(a))
            .copied()
            .collect()
    }
}

/// What the app may be waiting on, or is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnouncerOut {
    /// `signAnnounce` / `signUnannounce(target, token, nodeId, {peer: {publicKey,
    /// relayAddresses: []}, refresh: null})`: the app signs (the key pair has no secret key);
    /// answer with `Core::announcer_signed`.
    Sign {
        target: [u8; 32],
        announcer: u64,
        seq: u32,
        token: [u8; 32],
        node_id: [u8; 32],
        unannounce: bool,
    },
    /// The first announce finished (`server.listen()` resolves).
    Ready { target: [u8; 32] },
    /// `suspend()` finished unannouncing.
    Suspended { target: [u8; 32] },
    /// `stop()` finished unannouncing; the announcer is gone.
    Stopped { target: [u8; 32] },
}

/// A finished re-announce: the server's new relay set.
#[derive(Debug, Clone)]
pub struct RelaySet {
    pub relays: Vec<RelayInfo>,
    pub relay_addresses: Vec<SocketAddrV4>,
    pub generations: RelayGenerations,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Req {
    Ping,
    Announce {
        from: SocketAddrV4,
        to: SocketAddrV4,
    },
    UnannounceToken {
        to: SocketAddrV4,
    },
    Unannounce,
    /// the app signs an announce for `from` (then [`Req::Announce`])
    SignAnnounce {
        from: SocketAddrV4,
        to: SocketAddrV4,
        token: [u8; 32],
        node_id: [u8; 32],
    },
    /// the app signs an unannounce for `to` (then [`Req::Unannounce`])
    SignUnannounce {
        to: SocketAddrV4,
        token: [u8; 32],
        node_id: [u8; 32],
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// FIND_PEER query running
    Querying(QueryId),
    /// ANNOUNCE requests out
    Announcing,
    /// a ping round out
    Pinging {
        ok: usize,
        total: usize,
    },
    /// waiting for the next ping round (or the online poll)
    Pausing,
    Suspended,
    /// stop requested: unannouncing
    Stopping,
}

/// One announcer (`class Announcer`).
pub struct Announcer {
    id: u64,
    key_pair: KeyPair,
    target: [u8; 32],
    closest: Vec<SocketAddrV4>,
    generations: RelayGenerations,
    phase: Phase,
    refreshing: bool,
    round: usize,
    next_at: Option<Instant>,
    /// the closest replies of the running update, and what its announces gave
    update: Vec<Response>,
    relays: Vec<RelayInfo>,
    relay_addresses: Vec<SocketAddrV4>,
    first_done: bool,
    /// requests in flight, by seq
    pending: HashMap<u32, Req>,
    next_seq: u32,
    /// unannounces in flight (suspend / stop wait for them)
    unannouncing: usize,
    /// `signAnnounce`/`signUnannounce`: the app signs ([`AnnouncerOut::Sign`])
    external_sign: bool,
}

/// What an input produced for the core to pass on.
#[derive(Debug, Default)]
pub struct Effects {
    pub target: [u8; 32],
    pub relay_set: Option<RelaySet>,
    pub out: Vec<AnnouncerOut>,
    /// a query the core must route to this announcer
    pub query: Option<QueryId>,
}

impl Announcer {
    /// `announcer.start()`: the first update starts now.
    pub fn start(
        id: u64,
        key_pair: KeyPair,
        target: [u8; 32],
        external_sign: bool,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
    ) -> (Self, Effects) {
        let mut a = Announcer {
            id,
            key_pair,
            target,
            closest: Vec::new(),
            generations: RelayGenerations::default(),
            phase: Phase::Pausing,
            refreshing: false,
            round: 0,
            next_at: None,
            update: Vec::new(),
            relays: Vec::new(),
            relay_addresses: Vec::new(),
            first_done: false,
            pending: HashMap::new(),
            next_seq: 0,
            unannouncing: 0,
            external_sign,
        };
        let mut fx = a.effects();
        a.begin_update(tags, node, now, &mut fx);
        (a, fx)
    }

    fn effects(&self) -> Effects {
        Effects {
            target: self.target,
            ..Effects::default()
        }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn target(&self) -> [u8; 32] {
        self.target
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_at
    }

    fn send(
        &mut self,
        req: Req,
        spec: RequestSpec,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
    ) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.pending.insert(seq, req);
        node.request(tags.alloc(Owner::Announcer { id: self.id, seq }), spec, now);
    }

    /// `_update`: FIND_PEER toward the target, seeded with the last closest nodes.
    fn begin_update(&mut self, tags: &mut Tags, node: &mut Node, now: Instant, fx: &mut Effects) {
        let _ = tags;
        self.generations.cycle();
        self.refreshing = false;
        self.next_at = None;
        let spec = QuerySpec {
            target: self.target,
            internal: false,
            command: Command::FindPeer.code(),
            value: None,
            concurrency: node.concurrency(),
            retries: 5,
            nodes: self.closest.clone(),
            background: false,
            only_closest_nodes: false,
            force: false,
        };
        let q = node.query(spec, now);
        self.phase = Phase::Querying(q);
        fx.query = Some(q);
    }

    /// The update's FIND_PEER ended: announce to the best three.
    pub fn on_query_done(
        &mut self,
        q: QueryId,
        closest: Vec<Response>,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
    ) -> Effects {
        let mut fx = self.effects();
        if self.phase != Phase::Querying(q) {
            return fx;
        }
        self.relay_addresses.clear();
        self.relays.clear();
        if !node.is_firewalled() {
            if let Some(a) = node.remote_address() {
                self.relay_addresses.push(a);
            }
        }
        self.phase = Phase::Announcing;
        for r in closest.iter().take(MAX_RELAYS) {
            let (Some(node_id), Some(token)) = (r.from_id, r.token) else {
                continue;
            };
            let (from, to) = (r.from, r.to);
            if self.external_sign {
                let req = Req::SignAnnounce {
                    from,
                    to,
                    token,
                    node_id,
                };
                self.ask_sign(req, &mut fx);
                continue;
            }
            let signature = self.sign(Command::Announce, &token, &node_id);
            let spec = self.record_request(Command::Announce, from, token, signature);
            self.send(Req::Announce { from, to }, spec, tags, node, now);
        }
        self.update = closest;
        if !self.announcing() {
            self.finish_update(tags, node, now, &mut fx);
        }
        fx
    }

    /// Announces in flight (or being signed).
    fn announcing(&self) -> bool {
        self.pending
            .values()
            .any(|r| matches!(r, Req::Announce { .. } | Req::SignAnnounce { .. }))
    }

    /// What we announce: our key, no relay addresses (the storing node is our relay).
    fn peer(&self) -> Peer {
        Peer {
            public_key: self.key_pair.public_key,
            relay_addresses: Vec::new(),
        }
    }

    /// Asks the app to sign (`req` is a `Sign*` request waiting for its answer).
    fn ask_sign(&mut self, req: Req, fx: &mut Effects) {
        let (token, node_id, unannounce) = match req {
            Req::SignAnnounce { token, node_id, .. } => (token, node_id, false),
            Req::SignUnannounce { token, node_id, .. } => (token, node_id, true),
            _ => return,
        };
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.pending.insert(seq, req);
        fx.out.push(AnnouncerOut::Sign {
            target: self.target,
            announcer: self.id,
            seq,
            token,
            node_id,
            unannounce,
        });
    }

    /// The app signed request `seq` (`None`: it failed): the signed request goes out, or counts
    /// as failed.
    pub fn signed(
        &mut self,
        seq: u32,
        signature: Option<[u8; 64]>,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
    ) -> Effects {
        let mut fx = self.effects();
        match self.pending.remove(&seq) {
            Some(Req::SignAnnounce {
                from, to, token, ..
            }) => {
                if self.phase != Phase::Announcing {
                    return fx;
                }
                if let Some(sig) = signature {
                    let spec = self.record_request(Command::Announce, from, token, sig);
                    self.send(Req::Announce { from, to }, spec, tags, node, now);
                } else if !self.announcing() {
                    self.finish_update(tags, node, now, &mut fx);
                }
            }
            Some(Req::SignUnannounce { to, token, .. }) => match signature {
                Some(sig) => {
                    let spec = self.record_request(Command::Unannounce, to, token, sig);
                    self.send(Req::Unannounce, spec, tags, node, now);
                }
                None => self.unannounced(&mut fx),
            },
            Some(other) => {
                self.pending.insert(seq, other);
            }
            None => {}
        }
        fx
    }

    /// Our record signed for an ANNOUNCE or UNANNOUNCE (`command`) with our own key.
    fn sign(&self, command: Command, token: &[u8; 32], node_id: &[u8; 32]) -> [u8; 64] {
        let (kp, target, peer) = (&self.key_pair, &self.target, &self.peer());
        if command == Command::Unannounce {
            sign_unannounce(kp, target, node_id, token, peer, None)
        } else {
            sign_announce(kp, target, node_id, token, peer, None)
        }
    }

    /// The ANNOUNCE or UNANNOUNCE (`command`) of our record with `signature`, to `to`.
    fn record_request(
        &self,
        command: Command,
        to: SocketAddrV4,
        token: [u8; 32],
        signature: [u8; 64],
    ) -> RequestSpec {
        let ann = Announce {
            peer: Some(self.peer()),
            refresh: None,
            signature: Some(signature),
            bump: 0,
        };
        let mut spec = RequestSpec::new(to, false, command.code());
        spec.token = Some(token);
        spec.target = Some(self.target);
        spec.value = Some(ann.to_bytes());
        spec
    }

    /// Every announce answered: publish the relay set, unannounce the dropped relays, resume
    /// pinging (or poll until online).
    fn finish_update(&mut self, tags: &mut Tags, node: &mut Node, now: Instant, fx: &mut Effects) {
        self.closest = self.update.drain(..).map(|r| r.from).collect();
        fx.relay_set = Some(RelaySet {
            relays: std::mem::take(&mut self.relays),
            relay_addresses: std::mem::take(&mut self.relay_addresses),
            generations: self.generations.clone(),
        });
        for to in self.generations.removed() {
            self.unannounce(to, tags, node, now);
        }
        if !self.first_done {
            self.first_done = true;
            fx.out.push(AnnouncerOut::Ready {
                target: self.target,
            });
        }
        self.round = 0;
        self.phase = Phase::Pausing;
        // `while (!online) await sleep(1000)` before the next ping rounds
        self.next_at = Some(if node.is_online() {
            now
        } else {
            now + OFFLINE_POLL
        });
    }

    /// `_unannounce(to)`: FIND_PEER for a fresh token, then a signed UNANNOUNCE.
    fn unannounce(&mut self, to: SocketAddrV4, tags: &mut Tags, node: &mut Node, now: Instant) {
        let mut spec = RequestSpec::new(to, false, Command::FindPeer.code());
        spec.target = Some(self.target);
        self.unannouncing += 1;
        self.send(Req::UnannounceToken { to }, spec, tags, node, now);
    }

    /// A response for one of our requests.
    pub fn on_response(
        &mut self,
        seq: u32,
        result: Result<Response, hyperdht_rpc::RpcError>,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
    ) -> Effects {
        let mut fx = self.effects();
        let Some(req) = self.pending.remove(&seq) else {
            return fx;
        };
        match req {
            Req::Ping => {
                if let Phase::Pinging { ok, total } = self.phase {
                    let ok = ok + usize::from(result.is_ok());
                    self.phase = Phase::Pinging { ok, total };
                    if !self.pending.values().any(|r| *r == Req::Ping) {
                        self.end_ping_round(ok, total, tags, node, now, &mut fx);
                    }
                }
            }
            Req::Announce { from, to } => {
                if result.is_ok_and(|r| r.error == 0) && self.phase == Phase::Announcing {
                    if self.relay_addresses.len() < MAX_RELAYS {
                        self.relay_addresses.push(from);
                    }
                    self.relays.push(RelayInfo {
                        relay_address: from,
                        peer_address: to,
                    });
                    self.generations.insert_current(from);
                }
                if self.phase == Phase::Announcing && !self.announcing() {
                    self.finish_update(tags, node, now, &mut fx);
                }
            }
            Req::UnannounceToken { to } => {
                let got = result.ok().and_then(|res| {
                    let (token, node_id, _) = (res.token?, res.from_id?, res.value?);
                    Some((token, node_id))
                });
                match got {
                    Some((token, node_id)) if self.external_sign => {
                        let req = Req::SignUnannounce { to, token, node_id };
                        self.ask_sign(req, &mut fx);
                    }
                    Some((token, node_id)) => {
                        let sig = self.sign(Command::Unannounce, &token, &node_id);
                        let spec = self.record_request(Command::Unannounce, to, token, sig);
                        self.send(Req::Unannounce, spec, tags, node, now);
                    }
                    None => self.unannounced(&mut fx),
                }
            }
            Req::Unannounce => self.unannounced(&mut fx),
            // answered through `signed`
            Req::SignAnnounce { .. } | Req::SignUnannounce { .. } => {}
        }
        fx
    }

    fn unannounced(&mut self, fx: &mut Effects) {
        self.unannouncing = self.unannouncing.saturating_sub(1);
        if self.unannouncing > 0 {
            return;
        }
        match self.phase {
            Phase::Suspended => fx.out.push(AnnouncerOut::Suspended {
                target: self.target,
            }),
            Phase::Stopping => fx.out.push(AnnouncerOut::Stopped {
                target: self.target,
            }),
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn end_ping_round(
        &mut self,
        ok: usize,
        total: usize,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
        fx: &mut Effects,
    ) {
        // we lost too many relay nodes: announce again
        if ok < total.min(MIN_ACTIVE) || self.refreshing || self.round >= ROUNDS {
            self.begin_update(tags, node, now, fx);
            return;
        }
        self.phase = Phase::Pausing;
        self.next_at = Some(now + ROUND_PAUSE);
    }

    pub fn on_timeout(&mut self, tags: &mut Tags, node: &mut Node, now: Instant) -> Effects {
        let mut fx = self.effects();
        if self.next_at.is_none_or(|t| t > now) || self.phase != Phase::Pausing {
            return fx;
        }
        self.next_at = None;
        if self.refreshing || self.round >= ROUNDS {
            self.begin_update(tags, node, now, &mut fx);
            return fx;
        }
        if !node.is_online() && self.round == 0 {
            self.next_at = Some(now + OFFLINE_POLL);
            return fx;
        }
        self.round += 1;
        let relays = self.generations.current();
        self.phase = Phase::Pinging {
            ok: 0,
            total: relays.len(),
        };
        for r in &relays {
            self.send(Req::Ping, RequestSpec::new(*r, true, PING), tags, node, now);
        }
        if relays.is_empty() {
            self.end_ping_round(0, 0, tags, node, now, &mut fx);
        }
        fx
    }

    /// `refresh()`: re-announce now (a running update or ping round finishes first).
    pub fn refresh(&mut self, tags: &mut Tags, node: &mut Node, now: Instant) -> Effects {
        let mut fx = self.effects();
        self.refreshing = true;
        if self.phase == Phase::Pausing {
            self.begin_update(tags, node, now, &mut fx);
        }
        fx
    }

    /// `suspend()`: stop announcing and unannounce from the current relays.
    pub fn suspend(&mut self, tags: &mut Tags, node: &mut Node, now: Instant) -> Effects {
        let mut fx = self.effects();
        if matches!(self.phase, Phase::Suspended | Phase::Stopping) {
            fx.out.push(AnnouncerOut::Suspended {
                target: self.target,
            });
            return fx;
        }
        self.leave(Phase::Suspended, tags, node, now, &mut fx);
        fx
    }

    /// `resume()`: announce again.
    pub fn resume(&mut self, tags: &mut Tags, node: &mut Node, now: Instant) -> Effects {
        let mut fx = self.effects();
        if self.phase == Phase::Suspended {
            self.begin_update(tags, node, now, &mut fx);
        }
        fx
    }

    /// `stop()`: unannounce from the current relays, then report `Stopped`.
    pub fn stop(&mut self, tags: &mut Tags, node: &mut Node, now: Instant) -> Effects {
        let mut fx = self.effects();
        if self.phase == Phase::Stopping {
            return fx;
        }
        self.leave(Phase::Stopping, tags, node, now, &mut fx);
        fx
    }

    /// Ends whatever runs (late answers are ignored) and unannounces the current relays.
    fn leave(
        &mut self,
        phase: Phase,
        tags: &mut Tags,
        node: &mut Node,
        now: Instant,
        fx: &mut Effects,
    ) {
        if let Phase::Querying(q) = self.phase {
            node.cancel_query(q);
        }
        // an update in flight already cycled the generations and may have announces out:
        // every relay we may be announced on is unannounced
        let mut targets = self.generations.current();
        if matches!(self.phase, Phase::Querying(_) | Phase::Announcing) {
            let announcing = self.pending.values().filter_map(|r| match r {
                Req::Announce { from, .. } | Req::SignAnnounce { from, .. } => Some(*from),
                _ => None,
            });
            targets.extend(self.generations.all().chain(announcing));
            targets.sort_unstable();
            targets.dedup();
        }
        self.pending.retain(|_, r| {
            matches!(
                r,
                Req::UnannounceToken { .. } | Req::Unannounce | Req::SignUnannounce { .. }
            )
        });
        self.phase = phase;
        self.next_at = None;
        for to in targets {
            self.unannounce(to, tags, node, now);
        }
        if self.unannouncing == 0 {
            self.unannouncing = 1;
            self.unannounced(fx);
        }
    }

    /// Whether the announcer finished stopping.
    pub fn is_stopped(&self) -> bool {
        self.phase == Phase::Stopping && self.unannouncing == 0
    }
}
