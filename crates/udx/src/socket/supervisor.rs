//! Supervision of the socket's driver task (issue 14 #8): a panic in it used to stop every
//! stream's timers silently (no retransmits, no timeouts; readers and writers waited forever).
//! Now every stream closes with [`UdxError::DriverFailed`], waking everyone waiting on it, and
//! streams created afterwards start closed.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{lock, run, SocketInner};
use crate::UdxError;

/// Spawns the driver and a watcher that closes every stream if it panics.
pub(super) fn spawn_driver(inner: Arc<SocketInner>) {
    let task = tokio::spawn(run(inner.clone()));
    tokio::spawn(async move {
        if let Err(e) = task.await {
            if e.is_panic() {
                fail_all(&inner);
            }
        }
    });
}

fn fail_all(inner: &SocketInner) {
    inner.failed.store(true, Ordering::Release);
    inner.closing.store(true, Ordering::Release);
    let streams: Vec<_> = match inner.streams.lock() {
        Ok(m) => m.values().cloned().collect(),
        Err(p) => p.into_inner().values().cloned().collect(),
    };
    for s in streams {
        fail_stream(&mut lock(&s));
    }
}

/// Closes one stream with `DriverFailed` and wakes whoever waits on it.
pub(super) fn fail_stream(g: &mut super::Inner) {
    if !g.closed {
        g.closed = true;
        g.error = Some(UdxError::DriverFailed);
    }
    let wakers = [
        g.read_waker.take(),
        g.write_waker.take(),
        g.message_waker.take(),
    ];
    for w in wakers.into_iter().flatten() {
        w.wake();
    }
    for w in g.state_wakers.drain(..).chain(g.close_wakers.drain(..)) {
        w.wake();
    }
}

/// Test hook: the driver panics on its next turn.
pub(super) fn inject_panic(inner: &SocketInner) {
    inner.panic_next.store(true, Ordering::Relaxed);
    inner.notify.notify_one();
}
