'use strict'
// One end of bench/replication.js, run as a forked child: `peer.js writer|reader js|rs`.
// The parent sends { bootstrap } (writer) or { bootstrap, keys } (reader) over IPC and gets one
// result message back. Each end runs Hyperswarm on a DHT instance it builds itself
// (`new Hyperswarm({ dht })`), so hyperswarm runs on whichever implementation it is handed.
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const { once } = require('events')
const Corestore = require('corestore')
const Hyperswarm = require('hyperswarm')
const RS = require('../..')
const JS = require('hyperdht')

const GETS = 1000 // sequential single-block gets on the latency core (1 KiB blocks, after block 0)
const SMALL = 4000 // bulk core: 4,000 x 1 KiB ...
const BIG = 256 // ... + 256 x 64 KiB
const TIMEOUT = 60000

/** Deterministic content of block i of a core; `seed` keeps the two cores' blocks apart. */
function block (seed, i, size) {
  const b = Buffer.alloc(size)
  for (let j = 0; j < size; j += 256) b.writeUInt32LE((seed * 1000003 + i * 131 + j) >>> 0, j)
  return b
}
const latencyBlock = (i) => block(1, i, 1024)
const bulkBlock = (i) => block(2, i, i < SMALL ? 1024 : 65536)
const BULK_BYTES = SMALL * 1024 + BIG * 65536

function pct (arr, p) {
  const s = [...arr].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6

function withTimeout (promise, what) {
  let timer
  const t = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(what + ' timed out')), TIMEOUT) })
  return Promise.race([promise, t]).finally(() => clearTimeout(timer))
}

/** Evidence that the swarm's traffic went through the DHT class we meant to run. */
function implCheck (dht, conns) {
  const out = { dht: dht === 'tcp' ? 'tcp' : dht instanceof RS ? 'rs' : dht instanceof JS ? 'js' : '?', conn: conns.map((c) => c.constructor.name).join(',') }
  if (dht instanceof RS) {
    // connections_opened_total (both sides, all paths) and UDP bytes through our sockets
    out.opened = dht.metrics().split('\n').filter((l) => l.includes('connections_opened_total{'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)
    out.bytesIn = dht.stats.io.bytesIn
    out.bytesOut = dht.stats.io.bytesOut
  }
  return out
}

/**
 * The baseline `tcp`: the same replication over one plain TCP socket on loopback (hypercore's
 * own NoiseSecretStream on top, no DHT, no UDX), in the shape of the few swarm members used
 * here. What hypercore itself allows, whatever carries its bytes.
 */
class TcpSwarm {
  constructor (port) {
    this.dht = 'tcp'
    this.port = port
    this.stats = { connects: { client: { attempted: 0 } } }
    this.peers = new Map()
    this.server = null
    this.sockets = []
    this.listeners = []
  }

  on (name, fn) { if (name === 'connection') this.listeners.push(fn) }

  _conn (sock) {
    sock.setNoDelay(true)
    this.sockets.push(sock)
    for (const fn of this.listeners) fn(sock)
  }

  join (discoveryKey, { server }) {
    if (server) {
      this.server = net.createServer((sock) => this._conn(sock))
      const listening = new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve))
      return { flushed: () => listening }
    }
    this.stats.connects.client.attempted++
    this._conn(net.connect(this.port, '127.0.0.1'))
    return { flushed: async () => {} }
  }

  async destroy () {
    for (const s of this.sockets) s.destroy()
    if (this.server) await new Promise((resolve) => this.server.close(resolve))
  }
}

async function makeSwarm (impl, bootstrap, store, port) {
  if (impl === 'tcp') {
    const swarm = new TcpSwarm(port)
    const conns = []
    swarm.on('connection', (sock) => {
      conns.push(sock)
      sock.on('error', () => {})
      sock.pipe(store.replicate(!!port)).pipe(sock)
    })
    return { swarm, conns }
  }
  const DHT = impl === 'rs' ? RS : JS
  const dht = new DHT({ bootstrap, host: '127.0.0.1' })
  // Workaround, both kinds alike: with ours, a lookup/announce started before the node is
  // ready (socket bound) sometimes ends at once with no replies and no error (~20% of lookups
  // made right after `new DHT()`; JS hyperdht: none), and hyperswarm then waits its 10-minute
  // refresh. Not waiting made ~1 run in 10 hang here.
  await dht.ready()
  const swarm = new Hyperswarm({ dht })
  const conns = []
  swarm.on('connection', (conn) => {
    conns.push(conn)
    conn.on('error', () => {})
    store.replicate(conn)
  })
  return { swarm, conns }
}

