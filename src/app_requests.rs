//! Application requests for `dht.onrequest(req)` (dht-rpc index.js `_onrequest` → `onrequest`;
//! hyperdht index.js overrides it and returns false for commands it does not know). The engine
//! answers hyperdht's own commands; a request it leaves unanswered is parked here under an id
//! and sent to JS as an `app-request` event when the app replaced `onrequest` (a subclass, or
//! `dht.onrequest = fn`). JS answers once with `requestReply` (also UNKNOWN_COMMAND when its
//! `onrequest` returned false), may `requestRelay` it first. Parked requests are bounded in
//! number and age: past either bound a request is dropped unanswered, as an upstream handler
//! that never replies leaves it (the requester retries, then times out).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyperdht_rpc::node::{IncomingRequest, Reply};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::dht::{parse_addr, DhtSink, JsDhtEvent, NativeDht};
use crate::events::JsAppRequest;

/// Requests waiting for JS at most (more are dropped unanswered).
pub const MAX_PENDING: usize = 1024;
/// A parked request is forgotten after this long (the requester gave up ~4 s in).
pub const PENDING_TTL: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Inner {
    pending: BTreeMap<u32, (IncomingRequest, Instant)>,
    next_id: u32,
}

/// The parked requests, shared by the engine hook and the napi methods. Cheap to clone.
#[derive(Clone, Default)]
pub struct AppRequests {
    inner: Arc<Mutex<Inner>>,
    /// JS has an `onrequest` of its own (else the engine answers UNKNOWN_COMMAND itself)
    enabled: Arc<AtomicBool>,
}

impl AppRequests {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The engine hook: parks `req` and emits it, or returns false (not enabled).
    pub fn hook(&self, sink: DhtSink) -> hyperdht_rpc::driver::UnhandledHook {
        let me = self.clone();
        Box::new(move |req: &IncomingRequest| me.park(&sink, req, Instant::now()))
    }

    fn park(&self, sink: &DhtSink, req: &IncomingRequest, now: Instant) -> bool {
        if !self.enabled.load(Ordering::Relaxed) {
            return false;
        }
        let mut g = self.lock();
        // forget requests nobody answered (ids grow, so the oldest come first)
        while let Some((&id, (_, at))) = g.pending.iter().next() {
            if now.saturating_duration_since(*at) < PENDING_TTL {
                break;
            }
            g.pending.remove(&id);
        }
        if g.pending.len() >= MAX_PENDING {
            // taken (no UNKNOWN_COMMAND), but dropped: JS is this far behind
            return true;
        }
        g.next_id = g.next_id.wrapping_add(1).max(1);
        let id = g.next_id;
        g.pending.insert(id, (req.clone(), now));
        drop(g);
        let request = JsAppRequest {
            id,
            tid: req.tid as u32,
            from_id: req.from_id.map(|i| i.to_vec().into()),
            from_host: req.from.ip().to_string(),
            from_port: req.from.port() as u32,
            to_host: req.to.ip().to_string(),
            to_port: req.to.port() as u32,
            token: req.token.map(|t| t.to_vec().into()),
            command: req.command as f64,
            target: req.target.map(|t| t.to_vec().into()),
            value: req.value.clone().map(Into::into),
        };
        sink.emit(JsDhtEvent::AppRequest { request });
        true
    }

    fn take(&self, id: u32) -> Option<IncomingRequest> {
        self.lock().pending.remove(&id).map(|(r, _)| r)
    }

    fn get(&self, id: u32) -> Option<IncomingRequest> {
        self.lock().pending.get(&id).map(|(r, _)| r.clone())
    }

    /// Requests currently waiting for JS.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    /// Node destroyed: nothing will be answered.
    pub fn clear(&self) {
        self.enabled.store(false, Ordering::Relaxed);
        self.lock().pending.clear();
    }
}

#[napi]
impl NativeDht {
    /// Whether unanswered application requests go to JS (`dht.onrequest` replaced) instead of
    /// getting UNKNOWN_COMMAND from the engine.
    #[napi(catch_unwind)]
    pub fn set_request_hook(&self, enabled: bool) {
        self.app_requests.enabled.store(enabled, Ordering::Relaxed);
    }

    /// `req.reply(value, {token, closerNodes, to})` (`error` 0) or `req.error(code, ...)`: answers
    /// a parked request once; unknown or answered ids are ignored.
    #[napi(catch_unwind)]
    pub fn request_reply(
        &self,
        id: u32,
        value: Option<Buffer>,
        error: u32,
        token: bool,
        closer_nodes: bool,
        to: Option<String>,
    ) -> Result<()> {
        let to = to.as_deref().map(parse_addr).transpose()?;
        let Some(req) = self.app_requests.take(id) else {
            return Ok(());
        };
        let reply = Reply {
            value: if error == 0 {
                value.map(|v| v.to_vec())
            } else {
                None
            },
            error: error as u64,
            token,
            closer_nodes,
            to,
        };
        self.hyper.rpc.with_node(|n| n.reply(&req, reply));
        Ok(())
    }

    /// `req.relay(value, to)`: forwards the parked request (same tid) to `to`, whose reply goes
    /// straight to the requester. The request stays answerable.
    #[napi(catch_unwind)]
    pub fn request_relay(&self, id: u32, value: Option<Buffer>, to: String) -> Result<()> {
        let to = parse_addr(&to)?;
        if let Some(req) = self.app_requests.get(id) {
            let value = value.map(|v| v.to_vec());
            self.hyper.rpc.with_node(|n| n.relay(&req, value, to));
        }
        Ok(())
    }

    /// Parked application requests (tests assert they do not pile up). Not public API.
    #[napi(catch_unwind)]
    pub fn app_requests_pending(&self) -> u32 {
        self.app_requests.pending() as u32
    }
}
