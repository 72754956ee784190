//! The driver task: UDP sockets, the receive/send/timer loop, and event routing
//! (`dht-rpc lib/io.js: _bindSockets`, `onmessage`).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Dht, DhtEvent, Foreign, QueryEvent, Shared, State, DEFAULT_TTL, HANDLER_TAG};
use crate::messages::MAX_DATAGRAM;
use crate::node::{Event, Reply, SocketKind};
use hyperdht_udp::{RecvBackoff, RecvBuffers};

/// Receive batches handled back to back before the driver looks at its timers again.
const MAX_BATCHES_PER_TURN: usize = 16;

pub(super) fn bind_udp(host: Ipv4Addr, port: u16) -> std::io::Result<UdpSocket> {
    let s = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    s.set_nonblocking(true)?;
    // larger buffers absorb bursts of replies during queries
    let _ = s.set_recv_buffer_size(1 << 20);
    let _ = s.set_send_buffer_size(1 << 20);
    s.bind(&SocketAddr::V4(SocketAddrV4::new(host, port)).into())?;
    UdpSocket::from_std(s.into())
}

pub(super) fn local_v4(s: &UdpSocket) -> SocketAddrV4 {
    match s.local_addr() {
        Ok(SocketAddr::V4(a)) => a,
        _ => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
    }
}

/// Resolves bootstrap entries like `DHT._resolveBootstrapNodes`: `ip:port`; `hostname:port`
/// (DNS, skipped when it fails); `suggestedIP@hostname:port`: the suggested IP if it answers a
/// PING, else the DNS result for the host name.
pub(super) async fn resolve_bootstrap(dht: &Dht, list: &[String]) -> Vec<SocketAddrV4> {
    let mut out = Vec::new();
    for entry in list {
        let Some((mut host, port)) = entry.rsplit_once(':') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        if let Some((suggested, fallback)) = host.split_once('@') {
            if let Ok(ip) = suggested.parse::<Ipv4Addr>() {
                let addr = SocketAddrV4::new(ip, port);
                if dht.ping(addr).await.is_ok() {
                    out.push(addr);
                    continue;
                }
            }
            host = fallback;
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            out.push(SocketAddrV4::new(ip, port));
            continue;
        }
        let lookup = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::lookup_host((host, port)),
        )
        .await;
        if let Ok(Ok(addrs)) = lookup {
            if let Some(SocketAddr::V4(a)) = addrs.into_iter().find(|a| a.is_ipv4()) {
                out.push(a);
            }
        }
    }
    out
}

pub(super) fn socket_index(s: SocketKind) -> usize {
    match s {
        SocketKind::Server => 0,
        SocketKind::Client => 1,
    }
}