async function writer (impl, { bootstrap }, dir) {
  const store = new Corestore(dir)
  const latency = store.get({ name: 'latency' })
  const bulk = store.get({ name: 'bulk' })
  await Promise.all([latency.ready(), bulk.ready()])
  await latency.append(Array.from({ length: GETS + 1 }, (_, i) => latencyBlock(i)))
  await bulk.append(Array.from({ length: SMALL + BIG }, (_, i) => bulkBlock(i)))
  const { swarm, conns } = await makeSwarm(impl, bootstrap, store)
  await swarm.join(latency.discoveryKey, { server: true, client: false }).flushed()
  const cpu0 = process.cpuUsage()
  const tcpPort = swarm.server ? swarm.server.address().port : 0
  process.send({ keys: { latency: latency.key.toString('hex'), bulk: bulk.key.toString('hex'), tcpPort } })
  await once(process, 'message') // the reader is done
  const cpu = process.cpuUsage(cpu0)
  const check = implCheck(swarm.dht, conns)
  await swarm.destroy()
  await store.close()
  return { cpuS: (cpu.user + cpu.system) / 1e6, check }
}

async function reader (impl, { bootstrap, keys }, dir) {
  const store = new Corestore(dir)
  const latency = store.get({ key: Buffer.from(keys.latency, 'hex') })
  await latency.ready()
  const { swarm, conns } = await makeSwarm(impl, bootstrap, store, keys.tcpPort)
  const out = {}
  const cpu0 = process.cpuUsage()

  // time to first block: lookup, connect, handshake, replication open, block 0 with its proof
  let t0 = process.hrtime.bigint()
  swarm.join(latency.discoveryKey, { server: false, client: true })
  const state = () => `${conns.length} connection(s), ${latency.peers.length} core peer(s), swarm ` +
    JSON.stringify({ client: swarm.stats.connects.client, peers: [...swarm.peers.values()].map((p) => p.attempts) }) +
    (swarm.dht instanceof RS ? ' ' + swarm.dht.metrics().split('\n').filter((l) => /connections_failed_total\{.* [1-9]/.test(l)).join(' ') : '')
  const get = (core, i) => core.get(i, { timeout: TIMEOUT }).catch((err) => {
    throw new Error(`get(${i}) of the ${core === latency ? 'latency' : 'bulk'} core: ${err.message}; ${state()}`)
  })
  const first = await get(latency, 0)
  out.firstBlockMs = ms(t0)
  if (!first.equals(latencyBlock(0))) throw new Error('block 0 differs')

  // sequential gets: block i is requested only after block i-1 arrived; a sparse core fetches
  // exactly the block asked for (no readahead: `prefetch` is for byte streams, `linear` for
  // ranges), which has() confirms before every get
  const lat = []
  for (let i = 1; i <= GETS; i++) {
    if (await latency.has(i)) throw new Error(`block ${i} was already local: something prefetched`)
    t0 = process.hrtime.bigint()
    const b = await get(latency, i)
    lat.push(ms(t0))
    if (!b.equals(latencyBlock(i))) throw new Error(`latency block ${i} differs`)
  }
  out.getP50 = pct(lat, 50)
  out.getP95 = pct(lat, 95)

  // full download of the bulk core over the same connection
  const bulk = store.get({ key: Buffer.from(keys.bulk, 'hex') })
  await bulk.ready()
  await withTimeout((async () => { while (bulk.length < SMALL + BIG) await once(bulk, 'append') })(), 'bulk length; ' + state())
  if ((await bulk.count(0, bulk.length)) !== 0) throw new Error('bulk blocks were local before the download')
  t0 = process.hrtime.bigint()
  await withTimeout(bulk.download({ start: 0, end: bulk.length }).done(), 'download; ' + state())
  out.mbps = BULK_BYTES / 1e6 / (ms(t0) / 1000)
  const cpu = process.cpuUsage(cpu0)
  out.cpuS = (cpu.user + cpu.system) / 1e6

  for (let i = 0; i < SMALL + BIG; i++) {
    const b = await bulk.get(i, { wait: false })
    if (b === null || !b.equals(bulkBlock(i))) throw new Error(`bulk block ${i} missing or differs`)
  }
  out.verified = GETS + 1 + SMALL + BIG
  out.check = implCheck(swarm.dht, conns)
  await swarm.destroy()
  await store.close()
  return out
}

if (require.main === module) {
  const [role, impl] = process.argv.slice(2)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperdht-rs-bench-'))
  once(process, 'message')
    .then(([msg]) => (role === 'writer' ? writer : reader)(impl, msg, dir))
    .then((result) => {
      result.maxRssKiB = process.resourceUsage().maxRSS
      return result
    }, (err) => ({ error: err.stack || String(err) }))
    .then((result) => {
      fs.rmSync(dir, { recursive: true, force: true })
      process.send({ result }, () => process.exit(result.error ? 1 : 0))
    })
}
