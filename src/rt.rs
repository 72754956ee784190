//! Entering napi's tokio runtime on the JS thread. Some engine calls need a runtime context
//! (creating a timer, spawning a task, registering a socket), so native calls wrap their work in
//! napi's `within_runtime_if_available`, which costs a global lock and a context switch of
//! tokio's thread-local state each time. A call made inside another (a connection's reader
//! running inside the socket's receive callback) enters once: the outermost entry is noted here.

use std::cell::Cell;

thread_local! {
    /// This thread is inside [`within`] (and so inside the runtime's context).
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Clears [`INSIDE`] when the outermost [`within`] returns or unwinds.
struct Leave;

impl Drop for Leave {
    fn drop(&mut self) {
        INSIDE.with(|i| i.set(false));
    }
}

/// Runs `f` inside the runtime's context, entering it only if this thread is not inside yet.
pub(crate) fn within<R>(f: impl FnOnce() -> R) -> R {
    if INSIDE.with(Cell::get) {
        return f();
    }
    INSIDE.with(|i| i.set(true));
    let _leave = Leave;
    napi::bindgen_prelude::within_runtime_if_available(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_calls_enter_once_and_the_flag_clears_after_a_panic() {
        assert!(!INSIDE.with(Cell::get));
        let inner = within(|| within(|| INSIDE.with(Cell::get)));
        assert!(inner);
        assert!(!INSIDE.with(Cell::get));
        let r = std::panic::catch_unwind(|| within(|| panic!("boom")));
        assert!(r.is_err());
        assert!(!INSIDE.with(Cell::get), "a panic leaves the flag clear");
    }
}
