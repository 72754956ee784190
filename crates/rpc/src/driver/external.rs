//! Receiving on the server socket from another event loop (issue 16): the Node addon polls the
//! socket's fd on the JS thread (udx-native reads there too) and takes the UDX packets of its
//! connections itself, so a small message reaches JS without waking a driver thread. What it
//! does not take (dht-rpc frames, holepunch probes, packets for unknown streams) is queued for
//! this driver, which processes it on its next turn as if it had received it. While a
//! [`ServerRecv`] lives, the driver does not read the server socket.
//!
//! The socket then also leaves tokio's reactor: tokio registers a socket for read and write
//! edges, and each arriving datagram or completed send would still wake a worker parked in
//! `epoll_wait` (measured: ~4 reactor wake-ups per echo round trip, 40 µs CPU). The server
//! socket is re-registered on a reactor nobody polls ([`dormant`]) and every send and receive
//! on it goes straight to the kernel, never waiting on tokio's readiness.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hyperdht_udp::RecvBuffers;
use tokio::net::UdpSocket;

use super::{batch, Dht, Shared};
use crate::node::SocketKind;

/// Datagrams queued for the driver; more are dropped (dht-rpc retries, UDX retransmits).
const INBOX: usize = 4096;

/// The driver's side: whether someone else receives, and what they left for us.
#[derive(Default)]
pub(crate) struct External {
    pub(crate) on: AtomicBool,
    inbox: Mutex<VecDeque<(SocketAddrV4, Vec<u8>)>>,
}

impl External {
    /// Takes the queued datagrams (the driver processes them).
    pub(crate) fn take(&self) -> VecDeque<(SocketAddrV4, Vec<u8>)> {
        std::mem::take(&mut *self.inbox.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The server socket's receive side, handed out by [`Dht::external_server_recv`]. Dropping it
/// gives receiving back to the driver. It keeps the socket (so its fd) open until dropped.
pub struct ServerRecv {
    shared: Arc<Shared>,
    sock: Arc<UdpSocket>,
    bufs: RecvBuffers,
    /// the last batch left receive slots unused: the socket's queue was empty then
    drained: bool,
}

impl Dht {
    /// Makes the caller the server socket's receiver (see [`ServerRecv`]); None when the node is
    /// destroyed, batched I/O is unavailable, or another receiver exists.
    pub fn external_server_recv(&self) -> Option<ServerRecv> {
        if !self.enable_batched_io() {
            return None;
        }
        let io = self.shared.batch.get()?;
        if self.shared.external.on.swap(true, Ordering::SeqCst) {
            return None;
        }
        let Some(sock) = move_server_socket(&self.shared, dormant()) else {
            self.shared.external.on.store(false, Ordering::SeqCst);
            return None;
        };
        // the driver stops waiting on the socket on its next turn
        self.shared.notify.notify_one();
        Some(ServerRecv {
            shared: self.shared.clone(),
            sock,
            bufs: batch::buffers(io),
            drained: false,
        })
    }
}

impl Dht {
    /// Resolves once the node's driver has stopped (destroyed) and let go of its sockets.
    pub async fn closed(&self) {
        let mut closed = self.shared.closed.subscribe();
        while !*closed.borrow_and_update() {
            if closed.changed().await.is_err() {
                return;
            }
        }
    }
}

impl ServerRecv {
    /// The socket's file descriptor, to poll for readability.
    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// False once the node's driver stopped (destroyed): stop polling and drop this.
    pub fn is_open(&self) -> bool {
        !*self.shared.closed.borrow()
    }

    /// Whether the last [`ServerRecv::recv_batch`] emptied the socket's queue (it filled
    /// fewer slots than it had): reading again now would most likely only say `WouldBlock`,
    /// a syscall per wake-up that a level-triggered poller can skip. (Offering fewer slots makes
    /// the kernel try fewer, but a batch that fills all it was given cannot tell whether more is
    /// queued: reading one slot first cost a second, `WouldBlock` read per wake-up, dearer than
    /// the kernel's extra try inside one `recvmmsg`.)
    pub fn drained(&self) -> bool {
        self.drained
    }

    /// Receives one batch (`recvmmsg`, nonblocking; `WouldBlock` when none is queued). Each
    /// datagram is offered to `take`; those it refuses (returns false for) go to the driver.
    /// Returns how many datagrams were received.
    pub fn recv_batch(
        &mut self,
        mut take: impl FnMut(SocketAddrV4, &[u8]) -> bool,
    ) -> io::Result<usize> {
        let Some(io) = self.shared.batch.get() else {
            return Err(io::ErrorKind::Unsupported.into());
        };
        let n = io.recv_now(&self.sock, &mut self.bufs)?;
        self.drained = n < self.bufs.slots();
        let mut count = 0;
        let mut bytes = 0;
        let mut queued = false;
        for (from, d) in batch::datagrams(&self.bufs, n) {
            count += 1;
            bytes += d.len();
            if take(from, d) {
                continue;
            }
            let mut inbox = self
                .shared
                .external
                .inbox
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if inbox.len() < INBOX {
                inbox.push_back((from, d.to_vec()));
                queued = true;
            }
        }
        self.shared.io.received(count, bytes);
        if queued {
            self.shared.notify.notify_one();
        }
        Ok(count as usize)
    }
}

impl Drop for ServerRecv {
    /// Gives the socket back to the driver (on the current runtime's reactor; without one,
    /// or once the node is destroyed, nothing changes).
    fn drop(&mut self) {
        if !self.is_open() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if move_server_socket(&self.shared, &rt).is_some() {
            self.shared.external.on.store(false, Ordering::SeqCst);
            self.shared.notify.notify_one();
        }
    }
}

/// A reactor that is never polled: a socket registered there raises no wake-ups anywhere.
fn dormant() -> &'static tokio::runtime::Handle {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("an I/O reactor")
    })
    .handle()
}

