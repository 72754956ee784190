//! Tokio driver: one task per UDP socket owns the receive loop and the timers of every stream on
//! it; streams are demultiplexed by the receiver id in the header (`process_packet`). Datagrams
//! that are not for a known stream go to an optional "foreign" handler (dht-rpc sharing).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::header::Header;
use crate::stream::{Stream, StreamEvent};
use crate::udp::OwnSocket;
use crate::UdxError;
use hyperdht_udp::RecvBuffers;

mod handle;
mod relay;
mod supervisor;
mod udx_stream;

pub use handle::UdxStreamRef;
pub use relay::EarlyHook;

/// Takes each UDX message of a stream as it arrives, on the socket's driver with the stream
/// locked ([`UdxStream::on_message`]): it must not call back into the stream.
pub type MessageHook = Box<dyn FnMut(Vec<u8>) + Send>;
pub use udx_stream::UdxStream;

/// The IP TTL datagrams go out with unless a send asks otherwise.
const DEFAULT_TTL: u32 = 64;
/// Receive batches processed back to back before the driver looks at timers again.
const MAX_BATCHES_PER_TURN: usize = 16;

/// Decides whether an unconnected stream accepts its first packet (see [`UdxSocket::accept`]).
pub type Firewall = Box<dyn FnMut(SocketAddr) -> Option<(u32, SocketAddr)> + Send>;

struct Inner {
    /// the socket the stream lives on: its datagrams go out through this socket's transport and
    /// its timers run on this socket's driver ([`UdxStreamRef::move_to`] changes it)
    home: Arc<SocketInner>,
    stream: Stream,
    firewall: Option<Firewall>,
    remote: Option<SocketAddr>,
    eof: bool,
    error: Option<UdxError>,
    closed: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    /// tasks waiting for a change of state (`poll_state`: connected, heard on a new path)
    state_wakers: Vec<Waker>,
    messages: VecDeque<Vec<u8>>,
    /// the task waiting in [`UdxStream::poll_message`]
    message_waker: Option<Waker>,
    /// tasks waiting for the close alone (`closed()`, `close_reason()`: long-lived, so not
    /// among `state_wakers`, which every datagram of a connected stream wakes)
    close_wakers: Vec<Waker>,
    /// takes every UDX message as it arrives instead of `messages` (`UdxStream::on_message`)
    message_hook: Option<MessageHook>,
    /// datagrams for a reserved stream that arrived before it knew its peer
    early: VecDeque<(SocketAddr, Vec<u8>)>,
    /// relaying, the early hook, upgrade confirmation (`relay.rs`)
    ext: relay::Extras,
}

/// Datagrams a reserved stream keeps until it is connected (more are dropped; UDX retransmits).
const EARLY_DATAGRAMS: usize = 16;

type Shared = Arc<Mutex<Inner>>;

fn lock(s: &Shared) -> MutexGuard<'_, Inner> {
    match s.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

pub type ForeignHandler = Box<dyn FnMut(SocketAddr, &[u8]) + Send>;

/// Where a UDX socket's datagrams go out. Implemented for an owned UDP socket, and by the
/// dht-rpc layer so UDX streams can share the DHT's sockets (`05-udx.md` §2).
pub trait Transport: Send + Sync + 'static {
    fn send(&self, to: SocketAddr, data: &[u8]);

    /// Sends the datagrams laid out back to back in `data`: each `segment_size` bytes long
    /// except possibly the last (the UDP GSO layout). At most [`Transport::max_segments`]
    /// datagrams per call. The default sends them one by one through [`Transport::send`].
    fn send_batch(&self, to: SocketAddr, data: &[u8], segment_size: usize) {
        for d in data.chunks(segment_size.max(1)) {
            self.send(to, d);
        }
    }

    /// How many datagrams one [`Transport::send_batch`] call may carry (1 = no batching).
    fn max_segments(&self) -> usize {
        1
    }
}

