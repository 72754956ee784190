//! NAT classification of the socket we punch with (`hyperdht lib/nat.js`): samples are "our
//! address as node X saw it" (PING replies sent from that socket, PEER_HOLEPUNCH replies and
//! relayed requests), one per node. The classifier is pure; [`auto_sample`] pings up to four
//! recently seen nodes from the socket.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyperdht_rpc::node::{RequestSpec, SocketKind};
use hyperdht_rpc::Dht;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::constants::Firewall;

/// Samples wanted before the analysis is considered finished (`_minSamples`).
const MIN_SAMPLES: usize = 4;
/// With this many known nodes the newest few are skipped (they may share our path).
const SKIP_THRESHOLD: usize = 8;
const SKIP: usize = 5;
/// dht-rpc PING code.
const PING: u64 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    host: Ipv4Addr,
    port: u16,
    hits: usize,
}

/// `addSample`: count a hit and keep the list sorted by hits (stable for ties).
fn add_sample(samples: &mut Vec<Sample>, host: Ipv4Addr, port: u16) {
    if let Some(i) = samples
        .iter()
        .position(|s| s.host == host && s.port == port)
    {
        samples[i].hits += 1;
        let mut i = i;
        while i > 0 && samples[i - 1].hits < samples[i].hits {
            samples.swap(i - 1, i);
            i -= 1;
        }
        return;
    }
    samples.push(Sample {
        host,
        port,
        hits: 1,
    });
}

/// The classifier state (`class Nat`).
#[derive(Debug)]
pub struct Nat {
    hosts: Vec<Sample>,
    full: Vec<Sample>,
    /// 1 = pinged, 2 = sampled (`_visited`).
    visited: HashMap<SocketAddrV4, u8>,
    sampled: usize,
    min_samples: usize,
    dht_firewalled: bool,
    frozen: bool,
    analyzed: bool,
    pub firewall: Firewall,
    pub addresses: Option<Vec<SocketAddrV4>>,
}

impl Nat {
    /// `dht_firewalled = dht.firewalled`: an unfirewalled node is OPEN from the start.
    pub fn new(dht_firewalled: bool) -> Self {
        Nat {
            hosts: Vec::new(),
            full: Vec::new(),
            visited: HashMap::new(),
            sampled: 0,
            min_samples: MIN_SAMPLES,
            dht_firewalled,
            frozen: false,
            analyzed: false,
            firewall: if dht_firewalled {
                Firewall::Unknown
            } else {
                Firewall::Open
            },
            addresses: None,
        }
    }

    pub fn sampled(&self) -> usize {
        self.sampled
    }

    /// Whether `analyzing` has resolved.
    pub fn is_analyzed(&self) -> bool {
        self.analyzed
    }

    /// Marks the analysis finished (pings ran out, or destroyed).
    pub fn finish(&mut self) {
        self.analyzed = true;
    }

    /// `freeze()`: stop updating the verdict (it was sent to the peer).
    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    /// `add(addr, from)`: `addr` is our address as seen by the node at `from`.
    pub fn add(&mut self, addr: SocketAddrV4, from: SocketAddrV4) {
        if self.visited.get(&from) == Some(&2) {
            return;
        }
        self.visited.insert(from, 2);
        add_sample(&mut self.hosts, *addr.ip(), 0);
        add_sample(&mut self.full, *addr.ip(), addr.port());
        self.sampled += 1;
        if (self.sampled >= 3 || !self.dht_firewalled) && !self.frozen {
            self.update();
        }
        if self.firewall.is_consistent() || self.sampled >= self.min_samples {
            self.analyzed = true;
        }
    }

    fn update(&mut self) {
        if self.dht_firewalled && self.firewall == Firewall::Open {
            self.firewall = Firewall::Unknown;
        }
        self.update_firewall();
        self.update_addresses();
    }

    fn update_firewall(&mut self) {
        if !self.dht_firewalled {
            self.firewall = Firewall::Open;
            return;
        }
        if self.sampled < 3 {
            return;
        }
        let max = self.full.first().map_or(0, |s| s.hits);
        if max >= 3 {
            self.firewall = Firewall::Consistent;
        } else if max == 1 {
            self.firewall = Firewall::Random;
        } else if self.hosts.len() == 1 && self.sampled > 3 {
            // max == 2 on a single host with bad samples besides
            self.firewall = Firewall::Random;
        } else if self.hosts.len() > 1 && self.full.get(1).is_some_and(|s| s.hits > 1) {
            self.firewall = Firewall::Consistent;
        } else if self.sampled > 4 {
            self.firewall = Firewall::Random;
        }
    }

    fn update_addresses(&mut self) {
        self.addresses = match self.firewall {
            Firewall::Unknown => None,
            Firewall::Random => self
                .hosts
                .first()
                .map(|s| vec![SocketAddrV4::new(s.host, 0)]),
            Firewall::Consistent | Firewall::Open => {
                let mut out = Vec::new();
                for s in &self.full {
                    if s.hits >= 2 || out.len() < 2 {
                        out.push(SocketAddrV4::new(s.host, s.port));
                    }
                }
                Some(out)
            }
        };
    }
}

/// A classifier shared between its sampler task and its users.
#[derive(Clone)]
pub struct SharedNat {
    pub nat: Arc<Mutex<Nat>>,
    changed: Arc<Notify>,
}

