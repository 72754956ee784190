//! dht-rpc API beyond the basics (dht-rpc 6.27 index.js, lib/session.js, lib/health.js):
//! `delayedPing`, sessions, `dht.health`, the routing table (`dht.table`, `dht.nodes`) and the
//! switch for `add-node` / `remove-node` events.

use std::net::SocketAddrV4;

use hyperdht_rpc::routing_table::Entry;

use hyperdht_rpc::{Node, NodeChange, RequestSpec};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::dht::{addr_js, js_reply, parse_addr, reason, NativeDht};
use crate::events::{JsNode, JsReply};

/// dht-rpc `NetworkHealth#stats`.
#[napi(object)]
pub struct JsHealth {
    pub online: bool,
    pub degraded: bool,
    pub cold: bool,
    pub idle: bool,
    pub responses: f64,
    pub timeouts: f64,
    pub timeouts_rate: f64,
}

/// Options of `delayedPing(to, delayMs, opts)`.
#[napi(object)]
pub struct JsDelayedPingOptions {
    pub session: Option<u32>,
    /// `retry: false`: one attempt
    pub retry: Option<bool>,
}

pub(crate) fn js_node(e: &Entry) -> JsNode {
    JsNode {
        id: e.id.to_vec().into(),
        host: e.addr.ip().to_string(),
        port: e.addr.port() as u32,
        to: e.to.map(addr_js),
        sampled: e.sampled as f64,
        added: e.added as f64,
        pinged: e.pinged as f64,
        seen: e.seen as f64,
        down_hints: e.down_hints,
    }
}

fn id32(b: &[u8], what: &str) -> Result<[u8; 32]> {
    b.try_into()
        .map_err(|_| Error::new(Status::InvalidArg, format!("{what} must be 32 bytes")))
}

fn addr_of(host: &str, port: u32) -> Result<SocketAddrV4> {
    parse_addr(&format!("{host}:{}", port.min(65535)))
}

#[napi]
impl NativeDht {
    /// `dht.delayedPing({host, port}, delayMs)`: DELAYED_PING; the responder answers after
    /// `delayMs` if that is within its `maxPingDelay` (else never). Per attempt timeout
    /// `delayMs + 1 s`.
    #[napi(catch_unwind)]
    pub async fn delayed_ping(
        &self,
        host: String,
        port: u32,
        delay_ms: u32,
        opts: Option<JsDelayedPingOptions>,
    ) -> Result<JsReply> {
        let to = addr_of(&host, port)?;
        let mut spec = self
            .hyper
            .rpc
            .delayed_ping_spec(to, delay_ms)
            .map_err(reason)?;
        if let Some(o) = opts {
            spec.session = o.session.map(u64::from);
            if o.retry == Some(false) {
                spec.retries = 0;
            }
        }
        let r = self.hyper.rpc.request(spec).await.map_err(reason)?;
        Ok(js_reply(&r))
    }

    /// `dht.maxPingDelay = ms` (dht-rpc `opts.maxPingDelay`).
    #[napi(catch_unwind)]
    pub fn set_max_ping_delay(&self, ms: u32) {
        self.hyper.rpc.set_max_ping_delay(ms);
    }

    /// `dht.session()`: an id for `request`/`ping`/`delayedPing`'s `session` option.
    #[napi(catch_unwind)]
    pub fn session(&self) -> u32 {
        self.hyper.rpc.session().id() as u32
    }

    /// `session.destroy()`: the session's in-flight requests fail with REQUEST_DESTROYED.
    #[napi(catch_unwind)]
    pub fn session_destroy(&self, id: u32) {
        let now = tokio::time::Instant::now().into_std();
        self.hyper
            .rpc
            .with_node(|n| n.destroy_session(u64::from(id), now));
    }

    /// The network interfaces changed: list them again for the addresses handshakes share with
    /// peers behind our NAT (`HyperDht::refresh_local_addresses`).
    #[napi(catch_unwind)]
    pub fn refresh_local_addresses(&self) {
        self.hyper.refresh_local_addresses();
    }

