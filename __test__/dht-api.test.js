'use strict'
// DHT-level API written the way apps use it: plugins (Rust and JS nodes both ways, with
// hyperdht's own Plugin base class), query map/commit, suspend/resume/refresh, port ranges,
// bootstrap forms, options.nodes, address shapes, server.target, null relay addresses.
const test = require('node:test')
const assert = require('node:assert')
const dgram = require('dgram')
const c = require('compact-encoding')
const { RS, JS, freePort, bootstrapper, persistentNode, cleanup, nothingKeepsNodeAlive } = require('./helpers')
const JSPlugin = require('hyperdht/lib/plugin')
const m = require('hyperdht/lib/messages')
const { COMMANDS } = require('hyperdht/lib/constants')

async function network (t, kinds, size = 6) {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(kinds[0])
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < size; i++) nodes.push(persistentNode(kinds[i % kinds.length], bootstrap))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const client = (Impl, opts = {}) => {
    const n = new Impl({ ephemeral: true, bootstrap, host: '127.0.0.1', port: 0, ...opts })
    nodes.push(n)
    return n
  }
  return { nodes, bootstrap, client }
}

// A key-value plugin like upstream's test/plugins.js, built on hyperdht's own Plugin class
// (which only calls dht.request / dht.query, so it runs on either implementation).
const PUT = 0
const GET = 1
class KV extends JSPlugin {
  constructor (version = 1) {
    super('kv', version)
    this.data = new Map()
    this.persistentCalls = 0
    this.destroyed = false
  }

  onrequest (req, outer) {
    const k = outer.target && outer.target.toString('hex')
    if (req.command === PUT) {
      if (!outer.target || !outer.token) return
      this.data.set(k, req.value)
      outer.reply(null)
    } else if (req.command === GET) {
      if (!outer.target) return
      outer.reply(this.data.get(k) || null)
    } else {
      outer.error(42)
    }
  }

  onpersistent () { this.persistentCalls++ }
  destroy () { this.destroyed = true }

  async put (target, value) {
    const q = this.query({ target, command: GET, value: null }, {
      map: (r) => r,
      commit: (reply) => this.request({ token: reply.token, target, command: PUT, value }, reply.from)
    })
    await q.finished()
    return q.closestNodes
  }

  async get (target) {
    for await (const r of this.query({ target, command: GET, value: null }, { map: (r) => r })) {
      if (r.value !== null) return r
    }
    return null
  }
}

for (const [Storage, Client, name] of [[RS, JS, 'Rust nodes serve a plugin to a JS client'], [JS, RS, 'JS nodes serve a plugin to a Rust client'], [RS, RS, 'Rust nodes and Rust client']]) {
  test('plugins: ' + name, async (t) => {
    const net = await network(t, [Storage], 8)
    const plugins = []
    for (const n of net.nodes) {
      const p = new KV()
      n.register(p.name, p)
      plugins.push(p)
    }
    const client = net.client(Client)
    await client.fullyBootstrapped()
    const mine = new KV()
    client.register(mine.name, mine)
    const target = RS.hash(Buffer.from(name))
    const closest = await mine.put(target, Buffer.from('plugin value'))
    assert.ok(closest.length > 0)
    const stored = plugins.filter((p) => p.data.has(target.toString('hex'))).length
    assert.ok(stored > 0, 'some storage node ran the PUT')
    const r = await mine.get(target)
    assert.strictEqual(r.value.toString(), 'plugin value')
    assert.strictEqual(typeof r.from.host, 'string')
    assert.strictEqual(typeof r.from.port, 'number')
    assert.strictEqual(typeof r.to.port, 'number')
    // an unknown plugin command answered with outerReq.error(code)
    const res = await mine.request({ target, command: 99 }, r.from)
    assert.strictEqual(res.error, 42)
  })
}

