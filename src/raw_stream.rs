//! Raw UDX streams: `dht.createRawStream()` and `DHT.connectRawStream()` (hyperdht `index.js`,
//! `lib/raw-stream-set.js`). A raw stream is a plaintext UDX stream on the DHT's own socket —
//! the one encrypted connections use — exposed to JS like udx-native's `UDXStream`
//! (lib/raw-stream.js).
//!
//! * `rawCreate()` reserves a fresh stream id on that socket (random, never one a stream on the
//!   socket already has, as `RawStreamSet.add` rolls ids) and returns it; the stream keeps early
//!   datagrams until it is connected (udx-native would drop them and wait for a retransmit).
//! * `rawConnect(id, remoteId, host, port)` connects it and starts one task that moves bytes:
//!   writes come through a bounded queue (full = JS waits for `raw-drain`), reads pause when
//!   JS's readable buffer is full (`rawSetPaused`) or 4 MiB of `raw-data` has not reached JS yet
//!   (`rawAck`), so UDX's receive window slows the peer.
//! * Events go through the DHT's event function with the stream id in `cid`: `raw-data`,
//!   `raw-end`, `raw-drain`, `raw-message`, `raw-close` (with `error` when it failed).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use std::future::Future;

use hyperdht_udx::{UdxError, UdxSocket, UdxStream};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, Notify};

use crate::dht::{emit, NativeDht, Sink};
use crate::events::JsEvent;
use crate::flow::ReadFlow;

/// Writes queued per raw stream before JS is told to wait for `raw-drain`.
const WRITE_QUEUE: usize = 64;
/// Bytes read from UDX per `raw-data` event at most.
const READ_CHUNK: usize = 64 * 1024;
/// Tries at finding a free stream id before giving up (each try succeeds with p ≈ 1).
const ID_TRIES: usize = 64;

enum RawCmd {
    Write(Vec<u8>),
    End,
}

/// One raw stream: reserved (no task yet) until `rawConnect`.
pub(crate) struct RawHandle {
    stream: Arc<Mutex<UdxStream>>,
    /// the task's write queue, once connected
    tx: Option<mpsc::Sender<RawCmd>>,
    blocked: Arc<AtomicBool>,
    kill: Arc<Notify>,
    flow: Arc<ReadFlow>,
}

/// Raw streams of one DHT by stream id (the UDX id, unique on the DHT socket).
pub(crate) type RawStreams = Arc<Mutex<HashMap<u32, RawHandle>>>;

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

/// Destroys every raw stream when the node goes (hyperdht `rawStreams.clear()` in `destroy()`;
/// index.js destroys them one by one first, and on `suspend()`): connected ones send a UDX
/// DESTROY and emit `raw-close`; reserved ones close and emit `raw-close` here.
pub(crate) fn destroy_all(raws: &RawStreams, sink: &Sink) {
    let Ok(mut m) = raws.lock() else { return };
    let reserved: Vec<u32> = m
        .iter()
        .filter(|(_, h)| h.tx.is_none())
        .map(|(id, _)| *id)
        .collect();
    for h in m.values() {
        if h.tx.is_some() {
            h.kill.notify_one();
        }
    }
    for id in reserved {
        if let Some(h) = m.remove(&id) {
            lock_stream(&h.stream).destroy();
            emit(
                sink,
                JsEvent {
                    cid: Some(id),
                    ..JsEvent::named("raw-close")
                },
            );
        }
    }
}

fn with<T>(raws: &RawStreams, id: u32, f: impl FnOnce(&RawHandle) -> T) -> Option<T> {
    raws.lock().ok().and_then(|m| m.get(&id).map(f))
}

