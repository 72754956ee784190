'use strict'
// Long churn (issue 14 #7): connect/destroy cycles, with and without reusable sockets, destroying
// at every step. Afterwards every engine map that grows with connections drains to empty (the
// server keeps a handshake ~10-30 s for retransmits, so that is waited for), and RSS stays flat.
// CHURN_CYCLES overrides the cycle count (default 10,000).
const test = require('node:test')
const assert = require('node:assert')
const { RS, bootstrapper, persistentNode, cleanup, nothingKeepsNodeAlive } = require('./helpers')

const CYCLES = Number(process.env.CHURN_CYCLES) || 10000

function closed (s) {
  return new Promise((resolve) => s.once('close', resolve))
}

async function waitFor (what, check, ms) {
  const deadline = Date.now() + ms
  for (;;) {
    const v = check()
    if (v === true) return
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(v)}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

function empty (node) {
  const c = node._internalCounts()
  const busy = Object.entries(c).filter(([k, v]) => k !== 'relayCache' && v !== 0)
  return busy.length === 0 ? true : c
}

test(`${CYCLES} connect/destroy cycles (half with reusable sockets) leave every map empty and RSS flat`, async (t) => {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(RS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < 3; i++) nodes.push(persistentNode(RS, bootstrap))
  const sNode = persistentNode(RS, bootstrap)
  const cNode = new RS({ bootstrap, host: '127.0.0.1', port: 0 })
  nodes.push(sNode, cNode)
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))

  const serverClosed = new Set()
  const srv = sNode.createServer({ reusableSocket: true }, (conn) => {
    conn.on('error', () => {})
    const p = closed(conn)
    serverClosed.add(p)
    p.then(() => serverClosed.delete(p))
    conn.on('data', (d) => conn.write(d))
    conn.on('end', () => conn.end())
  })
  await srv.listen(RS.keyPair())

  let rssAtWarm = 0
  for (let i = 0; i < CYCLES; i++) {
    // a fresh client key each time: a route per key would pile up on the server
    const reusableSocket = i % 2 === 0
    const s = cNode.connect(srv.publicKey, { keyPair: RS.keyPair(), reusableSocket })
    s.on('error', () => {})
    const done = closed(s)
    switch (i % 4) {
      case 0: s.destroy(); break
      case 1: s.once('open', () => s.destroy()); break
      case 2: await new Promise((resolve) => setImmediate(resolve)); s.destroy(); break
      default: s.write('x'); s.end(); s.resume()
    }
    await done
    if (i === Math.floor(CYCLES / 5)) {
      global.gc?.()
      rssAtWarm = process.memoryUsage().rss
    }
  }
  await Promise.all([...serverClosed])
  await waitFor('client maps drain', () => empty(cNode), 15000)
  await waitFor('server maps drain', () => empty(sNode), 45000)
  assert.strictEqual(cNode._conns.size, 0)
  assert.strictEqual(sNode._conns.size, 0)
  global.gc?.()
  const grown = (process.memoryUsage().rss - rssAtWarm) / 1048576
  assert.ok(grown < 48, `RSS grew ${grown.toFixed(1)} MiB over the last ${CYCLES - Math.floor(CYCLES / 5)} cycles`)
  await srv.close()
})

nothingKeepsNodeAlive(test)
