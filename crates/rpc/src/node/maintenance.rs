//! Table upkeep, NAT sampling, bootstrap, firewall detection and the persistent switch
//! (`dht-rpc index.js`: `_addNodeFromNetwork`, `_onfullrow`, `_repingAndSwap`, `_ontick`,
//! `_pingSome`, `_check`, `_bootstrap`, `_updateNetworkState`, `_checkIfFirewalled`).

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use super::{
    BootPhase, Event, FirewallCheck, Node, Owner, RequestSpec, SocketKind, UpdateReason,
    MORE_STABLE_TICKS, OLD_NODE, RECENT_NODE, SLEEPING_INTERVAL,
};
use crate::messages::Command;
use crate::nat_sampler::NatSampler;
use crate::peer;
use crate::routing_table::{AddResult, Entry, K};

impl Node {
    /// `_addNodeFromNetwork`: a message with a validated id arrived from `from`.
    pub(super) fn add_from_network(
        &mut self,
        id: [u8; 32],
        from: SocketAddrV4,
        to: SocketAddrV4,
        socket: SocketKind,
        now: Instant,
    ) {
        if self.filtered(&from) {
            return;
        }
        let tick = self.tick;
        // `external = socket !== expectedSocket` in `IO.onmessage`: only messages on the socket
        // we currently send requests from may refresh NAT samples of known nodes
        let expected = socket == self.request_socket();
        if let Some(e) = self.table.get_mut(&id) {
            e.pinged = tick;
            e.seen = tick;
            let sample = expected && (e.sampled == 0 || e.sampled + OLD_NODE <= tick);
            if sample {
                e.sampled = tick;
                e.to = Some(to);
            }
            self.table.touch(&id);
            if sample {
                self.nat_add(to);
            }
            return;
        }
        // `_addNode` samples `to` (then emits `add-node`) once the node is in the table
        self.insert_node(Entry {
            id,
            addr: from,
            added: tick,
            pinged: tick,
            seen: tick,
            sampled: 0,
            down_hints: 0,
            to: Some(to),
            heard: 0,
        });
        let _ = now;
    }

    /// `_addNode`; handles full rows by re-pinging the oldest entry (`_onfullrow`).
    pub(super) fn insert_node(&mut self, mut entry: Entry) -> bool {
        if &entry.id == self.table.id() {
            return false;
        }
        let tick = self.tick;
        // `_addNode`: node.added = node.pinged = node.seen = tick
        entry.added = tick;
        entry.pinged = tick;
        entry.seen = tick;
        match self.table.add(entry.clone()) {
            AddResult::Added => {
                // `if (node.to && node.sampled === 0)`: a node heard from samples our address
                if let (Some(to), 0) = (entry.to, entry.sampled) {
                    if let Some(e) = self.table.get_mut(&entry.id) {
                        e.sampled = tick;
                    }
                    self.nat_add(to);
                }
                self.added_node(&entry.id);
                true
            }
            AddResult::Updated | AddResult::IsSelf => false,
            AddResult::RowFull(row) => {
                if !self.bootstrapped || self.repings >= 3 {
                    return false;
                }
                let oldest = self
                    .table
                    .row(row)
                    .iter()
                    .filter(|e| e.pinged != tick)
                    .min_by(|a, b| a.pinged.cmp(&b.pinged).then(a.added.cmp(&b.added)))
                    .cloned();
                let Some(old) = oldest else { return false };
                if tick.saturating_sub(old.pinged) < RECENT_NODE
                    && tick.saturating_sub(old.added) > OLD_NODE
                {
                    return false;
                }
                if let Some(e) = self.table.get_mut(&old.id) {
                    e.pinged = tick;
                }
                self.repings += 1;
                let mut rs = RequestSpec::new(old.addr, true, Command::Ping.code());
                rs.to_id = None;
                let now = self.last_activity;
                self.send_request(
                    rs,
                    Owner::Reping {
                        old: old.id,
                        new: Box::new(entry),
                    },
                    now,
                );
                false
            }
        }
    }

    /// Id-less responders (e.g. ephemeral bootstrap nodes) teach a new node its address.
    pub(super) fn sample_bootstrap_maybe(&mut self, from: SocketAddrV4, to: SocketAddrV4) {
        if self.filtered(&from) {
            return;
        }
        let max = self.cfg.bootstrap.len().max(1);
        if self.bootstrap_samples.len() >= max || self.bootstrap_samples.contains(&from) {
            return;
        }
        self.bootstrap_samples.insert(from);
        self.nat_add(to);
    }

    pub(super) fn nat_add(&mut self, to: SocketAddrV4) {
        if to.port() == 0 && to.ip().is_unspecified() {
            return;
        }
        if self.nat.add(*to.ip(), to.port()) {
            self.events.push_back(Event::NatUpdate {
                host: self.nat.host,
                port: self.nat.port,
            });
        }
    }