impl SharedNat {
    pub fn new(dht_firewalled: bool) -> Self {
        SharedNat {
            nat: Arc::new(Mutex::new(Nat::new(dht_firewalled))),
            changed: Arc::new(Notify::new()),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Nat) -> R) -> R {
        let mut g = match self.nat.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let r = f(&mut g);
        drop(g);
        self.changed.notify_waiters();
        r
    }

    /// Reads the classifier without waking waiters ([`SharedNat::with`] wakes them, and a
    /// waiter whose own check woke itself would spin: see [`SharedNat::analyzing`]).
    pub fn read<R>(&self, f: impl FnOnce(&Nat) -> R) -> R {
        let g = match self.nat.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&g)
    }

    /// `await nat.analyzing`, bounded by `limit`.
    pub async fn analyzing(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // registered before the check, so a sample landing in between still wakes us
            let notified = self.changed.notified();
            if self.read(|n| n.is_analyzed()) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// (firewall, addresses) now.
    pub fn state(&self) -> (Firewall, Option<Vec<SocketAddrV4>>) {
        self.read(|n| (n.firewall, n.addresses.clone()))
    }
}

/// `autoSample()`: PING up to four recently seen nodes from `socket` (no retries), one more
/// pass over other nodes if that gave too few samples, then mark the analysis finished.
pub async fn auto_sample(nat: SharedNat, rpc: Dht, socket: SocketKind) {
    let mut tried: Vec<SocketAddrV4> = Vec::new();
    for _pass in 0..2 {
        let nodes = rpc.to_array(0);
        let skip = if nodes.len() >= SKIP_THRESHOLD {
            SKIP
        } else {
            0
        };
        let need = MIN_SAMPLES.saturating_sub(nat.read(|n| n.sampled()));
        let picks: Vec<SocketAddrV4> = nodes
            .iter()
            .skip(skip)
            .map(|n| n.addr)
            .filter(|a| !tried.contains(a))
            .take(need)
            .collect();
        tried.extend(&picks);
        let mut set = JoinSet::new();
        for to in picks {
            let rpc = rpc.clone();
            set.spawn(async move {
                let mut spec = RequestSpec::new(to, true, PING);
                spec.retries = 0;
                spec.socket = Some(socket);
                rpc.request(spec).await
            });
        }
        while let Some(r) = set.join_next().await {
            if let Ok(Ok(res)) = r {
                nat.with(|n| n.add(res.to, res.from));
            }
        }
        if nat.read(|n| n.sampled()) >= MIN_SAMPLES {
            break;
        }
    }
    nat.with(|n| n.finish());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }

    /// Waiting for the verdict must sleep, not spin: it ends at its limit when no sample comes
    /// (on a runtime whose other worker is free to watch), and a sample from elsewhere wakes it.
    #[test]
    fn analyzing_waits_without_spinning_and_wakes_on_samples() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let nat = SharedNat::new(true);
        let t0 = std::time::Instant::now();
        let idle = rt.spawn({
            let nat = nat.clone();
            async move { nat.analyzing(Duration::from_millis(300)).await }
        });
        while !idle.is_finished() {
            if t0.elapsed() > Duration::from_secs(5) {
                // a spinning task would also block the runtime's drop
                rt.shutdown_background();
                panic!("analyzing() never returned: it spins instead of sleeping");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(t0.elapsed() >= Duration::from_millis(300));

        let t1 = std::time::Instant::now();
        let woken = rt.spawn({
            let nat = nat.clone();
            async move { nat.analyzing(Duration::from_secs(30)).await }
        });
        for i in 1..=3 {
            std::thread::sleep(Duration::from_millis(20));
            nat.with(|n| n.add(a("1.2.3.4:5000"), SocketAddrV4::new([9, 0, 0, i].into(), 1)));
        }
        while !woken.is_finished() {
            assert!(
                t1.elapsed() < Duration::from_secs(5),
                "samples did not wake the waiter"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(nat.read(|n| n.is_analyzed()));
    }

    #[test]
    fn consistent_after_three_equal_samples() {
        let mut n = Nat::new(true);
        n.add(a("1.2.3.4:5000"), a("9.0.0.1:1"));
        n.add(a("1.2.3.4:5000"), a("9.0.0.2:1"));
        assert_eq!(n.firewall, Firewall::Unknown);
        assert!(!n.is_analyzed());
        n.add(a("1.2.3.4:5000"), a("9.0.0.3:1"));
        assert_eq!(n.firewall, Firewall::Consistent);
        assert_eq!(n.addresses, Some(vec![a("1.2.3.4:5000")]));
        assert!(n.is_analyzed());
        // the same node counts once
        n.add(a("1.2.3.4:6000"), a("9.0.0.3:1"));
        assert_eq!(n.sampled(), 3);
    }

    #[test]
    fn random_ports_and_open_nodes() {
        let mut n = Nat::new(true);
        for (i, p) in [1000, 2000, 3000].into_iter().enumerate() {
            n.add(
                SocketAddrV4::new([1, 2, 3, 4].into(), p),
                SocketAddrV4::new([9, 0, 0, i as u8].into(), 1),
            );
        }
        assert_eq!(n.firewall, Firewall::Random);
        assert_eq!(n.addresses, Some(vec![a("1.2.3.4:0")]));
        let open = Nat::new(false);
        assert_eq!(open.firewall, Firewall::Open);
    }

    #[test]
    fn frozen_verdict_stays() {
        let mut n = Nat::new(true);
        n.freeze();
        for i in 0..3u8 {
            n.add(a("1.2.3.4:5000"), SocketAddrV4::new([9, 0, 0, i].into(), 1));
        }
        assert_eq!(n.firewall, Firewall::Unknown);
    }
}
