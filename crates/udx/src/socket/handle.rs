//! Weak handles on streams (`UdxStreamRef`) and the remote change they share with
//! [`UdxStream`](super::UdxStream).

use std::net::SocketAddr;
use std::sync::{Mutex, Weak};
use std::task::Poll;

use super::{flush, lock, poll_state, wait_state, Inner, SocketInner};

/// A weak handle on a stream that tells whether it is still open, without keeping it alive
/// (bookkeeping that should last as long as a stream, like reusable-socket routes).
#[derive(Clone)]
pub struct UdxStreamRef(pub(super) Weak<Mutex<Inner>>, pub(super) Weak<SocketInner>);

impl UdxStreamRef {
    /// False once the stream closed or was dropped everywhere.
    pub fn is_open(&self) -> bool {
        self.0.upgrade().is_some_and(|s| !lock(&s).closed)
    }
    /// [`UdxStream::change_remote`] through the handle; false if the stream is gone.
    pub fn change_remote(&self, remote_id: u32, addr: SocketAddr) -> bool {
        let Some(s) = self.0.upgrade() else {
            return false;
        };
        let mut g = lock(&s);
        if g.closed {
            return false;
        }
        change_remote_locked(&mut g, remote_id, addr);
        true
    }
    /// Resolves true once a datagram arrives from the stream's current remote (after a
    /// `change_remote`: the new path works), false if the stream closes or goes first.
    pub async fn remote_heard(&self) -> bool {
        std::future::poll_fn(|cx| {
            let Some(s) = self.0.upgrade() else {
                return Poll::Ready(false);
            };
            let mut g = lock(&s);
            poll_state(&mut g, cx, |g| g.ext.heard_remote)
        })
        .await
    }
}

/// `changeRemote`: new packets go to `remote_id` at `addr`.
pub(super) fn change_remote_locked(g: &mut Inner, remote_id: u32, addr: SocketAddr) {
    g.stream.change_remote(remote_id);
    g.stream.set_ipv6(addr.is_ipv6());
    g.remote = Some(addr);
    // (datagrams wait for a peer only before the first connect)
    let _ = g.ext.set_peer(remote_id, addr);
}

impl UdxStreamRef {
    /// Resolves once the stream closed (or was dropped everywhere).
    pub async fn closed(&self) {
        std::future::poll_fn(|cx| {
            let Some(s) = self.0.upgrade() else {
                return Poll::Ready(());
            };
            let mut g = lock(&s);
            if g.closed {
                return Poll::Ready(());
            }
            wait_state(&mut g, cx);
            Poll::Pending
        })
        .await
    }
}

impl UdxStreamRef {
    /// An unreliable UDX message on the stream (an empty one makes the peer hear its new
    /// path); false if the stream or its socket is gone.
    pub fn send_message(&self, data: &[u8]) -> bool {
        let (Some(s), Some(socket)) = (self.0.upgrade(), self.1.upgrade()) else {
            return false;
        };
        let mut g = lock(&s);
        let ok = g.stream.send_message(data);
        flush(&*socket.transport, &mut g);
        ok
    }
}

impl UdxStreamRef {
    /// [`UdxStream::connect`](super::UdxStream::connect) through the handle (a stream owned by
    /// a task waiting for its first packet); false if the stream or its socket is gone.
    pub fn connect(&self, remote_id: u32, addr: SocketAddr) -> bool {
        let (Some(s), Some(socket)) = (self.0.upgrade(), self.1.upgrade()) else {
            return false;
        };
        let mut g = lock(&s);
        if g.closed {
            return false;
        }
        if !g.stream.is_connected() {
            let fwd = super::connect_locked(&mut g, remote_id, addr);
            flush(&*socket.transport, &mut g);
            drop(g);
            super::relay_out(&socket, &s, fwd);
            socket.notify.notify_one();
        }
        true
    }
}

impl UdxStreamRef {
    /// Runs `hook` once when the connected stream hears from an address other than its remote
    /// (a relayed stream's peer reached us directly); false if the stream is gone.
    pub fn on_new_source(&self, hook: super::EarlyHook) -> bool {
        let Some(s) = self.0.upgrade() else {
            return false;
        };
        let mut g = lock(&s);
        if g.closed {
            return false;
        }
        g.ext.new_source = Some(hook);
        true
    }
}
