//! Server side of hyperdht connections (`hyperdht lib/server.js`): the local router entry that
//! answers PEER_HANDSHAKE with Noise IK message 2 and our handshake payload. Handshakes live in
//! numbered slots (`_holepunches`; the slot index is the `holepunch.id` we advertise) and are
//! deduplicated by the exact noise bytes (`_connects`), since relays and dht-rpc retries deliver
//! the same message several times. The user's firewall callback may be async, so a handshake can
//! be pending: requests for it wait and are all answered (or all dropped) once it resolves.
//! Holepunch rounds for a slot are in `server_holepunch.rs`.

use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyperdht_crypto::{ns, KeyPair};
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::{IncomingRequest, Node, Reply, SocketKind};
use hyperdht_rpc::Dht;
use hyperdht_secret_stream::dh::DhKeyPair;
use hyperdht_secret_stream::{Handshake, HandshakeResult, Pattern, SecretStreamIo};
use hyperdht_udx::{UdxSocket, UdxStream};
use tokio::sync::mpsc;

use crate::constants::{Firewall, PayloadError};
use crate::messages::{HandshakeMessage, RouterMode};
use crate::noise_payload::{NoisePayload, UdxInfo};
use crate::router::RouteAction;
use crate::stats::{Path, Side};

/// How long an accepted handshake waits for the client's first UDX packet
/// (`HANDSHAKE_INITIAL_TIMEOUT` plus the time a holepunch may take).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// `HANDSHAKE_CLEAR_WAIT`: a finished handshake is remembered this long (retransmits).
const HANDSHAKE_CLEAR_WAIT: Duration = Duration::from_secs(10);
/// Most handshakes in flight per server; more are dropped like lost packets (hyperdht has no
/// bound; a slot holds a handshake and an unconnected stream for up to 30 s).
const MAX_SLOTS: usize = 2048;
/// Datagrams a stream connected to a claimed client address may send before the client is
/// heard from (our secret-stream header and its first retransmissions).
const UNVERIFIED_BUDGET: usize = 3;
/// Most handshakes in flight from one client host, so one source cannot take every slot (one
/// machine or NAT legitimately dials hundreds of connections at once: hyperswarm peers, tests).
const MAX_SLOTS_PER_HOST: usize = 512;
/// Most requests waiting on one pending (firewall) decision.
const MAX_WAITERS: usize = 16;

pub type Connection = SecretStreamIo<UdxStream>;

/// What the firewall callback returns: `true` rejects the client (no answer at all).
pub type FirewallFuture = Pin<Box<dyn Future<Output = bool> + Send>>;

/// `createServer({firewall(remotePublicKey, remotePayload, clientAddress)})`. Called once per
/// distinct Noise message 1, after decryption (so the key is authenticated). `clientAddress` is
/// the client as seen by the first relay (or directly).
pub type FirewallFn =
    Arc<dyn Fn([u8; 32], NoisePayload, SocketAddrV4) -> FirewallFuture + Send + Sync>;

/// `createServer(opts)` options beyond [`ListenOptions`] (kept apart so existing struct literals
/// of `ListenOptions` keep compiling).
#[derive(Debug, Clone, Copy, Default)]
pub struct ListenExtras {
    /// `reusableSocket` (default false): advertise it in the handshake, and when the client
    /// does too, remember the connection's remote address as a route for the client's key
    /// (used by this node's own connects with `reusable_socket` to that key).
    pub reusable_socket: bool,
}

/// `createServer(opts)` options this port supports.
#[derive(Clone)]
pub struct ListenOptions {
    pub firewall: Option<FirewallFn>,
    /// `holepunch: false` never punches (clients then need the LAN or OPEN path).
    pub holepunch: bool,
    /// `shareLocalAddress` (default true): put our local address into the handshake payload.
    pub share_local_address: bool,
    /// `holepunch` given as a function: asked before we punch back to a client that punches;
    /// `false` aborts the round (the client sees HOLEPUNCH_ABORTED).
    pub holepunch_veto: Option<crate::HolepunchVeto>,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            firewall: None,
            holepunch: true,
            share_local_address: true,
            holepunch_veto: None,
        }
    }
}

/// The node's view of itself when a handshake arrives, read from the locked node (the request
/// handler runs under the node lock: calling back into `Dht` getters there would deadlock).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeView {
    /// `dht.remoteAddress()`: our public address if we are not firewalled.
    pub remote_address: Option<SocketAddrV4>,
    /// `dht.firewalled`.
    pub firewalled: bool,
}

