//! The punching pool (`hyperdht lib/socket-pool.js`, as far as holepunching needs it): UDP
//! sockets the core opens for birthday punching from a RANDOM NAT. Each is a UDX endpoint of
//! its own, so a connection punched through one lives on it; 1-byte datagrams on it go to
//! `Core::on_pool_probe`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use hyperdht_rpc::Dht;
use hyperdht_udx::UdxSocket;

use crate::core::random_punch::{PoolId, PoolOp};
use crate::driver::engine::Engine;

#[derive(Default)]
pub(crate) struct Pool {
    sockets: HashMap<PoolId, UdxSocket>,
}

impl Pool {
    pub(crate) fn run(&mut self, op: PoolOp, rpc: &Dht, host: Ipv4Addr) {
        match op {
            PoolOp::Open { socket, .. } => {
                let Ok(udx) = UdxSocket::bind(SocketAddr::V4(SocketAddrV4::new(host, 0))) else {
                    return;
                };
                let rpc = rpc.clone();
                udx.set_foreign_handler(Box::new(move |from, d| {
                    let SocketAddr::V4(from) = from else { return };
                    if d.len() == 1 {
                        Engine::run(&rpc, |e, n, now| e.core.on_pool_probe(socket, from, n, now));
                    } else if let Some(id) = hyperdht_udx::header::Header::peek_id(d) {
                        // a UDX packet for a stream this socket does not have: like udx-native's
                        // per-instance demux, a pending server stream accepts it here
                        let d = d.to_vec();
                        Engine::run(&rpc, |e, n, now| {
                            e.pool_stream_packet(socket, id, from, &d, n, now)
                        });
                    }
                }));
                self.sockets.insert(socket, udx);
            }
            PoolOp::Send { socket, to, ttl } => {
                if let Some(s) = self.sockets.get(&socket) {
                    s.send_raw_ttl(SocketAddr::V4(to), &[0], ttl);
                }
            }
            PoolOp::Close { socket } => self.close(socket),
        }
    }

    pub(crate) fn get(&self, socket: PoolId) -> Option<&UdxSocket> {
        self.sockets.get(&socket)
    }

    /// Hands a socket over to a connection punched through it: closed once that stream is
    /// (checked every 2 s: the stream's owner holds it, we only hold a weak reference).
    pub(crate) fn hand_over(&mut self, socket: PoolId, weak: hyperdht_udx::socket::UdxStreamRef) {
        let Some(s) = self.sockets.remove(&socket) else {
            return;
        };
        super::engine::spawn(async move {
            while weak.is_open() {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            s.close();
        });
    }

    /// Closes pool socket `socket` now (a stream that was to take it could not).
    pub(crate) fn close(&mut self, socket: PoolId) {
        if let Some(s) = self.sockets.remove(&socket) {
            s.close();
        }
    }
}
