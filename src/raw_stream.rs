//! Raw UDX streams: `dht.createRawStream()` and `DHT.connectRawStream()` (hyperdht `index.js`,
//! `lib/raw-stream-set.js`). A raw stream is a plaintext UDX stream on the DHT's own socket —
//! the one encrypted connections use — exposed to JS like udx-native's `UDXStream`
//! (lib/raw-stream.js), whose object owns one `NativeRawStream`.
//!
//! * `createRawStream()` reserves a fresh stream id on that socket (random, never one a stream
//!   on the socket already has, as `RawStreamSet.add` rolls ids); the stream keeps early
//!   datagrams until it is connected (udx-native would drop them and wait for a retransmit).
//! * `connect(remoteId, host, port, onEvent)` connects it and starts one supervised task that
//!   moves bytes: writes come through a bounded queue (full = JS waits for `drain`), reads pause
//!   when JS's readable buffer is full (`setPaused`) or 4 MiB of `data` has not reached JS yet,
//!   so UDX's receive window slows the peer.
//! * Its events go to `onEvent` (released after the last one): `data`, `end`, `drain`,
//!   `message`, then `close` (with `error` when it failed; EDRIVERFAILED if the task panicked).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use hyperdht_udx::{UdxError, UdxSocket, UdxStream};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, Notify};

use crate::dht::NativeDht;
use crate::events::{JsAddress, Sink};
use crate::flow::{Pushed, ReadFlow, WriteGate};
use crate::live::Live;
use crate::supervise::{spawn_supervised, Tripwire};

/// Bytes read from UDX per `data` event at most.
const READ_CHUNK: usize = 64 * 1024;
/// Tries at finding a free stream id before giving up (each try succeeds with p ≈ 1).
const ID_TRIES: usize = 64;

const TASK_PANICKED: &str = "EDRIVERFAILED: raw stream task panicked";

/// Events of one raw stream.
#[napi(
    discriminant = "type",
    discriminant_case = "kebab-case",
    object_from_js = false
)]
pub enum JsRawStreamEvent {
    Data {
        data: Buffer,
    },
    End,
    Drain,
    /// an unreliable UDX message
    Message {
        data: Buffer,
    },
    /// the last event (`error` when the stream failed)
    Close {
        error: Option<String>,
    },
}

enum RawCmd {
    Write(Vec<u8>),
    End,
}

pub(crate) type RawStreams = Arc<Live<RawCore>>;

/// One raw stream: reserved (no task yet) until `connect`.
pub(crate) struct RawCore {
    /// the id in the node's list
    reg: u64,
    raws: Weak<Live<RawCore>>,
    stream: Arc<Mutex<UdxStream>>,
    /// the task's write queue, once connected
    tx: OnceLock<mpsc::Sender<RawCmd>>,
    /// what `tx` holds, and whether JS waits for `drain`
    gate: WriteGate,
    kill: Notify,
    flow: Arc<ReadFlow>,
    sink: OnceLock<Sink<JsRawStreamEvent>>,
    /// reserved and destroyed (a connected stream's task says when it is gone)
    closed: AtomicBool,
    trip: Tripwire,
    /// `firewall`: where the first datagram's source goes (until connected or destroyed)
    first: Mutex<Option<Arc<Sink<JsAddress>>>>,
}

impl RawCore {
    /// Fast path of `write`: with nothing queued, the stream takes the bytes on the calling (JS)
    /// thread (UDX takes a write whole or, above its high-water mark, not at all), which saves
    /// the thread hop to the task per message (a relay node forwards every message this way).
    fn write_now(&self, data: &[u8]) -> bool {
        if !self.gate.idle() {
            return false;
        }
        match self.stream.try_lock() {
            Ok(mut s) => crate::flow::write_now(&mut *s, data),
            Err(_) => false,
        }
    }
}

fn lock_stream(s: &Mutex<UdxStream>) -> MutexGuard<'_, UdxStream> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh stream id on `udx` and its reserved stream (`RawStreamSet.add`).
fn reserve(udx: &UdxSocket) -> Option<UdxStream> {
    (0..ID_TRIES).find_map(|_| {
        let id = rand::random::<u32>();
        if id == 0 {
            return None;
        }
        udx.try_reserve(id)
    })
}

impl RawCore {
    fn unregister(&self) {
        if let Some(r) = self.raws.upgrade() {
            r.remove(self.reg);
        }
    }

    fn emit(&self, ev: JsRawStreamEvent) {
        if let Some(s) = self.sink.get() {
            s.emit(ev);
        }
    }

