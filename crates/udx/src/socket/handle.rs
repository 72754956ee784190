//! Weak handles on streams (`UdxStreamRef`) and the remote change they share with
//! [`UdxStream`](super::UdxStream).

use std::net::SocketAddr;
use std::sync::{Mutex, Weak};
use std::task::Poll;

use super::{flush, lock, poll_state, wait_close, Inner, UdxSocket};
use crate::UdxError;

/// A weak handle on a stream that tells whether it is still open, without keeping it alive
/// (bookkeeping that should last as long as a stream, like reusable-socket routes).
#[derive(Clone)]
pub struct UdxStreamRef(pub(super) Weak<Mutex<Inner>>);

impl UdxStreamRef {
    /// One line of the stream's protocol state, for diagnosing a stalled transfer.
    #[doc(hidden)]
    pub fn debug_state(&self) -> Option<String> {
        let s = self.0.upgrade()?;
        let g = lock(&s);
        Some(format!(
            "{} eof={} closed={} write_waker={} read_waker={}",
            g.stream.debug_state(),
            g.eof,
            g.closed,
            g.write_waker.is_some(),
            g.read_waker.is_some()
        ))
    }
    /// False once the stream closed or was dropped everywhere.
    pub fn is_open(&self) -> bool {
        self.0.upgrade().is_some_and(|s| !lock(&s).closed)
    }
    /// [`UdxStream::change_remote`](super::UdxStream::change_remote) through the handle; false
    /// if the stream is gone.
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
    /// Resolves true once, after a `change_remote`, the old path is no longer needed (libudx's
    /// `remote-changed` plus hyperdht's `confirmDirectUpgrade`): a datagram came from the new
    /// remote, the peer acknowledged everything we sent before the change, and we received
    /// everything the peer sent before its first datagram on the new path (libudx retransmits a
    /// packet to where it first sent it, so what was lost on the old path can only come back
    /// that way); false if the stream closes or goes first.
    pub async fn old_path_done(&self) -> bool {
        std::future::poll_fn(|cx| {
            let Some(s) = self.0.upgrade() else {
                return Poll::Ready(false);
            };
            let mut g = lock(&s);
            poll_state(&mut g, cx, |g| {
                match (g.ext.change_seq, g.ext.new_path_seq) {
                    (Some(c), Some(n)) => g.stream.old_path_done(c, n),
                    (None, _) => g.ext.heard_remote,
                    (Some(_), None) => false,
                }
            })
        })
        .await
    }

    /// udx-native's `remote-changed`: resolves with the number of remote changes so far once it
    /// exceeds `seen` and the peer acknowledged everything we sent before the latest (libudx's
    /// `on_remote_changed`); `None` once the stream closed or is gone.
    pub async fn remote_changed(&self, seen: u64) -> Option<u64> {
        std::future::poll_fn(|cx| {
            let Some(s) = self.0.upgrade() else {
                return Poll::Ready(None);
            };
            let mut g = lock(&s);
            if g.ext.remote_changes <= seen && !g.closed {
                // no change to report: only the next one wakes us
                g.ext.change_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            // a change is pending until the peer acknowledged what went the old way: its
            // ACKs wake us meanwhile
            let done = poll_state(&mut g, cx, |g| {
                g.ext.remote_changes > seen
                    && g.ext.change_seq.is_none_or(|c| g.stream.acked_before(c))
            });
            done.map(|ok| ok.then_some(g.ext.remote_changes))
        })
        .await
    }
}

/// `changeRemote`: new packets go to `remote_id` at `addr`.
pub(super) fn change_remote_locked(g: &mut Inner, remote_id: u32, addr: SocketAddr) {
    g.ext.change_seq = Some(g.stream.next_seq());
    g.ext.remote_changes += 1;
    if let Some(w) = g.ext.change_waker.take() {
        w.wake();
    }
    g.stream.change_remote(remote_id);
    g.stream.set_ipv6(addr.is_ipv6());
    g.remote = Some(addr);
    // (datagrams wait for a peer only before the first connect)
    let _ = g.ext.set_peer(remote_id, addr);
    if let Some((from, seq)) = g.ext.last_stray.take() {
        if from == addr {
            g.ext.heard_remote = true;
            g.ext.new_path_seq = seq;
        }
    }
}

impl UdxStreamRef {
    /// Resolves once the stream closed, with why: `None` after a clean end of both sides (or
    /// when it was dropped everywhere).
    pub async fn close_reason(&self) -> Option<UdxError> {
        std::future::poll_fn(|cx| {
            let Some(s) = self.0.upgrade() else {
                return Poll::Ready(None);
            };
            let mut g = lock(&s);
            if g.closed {
                return Poll::Ready(g.error);
            }
            wait_close(&mut g, cx);
            Poll::Pending
        })
        .await
    }

