// Types for lib/persistent.js (hyperdht 6.34's lib/persistent.js statics:
// `require('hyperdht-rs/lib/persistent')`): the signing helpers non-custodial apps call.
/// <reference types="node" />

/** A key pair with a `sign(signable)` function or its `secretKey`, or the secret key itself. */
type Signer = { sign(signable: Buffer): Uint8Array } | { secretKey: Uint8Array } | Uint8Array

/** What an announce signs (hyperdht's `m.announce` record without its signature). */
interface Announcement {
  peer: { publicKey: Uint8Array; relayAddresses?: Array<{ host: string; port: number }> }
  refresh?: Uint8Array | null
  signature?: Uint8Array | null
}

declare class Persistent {
  /** Throws: a persistent node's record store runs in the engine. */
  private constructor()
  static signAnnounce(target: Uint8Array, token: Uint8Array, id: Uint8Array, ann: Announcement, keyPair: Signer): Buffer
  static signUnannounce(target: Uint8Array, token: Uint8Array, id: Uint8Array, ann: Announcement, keyPair: Signer): Buffer
  static signMutable(seq: number, value: Uint8Array, keyPair: Signer): Buffer
  static verifyMutable(signature: Uint8Array, seq: number, value: Uint8Array, publicKey: Uint8Array): boolean
}

export = Persistent
