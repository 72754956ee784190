'use strict'
// Generates secretstream-sizes.json with libsodium (sodium-universal, as @hyperswarm/secret-stream
// uses it): one crypto_secretstream_xchacha20poly1305 push stream over messages of lengths around
// every block and batch boundary of the ChaCha20 backends (1, 4 and 16 blocks), with a TAG_REKEY
// message in the middle. Each ciphertext is recorded as its length and SHA-256.
// Run from the repo root: node crates/secret-stream/tests/data/gen-secretstream-sizes.js
const sodium = require('sodium-universal')
const crypto = require('crypto')
const fs = require('fs')
const path = require('path')

const key = Buffer.alloc(32)
for (let i = 0; i < 32; i++) key[i] = i + 1
const state = Buffer.alloc(sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES)
const header = Buffer.alloc(sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES)
sodium.crypto_secretstream_xchacha20poly1305_init_push(state, header, key)

const sizes = [0, 1, 63, 64, 65, 127, 128, 129, 191, 192, 193, 255, 256, 257, 959, 960, 961, 1023,
  1024, 1025, 1200, 3071, 3072, 3073, 4096, 16384, 65535, 65536, 70001]
const messages = []
sizes.forEach((len, n) => {
  const m = Buffer.alloc(len)
  for (let i = 0; i < len; i++) m[i] = (i * 7 + len) & 0xff
  const tag = n === 12 ? sodium.crypto_secretstream_xchacha20poly1305_TAG_REKEY : 0
  const c = Buffer.alloc(len + sodium.crypto_secretstream_xchacha20poly1305_ABYTES)
  sodium.crypto_secretstream_xchacha20poly1305_push(state, c, m, null, tag)
  messages.push({ len, tag, sha256: crypto.createHash('sha256').update(c).digest('hex') })
})

const out = {
  generator: 'gen-secretstream-sizes.js (sodium-universal)',
  message: 'byte i of a message of length len is (i * 7 + len) & 0xff',
  key: key.toString('hex'),
  header: header.toString('hex'),
  messages
}
fs.writeFileSync(path.join(__dirname, 'secretstream-sizes.json'), JSON.stringify(out, null, 2) + '\n')
