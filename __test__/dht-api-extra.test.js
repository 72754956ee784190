'use strict'
// dht-rpc / hyperdht API beyond the basics, each driven through the public API on a Rust node
// and on a JS `require('hyperdht')` node side by side (same calls, results compared):
// delayedPing and maxPingDelay, sessions, dht.nodes / dht.table / dht.health / rttStats /
// validateLocalAddresses, the add-node / remove-node / network-change events, and custom
// commands through an app's own onrequest.
const test = require('node:test')
const assert = require('node:assert')
const dgram = require('dgram')
const { spawnSync } = require('child_process')
const peer = require('dht-rpc/lib/peer')
const { RS, JS, freePort, bootstrapper, persistentNode, cleanup, nothingKeepsNodeAlive } = require('./helpers')

const BOTH = [['rs', RS], ['js', JS]]
// a dht-rpc reply's fields
const FIELDS = ['tid', 'rtt', 'from', 'to', 'token', 'closerNodes', 'error', 'value']

async function network (t, kinds, size = 4, opts = {}) {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(JS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < size; i++) nodes.push(persistentNode(kinds[i % kinds.length], bootstrap, opts))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const add = (n) => {
    nodes.push(n)
    return n
  }
  return { nodes, boot, bootstrap, add }
}

function addr (node) {
  return { host: '127.0.0.1', port: node.address().port }
}

/** A UDP socket that counts what it receives and never answers (a dead node). */
async function silentSocket (t) {
  const sock = dgram.createSocket('udp4')
  sock.received = 0
  sock.on('message', () => sock.received++)
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => sock.close(resolve)))
  return { sock, to: { host: '127.0.0.1', port: sock.address().port } }
}

async function settle (p) {
  try {
    return { value: await p }
  } catch (err) {
    return { err }
  }
}

test('delayedPing: answered after the delay, not at all past the responder\'s maxPingDelay; too long for the requester throws', async (t) => {
  const net = await network(t, [RS, JS], 2, { maxPingDelay: 300 })
  const responders = { rs: net.nodes[1], js: net.nodes[2] }
  assert.ok(responders.rs instanceof RS && responders.js instanceof JS)
  const requesters = BOTH.map(([, Impl]) => net.add(new Impl({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 })))
  await Promise.all(requesters.map((n) => n.fullyBootstrapped()))

  assert.strictEqual(RS.DEFAULTS.maxPingDelay, JS.DEFAULTS.maxPingDelay)
  assert.deepStrictEqual(Object.keys(RS.DEFAULTS).sort(), Object.keys(JS.DEFAULTS).sort())
  assert.strictEqual(requesters[0].maxPingDelay, requesters[1].maxPingDelay)
  assert.strictEqual(responders.rs.maxPingDelay, 300)

  const runs = []
  for (const requester of requesters) {
    for (const [kind, responder] of Object.entries(responders)) {
      runs.push((async () => {
        const started = Date.now()
        const ok = await requester.delayedPing(addr(responder), 200)
        const took = Date.now() - started
        // past the responder's maxPingDelay (300): no reply, one attempt of 500 + 1000 ms
        const t2 = Date.now()
        const late = await settle(requester.delayedPing(addr(responder), 500, { retry: false }))
        return { kind, ok, took, late, lateTook: Date.now() - t2 }
      })())
    }
  }
  const results = await Promise.all(runs)
  const keys = Object.keys(results.find((r) => r.kind === 'js').ok)
  for (const r of results) {
    assert.deepStrictEqual(Object.keys(r.ok), keys)
    assert.strictEqual(r.ok.error, 0)
    assert.ok(r.took >= 190, `answered after ${r.took} ms`)
    assert.ok(r.ok.rtt >= 190 && r.ok.rtt < 1500, `rtt ${r.ok.rtt}`)
    assert.strictEqual(r.ok.from.port, addr(responders[r.kind]).port)
    assert.strictEqual(r.late.err && r.late.err.code, 'REQUEST_TIMEOUT')
    assert.ok(r.lateTook >= 1400, `timed out after ${r.lateTook} ms (delay + 1 s)`)
  }

  // asking for more than our own maxPingDelay throws synchronously, same message
  const thrown = requesters.map((n) => {
    try {
      n.delayedPing(addr(responders.rs), 20000)
    } catch (err) {
      return err.message
    }
    return null
  })
  assert.strictEqual(thrown[0], 'Delay exceeds max delay: 10000ms')
  assert.strictEqual(thrown[0], thrown[1])
  // maxPingDelay is a plain property on both sides: raised on the requester, the long ping goes
  // out (a session ends it); raised on the responder, 500 ms is answered now
  const far = []
  for (const n of requesters) {
    n.maxPingDelay = 20000
    const s = n.session()
    const p = settle(n.delayedPing(addr(responders.js), 15000, { session: s }))
    assert.strictEqual(s.inflight.length, 1)
    s.destroy()
    far.push((await p).err.code)
  }
  assert.deepStrictEqual(far, ['REQUEST_DESTROYED', 'REQUEST_DESTROYED'])
  for (const responder of Object.values(responders)) responder.maxPingDelay = 600
  const now = await Promise.all(requesters.flatMap((n) => Object.values(responders).map((r) => n.delayedPing(addr(r), 500, { retry: false }))))
  assert.ok(now.every((r) => r.error === 0 && r.rtt >= 490), 'answered once within the raised maxPingDelay')
})

