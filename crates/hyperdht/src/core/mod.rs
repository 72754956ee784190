//! The sans-IO protocol core of a hyperdht node (the connection half of `hyperdht index.js`
//! plus its storage handler): inputs are requests, responses, query events and 1-byte probes
//! from the rpc node, the time, and commands; outputs are datagrams (through the rpc
//! [`Node`]), [`Output`]s for the driver, and the next deadline ([`Core::poll_timeout`]).
//!
//! The core never reads a clock, spawns a task or takes a lock: the driver (`crate::driver`)
//! hosts it inside the rpc driver task as its [`RequestHandler`](hyperdht_rpc::driver::RequestHandler)
//! and executes its outputs. One owner for each piece of state:
//! - `store`: the records this node keeps (`persistent.rs`, `lib/persistent.js`);
//! - `servers`: listening servers and their handshake slots (`server/`, `lib/server.js`);
//! - `punchers`: every holepuncher of the node (`holepuncher.rs`, `lib/holepuncher.js`);
//! - `connects`: client connects, the relay-address cache and reusable-socket routes
//!   (`connect/`, `lib/connect.js`);
//! - `tags`: which request belongs to whom.

pub mod announcer;
pub mod connect;
pub mod holepuncher;
pub mod random_punch;
pub mod server;
pub mod tags;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::Instant;

use hyperdht_crypto::KeyPair;
use hyperdht_rpc::driver::QueryEvent;
use hyperdht_rpc::node::{IncomingRequest, Node, SocketKind};
use hyperdht_rpc::query::QueryId;
use hyperdht_rpc::{Response, RpcError};

use crate::core::announcer::{Announcer, AnnouncerOut, Effects};
use crate::core::connect::{ConnectOut, ConnectParams, ConnectStats, Connects, StreamKey};
use crate::core::holepuncher::{PunchEvent, Punchers};
use crate::core::server::{Server, ServerConfig, ServerOut, SlotKey};
use crate::core::tags::{Owner, Tags};
use crate::messages::Peer;
use crate::persistent::{Forward, Outcome, Persistent};
use crate::stats::{Path, Stats};
use crate::Command;
use hyperdht_encoding::Codec;

/// Something the driver must do.
#[derive(Debug)]
pub enum Output {
    Server(ServerOut),
    Announcer(AnnouncerOut),
    /// Pool sockets for RANDOM-NAT punching (`random_punch.rs`).
    Pool(crate::core::random_punch::PoolOp),
    /// A PLUGIN request for a registered plugin: hand it to the embedder.
    Plugin(crate::plugin::PluginForward),
    Connect(ConnectOut),
}

/// Sizes of the per-node maps that grow with connects and handshakes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InternalCounts {
    /// Handshake slots of all listening servers (`_holepunches`), pending or kept for retransmits.
    pub server_slots: usize,
    /// Noise message 1 → slot index entries (`_connects`).
    pub server_noise_keys: usize,
    /// Holepunchers alive (client and server).
    pub punchers: usize,
    /// Remote keys with cached relay addresses (bounded: 512).
    pub relay_cache: usize,
    /// Reusable-socket routes.
    pub routes: usize,
}

/// Who a query the core started belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOwner {
    Announcer([u8; 32]),
}

/// Borrowed state every state machine works with.
pub(crate) struct Ctx<'a> {
    pub node: &'a mut Node,
    pub punchers: &'a mut Punchers,
    pub tags: &'a mut Tags,
    pub out: &'a mut VecDeque<Output>,
    pub stats: &'a Stats,
    pub now: Instant,
    /// where a peer on our LAN reaches our server socket (`Holepuncher.localAddresses`)
    pub local_addresses: &'a [SocketAddrV4],
}

/// The protocol core of one node.
pub struct Core {
    pub store: Persistent,
    /// registered plugins and the PLUGIN requests parked for them (`plugin.rs`)
    pub plugins: crate::plugin::PluginTable,
    pub servers: HashMap<[u8; 32], Server>,
    pub punchers: Punchers,
    pub connects: Connects,
    /// announcers of listening (and closing) servers, by target
    announcers: HashMap<[u8; 32], Announcer>,
    next_announcer: u64,
    /// queries the core started
    queries: HashMap<QueryId, QueryOwner>,
    tags: Tags,
    out: VecDeque<Output>,
    stats: Arc<Stats>,
    /// where a peer on our LAN reaches our server socket (`Holepuncher.localAddresses`; the
    /// driver lists the interfaces, see `driver/local_addresses.rs`)
    local_addresses: Vec<SocketAddrV4>,
}

