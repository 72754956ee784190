'use strict'
// secret-stream's unordered encrypted datagrams on a connection: `send`/`trySend` on one end, a
// `message` event on the other (@hyperswarm/secret-stream `_boxMessage`/`_onmessage` over UDX
// messages), between every pairing of JS and Rust ends. Loopback drops nothing in practice, but
// a datagram may be lost: each side resends until it heard the other (bounded by the test timeout).
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('node:events')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const PAIRS = [[JS, JS, 'JS->JS'], [RS, RS, 'RS->RS'], [RS, JS, 'RS->JS'], [JS, RS, 'JS->RS']]

/**
 * Both ends send their message every 50 ms (alternating send and trySend) until each got the
 * other's; resolves with [what the server got, what the client got].
 */
async function exchange (client, server, toServer, toClient) {
  const got = Promise.all([received(server, toServer), received(client, toClient)])
  let i = 0
  const timer = setInterval(() => {
    if (i++ % 2) {
      client.trySend(toServer)
      server.trySend(toClient)
    } else {
      client.send(toServer)
      server.send(toClient)
    }
  }, 50)
  try {
    return await got
  } finally {
    clearInterval(timer)
  }
}

/** Resolves with the first `message` on `conn` equal to `want`. */
function received (conn, want) {
  return new Promise((resolve) => {
    conn.on('message', function onmessage (m) {
      if (!m.equals(want)) return
      conn.off('message', onmessage)
      resolve(m)
    })
  })
}

for (const [C, S, pair] of PAIRS) {
  test(`messages: send/trySend reach the peer's 'message' event (${pair})`, { timeout: 30000 }, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(S)
    const cNode = net.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const accepted = new Promise((resolve) => {
      const srv = sNode.createServer((conn) => { conn.on('error', () => {}); resolve(conn) })
      t.after(() => srv.close())
      srv.listen(S.keyPair()).then(() => {
        const c = cNode.connect(srv.publicKey)
        c.on('error', () => {})
        // before the handshake there is nothing to send with: JS returns undefined, no throw
        assert.strictEqual(c.send(Buffer.from('too early')), undefined)
        c.trySend(Buffer.from('too early'))
        client = c
      })
    })
    let client = null
    const server = await accepted
    assert.strictEqual(await client.opened, true)
    const [atServer, atClient] = await exchange(client, server, Buffer.from('from the client'), Buffer.from('from the server'))
    assert.strictEqual(atServer.toString(), 'from the client')
    assert.strictEqual(atClient.toString(), 'from the server')
    // a send on an open connection resolves true (the UDX message went out)
    assert.strictEqual(await client.send(Buffer.from('x')), true)
    // a datagram near the 1200-byte MTU floor (24 bytes of counter and MAC ride along)
    const [big] = await exchange(client, server, Buffer.alloc(1100, 7), Buffer.alloc(1, 1))
    assert.strictEqual(big.byteLength, 1100)
    client.destroy()
    server.destroy()
  })
}

for (const [C, S, pair] of PAIRS) {
  test(`messages: enableSend = false (set at connect()) drops the peer's datagrams; alloc() buffers write as usual (${pair})`, { timeout: 30000 }, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(S)
    const cNode = net.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    let accept = null
    const accepted = new Promise((resolve) => { accept = resolve })
    const srv = sNode.createServer((conn) => {
      conn.on('error', () => {})
      conn.on('data', (d) => conn.write(d))
      accept(conn)
    })
    t.after(() => srv.close())
    await srv.listen(S.keyPair())
    const client = cNode.connect(srv.publicKey)
    client.enableSend = false
    client.on('error', () => {})
    let got = 0
    client.on('message', () => { got++ })
    const server = await accepted
    assert.strictEqual(await client.opened, true)
    // the server's datagrams arrive while data round trips go through: none is emitted
    for (const text of ['hello', 'ok']) {
      for (let i = 0; i < 10; i++) server.trySend(Buffer.from('dropped'))
      const buf = client.alloc(text.length)
      assert.strictEqual(buf.byteLength, text.length)
      buf.write(text)
      client.write(buf)
      const [echoed] = await once(client, 'data')
      assert.strictEqual(echoed.toString(), text)
    }
    assert.strictEqual(got, 0)
    client.destroy()
    server.destroy()
  })
}

nothingKeepsNodeAlive(test)
