//! Encrypted connections for `dht.connect()` / `server.listen()`: each connection runs as one
//! task owning the secret-stream; its events go through the owning DHT's event function with a
//! connection id; writes come in through a bounded queue (a full queue = backpressure in JS).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hyperdht_core::server::Connection;
use napi::bindgen_prelude::Buffer;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, Notify};

use crate::dht::{emit, Sink};
use crate::events::JsEvent;
use crate::flow::ReadFlow;

/// Writes queued per connection before JS is told to wait for `drain`.
const WRITE_QUEUE: usize = 64;
/// Pending keep-alive/timeout changes; more than this in flight are dropped (last one wins anyway).
const CONTROL_QUEUE: usize = 8;

const DESTROYED: &str = "DESTROYED: Connection destroyed";

pub(crate) enum ConnCmd {
    Write(Vec<u8>),
    /// drain what a direct write left in the secret-stream's output buffer
    Flush,
    End,
}

/// `setKeepAlive` / `setTimeout` / `sendKeepAlive` (milliseconds, 0 = off).
pub(crate) enum Control {
    KeepAlive(u32),
    Timeout(u32),
    SendKeepAlive,
}

pub(crate) struct ConnHandle {
    pub tx: mpsc::Sender<ConnCmd>,
    pub ctl: mpsc::Sender<Control>,
    pub blocked: Arc<AtomicBool>,
    /// `destroy()`: wakes the task even when the write queue is full
    pub kill: Arc<Notify>,
    /// JS's readable buffer is full: stop reading (UDX's receive window then slows the peer)
    pub flow: Arc<ReadFlow>,
    /// the stream itself, for direct writes and `rawStream.rtt`
    pub stream: Arc<Mutex<Connection>>,
    /// commands in `tx` not yet taken by the task: direct writes only when this is 0, so
    /// bytes never overtake queued ones
    pub queued: Arc<AtomicUsize>,
}

/// `connection.write(data)`: false = wait for `conn-drain`.
///
/// Each write is one secret-stream frame, taken whole or not at all (protomux and hypercore
/// read every received frame as one complete message).
///
/// Fast path: when nothing is queued and the stream takes the frame now, it is encrypted and
/// handed to UDX on the calling (JS) thread, which saves a thread wake-up per write (the
/// dominant cost of a small request/response). Anything else goes through the task's queue.
pub(crate) fn write(conns: &Conns, cid: u32, data: &[u8]) -> bool {
    let Ok(m) = conns.lock() else { return false };
    let Some(h) = m.get(&cid) else { return true };
    let mut taken = false;
    if h.queued.load(Ordering::Acquire) == 0 {
        if let Ok(mut c) = h.stream.try_lock() {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            taken = matches!(
                napi::bindgen_prelude::within_runtime_if_available(|| {
                    Pin::new(&mut *c).poll_write(&mut cx, data)
                }),
                Poll::Ready(Ok(n)) if n == data.len()
            );
            // the noop waker cannot finish a partial drain: let the task do it
            if taken && !c.has_pending_output() {
                return true;
            }
        }
    }
    let cmd = if taken {
        ConnCmd::Flush
    } else {
        ConnCmd::Write(data.to_vec())
    };
    h.queued.fetch_add(1, Ordering::SeqCst);
    let cmd = match h.tx.try_send(cmd) {
        Ok(()) => return true,
        Err(e) => e.into_inner(),
    };
    if taken {
        // unreachable in practice (a Flush is only queued when the queue was empty); the
        // task flushes after whatever fills the queue anyway
        h.queued.fetch_sub(1, Ordering::SeqCst);
        return true;
    }
    // Full: ask for `conn-drain`, then look again. The task clears `blocked` and emits the
    // drain when it takes a command off the queue; a queue that was full after the flag was
    // set still has a command to take, so the drain cannot be missed (a spurious one is
    // harmless: JS then has nothing pending).
    h.blocked.store(true, Ordering::SeqCst);
    match h.tx.try_send(cmd) {
        Ok(()) => true,
        Err(_) => {
            h.queued.fetch_sub(1, Ordering::SeqCst);
            false
        }
    }
}

/// Pauses or resumes reading on a connection (JS `push()` returned false / `_read()` was called).
pub(crate) fn set_paused(conns: &Conns, cid: u32, paused: bool) {
    if let Ok(m) = conns.lock() {
        if let Some(h) = m.get(&cid) {
            h.flow.set_paused(paused);
        }
    }
}

