'use strict'
// Bad input and process lifecycle (npm test runs this in a loopback-only netns).
const test = require('node:test')
const assert = require('node:assert')
const dgram = require('dgram')
const { spawnSync } = require('child_process')
const path = require('path')
const { RS, bootstrapper, cleanup, nothingKeepsNodeAlive } = require('./helpers')

test('random and truncated datagrams are dropped and counted; pings still answered', async (t) => {
  const nodes = []
  cleanup(t, nodes)
  const node = await bootstrapper(RS)
  nodes.push(node)
  const port = node.address().port
  const sock = dgram.createSocket('udp4')
  t.after(() => sock.close())
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve))

  // a valid ping captured from the JS encoder layout: 03 04 tid(2) to(6) 00
  const ping = Buffer.from('03043412' + '7f000001' + Buffer.from([port & 0xff, port >> 8]).toString('hex') + '00', 'hex')
  let seed = 12345
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
  const before = node.stats.io.dropped
  for (let i = 0; i < 3000; i++) {
    const len = rand() % 120
    const buf = Buffer.alloc(len)
    for (let j = 0; j < len; j++) buf[j] = rand() & 0xff
    if (len > 0 && i % 3 === 0) buf[0] = 0x03
    if (len > 0 && i % 3 === 1) buf[0] = 0x13
    const payload = i % 7 === 0 ? ping.subarray(0, rand() % ping.length) : buf
    sock.send(payload, port, '127.0.0.1')
    if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  // after the flood, a valid ping is answered. The flood may overrun the kernel's receive buffer
  // (UDP drops), so retransmit like a dht-rpc requester would.
  const reply = await new Promise((resolve, reject) => {
    let tries = 0
    const resend = setInterval(() => {
      if (++tries > 20) {
        clearInterval(resend)
        reject(new Error('no ping reply'))
        return
      }
      sock.send(ping, port, '127.0.0.1')
    }, 250)
    sock.on('message', (msg) => {
      if (msg[0] === 0x13 && msg.readUInt16LE(2) === 0x1234) {
        clearInterval(resend)
        resolve(msg)
      }
    })
    sock.send(ping, port, '127.0.0.1')
  })
  assert.strictEqual(reply[0], 0x13)
  assert.ok(node.stats.io.dropped > before, 'malformed datagrams were counted as dropped')
  // and the node still works through the API
  const client = new RS({ ephemeral: true, bootstrap: [{ host: '127.0.0.1', port }], host: '127.0.0.1', port: 0 })
  nodes.push(client)
  await client.fullyBootstrapped()
  const r = await client.ping({ host: '127.0.0.1', port })
  assert.strictEqual(r.from.port, port)
})

test('the process exits promptly after destroy()', () => {
  const script = `
    const DHT = require(${JSON.stringify(path.join(__dirname, '..'))})
    ;(async () => {
      const a = DHT.bootstrapper(${30000 + Math.floor(Math.random() * 1000)}, '127.0.0.1', { host: '127.0.0.1' })
      await a.fullyBootstrapped()
      const b = new DHT({ bootstrap: [{ host: '127.0.0.1', port: a.address().port }], host: '127.0.0.1', port: 0 })
      await b.fullyBootstrapped()
      for await (const r of b.findNode(DHT.hash(Buffer.from('x')))) {}
      await b.destroy()
      await a.destroy()
      console.log('destroyed')
    })()
  `
  const start = Date.now()
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf-8', timeout: 15000 })
  assert.strictEqual(r.status, 0, r.stderr)
  assert.match(r.stdout, /destroyed/)
  assert.ok(Date.now() - start < 10000)
})

// Every native object (server, connection, query, raw stream) holds its own ref'd event callback
// while it is live: all of them must let go on close/destroy, also those still open when their
// node is destroyed, or the process would hang here.
test('the process exits promptly after destroy() with servers, connections and raw streams used', () => {
  const script = `
    const DHT = require(${JSON.stringify(path.join(__dirname, '..'))})
    const createTestnet = require(${JSON.stringify(path.join(__dirname, '..', 'testnet.js'))})
    const { once } = require('events')
    ;(async () => {
      const testnet = await createTestnet(3)
      const [a, b] = [testnet.createNode(), testnet.createNode()]
      await Promise.all([a.fullyBootstrapped(), b.fullyBootstrapped()])
      const accepted = []
      const server = b.createServer((c) => { accepted.push(c); c.on('error', () => {}); c.on('data', (d) => c.write(d)) })
      await server.listen()
      const closedOne = a.connect(server.publicKey)
      closedOne.write('x')
      await once(closedOne, 'data')
      closedOne.destroy()
      await once(closedOne, 'close')
      const leftOpen = a.connect(server.publicKey)
      leftOpen.on('error', () => {})
      await once(leftOpen, 'open')
      const ra = a.createRawStream()
      const rb = b.createRawStream()
      ra.on('error', () => {})
      rb.on('error', () => {})
      ra.connect(a.io.serverSocket, rb.id, b.address().port, '127.0.0.1')
      rb.connect(b.io.serverSocket, ra.id, a.address().port, '127.0.0.1')
      ra.write('y')
      await once(rb, 'data')
      a.createRawStream() // never connected
      a.findNode(DHT.hash(Buffer.from('still running'))).on('error', () => {})
      await server.close()
      await testnet.destroy()
      console.log('destroyed', leftOpen.destroyed, accepted.every((c) => c.destroyed))
    })()
  `
  const start = Date.now()
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf-8', timeout: 15000 })
  assert.strictEqual(r.status, 0, r.stderr)
  assert.match(r.stdout, /destroyed true true/)
  assert.ok(Date.now() - start < 10000)
})

test('a node that is never destroyed keeps the process alive (like a socket)', () => {
  const script = `
    const DHT = require(${JSON.stringify(path.join(__dirname, '..'))})
    const a = new DHT({ bootstrap: [], host: '127.0.0.1', port: 0 })
    a.ready().then(() => console.log('ready'))
  `
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf-8', timeout: 1500 })
  assert.strictEqual(r.signal, 'SIGTERM', 'still running when the timeout hit')
  assert.match(r.stdout, /ready/)
})

test('operations in flight when the node is destroyed settle as in JS', async (t) => {
  const { JS, persistentNode } = require('./helpers')
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(RS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < 4; i++) nodes.push(persistentNode(RS, bootstrap))
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const outcomes = {}
  for (const [name, Impl] of [['js', JS], ['rs', RS]]) {
    const c = new Impl({ ephemeral: true, bootstrap, host: '127.0.0.1', port: 0 })
    await c.fullyBootstrapped()
    const settle = (p) => p.then((v) => ['resolved', v === undefined ? 'undefined' : v], (e) => ['rejected', e.message])
    const ops = {
      lookup: c.lookup(Buffer.alloc(32, 1)).finished(),
      lookupIterated: (async () => { let n = 0; for await (const r of c.lookup(Buffer.alloc(32, 2))) n += r ? 1 : 0; return n })(),
      immutableGet: c.immutableGet(Buffer.alloc(32, 3)),
      mutableGet: c.mutableGet(Buffer.alloc(32, 4)),
      immutablePut: c.immutablePut(Buffer.from('put while destroying')),
      announce: c.announce(Buffer.alloc(32, 5), Impl.keyPair()).finished()
    }
    for (const op of Object.keys(ops)) ops[op] = settle(ops[op])
    await c.destroy()
    outcomes[name] = {}
    for (const [op, p] of Object.entries(ops)) outcomes[name][op] = await p
  }
  assert.deepStrictEqual(outcomes.rs, outcomes.js)
})

nothingKeepsNodeAlive(test)
