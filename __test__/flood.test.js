'use strict'
// Hostile handshakes against a Rust server (issue 14 #3 and #6). The attacker speaks raw dht-rpc
// from a UDP socket, addressing PEER_HANDSHAKE requests straight to the server's node; the
// Noise message 1 bytes come from JS hyperdht's own NoiseWrap (a valid IK initiator message for
// the server's key) or are random.
const test = require('node:test')
const assert = require('node:assert')
const crypto = require('crypto')
const dgram = require('dgram')
const c = require('compact-encoding')
const NoiseWrap = require('hyperdht/lib/noise-wrap')
const jsMessages = require('hyperdht/lib/messages')
const { RS, bootstrapper, persistentNode, cleanup, echoServer, nothingKeepsNodeAlive } = require('./helpers')

const FROM_CLIENT = 0
const FROM_RELAY = 2
const OPEN = 1

/** A dht-rpc request frame: version 0 REQUEST, flags target|value, tid, to, command 0 (PEER_HANDSHAKE). */
function handshakeRequest (tid, to, target, value) {
  const head = Buffer.alloc(2 + 2 + 6)
  head[0] = 0x03
  head[1] = 0x08 | 0x10
  head.writeUInt16LE(tid, 2)
  to.host.split('.').forEach((b, i) => { head[4 + i] = Number(b) })
  head.writeUInt16LE(to.port, 8)
  return Buffer.concat([head, Buffer.from([0]), target, c.encode(c.buffer, value)])
}

function handshakeValue (mode, noise, peerAddress = null) {
  return c.encode(jsMessages.handshake, { mode, noise, peerAddress, relayAddress: null })
}

/** A valid Noise IK message 1 to `serverPk` from a fresh key, claiming to be OPEN. */
function validNoise1 (serverPk) {
  const wrap = new NoiseWrap(RS.keyPair(), serverPk)
  return wrap.send({
    version: 1,
    error: 0,
    firewall: OPEN,
    holepunch: null,
    addresses4: [],
    addresses6: [],
    udx: { version: 1, reusableSocket: false, id: 1 + Math.floor(Math.random() * 1e6), seq: 0 },
    secretStream: { version: 1 },
    relayThrough: null,
    relayAddresses: null
  })
}

async function udpSocket (t, host = '127.0.0.1') {
  const sock = dgram.createSocket('udp4')
  t.after(() => sock.close())
  await new Promise((resolve) => sock.bind(0, host, resolve))
  return sock
}

async function sendAll (sock, frames, to) {
  for (let i = 0; i < frames.length; i++) {
    sock.send(frames[i], to.port, to.host)
    if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function serverNet (t) {
  const nodes = []
  cleanup(t, nodes)
  const boot = await bootstrapper(RS)
  nodes.push(boot)
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  for (let i = 0; i < 3; i++) nodes.push(persistentNode(RS, bootstrap))
  const host = persistentNode(RS, bootstrap)
  nodes.push(host)
  await Promise.all(nodes.map((n) => n.fullyBootstrapped()))
  const server = echoServer(host)
  await server.listen()
  const client = new RS({ bootstrap, host: '127.0.0.1', port: 0 })
  nodes.push(client)
  await client.fullyBootstrapped()
  return { host, server, client, to: { host: '127.0.0.1', port: host.address().port } }
}

async function echoOnce (client, publicKey) {
  const conn = client.connect(publicKey)
  conn.on('error', () => {})
  conn.end(Buffer.from('still here'))
  const chunks = []
  for await (const d of conn) chunks.push(d)
  return Buffer.concat(chunks).toString()
}

test('2,000 undecryptable handshakes do not lock a server out: a legit connect right after succeeds', async (t) => {
  const { host, server, client, to } = await serverNet(t)
  const sock = await udpSocket(t)
  const target = RS.hash(server.publicKey)
  const frames = []
  for (let i = 0; i < 2000; i++) {
    const noise = crypto.randomBytes(96 + (i % 64))
    frames.push(handshakeRequest(i & 0xffff, to, target, handshakeValue(FROM_CLIENT, noise)))
  }
  await sendAll(sock, frames, to)
  assert.strictEqual(await echoOnce(client, server.publicKey), 'still here')
  // only the legit handshake holds a slot (before: all 1,024 were taken for 10 s each)
  assert.strictEqual(host._internalCounts().serverSlots, 1)
})

test('valid handshakes from one claimed host take a bounded share of the slots: another client still connects', async (t) => {
  const { server, client, to } = await serverNet(t)
  const sock = await udpSocket(t)
  const sink = await udpSocket(t, '127.0.0.9') // the claimed client address: a silent host
  const target = RS.hash(server.publicKey)
  const claimed = { host: '127.0.0.9', port: sink.address().port }
  const frames = []
  for (let i = 0; i < 1100; i++) {
    frames.push(handshakeRequest(i, to, target, handshakeValue(FROM_RELAY, validNoise1(server.publicKey), claimed)))
  }
  await sendAll(sock, frames, to)
  assert.strictEqual(await echoOnce(client, server.publicKey), 'still here')
})

test('a spoofed OPEN handshake makes the server send its victim at most a few datagrams', async (t) => {
  const { server, to } = await serverNet(t)
  const sock = await udpSocket(t)
  const victim = await udpSocket(t, '127.0.0.7')
  const target = RS.hash(server.publicKey)
  const claimed = { host: '127.0.0.7', port: victim.address().port }
  let received = 0
  let last = Date.now()
  victim.on('message', () => { received++; last = Date.now() })
  const N = 20
  const frames = []
  for (let i = 0; i < N; i++) {
    frames.push(handshakeRequest(i, to, target, handshakeValue(FROM_RELAY, validNoise1(server.publicKey), claimed)))
  }
  await sendAll(sock, frames, to)
  // wait until the victim heard something, then until it has been quiet for 3 s (a stream's
  // retransmission timer starts at 1 s and doubles), at most 12 s in all
  const start = Date.now()
  while (Date.now() - start < 12000 && (received === 0 || Date.now() - last < 3000)) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.ok(received > 0, 'the handshakes were answered (the streams sent their header)')
  assert.ok(received <= 3 * N, `${received} datagrams to the victim for ${N} spoofed handshakes`)
  assert.ok(Date.now() - last >= 3000, 'the server went quiet')
})

nothingKeepsNodeAlive(test)