test('session: destroy() rejects in-flight requests with REQUEST_DESTROYED (or its error) and stops them; others go on', async (t) => {
  const net = await network(t, [RS], 1)
  const live = addr(net.nodes[1])
  const out = {}
  for (const [kind, Impl] of BOTH) {
    const dht = net.add(new Impl({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 }))
    await dht.fullyBootstrapped()
    const dead = await silentSocket(t)
    const s = dht.session()
    // a session request that gets its answer leaves the session
    const pong = await s.ping(live)
    assert.strictEqual(pong.error, 0)
    assert.strictEqual(s.inflight.length, 0)

    const pending = [s.request({ command: 42 }, dead.to), s.ping(dead.to)].map(settle)
    const outside = settle(dht.request({ command: 42 }, dead.to, { retry: false }))
    assert.strictEqual(s.inflight.length, 2)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const sentBefore = dead.sock.received
    s.destroy()
    assert.strictEqual(s.inflight.length, 0)
    const errs = (await Promise.all(pending)).map((r) => r.err)
    // nothing is retransmitted for destroyed requests (their first retry would come at 1 s);
    // the request outside the session times out on its own
    const other = await outside
    // the destroyed requests' first retry was due at 1 s, with the outside request's timeout
    await new Promise((resolve) => setTimeout(resolve, 300))
    const sentAfter = dead.sock.received

    const s2 = dht.session()
    const custom = new Error('custom')
    const p2 = settle(s2.request({ command: 42 }, dead.to))
    s2.destroy(custom)
    out[kind] = {
      errs: errs.map((e) => ({ code: e.code, name: e.name, message: e.message })),
      other: other.err && other.err.code,
      retransmitted: sentAfter - sentBefore,
      sentBefore,
      custom: (await p2).err === custom
    }
  }
  assert.deepStrictEqual(out.rs.errs, out.js.errs)
  assert.deepStrictEqual(out.rs.errs[0], { code: 'REQUEST_DESTROYED', name: 'DHTError', message: 'REQUEST_DESTROYED: Request destroyed' })
  assert.strictEqual(out.rs.other, 'REQUEST_TIMEOUT')
  assert.strictEqual(out.js.other, 'REQUEST_TIMEOUT')
  for (const kind of ['rs', 'js']) {
    assert.strictEqual(out[kind].sentBefore, 3, `${kind}: two session requests and the outside one went out`)
    assert.strictEqual(out[kind].retransmitted, 0, `${kind}: nothing was sent after destroy()`)
    assert.strictEqual(out[kind].custom, true, `${kind}: destroy(err) rejects with err`)
  }
})

