//! PLUGIN requests (`hyperdht lib/persistent.js: onplugin`, `lib/plugin.js`): a persistent node
//! decodes `messages.pluginRequest` and hands it to the plugin registered under that name and
//! version, which answers (or not) whenever it likes. Here the plugins live in the embedding
//! layer (JS): a matching request is parked under an id and forwarded through a callback; the
//! embedder answers with [`Plugins::reply`]. Parked requests are bounded in number and age; a
//! request that overflows the bound, or whose answer never comes, is dropped without a reply,
//! as an upstream plugin that never calls `req.reply` leaves it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyperdht_encoding::Reader;
use hyperdht_rpc::node::{IncomingRequest, Reply};
use hyperdht_rpc::Dht;

/// Requests waiting for the embedder's answer at most (more are dropped unanswered).
pub const MAX_PENDING: usize = 1024;
/// A parked request is forgotten (never answered) after this long; the requester timed out
/// long before (dht-rpc retries a request 3 times at ~1 s).
pub const PENDING_TTL: Duration = Duration::from_secs(30);

/// A decoded `pluginRequest` (`{plugin, version, command, value}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRequest {
    pub plugin: String,
    pub version: u64,
    pub command: u64,
    pub value: Option<Vec<u8>>,
}

impl PluginRequest {
    /// `c.decode(m.pluginRequest, value)`: string, uint, uint, uint flags, buffer if flags & 1.
    /// Trailing bytes are ignored like compact-encoding's `decode`.
    pub fn decode(buf: &[u8]) -> Option<PluginRequest> {
        let mut r = Reader::new(buf);
        let plugin = r.string().ok()?;
        let version = r.uint().ok()?;
        let command = r.uint().ok()?;
        let flags = r.uint().ok()?;
        let value = if flags & 1 != 0 {
            Some(r.buffer().ok()?.to_vec())
        } else {
            None
        };
        Some(PluginRequest {
            plugin,
            version,
            command,
            value,
        })
    }
}

/// One request handed to the embedder.
#[derive(Debug, Clone)]
pub struct PluginForward {
    /// pass back to [`Plugins::reply`]
    pub id: u32,
    pub request: PluginRequest,
    /// the outer dht-rpc request (target, token, from, to, ...)
    pub outer: IncomingRequest,
}

type Forwarder = Box<dyn Fn(PluginForward) + Send>;

#[derive(Default)]
struct Inner {
    /// name -> version (`dht.plugins`)
    registered: HashMap<String, u64>,
    pending: BTreeMap<u32, (IncomingRequest, Instant)>,
    next_id: u32,
    forward: Option<Forwarder>,
}

/// The registry of plugins and the requests parked for them. Cheap to clone.
#[derive(Clone, Default)]
pub struct Plugins {
    inner: Arc<Mutex<Inner>>,
}

