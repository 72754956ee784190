//! A driver for sans-IO endpoints on a [`Net`]: it moves datagrams between endpoints and the
//! network and fires endpoint timers, always jumping the virtual clock straight to the next
//! thing that happens.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use crate::net::Net;
use crate::topology::HostId;

/// A datagram an endpoint wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local port it leaves from (its host's address is implied).
    pub src_port: u16,
    pub to: SocketAddrV4,
    pub data: Vec<u8>,
    /// IP TTL for this datagram only; `None` = 64.
    pub ttl: Option<u32>,
}

/// A sans-IO state machine living on one host (say a dht-rpc node with a server and a client
/// socket, or a hyperdht node with its holepunch sockets too).
pub trait Endpoint {
    /// A datagram arrived on `local_port` from `from` (as the network shows it, after NATs).
    /// Every port of the host reaches the endpoint, including ports it never used: the
    /// endpoint decides what a closed port does.
    fn handle_datagram(&mut self, local_port: u16, from: SocketAddrV4, data: &[u8], now: Instant);
    /// Called when the time from [`Endpoint::poll_timeout`] has come (maybe later).
    fn handle_timeout(&mut self, now: Instant);
    /// The next datagram to send, if any (drained after every call into the endpoint).
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// When the endpoint next wants [`Endpoint::handle_timeout`]. A time in the past means
    /// "now".
    fn poll_timeout(&self) -> Option<Instant>;
}

impl<E: Endpoint + ?Sized> Endpoint for Box<E> {
    fn handle_datagram(&mut self, local_port: u16, from: SocketAddrV4, data: &[u8], now: Instant) {
        (**self).handle_datagram(local_port, from, data, now)
    }
    fn handle_timeout(&mut self, now: Instant) {
        (**self).handle_timeout(now)
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        (**self).poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        (**self).poll_timeout()
    }
}

/// Events allowed at one virtual instant before [`World`] declares a livelock.
pub const DEFAULT_EVENT_LIMIT: usize = 100_000;

/// Endpoints on a network. Use `World<MyEndpoint>`, or `World<Box<dyn Endpoint>>` to mix
/// kinds. Between steps, reach endpoints with [`World::endpoint_mut`] (what they queue is sent
/// at the next step, at the current time).
pub struct World<E> {
    net: Net,
    endpoints: Vec<(HostId, E)>,
    by_host: BTreeMap<HostId, usize>,
    event_limit: usize,
    /// events run at the current instant (livelock guard)
    at_instant: usize,
    instant: Instant,
    events: u64,
}

/// What [`World::step`] ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Net(Instant),
    Timer(usize, Instant),
}

impl<E: Endpoint> World<E> {
    pub fn new(net: Net) -> Self {
        let instant = net.now();
        World {
            net,
            endpoints: Vec::new(),
            by_host: BTreeMap::new(),
            event_limit: DEFAULT_EVENT_LIMIT,
            at_instant: 0,
            instant,
            events: 0,
        }
    }

    pub fn net(&self) -> &Net {
        &self.net
    }

    pub fn net_mut(&mut self) -> &mut Net {
        &mut self.net
    }

    pub fn into_net(self) -> Net {
        self.net
    }

    pub fn now(&self) -> Instant {
        self.net.now()
    }

    /// `"seed=N"` for assertion messages.
    pub fn tag(&self) -> String {
        self.net.tag()
    }

    /// Puts `endpoint` on `host` (which then receives on every port) and returns its index.
    /// One endpoint per host: panics if the host has one.
    pub fn add(&mut self, host: HostId, endpoint: E) -> usize {
        assert!(
            host.0 < self.net.host_count(),
            "netsim: no host {host} ({})",
            self.tag()
        );
        if let Some(i) = self.by_host.get(&host) {
            panic!("netsim: host {host} already has endpoint {i}");
        }
        let i = self.endpoints.len();
        self.endpoints.push((host, endpoint));
        self.by_host.insert(host, i);
        self.net.bind_any(host);
        i
    }

    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    pub fn endpoint(&self, i: usize) -> &E {
        &self.endpoints[i].1
    }

    pub fn endpoint_mut(&mut self, i: usize) -> &mut E {
        &mut self.endpoints[i].1
    }

    /// The host endpoint `i` lives on.
    pub fn host(&self, i: usize) -> HostId {
        self.endpoints[i].0
    }

