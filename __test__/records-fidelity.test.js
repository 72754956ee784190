'use strict'
// Reply, query and record details compared with JS hyperdht 6.34 through the public API, a Rust
// node and a JS node doing the same calls on one mixed network: dht-rpc reply shapes (closerNodes
// null / {id, host, port}, an own enumerable property), what in-flight requests and pending
// ready() reject with when the node is destroyed, compact-encoding's checks on `seq`, dht-rpc
// Query fields, and closestReplies kept while a query runs.
const test = require('node:test')
const assert = require('node:assert')
const dgram = require('dgram')
const peer = require('dht-rpc/lib/peer')
const { RS, JS, bootstrapper, persistentNode, cleanup, nothingKeepsNodeAlive } = require('./helpers')

const BOTH = [['rs', RS], ['js', JS]]
// a dht-rpc reply's own enumerable fields, in order (dht-rpc lib/io.js)
const FIELDS = ['tid', 'rtt', 'from', 'to', 'token', 'closerNodes', 'error', 'value']
const FIND_NODE = 2 // dht-rpc internal command, also a custom command number here

/** A JS bootstrapper, `size` persistent nodes alternating Rust and JS, and one client of each kind. */
async function network (t, size = 4) {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(JS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < size; i++) nodes.push(persistentNode(i % 2 ? JS : RS, bootstrap))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const clients = {}
  for (const [kind, Impl] of BOTH) {
    clients[kind] = new Impl({ bootstrap, host: '127.0.0.1', port: 0 })
    nodes.push(clients[kind])
  }
  await Promise.all(Object.values(clients).map((n) => n.fullyBootstrapped()))
  return { nodes, bootstrap, clients, servers: nodes.slice(1, size + 1) }
}

function addr (node) {
  return { host: '127.0.0.1', port: node.address().port }
}

/** A UDP socket that never answers (requests to it stay in flight). */
async function silentSocket (t) {
  const sock = dgram.createSocket('udp4')
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => sock.close(resolve)))
  return { host: '127.0.0.1', port: sock.address().port }
}

function errOf (err) {
  return { name: err.name, code: err.code, message: err.message }
}

function settle (p) {
  return p.then((value) => ({ value }), (err) => ({ err: errOf(err) }))
}

// what a closerNodes list looks like: null, or its entries' keys and whether each id is
// dht-rpc's peer.id(host, port) (true), null (null) or something else (false)
function closerShape (list) {
  if (list === null) return null
  return list.map((n) => ({
    keys: Object.keys(n).join(),
    id: n.id === null ? null : Buffer.isBuffer(n.id) && n.id.equals(peer.id(n.host, n.port))
  }))
}

function uniq (list) {
  return [...new Set(list.map((x) => JSON.stringify(x)))].map((s) => JSON.parse(s))
}

test('replies: closerNodes is null without closer nodes, entries are {id, host, port} (id set in queries, null in requests), an own enumerable field', async (t) => {
  const net = await network(t)
  const target = Buffer.alloc(32, 7)
  const out = {}
  for (const [kind, client] of Object.entries(net.clients)) {
    const server = addr(net.servers[0])
    const pong = await client.ping(server)
    const q = client.findNode(target)
    const replies = []
    for await (const r of q) replies.push(r)
    const withCloser = replies.find((r) => r.closerNodes !== null && r.closerNodes.length > 0)
    assert.ok(withCloser, `${kind}: a findNode reply with closer nodes`)
    const req = await client.request({ target, command: FIND_NODE }, server)
    const noTarget = await client.request({ command: 42 }, server)
    out[kind] = {
      ping: { keys: Object.keys(pong), closerNodes: pong.closerNodes },
      query: {
        keys: Object.keys(withCloser),
        closer: uniq(closerShape(withCloser.closerNodes)),
        spread: Object.keys({ ...withCloser }),
        json: Object.keys(JSON.parse(JSON.stringify(withCloser))),
        spreadCloser: uniq(closerShape({ ...withCloser }.closerNodes))
      },
      closest: uniq(q.closestReplies.flatMap((r) => closerShape(r.closerNodes) || [])),
      request: { keys: Object.keys(req), closer: uniq(closerShape(req.closerNodes)) },
      unknownNoTarget: { error: noTarget.error, closerNodes: noTarget.closerNodes }
    }
    // assignable, as a plain field
    withCloser.closerNodes = null
    assert.strictEqual(withCloser.closerNodes, null)
  }
  assert.deepStrictEqual(out.rs, out.js)
  assert.deepStrictEqual(out.js.ping, { keys: FIELDS, closerNodes: null })
  assert.deepStrictEqual(out.js.query.keys, FIELDS)
  assert.deepStrictEqual(out.js.query.json, FIELDS)
  assert.deepStrictEqual(out.js.query.closer, [{ keys: 'id,host,port', id: true }])
  assert.deepStrictEqual(out.js.request.closer, [{ keys: 'id,host,port', id: null }])
  assert.deepStrictEqual(out.js.unknownNoTarget, { error: JS.ERROR_UNKNOWN_COMMAND, closerNodes: null })
})