test('plugins: requests for an unregistered plugin or version are dropped, non-persistent nodes answer UNKNOWN_COMMAND', async (t) => {
  const net = await network(t, [RS], 2)
  const storage = net.nodes[1]
  const p = new KV(2)
  storage.register(p.name, p)
  const client = net.client(RS)
  await client.fullyBootstrapped()
  const target = RS.hash(Buffer.from('x'))
  const to = { host: '127.0.0.1', port: storage.address().port }
  const value = (plugin, version) => c.encode(m.pluginRequest, { plugin, version, command: GET, value: null })

  // the registered version answers
  const ok = await client.request({ target, command: COMMANDS.PLUGIN, value: value('kv', 2) }, to)
  assert.strictEqual(ok.error, 0)
  // wrong version, other name, no value, garbage: no reply (persistent.js onplugin returns)
  for (const v of [value('kv', 1), value('other', 2), null, Buffer.from([0xff])]) {
    await assert.rejects(client.request({ target, command: COMMANDS.PLUGIN, value: v }, to, { retry: false }), (err) => err.code === 'REQUEST_TIMEOUT')
  }
  // a node that is not persistent answers UNKNOWN_COMMAND (hyperdht onrequest returns false)
  const eph = net.client(RS)
  await eph.fullyBootstrapped()
  eph.register(new KV(2).name, new KV(2))
  const res = await client.request({ target, command: COMMANDS.PLUGIN, value: value('kv', 2) }, { host: '127.0.0.1', port: eph.address().port })
  assert.strictEqual(res.error, RS.ERROR_UNKNOWN_COMMAND || 1)
})

test('plugins: destroy() destroys registered plugins', async () => {
  const a = new RS({ bootstrap: [], host: '127.0.0.1', port: 0 })
  const p = new KV()
  a.register(p.name, p)
  assert.strictEqual(a.plugins.get('kv'), p)
  assert.strictEqual(p.dht, a)
  await a.destroy()
  assert.strictEqual(p.destroyed, true)
})

test('query: opts.map shapes replies, opts.commit runs per closest reply, opts.nodes seeds it', async (t) => {
  const net = await network(t, [RS, JS], 6)
  const a = net.client(RS)
  await a.fullyBootstrapped()
  const value = Buffer.from('committed by a custom commit')
  const target = RS.hash(value)
  const commits = []
  const q = a.query({ target, command: COMMANDS.IMMUTABLE_GET, value: null }, {
    map: (r) => (r.token ? { mapped: true, from: r.from } : null),
    commit: (reply, dht, query) => {
      assert.strictEqual(dht, a)
      assert.strictEqual(query, q)
      commits.push(reply.from.port)
      return dht.request({ token: reply.token, target, command: COMMANDS.IMMUTABLE_PUT, value }, reply.from)
    }
  })
  const seen = []
  for await (const r of q) seen.push(r)
  assert.ok(seen.length > 0 && seen.every((r) => r.mapped === true && typeof r.from.port === 'number'))
  assert.strictEqual(commits.length, q.closestReplies.length)
  const b = net.client(JS)
  await b.fullyBootstrapped()
  const got = await b.immutableGet(target)
  assert.ok(got && got.value.equals(value), 'the commit stored the value')

  // seeded with the closest nodes of the first query: those are asked
  const again = a.query({ target, command: COMMANDS.IMMUTABLE_GET, value: null }, { nodes: q.closestNodes })
  const froms = new Set()
  for await (const r of again) froms.add(r.from.port)
  for (const n of q.closestNodes) assert.ok(froms.has(n.port))

  // commit: true is dht-rpc's autoCommit (the same request again with the token)
  const auto = a.query({ target, command: COMMANDS.IMMUTABLE_GET, value: null }, { commit: true })
  await auto.finished()

  // a commit that always fails fails the query
  const failing = a.query({ target, command: COMMANDS.IMMUTABLE_GET, value: null }, { commit: () => Promise.reject(new Error('nope')) })
  await assert.rejects(failing.finished(), /nope/)
})

test('lookup: opts.commit runs after the query (hyperdht passes it through)', async (t) => {
  const net = await network(t, [RS], 4)
  const a = net.client(RS)
  await a.fullyBootstrapped()
  let commits = 0
  const q = a.lookup(RS.hash(Buffer.from('lookup commit')), { commit: async () => { commits++ } })
  await q.finished()
  assert.ok(commits > 0)
  assert.strictEqual(commits, q.closestReplies.length)
})

