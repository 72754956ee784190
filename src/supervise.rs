//! Supervised glue tasks (issue 14 #8): every task that drives a native object (a dial, a
//! connection's stream, a query, a raw stream, a server's accept loop) runs under
//! [`spawn_supervised`], so a panic in it becomes an error event on that object (its JS stream
//! errors, its query rejects) instead of a JS object that waits forever. The engine's own driver
//! tasks are supervised in the engine crates (`DRIVER_FAILED`, `EDRIVERFAILED`).

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// `fut`, with a panic in any of its polls caught and returned as `Err(message)`.
struct CatchUnwind<F> {
    fut: Pin<Box<F>>,
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.get_mut().fut.as_mut();
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload))),
        }
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast::<&'static str>()
            .map_or_else(|_| "panic".to_string(), |s| s.to_string()),
    }
}

/// Spawns `fut` on napi's runtime; if one of its polls panics, `on_panic(message)` runs instead
/// of the rest of it (on a runtime thread, or on the calling one for a panic in the first poll).
/// Aborting the returned handle (None when `fut` finished in its first poll) drops `fut`
/// without calling `on_panic`.
///
/// With `start_here`, `fut` is first polled on the calling (JS) thread: its first requests then
/// leave at once instead of after a worker thread wakes up to run the new task (about 50 µs on a
/// small VM); the task polls it again first thing, replacing that poll's no-op waker.
pub(crate) fn spawn_supervised<F, P>(fut: F, on_panic: P, start_here: bool) -> Option<AbortHandle>
where
    F: Future<Output = ()> + Send + 'static,
    P: FnOnce(String) + Send + 'static,
{
    let mut fut = CatchUnwind { fut: Box::pin(fut) };
    let first = if start_here {
        crate::rt::within(|| {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            Pin::new(&mut fut).poll(&mut cx)
        })
    } else {
        Poll::Pending
    };
    match first {
        Poll::Ready(done) => {
            if let Err(msg) = done {
                on_panic(msg);
            }
            None
        }
        Poll::Pending => Some(
            napi::bindgen_prelude::spawn(async move {
                if let Err(msg) = fut.await {
                    on_panic(msg);
                }
            })
            .abort_handle(),
        ),
    }
}

/// A test hook (`_injectPanic()` on the JS objects): makes the task that waits on it panic, to
/// test supervision through the public API.
#[derive(Default)]
pub(crate) struct Tripwire {
    tripped: AtomicBool,
    wake: Notify,
}

impl Tripwire {
    pub fn trip(&self) {
        self.tripped.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Acquire)
    }

    /// Never resolves: panics once tripped.
    pub async fn armed(&self) {
        loop {
            if self.tripped() {
                panic!("injected panic (test hook)");
            }
            self.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A tripwire set after the task's first poll (on another thread, with a no-op waker, as
    /// `spawn_supervised(.., true)` does) still panics the task, and the panic is caught.
    #[tokio::test]
    async fn tripped_after_a_first_poll_panics_and_is_caught() {
        let trip = Arc::new(Tripwire::default());
        let armed = trip.clone();
        let fut = async move {
            tokio::select! {
                _ = std::future::pending::<()>() => {}
                _ = armed.armed() => {}
            }
        };
        let mut fut = CatchUnwind { fut: Box::pin(fut) };
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        let task = tokio::spawn(fut);
        tokio::task::yield_now().await;
        trip.trip();
        let caught = task.await.expect("the task itself does not panic");
        assert_eq!(caught.unwrap_err(), "injected panic (test hook)");
    }
}