impl NodeView {
    pub(crate) fn of(node: &Node) -> Self {
        NodeView {
            firewalled: node.is_firewalled(),
            remote_address: if node.is_firewalled() {
                None
            } else {
                node.remote_address()
            },
        }
    }
}

/// A request waiting for its handshake's outcome.
struct Waiter {
    req: IncomingRequest,
    msg: HandshakeMessage,
}

/// The answer every request carrying the same noise bytes gets.
#[derive(Clone)]
struct Ready {
    noise2: Vec<u8>,
    /// `replyFromPuncher`: send routed replies from the socket we punch with.
    from_puncher: bool,
}

enum SlotState {
    Pending(Vec<Waiter>),
    Ready(Ready),
    /// Rejected, undecryptable, or aborted: never answered.
    Dropped,
}

pub(crate) struct Slot {
    noise1: Vec<u8>,
    /// the client's host (as the first relay saw it), for the per-host bound
    host: Ipv4Addr,
    state: SlotState,
    clear_at: Option<Instant>,
    pub(crate) hp: Option<crate::server_holepunch::SlotPunch>,
    /// its stream connected: kept only so retransmits of message 1 are recognised
    connected: bool,
}

/// A listening server's state, shared with the request handler.
pub struct ServerState {
    pub(crate) public_key: [u8; 32],
    key_pair: DhKeyPair,
    udx: UdxSocket,
    rpc: Dht,
    local_address: SocketAddrV4,
    opts: ListenOptions,
    slots: Vec<Option<Slot>>,
    by_noise: HashMap<Vec<u8>, usize>,
    connections: mpsc::Sender<Connection>,
    punchers: crate::holepuncher::Punchers,
    pub(crate) suspended: bool,
    /// `announcer.relays` (relay node, our address as it saw us), for the handshake payload.
    pub(crate) relays: Vec<crate::noise_payload::RelayInfo>,
    /// `announcer.relayAddresses`.
    pub(crate) relay_addresses: Vec<SocketAddrV4>,
    /// `announcer.isRelay` state.
    pub(crate) relay_generations: crate::announcer::RelayGenerations,
    extras: ListenExtras,
    connects: Arc<crate::connect_state::ConnectShared>,
    /// The map this state lives in, for clearing slots on timers (`_clearLater`).
    servers: std::sync::Weak<Mutex<HashMap<[u8; 32], ServerState>>>,
}

pub type Servers = Arc<Mutex<HashMap<[u8; 32], ServerState>>>;

fn random_stream_id() -> u32 {
    loop {
        let id = rand::random::<u32>();
        if id != 0 {
            return id;
        }
    }
}

