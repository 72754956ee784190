'use strict'
// One matrix cell on a rig: reset NAT state, start a server peer behind `serverKind`, a client
// peer behind `clientKind`, let the client connect and echo `bytes`, collect both sides' lines,
// stop both. Every wait is bounded; a cell never throws for a failed connection (that is a result).

const BOOT_TIMEOUT = 20_000
const SERVED_TIMEOUT = 5_000

/**
 * opts: clientImpl/serverImpl 'js'|'rs', clientKind, serverKind, relayThrough (bool), swarm (bool:
 * both ends run Hyperswarm on their DHT and meet on a fresh topic, swarm-peer.js),
 * bytes (1 MiB), timeoutMs (30 s, connect + echo), upgradeWaitMs, connections, idleMs and
 * connectionKeepAlive (see peer.js).
 */
async function runCell (rig, opts) {
  const bytes = opts.bytes || 1024 * 1024
  const timeoutMs = opts.timeoutMs || 30_000
  const base = { bootstrap: rig.bootstrap, relayHost: rig.relay ? rig.relay.host : null, bytes, timeoutMs }
  if (opts.connectionKeepAlive !== undefined) base.connectionKeepAlive = opts.connectionKeepAlive
  const script = opts.swarm ? 'swarm-peer.js' : 'peer.js'
  if (opts.swarm) base.topic = require('crypto').randomBytes(32).toString('hex')
  const cs = rig.slot('client', opts.clientKind)
  const ss = rig.slot('server', opts.serverKind)
  const record = {
    client: opts.clientImpl,
    server: opts.serverImpl,
    clientKind: opts.clientKind,
    serverKind: opts.serverKind,
    relayThrough: !!opts.relayThrough,
    connected: false,
    error: null,
    openMs: null,
    echoOk: false,
    path: null
  }
  rig.resetNat()
  const server = rig.start(ss.peer, script, [JSON.stringify({ ...base, impl: opts.serverImpl, role: 'server' })], `server(${opts.serverImpl},${opts.serverKind})`)
  let client = null
  try {
    const listening = await server.waitFor('listening', BOOT_TIMEOUT)
    const cOpts = { ...base, impl: opts.clientImpl, role: 'client', remoteKey: listening.publicKey }
    if (opts.upgradeWaitMs) cOpts.upgradeWaitMs = opts.upgradeWaitMs
    if (opts.connections) cOpts.connections = opts.connections
    if (opts.idleMs) cOpts.idleMs = opts.idleMs
    if (opts.relayThrough) {
      if (!rig.relay) throw new Error('relayThrough needs a rig with a relay')
      cOpts.relayThrough = rig.relay.publicKey
    }
    client = rig.start(cs.peer, script, [JSON.stringify(cOpts)], `client(${opts.clientImpl},${opts.clientKind})`)
    const boot = await client.waitFor('bootstrapped', BOOT_TIMEOUT)
    const res = await client.waitFor('result', timeoutMs * (opts.connections || 1) + 10_000)
    let served = null
    if (res.connected) served = await server.waitFor('served', SERVED_TIMEOUT).catch(() => null)
    if (res.more && res.more.length) {
      // the other connections' server sides, in the order they closed
      await waitServed(server, 1 + res.more.filter((m) => m.connected).length)
      record.more = res.more
      record.serverMore = server.all('served').slice(1)
    }
    Object.assign(record, {
      connected: res.connected,
      error: res.error,
      openMs: res.openMs,
      failMs: res.failMs,
      echoMs: res.echoMs,
      echoOk: res.echoOk,
      bytesEchoed: res.bytesEchoed,
      remoteIsServer: res.remoteIsServer,
      clientPath: res.path,
      serverPath: served ? served.path : null,
      clientCounters: res.js || null,
      serverCounters: served ? served.js || null : null,
      remote: res.remote,
      clientLocalPort: res.localPort,
      clientSaw: res.seen,
      serverSaw: served ? served.seen : null,
      upgradeMs: res.upgradeMs,
      clientRemoteAfter: res.remoteAfter,
      serverRemoteAtEnd: served ? served.remoteAtEnd : null,
      clientRemoteChanged: res.remoteChanged,
      serverRemoteChanged: served ? served.remoteChanged : null,
      clientSelf: res.self,
      serverSelf: listening.self,
      clientBootMs: boot.ms
    })
    record.path = mergePath(record.clientPath, record.serverPath)
  } catch (err) {
    record.error = 'RIG: ' + err.message.split('\n')[0]
  } finally {
    await Promise.all([server.stop(), client ? client.stop() : null])
  }
  return record
}

async function waitServed (server, n) {
  const end = Date.now() + SERVED_TIMEOUT
  while (server.all('served').length < n && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50))
}

// relayed if either side says so; holepunched if either side punched; else the client's view
function mergePath (c, s) {
  const both = [c, s].filter(Boolean)
  if (both.includes('relayed')) return 'relayed'
  if (both.includes('holepunched')) return 'holepunched'
  return c || s || null
}

module.exports = { runCell }
