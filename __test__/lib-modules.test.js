'use strict'
// hyperdht's internal modules that apps and upstream tests require by path (lib/messages,
// constants, errors, crypto, nat, holepuncher, plugin, noise-wrap), checked against hyperdht 6.34
// itself (a devDependency, used here only as the reference). No network needed.
const test = require('node:test')
const assert = require('node:assert')
const c = require('compact-encoding')

const m = require('../lib/messages')
const constants = require('../lib/constants')
const errors = require('../lib/errors')
const crypto = require('../lib/crypto')
const Nat = require('../lib/nat')
const Holepuncher = require('../lib/holepuncher')
const Plugin = require('../lib/plugin')
const NoiseWrap = require('../lib/noise-wrap')

const up = (name) => require('hyperdht/lib/' + name)

// A tiny deterministic PRNG so failures reproduce.
function prng (seed) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const fill = (n, s) => Buffer.alloc(n).fill(s)
const a4 = (host, port) => ({ host, port })

// --- messages -----------------------------------------------------------------------------------

const peerA = { publicKey: fill(32, 'abc'), relayAddresses: [a4('127.0.0.1', 4242), a4('8.1.4.1', 402)] }
const peerB = { publicKey: fill(32, 'another'), relayAddresses: [] }
const peerC = { publicKey: fill(32, 'z'), relayAddresses: [a4('255.255.255.255', 65535), a4('0.0.0.0', 0), a4('10.0.0.1', 1)] }

const noiseBase = {
  version: 1,
  error: 0,
  firewall: 0,
  holepunch: null,
  addresses4: [],
  addresses6: [],
  udx: null,
  secretStream: null,
  relayThrough: null,
  relayAddresses: null
}

