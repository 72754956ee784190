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