    /// `add-node` / `remove-node` events on (JS has listeners) or off.
    #[napi(catch_unwind)]
    pub fn watch_nodes(&self, on: bool) {
        self.hyper.rpc.set_node_events(on);
    }

    /// `dht.health.stats`.
    #[napi(catch_unwind)]
    pub fn health(&self) -> JsHealth {
        let h = self.hyper.rpc.health();
        JsHealth {
            online: h.online,
            degraded: h.degraded,
            cold: h.cold(),
            idle: h.idle(),
            responses: h.responses() as f64,
            timeouts: h.timeouts() as f64,
            timeouts_rate: h.timeouts_rate(),
        }
    }

    /// `dht.table.id` (our id once persistent; a random one while ephemeral).
    #[napi(catch_unwind)]
    pub fn table_id(&self) -> Buffer {
        self.hyper.rpc.table_id().to_vec().into()
    }

    /// The routing table's nodes, most recently heard first (0 = all).
    #[napi(catch_unwind)]
    pub fn table_nodes(&self, limit: u32) -> Vec<JsNode> {
        self.read_node(|n| n.table_entries(limit as usize))
            .iter()
            .map(js_node)
            .collect()
    }

    /// `dht.table.closest(target, k)`.
    #[napi(catch_unwind)]
    pub fn table_closest(&self, target: &[u8], k: u32) -> Result<Vec<JsNode>> {
        let t = id32(target, "id")?;
        Ok(self
            .read_node(|n| n.table_closest(&t, k as usize))
            .iter()
            .map(js_node)
            .collect())
    }

    /// `dht.table.get(id)`.
    #[napi(catch_unwind)]
    pub fn table_get(&self, id: &[u8]) -> Result<Option<JsNode>> {
        let id = id32(id, "id")?;
        Ok(self.read_node(|n| n.table_get(&id)).as_ref().map(js_node))
    }

    /// `dht.table.random()`.
    #[napi(catch_unwind)]
    pub fn table_random(&self) -> Option<JsNode> {
        self.read_node(|n| n.table_random()).as_ref().map(js_node)
    }

    /// The `add-node` / `remove-node` changes numbered up to `upto` (all without it), oldest
    /// first: those a table read took, then the engine's log. index.js calls it on each
    /// `node-changes` event and right after each table read with `upto` 0 (only what the read
    /// took: the engine may have changed since), so what it reported always matches the table
    /// an app reads (as in dht-rpc, where both change in the same tick).
    #[napi(catch_unwind)]
    pub fn take_node_changes(&self, upto: Option<f64>) -> Vec<JsNodeChange> {
        let mut out = std::mem::take(&mut *self.node_stash.lock());
        out.extend(self.dht.take_node_changes(upto.map(|u| u as u64)));
        out.iter()
            .map(|c| JsNodeChange {
                added: c.added,
                node: js_node(&c.entry),
            })
            .collect()
    }
}

/// One `add-node` (added) or `remove-node`.
#[napi(object, object_from_js = false)]
pub struct JsNodeChange {
    pub added: bool,
    pub node: JsNode,
}

/// Routing-table changes a synchronous table read took from the engine's log together with its
/// snapshot, waiting for `takeNodeChanges` (the reader's JS reports them right after the read).
#[derive(Default)]
pub(crate) struct NodeStash(std::sync::Mutex<Vec<NodeChange>>);

impl NodeStash {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<NodeChange>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl NativeDht {
    /// Reads the engine's node; changes the snapshot already includes wait in the stash.
    pub(crate) fn read_node<R>(&self, read: impl FnOnce(&Node) -> R) -> R {
        let (value, changes) = self.dht.read_node(read);
        if !changes.is_empty() {
            self.node_stash.lock().extend(changes);
        }
        value
    }
}

/// `opts.session` of `request` / `ping`.
pub(crate) fn set_session(spec: &mut RequestSpec, session: Option<u32>) {
    spec.session = session.map(u64::from);
}
