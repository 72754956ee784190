'use strict'
// `socket.path` (not in hyperdht, hyperdht#303): how each side's connection was made. A server on
// a reachable node is connected to directly; two firewalled nodes holepunch (rounds and time
// recorded, NAT classes as the punch saw them). Relayed and upgraded paths: relay.test.js and
// crates/hyperdht/tests/relay_upgrade.rs. Also `dht.stats.connections` counts by path.
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('node:events')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

async function pair (t, serverOpts, clientOpts, { lan = true } = {}) {
  const net = await mixedNet(t)
  const b = net.client(RS, serverOpts)
  const c = net.client(RS, clientOpts)
  await Promise.all([b.ready(), c.ready()])
  const accepted = []
  const server = b.createServer({ shareLocalAddress: lan }, (s) => {
    accepted.push(s)
    s.on('error', () => {})
    s.end()
  })
  await server.listen()
  const socket = c.connect(server.publicKey, { localConnection: lan })
  socket.on('error', () => {})
  assert.strictEqual(socket.path, null, 'no path before open')
  await once(socket, 'open')
  socket.end()
  await once(socket, 'close')
  return { b, c, client: socket.path, server: accepted[0].path }
}

test('path: a reachable server is connected to directly', { timeout: 30000 }, async (t) => {
  const { client, server, c } = await pair(t, { firewalled: false }, {})
  assert.strictEqual(client.type, 'direct')
  assert.strictEqual(client.remoteFirewall, 'open', 'the server said it is reachable')
  assert.strictEqual(client.punchRounds, 0)
  assert.strictEqual(client.punchMs, null)
  assert.strictEqual(client.relayThrough, null)
  assert.strictEqual(server.type, 'direct')
  assert.ok(c.stats.connections.clientOpened.direct >= 1, 'counted by path')
})

test('path: two firewalled nodes on one host take the LAN path', { timeout: 30000 }, async (t) => {
  const fw = { quickFirewall: false, ephemeral: true }
  const { client, server } = await pair(t, fw, fw)
  assert.strictEqual(client.type, 'lan')
  assert.strictEqual(server.type, 'lan')
})

test('path: two firewalled nodes holepunch (no LAN shortcut)', { timeout: 30000 }, async (t) => {
  const fw = { quickFirewall: false, ephemeral: true }
  const { client, server, b, c } = await pair(t, fw, fw, { lan: false })
  assert.strictEqual(client.type, 'holepunched')
  assert.ok(client.punchRounds >= 1, 'rounds sent: ' + client.punchRounds)
  assert.ok(typeof client.punchMs === 'number' && client.punchMs >= 0)
  // a fast-open punch can win before either NAT analysis concluded ('unknown')
  const names = ['unknown', 'open', 'consistent', 'random']
  for (const p of [client, server]) {
    assert.ok(names.includes(p.localFirewall) && names.includes(p.remoteFirewall), JSON.stringify(p))
    assert.strictEqual(p.relayThrough, null)
  }
  assert.strictEqual(server.type, 'holepunched')
  assert.ok(typeof server.punchMs === 'number', 'the server punched too')
  assert.strictEqual(c.stats.connections.clientOpened.holepunched, 1)
  assert.strictEqual(b.stats.connections.serverOpened.holepunched, 1)
})

test('path: a JS client to a Rust server still gets a path on the server side', { timeout: 30000 }, async (t) => {
  const net = await mixedNet(t)
  const b = net.client(RS, { quickFirewall: false, ephemeral: true })
  const c = net.client(JS, { quickFirewall: false, ephemeral: true })
  await Promise.all([b.ready(), c.ready()])
  const server = b.createServer({ shareLocalAddress: false }, (s) => { s.on('error', () => {}); s.end() })
  await server.listen()
  const [conn] = await Promise.all([once(server, 'connection'), once(c.connect(server.publicKey, { localConnection: false }).on('error', () => {}), 'open')])
  assert.strictEqual(conn[0].path.type, 'holepunched')
})

nothingKeepsNodeAlive(test)
