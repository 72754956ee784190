//! The owned UDP socket: batched sends and receives through `hyperdht-udp` (GSO, `recvmmsg` +
//! GRO). Mirrors what `libudx src/io_posix.c` does with plain `sendmsg`/`recvmsg`, minus one
//! syscall per packet.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use hyperdht_udp::{BatchUdp, RecvBuffers, MAX_SLOTS};
use tokio::net::UdpSocket;

use crate::socket::Transport;

/// Receive buffer per datagram without GRO, like libudx (`UDX_SOCKET_PACKET_BUFFER_SIZE`).
const RECV_BUFFER: usize = 2048;

pub(crate) struct OwnSocket {
    pub(crate) io: Arc<UdpSocket>,
    batch: BatchUdp,
}

impl OwnSocket {
    pub(crate) fn new(io: Arc<UdpSocket>) -> io::Result<Self> {
        let batch = BatchUdp::new(&io)?;
        Ok(OwnSocket { io, batch })
    }

    /// Reusable receive buffers sized for this socket's GRO capability.
    pub(crate) fn recv_buffers(&self) -> RecvBuffers {
        self.batch.buffers(MAX_SLOTS, RECV_BUFFER)
    }

    /// Waits until datagrams are queued, then receives a batch; returns how many buffers
    /// were filled (see [`RecvBuffers::datagrams`]).
    pub(crate) async fn recv(&self, bufs: &mut RecvBuffers) -> io::Result<usize> {
        self.batch.recv(&self.io, bufs).await
    }

    /// Receives a batch if one is queued (`WouldBlock` otherwise).
    pub(crate) fn try_recv(&self, bufs: &mut RecvBuffers) -> io::Result<usize> {
        self.batch.try_recv(&self.io, bufs)
    }
}

impl Transport for OwnSocket {
    fn send(&self, to: SocketAddr, data: &[u8]) {
        // a full socket buffer is the same as a lost packet: UDX retransmits
        self.batch.send(&self.io, to, data, data.len());
    }

    fn send_batch(&self, to: SocketAddr, data: &[u8], segment_size: usize) {
        self.batch.send(&self.io, to, data, segment_size);
    }

    fn max_segments(&self) -> usize {
        self.batch.max_segments()
    }
}
