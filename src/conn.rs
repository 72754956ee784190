//! Encrypted connections for `dht.connect()` / `server.listen()`: each connection runs as one
//! task owning the secret-stream; its events go through the owning DHT's event function with a
//! connection id; writes come in through a bounded queue (a full queue = backpressure in JS).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hyperdht_core::server::Connection;
use napi::bindgen_prelude::Buffer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

use crate::dht::{emit, Sink};
use crate::events::JsEvent;

/// Writes queued per connection before JS is told to wait for `drain`.
const WRITE_QUEUE: usize = 64;

const DESTROYED: &str = "DESTROYED: Connection destroyed";

pub(crate) enum ConnCmd {
    Write(Vec<u8>),
    End,
}

pub(crate) struct ConnHandle {
    pub tx: mpsc::Sender<ConnCmd>,
    pub blocked: Arc<AtomicBool>,
    /// `destroy()`: wakes the task even when the write queue is full
    pub kill: Arc<Notify>,
}

/// Destroys one connection (its task emits `conn-close` with DESTROYED).
pub(crate) fn destroy_one(conns: &Conns, cid: u32) {
    if let Ok(m) = conns.lock() {
        if let Some(h) = m.get(&cid) {
            h.kill.notify_one();
        }
    }
}

/// Destroys every live connection (DHT teardown, like hyperdht's `rawStreams.clear()`).
pub(crate) fn destroy_all(conns: &Conns) {
    if let Ok(m) = conns.lock() {
        for h in m.values() {
            h.kill.notify_one();
        }
    }
}

pub(crate) type Conns = Arc<Mutex<HashMap<u32, ConnHandle>>>;

/// Registers a connection and spawns its task. `sid` is set for server-side connections.
pub(crate) fn spawn_connection(
    conns: &Conns,
    sink: Sink,
    cid: u32,
    sid: Option<u32>,
    conn: Connection,
) {
    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
    let blocked = Arc::new(AtomicBool::new(false));
    let kill = Arc::new(Notify::new());
    if let Ok(mut m) = conns.lock() {
        m.insert(
            cid,
            ConnHandle {
                tx,
                blocked: blocked.clone(),
                kill: kill.clone(),
            },
        );
    }
    let remote = conn.get_ref().remote();
    emit(
        &sink,
        JsEvent {
            cid: Some(cid),
            sid,
            remote_public_key: Some(conn.remote_public_key().to_vec().into()),
            public_key: Some(conn.public_key().to_vec().into()),
            handshake_hash: Some(conn.handshake_hash().to_vec().into()),
            remote_host: remote.map(|r| r.ip().to_string()),
            remote_port: remote.map(|r| r.port() as u32),
            ..JsEvent::named("conn-open")
        },
    );
    let conns = conns.clone();
    tokio::spawn(async move {
        let err = tokio::select! {
            r = run(conn, cid, rx, blocked, &sink) => r.err(),
            _ = kill.notified() => Some(DESTROYED.to_string()),
        };
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
}

async fn run(
    conn: Connection,
    cid: u32,
    mut rx: mpsc::Receiver<ConnCmd>,
    blocked: Arc<AtomicBool>,
    sink: &Sink,
) -> Result<(), String> {
    let (mut rd, mut wr) = tokio::io::split(conn);
    let reader = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = rd.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                emit(
                    sink,
                    JsEvent {
                        cid: Some(cid),
                        ..JsEvent::named("conn-end")
                    },
                );
                return Ok::<(), String>(());
            }
            let data: Buffer = buf[..n].to_vec().into();
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
            if blocked.swap(false, Ordering::AcqRel) {
                emit(
                    sink,
                    JsEvent {
                        cid: Some(cid),
                        ..JsEvent::named("conn-drain")
                    },
                );
            }
            match cmd {
                ConnCmd::Write(v) => wr.write_all(&v).await.map_err(|e| e.to_string())?,
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