    /// `_check`: ping a node; remove it if it does not answer with its id.
    pub(super) fn check(&mut self, id: [u8; 32], now: Instant) {
        let Some(e) = self.table.get_mut(&id) else {
            return;
        };
        e.pinged = self.tick;
        let addr = e.addr;
        self.checks += 1;
        let rs = RequestSpec::new(addr, true, Command::Ping.code());
        self.send_request(rs, Owner::Check { id }, now);
    }

    // ---- ticks -------------------------------------------------------------------------------

    pub(super) fn on_tick(&mut self, since: Duration, now: Instant) {
        if since > SLEEPING_INTERVAL {
            self.on_wakeup(now);
        } else {
            self.tick += 1;
        }
        if !self.bootstrapped {
            return;
        }
        if self.cfg.adaptive && self.ephemeral {
            self.stable_ticks -= 1;
            if self.stable_ticks <= 0 {
                if self.last_checked_host.is_some() && self.last_checked_host == self.nat.host {
                    self.stable_ticks = MORE_STABLE_TICKS;
                } else {
                    self.update_network_state(false, UpdateReason::Stable, now);
                }
            }
        }
        if self.tick & 7 == 0 {
            self.ping_some(now);
        }
        // `||` short-circuits in upstream too: the countdown only moves when the first test fails
        if (self.tick & 63 == 0 && self.table.len() < K) || {
            self.refresh_ticks -= 1;
            self.refresh_ticks <= 0
        } {
            self.refresh(now);
        }
        self.down_hints_sent = 0;
        let (responses, timeouts) = (self.stats.responses, self.stats.timeouts);
        if let Some(state) = self.health.update(responses, timeouts) {
            self.set_health(state);
        }
    }

    pub(super) fn on_wakeup(&mut self, now: Instant) {
        self.tick += 2 * OLD_NODE;
        // `tick += 8 - (tick & 7) - 2` may be -1 in upstream (tick & 7 == 7): signed maths
        self.tick = (self.tick + 8 - (self.tick & 7)).saturating_sub(2);
        self.stable_ticks = MORE_STABLE_TICKS;
        self.refresh_ticks = 1;
        self.last_checked_host = None;
        let state = self.health.reset();
        self.set_health(state);
        if self.cfg.adaptive && !self.ephemeral {
            self.ephemeral = true;
            self.events.push_back(Event::Ephemeral);
        }
        self.events.push_back(Event::Wakeup);
        let _ = now;
    }

    /// `_pingSome`: health-check the least recently seen nodes.
    fn ping_some(&mut self, now: Instant) {
        if self.table.is_empty() {
            self.refresh(now);
            return;
        }
        let mut budget = if self.inflight.len() > 2 { 3 } else { 5 };
        let order: Vec<(u64, [u8; 32])> = self
            .table
            .by_recency()
            .iter()
            .rev()
            .map(|e| (e.pinged, e.id))
            .collect();
        if let Some((pinged, _)) = order.first() {
            if self.tick.saturating_sub(*pinged) < RECENT_NODE {
                budget = 2;
            }
        }
        for (pinged, id) in order {
            if budget == 0 || pinged == self.tick {
                break;
            }
            budget -= 1;
            self.check(id, now);
        }
    }

    // ---- bootstrap ---------------------------------------------------------------------------

    pub(super) fn start_boot_round(&mut self, round: u8, now: Instant) {
        self.boot = BootPhase::Querying { round };
        self.quick_nat_pending = round == 0
            && self.firewalled
            && self.cfg.quick_firewall
            && self.cfg.ephemeral != Some(false);
        let target = *self.table.id();
        let q = self.background_query(target, now);
        if self.queries.contains_key(&q) {
            self.boot_query = Some(q);
        }
        // a query with no candidates at all finished synchronously
        if !self.queries.contains_key(&q) && self.boot == (BootPhase::Querying { round }) {
            self.boot_query = None;
            self.on_boot_query_done(now);
        }
    }

    pub(super) fn on_boot_query_data(&mut self, from: SocketAddrV4, now: Instant) {
        if !self.quick_nat_pending || !self.firewalled {
            return;
        }
        // only the first reply triggers the quick NAT test
        self.quick_nat_pending = false;
        let mut rs = RequestSpec::new(from, true, Command::PingNat.code());
        rs.value = Some(self.server_port.to_le_bytes().to_vec());
        self.send_request(rs, Owner::QuickNat, now);
    }

    pub(super) fn on_boot_query_done(&mut self, now: Instant) {
        let BootPhase::Querying { round } = self.boot else {
            return;
        };
        let force_persistent = self.cfg.ephemeral == Some(false);
        if self.bootstrapped || (!self.test_nat && !force_persistent) || round >= 1 {
            self.finish_boot();
            return;
        }
        self.boot = BootPhase::Updating { round };
        if !self.update_network_state(!force_persistent, UpdateReason::Bootstrap, now) {
            // failed synchronously
            if self.boot == (BootPhase::Updating { round }) {
                self.finish_boot();
            }
        }
    }

