//! A connection's reader on the JS thread (issue 16; off with `HYPERDHT_RS_JSLOOP=0`): the socket's
//! receive path wakes it (src/server_recv.rs, src/jsloop.rs), it decrypts and emits the `data`
//! events there, calling the JS callback directly when that overtakes nothing. The stream task
//! (`run` in the parent module) keeps the writer and waits for this reader's outcome.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::FunctionRef;
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

use super::{lock_stream, ConnCore, Io, JsConnectionEvent, TASK_PANICKED};
use crate::jsloop::JsLoop;
use crate::uvloop::SlabData;

/// Bytes one turn of a JS-thread reader emits before it lets the event loop run (it is woken
/// again at once).
const JS_TURN_BYTES: usize = 1024 * 1024;

/// A connection's reader running on the JS thread (src/jsloop.rs): the
/// socket driver's wake-up makes the JS thread decrypt and emit the `data` events itself, one
/// thread hop per delivery instead of two or three. The stream task waits for its outcome.
#[derive(Default)]
pub(super) struct JsRead {
    /// the reader's end: Ok at the peer's end, Err when the stream failed
    result: Mutex<Option<std::result::Result<(), String>>>,
    done: Notify,
    /// the stream task is over, or the reader ended: nothing more is read
    pub(super) stopped: std::sync::atomic::AtomicBool,
    /// the stream task's waker, also woken by a read that had to push pending output (see
    /// [`JsRead::turn`])
    pub(super) task: Mutex<Option<std::task::Waker>>,
}

/// Wakes both the JS-thread reader and the stream task.
struct Both(std::task::Waker, std::task::Waker);

impl std::task::Wake for Both {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.wake_by_ref();
        self.1.wake_by_ref();
    }
}

impl JsRead {
    /// A reader for `core` on the JS loop `l`, and the waker that schedules its turns.
    pub(super) fn start(l: &Arc<JsLoop>, core: &Arc<ConnCore>) -> (Arc<JsRead>, std::task::Waker) {
        let js = Arc::new(JsRead::default());
        let (weak, me) = (Arc::downgrade(core), js.clone());
        let failed = js.clone();
        let waker = l.job(
            move |waker| {
                let Some(core) = weak.upgrade() else { return };
                if let Some(io) = core.io.get() {
                    me.turn(&core, io, waker);
                }
            },
            move || failed.finish(Err(TASK_PANICKED.to_string())),
        );
        (js, waker)
    }

    fn finish(&self, r: std::result::Result<(), String>) {
        self.stopped.store(true, Ordering::Release);
        let mut g = self.result.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(r);
        }
        drop(g);
        self.done.notify_one();
    }

    /// Resolves with the reader's end; meanwhile keeps the stream task's waker at hand.
    pub(super) async fn finished_or_note_task(&self) -> std::result::Result<(), String> {
        std::future::poll_fn(|cx| {
            let mut t = self.task.lock().unwrap_or_else(|p| p.into_inner());
            if !t.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *t = Some(cx.waker().clone());
            }
            Poll::Ready(())
        })
        .await;
        loop {
            if let Some(r) = self.result.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return r;
            }
            self.done.notified().await;
        }
    }

    /// One turn on the JS thread: emits what the stream has, until it would wait, JS's
    /// buffer is full, or [`JS_TURN_BYTES`] went out.
    fn turn(&self, core: &ConnCore, io: &Io, waker: &std::task::Waker) {
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        let flow = &core.flow;
        // A read pushes the secret-stream's pending output (keep-alives, the rest of a large
        // write), registering its waker as the transport's writer. The stream task's writer may
        // be waiting for that output to go: whenever a read finds output pending (checked under
        // the same lock as the read, as the task writes from another thread), it registers a
        // waker that wakes the task too.
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut cx = Context::from_waker(waker);
        let mut bytes = 0;
        loop {
            if flow.blocked() {
                flow.wake_on_change(waker);
                if flow.blocked() {
                    return;
                }
            }
            let (r, output_changed) = crate::rt::within(|| {
                let mut s = lock_stream(&io.stream);
                let before = s.has_pending_output();
                let r = match task.as_ref().filter(|_| before) {
                    Some(t) => {
                        let both = Waker::from(Arc::new(Both(waker.clone(), t.clone())));
                        s.poll_read_chunk(&mut Context::from_waker(&both))
                    }
                    None => s.poll_read_chunk(&mut cx),
                };
                (r, before != s.has_pending_output())
            });
            // the read sent all the pending output (a writer may wait for it), or left a
            // keep-alive pending under this reader's waker alone: the task looks again
            if output_changed {
                if let Some(t) = task.as_ref() {
                    t.wake_by_ref();
                }
            }
            match r {
                Poll::Pending => return,
                Poll::Ready(Ok(Some(chunk))) => {
                    let n = chunk.len();
                    bytes += n;
                    if let Some(chunk) = deliver_data_direct(core, chunk) {
                        flow.sent(n);
                        core.emit(JsConnectionEvent::Data { data: chunk.into() });
                    }
                    if bytes >= JS_TURN_BYTES {
                        waker.wake_by_ref();
                        return;
                    }
                }
                Poll::Ready(Ok(None)) => {
                    if let Some(ev) = deliver_direct(core, JsConnectionEvent::End) {
                        core.emit(ev);
                    }
                    self.finish(Ok(()));
                    return;
                }
                Poll::Ready(Err(e)) => {
                    self.finish(Err(e.to_string()));
                    return;
                }
            }
        }
    }
}

/// Hands `chunk` to the connection's JS data callback (`setOnData`) right here when that is
/// allowed (as for [`deliver_direct`]); else gives it back, to be emitted as a `data` event.
fn deliver_data_direct(core: &ConnCore, chunk: Vec<u8>) -> Option<Vec<u8>> {
    call_direct(core, &core.data_fn, SlabData(chunk)).map(|d| d.0)
}

/// Calls the connection's JS callback with `ev` right here when that is allowed (a JS-thread
/// job in a callback scope, src/jsloop.rs) and overtakes nothing (every event emitted before
/// was handed to JS); else gives `ev` back, to be emitted. An exception thrown by the callback
/// becomes an uncaught exception, as from a ThreadsafeFunction.
fn deliver_direct(core: &ConnCore, ev: JsConnectionEvent) -> Option<JsConnectionEvent> {
    call_direct(core, &core.js_fn, ev)
}

/// Calls the JS function in `slot` with `arg` if a direct call is allowed now (see
/// [`deliver_direct`]); else gives `arg` back.
fn call_direct<A: napi::bindgen_prelude::JsValuesTupleIntoVec>(
    core: &ConnCore,
    slot: &Mutex<Option<FunctionRef<A, ()>>>,
    arg: A,
) -> Option<A> {
    let (Some(env), Some(sink)) = (crate::jsloop::direct_env(), core.sink.get()) else {
        return Some(arg);
    };
    if !sink.is_idle() {
        return Some(arg);
    }
    // the function itself, taken out of the lock: JS may close the connection meanwhile
    let f = {
        let g = slot.lock().unwrap_or_else(|p| p.into_inner());
        match g.as_ref().map(|f| f.borrow_back(&env)) {
            Some(Ok(f)) => f,
            _ => return Some(arg),
        }
    };
    if let Err(e) = f.call(arg) {
        env.fatal_exception(e);
    }
    None
}