impl Plugins {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Where matching requests go (the napi layer's event sink).
    pub fn set_forwarder(&self, f: Forwarder) {
        self.lock().forward = Some(f);
    }

    /// `dht.register(name, plugin)`: requests for `name` at exactly `version` are forwarded.
    pub fn register(&self, name: &str, version: u64) {
        self.lock().registered.insert(name.to_string(), version);
    }

    /// `persistent.onplugin(req)`, called for a PLUGIN request on a persistent node: drops
    /// (no reply) a request without a value, one that does not decode, or one for a plugin
    /// not registered at that version; forwards the rest.
    pub fn on_request(&self, req: &IncomingRequest, now: Instant) {
        let Some(value) = req.value.as_deref() else {
            return;
        };
        let Some(request) = PluginRequest::decode(value) else {
            return;
        };
        let mut g = self.lock();
        if g.registered.get(&request.plugin) != Some(&request.version) || g.forward.is_none() {
            return;
        }
        // forget requests nobody answered (ids grow, so the oldest come first)
        while let Some((&id, (_, at))) = g.pending.iter().next() {
            if now.saturating_duration_since(*at) < PENDING_TTL {
                break;
            }
            g.pending.remove(&id);
        }
        if g.pending.len() >= MAX_PENDING {
            return;
        }
        g.next_id = g.next_id.wrapping_add(1).max(1);
        let id = g.next_id;
        g.pending.insert(id, (req.clone(), now));
        if let Some(f) = g.forward.as_ref() {
            f(PluginForward {
                id,
                request,
                outer: req.clone(),
            });
        }
    }

    /// The embedder's `outerReq.reply(value)` / `outerReq.error(code)`: answers the parked
    /// request once; unknown or already answered ids are ignored.
    pub fn reply(&self, rpc: &Dht, id: u32, reply: Reply) {
        let Some((req, _)) = self.lock().pending.remove(&id) else {
            return;
        };
        rpc.with_node(|n| n.reply(&req, reply));
    }

    /// Requests currently waiting for an answer.
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    /// Drops every parked request and the forwarder (node destroyed).
    pub fn clear(&self) {
        let mut g = self.lock();
        g.pending.clear();
        g.forward = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperdht_encoding::Writer;

    fn encode(plugin: &str, version: u64, command: u64, value: Option<&[u8]>) -> Vec<u8> {
        let mut w = Writer::new();
        w.string(plugin);
        w.uint(version);
        w.uint(command);
        w.uint(u64::from(value.is_some()));
        if let Some(v) = value {
            w.buffer(v);
        }
        w.into_vec()
    }

    fn request(value: Option<Vec<u8>>) -> IncomingRequest {
        let addr = "127.0.0.1:4000".parse().unwrap();
        IncomingRequest {
            tid: 1,
            from: addr,
            from_id: None,
            to: addr,
            token: None,
            internal: false,
            command: 10,
            target: Some([1; 32]),
            value,
            socket: hyperdht_rpc::node::SocketKind::Server,
        }
    }

    fn counting() -> (Plugins, Arc<Mutex<Vec<PluginForward>>>) {
        let plugins = Plugins::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        plugins.set_forwarder(Box::new(move |f| s2.lock().unwrap().push(f)));
        plugins.register("kv", 2);
        (plugins, seen)
    }

    /// persistent.js onplugin: only requests for a registered name at its version go on.
    #[test]
    fn forwards_only_registered_name_and_version() {
        let (plugins, seen) = counting();
        let now = Instant::now();
        for v in [
            Some(encode("kv", 1, 0, None)),
            Some(encode("other", 2, 0, None)),
            None,
            Some(vec![0xff]),
        ] {
            plugins.on_request(&request(v), now);
        }
        assert_eq!(seen.lock().unwrap().len(), 0);
        plugins.on_request(&request(Some(encode("kv", 2, 5, Some(b"v")))), now);
        let f = seen.lock().unwrap().pop().unwrap();
        assert_eq!(f.request.command, 5);
        assert_eq!(f.outer.target, Some([1; 32]));
        assert_eq!(plugins.pending(), 1);
    }

    /// At most MAX_PENDING wait for an answer; unanswered ones are forgotten after PENDING_TTL.
    #[test]
    fn pending_requests_are_bounded_and_expire() {
        let (plugins, seen) = counting();
        let now = Instant::now();
        let v = encode("kv", 2, 0, None);
        for _ in 0..MAX_PENDING + 10 {
            plugins.on_request(&request(Some(v.clone())), now);
        }
        assert_eq!(plugins.pending(), MAX_PENDING);
        assert_eq!(seen.lock().unwrap().len(), MAX_PENDING);
        plugins.on_request(&request(Some(v)), now + PENDING_TTL);
        assert_eq!(plugins.pending(), 1, "the expired ones were dropped");
        plugins.clear();
        assert_eq!(plugins.pending(), 0);
    }

    #[test]
    fn decodes_like_messages_plugin_request() {
        let r = PluginRequest::decode(&encode("test", 1, 7, Some(b"hi"))).unwrap();
        assert_eq!(r.plugin, "test");
        assert_eq!((r.version, r.command), (1, 7));
        assert_eq!(r.value.as_deref(), Some(&b"hi"[..]));
        let r = PluginRequest::decode(&encode("x", 0, 0, None)).unwrap();
        assert_eq!(r.value, None);
        assert!(PluginRequest::decode(&[5, b'a']).is_none());
    }
}
