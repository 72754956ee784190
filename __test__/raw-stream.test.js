'use strict'
// dht.createRawStream() / DHT.connectRawStream() (hyperdht index.js + lib/raw-stream-set.js) and
// rawStream.socket identity: raw UDX streams between Rust and JS nodes in every pairing, riding
// on an encrypted connection's path (the hyperdht test "create raw stream from encrypted stream").
const test = require('node:test')
const assert = require('node:assert')
const crypto = require('crypto')
const { once } = require('events')
const { RS, JS, kindOf, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const PAIRS = [[RS, RS], [RS, JS], [JS, RS]]

// server node of kind S, client node of kind C, one encrypted connection between them, both ends open
async function connected (t, S, C) {
  const { client } = await mixedNet(t)
  const a = client(S)
  const b = client(C)
  await Promise.all([a.fullyBootstrapped(), b.fullyBootstrapped()])
  const server = a.createServer()
  server.on('connection', (c) => c.on('error', () => {}))
  const serverSide = new Promise((resolve) => server.once('connection', resolve))
  await server.listen()
  const clientSide = b.connect(server.address().publicKey)
  clientSide.on('error', () => {})
  const [conn] = await Promise.all([serverSide, once(clientSide, 'open')])
  t.after(() => server.close())
  return { a, b, server, serverConn: conn, clientConn: clientSide }
}

// raw streams on both nodes, connected to each other through connectRawStream
function rawPair (net) {
  const ra = net.a.createRawStream()
  const rb = net.b.createRawStream()
  // a failed assertion leaves them open: the node teardown then resets them
  ra.on('error', () => {})
  rb.on('error', () => {})
  S(net.a).connectRawStream(net.serverConn, ra, rb.id)
  S(net.b).connectRawStream(net.clientConn, rb, ra.id)
  return [ra, rb]
}

function S (node) {
  return node.constructor
}

function collect (stream) {
  const chunks = []
  stream.on('data', (d) => chunks.push(d))
  return once(stream, 'end').then(() => Buffer.concat(chunks))
}

// resolves with the error the stream closed with (null = clean)
function closed (stream) {
  return new Promise((resolve) => {
    let error = null
    stream.on('error', (err) => { error = err })
    stream.once('close', () => resolve(error))
  })
}

async function writeAll (stream, data, chunk = 16384) {
  for (let i = 0; i < data.length; i += chunk) {
    if (!stream.write(data.subarray(i, i + chunk))) await once(stream, 'drain')
  }
  stream.end()
}

for (const [Srv, Cli] of PAIRS) {
  const label = `${kindOf(Object.create(Srv.prototype))} server, ${kindOf(Object.create(Cli.prototype))} client`

  test(`raw streams exchange exact bytes both ways, end and close cleanly (${label})`, { timeout: 60000 }, async (t) => {
    const net = await connected(t, Srv, Cli)
    const [ra, rb] = rawPair(net)
    assert.strictEqual(ra.connected, true)
    assert.strictEqual(rb.connected, true)
    assert.strictEqual(ra.remoteId, rb.id)
    assert.strictEqual(rb.remoteId, ra.id)
    const ab = crypto.randomBytes(1024 * 1024 + 123)
    const ba = crypto.randomBytes(700 * 1024 + 7)
    const closes = [closed(ra), closed(rb)]
    const got = [collect(rb), collect(ra)]
    await Promise.all([writeAll(ra, ab), writeAll(rb, ba)])
    const [atB, atA] = await Promise.all(got)
    assert.ok(atB.equals(ab), 'a -> b bytes exact')
    assert.ok(atA.equals(ba), 'b -> a bytes exact')
    const errs = await Promise.all(closes)
    assert.deepStrictEqual(errs, [null, null])
    assert.strictEqual(ra.connected, false)
    assert.strictEqual(rb.connected, false)
  })

  test(`raw stream data before the other side connects is delivered (${label})`, { timeout: 30000 }, async (t) => {
    const net = await connected(t, Srv, Cli)
    const ra = net.a.createRawStream()
    const rb = net.b.createRawStream()
    // a connects and writes while b is not connected yet (hyperdht's upstream test does this)
    S(net.a).connectRawStream(net.serverConn, ra, rb.id)
    ra.write('hello')
    const first = once(rb, 'data')
    S(net.b).connectRawStream(net.clientConn, rb, ra.id)
    const [data] = await first
    assert.strictEqual(data.toString(), 'hello')
    const closes = [closed(ra), closed(rb)]
    ra.destroy()
    rb.destroy()
    await Promise.all(closes)
  })
}

// The receiver reads nothing: with backpressure both ways the sender stalls with the receiver's
// readable buffer near its high-water mark, instead of the whole payload piling up in memory.
// Observed for 1.5 s (a slow machine can only make this pass vacuously, never fail), then the
// receiver reads and every byte arrives in order. Receivers are Rust: udx-native never stops
// reading (its `_read` is a no-op), so a JS receiver buffers whatever arrives, as upstream.
for (const [Snd, Rcv] of [[JS, RS], [RS, RS]]) {
  const label = `${kindOf(Object.create(Snd.prototype))} sender, ${kindOf(Object.create(Rcv.prototype))} receiver`
  test(`raw stream backpressure holds a sender whose receiver does not read (${label})`, { timeout: 60000 }, async (t) => {
    const net = await connected(t, Rcv, Snd)
    const [receiver, sender] = rawPair(net)
    const total = 32 * 1024 * 1024
    const data = crypto.randomBytes(total)
    let written = 0
    let done = false
    const writing = (async () => {
      for (let i = 0; i < total; i += 65536) {
        const ok = sender.write(data.subarray(i, i + 65536))
        written = i + 65536
        if (!ok) await once(sender, 'drain')
      }
      sender.end()
      done = true
    })()
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.strictEqual(done, false, `sender was not held back (${written} bytes written)`)
    // streamx keeps the readable buffer's byte count here (it has no readableLength). JS pauses
    // the native reader at its 1 MiB high-water mark; what was queued towards JS by then (at most
    // 3 MiB, src/flow.rs) still lands in the buffer, plus the one 64 KiB read in progress.
    const buffered = receiver._readableState.buffered
    assert.ok(buffered <= 4 * 1024 * 1024 + 65536, `receiver buffered ${buffered} bytes`)
    const got = await collect(receiver)
    await writing
    assert.ok(got.equals(data), 'all bytes in order')
    const closes = [closed(receiver), closed(sender)]
    receiver.end()
    await Promise.all(closes)
  })
}

// udx-native's stream getters on a raw stream, ours beside JS's: the counters count what went
// (bytes, packets, cwnd, inflight), toJSON has them, and they keep their last values once closed
test('raw stream counters (bytesTransmitted, packetsReceived, cwnd, ...) and every UDXStream getter, Rust beside JS', { timeout: 30000 }, async (t) => {
  const net = await connected(t, RS, JS)
  const [ra, rb] = rawPair(net)
  const UDXStream = require('udx-native/lib/stream')
  const getters = Object.entries(Object.getOwnPropertyDescriptors(UDXStream.prototype)).filter(([, d]) => d.get).map(([k]) => k)
  assert.deepStrictEqual(getters.filter((k) => !(k in ra)), [], 'getters missing on ours')
  const data = crypto.randomBytes(256 * 1024)
  const got = collect(rb)
  await writeAll(ra, data) // and ends
  assert.ok((await got).equals(data))
  for (const [s, k] of [[ra, 'bytesTransmitted'], [ra, 'packetsTransmitted'], [rb, 'bytesReceived'], [rb, 'packetsReceived']]) {
    assert.ok(s[k] >= (k.startsWith('bytes') ? data.length : data.length / 1500), `${kindOf(s === ra ? net.a : net.b)} ${k} ${s[k]}`)
  }
  assert.ok(ra.cwnd > 0 && typeof ra.inflight === 'number' && typeof ra.bbrState === 'number')
  assert.strictEqual(ra.toJSON().cwnd, ra.cwnd)
  const sent = ra.bytesTransmitted
  const closes = [closed(ra), closed(rb)]
  ra.destroy()
  rb.destroy()
  await Promise.all(closes)
  assert.ok(ra.bytesTransmitted >= sent, 'the last value once closed')
})

test('raw stream messages (send/trySend, message event), Rust <-> JS', { timeout: 30000 }, async (t) => {
  const net = await connected(t, RS, JS)
  const [ra, rb] = rawPair(net)
  const atJs = once(rb, 'message')
  assert.strictEqual(await ra.send(Buffer.from('from rust')), true)
  assert.strictEqual((await atJs)[0].toString(), 'from rust')
  const atRs = once(ra, 'message')
  rb.trySend(Buffer.from('from js'))
  assert.strictEqual((await atRs)[0].toString(), 'from js')
  const closes = [closed(ra), closed(rb)]
  ra.destroy()
  rb.destroy()
  await Promise.all(closes)
})

test('raw stream destroyed by the peer errors with ECONNRESET (JS destroys, Rust sees it)', { timeout: 30000 }, async (t) => {
  const net = await connected(t, RS, JS)
  const [ra, rb] = rawPair(net)
  // make sure both ends are live before the destroy
  const got = once(ra, 'data')
  rb.write('x')
  await got
  const closing = closed(ra)
  rb.destroy()
  const err = await closing
  assert.ok(err, 'errored')
  assert.strictEqual(err.code, 'ECONNRESET')
})

// the peer ends (our reader finishes) and then destroys: the reset must still reach us, as it
// does udx-native's stream; ours used to watch only its reader and writer, so a stream whose
// reader had finished stayed open until its next write
for (const Peer of [JS, RS]) {
  test(`raw stream: a ${Peer === RS ? 'Rust' : 'JS'} peer that ended and then destroyed resets ours after its end was read`, { timeout: 30000 }, async (t) => {
    const net = await connected(t, RS, Peer)
    const [ra, rb] = rawPair(net)
    const ended = once(ra, 'end')
    ra.resume()
    rb.end('bye')
    await ended
    const closing = closed(ra)
    rb.destroy()
    const timeout = new Promise((resolve) => setTimeout(() => resolve('still open after 10 s'), 10000).unref())
    const err = await Promise.race([closing, timeout])
    assert.ok(err && err.code === 'ECONNRESET', `errored with ECONNRESET (got ${err && (err.code || err)})`)
  })
}

test('dht.destroy() destroys raw streams (connected and not), the peer sees the stream go', { timeout: 30000 }, async (t) => {
  const net = await connected(t, RS, JS)
  const [ra, rb] = rawPair(net)
  const unconnected = net.a.createRawStream()
  const got = once(rb, 'data')
  ra.write('x')
  await got
  const closes = [closed(ra), closed(unconnected)]
  const peer = closed(rb)
  await net.a.destroy()
  assert.deepStrictEqual(await Promise.all(closes), [null, null])
  assert.strictEqual(ra.destroyed, true)
  assert.strictEqual(unconnected.destroyed, true)
  const err = await peer
  assert.ok(err && err.code === 'ECONNRESET', 'JS peer saw the DESTROY')
  assert.throws(() => net.a.createRawStream(), (e) => e.code === 'NODE_DESTROYED')
})

test('dht.suspend() destroys raw streams like rawStreams.clear()', { timeout: 30000 }, async (t) => {
  const net = await connected(t, JS, RS)
  const [ra, rb] = rawPair(net)
  const spare = net.b.createRawStream()
  const closes = [closed(rb), closed(spare)]
  const peer = closed(ra)
  await net.b.suspend()
  assert.deepStrictEqual(await Promise.all(closes), [null, null])
  assert.ok(await peer, 'JS peer errored')
  await net.b.resume()
})

test('connectRawStream throws STREAM_NOT_CONNECTED when the encrypted stream is not connected', { timeout: 30000 }, async (t) => {
  const net = await connected(t, JS, RS)
  const raw = net.b.createRawStream()
  t.after(() => raw.destroy())
  const gone = once(net.clientConn, 'close')
  net.clientConn.destroy()
  await gone
  assert.strictEqual(net.clientConn.rawStream.connected, false)
  assert.throws(() => RS.connectRawStream(net.clientConn, raw, 1), (e) => e.code === 'STREAM_NOT_CONNECTED')
  // not yet open: no raw stream at all
  const pending = net.b.connect(net.server.address().publicKey)
  pending.on('error', () => {})
  assert.throws(() => RS.connectRawStream(pending, raw, 1), (e) => e.code === 'STREAM_NOT_CONNECTED')
  pending.destroy()
  assert.strictEqual(raw.connected, false)
})

test('raw stream ids are non-zero and unique; unconnected writes fail like udx-native', { timeout: 30000 }, async (t) => {
  const { client } = await mixedNet(t)
  const node = client(RS)
  await node.fullyBootstrapped()
  const streams = []
  for (let i = 0; i < 200; i++) streams.push(node.createRawStream())
  const ids = new Set(streams.map((s) => s.id))
  assert.strictEqual(ids.size, 200)
  assert.ok(!ids.has(0))
  for (const s of streams) assert.strictEqual(s.connected, false)
  const s = streams[0]
  const errored = closed(s)
  s.write('too early')
  const err = await errored
  assert.strictEqual(err && err.code, 'ERR_ASSERTION')
  await Promise.all(streams.slice(1).map((r) => { const c = once(r, 'close'); r.destroy(); return c }))
})

test('rawStream.socket: one object per UDP socket (every stream of a node lives on its DHT socket)', { timeout: 30000 }, async (t) => {
  const net = await connected(t, JS, RS)
  const c1 = net.clientConn
  const c2 = net.b.connect(net.server.address().publicKey)
  c2.on('error', () => {})
  await once(c2, 'open')
  const sock = c1.rawStream.socket
  assert.ok(sock, 'socket set while connected')
  assert.strictEqual(c2.rawStream.socket, sock, 'same socket object for connections on the same socket')
  assert.strictEqual(net.b.io.serverSocket, sock)
  assert.strictEqual(sock.address().port, net.b.io.serverSocket.address().port)
  assert.strictEqual(sock.address().port, net.b.localAddress().port)
  assert.strictEqual(sock.address().family, 4)

  // a raw stream connected through the connection sits on the same socket
  const [ra, rb] = rawPair(net)
  assert.strictEqual(rb.socket, sock)
  assert.strictEqual(rb.localPort, sock.address().port)

  // another node: another socket
  const other = net.a.constructor === RS ? net.a : null
  if (other) assert.notStrictEqual(other.io.serverSocket, sock)

  const closes = [closed(ra), closed(rb), once(c2, 'close')]
  ra.destroy()
  rb.destroy()
  c2.destroy()
  await Promise.all(closes)
  assert.strictEqual(rb.socket, null)
})

test('rawStream.socket differs between two Rust nodes', { timeout: 30000 }, async (t) => {
  const net = await connected(t, RS, RS)
  assert.ok(net.serverConn.rawStream.socket)
  assert.ok(net.clientConn.rawStream.socket)
  assert.notStrictEqual(net.serverConn.rawStream.socket, net.clientConn.rawStream.socket)
  assert.strictEqual(net.serverConn.rawStream.socket, net.a.io.serverSocket)
  assert.strictEqual(net.clientConn.rawStream.socket, net.b.io.serverSocket)
})

nothingKeepsNodeAlive(test)
