//! Counters behind `dht.stats` (`dht-rpc index.js`: `stats.queries`, `stats.requests`,
//! `stats.commands`; kept by `lib/io.js` and `lib/query.js`), plus what this port adds for
//! observability: requests received and replies by command, frame and socket counters.
//!
//! The node keeps a [`Stats`] and bumps it where the events happen (`node/io.rs`,
//! `node.rs`); [`Node::stats`](crate::Node::stats) fills in the gauges (active queries and
//! requests, routing-table size) and [`Dht::stats`](crate::Dht::stats) the socket counters,
//! which the driver keeps in atomics because sends happen on several threads.

use std::sync::atomic::{AtomicU64, Ordering};

/// Internal commands counted one by one, by code: PING, PING_NAT, FIND_NODE, DOWN_HINT,
/// DELAYED_PING. dht-rpc's `io.stats.commands` has the first four; other codes are not counted
/// per command (as upstream: `command < this.stats.commands.length`).
pub const INTERNAL_COMMANDS: usize = 5;
/// Application (non-internal) command codes counted one by one; codes at or above the last
/// slot share it (hyperdht uses 0..=10).
pub const APP_COMMANDS: usize = 16;

/// Counters of one command.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommandCounts {
    /// Requests we created (`io.stats.commands[c].tx`; retransmissions not included).
    pub tx: u64,
    /// Replies we got to them (`io.stats.commands[c].rx`).
    pub rx: u64,
    /// Requests we received with a valid (or no) token.
    pub received: u64,
}

/// Which [`CommandCounts`] a request is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandSlot {
    Internal(usize),
    App(usize),
    /// An internal command code we do not count per command.
    Uncounted,
}

impl CommandSlot {
    pub(crate) fn of(internal: bool, command: u64) -> Self {
        let code = usize::try_from(command).unwrap_or(usize::MAX);
        if !internal {
            CommandSlot::App(code.min(APP_COMMANDS - 1))
        } else if code < INTERNAL_COMMANDS {
            CommandSlot::Internal(code)
        } else {
            CommandSlot::Uncounted
        }
    }
}

/// Datagrams and bytes through the node's two UDP sockets: dht-rpc frames, and on the server
/// socket also the UDX packets and holepunch probes of the connections sharing it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SocketStats {
    pub datagrams_in: u64,
    pub bytes_in: u64,
    /// Datagrams handed to the sockets to send (a send the kernel drops is still counted).
    pub datagrams_out: u64,
    pub bytes_out: u64,
}

/// The driver's socket counters, bumped from the driver task and from callers' threads.
#[derive(Debug, Default)]
pub(crate) struct SocketCounters {
    datagrams_in: AtomicU64,
    bytes_in: AtomicU64,
    datagrams_out: AtomicU64,
    bytes_out: AtomicU64,
}

