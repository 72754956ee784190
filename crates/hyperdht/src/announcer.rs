//! A listening server's announcer (`hyperdht lib/announcer.js`): finds the closest nodes to
//! `hash(publicKey)`, sends a signed ANNOUNCE-self to the best 3 (they become our relay nodes:
//! they store the forward and route handshakes to us), pings them every 3 s, re-announces at
//! once when too few answer and otherwise every ~5 minutes (100 rounds) or on `refresh()`, and
//! unannounces relays that dropped out of the set. Suspend unannounces; stop unannounces.

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyperdht_crypto::KeyPair;
use hyperdht_encoding::Codec;
use hyperdht_rpc::node::RequestSpec;
use hyperdht_rpc::{Dht, Response};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::dht::{HyperDht, QueryOptions};
use crate::messages::{Announce, Peer};
use crate::noise_payload::RelayInfo;
use crate::signing::{sign_announce, sign_unannounce};
use crate::Command;

/// `MIN_ACTIVE`: re-announce when fewer than `min(#relays, 3)` relays answer a ping round.
const MIN_ACTIVE: usize = 3;
/// Relay nodes announced to per cycle (`pickBest`) and relay addresses advertised.
const MAX_RELAYS: usize = 3;
/// Rounds of relay pings between two scheduled re-announces (~5 min).
const ROUNDS: usize = 100;
const ROUND_PAUSE: Duration = Duration::from_secs(3);
const OFFLINE_POLL: Duration = Duration::from_secs(1);
const COMMANDS: usize = 8;

/// The three relay generations (`_serverRelays`): the newest is the current set, the older
/// two still count for `isRelay` while a re-announce settles.
#[derive(Debug, Default, Clone)]
pub struct RelayGenerations {
    gens: [HashMap<SocketAddrV4, ()>; 3],
}

impl RelayGenerations {
    /// `isRelay(addr)`: whether `addr` is (or recently was) one of our relay nodes.
    pub fn is_relay(&self, addr: &SocketAddrV4) -> bool {
        self.gens.iter().any(|g| g.contains_key(addr))
    }
    fn cycle(&mut self) {
        self.gens.rotate_left(1);
        self.gens[2].clear();
    }
    fn current(&self) -> Vec<SocketAddrV4> {
        self.gens[2].keys().copied().collect()
    }
    fn removed(&self) -> Vec<SocketAddrV4> {
        self.gens[1]
            .keys()
            .filter(|a| !self.gens[2].contains_key(a))
            .copied()
            .collect()
    }
}

enum Cmd {
    Refresh,
    Suspend(oneshot::Sender<()>),
    Resume,
    Stop(oneshot::Sender<()>),
}

/// Control handle of a running announcer.
pub(crate) struct AnnouncerHandle {
    cmd: mpsc::Sender<Cmd>,
}

