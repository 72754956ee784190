//! The hyperdht node: storage handler installed on a dht-rpc node, plus the client operations of
//! `hyperdht index.js` (lookup, announce, unannounce, findPeer, immutable/mutable put/get). Each
//! operation runs its whole query and commit phase in Rust and hands replies to a callback.

use std::net::SocketAddrV4;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyperdht_crypto::{hash, KeyPair};
use hyperdht_encoding::{Codec, Writer};
use hyperdht_rpc::driver::QueryEvent;
use hyperdht_rpc::node::{Node, RequestSpec};
use hyperdht_rpc::{Dht, QueryParams, Response, RpcError};
use tokio::task::JoinSet;

use crate::core::announcer::AnnouncerOut;
use crate::core::server::{RelayChoice, ServerConfig};
use crate::core::Core;
use crate::driver::engine::{Engine, ServerSink};
use crate::driver::local_addresses::local_addresses;
use crate::driver::plugins::Plugins;
use crate::messages::{Announce, LookupReply, MutableGetResponse, MutablePutRequest, Peer};
use crate::persistent::{Persistent, StorageLimits, WallClock};
use crate::server::{Connection, FirewallFn, ListenExtras, ListenOptions};
use crate::signing::{sign_announce, sign_mutable, sign_unannounce, verify_mutable};
use crate::Command;
use hyperdht_udx::UdxSocket;

pub type OpError = RpcError;

/// `maxSize` / `maxAge` options.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheOptions {
    pub max_size: Option<usize>,
    pub max_age: Option<Duration>,
}

/// Options every query-based operation accepts.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    pub nodes: Vec<SocketAddrV4>,
    pub concurrency: Option<usize>,
    /// dht-rpc `onlyClosestNodes`: ask only `nodes` (hyperswarm's targeted unannounce)
    pub only_closest_nodes: bool,
    /// dht-rpc `force`: no congestion window, no retries
    pub force: bool,
}

/// The announce-specific arguments.
#[derive(Debug, Clone, Default)]
pub struct AnnounceOptions {
    pub relays: Vec<SocketAddrV4>,
    pub bump: u64,
    pub clear: bool,
}

#[derive(Clone)]
pub struct HyperDht {
    pub rpc: Dht,
    /// the node's counters (`dht.stats`), shared with the core (`core.stats()`)
    stats: Arc<crate::stats::Stats>,
    attached: Arc<std::sync::atomic::AtomicBool>,
    /// `dht.register(name, plugin)` and the PLUGIN requests waiting for a plugin's answer
    pub plugins: Plugins,
}

fn query_params(
    target: [u8; 32],
    command: Command,
    value: Option<Vec<u8>>,
    o: &QueryOptions,
) -> QueryParams {
    QueryParams {
        target,
        command: command.code(),
        internal: false,
        value,
        concurrency: o.concurrency,
        nodes: o.nodes.clone(),
        only_closest_nodes: o.only_closest_nodes,
        force: o.force,
    }
}

fn uint_bytes(v: u64) -> Vec<u8> {
    let mut w = Writer::new();
    w.uint(v);
    w.into_vec()
}

impl HyperDht {
    pub fn new(rpc: Dht, cache: CacheOptions) -> Self {
        let limits = StorageLimits::from_options(cache.max_size, cache.max_age);
        let now = Instant::now();
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let store = Persistent::new(limits, now, WallClock { at: now, unix_ms });
        let plugins = Plugins::new(rpc.clone());
        let stats = Arc::new(crate::stats::Stats::default());
        let mut core = Core::new(store, stats.clone(), local_addresses(rpc.server_address()));
        core.connects.set_relay_cache_max(limits.max_size);
        let mut engine = Engine::new(core);
        engine.set_rpc(rpc.clone());
        rpc.set_request_handler(Box::new(engine));
        HyperDht {
            rpc,
            stats,
            attached: Arc::default(),
            plugins,
        }
    }

    /// Runs `f` on this node's engine (core + driver state) with the node and the time.
    pub(crate) fn engine<R>(
        &self,
        f: impl FnOnce(&mut Engine, &mut Node, Instant) -> R,
    ) -> Option<R> {
        Engine::run(&self.rpc, f)
    }