impl SocketCounters {
    pub(crate) fn received(&self, datagrams: u64, bytes: usize) {
        self.datagrams_in.fetch_add(datagrams, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn sent(&self, datagrams: u64, bytes: usize) {
        self.datagrams_out.fetch_add(datagrams, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// `data` sent as datagrams of `segment` bytes each (the last possibly shorter).
    pub(crate) fn sent_segments(&self, data: usize, segment: usize) {
        self.sent(data.div_ceil(segment.max(1)) as u64, data);
    }

    pub(crate) fn snapshot(&self) -> SocketStats {
        SocketStats {
            datagrams_in: self.datagrams_in.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            datagrams_out: self.datagrams_out.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
        }
    }
}

/// Counters for observability and tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// dht-rpc frames received (not counting datagrams while suspended).
    pub received: u64,
    /// Frames dropped: malformed, from port 0, unmatched responses, excess delayed pings.
    pub dropped: u64,
    /// Request frames received.
    pub requests_in: u64,
    /// Response frames received (matched or not).
    pub responses_in: u64,
    /// dht-rpc frames we sent (requests with their retransmissions, and replies).
    pub sent: u64,
    /// Requests that ran out of retries (`stats.requests.timeouts`).
    pub timeouts: u64,
    /// Responses matched to one of our requests (`stats.requests.responses`).
    pub responses: u64,
    /// Requests we created (`stats.requests.total`).
    pub requests_out: u64,
    /// Retransmissions after a timeout (`stats.requests.retries`).
    pub retries: u64,
    /// Queries started, the background and bootstrap ones included (`stats.queries.total`).
    pub queries_total: u64,
    /// Internal commands by code (`stats.commands`).
    pub internal: [CommandCounts; INTERNAL_COMMANDS],
    /// Application commands by code.
    pub app: [CommandCounts; APP_COMMANDS],
    /// Gauge: queries running (`stats.queries.active`); filled in by `Node::stats`.
    pub queries_active: u64,
    /// Gauge: requests waiting for a reply or a retry (`stats.requests.active`); filled in by
    /// `Node::stats`.
    pub requests_active: u64,
    /// Gauge: nodes in the routing table; filled in by `Node::stats`.
    pub nodes: u64,
    /// Socket counters; filled in by `Dht::stats` (zero from a bare `Node`).
    pub socket: SocketStats,
}

impl Stats {
    fn slot_mut(&mut self, slot: CommandSlot) -> Option<&mut CommandCounts> {
        match slot {
            CommandSlot::Internal(i) => self.internal.get_mut(i),
            CommandSlot::App(i) => self.app.get_mut(i),
            CommandSlot::Uncounted => None,
        }
    }

    /// A request we created (`io.createRequest`).
    pub(crate) fn count_request_out(&mut self, slot: CommandSlot) {
        self.requests_out += 1;
        if let Some(c) = self.slot_mut(slot) {
            c.tx += 1;
        }
    }

    /// A request that passed the token check.
    pub(crate) fn count_request_in(&mut self, slot: CommandSlot) {
        if let Some(c) = self.slot_mut(slot) {
            c.received += 1;
        }
    }

    /// A response matched to one of our requests.
    pub(crate) fn count_reply(&mut self, slot: CommandSlot) {
        self.responses += 1;
        if let Some(c) = self.slot_mut(slot) {
            c.rx += 1;
        }
    }

    /// The counters of one command (zeros for an internal code not counted per command).
    pub fn command(&self, internal: bool, command: u64) -> CommandCounts {
        match CommandSlot::of(internal, command) {
            CommandSlot::Internal(i) => self.internal[i],
            CommandSlot::App(i) => self.app[i],
            CommandSlot::Uncounted => CommandCounts::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_upstream_bounds() {
        assert_eq!(CommandSlot::of(true, 2), CommandSlot::Internal(2));
        assert_eq!(CommandSlot::of(true, 4), CommandSlot::Internal(4));
        assert_eq!(CommandSlot::of(true, 5), CommandSlot::Uncounted);
        assert_eq!(CommandSlot::of(false, 3), CommandSlot::App(3));
        assert_eq!(
            CommandSlot::of(false, 200),
            CommandSlot::App(APP_COMMANDS - 1)
        );
        assert_eq!(
            CommandSlot::of(false, u64::MAX),
            CommandSlot::App(APP_COMMANDS - 1)
        );
    }

    #[test]
    fn counting_by_command() {
        let mut s = Stats::default();
        s.count_request_out(CommandSlot::of(true, 2));
        s.count_request_out(CommandSlot::of(true, 2));
        s.count_request_out(CommandSlot::of(true, 9));
        s.count_request_out(CommandSlot::of(false, 4));
        s.count_reply(CommandSlot::of(true, 2));
        s.count_reply(CommandSlot::of(true, 9));
        s.count_request_in(CommandSlot::of(true, 0));
        s.count_request_in(CommandSlot::of(false, 40));
        assert_eq!(s.requests_out, 4, "every request counts in the total");
        assert_eq!(s.responses, 2, "every matched reply counts in the total");
        let find_node = s.command(true, 2);
        assert_eq!((find_node.tx, find_node.rx, find_node.received), (2, 1, 0));
        assert_eq!(s.command(true, 9), CommandCounts::default());
        assert_eq!(s.command(false, 4).tx, 1);
        assert_eq!(s.command(true, 0).received, 1);
        assert_eq!(
            s.command(false, 99).received,
            1,
            "high codes share the last slot"
        );
    }

    #[test]
    fn socket_counters_add_up() {
        let c = SocketCounters::default();
        c.received(1, 100);
        c.received(3, 50);
        c.sent(1, 10);
        c.sent_segments(2500, 1000);
        c.sent_segments(1000, 1000);
        c.sent_segments(0, 0);
        assert_eq!(
            c.snapshot(),
            SocketStats {
                datagrams_in: 4,
                bytes_in: 150,
                datagrams_out: 5,
                bytes_out: 3510,
            }
        );
    }

    /// Two sans-IO nodes wired back to back (node `i` at 10.0.0.{i+1}, server and client ports).
    mod nodes {
        use std::net::{Ipv4Addr, SocketAddrV4};
        use std::time::{Duration, Instant};

        use crate::messages::{error_code, Command};
        use crate::node::{Config, Event, Node, Reply, RequestSpec, SocketKind};
        use crate::query::QuerySpec;

        fn addr(i: usize, socket: SocketKind) -> SocketAddrV4 {
            let port = if socket == SocketKind::Server {
                49737
            } else {
                50000
            };
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, i as u8 + 1), port)
        }

        struct Pair {
            nodes: [Node; 2],
            now: Instant,
            /// datagrams to this address are lost
            dead: Option<SocketAddrV4>,
        }

        impl Pair {
            fn new() -> Self {
                let now = Instant::now();
                let nodes = [0, 1].map(|i| {
                    // node 1 is a persistent, reachable node (its replies carry its id)
                    let cfg = Config {
                        ephemeral: (i == 1).then_some(false),
                        firewalled: i == 0,
                        ..Config::default()
                    };
                    let mut n = Node::new(cfg, now);
                    n.start(addr(i, SocketKind::Server).port(), now);
                    n
                });
                let mut p = Pair {
                    nodes,
                    now,
                    dead: None,
                };
                p.pump();
                p
            }

            fn pump(&mut self) {
                loop {
                    let mut moved = false;
                    for i in 0..2 {
                        while let Some(t) = self.nodes[i].poll_transmit() {
                            moved = true;
                            let from = addr(i, t.socket);
                            if Some(t.to) == self.dead {
                                continue;
                            }
                            for j in 0..2 {
                                for sock in [SocketKind::Server, SocketKind::Client] {
                                    if addr(j, sock) == t.to {
                                        let now = self.now;
                                        self.nodes[j].handle_datagram(sock, from, &t.data, now);
                                    }
                                }
                            }
                        }
                        // like the driver without a handler: app requests get UNKNOWN_COMMAND
                        while let Some(e) = self.nodes[i].poll_event() {
                            if let Event::Request(req) = e {
                                moved = true;
                                let reply = Reply::error(error_code::UNKNOWN_COMMAND);
                                self.nodes[i].reply(&req, reply);
                            }
                        }
                    }
                    if !moved {
                        return;
                    }
                }
            }

            fn advance(&mut self, d: Duration) {
                let end = self.now + d;
                while let Some(t) = self.nodes.iter().filter_map(|n| n.poll_timeout()).min() {
                    if t > end {
                        break;
                    }
                    self.now = self.now.max(t);
                    let now = self.now;
                    for n in self.nodes.iter_mut() {
                        n.handle_timeout(now);
                    }
                    self.pump();
                }
                self.now = end;
            }
        }

        #[test]
        fn a_request_counts_on_both_ends() {
            let mut p = Pair::new();
            let (a0, b0) = (p.nodes[0].stats(), p.nodes[1].stats());
            let mut spec =
                RequestSpec::new(addr(1, SocketKind::Server), true, Command::FindNode.code());
            spec.target = Some([7; 32]);
            let now = p.now;
            p.nodes[0].request(1, spec, now);
            assert_eq!(p.nodes[0].stats().requests_active, a0.requests_active + 1);
            p.pump();
            let (a, b) = (p.nodes[0].stats(), p.nodes[1].stats());
            let fnode = Command::FindNode.code() as usize;
            assert_eq!(a.requests_out, a0.requests_out + 1);
            assert_eq!(a.internal[fnode].tx, a0.internal[fnode].tx + 1);
            assert_eq!(a.internal[fnode].rx, a0.internal[fnode].rx + 1);
            assert_eq!(a.responses, a0.responses + 1);
            assert_eq!(a.requests_active, a0.requests_active);
            assert_eq!(b.internal[fnode].received, b0.internal[fnode].received + 1);
            assert_eq!(b.requests_in, b0.requests_in + 1);
            assert_eq!(
                b.internal[fnode].tx, b0.internal[fnode].tx,
                "B sent nothing"
            );
        }

        #[test]
        fn an_app_request_counts_by_its_code() {
            let mut p = Pair::new();
            let b0 = p.nodes[1].stats();
            let now = p.now;
            p.nodes[0].request(
                1,
                RequestSpec::new(addr(1, SocketKind::Server), false, 7),
                now,
            );
            p.pump();
            let (a, b) = (p.nodes[0].stats(), p.nodes[1].stats());
            assert_eq!(a.app[7].tx, 1);
            // UNKNOWN_COMMAND is a reply too
            assert_eq!(a.app[7].rx, 1);
            assert_eq!(b.app[7].received, b0.app[7].received + 1);
        }

        #[test]
        fn retries_then_timeout() {
            let mut p = Pair::new();
            let to = addr(1, SocketKind::Server);
            p.dead = Some(to);
            let a0 = p.nodes[0].stats();
            let now = p.now;
            p.nodes[0].request(1, RequestSpec::new(to, true, Command::Ping.code()), now);
            p.pump();
            p.advance(Duration::from_secs(10));
            let a = p.nodes[0].stats();
            // RequestSpec::new: 3 retries, so 4 transmissions, then the timeout
            assert_eq!(a.retries, a0.retries + 3);
            assert_eq!(a.timeouts, a0.timeouts + 1);
            assert_eq!(a.internal[0].tx, a0.internal[0].tx + 1);
            assert_eq!(a.internal[0].rx, a0.internal[0].rx);
            assert_eq!(a.requests_active, 0);
        }

        #[test]
        fn queries_total_and_active() {
            let mut p = Pair::new();
            let a0 = p.nodes[0].stats();
            assert!(a0.queries_total >= 1, "the bootstrap query counts");
            let now = p.now;
            p.nodes[0].query(
                QuerySpec {
                    target: [9; 32],
                    internal: true,
                    command: Command::FindNode.code(),
                    value: None,
                    concurrency: 10,
                    retries: 3,
                    nodes: vec![addr(1, SocketKind::Server)],
                    background: false,
                    only_closest_nodes: false,
                    force: false,
                },
                now,
            );
            let running = p.nodes[0].stats();
            assert_eq!(running.queries_total, a0.queries_total + 1);
            assert_eq!(running.queries_active, a0.queries_active + 1);
            p.pump();
            p.advance(Duration::from_secs(5));
            let done = p.nodes[0].stats();
            // the node may have started a background refresh meanwhile: only queries started
            // after ours may still be running
            let started_since = done.queries_total - running.queries_total;
            assert!(done.queries_active <= started_since, "{done:?}");
        }

        #[test]
        fn the_routing_table_gauge_follows_the_table() {
            let mut p = Pair::new();
            assert_eq!(p.nodes[0].stats().nodes, 0);
            p.nodes[0].add_node(addr(1, SocketKind::Server));
            p.pump();
            assert_eq!(p.nodes[0].table_len(), 1, "node 1 answered with its id");
            assert_eq!(p.nodes[0].stats().nodes, 1);
        }
    }
}