test('nodes / table / health / rttStats / validateLocalAddresses have dht-rpc\'s shapes', async (t) => {
  const net = await network(t, [RS, JS], 4)
  const shapes = {}
  for (const [kind, Impl] of BOTH) {
    const dht = net.add(new Impl({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 }))
    await dht.fullyBootstrapped()
    const nodes = dht.nodes
    const list = dht.toArray()
    const ports = (l) => l.map((n) => n.port).sort()
    assert.ok(list.length >= 5, `${kind}: table has the net (${list.length})`)
    assert.strictEqual(nodes.length, list.length)
    assert.deepStrictEqual(ports(nodes.toArray()), ports(list))
    // latest -> prev walks the set newest first, oldest -> next oldest first
    const walked = []
    for (let n = nodes.latest; n; n = n.prev) walked.push(n.port)
    assert.deepStrictEqual(walked, nodes.toArray({ reverse: true }).map((n) => n.port))
    const forward = []
    for (let n = nodes.oldest; n; n = n.next) forward.push(n.port)
    assert.deepStrictEqual(forward, nodes.toArray().map((n) => n.port))
    assert.strictEqual(nodes.toArray({ limit: 2, reverse: true }).length, 2)
    for (const n of nodes.toArray()) {
      assert.ok(n.id.equals(peer.id(n.host, n.port)), `${kind}: id is hash(host:port)`)
    }
    const latest = nodes.latest
    assert.strictEqual(nodes.has(latest), true)
    assert.deepStrictEqual(walked.slice(0, 3), list.slice(0, 3).map((a) => a.port), `${kind}: same recency order as toArray()`)
    // the routing table
    const table = dht.table
    assert.strictEqual(table.k, 20)
    assert.strictEqual(table.size, list.length)
    assert.ok(table.get(latest.id).id.equals(latest.id))
    assert.strictEqual(table.has(latest.id), true)
    assert.strictEqual(table.has(Buffer.alloc(32)), false)
    assert.strictEqual(table.toArray().length, list.length)
    const closest = table.closest(latest.id, 3)
    assert.strictEqual(closest.length, 3)
    assert.ok(closest.every((n) => list.some((a) => a.port === n.port)))
    assert.ok(table.random().id.length === 32)
    assert.strictEqual(table.id.length, 32)

    const rtt = await dht.rttStats()
    assert.ok(rtt.successes > 0, `${kind}: rttStats ran a findNode`)
    assert.ok(Number.isFinite(rtt.responses.avgRtt) && Number.isFinite(rtt.closestReplies.avgCloserNodes))
    const valid = await dht.validateLocalAddresses([{ host: '127.0.0.1', port: 1 }, { host: '10.255.255.1', port: 2 }, { host: 'not-an-ip', port: 3 }])
    const again = await dht.validateLocalAddresses([{ host: '10.255.255.1', port: 4 }, { host: '127.0.0.1', port: 5 }])
    shapes[kind] = {
      node: Object.keys(latest),
      to: latest.to === null ? null : Object.keys(latest.to),
      nodesKeys: ['length', 'latest', 'oldest'].map((k) => typeof nodes[k]),
      health: Object.keys(dht.health.stats),
      healthTypes: Object.values(dht.health.stats).map((v) => typeof v),
      online: [dht.health.online, dht.health.degraded],
      rtt: JSON.stringify(Object.keys(rtt)) + JSON.stringify(Object.keys(rtt.responses)),
      valid,
      again
    }
  }
  assert.deepStrictEqual(shapes.rs, shapes.js)
  assert.deepStrictEqual(shapes.rs.valid, [{ host: '127.0.0.1', port: 1 }])
})

