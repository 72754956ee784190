// Types for lib/errors.js (hyperdht's lib/errors.js: `require('hyperdht-rs/lib/errors')`).
// Every error hyperdht-rs creates with a hyperdht code is a DHTError: `err.code` is the code,
// `err.message` is `${code}: ${message}`.

type Code =
  | 'BAD_HANDSHAKE_REPLY' | 'BAD_HOLEPUNCH_REPLY' | 'HOLEPUNCH_ABORTED' | 'HOLEPUNCH_INVALID'
  | 'HOLEPUNCH_PROBE_TIMEOUT' | 'HOLEPUNCH_DOUBLE_RANDOMIZED_NATS' | 'CANNOT_HOLEPUNCH'
  | 'REMOTE_NOT_HOLEPUNCHING' | 'REMOTE_NOT_HOLEPUNCHABLE' | 'REMOTE_ABORTED' | 'HANDSHAKE_UNFINISHED'
  | 'HANDSHAKE_INVALID' | 'ALREADY_LISTENING' | 'KEYPAIR_ALREADY_USED' | 'NODE_DESTROYED'
  | 'PEER_CONNECTION_FAILED' | 'PEER_NOT_FOUND' | 'STREAM_NOT_CONNECTED' | 'SERVER_INCOMPATIBLE'
  | 'SERVER_ERROR' | 'RELAY_ABORTED' | 'SUSPENDED' | 'INVALID_SEQ' | 'SEQ_REUSED' | 'SEQ_TOO_LOW'
  | 'DESTROYED' | 'DUPLICATE_CONNECTION'
  // dht-rpc's request errors
  | 'REQUEST_TIMEOUT' | 'REQUEST_DESTROYED' | 'IO_SUSPENDED'

/** Creates the error for one code; `msg` defaults to the code's standard message. */
type Factory = (msg?: string) => DHTError

declare class DHTError extends Error {
  constructor(msg: string, code: string, fn?: Function)
  readonly code: string
  readonly name: 'DHTError'

  static BAD_HANDSHAKE_REPLY: Factory
  static BAD_HOLEPUNCH_REPLY: Factory
  static HOLEPUNCH_ABORTED: Factory
  static HOLEPUNCH_INVALID: Factory
  static HOLEPUNCH_PROBE_TIMEOUT: Factory
  static HOLEPUNCH_DOUBLE_RANDOMIZED_NATS: Factory
  static CANNOT_HOLEPUNCH: Factory
  static REMOTE_NOT_HOLEPUNCHING: Factory
  static REMOTE_NOT_HOLEPUNCHABLE: Factory
  static REMOTE_ABORTED: Factory
  static HANDSHAKE_UNFINISHED: Factory
  static HANDSHAKE_INVALID: Factory
  static ALREADY_LISTENING: Factory
  static KEYPAIR_ALREADY_USED: Factory
  static NODE_DESTROYED: Factory
  static PEER_CONNECTION_FAILED: Factory
  static PEER_NOT_FOUND: Factory
  static STREAM_NOT_CONNECTED: Factory
  static SERVER_INCOMPATIBLE: Factory
  static SERVER_ERROR: Factory
  static RELAY_ABORTED: Factory
  static SUSPENDED: Factory
  static INVALID_SEQ: Factory
  static SEQ_REUSED: Factory
  static SEQ_TOO_LOW: Factory
  static DESTROYED: Factory
  static DUPLICATE_CONNECTION: Factory

  /**
   * Turns an engine error string `"CODE: message"` into an Error with `.code`: a DHTError for
   * hyperdht and dht-rpc codes, a plain Error with the errno name for socket errors.
   */
  static fromNative(str: string): Error & { code?: string }
}

declare namespace DHTError {
  export { Code }
}

export = DHTError