test('destroy(): requests in flight reject with REQUEST_DESTROYED, later ones with Error("Node destroyed")', async (t) => {
  const net = await network(t, 2)
  const silent = await silentSocket(t)
  const out = {}
  for (const [kind, client] of Object.entries(net.clients)) {
    // a live node that answers after 2 s, and one that never does
    const live = settle(client.delayedPing(addr(net.servers[0]), 2000))
    const dead = settle(client.ping(silent))
    const request = settle(client.request({ command: 42, target: Buffer.alloc(32) }, silent))
    await client.destroy()
    const after = await settle(client.ping(silent))
    out[kind] = { live: await live, dead: await dead, request: await request, after: { name: after.err.name, message: after.err.message } }
  }
  const destroyed = { err: { name: 'DHTError', code: 'REQUEST_DESTROYED', message: 'REQUEST_DESTROYED: Request destroyed' } }
  assert.deepStrictEqual(out.rs, out.js)
  assert.deepStrictEqual(out.js, { live: destroyed, dead: destroyed, request: destroyed, after: { name: 'Error', message: 'Node destroyed' } })
})

test('ready() and fullyBootstrapped() of a node destroyed before it is ready reject with Error("Node was destroyed")', async (t) => {
  const net = await network(t, 2)
  const out = {}
  for (const [kind, Impl] of BOTH) {
    out[kind] = []
    for (const force of [false, true]) {
      const dht = new Impl({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 })
      const ready = settle(dht.ready())
      const fully = settle(dht.fullyBootstrapped())
      await dht.destroy({ force })
      out[kind].push({ ready: await ready, fully: await fully })
    }
  }
  const err = { err: { name: 'Error', code: undefined, message: 'Node was destroyed' } }
  assert.deepStrictEqual(out.rs, out.js)
  assert.deepStrictEqual(out.js, [{ ready: err, fully: err }, { ready: err, fully: err }])
})

test("mutablePut / mutableGet seq: compact-encoding's uint range is rejected (the promise), what it coerces is taken", async (t) => {
  const net = await network(t)
  const out = {}
  for (const [kind, client] of Object.entries(net.clients)) {
    const Impl = client.constructor
    const res = {}
    let i = kind === 'rs' ? 40 : 80 // each side its own records
    for (const seq of [-1, 2 ** 53 + 10, '3', 1.5, 2 ** 53 - 1]) {
      const kp = Impl.keyPair(Buffer.alloc(32, i++))
      let p
      assert.doesNotThrow(() => { p = client.mutablePut(kp, Buffer.from('x'), { seq }) }, 'rejects, does not throw')
      const put = await settle(p)
      const get = await settle(client.mutableGet(kp.publicKey))
      res[String(seq)] = { put: put.err || { seq: put.value.seq }, get: get.err || (get.value && { seq: get.value.seq }) }
    }
    const kp = Impl.keyPair(Buffer.alloc(32, i++))
    await client.mutablePut(kp, Buffer.from('y'), { seq: 4 })
    for (const seq of [-1, '4', '5', 3.5, 4.5]) {
      const get = await settle(client.mutableGet(kp.publicKey, { seq }))
      res['get ' + seq] = get.err || (get.value && { seq: get.value.seq })
    }
    out[kind] = res
  }
  assert.deepStrictEqual(out.rs, out.js)
  const range = { name: 'Error', code: undefined, message: 'uint must be between 0 and 9007199254740991, use biguint' }
  assert.deepStrictEqual(out.js, {
    '-1': { put: range, get: null },
    9007199254741002: { put: range, get: null },
    3: { put: { seq: '3' }, get: { seq: 3 } },
    1.5: { put: { seq: 1.5 }, get: { seq: 1 } },
    9007199254740991: { put: { seq: 2 ** 53 - 1 }, get: { seq: 2 ** 53 - 1 } },
    'get -1': range,
    'get 4': { seq: 4 },
    'get 5': null,
    'get 3.5': { seq: 4 },
    'get 4.5': null
  })
})

