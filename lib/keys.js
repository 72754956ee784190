'use strict'
// Argument checking for keys/topics coming from JS, so the engine only ever sees well-formed input.
const b4a = require('b4a')

const Z32 = 'ybndrfg8ejkmcpqxot1uwisza345h769'

function z32Decode (s) {
  const out = []
  let bits = 0
  let acc = 0
  for (const ch of s) {
    const v = Z32.indexOf(ch)
    if (v === -1) return null
    acc = (acc << 5) | v
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out.push((acc >> bits) & 0xff)
    }
  }
  return b4a.from(out)
}

/** A 32-byte key as Buffer; accepts Buffer/Uint8Array, 64-char hex or 52-char z-base32 (like hyperdht connect). */
function toKey (key, name = 'key') {
  if (typeof key === 'string') {
    if (key.length === 64 && /^[0-9a-fA-F]+$/.test(key)) return b4a.from(key, 'hex')
    if (key.length === 52) {
      const buf = z32Decode(key)
      if (buf && buf.byteLength === 32) return buf
    }
    throw new TypeError(`${name} must be a 32-byte Buffer, hex or z-base32 string`)
  }
  return buffer32(key, name)
}

function buffer32 (buf, name) {
  if (!b4a.isBuffer(buf) && !(buf instanceof Uint8Array)) throw new TypeError(`${name} must be a Buffer`)
  if (buf.byteLength !== 32) throw new TypeError(`${name} must be 32 bytes, got ${buf.byteLength}`)
  return b4a.from(buf.buffer, buf.byteOffset, buf.byteLength)
}

/**
 * hyperdht connect()'s key argument: a 32-byte key (Buffer, hex, z-base32, `pear://` link) or a
 * hyperdht-address Buffer (key, uint flags, flag 1 = an array of ipv4 {host, port} nodes to try
 * first). Returns `{ key, nodes }` like HyperDHTAddress.decode.
 */
function toConnectKey (key, name = 'remotePublicKey') {
  // hypercore-id-encoding's decode(): anything but a Buffer must be a 52-char z-base32 or 64-char
  // hex key (a `pear://` link's first segment), else 'Invalid Hypercore key'
  if (!(key instanceof Uint8Array)) {
    if (typeof key === 'string') {
      if (key.startsWith('pear://')) key = key.slice(7).split('/')[0]
      if (key.length === 52 || key.length === 64) {
        try {
          return { key: toKey(key, name), nodes: null }
        } catch {}
      }
    }
    throw new Error('Invalid Hypercore key')
  }
  if (key.byteLength < 32) return { key: buffer32(key, name), nodes: null }
  if (key.byteLength === 32) return { key: buffer32(key, name), nodes: null }
  const bad = () => new TypeError(`${name} is neither a 32-byte key nor a valid hyperdht-address`)
  let at = 32
  const uint = () => {
    if (at >= key.byteLength) throw bad()
    const b = key[at++]
    if (b < 0xfd) return b
    const n = b === 0xfd ? 2 : b === 0xfe ? 4 : 8
    if (n === 8 || at + n > key.byteLength) throw bad()
    let v = 0
    for (let i = n - 1; i >= 0; i--) v = v * 256 + key[at + i]
    at += n
    return v
  }
  const flags = uint()
  let nodes = null
  if (flags & 1) {
    const count = uint()
    if (count > 1024 || at + count * 6 > key.byteLength) throw bad()
    nodes = []
    for (let i = 0; i < count; i++) {
      nodes.push({ host: `${key[at]}.${key[at + 1]}.${key[at + 2]}.${key[at + 3]}`, port: key[at + 4] | (key[at + 5] << 8) })
      at += 6
    }
  }
  return { key: b4a.from(key.buffer, key.byteOffset, 32), nodes }
}

function keyPairArg (keyPair, name = 'keyPair') {
  if (!keyPair || typeof keyPair !== 'object') throw new TypeError(`${name} must be a { publicKey, secretKey } object`)
  const publicKey = buffer32(keyPair.publicKey, `${name}.publicKey`)
  const sk = keyPair.secretKey
  if (sk === undefined || sk === null) return { publicKey, secretKey: null }
  if (!(sk instanceof Uint8Array) || sk.byteLength !== 64) {
    throw new TypeError(`${name}.secretKey must be 64 bytes`)
  }
  // an Ed25519 secret key (libsodium's layout) ends with its public key
  if (!b4a.equals(sk.subarray(32), publicKey)) {
    throw new TypeError(`${name}.publicKey does not match ${name}.secretKey`)
  }
  return { publicKey, secretKey: sk }
}

function bufferArg (buf, name) {
  if (typeof buf === 'string') return b4a.from(buf)
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${name} must be a Buffer`)
  return buf
}

/** `relayAddresses` ({host, port} objects) as the engine's "host:port" strings. */
function relayAddressesArg (list) {
  if (!Array.isArray(list)) throw new TypeError('relayAddresses must be an array')
  return list.map(({ host, port }) => `${host}:${port}`)
}

module.exports = { toKey, toConnectKey, buffer32, keyPairArg, bufferArg, relayAddressesArg, z32Decode }
