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

/// Questions waiting for JS, keyed by id. Cheap to clone (shared).
#[derive(Default, Clone)]
pub(crate) struct JsQuestions {
    next: Arc<AtomicU32>,
    pending: Arc<Mutex<HashMap<u32, oneshot::Sender<bool>>>>,
}

impl JsQuestions {
    /// Answers question `id`. Unknown ids (answered, timed out, cleared) are ignored.
    pub(crate) fn answer(&self, id: u32, value: bool) {
        let tx = self.pending.lock().ok().and_then(|mut m| m.remove(&id));
        if let Some(tx) = tx {
            let _ = tx.send(value);
        }
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

    /// Registers a question: its id, and a future resolving to JS's answer (`None` when JS
    /// does not answer within `timeout` or the question was cleared).
    pub(crate) fn ask(&self, timeout: Duration) -> (u32, impl Future<Output = Option<bool>>) {
        let (tx, rx) = oneshot::channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.pending.lock() {
            m.insert(id, tx);
        }
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
