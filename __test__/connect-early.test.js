'use strict'
// A client that connects right after construction, before its own bootstrap has finished. Its
// handshake tells the server it is firewalled (FIREWALL.UNKNOWN: no stable address yet), so a JS
// server waits for it to holepunch. If the client's bootstrap finishes while the handshake is in
// flight, the client must still punch (upstream decides by `c.firewall`, what the handshake said)
// and not wait for the server to connect to it (which never happens: HOLEPUNCH_ABORTED after the
// 10 s passive timeout). JS clients never fail here; Rust clients failed ~4-6 times in 15.
// Runs inside the loopback-only netns (npm test).
const test = require('node:test')
const assert = require('node:assert')
const { RS, JS, bootstrapper, persistentNode, cleanup, echoServer, nothingKeepsNodeAlive } = require('./helpers')

const CLIENTS = 20
// a connect that falls into the bug ends after 10 s (passive timeout); a good one takes well under
const CONNECT_LIMIT = 15000

/** Connects, writes, waits for the echo; resolves 'ok' or the error code. */
function connectAndEcho (node, publicKey) {
  return new Promise((resolve) => {
    const conn = node.connect(publicKey)
    const timer = setTimeout(() => {
      conn.destroy()
      resolve('TIMEOUT')
    }, CONNECT_LIMIT)
    conn.on('error', (err) => {
      clearTimeout(timer)
      resolve(err.code || err.message)
    })
    conn.on('open', () => conn.write(Buffer.from('early')))
    conn.once('data', (d) => {
      clearTimeout(timer)
      conn.destroy()
      resolve(d.toString() === 'early' ? 'ok' : 'BAD_ECHO')
    })
  })
}

for (const [S, name] of [[JS, 'JS server'], [RS, 'Rust server']]) {
  test(CLIENTS + ' fresh Rust clients connecting before their bootstrap finished -> ' + name, { timeout: 240000 }, async (t) => {
    const nodes = []
    cleanup(t, nodes)
    const boot = await bootstrapper(JS)
    nodes.push(boot)
    const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
    for (let i = 0; i < 4; i++) nodes.push(persistentNode(JS, bootstrap))
    await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
    const sNode = new S({ bootstrap, host: '127.0.0.1', port: 0 })
    nodes.push(sNode)
    await sNode.fullyBootstrapped()
    const server = echoServer(sNode)
    await server.listen()
    t.after(() => server.close())

    const outcomes = []
    for (let i = 0; i < CLIENTS; i++) {
      const client = new RS({ bootstrap, host: '127.0.0.1', port: 0 })
      // connect in the same tick as construction: the bootstrap has not even started answering
      assert.strictEqual(client.firewalled, true, 'client still firewalled (not bootstrapped) when it connects')
      let outcome = await connectAndEcho(client, server.publicKey)
      // Under CPU load a fresh node's FIND_PEER occasionally ends without the record (about 1 in
      // 200 here; JS clients showed 0 in 190): not this bug, so the app-level answer, one retry,
      // is taken; a second miss still fails the test.
      if (outcome === 'PEER_NOT_FOUND') outcome = await connectAndEcho(client, server.publicKey)
      await client.destroy()
      outcomes.push(outcome)
      // one failure is enough to know (and bounds the test): stop here
      if (outcome !== 'ok') break
    }
    assert.deepStrictEqual(outcomes, new Array(CLIENTS).fill('ok'), 'every early connect opens and echoes')
  })
}

nothingKeepsNodeAlive(test)