test('suspend / resume / refresh', async (t) => {
  const net = await network(t, [RS], 4)
  const a = net.client(RS)
  const b = net.client(RS)
  await Promise.all([a.fullyBootstrapped(), b.fullyBootstrapped()])
  const server = a.createServer()
  await server.listen()
  assert.ok((await collect(b.findPeer(server.publicKey))).length > 0)

  // an open connection from b to a's server
  const conn = b.connect(server.publicKey)
  conn.on('error', () => {})
  await new Promise((resolve, reject) => { conn.once('open', resolve); conn.once('close', reject) })
  const connClosed = new Promise((resolve) => conn.once('close', resolve))

  const events = []
  a.on('suspend', () => events.push('suspend'))
  a.on('resume', () => events.push('resume'))
  const logs = []
  await a.suspend({ log: (s) => logs.push(s) })
  assert.strictEqual(a.suspended, true)
  assert.strictEqual(server.suspended, true)
  assert.ok(logs.length > 0)
  // like hyperdht's rawStreams.clear(), suspending destroyed a's connections: b's end closes
  await connClosed
  // the server unannounced itself
  assert.strictEqual((await collect(b.findPeer(server.publicKey))).length, 0)

  await a.resume()
  assert.strictEqual(a.suspended, false)
  assert.strictEqual(server.suspended, false)
  assert.deepStrictEqual(events, ['suspend', 'resume'])
  // queries work again and the server is found again
  await a.findNode(a.id || RS.hash(Buffer.from('x'))).finished()
  assert.ok((await collect(b.findPeer(server.publicKey))).length > 0)

  // online / degraded come from the engine's network health
  assert.strictEqual(a.online, true)
  assert.strictEqual(a.degraded, false)

  // refresh() sends a background query (requests go out)
  const before = a.io._tid
  a.refresh()
  await until(() => a.io._tid !== before)
  await server.close()
})

// The same script on JS hyperdht and on ours gives the same trace: suspend/resume logs and events
// in hyperdht's order, and calls made while suspended run and time out as dht-rpc's do on its
// closed socket (a ping REQUEST_TIMEOUT, a lookup no replies, immutableGet null), while a connect
// already under way fails (PEER_CONNECTION_FAILED) instead of closing quietly.
test('suspend({log}) / resume({log}) and calls made meanwhile, as on JS hyperdht', { timeout: 60000 }, async (t) => {
  async function run (Impl) {
    const net = await network(t, [JS], 3)
    const a = net.client(Impl)
    const other = net.client(JS)
    await Promise.all([a.fullyBootstrapped(), other.fullyBootstrapped()])
    const server = a.createServer()
    await server.listen()
    // the remote server holds the connect's handshake (an async firewall) until a has suspended
    let admit = null
    let reached = null
    const held = new Promise((resolve) => { admit = resolve })
    const handshaking = new Promise((resolve) => { reached = resolve })
    const remote = other.createServer({ firewall: () => { reached(); return held.then(() => false) } })
    await remote.listen()
    const trace = []
    const log = (msg) => trace.push('log ' + msg)
    for (const e of ['suspend', 'resume', 'wakeup', 'ephemeral', 'persistent']) a.on(e, () => trace.push('event ' + e))
    trace.push('server.suspend')
    await server.suspend({ log })
    await server.resume()
    const inFlight = a.connect(remote.publicKey)
    const connectDone = new Promise((resolve) => {
      inFlight.once('open', () => resolve('connect open'))
      inFlight.once('error', (err) => resolve('connect ' + err.code))
      inFlight.once('close', () => resolve('connect closed without an error'))
    })
    await handshaking
    trace.push('dht.suspend')
    await a.suspend({ log })
    admit()
    trace.push(await connectDone)
    const calls = await Promise.all([
      a.ping(net.nodes[1].address()).then(() => 'pong', (err) => 'ping ' + err.code),
      collect(a.lookup(RS.hash(Buffer.from('while suspended')))).then((r) => 'lookup replies ' + r.length, (err) => 'lookup ' + err.code),
      a.immutableGet(RS.hash(Buffer.from('nothing'))).then((v) => 'immutableGet ' + v, (err) => 'immutableGet ' + err.code)
    ])
    trace.push(...calls)
    trace.push('dht.resume')
    await a.resume({ log })
    return trace
  }
  const [js, rs] = await Promise.all([run(JS), run(RS)])
  assert.ok(js.includes('ping REQUEST_TIMEOUT') && js.includes('connect PEER_CONNECTION_FAILED'), js.join('\n'))
  assert.deepStrictEqual(rs, js)
})

