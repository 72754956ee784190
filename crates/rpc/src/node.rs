//! The sans-IO dht-rpc node (`dht-rpc index.js` + `lib/io.js`): feed it datagrams
//! ([`Node::handle_datagram`]) and time ([`Node::handle_timeout`]), give it commands, and collect
//! datagrams ([`Node::poll_transmit`]), events ([`Node::poll_event`]) and the next deadline
//! ([`Node::poll_timeout`]). No sockets, no clocks of its own.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use crate::congestion::CongestionWindow;
use crate::error::RpcError;
use crate::health::{HealthState, NetworkHealth};
use crate::messages::{self, Frame};
use crate::nat_sampler::NatSampler;
use crate::peer;
use crate::query::{Candidate, NodeFilter, Query, QueryId, QuerySpec};
use crate::routing_table::{Entry, RoutingTable};
use crate::tokens::Tokens;

pub const TICK: Duration = Duration::from_millis(5000);
pub const DRAIN: Duration = Duration::from_millis(750);
const SLEEPING_INTERVAL: Duration = Duration::from_millis(15000);
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);
const STABLE_TICKS: i64 = 240;
const MORE_STABLE_TICKS: i64 = 720;
const REFRESH_TICKS: i64 = 60;
const RECENT_NODE: u64 = 12;
const OLD_NODE: u64 = 360;
/// `maxPingDelay` default: DELAYED_PING requests asking for more get no reply.
pub const MAX_PING_DELAY_MS: u32 = 10_000;

#[derive(Debug, Clone)]
enum Owner {
    User(u64),
    Query(QueryId),
    QuickNat,
    FirewallProbe,
    Reping { old: [u8; 32], new: Box<Entry> },
    Check { id: [u8; 32] },
    Ignore,
}

#[derive(Debug)]
struct Inflight {
    data: Vec<u8>,
    to: SocketAddrV4,
    to_id: Option<[u8; 32]>,
    socket: SocketKind,
    sent: u32,
    retries: u32,
    timeout: Duration,
    deadline: Option<Instant>,
    created: Instant,
    owner: Owner,
    slow: bool,
    session: Option<SessionId>,
    ttl: Option<u32>,
    /// where its reply is counted (`stats.commands[c].rx`)
    command: crate::stats::CommandSlot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BootPhase {
    NotStarted,
    Querying { round: u8 },
    Updating { round: u8 },
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UpdateReason {
    Bootstrap,
    Stable,
}

#[derive(Debug)]
struct FirewallCheck {
    pending: usize,
    candidates: usize,
    sampler: NatSampler,
    count: usize,
    only_firewall: bool,
    reason: UpdateReason,
    host: Ipv4Addr,
    port: u16,
}

pub struct Node {
    cfg: Config,
    /// [`Node::start`] ran (the bootstrap nodes are resolved)
    started: bool,
    /// queries made before [`Node::start`], opened by it
    parked_queries: Vec<QueryId>,
    table: RoutingTable,
    nat: NatSampler,
    tokens: Tokens,
    congestion: CongestionWindow,
    tid: u16,
    inflight: HashMap<u16, Inflight>,
    /// requests refused at [`MAX_INFLIGHT`], failed with `Overloaded` on the next timer turn
    /// (not inline: a failing query request would re-drive its query from inside itself)
    overflow: Vec<Inflight>,
    queued: VecDeque<u16>,
    queries: HashMap<QueryId, Query>,
    next_query: QueryId,
    ephemeral: bool,
    firewalled: bool,
    server_port: u16,
    tick: u64,
    next_tick: Instant,
    next_drain: Instant,
    last_tick_at: Instant,
    refresh_ticks: i64,
    stable_ticks: i64,
    last_checked_host: Option<Ipv4Addr>,
    boot: BootPhase,
    boot_query: Option<QueryId>,
    quick_nat_pending: bool,
    test_nat: bool,
    bootstrapped: bool,
    bootstrap_samples: HashSet<SocketAddrV4>,
    firewall_check: Option<FirewallCheck>,
    delayed: Vec<(Instant, Transmit)>,
    repings: usize,
    down_hints_sent: i64,
    checks: usize,
    out: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
    destroyed: bool,
    suspended: bool,
    filter: Option<NodeFilter>,
    last_activity: Instant,
    health: NetworkHealth,
    online: bool,
    degraded: bool,
    next_session: SessionId,
    /// `opts.maxPingDelay`: DELAYED_PING requests asking for longer get no reply
    max_ping_delay: u32,
    /// whether routing-table changes are reported as [`Event::AddNode`] / [`Event::RemoveNode`]
    node_events: bool,
}

fn random_id() -> [u8; 32] {
    let mut id = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut id);
    id
}

impl Node {
    pub fn new(cfg: Config, now: Instant) -> Self {
        let tick = 100 - (rand::random::<f64>() * 50.0) as u64;
        let refresh_ticks = 60 - (rand::random::<f64>() * 30.0) as i64;
        let firewalled = cfg.firewalled;
        let mut node = Node {
            started: false,
            parked_queries: Vec::new(),
            table: RoutingTable::new(random_id()),
            nat: NatSampler::new(),
            tokens: Tokens::new(),
            congestion: CongestionWindow::new(cfg.max_window),
            tid: rand::random(),
            inflight: HashMap::new(),
            overflow: Vec::new(),
            queued: VecDeque::new(),
            queries: HashMap::new(),
            next_query: 1,
            ephemeral: true,
            firewalled,
            server_port: 0,
            tick,
            next_tick: now + TICK,
            next_drain: now + DRAIN,
            last_tick_at: now,
            refresh_ticks,
            stable_ticks: STABLE_TICKS,
            last_checked_host: None,
            boot: BootPhase::NotStarted,
            boot_query: None,
            quick_nat_pending: false,
            test_nat: false,
            bootstrapped: false,
            bootstrap_samples: HashSet::new(),
            firewall_check: None,
            delayed: Vec::new(),
            repings: 0,
            down_hints_sent: 0,
            checks: 0,
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            destroyed: false,
            suspended: false,
            filter: None,
            last_activity: now,
            health: NetworkHealth::new(),
            online: true,
            degraded: false,
            next_session: 1,
            max_ping_delay: MAX_PING_DELAY_MS,
            node_events: false,
            cfg,
        };
        if let Some(seed) = node.cfg.nat_seed {
            node.nat.add(*seed.ip(), seed.port());
        }
        // upstream adds `opts.nodes` last to first, so the first one ends up most recent
        for a in node.cfg.nodes.clone().into_iter().rev() {
            node.add_node(a);
        }
        node
    }