    /// The task ended: the stream leaves the node's list, JS gets `close`.
    fn finish(&self, error: Option<String>) {
        self.unregister();
        if let Some(s) = self.sink.get() {
            s.emit_last(JsRawStreamEvent::Close { error });
        }
    }

    /// `destroy()`, or the node going away (hyperdht `rawStreams.clear()`): a connected stream
    /// sends DESTROY and its task emits `close`; a reserved one just closes (no event: JS
    /// already knows).
    pub(crate) fn destroy(&self) {
        self.unwatch();
        if self.tx.get().is_some() {
            self.kill.notify_one();
        } else if !self.closed.swap(true, Ordering::AcqRel) {
            lock_stream(&self.stream).destroy();
            self.unregister();
        }
    }

    /// Stops reporting the first datagram (connected or gone).
    fn unwatch(&self) {
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(s) = first {
            s.close();
        }
    }

    /// `Some` once connected.
    fn connected(&self) -> bool {
        self.tx.get().is_some()
    }
}

#[napi]
pub struct NativeRawStream {
    core: Arc<RawCore>,
    id: u32,
}

#[napi]
impl NativeDht {
    /// `dht.createRawStream()`: a stream reserved on the DHT socket. Fails only if the node is
    /// destroyed or 64 random ids in a row were taken.
    #[napi(catch_unwind)]
    pub fn create_raw_stream(&self) -> Result<NativeRawStream> {
        let Some(stream) = crate::rt::within(|| reserve(&self.udx)) else {
            return Err(Error::from_reason("could not find a free UDX stream id"));
        };
        self.register_raw(stream)
    }

    /// Registers `stream` (reserved, or connected already) as a raw stream of this node.
    pub(crate) fn register_raw(&self, stream: UdxStream) -> Result<NativeRawStream> {
        let id = stream.local_id();
        let mut stream = Some(stream);
        let core = self.raws.insert(|reg| {
            Arc::new(RawCore {
                reg,
                raws: Arc::downgrade(&self.raws),
                stream: Arc::new(Mutex::new(stream.take().expect("once"))),
                tx: OnceLock::new(),
                gate: WriteGate::default(),
                kill: Notify::new(),
                flow: Arc::default(),
                sink: OnceLock::new(),
                closed: AtomicBool::new(false),
                trip: Tripwire::default(),
                first: Mutex::new(None),
            })
        });
        match core {
            Some(core) => Ok(NativeRawStream { core, id }),
            None => {
                if let Some(s) = stream {
                    s.destroy();
                }
                Err(Error::from_reason("NODE_DESTROYED: Node destroyed"))
            }
        }
    }
}

#[napi]
impl NativeRawStream {
    /// The UDX stream id (never 0).
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// `rawStream.connect(socket, remoteId, port, host)` on the DHT socket: starts moving bytes,
    /// events going to `onEvent`. Returns false if the stream is gone or already connected.
    #[napi(catch_unwind)]
    pub fn connect(
        &self,
        remote_id: u32,
        host: String,
        port: u32,
        on_event: Function<JsRawStreamEvent, ()>,
    ) -> Result<bool> {
        let ip: Ipv4Addr = host.parse().map_err(|_| {
            Error::new(
                Status::InvalidArg,
                format!("{host} is not a valid IP address"),
            )
        })?;
        if port == 0 || port > 65535 {
            return Err(Error::new(
                Status::InvalidArg,
                format!("{port} is not a valid port"),
            ));
        }
        let core = &self.core;
        if core.connected() || core.closed.load(Ordering::Acquire) {
            return Ok(false);
        }
        let flow = core.flow.clone();
        let sink = Sink::with_delivery(on_event, move |ev| {
            if let JsRawStreamEvent::Data { data } = ev {
                flow.acked(data.len());
            }
        })?;
        let (tx, rx) = mpsc::channel(crate::flow::WRITE_QUEUE);
        if core.sink.set(sink).is_err() || core.tx.set(tx).is_err() {
            return Ok(false);
        }
        let addr = SocketAddr::V4(SocketAddrV4::new(ip, port as u16));
        core.unwatch();
        crate::rt::within(|| {
            lock_stream(&core.stream).connect(remote_id, addr);
        });
        let task_core = core.clone();
        let task = async move {
            let core = task_core;
            let err = tokio::select! {
                r = run(&core, rx) => r.err(),
                _ = core.kill.notified() => {
                    // udx-native `_predestroy`: the peer gets a DESTROY; a local destroy closes
                    // without an error
                    lock_stream(&core.stream).destroy();
                    None
                }
                _ = core.trip.armed() => None,
            };
            core.finish(err);
        };
        let panic_core = core.clone();
        spawn_supervised(
            task,
            move |_msg| {
                lock_stream(&panic_core.stream).destroy();
                panic_core.finish(Some(TASK_PANICKED.to_string()));
            },
            false,
        );
        Ok(true)
    }

