//! Kademlia routing table (`kademlia-routing-table` 1.0.6): 256 rows, k = 20, each row sorted by
//! id, no bucket splitting; `closest` walks rows exactly like upstream. Entries carry the tick
//! bookkeeping dht-rpc keeps (`added`, `pinged`, `seen`, `sampled`, `down_hints`).

use std::collections::HashMap;
use std::net::SocketAddrV4;

use crate::peer::compare;

pub const K: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: [u8; 32],
    pub addr: SocketAddrV4,
    pub added: u64,
    pub pinged: u64,
    pub seen: u64,
    pub sampled: u64,
    pub down_hints: u32,
    /// The address this node saw us at when it was last sampled (dht-rpc `node.to`); `None`
    /// for nodes added by address (`addNode`)
    pub to: Option<SocketAddrV4>,
    /// Monotonic "last heard from" stamp: the time-ordered set of dht-rpc.
    pub heard: u64,
}

impl Entry {
    /// A node at `addr` with id `id`, never pinged, seen or sampled (ticks 0, no `to`).
    pub fn new(id: [u8; 32], addr: SocketAddrV4) -> Self {
        Entry {
            id,
            addr,
            added: 0,
            pinged: 0,
            seen: 0,
            sampled: 0,
            down_hints: 0,
            to: None,
            heard: 0,
        }
    }
}

#[derive(Debug)]
pub enum AddResult {
    Added,
    Updated,
    /// The row is full; `row` lets the caller pick a node to re-ping.
    RowFull(usize),
    IsSelf,
}

#[derive(Debug)]
pub struct RoutingTable {
    id: [u8; 32],
    rows: Vec<Vec<Entry>>,
    len: usize,
    heard_counter: u64,
    by_addr: HashMap<SocketAddrV4, [u8; 32]>,
}

/// Index of the first differing bit between `a` and `b` (255 when equal).
pub fn row_index(a: &[u8; 32], b: &[u8; 32]) -> usize {
    for i in 0..32 {
        let x = a[i] ^ b[i];
        if x != 0 {
            return i * 8 + x.leading_zeros() as usize;
        }
    }
    255
}

impl RoutingTable {
    pub fn new(id: [u8; 32]) -> Self {
        RoutingTable {
            id,
            rows: (0..256).map(|_| Vec::new()).collect(),
            len: 0,
            heard_counter: 0,
            by_addr: HashMap::new(),
        }
    }

    pub fn id(&self) -> &[u8; 32] {
        &self.id
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, id: &[u8; 32]) -> Option<&Entry> {
        let row = &self.rows[row_index(&self.id, id)];
        row.iter().find(|e| &e.id == id)
    }

    pub fn get_mut(&mut self, id: &[u8; 32]) -> Option<&mut Entry> {
        let r = row_index(&self.id, id);
        self.rows[r].iter_mut().find(|e| &e.id == id)
    }

    pub fn has(&self, id: &[u8; 32]) -> bool {
        self.get(id).is_some()
    }

    /// Moves an entry to the head of the time-ordered set.
    pub fn touch(&mut self, id: &[u8; 32]) {
        self.heard_counter += 1;
        let c = self.heard_counter;
        if let Some(e) = self.get_mut(id) {
            e.heard = c;
        }
    }

    pub fn add(&mut self, mut entry: Entry) -> AddResult {
        if entry.id == self.id {
            return AddResult::IsSelf;
        }
        self.heard_counter += 1;
        entry.heard = self.heard_counter;
        let r = row_index(&self.id, &entry.id);
        let row = &mut self.rows[r];
        match row.binary_search_by(|e| e.id.cmp(&entry.id)) {
            Ok(i) => {
                self.by_addr.insert(entry.addr, entry.id);
                row[i] = entry;
                AddResult::Updated
            }
            Err(i) => {
                if row.len() >= K {
                    return AddResult::RowFull(r);
                }
                self.by_addr.insert(entry.addr, entry.id);
                row.insert(i, entry);
                self.len += 1;
                AddResult::Added
            }
        }
    }

    pub fn remove(&mut self, id: &[u8; 32]) -> Option<Entry> {
        let r = row_index(&self.id, id);
        let row = &mut self.rows[r];
        let i = row.iter().position(|e| &e.id == id)?;
        let e = row.remove(i);
        if self.by_addr.get(&e.addr) == Some(&e.id) {
            self.by_addr.remove(&e.addr);
        }
        self.len -= 1;
        Some(e)
    }

    pub fn row(&self, r: usize) -> &[Entry] {
        &self.rows[r]
    }