/// JS took `bytes` of `conn-data` off the event queue (acknowledged in batches).
pub(crate) fn ack(conns: &Conns, cid: u32, bytes: usize) {
    if let Ok(m) = conns.lock() {
        if let Some(h) = m.get(&cid) {
            h.flow.acked(bytes);
        }
    }
}

/// A client connect still in progress under the connection id JS reserved for it
/// (`reserveCid`), so the JS stream can be destroyed before the handshake finishes.
#[derive(Default)]
pub(crate) struct Dial {
    cancelled: AtomicBool,
    wake: Notify,
}

impl Dial {
    /// The JS stream is gone: the dial still runs to its end and a connection it makes is
    /// destroyed at once, so a server that accepted it hears a UDX DESTROY. (Stopping the dial
    /// half-way can leave a server holding a stream for us whose id we never learnt: its reply
    /// was on the way, so nothing could tell it.)
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    /// The node is going away: the dial stops now (a server that already connected a stream
    /// we know of still hears a DESTROY from the dropped dial's reserved stream).
    fn abort(&self) {
        self.cancel();
        self.wake.notify_one();
    }

    /// Resolves once the dial was aborted (a permit is stored, so an abort before the first
    /// poll is not lost).
    pub async fn aborted(&self) {
        self.wake.notified().await
    }
}

/// Dials in progress by connection id. Lock order: `Dialing` before `Conns`.
pub(crate) type Dialing = Arc<Mutex<HashMap<u32, Arc<Dial>>>>;

/// Registers a dial for `cid`; [`finish_dial`] must follow.
pub(crate) fn start_dial(dialing: &Dialing, cid: u32) -> Arc<Dial> {
    let dial = Arc::new(Dial::default());
    if let Ok(mut d) = dialing.lock() {
        d.insert(cid, dial.clone());
    }
    dial
}

/// Ends a dial: a connection that was cancelled meanwhile is destroyed (the peer gets a UDX
/// DESTROY) and `None` is returned; otherwise it is registered and its task spawned. Both
/// happen under the dial lock, so a concurrent `destroy_one` either cancels the dial or finds
/// the live connection.
pub(crate) fn finish_dial(
    dialing: &Dialing,
    conns: &Conns,
    sink: Sink,
    cid: u32,
    conn: Option<Connection>,
) -> bool {
    let Ok(mut d) = dialing.lock() else {
        return false;
    };
    let cancelled = d
        .remove(&cid)
        .is_none_or(|dial| dial.cancelled.load(Ordering::Acquire));
    match conn {
        Some(conn) if cancelled => {
            conn.get_ref().destroy();
            false
        }
        Some(conn) => {
            spawn_connection(conns, sink, cid, None, conn);
            true
        }
        None => false,
    }
}

/// Destroys one connection (its task emits `conn-close` with DESTROYED), or cancels its dial.
pub(crate) fn destroy_one(dialing: &Dialing, conns: &Conns, cid: u32) {
    if let Ok(d) = dialing.lock() {
        if let Some(dial) = d.get(&cid) {
            dial.cancel();
            return;
        }
        if let Ok(m) = conns.lock() {
            if let Some(h) = m.get(&cid) {
                h.kill.notify_one();
            }
        }
    }
}

/// Sends a keep-alive/timeout change to a connection (ignored if it is gone or saturated).
pub(crate) fn control(conns: &Conns, cid: u32, c: Control) {
    if let Ok(m) = conns.lock() {
        if let Some(h) = m.get(&cid) {
            let _ = h.ctl.try_send(c);
        }
    }
}

/// The UDX round-trip time in milliseconds (`rawStream.rtt`), 0 when unknown.
pub(crate) fn rtt_ms(conns: &Conns, cid: u32) -> u32 {
    let Ok(m) = conns.lock() else { return 0 };
    let Some(h) = m.get(&cid) else { return 0 };
    let rtt = h.stream.lock().ok().and_then(|c| c.get_ref().rtt());
    rtt.map_or(0, |d| d.as_millis().min(u128::from(u32::MAX)) as u32)
}

