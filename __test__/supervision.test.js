'use strict'
// Issue 14 #8 through the public API: a panic in an engine task (forced with a test hook) turns
// into errors on the affected objects, never a silent hang.
const test = require('node:test')
const assert = require('node:assert')
const { RS, bootstrapper, persistentNode, cleanup, echoServer } = require('./helpers')

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
