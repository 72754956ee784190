//! The sans-IO dht-rpc node (`hyperdht_rpc::Node`) fed arbitrary datagrams, time and commands.
//! The input starts with a [`Setup`], then a sequence of [`Op`]s: requests and responses built
//! from fields (with ids and tokens that validate, or not), responses that answer the node's
//! own outstanding requests by tid, raw datagrams, clock moves, queries, requests, replies,
//! relays, sessions, suspend / resume and destroy.
//!
//! Checked: no panic; every datagram the node sends decodes as a dht-rpc frame; one received
//! datagram makes a bounded number of datagrams (no amplification); the routing table stays
//! within its 256 × k slots; timers move forward after they fire; every request and query the
//! harness starts ends exactly once (a response / error event, a `QueryDone`), nothing is
//! reported for a query after its end; after `destroy` nothing is in flight or scheduled.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use hyperdht_rpc::messages::{self, Frame, RequestFrame, ResponseFrame};
use hyperdht_rpc::node::{Config, Event, IncomingRequest, Node, Reply, RequestSpec, SocketKind};
use hyperdht_rpc::peer;
use hyperdht_rpc::query::{QueryId, QuerySpec};
use hyperdht_rpc::routing_table::K;

use crate::ops::Ops;

#[derive(Arbitrary, Debug, PartialEq)]
pub struct Setup {
    /// 0: adaptive, 1: persistent, 2: ephemeral
    pub mode: u8,
    pub firewalled: bool,
    pub quick_firewall: bool,
    pub max_window: u8,
    pub bootstrapper: bool,
}

#[derive(Arbitrary, Debug, PartialEq)]
pub enum Op {
    /// A request frame from pool address `from`. `token`: 0 none, 1 current, 2 previous,
    /// 3 made up. `value_len` bytes of value from the input, if `value`.
    Request {
        from: u8,
        client_socket: bool,
        with_id: bool,
        token: u8,
        internal: bool,
        command: u8,
        target: Option<u8>,
        value: bool,
        value_len: u16,
    },
    /// A response to outstanding request `pick` (by tid), from the address it went to unless
    /// `spoof`; `closer` pool addresses (indices from the input).
    Response {
        pick: u8,
        spoof: u8,
        with_id: bool,
        good_id: bool,
        token: bool,
        closer: u8,
        error: u8,
        value: bool,
        value_len: u16,
        to: u8,
    },
    /// `len` raw input bytes from pool address `from` (port 0 if `zero_port`).
    Raw {
        from: u8,
        client_socket: bool,
        zero_port: bool,
        len: u16,
    },
    Advance {
        ms: u16,
    },
    NextTimer,
    Query {
        target: u8,
        internal: bool,
        command: u8,
        only_closest: bool,
        force: bool,
    },
    UserRequest {
        to: u8,
        internal: bool,
        command: u8,
        retries: u8,
        force: bool,
        session: bool,
    },
    /// Answers pending incoming request `pick`.
    Reply {
        pick: u8,
        error: u8,
        token: bool,
        closer: bool,
        client_socket: bool,
    },
    Relay {
        pick: u8,
        to: u8,
    },
    Session,
    DestroySession {
        pick: u8,
    },
    CancelQuery {
        pick: u8,
    },
    Suspend,
    Resume,
    AddNode {
        at: u8,
    },
    Refresh,
    Destroy,
}

pub const OP_COUNT: u32 = 17;
pub const OP_RAW: u32 = 2;

const MAX_OPS: usize = 1500;
const SERVER_PORT: u16 = 49737;
const POOL: usize = 48;
/// Datagrams one received datagram may cause at most.
const MAX_FANOUT: usize = 64;

fn pool(i: u8) -> SocketAddrV4 {
    let i = usize::from(i) % POOL;
    SocketAddrV4::new(
        Ipv4Addr::new(10, (i / 16) as u8, (i % 16) as u8, 1),
        SERVER_PORT + (i % 3) as u16,
    )
}

fn bootstrap() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 99, 0, 1), SERVER_PORT)
}

fn socket(client: bool) -> SocketKind {
    if client {
        SocketKind::Client
    } else {
        SocketKind::Server
    }
}

struct Harness {
    node: Node,
    now: Instant,
    /// requests the node sent: (tid, to)
    outstanding: Vec<(u16, SocketAddrV4)>,
    /// incoming application requests not answered yet
    incoming: Vec<IncomingRequest>,
    next_req: u64,
    /// user requests without their response event yet
    open_requests: HashSet<u64>,
    /// queries the harness started and did not cancel, not done yet
    open_queries: HashSet<QueryId>,
    /// every query that ended (any origin)
    done_queries: HashSet<QueryId>,
    started_queries: Vec<QueryId>,
    sessions: Vec<u64>,
}

