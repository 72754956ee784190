//! Read-side backpressure between a native stream task and its JS Readable (connections and raw
//! streams alike): reading stops while JS's `push()` returned false (`paused`, until `_read()`),
//! and while more than [`MAX_UNACKED`] bytes were sent to JS but not yet taken off the event
//! queue (`unacked`; a data event's bytes are acknowledged as it is handed to JS, in the event
//! sink's delivery hook). The second bound keeps the event queue (and so memory) bounded when the
//! JS thread is busy and has not yet run the `push()` that would pause us; UDX's receive window
//! then slows the peer. What JS holds is at most its high-water mark (1 MiB, lib/read-flow.js),
//! plus what was queued when it paused (at most `MAX_UNACKED`), plus one read.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::Waker;

use tokio::sync::Notify;

/// Bytes sent to JS and not yet acknowledged before reading stops: 3 MiB, so that a stream whose
/// reader stalls holds at most 4 MiB (plus one read) in JS. Acknowledged per event as JS takes
/// it, a window this size does not slow a single connection (a 1 MiB window acknowledged by JS
/// in 256 KiB batches cost ~10% on the 2-vCPU bench: the reader paused whenever JS lagged).
pub(crate) const MAX_UNACKED: usize = 3 * 1024 * 1024;

#[derive(Default)]
pub(crate) struct ReadFlow {
    paused: AtomicBool,
    unacked: AtomicUsize,
    resume: Notify,
    /// a reader on the JS thread (src/jsloop.rs) waiting for the same changes
    waker: Mutex<Option<Waker>>,
}

impl ReadFlow {
    /// JS's readable buffer is full (`paused`) or has room again.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Release);
        if !paused {
            self.resume.notify_one();
            self.wake();
        }
    }

    /// `n` bytes were handed to the event queue.
    pub fn sent(&self, n: usize) {
        self.unacked.fetch_add(n, Ordering::AcqRel);
    }

    /// JS took `n` bytes off the event queue.
    pub fn acked(&self, n: usize) {
        let _ = self
            .unacked
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(n))
            });
        self.resume.notify_one();
        self.wake();
    }

    /// Reading must wait.
    pub fn blocked(&self) -> bool {
        self.paused.load(Ordering::Acquire) || self.unacked.load(Ordering::Acquire) > MAX_UNACKED
    }

    /// Resolves on the next `set_paused(false)` or `acked` (a permit is stored, so a change
    /// between a `blocked()` check and this wait is not lost).
    pub async fn changed(&self) {
        self.resume.notified().await
    }

    /// Wakes `waker` on the next `set_paused(false)` or `acked` (a reader that found
    /// [`ReadFlow::blocked`] registers, then looks again).
    pub fn wake_on_change(&self, waker: &Waker) {
        *self.waker.lock().unwrap_or_else(|p| p.into_inner()) = Some(waker.clone());
    }

    fn wake(&self) {
        let w = self.waker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// The write side's fast path (connections and raw streams): offers `data` to `w` once on the
/// calling (JS) thread, with a waker that does nothing; true if it took every byte now. The
/// caller has checked that nothing it queued for its task is still waiting, so bytes never
/// overtake queued ones, and hands anything not taken to that task.
pub(crate) fn write_now<W: tokio::io::AsyncWrite + Unpin>(w: &mut W, data: &[u8]) -> bool {
    let mut cx = std::task::Context::from_waker(Waker::noop());
    matches!(
        napi::bindgen_prelude::within_runtime_if_available(|| {
            std::pin::Pin::new(w).poll_write(&mut cx, data)
        }),
        std::task::Poll::Ready(Ok(n)) if n == data.len()
    )
}
