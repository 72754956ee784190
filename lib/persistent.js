'use strict'
// `require('hyperdht/lib/persistent')`: the static signing helpers of hyperdht's Persistent (6.34),
// which non-custodial apps call from their `signAnnounce` / `signUnannounce` / `signMutable` hooks:
//
//   Persistent.signAnnounce(target, token, nodeId, ann, keyPair)    -> 64-byte signature
//   Persistent.signUnannounce(target, token, nodeId, ann, keyPair)  -> 64-byte signature
//   Persistent.signMutable(seq, value, keyPair)                     -> 64-byte signature
//   Persistent.verifyMutable(signature, seq, value, publicKey)      -> boolean
//
// `keyPair` is a key pair with a `sign(signable)` function or a `secretKey`, or the secret key
// itself, as upstream. The signables are byte-exact with upstream (computed in the engine). The
// record store a persistent node keeps (upstream's instances) runs in the engine; this module
// offers only the static helpers.
const binding = require('../binding.js')

class Persistent {
  constructor () {
    throw new Error('hyperdht-rs runs the record store of persistent nodes in its engine; lib/persistent offers the static signing helpers')
  }

  static signAnnounce (target, token, id, ann, keyPair) {
    return sign(annSignable(target, token, id, ann, false), keyPair)
  }

  static signUnannounce (target, token, id, ann, keyPair) {
    return sign(annSignable(target, token, id, ann, true), keyPair)
  }

  static signMutable (seq, value, keyPair) {
    return sign(binding.mutableSignable(seq, value), keyPair)
  }

  static verifyMutable (signature, seq, value, publicKey) {
    const sodium = require('sodium-universal') // loaded on first use, like lib/noise-wrap
    return sodium.crypto_sign_verify_detached(signature, binding.mutableSignable(seq, value), publicKey)
  }
}

// hyperdht persistent.js `annSignable`: NS ‖ BLAKE2b(target ‖ id ‖ token ‖ peer ‖ refresh)
function annSignable (target, token, id, ann, unannounce) {
  const relays = ((ann.peer && ann.peer.relayAddresses) || []).map((a) => `${a.host}:${a.port}`)
  return binding.annSignable(target, token, id, ann.peer.publicKey, relays, unannounce)
}

// hyperdht persistent.js `sign(signable, keyPair)`: prefers keyPair.sign
function sign (signable, keyPair) {
  if (keyPair && typeof keyPair.sign === 'function') return keyPair.sign(signable)
  const secretKey = keyPair && keyPair.secretKey ? keyPair.secretKey : keyPair
  return binding.sign(signable, secretKey)
}

module.exports = Persistent
