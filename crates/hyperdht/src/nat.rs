//! NAT classification of the socket we punch with (`hyperdht lib/nat.js`): samples are "our
//! address as node X saw it" (PING replies sent from that socket, PEER_HOLEPUNCH replies and
//! relayed requests), one per node. The classifier is pure; the holepunchers
//! (`core/holepuncher.rs`) ping up to four recently seen nodes from the socket to feed it.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::constants::Firewall;

/// Samples wanted before the analysis is considered finished (`_minSamples`).
const MIN_SAMPLES: usize = 4;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
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