    /// hyperdht's `randomPunchInterval` (the least time between two RANDOM-NAT punches of this
    /// node) and `deferRandomPunch` (`defer`: count that time from now, as hyperdht does at
    /// construction and on every `resume()`). `None` keeps the interval as it is (20 s unless
    /// set).
    pub fn configure_random_punch(&self, interval: Option<std::time::Duration>, defer: bool) {
        self.engine(move |e, _, now| {
            let p = &mut e.core.punchers;
            let interval = interval.unwrap_or(p.random_budget().interval);
            p.configure_random(interval, defer.then_some(now))
        });
    }

    /// Lists the network interfaces again for the addresses a peer on our LAN can reach us at
    /// (hyperdht re-reads them per handshake; call after the interfaces changed).
    pub fn refresh_local_addresses(&self) {
        let list = local_addresses(self.rpc.server_address());
        self.engine(move |e, _, _| e.core.set_local_addresses(list));
    }

    /// The addresses a peer on our LAN can reach our server socket at (see
    /// [`HyperDht::refresh_local_addresses`]).
    pub fn local_addresses(&self) -> Vec<SocketAddrV4> {
        self.engine(|e, _, _| e.core.local_addresses().to_vec())
            .unwrap_or_default()
    }

    /// Routes the datagrams on the DHT sockets that are not dht-rpc frames: UDX packets to
    /// `udx` (the endpoint sharing our server socket), 1-byte holepunch probes to the
    /// holepunchers. Replaces any foreign-datagram handler set on the rpc node.
    pub fn attach_udx(&self, udx: UdxSocket) {
        self.attached
            .store(true, std::sync::atomic::Ordering::Release);
        let flush = udx.clone();
        let sink = udx.clone();
        self.engine(move |e, _, _| e.set_udx(sink));
        let rpc = self.rpc.clone();
        self.rpc
            .set_foreign_datagram_handler(Box::new(move |socket, from: SocketAddrV4, d| {
                if !udx.feed_deferred(std::net::SocketAddr::V4(from), d) && d.len() == 1 {
                    Engine::run(&rpc, |e, n, now| e.core.on_probe(socket, from, n, now));
                }
            }));
        self.rpc
            .set_foreign_batch_end(Box::new(move || flush.flush_fed()));
    }

    /// [`HyperDht::attach_udx`] unless done already (`listen`/`connect` need probes routed).
    pub(crate) fn ensure_attached(&self, udx: UdxSocket) {
        if !self.attached.load(std::sync::atomic::Ordering::Acquire) {
            self.attach_udx(udx);
        }
    }

    /// `server.listen(keyPair)` with default options; see [`HyperDht::listen_with`].
    pub async fn listen(
        &self,
        udx: UdxSocket,
        key_pair: &KeyPair,
    ) -> Result<tokio::sync::mpsc::Receiver<Connection>, OpError> {
        self.listen_with(udx, key_pair, ListenOptions::default())
            .await
    }

    /// `createServer(opts).listen(keyPair)`: answers handshakes for `hash(publicKey)` and
    /// announces itself to the closest nodes. Accepted connections arrive on the returned
    /// channel. `udx` must be the UDX endpoint sharing this node's server socket.
    pub async fn listen_with(
        &self,
        udx: UdxSocket,
        key_pair: &KeyPair,
        opts: ListenOptions,
    ) -> Result<tokio::sync::mpsc::Receiver<Connection>, OpError> {
        self.listen_with_extras(udx, key_pair, opts, ListenExtras::default())
            .await
    }

    /// [`HyperDht::listen_with`] plus the [`ListenExtras`] options (`reusableSocket`).
    pub async fn listen_with_extras(
        &self,
        udx: UdxSocket,
        key_pair: &KeyPair,
        opts: ListenOptions,
        extras: ListenExtras,
    ) -> Result<tokio::sync::mpsc::Receiver<Connection>, OpError> {
        let target = hash(&key_pair.public_key);
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let config = ServerConfig {
            firewall: opts.firewall.is_some(),
            holepunch: opts.holepunch,
            holepunch_veto: opts.holepunch_veto.is_some(),
            share_local_address: opts.share_local_address,
            reusable_socket: extras.reusable_socket,
            relay_through: relay_choice(
                extras.relayer.is_some(),
                extras.relay_ask.is_some(),
                extras.relay_through,
            ),
            external: extras.noise.is_some(),
            external_sign: extras.signer.is_some(),
        };
        self.ensure_attached(udx);
        let sink = ServerSink {
            connections: tx,
            firewall: opts.firewall,
            veto: opts.holepunch_veto,
            relay_ask: extras.relay_ask,
            relayer: extras.relayer,
            noise: extras.noise,
        };
        let signer = extras.signer;
        let ready = self
            .engine(|e, node, now| {
                e.sinks.insert(target, sink);
                // kept until its announcer stopped (it signs the unannounces of a close)
                match signer {
                    Some(s) => e.signers.insert(target, s),
                    None => e.signers.remove(&target),
                };
                let ready = e.wait_for(AnnouncerOut::Ready { target });
                e.core.listen(key_pair, config, node, now);
                ready
            })
            .ok_or(RpcError::Destroyed)?;
        // the announcer's first round finishes before we report listening, like upstream
        let _ = ready.await;
        Ok(rx)
    }