struct SocketInner {
    transport: Arc<dyn Transport>,
    own: Option<Arc<OwnSocket>>,
    streams: Mutex<HashMap<u32, Shared>>,
    /// streams that moved to another socket ([`UdxStreamRef::move_to`]) and still take their
    /// datagrams here: the peer's packets in flight on the old path (libudx retransmits a
    /// packet to the address it was first sent to) must reach them, as udx-native demuxes by
    /// id across all sockets. Forgotten once the stream closes.
    moved: Mutex<HashMap<u32, std::sync::Weak<Mutex<Inner>>>>,
    notify: Notify,
    foreign: Mutex<Option<ForeignHandler>>,
    /// set by [`UdxSocket::close`]; the driver task exits on its next turn
    closing: AtomicBool,
    /// streams fed by [`UdxSocket::feed_deferred`] since the last [`UdxSocket::flush_fed`]
    fed: Mutex<Vec<Shared>>,
    /// set when the driver panicked (socket/supervisor.rs): new streams start closed
    failed: AtomicBool,
    /// test hook ([`UdxSocket::inject_driver_panic`])
    panic_next: AtomicBool,
    /// When the sleeping driver wakes up next, in nanoseconds since `epoch` (`u64::MAX` while
    /// it is awake and re-reading its streams). A write or a fed batch wakes the driver only
    /// when it armed a timer earlier than that: an echo's every write used to wake it (a
    /// futex wake plus an eventfd write per message) to learn of an RTO it would have
    /// found anyway on its next turn.
    wakes_at: AtomicU64,
    epoch: std::time::Instant,
}

impl SocketInner {
    /// Where its own UDP socket is bound (a socket on an external transport has none here).
    fn local_addr(&self) -> io::Result<SocketAddr> {
        match &self.own {
            Some(s) => s.io.local_addr(),
            None => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "UDX socket uses an external transport",
            )),
        }
    }

    fn new(transport: Arc<dyn Transport>, own: Option<Arc<OwnSocket>>) -> Arc<Self> {
        Arc::new(SocketInner {
            transport,
            own,
            streams: Mutex::new(HashMap::new()),
            moved: Mutex::new(HashMap::new()),
            notify: Notify::new(),
            foreign: Mutex::new(None),
            closing: AtomicBool::new(false),
            fed: Mutex::new(Vec::new()),
            failed: AtomicBool::new(false),
            panic_next: AtomicBool::new(false),
            wakes_at: AtomicU64::new(u64::MAX),
            epoch: Instant::now().into_std(),
        })
    }

    fn nanos(&self, t: std::time::Instant) -> u64 {
        let d = t.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(d).unwrap_or(u64::MAX - 1)
    }

    /// Wakes the driver if `deadline` (a stream's next timer) is earlier than its planned
    /// wake-up, or if it is awake computing it (then the permit makes it look again).
    fn wake_for(&self, deadline: Option<std::time::Instant>) {
        let Some(t) = deadline else { return };
        if self.nanos(t) < self.wakes_at.load(Ordering::SeqCst) {
            self.notify.notify_one();
        }
    }

    fn stream(&self, id: u32) -> Option<Shared> {
        if let Some(s) = self.streams.lock().ok().and_then(|m| m.get(&id).cloned()) {
            return Some(s);
        }
        self.moved_stream(id)
    }

    /// A stream that moved away but still takes its datagrams here (see `moved`).
    fn moved_stream(&self, id: u32) -> Option<Shared> {
        let mut m = self.moved.lock().ok()?;
        let live = m.get(&id)?.upgrade().filter(|s| !lock(s).closed);
        if live.is_none() {
            m.remove(&id);
        }
        live
    }

    fn foreign(&self, from: SocketAddr, d: &[u8]) {
        if let Ok(mut f) = self.foreign.lock() {
            if let Some(f) = f.as_mut() {
                f(from, d);
            }
        }
    }
}

/// A UDP socket carrying UDX streams.
#[derive(Clone)]
pub struct UdxSocket {
    inner: Arc<SocketInner>,
}

