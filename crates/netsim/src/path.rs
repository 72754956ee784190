//! How a datagram travels: out through the sender's access link and NAT (mapping created at
//! send time), across the LAN or the internet (TTL spent per router), into the receiver's NAT
//! (filter checked when it arrives there), and down the receiver's access link.
//!
//! Queue entries have two stages: `Stage::Edge` (reaching the receiving side's router,
//! where routing and the inbound filter run at arrival time) and `Stage::Host` (reaching
//! the host itself). [`Net::pop_due`] runs edges internally and returns host arrivals.

use std::cmp::Ordering;
use std::net::SocketAddrV4;
use std::time::Instant;

use crate::link::Link;
use crate::net::{Delivery, Net, Route};
use crate::rng::Rng;
use crate::stats::DropReason;
use crate::topology::HostId;
use crate::trace::TraceKind;

/// IP TTL of datagrams sent without one (Linux default).
pub const DEFAULT_TTL: u32 = 64;

/// Flows tracked for FIFO before stale ones are pruned.
const FLOW_PRUNE_AT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Reaching the edge of the receiving side: a LAN peer (`Some(host)`, no routing) or the
    /// internet's routing by destination address (`None`).
    Edge(Option<HostId>),
    /// Reaching `host` on `port`.
    Host(HostId, u16),
}

#[derive(Debug)]
pub(crate) struct Packet {
    at: Instant,
    seq: u64,
    /// trace number
    id: u64,
    stage: Stage,
    /// the sender as seen at this point
    src: SocketAddrV4,
    dst: SocketAddrV4,
    ttl: u32,
    data: Vec<u8>,
}

// Min-heap order on (time, insertion) for `BinaryHeap`.
impl Ord for Packet {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}
impl PartialOrd for Packet {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Packet {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Packet {}

/// When a datagram entering `link` at `start` leaves it; `last` keeps it FIFO unless the link
/// may reorder.
fn exit(rng: &mut Rng, link: &Link, start: Instant, last: &mut Instant) -> Instant {
    let mut t = start + link.latency + rng.duration_upto(link.jitter);
    if !link.reorder {
        t = t.max(*last);
        *last = t;
    }
    t
}

impl Net {
    /// Sends `data` from `host`'s port `src_port` to `dst` with IP TTL `ttl` (default 64),
    /// now. The sender's NAT mapping is made (or refreshed) at once; everything else happens
    /// as the datagram travels. Losses and drops are counted, never reported to the sender.
    pub fn send(
        &mut self,
        host: HostId,
        src_port: u16,
        dst: SocketAddrV4,
        data: Vec<u8>,
        ttl: Option<u32>,
    ) {
        let now = self.now();
        let id = self.packets;
        self.packets += 1;
        self.counters.sent += 1;
        let h = &mut self.hosts[host.0];
        h.counters.sent += 1;
        let src = SocketAddrV4::new(h.cfg.ip, src_port);
        let (link, behind) = (h.cfg.link, h.cfg.behind);
        let mut ttl = ttl.unwrap_or(DEFAULT_TTL);
        let len = data.len();
        self.log(
            now,
            id,
            TraceKind::Sent {
                host,
                src,
                dst,
                len,
                ttl,
            },
        );
        if ttl == 0 {
            return self.drop_at(now, id, DropReason::Ttl, src, dst, "ttl 0");
        }
        if self.rng.chance(link.loss) {
            return self.drop_at(now, id, DropReason::Loss, src, dst, "sender's link");
        }
        let mut last = self.hosts[host.0].last_up;
        let t_up = exit(&mut self.rng, &link, now, &mut last);
        self.hosts[host.0].last_up = last;

        // the sender's own LAN (or itself): straight there, no router, no NAT
        let direct = match behind {
            Some(n) => self.nats[n.0].lan.get(dst.ip()).copied(),
            None => (dst.ip() == src.ip()).then_some(host),
        };
        if let Some(to) = direct {
            let lan = self.cfg.lan;
            return self.cross_core(id, lan, t_up, Stage::Edge(Some(to)), src, dst, ttl, data);
        }

        let mut seen = src;
        let mut core = self.cfg.internet;
        let mut hops = self.cfg.internet_hops;
        if let Some(n) = behind {
            let cfg = &self.nats[n.0].state.cfg;
            if cfg.translates() && *dst.ip() == cfg.public_ip {
                if !cfg.hairpin {
                    let why = "NAT does not hairpin";
                    return self.drop_at(now, id, DropReason::Hairpin, src, dst, why);
                }
                // back in through the NAT itself: LAN delay, no internet routers
                core = self.cfg.lan;
                hops = 0;
            }
            if ttl <= 1 {
                let why = "expired at the sender's NAT";
                return self.drop_at(now, id, DropReason::Ttl, src, dst, why);
            }
            ttl -= 1;
            let nat = &mut self.nats[n.0].state;
            match nat.outbound(src, dst, now, &mut self.rng) {
                None => {
                    let why = "NAT out of ports";
                    return self.drop_at(now, id, DropReason::NoRoute, src, dst, why);
                }
                Some((external, fresh)) => {
                    if fresh {
                        self.counters.mappings += 1;
                        let dest = (nat.cfg.mapping == crate::nat::Mapping::Random).then_some(dst);
                        let kind = TraceKind::Mapped {
                            nat: n,
                            internal: src,
                            external,
                            dest,
                        };
                        self.log(now, id, kind);
                    }
                    seen = external;
                }
            }
        }
        if hops > 0 {
            if ttl <= hops {
                let why = "expired on the internet";
                return self.drop_at(now, id, DropReason::Ttl, seen, dst, why);
            }
            ttl -= hops;
        }
        self.cross_core(id, core, t_up, Stage::Edge(None), seen, dst, ttl, data);
    }

