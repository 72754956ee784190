//! Iterative query state (`dht-rpc lib/query.js`). Pure data + decisions; the node performs the
//! I/O it asks for. Closest replies are kept sorted by XOR distance and only id-bearing
//! responders count.
//!
//! Deliberate difference: upstream's candidates form a stack (the last one added is asked
//! next; its source says "the right thing to do is to sort pending by distance"). Here pending
//! candidates are kept sorted and the one closest to the target is asked next, so the nodes
//! most likely to hold a record answer first. Candidates without an id (bootstrap nodes) go
//! first, newest first, as they would off upstream's stack.
//!
//! Also deliberate: a candidate is not asked while the replies already in hand plus the
//! requests in flight (not yet slow) would give `k` nodes nearer than it; it waits in
//! `pending` until those answer or fail. Upstream asks it anyway whenever fewer than `k`
//! replies are in, which costs a lookup on a 50-node network ~30-45 requests where ~20 do.
//! And a reply's closer-nodes list is read whole; upstream stops at its first entry that is
//! not closer, although the lists are not sorted, and can miss nearer nodes after it.

use std::collections::HashMap;
use std::net::SocketAddrV4;

use crate::messages::Response;
use crate::peer::{self, compare};
use crate::routing_table::K;

pub type QueryId = u64;

/// `opts.filterNode`: nodes for which it returns false are never routed to or stored.
pub type NodeFilter = Box<dyn Fn(&SocketAddrV4) -> bool + Send>;

#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: Option<[u8; 32]>,
    pub addr: SocketAddrV4,
}

/// A request of the query in flight.
#[derive(Debug)]
struct Asking {
    addr: SocketAddrV4,
    id: Option<[u8; 32]>,
    /// passed its first timeout (`_oncycle`)
    slow: bool,
}

#[derive(Debug)]
enum Seen {
    Pending(Vec<SocketAddrV4>),
    Done,
    Down,
}

/// What the query is for (internal FIND_NODE or an application command).
#[derive(Debug, Clone)]
pub struct QuerySpec {
    pub target: [u8; 32],
    pub internal: bool,
    pub command: u64,
    pub value: Option<Vec<u8>>,
    pub concurrency: usize,
    pub retries: u32,
    pub nodes: Vec<SocketAddrV4>,
    /// Background queries (bootstrap/refresh) raise their concurrency on replies.
    pub background: bool,
    /// `opts.onlyClosestNodes`: only `nodes` are asked; no candidates from replies, the table
    /// or the bootstrap list (`_addPending` returns false).
    pub only_closest_nodes: bool,
    /// `opts.force`: requests skip the congestion window and are not retried.
    pub force: bool,
}

#[derive(Debug)]
pub struct Query {
    pub spec: QuerySpec,
    pub concurrency: usize,
    pub closest_replies: Vec<Response>,
    pub successes: usize,
    pub errors: usize,
    pub inflight: usize,
    pub slow: usize,
    pending: Vec<Candidate>,
    /// set once the given nodes are queued when `spec.only_closest_nodes`
    locked: bool,
    /// requests in flight
    asking: Vec<Asking>,
    seen: HashMap<SocketAddrV4, Seen>,
    pub from_table: bool,
    slowdown: bool,
    pub opened: bool,
    pub done: bool,
}

/// What the node must do after the query made progress.
#[derive(Debug, Default)]
pub struct Step {
    pub visit: Vec<Candidate>,
    pub down_hints: Vec<(SocketAddrV4, SocketAddrV4)>,
    pub need_table: bool,
    pub finished: bool,
}