test("queries carry dht-rpc's Query fields: k, internal, command, value, concurrency, force, retries, map", async (t) => {
  const net = await network(t, 2)
  const target = Buffer.alloc(32, 3)
  const map = (r) => r
  // dht-rpc's own queries; hyperdht's (lookup, ...) map with mapLookup & co, which decode raw
  // replies: here that happens in Rust, so `map` is not compared for them
  const DHT_RPC_QUERIES = new Set(['findNode', 'findNodeMap', 'query', 'queryNoValue'])
  const out = {}
  for (const [kind, client] of Object.entries(net.clients)) {
    const kp = client.constructor.keyPair()
    const queries = {
      findNode: client.findNode(target),
      findNodeMap: client.findNode(target, { map, concurrency: 3, force: true }),
      query: client.query({ target, command: 42, value: Buffer.from('v') }, { commit: true }),
      queryNoValue: client.query({ target, command: 43 }),
      lookup: client.lookup(target, { concurrency: 2 }),
      findPeer: client.findPeer(kp.publicKey),
      announce: client.announce(target, kp),
      unannounce: client.lookupAndUnannounce(target, kp)
    }
    out[kind] = {}
    for (const [name, q] of Object.entries(queries)) {
      q.on('error', () => {})
      out[kind][name] = {
        k: q.k,
        internal: q.internal,
        command: q.command,
        value: q.value && q.value.toString(),
        concurrency: q.concurrency,
        force: q.force,
        retries: q.retries,
        // hyperdht's own maps (mapLookup, ...) decode raw replies, which happens in Rust here
        map: DHT_RPC_QUERIES.has(name) ? (q.map === map ? 'user' : typeof q.map) : undefined
      }
      q.destroy()
    }
  }
  assert.deepStrictEqual(out.rs, out.js)
  const f = (o) => ({ k: 20, internal: false, value: null, concurrency: 10, force: false, retries: 5, map: undefined, ...o })
  assert.deepStrictEqual(out.js, {
    findNode: f({ internal: true, command: 2, map: 'function' }),
    findNodeMap: f({ internal: true, command: 2, concurrency: 3, force: true, map: 'user' }),
    query: f({ command: 42, value: 'v', map: 'function' }),
    queryNoValue: f({ command: 43, map: 'function' }),
    lookup: f({ command: 3, concurrency: 2 }),
    findPeer: f({ command: 2 }),
    announce: f({ command: 3 }),
    unannounce: f({ command: 3 })
  })
})

test('findNode / query: closestReplies fills as replies arrive (the objects the stream yields, k closest by XOR distance) and stays after a break', async (t) => {
  const net = await network(t, 6)
  const target = Buffer.alloc(32, 9)
  const xor = (id) => Buffer.from(id.map((b, i) => b ^ target[i]))
  const sorted = (list) => list.every((r, i) => i === 0 || Buffer.compare(xor(list[i - 1].from.id), xor(r.from.id)) < 0)
  const out = {}
  for (const [kind, client] of Object.entries(net.clients)) {
    const q = client.findNode(target)
    const seen = []
    const yielded = new Set()
    for await (const r of q) {
      yielded.add(r)
      // a reply from a node with an id is among the closest the moment it is read (fewer than k)
      seen.push({ inClosest: q.closestReplies.includes(r) === (r.from.id !== null), sorted: sorted(q.closestReplies) })
    }
    const ended = q.closestReplies.length
    const closestAreYielded = q.closestReplies.every((r) => yielded.has(r) && r.from.id !== null)

    const q2 = client.query({ target, command: FIND_NODE })
    let n = 0
    for await (const r of q2) {
      if (r.from.id !== null && ++n === 2) break
    }
    out[kind] = {
      seen: uniq(seen),
      ended: ended > 0 && ended <= 20,
      closestAreYielded,
      afterBreak: { destroyed: q2.destroyed, closest: q2.closestNodes.length >= 2, sorted: sorted(q2.closestReplies) }
    }
  }
  assert.deepStrictEqual(out.rs, out.js)
  assert.deepStrictEqual(out.js, {
    seen: [{ inClosest: true, sorted: true }],
    ended: true,
    closestAreYielded: true,
    afterBreak: { destroyed: true, closest: true, sorted: true }
  })
})

