'use strict'
// Live status lines for long-running commands: routing-table size, requests per second and open
// connections. On a terminal one line is redrawn in place; elsewhere (--status <s>) a line is
// printed per interval. Log lines go through `log()` so they never tear the status line.
const { UsageError } = require('./args')

const STATUS_HELP = `  --status <seconds>           status line interval; 0 = off (default: 1 on a terminal, else off)`

/** Seconds between status lines: --status, else 1 on a terminal and off otherwise. */
function statusInterval (flags, stream, command = null) {
  if (flags.status === undefined) return stream.isTTY ? 1 : 0
  if (!/^\d+(\.\d+)?$/.test(flags.status)) {
    throw new UsageError(`--status must be a number of seconds, got ${JSON.stringify(flags.status)}`, command)
  }
  return Number(flags.status)
}

/**
 * Request counters of one node. `dht.stats.io.requests` (requests received, all commands) is
 * what the addon has now; a hyperdht-shaped `dht.stats.commands` ({ name: { rx, tx } }) is
 * summed when `io` is absent. Sent requests: dht-rpc's `stats.requests.total` when present,
 * else `dht.io._tid` (the same count modulo 2^16).
 */
function counters (dht) {
  const s = dht.stats || {}
  let received = null
  if (s.io && typeof s.io.requests === 'number') received = s.io.requests
  else if (s.commands && typeof s.commands === 'object') received = sumRx(s.commands)
  let sent = null
  let modulo = 0
  if (s.requests && typeof s.requests.total === 'number') {
    sent = s.requests.total
  } else if (dht.io && typeof dht.io._tid === 'number') {
    sent = dht.io._tid
    modulo = 65536
  }
  return { received, sent, modulo }
}

function sumRx (commands) {
  let n = 0
  let any = false
  for (const c of Object.values(commands)) {
    if (c && typeof c.rx === 'number') {
      n += c.rx
      any = true
    }
  }
  return any ? n : null
}

function tableSize (dht) {
  try {
    return dht.toArray().length
  } catch {
    return 0 // destroyed
  }
}

class StatusLine {
  /**
   * `nodes()` lists the DHT nodes to report on; `connections()` (optional) counts the
   * connections the command has open.
   */
  constructor (stream, { interval, nodes, connections = null }) {
    this.stream = stream
    this.tty = !!stream.isTTY
    this.interval = interval
    this.nodes = nodes
    this.connections = connections
    this.shown = '' // the status line currently on screen (terminal only)
    this._timer = null
    this._last = null
  }

  start () {
    if (!this.interval || this._timer) return
    this._last = this._sample()
    this._timer = setInterval(() => this._tick(), this.interval * 1000)
  }

  stop () {
    if (this._timer) clearInterval(this._timer)
    this._timer = null
    if (this.shown) this.stream.write('\r\x1b[2K')
    this.shown = ''
  }

  /** Prints a line of log output without tearing the status line. */
  log (text) {
    if (!this.shown) {
      this.stream.write(text + '\n')
      return
    }
    this.stream.write('\r\x1b[2K' + text + '\n' + this.shown)
  }

  _sample () {
    const sizes = []
    const counts = new Map()
    let persistent = 0
    for (const dht of this.nodes()) {
      if (dht.destroyed) continue
      sizes.push(tableSize(dht))
      if (dht.ephemeral === false) persistent++
      counts.set(dht, counters(dht))
    }
    return { at: Date.now(), sizes, persistent, counts }
  }

  /** The status text for the interval between two samples. */
  format (prev, cur) {
    const secs = Math.max(0.001, (cur.at - prev.at) / 1000)
    const parts = []
    const min = Math.min(...cur.sizes)
    const max = Math.max(...cur.sizes)
    if (cur.sizes.length === 1) {
      parts.push(`routing table ${min}`, cur.persistent ? 'persistent' : 'ephemeral')
    } else {
      parts.push(`${cur.sizes.length} nodes (${cur.persistent} persistent)`, `routing tables ${min}..${max}`)
    }
    let received = null
    let receivedTotal = 0
    let sent = null
    for (const [dht, c] of cur.counts) {
      const p = prev.counts.get(dht)
      if (c.received !== null) receivedTotal += c.received
      if (!p) continue
      if (c.received !== null && p.received !== null) received = (received || 0) + c.received - p.received
      if (c.sent !== null && p.sent !== null) {
        let d = c.sent - p.sent
        if (d < 0 && c.modulo) d += c.modulo // io._tid wrapped around
        sent = (sent || 0) + d
      }
    }
    if (received !== null) parts.push(`requests in ${rate(received, secs)}/s (${receivedTotal} total)`)
    if (sent !== null) parts.push(`out ${rate(sent, secs)}/s`)
    if (this.connections) parts.push(`${this.connections()} connections open`)
    return 'status: ' + parts.join(', ')
  }

  _tick () {
    const cur = this._sample()
    if (cur.sizes.length === 0) return
    const line = this.format(this._last, cur)
    this._last = cur
    if (this.tty) {
      this.shown = line
      this.stream.write('\r\x1b[2K' + line)
    } else {
      this.stream.write(line + '\n')
    }
  }
}

function rate (n, secs) {
  return (n / secs).toFixed(1)
}

module.exports = { StatusLine, statusInterval, counters, STATUS_HELP }
