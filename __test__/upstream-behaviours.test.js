'use strict'
// Behaviours that upstream hyperdht checks with tests reaching into internals, checked here
// through the public API (and the lib/ modules upstream exposes): a refresh-only ANNOUNCE does not
// crash a storing node, a listening server does not flood the network in the background, and
// UDX-shaped garbage on a node's port leaves its connections and new connects working.
const test = require('node:test')
const assert = require('node:assert')
const dgram = require('dgram')
const { once } = require('events')
const c = require('compact-encoding')
const messages = require('../lib/messages')
const { COMMANDS } = require('../lib/constants')
const { RS, JS, bootstrapper, persistentNode, cleanup, mixedNet, echoServer, freePort, destroyUnbound, nothingKeepsNodeAlive } = require('./helpers')

/** A Rust bootstrapper plus `n` Rust persistent nodes, all destroyed with the test. */
async function rustNet (t, n) {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(RS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < n; i++) nodes.push(persistentNode(RS, bootstrap))
  await Promise.all(nodes.map((x) => x.fullyBootstrapped()))
  const client = (Impl = RS, opts = {}) => {
    const node = new Impl({ bootstrap, host: '127.0.0.1', port: 0, ...opts })
    nodes.push(node)
    return node
  }
  return { nodes, bootstrap, client }
}

test('a refresh-only ANNOUNCE (no peer) is answered or dropped; the storing node keeps serving', async (t) => {
  const net = await rustNet(t, 4)
  const client = net.client(JS) // upstream's own encoder sends it, as in upstream's test
  await client.fullyBootstrapped()
  const keyPair = RS.keyPair()
  const target = RS.hash(Buffer.from('refresh-only-test'))
  await client.announce(target, keyPair, []).finished()
  const replies = []
  for await (const r of client.lookup(target)) if (r.token) replies.push(r)
  assert.ok(replies.length > 0, 'storing nodes answered the lookup with tokens')
  const value = c.encode(messages.announce, { peer: null, refresh: Buffer.alloc(32), signature: null, bump: 0 })
  for (const r of replies) {
    await client.request({ command: COMMANDS.ANNOUNCE, target, token: r.token, value }, r.from, { retry: false }).catch(() => {})
    // the node that got it still answers and still serves the record
    const pong = await client.ping(r.from)
    assert.strictEqual(pong.from.port, r.from.port)
  }
  const after = []
  for await (const r of client.lookup(target)) after.push(...r.peers)
  assert.ok(after.some((p) => p.publicKey.equals(keyPair.publicKey)), 'the record is still served')
})

test('a listening server does not flood requests in the background (small network)', async (t) => {
  // upstream's case: fewer nodes than the announcer's minimum active set once made it re-announce
  // in a loop; count the requests the node sends in the 2 s after listen() resolved
  const net = await rustNet(t, 2)
  const node = net.client(RS)
  await node.fullyBootstrapped()
  const server = node.createServer()
  await server.listen()
  t.after(() => server.close())
  // io._tid counts the requests this node sent (mod 2^16, as dht-rpc's transaction ids)
  const start = node.io._tid
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const sent = (node.io._tid - start + 65536) % 65536
  assert.ok(sent < 50, `no background spam (saw ${sent} requests in 2 s)`)
})

test('UDX-shaped and random garbage on a node\'s port: its connection keeps working, new connects succeed', async (t) => {
  const net = await mixedNet(t)
  const sNode = net.client(RS)
  const cNode = net.client(RS)
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  const server = echoServer(sNode)
  await server.listen(RS.keyPair())
  t.after(() => server.close())
  const conn = cNode.connect(server.publicKey)
  conn.on('error', () => {})
  await once(conn, 'open')
  conn.write('before')
  assert.strictEqual(String((await once(conn, 'data'))[0]), 'before')

  const sock = dgram.createSocket('udp4')
  t.after(() => sock.close())
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve))
  let seed = 99
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
  for (const port of [sNode.address().port, cNode.address().port]) {
    for (let i = 0; i < 2000; i++) {
      const len = rand() % 1600
      const buf = Buffer.alloc(len)
      for (let j = 0; j < len; j++) buf[j] = rand() & 0xff
      // UDX header: magic 0xff, version 1, a packet type, then the stream id (often tiny ids)
      if (len >= 20 && i % 2 === 0) {
        buf[0] = 0xff
        buf[1] = 0x01
        buf[2] = [0x01, 0x02, 0x04, 0x10, 0x20, 0x08][i % 6]
        if (i % 4 === 0) buf.writeUInt32LE(rand() % 16, 4)
      }
      sock.send(buf, port, '127.0.0.1')
      if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
  }
  conn.write('after')
  assert.strictEqual(String((await once(conn, 'data'))[0]), 'after')
  const fresh = cNode.connect(server.publicKey)
  fresh.on('error', () => {})
  await once(fresh, 'open')
  fresh.write('new')
  assert.strictEqual(String((await once(fresh, 'data'))[0]), 'new')
  fresh.destroy()
  conn.destroy()
})

