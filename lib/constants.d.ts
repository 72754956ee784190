// Types for lib/constants.js (hyperdht's lib/constants.js: `require('hyperdht-rs/lib/constants')`).
/// <reference types="node" />

/** hyperdht's DHT commands (dht-rpc user commands). */
export declare const COMMANDS: Readonly<{
  PEER_HANDSHAKE: 0
  PEER_HOLEPUNCH: 1
  FIND_PEER: 2
  LOOKUP: 3
  ANNOUNCE: 4
  UNANNOUNCE: 5
  MUTABLE_PUT: 6
  MUTABLE_GET: 7
  IMMUTABLE_PUT: 8
  IMMUTABLE_GET: 9
  PLUGIN: 10
}>

/** The public bootstrap nodes ('suggestedIP@host:port'). */
export declare const BOOTSTRAP_NODES: readonly string[]

/** NAT classes, as in a noise payload's `firewall` and the holepunch veto's arguments. */
export declare const FIREWALL: Readonly<{
  UNKNOWN: 0
  OPEN: 1
  CONSISTENT: 2
  RANDOM: 3
}>

/** Error codes in a noise payload's `error`. */
export declare const ERROR: Readonly<{
  NONE: 0
  ABORTED: 1
  VERSION_MISMATCH: 2
  TRY_LATER: 3
  SEQ_REUSED: 16
  SEQ_TOO_LOW: 17
}>

/** hyperdht's default port (not in upstream's module). */
export declare const DEFAULT_PORT: number

/** Signing / hashing namespaces (32 bytes each), as hypercore-crypto's namespace('hyperswarm/dht', commands). */
export declare const NS: Readonly<{
  ANNOUNCE: Buffer
  UNANNOUNCE: Buffer
  MUTABLE_PUT: Buffer
  PEER_HANDSHAKE: Buffer
  PEER_HOLEPUNCH: Buffer
  PLUGIN: Buffer
}>