/// Re-registers the server socket (a duplicate of its fd: the same socket, the same port) on
/// `rt`'s reactor and makes it the one the node uses; the previous registration goes once the
/// driver's turn and any send in flight let go of it.
fn move_server_socket(shared: &Shared, rt: &tokio::runtime::Handle) -> Option<Arc<UdpSocket>> {
    let old = shared.socket(SocketKind::Server)?;
    let dup = socket2::SockRef::from(&*old).try_clone().ok()?;
    // the event loop may be busy running JS for a while: more room before datagrams drop
    // (UDX's owned sockets use the same)
    let _ = dup.set_recv_buffer_size(4 << 20);
    let dup: std::net::UdpSocket = dup.into();
    let new = {
        let _in = rt.enter();
        Arc::new(UdpSocket::from_std(dup).ok()?)
    };
    let mut g = shared.sockets.write().unwrap_or_else(|p| p.into_inner());
    let socks = g.as_mut()?;
    socks[0] = new.clone();
    drop(g);
    shared.notify.notify_one();
    Some(new)
}

/// The driver's turn over what an external receiver queued (dht-rpc frames first, then the
/// foreign handler, like a datagram it received itself).
pub(super) fn process_inbox(shared: &Shared) {
    for (from, d) in shared.external.take() {
        super::runtime::on_received(shared, SocketKind::Server, SocketAddr::V4(from), &d);
    }
}

/// Sends one datagram straight to the kernel (see the module doc); `WouldBlock` when the
/// socket buffer is full.
pub(super) fn send_direct(s: &UdpSocket, data: &[u8], to: SocketAddrV4) -> io::Result<usize> {
    socket2::SockRef::from(s).send_to(data, &SocketAddr::V4(to).into())
}

/// Whether an async send may wait on tokio's readiness for `shared`'s server socket (not when
/// another loop receives on it: its reactor is never polled).
pub(super) fn can_wait(shared: &Shared, socket: SocketKind) -> bool {
    matches!(socket, SocketKind::Client) || !shared.external.on.load(Ordering::SeqCst)
}
