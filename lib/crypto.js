'use strict'
// hyperdht's lib/crypto.js surface (hash, unslabbedHash, createKeyPair), backed by the addon's
// libsodium-compatible primitives instead of sodium-universal: BLAKE2b-256 and Ed25519.

const binding = require('../binding.js')

// Any typed array is accepted (as by sodium-universal, same message when not), viewed as bytes.
function bytes (data, name) {
  if (data instanceof Uint8Array) return data
  if (!ArrayBuffer.isView(data)) throw new TypeError(`${name} must be a typed array`)
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

/** BLAKE2b with a 32-byte output (sodium crypto_generichash). */
function hash (data) {
  return binding.hash(bytes(data, 'input'))
}

// Upstream distinguishes a hash in its own memory from one on the shared Buffer slab (for values
// kept long). Buffers created by the addon always own their memory, so both are the same here.
function unslabbedHash (data) {
  return hash(data)
}

/** Ed25519 key pair { publicKey (32 bytes), secretKey (64 bytes) }; deterministic with a 32-byte seed. */
function createKeyPair (seed) {
  if (seed) {
    const s = bytes(seed, 'seed')
    if (s.byteLength !== 32) throw new RangeError("seed must be 'crypto_sign_SEEDBYTES' bytes")
    return binding.keyPair(s)
  }
  return binding.keyPair()
}

module.exports = {
  hash,
  unslabbedHash,
  createKeyPair
}