#[napi]
impl NativeDht {
    /// `dht.createRawStream()`: a stream reserved on the DHT socket; returns its id (never 0).
    /// Fails only if 64 random ids in a row were taken (JS refuses destroyed nodes first).
    #[napi(catch_unwind)]
    pub fn raw_create(&self) -> Result<u32> {
        let Some(stream) =
            napi::bindgen_prelude::within_runtime_if_available(|| reserve(&self.udx))
        else {
            return Err(Error::from_reason("could not find a free UDX stream id"));
        };
        let id = stream.local_id();
        let handle = RawHandle {
            stream: Arc::new(Mutex::new(stream)),
            tx: None,
            blocked: Arc::new(AtomicBool::new(false)),
            kill: Arc::new(Notify::new()),
            flow: Arc::new(ReadFlow::default()),
        };
        match self.raws.lock() {
            Ok(mut m) => {
                m.insert(id, handle);
                Ok(id)
            }
            Err(_) => {
                lock_stream(&handle.stream).destroy();
                Err(Error::from_reason("raw streams unavailable"))
            }
        }
    }

    /// `rawStream.connect(socket, remoteId, port, host)` on the DHT socket: starts moving bytes.
    /// Returns false if the stream is gone or already connected.
    #[napi(catch_unwind)]
    pub fn raw_connect(&self, id: u32, remote_id: u32, host: String, port: u32) -> Result<bool> {
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
        let addr = SocketAddr::V4(SocketAddrV4::new(ip, port as u16));
        let Ok(mut m) = self.raws.lock() else {
            return Ok(false);
        };
        let Some(h) = m.get_mut(&id) else {
            return Ok(false);
        };
        if h.tx.is_some() {
            return Ok(false);
        }
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        h.tx = Some(tx);
        let stream = h.stream.clone();
        napi::bindgen_prelude::within_runtime_if_available(|| {
            lock_stream(&stream).connect(remote_id, addr);
        });
        let task = Task {
            stream,
            id,
            blocked: h.blocked.clone(),
            flow: h.flow.clone(),
            sink: self.sink.clone(),
        };
        let (kill, raws) = (h.kill.clone(), self.raws.clone());
        drop(m);
        napi::bindgen_prelude::spawn(async move {
            let raw = task.stream.clone();
            let err = tokio::select! {
                r = task.run(rx) => r.err(),
                _ = kill.notified() => {
                    // udx-native `_predestroy`: the peer gets a DESTROY; a local destroy closes
                    // without an error
                    lock_stream(&raw).destroy();
                    None
                }
            };
            if let Ok(mut m) = raws.lock() {
                m.remove(&id);
            }
            emit(
                &task.sink,
                JsEvent {
                    cid: Some(id),
                    error: err,
                    ..JsEvent::named("raw-close")
                },
            );
        });
        Ok(true)
    }