test('persistent node: table.id is the node id, add-node reports each table entry with dht-rpc\'s fields', async (t) => {
  const net = await network(t, [JS, RS], 3)
  const seen = {}
  for (const [kind, Impl] of BOTH) {
    const dht = new Impl({ ephemeral: false, firewalled: false, bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 })
    net.add(dht)
    const events = []
    for (const name of ['listening', 'add-node', 'remove-node', 'ready', 'persistent']) {
      dht.on(name, (node) => events.push(name === 'add-node' || name === 'remove-node' ? { name, node } : { name }))
    }
    await dht.fullyBootstrapped()
    assert.ok(dht.table.id.equals(dht.id), `${kind}: table.id`)
    const names = events.map((e) => e.name)
    assert.strictEqual(names[0], 'listening', `${kind}: ${names}`)
    assert.ok(names.includes('add-node') && names.indexOf('add-node') < names.indexOf('ready'), `${kind}: nodes are added while bootstrapping: ${names}`)
    // what add-node (minus remove-node) reported is the table
    const inTable = new Map()
    for (const e of events) {
      if (e.name === 'add-node') inTable.set(e.node.port, e.node)
      if (e.name === 'remove-node') inTable.delete(e.node.port)
    }
    const ports = dht.toArray().map((a) => a.port).sort()
    assert.deepStrictEqual([...inTable.keys()].sort(), ports)
    const boot = inTable.get(net.boot.address().port)
    seen[kind] = {
      keys: Object.keys(boot),
      id: boot.id.equals(peer.id(boot.host, boot.port)),
      to: [Object.keys(boot.to), boot.to.id, boot.to.host, boot.to.port === dht.address().port],
      ticks: ['sampled', 'added', 'pinged', 'seen', 'downHints'].map((k) => typeof boot[k])
    }
  }
  assert.deepStrictEqual(seen.rs, seen.js)
  assert.deepStrictEqual(seen.rs.to, [['id', 'host', 'port'], null, '127.0.0.1', true])
})

test('add-node minus remove-node is the table an app reads, on every event-loop turn while a node joins', async (t) => {
  // dht-rpc changes its table and emits in the same tick, so an app mirroring the table from
  // the events never sees toArray() / dht.table / dht.nodes ahead of them
  const net = await network(t, [JS, RS], 10)
  for (const [kind, Impl] of BOTH) {
    const dht = net.add(new Impl({ ephemeral: false, firewalled: false, bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 }))
    const mirror = new Set()
    dht.on('add-node', (node) => mirror.add(node.port))
    dht.on('remove-node', (node) => mirror.delete(node.port))
    const mismatches = []
    let turns = 0
    let done = false
    const check = () => {
      turns++
      // (the engine's table may change between two reads: each read is matched by the events
      // reported before it returns)
      const reads = { toArray: () => dht.toArray(), table: () => dht.table.toArray(), nodes: () => dht.nodes.toArray() }
      for (const [how, read] of Object.entries(reads)) {
        const got = read().map((n) => n.port).sort().join()
        const want = [...mirror].sort().join()
        if (got !== want) mismatches.push(`${how} [${got}] vs events [${want}]`)
      }
      if (!done) setImmediate(check)
    }
    setImmediate(check)
    await dht.fullyBootstrapped()
    for (let i = 0; i < 4; i++) await dht.findNode(Impl.hash(Buffer.from(`target ${i}`))).finished()
    done = true
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepStrictEqual(mismatches.slice(0, 3), [], `${kind}: ${mismatches.length} of ${turns} turns`)
    assert.ok(mirror.size >= 10, `${kind}: the events reported the network (${mirror.size})`)
  }
})