/// The UDX stream's current path MTU (`rawStream.mtu`), 0 when the connection is gone.
pub(crate) fn mtu(conns: &Conns, cid: u32) -> u32 {
    let Ok(m) = conns.lock() else { return 0 };
    let Some(h) = m.get(&cid) else { return 0 };
    let mtu = h.stream.lock().ok().map(|c| c.get_ref().mtu());
    mtu.unwrap_or(0) as u32
}

/// Destroys every live connection and cancels every dial (DHT teardown, like hyperdht's
/// `rawStreams.clear()`).
pub(crate) fn destroy_all(dialing: &Dialing, conns: &Conns) {
    let Ok(d) = dialing.lock() else { return };
    for dial in d.values() {
        dial.abort();
    }
    if let Ok(m) = conns.lock() {
        for h in m.values() {
            h.kill.notify_one();
        }
    }
}

pub(crate) type Conns = Arc<Mutex<ConnMap>>;

/// Live connections by id; once `closed` (DHT destroyed) nothing registers any more.
#[derive(Default)]
pub(crate) struct ConnMap {
    map: HashMap<u32, ConnHandle>,
    closed: bool,
}

impl std::ops::Deref for ConnMap {
    type Target = HashMap<u32, ConnHandle>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl std::ops::DerefMut for ConnMap {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.map
    }
}

/// Registers a connection and spawns its task. `sid` is set for server-side connections.
pub(crate) fn spawn_connection(
    conns: &Conns,
    sink: Sink,
    cid: u32,
    sid: Option<u32>,
    conn: Connection,
) {
    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
    let (ctl_tx, ctl) = mpsc::channel(CONTROL_QUEUE);
    let blocked = Arc::new(AtomicBool::new(false));
    let kill = Arc::new(Notify::new());
    let flow = Arc::new(ReadFlow::default());
    let remote = conn.get_ref().remote();
    let (remote_public_key, public_key, handshake_hash) = (
        conn.remote_public_key().to_vec(),
        conn.public_key().to_vec(),
        conn.handshake_hash().to_vec(),
    );
    let Ok(mut m) = conns.lock() else {
        conn.get_ref().destroy();
        return;
    };
    if m.closed {
        // a server connection that completed after the DHT was destroyed
        drop(m);
        conn.get_ref().destroy();
        return;
    }
    let stream = Arc::new(Mutex::new(conn));
    let queued = Arc::new(AtomicUsize::new(0));
    {
        m.insert(
            cid,
            ConnHandle {
                tx,
                ctl: ctl_tx,
                blocked: blocked.clone(),
                kill: kill.clone(),
                flow: flow.clone(),
                stream: stream.clone(),
                queued: queued.clone(),
            },
        );
        drop(m);
    }
    emit(
        &sink,
        JsEvent {
            cid: Some(cid),
            sid,
            remote_public_key: Some(remote_public_key.into()),
            public_key: Some(public_key.into()),
            handshake_hash: Some(handshake_hash.into()),
            remote_host: remote.map(|r| r.ip().to_string()),
            remote_port: remote.map(|r| r.port() as u32),
            ..JsEvent::named("conn-open")
        },
    );
    let conns = conns.clone();
    let (watch_conns, watch_sink, watch_raw) = (conns.clone(), sink.clone(), stream.clone());
    let task = tokio::spawn(async move {
        let raw = stream.clone();
        let err = tokio::select! {
            r = run(stream, cid, (rx, &queued), ctl, blocked, &flow, &sink) => r.err(),
            _ = kill.notified() => Some(DESTROYED.to_string()),
        };
        if err.is_some() {
            // NoiseSecretStream destroys its raw stream whenever it is destroyed (a destroy(),
            // a timeout, a decrypt or write error): the peer gets a UDX DESTROY now instead of
            // noticing the silence much later, and the stream leaves its socket. A no-op when
            // the stream itself failed (e.g. the peer's reset).
            raw.lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_ref()
                .destroy();
        }
        if let Ok(mut m) = conns.lock() {
            m.remove(&cid);
        }
        emit(
            &sink,
            JsEvent {
                cid: Some(cid),
                error: err,
                ..JsEvent::named("conn-close")
            },
        );
    });
    // supervision: a panic in the connection task must not leave JS waiting for a close
    tokio::spawn(async move {
        if task.await.is_err_and(|e| e.is_panic()) {
            let raw = watch_raw.lock().unwrap_or_else(|p| p.into_inner());
            raw.get_ref().destroy();
            drop(raw);
            if let Ok(mut m) = watch_conns.lock() {
                m.remove(&cid);
            }
            emit(
                &watch_sink,
                JsEvent {
                    cid: Some(cid),
                    error: Some("EDRIVERFAILED: connection task panicked".to_string()),
                    ..JsEvent::named("conn-close")
                },
            );
        }
    });
}