impl Harness {
    /// Collects output and events; `fanout` bounds how many datagrams may have been produced.
    fn pump(&mut self, fanout: Option<usize>) {
        let mut sent = 0;
        while let Some(t) = self.node.poll_transmit() {
            sent += 1;
            let frame = messages::decode(&t.data)
                .unwrap_or_else(|| panic!("the node sent a non-frame: {:02x?}", t.data));
            if let Frame::Request(r) = frame {
                self.outstanding.push((r.tid, t.to));
                if self.outstanding.len() > 256 {
                    self.outstanding.drain(..128);
                }
            }
        }
        if let Some(max) = fanout {
            assert!(sent <= max, "one datagram made the node send {sent}");
        }
        while let Some(ev) = self.node.poll_event() {
            match ev {
                Event::Request(r) if self.incoming.len() < 64 => self.incoming.push(r),
                Event::Response { req, .. } => {
                    assert!(self.open_requests.remove(&req), "request {req} ended twice");
                }
                Event::QueryReply { query, .. } => {
                    assert!(!self.done_queries.contains(&query), "reply after QueryDone");
                }
                Event::QueryDone { query, .. } => {
                    assert!(self.done_queries.insert(query), "query {query} ended twice");
                    self.open_queries.remove(&query);
                }
                _ => {}
            }
        }
        assert!(self.node.table_len() <= 256 * K);
    }

    fn fire_timers(&mut self) {
        let now = self.now;
        if self.node.poll_timeout().is_some_and(|t| t <= now) {
            self.node.handle_timeout(now);
            if let Some(t) = self.node.poll_timeout() {
                assert!(t > now, "timer still due right after firing");
            }
        }
    }

