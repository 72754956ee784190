//! Public-address voting (`nat-sampler` 1.0.1): a ring of 16 (address, host) sample pairs with a
//! look-back of 4 for merging identical samples.

use std::net::Ipv4Addr;

const MAX_PAIRS: usize = 16;
const LOOKBACK: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    host: Ipv4Addr,
    port: u16,
    hits: i32,
}

#[derive(Debug, Clone, Default)]
pub struct NatSampler {
    /// Interleaved ring of sample indices into `pool`: even = address sample, odd = host sample.
    ring: Vec<usize>,
    pool: Vec<Sample>,
    head: usize,
    size: usize,
    best_addr: Option<usize>,
    best_host: Option<usize>,
    pub host: Option<Ipv4Addr>,
    pub port: u16,
}

impl NatSampler {
    pub fn new() -> Self {
        NatSampler {
            ring: vec![usize::MAX; MAX_PAIRS * 2],
            ..Default::default()
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    fn threshold(&self) -> i32 {
        let s = self.size as i32;
        if self.size < 4 {
            s
        } else if self.size < 8 {
            s - 1
        } else if self.size < 12 {
            s - 2
        } else {
            s - 3
        }
    }

    fn find(&self, parity: usize, host: Ipv4Addr, port: u16) -> Option<usize> {
        let n = self.size.min(LOOKBACK);
        for i in 1..=n {
            let slot_pair = (self.head + MAX_PAIRS - i) % MAX_PAIRS;
            let idx = self.ring[slot_pair * 2 + parity];
            if idx == usize::MAX {
                continue;
            }
            let s = self.pool[idx];
            if s.host == host && s.port == port {
                return Some(idx);
            }
        }
        None
    }

    fn intern(&mut self, parity: usize, host: Ipv4Addr, port: u16) -> usize {
        if let Some(i) = self.find(parity, host, port) {
            self.pool[i].hits += 1;
            return i;
        }
        self.pool.push(Sample {
            host,
            port,
            hits: 1,
        });
        self.pool.len() - 1
    }

    /// Adds one observation of our public address; returns true if `host`/`port` changed.
    pub fn add(&mut self, host: Ipv4Addr, port: u16) -> bool {
        let a = self.intern(0, host, port);
        let h = self.intern(1, host, 0);
        let slot = self.head;
        for parity in 0..2 {
            let old = self.ring[slot * 2 + parity];
            if old != usize::MAX {
                self.pool[old].hits -= 1;
            }
        }
        self.ring[slot * 2] = a;
        self.ring[slot * 2 + 1] = h;
        self.head = (self.head + 1) % MAX_PAIRS;
        if self.size < MAX_PAIRS {
            self.size += 1;
        }
        if self
            .best_addr
            .is_none_or(|b| self.pool[b].hits < self.pool[a].hits)
        {
            self.best_addr = Some(a);
        }
        if self
            .best_host
            .is_none_or(|b| self.pool[b].hits < self.pool[h].hits)
        {
            self.best_host = Some(h);
        }
        self.compact();
        let before = (self.host, self.port);
        let t = self.threshold();
        let ba = self.best_addr.map(|i| self.pool[i]);
        let bh = self.best_host.map(|i| self.pool[i]);
        if let Some(s) = ba.filter(|s| s.hits >= t) {
            self.host = Some(s.host);
            self.port = s.port;
        } else if let Some(s) = bh.filter(|s| s.hits >= t) {
            self.host = Some(s.host);
            self.port = 0;
        } else {
            self.host = None;
            self.port = 0;
        }
        before != (self.host, self.port)
    }

    /// Keeps the pool from growing without bound: drops samples nobody references.
    fn compact(&mut self) {
        if self.pool.len() < MAX_PAIRS * 8 {
            return;
        }
        let mut keep: Vec<usize> = self
            .ring
            .iter()
            .copied()
            .filter(|&i| i != usize::MAX)
            .collect();
        keep.extend(self.best_addr);
        keep.extend(self.best_host);
        keep.sort_unstable();
        keep.dedup();
        let mut map = vec![usize::MAX; self.pool.len()];
        let mut pool = Vec::with_capacity(keep.len());
        for (n, &i) in keep.iter().enumerate() {
            map[i] = n;
            pool.push(self.pool[i]);
        }
        for r in self.ring.iter_mut().filter(|r| **r != usize::MAX) {
            *r = map[*r];
        }
        self.best_addr = self.best_addr.map(|i| map[i]);
        self.best_host = self.best_host.map(|i| map[i]);
        self.pool = pool;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistent_and_randomized() {
        let mut s = NatSampler::new();
        let ip: Ipv4Addr = "1.2.3.4".parse().unwrap();
        s.add(ip, 1000);
        assert_eq!((s.host, s.port), (Some(ip), 1000));
        s.add(ip, 1001);
        // size 2, threshold 2: address hits 1 each, host hits 2
        assert_eq!((s.host, s.port), (Some(ip), 0));
        for _ in 0..200 {
            s.add(ip, 1000);
        }
        assert_eq!((s.host, s.port), (Some(ip), 1000));
        assert!(s.pool.len() <= MAX_PAIRS * 8);
    }
}