    /// `rawStream.write(data)`: false = queue full, wait for `raw-drain` and retry.
    #[napi(catch_unwind)]
    pub fn raw_write(&self, id: u32, data: &[u8]) -> bool {
        with(&self.raws, id, |h| {
            let Some(tx) = &h.tx else { return true };
            match tx.try_send(RawCmd::Write(data.to_vec())) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    h.blocked.store(true, Ordering::Release);
                    false
                }
                // the task is gone: its raw-close is on the way
                Err(mpsc::error::TrySendError::Closed(_)) => true,
            }
        })
        .unwrap_or(true)
    }

    /// `rawStream.end()`: a UDX END after the queued writes.
    #[napi(catch_unwind)]
    pub fn raw_end(&self, id: u32) {
        if let Some(Some(tx)) = with(&self.raws, id, |h| h.tx.clone()) {
            napi::bindgen_prelude::spawn(async move {
                let _ = tx.send(RawCmd::End).await;
            });
        }
    }

    /// `rawStream.destroy()`: a connected stream sends DESTROY and its task emits `raw-close`;
    /// a reserved one just closes (no event: JS already knows).
    #[napi(catch_unwind)]
    pub fn raw_destroy(&self, id: u32) {
        let Ok(mut m) = self.raws.lock() else { return };
        let connected = match m.get(&id) {
            Some(h) if h.tx.is_some() => {
                h.kill.notify_one();
                true
            }
            Some(_) => false,
            None => return,
        };
        if !connected {
            if let Some(h) = m.remove(&id) {
                lock_stream(&h.stream).destroy();
            }
        }
    }

    /// Read-side backpressure: `paused` = JS's readable buffer is full.
    #[napi(catch_unwind)]
    pub fn raw_set_paused(&self, id: u32, paused: bool) {
        with(&self.raws, id, |h| {
            h.flow.set_paused(paused);
        });
    }

    /// JS took `bytes` of `raw-data` off the event queue (sent in batches).
    #[napi(catch_unwind)]
    pub fn raw_ack(&self, id: u32, bytes: u32) {
        with(&self.raws, id, |h| {
            h.flow.acked(bytes as usize);
        });
    }

    /// `rawStream.send(buffer)` / `trySend`: one unreliable UDX message; false if not sent.
    #[napi(catch_unwind)]
    pub fn raw_send(&self, id: u32, data: &[u8]) -> bool {
        with(&self.raws, id, |h| {
            h.tx.is_some() && lock_stream(&h.stream).send_message(data)
        })
        .unwrap_or(false)
    }

    /// `rawStream.setKeepalive(ms)` (0 = off).
    #[napi(catch_unwind)]
    pub fn raw_set_keep_alive(&self, id: u32, ms: u32) {
        with(&self.raws, id, |h| {
            let ka = (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
            lock_stream(&h.stream).set_keepalive(ka);
        });
    }

    /// `rawStream.rtt` in milliseconds (0 when unknown or gone).
    #[napi(catch_unwind)]
    pub fn raw_rtt(&self, id: u32) -> u32 {
        with(&self.raws, id, |h| lock_stream(&h.stream).rtt())
            .flatten()
            .map_or(0, |d| d.as_millis().min(u128::from(u32::MAX)) as u32)
    }

    /// `rawStream.mtu` (0 when gone).
    #[napi(catch_unwind)]
    pub fn raw_mtu(&self, id: u32) -> u32 {
        with(&self.raws, id, |h| lock_stream(&h.stream).mtu() as u32).unwrap_or(0)
    }
}

/// The task of one connected raw stream.
struct Task {
    stream: Arc<Mutex<UdxStream>>,
    id: u32,
    blocked: Arc<AtomicBool>,
    flow: Arc<ReadFlow>,
    sink: Sink,
}

impl Task {
    fn event(&self, kind: &str, data: Option<Vec<u8>>) {
        emit(
            &self.sink,
            JsEvent {
                cid: Some(self.id),
                data: data.map(Into::into),
                ..JsEvent::named(kind)
            },
        );
    }

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
                self.event("raw-end", None);
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
            self.event("raw-data", Some(chunk));
        }
    }

    async fn write(&self, rx: &mut mpsc::Receiver<RawCmd>) -> std::result::Result<(), String> {
        while let Some(cmd) = rx.recv().await {
            if self.blocked.swap(false, Ordering::AcqRel) {
                self.event("raw-drain", None);
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
            self.event("raw-message", Some(m));
        }
        std::future::pending().await
    }

    /// Moves bytes until the UDX stream closes; `Err` carries the UDX error (`ECONNRESET: ...`).
    async fn run(&self, mut rx: mpsc::Receiver<RawCmd>) -> std::result::Result<(), String> {
        let reader = self.read();
        let writer = self.write(&mut rx);
        let messages = self.messages();
        tokio::pin!(reader, writer, messages);
        let (mut read_done, mut write_done) = (false, false);
        // both halves done cleanly, then the stream closes once the peer acked our END; a
        // failed read or write means the stream closed: its error is taken below
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
                _ = &mut messages => {}
            }
        }
        let stream = self.stream.clone();
        let closed = std::future::poll_fn(move |cx| {
            let g = lock_stream(&stream);
            let fut = g.closed();
            tokio::pin!(fut);
            fut.poll(cx)
        });
        let err = tokio::select! {
            e = closed => e,
            _ = &mut messages => None,
        };
        match err {
            // closed locally (our destroy, or the DHT socket closing): no error, like libudx
            None | Some(UdxError::Destroyed) => Ok(()),
            Some(e) => Err(e.to_string()),
        }
    }
}
