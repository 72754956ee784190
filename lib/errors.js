'use strict'
// Errors with hyperdht's codes (mirrors hyperdht lib/errors.js: `${code}: ${msg}`, name 'DHTError').

class DHTError extends Error {
  constructor (msg, code, fn = DHTError) {
    super(`${code}: ${msg}`)
    this.code = code
    if (Error.captureStackTrace) Error.captureStackTrace(this, fn)
  }

  get name () {
    return 'DHTError'
  }
}

const CODES = {
  BAD_HANDSHAKE_REPLY: 'Bad handshake reply',
  BAD_HOLEPUNCH_REPLY: 'Bad holepunch reply',
  HOLEPUNCH_ABORTED: 'Holepunch aborted',
  HOLEPUNCH_INVALID: 'Invalid holepunch payload',
  HOLEPUNCH_PROBE_TIMEOUT: 'Holepunching probe did not finish in time',
  HOLEPUNCH_DOUBLE_RANDOMIZED_NATS: 'Both remote and local NATs are randomized',
  CANNOT_HOLEPUNCH: 'Cannot holepunch to remote',
  REMOTE_NOT_HOLEPUNCHING: 'Remote is not holepunching',
  REMOTE_NOT_HOLEPUNCHABLE: 'Remote is not holepunchable',
  REMOTE_ABORTED: 'Remote aborted',
  HANDSHAKE_UNFINISHED: 'Handshake did not finish',
  HANDSHAKE_INVALID: 'Received invalid handshake',
  ALREADY_LISTENING: 'Already listening',
  KEYPAIR_ALREADY_USED: 'Keypair already used',
  NODE_DESTROYED: 'Node destroyed',
  PEER_CONNECTION_FAILED: 'Could not connect to peer',
  PEER_NOT_FOUND: 'Peer not found',
  STREAM_NOT_CONNECTED: 'Stream is not connected',
  SERVER_INCOMPATIBLE: 'Server is using an incompatible version',
  SERVER_ERROR: 'Server returned an error',
  RELAY_ABORTED: 'Relay aborted',
  SUSPENDED: 'Suspended',
  INVALID_SEQ: 'Invalid seq',
  SEQ_REUSED: 'Seq reused',
  SEQ_TOO_LOW: 'Seq too low',
  DESTROYED: 'Destroyed',
  DUPLICATE_CONNECTION: 'Duplicate connection'
}

for (const [code, defaultMsg] of Object.entries(CODES)) {
  const fn = function (msg = defaultMsg) {
    return new DHTError(msg, code, fn)
  }
  Object.defineProperty(fn, 'name', { value: code })
  DHTError[code] = fn
}

// dht-rpc's codes, plus ours: REQUEST_OVERLOADED (16,384 requests in flight), DRIVER_FAILED (an engine task panicked)
const RPC_CODES = new Set(['REQUEST_TIMEOUT', 'REQUEST_DESTROYED', 'IO_SUSPENDED', 'REQUEST_OVERLOADED', 'DRIVER_FAILED'])

/** Turns an engine error string `"CODE: message"` (or a plain message) into an Error with `.code`. */
DHTError.fromNative = function fromNative (str) {
  const m = /^([A-Z_]+): (.*)$/s.exec(String(str))
  if (m && DHTError[m[1]]) return DHTError[m[1]](m[2])
  if (m && /^E[A-Z]+$/.test(m[1])) {
    // a socket error, shaped like udx-native's: the libuv message, the errno name as `code`
    const err = new Error(m[2])
    err.code = m[1]
    return err
  }
  // dht-rpc's errors (REQUEST_TIMEOUT, REQUEST_DESTROYED, IO_SUSPENDED) are DHTErrors with a code too
  if (m && RPC_CODES.has(m[1])) return new DHTError(m[2], m[1], fromNative)
  return new Error(String(str))
}

/**
 * dht-rpc's error for a query, request, ping or connect on a destroyed node: a plain
 * Error('Node destroyed') (hyperdht's NODE_DESTROYED, message "NODE_DESTROYED: Node destroyed",
 * is only for listen()); the code is ours, for apps that check codes.
 */
Object.defineProperty(DHTError, 'rpcDestroyed', {
  value: function rpcDestroyed () {
    const err = new Error('Node destroyed')
    err.code = 'NODE_DESTROYED'
    return err
  }
})

module.exports = DHTError