    /// Crosses the LAN or the internet (loss, delay, per-flow FIFO) and queues the arrival.
    #[allow(clippy::too_many_arguments)]
    fn cross_core(
        &mut self,
        id: u64,
        core: Link,
        start: Instant,
        stage: Stage,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        ttl: u32,
        data: Vec<u8>,
    ) {
        if self.rng.chance(core.loss) {
            return self.drop_at(start, id, DropReason::Loss, src, dst, "core");
        }
        if self.flows.len() >= FLOW_PRUNE_AT {
            let now = self.now();
            self.flows.retain(|_, t| *t > now);
        }
        let mut last = self.flows.get(&(src, dst)).copied().unwrap_or(start);
        let at = exit(&mut self.rng, &core, start, &mut last);
        if !core.reorder {
            self.flows.insert((src, dst), last);
        }
        self.enqueue(at, id, stage, src, dst, ttl, data);
    }

    #[allow(clippy::too_many_arguments)]
    fn enqueue(
        &mut self,
        at: Instant,
        id: u64,
        stage: Stage,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        ttl: u32,
        data: Vec<u8>,
    ) {
        let seq = self.seq;
        self.seq += 1;
        self.queue.push(Packet {
            at,
            seq,
            id,
            stage,
            src,
            dst,
            ttl,
            data,
        });
    }

    fn drop_at(
        &mut self,
        at: Instant,
        id: u64,
        reason: DropReason,
        from: SocketAddrV4,
        to: SocketAddrV4,
        detail: &'static str,
    ) {
        self.counters.count_drop(reason);
        let kind = TraceKind::Dropped {
            reason,
            from,
            to,
            detail,
        };
        self.log(at, id, kind);
    }

    /// When the next queued datagram reaches its next stage (an edge or a host). Popping at
    /// that time may yield nothing (it was filtered, say): call [`Net::pop_due`] until `None`.
    pub fn next_delivery_time(&self) -> Option<Instant> {
        self.queue.peek().map(|p| p.at)
    }

    /// Advances the clock to `now` and returns the next datagram that has reached a host by
    /// then, running the routers and NATs it passes on the way (each at its own arrival time).
    /// `None`: nothing more is due by `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Delivery> {
        self.advance_to(now);
        while self.queue.peek().is_some_and(|p| p.at <= now) {
            let p = self.queue.pop().expect("peeked");
            match p.stage {
                Stage::Edge(lan) => self.at_edge(p, lan),
                Stage::Host(host, port) => {
                    if let Some(d) = self.at_host(p, host, port) {
                        return Some(d);
                    }
                }
            }
        }
        None
    }

    /// The datagram reaches the receiving side's router: route it, run the NAT's filter.
    fn at_edge(&mut self, mut p: Packet, lan: Option<HostId>) {
        if let Some(h) = lan {
            let port = p.dst.port();
            return self.downlink(p, h, port);
        }
        let (at, id, src, dst) = (p.at, p.id, p.src, p.dst);
        let nat = match self.routes.get(dst.ip()).copied() {
            None => return self.drop_at(at, id, DropReason::NoRoute, src, dst, "no such address"),
            Some(Route::Host(h)) => return self.downlink(p, h, dst.port()),
            Some(Route::Firewalled(n) | Route::Nat(n)) => n,
        };
        if p.ttl <= 1 {
            let why = "expired at the receiver's NAT";
            return self.drop_at(at, id, DropReason::Ttl, src, dst, why);
        }
        p.ttl -= 1;
        match self.nats[nat.0].state.inbound(dst, src, at) {
            Err(why) => self.drop_at(at, id, DropReason::Filtered, src, dst, why),
            Ok(internal) => {
                let host = *self.nats[nat.0]
                    .lan
                    .get(internal.ip())
                    .expect("a NAT maps only to hosts on its LAN");
                self.downlink(p, host, internal.port())
            }
        }
    }

    /// Down the receiving host's access link.
    fn downlink(&mut self, p: Packet, host: HostId, port: u16) {
        let link = self.hosts[host.0].cfg.link;
        if self.rng.chance(link.loss) {
            let to = SocketAddrV4::new(self.hosts[host.0].cfg.ip, port);
            return self.drop_at(p.at, p.id, DropReason::Loss, p.src, to, "receiver's link");
        }
        let mut last = self.hosts[host.0].last_down;
        let at = exit(&mut self.rng, &link, p.at, &mut last);
        self.hosts[host.0].last_down = last;
        self.enqueue(
            at,
            p.id,
            Stage::Host(host, port),
            p.src,
            p.dst,
            p.ttl,
            p.data,
        );
    }

    fn at_host(&mut self, p: Packet, host: HostId, port: u16) -> Option<Delivery> {
        let h = &mut self.hosts[host.0];
        if !h.any_port && !h.ports.contains(&port) {
            let to = SocketAddrV4::new(h.cfg.ip, port);
            self.drop_at(
                p.at,
                p.id,
                DropReason::NoListener,
                p.src,
                to,
                "port not bound",
            );
            return None;
        }
        h.counters.received += 1;
        self.counters.delivered += 1;
        let kind = TraceKind::Delivered {
            host,
            port,
            from: p.src,
            len: p.data.len(),
        };
        self.log(p.at, p.id, kind);
        Some(Delivery {
            host,
            dst_port: port,
            from: p.src,
            data: p.data,
            at: p.at,
        })
    }
}
