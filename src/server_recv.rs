//! The DHT's server socket read on the JS thread (issue 16; off with `HYPERDHT_RS_JSLOOP=0`), as
//! udx-native reads its sockets: a readable-poll on the socket in the Node event loop
//! (src/uvloop.rs) receives each batch right there (`recvmmsg`), hands the UDX packets of our
//! streams to the UDX endpoint, and runs the readers they woke (src/jsloop.rs), so a small
//! message is decrypted and emitted without any thread hand-off. Everything else (dht-rpc
//! frames, holepunch probes) goes to the rpc driver as if it had received it
//! (`hyperdht_rpc::driver::ServerRecv`); those are not latency critical.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use hyperdht_rpc::Dht;
use hyperdht_udx::UdxSocket;
use napi::bindgen_prelude::*;

use crate::jsloop::JsLoop;
use crate::uvloop::UvPoll;

/// Batches received per readable event before the loop runs other work.
const MAX_BATCHES: usize = 16;

thread_local! {
    /// This JS thread's polls, by id (dropped = stopped and closed).
    static POLLS: RefCell<HashMap<u64, UvPoll>> = RefCell::new(HashMap::new());
    static NEXT: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
    /// whether this thread's environment has the cleanup hook below
    static HOOKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Closes this thread's polls when its environment is torn down (a worker thread's loop must
/// have no open handle left when Node closes it; their close callbacks run on its last turns).
fn hook_cleanup(env: &Env) {
    if HOOKED.with(|h| h.replace(true)) {
        return;
    }
    let hooked = env.add_env_cleanup_hook((), |()| {
        let polls = POLLS.with(|p| std::mem::take(&mut *p.borrow_mut()));
        drop(polls);
        HOOKED.with(|h| h.set(false));
    });
    if hooked.is_err() {
        HOOKED.with(|h| h.set(false));
    }
}

fn detach(id: u64) {
    let poll = POLLS.with(|p| p.borrow_mut().remove(&id));
    drop(poll);
}

/// Resolves once the JS thread let go of the server socket (its fd is closed unless something
/// else still holds it): `destroy()` waits for it, so the port can be bound again at once, as
/// after hyperdht's `destroy()`.
pub(crate) type SocketReleased = tokio::sync::oneshot::Receiver<()>;

/// The receive side the poll callback owns; the sender goes after the socket (fields drop in
/// order), telling [`SocketReleased`].
struct Owned {
    recv: hyperdht_rpc::driver::ServerRecv,
    _released: tokio::sync::oneshot::Sender<()>,
}

/// Takes over receiving on `dht`'s server socket from the JS thread of `env` when
/// the JS loop is on (not `HYPERDHT_RS_JSLOOP=0`; off, or when it cannot, the rpc driver keeps
/// receiving). Stops by itself once the node is destroyed (then [`SocketReleased`] resolves,
/// a few loop turns later: libuv closes a poll handle asynchronously). Call on the JS thread.
pub(crate) fn attach(env: &Env, dht: &Dht, udx: &UdxSocket) -> Option<SocketReleased> {
    if crate::jsloop::enabled() {
        // the socket moves between reactors (and back if this fails half-way)
        crate::rt::within(|| attach_here(env, dht, udx))
    } else {
        None
    }
}

fn attach_here(env: &Env, dht: &Dht, udx: &UdxSocket) -> Option<SocketReleased> {
    let Ok(js) = JsLoop::of(env) else {
        return None;
    };
    let recv = dht.external_server_recv()?;
    let (tx, released) = tokio::sync::oneshot::channel();
    let mut owned = Owned {
        recv,
        _released: tx,
    };
    let id = NEXT.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    let fd = owned.recv.fd();
    let udx = udx.clone();
    let exec = js.clone();
    let cb = Box::new(move || {
        // the whole `owned` (a closure would capture just the field it names, dropping the
        // sender now)
        let owned = &mut owned;
        let recv = &mut owned.recv;
        if !recv.is_open() {
            detach(id);
            return;
        }
        crate::rt::within(|| {
            {
                let _turn = exec.turn();
                for _ in 0..MAX_BATCHES {
                    // WouldBlock once drained; another error is retried on the next event. A
                    // batch with room left emptied the queue: the poll fires again for more
                    // (level-triggered), so no read that would only say WouldBlock
                    if recv
                        .recv_batch(|from, d| udx.feed_deferred(SocketAddr::V4(from), d))
                        .is_err()
                        || recv.drained()
                    {
                        break;
                    }
                }
                udx.dispatch_fed();
            }
            // the readers these packets woke emit now, calling JS directly; a reply JS writes
            // right away carries our ACK, then the flush sends what is left (bare ACKs)
            exec.run_queued();
            udx.flush_fed();
        });
    });
    let Ok(poll) = UvPoll::readable(env, fd, cb) else {
        return None;
    };
    POLLS.with(|p| p.borrow_mut().insert(id, poll));
    hook_cleanup(env);
    // stop polling (and let the socket close) once the node is destroyed, even if nothing
    // arrives to tell the callback
    let closer = js.job(move |_| detach(id), || {});
    let dht = dht.clone();
    let closer = Arc::new(closer);
    napi::bindgen_prelude::spawn(async move {
        dht.closed().await;
        closer.wake_by_ref();
    });
    Some(released)
}