    fn finish_boot(&mut self) {
        if self.boot == BootPhase::Done {
            return;
        }
        self.boot = BootPhase::Done;
        self.bootstrapped = true;
        self.events.push_back(Event::Ready);
    }

    fn on_update_done(&mut self, ok: bool, reason: UpdateReason, now: Instant) {
        if reason != UpdateReason::Bootstrap {
            return;
        }
        let BootPhase::Updating { round } = self.boot else {
            return;
        };
        if ok {
            self.start_boot_round(round + 1, now);
        } else {
            self.finish_boot();
        }
    }

    // ---- network state -----------------------------------------------------------------------

    /// `_updateNetworkState(onlyFirewall)`; returns false if it failed synchronously.
    pub(super) fn update_network_state(
        &mut self,
        only_firewall: bool,
        reason: UpdateReason,
        now: Instant,
    ) -> bool {
        if !self.ephemeral || (only_firewall && !self.firewalled) || self.firewall_check.is_some() {
            self.on_update_done(false, reason, now);
            return false;
        }
        if !only_firewall {
            self.stable_ticks = MORE_STABLE_TICKS;
            self.last_checked_host = self.nat.host;
        }
        let (Some(host), port) = (self.nat.host, self.nat.port) else {
            self.on_update_done(false, reason, now);
            return false;
        };
        if port == 0 {
            self.on_update_done(false, reason, now);
            return false;
        }
        if !self.firewalled {
            let sampler = None;
            self.complete_network_update(sampler, only_firewall, reason, host, port, now);
            return true;
        }
        // firewall check: PING_NAT to the 5 most recent nodes (+ bootstrap nodes)
        let mut candidates: Vec<SocketAddrV4> = self
            .table
            .by_recency()
            .iter()
            .take(5)
            .map(|e| e.addr)
            .collect();
        if candidates.len() < 5 {
            candidates.extend(self.cfg.bootstrap.iter().copied());
        }
        if candidates.is_empty() {
            self.on_update_done(false, reason, now);
            return false;
        }
        self.firewall_check = Some(FirewallCheck {
            pending: candidates.len(),
            candidates: candidates.len(),
            sampler: NatSampler::new(),
            count: 0,
            only_firewall,
            reason,
            host,
            port,
        });
        for c in candidates {
            let mut rs = RequestSpec::new(c, true, Command::PingNat.code());
            rs.value = Some(self.server_port.to_le_bytes().to_vec());
            // `requestAll` passes the node objects (with ids): a timeout evicts them
            rs.to_id = Some(peer::id(&c));
            self.send_request(rs, Owner::FirewallProbe, now);
        }
        true
    }

    pub(super) fn maybe_finish_firewall_check(&mut self, now: Instant) {
        let Some(fc) = self.firewall_check.as_ref() else {
            return;
        };
        if fc.pending > 0 {
            return;
        }
        let Some(fc) = self.firewall_check.take() else {
            return;
        };
        let need = if fc.candidates >= 5 { 3 } else { 1 };
        let firewalled = fc.count < need
            || fc.sampler.host.is_none()
            || self.nat.host != fc.sampler.host
            || fc.sampler.port == 0
            || fc.sampler.port != self.server_port;
        if firewalled {
            self.on_update_done(false, fc.reason, now);
            return;
        }
        self.firewalled = false;
        let (host, port) = (fc.host, fc.port);
        self.complete_network_update(
            Some(fc.sampler),
            fc.only_firewall,
            fc.reason,
            host,
            port,
            now,
        );
    }

    fn complete_network_update(
        &mut self,
        sampler: Option<NatSampler>,
        only_firewall: bool,
        reason: UpdateReason,
        host: std::net::Ipv4Addr,
        port: u16,
        now: Instant,
    ) {
        self.firewalled = false;
        if !self.ephemeral || Some(host) != self.nat.host || port != self.nat.port {
            self.on_update_done(false, reason, now);
            return;
        }
        let (s_host, s_port) = match &sampler {
            Some(s) => (s.host, s.port),
            None => (self.nat.host, self.nat.port),
        };
        if s_host != Some(host) || s_port == 0 {
            self.on_update_done(false, reason, now);
            return;
        }
        let id = peer::id(&SocketAddrV4::new(host, s_port));
        if !only_firewall {
            self.ephemeral = false;
        }
        if let Some(s) = sampler {
            let prev = (self.nat.host, self.nat.port);
            self.nat = s;
            if prev != (self.nat.host, self.nat.port) {
                self.events.push_back(Event::NatUpdate {
                    host: self.nat.host,
                    port: self.nat.port,
                });
            }
        }
        if &id != self.table.id() {
            self.table.rebuild(id);
            if self.bootstrapped {
                self.refresh(now);
            }
        }
        if !self.ephemeral {
            self.events.push_back(Event::Persistent);
        }
        self.on_update_done(true, reason, now);
    }
}