    /// udx-native's stream `firewall(socket, port, host)` option: `onDatagram({host, port})` is
    /// called once with the source of the first datagram that reaches this unconnected stream
    /// (JS decides and calls `connect`, which processes the datagrams kept meanwhile).
    #[napi(catch_unwind)]
    pub fn watch_first_datagram(&self, on_datagram: Function<JsAddress, ()>) -> Result<()> {
        let core = &self.core;
        if core.connected() || core.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        let sink = Arc::new(Sink::new(on_datagram)?);
        *core.first.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink.clone());
        let hook = move |from: SocketAddr| {
            sink.emit_last(JsAddress {
                host: from.ip().to_string(),
                port: u32::from(from.port()),
            });
        };
        crate::rt::within(|| {
            lock_stream(&core.stream).on_first_datagram(Box::new(hook));
        });
        Ok(())
    }

    /// udx-native `relayTo(destination)`: datagrams for this stream go, unprocessed, to
    /// `destination`'s peer (blind-relay servers link two streams this way).
    #[napi(catch_unwind)]
    pub fn relay_to(&self, destination: &NativeRawStream) {
        if Arc::ptr_eq(&self.core, &destination.core) {
            return;
        }
        let dest = lock_stream(&destination.core.stream);
        lock_stream(&self.core.stream).relay_to(&dest);
    }

    /// `rawStream.write(data)`: false = queue full, wait for `drain` and retry.
    #[napi(catch_unwind)]
    pub fn write(&self, data: &[u8]) -> bool {
        let core = &self.core;
        let Some(tx) = core.tx.get() else { return true };
        if core.write_now(data) {
            return true;
        }
        // refused = wait for `drain`; a task that is gone has its close on the way
        core.gate
            .push(tx, data.len(), || RawCmd::Write(data.to_vec()))
            != Pushed::Full
    }

    /// `rawStream.end()`: a UDX END after the queued writes.
    #[napi(catch_unwind)]
    pub fn end(&self) {
        if let Some(tx) = self.core.tx.get() {
            let tx = tx.clone();
            napi::bindgen_prelude::spawn(async move {
                let _ = tx.send(RawCmd::End).await;
            });
        }
    }

    /// `rawStream.destroy()`: a connected stream sends DESTROY and emits `close`; a reserved
    /// one just closes.
    #[napi(catch_unwind)]
    pub fn destroy(&self) {
        self.core.destroy();
    }

    /// Read-side backpressure: `paused` = JS's readable buffer is full.
    #[napi(catch_unwind)]
    pub fn set_paused(&self, paused: bool) {
        self.core.flow.set_paused(paused);
    }

    /// `rawStream.send(buffer)` / `trySend`: one unreliable UDX message; false if not sent.
    #[napi(catch_unwind)]
    pub fn send(&self, data: &[u8]) -> bool {
        self.core.connected() && lock_stream(&self.core.stream).send_message(data)
    }

    /// `rawStream.setKeepalive(ms)` (0 = off).
    #[napi(catch_unwind)]
    pub fn set_keep_alive(&self, ms: u32) {
        let ka = (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
        lock_stream(&self.core.stream).set_keepalive(ka);
    }

    /// `rawStream.rtt` in milliseconds (0 when unknown).
    #[napi(catch_unwind)]
    pub fn rtt(&self) -> u32 {
        lock_stream(&self.core.stream)
            .rtt()
            .map_or(0, |d| d.as_millis().min(u128::from(u32::MAX)) as u32)
    }

    /// udx-native's stream counters (`bytesTransmitted`, `cwnd`, `inflight`, ...).
    #[napi(catch_unwind)]
    pub fn raw_stats(&self) -> crate::connection::JsRawStats {
        crate::connection::JsRawStats::of(&lock_stream(&self.core.stream))
    }

    /// `rawStream.mtu`.
    #[napi(catch_unwind)]
    pub fn mtu(&self) -> u32 {
        lock_stream(&self.core.stream).mtu() as u32
    }

    /// Test hook (`rawStream._injectPanic()`): the stream's task panics, as a bug in it would.
    #[napi(catch_unwind)]
    pub fn inject_panic(&self) {
        self.core.trip.trip();
    }
}