impl Core {
    /// A core whose server socket a peer on our LAN reaches at `local_addresses` (see
    /// [`Core::set_local_addresses`]).
    pub fn new(store: Persistent, stats: Arc<Stats>, local_addresses: Vec<SocketAddrV4>) -> Self {
        Core {
            store,
            plugins: Default::default(),
            servers: HashMap::new(),
            punchers: Punchers::default(),
            connects: Connects::default(),
            announcers: HashMap::new(),
            next_announcer: 0,
            queries: HashMap::new(),
            tags: Tags::default(),
            out: VecDeque::new(),
            stats,
            local_addresses,
        }
    }

    /// Where a peer on our LAN reaches our server socket: shared in handshakes and matched
    /// against a same-NAT peer's private addresses. Handshakes from now on use the new list.
    pub fn set_local_addresses(&mut self, addresses: Vec<SocketAddrV4>) {
        if !addresses.is_empty() {
            self.local_addresses = addresses;
        }
    }

    pub fn local_addresses(&self) -> &[SocketAddrV4] {
        &self.local_addresses
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Requests in flight that belong to the core.
    pub fn tags_in_flight(&self) -> usize {
        self.tags.len()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Runs `f` with the context and the server for `target`, then dispatches punch events.
    fn with_server<R>(
        &mut self,
        target: &[u8; 32],
        node: &mut Node,
        now: Instant,
        f: impl FnOnce(&mut Server, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let r = self.with_server_raw(target, node, now, f)?;
        self.dispatch_punch_events(node, now);
        Some(r)
    }

    /// Hands punch events to the state machines waiting on them.
    fn dispatch_punch_events(&mut self, node: &mut Node, now: Instant) {
        while let Some(ev) = self.punchers.poll_event() {
            match ev {
                PunchEvent::Analyzed(pid) => {
                    if let Some(key) = self.slot_of_puncher(pid) {
                        self.with_server_raw(&key.target, node, now, |s, ctx| {
                            s.advance_rounds(key, ctx)
                        });
                    }
                }
                PunchEvent::Destroyed(pid) => {
                    // a slot still holding its puncher had no direct path take over (that
                    // takes the puncher first): upstream's `onabort` (`hs.aborted`)
                    if let Some(key) = self.slot_of_puncher(pid) {
                        if let Some(slot) = self
                            .servers
                            .get_mut(&key.target)
                            .and_then(|s| s.slot_mut(key.slot))
                        {
                            slot.aborted = true;
                        }
                    }
                }
                PunchEvent::Connected(..) => {}
            }
            self.with_connects_raw(node, now, |c, ctx| c.on_punch_event(ev, ctx));
        }
        while let Some((pid, socket, _from)) = self.punchers.poll_pool_hit() {
            if let Some(key) = self.slot_of_puncher(pid) {
                self.out
                    .push_back(Output::Server(ServerOut::AcceptOn { key, socket }));
            }
        }
        while let Some(op) = self.punchers.poll_pool_op() {
            self.out.push_back(Output::Pool(op));
        }
    }

    /// The server slot a (responder) puncher belongs to.
    fn slot_of_puncher(&self, pid: crate::core::holepuncher::PuncherId) -> Option<SlotKey> {
        self.servers.values().find_map(|s| {
            let target = s.target();
            s.slots.iter().enumerate().find_map(|(i, slot)| {
                let slot = slot.as_ref()?;
                (slot.hp.as_ref()?.puncher == pid).then_some(SlotKey {
                    target,
                    slot: i,
                    gen: slot.gen,
                })
            })
        })
    }

    /// A 1-byte datagram on pool socket `socket` (RANDOM-NAT punching).
    pub fn on_pool_probe(
        &mut self,
        socket: crate::core::random_punch::PoolId,
        from: SocketAddrV4,
        node: &mut Node,
        now: Instant,
    ) {
        self.punchers.on_pool_probe(socket, from, now);
        self.dispatch_punch_events(node, now);
    }

    /// [`Core::with_server`] without the event dispatch (used by the dispatcher itself).
    fn with_server_raw<R>(
        &mut self,
        target: &[u8; 32],
        node: &mut Node,
        now: Instant,
        f: impl FnOnce(&mut Server, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let srv = self.servers.get_mut(target)?;
        let mut ctx = Ctx {
            node,
            punchers: &mut self.punchers,
            tags: &mut self.tags,
            out: &mut self.out,
            stats: &self.stats,
            now,
            local_addresses: &self.local_addresses,
        };
        Some(f(srv, &mut ctx))
    }

    // ---- inputs from the rpc node -------------------------------------------------------

    /// A request for the hyperdht layer (`onrequest`): routed handshakes and holepunches for
    /// our servers or as a relay, then the storage commands. False: not ours (the node answers
    /// UNKNOWN_COMMAND, or PLUGIN goes elsewhere).
    pub fn on_request(&mut self, req: &IncomingRequest, node: &mut Node, now: Instant) -> bool {
        let cmd = match Command::from_code(req.command) {
            Some(c @ (Command::PeerHandshake | Command::PeerHolepunch)) => c,
            // hyperdht index.js onrequest: PLUGIN only on a persistent node (else
            // UNKNOWN_COMMAND), then persistent.js onplugin forwards or drops
            Some(Command::Plugin) => {
                if node.id().is_none() {
                    return false;
                }
                if let Some(f) = self.plugins.on_request(req, now) {
                    self.out.push_back(Output::Plugin(f));
                }
                return true;
            }
            _ => {
                return match self.store.on_request(req, node.id(), now) {
                    Outcome::Reply(r) => {
                        node.reply(req, r.into_reply());
                        true
                    }
                    Outcome::Drop => true,
                    Outcome::Unhandled => false,
                };
            }
        };
        let relay = req
            .target
            .and_then(|t| self.store.forwards.get(&t, now))
            .and_then(|f| f.relay);
        let local = req.target.and_then(|t| {
            self.with_server(&t, node, now, |srv, ctx| {
                if cmd == Command::PeerHandshake {
                    Some(srv.on_peer_handshake(req, ctx))
                } else {
                    srv.on_peer_holepunch(req, ctx)
                }
            })
            .flatten()
        });
        let action = match local {
            Some(a) => a,
            None if cmd == Command::PeerHandshake => crate::router::on_peer_handshake(req, relay),
            None => crate::router::on_peer_holepunch(req, relay),
        };
        action.apply(req, node);
        true
    }

    /// The outcome of a request the core sent.
    pub fn on_response(
        &mut self,
        tag: u64,
        result: Result<Response, RpcError>,
        node: &mut Node,
        now: Instant,
    ) {
        match self.tags.take(tag) {
            Some(Owner::NatPing(pid)) => {
                self.punchers
                    .on_ping(pid, result, &mut self.tags, node, now);
            }
            Some(Owner::Announcer { id, seq }) => {
                let fx = self
                    .announcers
                    .values_mut()
                    .find(|a| a.id() == id)
                    .map(|a| a.on_response(seq, result, &mut self.tags, node, now));
                if let Some((target, fx)) = fx.map(|fx| (fx.target, fx)) {
                    self.apply(target, fx);
                }
            }
            Some(Owner::Connect { id, seq }) => {
                self.with_connects_raw(node, now, |c, ctx| c.on_response(id, seq, result, ctx));
            }
            None => {}
        }
        self.dispatch_punch_events(node, now);
    }

    /// A 1-byte datagram (holepunch probe) on one of our sockets.
    pub fn on_probe(
        &mut self,
        socket: SocketKind,
        from: SocketAddrV4,
        node: &mut Node,
        now: Instant,
    ) {
        self.punchers.on_probe(socket, from, node, now);
        self.dispatch_punch_events(node, now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let servers = self.servers.values().filter_map(|s| s.poll_timeout());
        let announcers = self.announcers.values().filter_map(|a| a.poll_timeout());
        servers
            .chain(announcers)
            .chain(self.punchers.poll_timeout())
            .chain(self.connects.poll_timeout())
            .min()
    }

    /// Whether query `q` was started by the core.
    pub fn owns_query(&self, q: QueryId) -> bool {
        self.queries.contains_key(&q) || self.connects.owns_query(q)
    }

    /// An event of a query the core started.
    pub fn on_query_event(&mut self, q: QueryId, ev: QueryEvent, node: &mut Node, now: Instant) {
        // a connect's FIND_PEER (the connects keep their own query map)
        if self.connects.owns_query(q) {
            self.with_connects(node, now, |c, ctx| c.on_query_event(q, ev, ctx));
            return;
        }
        let Some(owner) = self.queries.get(&q).copied() else {
            return;
        };
        let QueryEvent::Done { closest, .. } = ev else {
            return;
        };
        self.queries.remove(&q);
        match owner {
            QueryOwner::Announcer(target) => {
                if let Some(a) = self.announcers.get_mut(&target) {
                    let fx = a.on_query_done(q, closest, &mut self.tags, node, now);
                    self.apply(target, fx);
                }
            }
        }
    }

    /// Passes on what an announcer produced.
    fn apply(&mut self, target: [u8; 32], fx: Effects) {
        if let Some(q) = fx.query {
            self.queries.insert(q, QueryOwner::Announcer(target));
        }
        if let (Some(set), Some(srv)) = (fx.relay_set, self.servers.get_mut(&target)) {
            srv.relays = set.relays;
            srv.relay_addresses = set.relay_addresses;
            srv.relay_generations = set.generations;
        }
        for o in fx.out {
            if let AnnouncerOut::Stopped { target } = o {
                self.announcers.remove(&target);
            }
            self.out.push_back(Output::Announcer(o));
        }
    }

    pub fn on_timeout(&mut self, node: &mut Node, now: Instant) {
        self.punchers.on_timeout(node, now);
        let due: Vec<[u8; 32]> = self
            .announcers
            .values()
            .filter(|a| a.poll_timeout().is_some_and(|t| t <= now))
            .map(|a| a.target())
            .collect();
        for t in due {
            if let Some(a) = self.announcers.get_mut(&t) {
                let fx = a.on_timeout(&mut self.tags, node, now);
                self.apply(t, fx);
            }
        }
        let targets: Vec<[u8; 32]> = self.servers.keys().copied().collect();
        for t in targets {
            self.with_server_raw(&t, node, now, |s, ctx| s.gc(ctx));
        }
        self.with_connects_raw(node, now, |c, ctx| c.on_timeout(ctx));
        self.dispatch_punch_events(node, now);
    }

    // ---- commands -----------------------------------------------------------------------

    /// `server.listen(keyPair)`: answer handshakes for `hash(publicKey)`; a FIND_PEER on this
    /// node returns our record (hyperdht: a retained router entry). Replaces an earlier server
    /// with the same key.
    pub fn listen(
        &mut self,
        key_pair: &KeyPair,
        config: ServerConfig,
        node: &mut Node,
        now: Instant,
    ) {
        let srv = Server::new(key_pair, config);
        let target = srv.target();
        if let Some(mut old) = self.servers.insert(target, srv) {
            let mut ctx = self.ctx_parts(node, now);
            old.clear_all(&mut ctx);
        }
        let record = Peer {
            public_key: key_pair.public_key,
            relay_addresses: Vec::new(),
        }
        .to_bytes();
        self.store.forwards.retain(
            target,
            Forward {
                relay: None,
                record,
            },
        );
        // a new announcer; one still stopping for an earlier server with this key finishes
        // unannouncing first (its `Stopped` then removes only itself)
        self.next_announcer += 1;
        let (a, fx) = Announcer::start(
            self.next_announcer,
            key_pair.clone(),
            target,
            config.external_sign,
            &mut self.tags,
            node,
            now,
        );
        if let Some(mut old) = self.announcers.insert(target, a) {
            let fx = old.stop(&mut self.tags, node, now);
            for o in fx.out {
                self.out.push_back(Output::Announcer(o));
            }
        }
        self.apply(target, fx);
    }

    /// The app signed announcer `announcer`'s request `seq` ([`AnnouncerOut::Sign`]; `None`:
    /// it failed).
    pub fn announcer_signed(
        &mut self,
        announcer: u64,
        seq: u32,
        signature: Option<[u8; 64]>,
        node: &mut Node,
        now: Instant,
    ) {
        let fx = self
            .announcers
            .values_mut()
            .find(|a| a.id() == announcer)
            .map(|a| a.signed(seq, signature, &mut self.tags, node, now));
        if let Some(fx) = fx {
            self.apply(fx.target, fx);
        }
    }

    /// Runs `f` on the announcer for `target` and passes on its effects.
    fn with_announcer(
        &mut self,
        target: &[u8; 32],
        node: &mut Node,
        now: Instant,
        f: impl FnOnce(&mut Announcer, &mut Tags, &mut Node, Instant) -> Effects,
    ) {
        if let Some(a) = self.announcers.get_mut(target) {
            let fx = f(a, &mut self.tags, node, now);
            self.apply(*target, fx);
        }
    }

    /// `server.refresh()`: re-announce now (no-op while suspended or not listening).
    pub fn refresh_server(&mut self, target: &[u8; 32], node: &mut Node, now: Instant) {
        if self.servers.get(target).is_some_and(|s| !s.suspended) {
            self.with_announcer(target, node, now, |a, t, n, now| a.refresh(t, n, now));
        }
    }

    fn ctx_parts<'a>(&'a mut self, node: &'a mut Node, now: Instant) -> Ctx<'a> {
        Ctx {
            node,
            punchers: &mut self.punchers,
            tags: &mut self.tags,
            out: &mut self.out,
            stats: &self.stats,
            now,
            local_addresses: &self.local_addresses,
        }
    }

    /// `server.close()`: stop answering handshakes for the key. True if its announcer is now
    /// stopping (an `AnnouncerOut::Stopped` follows).
    pub fn unlisten(&mut self, target: &[u8; 32], node: &mut Node, now: Instant) -> bool {
        if let Some(mut srv) = self.servers.remove(target) {
            let mut ctx = self.ctx_parts(node, now);
            srv.clear_all(&mut ctx);
        }
        self.store.forwards.delete(target);
        self.with_announcer(target, node, now, |a, t, n, now| a.stop(t, n, now));
        self.announcers.contains_key(target)
    }

    /// `server.suspend()` / `resume()`: drop pending handshakes and stop answering, or answer
    /// again. True if the server has an announcer (suspending it ends with
    /// `AnnouncerOut::Suspended`).
    pub fn set_server_suspended(
        &mut self,
        target: &[u8; 32],
        suspended: bool,
        node: &mut Node,
        now: Instant,
    ) -> bool {
        self.with_server(target, node, now, |s, ctx| {
            s.suspended = suspended;
            if suspended {
                s.clear_all(ctx);
            }
        });
        let announcing = self.announcers.contains_key(target);
        if suspended {
            self.with_announcer(target, node, now, |a, t, n, now| a.suspend(t, n, now));
        } else {
            self.with_announcer(target, node, now, |a, t, n, now| a.resume(t, n, now));
        }
        announcing
    }

    /// The app's firewall decided about a pending handshake (`true` = rejected); `relay`: the
    /// relay node its `relayThrough` function chose (when it was asked).
    pub fn firewall_answer(
        &mut self,
        key: SlotKey,
        rejected: bool,
        relay: Option<[u8; 32]>,
        node: &mut Node,
        now: Instant,
    ) {
        self.with_server(&key.target, node, now, |s, ctx| {
            s.firewall_answer(key, rejected, relay, ctx)
        });
    }

    /// A server slot's blind relay paired ([`ServerOut::Relay`]); false when the slot is gone
    /// (the pairing is then dropped).
    pub fn server_relay_paired(&mut self, key: SlotKey, node: &mut Node, now: Instant) -> bool {
        self.with_server(&key.target, node, now, |s, ctx| s.relay_paired(key, ctx))
            .unwrap_or(false)
    }

    /// A relayed server connection was reached directly by its client: the slot's puncher goes.
    pub fn server_relay_upgraded(&mut self, key: SlotKey, node: &mut Node, now: Instant) {
        self.with_server(&key.target, node, now, |s, ctx| s.relay_upgraded(key, ctx));
    }

    /// A relayed server slot's client reached us on pool socket `socket`: it now belongs to
    /// the slot's stream (false if it is not the slot puncher's).
    pub fn server_relay_via_pool(
        &mut self,
        key: SlotKey,
        socket: crate::core::random_punch::PoolId,
        node: &mut Node,
        now: Instant,
    ) -> bool {
        self.with_server(&key.target, node, now, |s, ctx| {
            s.relay_via_pool(key, socket, ctx)
        })
        .unwrap_or(false)
    }

    /// A server slot's blind relay failed before pairing.
    pub fn server_relay_failed(&mut self, key: SlotKey, node: &mut Node, now: Instant) {
        self.with_server(&key.target, node, now, |s, ctx| s.relay_failed(key, ctx));
    }

    /// The app's handshake object read message 1 of handshake `key` (`None`: it threw).
    pub fn server_noise_received(
        &mut self,
        key: SlotKey,
        answer: Option<crate::noise_wrap::ServerRecv>,
        node: &mut Node,
        now: Instant,
    ) {
        self.with_server(&key.target, node, now, |s, ctx| {
            s.noise_received(key, answer, ctx)
        });
    }

    /// The app's handshake object wrote message 2 of handshake `key` (`None`: it threw).
    pub fn server_noise_sent(
        &mut self,
        key: SlotKey,
        answer: Option<crate::noise_wrap::ServerSend>,
        node: &mut Node,
        now: Instant,
    ) {
        self.with_server(&key.target, node, now, |s, ctx| {
            s.noise_sent(key, answer, ctx)
        });
    }

    /// The app's holepunch veto answered for a server round.
    pub fn server_veto_answer(
        &mut self,
        key: SlotKey,
        allowed: bool,
        node: &mut Node,
        now: Instant,
    ) {
        self.with_server(&key.target, node, now, |s, ctx| {
            s.veto_answer(key, allowed, ctx)
        });
    }

    /// A server slot's stream connected (through pool socket `via`, or the DHT socket);
    /// returns how its path was found.
    pub fn server_stream_connected(
        &mut self,
        key: SlotKey,
        via: Option<crate::core::random_punch::PoolId>,
        node: &mut Node,
        now: Instant,
    ) -> crate::path_info::PathInfo {
        self.with_server(&key.target, node, now, |s, ctx| {
            s.stream_connected(key, via, ctx)
        })
        .unwrap_or_else(|| {
            self.stats
                .connection(crate::stats::Side::Server, Path::Direct, true);
            crate::path_info::PathInfo::unpunched(
                Path::Direct,
                crate::constants::Firewall::Unknown,
                crate::constants::Firewall::Unknown,
            )
        })
    }

    /// A server slot's stream did not connect in time.
    pub fn server_stream_failed(&mut self, key: SlotKey, node: &mut Node, now: Instant) {
        let done = self.with_server(&key.target, node, now, |s, ctx| s.stream_failed(key, ctx));
        if done.is_none() {
            self.stats
                .connection(crate::stats::Side::Server, Path::Direct, false);
        }
    }

    // ---- client connects (`connect/`) ---------------------------------------------------

    /// [`Core::with_connects`] without the event dispatch.
    fn with_connects_raw<R>(
        &mut self,
        node: &mut Node,
        now: Instant,
        f: impl FnOnce(&mut Connects, &mut Ctx<'_>) -> R,
    ) -> R {
        let mut ctx = Ctx {
            node,
            punchers: &mut self.punchers,
            tags: &mut self.tags,
            out: &mut self.out,
            stats: &self.stats,
            now,
            local_addresses: &self.local_addresses,
        };
        f(&mut self.connects, &mut ctx)
    }

    /// Runs `f` on the connects with the context, then dispatches punch events.
    fn with_connects<R>(
        &mut self,
        node: &mut Node,
        now: Instant,
        f: impl FnOnce(&mut Connects, &mut Ctx<'_>) -> R,
    ) -> R {
        let r = self.with_connects_raw(node, now, f);
        self.dispatch_punch_events(node, now);
        r
    }

    /// `dht.connect(publicKey, opts)`: starts a client connect; it ends with
    /// `Output::Connect(ConnectOut::Done)` for the returned id.
    pub fn connect(&mut self, params: ConnectParams, node: &mut Node, now: Instant) -> u64 {
        // a persistent node knows the server's relay itself (`_router.get(target).relay`)
        let target = hyperdht_crypto::hash(&params.remote_public_key);
        let own_relay = if node.is_ephemeral() {
            None
        } else {
            self.store.forwards.get(&target, now).and_then(|f| f.relay)
        };
        self.with_connects(node, now, |c, ctx| c.start(params, own_relay, ctx))
    }

    /// Connect `id`'s blind relay paired: its connection is open (relayed). If the connect ended
    /// already (its paths failed), the relayed connection is counted now.
    pub fn connect_relay_paired(&mut self, id: u64, node: &mut Node, now: Instant) {
        if self.connects.is_running(id) {
            self.with_connects(node, now, |c, ctx| c.relay_paired(id, ctx));
        } else {
            self.stats
                .connection(crate::stats::Side::Client, Path::Relayed, true);
        }
    }

    /// The app dropped connect `id` before it ended.
    pub fn cancel_connect(&mut self, id: u64, node: &mut Node, now: Instant) {
        self.with_connects(node, now, |c, ctx| c.cancel(id, ctx));
    }

    /// The app's holepunch veto answered for connect `id`.
    pub fn connect_veto_answer(&mut self, id: u64, allowed: bool, node: &mut Node, now: Instant) {
        self.with_connects(node, now, |c, ctx| c.veto_answer(id, allowed, ctx));
    }

    /// The app's handshake (`createHandshake`) wrote message 1 of connect `id` (`None`: failed).
    pub fn connect_noise_sent(
        &mut self,
        id: u64,
        noise: Option<Vec<u8>>,
        node: &mut Node,
        now: Instant,
    ) {
        self.with_connects(node, now, |c, ctx| c.noise_sent(id, noise, ctx));
    }

    /// The app's handshake read the server's message 2 for connect `id` (`None`: failed).
    pub fn connect_noise_received(
        &mut self,
        id: u64,
        answer: Option<connect::ExternalReply>,
        node: &mut Node,
        now: Instant,
    ) {
        self.with_connects(node, now, |c, ctx| c.noise_received(id, answer, ctx));
    }

    /// The app's LAN ping answered for connect `id`.
    pub fn connect_lan_answer(&mut self, id: u64, answered: bool, node: &mut Node, now: Instant) {
        self.with_connects(node, now, |c, ctx| c.lan_answer(id, answered, ctx));
    }

    /// The server connected the stream of passive connect `id` (from `addr`, if IPv4).
    pub fn connect_passive_connected(
        &mut self,
        id: u64,
        addr: Option<SocketAddrV4>,
        node: &mut Node,
        now: Instant,
    ) {
        self.with_connects(node, now, |c, ctx| c.passive_connected(id, addr, ctx));
    }

    /// The stream of passive connect `id` closed before the server connected it.
    pub fn connect_passive_failed(&mut self, id: u64, node: &mut Node, now: Instant) {
        self.with_connects(node, now, |c, ctx| c.passive_failed(id, ctx));
    }

    /// A server connection made with `reusableSocket` on both sides: remember its client.
    pub fn add_route(&mut self, remote: [u8; 32], addr: SocketAddrV4, s: StreamKey, now: Instant) {
        self.connects.add_route(remote, addr, s, now);
    }

    /// The driver saw a routed stream close (its route lingers 3 s more).
    pub fn route_stream_closed(&mut self, stream: StreamKey, now: Instant) {
        self.connects.route_stream_closed(stream, now);
    }

    /// Counters of this node's connects.
    pub fn connect_stats(&self) -> ConnectStats {
        self.connects.stats()
    }

    /// Sizes of the maps that grow with connects and handshakes.
    pub fn internal_counts(&mut self, now: Instant) -> InternalCounts {
        let (server_slots, server_noise_keys) = self
            .servers
            .values()
            .map(|srv| srv.slot_counts())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        InternalCounts {
            server_slots,
            server_noise_keys,
            punchers: self.punchers.live(),
            relay_cache: self.connects.relay_cache_len(),
            routes: self.connects.routes_live(now),
        }
    }
}
