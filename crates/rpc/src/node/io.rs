//! The request/response engine (`dht-rpc lib/io.js`): tids, retries and timeouts, the
//! congestion window, token checks, built-in command handlers and reply encoding.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::{
    BootPhase, Event, IncomingRequest, Inflight, Node, Owner, RequestSpec, SocketKind, Transmit,
    DEFAULT_TIMEOUT,
};
use crate::error::RpcError;
use crate::messages::{error_code, Command, RequestFrame, Response, ResponseFrame};
use crate::peer;
use crate::routing_table::K;
use crate::stats::CommandSlot;

/// Most requests in flight or queued behind the congestion window at once; more fail with
/// [`RpcError::Overloaded`]. dht-rpc has no bound (its 16-bit tids then collide); ours keeps a
/// quarter of the tid space free so allocating one always ends quickly.
pub const MAX_INFLIGHT: usize = 16_384;

/// Most DELAYED_PING replies waiting at once.
const MAX_DELAYED_REPLIES: usize = 4096;

impl Node {
    pub(super) fn push_out(
        &mut self,
        socket: SocketKind,
        to: SocketAddrV4,
        data: Vec<u8>,
        ttl: Option<u32>,
    ) {
        if self.suspended {
            // upstream's sockets are closed while suspended
            return;
        }
        self.stats.sent += 1;
        self.out.push_back(Transmit {
            socket,
            to,
            data,
            ttl,
        });
    }

    pub(super) fn outgoing_id(&self, socket: SocketKind) -> Option<[u8; 32]> {
        if !self.ephemeral && socket == SocketKind::Server {
            Some(*self.table.id())
        } else {
            None
        }
    }

    /// The next free tid; `None` only if all 65,536 are taken, which [`MAX_INFLIGHT`] prevents.
    pub(super) fn next_tid(&mut self) -> Option<u16> {
        for _ in 0..=u16::MAX as usize {
            let t = self.tid;
            self.tid = self.tid.wrapping_add(1);
            if !self.inflight.contains_key(&t) {
                return Some(t);
            }
        }
        None
    }

    /// Sends (or queues behind the congestion window) one request; at [`MAX_INFLIGHT`] it is
    /// failed with `Overloaded` on the next timer turn instead.
    pub(super) fn send_request(&mut self, spec: RequestSpec, owner: Owner, now: Instant) {
        if self.destroyed {
            // work triggered while `destroy` fails what was pending (the bootstrap's next
            // step, a re-ping's replacement node) must not leave requests behind
            return;
        }
        let full = self.inflight.len() >= MAX_INFLIGHT;
        let tid = if full { None } else { self.next_tid() };
        let socket = spec.socket.unwrap_or_else(|| self.request_socket());
        let frame = RequestFrame {
            tid: tid.unwrap_or(0),
            to: spec.to,
            id: self.outgoing_id(socket),
            token: spec.token,
            internal: spec.internal,
            command: spec.command,
            target: spec.target,
            value: spec.value,
        };
        let r = Inflight {
            data: frame.encode(),
            to: spec.to,
            to_id: spec.to_id,
            socket,
            sent: 0,
            retries: if spec.force { 0 } else { spec.retries },
            timeout: spec.timeout.unwrap_or(DEFAULT_TIMEOUT),
            deadline: None,
            created: now,
            owner,
            slow: false,
            session: spec.session,
            ttl: spec.ttl,
            command: CommandSlot::of(spec.internal, spec.command),
        };
        let Some(tid) = tid else {
            self.overflow.push(r);
            return;
        };
        self.stats.count_request_out(r.command);
        self.inflight.insert(tid, r);
        if spec.force || !self.congestion.is_full() {
            self.transmit(tid, now);
        } else {
            self.queued.push_back(tid);
        }
    }

    pub(super) fn transmit(&mut self, tid: u16, now: Instant) {
        let Some(r) = self.inflight.get_mut(&tid) else {
            return;
        };
        r.sent += 1;
        r.deadline = Some(now + r.timeout);
        let (socket, to, data, ttl) = (r.socket, r.to, r.data.clone(), r.ttl);
        self.congestion.send();
        self.push_out(socket, to, data, ttl);
    }

    pub(super) fn drain(&mut self, now: Instant) {
        self.congestion.drain();
        self.tokens.drain();
        self.send_queued(now);
    }