impl Drop for NativeRawStream {
    /// A reserved stream JS let go of without destroying it leaves the socket. (May run as a
    /// finalizer while the environment is torn down, after the runtime is gone: nothing here
    /// needs it.)
    fn drop(&mut self) {
        if !self.core.connected() {
            self.core.destroy();
        }
    }
}

impl RawCore {
    async fn read(&self) -> std::result::Result<(), String> {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            while self.flow.blocked() {
                self.flow.changed().await;
            }
            let n = std::future::poll_fn(|cx| {
                let mut rb = ReadBuf::new(&mut buf);
                match Pin::new(&mut *lock_stream(&self.stream)).poll_read(cx, &mut rb) {
                    std::task::Poll::Ready(Ok(())) => std::task::Poll::Ready(Ok(rb.filled().len())),
                    std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Err(e)),
                    std::task::Poll::Pending => std::task::Poll::Pending,
                }
            })
            .await
            .map_err(|e| e.to_string())?;
            if n == 0 {
                self.emit(JsRawStreamEvent::End);
                return Ok(());
            }
            self.flow.sent(n);
            // a small read is copied out, so an event never holds a mostly empty 64 KiB buffer
            let chunk = if n >= READ_CHUNK / 2 {
                let mut full = std::mem::replace(&mut buf, vec![0u8; READ_CHUNK]);
                full.truncate(n);
                full
            } else {
                buf[..n].to_vec()
            };
            self.emit(JsRawStreamEvent::Data { data: chunk.into() });
        }
    }

    async fn write(&self, rx: &mut mpsc::Receiver<RawCmd>) -> std::result::Result<(), String> {
        while let Some(cmd) = rx.recv().await {
            let bytes = match &cmd {
                RawCmd::Write(v) => v.len(),
                RawCmd::End => 0,
            };
            if self.gate.taken(bytes) {
                self.emit(JsRawStreamEvent::Drain);
            }
            match cmd {
                RawCmd::Write(v) => {
                    let mut rest = &v[..];
                    while !rest.is_empty() {
                        let n = std::future::poll_fn(|cx| {
                            Pin::new(&mut *lock_stream(&self.stream)).poll_write(cx, rest)
                        })
                        .await
                        .map_err(|e| e.to_string())?;
                        rest = &rest[n..];
                    }
                    self.gate.done();
                }
                RawCmd::End => {
                    std::future::poll_fn(|cx| {
                        Pin::new(&mut *lock_stream(&self.stream)).poll_shutdown(cx)
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                    return Ok(());
                }
            }
        }
        // the handle is gone (the stream was removed): nothing more will be written
        std::future::pending().await
    }

    async fn messages(&self) {
        while let Some(m) =
            std::future::poll_fn(|cx| lock_stream(&self.stream).poll_message(cx)).await
        {
            self.emit(JsRawStreamEvent::Message { data: m.into() });
        }
        std::future::pending().await
    }

    /// Moves bytes until the UDX stream closes; `Err` carries the UDX error (`ECONNRESET: ...`).
    async fn run_io(&self, mut rx: mpsc::Receiver<RawCmd>) -> std::result::Result<(), String> {
        let reader = self.read();
        let writer = self.write(&mut rx);
        let messages = self.messages();
        let stream_ref = lock_stream(&self.stream).downgrade();
        let closed = stream_ref.close_reason();
        tokio::pin!(reader, writer, messages, closed);
        let (mut read_done, mut write_done) = (false, false);
        let mut early = None;
        // both halves done cleanly, then the stream closes once the peer acked our END; a
        // failed read or write means the stream closed: its error is taken below. Once the
        // reader finished (the peer ended), a reset is noticed only by watching the stream:
        // nothing else wakes until our next write
        while !(read_done && write_done) {
            tokio::select! {
                r = &mut reader, if !read_done => {
                    if r.is_err() { break }
                    read_done = true;
                }
                w = &mut writer, if !write_done => {
                    if w.is_err() { break }
                    write_done = true;
                }
                e = &mut closed, if read_done => {
                    early = Some(e);
                    break;
                }
                _ = &mut messages => {}
            }
        }
        let err = match early {
            Some(e) => e,
            None => tokio::select! {
                e = &mut closed => e,
                _ = &mut messages => None,
            },
        };
        match err {
            // closed locally (our destroy, or the DHT socket closing): no error, like libudx
            None | Some(UdxError::Destroyed) => Ok(()),
            Some(e) => Err(e.to_string()),
        }
    }
}

async fn run(core: &RawCore, rx: mpsc::Receiver<RawCmd>) -> std::result::Result<(), String> {
    core.run_io(rx).await
}