test('remove-node: a node that stops answering leaves the table with an event', async (t) => {
  for (const [kind, Impl] of BOTH) {
    await t.test(kind, async (t) => {
      const net = await network(t, [RS, JS], 2)
      const victim = net.add(persistentNode(kind === 'rs' ? JS : RS, net.bootstrap))
      await victim.fullyBootstrapped()
      const observer = net.add(new Impl({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 }))
      await observer.fullyBootstrapped()
      const port = victim.address().port
      const id = victim.id
      if (!observer.toArray().some((a) => a.port === port)) await observer.findNode(id).finished()
      assert.ok(observer.toArray().some((a) => a.port === port), 'the victim is in the table')
      const removed = []
      let onremove
      const gone = new Promise((resolve) => {
        onremove = (node) => {
          removed.push(node)
          if (node.port === port) resolve(node)
        }
      })
      observer.on('remove-node', onremove)
      await victim.destroy()
      // a query asks the victim; its request times out (force: one attempt, 1 s) and the node is
      // dropped (the query itself may end sooner)
      await observer.findNode(id, { force: true }).finished().catch(() => {})
      const timeout = new Promise((resolve, reject) => setTimeout(() => reject(new Error(`${kind}: no remove-node for the victim`)), 3000).unref())
      const node = await Promise.race([gone, timeout])
      assert.ok(node.id.equals(id))
      assert.deepStrictEqual(removed.map((n) => n.port), [port], `${kind}: only the victim left`)
      assert.ok(!observer.toArray().some((a) => a.port === port))
      observer.off('remove-node', onremove)
    })
  }
})

test('network-change: an address appearing on an interface is reported with the interface list, then network-update', async (t) => {
  const probe = spawnSync('ip', ['addr', 'show', 'dev', 'lo'], { encoding: 'utf8' })
  assert.strictEqual(probe.status, 0, 'tests run in the loopback-only namespace (scripts/netns.js), where ip works')
  const net = await network(t, [RS], 2)
  const nodes = BOTH.map(([, Impl]) => net.add(new Impl({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 })))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const server = nodes[0].createServer(() => {})
  await server.listen(RS.keyPair())
  let refreshed = 0
  let notified = 0
  const refresh = server.refresh.bind(server)
  server.refresh = () => {
    refreshed++
    refresh()
  }
  server.notifyOnline = () => notified++
  const seen = nodes.map((n) => new Promise((resolve) => {
    const order = []
    n.on('network-update', () => order.push('network-update'))
    n.once('network-change', (interfaces) => {
      order.push('network-change')
      setImmediate(() => resolve({ interfaces, order }))
    })
  }))
  const ip = '10.77.0.1'
  const added = spawnSync('ip', ['addr', 'add', ip + '/32', 'dev', 'lo'])
  assert.strictEqual(added.status, 0, String(added.stderr))
  t.after(() => spawnSync('ip', ['addr', 'del', ip + '/32', 'dev', 'lo']))
  const timeout = new Promise((resolve, reject) => setTimeout(() => reject(new Error('no network-change within 12 s')), 12000).unref())
  const [rs, js] = await Promise.race([Promise.all(seen), timeout])
  const sort = (list) => list.map((n) => JSON.stringify(n)).sort()
  assert.deepStrictEqual(sort(rs.interfaces), sort(js.interfaces))
  assert.ok(rs.interfaces.some((n) => n.host === ip && n.name === 'lo' && n.family === 4))
  for (const { order } of [rs, js]) {
    const i = order.indexOf('network-change')
    assert.deepStrictEqual(order.slice(i, i + 2), ['network-change', 'network-update'])
  }
  assert.strictEqual(refreshed, 1, 'hyperdht refreshes listening servers on network-change')
  assert.strictEqual(notified, 1, 'and tells them the node is online on network-update')
  await server.close()
})

// An app's custom command, the way hyperdht allows it: override onrequest (hyperdht's own
// returns false for commands it does not know, and never emits `request`).
const ECHO = 77
const SILENT = 78
function customHandler (log) {
  return function (req) {
    log.push({ tid: typeof req.tid, command: req.command, internal: req.internal, value: req.value && req.value.toString(), target: req.target && req.target.toString('hex'), token: req.token, from: [req.from.id, req.from.host, typeof req.from.port], to: [req.to.id, req.to.host, typeof req.to.port] })
    if (req.command === ECHO) {
      req.reply(Buffer.concat([Buffer.from('echo:'), req.value || Buffer.alloc(0)]))
      return true
    }
    if (req.command === SILENT) return // undefined: taken, never answered
    return false
  }
}

