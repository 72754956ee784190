//! Routing-table changes (`add-node` / `remove-node`, dht-rpc's `_addNode` / `_removeNode`
//! events) kept in order beside the table they describe.
//!
//! In dht-rpc a listener sees each change at the moment the table changes, so what `add-node`
//! minus `remove-node` reported always equals `toArray()`. Here the table lives on the driver
//! thread and events reach an application later, so the changes wait in this log (taken under the
//! node's lock) and the event queue only carries a [`DhtEvent::NodeChanges`](super::DhtEvent)
//! wake-up naming how far to take. A synchronous table read takes the log with it
//! ([`Dht::read_node`]): the reader reports those changes first and is never behind the snapshot
//! it returns.

use std::collections::VecDeque;

use super::{runtime, Dht, DhtEvent, State};
use crate::node::Node;
use crate::routing_table::Entry;

/// At most this many changes wait for the application; older ones are dropped (and counted in
/// the dropped-events total) if it stops taking them.
const NODE_LOG: usize = 4096;

/// One routing-table change, numbered in the order changes happened (from 1).
#[derive(Clone, Debug)]
pub struct NodeChange {
    pub seq: u64,
    /// `add-node` (true) or `remove-node` (false)
    pub added: bool,
    pub entry: Entry,
}

/// The changes not taken yet.
#[derive(Default)]
pub(crate) struct NodeLog {
    changes: VecDeque<NodeChange>,
    seq: u64,
}

/// Logs a change and queues the wake-up that says how far to take.
pub(super) fn push(st: &mut State, added: bool, entry: Entry) {
    let (seq, dropped) = st.node_log.record(added, entry);
    if dropped {
        st.dropped_events += 1;
    }
    runtime::emit(st, DhtEvent::NodeChanges { upto: seq });
}

impl NodeLog {
    /// Appends a change; returns its number and whether the oldest waiting one was dropped.
    fn record(&mut self, added: bool, entry: Entry) -> (u64, bool) {
        self.seq += 1;
        let dropped = self.changes.len() == NODE_LOG;
        if dropped {
            self.changes.pop_front();
        }
        let seq = self.seq;
        self.changes.push_back(NodeChange { seq, added, entry });
        (seq, dropped)
    }

    fn take(&mut self, upto: Option<u64>) -> Vec<NodeChange> {
        let n = match upto {
            None => self.changes.len(),
            Some(upto) => self.changes.partition_point(|c| c.seq <= upto),
        };
        self.changes.drain(..n).collect()
    }
}

impl Dht {
    /// Takes the logged routing-table changes numbered up to `upto` (all with `None`), oldest
    /// first; each is handed out once.
    pub fn take_node_changes(&self, upto: Option<u64>) -> Vec<NodeChange> {
        self.lock().node_log.take(upto)
    }

    /// Reads the node and takes every logged change under one lock: the changes are exactly
    /// those the read already sees that were not handed out before. Events the node produced
    /// since the driver's last turn (a datagram handled, its events not routed yet) are routed
    /// first, so no table change is in the snapshot without its entry in the log.
    pub fn read_node<R>(&self, read: impl FnOnce(&Node) -> R) -> (R, Vec<NodeChange>) {
        let (out, routed) = {
            let mut st = self.lock();
            let routed = st.node.has_events();
            if routed {
                runtime::process_events(&mut st);
            }
            let value = read(&st.node);
            ((value, st.node_log.take(None)), routed)
        };
        if routed {
            // as after `with_node`: what the routed events set going is the driver's to flush
            self.shared.notify.notify_one();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(port: u16) -> Entry {
        let addr = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port);
        Entry::new([port as u8; 32], addr)
    }

    #[test]
    fn take_is_ordered_bounded_and_once() {
        let mut log = NodeLog::default();
        for p in 1..=5 {
            assert_eq!(log.record(p % 2 == 1, entry(p)), (u64::from(p), false));
        }
        let first: Vec<u64> = log.take(Some(2)).iter().map(|c| c.seq).collect();
        assert_eq!(first, [1, 2]);
        assert!(log.take(Some(2)).is_empty(), "handed out once");
        let rest: Vec<u64> = log.take(None).iter().map(|c| c.seq).collect();
        assert_eq!(rest, [3, 4, 5]);
        assert!(log.take(None).is_empty());
    }

    #[test]
    fn a_full_log_drops_its_oldest_change() {
        let mut log = NodeLog::default();
        for _ in 0..NODE_LOG {
            assert!(!log.record(true, entry(1)).1);
        }
        assert_eq!(log.record(false, entry(2)), (NODE_LOG as u64 + 1, true));
        let left = log.take(None);
        assert_eq!(left.len(), NODE_LOG);
        assert_eq!(left[0].seq, 2, "the first change went");
    }
}
