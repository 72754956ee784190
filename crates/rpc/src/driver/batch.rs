//! Batched I/O on the server socket for UDX streams sharing it (hyperdht puts its connections
//! on the DHT's server socket, `05-udx.md` §2). Off until the first UDX send
//! ([`super::Dht::enable_batched_io`]), so a node that never carries a connection keeps its
//! one-datagram receive buffer and plain `sendto`. Once on: UDP GSO sends (a run of equal-sized
//! datagrams per `sendmsg`), `recvmmsg` receives with GRO, through `quinn-udp` like the owned
//! UDX socket (`crates/udx/src/udp.rs`). libudx (`src/io_posix.c`) does one syscall per
//! datagram; on loopback that syscall cost dominated the shared-socket path.

use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4};

use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::messages::MAX_DATAGRAM;

/// Receive slots per `recvmmsg`. With GRO each slot holds a train of up to 64 KiB.
const SLOTS: usize = 8;
/// The kernel's cap on one GRO train.
const GRO_BUFFER: usize = 65_536;

/// The server socket's kernel batching state (created once, shared by senders and the driver).
pub(crate) struct BatchIo {
    state: UdpSocketState,
}

impl BatchIo {
    pub(crate) fn new(sock: &UdpSocket) -> io::Result<Self> {
        Ok(BatchIo {
            state: UdpSocketState::new(UdpSockRef::from(sock))?,
        })
    }

    /// How many datagrams one [`BatchIo::send`] may carry.
    pub(crate) fn max_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    /// Sends `data` to `to`, split every `segment` bytes (GSO) when it is longer. A full socket
    /// buffer drops the datagrams (UDX retransmits), as on the owned socket.
    pub(crate) fn send(&self, sock: &UdpSocket, to: SocketAddrV4, data: &[u8], segment: usize) {
        let one = |d: &[u8], seg: Option<usize>| {
            let t = Transmit {
                destination: SocketAddr::V4(to),
                ecn: None,
                contents: d,
                segment_size: seg,
                src_ip: None,
            };
            sock.try_io(Interest::WRITABLE, || {
                self.state.try_send(UdpSockRef::from(sock), &t)
            })
        };
        let segment = segment.max(1);
        if data.len() <= segment || self.max_segments() <= 1 {
            for d in data.chunks(segment) {
                let _ = one(d, None);
            }
            return;
        }
        match one(data, Some(segment)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // GSO refused (quinn-udp turns it off for later sends): one by one this time
            Err(_) => {
                for d in data.chunks(segment) {
                    let _ = one(d, None);
                }
            }
        }
    }

    /// Receive buffers for this socket's GRO capability (allocated zeroed: pages the kernel
    /// never writes stay unbacked).
    pub(crate) fn buffers(&self) -> RecvBuffers {
        let size = if self.state.gro_segments() > 1 {
            GRO_BUFFER
        } else {
            MAX_DATAGRAM
        };
        RecvBuffers {
            storage: vec![0; size * SLOTS],
            size,
            meta: vec![RecvMeta::default(); SLOTS],
        }
    }

    /// Receives a batch if one is queued (`WouldBlock` otherwise); returns the slots filled.
    pub(crate) fn try_recv(&self, sock: &UdpSocket, bufs: &mut RecvBuffers) -> io::Result<usize> {
        let RecvBuffers {
            storage,
            size,
            meta,
        } = bufs;
        let mut chunks = storage.chunks_mut(*size);
        let mut slices: [IoSliceMut<'_>; SLOTS] =
            std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
        sock.try_io(Interest::READABLE, || {
            self.state.recv(UdpSockRef::from(sock), &mut slices, meta)
        })
    }
}

/// Receive buffers reused across batches.
pub(crate) struct RecvBuffers {
    storage: Vec<u8>,
    size: usize,
    meta: Vec<RecvMeta>,
}

impl RecvBuffers {
    /// The IPv4 datagrams of the first `n` slots, GRO trains split at their stride.
    pub(crate) fn datagrams(&self, n: usize) -> impl Iterator<Item = (SocketAddrV4, &[u8])> {
        self.meta
            .iter()
            .zip(self.storage.chunks(self.size))
            .take(n)
            .filter_map(|(m, buf)| match m.addr {
                SocketAddr::V4(a) => Some((a, m, buf)),
                SocketAddr::V6(a) => a
                    .ip()
                    .to_ipv4_mapped()
                    .map(|ip| (SocketAddrV4::new(ip, a.port()), m, buf)),
            })
            .flat_map(|(from, m, buf)| {
                let data = buf.get(..m.len).unwrap_or(buf);
                let stride = if m.stride == 0 {
                    data.len().max(1)
                } else {
                    m.stride
                };
                data.chunks(stride).map(move |d| (from, d))
            })
    }
}