    /// `server.close()`: stops answering handshakes for the key, stops the announcer and
    /// unannounces from its relay nodes.
    pub async fn unlisten(&self, key_pair: &KeyPair) {
        let target = hash(&key_pair.public_key);
        let stopped = self.engine(|e, node, now| {
            e.sinks.remove(&target);
            let stopped = e.wait_for(AnnouncerOut::Stopped { target });
            e.core.unlisten(&target, node, now).then_some(stopped)
        });
        if let Some(Some(stopped)) = stopped {
            let _ = stopped.await;
        }
    }

    /// `server.relayAddresses`: our public address (if not firewalled) and the relay nodes that
    /// accepted our last announce, at most 3. Empty if not listening with that key.
    pub fn relay_addresses(&self, public_key: &[u8; 32]) -> Vec<SocketAddrV4> {
        let target = hash(public_key);
        self.engine(|e, _, _| {
            e.core
                .servers
                .get(&target)
                .map(|s| s.relay_addresses.clone())
        })
        .flatten()
        .unwrap_or_default()
    }

    /// `server._holepunches`: the listening server's handshake slots by id (empty when it is
    /// not listening).
    pub fn server_holepunches(
        &self,
        public_key: &[u8; 32],
    ) -> Vec<Option<crate::core::server::HolepunchView>> {
        let target = hash(public_key);
        self.engine(|e, _, _| e.core.servers.get(&target).map(|s| s.holepunches()))
            .flatten()
            .unwrap_or_default()
    }

    /// How the connection whose UDX stream has local id `local_id` was made (while it is
    /// open): shared, so a relay upgrade shows in it.
    pub fn path_info(&self, local_id: u32) -> Option<crate::driver::paths::SharedPath> {
        self.engine(|e, _, _| e.paths.get(local_id)).flatten()
    }

    /// A listening server's `firewall` and `holepunch` veto callbacks replaced (hyperdht reads
    /// `server.firewall` / `server.holepunch` per handshake, so an app may assign new ones):
    /// `None` stops asking. Handshakes from now on use them.
    pub fn set_server_callbacks(
        &self,
        public_key: &[u8; 32],
        firewall: Option<FirewallFn>,
        holepunch_veto: Option<crate::HolepunchVeto>,
    ) {
        self.with_server(public_key, move |server, sink| {
            server.config.firewall = firewall.is_some();
            server.config.holepunch_veto = holepunch_veto.is_some();
            sink.firewall = firewall;
            sink.veto = holepunch_veto;
        });
    }

    /// `server.relayThrough = ...` while listening: later handshakes pair through `key`, or ask
    /// `ask` (a function, which wins), or use no relay (hyperdht reads it per handshake).
    pub fn set_server_relay(
        &self,
        public_key: &[u8; 32],
        key: Option<[u8; 32]>,
        ask: Option<crate::RelayAskFn>,
    ) {
        self.with_server(public_key, move |server, sink| {
            server.config.relay_through = relay_choice(sink.relayer.is_some(), ask.is_some(), key);
            sink.relay_ask = ask;
        });
    }

    /// Runs `f` on the engine with a listening server's state and its sink (not at all when
    /// that key is not listening).
    fn with_server(
        &self,
        public_key: &[u8; 32],
        f: impl FnOnce(&mut crate::core::server::Server, &mut ServerSink) + Send + 'static,
    ) {
        let target = hash(public_key);
        self.engine(move |e, _, _| {
            if let (Some(sink), Some(server)) =
                (e.sinks.get_mut(&target), e.core.servers.get_mut(&target))
            {
                f(server, sink);
            }
        });
    }

