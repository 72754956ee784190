'use strict'
// Message boundaries under two-way traffic, the pattern hypercore replication produces without
// hypercore: a client keeps small requests in flight and reads slowly, the server answers each
// one with a single write of up to 1 MiB and, like hypercore's replicator, holds requests back
// while its writes are backpressured (write() returned false) until `drain`.
// NoiseSecretStream makes every write one frame, delivered as one `data` event, and protomux
// relies on it; ours split writes above 64 KiB into several frames, so hypercore peers decoded
// half messages ("Out of bounds") and replication from a Rust writer never completed.
const test = require('node:test')
const assert = require('node:assert')
const { once } = require('events')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const SIZES = [1024, 65536 + 300, 200 * 1024, 17, 1024 * 1024, 65536 - 20, 70000]
const RESPONSES = 240
const IN_FLIGHT = 16

function fill (buf, seed) {
  for (let i = 0; i < buf.length; i += 4096) buf[i] = (seed + i / 4096) & 0xff
  return buf
}

function response (id, size) {
  const b = Buffer.alloc(8 + size)
  b.writeUInt32LE(id, 0)
  b.writeUInt32LE(size, 4)
  fill(b.subarray(8), id)
  return b
}

/** Answers every 8-byte request (id, size) with one write; queues requests while not drained. */
function serve (conn) {
  const queue = []
  let drained = true
  conn.on('error', () => {})
  conn.on('data', (req) => {
    assert.strictEqual(req.length, 8, 'requests arrive whole')
    queue.push(req)
    flush()
  })
  conn.on('drain', () => {
    drained = true
    flush()
  })
  function flush () {
    while (drained && queue.length > 0) {
      const req = queue.shift()
      drained = conn.write(response(req.readUInt32LE(0), req.readUInt32LE(4)))
    }
  }
}

for (const [S, C] of [[RS, JS], [JS, RS], [RS, RS], [JS, JS]]) {
  const name = `${S === RS ? 'Rust' : 'JS'} server -> ${C === RS ? 'Rust' : 'JS'} client`
  test(`framing: each write arrives as one data event under request/response backpressure (${name})`, { timeout: 60000 }, async (t) => {
    const net = await mixedNet(t)
    const sNode = net.client(S)
    const cNode = net.client(C)
    await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
    const server = sNode.createServer(serve)
    await server.listen(S.keyPair())
    t.after(() => server.close())

    const conn = cNode.connect(server.publicKey)
    conn.on('error', () => {})
    t.after(() => conn.destroy())
    await once(conn, 'open')

    let sent = 0
    let got = 0
    const request = () => {
      const req = Buffer.alloc(8)
      req.writeUInt32LE(sent, 0)
      req.writeUInt32LE(SIZES[sent % SIZES.length], 4)
      sent++
      conn.write(req)
    }
    const done = new Promise((resolve, reject) => {
      conn.on('close', () => reject(new Error(`closed after ${got} responses`)))
      conn.on('data', (d) => {
        try {
          assert.ok(d.length >= 8, `response ${got}: ${d.length} bytes`)
          const id = d.readUInt32LE(0)
          const size = d.readUInt32LE(4)
          assert.strictEqual(id, got, 'responses in order')
          assert.strictEqual(size, SIZES[id % SIZES.length])
          assert.strictEqual(d.length, 8 + size, `response ${id} arrived as one data event`)
          assert.ok(d.equals(response(id, size)), `response ${id} byte-exact`)
        } catch (err) {
          reject(err)
          return
        }
        got++
        if (got === RESPONSES) return resolve()
        if (sent < RESPONSES) request()
        // a slow reader now and then: the server's writes back up meanwhile
        if (got % 8 === 0) {
          conn.pause()
          setImmediate(() => conn.resume())
        }
      })
    })
    for (let i = 0; i < IN_FLIGHT; i++) request()
    await done
    assert.strictEqual(got, RESPONSES)
  })
}

nothingKeepsNodeAlive(test)