test('a key pair the node cannot sign with is no error at the call: announce rejects when it runs, unannounce runs the lookup and resolves', async (t) => {
  const { clients } = await network(t)
  const seen = {}
  for (const [kind, Impl] of BOTH) {
    const dht = clients[kind]
    const kp = Impl.keyPair()
    const bad = {
      'no secret key': { publicKey: kp.publicKey },
      'short public key': { publicKey: Buffer.alloc(16), secretKey: kp.secretKey },
      'short secret key': { publicKey: kp.publicKey, secretKey: Buffer.alloc(10) },
      'another key\'s secret key': { publicKey: kp.publicKey, secretKey: Impl.keyPair().secretKey }
    }
    const out = []
    for (const [name, keyPair] of Object.entries(bad)) {
      for (const op of ['announce', 'lookupAndUnannounce', 'unannounce']) {
        let outcome
        try {
          const r = dht[op](Buffer.alloc(32, 7), keyPair)
          outcome = await (op === 'unannounce' ? r : r.finished()).then(() => 'resolves', () => 'rejects')
        } catch {
          outcome = 'throws at the call'
        }
        out.push(`${name}: ${op} ${outcome}`)
      }
    }
    seen[kind] = out
  }
  assert.deepStrictEqual(seen.rs, seen.js)
  assert.ok(seen.js.includes('no secret key: announce rejects'))
})

nothingKeepsNodeAlive(test)
test('lookup / announce: closestReplies fills while the query runs and a lookup broken off early keeps it', async (t) => {
  const net = await network(t, 6)
  const out = {}
  for (const [kind, client] of Object.entries(net.clients)) {
    const Impl = kind === 'rs' ? RS : JS
    const topic = Impl.hash(Buffer.from(`closest ${kind}`))
    const ann = client.announce(topic, Impl.keyPair())
    await ann.finished()
    // a lookup read until its first peer, then broken off (destroyed)
    const q = client.lookup(topic)
    let atFirst = -1
    for await (const r of q) {
      atFirst = q.closestReplies.length
      if (r.peers.length > 0) break
    }
    out[kind] = {
      announceEnded: ann.closestReplies.length > 0,
      filling: atFirst > 0,
      lookupDestroyed: q.destroyed,
      lookupKept: q.closestNodes.length >= atFirst,
      shape: q.closestReplies.every((r) => r.from.id !== null && 'closerNodes' in r && 'value' in r)
    }
  }
  assert.deepStrictEqual(out.rs, out.js)
  assert.deepStrictEqual(out.rs, { announceEnded: true, filling: true, lookupDestroyed: true, lookupKept: true, shape: true })
})

test('a query nobody reads never runs (an unread announce stores nothing); read after its node is destroyed, it ends', async (t) => {
  const net = await network(t)
  const seen = {}
  for (const [kind, Impl] of BOTH) {
    const dht = net.clients[kind]
    const topic = Impl.hash(Buffer.from(`unread ${kind}`))
    const kp = Impl.keyPair()
    const unread = dht.announce(topic, kp)
    // a lookup that finishes after the announce would have (its first request went out with
    // the announce's, were it running)
    const found = []
    for await (const r of dht.lookup(topic)) found.push(...r.peers)
    await dht.announce(Impl.hash(Buffer.from(`read ${kind}`)), kp).finished()
    const after = []
    for await (const r of dht.lookup(topic)) after.push(...r.peers)
    seen[kind] = { found: found.length, after: after.length, destroyed: unread.destroyed }
  }
  assert.deepStrictEqual(seen.rs, seen.js)
  assert.deepStrictEqual(seen.rs, { found: 0, after: 0, destroyed: false })

  // the node goes away with an unread query: no error event then; read later, it ends as a
  // query whose node was destroyed does
  const ends = {}
  for (const [kind, Impl] of BOTH) {
    const dht = new Impl({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 })
    net.nodes.push(dht)
    await dht.fullyBootstrapped()
    const q = dht.findNode(Impl.hash(Buffer.from('later')))
    let early = null
    q.on('error', (err) => { early = err })
    await dht.destroy()
    await new Promise((resolve) => setImmediate(resolve))
    const quiet = early === null
    const res = await settle(q.finished())
    ends[kind] = { quiet, ended: 'value' in res || 'err' in res }
  }
  assert.deepStrictEqual(ends.rs, ends.js)
  assert.deepStrictEqual(ends.rs, { quiet: true, ended: true })
})