test('onrequest: custom commands answered by a subclass or an assigned onrequest, like JS hyperdht', async (t) => {
  const net = await network(t, [RS], 1)
  const logs = { rs: [], js: [], rsAssigned: [] }
  const app = (Base, log) => class extends Base {
    onrequest (req) {
      if (req.command === ECHO || req.command === SILENT || req.command === 79) return customHandler(log)(req)
      return super.onrequest(req)
    }
  }
  const RSApp = app(RS, logs.rs)
  const JSApp = app(JS, logs.js)
  const servers = {
    rs: net.add(persistentNode(RSApp, net.bootstrap)),
    js: net.add(persistentNode(JSApp, net.bootstrap)),
    rsAssigned: net.add(persistentNode(RS, net.bootstrap)),
    // no override: `request` listeners are never called (hyperdht's onrequest does not emit it)
    rsPlain: net.add(persistentNode(RS, net.bootstrap)),
    jsPlain: net.add(persistentNode(JS, net.bootstrap))
  }
  servers.rsAssigned.onrequest = customHandler(logs.rsAssigned)
  let requestEvents = 0
  servers.rsPlain.on('request', () => requestEvents++)
  servers.jsPlain.on('request', () => requestEvents++)
  await Promise.all(Object.values(servers).map((n) => n.fullyBootstrapped()))
  const client = net.add(new JS({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 }))
  await client.fullyBootstrapped()

  const target = RS.hash(Buffer.from('t'))
  // (closerNodes: null in JS when the reply has none, [] here)
  const shape = (r) => ({ error: r.error, value: r.value && r.value.toString(), token: !!r.token, closer: (r.closerNodes || []).length > 0, keys: FIELDS.filter((k) => k in r) })
  const answers = {}
  for (const [kind, node] of Object.entries(servers)) {
    const to = addr(node)
    answers[kind] = {
      echo: shape(await client.request({ command: ECHO, target, value: Buffer.from('hi') }, to)),
      echoNoTarget: shape(await client.request({ command: ECHO, value: Buffer.from('x') }, to)),
      unknown: shape(await client.request({ command: 79, target }, to)),
      silent: await settle(client.request({ command: SILENT }, to, { retry: false })).then((r) => r.err ? r.err.code : r.value.error)
    }
  }
  assert.deepStrictEqual(answers.rs, answers.js)
  assert.deepStrictEqual(answers.rsAssigned, answers.js)
  assert.deepStrictEqual(answers.rsPlain, answers.jsPlain)
  assert.deepStrictEqual(answers.js.echo, { error: 0, value: 'echo:hi', token: true, closer: true, keys: FIELDS })
  assert.deepStrictEqual(answers.js.unknown.error, RS.ERROR_UNKNOWN_COMMAND)
  assert.strictEqual(answers.js.silent, 'REQUEST_TIMEOUT')
  assert.strictEqual(answers.jsPlain.echo.error, JS.ERROR_UNKNOWN_COMMAND)
  assert.strictEqual(requestEvents, 0)
  // the handlers saw the same requests
  assert.deepStrictEqual(logs.rs, logs.js)
  assert.deepStrictEqual(logs.rsAssigned, logs.js)
  // answered or declined requests do not stay parked in the engine; the silent one does, until it expires
  for (const kind of ['rs', 'rsAssigned']) assert.strictEqual(servers[kind]._native.appRequestsPending(), 1)
  assert.strictEqual(servers.rsPlain._native.appRequestsPending(), 0)
  // hyperdht's own commands are still answered by the engine on an overriding node
  const own = await client.request({ command: RS.COMMANDS.IMMUTABLE_GET, target }, addr(servers.rs))
  assert.strictEqual(own.error, 0)
  assert.ok(own.token)
})

