'use strict'
// The HyperDHT constructor's options as the engine takes them (dht-rpc and hyperdht defaults,
// the bootstrap list, the port range, the number fields' ranges): index.js builds the node with
// nativeOptions().

// dht-rpc parseNode: 'host:port' and 'suggestedIP@host:port' strings, {host, port}, or a port
// on 127.0.0.1; the engine resolves names and tries suggested IPs
function bootstrapList (list) {
  return list.map((b) => {
    if (typeof b === 'number') return `127.0.0.1:${b}`
    if (typeof b === 'string') {
      if (!b.split(':')[1]) throw new Error('Bootstrap node format is host:port')
      return b
    }
    if (b && typeof b === 'object' && b.host && b.port) return `${b.host}:${b.port}`
    throw new TypeError('Invalid bootstrap node: ' + b)
  })
}

// dht-rpc io.js: `port` is a number (tried as [port, port + 5)) or a range [start, end)
function portRangeOf (port) {
  return port.length ? port : port === 0 ? [0, 0] : [port, port + 5]
}

// The engine's options (src/dht.rs) for `new HyperDHT(opts)`: `port` and `bootstrap` as the
// constructor resolved them, the settings it keeps on `dht` read from there
function nativeOptions (dht, opts, port, bootstrap) {
  return {
    bootstrap,
    port: port.length ? port[0] : port,
    portRange: port.length ? [port[0], port[1]] : undefined,
    host: opts.host || '0.0.0.0',
    ephemeral: opts.ephemeral === undefined ? undefined : !!opts.ephemeral,
    firewalled: opts.firewalled === undefined ? true : !!opts.firewalled,
    anyPort: opts.anyPort !== false,
    nodes: (opts.nodes || []).map((n) => `${n.host}:${n.port}`),
    adaptive: opts.adaptive !== false && opts.ephemeral === undefined,
    concurrency: dht.concurrency,
    maxSize: opts.maxSize || 0,
    maxAge: opts.maxAge || 0,
    natHost: opts._natHost || undefined,
    natPort: opts._natPort || 0,
    quickFirewall: opts.quickFirewall !== false,
    maxPingDelay: u32(dht._maxPingDelay),
    randomPunchInterval: u32(dht._randomPunchInterval),
    deferRandomPunch: dht._deferRandomPunch,
    maxWindow: dht._maxWindow,
    downHintsRateLimit: dht._sendDownHints ? downHintsLimit(dht._downHintsRateLimit) : 0
  }
}

// dht-rpc downHintsRateLimit as its `sent >= limit` test reads it: -1 (or NaN) never stops, any
// other negative number stops at once, 2.5 stops after 3
function downHintsLimit (n) {
  n = Number(n)
  if (n === -1 || Number.isNaN(n)) return -1
  return n <= 0 ? 0 : Math.min(Math.ceil(n), 0xffffffff)
}

// a number for a u32 engine field (NaN and negatives are 0, too large is the maximum)
function u32 (n) {
  return n > 0 ? Math.min(Math.floor(n), 0xffffffff) : 0
}

module.exports = { bootstrapList, portRangeOf, nativeOptions, downHintsLimit, u32 }
