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

use tokio::sync::{mpsc, Notify};

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
        crate::rt::within(|| {
            std::pin::Pin::new(w).poll_write(&mut cx, data)
        }),
        std::task::Poll::Ready(Ok(n)) if n == data.len()
    )
}

/// Writes queued per connection or raw stream (only writes the stream could not take at once
/// wait here) before JS is told to wait for `drain`; [`WRITE_QUEUE_BYTES`] usually comes first.
pub(crate) const WRITE_QUEUE: usize = 64;

/// Queued write bytes from which a write is refused (JS waits for `drain`). 64 queued 64 KiB
/// writes held 4 MiB per bulk sender on top of UDX's send buffer (which keeps the send window
/// plus 256 KiB); on the same-process 256 MiB bench (bulk.js, 5 runs each) 256 KiB gave
/// 350-367 MB/s and a 98 MiB peak RSS, 1 MiB 437-676 MB/s and 99-103 MiB, 4 MiB 572-701 MB/s
/// and 104-106 MiB: a stream task that runs dry while the shared JS thread delivers the
/// other end's data costs throughput.
pub(crate) const WRITE_QUEUE_BYTES: usize = 1024 * 1024;

/// What [`WriteGate::push`] did with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// refused: JS waits for `drain`, which the task emits as it takes the next command
    Full,
    /// the task is gone (its `close` is on the way)
    Closed,
}

/// The write side's accounting between JS and a stream task's bounded command queue
/// (connections and raw streams alike): how many commands are queued (direct writes on the JS
/// thread only when none is, so bytes never overtake queued ones), how many bytes (refused from
/// [`WRITE_QUEUE_BYTES`]), and whether a refused writer waits for `drain`.
///
/// No lost `drain`: a refusal sets `blocked` and then looks at the queue again; the task takes
/// a command off the queue, subtracts its bytes and only then clears `blocked` (emitting
/// `drain` if it was set). A command taken between the first look and the flag is seen by the
/// second look; one taken after the flag clears it and emits.
#[derive(Default)]
pub(crate) struct WriteGate {
    queued: AtomicUsize,
    bytes: AtomicUsize,
    blocked: AtomicBool,
}

impl WriteGate {
    /// Nothing queued: a write may go to the stream directly.
    pub fn idle(&self) -> bool {
        self.queued.load(Ordering::SeqCst) == 0
    }

    /// Only the command being run is left (the task flushes after the last queued write).
    pub fn last(&self) -> bool {
        self.queued.load(Ordering::SeqCst) == 1
    }

    /// Queues the command `make()` builds (`bytes` long) on `tx` unless the queue holds
    /// [`WRITE_QUEUE_BYTES`] or is full.
    pub fn push<C>(&self, tx: &mpsc::Sender<C>, bytes: usize, make: impl FnOnce() -> C) -> Pushed {
        if bytes > 0 && !self.room() {
            return Pushed::Full;
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
        let retry = match tx.try_send(make()) {
            Ok(()) => return Pushed::Queued,
            Err(mpsc::error::TrySendError::Full(c)) => {
                self.blocked.store(true, Ordering::SeqCst);
                tx.try_send(c)
            }
            Err(e) => Err(e),
        };
        match retry {
            Ok(()) => Pushed::Queued,
            Err(e) => {
                self.queued.fetch_sub(1, Ordering::SeqCst);
                self.bytes.fetch_sub(bytes, Ordering::SeqCst);
                match e {
                    mpsc::error::TrySendError::Full(_) => Pushed::Full,
                    mpsc::error::TrySendError::Closed(_) => Pushed::Closed,
                }
            }
        }
    }

    fn room(&self) -> bool {
        if self.bytes.load(Ordering::SeqCst) < WRITE_QUEUE_BYTES {
            return true;
        }
        self.blocked.store(true, Ordering::SeqCst);
        self.bytes.load(Ordering::SeqCst) < WRITE_QUEUE_BYTES
    }

    /// The task took a command of `bytes` off the queue: true = emit `drain`.
    pub fn taken(&self, bytes: usize) -> bool {
        self.bytes.fetch_sub(bytes, Ordering::SeqCst);
        self.blocked.swap(false, Ordering::SeqCst)
    }

    /// The task finished a command it took.
    pub fn done(&self) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes queue until their bytes reach the bound; the refused writer is sent one `drain`
    /// when the task takes the next write, after which writes queue again.
    #[test]
    fn writes_are_refused_from_the_byte_bound_and_drained_once() {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
        let gate = WriteGate::default();
        let chunk = 64 * 1024;
        let mut queued = 0;
        while gate.push(&tx, chunk, || vec![0; chunk]) == Pushed::Queued {
            queued += chunk;
        }
        assert_eq!(queued, WRITE_QUEUE_BYTES);
        assert!(!gate.idle());
        let first = rx.try_recv().expect("queued");
        assert!(gate.taken(first.len()), "drain for the refused writer");
        gate.done();
        assert_eq!(gate.push(&tx, chunk, || vec![0; chunk]), Pushed::Queued);
        let next = rx.try_recv().expect("queued");
        assert!(!gate.taken(next.len()), "one drain per refusal");
        gate.done();
        while let Ok(v) = rx.try_recv() {
            gate.taken(v.len());
            gate.done();
        }
        assert!(gate.idle());
    }

    /// Small writes are bounded by the queue's length; a gone task reports `Closed`.
    #[test]
    fn a_full_queue_refuses_and_a_closed_one_says_so() {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
        let gate = WriteGate::default();
        for _ in 0..WRITE_QUEUE {
            assert_eq!(gate.push(&tx, 1, || vec![1]), Pushed::Queued);
        }
        assert_eq!(gate.push(&tx, 1, || vec![1]), Pushed::Full);
        let v = rx.try_recv().expect("queued");
        assert!(gate.taken(v.len()));
        drop(rx);
        assert_eq!(gate.push(&tx, 1, || vec![1]), Pushed::Closed);
    }
}