impl UdxSocket {
    /// Binds and spawns the driver task (requires a tokio runtime).
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let domain = if addr.is_ipv4() {
            socket2::Domain::IPV4
        } else {
            socket2::Domain::IPV6
        };
        let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
        s.set_nonblocking(true)?;
        let _ = s.set_recv_buffer_size(4 << 20);
        let _ = s.set_send_buffer_size(4 << 20);
        s.bind(&addr.into())?;
        let sock = Arc::new(UdpSocket::from_std(s.into())?);
        let own = Arc::new(OwnSocket::new(sock)?);
        let inner = SocketInner::new(own.clone(), Some(own));
        supervisor::spawn_driver(inner.clone());
        Ok(UdxSocket { inner })
    }

    /// A UDX endpoint on a socket owned by someone else (the DHT): datagrams go out through
    /// `transport`, and the owner hands received datagrams to [`UdxSocket::feed`]. A driver task
    /// still runs the streams' timers (requires a tokio runtime).
    pub fn with_transport(transport: Arc<dyn Transport>) -> Self {
        let inner = SocketInner::new(transport, None);
        supervisor::spawn_driver(inner.clone());
        UdxSocket { inner }
    }

    /// Feeds a datagram received by the socket owner. Returns false if it is not for one of our
    /// streams (so the owner can treat it as its own traffic).
    pub fn feed(&self, from: SocketAddr, d: &[u8]) -> bool {
        let ours = self.feed_deferred(from, d);
        if ours {
            self.flush_fed();
        }
        ours
    }

    /// Like [`UdxSocket::feed`] without the flush: the owner feeds a whole received batch, then
    /// calls [`UdxSocket::flush_fed`] once, so each stream ACKs and sends once per batch (as
    /// on an owned socket) instead of once per datagram.
    pub fn feed_deferred(&self, from: SocketAddr, d: &[u8]) -> bool {
        let target = Header::peek_id(d).and_then(|id| self.inner.stream(id));
        let Some(s) = target else { return false };
        let fwd = deliver(&mut lock(&s), from, d);
        if !fwd.is_empty() {
            relay_out(&self.inner, &s, fwd);
        }
        if let Ok(mut fed) = self.inner.fed.lock() {
            if !fed.iter().any(|t| Arc::ptr_eq(t, &s)) {
                fed.push(s);
            }
        }
        true
    }

    /// Wakes the readers (and writers, and state waiters) of the streams fed since the last
    /// [`UdxSocket::flush_fed`], without sending anything yet: a reader that runs before the
    /// flush and answers at once (a request/response protocol on the JS thread, issue 16)
    /// sends its reply carrying the ACK, instead of a bare ACK followed by the reply (as
    /// libudx, whose ACKs go out after the JS callbacks of the same poll turn).
    pub fn dispatch_fed(&self) {
        let Ok(fed) = self.inner.fed.lock() else {
            return;
        };
        for s in fed.iter() {
            dispatch(&mut lock(s));
        }
    }

    /// Flushes the streams fed since the last call (see [`UdxSocket::feed_deferred`]).
    pub fn flush_fed(&self) {
        let Ok(mut fed) = self.inner.fed.lock() else {
            return;
        };
        if fed.is_empty() {
            return;
        }
        // lock order fed -> stream; feed_deferred never holds both
        let mut earliest: Option<std::time::Instant> = None;
        let mut closed = false;
        for s in fed.drain(..) {
            let mut g = lock(&s);
            flush(&mut g);
            closed |= g.closed;
            if let Some(t) = g.stream.poll_timeout() {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        }
        drop(fed);
        if closed {
            // the driver forgets closed streams (and re-reads their linger) on its turns
            self.inner.notify.notify_one();
        } else {
            self.inner.wake_for(earliest);
        }
    }

    /// Destroys every stream (each sends DESTROY and closes with [`UdxError::Destroyed`]) and
    /// stops the driver task. Idempotent.
    pub fn close(&self) {
        self.inner.closing.store(true, Ordering::Release);
        let streams: Vec<Shared> = match self.inner.streams.lock() {
            Ok(mut m) => m.drain().map(|(_, v)| v).collect(),
            Err(_) => Vec::new(),
        };
        for s in streams {
            let mut g = lock(&s);
            g.stream.destroy();
            flush(&mut g);
        }
        self.inner.notify.notify_one();
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sends one raw datagram (a holepunch probe) from an owned socket with IP TTL `ttl` for
    /// this datagram only; a full send buffer drops it (probes are repeated). No-op on an
    /// external transport.
    pub fn send_raw_ttl(&self, to: SocketAddr, data: &[u8], ttl: u32) {
        let Some(own) = &self.inner.own else { return };
        // straight to the kernel: tokio's `try_send_to` refuses (WouldBlock, no syscall) until
        // the reactor has seen the socket writable, which drops the first probes of a fresh
        // socket (a birthday burst of new pool sockets made no NAT mappings at all)
        let sock = socket2::SockRef::from(&*own.io);
        let _ = sock.set_ttl(ttl);
        let _ = sock.send_to(data, &to.into());
        let _ = sock.set_ttl(DEFAULT_TTL);
    }

    /// Datagrams that are not for one of our streams (e.g. dht-rpc frames, holepunch probes).
    pub fn set_foreign_handler(&self, f: ForeignHandler) {
        if let Ok(mut g) = self.inner.foreign.lock() {
            *g = Some(f);
        }
    }

    /// Creates a stream with our id `local_id` and connects it to `remote_id` at `remote`.
    pub fn connect(&self, local_id: u32, remote_id: u32, remote: SocketAddr) -> UdxStream {
        let mut stream = Stream::new(local_id);
        stream.set_ipv6(remote.is_ipv6());
        stream.connect(remote_id, Instant::now().into_std());
        self.add(stream, Some(remote), None)
    }

    /// [`UdxSocket::connect`] to an address nobody proved to own yet: until a datagram for
    /// the stream arrives it sends at most `budget` datagrams ([`Stream::limit_until_verified`]).
    pub fn connect_unverified(
        &self,
        local_id: u32,
        remote_id: u32,
        remote: SocketAddr,
        budget: usize,
    ) -> UdxStream {
        let mut stream = Stream::new(local_id);
        stream.set_ipv6(remote.is_ipv6());
        stream.limit_until_verified(budget);
        stream.connect(remote_id, Instant::now().into_std());
        self.add(stream, Some(remote), None)
    }

    /// Test hook: makes the driver task panic on its next turn, to exercise supervision (every
    /// stream then closes with [`UdxError::DriverFailed`]).
    #[doc(hidden)]
    pub fn inject_driver_panic(&self) {
        supervisor::inject_panic(&self.inner);
    }

    /// Streams registered on this socket (connected, reserved, accepted or lingering).
    pub fn stream_count(&self) -> usize {
        self.inner.streams.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// An unconnected stream (`udx_stream_firewall`): the first packet for `local_id` calls
    /// `firewall(from)`; returning `Some((remote_id, addr))` connects the stream right there and the
    /// packet is processed as its first one, `None` drops it.
    pub fn accept(&self, local_id: u32, firewall: Firewall) -> UdxStream {
        self.add(Stream::new(local_id), None, Some(firewall))
    }

    /// A stream whose peer is not known yet (hyperdht's client creates its raw stream before the
    /// handshake): datagrams arriving for `local_id` are kept (up to 16) until
    /// [`UdxStream::connect`] or [`UdxStream::set_firewall`] decides where it goes, so a server
    /// that writes right after answering the handshake is not dropped into a retransmit wait.
    pub fn reserve(&self, local_id: u32) -> UdxStream {
        self.add(Stream::new(local_id), None, None)
    }

    /// Like [`UdxSocket::reserve`], but only if no stream on this socket has `local_id` yet
    /// (hyperdht `lib/raw-stream-set.js` rolls ids until one is free); `None` if taken.
    pub fn try_reserve(&self, local_id: u32) -> Option<UdxStream> {
        let shared = new_shared(&self.inner, Stream::new(local_id), None, None);
        {
            if self.inner.moved_stream(local_id).is_some() {
                return None;
            }
            let mut m = self.inner.streams.lock().ok()?;
            if m.contains_key(&local_id) {
                return None;
            }
            m.insert(local_id, shared.clone());
        }
        self.inner.notify.notify_one();
        Some(UdxStream { shared })
    }

    fn add(
        &self,
        stream: Stream,
        remote: Option<SocketAddr>,
        firewall: Option<Firewall>,
    ) -> UdxStream {
        let local_id = stream.local_id;
        let shared = new_shared(&self.inner, stream, remote, firewall);
        if self.inner.failed.load(Ordering::Acquire) {
            supervisor::fail_stream(&mut lock(&shared));
        }
        if let Ok(mut m) = self.inner.streams.lock() {
            m.insert(local_id, shared.clone());
        }
        self.inner.notify.notify_one();
        UdxStream { shared }
    }
}

fn new_shared(
    home: &Arc<SocketInner>,
    stream: Stream,
    remote: Option<SocketAddr>,
    firewall: Option<Firewall>,
) -> Shared {
    Arc::new(Mutex::new(Inner {
        home: home.clone(),
        stream,
        firewall,
        remote,
        eof: false,
        error: None,
        closed: false,
        read_waker: None,
        write_waker: None,
        state_wakers: Vec::new(),
        messages: VecDeque::new(),
        message_waker: None,
        close_wakers: Vec::new(),
        message_hook: None,
        early: VecDeque::new(),
        ext: relay::Extras::default(),
    }))
}

async fn run(inner: Arc<SocketInner>) {
    let mut bufs = inner.own.as_ref().map(|o| o.recv_buffers());
    let mut touched: Vec<Shared> = Vec::new();
    loop {
        if inner.closing.load(Ordering::Acquire) {
            return;
        }
        if inner.panic_next.swap(false, Ordering::Relaxed) {
            panic!("injected UDX driver panic (test hook)");
        }
        // flush every stream and find the next deadline (writers that arm a timer meanwhile
        // wake us: `wakes_at` is unknown until stored below)
        inner.wakes_at.store(u64::MAX, Ordering::SeqCst);
        let streams: Vec<(u32, Shared)> = match inner.streams.lock() {
            Ok(m) => m.iter().map(|(k, v)| (*k, v.clone())).collect(),
            Err(_) => return,
        };
        let mut deadline: Option<Instant> = None;
        let mut dead = Vec::new();
        for (id, s) in &streams {
            let mut g = lock(s);
            flush(&mut g);
            if g.closed && !g.stream.is_lingering() {
                dead.push((*id, s.clone()));
                continue;
            }
            if let Some(t) = g.stream.poll_timeout() {
                let t = Instant::from_std(t);
                deadline = Some(deadline.map_or(t, |d| d.min(t)));
            }
        }
        if !dead.is_empty() {
            if let Ok(mut m) = inner.streams.lock() {
                // (only if the id is still this stream's: it may have moved to another socket
                // and its id been taken here since)
                for (id, s) in dead {
                    if m.get(&id).is_some_and(|t| Arc::ptr_eq(t, &s)) {
                        m.remove(&id);
                    }
                }
            }
        }
        drop(streams);
        let sleep = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        inner
            .wakes_at
            .store(inner.nanos(sleep.into_std()), Ordering::SeqCst);
        let own = inner.own.clone();
        tokio::select! {
            r = async {
                match (&own, bufs.as_mut()) {
                    (Some(s), Some(b)) => s.recv(b).await,
                    _ => std::future::pending().await,
                }
            } => {
                let (Ok(n), Some(own), Some(b)) = (r, own.as_ref(), bufs.as_mut()) else { continue };
                process_batch(&inner, b, n, &mut touched);
                // more datagrams are usually queued: drain without going back through select!
                for _ in 1..MAX_BATCHES_PER_TURN {
                    let Ok(n) = own.try_recv(b) else { break };
                    process_batch(&inner, b, n, &mut touched);
                }
            }
            _ = inner.notify.notified() => {}
            _ = tokio::time::sleep_until(sleep) => {
                let now = Instant::now().into_std();
                let streams: Vec<Shared> = match inner.streams.lock() {
                    Ok(m) => m.values().cloned().collect(),
                    Err(_) => return,
                };
                for s in &streams {
                    lock(s).stream.handle_timeout(now);
                }
            }
        }
    }
}

/// Delivers a received batch, then flushes each stream it touched once: one ACK (and one
/// round of GSO sends, one reader wake-up) per stream per batch instead of per datagram.
fn process_batch(inner: &SocketInner, bufs: &RecvBuffers, n: usize, touched: &mut Vec<Shared>) {
    let mut last: Option<(u32, Shared)> = None;
    for (from, d) in bufs.datagrams(n) {
        let Some(id) = Header::peek_id(d) else {
            inner.foreign(from, d);
            continue;
        };
        let s = match &last {
            Some((lid, s)) if *lid == id => s.clone(),
            _ => match inner.stream(id) {
                Some(s) => {
                    if !touched.iter().any(|t| Arc::ptr_eq(t, &s)) {
                        touched.push(s.clone());
                    }
                    last = Some((id, s.clone()));
                    s
                }
                None => {
                    inner.foreign(from, d);
                    continue;
                }
            },
        };
        let fwd = deliver(&mut lock(&s), from, d);
        if !fwd.is_empty() {
            relay_out(inner, &s, fwd);
        }
    }
    for s in touched.drain(..) {
        flush(&mut lock(&s));
    }
}

/// Delivers a datagram to a stream, running the firewall hook while it is unconnected; a
/// relaying stream returns it to be forwarded instead.
fn deliver(g: &mut Inner, from: SocketAddr, d: &[u8]) -> Vec<relay::Forward> {
    let mut out = Vec::new();
    if !g.stream.is_connected() {
        let verdict = g.firewall.as_mut().and_then(|f| f(from));
        let Some((remote_id, addr)) = verdict else {
            if g.firewall.is_none() && g.early.len() < EARLY_DATAGRAMS {
                g.early.push_back((from, d.to_vec()));
                g.ext.kept(from);
            }
            return out;
        };
        out = connect_locked(g, remote_id, addr);
    }
    if let Some(fwd) = g.ext.forward(d) {
        out.extend(fwd);
        return out;
    }
    if g.remote == Some(from) {
        if !g.ext.heard_remote {
            g.ext.heard_remote = true;
            for w in g.state_wakers.drain(..) {
                w.wake();
            }
        }
        if g.ext.change_seq.is_some() {
            // after a remote change: the lowest sequence number the peer sent on the new path
            // (what it sent below it went, and is retransmitted, through the old one)
            if let Some(seq) = Header::peek_seq(d) {
                let low = g.ext.new_path_seq.map_or(seq, |s| {
                    if crate::header::seq_lt(seq, s) {
                        seq
                    } else {
                        s
                    }
                });
                g.ext.new_path_seq = Some(low);
            }
        }
    } else {
        g.ext.last_stray = Some((from, Header::peek_seq(d)));
        g.ext.stray(from);
    }
    g.stream.handle_datagram(d, Instant::now().into_std());
    out
}

/// Sends relayed datagrams; a DESTROY passing through closes both relay streams.
fn relay_out(inner: &SocketInner, s: &Shared, fwd: Vec<relay::Forward>) {
    for f in fwd {
        relay_one(inner, s, f);
    }
}

fn relay_one(inner: &SocketInner, s: &Shared, f: relay::Forward) {
    inner.transport.send(f.to, &f.data);
    if let Some(dest) = f.closes {
        for s in [Some(s.clone()), inner.stream(dest)].into_iter().flatten() {
            let mut g = lock(&s);
            g.stream.destroy();
            flush(&mut g);
        }
        inner.notify.notify_one();
    }
}

/// Connects an unconnected stream and processes the datagrams it kept meanwhile.
fn connect_locked(g: &mut Inner, remote_id: u32, addr: SocketAddr) -> Vec<relay::Forward> {
    let now = Instant::now().into_std();
    g.firewall = None;
    g.remote = Some(addr);
    // datagrams relayed to this stream before it knew its peer go out now
    let mut out = g.ext.set_peer(remote_id, addr);
    g.stream.set_ipv6(addr.is_ipv6());
    g.stream.connect(remote_id, now);
    let early = std::mem::take(&mut g.early);
    if g.ext.relay_to.is_some() {
        // a relaying stream never processes datagrams itself, the kept ones included
        out.extend(early.iter().filter_map(|(_, d)| g.ext.forward(d).flatten()));
        return out;
    }
    for (_, d) in early {
        g.stream.handle_datagram(&d, now);
    }
    out
}

/// Sends what the stream produced (through its home socket) and moves its events to the
/// reader/writer side.
fn flush(g: &mut Inner) {
    let Inner {
        home,
        stream,
        remote,
        ..
    } = g;
    let transport = &*home.transport;
    let max = transport.max_segments();
    stream.drain_transmit(max, |data, seg| {
        if let Some(to) = *remote {
            transport.send_batch(to, data, seg);
        }
    });
    dispatch(g);
}

/// Moves the stream's events to the reader/writer side and wakes them.
fn dispatch(g: &mut Inner) {
    let mut wake_read = g.stream.take_readable();
    let mut wake_write = false;
    while let Some(ev) = g.stream.poll_event() {
        match ev {
            StreamEvent::End => {
                g.eof = true;
                wake_read = true;
            }
            StreamEvent::Message(m) => {
                if let Some(hook) = g.message_hook.as_mut() {
                    hook(m);
                    continue;
                }
                if g.messages.len() < 1024 {
                    g.messages.push_back(m);
                }
                if let Some(w) = g.message_waker.take() {
                    w.wake();
                }
            }
            StreamEvent::Drain => wake_write = true,
            StreamEvent::Close(err) => {
                g.closed = true;
                g.error = err;
                wake_read = true;
                wake_write = true;
                for w in g.close_wakers.drain(..) {
                    w.wake();
                }
                if let Some(w) = g.message_waker.take() {
                    w.wake();
                }
            }
        }
    }
    if wake_read {
        if let Some(w) = g.read_waker.take() {
            w.wake();
        }
    }
    if wake_write {
        if let Some(w) = g.write_waker.take() {
            w.wake();
        }
    }
    if !g.state_wakers.is_empty() && (g.closed || g.stream.is_connected()) {
        for w in g.state_wakers.drain(..) {
            w.wake();
        }
    }
}

/// Ready(true) once `reached` holds, Ready(false) once the stream closed first; else the task
/// of `cx` is woken on the next change of state.
fn poll_state(g: &mut Inner, cx: &Context<'_>, reached: impl Fn(&Inner) -> bool) -> Poll<bool> {
    if reached(g) {
        return Poll::Ready(true);
    }
    if g.closed {
        return Poll::Ready(false);
    }
    wait_state(g, cx);
    Poll::Pending
}

/// Registers the task of `cx` to be woken when the stream closes (only then).
fn wait_close(g: &mut Inner, cx: &Context<'_>) {
    if !g.close_wakers.iter().any(|w| w.will_wake(cx.waker())) {
        g.close_wakers.push(cx.waker().clone());
    }
}

/// Registers the task of `cx` to be woken when the stream connects or closes.
fn wait_state(g: &mut Inner, cx: &Context<'_>) {
    if !g.state_wakers.iter().any(|w| w.will_wake(cx.waker())) {
        g.state_wakers.push(cx.waker().clone());
    }
}