test('statics and reply shapes match dht-rpc: OK / ERROR_*, rtt on query replies', async (t) => {
  assert.strictEqual(RS.OK, JS.OK)
  assert.strictEqual(RS.ERROR_UNKNOWN_COMMAND, JS.ERROR_UNKNOWN_COMMAND)
  assert.strictEqual(RS.ERROR_INVALID_TOKEN, JS.ERROR_INVALID_TOKEN)
  const net = await network(t, [RS, JS], 2)
  const keys = {}
  for (const [kind, Impl] of BOTH) {
    const dht = net.add(new Impl({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 }))
    await dht.fullyBootstrapped()
    const replies = []
    for await (const r of dht.findNode(RS.hash(Buffer.from(kind)))) replies.push(r)
    assert.ok(replies.length > 0)
    assert.ok(replies.every((r) => typeof r.rtt === 'number'))
    keys[kind] = FIELDS.filter((k) => k in replies[0])
  }
  assert.deepStrictEqual(keys.rs, FIELDS)
  assert.deepStrictEqual(keys.js, FIELDS)
})

test('after destroy(): node views are empty, sessions and delayedPing fail like other calls', async () => {
  const dht = new RS({ bootstrap: [], host: '127.0.0.1', port: 0 })
  await dht.fullyBootstrapped()
  const s = dht.session()
  await dht.destroy()
  assert.strictEqual(dht.nodes.length, 0)
  assert.strictEqual(dht.table.size, 0)
  assert.strictEqual(dht.health.online, true)
  await assert.rejects(dht.delayedPing({ host: '127.0.0.1', port: 1 }, 10), (err) => err.code === 'NODE_DESTROYED')
  await assert.rejects(s.ping({ host: '127.0.0.1', port: 1 }), (err) => err.code === 'NODE_DESTROYED')
  s.destroy()
})

// udx-native's UDX counters (hyperdht-stats reads them): numbers on both; ours count the engine's
// datagrams (DHT frames and UDX packets) plus the sockets made with dht.udx.createSocket()
test('dht.udx byte and packet counters are numbers and ours count the node\'s traffic', async () => {
  const names = ['bytesTransmitted', 'packetsTransmitted', 'bytesReceived', 'packetsReceived', 'packetsDroppedByKernel']
  for (const [kind, Impl] of BOTH) {
    const boot = new Impl({ bootstrap: [], host: '127.0.0.1', port: 0, firewalled: false })
    await boot.ready()
    const dht = new Impl({ bootstrap: [{ host: '127.0.0.1', port: boot.address().port }], host: '127.0.0.1', port: 0 })
    await dht.fullyBootstrapped()
    for (const n of names) assert.strictEqual(typeof dht.udx[n], 'number', `${kind} ${n}`)
    if (kind === 'rs') {
      const before = Object.fromEntries(names.map((n) => [n, dht.udx[n]]))
      await dht.ping({ host: '127.0.0.1', port: boot.address().port })
      assert.ok(dht.udx.packetsTransmitted > before.packetsTransmitted && dht.udx.bytesTransmitted > before.bytesTransmitted)
      assert.ok(dht.udx.packetsReceived > before.packetsReceived && dht.udx.bytesReceived > before.bytesReceived)
      // a raw socket's datagrams count too, also once it is closed
      const sock = dht.udx.createSocket()
      sock.bind(0, '127.0.0.1')
      const sent = dht.udx.packetsTransmitted
      await sock.send(Buffer.alloc(10), boot.address().port, '127.0.0.1')
      assert.strictEqual(dht.udx.packetsTransmitted, sent + 1)
      await sock.close()
      assert.strictEqual(dht.udx.packetsTransmitted, sent + 1)
      await dht.destroy()
      assert.ok(dht.udx.packetsTransmitted >= sent + 1, 'still readable after destroy')
    } else {
      await dht.destroy()
    }
    await boot.destroy()
  }
})

