#![forbid(unsafe_code)]
//! Batched UDP I/O on a tokio socket: UDP GSO sends (a run of equal-sized datagrams per
//! `sendmsg`) and `recvmmsg` receives with GRO, through `quinn-udp`, falling back to one datagram
//! per syscall where the kernel lacks them. libudx (`src/io_posix.c`) does one `sendmsg` /
//! `recvmsg` per datagram; on loopback that syscall cost dominates bulk transfers. Used by the
//! owned UDX socket (`hyperdht-udx`) and by the DHT's server socket once UDX streams share it
//! (`hyperdht-rpc`).

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;

use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Most receive slots one `recvmmsg` fills (quinn-udp's batch size on this platform).
pub const MAX_SLOTS: usize = quinn_udp::BATCH_SIZE;
/// The kernel's cap on one GRO train.
const GRO_BUFFER: usize = 65_536;

/// A socket's kernel batching state (capabilities and fallbacks), shared by senders and the
/// receive loop: every method takes `&self`.
pub struct BatchUdp {
    state: UdpSocketState,
}

impl BatchUdp {
    /// Probes `sock`'s capabilities and sets its options (GRO on, don't-fragment).
    pub fn new(sock: &UdpSocket) -> io::Result<Self> {
        Ok(BatchUdp {
            state: UdpSocketState::new(UdpSockRef::from(sock))?,
        })
    }

    /// How many datagrams one [`BatchUdp::send`] may carry (1 = no GSO).
    pub fn max_segments(&self) -> usize {
        self.state.max_gso_segments()
    }

    fn send_one(
        &self,
        sock: &UdpSocket,
        to: SocketAddr,
        data: &[u8],
        segment: Option<usize>,
    ) -> io::Result<()> {
        let t = Transmit {
            destination: to,
            ecn: None,
            contents: data,
            segment_size: segment,
            src_ip: None,
        };
        // straight to the kernel, not through tokio's readiness: a socket another event loop
        // receives on (issue 16) has no driven readiness, and a send needs none (a full buffer
        // drops, see `send`)
        self.state.try_send(UdpSockRef::from(sock), &t)
    }

    /// Sends `data` to `to`, split every `segment` bytes (one GSO `sendmsg` when longer). A full
    /// socket buffer drops the datagrams: for traffic that recovers from loss (UDX retransmits).
    pub fn send(&self, sock: &UdpSocket, to: SocketAddr, data: &[u8], segment: usize) {
        let segment = segment.max(1);
        if data.len() <= segment || self.max_segments() <= 1 {
            for d in data.chunks(segment) {
                let _ = self.send_one(sock, to, d, None);
            }
            return;
        }
        match self.send_one(sock, to, data, Some(segment)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // GSO refused (quinn-udp turns it off for later sends): one by one this time
            Err(_) => {
                for d in data.chunks(segment) {
                    let _ = self.send_one(sock, to, d, None);
                }
            }
        }
    }

    /// Receive buffers for `slots` datagrams (≤ [`MAX_SLOTS`]), each sized for this socket's
    /// GRO capability, or `datagram` bytes without GRO. Allocated zeroed: pages the kernel
    /// never writes stay unbacked.
    pub fn buffers(&self, slots: usize, datagram: usize) -> RecvBuffers {
        let slots = slots.clamp(1, MAX_SLOTS);
        let size = if self.state.gro_segments() > 1 {
            GRO_BUFFER
        } else {
            datagram
        };
        RecvBuffers {
            storage: vec![0; size * slots],
            size,
            meta: vec![RecvMeta::default(); slots],
        }
    }

    /// Receives a batch if one is queued (`WouldBlock` otherwise); returns the slots filled.
    pub fn try_recv(&self, sock: &UdpSocket, bufs: &mut RecvBuffers) -> io::Result<usize> {
        sock.try_io(Interest::READABLE, || self.recv_now(sock, bufs))
    }

    /// [`BatchUdp::try_recv`] without tokio's readiness bookkeeping: for a socket whose
    /// readability another event loop polls (the Node addon's JS thread, issue 16).
    pub fn recv_now(&self, sock: &UdpSocket, bufs: &mut RecvBuffers) -> io::Result<usize> {
        let RecvBuffers {
            storage,
            size,
            meta,
        } = bufs;
        let mut chunks = storage.chunks_mut(*size);
        let mut slices: [IoSliceMut<'_>; MAX_SLOTS] =
            std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
        let n = bufs_slots(meta);
        self.state
            .recv(UdpSockRef::from(sock), &mut slices[..n], &mut meta[..n])
    }

    /// Waits until datagrams are queued, then receives a batch (see [`BatchUdp::try_recv`]).
    /// Receive errors are absorbed (callers have nothing to do with them) behind a
    /// [`RecvBackoff`], so a socket that keeps failing is not read in a busy loop.
    pub async fn recv(&self, sock: &UdpSocket, bufs: &mut RecvBuffers) -> io::Result<usize> {
        let mut backoff = RecvBackoff::default();
        loop {
            sock.readable().await?;
            match self.try_recv(sock, bufs) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(_) => backoff.failed().await,
            }
        }
    }
}

/// Pacing for receive errors other than `WouldBlock`. Most are one-off and consumed by the read
/// that reports them (an ICMP port-unreachable as `ECONNREFUSED`); a socket that keeps failing
/// would otherwise be polled in a busy loop, readable and erroring forever. After
/// [`RecvBackoff::FREE`] failures in a row each one waits, 1 ms doubling up to 100 ms.
#[derive(Debug, Default)]
pub struct RecvBackoff {
    failures: u32,
}

impl RecvBackoff {
    /// Failures in a row that are retried at once.
    pub const FREE: u32 = 3;
    const MAX: std::time::Duration = std::time::Duration::from_millis(100);

    /// A receive worked: the next failure is retried at once again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Counts a failure and returns how long to wait before reading again.
    pub fn next_delay(&mut self) -> Option<std::time::Duration> {
        self.failures = self.failures.saturating_add(1);
        let over = self.failures.checked_sub(Self::FREE + 1)?;
        let ms = 1u64.checked_shl(over.min(16)).unwrap_or(u64::MAX);
        Some(std::time::Duration::from_millis(ms).min(Self::MAX))
    }

    /// Counts a failure and waits as [`RecvBackoff::next_delay`] says.
    pub async fn failed(&mut self) {
        if let Some(d) = self.next_delay() {
            tokio::time::sleep(d).await;
        }
    }
}

/// Receive buffers reused across batches (no allocation per datagram).
pub struct RecvBuffers {
    storage: Vec<u8>,
    size: usize,
    meta: Vec<RecvMeta>,
}

impl RecvBuffers {
    /// How many datagram slots one receive can fill.
    pub fn slots(&self) -> usize {
        bufs_slots(&self.meta)
    }

    /// The datagrams of the first `n` filled slots, GRO trains split at their stride.
    pub fn datagrams(&self, n: usize) -> impl Iterator<Item = (SocketAddr, &[u8])> {
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

/// The slots a receive fills: one per metadata entry, at most [`MAX_SLOTS`].
fn bufs_slots(meta: &[RecvMeta]) -> usize {
    meta.len().min(MAX_SLOTS)
}

#[cfg(test)]
mod tests {
    use super::RecvBackoff;
    use std::time::Duration;

    #[test]
    fn backoff_lets_a_few_failures_through_then_waits_longer_up_to_a_cap() {
        let mut b = RecvBackoff::default();
        for _ in 0..RecvBackoff::FREE {
            assert_eq!(b.next_delay(), None);
        }
        let waits: Vec<Duration> = (0..10).filter_map(|_| b.next_delay()).collect();
        let ms: Vec<u128> = waits.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [1, 2, 4, 8, 16, 32, 64, 100, 100, 100]);
        for _ in 0..100 {
            assert_eq!(b.next_delay(), Some(Duration::from_millis(100)));
        }
        b.succeeded();
        assert_eq!(b.next_delay(), None, "a success resets it");
    }
}
