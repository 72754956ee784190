//! The native half of `dht.stats` / `dht.metrics()`: one snapshot of the engine's counters
//! (`crates/hyperdht/src/stats.rs`, `crates/rpc/src/stats.rs`) as plain numbers; index.js
//! shapes it like hyperdht 6.34's `stats` and lib/metrics.js renders it for Prometheus.

use hyperdht_core::stats::{Path, PathCounts, StatsSnapshot};
use hyperdht_rpc::stats::CommandCounts;
use napi_derive::napi;

/// `stats.punches`.
#[napi(object)]
pub struct JsPunches {
    pub consistent: f64,
    pub random: f64,
    pub open: f64,
    pub try_later: f64,
    pub try_later_relayed_handshakes_at_least_once: f64,
}

/// `stats.relaying`.
#[napi(object)]
pub struct JsRelaying {
    pub attempts: f64,
    pub successes: f64,
    pub aborts: f64,
    /// relayed connections that moved to a direct path (not in hyperdht)
    pub upgrades: f64,
}

/// `stats.socketPool`.
#[napi(object)]
pub struct JsSocketPool {
    pub sockets_added: f64,
    pub sockets_removed: f64,
}

/// `stats.queries`.
#[napi(object)]
pub struct JsQueries {
    pub active: f64,
    pub total: f64,
}

/// `stats.requests`.
#[napi(object)]
pub struct JsRequests {
    pub active: f64,
    pub total: f64,
    pub responses: f64,
    pub timeouts: f64,
    pub retries: f64,
}

/// One command: requests sent (`tx`), replies to them (`rx`), requests received.
#[napi(object)]
pub struct JsCommand {
    pub tx: f64,
    pub rx: f64,
    pub received: f64,
}

/// Frame and socket counters (`stats.io`).
#[napi(object)]
pub struct JsIo {
    /// dht-rpc frames received / dropped / requests and responses among them / sent
    pub received: f64,
    pub dropped: f64,
    pub requests: f64,
    pub responses: f64,
    pub sent: f64,
    pub timeouts: f64,
    /// everything through the UDP sockets (frames, UDX packets, holepunch probes)
    pub datagrams_in: f64,
    pub bytes_in: f64,
    pub datagrams_out: f64,
    pub bytes_out: f64,
}

/// Counts by connection path.
#[napi(object)]
pub struct JsPaths {
    pub direct: f64,
    pub lan: f64,
    pub holepunched: f64,
    pub relayed: f64,
    /// failed before a path was chosen
    pub none: f64,
}

#[napi(object)]
pub struct JsConnections {
    /// encrypted connections open now (both sides)
    pub open: f64,
    /// raw streams (`createRawStream`) open now
    pub raw_streams: f64,
    pub client_opened: JsPaths,
    pub client_failed: JsPaths,
    pub server_opened: JsPaths,
    pub server_failed: JsPaths,
}

#[napi(object)]
pub struct JsRecords {
    pub announces: f64,
    pub mutables: f64,
    pub immutables: f64,
    pub router: f64,
}

/// Everything, read at once.
#[napi(object)]
pub struct JsStats {
    pub punches: JsPunches,
    pub relaying: JsRelaying,
    pub socket_pool: JsSocketPool,
    pub queries: JsQueries,
    pub requests: JsRequests,
    /// internal commands by code: PING, PING_NAT, FIND_NODE, DOWN_HINT, DELAYED_PING
    pub internal: Vec<JsCommand>,
    /// application commands by code (hyperdht's 0..=10; the last entry also holds higher codes)
    pub app: Vec<JsCommand>,
    pub io: JsIo,
    /// routing-table size
    pub nodes: f64,
    pub records: JsRecords,
    pub connections: JsConnections,
}

fn n(v: u64) -> f64 {
    v as f64
}

fn command(c: &CommandCounts) -> JsCommand {
    JsCommand {
        tx: n(c.tx),
        rx: n(c.rx),
        received: n(c.received),
    }
}

fn paths(p: &PathCounts) -> JsPaths {
    JsPaths {
        direct: n(p.get(Path::Direct)),
        lan: n(p.get(Path::Lan)),
        holepunched: n(p.get(Path::Holepunched)),
        relayed: n(p.get(Path::Relayed)),
        none: n(p.get(Path::NotChosen)),
    }
}

/// The snapshot in JS numbers; `open` and `raw_streams` are counted by the napi layer.
pub(crate) fn to_js(s: &StatsSnapshot, open: usize, raw_streams: usize) -> JsStats {
    let r = &s.rpc;
    let c = &s.connections;
    JsStats {
        punches: JsPunches {
            consistent: n(s.punches.consistent),
            random: n(s.punches.random),
            open: n(s.punches.open),
            try_later: n(s.punches.try_later),
            try_later_relayed_handshakes_at_least_once: n(s
                .punches
                .try_later_relayed_handshakes_at_least_once),
        },
        relaying: JsRelaying {
            attempts: n(s.relaying.attempts),
            successes: n(s.relaying.successes),
            aborts: n(s.relaying.aborts),
            upgrades: n(s.relaying.upgrades),
        },
        socket_pool: JsSocketPool {
            sockets_added: n(s.socket_pool.sockets_added),
            sockets_removed: n(s.socket_pool.sockets_removed),
        },
        queries: JsQueries {
            active: n(r.queries_active),
            total: n(r.queries_total),
        },
        requests: JsRequests {
            active: n(r.requests_active),
            total: n(r.requests_out),
            responses: n(r.responses),
            timeouts: n(r.timeouts),
            retries: n(r.retries),
        },
        internal: r.internal.iter().map(command).collect(),
        app: r.app.iter().map(command).collect(),
        io: JsIo {
            received: n(r.received),
            dropped: n(r.dropped),
            requests: n(r.requests_in),
            responses: n(r.responses_in),
            sent: n(r.sent),
            timeouts: n(r.timeouts),
            datagrams_in: n(r.socket.datagrams_in),
            bytes_in: n(r.socket.bytes_in),
            datagrams_out: n(r.socket.datagrams_out),
            bytes_out: n(r.socket.bytes_out),
        },
        nodes: n(r.nodes),
        records: JsRecords {
            announces: n(s.records.announces),
            mutables: n(s.records.mutables),
            immutables: n(s.records.immutables),
            router: n(s.records.router),
        },
        connections: JsConnections {
            open: open as f64,
            raw_streams: raw_streams as f64,
            client_opened: paths(&c.client_opened),
            client_failed: paths(&c.client_failed),
            server_opened: paths(&c.server_opened),
            server_failed: paths(&c.server_failed),
        },
    }
}
