'use strict'
// Issue 14 #8 through the public API: a panic in an engine task (forced with a test hook) turns
// into errors on the affected objects, never a silent hang.
const test = require('node:test')
const assert = require('node:assert')
const { RS, bootstrapper, persistentNode, cleanup, echoServer, nothingKeepsNodeAlive } = require('./helpers')

async function net (t) {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(RS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  const a = persistentNode(RS, bootstrap)
  const b = persistentNode(RS, bootstrap)
  nodes.push(a, b)
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  return { a, b }
}

test('a DHT driver panic rejects pending and later requests with DRIVER_FAILED', async (t) => {
  const { a } = await net(t)
  // port 9 on loopback: nobody answers, the request would wait out its retries
  const pending = a.request({ command: 7, target: RS.hash(Buffer.from('x')) }, { host: '127.0.0.1', port: 9 })
  a._injectDriverPanic('rpc')
  await assert.rejects(pending, { code: 'DRIVER_FAILED' })
  await assert.rejects(a.request({ command: 7 }, { host: '127.0.0.1', port: 9 }), { code: 'DRIVER_FAILED' })
  const q = a.findNode(RS.hash(Buffer.from('y')))
  await assert.rejects(q.finished(), { code: 'DRIVER_FAILED' })
})

test('a UDX driver panic closes open connections with an error', async (t) => {
  const { a, b } = await net(t)
  const server = echoServer(b)
  await server.listen()
  const conn = a.connect(server.publicKey)
  await new Promise((resolve, reject) => { conn.once('open', resolve); conn.once('error', reject) })
  const errored = new Promise((resolve) => conn.once('error', resolve))
  const closed = new Promise((resolve) => conn.once('close', resolve))
  a._injectDriverPanic('udx')
  const err = await errored
  assert.strictEqual(err.code, 'EDRIVERFAILED')
  await closed
})

// A panic in the glue task driving one object (test hooks `_injectPanic()`): that object errors,
// its peer and the node carry on.

/** Resolves with the stream's events once it closed (errors as `error:<code>`). */
function recordUntilClose (stream) {
  const log = []
  for (const ev of ['open', 'end', 'close']) stream.on(ev, () => log.push(ev))
  stream.on('error', (e) => log.push(`error:${e.code}`))
  return new Promise((resolve) => stream.once('close', () => resolve(log)))
}

test('a panic in an open connection\'s task closes it with EDRIVERFAILED; the peer hears it', async (t) => {
  const { a, b } = await net(t)
  const serverClosed = []
  const server = b.createServer((c) => {
    c.on('error', () => {})
    serverClosed.push(new Promise((resolve) => c.once('close', resolve)))
  })
  await server.listen()
  const conn = a.connect(server.publicKey)
  const log = recordUntilClose(conn)
  await new Promise((resolve) => conn.once('open', resolve))
  conn._injectPanic()
  assert.deepStrictEqual(await log, ['open', 'error:EDRIVERFAILED', 'close'])
  // the stream was destroyed (a UDX DESTROY), so the server's side closes too
  await Promise.all(serverClosed)
  assert.strictEqual(a._internalCounts().connections, 0)
  // the node still connects
  const again = a.connect(server.publicKey)
  await new Promise((resolve, reject) => { again.once('open', resolve); again.once('error', reject) })
  again.destroy()
})

test('a panic in a dial fails the stream with EDRIVERFAILED before it opens', async (t) => {
  const { a, b } = await net(t)
  const server = b.createServer((c) => c.on('error', () => {}))
  await server.listen()
  const conn = a.connect(server.publicKey)
  const log = recordUntilClose(conn)
  conn._injectPanic()
  assert.deepStrictEqual(await log, ['error:EDRIVERFAILED', 'close'])
  assert.strictEqual(await conn.opened, false)
  assert.strictEqual(a._internalCounts().dialing, 0)
})

test('a panic in a query\'s task rejects it with DRIVER_FAILED; other queries go on', async (t) => {
  const { a } = await net(t)
  // asks only a port nobody answers on, so the query is still running when the hook fires (on
  // loopback an ordinary one can finish before the next line runs)
  const q = a.findNode(RS.hash(Buffer.from('a')), { nodes: [{ host: '127.0.0.1', port: 9 }], onlyClosestNodes: true })
  // (a query starts when first read, as dht-rpc's)
  const finished = q.finished()
  await new Promise((resolve) => setImmediate(resolve))
  q._injectPanic()
  await assert.rejects(finished, { code: 'DRIVER_FAILED' })
  const ok = a.findNode(RS.hash(Buffer.from('b')))
  await ok.finished()
  assert.ok(ok.closestReplies.length > 0)
})

test('a panic in a raw stream\'s task closes it with EDRIVERFAILED', async (t) => {
  const { a, b } = await net(t)
  const ra = a.createRawStream()
  const rb = b.createRawStream()
  rb.on('error', () => {})
  ra.connect(a.io.serverSocket, rb.id, b.address().port, '127.0.0.1')
  rb.connect(b.io.serverSocket, ra.id, a.address().port, '127.0.0.1')
  const log = recordUntilClose(ra)
  ra.write('x')
  await new Promise((resolve) => rb.once('data', resolve))
  ra._injectPanic()
  // raw streams open at once (streamx eagerOpen, like udx-native's)
  assert.deepStrictEqual(await log, ['open', 'error:EDRIVERFAILED', 'close'])
  rb.destroy()
})

nothingKeepsNodeAlive(test)
