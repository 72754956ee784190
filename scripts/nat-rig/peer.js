'use strict'
// Peer runner, executed inside a peer namespace by the rig (nsenter -t PID -n node peer.js '<json>').
// Runs JS hyperdht (`require('hyperdht')`) or ours (the repo root package) as:
// * server: listens, echoes every byte back on each connection, prints {"event":"listening",...}
//   and one {"event":"served",...} line per connection when it closes;
// * client: connects to `remoteKey`, writes `bytes` random bytes, ends, reads the echo and prints
//   one {"event":"result",...} line: connected, error code, openMs, echoMs, path, echoOk.
// Options (JSON): impl js|rs, role, bootstrap ["h:p"], remoteKey hex, relayThrough hex|null,
// relayHost (to recognise relayed streams), bytes, timeoutMs, upgradeWaitMs (client: after open, wait
// up to this long for a relayed stream to move to a direct path before the echo), connections (client:
// how many connections to open, one after the other opened; the result line describes the first,
// its `more` array the others: a RANDOM-NAT punch budget of one per 20 s makes the later ones wait),
// idleMs (client: leave the open connection idle this long before the echo; only keepalives flow),
// connectionKeepAlive (both: the DHT option, e.g. false).
const crypto = require('crypto')
const path = require('path')
const { emit } = require('./jsonl')
const { tracker, firewallName, instrumentJs } = require('./path')
const exitWithStdin = require('./stdin-exit')
const { echo, echoBack } = require('./echo')

const opts = JSON.parse(process.argv[2])
const DHT = opts.impl === 'js' ? require('hyperdht') : require(path.join(__dirname, '..', '..'))
if (opts.impl === 'js') instrumentJs()

let dht = null
exitWithStdin(opts.timeoutMs + 60_000, () => dht && dht.destroy({ force: true }))

function self () {
  // the node's punch counters (hyperdht `dht.stats.punches`: consistent, random, open, tryLater)
  const punches = dht.stats && dht.stats.punches ? { ...dht.stats.punches } : null
  return { firewalled: dht.firewalled, host: dht.host, port: dht.port, punches }
}

function vetoRecorder (seen) {
  return (remoteFirewall, localFirewall) => {
    seen.remoteFirewall = firewallName(remoteFirewall)
    seen.localFirewall = firewallName(localFirewall)
    return true
  }
}

async function server () {
  const seen = {}
  // counters from before listening: the server of a cell serves one connection, and JS hyperdht
  // hands the socket out only after the punch has already been counted
  const track = tracker(opts.impl, dht, 'server', opts.relayHost)
  const srv = dht.createServer({ holepunch: vetoRecorder(seen) }, (socket) => {
    const bytes = echoBack(socket)
    let info = null
    let remoteChanged = 0
    const done = (err) => {
      if (!info) info = track(socket)
      const raw = socket.rawStream || {}
      const remoteAtEnd = { host: raw.remoteHost || null, port: raw.remotePort || 0 }
      emit({ event: 'served', ...info, remoteAtEnd, remoteChanged, bytes: bytes(), error: err ? err.code || err.message : null, seen, self: self() })
    }
    socket.on('open', () => {
      info = track(socket)
      socket.rawStream.on('remote-changed', () => { remoteChanged++ })
    })
    socket.on('error', done)
    socket.on('close', () => done(null))
  })
  await srv.listen()
  emit({ event: 'listening', publicKey: srv.publicKey.toString('hex'), self: self() })
}

// ms from now until the stream's remote is no longer the relay (null: not within `limit` ms)
function leftRelay (socket, limit) {
  const t0 = Date.now()
  return new Promise((resolve) => {
    const check = () => {
      const raw = socket.rawStream
      if (raw && raw.remoteHost && raw.remoteHost !== opts.relayHost) return resolve(Date.now() - t0)
      if (Date.now() - t0 >= limit || socket.destroyed) return resolve(null)
      setTimeout(check, 20)
    }
    check()
  })
}

async function client () {
  const n = opts.connections || 1
  const results = []
  const pending = []
  for (let i = 0; i < n; i++) {
    // each connection starts once the previous one opened (or failed to)
    const opened = deferred()
    pending.push(connectOnce(opened.resolve).then((r) => { results[i] = r }))
    await opened.promise
  }
  await Promise.all(pending)
  const [first, ...more] = results
  emit({ ...first, more, self: self() })
}

function deferred () {
  let resolve
  const promise = new Promise((_resolve) => { resolve = _resolve })
  return { promise, resolve }
}

async function connectOnce (onOpenOrFail) {
  const seen = {}
  const data = crypto.randomBytes(opts.bytes)
  const track = tracker(opts.impl, dht, 'client', opts.relayHost)
  const connectOpts = { holepunch: vetoRecorder(seen) }
  if (opts.relayThrough) connectOpts.relayThrough = Buffer.from(opts.relayThrough, 'hex')
  const t0 = process.hrtime.bigint()
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6
  const socket = dht.connect(Buffer.from(opts.remoteKey, 'hex'), connectOpts)
  const result = { event: 'result', connected: false, error: null, openMs: null, echoMs: null, path: null, remote: null, echoOk: false, bytesEchoed: 0, seen }
  const timer = setTimeout(() => socket.destroy(Object.assign(new Error('cell timeout'), { code: 'TIMEOUT' })), opts.timeoutMs)
  try {
    await new Promise((resolve, reject) => {
      socket.once('open', resolve)
      socket.once('error', reject)
      socket.once('close', () => reject(new Error('closed before open')))
    })
    onOpenOrFail()
    result.remoteChanged = 0
    socket.rawStream.on('remote-changed', () => { result.remoteChanged++ })
    result.connected = true
    result.openMs = Math.round(ms())
    // the local port the connection's stream uses (a RANDOM-NAT punch moves it to a birthday
    // socket): with the server's remote, what a failed echo needs to tell which socket carried it
    result.localPort = socket.rawStream.localPort
    Object.assign(result, track(socket))
    if (opts.upgradeWaitMs) {
      // a relayed connection whose punch goes on: wait (bounded) for its stream to leave the
      // relay (rawStream.remoteHost, live in both implementations), then echo on the new path
      result.upgradeMs = await leftRelay(socket, opts.upgradeWaitMs)
      result.remoteAfter = { host: socket.rawStream.remoteHost, port: socket.rawStream.remotePort }
    }
    if (opts.idleMs) await new Promise((resolve) => setTimeout(resolve, opts.idleMs))
    const t1 = ms()
    const back = await echo(socket, data)
    result.echoMs = Math.round(ms() - t1)
    result.bytesEchoed = back.byteLength
    result.echoOk = back.byteLength === data.byteLength && back.equals(data)
  } catch (err) {
    onOpenOrFail()
    result.error = err.code || err.message
    if (result.openMs === null) result.failMs = Math.round(ms())
  } finally {
    clearTimeout(timer)
  }
  socket.destroy()
  return result
}

async function main () {
  const dhtOpts = { bootstrap: opts.bootstrap }
  if (opts.connectionKeepAlive !== undefined) dhtOpts.connectionKeepAlive = opts.connectionKeepAlive
  dht = new DHT(dhtOpts)
  const t0 = Date.now()
  await dht.fullyBootstrapped()
  emit({ event: 'bootstrapped', ms: Date.now() - t0, self: self() })
  if (opts.role === 'server') await server()
  else await client()
}

main().catch((err) => {
  emit({ event: 'error', error: err.code || err.message, stack: err.stack })
  process.exit(1)
})