    /// `server.refresh()`: re-announce now (e.g. after a network change). No-op while
    /// suspended or not listening.
    pub fn refresh(&self, public_key: &[u8; 32]) {
        let target = hash(public_key);
        self.engine(|e, n, now| e.core.refresh_server(&target, n, now));
    }

    /// `server.suspend()`: drop pending handshakes, stop answering new ones, unannounce.
    pub async fn suspend_server(&self, public_key: &[u8; 32]) {
        let target = hash(public_key);
        let done = self.engine(|e, n, now| {
            let done = e.wait_for(AnnouncerOut::Suspended { target });
            e.core
                .set_server_suspended(&target, true, n, now)
                .then_some(done)
        });
        if let Some(Some(done)) = done {
            let _ = done.await;
        }
    }

    /// `server.resume()`: answer handshakes again and re-announce.
    pub async fn resume_server(&self, public_key: &[u8; 32]) {
        let target = hash(public_key);
        self.engine(|e, n, now| {
            e.core.set_server_suspended(&target, false, n, now);
        });
    }

    /// `dht.stats`: hyperdht's counters, the record stores' sizes and dht-rpc's counters, read
    /// at once (see `stats.rs`).
    pub fn stats(&self) -> crate::stats::StatsSnapshot {
        let mut s = self.stats.snapshot();
        s.rpc = self.rpc.stats();
        let records = self.with_store(|store| crate::stats::Records {
            announces: store.records_len() as u64,
            mutables: store.mutables_len() as u64,
            immutables: store.immutables_len() as u64,
            router: store.forwards_len() as u64,
        });
        if let Some(r) = records {
            s.records = r;
        }
        s
    }

    /// Counters of this node's connects (which path the handshake took, FIND_PEER queries).
    pub fn connect_stats(&self) -> crate::ConnectStats {
        self.engine(|e, _, _| e.core.connect_stats())
            .unwrap_or_default()
    }

    /// Sizes of the maps that grow with connects and handshakes; all but the relay-address
    /// cache drain once connections are open (servers keep a handshake 10 s after it connects,
    /// for retransmits, like upstream's `handshakeClearWait`).
    pub fn internal_counts(&self) -> crate::InternalCounts {
        self.engine(|e, _, now| {
            e.sync_routes(now);
            e.core.internal_counts(now)
        })
        .unwrap_or_default()
    }