const SAMPLES = {
  handshake: [
    { mode: 0, noise: fill(10, 'n'), peerAddress: null, relayAddress: null },
    { mode: 1, noise: fill(96, 'x'), peerAddress: a4('1.2.3.4', 1234), relayAddress: null },
    { mode: 3, noise: Buffer.alloc(0), peerAddress: null, relayAddress: a4('9.8.7.6', 65535) },
    { mode: 2, noise: fill(300, 'y'), peerAddress: a4('127.0.0.1', 49737), relayAddress: a4('192.168.1.1', 1) }
  ],
  noisePayload: [
    noiseBase,
    { ...noiseBase, firewall: 2, addresses4: [a4('127.0.0.1', 10240)] },
    {
      ...noiseBase,
      firewall: 2,
      holepunch: { id: 10, relays: [{ peerAddress: a4('1.2.3.4', 1425), relayAddress: a4('4.56.2.1', 4244) }] },
      addresses4: [a4('127.0.0.1', 10240), a4('10.0.0.2', 7)]
    },
    { ...noiseBase, firewall: 3, addresses6: [a4('0:0:0:0:0:0:0:1', 42420), a4('fe80:0:0:0:1:2:3:4', 80)] },
    { ...noiseBase, error: 3, addresses6: [a4('2001:db8:0:0:0:0:0:ff', 1)], relayAddresses: [] },
    { ...noiseBase, relayAddresses: [a4('127.0.0.1', 10240)] },
    {
      version: 1,
      error: 0,
      firewall: 1,
      holepunch: { id: 70000, relays: [] },
      addresses4: [a4('88.99.3.86', 49737)],
      addresses6: [a4('0:0:0:0:0:ffff:a00:1', 300)],
      udx: { version: 1, reusableSocket: true, id: 300, seq: 0 },
      secretStream: { version: 1 },
      relayThrough: { version: 1, publicKey: fill(32, 'r'), token: fill(32, 't') },
      relayAddresses: [a4('1.1.1.1', 1), a4('2.2.2.2', 2)]
    },
    { ...noiseBase, udx: { version: 1, reusableSocket: false, id: 2 ** 32 + 5, seq: 0xffff } },
    { ...noiseBase, error: 16, firewall: 252 }
  ],
  holepunch: [
    { mode: 0, id: 0, payload: Buffer.alloc(0), peerAddress: null },
    { mode: 1, id: 300, payload: fill(50, 'p'), peerAddress: a4('5.6.7.8', 9) },
    { mode: 2, id: 2 ** 40, payload: fill(2, 'q'), peerAddress: null }
  ],
  holepunchPayload: [
    { error: 0, firewall: 0, round: 0, connected: false, punching: false, addresses: null, remoteAddress: null, token: null, remoteToken: null },
    { error: 0, firewall: 0, round: 1, connected: false, punching: true, addresses: [a4('127.0.0.1', 10241)], remoteAddress: null, token: null, remoteToken: null },
    { error: 0, firewall: 0, round: 0, connected: false, punching: true, addresses: null, remoteAddress: null, token: null, remoteToken: fill(32, 'remote-token') },
    { error: 1, firewall: 3, round: 252, connected: true, punching: true, addresses: [], remoteAddress: a4('3.3.3.3', 33), token: fill(32, 'tok'), remoteToken: fill(32, 'rt') }
  ],
  peer: [peerA, peerB, peerC],
  peers: [[], [peerA, peerB], [peerC, peerA, peerB]],
  announce: [
    { peer: peerB, refresh: null, signature: null, bump: 0 },
    { peer: peerA, refresh: null, signature: fill(64, 'signature'), bump: 0 },
    { peer: peerB, refresh: fill(32, 'refresh'), signature: null, bump: 0 },
    { peer: null, refresh: fill(32, 'refresh'), signature: null, bump: 0 },
    { peer: peerC, refresh: fill(32, 'f'), signature: fill(64, 's'), bump: 1700000000000 },
    { peer: null, refresh: null, signature: null, bump: 253 }
  ],
  mutableSignable: [
    { seq: 0, value: Buffer.alloc(0) },
    { seq: 252, value: fill(5, 'v') },
    { seq: 2 ** 33, value: fill(1000, 'w') }
  ],
  mutablePutRequest: [
    { publicKey: fill(32, 'k'), seq: 0, value: fill(3, 'a'), signature: fill(64, 's') },
    { publicKey: fill(32, 'K'), seq: 65536, value: Buffer.alloc(0), signature: fill(64, 'S') }
  ],
  mutableGetResponse: [
    { seq: 1, value: fill(3, 'a'), signature: fill(64, 's') },
    { seq: 0xfd, value: fill(1001, 'b'), signature: fill(64, 'z') }
  ],
  pluginRequest: [
    { plugin: 'testplugin', version: 1, command: 0, value: fill(4, 'v') },
    { plugin: 'ünïcødé-plugin', version: 300, command: 70000, value: null },
    { plugin: '', version: 0, command: 1, value: Buffer.alloc(0) }
  ]
}

test('messages: exports exactly upstream\'s codecs (extras only as non-enumerable)', () => {
  assert.deepStrictEqual(Object.keys(m), Object.keys(up('messages')))
  for (const name of ['ipv4', 'ipv6', 'ipv4Array', 'ipv6Array']) {
    assert.strictEqual(typeof m[name].encode, 'function', name)
  }
})

for (const [name, values] of Object.entries(SAMPLES)) {
  test(`messages.${name}: same bytes and decodings as hyperdht`, () => {
    const ref = up('messages')[name]
    for (const value of values) {
      // preencode sizes agree
      const s1 = { start: 0, end: 0, buffer: null }
      const s2 = { start: 0, end: 0, buffer: null }
      m[name].preencode(s1, value)
      ref.preencode(s2, value)
      assert.strictEqual(s1.end, s2.end, 'preencode size')

      const ours = c.encode(m[name], value)
      const theirs = c.encode(ref, value)
      assert.deepStrictEqual(ours, theirs, 'bytes')

      // both decoders agree on the bytes (and with key order: compare JSON too)
      const d1 = c.decode(m[name], ours)
      const d2 = c.decode(ref, ours)
      assert.deepStrictEqual(d1, d2)
      assert.strictEqual(JSON.stringify(d1), JSON.stringify(d2), 'key order')
    }
  })
}

