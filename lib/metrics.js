'use strict'
// The JS side of the engine's counters (src/stats.rs):
// * dht.stats: hyperdht 6.34's `stats` object (hyperdht index.js + dht-rpc index.js) as a live
//   view: one object per DHT whose numbers are getters reading the engine, so a reference kept
//   to it (or to `stats.queries`) keeps counting like upstream's in-place counters; `io` is ours.
//   Work the engine does on its own threads (a query started from JS) shows up when it happens
//   there, a moment after the call that started it.
// * dht.metrics(): the Prometheus text exposition format 0.0.4
//   (https://prometheus.io/docs/instrumenting/exposition_formats/). Every family has HELP and TYPE
//   lines, counters end in `_total`, and every family always has the same series, so a scrape
//   never loses one. Names and labels are documented in README.md ("Metrics").
const { inspect } = require('util')

const PREFIX = 'hyperdht_'

// dht-rpc's internal commands by code (lib/commands.js) and hyperdht's (lib/constants.js COMMANDS)
const INTERNAL = ['ping', 'ping_nat', 'find_node', 'down_hint', 'delayed_ping']
const APP = [
  'peer_handshake', 'peer_holepunch', 'find_peer', 'lookup', 'announce', 'unannounce',
  'mutable_put', 'mutable_get', 'immutable_put', 'immutable_get', 'plugin'
]
const PATHS = ['direct', 'lan', 'holepunched', 'relayed', 'none']