// dht-rpc reads address() from its socket, which keeps its address once closed
test('address() after destroy() is the address the node had (JS and Rust alike)', async () => {
  for (const [kind, Impl] of BOTH) {
    const dht = new Impl({ bootstrap: [], host: '127.0.0.1', port: 0 })
    await dht.ready()
    const before = dht.address()
    await dht.destroy()
    assert.deepStrictEqual(dht.address(), before, kind)
    assert.notStrictEqual(dht.address(), dht.address(), `${kind}: a fresh object per call`)
  }
})

test("dht-rpc's bootstrapNodes, adaptive, config (with the tuning options) and bind() read as in JS", async () => {
  const seen = {}
  for (const [kind, Impl] of BOTH) {
    const out = []
    const tuned = { bootstrap: [], maxWindow: 40, randomPunchInterval: 5000, deferRandomPunch: true, sendDownHints: false, downHintsRateLimit: 7 }
    for (const opts of [{ bootstrap: ['127.0.0.1:1', { host: '127.0.0.2', port: 2 }, 3] }, { bootstrap: [], ephemeral: false }, { bootstrap: [], adaptive: false }, tuned]) {
      const dht = new Impl({ host: '127.0.0.1', port: 0, ...opts })
      out.push({ nodes: dht.bootstrapNodes, adaptive: dht.adaptive, config: dht.config, bound: await dht.bind().then(() => true) })
      await dht.destroy()
    }
    seen[kind] = out
  }
  assert.deepStrictEqual(seen.rs, seen.js)
  assert.deepStrictEqual(seen.js[0].nodes, [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.2', port: 2 }, { host: '127.0.0.1', port: 3 }])
})

test('sendDownHints: false sends no DOWN_HINT about a node that stopped answering; by default its referrers get them', async (t) => {
  // a node joins a network in which a persistent node just died: its bootstrap queries ask the
  // dead node (the others still list it), time out, and tell the nodes that named it (JS
  // hyperdht sends 8 here); the same with sendDownHints: false sends none. Two networks at once.
  const sent = await Promise.all([{}, { sendDownHints: false }].map(async (opts) => {
    const net = await network(t, [RS, JS], 3)
    const victim = net.add(persistentNode(RS, net.bootstrap))
    await victim.fullyBootstrapped()
    await victim.destroy()
    const observer = net.add(new RS({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0, ...opts }))
    await observer.fullyBootstrapped()
    return observer.stats.commands.downHint.tx
  }))
  assert.ok(sent[0] > 0, `DOWN_HINTs by default (${sent})`)
  assert.strictEqual(sent[1], 0, 'none with sendDownHints: false')
})

test('nat-update: a bootstrapper advertising one address and reached at another reports (null, 0) while its samples disagree, then the address', async (t) => {
  const seen = {}
  for (const [kind, Impl] of BOTH) {
    const nodes = []
    cleanup(t, nodes)
    const boot = Impl.bootstrapper(await freePort(), '10.9.8.7', { host: '127.0.0.1' })
    nodes.push(boot)
    const port = () => boot.address().port
    const events = []
    boot.on('nat-update', (host, p) => events.push([host, p === port() ? 'P' : p]))
    await boot.ready()
    const bootstrap = [`127.0.0.1:${port()}`]
    // peers see it at 127.0.0.1: each PING_NAT answer samples that, against its advertised host
    for (let i = 0; i < 4; i++) {
      const n = new JS({ bootstrap, host: '127.0.0.1', port: 0, ephemeral: false, firewalled: false })
      nodes.push(n)
      await n.ready()
    }
    seen[kind] = events
  }
  assert.deepStrictEqual(seen.rs, seen.js)
  assert.deepStrictEqual(seen.js, [[null, 0], ['127.0.0.1', 'P']])
})

nothingKeepsNodeAlive(test)