    /// Runs `f` on the local storage (tests, stats).
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Persistent) -> R) -> Option<R> {
        self.engine(|e, _, _| f(&mut e.core.store))
    }

    /// Runs a query, calling `on_reply` for each successful reply; returns the closest replies.
    pub async fn run_query(
        &self,
        p: QueryParams,
        mut on_reply: impl FnMut(&Response),
    ) -> Result<Vec<Response>, OpError> {
        let mut q = self.rpc.query(p);
        while let Some(ev) = q.next().await {
            match ev {
                QueryEvent::Reply(r) => on_reply(&r),
                QueryEvent::Done { closest, error } => {
                    return match error {
                        Some(e) => Err(e),
                        None => Ok(closest),
                    }
                }
            }
        }
        Err(RpcError::Destroyed)
    }

    /// dht-rpc's commit phase: one request per closest id-bearing reply; succeeds if any did.
    /// Each request leaves as soon as it is made (`Dht::request` sends at the call), so the
    /// first storing node is already checking its request while the next one is signed.
    async fn commit(
        &self,
        closest: &[Response],
        make: impl Fn(&Response) -> Option<RequestSpec>,
    ) -> Result<(), OpError> {
        if closest.is_empty() {
            return Err(RpcError::TooFewNodes);
        }
        let sent: Vec<_> = closest
            .iter()
            .map(|r| make(r).map(|spec| self.rpc.request(spec)))
            .collect();
        let mut ok = false;
        let mut last = None;
        // all are in flight; awaiting them in order takes as long as the slowest
        for req in sent {
            match req {
                Some(req) => match req.await {
                    Ok(_) => ok = true,
                    Err(e) => last = Some(e),
                },
                None => {
                    last = Some(RpcError::InvalidArgument(
                        "No token received for closest node".into(),
                    ))
                }
            }
        }
        if ok {
            Ok(())
        } else {
            Err(last.unwrap_or(RpcError::TooFewNodes))
        }
    }

    fn request_to(
        r: &Response,
        command: Command,
        target: [u8; 32],
        value: Vec<u8>,
    ) -> Option<RequestSpec> {
        let token = r.token?;
        let mut spec = RequestSpec::new(r.from, false, command.code());
        spec.token = Some(token);
        spec.target = Some(target);
        spec.value = Some(value);
        Some(spec)
    }

    pub async fn lookup(
        &self,
        topic: [u8; 32],
        o: &QueryOptions,
        on_reply: impl FnMut(&Response),
    ) -> Result<Vec<Response>, OpError> {
        self.run_query(query_params(topic, Command::Lookup, None, o), on_reply)
            .await
    }

    pub async fn find_peer(
        &self,
        target: [u8; 32],
        o: &QueryOptions,
        on_reply: impl FnMut(&Response),
    ) -> Result<Vec<Response>, OpError> {
        self.run_query(query_params(target, Command::FindPeer, None, o), on_reply)
            .await
    }

    /// `announce(topic, keyPair, relayAddresses, {bump, clear})`.
    pub async fn announce(
        &self,
        topic: [u8; 32],
        kp: &KeyPair,
        a: AnnounceOptions,
        o: &QueryOptions,
        on_reply: impl FnMut(&Response),
    ) -> Result<Vec<Response>, OpError> {
        let AnnounceOptions {
            relays,
            bump,
            clear,
        } = a;
        let closest = if clear {
            self.lookup_and_unannounce_inner(topic, kp, o, on_reply)
                .await?
        } else {
            self.lookup(topic, o, on_reply).await?
        };
        let peer = Peer {
            public_key: kp.public_key,
            relay_addresses: relays,
        };
        self.commit(&closest, |r| {
            let node_id = r.from_id?;
            let token = r.token?;
            let signature = sign_announce(kp, &topic, &node_id, &token, &peer, None);
            let ann = Announce {
                peer: Some(peer.clone()),
                refresh: None,
                signature: Some(signature),
                bump,
            };
            Self::request_to(r, Command::Announce, topic, ann.to_bytes())
        })
        .await?;
        Ok(closest)
    }

    /// `lookupAndUnannounce(topic, keyPair)`: unannounces from every reply that lists us.
    pub async fn lookup_and_unannounce(
        &self,
        topic: [u8; 32],
        kp: &KeyPair,
        o: &QueryOptions,
        on_reply: impl FnMut(&Response),
    ) -> Result<Vec<Response>, OpError> {
        let closest = self
            .lookup_and_unannounce_inner(topic, kp, o, on_reply)
            .await?;
        if closest.is_empty() {
            return Err(RpcError::TooFewNodes);
        }
        Ok(closest)
    }

    async fn lookup_and_unannounce_inner(
        &self,
        topic: [u8; 32],
        kp: &KeyPair,
        o: &QueryOptions,
        mut on_reply: impl FnMut(&Response),
    ) -> Result<Vec<Response>, OpError> {
        self.with_store(|s| s.unannounce(&topic, &kp.public_key));
        let mut unannounces = JoinSet::new();
        let pk = kp.public_key;
        let closest = self
            .lookup(topic, o, |r| {
                on_reply(r);
                let (Some(token), Some(node_id), Some(v)) = (r.token, r.from_id, r.value.as_ref())
                else {
                    return;
                };
                let Ok(l) = LookupReply::from_bytes(v) else {
                    return;
                };
                if l.peers.len() < 20 && !l.peers.iter().any(|p| p.public_key == pk) {
                    return;
                }
                let peer = Peer {
                    public_key: pk,
                    relay_addresses: Vec::new(),
                };
                let signature = sign_unannounce(kp, &topic, &node_id, &token, &peer, None);
                let ann = Announce {
                    peer: Some(peer),
                    refresh: None,
                    signature: Some(signature),
                    bump: 0,
                };
                if let Some(spec) = Self::request_to(r, Command::Unannounce, topic, ann.to_bytes())
                {
                    let rpc = self.rpc.clone();
                    unannounces.spawn(async move {
                        let _ = rpc.request(spec).await;
                    });
                }
            })
            .await?;
        while unannounces.join_next().await.is_some() {}
        Ok(closest)
    }

    /// `immutablePut(value)` → closest nodes (the hash is `hash(value)`).
    pub async fn immutable_put(
        &self,
        value: &[u8],
        o: &QueryOptions,
    ) -> Result<Vec<Response>, OpError> {
        let target = hash(value);
        let closest = self
            .run_query(query_params(target, Command::ImmutableGet, None, o), |_| {})
            .await?;
        let v = value.to_vec();
        self.commit(&closest, |r| {
            Self::request_to(r, Command::ImmutablePut, target, v.clone())
        })
        .await?;
        Ok(closest)
    }

    /// `immutableGet(hash)`: the first reply whose value hashes to `target`, or `None` when the
    /// query ends without one. Like upstream's `for await` loop that returns on the first match,
    /// the query stops there (dropping it cancels it), so no further requests go out.
    pub async fn immutable_get(
        &self,
        target: [u8; 32],
        o: &QueryOptions,
    ) -> Result<Option<Response>, OpError> {
        let mut q = self
            .rpc
            .query(query_params(target, Command::ImmutableGet, None, o));
        while let Some(ev) = q.next().await {
            match ev {
                QueryEvent::Reply(r) => {
                    if r.value.as_ref().is_some_and(|v| hash(v) == target) {
                        return Ok(Some(r));
                    }
                }
                QueryEvent::Done { error, .. } => {
                    return match error {
                        Some(e) => Err(e),
                        None => Ok(None),
                    }
                }
            }
        }
        Err(RpcError::Destroyed)
    }

    /// `mutablePut(keyPair, value, {seq})` → (closest, signature).
    pub async fn mutable_put(
        &self,
        kp: &KeyPair,
        value: &[u8],
        seq: u64,
        o: &QueryOptions,
    ) -> Result<(Vec<Response>, [u8; 64]), OpError> {
        let signature = sign_mutable(kp, seq, value);
        self.mutable_put_signed(kp.public_key, value, seq, signature, o)
            .await
    }

    /// `mutablePut` with a signature made elsewhere (`signMutable` hook / `keyPair.sign`).
    pub async fn mutable_put_signed(
        &self,
        public_key: [u8; 32],
        value: &[u8],
        seq: u64,
        signature: [u8; 64],
        o: &QueryOptions,
    ) -> Result<(Vec<Response>, [u8; 64]), OpError> {
        let target = hash(&public_key);
        let put = MutablePutRequest {
            public_key,
            seq,
            value: value.to_vec(),
            signature,
        }
        .to_bytes();
        let closest = self
            .run_query(
                query_params(target, Command::MutableGet, Some(uint_bytes(0)), o),
                |_| {},
            )
            .await?;
        self.commit(&closest, |r| {
            Self::request_to(r, Command::MutablePut, target, put.clone())
        })
        .await?;
        Ok((closest, signature))
    }

    /// MUTABLE_GET query; `on_value` gets only replies with a valid signature, `seq >= seq` and a
    /// seq higher than every earlier one (like hyperdht's `mutableGet`, which skips replies that
    /// cannot beat its current result before paying for a signature check).
    pub async fn mutable_get(
        &self,
        public_key: [u8; 32],
        seq: u64,
        o: &QueryOptions,
        mut on_value: impl FnMut(&Response, &MutableGetResponse),
    ) -> Result<Vec<Response>, OpError> {
        let target = hash(&public_key);
        let mut best: Option<u64> = None;
        self.run_query(
            query_params(target, Command::MutableGet, Some(uint_bytes(seq)), o),
            |r| {
                let Some(v) = r.value.as_ref() else { return };
                let Ok(m) = MutableGetResponse::from_bytes(v) else {
                    return;
                };
                if best.is_some_and(|b| m.seq <= b) || m.seq < seq {
                    return;
                }
                if !verify_mutable(&m.signature, m.seq, &m.value, &public_key) {
                    return;
                }
                best = Some(m.seq);
                on_value(r, &m)
            },
        )
        .await
    }
}

/// A server's relay choice: none without a relayer, else asking (a `relayThrough` function)
/// wins over a fixed key.
fn relay_choice(relayer: bool, ask: bool, key: Option<[u8; 32]>) -> RelayChoice {
    match (relayer, ask, key) {
        (false, _, _) => RelayChoice::None,
        (true, true, _) => RelayChoice::Ask,
        (true, false, Some(k)) => RelayChoice::Key(k),
        (true, false, None) => RelayChoice::None,
    }
}