test('messages.peers / lookupRawReply: raw peers out, decoded peers in, bump optional', () => {
  const ref = up('messages')
  const raw = [peerA, peerB, peerC].map((p) => c.encode(m.peer, p))
  for (const bump of [0, 5, 1e6]) {
    const ours = c.encode(m.lookupRawReply, { peers: raw, bump })
    assert.deepStrictEqual(ours, c.encode(ref.lookupRawReply, { peers: raw, bump }))
    const d = c.decode(m.lookupRawReply, ours)
    assert.deepStrictEqual(d, c.decode(ref.lookupRawReply, ours))
    assert.deepStrictEqual(d, { peers: [peerA, peerB, peerC], bump })
  }
  // an old node's reply: just the peers array, bump reads as 0
  const old = c.encode(m.peers, [peerA])
  assert.deepStrictEqual(c.decode(m.lookupRawReply, old), { peers: [peerA], bump: 0 })
})

test('messages: multi-byte flag/mode/round fields are sized correctly', () => {
  // Upstream's preencode counts 1 byte for these (true for every value hyperdht itself writes) and
  // fails to encode larger ones; ours sizes them properly, same bytes wherever upstream works.
  const h = { ...SAMPLES.holepunchPayload[3], round: 1000, error: 300 }
  assert.deepStrictEqual(c.decode(m.holepunchPayload, c.encode(m.holepunchPayload, h)), h)
  const hs = { mode: 70000, noise: fill(3, 'n'), peerAddress: a4('1.2.3.4', 5), relayAddress: null }
  assert.deepStrictEqual(c.decode(m.handshake, c.encode(m.handshake, hs)), hs)
  const n = { ...noiseBase, error: 1000, firewall: 70000, relayAddresses: [a4('1.1.1.1', 1)] }
  assert.deepStrictEqual(c.decode(m.noisePayload, c.encode(m.noisePayload, n)), n)
})