impl Query {
    pub fn new(spec: QuerySpec) -> Self {
        let concurrency = spec.concurrency.max(1);
        let mut q = Query {
            concurrency,
            closest_replies: Vec::new(),
            successes: 0,
            errors: 0,
            inflight: 0,
            slow: 0,
            pending: Vec::new(),
            locked: false,
            asking: Vec::new(),
            seen: HashMap::new(),
            from_table: false,
            slowdown: false,
            opened: false,
            done: false,
            spec,
        };
        let nodes = q.spec.nodes.clone();
        for a in nodes.iter().rev() {
            q.add_pending(
                Candidate {
                    id: Some(peer::id(a)),
                    addr: *a,
                },
                None,
            );
        }
        q.locked = q.spec.only_closest_nodes;
        q
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    fn is_closer(&self, id: &[u8; 32]) -> bool {
        self.closest_replies.len() < K
            || self
                .closest_replies
                .last()
                .and_then(|r| r.from_id)
                .is_some_and(|last| compare(&self.spec.target, id, &last).is_lt())
    }

    /// `_addPending`; returns whether the candidate counted as closer.
    pub fn add_pending(
        &mut self,
        c: Candidate,
        referrer: Option<SocketAddrV4>,
    ) -> (bool, Option<SocketAddrV4>) {
        if self.locked {
            return (false, None);
        }
        let closer = c.id.is_none_or(|id| self.is_closer(&id));
        match self.seen.get_mut(&c.addr) {
            Some(Seen::Done) => return (closer, None),
            Some(Seen::Down) => return (closer, referrer),
            Some(Seen::Pending(refs)) => {
                if let Some(r) = referrer {
                    refs.push(r);
                }
                return (closer, None);
            }
            None => {}
        }
        if !closer {
            return (false, None);
        }
        self.seen
            .insert(c.addr, Seen::Pending(referrer.into_iter().collect()));
        // `pending` is sorted farthest first: `pop` yields the closest candidate.
        let target = &self.spec.target;
        let pos = self.pending.partition_point(|p| match (&p.id, &c.id) {
            (Some(pi), Some(ci)) => compare(target, pi, ci).is_ge(),
            (Some(_), None) | (None, None) => true,
            (None, Some(_)) => false,
        });
        self.pending.insert(pos, c);
        (true, None)
    }

    /// Seeds from the routing table (`_addFromTable`); `table` is `closest(target, k - pending)`.
    pub fn add_from_table(&mut self, table: Vec<Candidate>) {
        self.from_table = true;
        for c in table {
            self.add_pending(c, None);
        }
    }

    pub fn wants_table(&self) -> bool {
        self.pending.len() < K
    }

    /// `_readMore`: which candidates to visit now, or whether the query is finished.
    pub fn read_more(&mut self) -> Step {
        let mut step = Step::default();
        if self.done {
            return step;
        }
        let concurrency = (if self.slowdown { 3 } else { self.concurrency }) + self.slow;
        while self.inflight < concurrency {
            let Some(next) = self.pending.last() else {
                break;
            };
            if let Some(id) = next.id {
                if !self.is_closer(&id) {
                    self.pending.pop();
                    continue;
                }
                if self.covered(&id) {
                    // the nearest candidate waits, so all do
                    break;
                }
            }
            let Some(next) = self.pending.pop() else {
                break;
            };
            self.inflight += 1;
            self.asking.push(Asking {
                addr: next.addr,
                id: next.id,
                slow: false,
            });
            step.visit.push(next);
        }
        if !self.from_table && self.successes == 0 && self.errors == 0 {
            self.slowdown = true;
        }
        if !self.pending.is_empty() {
            return step;
        }
        if self.inflight == 0 || (self.slow == self.inflight && self.closest_replies.len() >= K) {
            if !self.from_table && self.successes < K / 4 {
                step.need_table = true;
                return step;
            }
            self.done = true;
            step.finished = true;
        }
        step
    }

    /// Whether `k` nodes nearer than `id` have replied or are being asked (requests that went
    /// slow do not count: they may never answer).
    fn covered(&self, id: &[u8; 32]) -> bool {
        let target = &self.spec.target;
        let nearer = |other: &[u8; 32]| compare(target, other, id).is_lt();
        let replied = self
            .closest_replies
            .iter()
            .filter_map(|r| r.from_id)
            .filter(|i| nearer(i))
            .count();
        let asked = self
            .asking
            .iter()
            .filter(|a| !a.slow && a.id.is_some_and(|i| nearer(&i)))
            .count();
        replied + asked >= K
    }

    fn asked(&mut self, addr: SocketAddrV4) {
        if let Some(i) = self.asking.iter().position(|a| a.addr == addr) {
            self.asking.swap_remove(i);
        }
    }

    /// `_onvisit`: a reply arrived from `asked`. Returns down-hints to send.
    pub fn on_reply(
        &mut self,
        asked: SocketAddrV4,
        res: &Response,
        local_id: &[u8; 32],
        was_slow: bool,
        filter: Option<&NodeFilter>,
    ) -> Vec<(SocketAddrV4, SocketAddrV4)> {
        self.dec(was_slow);
        self.asked(asked);
        self.seen.insert(asked, Seen::Done);
        let mut hints = Vec::new();
        if self.done {
            return hints;
        }
        if res.error == 0 {
            self.successes += 1;
        } else {
            self.errors += 1;
        }
        if res.error == 0 {
            if let Some(id) = res.from_id {
                if self.is_closer(&id) {
                    self.push_closest(res.clone());
                }
            }
        }
        for addr in &res.closer_nodes {
            if filter.is_some_and(|f| !f(addr)) {
                continue;
            }
            let id = peer::id(addr);
            if &id == local_id {
                continue;
            }
            // upstream stops at the first entry that is not closer, but the lists nodes send
            // (upstream's `table.closest()` order, ours too) are not sorted by distance, so
            // nearer entries can follow a farther one: read them all
            let (_, hint) = self.add_pending(
                Candidate {
                    id: Some(id),
                    addr: *addr,
                },
                Some(res.from),
            );
            if let Some(r) = hint {
                hints.push((r, *addr));
            }
        }
        if !self.from_table && self.successes + self.errors >= self.concurrency {
            self.slowdown = false;
        }
        hints
    }

    /// `_onerror`: the request to `asked` failed; returns the referrers to down-hint if it timed out.
    pub fn on_error(
        &mut self,
        asked: SocketAddrV4,
        timeout: bool,
        was_slow: bool,
    ) -> Vec<(SocketAddrV4, SocketAddrV4)> {
        let mut hints = Vec::new();
        if timeout {
            if let Some(Seen::Pending(refs)) = self.seen.insert(asked, Seen::Down) {
                hints = refs.into_iter().map(|r| (r, asked)).collect();
            }
        }
        self.dec(was_slow);
        self.asked(asked);
        self.errors += 1;
        hints
    }

    /// `_oncycle`: the request to `asked` passed its first timeout.
    pub fn on_slow(&mut self, asked: SocketAddrV4) {
        self.slow += 1;
        if let Some(a) = self.asking.iter_mut().find(|a| a.addr == asked) {
            a.slow = true;
        }
    }

    fn dec(&mut self, was_slow: bool) {
        if was_slow {
            self.slow = self.slow.saturating_sub(1);
        }
        self.inflight = self.inflight.saturating_sub(1);
    }

    fn push_closest(&mut self, m: Response) {
        let Some(mid) = m.from_id else { return };
        let target = self.spec.target;
        // upstream keeps the earlier reply of a duplicate and drops the new one
        if self.closest_replies.iter().any(|r| r.from_id == Some(mid)) {
            return;
        }
        let pos = self
            .closest_replies
            .iter()
            .position(|r| {
                r.from_id
                    .is_some_and(|id| compare(&target, &mid, &id).is_lt())
            })
            .unwrap_or(self.closest_replies.len());
        self.closest_replies.insert(pos, m);
        self.closest_replies.truncate(K);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn spec(nodes: Vec<SocketAddrV4>, only_closest_nodes: bool) -> QuerySpec {
        QuerySpec {
            target: [7; 32],
            internal: false,
            command: 3,
            value: None,
            concurrency: 10,
            retries: 5,
            nodes,
            background: false,
            only_closest_nodes,
            force: false,
        }
    }

    fn cand(port: u16) -> Candidate {
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        Candidate {
            id: Some(peer::id(&addr)),
            addr,
        }
    }

    /// dht-rpc `onlyClosestNodes`: the given nodes are queued, nothing else ever is.
    #[test]
    fn only_closest_nodes_asks_just_the_given_nodes() {
        let given = vec![cand(1000).addr, cand(1001).addr];
        let mut q = Query::new(spec(given.clone(), true));
        assert_eq!(q.pending_len(), 2);
        assert_eq!(q.add_pending(cand(2000), None), (false, None));
        q.add_from_table(vec![cand(2001), cand(2002)]);
        assert_eq!(q.pending_len(), 2);

        let mut open = Query::new(spec(given, false));
        open.add_pending(cand(2000), None);
        assert_eq!(open.pending_len(), 3);
    }
}
