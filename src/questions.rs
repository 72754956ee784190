//! Yes/no questions the engine asks JS and waits for: a server's firewall, a `holepunch` veto
//! function, the app's own `dht.ping` for the LAN shortcut. The asking object (a server, a
//! connection) emits an event carrying a question id and waits on a oneshot that JS completes
//! through that object's reply method. Unanswered questions time out; clearing (the object
//! closed) drops them, which also counts as no answer.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

/// Answers JS still owes, by id.
type Pending<T> = Arc<Mutex<HashMap<u32, oneshot::Sender<T>>>>;

/// Questions waiting for JS, keyed by id (yes/no by default; relay pairings and relay keys use
/// the same bookkeeping). Cheap to clone (shared).
pub(crate) struct JsQuestions<T = bool> {
    next: Arc<AtomicU32>,
    pending: Pending<T>,
}

impl<T> Default for JsQuestions<T> {
    fn default() -> Self {
        JsQuestions {
            next: Arc::default(),
            pending: Arc::default(),
        }
    }
}

impl<T> Clone for JsQuestions<T> {
    fn clone(&self) -> Self {
        JsQuestions {
            next: self.next.clone(),
            pending: self.pending.clone(),
        }
    }
}

impl<T: Send + 'static> JsQuestions<T> {
    /// Answers question `id`; false for unknown ids (answered, timed out, cleared) or an asker
    /// that stopped waiting.
    pub(crate) fn answer(&self, id: u32, value: T) -> bool {
        let tx = self.pending.lock().ok().and_then(|mut m| m.remove(&id));
        tx.is_some_and(|tx| tx.send(value).is_ok())
    }

    /// Drops question `id` (it could not be asked): it resolves to no answer at once.
    pub(crate) fn forget(&self, id: u32) {
        if let Ok(mut m) = self.pending.lock() {
            m.remove(&id);
        }
    }

    /// Drops everything still waiting (the object closed): those resolve to no answer.
    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.pending.lock() {
            m.clear();
        }
    }

    /// Registers a question without a deadline: its id and where the answer arrives (an error
    /// once forgotten or cleared).
    pub(crate) fn register(&self) -> (u32, oneshot::Receiver<T>) {
        let (tx, rx) = oneshot::channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.pending.lock() {
            m.insert(id, tx);
        }
        (id, rx)
    }

    /// Registers a question: its id, and a future resolving to JS's answer (`None` when JS
    /// does not answer within `timeout` or the question was cleared).
    pub(crate) fn ask(&self, timeout: Duration) -> (u32, impl Future<Output = Option<T>>) {
        let (id, rx) = self.register();
        let pending = self.pending.clone();
        (id, async move {
            let answer = tokio::time::timeout(timeout, rx).await;
            if let Ok(mut m) = pending.lock() {
                m.remove(&id);
            }
            answer.ok().and_then(|a| a.ok())
        })
    }
}
