'use strict'
// `require('hyperdht/lib/noise-wrap')`: hyperdht's Noise IK handshake wrapper (6.34), which apps
// subclass or return from a `createHandshake(keyPair, remotePublicKey)` option to run the
// handshake outside the DHT (e.g. non-custodial keys). Messages carry an encoded `noisePayload`.
//
//   new NoiseWrap(keyPair, remotePublicKey)  initiator iff remotePublicKey is given
//   send(payload) -> Buffer                  next handshake message carrying the payload
//   recv(buffer)  -> payload                 decodes the remote's message; sets remotePublicKey
//   final()                                  keys and ids once the handshake completed
//
// Our engine does its handshakes in Rust; this JS version needs a Noise implementation, so it uses
// the same small packages as hyperdht (declared in package.json "dependencies"):
//   noise-handshake  Noise state machine (IK pattern),    noise-curve-ed  Ed25519 keys for its DH,
//   sodium-universal keyed BLAKE2b below (already required by both of the former, so no extra weight).
// They are loaded only when this module is required.

const NoiseHandshake = require('noise-handshake')
const curve = require('noise-curve-ed')
const sodium = require('sodium-universal')
const b4a = require('b4a')
const c = require('compact-encoding')
const { noisePayload } = require('./messages')
const { NS } = require('./constants')
const { HANDSHAKE_UNFINISHED } = require('./errors')
const { hash } = require('../binding.js')

const PROLOGUE = NS.PEER_HANDSHAKE

// @hyperswarm/secret-stream's stream ids: keyed BLAKE2b(namespace, key = handshake hash), with
// hypercore-crypto's namespace('hyperswarm/secret-stream', 3) ids 0 (initiator) and 1 (responder).
const SECRET_STREAM_NS = hash(b4a.from('hyperswarm/secret-stream'))
const [NS_INITIATOR, NS_RESPONDER] = [0, 1].map((id) => hash(b4a.concat([SECRET_STREAM_NS, b4a.from([id])])))

function keyedHash (message, key) {
  const out = b4a.allocUnsafe(32)
  sodium.crypto_generichash(out, message, key)
  return out
}

function streamId (handshakeHash, isInitiator) {
  return keyedHash(isInitiator ? NS_INITIATOR : NS_RESPONDER, handshakeHash)
}

class NoiseWrap {
  constructor (keyPair, remotePublicKey) {
    this.isInitiator = !!remotePublicKey
    this.remotePublicKey = remotePublicKey
    this.keyPair = keyPair
    this.handshake = new NoiseHandshake('IK', this.isInitiator, keyPair, { curve })
    this.handshake.initialise(PROLOGUE, remotePublicKey)
  }

  send (payload) {
    return this.handshake.send(c.encode(noisePayload, payload))
  }

  recv (buf) {
    const payload = c.decode(noisePayload, this.handshake.recv(buf))
    this.remotePublicKey = b4a.toBuffer(this.handshake.rs)
    return payload
  }

  final () {
    const hs = this.handshake
    if (!hs.complete) throw HANDSHAKE_UNFINISHED()

    return {
      isInitiator: this.isInitiator,
      publicKey: this.keyPair.publicKey,
      streamId: this.streamId, // set by the caller when it has one, as upstream
      remotePublicKey: this.remotePublicKey,
      remoteId: streamId(hs.hash, !this.isInitiator),
      // both sides derive the same secret for encrypting holepunch payloads
      holepunchSecret: keyedHash(NS.PEER_HOLEPUNCH, hs.hash),
      hash: b4a.toBuffer(hs.hash),
      rx: b4a.toBuffer(hs.rx),
      tx: b4a.toBuffer(hs.tx)
    }
  }
}

module.exports = NoiseWrap
