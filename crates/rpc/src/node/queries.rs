//! Query driving (`dht-rpc lib/query.js` glue to the io layer, `DHT._backgroundQuery`).

use std::net::SocketAddrV4;
use std::time::Instant;

use super::{Event, Node, Owner, RequestSpec};
use crate::error::RpcError;
use crate::messages::{Command, Response};
use crate::query::{Candidate, QueryId, QuerySpec};
use crate::routing_table::K;

/// How many known nodes seed a query. Upstream takes `k`; we take twice that, nearest first:
/// the extra ones are only asked when nearer nodes fail (see `query.rs`), and then the query
/// does not depend on the failed nodes' neighbours to learn about them.
pub(super) const SEED: usize = 2 * K;

impl Node {
    pub(super) fn table_candidates(&self, target: &[u8; 32], k: usize) -> Vec<Candidate> {
        self.table
            .nearest(target, k)
            .into_iter()
            .map(|e| Candidate {
                id: Some(e.id),
                addr: e.addr,
            })
            .collect()
    }

    pub(super) fn background_query(&mut self, target: [u8; 32], now: Instant) -> QueryId {
        let c = self.cfg.concurrency;
        let background = c.min((c / 8).max(2));
        self.query(
            QuerySpec {
                target,
                internal: true,
                command: Command::FindNode.code(),
                value: None,
                concurrency: background,
                retries: 5,
                nodes: Vec::new(),
                background: true,
                only_closest_nodes: false,
                force: false,
            },
            now,
        )
    }

    /// Schedules more requests for query `id` or finishes it.
    pub(super) fn drive_query(&mut self, id: QueryId, now: Instant) {
        loop {
            let Some(q) = self.queries.get_mut(&id) else {
                return;
            };
            let step = q.read_more();
            let spec = q.spec.clone();
            for c in step.visit {
                let mut rs = RequestSpec::new(c.addr, spec.internal, spec.command);
                rs.to_id = c.id;
                rs.target = Some(spec.target);
                rs.value = spec.value.clone();
                rs.retries = spec.retries;
                rs.force = spec.force;
                self.send_request(rs, Owner::Query(id), now);
            }
            if step.need_table {
                let pending = self.queries.get(&id).map_or(0, |q| q.pending_len());
                let cands = self.table_candidates(&spec.target, SEED.saturating_sub(pending));
                if let Some(q) = self.queries.get_mut(&id) {
                    q.add_from_table(cands);
                }
                continue;
            }
            if step.finished {
                self.finish_query(id, None, now);
            }
            return;
        }
    }

    pub(super) fn on_query_reply(
        &mut self,
        id: QueryId,
        asked: SocketAddrV4,
        was_slow: bool,
        res: Response,
        now: Instant,
    ) {
        let local = *self.table.id();
        let concurrency = self.cfg.concurrency;
        let Some(q) = self.queries.get_mut(&id) else {
            return;
        };
        let hints = q.on_reply(asked, &res, &local, was_slow, self.filter.as_ref());
        let background = q.spec.background;
        let emit = res.error == 0 && !q.done;
        for (referrer, down) in hints {
            self.down_hint(referrer, down, now);
        }
        let boot_data = emit && self.boot_query == Some(id);
        let from = res.from;
        if emit {
            self.events.push_back(Event::QueryReply {
                query: id,
                reply: res,
            });
        }
        // JS sends the follow-up requests synchronously (`_readMore` in `_onvisit`) and runs
        // the bootstrap's `ondata` hook (quick NAT ping) only when the stream emits `data`,
        // a tick later; keep that order so the quick firewall test races the same way.
        self.drive_query(id, now);
        // `_backgroundQuery`'s data listener: also runs after the follow-ups went out, so it
        // shapes the next round (yield to other traffic when more than 2 requests are pending)
        if background && emit {
            let inflight = self.inflight.len();
            if let Some(q) = self.queries.get_mut(&id) {
                let bg = concurrency.min((concurrency / 8).max(2));
                q.concurrency = if inflight < 3 { concurrency } else { bg };
            }
        }
        if boot_data {
            self.on_boot_query_data(from, now);
        }
    }

    pub(super) fn finish_query(&mut self, id: QueryId, error: Option<RpcError>, now: Instant) {
        let Some(q) = self.queries.remove(&id) else {
            return;
        };
        if self.boot_query == Some(id) {
            self.boot_query = None;
            self.on_boot_query_done(now);
        }
        self.events.push_back(Event::QueryDone {
            query: id,
            closest: q.closest_replies,
            error,
        });
    }

    /// `Query._downHint`: tell `referrer` that `down` did not answer (rate limited per tick).
    pub(super) fn down_hint(&mut self, referrer: SocketAddrV4, down: SocketAddrV4, now: Instant) {
        let limit = self.cfg.down_hints_rate_limit;
        if limit != -1 && self.down_hints_sent >= limit {
            return;
        }
        self.down_hints_sent += 1;
        let mut rs = RequestSpec::new(referrer, true, Command::DownHint.code());
        let mut w = hyperdht_encoding::Writer::with_capacity(6);
        w.ipv4_address(&down);
        rs.value = Some(w.into_vec());
        self.send_request(rs, Owner::Ignore, now);
    }
}
