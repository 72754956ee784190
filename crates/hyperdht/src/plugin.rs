//! PLUGIN requests (`hyperdht lib/persistent.js: onplugin`, `lib/plugin.js`): a persistent node
//! decodes `messages.pluginRequest` and hands it to the plugin registered under that name and
//! version, which answers (or not) whenever it likes. Here the plugins live in the embedding
//! layer (JS): a matching request is parked under an id and forwarded through a callback; the
//! embedder answers with [`Plugins::reply`](crate::driver::plugins::Plugins::reply). Parked
//! requests are bounded in number and age; a request that overflows the bound, or whose answer
//! never comes, is dropped without a reply, as an upstream plugin that never calls `req.reply`
//! leaves it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use hyperdht_encoding::Reader;
use hyperdht_rpc::node::IncomingRequest;

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
    /// pass back to [`Plugins::reply`](crate::driver::plugins::Plugins::reply)
    pub id: u32,
    pub request: PluginRequest,
    /// the outer dht-rpc request (target, token, from, to, ...)
    pub outer: IncomingRequest,
}

/// The registry of plugins and the requests parked for them (pure state, owned by the core;
/// the embedder's forwarder lives with the driver).
#[derive(Debug, Default)]
pub struct PluginTable {
    /// name -> version (`dht.plugins`)
    registered: HashMap<String, u64>,
    pending: BTreeMap<u32, (IncomingRequest, Instant)>,
    next_id: u32,
    /// an embedder takes forwarded requests (else PLUGIN requests are dropped)
    pub forwarding: bool,
}

impl PluginTable {
    /// `dht.register(name, plugin)`: requests for `name` at exactly `version` are forwarded.
    pub fn register(&mut self, name: &str, version: u64) {
        self.registered.insert(name.to_string(), version);
    }

    /// `persistent.onplugin(req)`, called for a PLUGIN request on a persistent node: drops
    /// (no reply) a request without a value, one that does not decode, or one for a plugin
    /// not registered at that version; parks the rest and returns what to forward.
    pub fn on_request(&mut self, req: &IncomingRequest, now: Instant) -> Option<PluginForward> {
        let request = PluginRequest::decode(req.value.as_deref()?)?;
        if self.registered.get(&request.plugin) != Some(&request.version) || !self.forwarding {
            return None;
        }
        // forget requests nobody answered (ids grow, so the oldest come first)
        while let Some((&id, (_, at))) = self.pending.iter().next() {
            if now.saturating_duration_since(*at) < PENDING_TTL {
                break;
            }
            self.pending.remove(&id);
        }
        if self.pending.len() >= MAX_PENDING {
            return None;
        }
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let id = self.next_id;
        self.pending.insert(id, (req.clone(), now));
        Some(PluginForward {
            id,
            request,
            outer: req.clone(),
        })
    }

    /// The embedder's `outerReq.reply(value)` / `outerReq.error(code)`: the parked request,
    /// once; unknown or already answered ids give `None`.
    pub fn take(&mut self, id: u32) -> Option<IncomingRequest> {
        self.pending.remove(&id).map(|(req, _)| req)
    }

    /// Requests currently waiting for an answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Drops every parked request and stops forwarding (node destroyed).
    pub fn clear(&mut self) {
        self.pending.clear();
        self.forwarding = false;
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

    fn table() -> PluginTable {
        let mut plugins = PluginTable {
            forwarding: true,
            ..PluginTable::default()
        };
        plugins.register("kv", 2);
        plugins
    }

    /// persistent.js onplugin: only requests for a registered name at its version go on.
    #[test]
    fn forwards_only_registered_name_and_version() {
        let mut plugins = table();
        let now = Instant::now();
        for v in [
            Some(encode("kv", 1, 0, None)),
            Some(encode("other", 2, 0, None)),
            None,
            Some(vec![0xff]),
        ] {
            assert!(plugins.on_request(&request(v), now).is_none());
        }
        let f = plugins
            .on_request(&request(Some(encode("kv", 2, 5, Some(b"v")))), now)
            .unwrap();
        assert_eq!(f.request.command, 5);
        assert_eq!(f.outer.target, Some([1; 32]));
        assert_eq!(plugins.pending(), 1);
    }

    /// At most MAX_PENDING wait for an answer; unanswered ones are forgotten after PENDING_TTL.
    #[test]
    fn pending_requests_are_bounded_and_expire() {
        let mut plugins = table();
        let now = Instant::now();
        let v = encode("kv", 2, 0, None);
        let forwarded = (0..MAX_PENDING + 10)
            .filter(|_| plugins.on_request(&request(Some(v.clone())), now).is_some())
            .count();
        assert_eq!(plugins.pending(), MAX_PENDING);
        assert_eq!(forwarded, MAX_PENDING);
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
