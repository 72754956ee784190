//! Request tags: every request the core sends through the rpc node carries a tag with
//! [`HANDLER_TAG`] set, so its outcome comes back to the core (`Core::on_response`), which hands
//! it to the owner recorded here. Entries leave on their response (dht-rpc answers every
//! request exactly once: a reply, a timeout or a destroy), so the map is bounded by the node's
//! in-flight limit.

use std::collections::HashMap;

use hyperdht_rpc::driver::HANDLER_TAG;

use crate::core::holepuncher::PuncherId;

/// Who a response belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// a holepuncher's NAT-sampling PING
    NatPing(PuncherId),
    /// a connect's request (`seq` says which one, for the connect's own bookkeeping)
    Connect { id: u64, seq: u32 },
    /// an announcer's request (`seq` likewise)
    Announcer { id: u64, seq: u32 },
}

#[derive(Debug, Default)]
pub struct Tags {
    next: u64,
    owners: HashMap<u64, Owner>,
}

impl Tags {
    /// A fresh tag for a request owned by `owner`.
    pub fn alloc(&mut self, owner: Owner) -> u64 {
        let tag = HANDLER_TAG | (self.next & !HANDLER_TAG);
        self.next = self.next.wrapping_add(1);
        self.owners.insert(tag, owner);
        tag
    }

    /// The owner of a finished request (the entry is removed).
    pub fn take(&mut self, tag: u64) -> Option<Owner> {
        self.owners.remove(&tag)
    }

    pub fn len(&self) -> usize {
        self.owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}