// hyperdht's LAN shortcut pings the server's local address through dht.ping(): an app that wraps
// ping sees it, and when that ping fails the connect falls back to holepunching.
for (const fail of [false, true]) {
  test(`LAN shortcut pings through dht.ping; ${fail ? 'a failed ping falls back to holepunching' : 'a good one connects directly'}`, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(RS, { quickFirewall: false, ephemeral: true })
    const cNode = net.client(RS, { quickFirewall: false, ephemeral: true })
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const server = echoServer(sNode)
    await server.listen(RS.keyPair())
    t.after(() => server.close())
    const serverPort = sNode.io.serverSocket.address().port // a firewalled node's address() is its client socket
    const ping = cNode.ping.bind(cNode)
    const lanPings = []
    cNode.ping = function (addr, opts) {
      if (addr.port === serverPort) {
        lanPings.push(addr)
        if (fail) return Promise.reject(new Error('LAN ping blocked'))
      }
      return ping(addr, opts)
    }
    let punched = false
    const conn = cNode.connect(server.publicKey, {
      fastOpen: false,
      holepunch () {
        punched = true
        return true
      }
    })
    conn.on('error', () => {})
    await once(conn, 'open')
    conn.write('hi')
    assert.strictEqual(String((await once(conn, 'data'))[0]), 'hi')
    assert.strictEqual(lanPings.length, 1, 'the shortcut pinged the server once, through dht.ping')
    assert.strictEqual(punched, fail, fail ? 'fell back to holepunching' : 'no holepunch needed')
    conn.destroy()
  })
}

// dht-rpc's query `_open` awaits the resolved bootstrap nodes, so hyperswarm's usual
// `new Hyperswarm(); swarm.join(topic)` (a lookup right after the node is made) finds peers.
// Ours used to end such a query at once with no replies about one time in five.
test('a lookup started right after construction (before ready) still finds the announced peer', async (t) => {
  const net = await rustNet(t, 6)
  const server = net.client(RS)
  await server.fullyBootstrapped()
  const topic = RS.hash(Buffer.from('lookup-before-ready'))
  const keyPair = RS.keyPair()
  await server.announce(topic, keyPair, []).finished()
  for (let i = 0; i < 30; i++) {
    const node = new RS({ bootstrap: net.bootstrap, host: '127.0.0.1', port: 0 })
    let peers = 0
    for await (const r of node.lookup(topic)) peers += r.peers.filter((p) => p.publicKey.equals(keyPair.publicKey)).length
    await node.destroy()
    assert.ok(peers > 0, 'try ' + i + ': the lookup found the peer')
  }
})

// dht-rpc binds in the background: the constructor returns, ready() and fullyBootstrapped()
// reject with udx-native's error, address() is null; with anyPort (the default) a taken port
// falls back to another one. Ours threw from the constructor (a "GenericFailure").
test('a port or host the node cannot bind rejects ready() as in JS; the constructor returns', async () => {
  const held = dgram.createSocket('udp4')
  await new Promise((resolve) => held.bind(0, '127.0.0.1', resolve))
  const port = held.address().port
  const seen = {}
  try {
    for (const [name, Impl] of [['JS', JS], ['RS', RS]]) {
      const out = []
      for (const opts of [{ port, anyPort: false }, { port }, { host: '10.9.9.9', port: await freePort() }]) {
        const node = new Impl({ host: '127.0.0.1', bootstrap: [], ...opts })
        const ready = await node.ready().then(() => 'ready', (e) => `rejected ${e.code}: ${e.message}`)
        const fully = await node.fullyBootstrapped().then(() => 'ready', (e) => `rejected ${e.code}`)
        const addr = node.address()
        out.push([ready, fully, addr === null ? 'no address' : addr.port === port ? 'the held port' : 'another port'])
        await destroyUnbound(node)
      }
      seen[name] = out
    }
  } finally {
    held.close()
  }
  assert.deepStrictEqual(seen.JS, [
    ['rejected EADDRINUSE: address already in use', 'rejected EADDRINUSE', 'no address'],
    ['ready', 'ready', 'another port'],
    ['rejected EADDRNOTAVAIL: address not available', 'rejected EADDRNOTAVAIL', 'no address']
  ])
  assert.deepStrictEqual(seen.RS, seen.JS)
})


nothingKeepsNodeAlive(test)
