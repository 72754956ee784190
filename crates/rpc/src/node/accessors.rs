//! Read-only views of the node and its few runtime settings (the getters of `dht-rpc
//! index.js`: `id`, `ephemeral`, `firewalled`, `bootstrapped`, `online`, `degraded`, `stats`,
//! `health`, `remoteAddress()`, `toArray()`, and `table` lookups).

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{Node, SocketKind, Stats};
use crate::health::NetworkHealth;
use crate::peer::NodeInfo;
use crate::routing_table::Entry;

impl Node {
    pub fn id(&self) -> Option<[u8; 32]> {
        if self.ephemeral {
            None
        } else {
            Some(*self.table.id())
        }
    }
    pub fn table_id(&self) -> [u8; 32] {
        *self.table.id()
    }
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }
    pub fn is_firewalled(&self) -> bool {
        self.firewalled
    }
    pub fn is_bootstrapped(&self) -> bool {
        self.bootstrapped
    }
    pub fn nat_host(&self) -> Option<Ipv4Addr> {
        self.nat.host
    }
    pub fn nat_port(&self) -> u16 {
        self.nat.port
    }
    /// `dht.online` (network health).
    pub fn is_online(&self) -> bool {
        self.online
    }
    /// `dht.degraded` (network health).
    pub fn is_degraded(&self) -> bool {
        self.degraded
    }
    /// Counters, with the gauges (queries, requests in flight, routing table) as of now.
    pub fn stats(&self) -> Stats {
        Stats {
            queries_active: self.queries.len() as u64,
            requests_active: self.inflight.len() as u64,
            nodes: self.table.len() as u64,
            ..self.stats
        }
    }
    pub fn server_port(&self) -> u16 {
        self.server_port
    }
    /// Default query concurrency (`opts.concurrency`, 10).
    pub fn concurrency(&self) -> usize {
        self.cfg.concurrency
    }
    pub fn table_len(&self) -> usize {
        self.table.len()
    }
    pub fn inflight_len(&self) -> usize {
        self.inflight.len()
    }
    /// The socket requests go out on (`dht.socket`).
    pub fn request_socket(&self) -> SocketKind {
        if self.firewalled {
            SocketKind::Client
        } else {
            SocketKind::Server
        }
    }

    /// `remoteAddress()`: our public address if known, not firewalled and not remapped.
    pub fn remote_address(&self) -> Option<SocketAddrV4> {
        let host = self.nat.host?;
        if self.nat.port == 0 || self.firewalled || self.nat.port != self.server_port {
            return None;
        }
        Some(SocketAddrV4::new(host, self.server_port))
    }

    /// `dht.maxPingDelay` (dht-rpc `opts.maxPingDelay`, default 10 000 ms): the longest delay
    /// this node grants a DELAYED_PING (longer ones get no reply) and may ask for.
    pub fn max_ping_delay(&self) -> u32 {
        self.max_ping_delay
    }
    pub fn set_max_ping_delay(&mut self, ms: u32) {
        self.max_ping_delay = ms;
    }

    /// Reports routing-table changes as [`Event::AddNode`](super::Event::AddNode) /
    /// [`Event::RemoveNode`](super::Event::RemoveNode) (dht-rpc's `add-node` / `remove-node`).
    /// Off by default: nothing is built for nobody.
    pub fn set_node_events(&mut self, on: bool) {
        self.node_events = on;
    }

    /// `dht.health` (dht-rpc `NetworkHealth`).
    pub fn health(&self) -> &NetworkHealth {
        &self.health
    }

    /// The routing table's entries, most recently heard first (`dht.nodes`, latest first).
    pub fn table_entries(&self, limit: usize) -> Vec<Entry> {
        self.recent(limit).cloned().collect()
    }

    /// The table's entries, most recently heard first, at most `limit` (0 = all).
    fn recent(&self, limit: usize) -> impl Iterator<Item = &Entry> {
        let all = self.table.by_recency();
        let n = if limit == 0 { all.len() } else { limit };
        all.into_iter().take(n)
    }

    /// `table.closest(target, k)`: upstream's row walk (not
    /// [`RoutingTable::nearest`](crate::routing_table::RoutingTable::nearest)).
    pub fn table_closest(&self, target: &[u8; 32], k: usize) -> Vec<Entry> {
        self.table.closest(target, k).into_iter().cloned().collect()
    }

    /// `table.get(id)`.
    pub fn table_get(&self, id: &[u8; 32]) -> Option<Entry> {
        self.table.get(id).cloned()
    }

    /// `table.random()`.
    pub fn table_random(&self) -> Option<Entry> {
        self.table.random().cloned()
    }

    /// `toArray()`: most recently heard first.
    pub fn to_array(&self, limit: usize) -> Vec<NodeInfo> {
        self.recent(limit)
            .map(|e| NodeInfo {
                id: e.id,
                addr: e.addr,
            })
            .collect()
    }

    pub fn closest_nodes(&self, target: &[u8; 32], k: usize) -> Vec<SocketAddrV4> {
        self.table
            .closest(target, k)
            .into_iter()
            .map(|e| e.addr)
            .collect()
    }
}
