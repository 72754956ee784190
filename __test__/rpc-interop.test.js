'use strict'
// Issue 2: mixed JS/Rust dht-rpc networks (run via `npm test`, inside a loopback-only netns).
const test = require('node:test')
const assert = require('node:assert')
const { RS, JS, bootstrapper, persistentNode, cleanup, addrKey, nothingKeepsNodeAlive } = require('./helpers')

test('a Rust bootstrapper serves JS nodes', async (t) => {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(RS)
  nodes.push(boot)
  assert.ok(boot.id, 'bootstrapper is persistent at ready')
  assert.strictEqual(boot.ephemeral, false)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < 4; i++) nodes.push(persistentNode(JS, bootstrap))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  for (const n of nodes.slice(1)) {
    assert.strictEqual(n.ephemeral, false, 'JS node became persistent off a Rust bootstrapper')
    assert.ok(n.toArray().some((a) => a.port === boot.address().port), 'JS table has the Rust bootstrapper')
  }
  assert.ok(boot.toArray().length >= 4, 'Rust bootstrapper learned the JS nodes')
})

test('a JS bootstrapper serves Rust nodes', async (t) => {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(JS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < 4; i++) nodes.push(persistentNode(RS, bootstrap))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  for (const n of nodes.slice(1)) {
    assert.strictEqual(n.ephemeral, false, 'Rust node became persistent off a JS bootstrapper')
    assert.ok(n.id && n.id.length === 32)
    assert.ok(n.toArray().some((a) => a.port === boot.address().port))
  }
  assert.ok(boot.toArray().length >= 4, 'JS bootstrapper learned the Rust nodes')
})

test('mixed testnet of 8 JS + 8 Rust nodes', async (t) => {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(JS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  const js = []
  const rs = []
  for (let i = 0; i < 8; i++) {
    js.push(persistentNode(JS, bootstrap))
    rs.push(persistentNode(RS, bootstrap))
  }
  nodes.push(...js, ...rs)
  await Promise.all([...js, ...rs].map((n) => n.fullyBootstrapped()))

  const jsPorts = new Set(js.map((n) => n.address().port))
  const rsPorts = new Set(rs.map((n) => n.address().port))

  // Routing tables fill through traffic; a findNode from every node makes sure everyone talked.
  for (const n of [...js, ...rs]) await n.findNode(n.id).finished()

  for (const n of [...js, ...rs]) {
    const table = n.toArray()
    assert.ok(table.some((a) => jsPorts.has(a.port)), 'table has JS nodes')
    assert.ok(table.some((a) => rsPorts.has(a.port)), 'table has Rust nodes')
  }

  for (const n of [js[0], rs[0]]) {
    const seen = new Set()
    for await (const reply of n.findNode(RS.hash(Buffer.from('target')))) seen.add(reply.from.port)
    assert.ok([...seen].some((p) => jsPorts.has(p)), 'findNode reached JS nodes')
    assert.ok([...seen].some((p) => rsPorts.has(p)), 'findNode reached Rust nodes')
  }

  const r1 = await rs[0].ping({ host: '127.0.0.1', port: js[0].address().port })
  assert.strictEqual(r1.from.port, js[0].address().port)
  const r2 = await js[0].ping({ host: '127.0.0.1', port: rs[0].address().port })
  assert.strictEqual(r2.from.port, rs[0].address().port)
  assert.ok(r2.from.id && r2.from.id.equals(rs[0].id), 'JS validated the Rust node id')
})

test('persistence decisions match JS', async (t) => {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(RS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (const Impl of [JS, RS]) {
    const eph = new Impl({ ephemeral: true, bootstrap, host: '127.0.0.1', port: 0 })
    const pers = persistentNode(Impl, bootstrap)
    // Like hyperdht's testnet.js first node: ephemeral:false but no NAT seed and no peers.
    const lonely = new Impl({ ephemeral: false, firewalled: false, bootstrap: [], host: '127.0.0.1', port: 0 })
    nodes.push(eph, pers, lonely)
    await Promise.all([eph, pers, lonely].map((n) => n.fullyBootstrapped()))
    const got = [eph.ephemeral, pers.ephemeral, lonely.ephemeral]
    t.diagnostic(`${Impl === JS ? 'js' : 'rs'}: ${got}`)
    assert.deepStrictEqual(got, [true, false, true])
    assert.strictEqual(eph.id, null)
    assert.ok(pers.id)
  }
})

test('DHT.keyPair and DHT.hash match JS', () => {
  const seed = Buffer.alloc(32, 7)
  assert.deepStrictEqual(RS.keyPair(seed), JS.keyPair(seed))
  const kp = RS.keyPair()
  assert.strictEqual(kp.publicKey.length, 32)
  assert.strictEqual(kp.secretKey.length, 64)
  assert.ok(kp.secretKey.subarray(32).equals(kp.publicKey))
  assert.ok(RS.hash(Buffer.from('hello')).equals(JS.hash(Buffer.from('hello'))))
  assert.throws(() => RS.keyPair(Buffer.alloc(31)), TypeError)
})

test('ping a dead address rejects, destroy is prompt', async (t) => {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(RS)
  nodes.push(boot)
  await assert.rejects(boot.ping({ host: '127.0.0.1', port: 9 }))
  const start = Date.now()
  await boot.destroy()
  assert.ok(boot.destroyed)
  assert.ok(Date.now() - start < 2000)
  assert.strictEqual(addrKey({ host: 'a', port: 1 }), 'a:1')
})

nothingKeepsNodeAlive(test)
