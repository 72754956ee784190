//! Helpers shared by the netsim tests.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};

use hyperdht_netsim::{seed_from_env, Delivery, HostId, Net};

pub fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// A network seeded from `NETSIM_SEED` or `default`.
pub fn net(default: u64) -> Net {
    Net::new(seed_from_env(default))
}

/// Test shorthands on [`Net`] (methods, so `n.send1(h, p, sa(n.host_ip(x), 1))` borrows fine).
pub trait NetExt {
    /// Delivers everything queued, moving the clock along; returns the deliveries in order.
    fn drain(&mut self) -> Vec<Delivery>;
    /// Sends one datagram and delivers everything queued.
    fn send1(&mut self, host: HostId, port: u16, to: SocketAddrV4) -> Vec<Delivery>;
}

impl NetExt for Net {
    fn drain(&mut self) -> Vec<Delivery> {
        let mut out = Vec::new();
        while let Some(t) = self.next_delivery_time() {
            while let Some(d) = self.pop_due(t) {
                out.push(d);
            }
        }
        out
    }

    fn send1(&mut self, host: HostId, port: u16, to: SocketAddrV4) -> Vec<Delivery> {
        self.send(host, port, to, b"x".to_vec(), None);
        self.drain()
    }
}
