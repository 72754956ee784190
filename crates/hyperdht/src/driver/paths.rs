//! How each open connection was made ([`PathInfo`]), by the local id of its UDX stream: the
//! engine records it when a connection opens (client or server), marks relay upgrades, and
//! forgets streams once they closed (checked whenever one is added, so the map holds the open
//! streams plus those closed since the last connection).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hyperdht_udx::socket::UdxStreamRef;
use hyperdht_udx::UdxStream;

use crate::path_info::PathInfo;

/// A connection's [`PathInfo`], updated in place (an upgrade).
pub type SharedPath = Arc<Mutex<PathInfo>>;

#[derive(Default)]
pub(crate) struct Paths {
    map: HashMap<u32, (UdxStreamRef, SharedPath)>,
}

impl Paths {
    /// Records how the connection on `stream` was made.
    pub(crate) fn record(&mut self, stream: &UdxStream, info: PathInfo) -> SharedPath {
        self.map.retain(|_, (r, _)| r.is_open());
        let shared = Arc::new(Mutex::new(info));
        self.map
            .insert(stream.local_id(), (stream.downgrade(), shared.clone()));
        shared
    }

    pub(crate) fn get(&self, local_id: u32) -> Option<SharedPath> {
        self.map.get(&local_id).map(|(_, p)| p.clone())
    }

    /// The relayed connection on stream `local_id` moved to a direct path.
    pub(crate) fn upgraded(&self, local_id: u32) {
        if let Some((_, p)) = self.map.get(&local_id) {
            if let Ok(mut p) = p.lock() {
                p.upgraded = true;
            }
        }
    }
}
