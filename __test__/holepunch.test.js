'use strict'
// Holepunching through the JS API on mixed testnets, with hyperdht's `holepunch` veto functions on
// both ends. Both nodes stay firewalled (quickFirewall: false) and the LAN shortcut is off
// (localConnection: false), so the only way through is the PEER_HOLEPUNCH exchange; fastOpen is
// off so the veto is always reached (with it, the first probe may connect before the veto runs,
// as in hyperdht). On loopback every NAT looks CONSISTENT (FIREWALL.CONSISTENT = 2).
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('events')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const CONSISTENT = 2
const PUNCH = { localConnection: false, fastOpen: false }

async function firewalledPair (t, C, S) {
  const net = await mixedNet(t)
  const opts = { quickFirewall: false, ephemeral: true }
  const sNode = net.client(S, opts)
  const cNode = net.client(C, opts)
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  assert.strictEqual(sNode.firewalled, true, 'server node stays firewalled')
  assert.strictEqual(cNode.firewalled, true, 'client node stays firewalled')
  return { sNode, cNode }
}

function assertVetoArgs (args, who) {
  const [remoteFirewall, localFirewall, remoteAddresses, localAddresses] = args
  assert.strictEqual(remoteFirewall, CONSISTENT, who + ' remoteFirewall')
  assert.strictEqual(localFirewall, CONSISTENT, who + ' localFirewall')
  assert.ok(Array.isArray(remoteAddresses) && remoteAddresses.length > 0, who + ' remoteAddresses')
  assert.strictEqual(remoteAddresses[0].host, '127.0.0.1')
  assert.ok(Array.isArray(localAddresses) && localAddresses.length > 0, who + ' localAddresses')
  assert.ok(localAddresses[0].port > 0)
}

for (const [C, S, name] of [[RS, RS, 'Rust client -> Rust server'], [JS, RS, 'JS client -> Rust server'], [RS, JS, 'Rust client -> JS server']]) {
  test(`holepunch veto functions (${name}): asked with both NATs, allow punches, client veto aborts, server veto aborts`, async (t) => {
    const { sNode, cNode } = await firewalledPair(t, C, S)
    const serverCalls = []
    let serverAllows = true
    const server = sNode.createServer({
      holepunch: (...args) => { serverCalls.push(args); return serverAllows }
    }, (conn) => {
      conn.on('error', () => {})
      conn.on('data', (d) => conn.write(d))
      conn.on('end', () => conn.end())
    })
    await server.listen(S.keyPair())
    t.after(() => server.close())

    // both allow: the connection is punched
    const clientCalls = []
    const conn = cNode.connect(server.publicKey, { ...PUNCH, holepunch: (...args) => { clientCalls.push(args); return true } })
    conn.on('error', () => {})
    await once(conn, 'open')
    conn.write(Buffer.from('punched'))
    const [echo] = await once(conn, 'data')
    assert.strictEqual(echo.toString(), 'punched')
    assert.strictEqual(clientCalls.length, 1, 'client veto asked once')
    assertVetoArgs(clientCalls[0], 'client')
    assert.ok(serverCalls.length >= 1, 'server veto asked')
    assertVetoArgs(serverCalls[0], 'server')
    conn.destroy()

    // the client vetoes: HOLEPUNCH_ABORTED, the server is never asked
    const asked = serverCalls.length
    const c2 = cNode.connect(server.publicKey, { ...PUNCH, holepunch: () => false })
    const [e2] = await once(c2, 'error').catch((e) => [e])
    assert.strictEqual(e2.code, 'HOLEPUNCH_ABORTED')
    assert.strictEqual(serverCalls.length, asked, 'server veto not asked after a client veto')

    // the server vetoes: its abort reply fails the client's round, which (as in hyperdht's
    // connect.js) destroys the puncher and so surfaces as HOLEPUNCH_ABORTED too
    serverAllows = false
    const c3 = cNode.connect(server.publicKey, { ...PUNCH, holepunch: () => true })
    const [e3] = await once(c3, 'error').catch((e) => [e])
    assert.strictEqual(e3.code, 'HOLEPUNCH_ABORTED')
    assert.ok(serverCalls.length > asked, 'server veto asked')
  })
}

nothingKeepsNodeAlive(test)
