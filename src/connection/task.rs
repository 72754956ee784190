//! The stream task of an open connection: moves bytes between the secret-stream and JS until
//! both sides ended or the stream failed, applying keep-alive/timeout changes on the way.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use hyperdht_core::server::Connection;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;

use super::js_read::JsRead;
use super::{lock_stream, Command, ConnCore, Control, Io, JsConnectionEvent, DESTROYED};

/// Read and write halves sharing the connection behind a mutex (like `tokio::io::split`),
/// so keep-alive/timeout settings can still reach the stream while both halves are in use.
struct Half(Arc<Mutex<Connection>>);

impl Half {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        lock_stream(&self.0)
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

/// Moves bytes until both sides ended (Ok) or the stream failed (the first error wins).
pub(super) async fn run(
    core: &ConnCore,
    io: &Io,
    mut rx: mpsc::Receiver<Command>,
    mut ctl: mpsc::Receiver<Control>,
    js: Option<&(Arc<JsRead>, std::task::Waker)>,
) -> std::result::Result<(), String> {
    let (rd, mut wr) = (Half(io.stream.clone()), Half(io.stream.clone()));
    // the peer ended and its data is all read; the reader goes on driving the timers
    let read_ended = tokio::sync::Notify::new();
    let reader = async {
        read_until_end(core, &rd, &mut ctl, js).await?;
        read_ended.notify_one();
        // secret-stream's keep-alive and timeout run until the stream closes: a half-open
        // connection still sends keep-alives and times out a quiet peer
        loop {
            tokio::select! {
                r = std::future::poll_fn(|cx| rd.lock().poll_timers(cx)) => {
                    return r.map_err(|e| e.to_string());
                }
                Some(c) = ctl.recv() => apply(&mut rd.lock(), c),
            }
        }
    };
    let writer = async {
        while let Some(cmd) = rx.recv().await {
            let bytes = match &cmd {
                Command::Write(v) => v.len(),
                _ => 0,
            };
            if io.gate.taken(bytes) {
                core.emit(JsConnectionEvent::Drain);
            }
            match cmd {
                Command::Write(v) => {
                    wr.write_all(&v).await.map_err(|e| e.to_string())?;
                    // the last queued write is fully handed to UDX before direct writes resume
                    if io.gate.last() {
                        wr.flush().await.map_err(|e| e.to_string())?;
                    }
                    io.gate.done();
                }
                Command::Flush => {
                    wr.flush().await.map_err(|e| e.to_string())?;
                    io.gate.done();
                }
                Command::End => {
                    wr.shutdown().await.map_err(|e| e.to_string())?;
                    return Ok::<(), String>(());
                }
            }
        }
        Err(DESTROYED.to_string())
    };
    let stream_ref = lock_stream(&io.stream).get_ref().downgrade();
    let remote_changes = async {
        let mut seen = 0;
        while let Some(n) = stream_ref.remote_changed(seen).await {
            seen = n;
            core.emit(JsConnectionEvent::RemoteChanged);
        }
        std::future::pending::<()>().await
    };
    // A stream reset or failed once the peer's data is all read (it ended, then destroyed) is
    // noticed by nothing else until our next write: the connection then fails at once, as
    // NoiseSecretStream does when its UDX stream errors
    let failed = async {
        match stream_ref.close_reason().await {
            Some(e) => e.to_string(),
            None => std::future::pending().await,
        }
    };
    tokio::pin!(reader, writer, remote_changes, failed);
    // clean close once the peer ended and we ended; the first error wins
    let (mut read_done, mut write_done) = (false, false);
    while !(read_done && write_done) {
        tokio::select! {
            _ = &mut remote_changes => {}
            e = &mut failed, if read_done => return Err(e),
            _ = read_ended.notified(), if !read_done => read_done = true,
            // the reader ends only by failing (a read error, a timeout)
            r = &mut reader => return r,
            w = &mut writer, if !write_done => {
                w?;
                write_done = true;
            }
        }
    }
    Ok(())
}

/// Reads until the peer ended (Ok) or the stream failed, on the JS thread (`js`) or here,
/// applying keep-alive/timeout changes on the way.
async fn read_until_end(
    core: &ConnCore,
    rd: &Half,
    ctl: &mut mpsc::Receiver<Control>,
    js: Option<&(Arc<JsRead>, std::task::Waker)>,
) -> std::result::Result<(), String> {
    let flow = &core.flow;
    if let Some((js, waker)) = js {
        // the JS thread reads (JsRead); settings changes arm their timers on its next poll
        waker.wake_by_ref();
        loop {
            tokio::select! {
                r = js.finished_or_note_task() => return r,
                Some(c) = ctl.recv() => {
                    apply(&mut rd.lock(), c);
                    waker.wake_by_ref();
                }
            }
        }
    }
    loop {
        while flow.blocked() {
            tokio::select! {
                _ = flow.changed() => {}
                Some(c) = ctl.recv() => apply(&mut rd.lock(), c),
            }
        }
        // settings are applied between reads so the next poll arms their timers;
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
            core.emit(JsConnectionEvent::End);
            return Ok(());
        };
        flow.sent(chunk.len());
        core.emit(JsConnectionEvent::Data { data: chunk.into() });
    }
}