/// Routes node events to their consumers. Called with the state locked. Returns whether a
/// query consumer got an event (and so has a task to run).
pub(super) fn process_events(st: &mut State) -> bool {
    let mut to_queries = false;
    while let Some(ev) = st.node.poll_event() {
        match ev {
            Event::Request(req) => {
                let handled = match st.handler.as_mut() {
                    Some(h) => h.on_request(req.clone(), &mut st.node),
                    None => false,
                };
                let handled = handled || st.unhandled.as_mut().is_some_and(|h| h(&req));
                if !handled {
                    st.node.reply(
                        &req,
                        Reply::error(crate::messages::error_code::UNKNOWN_COMMAND),
                    );
                }
            }
            Event::Response { req, result } => {
                if req & HANDLER_TAG != 0 || st.handler_requests.remove(&req) {
                    if let Some(h) = st.handler.as_mut() {
                        h.on_response(req, result, &mut st.node);
                    }
                } else if let Some(tx) = st.requests.remove(&req) {
                    let _ = tx.send(result);
                }
            }
            Event::QueryReply { query, reply } if handler_owns(st, query) => {
                if let Some(h) = st.handler.as_mut() {
                    h.on_query_event(query, QueryEvent::Reply(reply), &mut st.node);
                }
            }
            Event::QueryDone {
                query,
                closest,
                error,
            } if handler_owns(st, query) => {
                if let Some(h) = st.handler.as_mut() {
                    h.on_query_event(query, QueryEvent::Done { closest, error }, &mut st.node);
                }
            }
            Event::QueryReply { query, reply } => {
                // bounded: a consumer that lags by more than QUERY_QUEUE replies loses replies
                if let Some(tx) = st.queries.get(&query) {
                    to_queries = true;
                    if tx.try_send(QueryEvent::Reply(reply)).is_err() {
                        st.dropped_events += 1;
                    }
                }
            }
            Event::QueryDone {
                query,
                closest,
                error,
            } => {
                if let Some(tx) = st.queries.remove(&query) {
                    to_queries = true;
                    // the end must not be lost when the consumer lags: hand it to a task
                    if let Err(mpsc::error::TrySendError::Full(ev)) =
                        tx.try_send(QueryEvent::Done { closest, error })
                    {
                        if let Ok(rt) = tokio::runtime::Handle::try_current() {
                            rt.spawn(async move {
                                let _ = tx.send(ev).await;
                            });
                        }
                    }
                }
            }
            Event::Ready => emit(st, DhtEvent::Ready),
            Event::Persistent => emit(st, DhtEvent::Persistent),
            Event::Ephemeral => emit(st, DhtEvent::Ephemeral),
            Event::Wakeup => emit(st, DhtEvent::Wakeup),
            Event::NatUpdate { host, port } => emit(st, DhtEvent::NatUpdate { host, port }),
            Event::NetworkUpdate { online, degraded } => {
                emit(st, DhtEvent::NetworkUpdate { online, degraded })
            }
            Event::AddNode(e) => super::node_log::push(st, true, e),
            Event::RemoveNode(e) => super::node_log::push(st, false, e),
        }
    }
    to_queries
}

fn handler_owns(st: &State, q: crate::query::QueryId) -> bool {
    st.handler.as_ref().is_some_and(|h| h.owns_query(q))
}

