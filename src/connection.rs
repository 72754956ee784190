//! `NativeConnection`: the native half of an encrypted connection, owned by one JS
//! `Connection` (lib/connection.js, shaped like @hyperswarm/secret-stream's NoiseSecretStream).
//!
//! * A client's exists from the moment `dht.connect()` returns (`NativeDht::connect` builds it
//!   with the JS object's event callback and starts the dial); an accepted one arrives in its
//!   server's `connection` event and starts when JS calls `start(onEvent)`.
//! * Its events go straight to that callback, in order: `open` (client), `data`, `end`,
//!   `drain`, then exactly one `close` (with `error` when it failed), after which its
//!   ThreadsafeFunction is released. A client's dial also asks `holepunch-veto` and `lan-ping`
//!   questions, answered through `answer(id, value)`.
//! * The stream runs as one supervised task owning the secret-stream: writes come in through a
//!   bounded queue (full = JS waits for `drain`), reads stop while JS's readable buffer is full
//!   or too much data is queued towards JS (src/flow.rs); bytes count as taken once their event
//!   is handed to JS. A panic in the dial or the stream task closes the connection with
//!   EDRIVERFAILED.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use hyperdht_core::server::Connection;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio::sync::{mpsc, Notify};

use crate::events::Sink;
use crate::flow::{ReadFlow, WriteGate};
use crate::jsloop::JsLoop;
use crate::live::Live;
use crate::noise::NoiseQuestions;
use crate::questions::JsQuestions;
use crate::relay::{JsRelayRequest, Relays};
use crate::supervise::{spawn_supervised, Tripwire};
use crate::uvloop::SlabData;
use crate::veto::JsHolepunchInfo;
use hyperdht_core::driver::paths::SharedPath;

mod dial;
mod info;
mod js_read;
pub(crate) use info::JsRawStats;
mod task;
mod write;
use js_read::JsRead;
use task::run;

/// Pending keep-alive/timeout changes; more than this in flight are dropped (last one wins anyway).
const CONTROL_QUEUE: usize = 8;

pub(crate) const DESTROYED: &str = "DESTROYED: Connection destroyed";
const TASK_PANICKED: &str = "EDRIVERFAILED: connection task panicked";

/// What NoiseSecretStream users read once a connection is open.
#[napi(object, object_from_js = false)]
pub struct JsConnectionInfo {
    /// `remotePublicKey` (32 bytes), `publicKey` (32) and `handshakeHash` (64) in one Buffer, which
    /// JS views in three parts: one allocation per connection end instead of three external ones
    #[napi(ts_type = "Buffer")]
    pub keys: crate::uvloop::CopiedBuffer,
    pub remote_host: Option<String>,
    pub remote_port: Option<u32>,
    /// the UDX stream ids (`rawStream.id`, `rawStream.remoteId`)
    pub stream_id: u32,
    pub remote_stream_id: u32,
}

/// Events of one connection (`{type: 'data', data}`, ...).
#[napi(
    discriminant = "type",
    discriminant_case = "kebab-case",
    object_from_js = false
)]
pub enum JsConnectionEvent {
    /// one decrypted message
    Data {
        #[napi(ts_type = "Buffer")]
        data: crate::uvloop::CopiedBuffer,
    },
    /// the remote ended its side
    End,
    /// a write refused with `false` can be retried
    Drain,
    /// the client's handshake finished (accepted connections are open from the start)
    Open { info: JsConnectionInfo },
    /// the last event: the connection is gone (`error` when it failed)
    Close { error: Option<String> },
    /// the client's `holepunch` function is asked (answer with `answer(id, allow)`)
    HolepunchVeto { id: u32, veto: JsHolepunchInfo },
    /// the LAN shortcut pings through the app's `dht.ping` (answer with `answer(id, ok)`)
    LanPing { id: u32, host: String, port: u32 },
    /// pair the stream through a blind relay (answer with `relayReply`)
    Relay { request: JsRelayRequest },
    /// the relay connection of pairing `id` is no longer needed: end it
    RelayClose { id: u32 },
    /// the stream moved to another path (a relay upgrade) and the peer acknowledged what went
    /// the old way (udx-native's `remote-changed` on `rawStream`)
    RemoteChanged,
    /// an unordered encrypted datagram from the peer's `send`/`trySend` (secret-stream's
    /// `message` event); ones that do not open are dropped, as in JS
    Message {
        #[napi(ts_type = "Buffer")]
        data: crate::uvloop::CopiedBuffer,
    },
    /// `createHandshake`: write message 1 carrying `payload` (an encoded `noisePayload`);
    /// answer with `noiseReply(id, {noise})`
    NoiseSend { id: u32, payload: Buffer },
    /// `createHandshake`: read the server's message 2; answer with `noiseReply(id, {payload,
    /// ...final()})`
    NoiseRecv { id: u32, noise: Buffer },
}