    /// Tells the node its server socket's local port and starts bootstrapping (after `listening`).
    pub fn start(&mut self, server_port: u16, now: Instant) {
        self.server_port = server_port;
        self.last_tick_at = now;
        self.next_tick = now + TICK;
        self.next_drain = now + DRAIN;
        self.started = true;
        self.start_boot_round(0, now);
        for id in std::mem::take(&mut self.parked_queries) {
            self.open_query(id, now);
        }
    }

    /// Replaces the two token secrets (tests and golden vectors; normally random and lazy).
    pub fn set_token_secrets(&mut self, secret0: [u8; 32], secret1: [u8; 32]) {
        self.tokens = Tokens::with_secrets(secret0, secret1);
    }

    /// The token we would issue to `host` with secret slot `i` (1 = current).
    pub fn token_for(&mut self, host: &Ipv4Addr, i: usize) -> [u8; 32] {
        self.tokens.token(host, i)
    }

    /// Sets the (resolved) bootstrap nodes; call before [`Node::start`].
    pub fn set_bootstrap(&mut self, nodes: Vec<SocketAddrV4>) {
        self.cfg.bootstrap = nodes;
    }

    /// `_removeNode`: drops `id` from the table, reporting it when node events are on.
    pub(super) fn remove_node(&mut self, id: &[u8; 32]) {
        if let Some(e) = self.table.remove(id) {
            if self.node_events {
                self.events.push_back(Event::RemoveNode(e));
            }
        }
    }

    /// `emit('add-node', node)` for an entry just added.
    pub(super) fn added_node(&mut self, id: &[u8; 32]) {
        if self.node_events {
            if let Some(e) = self.table.get(id) {
                self.events.push_back(Event::AddNode(e.clone()));
            }
        }
    }

    // ---- outputs -----------------------------------------------------------------------------

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    /// Whether datagrams wait to be sent.
    pub fn has_transmit(&self) -> bool {
        !self.out.is_empty()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether [`Node::poll_event`] has something.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.destroyed {
            return None;
        }
        let requests = self.inflight.values().filter_map(|r| r.deadline).min();
        if self.suspended {
            // only the timeouts of requests made while suspended
            return requests;
        }
        let mut t = self.next_tick.min(self.next_drain);
        if let Some(r) = self.overflow.first() {
            t = t.min(r.created);
        }
        if let Some(d) = requests {
            t = t.min(d);
        }
        for (d, _) in &self.delayed {
            t = t.min(*d);
        }
        Some(t)
    }

    pub fn destroy(&mut self, now: Instant) {
        if self.destroyed {
            return;
        }
        self.destroyed = true;
        for r in std::mem::take(&mut self.overflow) {
            self.fail_owner(r, RpcError::Destroyed, now);
        }
        let reqs: Vec<u16> = self.inflight.keys().copied().collect();
        for tid in reqs {
            if let Some(r) = self.inflight.remove(&tid) {
                self.fail_owner(r, RpcError::Destroyed, now);
            }
        }
        let qids: Vec<QueryId> = self.queries.keys().copied().collect();
        for q in qids {
            self.finish_query(q, Some(RpcError::Destroyed), now);
        }
        self.queued.clear();
        self.delayed.clear();
    }

