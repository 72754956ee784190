'use strict'
// udx-native peer for the interop tests: binds, prints its port, connects a stream to the Rust
// side, writes `bytes` of a deterministic pattern, ends, reads to EOF and prints what it got.
// usage: node peer.js <remotePort> <localId> <remoteId> <bytes> <seed>
const path = require('path')
const crypto = require('crypto')
const root = path.join(__dirname, '..', '..', '..', '..')
let UDX
try {
  UDX = require(path.join(root, 'node_modules', 'udx-native'))
} catch (err) {
  console.error('udx-native is not installed: run `npm install` at the repo root (' + err.message + ')')
  process.exit(3)
}

const [remotePort, localId, remoteId, bytes, seed] = process.argv.slice(2).map(Number)
const u = new UDX()
const sock = u.createSocket()
sock.bind(0, '127.0.0.1')
console.log('PORT ' + sock.address().port)

const stream = u.createStream(localId)
stream.connect(sock, remoteId, remotePort, '127.0.0.1')

function chunk (offset, len, seed) {
  const b = Buffer.alloc(len)
  for (let i = 0; i < len; i += 4) b.writeUInt32LE(((offset + i) / 4 ^ seed) >>> 0, i)
  return b
}

const hash = crypto.createHash('sha256')
let received = 0
stream.on('data', (d) => {
  received += d.length
  hash.update(d)
})

stream.on('error', (err) => {
  console.log('RESULT ' + JSON.stringify({ error: err.message, received }))
  process.exit(1)
})
stream.on('close', () => {
  console.log('RESULT ' + JSON.stringify({ received, sha256: hash.digest('hex'), mtu: stream.mtu }))
  sock.close()
})

// a stalled transfer prints this end's state every few seconds (the Rust test shows stderr)
let last = -1
const watchdog = setInterval(() => {
  const now = received + off
  if (now === last) {
    console.error('peer.js stalled: ' + JSON.stringify({
      received, written: off, writableNeedDrain: stream.writableNeedDrain, inflight: stream.inflight, cwnd: stream.cwnd, rtoCount: stream.rtoCount, retransmits: stream.retransmits, rtt: stream.rtt, mtu: stream.mtu, fastRecoveries: stream.fastRecoveries, bytesReceived: stream.bytesReceived, packetsReceived: stream.packetsReceived
    }))
  }
  last = now
}, 3000)
watchdog.unref()

const CH = 65536
let off = 0
function write () {
  while (off < bytes) {
    const n = Math.min(CH, bytes - off)
    const ok = stream.write(chunk(off, n, seed))
    off += n
    if (!ok) return stream.once('drain', write)
  }
  // half-close once all our data is written; the peer's data keeps flowing
  stream.end()
}
write()
