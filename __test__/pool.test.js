'use strict'
// hyperdht's connection pool (`dht.pool()`, `connect(key, {pool})`, `createServer({pool})`):
// one connection per remote key, and crossed dials between two pooled peers (Rust and JS, both
// ways) settle on the same single connection at both ends.
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('events')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

test('pool: a second connect to the same key returns the pooled stream', async (t) => {
  const net = await mixedNet(t)
  const sNode = net.client(RS)
  const cNode = net.client(RS)
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  const server = sNode.createServer((c) => c.on('error', () => {}))
  await server.listen(RS.keyPair())
  t.after(() => server.close())
  const pool = cNode.pool()
  const pooled = once(pool, 'connection')
  const a = cNode.connect(server.publicKey, { pool })
  assert.strictEqual(pool.connecting, 1)
  assert.strictEqual(cNode.connect(server.publicKey, { pool }), a, 'while connecting')
  const [stream, ref] = await pooled
  assert.strictEqual(stream, a)
  assert.strictEqual(typeof ref.release, 'function')
  assert.strictEqual(pool.connecting, 0)
  assert.deepStrictEqual([...pool.connections].map((r) => r._stream), [a])
  assert.strictEqual(cNode.connect(server.publicKey, { pool }), a, 'once open')
  assert.ok(pool.has(server.publicKey))
  const closed = once(a, 'close')
  ref.release()
  await closed
  assert.ok(!pool.has(server.publicKey), 'a closed connection leaves the pool')
})

// Both peers listen with their pool and dial each other at once; each end must end up with one
// open connection, the same one (bytes written on one survivor arrive on the other).
for (const [A, B, name] of [[RS, RS, 'Rust <-> Rust'], [RS, JS, 'Rust <-> JS'], [JS, RS, 'JS <-> Rust']]) {
  test('pool: crossed dials settle on one connection, ' + name, async (t) => {
    const net = await mixedNet(t)
    const a = net.client(A)
    const b = net.client(B)
    await Promise.all([a.fullyBootstrapped(), b.fullyBootstrapped()])
    const peers = [[a, A.keyPair(), a.pool()], [b, B.keyPair(), b.pool()]]
    for (const [node, keyPair, pool] of peers) {
      const server = node.createServer({ pool }, (c) => c.on('error', () => {}))
      await server.listen(keyPair)
      t.after(() => server.close())
    }
    const [[, akp, apool], [, bkp, bpool]] = peers
    // the losing dial is destroyed with DUPLICATE_CONNECTION, the rest reset when the nodes go
    a.connect(bkp.publicKey, { pool: apool, keyPair: akp }).on('error', () => {})
    b.connect(akp.publicKey, { pool: bpool, keyPair: bkp }).on('error', () => {})
    const [sa, sb] = await Promise.all([settled(apool, bkp.publicKey, 'a'), settled(bpool, akp.publicKey, 'b')])
    const got = once(sb, 'data')
    sa.write(Buffer.from('from a'))
    assert.deepStrictEqual((await got)[0], Buffer.from('from a'))
    const back = once(sa, 'data')
    sb.write(Buffer.from('from b'))
    assert.deepStrictEqual((await back)[0], Buffer.from('from b'))
    assert.notStrictEqual(sa.isInitiator, sb.isInitiator, 'the two ends of one connection')
  })
}

/** Resolves with the pool's connection to `key` once it is the only one and nothing is dialing. */
async function settled (pool, key, name) {
  const deadline = Date.now() + 15000
  for (;;) {
    const open = [...pool.connections]
    const stream = pool.get(key)
    if (pool.connecting === 0 && open.length === 1 && open[0]._stream === stream && !stream.destroying) return stream
    if (Date.now() > deadline) {
      throw new Error(`pool of ${name} did not settle: ${pool.connecting} connecting, ${open.length} open, ${stream ? (stream.destroying ? 'destroying' : 'live') : 'no'} stream`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

nothingKeepsNodeAlive(test)