pub(crate) type Conns = Arc<Live<ConnCore>>;

pub(crate) enum Command {
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

/// A client's dial in progress.
#[derive(Default)]
pub(crate) struct Dial {
    cancelled: AtomicBool,
    wake: Notify,
    /// JS let the dial start (on the tick after `connect()`, like hyperdht, whose connect work
    /// begins asynchronously: a stream destroyed in the same tick sends nothing)
    go: Notify,
    started: AtomicBool,
    /// `connect({createSecretStream})`: the connection opens as its bare stream, for JS to
    /// adopt (`NativeDht.adoptConnection`) and hand to the app's secret-stream
    pub(crate) raw: AtomicBool,
}

impl Dial {
    /// The JS stream is gone: the dial still runs to its end and a connection it makes is
    /// destroyed at once, so a server that accepted it hears a UDX DESTROY. (Stopping the dial
    /// half-way can leave a server holding a stream for us whose id we never learnt: its reply
    /// was on the way, so nothing could tell it.)
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
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

    /// JS lets the dial start.
    fn start(&self) {
        self.started.store(true, Ordering::Release);
        self.go.notify_one();
    }

    /// Resolves once JS let the dial start.
    pub async fn started(&self) {
        self.go.notified().await
    }
}

/// The running stream's handles.
struct Io {
    tx: mpsc::Sender<Command>,
    ctl: mpsc::Sender<Control>,
    /// `destroy()`: wakes the task even when the write queue is full
    kill: Notify,
    /// the stream itself, for direct writes, `rawStream.rtt` and `mtu`
    stream: Arc<Mutex<Connection>>,
    /// what `tx` holds, and whether JS waits for `drain`
    gate: WriteGate,
}

enum State {
    /// accepted by a server, waiting for JS to `start()` it
    Accepted(Box<Connection>),
    Dialing(Arc<Dial>),
    /// the stream task owns the connection
    Running,
    Closed,
}

/// One connection's shared state (the JS object's `NativeConnection`, its tasks, the node's
/// list of live connections).
pub(crate) struct ConnCore {
    id: u64,
    conns: Weak<Live<ConnCore>>,
    state: Mutex<State>,
    sink: OnceLock<Sink<JsConnectionEvent>>,
    io: OnceLock<Io>,
    flow: Arc<ReadFlow>,
    /// set when the stream reads on the JS thread (src/jsloop.rs)
    js: OnceLock<Arc<JsLoop>>,
    /// the JS callback such a reader may call directly; dropped at `close` (it holds the JS
    /// object that holds us: kept, the pair would never be collected)
    js_fn: Mutex<Option<FunctionRef<JsConnectionEvent, ()>>>,
    /// JS's `(buffer, start, end)` data callback (`setOnData`) for direct deliveries: no event
    /// object and no Buffer per message (src/uvloop.rs `SlabData`); dropped at `close` too
    data_fn: Mutex<Option<FunctionRef<SlabData, ()>>>,
    questions: JsQuestions,
    /// `createHandshake` questions (src/noise.rs)
    noise: NoiseQuestions,
    relays: Relays,
    trip: Tripwire,
    /// how the connection was made (set when it opens)
    path: OnceLock<SharedPath>,
}

fn lock_stream(s: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// The event sink of a connection: bytes of a `data` event count as taken once JS gets it.
fn connection_sink(
    flow: &Arc<ReadFlow>,
    on_event: Function<JsConnectionEvent, ()>,
) -> Result<Sink<JsConnectionEvent>> {
    let flow = flow.clone();
    Sink::with_delivery(on_event, move |ev| {
        if let JsConnectionEvent::Data { data } = ev {
            flow.acked(data.len());
        }
    })
}

/// The JS thread's executor when connections read there (not `HYPERDHT_RS_JSLOOP=0`), and a
/// reference to the connection's callback.
fn js_loop_of(
    on_event: &Function<JsConnectionEvent, ()>,
) -> Option<(Arc<JsLoop>, FunctionRef<JsConnectionEvent, ()>)> {
    if !crate::jsloop::enabled() {
        return None;
    }
    let l = JsLoop::of(&Env::from_raw(on_event.value().env)).ok()?;
    Some((l, on_event.create_ref().ok()?))
}

pub(crate) fn info_of(conn: &Connection) -> JsConnectionInfo {
    let remote = conn.get_ref().remote();
    JsConnectionInfo {
        keys: [
            conn.remote_public_key().as_slice(),
            conn.public_key().as_slice(),
            conn.handshake_hash().as_slice(),
        ]
        .concat()
        .into(),
        remote_host: remote.map(|r| r.ip().to_string()),
        remote_port: remote.map(|r| u32::from(r.port())),
        stream_id: conn.get_ref().local_id(),
        remote_stream_id: conn.get_ref().remote_id(),
    }
}

impl ConnCore {
    fn new(id: u64, conns: &Conns, state: State, flow: Arc<ReadFlow>) -> Arc<Self> {
        Arc::new(ConnCore {
            id,
            conns: Arc::downgrade(conns),
            state: Mutex::new(state),
            sink: OnceLock::new(),
            io: OnceLock::new(),
            flow,
            js: OnceLock::new(),
            js_fn: Mutex::new(None),
            data_fn: Mutex::new(None),
            questions: JsQuestions::default(),
            noise: NoiseQuestions::default(),
            relays: Relays::default(),
            trip: Tripwire::default(),
            path: OnceLock::new(),
        })
    }

    fn set_js(&self, js: Option<(Arc<JsLoop>, FunctionRef<JsConnectionEvent, ()>)>) {
        if let Some((l, f)) = js {
            let _ = self.js.set(l);
            *self.js_fn.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, ev: JsConnectionEvent) -> bool {
        self.sink.get().is_some_and(|s| s.emit(ev))
    }

    /// The connection is gone: it leaves the node's list and JS gets its last event.
    fn finish(&self, error: Option<String>) {
        *self.state() = State::Closed;
        // the JS object (and so this core) lives until V8 collects it, which a small heap puts
        // off for thousands of closed connections: their buffers go now (a holder of the lock
        // is finishing the stream anyway)
        if let Some(io) = self.io.get() {
            if let Ok(mut c) = io.stream.try_lock() {
                c.release_buffers();
            }
        }
        self.js_fn.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.data_fn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.questions.clear();
        self.noise.clear();
        self.relays.clear();
        if let Some(c) = self.conns.upgrade() {
            c.remove(self.id);
        }
        if let Some(s) = self.sink.get() {
            s.emit_last(JsConnectionEvent::Close { error });
        }
    }

    /// A supervised task panicked: the stream goes (the peer hears a DESTROY), JS gets an error.
    fn fail(&self, _msg: String) {
        if let Some(io) = self.io.get() {
            lock_stream(&io.stream).get_ref().destroy();
        }
        self.finish(Some(TASK_PANICKED.to_string()));
    }

    /// Whether the connection is open or accepted (else dialing or gone), for the counts.
    pub(crate) fn is_open(&self) -> bool {
        matches!(*self.state(), State::Accepted(_) | State::Running)
    }

    pub(crate) fn is_dialing(&self) -> bool {
        matches!(*self.state(), State::Dialing(_))
    }

    /// An accepted connection not started yet leaves this object (it closes without events)
    /// as its bare stream and handshake result (`createSecretStream` servers run secret-stream
    /// in JS).
    pub(crate) fn take_accepted(&self) -> Option<Connection> {
        let mut st = self.state();
        if !matches!(&*st, State::Accepted(_)) {
            return None;
        }
        let State::Accepted(conn) = std::mem::replace(&mut *st, State::Closed) else {
            return None;
        };
        drop(st);
        if let Some(c) = self.conns.upgrade() {
            c.remove(self.id);
        }
        Some(*conn)
    }

    /// The node is being destroyed (hyperdht `rawStreams.clear()`): dials stop, streams close.
    pub(crate) fn kill(&self) {
        let mut st = self.state();
        match &*st {
            State::Accepted(_) => {
                let State::Accepted(conn) = std::mem::replace(&mut *st, State::Closed) else {
                    return;
                };
                drop(st);
                crate::rt::within(|| conn.get_ref().destroy());
                self.finish(Some(DESTROYED.to_string()));
            }
            State::Dialing(dial) => dial.abort(),
            State::Running => {
                drop(st);
                if let Some(io) = self.io.get() {
                    io.kill.notify_one();
                }
            }
            State::Closed => {}
        }
    }

    /// The client's dial ended.
    fn finish_dial(self: &Arc<Self>, result: std::result::Result<Connection, String>) {
        let mut st = self.state();
        let (cancelled, raw) = match &*st {
            State::Dialing(dial) => (dial.cancelled(), dial.raw.load(Ordering::Acquire)),
            _ => {
                // closed meanwhile (cannot happen: only the dial leaves Dialing)
                drop(st);
                if let Ok(conn) = result {
                    conn.get_ref().destroy();
                }
                return;
            }
        };
        match result {
            Ok(conn) if !cancelled && raw => {
                // nothing was written on it: JS adopts it on `open` (src/adopt.rs)
                let info = info_of(&conn);
                *st = State::Accepted(Box::new(conn));
                drop(st);
                self.emit(JsConnectionEvent::Open { info });
            }
            Ok(conn) if !cancelled => {
                let info = info_of(&conn);
                let queues = self.install(conn);
                *st = State::Running;
                drop(st);
                self.emit(JsConnectionEvent::Open { info });
                self.spawn_stream(queues);
            }
            Ok(conn) => {
                drop(st);
                conn.get_ref().destroy();
                self.finish(None);
            }
            Err(e) => {
                drop(st);
                self.finish(Some(e));
            }
        }
    }

    /// Hands an open connection to this core (before it is marked Running, so a `destroy()` or
    /// `kill()` that sees Running always finds the stream); returns the task's ends of the
    /// queues.
    fn install(&self, conn: Connection) -> (mpsc::Receiver<Command>, mpsc::Receiver<Control>) {
        let (tx, rx) = mpsc::channel(crate::flow::WRITE_QUEUE);
        let (ctl_tx, ctl) = mpsc::channel(CONTROL_QUEUE);
        let io = Io {
            tx,
            ctl: ctl_tx,
            kill: Notify::new(),
            stream: Arc::new(Mutex::new(conn)),
            gate: WriteGate::default(),
        };
        // set once: only Accepted and Dialing lead here, and they leave that state as they do
        let _ = self.io.set(io);
        (rx, ctl)
    }

    /// Starts the (supervised) stream task of an installed connection. A `destroy()` before
    /// the task runs is not lost: the kill Notify keeps the permit.
    fn spawn_stream(
        self: &Arc<Self>,
        (rx, ctl): (mpsc::Receiver<Command>, mpsc::Receiver<Control>),
    ) {
        let core = self.clone();
        let js = self.js.get().map(|l| JsRead::start(l, self));
        let task = async move {
            let Some(io) = core.io.get() else { return };
            // UDX messages, the peer's `send`/`trySend` datagrams (secret-stream
            // `_onmessage`), are opened and emitted by the socket's driver as they arrive: no
            // future waits for them (a weak handle: the stream must not keep its owner alive)
            {
                let c = lock_stream(&io.stream);
                let opener = c.message_opener();
                let owner = Arc::downgrade(&core);
                c.get_ref().on_message(Box::new(move |m| {
                    if let (Some(data), Some(core)) = (opener.open(&m), owner.upgrade()) {
                        core.emit(JsConnectionEvent::Message { data: data.into() });
                    }
                }));
            }
            let err = tokio::select! {
                r = run(&core, io, rx, ctl, js.as_ref()) => r.err(),
                _ = io.kill.notified() => Some(DESTROYED.to_string()),
                _ = core.trip.armed() => None,
            };
            if err.is_some() {
                // NoiseSecretStream destroys its raw stream whenever it is destroyed (a
                // destroy(), a timeout, a decrypt or write error): the peer gets a UDX DESTROY
                // now instead of noticing the silence much later, and the stream leaves its
                // socket. A no-op when the stream itself failed (e.g. the peer's reset).
                lock_stream(&io.stream).get_ref().destroy();
            }
            if let Some((js, _)) = &js {
                js.stopped.store(true, Ordering::Release);
                js.task.lock().unwrap_or_else(|p| p.into_inner()).take();
            }
            core.finish(err);
        };
        let core = self.clone();
        spawn_supervised(task, move |msg| core.fail(msg), false);
    }
}

/// The JS object's handle on its connection.
#[napi]
pub struct NativeConnection {
    core: Arc<ConnCore>,
}

impl NativeConnection {
    /// A connection a server accepted, registered with the node, waiting for JS to `start()`
    /// it; None (the connection is destroyed) when the node is being destroyed.
    pub(crate) fn accepted(
        conns: &Conns,
        conn: Connection,
    ) -> Option<(NativeConnection, JsConnectionInfo)> {
        let info = info_of(&conn);
        let mut conn = Some(Box::new(conn));
        let core = conns.insert(|id| {
            let state = State::Accepted(conn.take().expect("taken once"));
            ConnCore::new(id, conns, state, Arc::default())
        });
        match core {
            Some(core) => Some((NativeConnection { core }, info)),
            None => {
                if let Some(conn) = conn {
                    conn.get_ref().destroy();
                }
                None
            }
        }
    }

    /// A client connection dialing `dial`: registered with the node, events going to
    /// `on_event`. On a destroyed node it is closed with DESTROYED at once (`is_dialing()` is
    /// then false and no dial must run).
    pub(crate) fn dialing(
        conns: &Conns,
        dial: Arc<Dial>,
        on_event: Function<JsConnectionEvent, ()>,
    ) -> Result<NativeConnection> {
        let flow = Arc::new(ReadFlow::default());
        let js = js_loop_of(&on_event);
        let sink = connection_sink(&flow, on_event)?;
        let registered =
            conns.insert(|id| ConnCore::new(id, conns, State::Dialing(dial.clone()), flow.clone()));
        let core = match registered {
            Some(core) => {
                core.set_js(js);
                let _ = core.sink.set(sink);
                core
            }
            None => {
                let core = ConnCore::new(0, conns, State::Closed, flow);
                let _ = core.sink.set(sink);
                core.finish(Some(DESTROYED.to_string()));
                core
            }
        };
        Ok(NativeConnection { core })
    }

    pub(crate) fn core(&self) -> &Arc<ConnCore> {
        &self.core
    }

    /// Runs the dial future `dial` (it resolves to the connection or an error string),
    /// supervised: a panic closes the connection with EDRIVERFAILED.
    pub(crate) fn run_dial<F>(&self, dial: F)
    where
        F: std::future::Future<Output = std::result::Result<Connection, String>> + Send + 'static,
    {
        let core = self.core.clone();
        let fut = async move {
            let r = tokio::select! {
                r = dial => r,
                _ = core.trip.armed() => return,
            };
            core.finish_dial(r);
        };
        let core = self.core.clone();
        spawn_supervised(fut, move |msg| core.fail(msg), false);
    }

    fn io(&self) -> Option<&Io> {
        self.core.io.get()
    }
}

impl Drop for NativeConnection {
    /// An accepted connection JS never started (its event was dropped, or its object collected
    /// unused) is destroyed; anything else belongs to its task. (May run as a finalizer while
    /// the environment is torn down, after the runtime is gone: nothing here needs it.)
    fn drop(&mut self) {
        let mut st = self.core.state();
        if matches!(*st, State::Accepted(_)) {
            let State::Accepted(conn) = std::mem::replace(&mut *st, State::Closed) else {
                return;
            };
            drop(st);
            conn.get_ref().destroy();
            self.core.finish(None);
        }
    }
}

#[napi]
impl NativeConnection {
    /// `onData(buffer, start, end)` receives the data of `buffer.subarray(start, end)` when
    /// the connection reads on the JS thread and the message overtakes no queued event (else
    /// `data` events still come to `onEvent`). Set it before the connection opens.
    #[napi(
        catch_unwind,
        ts_args_type = "onData: (buffer: Buffer, start: number, end: number) => void"
    )]
    pub fn set_on_data(&self, on_data: Function<SlabData, ()>) -> Result<()> {
        if !crate::jsloop::enabled() {
            return Ok(());
        }
        *self.core.data_fn.lock().unwrap_or_else(|p| p.into_inner()) = Some(on_data.create_ref()?);
        Ok(())
    }

    /// Starts an accepted connection, its events going to `onEvent` (a connection the node
    /// closed meanwhile emits `close` with DESTROYED).
    #[napi(catch_unwind)]
    pub fn start(&self, on_event: Function<JsConnectionEvent, ()>) -> Result<()> {
        let js = js_loop_of(&on_event);
        let sink = connection_sink(&self.core.flow, on_event)?;
        if self.core.sink.set(sink).is_err() {
            return Err(Error::from_reason("connection already started"));
        }
        self.core.set_js(js);
        let mut st = self.core.state();
        match std::mem::replace(&mut *st, State::Running) {
            State::Accepted(conn) => {
                let queues = self.core.install(*conn);
                drop(st);
                self.core.spawn_stream(queues);
            }
            State::Closed => {
                *st = State::Closed;
                drop(st);
                self.core.finish(Some(DESTROYED.to_string()));
            }
            other => *st = other,
        }
        Ok(())
    }

    /// The handle lib/connection.js writes through ([`write::connection_write`], the
    /// `connection.write(data)` of the native side).
    #[napi(catch_unwind, ts_return_type = "unknown")]
    pub fn writer(&self) -> External<write::Writer> {
        External::new(write::Writer(self.core.clone()))
    }

    /// secret-stream's `send(buffer)` / `trySend`: `buffer` sealed as an unordered datagram
    /// (`_boxMessage`) in one UDX message; false when the connection is not open or the
    /// message was not sent. A counter that wrapped (2^64 messages) destroys the connection,
    /// as in JS.
    #[napi(catch_unwind)]
    pub fn send_message(&self, data: &[u8]) -> bool {
        let Some(io) = self.io() else { return false };
        let mut c = lock_stream(&io.stream);
        match c.seal_message(data) {
            Ok(m) => crate::rt::within(|| c.get_ref().send_message(&m)),
            Err(_) => {
                drop(c);
                io.kill.notify_one();
                false
            }
        }
    }

    /// `connection.end()`: ends our side after the queued writes.
    #[napi(catch_unwind)]
    pub fn end(&self) {
        if let Some(io) = self.io() {
            let tx = io.tx.clone();
            napi::bindgen_prelude::spawn(async move {
                let _ = tx.send(Command::End).await;
            });
        }
    }

    /// `destroy()`: an open connection's task closes it and emits `close` (DESTROYED); a dial
    /// is cancelled and emits nothing more (JS is done with it).
    #[napi(catch_unwind)]
    pub fn destroy(&self) {
        let core = &self.core;
        let mut st = core.state();
        match &*st {
            State::Accepted(_) => {
                let State::Accepted(conn) = std::mem::replace(&mut *st, State::Closed) else {
                    return;
                };
                drop(st);
                crate::rt::within(|| conn.get_ref().destroy());
                core.finish(None);
            }
            State::Dialing(dial) => {
                if dial.started.load(Ordering::Acquire) {
                    dial.cancel();
                } else {
                    // nothing was sent yet: the dial never starts
                    dial.abort();
                }
                drop(st);
                core.questions.clear();
                core.noise.clear();
                if let Some(s) = core.sink.get() {
                    s.close();
                }
            }
            State::Running => {
                drop(st);
                if let Some(io) = core.io.get() {
                    io.kill.notify_one();
                }
            }
            State::Closed => {
                // a raw dial whose stream JS adopted kept its events (relay pairings) until now
                drop(st);
                core.questions.clear();
                core.noise.clear();
                core.relays.clear();
                if let Some(s) = core.sink.get() {
                    s.close();
                }
            }
        }
    }

    /// Read-side backpressure: `paused` = JS's readable buffer is full.
    #[napi(catch_unwind)]
    pub fn set_paused(&self, paused: bool) {
        self.core.flow.set_paused(paused);
    }

    /// `setKeepAlive(ms)` (0 = off).
    #[napi(catch_unwind)]
    pub fn set_keep_alive(&self, ms: u32) {
        if ms > 0 {
            // secret-stream filters received empty messages from this call on: set here, under
            // the stream's lock, so no message read after it is delivered empty (the timer
            // itself is the task's, through the control channel)
            if let Some(io) = self.io() {
                lock_stream(&io.stream).set_filter_empty_messages(true);
            }
        }
        self.control(Control::KeepAlive(ms));
    }

    /// `setTimeout(ms)` (0 = off): the stream fails when nothing arrives for `ms`.
    #[napi(catch_unwind)]
    pub fn set_timeout(&self, ms: u32) {
        self.control(Control::Timeout(ms));
    }

    /// `[keep-alives sent, empty frames received and filtered]` (JS adds them to
    /// rawBytesWritten / rawBytesRead as secret-stream counts them); zeros until open.
    #[napi(catch_unwind)]
    pub fn keep_alive_counts(&self) -> Vec<f64> {
        match self.io() {
            Some(io) => {
                let (sent, filtered) = lock_stream(&io.stream).keep_alive_counts();
                vec![sent as f64, filtered as f64]
            }
            None => vec![0.0, 0.0],
        }
    }

    #[napi(catch_unwind)]
    pub fn send_keep_alive(&self) {
        self.control(Control::SendKeepAlive);
    }

    /// Test hook (`connection._injectPanic()`): the dial's or the stream's task panics, as a bug
    /// in it would.
    #[napi(catch_unwind)]
    pub fn inject_panic(&self) {
        self.core.trip.trip();
    }
}

impl NativeConnection {
    /// Sends a keep-alive/timeout change (ignored before open, after close, or when saturated).
    fn control(&self, c: Control) {
        if let Some(io) = self.io() {
            let _ = io.ctl.try_send(c);
        }
    }
}
