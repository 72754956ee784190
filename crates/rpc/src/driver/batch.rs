//! Batched I/O on the server socket for UDX streams sharing it (hyperdht puts its connections
//! on the DHT's server socket, `05-udx.md` §2). Off until the first UDX send
//! ([`super::Dht::enable_batched_io`]), so a node that never carries a connection keeps its
//! one-datagram receive buffer and plain `sendto`. Once on: GSO sends and `recvmmsg`/GRO
//! receives through `hyperdht-udp`, like the owned UDX socket.

use std::net::{SocketAddr, SocketAddrV4};

use hyperdht_udp::{BatchUdp, RecvBuffers};

use crate::messages::MAX_DATAGRAM;

/// Receive slots per `recvmmsg` (with GRO each holds a train of up to 64 KiB).
const SLOTS: usize = 8;

/// Receive buffers for the server socket's batched path.
pub(crate) fn buffers(io: &BatchUdp) -> RecvBuffers {
    io.buffers(SLOTS, MAX_DATAGRAM)
}

/// The IPv4 datagrams of a received batch (the sockets are IPv4; a mapped address is unwrapped).
pub(crate) fn datagrams(
    bufs: &RecvBuffers,
    n: usize,
) -> impl Iterator<Item = (SocketAddrV4, &[u8])> {
    bufs.datagrams(n).filter_map(|(from, d)| match from {
        SocketAddr::V4(a) => Some((a, d)),
        SocketAddr::V6(a) => a
            .ip()
            .to_ipv4_mapped()
            .map(|ip| (SocketAddrV4::new(ip, a.port()), d)),
    })
}
