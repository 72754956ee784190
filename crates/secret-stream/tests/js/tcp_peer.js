'use strict'
// @hyperswarm/secret-stream over a TCP socket on 127.0.0.1 (one connection, then exit).
// usage: node tcp_peer.js ik <isInitiator 0|1> <bytes> <seed> <tx> <rx> <hash> <pk> <remotePk>
//        node tcp_peer.js xx <isInitiator 0|1> <bytes> <seed> <keySeedHex>
// Prints `PORT n`, then `RESULT {json}` once the peer ended and everything was received.
const path = require('path')
const net = require('net')
const crypto = require('crypto')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
let NoiseSecretStream
try {
  NoiseSecretStream = require(path.join(root, '@hyperswarm', 'secret-stream'))
} catch (err) {
  console.error('JS deps missing: run `npm install` at the repo root (' + err.message + ')')
  process.exit(3)
}
const a = process.argv.slice(2)
const mode = a[0]
const isInitiator = a[1] === '1'
const bytes = Number(a[2])
const seed = Number(a[3])
let opts
if (mode === 'ik') {
  const [tx, rx, hash, publicKey, remotePublicKey] = a.slice(4).map((h) => Buffer.from(h, 'hex'))
  opts = { handshake: { tx, rx, hash, publicKey, remotePublicKey } }
} else {
  opts = { keyPair: NoiseSecretStream.keyPair(Buffer.from(a[4], 'hex')) }
}

function chunk (offset, len) {
  const b = Buffer.alloc(len)
  for (let i = 0; i < len; i += 4) b.writeUInt32LE(((offset + i) / 4 ^ seed) >>> 0, i)
  return b
}

// allowHalfOpen: Node would otherwise end our socket as soon as the Rust side half-closes,
// dropping whatever secret-stream still had queued behind backpressure
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  server.close()
  const s = new NoiseSecretStream(isInitiator, socket, opts)
  const digest = crypto.createHash('sha256')
  let received = 0
  s.on('data', (d) => { received += d.length; digest.update(d) })
  s.on('error', (err) => {
    console.log('RESULT ' + JSON.stringify({ error: err.message, received }))
    process.exit(1)
  })
  s.on('end', () => {
    console.log('RESULT ' + JSON.stringify({
      received,
      sha256: digest.digest('hex'),
      handshakeHash: s.handshakeHash.toString('hex'),
      publicKey: s.publicKey.toString('hex'),
      remotePublicKey: s.remotePublicKey.toString('hex')
    }))
  })
  let off = 0
  function write () {
    while (off < bytes) {
      const n = Math.min(65536, bytes - off)
      const ok = s.write(chunk(off, n))
      off += n
      if (!ok) return s.once('drain', write)
    }
    s.end()
  }
  write()
})
server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port))
setTimeout(() => { console.log('RESULT ' + JSON.stringify({ error: 'peer timeout' })); process.exit(2) }, 120000).unref()
