//! Supervision of the driver task (issue 14 #8). dht-rpc runs on the JS event loop, where an
//! exception surfaces to the caller; our driver is a tokio task, and a panic in it used to stop
//! every timer silently: pending requests and queries hung until `destroy()`. Now the panic
//! fails everything pending with [`RpcError::DriverFailed`], and every later request or query
//! fails the same way at once.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::runtime::{process_events, run};
use super::{QueryEvent, Shared, State};
use crate::error::RpcError;

/// Spawns the driver and a watcher that turns its panic into errors for everyone waiting.
pub(super) fn spawn_driver(shared: Arc<Shared>) {
    let task = tokio::spawn(run(shared.clone()));
    tokio::spawn(async move {
        if let Err(e) = task.await {
            if e.is_panic() {
                let msg = panic_message(e.into_panic());
                fail_all(&shared, &msg);
            }
        }
    });
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

/// Marks the DHT failed and fails every pending request and query.
fn fail_all(shared: &Shared, msg: &str) {
    let err = RpcError::DriverFailed(msg.to_string());
    {
        let mut st = match shared.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        st.failure = Some(err.clone());
        for (_, tx) in st.requests.drain() {
            let _ = tx.send(Err(err.clone()));
        }
        for (_, tx) in st.queries.drain() {
            end_query(tx, err.clone());
        }
        // the node's own state may be half-updated by the panic: destroying it is best effort
        let st: &mut State = &mut st;
        let destroyed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            st.node.destroy(Instant::now().into_std());
            process_events(st);
        }));
        drop(destroyed);
    }
    shared.ready.send_if_modified(|r| {
        if r.is_none() {
            *r = Some(Err(err.clone()));
            true
        } else {
            false
        }
    });
    shared.closed.send_replace(true);
}

fn end_query(tx: mpsc::Sender<QueryEvent>, err: RpcError) {
    let ev = QueryEvent::Done {
        closest: Vec::new(),
        error: Some(err),
    };
    if let Err(mpsc::error::TrySendError::Full(ev)) = tx.try_send(ev) {
        tokio::spawn(async move {
            let _ = tx.send(ev).await;
        });
    }
}

/// Test hook: the driver panics on its next turn.
pub(super) fn inject_panic(shared: &Shared) {
    shared.panic_next.store(true, Ordering::Relaxed);
    shared.notify.notify_one();
}
