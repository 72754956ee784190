'use strict'
// `createSecretStream(isInitiator, rawStream, opts)` on both ends (hyperdht connect.js /
// server.js): the app's own secret-stream (here a subclass of the npm @hyperswarm/secret-stream)
// runs over the connection's bare UDX stream with the handshake the node did. Client side: the
// app's stream is what `connect()` returns, made at once with `autoStart: false` and started
// when the handshake is done. Every pairing of JS and Rust ends, used the way apps do: listeners
// and `end()` right after `connect()`.
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('node:events')
const NoiseSecretStream = require('@hyperswarm/secret-stream')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const PAIRS = [[JS, JS, 'JS->JS'], [RS, RS, 'RS->RS'], [RS, JS, 'RS->JS'], [JS, RS, 'JS->RS']]

/** A createSecretStream that records its calls in `made` and marks the streams it makes. */
function recording (made) {
  return function createSecretStream (isInitiator, rawStream, opts) {
    const s = new (class AppStream extends NoiseSecretStream {})(isInitiator, rawStream, opts)
    made.push({ isInitiator, rawStream, opts, stream: s })
    return s
  }
}

for (const [C, S, pair] of PAIRS) {
  test(`createSecretStream on both ends: the app's stream carries the data (${pair})`, { timeout: 30000 }, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(S)
    const cNode = net.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const serverMade = []
    const clientMade = []
    const accepted = new Promise((resolve) => {
      const srv = sNode.createServer({ createSecretStream: recording(serverMade) }, resolve)
      t.after(() => srv.close())
      srv.listen(S.keyPair()).then(() => run(srv.publicKey))
    })
    let client = null
    const clientDone = new Promise((resolve, reject) => {
      run.resolve = resolve
      run.reject = reject
    })
    function run (publicKey) {
      client = cNode.connect(publicKey, { createSecretStream: recording(clientMade) })
      const events = []
      const got = []
      client.on('connect', () => events.push('connect'))
      client.on('open', () => events.push('open'))
      client.on('data', (d) => got.push(d))
      client.on('end', () => { events.push('end'); client.end() })
      client.on('error', run.reject)
      client.on('close', () => run.resolve({ events, got: Buffer.concat(got) }))
      // written before the handshake: held until the stream opens
      client.write('hello ')
      client.write('world')
    }
    const conn = await accepted
    const received = []
    conn.on('data', (d) => received.push(d))
    await once(conn, 'data')
    while (Buffer.concat(received).length < 11) await once(conn, 'data')
    conn.end(Buffer.from('bye'))
    const { events, got } = await clientDone
    await new Promise((resolve) => conn.destroyed ? resolve() : conn.once('close', resolve))

    assert.strictEqual(Buffer.concat(received).toString(), 'hello world')
    assert.strictEqual(got.toString(), 'bye')
    assert.deepStrictEqual(events, ['connect', 'open', 'end'])
    // the client's stream is the app's, made at once without a raw stream and started later
    assert.strictEqual(clientMade.length, 1)
    assert.strictEqual(clientMade[0].stream, client)
    assert.strictEqual(clientMade[0].isInitiator, true)
    assert.strictEqual(clientMade[0].rawStream, null)
    assert.strictEqual(clientMade[0].opts.autoStart, false)
    assert.ok(clientMade[0].opts.remotePublicKey.equals(conn.publicKey))
    // the server's is made over the accepted raw stream with the handshake result
    assert.strictEqual(serverMade.length, 1)
    assert.strictEqual(serverMade[0].stream, conn)
    assert.strictEqual(serverMade[0].isInitiator, false)
    assert.ok(serverMade[0].rawStream !== null)
    // both ran the same Noise handshake
    assert.ok(client.handshakeHash.equals(conn.handshakeHash))
    assert.ok(client.remotePublicKey.equals(conn.publicKey))
    assert.ok(conn.remotePublicKey.equals(client.publicKey))
  })
}

test('createSecretStream on connect: a peer that cannot be found fails the app\'s stream like JS', { timeout: 60000 }, async (t) => {
  const net = await mixedNet(t)
  const errs = []
  for (const Impl of [JS, RS]) {
    const node = net.client(Impl)
    await node.fullyBootstrapped()
    const made = []
    const s = node.connect(Impl.keyPair().publicKey, { createSecretStream: recording(made) })
    const [err] = await once(s, 'error')
    await new Promise((resolve) => s.destroyed ? resolve() : s.once('close', resolve))
    assert.strictEqual(made.length, 1)
    assert.strictEqual(made[0].stream, s)
    errs.push(err.code)
  }
  assert.deepStrictEqual(errs, ['PEER_NOT_FOUND', 'PEER_NOT_FOUND'])
})

test('createSecretStream on connect: destroyed at once, or right after it opened, nothing is left', { timeout: 30000 }, async (t) => {
  const net = await mixedNet(t)
  const sNode = net.client(JS)
  const cNode = net.client(RS)
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  const srv = sNode.createServer((c) => c.on('error', () => {}))
  t.after(() => srv.close())
  await srv.listen(JS.keyPair())
  const create = recording([])

  const early = cNode.connect(srv.publicKey, { createSecretStream: create })
  early.on('error', () => {})
  early.destroy()
  await once(early, 'close')

  const opened = cNode.connect(srv.publicKey, { createSecretStream: create })
  await once(opened, 'open')
  const raw = opened.rawStream
  assert.ok(raw && raw.connected)
  opened.destroy()
  await once(opened, 'close')
  // NoiseSecretStream destroys its raw stream; the node holds on to nothing of the connection
  await new Promise((resolve) => raw.destroyed ? resolve() : raw.once('close', resolve))
  assert.strictEqual(cNode._rawStreams.size, 0)
  assert.strictEqual(cNode._conns.size, 0)
})

nothingKeepsNodeAlive(test)
