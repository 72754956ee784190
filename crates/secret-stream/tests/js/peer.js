'use strict'
// @hyperswarm/secret-stream over udx-native, given a finished IK handshake (as hyperdht does).
// usage: node peer.js <remotePort> <localId> <remoteId> <bytes> <seed> <tx> <rx> <hash> <pk> <remotePk>
const path = require('path')
const crypto = require('crypto')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
let UDX, NoiseSecretStream
try {
  UDX = require(path.join(root, 'udx-native'))
  NoiseSecretStream = require(path.join(root, '@hyperswarm', 'secret-stream'))
} catch (err) {
  console.error('JS deps missing: run `npm install` at the repo root (' + err.message + ')')
  process.exit(3)
}
const a = process.argv.slice(2)
const [remotePort, localId, remoteId, bytes, seed] = a.slice(0, 5).map(Number)
const [tx, rx, hash, publicKey, remotePublicKey] = a.slice(5).map((h) => Buffer.from(h, 'hex'))

const u = new UDX()
const sock = u.createSocket()
sock.bind(0, '127.0.0.1')
console.log('PORT ' + sock.address().port)
const raw = u.createStream(localId)
raw.connect(sock, remoteId, remotePort, '127.0.0.1')
const s = new NoiseSecretStream(false, raw, { handshake: { tx, rx, hash, publicKey, remotePublicKey } })

function chunk (offset, len) {
  const b = Buffer.alloc(len)
  for (let i = 0; i < len; i += 4) b.writeUInt32LE(((offset + i) / 4 ^ seed) >>> 0, i)
  return b
}
const digest = crypto.createHash('sha256')
let received = 0
const messages = []
let replied = false
s.on('message', (m) => {
  messages.push(Buffer.from(m).toString())
  if (!replied) { replied = true; s.send(Buffer.from('pong from js')) }
})
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
    remotePublicKey: s.remotePublicKey.toString('hex'),
    messages,
    cpu: process.cpuUsage()
  }))
})
s.on('close', () => sock.close())
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
