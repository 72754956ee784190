'use strict'
// dht.stats (hyperdht 6.34's shape, counted in the engine) and dht.metrics() (Prometheus text
// 0.0.4) through the public API on a local mixed testnet, next to JS hyperdht doing the same
// things (npm test runs this inside a loopback-only netns; every NAT looks CONSISTENT there).
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('events')
const { RS, JS, bootstrapper, persistentNode, cleanup, echoServer, nothingKeepsNodeAlive } = require('./helpers')

/** A JS bootstrapper plus 3 JS and 3 Rust persistent nodes; `node(Impl, opts)` adds one. */
async function net (t) {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(JS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  const persistent = []
  for (let i = 0; i < 6; i++) persistent.push(persistentNode(i % 2 ? RS : JS, bootstrap))
  nodes.push(...persistent)
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const node = async (Impl, opts = {}) => {
    const n = new Impl({ bootstrap, host: '127.0.0.1', port: 0, ...opts })
    nodes.push(n)
    await n.fullyBootstrapped()
    return n
  }
  return { node, persistent }
}

/** Key paths and leaf types of an object: `{ a: { b: 1 } }` -> ['a.b:number']. */
function shape (o, prefix = '') {
  const out = []
  for (const k of Object.keys(o)) {
    const v = o[k]
    if (v !== null && typeof v === 'object') out.push(...shape(v, prefix + k + '.'))
    else out.push(prefix + k + ':' + typeof v)
  }
  return out
}

/** A plain copy: `stats` is live in both implementations (counters change under a kept reference). */
function snap (n) {
  return JSON.parse(JSON.stringify(n.stats))
}

function leaves (o) {
  return Object.values(o).flatMap((v) => (v !== null && typeof v === 'object' ? leaves(v) : [v]))
}

// Prometheus text format 0.0.4, strictly: HELP then TYPE then the family's samples; every sample
// `name{labels} value`; counters end in _total; no series twice.
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/

function parseLabels (text, line) {
  const labels = {}
  let rest = text
  while (rest.length) {
    const m = LABEL.exec(rest)
    assert.ok(m, 'label syntax: ' + line)
    assert.ok(!(m[1] in labels), 'label once: ' + line)
    labels[m[1]] = m[2]
    rest = rest.slice(m[0].length)
  }
  return labels
}

function parseMetrics (text) {
  assert.ok(text.endsWith('\n'), 'ends with a newline')
  const families = new Map()
  const series = new Set()
  let current = null
  for (const line of text.slice(0, -1).split('\n')) {
    let m
    if ((m = /^# HELP (\S+) (.+)$/.exec(line))) {
      assert.match(m[1], NAME)
      assert.ok(!families.has(m[1]), 'one HELP per metric: ' + m[1])
      current = { name: m[1], help: m[2], type: null, samples: [] }
      families.set(m[1], current)
      continue
    }
    if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.ok(current && current.name === m[1] && current.type === null && current.samples.length === 0, 'TYPE right after HELP: ' + line)
      current.type = m[2]
      continue
    }
    assert.ok(!line.startsWith('#'), 'no other comments: ' + line)
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(m, 'sample line `name{labels} value`: ' + JSON.stringify(line))
    assert.ok(current && current.type !== null && m[1] === current.name, 'sample under its HELP/TYPE: ' + line)
    const labels = parseLabels(m[2] || '', line)
    const value = Number(m[3])
    assert.ok(Number.isFinite(value) && value >= 0 && Number.isInteger(value), 'value: ' + line)
    const key = m[1] + JSON.stringify(Object.entries(labels).sort())
    assert.ok(!series.has(key), 'no duplicate series: ' + line)
    series.add(key)
    current.samples.push({ labels, value })
  }
  for (const f of families.values()) {
    assert.ok(f.name.startsWith('hyperdht_'), 'prefix: ' + f.name)
    assert.ok(f.type === 'counter' || f.type === 'gauge', 'type: ' + f.name)
    assert.strictEqual(f.name.endsWith('_total'), f.type === 'counter', 'counters (only) end in _total: ' + f.name)
    assert.ok(f.samples.length > 0, 'samples: ' + f.name)
  }
  return families
}

/** The value of one series (labels must match exactly). */
function sample (families, name, labels = {}) {
  const f = families.get('hyperdht_' + name)
  assert.ok(f, 'metric ' + name)
  const s = f.samples.find((x) => JSON.stringify(Object.entries(x.labels).sort()) === JSON.stringify(Object.entries(labels).sort()))
  assert.ok(s, `series ${name}${JSON.stringify(labels)}`)
  return s.value
}

/** Polls `f` (bounded): server-side counts land when the server's stream connects. */
async function until (what, f) {
  const deadline = Date.now() + 10000
  while (!f()) {
    assert.ok(Date.now() < deadline, 'timed out waiting for ' + what)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function drain (q) {
  let replies = 0
  for await (const _ of q) replies++ // eslint-disable-line no-unused-vars
  return replies
}

async function echoOnce (conn) {
  conn.on('error', () => {})
  await once(conn, 'open')
  conn.write(Buffer.from('hi'))
  const [d] = await once(conn, 'data')
  assert.strictEqual(d.toString(), 'hi')
}

test('stats has JS hyperdht 6.34\'s shape (plus io), whole numbers, also after destroy', async (t) => {
  const { node } = await net(t)
  const rs = await node(RS)
  const js = await node(JS)
  const want = shape(js.stats)
  const got = shape(rs.stats)
  assert.strictEqual(rs.stats, rs.stats, 'one stats object, as in JS')
  assert.strictEqual(js.stats, js.stats)
  assert.deepStrictEqual(got.filter((k) => !k.startsWith('io.') && !k.startsWith('connections.')), want, 'same keys, same order, same leaf types')
  // our additions come after JS's keys: `io` and `connections` (by path)
  assert.deepStrictEqual(Object.keys(rs.stats), [...Object.keys(js.stats), 'io', 'connections'])
  assert.deepStrictEqual(Object.keys(rs.stats.connections), ['clientOpened', 'clientFailed', 'serverOpened', 'serverFailed', 'relayUpgrades'])
  assert.deepStrictEqual(Object.keys(rs.stats.io), ['received', 'dropped', 'requests', 'responses', 'sent', 'timeouts', 'datagramsIn', 'bytesIn', 'datagramsOut', 'bytesOut'])
  for (const v of leaves(rs.stats)) assert.ok(Number.isInteger(v) && v >= 0, 'counter value ' + v)
  // bootstrapping ran queries and requests, like JS
  for (const s of [rs.stats, js.stats]) {
    assert.ok(s.queries.total >= 1, 'the bootstrap query counts')
    assert.ok(s.requests.total >= 1 && s.requests.responses >= 1)
    assert.ok(s.commands.findNode.tx >= 1 && s.commands.findNode.rx >= 1)
  }
  assert.ok(rs.stats.io.datagramsOut >= rs.stats.io.sent, 'every frame went through a socket')
  assert.ok(rs.stats.io.bytesIn > 0 && rs.stats.io.bytesOut > 0)
  // no relays, no pooled sockets here (and none in the engine yet): zeros, as in JS
  assert.deepStrictEqual(rs.stats.relaying, js.stats.relaying)
  assert.deepStrictEqual(rs.stats.socketPool, { socketsAdded: 0, socketsRemoved: 0 })
  // a kept reference keeps counting, in JS (counters bumped in place) and here (getters)
  for (const n of [rs, js]) {
    const queries = n.stats.queries
    const total = queries.total
    await drain(n.findNode(Buffer.alloc(32, 1)))
    assert.strictEqual(queries.total, total + 1, 'live queries.total')
  }
  await rs.destroy()
  const after = snap(rs)
  assert.deepStrictEqual(shape(after), got, 'readable after destroy')
  assert.strictEqual(after.queries.active, 0)
  assert.strictEqual(after.requests.active, 0)
})

test('a findNode query moves queries and commands.findNode as in JS hyperdht', async (t) => {
  const { node } = await net(t)
  for (const Impl of [RS, JS]) {
    const name = Impl === RS ? 'rust' : 'js'
    const n = await node(Impl)
    const before = snap(n)
    // the engine starts a query on its own thread: counted by the time a reply arrives
    let replies = 0
    for await (const _ of n.findNode(Buffer.alloc(32, 7))) { // eslint-disable-line no-unused-vars
      if (replies++ === 0) assert.strictEqual(n.stats.queries.total, before.queries.total + 1, name + ' total while running')
    }
    assert.ok(replies >= 1, 'replies')
    const after = snap(n)
    assert.strictEqual(after.queries.total, before.queries.total + 1, name)
    assert.strictEqual(after.queries.active, before.queries.active, name + ' active back after the query')
    const tx = after.commands.findNode.tx - before.commands.findNode.tx
    const rx = after.commands.findNode.rx - before.commands.findNode.rx
    assert.ok(tx >= replies && rx >= replies, `${name}: ${tx} sent, ${rx} answered, ${replies} replies`)
    assert.ok(after.requests.total - before.requests.total >= tx, name + ' requests.total')
    assert.ok(after.requests.responses - before.requests.responses >= rx, name + ' requests.responses')
    assert.deepStrictEqual(after.commands.ping, before.commands.ping, name + ' no pings for a query')
  }
  // a ping is one PING request and its reply (no other traffic on a fresh ephemeral node
  // touches commands.ping)
  const n = await node(RS)
  const before = snap(n)
  const m0 = parseMetrics(n.metrics())
  const to = n.toArray()[0]
  await n.ping(to)
  const after = snap(n)
  assert.strictEqual(after.commands.ping.tx, before.commands.ping.tx + 1)
  assert.strictEqual(after.commands.ping.rx, before.commands.ping.rx + 1)
  const m1 = parseMetrics(n.metrics())
  assert.strictEqual(sample(m1, 'requests_total', { command: 'ping', direction: 'out' }) - sample(m0, 'requests_total', { command: 'ping', direction: 'out' }), 1)
  assert.strictEqual(sample(m1, 'responses_total', { command: 'ping' }) - sample(m0, 'responses_total', { command: 'ping' }), 1)
})

test('holepunch, LAN and failed connects: punches on both ends, connections by side and path in metrics', async (t) => {
  const { node } = await net(t)
  // both stay firewalled, so without the LAN shortcut the only way is a holepunch
  const opts = { quickFirewall: false, ephemeral: true }
  const sNode = await node(RS, opts)
  const cNode = await node(RS, opts)
  const jsClient = await node(JS, opts)
  assert.ok(sNode.firewalled && cNode.firewalled && jsClient.firewalled)
  const server = echoServer(sNode)
  await server.listen(RS.keyPair())
  t.after(() => server.close())
  const s0 = snap(sNode)
  const ms0 = parseMetrics(sNode.metrics())
  assert.strictEqual(s0.punches.consistent, 0)
  assert.strictEqual(sample(ms0, 'connections_open'), 0)

  // Rust client -> Rust server, punched
  const c1 = cNode.connect(server.publicKey, { localConnection: false, fastOpen: false })
  await echoOnce(c1)
  assert.strictEqual(cNode.stats.punches.consistent, 1, 'client punched once')
  assert.strictEqual(cNode.stats.punches.open, 0)
  await until('server punched back', () => sNode.stats.punches.consistent === 1)
  let mc = parseMetrics(cNode.metrics())
  assert.strictEqual(sample(mc, 'connections_opened_total', { side: 'client', path: 'holepunched' }), 1)
  assert.strictEqual(sample(mc, 'connections_open'), 1)
  assert.strictEqual(sample(mc, 'punches_total', { kind: 'consistent' }), 1)
  assert.ok(sample(mc, 'requests_total', { command: 'peer_holepunch', direction: 'out' }) >= 1)
  await until('server counts the connection', () => sample(parseMetrics(sNode.metrics()), 'connections_opened_total', { side: 'server', path: 'holepunched' }) === 1)
  let ms = parseMetrics(sNode.metrics())
  assert.strictEqual(sample(ms, 'connections_open'), 1)
  assert.ok(sample(ms, 'requests_total', { command: 'peer_handshake', direction: 'in' }) >= 1, 'the handshake reached the server')

  // JS client -> Rust server, punched: JS counts the punch as ours does
  const c2 = jsClient.connect(server.publicKey, { localConnection: false, fastOpen: false })
  await echoOnce(c2)
  assert.strictEqual(jsClient.stats.punches.consistent, 1, 'JS client punched once')
  await until('server punched back again', () => sNode.stats.punches.consistent === 2)
  await until('server counts the second connection', () => sample(parseMetrics(sNode.metrics()), 'connections_opened_total', { side: 'server', path: 'holepunched' }) === 2)

  // Rust client -> Rust server with the LAN shortcut (same public host): no punch
  const c3 = cNode.connect(server.publicKey)
  await echoOnce(c3)
  mc = parseMetrics(cNode.metrics())
  assert.strictEqual(sample(mc, 'connections_opened_total', { side: 'client', path: 'lan' }), 1)
  assert.strictEqual(cNode.stats.punches.consistent, 1, 'no punch for a LAN connection')
  await until('server counts the LAN connection', () => sample(parseMetrics(sNode.metrics()), 'connections_opened_total', { side: 'server', path: 'lan' }) === 1)
  ms = parseMetrics(sNode.metrics())
  assert.strictEqual(sample(ms, 'connections_open'), 3)
  assert.strictEqual(sample(ms, 'connections_failed_total', { side: 'server', path: 'holepunched' }), 0)

  // nobody listens on this key: fails before a path is chosen
  const c4 = cNode.connect(RS.keyPair().publicKey)
  const [err] = await once(c4, 'error')
  assert.strictEqual(err.code, 'PEER_NOT_FOUND')
  mc = parseMetrics(cNode.metrics())
  assert.strictEqual(sample(mc, 'connections_failed_total', { side: 'client', path: 'none' }), 1)
  assert.strictEqual(sample(mc, 'connections_opened_total', { side: 'client', path: 'holepunched' }), 1)

  // closing lowers the open gauge on both ends
  for (const c of [c1, c2, c3]) c.destroy()
  await until('client connections closed', () => sample(parseMetrics(cNode.metrics()), 'connections_open') === 0)
  await until('server connections closed', () => sample(parseMetrics(sNode.metrics()), 'connections_open') === 0)
})

test('a reachable (OPEN) server is reached directly: punches.open on Rust and JS clients', async (t) => {
  const { node } = await net(t)
  const sNode = await node(RS, { firewalled: false, ephemeral: true })
  const server = echoServer(sNode)
  await server.listen(RS.keyPair())
  t.after(() => server.close())
  for (const Impl of [RS, JS]) {
    const name = Impl === RS ? 'rust' : 'js'
    const c = await node(Impl, { quickFirewall: false, ephemeral: true })
    const conn = c.connect(server.publicKey)
    await echoOnce(conn)
    assert.strictEqual(c.stats.punches.open, 1, name + ' client: punches.open (lib/connect.js)')
    assert.strictEqual(c.stats.punches.consistent, 0, name + ' client: no punch')
    if (Impl === RS) assert.strictEqual(sample(parseMetrics(c.metrics()), 'connections_opened_total', { side: 'client', path: 'direct' }), 1)
    conn.destroy()
  }
  await until('server counts both as direct', () => sample(parseMetrics(sNode.metrics()), 'connections_opened_total', { side: 'server', path: 'direct' }) === 2)
  assert.strictEqual(sNode.stats.punches.consistent, 0)
})

test('metrics() is Prometheus text 0.0.4: parses, counters grow, records and bytes are real, const labels', async (t) => {
  const { node, persistent } = await net(t)
  const n = await node(RS)
  const text = n.metrics()
  const m0 = parseMetrics(text)
  const names = [...m0.keys()]
  for (const want of ['queries_active', 'queries_total', 'requests_active', 'requests_total', 'responses_total', 'request_timeouts_total',
    'request_retries_total', 'routing_table_nodes', 'records_stored', 'connections_open', 'connections_opened_total',
    'connections_failed_total', 'punches_total', 'relaying_total', 'datagrams_total', 'bytes_total']) {
    assert.ok(names.includes('hyperdht_' + want), 'has ' + want)
  }
  assert.strictEqual(m0.get('hyperdht_requests_total').samples.length, 2 * (5 + 11 + 1), 'every command both ways, always')
  assert.strictEqual(m0.get('hyperdht_connections_opened_total').samples.length, 2 * 5, 'every side and path, always')
  assert.ok(sample(m0, 'routing_table_nodes') >= 1)

  // an immutable value lands on the Rust persistent nodes' stores; traffic moves the byte counters
  const value = Buffer.from('metrics test value')
  const stored = (ns) => ns.filter((p) => p instanceof RS).reduce((sum, p) => sum + sample(parseMetrics(p.metrics()), 'records_stored', { kind: 'immutable' }), 0)
  const storedBefore = stored(persistent)
  await n.immutablePut(value)
  assert.ok(stored(persistent) > storedBefore, 'Rust storing nodes count the immutable value')
  const m1 = parseMetrics(n.metrics())
  assert.ok(sample(m1, 'requests_total', { command: 'immutable_put', direction: 'out' }) >= 1)
  assert.ok(sample(m1, 'responses_total', { command: 'immutable_put' }) >= 1)
  assert.ok(sample(m1, 'queries_total') > sample(m0, 'queries_total'))
  for (const dir of ['in', 'out']) {
    assert.ok(sample(m1, 'bytes_total', { direction: dir }) > sample(m0, 'bytes_total', { direction: dir }), 'bytes ' + dir)
    assert.ok(sample(m1, 'datagrams_total', { direction: dir }) > sample(m0, 'datagrams_total', { direction: dir }), 'datagrams ' + dir)
  }
  // counters never go down between scrapes
  for (const [name, f] of m0) {
    if (f.type !== 'counter') continue
    for (const s of f.samples) {
      const later = m1.get(name).samples.find((x) => JSON.stringify(x.labels) === JSON.stringify(s.labels))
      assert.ok(later && later.value >= s.value, name + JSON.stringify(s.labels))
    }
  }
  // constant labels go on every sample (several nodes in one process)
  const labelled = parseMetrics(n.metrics({ labels: { node: 'a"b\\c' } }))
  for (const f of labelled.values()) {
    for (const s of f.samples) assert.strictEqual(s.labels.node, 'a\\"b\\\\c', 'escaped const label')
  }
})

nothingKeepsNodeAlive(test)
