//! The owned UDP socket: batched sends (UDP GSO) and receives (`recvmmsg` + GRO) through
//! `quinn-udp`, falling back to one datagram per syscall where the kernel lacks them. Mirrors
//! what `libudx src/io_posix.c` does with plain `sendmsg`/`recvmsg`, minus one syscall per
//! packet.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::sync::Arc;

use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState, BATCH_SIZE};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::socket::Transport;

/// Receive buffer per datagram without GRO, like libudx (`UDX_SOCKET_PACKET_BUFFER_SIZE`).
const RECV_BUFFER: usize = 2048;
/// With GRO a buffer holds a train of coalesced datagrams; the kernel caps it at 64 KiB.
const GRO_BUFFER: usize = 65_536;

pub(crate) struct OwnSocket {
    pub(crate) io: Arc<UdpSocket>,
    state: UdpSocketState,
}

impl OwnSocket {
    pub(crate) fn new(io: Arc<UdpSocket>) -> io::Result<Self> {
        let state = UdpSocketState::new(UdpSockRef::from(&*io))?;
        Ok(OwnSocket { io, state })
    }

    fn send_one(&self, to: SocketAddr, data: &[u8], segment: Option<usize>) -> io::Result<()> {
        let t = Transmit {
            destination: to,
            ecn: None,
            contents: data,
            segment_size: segment,
            src_ip: None,
        };
        self.io.try_io(Interest::WRITABLE, || {
            self.state.try_send(UdpSockRef::from(&*self.io), &t)
        })
    }

    /// Reusable receive buffers sized for this socket's GRO capability.
    pub(crate) fn recv_buffers(&self) -> RecvBuffers {
        let size = if self.state.gro_segments() > 1 {
            GRO_BUFFER
        } else {
            RECV_BUFFER
        };
        RecvBuffers {
            storage: vec![0; size * BATCH_SIZE],
            size,
            meta: vec![RecvMeta::default(); BATCH_SIZE],
        }
    }

    /// Waits until datagrams are queued, then receives a batch; returns how many buffers
    /// were filled (see [`RecvBuffers::datagrams`]).
    pub(crate) async fn recv(&self, bufs: &mut RecvBuffers) -> io::Result<usize> {
        loop {
            self.io.readable().await?;
            match self.try_recv(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return r,
            }
        }
    }

    /// Receives a batch if one is queued (`WouldBlock` otherwise).
    pub(crate) fn try_recv(&self, bufs: &mut RecvBuffers) -> io::Result<usize> {
        let RecvBuffers {
            storage,
            size,
            meta,
        } = bufs;
        let mut chunks = storage.chunks_mut(*size);
        let mut slices: [IoSliceMut<'_>; BATCH_SIZE] =
            std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
        self.io.try_io(Interest::READABLE, || {
            self.state
                .recv(UdpSockRef::from(&*self.io), &mut slices, meta)
        })
    }
}

impl Transport for OwnSocket {
    fn send(&self, to: SocketAddr, data: &[u8]) {
        // a full socket buffer is the same as a lost packet: UDX retransmits
        let _ = self.send_one(to, data, None);
    }

    fn send_batch(&self, to: SocketAddr, data: &[u8], segment_size: usize) {
        if data.len() <= segment_size || self.state.max_gso_segments() <= 1 {
            for d in data.chunks(segment_size.max(1)) {
                let _ = self.send_one(to, d, None);
            }
            return;
        }
        match self.send_one(to, data, Some(segment_size)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // GSO refused (quinn-udp turns it off for later sends): one by one this time
            Err(_) => {
                for d in data.chunks(segment_size) {
                    let _ = self.send_one(to, d, None);
                }
            }
        }
    }

    fn max_segments(&self) -> usize {
        self.state.max_gso_segments()
    }
}

/// Receive buffers reused across batches (no allocation per datagram).
pub(crate) struct RecvBuffers {
    storage: Vec<u8>,
    size: usize,
    meta: Vec<RecvMeta>,
}

impl RecvBuffers {
    /// The datagrams of the first `n` filled buffers, GRO trains split at their stride.
    pub(crate) fn datagrams(&self, n: usize) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        self.meta
            .iter()
            .zip(self.storage.chunks(self.size))
            .take(n)
            .flat_map(|(m, buf)| {
                let data = buf.get(..m.len).unwrap_or(buf);
                let stride = if m.stride == 0 {
                    data.len().max(1)
                } else {
                    m.stride
                };
                data.chunks(stride).map(move |d| (m.addr, d))
            })
    }
}