    pub fn is_destroyed(&self) -> bool {
        self.destroyed
    }

    /// `dht.suspend()`: stop ticking, ignore the network, fail everything pending with
    /// [`RpcError::Suspended`] (upstream also closes the sockets; the driver keeps them).
    /// Requests and queries made while suspended run and time out: nothing is sent (upstream
    /// sends on its closed sockets), only their timeouts run.
    pub fn suspend(&mut self, now: Instant) {
        if self.suspended || self.destroyed {
            return;
        }
        self.suspended = true;
        let reqs: Vec<u16> = self.inflight.keys().copied().collect();
        for tid in reqs {
            if let Some(r) = self.inflight.remove(&tid) {
                self.congestion.recv();
                self.fail_owner(r, RpcError::Suspended, now);
            }
        }
        let qids: Vec<QueryId> = self.queries.keys().copied().collect();
        for q in qids {
            self.finish_query(q, Some(RpcError::Suspended), now);
        }
        self.queued.clear();
        self.delayed.clear();
    }

    /// `dht.resume()`: treated as a wake-up (adaptive nodes turn ephemeral again), ticking
    /// restarts and the table is refreshed.
    pub fn resume(&mut self, now: Instant) {
        if !self.suspended || self.destroyed {
            return;
        }
        self.suspended = false;
        // dht-rpc `_rebind`: every request made while suspended is sent again at once with a
        // fresh retry count; one the congestion window still queues (never sent) goes out
        // through the queue as before (sending it here too sent it twice)
        let tids: Vec<u16> = self
            .inflight
            .iter()
            .filter(|(_, r)| r.sent > 0)
            .map(|(t, _)| *t)
            .collect();
        for tid in tids {
            if let Some(r) = self.inflight.get_mut(&tid) {
                r.sent = 0;
            }
            self.transmit(tid, now);
        }
        self.last_tick_at = now;
        self.next_tick = now + TICK;
        self.next_drain = now + DRAIN;
        self.on_wakeup(now);
        self.refresh(now);
    }

    /// `opts.filterNode` (hyperdht skips a few known-bad hosts): filtered nodes never enter the
    /// routing table, are not used as NAT samples and are skipped in closer-node lists.
    pub fn set_node_filter(&mut self, filter: Option<NodeFilter>) {
        self.filter = filter;
    }

    pub(super) fn filtered(&self, addr: &SocketAddrV4) -> bool {
        self.filter.as_ref().is_some_and(|f| !f(addr))
    }

    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    // ---- commands ----------------------------------------------------------------------------

    /// `dht.addNode({host, port})`: id computed from the address, no verification.
    pub fn add_node(&mut self, addr: SocketAddrV4) {
        let id = peer::id(&addr);
        let t = self.tick;
        self.insert_node(Entry {
            added: t,
            ..Entry::new(id, addr)
        });
    }

    /// Starts an iterative query; replies arrive as [`Event::QueryReply`], the end as
    /// [`Event::QueryDone`] (the caller runs any commit phase on the closest replies).
    pub fn query(&mut self, spec: QuerySpec, now: Instant) -> QueryId {
        let id = self.next_query;
        self.next_query += 1;
        self.stats.queries_total += 1;
        self.refresh_ticks = REFRESH_TICKS;
        let mut q = Query::new(spec);
        q.opened = true;
        self.queries.insert(id, q);
        if self.destroyed {
            self.finish_query(id, Some(RpcError::Destroyed), now);
        } else if !self.started {
            // dht-rpc's query `_open` awaits the resolved bootstrap nodes: a query made before
            // the node starts waits for `start` (it used to end at once with no replies)
            self.parked_queries.push(id);
        } else {
            self.open_query(id, now);
        }
        id
    }

    /// `_open`: seed a query from the table, then the bootstrap nodes, and run it.
    fn open_query(&mut self, id: QueryId, now: Instant) {
        let Some(q) = self.queries.get(&id) else {
            return;
        };
        let seed = if q.wants_table() {
            self.table_candidates(&q.spec.target, queries::SEED - q.pending_len())
        } else {
            Vec::new()
        };
        let bootstrap = self.cfg.bootstrap.clone();
        let Some(q) = self.queries.get_mut(&id) else {
            return;
        };
        q.add_from_table(seed);
        if q.wants_table() {
            for b in bootstrap {
                q.add_pending(
                    Candidate {
                        id: Some(peer::id(&b)),
                        addr: b,
                    },
                    None,
                );
            }
        }
        self.drive_query(id, now);
    }

    /// The id the next [`Node::query`] call will return.
    pub fn peek_next_query_id(&self) -> QueryId {
        self.next_query
    }

