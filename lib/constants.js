'use strict'
// Mirrors hyperdht lib/constants.js (the parts the public API exposes).

exports.COMMANDS = Object.freeze({
  PEER_HANDSHAKE: 0,
  PEER_HOLEPUNCH: 1,
  FIND_PEER: 2,
  LOOKUP: 3,
  ANNOUNCE: 4,
  UNANNOUNCE: 5,
  MUTABLE_PUT: 6,
  MUTABLE_GET: 7,
  IMMUTABLE_PUT: 8,
  IMMUTABLE_GET: 9,
  PLUGIN: 10
})

exports.BOOTSTRAP_NODES = Object.freeze([
  '88.99.3.86@node1.hyperdht.org:49737',
  '142.93.90.113@node2.hyperdht.org:49737',
  '138.68.147.8@node3.hyperdht.org:49737'
])

exports.FIREWALL = Object.freeze({
  UNKNOWN: 0,
  OPEN: 1,
  CONSISTENT: 2,
  RANDOM: 3
})

exports.ERROR = Object.freeze({
  NONE: 0,
  ABORTED: 1,
  VERSION_MISMATCH: 2,
  TRY_LATER: 3,
  SEQ_REUSED: 16,
  SEQ_TOO_LOW: 17
})

exports.DEFAULT_PORT = 49737

// Signing / hashing namespaces, as hypercore-crypto's namespace('hyperswarm/dht', [commands]):
// BLAKE2b-256(BLAKE2b-256('hyperswarm/dht') || command byte), one 32-byte key per command.
exports.NS = (() => {
  const { hash } = require('../binding.js')
  const base = hash(Buffer.from('hyperswarm/dht'))
  const ns = (command) => hash(Buffer.concat([base, Buffer.from([command])]))
  const C = exports.COMMANDS
  return Object.freeze({
    ANNOUNCE: ns(C.ANNOUNCE),
    UNANNOUNCE: ns(C.UNANNOUNCE),
    MUTABLE_PUT: ns(C.MUTABLE_PUT),
    PEER_HANDSHAKE: ns(C.PEER_HANDSHAKE),
    PEER_HOLEPUNCH: ns(C.PEER_HOLEPUNCH),
    PLUGIN: ns(C.PLUGIN)
  })
})()
