//! A node dies with the Node environment that made it. A worker thread's environment goes away
//! on `worker.terminate()`, on `process.exit()` inside the worker, or when its script ends; with
//! udx-native (JS hyperdht) the node's sockets are libuv handles of that environment and close
//! with it. Ours run on the addon's own threads, so without this a node outlived its worker: its
//! port stayed bound, its engine kept answering the DHT and its announces went on.
//!
//! Each JS thread (one environment each) keeps weak references to the nodes it made and one
//! environment cleanup hook that destroys those still alive (a node destroyed or collected
//! before is skipped; the list is pruned on every registration, so it stays as long as the
//! number of live nodes).

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};

use hyperdht_core::HyperDht;
use hyperdht_rpc::Dht;
use hyperdht_udx::UdxSocket;
use napi::Env;

use crate::app_requests::AppRequests;
use crate::connection::Conns;
use crate::dht::DhtSink;
use crate::query::Queries;
use crate::raw_stream::RawStreams;
use crate::server::Servers;

/// A node's parts (`NativeDht` derefs to them), shared with the environment's teardown.
pub struct NodeParts {
    pub(crate) dht: Dht,
    pub(crate) hyper: HyperDht,
    pub(crate) udx: UdxSocket,
    /// resolves once the JS thread's receiver let go of the server socket (src/server_recv.rs)
    pub(crate) socket_released: std::sync::Mutex<Option<crate::server_recv::SocketReleased>>,
    /// live objects, closed on destroy (src/live.rs)
    pub(crate) conns: Conns,
    pub(crate) servers: Servers,
    pub(crate) queries: Queries,
    pub(crate) raws: RawStreams,
    /// the node's event channel to its JS object
    pub(crate) sink: DhtSink,
    /// application requests waiting for `dht.onrequest` (src/app_requests.rs)
    pub(crate) app_requests: AppRequests,
    /// `add-node` / `remove-node` changes taken by a table read (src/rpc_extra.rs)
    pub(crate) node_stash: crate::rpc_extra::NodeStash,
}

impl NodeParts {
    /// Everything `destroy()` does before waiting for the rpc driver to stop: queries cancelled,
    /// connections killed, raw streams destroyed, servers stopped, the UDX endpoint closed.
    pub(crate) fn close_objects(&self) {
        for q in self.queries.close() {
            q.cancel();
        }
        for c in self.conns.close() {
            c.kill();
        }
        for r in self.raws.close() {
            r.destroy();
        }
        for s in self.servers.close() {
            s.stop();
        }
        self.hyper.plugins.clear();
        self.app_requests.clear();
        self.udx.close();
    }

    /// The environment is going away: close everything now, let the driver stop on its own.
    fn teardown(&self) {
        if self.dht.is_destroyed() {
            return;
        }
        self.close_objects();
        let dht = self.dht.clone();
        napi::bindgen_prelude::spawn(async move { dht.destroy().await });
        self.sink.close();
    }
}

thread_local! {
    /// nodes made on this JS thread
    static NODES: RefCell<Vec<Weak<NodeParts>>> = const { RefCell::new(Vec::new()) };
    /// whether this thread's environment has the hook below
    static HOOKED: Cell<bool> = const { Cell::new(false) };
}

/// Destroys `parts` when `env` (this JS thread's environment) is torn down, if still alive.
pub(crate) fn on_env_exit(env: &Env, parts: &Arc<NodeParts>) {
    NODES.with(|n| {
        let mut n = n.borrow_mut();
        n.retain(|w| w.strong_count() > 0);
        n.push(Arc::downgrade(parts));
    });
    if HOOKED.with(|h| h.replace(true)) {
        return;
    }
    let hooked = env.add_env_cleanup_hook((), |()| {
        HOOKED.with(|h| h.set(false));
        let nodes = NODES.with(|n| std::mem::take(&mut *n.borrow_mut()));
        for parts in nodes.iter().filter_map(Weak::upgrade) {
            // a panic must not unwind into Node's teardown; the panic hook reported it
            let _ = catch_unwind(AssertUnwindSafe(|| parts.teardown()));
        }
    });
    if hooked.is_err() {
        HOOKED.with(|h| h.set(false));
    }
}