impl AnnouncerHandle {
    /// `refresh()`: cut the current ping rounds short and re-announce.
    pub(crate) fn refresh(&self) {
        let _ = self.cmd.try_send(Cmd::Refresh);
    }
    /// `suspend()`: stop announcing and unannounce from the current relays.
    pub(crate) async fn suspend(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Cmd::Suspend(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
    /// `resume()`: announce again.
    pub(crate) async fn resume(&self) {
        let _ = self.cmd.send(Cmd::Resume).await;
    }
    /// `stop()`: end the loop and unannounce.
    pub(crate) async fn stop(&self) {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Cmd::Stop(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

struct Announcer {
    hyper: HyperDht,
    rpc: Dht,
    key_pair: KeyPair,
    target: [u8; 32],
    closest: Vec<SocketAddrV4>,
    generations: RelayGenerations,
    suspended: bool,
    refreshing: bool,
    stop: Option<oneshot::Sender<()>>,
    cmd: mpsc::Receiver<Cmd>,
}

/// `announcer.start()`: runs the first announce, then the background loop on a task. Returns
/// once the first announce finished (like `server.listen()`).
pub(crate) async fn start(hyper: HyperDht, key_pair: KeyPair, target: [u8; 32]) -> AnnouncerHandle {
    let (tx, rx) = mpsc::channel(COMMANDS);
    let mut a = Announcer {
        rpc: hyper.rpc.clone(),
        hyper,
        key_pair,
        target,
        closest: Vec::new(),
        generations: RelayGenerations::default(),
        suspended: false,
        refreshing: false,
        stop: None,
        cmd: rx,
    };
    a.update().await;
    tokio::spawn(a.background());
    AnnouncerHandle { cmd: tx }
}

impl Announcer {
    fn stopped(&self) -> bool {
        self.stop.is_some() || self.rpc.is_destroyed()
    }

    /// Applies a command.
    async fn on_cmd(&mut self, cmd: Option<Cmd>) {
        match cmd {
            Some(Cmd::Refresh) => self.refreshing = true,
            Some(Cmd::Suspend(done)) => {
                if !self.suspended {
                    self.suspended = true;
                    self.unannounce_all(self.generations.current()).await;
                }
                let _ = done.send(());
            }
            Some(Cmd::Resume) => {
                if self.suspended {
                    self.suspended = false;
                    self.refreshing = true;
                }
            }
            Some(Cmd::Stop(done)) => self.stop = Some(done),
            // every handle is gone: the server was dropped without close
            None => {
                let (tx, _) = oneshot::channel();
                self.stop = Some(tx);
            }
        }
    }

    /// Sleeps `d` unless a command arrives first.
    async fn pause(&mut self, d: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            c = self.cmd.recv() => self.on_cmd(c).await,
        }
    }

    /// `_background`.
    async fn background(mut self) {
        while !self.stopped() {
            self.refreshing = false;
            let mut round = 0;
            while round < ROUNDS && !self.stopped() && !self.refreshing && !self.suspended {
                round += 1;
                let relays = self.generations.current();
                let active = self.ping_all(&relays).await;
                if active < relays.len().min(MIN_ACTIVE) {
                    // we lost too many relay nodes: announce again
                    self.refreshing = true;
                }
                if !self.stopped() && !self.suspended && !self.refreshing {
                    self.pause(ROUND_PAUSE).await;
                }
            }
            while !self.stopped() && self.suspended {
                let c = self.cmd.recv().await;
                self.on_cmd(c).await;
            }
            if !self.stopped() {
                self.update().await;
            }
            while !self.stopped() && !self.suspended && !self.rpc.online() {
                self.pause(OFFLINE_POLL).await;
            }
        }
        // `stop()`: unannounce from the current relays, then report back
        self.unannounce_all(self.generations.current()).await;
        if let Some(done) = self.stop.take() {
            let _ = done.send(());
        }
    }

    async fn ping_all(&self, relays: &[SocketAddrV4]) -> usize {
        let mut set = JoinSet::new();
        for r in relays {
            let rpc = self.rpc.clone();
            let r = *r;
            set.spawn(async move { rpc.ping(r).await.is_ok() });
        }
        let mut ok = 0;
        while let Some(r) = set.join_next().await {
            if matches!(r, Ok(true)) {
                ok += 1;
            }
        }
        ok
    }

    /// `_update`: FIND_PEER toward the target, announce to the best 3, keep those that
    /// accepted as relays, unannounce the ones that dropped out.
    async fn update(&mut self) {
        self.generations.cycle();
        let o = QueryOptions {
            nodes: self.closest.clone(),
            ..QueryOptions::default()
        };
        let closest = self
            .hyper
            .find_peer(self.target, &o, |_| {})
            .await
            .unwrap_or_default();
        if self.stopped() || self.suspended {
            return;
        }
        let mut relay_addresses = Vec::new();
        if !self.rpc.is_firewalled() {
            if let Some(a) = self.rpc.remote_address() {
                relay_addresses.push(a);
            }
        }
        let mut set = JoinSet::new();
        for r in closest.iter().take(MAX_RELAYS) {
            if let Some(spec) = self.announce_request(r) {
                let rpc = self.rpc.clone();
                let (from, to) = (r.from, r.to);
                set.spawn(async move {
                    let ok = rpc.request(spec).await.is_ok_and(|res| res.error == 0);
                    (ok, from, to)
                });
            }
        }
        let mut relays = Vec::new();
        while let Some(j) = set.join_next().await {
            let Ok((true, from, to)) = j else { continue };
            if relay_addresses.len() < MAX_RELAYS {
                relay_addresses.push(from);
            }
            relays.push(RelayInfo {
                relay_address: from,
                peer_address: to,
            });
            self.generations.gens[2].insert(from, ());
        }
        if self.stopped() || self.suspended {
            return;
        }
        self.closest = closest.iter().map(|r| r.from).collect();
        let (target, generations) = (self.target, self.generations.clone());
        self.hyper.engine(move |e, _, _| {
            if let Some(srv) = e.core.servers.get_mut(&target) {
                srv.relays = relays;
                srv.relay_addresses = relay_addresses;
                srv.relay_generations = generations;
            }
        });
        self.unannounce_all(self.generations.removed()).await;
    }

    fn announce_request(&self, r: &Response) -> Option<RequestSpec> {
        let (node_id, token) = (r.from_id?, r.token?);
        let peer = Peer {
            public_key: self.key_pair.public_key,
            relay_addresses: Vec::new(),
        };
        let signature = sign_announce(&self.key_pair, &self.target, &node_id, &token, &peer, None);
        let ann = Announce {
            peer: Some(peer),
            refresh: None,
            signature: Some(signature),
            bump: 0,
        };
        let mut spec = RequestSpec::new(r.from, false, Command::Announce.code());
        spec.token = Some(token);
        spec.target = Some(self.target);
        spec.value = Some(ann.to_bytes());
        Some(spec)
    }

    async fn unannounce_all(&self, relays: Vec<SocketAddrV4>) {
        let mut set = JoinSet::new();
        for to in relays {
            set.spawn(unannounce(
                self.rpc.clone(),
                self.key_pair.clone(),
                self.target,
                to,
            ));
        }
        while set.join_next().await.is_some() {}
    }
}

/// `_unannounce(to)`: FIND_PEER for a fresh token, then a signed UNANNOUNCE.
async fn unannounce(rpc: Dht, kp: KeyPair, target: [u8; 32], to: SocketAddrV4) {
    let mut spec = RequestSpec::new(to, false, Command::FindPeer.code());
    spec.target = Some(target);
    let Ok(res) = rpc.request(spec).await else {
        return;
    };
    let (Some(token), Some(node_id), Some(_)) = (res.token, res.from_id, res.value) else {
        return;
    };
    let peer = Peer {
        public_key: kp.public_key,
        relay_addresses: Vec::new(),
    };
    let signature = sign_unannounce(&kp, &target, &node_id, &token, &peer, None);
    let ann = Announce {
        peer: Some(peer),
        refresh: None,
        signature: Some(signature),
        bump: 0,
    };
    let mut spec = RequestSpec::new(to, false, Command::Unannounce.code());
    spec.token = Some(token);
    spec.target = Some(target);
    spec.value = Some(ann.to_bytes());
    let _ = rpc.request(spec).await;
}

/// Shared registry of running announcers, keyed by target.
pub(crate) type Announcers = Arc<Mutex<HashMap<[u8; 32], Arc<AnnouncerHandle>>>>;