impl ServerState {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        key_pair: &KeyPair,
        udx: UdxSocket,
        rpc: Dht,
        opts: ListenOptions,
        connections: mpsc::Sender<Connection>,
        punchers: crate::holepuncher::Punchers,
        extras: ListenExtras,
        connects: Arc<crate::connect_state::ConnectShared>,
        servers: &Servers,
    ) -> Self {
        ServerState {
            public_key: key_pair.public_key,
            key_pair: DhKeyPair::from_seed(&key_pair.seed()),
            local_address: rpc.server_address(),
            udx,
            rpc,
            opts,
            slots: Vec::new(),
            by_noise: HashMap::new(),
            connections,
            punchers,
            suspended: false,
            relays: Vec::new(),
            relay_addresses: Vec::new(),
            relay_generations: Default::default(),
            extras,
            connects,
            servers: Arc::downgrade(servers),
        }
    }

    /// (handshake slots in use, noise-keyed entries).
    pub(crate) fn slot_counts(&self) -> (usize, usize) {
        (self.slots.iter().flatten().count(), self.by_noise.len())
    }

    /// `_clearLater`: drop expired slots at `at` even if no other handshake arrives by then.
    fn schedule_gc(&self, at: Instant) {
        let servers = self.servers.clone();
        let target = hyperdht_crypto::hash(&self.public_key);
        tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            let Some(map) = servers.upgrade() else { return };
            let Ok(mut map) = map.lock() else { return };
            if let Some(srv) = map.get_mut(&target) {
                srv.gc(Instant::now());
            }
        });
    }

    /// The slot's stream connected: keep it `HANDSHAKE_CLEAR_WAIT` more for retransmits only.
    fn on_connected(&mut self, id: usize, noise1: &[u8]) {
        let at = Instant::now() + HANDSHAKE_CLEAR_WAIT;
        let Some(s) = self.slot_mut(id).filter(|s| s.noise1 == noise1) else {
            return;
        };
        s.clear_at = Some(s.clear_at.map_or(at, |t| t.min(at)));
        s.connected = true;
        self.schedule_gc(at);
    }

    pub(crate) fn rpc(&self) -> &Dht {
        &self.rpc
    }

    pub(crate) fn options(&self) -> &ListenOptions {
        &self.opts
    }

    pub(crate) fn punchers(&self) -> &crate::holepuncher::Punchers {
        &self.punchers
    }

    pub(crate) fn local_address(&self) -> SocketAddrV4 {
        self.local_address
    }

    pub(crate) fn slot_mut(&mut self, id: usize) -> Option<&mut Slot> {
        self.slots.get_mut(id).and_then(|s| s.as_mut())
    }

    /// The path slot `id`'s connection takes (`stats`): see `SlotPunch::path`.
    fn slot_path(&mut self, id: usize) -> Path {
        self.slot_mut(id)
            .and_then(|s| s.hp.as_ref())
            .map_or(Path::Direct, |hp| hp.path())
    }

    /// `_clearAll` (suspend / close): forget every handshake.
    pub(crate) fn clear_all(&mut self) {
        for s in self.slots.drain(..).flatten() {
            if let Some(hp) = s.hp {
                hp.destroy();
            }
        }
        self.by_noise.clear();
    }

    fn gc(&mut self, now: Instant) {
        for i in 0..self.slots.len() {
            let expired = self.slots[i]
                .as_ref()
                .is_some_and(|s| s.clear_at.is_some_and(|t| t <= now));
            if expired {
                if let Some(s) = self.slots[i].take() {
                    self.by_noise.remove(&s.noise1);
                    if let Some(hp) = s.hp {
                        hp.destroy();
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
    /// handshake (connected, or rejected) for retransmits give way first: the host's oldest
    /// when it holds [`MAX_SLOTS_PER_HOST`], anyone's oldest when all are taken. Only
    /// handshakes still in progress are never evicted, so a flood of them from one host fills
    /// that host's share and no more, while a host legitimately connecting hundreds of times a
    /// second keeps going (upstream has no bound at all).
    fn take_slot(&mut self, noise1: &[u8], host: Ipv4Addr, now: Instant) -> Option<usize> {
        let live = self.slots.iter().flatten();
        let id = if live.filter(|s| s.host == host).count() >= MAX_SLOTS_PER_HOST {
            self.evict_oldest(Some(host))?
        } else {
            match self.free_slot() {
                Some(id) => id,
                None => self.evict_oldest(None)?,
            }
        };
        let slot = Slot {
            noise1: noise1.to_vec(),
            host,
            state: SlotState::Dropped,
            clear_at: Some(now + CONNECT_TIMEOUT + HANDSHAKE_CLEAR_WAIT),
            hp: None,
            connected: false,
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
    fn evict_oldest(&mut self, host: Option<Ipv4Addr>) -> Option<usize> {
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
            hp.destroy();
        }
        Some(id)
    }

    /// `Router.onpeerhandshake` with `isServer` (`Server._onpeerhandshake`): returns what to send
    /// now; `Drop` also covers "answered later" (the firewall decision is pending).
    pub fn on_peer_handshake(
        &mut self,
        req: &IncomingRequest,
        node: &Node,
        servers: &Servers,
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
        let now = Instant::now();
        self.gc(now);
        if let Some(&id) = self.by_noise.get(&msg.noise) {
            let Some(slot) = self.slot_mut(id) else {
                return RouteAction::Drop;
            };
            return match &mut slot.state {
                SlotState::Ready(r) => routed_reply(req, &msg, r),
                SlotState::Pending(waiters) => {
                    if waiters.len() < MAX_WAITERS {
                        waiters.push(Waiter {
                            req: req.clone(),
                            msg,
                        });
                    }
                    RouteAction::Drop
                }
                SlotState::Dropped => RouteAction::Drop,
            };
        }
        // Noise responder first: a message we cannot read is dropped silently and costs no slot
        // (garbage used to hold a slot for HANDSHAKE_CLEAR_WAIT: ~100 datagrams/s locked out
        // every client, issue 14 #3)
        let Some((hs, client, remote_pk)) = self.read_noise1(&msg.noise) else {
            return RouteAction::Drop;
        };
        let client_address = msg.peer_address.unwrap_or(req.from);
        let Some(id) = self.take_slot(&msg.noise, *client_address.ip(), now) else {
            return RouteAction::Drop;
        };
        let view = NodeView::of(node);
        let Some(firewall) = self.opts.firewall.clone() else {
            let ready = self.complete(id, hs, client, client_address, req, &msg, view);
            return match ready {
                Some(r) => routed_reply(req, &msg, &r),
                None => RouteAction::Drop,
            };
        };
        // async firewall: park this request, decide on a task, answer everyone waiting
        let noise1 = msg.noise.clone();
        if let Some(s) = self.slot_mut(id) {
            s.state = SlotState::Pending(vec![Waiter {
                req: req.clone(),
                msg,
            }]);
        }
        let servers = servers.clone();
        let target = hyperdht_crypto::hash(&self.public_key);
        let first = req.clone();
        tokio::spawn(async move {
            let rejected = firewall(remote_pk, client.clone(), client_address).await;
            let mut sends = Vec::new();
            let rpc = {
                let Ok(mut map) = servers.lock() else { return };
                let Some(srv) = map.get_mut(&target) else {
                    return;
                };
                // the slot may have been collected and reused meanwhile
                let slot = srv.slot_mut(id).filter(|s| s.noise1 == noise1);
                let waiters = match slot.map(|s| &mut s.state) {
                    Some(SlotState::Pending(w)) => std::mem::take(w),
                    _ => return,
                };
                let now = Instant::now();
                let ready = if rejected || srv.suspended {
                    srv.drop_slot(id, now);
                    None
                } else {
                    let first_msg = &waiters[0].msg;
                    srv.complete(id, hs, client, client_address, &first, first_msg, view)
                };
                if let Some(r) = ready {
                    for w in waiters {
                        sends.push((routed_reply(&w.req, &w.msg, &r), w.req));
                    }
                }
                srv.rpc.clone()
            };
            for (action, req) in sends {
                rpc.with_node_or_defer(move |n| action.apply(&req, n));
            }
        });
        RouteAction::Drop
    }

    fn drop_slot(&mut self, id: usize, now: Instant) -> RouteAction {
        if let Some(s) = self.slot_mut(id) {
            s.state = SlotState::Dropped;
            s.clear_at = Some(now + HANDSHAKE_CLEAR_WAIT);
            self.schedule_gc(now + HANDSHAKE_CLEAR_WAIT);
        }
        RouteAction::Drop
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
    ) -> Option<Ready> {
        let now = Instant::now();
        let error = if client.version != 1 {
            PayloadError::VersionMismatch
        } else if client.udx.is_none() {
            PayloadError::Aborted
        } else {
            PayloadError::None
        };
        let ok = error == PayloadError::None;
        let stream_id = if ok { random_stream_id() } else { 0 };
        let mut addresses4 = Vec::new();
        if let Some(a) = view.remote_address {
            addresses4.push(a);
        }
        if self.opts.share_local_address {
            addresses4.push(self.local_address);
        }
        let payload = NoisePayload {
            error: error.code(),
            firewall: if view.remote_address.is_some() {
                Firewall::Open.code()
            } else {
                Firewall::Unknown.code()
            },
            holepunch: if view.remote_address.is_some() {
                None
            } else {
                Some(crate::noise_payload::HolepunchInfo {
                    id: id as u64,
                    relays: self.relays.clone(),
                })
            },
            addresses4,
            udx: Some(UdxInfo {
                version: 1,
                reusable_socket: self.extras.reusable_socket,
                id: stream_id as u64,
                seq: 0,
            }),
            secret_stream: Some(1),
            relay_addresses: (!self.relay_addresses.is_empty())
                .then(|| self.relay_addresses.clone()),
            ..NoisePayload::default()
        };
        let noise2 = match hs.send(&payload.to_bytes()) {
            Ok(n) => n,
            Err(_) => {
                self.drop_slot(id, now);
                return None;
            }
        };
        let result = hs.result();
        let (Some(result), true) = (result, ok) else {
            // an error payload is still answered, but nothing connects
            let ready = Ready {
                noise2,
                from_puncher: false,
            };
            self.set_ready(id, ready.clone(), now);
            return Some(ready);
        };
        let remote_udx_id = client.udx.map(|u| u.id as u32).unwrap_or(0);
        let direct = msg.peer_address.is_none();
        // the client is reachable (OPEN) or talked to us directly: we connect right away
        if Firewall::from_code(client.firewall) == Firewall::Open || direct {
            self.punchers.stats().punch_open();
            // the address is only claimed (by the client payload or a relay): a spoofed
            // handshake may name a victim, so send little until the client speaks (issue 14 #6)
            let raw = self.udx.connect_unverified(
                stream_id,
                remote_udx_id,
                SocketAddr::V4(client_address),
                UNVERIFIED_BUDGET,
            );
            self.deliver(raw, result, id, &client);
            let ready = Ready {
                noise2,
                from_puncher: false,
            };
            self.set_ready(id, ready.clone(), now);
            return Some(ready);
        }
        self.accept_stream(stream_id, remote_udx_id, result.clone(), id, &client);
        let plan = crate::server_holepunch::plan(
            self,
            crate::server_holepunch::PlanInput {
                client: &client,
                client_address,
                server_address: req.to,
                view,
                result: &result,
            },
        );
        let ready = Ready {
            noise2,
            from_puncher: plan.from_puncher,
        };
        self.set_ready(id, ready.clone(), now);
        if let Some(s) = self.slot_mut(id) {
            s.hp = plan.punch;
        }
        Some(ready)
    }

    fn set_ready(&mut self, id: usize, r: Ready, now: Instant) {
        if let Some(s) = self.slot_mut(id) {
            s.state = SlotState::Ready(r);
            // remembered for retransmits, then the slot id may be reused
            s.clear_at = Some(now + CONNECT_TIMEOUT + HANDSHAKE_CLEAR_WAIT);
            self.schedule_gc(now + CONNECT_TIMEOUT + HANDSHAKE_CLEAR_WAIT);
        }
    }

    /// An unconnected raw stream: the client's first UDX packet (on any path) connects it.
    fn accept_stream(
        &self,
        stream_id: u32,
        remote_id: u32,
        result: HandshakeResult,
        id: usize,
        client: &NoisePayload,
    ) {
        let raw = self.udx.accept(
            stream_id,
            Box::new(move |from: SocketAddr| Some((remote_id, from))),
        );
        self.deliver(raw, result, id, client);
    }

    /// Hands the stream to the listener once connected (`hs.onsocket`: the slot is cleared
    /// `HANDSHAKE_CLEAR_WAIT` later, its puncher destroyed, and a reusable-socket route added when
    /// both sides asked), or destroys it after the timeout.
    fn deliver(&self, raw: UdxStream, result: HandshakeResult, id: usize, client: &NoisePayload) {
        let tx = self.connections.clone();
        let servers = self.servers.clone();
        let target = hyperdht_crypto::hash(&self.public_key);
        let noise1 = self
            .slots
            .get(id)
            .and_then(|s| s.as_ref())
            .map(|s| s.noise1.clone());
        let route = (self.extras.reusable_socket && client.udx.is_some_and(|u| u.reusable_socket))
            .then(|| self.connects.clone());
        let stats = self.punchers.stats().clone();
        tokio::spawn(async move {
            if tokio::time::timeout(CONNECT_TIMEOUT, raw.connected()).await != Ok(true) {
                let path = servers
                    .upgrade()
                    .and_then(|m| m.lock().ok()?.get_mut(&target).map(|s| s.slot_path(id)));
                stats.connection(Side::Server, path.unwrap_or(Path::Direct), false);
                raw.destroy();
                return;
            }
            // no puncher: the client reached the address it handshook from, or our own
            let mut path = Path::Direct;
            if let (Some(map), Some(noise1)) = (servers.upgrade(), noise1) {
                if let Ok(mut map) = map.lock() {
                    if let Some(srv) = map.get_mut(&target) {
                        if let Some(hp) = srv.slot_mut(id).and_then(|s| s.hp.take()) {
                            path = hp.path();
                            hp.destroy();
                        }
                        srv.on_connected(id, &noise1);
                    }
                }
            }
            stats.connection(Side::Server, path, true);
            if let (Some(connects), Some(SocketAddr::V4(addr))) = (route, raw.remote()) {
                connects.add_route(result.remote_public_key, addr, raw.downgrade());
            }
            let _ = tx.send(SecretStreamIo::new(raw, result)).await;
        });
    }
}

/// The router's answer for one request (`Router.onpeerhandshake`, server branch).
fn routed_reply(req: &IncomingRequest, msg: &HandshakeMessage, r: &Ready) -> RouteAction {
    let socket = r.from_puncher.then_some(SocketKind::Server);
    let mode = RouterMode::from_code(msg.mode);
    let out = |mode: RouterMode, peer_address| HandshakeMessage {
        mode: mode.code(),
        noise: r.noise2.clone(),
        peer_address,
        relay_address: None,
    };
    match mode {
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
