'use strict'
// Blind relays (`relayThrough`, hyperdht lib/connect.js relayConnection, lib/server.js
// _relayConnection): a client and a server that cannot punch (`holepunch: () => false`) connect
// through a relay node running the npm blind-relay server on `createRawStream({firewall})` +
// `relayTo`. Every mix of Rust and JS for the relay node, the server and the client, with the
// relay asked for by the server, the client, or both; 256 KiB echo byte-exact; the connection
// really is relayed (the relay server matched one pairing and links two streams) and the server
// counts the pairing in
// `stats.relaying`. The relay → direct upgrade is tested in crates/hyperdht/tests/relay_upgrade.rs.
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('node:events')
const RelayServer = require('blind-relay').Server
const { RS, JS, kindOf, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const IMPL = { rs: RS, js: JS }

async function relayNode (t, net, Impl) {
  const node = net.client(Impl, { quickFirewall: false, ephemeral: true })
  await node.ready()
  const relay = new RelayServer({ createStream: (opts) => node.createRawStream({ ...opts, framed: true }) })
  t.after(() => relay.close())
  const server = node.createServer((socket) => {
    relay.accept(socket, { id: socket.remotePublicKey }).on('error', () => {})
  })
  await server.listen()
  return { node, server, relay }
}

function pattern (n) {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 255
  return b
}

/** Writes `data` on `socket` (which the peer echoes), ends it once the echo is all back; resolves with the echo at `close`. */
function echoed (socket, data) {
  const chunks = []
  let got = 0
  socket.on('data', (d) => {
    chunks.push(d)
    got += d.length
    if (got >= data.length) socket.end()
  })
  socket.write(data)
  return once(socket, 'close').then(() => Buffer.concat(chunks))
}

async function relayedEcho (t, kinds, mode) {
  const net = await mixedNet(t)
  const r = await relayNode(t, net, IMPL[kinds[0]])
  const b = net.client(IMPL[kinds[1]], { quickFirewall: false, ephemeral: true })
  const c = net.client(IMPL[kinds[2]], { quickFirewall: false, ephemeral: true })
  await Promise.all([b.ready(), c.ready()])
  const relayKey = r.server.publicKey
  const serverPaths = []
  const server = b.createServer({
    holepunch: () => false,
    shareLocalAddress: false,
    relayThrough: mode === 'client' ? null : relayKey
  }, (socket) => {
    socket.on('error', () => {})
    if (kinds[1] === 'rs') serverPaths.push(socket.path)
    socket.pipe(socket)
  })
  await server.listen()
  const data = pattern(256 * 1024)
  const socket = c.connect(server.publicKey, {
    holepunch: () => false,
    fastOpen: false,
    localConnection: false,
    relayThrough: mode === 'server' ? null : relayKey
  })
  await once(socket, 'open')
  assert.strictEqual(r.relay.stats.pairings.matched, 1, 'the relay paired the two')
  assert.strictEqual(r.relay.stats.streams.active, 2, 'the relay links two streams')
  if (kinds[2] === 'rs') {
    assert.strictEqual(socket.path.type, 'relayed')
    assert.ok(socket.path.relayThrough.equals(relayKey), 'the path names the relay')
  }
  assert.ok((await echoed(socket, data)).equals(data), 'echo byte-exact through the relay')
  for (const p of serverPaths) {
    assert.strictEqual(p.type, 'relayed')
    assert.ok(p.relayThrough.equals(relayKey))
  }
  assert.deepStrictEqual(
    { attempts: b.stats.relaying.attempts, successes: b.stats.relaying.successes, aborts: b.stats.relaying.aborts },
    { attempts: 1, successes: 1, aborts: 0 }, `${kindOf(b)} server stats.relaying`)
}

// hyperdht reads server.relayThrough per handshake: a key assigned after listen() relays the next
// connection, and setting it back to null stops relaying (both punch-less sides then give up)
test('server.relayThrough assigned after listen() applies to the next handshakes (ours and JS alike)', { timeout: 60000 }, async (t) => {
  const outcome = async (kind, set) => {
    const net = await mixedNet(t)
    const r = await relayNode(t, net, JS)
    const b = net.client(IMPL[kind], { quickFirewall: false, ephemeral: true })
    const c = net.client(JS, { quickFirewall: false, ephemeral: true })
    await Promise.all([b.ready(), c.ready()])
    const server = b.createServer({ holepunch: () => false, shareLocalAddress: false, relayThrough: set ? null : r.server.publicKey }, (socket) => {
      socket.on('error', () => {})
      socket.pipe(socket)
    })
    await server.listen()
    server.relayThrough = set ? r.server.publicKey : null
    const socket = c.connect(server.publicKey, { holepunch: () => false, fastOpen: false, localConnection: false })
    const res = await new Promise((resolve) => {
      socket.once('open', () => resolve('open'))
      socket.once('error', (err) => resolve(err.code))
    })
    socket.destroy()
    return res + ', relay pairings ' + r.relay.stats.pairings.matched
  }
  for (const set of [true, false]) {
    const [js, rs] = await Promise.all([outcome('js', set), outcome('rs', set)])
    assert.strictEqual(js, set ? 'open, relay pairings 1' : 'HOLEPUNCH_ABORTED, relay pairings 0')
    assert.strictEqual(rs, js, set ? 'key assigned after listen' : 'null assigned after listen')
  }
})

const combos = [
  ['rs', 'rs', 'rs'],
  ['js', 'rs', 'js'],
  ['js', 'js', 'rs'],
  ['rs', 'js', 'js'],
  ['js', 'rs', 'rs']
]
for (const kinds of combos) {
  for (const mode of ['server', 'client', 'both']) {
    test(`relayed echo, relay ${kinds[0]}, server ${kinds[1]}, client ${kinds[2]}, relayThrough on ${mode}`, { timeout: 30000 }, (t) => relayedEcho(t, kinds, mode))
  }
}

// connect({createSecretStream}) through a blind relay: the dial pairs through the relay as
// usual and the app's secret-stream runs over the relayed raw stream; the relay connection ends
// with the app's stream.
for (const kind of ['rs', 'js']) {
  test(`rs client with its own secret-stream through a blind relay, ${kind} server`, { timeout: 30000 }, async (t) => {
    const NoiseSecretStream = require('@hyperswarm/secret-stream')
    const net = await mixedNet(t)
    const r = await relayNode(t, net, RS)
    const b = net.client(IMPL[kind], { quickFirewall: false, ephemeral: true })
    const c = net.client(RS, { quickFirewall: false, ephemeral: true })
    await Promise.all([b.ready(), c.ready()])
    const server = b.createServer({ holepunch: () => false, shareLocalAddress: false }, (socket) => {
      socket.on('error', () => {})
      socket.pipe(socket)
    })
    await server.listen()
    const made = []
    const socket = c.connect(server.publicKey, {
      holepunch: () => false,
      fastOpen: false,
      localConnection: false,
      relayThrough: r.server.publicKey,
      createSecretStream: (isInitiator, rawStream, opts) => {
        const s = new NoiseSecretStream(isInitiator, rawStream, opts)
        made.push(s)
        return s
      }
    })
    assert.strictEqual(made[0], socket)
    const data = pattern(256 * 1024)
    const echo = echoed(socket, data)
    await once(socket, 'open')
    assert.strictEqual(r.relay.stats.pairings.matched, 1, 'the relay paired the two')
    assert.ok((await echo).equals(data), 'echo byte-exact through the relay')
  })
}

// The relay node accepts the connection but is no blind relay (it hangs up after 500 ms), and
// the holepunch is vetoed: the connect fails once the relay gives up, with the blind-relay
// client's error (CHANNEL_CLOSED), like JS hyperdht (`onabort(err)`; a holepunch error is
// swallowed while a relay is pending).
for (const kind of ['rs', 'js']) {
  test(`${kind} client: a relay that never pairs and no punch fails with the relay's error`, { timeout: 30000 }, async (t) => {
    const net = await mixedNet(t)
    const r = net.client(JS, { quickFirewall: false, ephemeral: true })
    const b = net.client(JS, { quickFirewall: false, ephemeral: true })
    const c = net.client(IMPL[kind], { quickFirewall: false, ephemeral: true })
    await Promise.all([r.ready(), b.ready(), c.ready()])
    const notARelay = r.createServer((socket) => {
      socket.on('error', () => {})
      setTimeout(() => socket.destroy(), 500)
    })
    await notARelay.listen()
    const server = b.createServer({ holepunch: () => false, shareLocalAddress: false }, () => assert.fail('no connection'))
    await server.listen()
    const socket = c.connect(server.publicKey, {
      holepunch: () => false,
      fastOpen: false,
      localConnection: false,
      relayThrough: notARelay.publicKey
    })
    const [err] = await once(socket, 'error')
    assert.strictEqual(err.code, 'CHANNEL_CLOSED')
  })
}

nothingKeepsNodeAlive(test)

// `server._holepunches` (hyperdht's handshake state objects, by holepunch id): a client whose
// veto refuses to punch aborts the server's punch, which the entry records (`aborted`), beside
// its relay pairing; as upstream's relaying.js "client abort notifies remote".
for (const kind of ['rs', 'js']) {
  test(`${kind} server: _holepunches records a client's punch abort`, { timeout: 30000 }, async (t) => {
    const net = await mixedNet(t)
    const r = await relayNode(t, net, RS)
    const b = net.client(IMPL[kind], { quickFirewall: false, ephemeral: true })
    const c = net.client(RS, { quickFirewall: false, ephemeral: true })
    await Promise.all([b.ready(), c.ready()])
    const server = b.createServer({ relayThrough: r.server.publicKey, shareLocalAddress: false }, (socket) => {
      socket.on('error', () => {})
      socket.pipe(socket)
    })
    await server.listen()
    assert.deepStrictEqual(server._holepunches.filter(Boolean), [], 'no handshakes yet')
    const socket = c.connect(server.publicKey, { fastOpen: false, localConnection: false, holepunch: () => false })
    socket.on('error', () => {})
    const aborted = () => server._holepunches.find((hs) => hs && hs.aborted)
    const deadline = Date.now() + 10000
    while (!aborted()) {
      assert.ok(Date.now() < deadline, 'an aborted entry within 10 s: ' + JSON.stringify(server._holepunches.map((h) => h && { aborted: h.aborted, round: h.round, relayPaired: h.relayPaired })))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const hs = aborted()
    assert.strictEqual(typeof hs.round, 'number')
    const data = pattern(64 * 1024)
    assert.ok((await echoed(socket, data)).equals(data), 'the relayed connection carries on')
    // ours are snapshots (read again); upstream's the live objects
    const later = aborted()
    assert.ok(later, 'the entry stays while the connection is young (cleared 10 s after it connected)')
    assert.strictEqual(later.relayPaired, true, 'paired through the relay')
  })
}

// A relayed connection moves to the punched path and leaves the relay, with punching held back
// by wrapping `Holepuncher.prototype._punch` (each implementation's own lib/holepuncher, as
// upstream's relaying.js "relay connection upgrades to direct connection" does; ours runs the
// wrapper before the engine punches, lib/punch-hook.js) until data has crossed the relay. With
// `connectionKeepAlive: false` and nothing written after the switch, the ends' empty
// confirmation messages alone must close both relay connections.
const HP = { rs: require('../lib/holepuncher'), js: require('hyperdht/lib/holepuncher') }

function holdPunching (t, kinds, nodes) {
  let resume
  const resumed = new Promise((resolve) => { resume = resolve })
  for (const kind of new Set(kinds)) {
    const proto = HP[kind].prototype
    const punch = proto._punch
    proto._punch = async function () {
      if (nodes.includes(this.dht)) await resumed
      return punch.call(this)
    }
    t.after(() => { proto._punch = punch })
  }
  t.after(() => resume())
  return resume
}

for (const [ck, sk] of [['rs', 'rs'], ['js', 'rs'], ['rs', 'js'], ['js', 'js']]) {
  test(`idle relayed connection (client ${ck}, server ${sk}) upgrades once punching resumes and leaves the relay`, { timeout: 30000 }, async (t) => {
    const net = await mixedNet(t)
    const relayNodeDht = net.client(RS)
    await relayNodeDht.ready()
    const relay = new RelayServer({ createStream: (opts) => relayNodeDht.createRawStream({ ...opts, framed: true }) })
    t.after(() => relay.close())
    const relaySockets = []
    let bothRelaySockets
    const relaySocketsOpen = new Promise((resolve) => { bothRelaySockets = resolve })
    const relayTransport = relayNodeDht.createServer((socket) => {
      relaySockets.push(socket)
      if (relaySockets.length === 2) bothRelaySockets()
      relay.accept(socket, { id: socket.remotePublicKey }).on('error', () => {})
    })
    await relayTransport.listen()
    const opts = { quickFirewall: false, ephemeral: true, connectionKeepAlive: false }
    const b = net.client(IMPL[sk], opts)
    const c = net.client(IMPL[ck], opts)
    await Promise.all([b.ready(), c.ready()])
    const resume = holdPunching(t, [ck, sk], [b, c])
    let accepted
    const serverSide = new Promise((resolve) => { accepted = resolve })
    const server = b.createServer({ relayThrough: relayTransport.publicKey, shareLocalAddress: false }, (socket) => {
      socket.on('error', () => {})
      socket.on('data', (d) => socket.write(d))
      socket.on('end', () => socket.end())
      accepted(socket)
    })
    await server.listen()
    const client = c.connect(server.publicKey, { fastOpen: false, localConnection: false })
    client.on('error', () => {})
    const [serverSocket] = await Promise.all([serverSide, once(client, 'open')])
    await relaySocketsOpen
    assert.notStrictEqual(client.rawStream.remotePort, serverSocket.rawStream.localPort, 'the client starts on the relay')
    const echoed = once(client, 'data')
    client.write(Buffer.from('through the relay'))
    assert.deepStrictEqual((await echoed)[0], Buffer.from('through the relay'))

    const upgraded = [once(client.rawStream, 'remote-changed'), once(serverSocket.rawStream, 'remote-changed')]
    const relayClosed = relaySockets.map((s) => once(s, 'close'))
    resume()
    await Promise.all(upgraded)
    await Promise.all(relayClosed) // nothing written: the confirmations alone
    assert.strictEqual(client.rawStream.remotePort, serverSocket.rawStream.localPort, 'the client moved to the server')
    assert.strictEqual(serverSocket.rawStream.remotePort, client.rawStream.localPort, 'the server moved to the client')
    const direct = once(client, 'data')
    client.write(Buffer.from('direct'))
    assert.deepStrictEqual((await direct)[0], Buffer.from('direct'))
    client.end()
    await once(client, 'close')
  })
}