/// Read and write halves sharing the connection behind a mutex (like `tokio::io::split`),
/// so keep-alive/timeout settings can still reach the stream while both halves are in use.
struct Half(Arc<Mutex<Connection>>);

impl Half {
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AsyncRead for Half {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_read(cx, buf)
    }
}

impl AsyncWrite for Half {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.lock()).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_shutdown(cx)
    }
}

fn apply(conn: &mut Connection, ctl: Control) {
    let ms = |v: u32| (v > 0).then(|| Duration::from_millis(u64::from(v)));
    match ctl {
        Control::KeepAlive(v) => conn.set_keep_alive(ms(v)),
        Control::Timeout(v) => conn.set_timeout(ms(v)),
        Control::SendKeepAlive => conn.send_keep_alive(),
    }
}

async fn run(
    shared: Arc<Mutex<Connection>>,
    cid: u32,
    (mut rx, queued): (mpsc::Receiver<ConnCmd>, &AtomicUsize),
    mut ctl: mpsc::Receiver<Control>,
    blocked: Arc<AtomicBool>,
    flow: &ReadFlow,
    sink: &Sink,
) -> Result<(), String> {
    let (rd, mut wr) = (Half(shared.clone()), Half(shared));
    let reader = async {
        loop {
            while flow.blocked() {
                tokio::select! {
                    _ = flow.changed() => {}
                    Some(c) = ctl.recv() => apply(&mut rd.lock(), c),
                }
            }
            // settings are applied between reads so the next poll arms their timers
            // whole decrypted messages, no per-connection read buffer
            let chunk = tokio::select! {
                r = std::future::poll_fn(|cx| rd.lock().poll_read_chunk(cx)) => {
                    r.map_err(|e| e.to_string())?
                }
                Some(c) = ctl.recv() => {
                    apply(&mut rd.lock(), c);
                    continue;
                }
            };
            let Some(chunk) = chunk else {
                emit(
                    sink,
                    JsEvent {
                        cid: Some(cid),
                        ..JsEvent::named("conn-end")
                    },
                );
                return Ok::<(), String>(());
            };
            flow.sent(chunk.len());
            let data: Buffer = chunk.into();
            emit(
                sink,
                JsEvent {
                    cid: Some(cid),
                    data: Some(data),
                    ..JsEvent::named("conn-data")
                },
            );
        }
    };
    let writer = async {
        while let Some(cmd) = rx.recv().await {
            if blocked.swap(false, Ordering::SeqCst) {
                emit(
                    sink,
                    JsEvent {
                        cid: Some(cid),
                        ..JsEvent::named("conn-drain")
                    },
                );
            }
            match cmd {
                ConnCmd::Write(v) => {
                    wr.write_all(&v).await.map_err(|e| e.to_string())?;
                    // the last queued write is fully handed to UDX before direct writes resume
                    if queued.load(Ordering::Acquire) == 1 {
                        wr.flush().await.map_err(|e| e.to_string())?;
                    }
                    queued.fetch_sub(1, Ordering::AcqRel);
                }
                ConnCmd::Flush => {
                    wr.flush().await.map_err(|e| e.to_string())?;
                    queued.fetch_sub(1, Ordering::AcqRel);
                }
                ConnCmd::End => {
                    wr.shutdown().await.map_err(|e| e.to_string())?;
                    return Ok::<(), String>(());
                }
            }
        }
        Err(DESTROYED.to_string())
    };
    tokio::pin!(reader, writer);
    // clean close once the peer ended and we ended; the first error wins
    let (mut read_done, mut write_done) = (false, false);
    while !(read_done && write_done) {
        tokio::select! {
            r = &mut reader, if !read_done => {
                r?;
                read_done = true;
            }
            w = &mut writer, if !write_done => {
                w?;
                write_done = true;
            }
        }
    }
    Ok(())
}