test('messages.noisePayload: a newer version is returned unparsed', () => {
  const newer = Buffer.from([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
  const state = { start: 0, end: newer.byteLength, buffer: newer }
  const d = m.noisePayload.decode(state)
  assert.deepStrictEqual(d, { ...noiseBase, version: 2 })
  assert.deepStrictEqual(d, up('messages').noisePayload.decode({ start: 0, end: newer.byteLength, buffer: newer }))
  // the basic payload is 4 bytes, and the encoder moves state.start by exactly that
  const s = { start: 0, end: 0, buffer: null }
  m.noisePayload.preencode(s, noiseBase)
  assert.strictEqual(s.end, 4)
  s.buffer = Buffer.alloc(4)
  m.noisePayload.encode(s, noiseBase)
  assert.strictEqual(s.start, 4)
})

test('messages: truncated input throws like upstream', () => {
  const ref = up('messages')
  const buf = c.encode(m.announce, SAMPLES.announce[4])
  for (let cut = 0; cut < buf.length; cut++) {
    const piece = buf.subarray(0, cut)
    let a = null
    let b = null
    try { c.decode(m.announce, piece) } catch (err) { a = err.message }
    try { c.decode(ref.announce, piece) } catch (err) { b = err.message }
    assert.strictEqual(a, b, 'cut at ' + cut)
  }
})

// --- constants / errors / crypto ----------------------------------------------------------------

test('constants: every upstream export with the same values', () => {
  const ref = up('constants')
  for (const key of Object.keys(ref)) {
    assert.ok(key in constants, key)
    assert.deepStrictEqual({ ...constants[key] }, { ...ref[key] }, key)
  }
  assert.strictEqual(constants.COMMANDS.PLUGIN, 10)
})

test('errors: every upstream constructor, same code, message and name', () => {
  const Ref = up('errors')
  const statics = Object.getOwnPropertyNames(Ref).filter((k) => /^[A-Z_]+$/.test(k))
  assert.ok(statics.length > 20)
  for (const code of statics) {
    assert.strictEqual(typeof errors[code], 'function', code)
    const ours = errors[code]()
    const theirs = Ref[code]()
    assert.strictEqual(ours.code, theirs.code)
    assert.strictEqual(ours.message, theirs.message)
    assert.strictEqual(ours.name, theirs.name)
    assert.ok(ours instanceof Error && ours instanceof errors)
    assert.strictEqual(errors[code]('custom').message, Ref[code]('custom').message)
  }
})

test('crypto: key pairs from a seed and hashes equal hyperdht\'s', () => {
  const ref = up('crypto')
  assert.deepStrictEqual(Object.keys(crypto).sort(), Object.keys(ref).sort())
  const rand = prng(1)
  for (let i = 0; i < 5; i++) {
    const seed = Buffer.from(Array.from({ length: 32 }, () => (rand() * 256) | 0))
    assert.deepStrictEqual(crypto.createKeyPair(seed), ref.createKeyPair(seed))
    const data = seed.subarray(0, i * 7)
    assert.deepStrictEqual(crypto.hash(data), ref.hash(data))
    assert.deepStrictEqual(crypto.unslabbedHash(data), ref.unslabbedHash(data))
  }
  const kp = crypto.createKeyPair()
  assert.strictEqual(kp.publicKey.length, 32)
  assert.strictEqual(kp.secretKey.length, 64)
  assert.deepStrictEqual(kp.secretKey.subarray(32), kp.publicKey)
  assert.notDeepStrictEqual(crypto.createKeyPair().publicKey, kp.publicKey)
  assert.throws(() => crypto.createKeyPair(Buffer.alloc(31)))
  assert.throws(() => crypto.hash('not a buffer'))
})

// --- nat ----------------------------------------------------------------------------------------

function natState (n) {
  return { sampled: n.sampled, firewall: n.firewall, addresses: n.addresses && n.addresses.map((a) => ({ ...a })) }
}

test('nat: upstream\'s test cases', () => {
  const { FIREWALL } = constants
  const open = new Nat({ firewalled: false }, null, null)
  assert.strictEqual(open.sampled, 0)
  assert.strictEqual(open.firewall, FIREWALL.OPEN)

  const run = (steps) => {
    const nat = new Nat({ firewalled: true }, null, null)
    for (const [addrPort, fromPort, addrHost = '127.0.0.1'] of steps) {
      nat.add(a4(addrHost, addrPort), a4('127.0.0.1', fromPort))
    }
    return nat
  }

  let nat = run([[8080, 8080], [8080, 8080], [8081, 8081]])
  assert.deepStrictEqual(natState(nat), { sampled: 2, firewall: FIREWALL.UNKNOWN, addresses: null })
  nat = run([[8080, 8080], [8081, 8081], [8082, 8082]])
  assert.deepStrictEqual(natState(nat), { sampled: 3, firewall: FIREWALL.RANDOM, addresses: [{ host: '127.0.0.1', port: 0, hits: 3 }] })
  nat = run([[8080, 8080], [8080, 8081], [8080, 8082]])
  assert.deepStrictEqual(natState(nat), { sampled: 3, firewall: FIREWALL.CONSISTENT, addresses: [{ host: '127.0.0.1', port: 8080, hits: 3 }] })
  nat = run([[8080, 8080], [8081, 8081], [8080, 8082], [8080, 8083]])
  assert.deepStrictEqual(natState(nat).addresses, [{ host: '127.0.0.1', port: 8080, hits: 3 }, { host: '127.0.0.1', port: 8081, hits: 1 }])
  nat = run([[8080, 8080], [8081, 8081, '127.0.0.2'], [8080, 8082], [8081, 8083, '127.0.0.2']])
  assert.deepStrictEqual(natState(nat), {
    sampled: 4,
    firewall: FIREWALL.CONSISTENT,
    addresses: [{ host: '127.0.0.1', port: 8080, hits: 2 }, { host: '127.0.0.2', port: 8081, hits: 2 }]
  })
  nat = run([[8080, 8080], [8080, 8081], [8081, 8082], [8082, 8083]])
  assert.deepStrictEqual(natState(nat), { sampled: 4, firewall: FIREWALL.RANDOM, addresses: [{ host: '127.0.0.1', port: 0, hits: 4 }] })
})

test('nat: random sample sequences classify like upstream at every step', async () => {
  const Ref = up('nat')
  const rand = prng(42)
  for (let round = 0; round < 400; round++) {
    const firewalled = rand() < 0.9
    const dht = { firewalled }
    const ours = new Nat(dht, null, null)
    const theirs = new Ref(dht, null, null)
    let resolvedOurs = false
    let resolvedTheirs = false
    ours.analyzing.then(() => { resolvedOurs = true })
    theirs.analyzing.then(() => { resolvedTheirs = true })

    const steps = 1 + Math.floor(rand() * 9)
    for (let i = 0; i < steps; i++) {
      const addr = a4('10.0.0.' + Math.floor(rand() * 3), 5000 + Math.floor(rand() * 3))
      const from = a4('1.1.1.' + Math.floor(rand() * 6), 49737)
      const op = rand()
      if (op < 0.05) { ours.freeze(); theirs.freeze() } else if (op < 0.1) { ours.unfreeze(); theirs.unfreeze() } else if (op < 0.13) {
        dht.firewalled = !dht.firewalled
        ours.update()
        theirs.update()
      }
      ours.add(addr, from)
      theirs.add(addr, from)
      assert.deepStrictEqual(natState(ours), natState(theirs), `round ${round} step ${i}`)
      assert.deepStrictEqual(ours._samplesFull, theirs._samplesFull)
      assert.deepStrictEqual(ours._samplesHost, theirs._samplesHost)
      await null
      await null
      assert.strictEqual(resolvedOurs, resolvedTheirs, `analyzing, round ${round} step ${i}`)
    }
  }
})

// A routing table shaped like dht-rpc's (linked list, newest first) and a session whose pings
// answer with a scripted address per node (or fail).
function fakeTable (count, seen) {
  let latest = null
  const nodes = []
  for (let i = 0; i < count; i++) {
    const node = { host: '2.2.2.' + i, port: 1000 + i, prev: latest }
    latest = node
    nodes.push(node)
  }
  const dht = { firewalled: true, nodes: { latest, length: count } }
  const pinged = []
  const session = {
    ping (node, opts) {
      pinged.push(node.host + ':' + node.port)
      const to = seen(node)
      if (!to) return Promise.reject(new Error('timeout'))
      return Promise.resolve({ to, from: { host: node.host, port: node.port } })
    }
  }
  return { dht, session, pinged }
}

test('nat: autoSample pings the same nodes and reaches the same verdict as upstream', async () => {
  const Ref = up('nat')
  const scripts = [
    () => a4('9.9.9.9', 4000), // consistent
    (node) => a4('9.9.9.9', node.port + 7), // random
    (node) => (node.port % 2 ? null : a4('9.9.9.9', 4000)), // half the pings fail
    () => null // nothing answers: gives up after one retry
  ]
  for (const count of [0, 3, 7, 8, 20]) {
    for (const seen of scripts) {
      const a = fakeTable(count, seen)
      const b = fakeTable(count, seen)
      const ours = new Nat(a.dht, a.session, 'sock')
      const theirs = new Ref(b.dht, b.session, 'sock')
      ours.autoSample()
      theirs.autoSample()
      await Promise.all([ours.analyzing, theirs.analyzing])
      await new Promise((resolve) => setImmediate(resolve))
      assert.deepStrictEqual(a.pinged, b.pinged, `pinged, ${count} nodes`)
      assert.deepStrictEqual(natState(ours), natState(theirs))
      ours.destroy()
      theirs.destroy()
    }
  }
})

test('nat: destroy resolves analyzing', async () => {
  const nat = new Nat({ firewalled: true }, null, null)
  nat.destroy()
  await nat.analyzing
  assert.strictEqual(nat._minSamples, 0)
})

// --- holepuncher --------------------------------------------------------------------------------

test('holepuncher: matchAddress agrees with upstream', () => {
  const Ref = up('holepuncher')
  const fixed = [
    [[], []],
    [[{ host: '192.168.122.238' }], []],
    [[{ host: '192.168.0.23' }, { host: '192.168.122.1' }, { host: '172.17.0.1' }], [{ host: '192.168.122.238' }]],
    [[{ host: '192.168.122.238' }], [{ host: '192.168.0.23' }, { host: '192.168.122.1' }, { host: '172.17.0.1' }]],
    [[{ host: '10.0.2.3' }], [{ host: '192.168.0.23' }, { host: '172.16.1.1' }, { host: '10.4.5.6' }, { host: '10.0.5.6' }]],
    [[{ host: '192.168.122.238' }], [{ host: '172.16.1.1' }, { host: '10.0.0.5' }]]
  ]
  for (const [x, y] of fixed) assert.strictEqual(Holepuncher.matchAddress(x, y), Ref.matchAddress(x, y))
  assert.deepStrictEqual(Holepuncher.matchAddress([{ host: '192.168.122.238' }], [{ host: '192.168.0.23' }, { host: '192.168.122.1' }]), { host: '192.168.122.1' })

  const rand = prng(7)
  const ip = () => [10, 10, 192, 172][Math.floor(rand() * 4)] + '.' + Math.floor(rand() * 3) + '.' + Math.floor(rand() * 3) + '.' + Math.floor(rand() * 250)
  for (let i = 0; i < 3000; i++) {
    const x = Array.from({ length: Math.floor(rand() * 4) }, () => ({ host: ip() }))
    const y = Array.from({ length: Math.floor(rand() * 5) }, () => ({ host: ip() }))
    assert.strictEqual(Holepuncher.matchAddress(x, y), Ref.matchAddress(x, y), JSON.stringify([x, y]))
  }
})

test('holepuncher: class shape, localAddresses and ping like upstream', async () => {
  const Ref = up('holepuncher')
  for (const name of ['_punch', 'punch', 'analyze', 'updateRemote', 'destroy', 'ping', 'openSession']) {
    assert.strictEqual(typeof Holepuncher.prototype[name], 'function', name)
  }
  // patching the prototype (as upstream's relaying test does) must work
  const orig = Holepuncher.prototype._punch
  Holepuncher.prototype._punch = async function () { return 'patched' }
  Holepuncher.prototype._punch = orig

  const nics = [
    { family: 4, internal: true, host: '127.0.0.1' },
    { family: 6, internal: false, host: 'fe80::1' },
    { family: 4, internal: false, host: '192.168.1.5' },
    { family: 4, internal: false, host: '10.0.0.9' }
  ]
  const sent = []
  const sock = (host, list) => ({
    address: () => ({ host, port: 4321 }),
    udx: { networkInterfaces: () => list },
    send: (buf, port, h, ttl) => { sent.push([[...buf], port, h, ttl]); return Promise.resolve(true) }
  })
  for (const [host, list] of [['127.0.0.1', nics], ['0.0.0.0', nics], ['0.0.0.0', nics.slice(0, 2)]]) {
    assert.deepStrictEqual(Holepuncher.localAddresses(sock(host, list)), Ref.localAddresses(sock(host, list)))
  }
  await Holepuncher.ping(sock('0.0.0.0', []), a4('1.2.3.4', 5))
  await Ref.ping(sock('0.0.0.0', []), a4('1.2.3.4', 5))
  assert.deepStrictEqual(sent[0], sent[1])

  // instances: remote tracking as upstream, never punch by themselves
  const hp = new Holepuncher({ firewalled: true }, null, true)
  hp.updateRemote({ punching: true, firewall: 2, addresses: [a4('1.1.1.1', 1), a4('2.2.2.2', 2)], verified: '1.1.1.1' })
  hp.updateRemote({ punching: false, firewall: 2, addresses: [a4('1.1.1.1', 3), a4('2.2.2.2', 4)], verified: null })
  assert.deepStrictEqual(hp.remoteAddresses, [{ host: '1.1.1.1', port: 3, verified: true }, { host: '2.2.2.2', port: 4, verified: false }])
  assert.strictEqual(await hp.punch(), false)
  let aborted = 0
  hp.onabort = () => aborted++
  hp.destroy()
  hp.destroy()
  assert.strictEqual(aborted, 1)
})

// --- plugin -------------------------------------------------------------------------------------

test('plugin: same shape and the same dht.request / dht.query calls as upstream', () => {
  const Ref = up('plugin')
  const calls = (P) => {
    const log = []
    const dht = {
      request: (...args) => { log.push(['request', ...args]); return 'req' },
      query: (...args) => { log.push(['query', ...args]); return 'q' }
    }
    const p = new P('myplugin', 3)
    assert.strictEqual(p.dht, null)
    p.onregister(dht)
    assert.strictEqual(p.dht, dht)
    assert.strictEqual(p.request({ command: 1, value: Buffer.from('v'), token: fill(32, 't'), target: fill(32, 'g') }, a4('1.2.3.4', 5), { retry: false }), 'req')
    assert.strictEqual(p.request({ command: 0 }, a4('1.2.3.4', 5)), 'req')
    assert.strictEqual(p.query({ command: 2, target: fill(32, 'g') }, { map: String }), 'q')
    assert.strictEqual(p.query({ command: 7, value: Buffer.alloc(0) }), 'q')
    const errs = ['onrequest', 'onpersistent', 'destroy'].map((fn) => {
      try { p[fn]() } catch (err) { return err.message }
      return null
    })
    return { log, errs, keys: Object.keys(p) }
  }
  const ours = calls(Plugin)
  const theirs = calls(Ref)
  assert.deepStrictEqual(ours, theirs)
  assert.strictEqual(ours.log[0][1].command, constants.COMMANDS.PLUGIN)
  assert.deepStrictEqual(c.decode(m.pluginRequest, ours.log[0][1].value), { plugin: 'myplugin', version: 3, command: 1, value: Buffer.from('v') })

  class Sub extends Plugin {
    constructor () { super('sub', 1) }
    onrequest (req) { return req.command }
  }
  assert.strictEqual(new Sub().onrequest({ command: 4 }), 4)
})

// --- noise-wrap ---------------------------------------------------------------------------------

test('noise-wrap: handshakes with upstream\'s NoiseWrap both ways, same keys and ids', () => {
  const Ref = up('noise-wrap')
  const NoiseSecretStream = require('@hyperswarm/secret-stream')
  const payloadA = { ...SAMPLES.noisePayload[6] }
  const payloadB = { ...noiseBase, firewall: 1, addresses4: [a4('127.0.0.1', 5555)] }

  for (const [I, R] of [[NoiseWrap, Ref], [Ref, NoiseWrap], [NoiseWrap, NoiseWrap]]) {
    const serverKeys = crypto.createKeyPair()
    const clientKeys = crypto.createKeyPair()
    const client = new I(clientKeys, serverKeys.publicKey)
    const server = new R(serverKeys, null)
    assert.strictEqual(client.isInitiator, true)
    assert.strictEqual(server.isInitiator, false)
    assert.throws(() => client.final(), /HANDSHAKE_UNFINISHED/)

    const m1 = client.send(payloadA)
    assert.deepStrictEqual(server.recv(m1), payloadA)
    assert.deepStrictEqual(server.remotePublicKey, clientKeys.publicKey)
    const m2 = server.send(payloadB)
    assert.deepStrictEqual(client.recv(m2), payloadB)

    const fc = client.final()
    const fs = server.final()
    assert.deepStrictEqual(Object.keys(fc), Object.keys(fs))
    assert.deepStrictEqual(fc.hash, fs.hash)
    assert.deepStrictEqual(fc.tx, fs.rx)
    assert.deepStrictEqual(fc.rx, fs.tx)
    assert.deepStrictEqual(fc.holepunchSecret, fs.holepunchSecret)
    assert.deepStrictEqual(fc.remotePublicKey, serverKeys.publicKey)
    assert.deepStrictEqual(fs.remotePublicKey, clientKeys.publicKey)
    assert.deepStrictEqual(fc.remoteId, NoiseSecretStream.id(fc.hash, false))
    assert.deepStrictEqual(fs.remoteId, NoiseSecretStream.id(fs.hash, true))
    assert.strictEqual(fc.isInitiator, true)
    assert.strictEqual(fc.streamId, undefined)
  }
})

// --- persistent ---------------------------------------------------------------------------------

test('persistent: the static signing helpers give upstream\'s signatures, with every kind of signer', () => {
  const Persistent = require('../lib/persistent')
  const Ref = up('persistent')
  const kp = require('..').keyPair(Buffer.alloc(32, 3))
  const [target, token, id] = [1, 2, 3].map((b) => Buffer.alloc(32, b))
  const anns = [
    { peer: { publicKey: kp.publicKey, relayAddresses: [] }, refresh: null, signature: null },
    { peer: { publicKey: kp.publicKey, relayAddresses: [{ host: '10.0.0.1', port: 4000 }] }, refresh: null, signature: null }
  ]
  for (const ann of anns) {
    for (const key of [kp, kp.secretKey]) {
      assert.deepStrictEqual(Persistent.signAnnounce(target, token, id, ann, key), Ref.signAnnounce(target, token, id, ann, key))
      assert.deepStrictEqual(Persistent.signUnannounce(target, token, id, ann, key), Ref.signUnannounce(target, token, id, ann, key))
    }
  }
  const sig = Persistent.signMutable(7, Buffer.from('value'), kp)
  assert.deepStrictEqual(sig, Ref.signMutable(7, Buffer.from('value'), kp))
  assert.strictEqual(Persistent.verifyMutable(sig, 7, Buffer.from('value'), kp.publicKey), true)
  assert.strictEqual(Persistent.verifyMutable(sig, 8, Buffer.from('value'), kp.publicKey), false)
  // a key pair's own sign() is used when it has one, as upstream does
  const signables = []
  const viaSign = { publicKey: kp.publicKey, sign: (signable) => { signables.push(signable); return Buffer.alloc(64, 9) } }
  assert.deepStrictEqual(Persistent.signAnnounce(target, token, id, anns[0], viaSign), Buffer.alloc(64, 9))
  assert.deepStrictEqual(Ref.signAnnounce(target, token, id, anns[0], viaSign), Buffer.alloc(64, 9))
  assert.deepStrictEqual(signables[0], signables[1])
  assert.throws(() => new Persistent())
})

test('encode: encodeUnslab gives the same bytes in a buffer of its own', () => {
  const { encodeUnslab } = require('../lib/encode')
  const ref = up('encode')
  for (const value of SAMPLES.announce) {
    const buf = encodeUnslab(m.announce, value)
    assert.deepStrictEqual(buf, ref.encodeUnslab(m.announce, value))
    assert.strictEqual(buf.byteOffset, 0)
    assert.strictEqual(buf.buffer.byteLength, buf.byteLength)
  }
})
