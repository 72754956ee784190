// Types for lib/noise-wrap.js (hyperdht 6.34's lib/noise-wrap.js: `require('hyperdht-rs/lib/noise-wrap')`):
// the Noise IK handshake with `noisePayload` messages, initiator iff `remotePublicKey` is given.
/// <reference types="node" />
import { NoisePayload, NoisePayloadInput } from './messages'

declare class NoiseWrap {
  constructor(keyPair: { publicKey: Buffer; secretKey: Buffer }, remotePublicKey?: Buffer | null)
  readonly isInitiator: boolean
  /** set by `recv()` on the responder */
  remotePublicKey: Buffer | null | undefined
  readonly keyPair: { publicKey: Buffer; secretKey: Buffer }
  /** the noise-handshake state machine */
  readonly handshake: unknown
  /** set by the caller when it has one; copied into `final()` */
  streamId?: Buffer
  /** The next handshake message, carrying `payload`. */
  send(payload: NoisePayloadInput): Buffer
  /** Decodes the remote's message. */
  recv(buffer: Uint8Array): NoisePayload
  /** Keys and ids once the handshake completed; throws HANDSHAKE_UNFINISHED before. */
  final(): {
    isInitiator: boolean
    publicKey: Buffer
    streamId: Buffer | undefined
    remotePublicKey: Buffer | null | undefined
    remoteId: Buffer
    holepunchSecret: Buffer
    hash: Buffer
    rx: Buffer
    tx: Buffer
  }
}

export = NoiseWrap