    /// Resolves once the stream closed (or was dropped everywhere).
    pub async fn closed(&self) {
        self.close_reason().await;
    }
}

impl UdxStreamRef {
    /// An unreliable UDX message on the stream (an empty one makes the peer hear its new
    /// path); false if the stream is gone.
    pub fn send_message(&self, data: &[u8]) -> bool {
        let Some(s) = self.0.upgrade() else {
            return false;
        };
        let mut g = lock(&s);
        let ok = g.stream.send_message(data);
        flush(&mut g);
        ok
    }
}

impl UdxStreamRef {
    /// [`UdxStream::connect`](super::UdxStream::connect) through the handle (a stream owned by
    /// a task waiting for its first packet); false if the stream is gone.
    pub fn connect(&self, remote_id: u32, addr: SocketAddr) -> bool {
        let Some(s) = self.0.upgrade() else {
            return false;
        };
        let mut g = lock(&s);
        if g.closed {
            return false;
        }
        if !g.stream.is_connected() {
            let fwd = super::connect_locked(&mut g, remote_id, addr);
            flush(&mut g);
            let home = g.home.clone();
            drop(g);
            super::relay_out(&home, &s, fwd);
            home.notify.notify_one();
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

impl UdxStreamRef {
    /// Moves the stream to socket `to` (udx-native `changeRemote(socket, ...)` with another
    /// socket): from now on its datagrams go out through `to` and `to`'s driver runs its timers.
    /// Datagrams for it are taken on both sockets until it closes (udx-native demuxes by id
    /// across its sockets; the peer retransmits a packet to where it first sent it, so a
    /// relayed connection's packets still come through the relay for a while). Nothing else
    /// changes: its sequence numbers, buffers and peer stay (a
    /// [`UdxStreamRef::change_remote`] usually follows). False, and nothing
    /// moved, if the stream is gone or closed, `to` is closed, or `to` already has a stream
    /// with its id.
    pub fn move_to(&self, to: &UdxSocket) -> bool {
        let Some(s) = self.0.upgrade() else {
            return false;
        };
        let (id, from) = {
            let g = lock(&s);
            if g.closed {
                return false;
            }
            (g.stream.local_id, g.home.clone())
        };
        if std::sync::Arc::ptr_eq(&from, &to.inner) {
            return true;
        }
        if to.inner.closing.load(std::sync::atomic::Ordering::Acquire) {
            return false;
        }
        // the tables are never locked while a stream is (the drivers lock a table, copy it,
        // then lock streams one by one), so neither is here
        {
            let Ok(mut m) = to.inner.streams.lock() else {
                return false;
            };
            let alias = to.inner.moved_stream(id);
            if m.contains_key(&id) || alias.is_some_and(|a| !std::sync::Arc::ptr_eq(&a, &s)) {
                return false;
            }
            m.insert(id, s.clone());
        }
        lock(&s).home = to.inner.clone();
        if let Ok(mut m) = from.streams.lock() {
            if m.get(&id).is_some_and(|t| std::sync::Arc::ptr_eq(t, &s)) {
                m.remove(&id);
            }
        }
        // datagrams the peer still sends on the old path keep reaching the stream there
        if let Ok(mut m) = from.moved.lock() {
            m.retain(|_, w| w.strong_count() > 0);
            m.insert(id, std::sync::Arc::downgrade(&s));
        }
        if let Ok(mut m) = to.inner.moved.lock() {
            m.remove(&id);
        }
        // the new driver reads the stream's timers on its next turn
        to.inner.notify.notify_one();
        true
    }
}