    /// Sends queued requests while the congestion window has room.
    fn send_queued(&mut self, now: Instant) {
        while !self.congestion.is_full() {
            let Some(tid) = self.queued.pop_front() else {
                break;
            };
            self.transmit(tid, now);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_reply(
        &mut self,
        socket: SocketKind,
        tid: u16,
        _requester: SocketAddrV4,
        dest: SocketAddrV4,
        error: u64,
        value: Option<Vec<u8>>,
        token: bool,
        closer_nodes: Vec<SocketAddrV4>,
    ) {
        let frame = ResponseFrame {
            tid,
            to: Some(dest),
            id: self.outgoing_id(socket),
            // `_sendReply`: the token is made for the destination host (`opts.to || req.from`)
            token: if token {
                Some(self.tokens.token(dest.ip(), 1))
            } else {
                None
            },
            closer_nodes,
            error,
            value,
        };
        self.push_out(socket, dest, frame.encode(), None);
    }

    pub(super) fn validated_id(id: Option<[u8; 32]>, from: &SocketAddrV4) -> Option<[u8; 32]> {
        let id = id?;
        (peer::id(from) == id).then_some(id)
    }

    pub(super) fn on_request(
        &mut self,
        socket: SocketKind,
        from: SocketAddrV4,
        r: RequestFrame,
        now: Instant,
    ) {
        if let Some(token) = &r.token {
            if !self.tokens.validate(from.ip(), token) {
                let closer = r
                    .target
                    .map(|t| self.closest_nodes(&t, K))
                    .unwrap_or_default();
                self.send_reply(
                    socket,
                    r.tid,
                    from,
                    from,
                    error_code::INVALID_TOKEN,
                    None,
                    true,
                    closer,
                );
                return;
            }
        }
        self.stats
            .count_request_in(CommandSlot::of(r.internal, r.command));
        let from_id = Self::validated_id(r.id, &from);
        if let Some(id) = from_id {
            self.add_from_network(id, from, r.to, socket, now);
        }
        if !r.internal {
            self.events.push_back(Event::Request(IncomingRequest {
                tid: r.tid,
                from,
                from_id,
                to: r.to,
                token: r.token,
                internal: false,
                command: r.command,
                target: r.target,
                value: r.value,
                socket,
            }));
            return;
        }
        let empty = Vec::new();
        match Command::from_code(r.command) {
            Some(Command::Ping) => {
                self.send_reply(socket, r.tid, from, from, 0, None, false, empty)
            }
            Some(Command::PingNat) => {
                let Some(v) = r.value.as_ref().filter(|v| v.len() >= 2) else {
                    return;
                };
                let port = u16::from_le_bytes([v[0], v[1]]);
                if port == 0 {
                    return;
                }
                let dest = SocketAddrV4::new(*from.ip(), port);
                self.send_reply(socket, r.tid, from, dest, 0, None, false, empty);
            }
            Some(Command::FindNode) => {
                let Some(t) = r.target else { return };
                let closer = self.closest_nodes(&t, K);
                self.send_reply(socket, r.tid, from, from, 0, None, false, closer);
            }
            Some(Command::DownHint) => {
                let Some(v) = r.value.as_ref().filter(|v| v.len() >= 6) else {
                    return;
                };
                if self.checks < 10 {
                    let down = SocketAddrV4::new(
                        Ipv4Addr::new(v[0], v[1], v[2], v[3]),
                        u16::from_le_bytes([v[4], v[5]]),
                    );
                    let id = peer::id(&down);
                    let tick = self.tick;
                    if let Some(e) = self.table.get_mut(&id) {
                        if e.pinged < tick || e.down_hints == 0 {
                            e.down_hints += 1;
                            self.check(id, now);
                        }
                    }
                }
                self.send_reply(socket, r.tid, from, from, 0, None, false, empty);
            }
            Some(Command::DelayedPing) => {
                let Some(v) = r.value.as_ref().filter(|v| v.len() >= 4) else {
                    return;
                };
                let delay = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
                if delay > self.max_ping_delay {
                    return;
                }
                // bounded (JS keeps an unbounded timer set): excess delayed pings get no reply
                if self.delayed.len() >= MAX_DELAYED_REPLIES {
                    self.stats.dropped += 1;
                    return;
                }
                let frame = ResponseFrame {
                    tid: r.tid,
                    to: Some(from),
                    id: self.outgoing_id(socket),
                    ..Default::default()
                };
                let t = Transmit {
                    socket,
                    to: from,
                    data: frame.encode(),
                    ttl: None,
                };
                self.delayed
                    .push((now + Duration::from_millis(delay as u64), t));
            }
            None => {
                let closer = r
                    .target
                    .map(|t| self.closest_nodes(&t, K))
                    .unwrap_or_default();
                self.send_reply(
                    socket,
                    r.tid,
                    from,
                    from,
                    error_code::UNKNOWN_COMMAND,
                    None,
                    false,
                    closer,
                );
            }
        }
    }

    pub(super) fn on_response(
        &mut self,
        socket: SocketKind,
        from: SocketAddrV4,
        r: ResponseFrame,
        now: Instant,
    ) {
        let Some(req) = self.inflight.remove(&r.tid) else {
            self.stats.dropped += 1;
            return;
        };
        self.queued.retain(|t| *t != r.tid);
        self.stats.count_reply(req.command);
        self.congestion.recv();
        // The slot a reply frees goes to a queued request now. dht-rpc only sends queued
        // requests on its 750 ms drain, but there requests made one after another as replies
        // come back take freed slots at once; a burst made in one instant (200 connects
        // started together) would otherwise wait whole drains for what JS gets through
        // between them. In-flight requests stay bounded by the same window.
        if !self.queued.is_empty() {
            self.send_queued(now);
        }
        let from_id = Self::validated_id(r.id, &from);
        let to = r.to.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        if let Some(id) = from_id {
            self.add_from_network(id, from, to, socket, now);
        } else {
            self.sample_bootstrap_maybe(from, to);
        }
        let res = Response {
            tid: r.tid,
            from,
            from_id,
            to,
            token: r.token,
            closer_nodes: r.closer_nodes,
            error: r.error,
            value: r.value,
            rtt_ms: now
                .duration_since(req.created)
                .as_millis()
                .min(u32::MAX as u128) as u32,
        };
        match req.owner {
            Owner::User(id) => self.events.push_back(Event::Response {
                req: id,
                result: Ok(res),
            }),
            Owner::Query(q) => self.on_query_reply(q, req.to, req.slow, res, now),
            Owner::QuickNat => {
                // counts only while the bootstrap query is still running (`ondata` in `_bootstrap`)
                if matches!(self.boot, BootPhase::Querying { round: 0 }) {
                    self.test_nat = true;
                }
            }
            Owner::FirewallProbe => {
                if let Some(fc) = self.firewall_check.as_mut() {
                    if socket == SocketKind::Server {
                        fc.count += 1;
                        fc.sampler.add(*res.to.ip(), res.to.port());
                    }
                    fc.pending = fc.pending.saturating_sub(1);
                }
                self.maybe_finish_firewall_check(now);
            }
            Owner::Reping { old, new } => {
                self.repings = self.repings.saturating_sub(1);
                let tick = self.tick;
                let seen =
                    self.table.get(&old).is_some_and(|e| e.seen == tick) && from_id == Some(old);
                if !seen {
                    self.remove_node(&old);
                    self.insert_node(*new);
                }
            }
            Owner::Check { id } => {
                self.checks = self.checks.saturating_sub(1);
                if from_id != Some(id) {
                    self.remove_node(&id);
                }
            }
            Owner::Ignore => {}
        }
    }

    pub(super) fn on_request_timeout(&mut self, tid: u16, now: Instant) {
        let Some(r) = self.inflight.get_mut(&tid) else {
            return;
        };
        if !r.slow {
            r.slow = true;
            let to = r.to;
            if let Owner::Query(q) = r.owner {
                if let Some(query) = self.queries.get_mut(&q) {
                    query.on_slow(to);
                }
                self.drive_query(q, now);
            }
        }
        let Some(r) = self.inflight.get(&tid) else {
            return;
        };
        if r.sent > r.retries {
            let Some(r) = self.inflight.remove(&tid) else {
                return;
            };
            self.stats.timeouts += 1;
            // `Request.destroy`: frees its congestion slot, then `_ontimeout` drops the node
            self.congestion.recv();
            let to_id = r.to_id;
            self.fail_owner(r, RpcError::RequestTimeout, now);
            if let Some(id) = to_id {
                self.remove_node(&id);
            }
        } else if self.congestion.is_full() {
            self.stats.retries += 1;
            if let Some(r) = self.inflight.get_mut(&tid) {
                r.deadline = None;
            }
            self.queued.push_back(tid);
        } else {
            self.stats.retries += 1;
            self.transmit(tid, now);
        }
    }

    pub(super) fn fail_owner(&mut self, r: Inflight, err: RpcError, now: Instant) {
        let timeout = err == RpcError::RequestTimeout;
        match r.owner {
            Owner::User(id) => self.events.push_back(Event::Response {
                req: id,
                result: Err(err),
            }),
            Owner::Query(q) => {
                let hints = match self.queries.get_mut(&q) {
                    Some(query) => query.on_error(r.to, timeout, r.slow),
                    None => Vec::new(),
                };
                for (referrer, down) in hints {
                    self.down_hint(referrer, down, now);
                }
                if !self.destroyed {
                    self.drive_query(q, now);
                }
            }
            Owner::FirewallProbe => {
                if let Some(fc) = self.firewall_check.as_mut() {
                    fc.pending = fc.pending.saturating_sub(1);
                }
                if !self.destroyed {
                    self.maybe_finish_firewall_check(now);
                }
            }
            Owner::Reping { old, new } => {
                self.repings = self.repings.saturating_sub(1);
                self.remove_node(&old);
                self.insert_node(*new);
            }
            Owner::Check { id } => {
                self.checks = self.checks.saturating_sub(1);
                self.remove_node(&id);
            }
            Owner::QuickNat | Owner::Ignore => {}
        }
    }
}
