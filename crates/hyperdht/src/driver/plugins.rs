//! `dht.register(name, plugin)` from the embedder's side: a cheap handle that runs each call on
//! the node's engine (the parked requests are core state, `plugin.rs`; the forwarder, the
//! embedder's callback, is driver state).

use hyperdht_rpc::node::Reply;
use hyperdht_rpc::Dht;

use crate::driver::engine::Engine;
use crate::plugin::PluginForward;

/// Where forwarded PLUGIN requests go (the napi layer's event sink). Called on the driver with
/// the node locked: it must hand the request on, not answer it synchronously.
pub type Forwarder = Box<dyn Fn(PluginForward) + Send>;

/// The registry of plugins of one node. Cheap to clone.
#[derive(Clone)]
pub struct Plugins {
    rpc: Dht,
}

impl Plugins {
    pub(crate) fn new(rpc: Dht) -> Self {
        Plugins { rpc }
    }

    /// Where matching requests go; until set, PLUGIN requests are dropped.
    pub fn set_forwarder(&self, f: Forwarder) {
        Engine::run(&self.rpc, |e, _, _| {
            e.core.plugins.forwarding = true;
            e.plugin_forwarder = Some(f);
        });
    }

    /// `dht.register(name, plugin)`: requests for `name` at exactly `version` are forwarded.
    pub fn register(&self, name: &str, version: u64) {
        Engine::run(&self.rpc, |e, _, _| e.core.plugins.register(name, version));
    }

    /// The embedder's `outerReq.reply(value)` / `outerReq.error(code)`: answers the parked
    /// request once; unknown or already answered ids are ignored.
    pub fn reply(&self, _rpc: &Dht, id: u32, reply: Reply) {
        Engine::run(&self.rpc, |e, node, _| {
            if let Some(req) = e.core.plugins.take(id) {
                node.reply(&req, reply);
            }
        });
    }

    /// Requests currently waiting for an answer.
    pub fn pending(&self) -> usize {
        Engine::run(&self.rpc, |e, _, _| e.core.plugins.pending()).unwrap_or(0)
    }

    /// Drops every parked request and the forwarder (node destroyed).
    pub fn clear(&self) {
        Engine::run(&self.rpc, |e, _, _| {
            e.core.plugins.clear();
            e.plugin_forwarder = None;
        });
    }
}