test('port: [start, end] tries the range in order; io.portRange like dht-rpc', async (t) => {
  const blocker = dgram.createSocket('udp4')
  await new Promise((resolve) => blocker.bind(0, '127.0.0.1', resolve))
  t.after(() => blocker.close())
  const start = blocker.address().port
  const a = new RS({ bootstrap: [], host: '127.0.0.1', port: [start, start + 10] })
  t.after(() => a.destroy())
  await a.fullyBootstrapped()
  assert.deepStrictEqual(a.io.portRange, [start, start + 10])
  const p = a.localAddress().port // address() is the client socket while firewalled
  assert.ok(p > start && p < start + 10, `bound ${p} in (${start}, ${start + 10})`)

  const b = new RS({ bootstrap: [], host: '127.0.0.1', port: 40000 })
  assert.deepStrictEqual(b.io.portRange, [40000, 40005])
  await b.destroy()
})

test('bootstrap: "suggestedIP@host:port" uses the IP, port numbers mean 127.0.0.1, options.nodes fill the table', async (t) => {
  const boot = await bootstrapper(RS)
  t.after(() => boot.destroy())
  const port = boot.address().port

  const a = new RS({ bootstrap: ['127.0.0.1@invalid.invalid:' + port], quickFirewall: false, ephemeral: false, host: '127.0.0.1', port: 0 })
  t.after(() => a.destroy())
  await a.fullyBootstrapped()
  assert.deepStrictEqual(boot.toArray(), [{ host: '127.0.0.1', port: a.address().port }])

  const b = new RS({ bootstrap: [port], host: '127.0.0.1', port: 0 })
  t.after(() => b.destroy())
  await b.fullyBootstrapped()
  assert.ok(b.toArray().some((n) => n.port === port))

  assert.throws(() => new RS({ bootstrap: ['localhost'] }), /Bootstrap node format is host:port/)

  const lone = new RS({ bootstrap: [], host: '127.0.0.1', port: 0 })
  t.after(() => lone.destroy())
  await lone.fullyBootstrapped()
  const c2 = new RS({ nodes: [{ host: '127.0.0.1', port: lone.address().port }], bootstrap: [], host: '127.0.0.1', port: 0 })
  t.after(() => c2.destroy())
  await c2.fullyBootstrapped()
  assert.deepStrictEqual(c2.toArray(), [{ host: '127.0.0.1', port: lone.address().port }])
})

test('address shapes match dht-rpc: address() has family, remoteAddress()/localAddress() do not', async (t) => {
  const net = await network(t, [RS], 2)
  const n = net.nodes[1]
  const addr = n.address()
  assert.deepStrictEqual(Object.keys(addr).sort(), ['family', 'host', 'port'])
  assert.deepStrictEqual(n.remoteAddress(), { host: '127.0.0.1', port: addr.port })
  const local = n.localAddress()
  assert.deepStrictEqual(Object.keys(local).sort(), ['host', 'port'])
  assert.strictEqual(local.port, addr.port)
  const lone = new RS({ bootstrap: [], host: '127.0.0.1', port: 0 })
  await lone.fullyBootstrapped()
  assert.strictEqual(lone.remoteAddress(), null, 'no NAT samples yet')
  await lone.destroy()
})