    /// The endpoint on `host`.
    pub fn endpoint_on(&self, host: HostId) -> Option<usize> {
        self.by_host.get(&host).copied()
    }

    /// All endpoints, in index order.
    pub fn endpoints(&self) -> impl Iterator<Item = &E> {
        self.endpoints.iter().map(|(_, e)| e)
    }

    /// Events (deliveries and timer firings) run so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Sets how many events may run at one virtual instant before [`World::step`] panics.
    pub fn set_event_limit(&mut self, limit: usize) {
        self.event_limit = limit;
    }

    fn flush(&mut self, i: usize) {
        let (host, ep) = &mut self.endpoints[i];
        while let Some(t) = ep.poll_transmit() {
            self.net.send(*host, t.src_port, t.to, t.data, t.ttl);
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.endpoints.len() {
            self.flush(i);
        }
    }

    /// The earliest pending thing: the network first, then timers by endpoint index.
    fn next(&self) -> Option<Next> {
        let now = self.now();
        let mut best = self.net.next_delivery_time().map(|t| Next::Net(t.max(now)));
        for (i, (_, ep)) in self.endpoints.iter().enumerate() {
            if let Some(t) = ep.poll_timeout() {
                let t = t.max(now);
                let better = match best {
                    None => true,
                    Some(Next::Net(b) | Next::Timer(_, b)) => t < b,
                };
                if better {
                    best = Some(Next::Timer(i, t));
                }
            }
        }
        best
    }

    /// When the next event will run (after sending whatever endpoints have queued).
    pub fn next_event_time(&mut self) -> Option<Instant> {
        self.flush_all();
        self.next().map(|n| match n {
            Next::Net(t) | Next::Timer(_, t) => t,
        })
    }

    /// Runs the next event (a datagram arriving, or one endpoint's timer), moving the clock to
    /// it. Returns false when nothing at all is pending. Panics (with the seed and the trace)
    /// if more than the event limit run without the clock moving.
    pub fn step(&mut self) -> bool {
        self.flush_all();
        let Some(next) = self.next() else {
            return false;
        };
        let t = match next {
            Next::Net(t) | Next::Timer(_, t) => t,
        };
        self.net.advance_to(t);
        if t > self.instant {
            self.instant = t;
            self.at_instant = 0;
        }
        self.at_instant += 1;
        self.events += 1;
        if self.at_instant > self.event_limit {
            panic!(
                "netsim: did not settle: more than {} events at t={:?} without the clock \
                 moving (livelock: an endpoint keeps sending or asking for a timer now) {}\n{}",
                self.event_limit,
                self.net.elapsed(),
                self.tag(),
                self.net.trace_dump(40)
            );
        }
        match next {
            Next::Net(_) => {
                if let Some(d) = self.net.pop_due(t) {
                    if let Some(&i) = self.by_host.get(&d.host) {
                        let ep = &mut self.endpoints[i].1;
                        ep.handle_datagram(d.dst_port, d.from, &d.data, t);
                        self.flush(i);
                    }
                }
            }
            Next::Timer(i, _) => {
                self.endpoints[i].1.handle_timeout(t);
                self.flush(i);
            }
        }
        true
    }

    /// Runs every event due by `deadline`, then sets the clock to `deadline`.
    pub fn run_until(&mut self, deadline: Instant) {
        while self.next_event_time().is_some_and(|t| t <= deadline) {
            self.step();
        }
        self.net.advance_to(deadline);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let deadline = self.now() + d;
        self.run_until(deadline);
    }

    /// Runs events until `cond` holds (checked before the first and after every event) or
    /// `deadline` passes. Returns whether `cond` held; the clock stops at the event that made
    /// it true, or at `deadline`.
    pub fn run_until_cond(
        &mut self,
        deadline: Instant,
        mut cond: impl FnMut(&mut Self) -> bool,
    ) -> bool {
        loop {
            if cond(self) {
                return true;
            }
            if self.next_event_time().is_none_or(|t| t > deadline) {
                self.net.advance_to(deadline);
                return cond(self);
            }
            self.step();
        }
    }

    /// Runs everything due at the current instant without moving the clock.
    pub fn settle(&mut self) {
        let now = self.now();
        self.run_until(now);
    }
}
