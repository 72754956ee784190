//! Rust → JS events. Every native object (`NativeDht`, `NativeServer`, `NativeConnection`,
//! `NativeQuery`, `NativeRawStream`) delivers its own typed events (a structured enum per class,
//! `{type: 'kebab-name', ...fields}` in JS) to the callback of the JS object that owns it,
//! through one [`Sink`]: a ref'd ThreadsafeFunction that keeps the Node event loop alive while
//! the object is live, like a libuv handle, and is released when the object closes. This file
//! holds the sink and the value types several event kinds share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

#[napi(object)]
#[derive(Default)]
pub struct JsPeer {
    pub public_key: Buffer,
    /// "host:port" strings are avoided: relay addresses are `{host, port}`.
    pub relay_addresses: Vec<JsAddress>,
}

#[napi(object)]
#[derive(Default, Clone)]
pub struct JsAddress {
    pub host: String,
    pub port: u32,
}

/// One reply of a query (or ping), flat; JS shapes it per query kind (index.js `mapReply`).
#[napi(object)]
#[derive(Default)]
pub struct JsReply {
    pub tid: Option<u32>,
    pub rtt: Option<u32>,
    pub from_id: Option<Buffer>,
    pub from_host: String,
    pub from_port: u32,
    pub to_host: Option<String>,
    pub to_port: Option<u32>,
    pub token: Option<Buffer>,
    /// packed ipv4Address entries (6 bytes each); index.js decodes them on first use
    pub closer_nodes: Option<Buffer>,
    pub error: Option<u32>,
    pub value: Option<Buffer>,
    /// lookup/announce: decoded lookupRawReply
    pub peers: Option<Vec<JsPeer>>,
    pub bump: Option<f64>,
    /// findPeer: decoded peer record
    pub peer: Option<JsPeer>,
    /// mutable get/put
    pub seq: Option<f64>,
    pub signature: Option<Buffer>,
}

/// Final result attached to an `end` event (e.g. mutablePut's signature).
#[napi(object)]
#[derive(Default)]
pub struct JsResult {
    pub signature: Option<Buffer>,
    /// replies received, where only some were sent as `reply` events (the query's `successes`)
    pub successes: Option<u32>,
}

/// A routing-table entry as dht-rpc keeps it (`{id, host, port, to, sampled, added, pinged,
/// seen, downHints}`; the tick fields count dht-rpc's 5 s ticks).
#[napi(object)]
#[derive(Default)]
pub struct JsNode {
    pub id: Buffer,
    pub host: String,
    pub port: u32,
    /// our address as this node saw it when sampled (null for nodes added by address)
    pub to: Option<JsAddress>,
    pub sampled: f64,
    pub added: f64,
    pub pinged: f64,
    pub seen: f64,
    pub down_hints: u32,
}

/// An application request for `dht.onrequest(req)` (dht-rpc io.js `Request`).
#[napi(object)]
#[derive(Default)]
pub struct JsAppRequest {
    /// the id to pass to `requestReply` / `requestRelay`
    pub id: u32,
    pub tid: u32,
    pub from_id: Option<Buffer>,
    pub from_host: String,
    pub from_port: u32,
    pub to_host: String,
    pub to_port: u32,
    pub token: Option<Buffer>,
    pub command: f64,
    pub target: Option<Buffer>,
    pub value: Option<Buffer>,
}

/// A decoded `pluginRequest` plus its outer dht-rpc request (hyperdht persistent.js `onplugin`).
#[napi(object)]
#[derive(Default)]
pub struct JsPluginRequest {
    /// the id to pass to `pluginReply`
    pub id: u32,
    pub plugin: String,
    pub version: f64,
    pub command: f64,
    pub value: Option<Buffer>,
    /// the outer request
    pub tid: u32,
    pub from_id: Option<Buffer>,
    pub from_host: String,
    pub from_port: u32,
    pub to_host: String,
    pub to_port: u32,
    pub token: Option<Buffer>,
    pub target: Option<Buffer>,
    pub outer_value: Option<Buffer>,
}