    /// Stops a query (the consumer went away); in-flight requests are dropped.
    pub fn cancel_query(&mut self, id: QueryId) {
        if self.queries.remove(&id).is_some() {
            let tids: Vec<u16> = self
                .inflight
                .iter()
                .filter(|(_, r)| matches!(r.owner, Owner::Query(q) if q == id))
                .map(|(t, _)| *t)
                .collect();
            // the query's own session is destroyed: each request frees its slot twice
            for t in tids {
                self.inflight.remove(&t);
                self.queued.retain(|q| *q != t);
                self.congestion.recv();
                self.congestion.recv();
            }
        }
    }

    /// Sends a raw datagram on one of our sockets (holepunch probes etc.).
    pub fn send_raw(&mut self, socket: SocketKind, to: SocketAddrV4, data: Vec<u8>) {
        self.push_out(socket, to, data, None);
    }

    /// Like [`Node::send_raw`] with an IP TTL for this datagram only (holepunch probes).
    pub fn send_raw_ttl(&mut self, socket: SocketKind, to: SocketAddrV4, data: Vec<u8>, ttl: u32) {
        self.push_out(socket, to, data, Some(ttl));
    }

    /// Applies a health verdict (`_online` / `_degraded` / `_offline`), emitting
    /// [`Event::NetworkUpdate`] on change.
    pub(crate) fn set_health(&mut self, state: HealthState) {
        let (online, degraded) = match state {
            HealthState::Online => (true, false),
            HealthState::Degraded => (true, true),
            HealthState::Offline => (false, false),
        };
        let changed = match state {
            HealthState::Online => !self.online || self.degraded,
            HealthState::Degraded => !self.degraded,
            HealthState::Offline => self.online,
        };
        if changed {
            self.online = online;
            self.degraded = degraded;
            self.events
                .push_back(Event::NetworkUpdate { online, degraded });
        }
    }

    /// Starts a background refresh query.
    pub fn refresh(&mut self, now: Instant) {
        // `table.random()`: a uniformly random node's id, or our own id when empty
        let target = self
            .table
            .random()
            .map(|e| e.id)
            .unwrap_or(*self.table.id());
        self.background_query(target, now);
    }

    // ---- input -------------------------------------------------------------------------------

    /// Feeds one datagram that arrived on `socket` from `from`. Returns false if it was not a
    /// DHT frame (so the caller can hand it to UDX / holepunching).
    pub fn handle_datagram(
        &mut self,
        socket: SocketKind,
        from: SocketAddrV4,
        data: &[u8],
        now: Instant,
    ) -> bool {
        if self.destroyed || data.len() < 2 {
            return false;
        }
        self.last_activity = now;
        if data[0] != messages::REQUEST_ID && data[0] != messages::RESPONSE_ID {
            return false;
        }
        if self.suspended {
            // `IO.onmessage` ignores everything while suspended
            return true;
        }
        self.stats.received += 1;
        if from.port() == 0 {
            self.stats.dropped += 1;
            return true;
        }
        match messages::decode(data) {
            Some(Frame::Request(r)) => {
                self.stats.requests_in += 1;
                self.on_request(socket, from, r, now)
            }
            Some(Frame::Response(r)) => {
                self.stats.responses_in += 1;
                self.on_response(socket, from, r, now)
            }
            None => self.stats.dropped += 1,
        }
        true
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.destroyed {
            return;
        }
        if self.suspended {
            self.expire_requests(now);
            return;
        }
        self.last_activity = now;
        for r in std::mem::take(&mut self.overflow) {
            self.fail_owner(r, RpcError::Overloaded, now);
        }
        // delayed pings
        let mut i = 0;
        while i < self.delayed.len() {
            if self.delayed[i].0 <= now {
                let (_, t) = self.delayed.swap_remove(i);
                self.out.push_back(t);
            } else {
                i += 1;
            }
        }
        self.expire_requests(now);
        while self.next_drain <= now {
            self.next_drain += DRAIN;
            self.drain(now);
        }
        if self.next_tick <= now {
            let since = now.duration_since(self.last_tick_at);
            self.next_tick = now + TICK;
            self.last_tick_at = now;
            self.on_tick(since, now);
        }
    }

    /// Request timeouts (a retry, or the owner's REQUEST_TIMEOUT).
    fn expire_requests(&mut self, now: Instant) {
        let expired: Vec<u16> = self
            .inflight
            .iter()
            .filter(|(_, r)| r.deadline.is_some_and(|d| d <= now))
            .map(|(t, _)| *t)
            .collect();
        for tid in expired {
            self.on_request_timeout(tid, now);
        }
    }
}

mod accessors;
mod io;
mod maintenance;
mod queries;
mod requests;
mod types;

pub use io::MAX_INFLIGHT;
pub use types::*;