function escapeLabel (v) {
  return String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function escapeHelp (v) {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function labelText (labels) {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return '{' + keys.map((k) => k + '="' + escapeLabel(labels[k]) + '"').join(',') + '}'
}

function value (v) {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

// Commands by label: the named ones, then every app code without a name summed as `other`.
function byCommand (s) {
  const out = []
  INTERNAL.forEach((name, i) => out.push([name, s.internal[i]]))
  APP.forEach((name, i) => out.push([name, s.app[i]]))
  const other = { tx: 0, rx: 0, received: 0 }
  for (let i = APP.length; i < s.app.length; i++) {
    other.tx += s.app[i].tx
    other.rx += s.app[i].rx
    other.received += s.app[i].received
  }
  out.push(['other', other])
  return out
}

/**
 * Renders one `NativeDht.stats()` snapshot. `constLabels` are added to every sample (e.g. to
 * tell several nodes of one process apart); their names must not clash with ours.
 */
function render (s, constLabels = {}) {
  const lines = []
  const family = (name, type, help, samples) => {
    lines.push('# HELP ' + PREFIX + name + ' ' + escapeHelp(help))
    lines.push('# TYPE ' + PREFIX + name + ' ' + type)
    for (const [labels, v] of samples) {
      lines.push(PREFIX + name + labelText({ ...constLabels, ...labels }) + ' ' + value(v))
    }
  }
  const gauge = (name, help, samples) => family(name, 'gauge', help, samples)
  const counter = (name, help, samples) => family(name, 'counter', help, samples)
  const one = (v) => [[{}, v]]
  const commands = byCommand(s)
  const c = s.connections

  gauge('queries_active', 'Queries running now (dht-rpc stats.queries.active).', one(s.queries.active))
  counter('queries_total', 'Queries started, bootstrap and background refreshes included (stats.queries.total).', one(s.queries.total))
  gauge('requests_active', 'Requests waiting for a reply or a retry (stats.requests.active).', one(s.requests.active))
  counter('requests_total', 'Requests by command: sent by this node (direction="out", first transmission only) and received with a valid or no token (direction="in").', [
    ...commands.map(([command, n]) => [{ command, direction: 'out' }, n.tx]),
    ...commands.map(([command, n]) => [{ command, direction: 'in' }, n.received])
  ])
  counter('responses_total', 'Replies received to requests this node sent, by command.', commands.map(([command, n]) => [{ command }, n.rx]))
  counter('request_timeouts_total', 'Requests that got no reply after all their retries (stats.requests.timeouts).', one(s.requests.timeouts))
  counter('request_retries_total', 'Requests sent again after a timeout (stats.requests.retries).', one(s.requests.retries))
  counter('frames_dropped_total', 'dht-rpc frames dropped: malformed, unmatched responses, from port 0, over limits.', one(s.io.dropped))
  gauge('routing_table_nodes', 'Nodes in the routing table.', one(s.nodes))
  gauge('records_stored', 'Entries in this node\'s record stores, by kind (announce records, mutable and immutable values, router entries of announced servers).', [
    [{ kind: 'announce' }, s.records.announces],
    [{ kind: 'mutable' }, s.records.mutables],
    [{ kind: 'immutable' }, s.records.immutables],
    [{ kind: 'router' }, s.records.router]
  ])
  gauge('connections_open', 'Encrypted connections open now, both sides.', one(c.open))
  gauge('raw_streams_open', 'Raw streams (createRawStream) open now.', one(c.rawStreams))
  const paths = (side, counts) => PATHS.map((path) => [{ side, path }, counts[path]])
  counter('connections_opened_total', 'Encrypted connections opened, by side (client: we connected, server: we accepted) and path.', [
    ...paths('client', c.clientOpened),
    ...paths('server', c.serverOpened)
  ])
  counter('connections_failed_total', 'Connections that failed, by side and the path tried (none: failed before a path was chosen).', [
    ...paths('client', c.clientFailed),
    ...paths('server', c.serverFailed)
  ])
  counter('punches_total', 'Holepunch outcomes (stats.punches): consistent and random punches started, open (direct, no punch needed), try_later (random-punch budget spent).', [
    [{ kind: 'consistent' }, s.punches.consistent],
    [{ kind: 'random' }, s.punches.random],
    [{ kind: 'open' }, s.punches.open],
    [{ kind: 'try_later' }, s.punches.tryLater],
    [{ kind: 'try_later_relayed_handshakes_at_least_once' }, s.punches.tryLaterRelayedHandshakesAtLeastOnce]
  ])
  counter('relaying_total', 'Blind-relay pairings (stats.relaying), by result.', [
    [{ result: 'attempt' }, s.relaying.attempts],
    [{ result: 'success' }, s.relaying.successes],
    [{ result: 'abort' }, s.relaying.aborts],
    [{ result: 'upgrade' }, s.relaying.upgrades]
  ])
  counter('datagrams_total', 'UDP datagrams through the node\'s sockets (DHT frames, UDX packets, holepunch probes), by direction.', [
    [{ direction: 'in' }, s.io.datagramsIn],
    [{ direction: 'out' }, s.io.datagramsOut]
  ])
  counter('bytes_total', 'UDP payload bytes through the node\'s sockets, by direction.', [
    [{ direction: 'in' }, s.io.bytesIn],
    [{ direction: 'out' }, s.io.bytesOut]
  ])
  return lines.join('\n') + '\n'
}

/** `dht.stats` over `read()` (a `NativeDht.stats()` call), in upstream's key order. */
function liveStats (read) {
  const group = (pick, keys) => {
    const o = {}
    for (const k of keys) Object.defineProperty(o, k, { enumerable: true, get: () => pick(read())[k] })
    // console.log shows the numbers, not [Getter]s
    Object.defineProperty(o, inspect.custom, { value: (depth, opts) => inspect({ ...o }, opts) })
    return o
  }
  const command = (i) => group((s) => s.internal[i], ['tx', 'rx'])
  const stats = {
    punches: group((s) => s.punches, ['consistent', 'random', 'open', 'tryLater', 'tryLaterRelayedHandshakesAtLeastOnce']),
    relaying: group((s) => s.relaying, ['attempts', 'successes', 'aborts']),
    socketPool: group((s) => s.socketPool, ['socketsAdded', 'socketsRemoved']),
    queries: group((s) => s.queries, ['active', 'total']),
    requests: group((s) => s.requests, ['active', 'total', 'responses', 'timeouts', 'retries']),
    // dht-rpc io.stats.commands: PING, PING_NAT, FIND_NODE, DOWN_HINT
    commands: { ping: command(0), pingNat: command(1), findNode: command(2), downHint: command(3) },
    io: group((s) => s.io, ['received', 'dropped', 'requests', 'responses', 'sent', 'timeouts', 'datagramsIn', 'bytesIn', 'datagramsOut', 'bytesOut']),
    // not in hyperdht: connections by side, outcome and path (`socket.path` for one connection)
    connections: {
      clientOpened: group((s) => s.connections.clientOpened, PATHS),
      clientFailed: group((s) => s.connections.clientFailed, PATHS),
      serverOpened: group((s) => s.connections.serverOpened, PATHS),
      serverFailed: group((s) => s.connections.serverFailed, PATHS),
      // relayed connections that moved to a direct path
      get relayUpgrades () { return read().relaying.upgrades }
    }
  }
  return stats
}

module.exports = { render, liveStats, INTERNAL, APP, PATHS }