    fn advance_to(&mut self, t: Instant) {
        for _ in 0..512 {
            match self.node.poll_timeout() {
                Some(n) if n <= t => {
                    self.now = self.now.max(n);
                    self.fire_timers();
                    self.pump(None);
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
        self.fire_timers();
    }

    fn feed(&mut self, socket: SocketKind, from: SocketAddrV4, data: &[u8]) {
        let now = self.now;
        self.node.handle_datagram(socket, from, data, now);
        self.pump(Some(MAX_FANOUT));
    }

    fn token(&mut self, from: &SocketAddrV4, sel: u8) -> Option<[u8; 32]> {
        match sel % 4 {
            0 => None,
            1 => Some(self.node.token_for(from.ip(), 1)),
            2 => Some(self.node.token_for(from.ip(), 0)),
            _ => Some([sel; 32]),
        }
    }

    fn apply(&mut self, op: Op, ops: &mut Ops<'_>) {
        let now = self.now;
        match op {
            Op::Request {
                from,
                client_socket,
                with_id,
                token,
                internal,
                command,
                target,
                value,
                value_len,
            } => {
                let from = pool(from);
                let frame = RequestFrame {
                    tid: ops.value(),
                    to: SocketAddrV4::new(Ipv4Addr::new(10, 200, 0, 1), SERVER_PORT),
                    id: with_id.then(|| peer::id(&from)),
                    token: self.token(&from, token),
                    internal,
                    command: u64::from(command % 12),
                    target: target.map(|t| [t; 32]),
                    value: value.then(|| ops.bytes(usize::from(value_len) % 2048).to_vec()),
                };
                self.feed(socket(client_socket), from, &frame.encode());
            }
            Op::Response {
                pick,
                spoof,
                with_id,
                good_id,
                token,
                closer,
                error,
                value,
                value_len,
                to,
            } => {
                let Some(&(tid, dest)) = self
                    .outstanding
                    .get(usize::from(pick) % self.outstanding.len().max(1))
                else {
                    return;
                };
                let from = if spoof % 8 == 7 { pool(spoof) } else { dest };
                let closer_nodes = (0..closer % 24).map(|_| pool(ops.value())).collect();
                let frame = ResponseFrame {
                    tid,
                    to: Some(pool(to)),
                    id: with_id.then(|| if good_id { peer::id(&from) } else { [1; 32] }),
                    token: token.then_some([error; 32]),
                    closer_nodes,
                    error: u64::from(error % 20),
                    value: value.then(|| ops.bytes(usize::from(value_len) % 1500).to_vec()),
                };
                let client = self.node.request_socket() == SocketKind::Client;
                self.feed(socket(client), from, &frame.encode());
            }
            Op::Raw {
                from,
                client_socket,
                zero_port,
                len,
            } => {
                let mut from = pool(from);
                if zero_port {
                    from.set_port(0);
                }
                let d = ops.bytes(usize::from(len) % 4096);
                self.feed(socket(client_socket), from, d);
            }
            Op::Advance { ms } => {
                self.advance_to(now + Duration::from_millis(u64::from(ms) * 4));
            }
            Op::NextTimer => {
                if let Some(t) = self.node.poll_timeout() {
                    self.advance_to(t.max(now));
                }
            }
            Op::Query {
                target,
                internal,
                command,
                only_closest,
                force,
            } => {
                let spec = QuerySpec {
                    target: [target; 32],
                    internal,
                    command: u64::from(command % 12),
                    value: None,
                    concurrency: 10,
                    retries: 3,
                    nodes: if only_closest {
                        vec![pool(target), pool(target.wrapping_add(1))]
                    } else {
                        Vec::new()
                    },
                    background: false,
                    only_closest_nodes: only_closest,
                    force,
                };
                let id = self.node.query(spec, now);
                self.started_queries.push(id);
                if !self.done_queries.contains(&id) {
                    self.open_queries.insert(id);
                }
                self.pump(None);
            }
            Op::UserRequest {
                to,
                internal,
                command,
                retries,
                force,
                session,
            } => {
                let mut spec = RequestSpec::new(pool(to), internal, u64::from(command % 12));
                spec.retries = u32::from(retries % 6);
                spec.force = force;
                if session {
                    spec.session = self.sessions.last().copied();
                }
                let req = self.next_req;
                self.next_req += 1;
                self.open_requests.insert(req);
                self.node.request(req, spec, now);
                self.pump(None);
            }
            Op::Reply {
                pick,
                error,
                token,
                closer,
                client_socket,
            } => {
                if self.incoming.is_empty() {
                    return;
                }
                let r = self
                    .incoming
                    .remove(usize::from(pick) % self.incoming.len());
                let reply = Reply {
                    value: Some(vec![error; usize::from(error % 64)]),
                    error: u64::from(error % 4),
                    token,
                    closer_nodes: closer,
                    to: None,
                };
                self.node.reply_on(&r, reply, socket(client_socket));
                self.pump(None);
            }
            Op::Relay { pick, to } => {
                if self.incoming.is_empty() {
                    return;
                }
                let r = self
                    .incoming
                    .remove(usize::from(pick) % self.incoming.len());
                self.node.relay(&r, r.value.clone(), pool(to));
                self.pump(None);
            }
            Op::Session => {
                let s = self.node.session();
                self.sessions.push(s);
            }
            Op::DestroySession { pick } => {
                if let Some(&s) = self
                    .sessions
                    .get(usize::from(pick) % self.sessions.len().max(1))
                {
                    self.node.destroy_session(s, now);
                    self.pump(None);
                }
            }
            Op::CancelQuery { pick } => {
                let n = self.started_queries.len();
                if n == 0 {
                    return;
                }
                let id = self.started_queries[usize::from(pick) % n];
                self.node.cancel_query(id);
                self.open_queries.remove(&id);
                self.pump(None);
            }
            Op::Suspend => {
                self.node.suspend(now);
                self.pump(None);
            }
            Op::Resume => {
                self.node.resume(now);
                self.pump(None);
            }
            Op::AddNode { at } => {
                self.node.add_node(pool(at));
                self.pump(None);
            }
            Op::Refresh => {
                self.node.refresh(now);
                self.pump(None);
            }
            Op::Destroy => {
                self.node.destroy(now);
                self.pump(None);
            }
        }
    }

    fn finish(&mut self) {
        let now = self.now;
        self.node.destroy(now);
        self.pump(None);
        assert_eq!(self.node.inflight_len(), 0, "requests left after destroy");
        assert_eq!(self.node.poll_timeout(), None, "timers left after destroy");
        assert!(
            self.open_requests.is_empty(),
            "requests never ended: {:?}",
            self.open_requests
        );
        assert!(
            self.open_queries.is_empty(),
            "queries never ended: {:?}",
            self.open_queries
        );
        let d = RequestFrame {
            tid: 1,
            to: pool(0),
            id: None,
            token: None,
            internal: true,
            command: 0,
            target: None,
            value: None,
        }
        .encode();
        assert!(!self
            .node
            .handle_datagram(SocketKind::Server, pool(1), &d, now));
        assert!(
            self.node.poll_transmit().is_none(),
            "a destroyed node answered"
        );
    }
}

pub fn run(data: &[u8]) {
    let mut ops = Ops::new(data, MAX_OPS);
    let Some(setup) = ops.op::<Setup>() else {
        return;
    };
    let now = Instant::now();
    let cfg = Config {
        bootstrap: vec![bootstrap()],
        ephemeral: match setup.mode % 3 {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        },
        firewalled: setup.firewalled,
        quick_firewall: setup.quick_firewall,
        max_window: u32::from(setup.max_window).max(1),
        nat_seed: setup
            .bootstrapper
            .then(|| SocketAddrV4::new(Ipv4Addr::new(10, 200, 0, 1), SERVER_PORT)),
        ..Config::default()
    };
    let mut node = Node::new(cfg, now);
    node.set_token_secrets([1; 32], [2; 32]);
    node.start(SERVER_PORT, now);
    let mut h = Harness {
        node,
        now,
        outstanding: Vec::new(),
        incoming: Vec::new(),
        next_req: 1,
        open_requests: HashSet::new(),
        open_queries: HashSet::new(),
        done_queries: HashSet::new(),
        started_queries: Vec::new(),
        sessions: Vec::new(),
    };
    h.pump(None);
    while let Some(op) = ops.op::<Op>() {
        h.apply(op, &mut ops);
    }
    h.finish();
}
