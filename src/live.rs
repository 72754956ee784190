//! The native objects a DHT node has alive (connections, servers, queries, raw streams), so that
//! `destroy()` can close them all (hyperdht's `rawStreams.clear()`, dht-rpc ending its queries)
//! and `stats` / `_internalCounts()` can count them. Events never go through here: each object
//! delivers its own (src/events.rs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) struct Live<T> {
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    next: u64,
    map: HashMap<u64, Arc<T>>,
    /// the node is destroyed: nothing registers any more
    closed: bool,
}

impl<T> Default for Live<T> {
    fn default() -> Self {
        Live {
            inner: Mutex::new(Inner {
                next: 1,
                map: HashMap::new(),
                closed: false,
            }),
        }
    }
}

impl<T> Live<T> {
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the object `make(id)` builds; None (and `make` is not called) once closed.
    pub fn insert(&self, make: impl FnOnce(u64) -> Arc<T>) -> Option<Arc<T>> {
        let mut g = self.lock();
        if g.closed {
            return None;
        }
        let id = g.next;
        g.next += 1;
        let v = make(id);
        g.map.insert(id, v.clone());
        Some(v)
    }

    /// Registers `v` itself; its id, or None once closed.
    pub fn add(&self, v: Arc<T>) -> Option<u64> {
        let mut g = self.lock();
        if g.closed {
            return None;
        }
        let id = g.next;
        g.next += 1;
        g.map.insert(id, v);
        Some(id)
    }

    pub fn remove(&self, id: u64) {
        self.lock().map.remove(&id);
    }

    /// Every object registered now.
    pub fn all(&self) -> Vec<Arc<T>> {
        self.lock().map.values().cloned().collect()
    }

    /// Refuses later registrations; returns every object registered now.
    pub fn close(&self) -> Vec<Arc<T>> {
        let mut g = self.lock();
        g.closed = true;
        g.map.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }
}