/// The earlier of the node's and the handler's deadlines.
pub(super) fn next_deadline(st: &State) -> Option<std::time::Instant> {
    let h = st.handler.as_ref().and_then(|h| h.poll_timeout());
    match (st.node.poll_timeout(), h) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Timers due at `now`: the node's, then the handler's.
pub(super) fn fire_timers(st: &mut State, now: std::time::Instant) {
    st.node.handle_timeout(now);
    if st
        .handler
        .as_ref()
        .and_then(|h| h.poll_timeout())
        .is_some_and(|t| t <= now)
    {
        if let Some(h) = st.handler.as_mut() {
            h.on_timeout(now, &mut st.node);
        }
    }
}

pub(super) fn emit(st: &mut State, ev: DhtEvent) {
    if st.events.try_send(ev).is_err() {
        st.dropped_events += 1;
    }
}

impl Shared {
    pub(super) fn socket(&self, kind: SocketKind) -> Option<Arc<UdpSocket>> {
        let g = match self.sockets.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.as_ref().map(|s| s[socket_index(kind)].clone())
    }
}

pub(super) async fn run(shared: Arc<Shared>) {
    let Some(sockets) = shared.sockets.read().ok().and_then(|g| g.clone()) else {
        shared.closed.send_replace(true);
        return;
    };
    let [mut server, client] = sockets;
    let mut buf_s = vec![0u8; MAX_DATAGRAM];
    let mut buf_c = vec![0u8; MAX_DATAGRAM];
    // batched receive state, created once batching is enabled (UDX on the server socket)
    let mut batch_bufs: Option<RecvBuffers> = None;
    let mut foreign_flags: Vec<bool> = Vec::new();
    // pacing for sockets that keep failing to receive (one per socket)
    let mut backoff_s = RecvBackoff::default();
    let mut backoff_c = RecvBackoff::default();
    let mut out = Vec::new();
    let mut was_ready = false;
    loop {
        if shared
            .panic_next
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            panic!("injected driver panic (test hook)");
        }
        // what an external receiver (driver/external.rs) left for us; it may have moved the
        // server socket to another reactor
        super::external::process_inbox(&shared);
        if let Some(s) = shared.socket(SocketKind::Server) {
            if !Arc::ptr_eq(&s, &server) {
                server = s;
            }
        }
        let external = shared.external.on.load(std::sync::atomic::Ordering::SeqCst);
        let (sleep_until, destroyed, ready, to_queries) = {
            let mut st = match shared.state.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let to_queries = process_events(&mut st);
            while let Some(t) = st.node.poll_transmit() {
                out.push(t);
            }
            let sleep_until = next_deadline(&st)
                .map(Instant::from_std)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            // the timer armed below, so callers can tell whether they must wake us
            st.driver_wakes_at = Some(sleep_until);
            (
                sleep_until,
                st.node.is_destroyed(),
                st.node.is_bootstrapped(),
                to_queries,
            )
        };
        if ready && !was_ready {
            was_ready = true;
            shared.ready.send_if_modified(|r| {
                if r.is_none() {
                    *r = Some(Ok(()));
                    true
                } else {
                    false
                }
            });
        }
        for t in out.drain(..) {
            shared.io.sent(1, t.data.len());
            let s = match t.socket {
                SocketKind::Server => &server,
                SocketKind::Client => &client,
            };
            if let Some(ttl) = t.ttl {
                let _ = s.set_ttl(ttl);
            }
            if super::external::send_direct(s, &t.data, t.to).is_err()
                && super::external::can_wait(&shared, t.socket)
            {
                let _ = s.send_to(&t.data, SocketAddr::V4(t.to)).await;
            }
            if t.ttl.is_some() {
                let _ = s.set_ttl(DEFAULT_TTL);
            }
        }
        if destroyed {
            break;
        }
        if to_queries {
            // Let the query consumers just woken run before more datagrams are read: while
            // replies keep arriving the receive below never returns Pending, and a reply would
            // wait for the socket to drain (or the coop budget) before reaching its caller.
            tokio::task::yield_now().await;
        }
        tokio::select! {
            _ = server_turn(&shared, &server, &mut buf_s, &mut batch_bufs, &mut foreign_flags, &mut backoff_s), if !external => {}
            r = recv_from(&client, &mut buf_c, &mut backoff_c) => on_datagram(&shared, SocketKind::Client, r, &buf_c),
            _ = shared.notify.notified() => {}
            _ = tokio::time::sleep_until(sleep_until) => {
                let mut st = match shared.state.lock() { Ok(g) => g, Err(p) => p.into_inner() };
                fire_timers(&mut st, Instant::now().into_std());
            }
        }
    }
    // close the sockets and break handler -> Dht reference cycles
    drop((server, client));
    if let Ok(mut g) = shared.sockets.write() {
        *g = None;
    }
    if let Ok(mut g) = shared.foreign.lock() {
        *g = Foreign::default();
    }
    {
        let mut st = match shared.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        st.handler = None;
        st.unhandled = None;
    }
    shared.closed.send_replace(true);
}

fn on_datagram(shared: &Shared, socket: SocketKind, (n, from): (usize, SocketAddr), buf: &[u8]) {
    let SocketAddr::V4(from) = from else {
        return;
    };
    let Some(data) = buf.get(..n) else {
        return;
    };
    shared.io.received(1, n);
    on_received(shared, socket, SocketAddr::V4(from), data);
}

/// A received datagram (counted already): a dht-rpc frame for the node, else the foreign
/// handler's (UDX packets, holepunch probes).
pub(super) fn on_received(shared: &Shared, socket: SocketKind, from: SocketAddr, data: &[u8]) {
    let SocketAddr::V4(from) = from else {
        return;
    };
    let dht_frame = {
        let mut st = match shared.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now().into_std();
        st.node.handle_datagram(socket, from, data, now)
    };
    if !dht_frame {
        let mut g = match shared.foreign.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(f) = g.datagram.as_mut() {
            f(socket, from, data);
        }
        if let Some(f) = g.batch_end.as_mut() {
            f();
        }
    }
}