/// Sinks whose ThreadsafeFunction is not released yet: each keeps Node's event loop alive
/// (`liveEventSinks()`, for tests asserting that destroyed objects let Node exit).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many event sinks still hold Node's event loop open.
pub fn live_sinks() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The ThreadsafeFunction behind a [`Sink`]: one event value per call, no error-first argument.
pub type EventFn<E> = ThreadsafeFunction<E, (), E, Status, false>;

/// One native object's event channel to the JS callback of its owner. Live until [`close`]
/// (or [`emit_last`]): the ThreadsafeFunction is then released, so it no longer keeps Node
/// alive, and events already queued are still delivered (Node empties a released function's
/// queue before finalizing it). Later events are dropped.
///
/// Calls never block a tokio worker (NonBlocking on an unbounded queue): the volume is bounded
/// by the engine (control events, query replies) and, for stream data, by the read flow
/// (src/flow.rs), which stops reading while too many bytes are queued towards JS.
///
/// [`close`]: Sink::close
/// [`emit_last`]: Sink::emit_last
pub struct Sink<E: ToNapiValue + 'static> {
    tsfn: Mutex<Option<EventFn<E>>>,
    /// events queued and not yet handed to JS (None: not counted, see [`Sink::is_idle`])
    pending: Option<Arc<AtomicUsize>>,
}

impl<E: ToNapiValue + 'static> Sink<E> {
    /// A sink calling `cb(event)` on the JS thread.
    pub fn new(cb: Function<E, ()>) -> Result<Self> {
        let tsfn = cb
            .build_threadsafe_function::<E>()
            .callee_handled::<false>()
            .build()?;
        Ok(Self::from_fn(tsfn))
    }

    /// A sink that runs `delivered(&event)` on the JS thread as each event is taken off the
    /// queue, right before JS gets it (the read flow's acknowledgement).
    pub fn with_delivery(
        cb: Function<E, ()>,
        mut delivered: impl FnMut(&E) + 'static,
    ) -> Result<Self> {
        let pending = Arc::new(AtomicUsize::new(0));
        let p = pending.clone();
        let tsfn = cb
            .build_threadsafe_function::<E>()
            .callee_handled::<false>()
            .build_callback(move |ctx| {
                p.fetch_sub(1, Ordering::AcqRel);
                delivered(&ctx.value);
                Ok(ctx.value)
            })?;
        LIVE.fetch_add(1, Ordering::Relaxed);
        Ok(Sink {
            tsfn: Mutex::new(Some(tsfn)),
            pending: Some(pending),
        })
    }

    /// True when every event emitted so far has been handed to JS (and the sink is open): one
    /// may then call the JS callback directly without overtaking any (issue 16, src/jsloop.rs).
    /// Only sinks made by [`Sink::with_delivery`] count; the others are never idle.
    pub fn is_idle(&self) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| p.load(Ordering::Acquire) == 0)
            && self.lock().is_some()
    }

    /// A sink around a ThreadsafeFunction napi already built from a JS callback argument.
    pub fn from_fn(tsfn: EventFn<E>) -> Self {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Sink {
            tsfn: Mutex::new(Some(tsfn)),
            pending: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<EventFn<E>>> {
        self.tsfn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `ev` for JS; false when the sink is closed (the event is dropped).
    pub fn emit(&self, ev: E) -> bool {
        match self.lock().as_ref() {
            Some(f) => self.call(f, ev),
            None => false,
        }
    }

    /// Queues `ev` as the object's last event and closes the sink.
    pub fn emit_last(&self, ev: E) -> bool {
        match self.lock().take() {
            Some(f) => {
                LIVE.fetch_sub(1, Ordering::Relaxed);
                self.call(&f, ev)
            }
            None => false,
        }
    }

    fn call(&self, f: &EventFn<E>, ev: E) -> bool {
        if let Some(p) = &self.pending {
            p.fetch_add(1, Ordering::AcqRel);
        }
        let ok = f.call(ev, ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok;
        if let (false, Some(p)) = (ok, &self.pending) {
            p.fetch_sub(1, Ordering::AcqRel);
        }
        ok
    }

    /// Releases the ThreadsafeFunction (queued events are still delivered).
    pub fn close(&self) {
        if self.lock().take().is_some() {
            LIVE.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl<E: ToNapiValue + 'static> Drop for Sink<E> {
    fn drop(&mut self) {
        self.close();
    }
}