test('server.target is hash(publicKey); announce accepts null relay addresses', async (t) => {
  const net = await network(t, [RS, JS], 4)
  const a = net.client(RS)
  const b = net.client(JS)
  await Promise.all([a.fullyBootstrapped(), b.fullyBootstrapped()])
  const server = a.createServer()
  assert.strictEqual(server.target, null)
  await server.listen()
  assert.ok(server.target.equals(RS.hash(server.publicKey)))
  const found = await collect(b.lookup(server.target))
  assert.ok(found.some((r) => r.peers.some((p) => p.publicKey.equals(server.publicKey))))
  await server.close()

  const kp = RS.keyPair()
  const topic = RS.hash(Buffer.from('null relays'))
  await a.announce(topic, kp, null).finished()
  await a.announce(topic, kp).finished()
  const peers = await collect(b.lookup(topic))
  assert.ok(peers.some((r) => r.peers.some((p) => p.publicKey.equals(kp.publicKey) && p.relayAddresses.length === 0)))
})

async function collect (q) {
  const out = []
  for await (const r of q) out.push(r)
  return out
}

async function until (fn, ms = 5000) {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in ' + ms + ' ms')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('onlyClosestNodes asks just the given nodes; mutableGet refresh re-puts the latest record', async (t) => {
  const net = await network(t, [RS, JS], 6)
  const a = net.client(RS)
  await a.fullyBootstrapped()
  const [n1, n2] = [net.nodes[1], net.nodes[2]].map((n) => ({ host: '127.0.0.1', port: n.address().port }))
  const kp = RS.keyPair()
  const value = Buffer.from('only on one node')
  const put = await a.mutablePut(kp, value, { nodes: [n1], onlyClosestNodes: true, force: true })
  assert.deepStrictEqual(put.closestNodes.map((n) => n.port), [n1.port])

  const onlyN2 = () => a.mutableGet(kp.publicKey, { nodes: [n2], onlyClosestNodes: true, latest: false })
  assert.strictEqual(await onlyN2(), null, 'n2 was never asked to store it')

  let refreshed = null
  const got = await a.mutableGet(kp.publicKey, { refresh: (r) => { refreshed = r; return true } })
  assert.ok(got.value.equals(value))
  assert.ok(refreshed && refreshed.value.equals(value))
  const fromN2 = await onlyN2()
  assert.ok(fromN2 && fromN2.value.equals(value), 'the refresh commit stored it on n2')
  assert.strictEqual(fromN2.from.port, n2.port)
})

test('destroy() resolves with the port free: a node restarted on it at once binds it (operators restart bootstrappers in place)', async (t) => {
  const seen = {}
  for (const [kind, Impl] of [['rs', RS], ['js', JS]]) {
    const out = []
    const make = {
      bootstrapper: (port) => Impl.bootstrapper(port, '127.0.0.1', { host: '127.0.0.1' }),
      'anyPort: false': (port) => new Impl({ bootstrap: [], host: '127.0.0.1', port, anyPort: false, ephemeral: false, firewalled: false }),
      // with anyPort the restart would silently take port + 1 (a new node id for a persistent node)
      'default anyPort': (port) => new Impl({ bootstrap: [], host: '127.0.0.1', port, ephemeral: false, firewalled: false })
    }
    for (const [name, mk] of Object.entries(make)) {
      const port = await freePort()
      const first = mk(port)
      await first.ready()
      // a connection on the socket too (the socket then also carries UDX)
      const server = first.createServer(() => {})
      await server.listen()
      await first.destroy()
      const again = mk(port)
      const bound = await again.ready().then(() => again.address().port === port, (e) => e.code)
      await again.destroy()
      out.push(`${name}: ${bound}`)
    }
    seen[kind] = out
  }
  assert.deepStrictEqual(seen.rs, seen.js)
  assert.deepStrictEqual(seen.rs, ['bootstrapper: true', 'anyPort: false: true', 'default anyPort: true'])
})

test('bootstrapper(port, host) takes the port as a string too (from the environment): binds and advertises that port', async () => {
  const port = await freePort()
  const boot = RS.bootstrapper(String(port), '127.0.0.1', { host: '127.0.0.1' })
  try {
    await boot.ready()
    assert.deepStrictEqual([boot.address().port, boot.remoteAddress()], [port, { host: '127.0.0.1', port }])
  } finally {
    await boot.destroy()
  }
})

nothingKeepsNodeAlive(test)