/// One datagram; receive errors are retried behind `backoff` (they carry nothing to act on).
async fn recv_from(
    sock: &UdpSocket,
    buf: &mut [u8],
    backoff: &mut RecvBackoff,
) -> (usize, SocketAddr) {
    loop {
        match sock.recv_from(buf).await {
            Ok(r) => {
                backoff.succeeded();
                return r;
            }
            Err(_) => backoff.failed().await,
        }
    }
}

/// One receive on the server socket: a single `recv_from`, or with batching on, up to
/// [`MAX_BATCHES_PER_TURN`] `recvmmsg` batches.
async fn server_turn(
    shared: &Shared,
    server: &UdpSocket,
    buf: &mut [u8],
    batch: &mut Option<RecvBuffers>,
    flags: &mut Vec<bool>,
    backoff: &mut RecvBackoff,
) {
    let Some(io) = shared.batch.get() else {
        let r = recv_from(server, buf, backoff).await;
        on_datagram(shared, SocketKind::Server, r, buf);
        return;
    };
    let bufs = batch.get_or_insert_with(|| super::batch::buffers(io));
    if server.readable().await.is_err() {
        return;
    }
    for _ in 0..MAX_BATCHES_PER_TURN {
        match io.try_recv(server, bufs) {
            Ok(n) => {
                backoff.succeeded();
                on_batch(shared, bufs, n, flags);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => {
                backoff.failed().await;
                break;
            }
        }
    }
}

/// A received batch: dht-rpc frames under one node lock, then the rest (UDX packets,
/// holepunch probes) through the foreign handler, then its batch-end hook once.
fn on_batch(shared: &Shared, bufs: &RecvBuffers, n: usize, flags: &mut Vec<bool>) {
    flags.clear();
    {
        let mut st = match shared.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now().into_std();
        let mut bytes = 0;
        for (from, d) in super::batch::datagrams(bufs, n) {
            bytes += d.len();
            flags.push(!st.node.handle_datagram(SocketKind::Server, from, d, now));
        }
        shared.io.received(flags.len() as u64, bytes);
    }
    if !flags.contains(&true) {
        return;
    }
    let mut g = match shared.foreign.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(f) = g.datagram.as_mut() {
        for ((from, d), _) in super::batch::datagrams(bufs, n)
            .zip(flags.iter())
            .filter(|(_, f)| **f)
        {
            f(SocketKind::Server, from, d);
        }
    }
    if let Some(f) = g.batch_end.as_mut() {
        f();
    }
}

/// Takes what the node produced, to be sent with [`send_now`] once the state lock is released
/// (so a worker handling a reply meanwhile does not wait on the lock behind our syscalls).
pub(super) fn take_transmits(st: &mut State) -> Vec<crate::node::Transmit> {
    std::iter::from_fn(|| st.node.poll_transmit()).collect()
}

/// Sends right away from the calling thread (the JS thread for napi callers), instead of
/// waking the driver task first: saves a thread hop per request/query. A full socket buffer
/// falls back to an async send.
pub(super) fn send_now(shared: &Shared, out: Vec<crate::node::Transmit>) {
    if out.is_empty() {
        return;
    }
    let Some(sockets) = shared.sockets.read().ok().and_then(|g| g.clone()) else {
        return;
    };
    for t in out {
        shared.io.sent(1, t.data.len());
        let s = &sockets[socket_index(t.socket)];
        if let Some(ttl) = t.ttl {
            let _ = s.set_ttl(ttl);
        }
        let sent = super::external::send_direct(s, &t.data, t.to).is_ok()
            || !super::external::can_wait(shared, t.socket);
        if t.ttl.is_some() {
            let _ = s.set_ttl(DEFAULT_TTL);
        }
        // a full buffer waits on a task; off a runtime (a synchronous JS call) the datagram is
        // dropped like a lost one (requests are retried)
        if let (false, Ok(rt)) = (sent, tokio::runtime::Handle::try_current()) {
            let s = s.clone();
            rt.spawn(async move {
                let _ = s.send_to(&t.data, SocketAddr::V4(t.to)).await;
            });
        }
    }
}
