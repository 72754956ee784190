//! Work that runs on the JS thread itself, woken from any thread (issue 16): a tiny executor
//! whose wakers queue a job and, at most once per event-loop turn, poke the Node event loop
//! through one weak (unref'd) ThreadsafeFunction; its callback then runs every queued job on the
//! JS thread.
//!
//! A connection's reader is such a job (src/connection/js_read.rs; on unless
//! `HYPERDHT_RS_JSLOOP=0`): the UDX
//! socket driver that received a packet wakes it, and the JS thread decrypts and emits the
//! `data` event itself. One delivery then crosses one sleeping thread (socket driver → JS)
//! instead of two or three (driver → connection task, maybe on the other worker → JS), and a
//! wake-up raised on the JS thread (a read that resumes, a packet received there) costs no
//! thread switch at all. udx-native reads on the JS thread too (its `uv_poll` callback).

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Wake, Waker};

use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::uvloop::{with_callback_scope, AsyncContext};

/// Whether the DHT socket and connections are read on the JS thread: yes unless
/// `HYPERDHT_RS_JSLOOP=0` (read once per process; `0` keeps receiving on tokio workers).
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("HYPERDHT_RS_JSLOOP").map_or(true, |v| v != "0"))
}

/// Weak: a pending poke does not keep Node alive (the objects whose jobs it runs do).
type PokeFn = ThreadsafeFunction<(), (), (), Status, false, true>;

/// Jobs waiting for the next turn of the JS thread.
#[derive(Default)]
struct Queue {
    jobs: Mutex<Vec<Arc<Job>>>,
    /// a poke is on its way (cleared by the callback before it runs the jobs)
    poked: AtomicBool,
}

impl Queue {
    fn take(&self) -> Vec<Arc<Job>> {
        std::mem::take(&mut *self.jobs.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn run_all(&self) {
        self.poked.store(false, Ordering::SeqCst);
        for job in self.take() {
            job.run();
        }
    }

    /// [`Queue::run_all`] with JS functions callable directly on `env` ([`direct_env`]):
    /// call only where JS may run (a callback scope is open).
    fn run_all_direct(&self, env: sys::napi_env) {
        let prev = DIRECT.with(|d| d.replace(env as usize));
        self.run_all();
        DIRECT.with(|d| d.set(prev));
    }
}

/// The environment whose JS functions the running job may call directly (None: emit through
/// the object's ThreadsafeFunction instead). Set while jobs run from the loop's poke or from
/// [`JsLoop::run_queued`], both inside a node callback scope.
pub(crate) fn direct_env() -> Option<Env> {
    let e = DIRECT.with(|d| d.get());
    (e != 0).then(|| Env::from_raw(e as sys::napi_env))
}

/// The executor of one JS thread (one Node environment).
pub(crate) struct JsLoop {
    queue: Arc<Queue>,
    poke: PokeFn,
    /// the environment (a `napi_env`), only used on its JS thread
    env: usize,
    /// for the callback scope of [`JsLoop::run_queued`]
    ctx: Option<AsyncContext>,
}

thread_local! {
    /// This thread's executor, with the environment it belongs to.
    static CURRENT: RefCell<Option<(usize, Arc<JsLoop>)>> = const { RefCell::new(None) };
    /// The executor whose [`Turn`] is open on this thread (its wakers only queue).
    static IN_TURN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// See [`direct_env`].
    static DIRECT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// While alive, jobs of its executor woken on this thread are queued without poking the loop:
/// the code that opened it runs them ([`JsLoop::run_queued`]) before returning to the loop.
pub(crate) struct Turn {
    prev: usize,
}

impl Drop for Turn {
    fn drop(&mut self) {
        IN_TURN.with(|t| t.set(self.prev));
    }
}

impl JsLoop {
    /// The executor of `env` (created on first use); call on its JS thread.
    pub(crate) fn of(env: &Env) -> Result<Arc<JsLoop>> {
        let key = env.raw() as usize;
        if let Some(l) = CURRENT.with(|c| {
            c.borrow()
                .as_ref()
                .filter(|(k, _)| *k == key)
                .map(|(_, l)| l.clone())
        }) {
            return Ok(l);
        }
        let queue = Arc::new(Queue::default());
        let q = queue.clone();
        let noop = env.create_function_from_closure::<(), (), _>("hyperdhtJsLoop", |_| Ok(()))?;
        let poke = noop
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |ctx| {
                // node runs ThreadsafeFunction callbacks in a callback scope
                q.run_all_direct(ctx.env.raw());
                Ok(())
            })?;
        let l = Arc::new(JsLoop {
            queue,
            poke,
            env: key,
            ctx: AsyncContext::new(env).ok(),
        });
        CURRENT.with(|c| *c.borrow_mut() = Some((key, l.clone())));
        // the received-data slab of this env goes with it (src/uvloop.rs)
        let _ = env.add_env_cleanup_hook(key, |key| {
            crate::uvloop::slab_release(&Env::from_raw(key as sys::napi_env))
        });
        Ok(l)
    }

    /// Opens a [`Turn`] (call on the JS thread).
    pub(crate) fn turn(self: &Arc<Self>) -> Turn {
        let me = Arc::as_ptr(self) as usize;
        Turn {
            prev: IN_TURN.with(|t| t.replace(me)),
        }
    }

    /// Runs the queued jobs now, in a callback scope so they may call JS directly (call on the
    /// JS thread from a libuv callback, with no JS on the stack).
    pub(crate) fn run_queued(&self) {
        let env = Env::from_raw(self.env as sys::napi_env);
        match &self.ctx {
            Some(ctx) => with_callback_scope(&env, ctx, |ok| match ok {
                true => self.queue.run_all_direct(env.raw()),
                false => self.queue.run_all(),
            }),
            None => self.queue.run_all(),
        }
    }

    /// A job running `f(waker)` on the JS thread each time `waker` is woken (at most once per
    /// turn however often it is woken meanwhile). A panic in `f` runs `on_panic` instead, and
    /// the job is not run again.
    pub(crate) fn job(
        self: &Arc<Self>,
        f: impl Fn(&Waker) + Send + Sync + 'static,
        on_panic: impl Fn() + Send + Sync + 'static,
    ) -> Waker {
        Waker::from(Arc::new(Job {
            exec: self.clone(),
            scheduled: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            f: Box::new(f),
            on_panic: Box::new(on_panic),
        }))
    }
}

struct Job {
    exec: Arc<JsLoop>,
    scheduled: AtomicBool,
    dead: AtomicBool,
    #[allow(clippy::type_complexity)]
    f: Box<dyn Fn(&Waker) + Send + Sync>,
    on_panic: Box<dyn Fn() + Send + Sync>,
}

impl Job {
    fn run(self: Arc<Self>) {
        self.scheduled.store(false, Ordering::SeqCst);
        if self.dead.load(Ordering::Acquire) {
            return;
        }
        let waker = Waker::from(self.clone());
        if catch_unwind(AssertUnwindSafe(|| (self.f)(&waker))).is_err() {
            self.dead.store(true, Ordering::Release);
            (self.on_panic)();
        }
    }
}

impl Wake for Job {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.scheduled.swap(true, Ordering::SeqCst) || self.dead.load(Ordering::Acquire) {
            return;
        }
        let exec = &self.exec;
        exec.queue
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(self.clone());
        if IN_TURN.with(|t| t.get()) == Arc::as_ptr(exec) as usize {
            return;
        }
        if !exec.queue.poked.swap(true, Ordering::SeqCst) {
            // NonBlocking on an unbounded queue; Closing only once the environment is gone
            let _ = exec.poke.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}