    /// Upstream's row walk: rows d, d-1, .., 0 then d+1 .. 255.
    pub fn closest(&self, target: &[u8; 32], k: usize) -> Vec<&Entry> {
        let mut out = Vec::with_capacity(k.min(self.len));
        let d = row_index(&self.id, target);
        for r in (0..=d).rev() {
            for e in &self.rows[r] {
                if out.len() == k {
                    return out;
                }
                out.push(e);
            }
        }
        for r in d + 1..256 {
            for e in &self.rows[r] {
                if out.len() == k {
                    return out;
                }
                out.push(e);
            }
        }
        out
    }

    /// The `k` entries truly closest to `target` by XOR distance, closest first. Upstream's
    /// `closest` (above) walks row `d` and then the rows *below* it, whose nodes are the
    /// farthest from the target; queries seeded from that start far away and need an extra
    /// round trip. Here the rows are taken in distance order: row `d` (shares more than `d`
    /// bits with the target), then every row above `d` (first differs from the target at bit
    /// `d`), then rows `d - 1` down to 0, each group sorted. A deliberate difference from JS.
    pub fn nearest(&self, target: &[u8; 32], k: usize) -> Vec<&Entry> {
        let mut out: Vec<&Entry> = Vec::with_capacity(k.min(self.len));
        let d = row_index(&self.id, target);
        // row d, then all rows above d as one group, then rows d-1 down to 0
        let groups = std::iter::once(d..d + 1)
            .chain(std::iter::once(d + 1..self.rows.len()))
            .chain((0..d).rev().map(|r| r..r + 1));
        for rows in groups {
            if out.len() >= k {
                break;
            }
            let mut group: Vec<&Entry> = self.rows[rows].iter().flatten().collect();
            group.sort_unstable_by(|a, b| compare(target, &a.id, &b.id));
            group.truncate(k - out.len());
            out.extend(group);
        }
        out
    }

    /// A uniformly random entry (`table.random()`).
    pub fn random(&self) -> Option<&Entry> {
        if self.len == 0 {
            return None;
        }
        let mut n = rand::random::<usize>() % self.len;
        for row in &self.rows {
            if n < row.len() {
                return row.get(n);
            }
            n -= row.len();
        }
        None
    }

    /// All entries, most recently heard first (`nodes.toArray({reverse: true})`).
    pub fn by_recency(&self) -> Vec<&Entry> {
        let mut all: Vec<&Entry> = self.rows.iter().flatten().collect();
        all.sort_by_key(|e| std::cmp::Reverse(e.heard));
        all
    }

    /// Rebuilds the table around a new local id, keeping the nodes that still fit.
    pub fn rebuild(&mut self, id: [u8; 32]) {
        let old: Vec<Entry> = self.rows.iter_mut().flat_map(std::mem::take).collect();
        self.id = id;
        self.len = 0;
        self.by_addr.clear();
        let mut sorted = old;
        sorted.sort_by_key(|e| e.heard);
        for e in sorted {
            let heard = e.heard;
            let eid = e.id;
            if let AddResult::Added = self.add(e) {
                if let Some(x) = self.get_mut(&eid) {
                    x.heard = heard;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: [u8; 32], i: u32) -> Entry {
        let o = i.to_be_bytes();
        Entry::new(id, SocketAddrV4::new([10, o[1], o[2], o[3]].into(), 1000))
    }

    #[test]
    fn nearest_is_the_true_k_closest_in_distance_order() {
        for round in 0..50u32 {
            let own: [u8; 32] = rand::random();
            let mut t = RoutingTable::new(own);
            let mut ids = Vec::new();
            for i in 0..(20 + round * 7) {
                // a mix of random ids and ids sharing long prefixes with ours
                let mut id: [u8; 32] = rand::random();
                if i % 3 == 0 {
                    id[..2].copy_from_slice(&own[..2]);
                }
                if matches!(t.add(entry(id, i)), AddResult::Added) {
                    ids.push(id);
                }
            }
            let mut target: [u8; 32] = rand::random();
            if round % 2 == 0 {
                target[..1].copy_from_slice(&own[..1]);
            }
            for k in [1, 3, 20, 1000] {
                let got: Vec<[u8; 32]> = t.nearest(&target, k).iter().map(|e| e.id).collect();
                let mut want = ids.clone();
                want.sort_by(|a, b| compare(&target, a, b));
                want.truncate(k);
                assert_eq!(got, want, "round {round} k {k}");
            }
        }
    }
}
