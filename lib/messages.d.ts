// Types for lib/messages.js: hyperdht's wire messages as compact-encoding codecs
// (`require('hyperdht-rs/lib/messages')`, the same exports as hyperdht 6.34's lib/messages.js).
// Use them with compact-encoding: `c.encode(m.peer, peer)`, `c.decode(m.announce, buffer)`.
// Each codec encodes an `...Input` shape and decodes to the plain shape.
/// <reference types="node" />

/** compact-encoding's state: `buffer` is null while pre-encoding. */
export interface State {
  start: number
  end: number
  buffer: Uint8Array | null
}

/** A compact-encoding codec (structurally compact-encoding's `Encoder<I, O>`). */
export interface Codec<I, O = I> {
  preencode(state: State, value: I): void
  encode(state: State, value: I): void
  decode(state: State): O
}

/** An IPv4 address as these messages carry it. */
export interface Address { host: string; port: number }

export interface RelayInfo { relayAddress: Address; peerAddress: Address }
export interface HolepunchInfo { id: number; relays: RelayInfo[] }
export interface UdxInfo { version: number; reusableSocket: boolean; id: number; seq: number }
/** Encoded as version 1. */
export interface UdxInfoInput { reusableSocket?: boolean; id: number; seq: number }
export interface SecretStreamInfo { version: number }
export interface RelayThroughInfo { version: number; publicKey: Buffer; token: Buffer }
/** Encoded as version 1. */
export interface RelayThroughInfoInput { publicKey: Uint8Array; token: Uint8Array }

/** What travels inside the Noise handshake messages (also a server firewall's `remotePayload`). */
export interface NoisePayload {
  version: number
  /** `ERROR` code (lib/constants) */
  error: number
  /** `FIREWALL` code (lib/constants) */
  firewall: number
  holepunch: HolepunchInfo | null
  addresses4: Address[]
  addresses6: Address[]
  udx: UdxInfo | null
  secretStream: SecretStreamInfo | null
  relayThrough: RelayThroughInfo | null
  relayAddresses: Address[] | null
}
/** Encoded as version 1; absent or empty sections are left out. */
export interface NoisePayloadInput {
  version?: number
  error: number
  firewall: number
  holepunch?: HolepunchInfo | null
  addresses4?: Address[] | null
  addresses6?: Address[] | null
  udx?: UdxInfoInput | null
  secretStream?: { version?: number } | null
  relayThrough?: RelayThroughInfoInput | null
  relayAddresses?: Address[] | null
}

/** PEER_HANDSHAKE request value. */
export interface Handshake { mode: number; noise: Buffer; peerAddress: Address | null; relayAddress: Address | null }
export interface HandshakeInput { mode: number; noise: Uint8Array; peerAddress?: Address | null; relayAddress?: Address | null }

/** PEER_HOLEPUNCH request value. */
export interface Holepunch { mode: number; id: number; payload: Buffer; peerAddress: Address | null }
export interface HolepunchInput { mode: number; id: number; payload: Uint8Array; peerAddress?: Address | null }

/** The (encrypted) payload the two peers exchange while holepunching. */
export interface HolepunchPayload {
  error: number
  firewall: number
  round: number
  connected: boolean
  punching: boolean
  addresses: Address[] | null
  remoteAddress: Address | null
  token: Buffer | null
  remoteToken: Buffer | null
}
export interface HolepunchPayloadInput {
  error: number
  firewall: number
  round: number
  connected?: boolean
  punching?: boolean
  addresses?: Address[] | null
  remoteAddress?: Address | null
  /** 32 bytes */
  token?: Uint8Array | null
  /** 32 bytes */
  remoteToken?: Uint8Array | null
}

/** An announced peer: its key and the DHT nodes that relay to it. */
export interface Peer { publicKey: Buffer; relayAddresses: Address[] }
export interface PeerInput { publicKey: Uint8Array; relayAddresses: Address[] }

/** A LOOKUP reply: a storing node writes its peers as already-encoded `peer` records. */
export interface LookupRawReply { peers: Peer[]; bump: number }
export interface LookupRawReplyInput { peers: Uint8Array[]; bump: number }

/** ANNOUNCE / UNANNOUNCE request value. */
export interface Announce { peer: Peer | null; refresh: Buffer | null; signature: Buffer | null; bump: number }
export interface AnnounceInput { peer?: PeerInput | null; refresh?: Uint8Array | null; signature?: Uint8Array | null; bump?: number }

/** What a mutable record's signature covers. */
export interface MutableSignable { seq: number; value: Buffer }
export interface MutableSignableInput { seq: number; value: Uint8Array }
export interface MutablePutRequest { publicKey: Buffer; seq: number; value: Buffer; signature: Buffer }
export interface MutablePutRequestInput { publicKey: Uint8Array; seq: number; value: Uint8Array; signature: Uint8Array }
export interface MutableGetResponse { seq: number; value: Buffer; signature: Buffer }
export interface MutableGetResponseInput { seq: number; value: Uint8Array; signature: Uint8Array }

/** A PLUGIN command value: the plugin's own command for the plugin registered under `plugin`. */
export interface PluginRequest { plugin: string; version: number; command: number; value: Buffer | null }
export interface PluginRequestInput { plugin: string; version: number; command: number; value?: Uint8Array | null }

export declare const handshake: Codec<HandshakeInput, Handshake>
export declare const noisePayload: Codec<NoisePayloadInput, NoisePayload>
export declare const holepunch: Codec<HolepunchInput, Holepunch>
export declare const holepunchPayload: Codec<HolepunchPayloadInput, HolepunchPayload>
export declare const peer: Codec<PeerInput, Peer>
export declare const peers: Codec<PeerInput[], Peer[]>
export declare const lookupRawReply: Codec<LookupRawReplyInput, LookupRawReply>
export declare const announce: Codec<AnnounceInput, Announce>
export declare const mutableSignable: Codec<MutableSignableInput, MutableSignable>
export declare const mutablePutRequest: Codec<MutablePutRequestInput, MutablePutRequest>
export declare const mutableGetResponse: Codec<MutableGetResponseInput, MutableGetResponse>
export declare const pluginRequest: Codec<PluginRequestInput, PluginRequest>
