// Hand-written public types for hyperdht-rs: hyperdht 6.34's API (plus the dht-rpc methods it
// inherits) as index.js, lib/*.js and testnet.js implement it here. The lib modules upstream
// exposes by path have their own declarations next to them (lib/errors.d.ts, lib/messages.d.ts, ...).
// Streams use streamx's own typings (streamx >= 2.28 ships them; a dependency of this package).
// Checked by __test__/types.test.js under `tsc --strict` without skipLibCheck.

/// <reference types="node" />
import { EventEmitter } from 'events'
import { Duplex, DuplexEvents, Readable, ReadableEvents } from 'streamx'
import constants = require('./lib/constants')
import messages = require('./lib/messages')

/** Event name -> listener arguments. */
type EventsOf<M> = { [E in keyof M]: any[] }

/**
 * An EventEmitter whose own events are typed: `on('connection', (socket) => ...)` knows `socket`,
 * a listener of the wrong shape or an event name the class never emits does not compile.
 * (Not a runtime class: the objects are plain `events` EventEmitters.)
 */
declare class TypedEventEmitter<M extends EventsOf<M>> extends EventEmitter {
  on<E extends keyof WithListenerEvents<M> & (string | symbol)>(event: E, listener: (...args: WithListenerEvents<M>[E]) => void): this
  once<E extends keyof WithListenerEvents<M> & (string | symbol)>(event: E, listener: (...args: WithListenerEvents<M>[E]) => void): this
  off<E extends keyof WithListenerEvents<M> & (string | symbol)>(event: E, listener: (...args: WithListenerEvents<M>[E]) => void): this
  addListener<E extends keyof WithListenerEvents<M> & (string | symbol)>(event: E, listener: (...args: WithListenerEvents<M>[E]) => void): this
  prependListener<E extends keyof WithListenerEvents<M> & (string | symbol)>(event: E, listener: (...args: WithListenerEvents<M>[E]) => void): this
  prependOnceListener<E extends keyof WithListenerEvents<M> & (string | symbol)>(event: E, listener: (...args: WithListenerEvents<M>[E]) => void): this
  removeListener<E extends keyof WithListenerEvents<M> & (string | symbol)>(event: E, listener: (...args: WithListenerEvents<M>[E]) => void): this
  emit<E extends keyof M & (string | symbol)>(event: E, ...args: M[E]): boolean
}

/** `M` plus the events every EventEmitter emits about its own listeners. */
type WithListenerEvents<M> = M & {
  newListener: [event: string | symbol, listener: (...args: any[]) => void]
  removeListener: [event: string | symbol, listener: (...args: any[]) => void]
}

/** `{ host, port }` of a DHT node or peer (IPv4 dotted quad). */
interface Address { host: string; port: number }
/** A node that sent a reply: `id` is its DHT id, null when it has none (ephemeral). */
interface NodeRef extends Address { id: Buffer | null }
/** A bound UDP socket's address, as udx-native reports it. */
interface SocketAddress extends Address { family: number }

/** An Ed25519 key pair (`DHT.keyPair()`): 32-byte public key, 64-byte secret key. */
interface KeyPair { publicKey: Buffer; secretKey: Buffer }

/** A key pair as the app gives it: any Uint8Arrays (hyperdht copies nothing it is given). */
interface KeyPairInput { publicKey: Uint8Array; secretKey: Uint8Array }

/**
 * A key pair for the record APIs without the secret key in this process (hyperdht's non-custodial
 * signing): `sign(signable)` returns the Ed25519 signature. The `sign*` options are the other way.
 */
interface SignerKeyPair {
  publicKey: Uint8Array
  secretKey?: null | undefined
  sign(signable: Buffer): Uint8Array | Promise<Uint8Array>
}

/** Just the public key: the record APIs take it together with their signing hook (`signAnnounce`, ...). */
interface PublicKeyOnly { publicKey: Uint8Array }

/** What the record APIs and their signing hooks get as `keyPair`. */
type RecordKeyPair = KeyPairInput | SignerKeyPair | PublicKeyOnly

interface DHTOptions {
  /** 'host:port', 'suggestedIP@host:port' (the IP if it answers a ping, else the host name), {host, port}, or a port on 127.0.0.1 */
  bootstrap?: ReadonlyArray<string | number | Address> | undefined
  /** a port (tried as [port, port + 5)) or a range [start, end) tried in order (dht-rpc io.portRange); default 49737 */
  port?: number | [number, number] | undefined
  /** the address the socket binds to (default '0.0.0.0') */
  host?: string | undefined
  /** unset: adaptive (ephemeral until the node proves it is reachable and stable) */
  ephemeral?: boolean | undefined
  /** default true until NAT sampling says otherwise */
  firewalled?: boolean | undefined
  /** default true: when no port of `port` is free, bind a random one; false fails instead */
  anyPort?: boolean | undefined
  /** false: an adaptive node stays ephemeral */
  adaptive?: boolean | undefined
  /** the default key pair for servers and connections (else derived from `seed`, else random) */
  keyPair?: KeyPairInput | undefined
  /** 32 bytes: `defaultKeyPair` is `DHT.keyPair(seed)` */
  seed?: Uint8Array | undefined
  /** nodes to seed the routing table with */
  nodes?: readonly Address[] | undefined
  /** parallel requests per query (default 10) */
  concurrency?: number | undefined
  /** entries per cache of a persistent node (records, mutables, immutables, router) */
  maxSize?: number | undefined
  /** ms before a cached entry ages out (default: hyperdht's) */
  maxAge?: number | undefined
  /** keep-alive of every connection in ms (default 5000); false = off */
  connectionKeepAlive?: number | false | undefined
  /** dht-rpc's quickFirewall (default true); false keeps a firewalled node firewalled until NAT sampling says otherwise */
  quickFirewall?: boolean | undefined
  /** the longest DELAYED_PING (ms) this node answers or asks for (default 10000) */
  maxPingDelay?: number | undefined
  /** hyperdht: the least time (ms) between two RANDOM-NAT punches of this node (default 20000) */
  randomPunchInterval?: number | undefined
  /** hyperdht: that time also counts from construction and from every `resume()` */
  deferRandomPunch?: boolean | undefined
  /** dht-rpc: requests in flight per congestion-window slot (default 80) */
  maxWindow?: number | undefined
  /** dht-rpc: false sends no DOWN_HINTs about unresponsive nodes (default true) */
  sendDownHints?: boolean | undefined
  /** dht-rpc: DOWN_HINTs sent per tick (default 50; -1: no limit) */
  downHintsRateLimit?: number | undefined
}

/**
 * hyperdht's holepunch veto: asked once both NATs are known and the other side wants to punch;
 * a falsy return aborts with HOLEPUNCH_ABORTED. Firewalls are `DHT.FIREWALL` codes.
 */
type HolepunchVeto = (remoteFirewall: number, localFirewall: number, remoteAddresses: Address[], localAddresses: Address[] | null) => boolean

/** dht-rpc query options every query-based method takes. */
interface BaseQueryOptions {
  /** parallel requests (default: the node's `concurrency`) */
  concurrency?: number | undefined
  /** start from these nodes instead of the routing table (also `closestNodes`) */
  nodes?: Address[] | undefined
  closestNodes?: Address[] | undefined
  /** start from the senders of these replies (e.g. a previous query's `closestReplies`) */
  replies?: Array<{ from: Address }> | undefined
  closestReplies?: Array<{ from: Address }> | undefined
  /** ask only the given nodes (hyperswarm's unannounce) */
  onlyClosestNodes?: boolean | undefined
  /** no congestion window, no retries */
  force?: boolean | undefined
}

/**
 * dht-rpc's commit phase: runs once per closest reply when the query is done (`true` = repeat
 * the request with the reply's token); the query fails if every commit fails.
 */
type Commit<T> = true | ((reply: RpcReply, dht: HyperDHT, query: Query<T>) => Promise<unknown>)

interface QueryOptions<T> extends BaseQueryOptions {
  commit?: Commit<T> | undefined
}

/** dht-rpc `query()` / `findNode()` options: `map` is what the stream yields per reply (a falsy result is skipped). */
interface RawQueryOptions<T> extends QueryOptions<T> {
  map?: ((reply: RpcReply) => T | null | undefined | false) | undefined
}

/** The announcement handed to `signAnnounce` / `signUnannounce` (hyperdht's `m.announce` record). */
interface Announcement {
  peer: PeerRecord
  refresh: null
  signature: null
  bump?: number | undefined
}

/** hyperdht's signing hook for (un)announces: returns the signature over the announcement. */
type SignAnnounce = (target: Buffer, token: Buffer, id: Buffer, ann: Announcement, keyPair: RecordKeyPair) => Uint8Array | Promise<Uint8Array>
/** hyperdht's signing hook for mutable records: returns the signature over (seq, value). */
type SignMutable = (seq: number, value: Uint8Array, keyPair: RecordKeyPair) => Uint8Array | Promise<Uint8Array>

interface AnnounceOptions extends BaseQueryOptions {
  /** a counter stored with the record (newer announcements of the same key replace older ones) */
  bump?: number | undefined
  /** unannounce from the nodes found on the way (hyperdht `clear`) */
  clear?: boolean | undefined
  signAnnounce?: SignAnnounce | undefined
  /** used with `clear` */
  signUnannounce?: SignAnnounce | undefined
}

interface UnannounceOptions extends QueryOptions<LookupReply> {
  signUnannounce?: SignAnnounce | undefined
}

interface MutablePutOptions extends BaseQueryOptions {
  /** default 0; must grow with every put of the same key */
  seq?: number | undefined
  signMutable?: SignMutable | undefined
}

interface MutableGetOptions extends BaseQueryOptions {
  /** only values with at least this seq (default 0) */
  seq?: number | undefined
  /** default true: look for the highest seq; false returns the first verified value */
  latest?: boolean | undefined
  /** asked with the latest value found: return true to put it again to the closest nodes */
  refresh?: ((result: MutableGetResult) => boolean) | undefined
}

/** hyperdht's plugin contract (`require('hyperdht-rs/lib/plugin')` is a base class for it). */
interface DHTPlugin {
  readonly name: string
  readonly version: number
  onregister(dht: HyperDHT): void
  onrequest(req: PluginRequest, outerReq: PluginOuterRequest): void
  onpersistent(): void
  destroy(): void
}

/** A decoded PLUGIN request value (`m.pluginRequest`). */
interface PluginRequest { plugin: string; version: number; command: number; value: Buffer | null }

/** The DHT request a plugin request arrived in; answer it once. */
interface PluginOuterRequest {
  readonly tid: number
  readonly from: NodeRef
  readonly to: NodeRef
  readonly token: Buffer | null
  readonly internal: false
  readonly command: number
  readonly target: Buffer | null
  readonly value: Buffer | null
  /** `token` (default true) and `closerNodes` (default true) say what goes with the reply */
  reply(value: Uint8Array | null, opts?: { token?: boolean | undefined; closerNodes?: boolean | undefined }): void
  /** `token` defaults to false here */
  error(code: number, opts?: { token?: boolean | undefined; closerNodes?: boolean | undefined }): void
}

interface QueryEvents<T> extends ReadableEvents {
  data: [reply: T]
  error: [err: DHTErrorLike]
}

/**
 * A running DHT query (dht-rpc's Query): a streamx Readable of replies, async-iterable, ending
 * when the query is done. Destroying it cancels the query.
 */
interface Query<T> extends Readable<QueryEvents<T>> {
  readonly dht: HyperDHT
  readonly target: Buffer
  /** dht-rpc's settings of the query: k (20), the command asked (hyperdht's record queries ask with theirs), its value, whether internal (findNode) */
  readonly k: number
  readonly command: number
  readonly value: Buffer | null
  readonly internal: boolean
  readonly concurrency: number
  readonly force: boolean
  /** retries per request */
  readonly retries: number
  /**
   * the closest nodes that answered, as raw dht-rpc replies: kept as replies arrive in
   * findNode()/query(), set when the query is done in hyperdht's record queries
   */
  readonly closestReplies: RpcReply[]
  /** `closestReplies.map((r) => r.from)` */
  readonly closestNodes: NodeRef[]
  readonly errors: number
  readonly successes: number
  /** Resolves when the query ended (consuming the stream), rejects with its error. */
  finished(): Promise<void>
  read(): T | null
  [Symbol.asyncIterator](): AsyncIterator<T>
}

interface PeerRecord { publicKey: Buffer; relayAddresses: Address[] }

interface RecordReply {
  token: Buffer | null
  from: NodeRef
  /** how the replying node saw us */
  to: NodeRef | null
}
interface LookupReply extends RecordReply { peers: PeerRecord[]; bump: number }
interface FindPeerReply extends RecordReply { peer: PeerRecord }
interface ImmutableGetResult extends RecordReply { value: Buffer }
interface MutableGetResult extends RecordReply { seq: number; value: Buffer; signature: Buffer }
interface MutablePutResult { publicKey: Buffer; closestNodes: NodeRef[]; seq: number; signature: Buffer }

/** A dht-rpc reply: what `request()`, `findNode()`/`query()` (without `map`) and `closestReplies` give. */
interface RpcReply extends RecordReply {
  tid: number
  /** round trip in ms */
  rtt: number
  /**
   * the nodes the replier knows closer to the target, null when it sent none; entries are
   * {id, host, port}, id being the node's DHT id in query replies and null in request() replies
   */
  closerNodes: NodeRef[] | null
  /** 0, or the error code the node answered with */
  error: number
  value: Buffer | null
}

interface PingReply extends RecordReply {
  tid: number
  /** round trip in ms */
  rtt: number
  closerNodes: NodeRef[] | null
  error: number
  value: Buffer | null
}

/** hyperdht's `dht.stats` (counters of dht-rpc and hyperdht) plus `io`, this engine's datagram counters. */
interface Stats {
  punches: { consistent: number; random: number; open: number; tryLater: number; tryLaterRelayedHandshakesAtLeastOnce: number }
  relaying: { attempts: number; successes: number; aborts: number }
  socketPool: { socketsAdded: number; socketsRemoved: number }
  queries: { active: number; total: number }
  requests: { active: number; total: number; responses: number; timeouts: number; retries: number }
  commands: { ping: CommandStats; pingNat: CommandStats; findNode: CommandStats; downHint: CommandStats }
  io: { received: number; dropped: number; requests: number; responses: number; sent: number; timeouts: number; datagramsIn: number; bytesIn: number; datagramsOut: number; bytesOut: number }
  /**
   * not in hyperdht: encrypted connections by side, outcome and path (`none`: failed before a
   * path), and relayed connections that moved to a direct path since
   */
  connections: { clientOpened: PathCounts; clientFailed: PathCounts; serverOpened: PathCounts; serverFailed: PathCounts; relayUpgrades: number }
}
interface PathCounts { direct: number; lan: number; holepunched: number; relayed: number; none: number }
/** tx = requests transmitted, rx = replies received */
interface CommandStats { tx: number; rx: number }

/** Errors carry hyperdht's codes (`PEER_NOT_FOUND`, `DESTROYED`, ...) or a socket errno name (`ECONNRESET`). */
type DHTErrorLike = Error & { code?: string }

interface ConnectOptions {
  /** default: the node's `defaultKeyPair`; just `{publicKey}` with `createHandshake` */
  keyPair?: KeyPairInput | PublicKeyOnly | undefined
  /** DHT nodes the server is announced on (else found by a lookup) */
  relayAddresses?: Address[] | undefined
  /**
   * Documented by hyperdht's README ("close dht nodes to speed up connecting"); hyperdht 6.34
   * does not read it, nor does this package: pass `relayAddresses`, or a hyperdht-address key.
   */
  nodes?: Address[] | undefined
  /** default true: connect over the LAN when both peers are behind the same NAT */
  localConnection?: boolean | undefined
  /** default true */
  fastOpen?: boolean | undefined
  reusableSocket?: boolean | undefined
  holepunch?: HolepunchVeto | undefined
  /** Reuse the pool's connection to this key if it has one (hyperdht `dht.pool()`). */
  pool?: ConnectionPool | undefined
  /**
   * A blind-relay node's key (or keys to pick one from, or a function returning either) to
   * pair through while holepunching; the connection may open relayed and upgrade to a direct
   * path later (`socket.path`). The node runs the npm `blind-relay` server.
   */
  relayThrough?: RelayThrough | undefined
  /** keep-alive (ms) of the connection to the relay node (default 5000) */
  relayKeepAlive?: number | undefined
  /** Your own handshake object writes and reads the Noise messages (`keyPair` may then be `{publicKey}`). */
  createHandshake?: CreateHandshake | undefined
  /**
   * Run your own secret-stream (e.g. a subclass of @hyperswarm/secret-stream's): called at once
   * as `createSecretStream(true, null, {publicKey, remotePublicKey, autoStart: false, keepAlive})`;
   * its stream is what `connect` returns, and it is started with `start(rawStream, {handshake})`
   * over the connection's raw UDX stream once the node's Noise handshake is done (a failed
   * connect destroys it with the error). With `createHandshake`, `handshake` is what its
   * object's `final()` returned.
   */
  createSecretStream?: ((isInitiator: boolean, rawStream: null, opts: { publicKey: Buffer; remotePublicKey: Buffer; autoStart: false; keepAlive: number }) => AppSecretStream) | undefined
}

/**
 * An app's Noise IK handshake object (hyperdht `lib/noise-wrap.js` shape; subclass NoiseWrap from
 * `hyperdht-rs/lib/noise-wrap`): the messages are made here, so the node never holds the secret
 * key. Each method may return a promise. `final()` must give `holepunchSecret` (or `hash`), and
 * `hash`/`tx`/`rx` unless the app runs its own `createSecretStream` (which then gets `final()`
 * as its `handshake`, in whatever shape the app chose).
 */
interface HandshakeObject {
  remotePublicKey?: Uint8Array | null | undefined
  send(payload: messages.NoisePayload): Uint8Array | Promise<Uint8Array>
  recv(noise: Buffer): messages.NoisePayload | Promise<messages.NoisePayload>
  final(): {
    publicKey?: Uint8Array | undefined
    remotePublicKey?: Uint8Array | null | undefined
    holepunchSecret?: Uint8Array | undefined
    hash?: Uint8Array | undefined
    tx?: Uint8Array | undefined
    rx?: Uint8Array | undefined
    [other: string]: unknown
  }
}

/** `createHandshake(keyPair, remotePublicKey)`: `remotePublicKey` is null on a server (responder). */
type CreateHandshake = (keyPair: RecordKeyPair, remotePublicKey: Buffer | null) => HandshakeObject

/** `server.listen(keyPair, opts)`: sign the announcer's requests yourself (e.g. with `Persistent.signAnnounce` from `hyperdht-rs/lib/persistent`). */
interface ServerListenOptions {
  signAnnounce?: SignAnnounce | undefined
  signUnannounce?: SignAnnounce | undefined
}

/** The handshake result a `createSecretStream` stream is started with (NoiseSecretStream `opts.handshake`). */
interface SecretStreamHandshake {
  isInitiator: boolean
  publicKey: Buffer
  remotePublicKey: Buffer
  hash: Buffer
  tx: Buffer
  rx: Buffer
}

/** What a client's `createSecretStream` returns: a stream started once the connection is made. */
type AppSecretStream = Duplex & { start(rawStream: RawStream, opts: { handshake: SecretStreamHandshake }): void }

type RelayThrough = Uint8Array | Uint8Array[] | null | (() => Uint8Array | Uint8Array[] | null)

/** NAT classes as hyperdht names them. */
type FirewallName = 'unknown' | 'open' | 'consistent' | 'random'

/**
 * How a connection was made (not in hyperdht; hyperdht#303). `type`: `direct` (one side is
 * reachable, or we talked to the peer's own node), `lan` (same public host, local address),
 * `holepunched`, `relayed` (through a blind relay), `upgraded` (relayed first, then moved to a
 * direct path: `relayThrough` stays set).
 */
interface ConnectionPath {
  type: 'direct' | 'lan' | 'holepunched' | 'relayed' | 'upgraded'
  localFirewall: FirewallName
  remoteFirewall: FirewallName
  relayThrough: Buffer | null
  /** PEER_HOLEPUNCH rounds sent (client) or answered (server) */
  punchRounds: number
  /** ms from the start of punching to the path; null when not punched */
  punchMs: number | null
}

interface ConnectionPoolEvents {
  /** a pooled connection opened (dialed or accepted) */
  connection: [stream: NoiseSecretStream, ref: ConnectionRef]
}

/** hyperdht's ConnectionPool: at most one connection per remote key. */
interface ConnectionPool extends TypedEventEmitter<ConnectionPoolEvents> {
  /** dials not open yet */
  readonly connecting: number
  readonly connections: IterableIterator<ConnectionRef>
  has(publicKey: Uint8Array): boolean
  get(publicKey: Uint8Array): NoiseSecretStream | null
}

interface ConnectionRef {
  active(): void
  inactive(): void
  /** destroys the connection */
  release(): void
}

interface DHTSocketEvents {
  close: []
}

/**
 * The DHT's UDP socket as udx-native's UDXSocket shows it (`dht.socket`, `dht.io.serverSocket`,
 * `conn.rawStream.socket`): one object per node; every UDX stream of the node runs on it.
 */
interface DHTSocket extends TypedEventEmitter<DHTSocketEvents> {
  readonly udx: UDX
  readonly closing: boolean
  readonly bound: boolean
  readonly idle: boolean
  readonly busy: boolean
  /** null once closed */
  address(): SocketAddress | null
  toJSON(): { bound: boolean; closing: boolean; address: SocketAddress | null }
}

interface UDXSocketEvents {
  message: [buffer: Buffer, from: SocketAddress]
  listening: []
  close: []
  error: [err: Error]
}

/** `dht.udx.createSocket()`: a raw datagram socket (udx-native's UDXSocket send/receive API). */
interface UDXSocket extends TypedEventEmitter<UDXSocketEvents> {
  readonly closing: boolean
  readonly bound: boolean
  readonly idle: boolean
  readonly busy: boolean
  readonly bytesTransmitted: number
  readonly packetsTransmitted: number
  readonly bytesReceived: number
  readonly packetsReceived: number
  /** `{ host, family, port }` once bound (port 0 until the bind completed) */
  address(): SocketAddress | null
  bind(port?: number, host?: string): void
  /** resolves false when the datagram could not be sent */
  send(buffer: Uint8Array, port: number, host?: string, ttl?: number): Promise<boolean>
  trySend(buffer: Uint8Array, port: number, host?: string, ttl?: number): void
  setTTL(ttl: number): void
  close(): Promise<void>
}

/** `dht.udx`: the part of udx-native's UDX object code written for hyperdht uses. */
interface UDX {
  createSocket(opts?: { ipv6Only?: boolean | undefined; reuseAddress?: boolean | undefined }): UDXSocket
  networkInterfaces(): NetworkInterface[]
  /** udx-native's counters: the node's datagrams (DHT frames, UDX packets) plus those of `createSocket()` sockets */
  readonly bytesTransmitted: number
  readonly packetsTransmitted: number
  readonly bytesReceived: number
  readonly packetsReceived: number
  /** always 0: the kernel's drop counter is not read */
  readonly packetsDroppedByKernel: number
}

/** One address of a network interface, as udx-native lists them. */
interface NetworkInterface { name: string; host: string; family: number; internal: boolean }

/**
 * A routing-table node as dht-rpc keeps it (a copy: changing it changes nothing). Tick fields count
 * dht-rpc's 5 s ticks; `to` is how the node saw us when last sampled (null when added by address).
 */
interface RoutingNode {
  id: Buffer
  port: number
  host: string
  to: NodeRef | null
  sampled: number
  added: number
  pinged: number
  seen: number
  downHints: number
  /** the next older node (in `dht.nodes`) */
  prev: RoutingNode | null
  /** the next newer node (in `dht.nodes`) */
  next: RoutingNode | null
}

/** `dht.nodes`: the routing table's nodes as a time-ordered set (a snapshot per read of `dht.nodes`). */
interface NodeSet {
  readonly length: number
  /** the most recently heard node */
  readonly latest: RoutingNode | null
  readonly oldest: RoutingNode | null
  has(node: { id: Uint8Array }): boolean
  /** oldest first, or newest first with `reverse` */
  toArray(opts?: { limit?: number | undefined; reverse?: boolean | undefined }): RoutingNode[]
}

/** `dht.table`: the Kademlia routing table (k = 20), read-only. */
interface RoutingTable {
  /** our node id once persistent; a random id while ephemeral */
  readonly id: Buffer
  readonly k: number
  readonly size: number
  get(id: Uint8Array): RoutingNode | null
  has(id: Uint8Array): boolean
  random(): RoutingNode | null
  /** kademlia-routing-table's row walk from `id` (not sorted by distance) */
  closest(id: Uint8Array, k?: number): RoutingNode[]
  toArray(): RoutingNode[]
}

/** dht-rpc's network health over the last 4 ticks. */
interface HealthStats {
  online: boolean
  degraded: boolean
  /** fewer than 4 ticks seen */
  cold: boolean
  /** fewer than 4 responses + timeouts in the last tick */
  idle: boolean
  responses: number
  timeouts: number
  timeoutsRate: number
}
interface NetworkHealth extends Readonly<HealthStats> {
  readonly stats: HealthStats
}

/** `rttStats()`: averages over a findNode for the most recently heard node. */
interface RttStats {
  successes: number
  errors: number
  responses: { avgRtt: number; errors: number; avgCloserNodes: number }
  closestReplies: { avgRtt: number; errors: number; avgCloserNodes: number }
}

/** `dht.session()`: its requests can be destroyed together. */
interface Session {
  /** one entry per request in flight */
  readonly inflight: unknown[]
  request(req: { token?: Uint8Array | null | undefined; target?: Uint8Array | null | undefined; command: number; value?: Uint8Array | null | undefined }, to: Address, opts?: { retry?: boolean | undefined }): Promise<RpcReply>
  ping(node: Address, opts?: { size?: number | undefined; retry?: boolean | undefined }): Promise<PingReply>
  /** `dht.query(...)`; unlike upstream, `destroy()` does not cancel its requests */
  query<T = RpcReply>(q: { target: Uint8Array; command: number; value?: Uint8Array | null | undefined }, opts?: RawQueryOptions<T>): Query<T>
  /** in-flight requests reject with `err` (default REQUEST_DESTROYED) */
  destroy(err?: Error): void
}

/** Where `reply` / `error` send the answer and what goes with it. */
interface ReplyOptions {
  /** send a token (default: true for reply, false for error) */
  token?: boolean | undefined
  /** send the nodes closest to `target` (default true) */
  closerNodes?: boolean | undefined
  /** answer another address than the requester */
  to?: Address | undefined
}

/** An application request given to `dht.onrequest(req)` (dht-rpc's Request); answered once. */
interface DHTRequest {
  readonly tid: number
  readonly from: NodeRef
  readonly to: NodeRef
  readonly token: Buffer | null
  readonly internal: false
  readonly command: number
  readonly target: Buffer | null
  readonly value: Buffer | null
  reply(value: Uint8Array | null, opts?: ReplyOptions): void
  error(code: number, opts?: ReplyOptions): void
  sendReply(error: number, value: Uint8Array | null, token: boolean, hasCloserNodes: boolean): void
  /** forward it (same tid) to `to`, which answers the requester */
  relay(value: Uint8Array | null, to: Address): void
}

interface RawStreamEvents extends DuplexEvents {
  connect: []
  data: [data: Buffer]
  /** an unreliable UDX message (`send()` on the other side) */
  message: [data: Buffer]
  error: [err: DHTErrorLike]
}

/** `dht.createRawStream()`: shaped like udx-native's UDXStream (plaintext, on the DHT socket). */
interface RawStream extends Duplex<RawStreamEvents> {
  readonly udx: UDX
  readonly id: number
  readonly framed: boolean
  readonly connected: boolean
  readonly socket: DHTSocket | null
  readonly remoteId: number
  readonly remoteHost: string | null
  readonly remotePort: number
  readonly remoteFamily: number
  userData: any
  /** ms; 0 while unknown */
  readonly rtt: number
  readonly mtu: number
  readonly localHost: string | null
  readonly localPort: number
  readonly localFamily: number
  /** udx-native `connect(socket, remoteId, port, host = '127.0.0.1')`; `socket` must be the DHT's socket */
  connect(socket: DHTSocket, remoteId: number, port: number, host?: string): void
  setInteractive(interactive: boolean): void
  setKeepalive(ms: number): void
  /** one unreliable message; resolves false when it was not sent */
  send(buffer: Uint8Array): Promise<boolean>
  trySend(buffer: Uint8Array): void
  /** udx-native `relayTo(destination)`: forward this stream's datagrams to `destination`'s peer (blind relays) */
  relayTo(destination: RawStream): this
  write(data: Uint8Array | string): boolean
  /** streamx `end(data)`: writes `data` (a Uint8Array or string) if given, then ends */
  end(data?: unknown): this
  read(): Buffer | null
  [Symbol.asyncIterator](): AsyncIterator<Buffer>
  toJSON(): object
}

/** hyperdht lib/raw-stream-set.js, `dht.rawStreams` */
interface RawStreamSet extends Iterable<RawStream | ConnectionRawStream> {
  readonly size: number
  /** `dht.createRawStream(opts)` */
  add(opts?: { framed?: boolean | undefined; firewall?: ((socket: DHTSocket, port: number, host: string) => boolean) | undefined }): RawStream
  /** destroys every stream; resolves once they closed */
  clear(): Promise<void>
}

/**
 * `conn.rawStream`: the UDX stream under an encrypted connection. Emits `remote-changed` when a
 * relayed connection moved to its direct path (as udx-native's stream does after `changeRemote`),
 * and udx-native's `error` (a reset or timeout) and `close`.
 */
interface ConnectionRawStream extends EventEmitter {
  /** our UDX stream id, and the peer's (a relay upgrade changes the peer's) */
  readonly id: number
  readonly remoteId: number
  /** the local address of the socket it runs on (the DHT's) */
  readonly localHost: string | null
  readonly localPort: number
  readonly localFamily: number
  /** true once the connection closed */
  readonly destroyed: boolean
  userData: any
  readonly remoteHost: string | null
  readonly remotePort: number
  readonly remoteFamily: number
  readonly rtt: number
  readonly mtu: number
  readonly connected: boolean
  /** the UDP socket it runs on (null once closed) */
  readonly socket: DHTSocket | null
  readonly bytesRead: number
  readonly bytesWritten: number
  /** udx-native's stream counters (the last values once closed) */
  readonly bytesTransmitted: number
  readonly packetsTransmitted: number
  readonly bytesReceived: number
  readonly packetsReceived: number
  readonly retransmits: number
  readonly rtoCount: number
  readonly fastRecoveries: number
  /** congestion window in packets */
  readonly cwnd: number
  /** payload bytes sent and not yet acknowledged */
  readonly inflight: number
  /** libudx's BBR state: 0 startup, 1 drain, 2 probe bandwidth, 3 probe RTT */
  readonly bbrState: number
  /** BBR's bottleneck bandwidth estimate, bytes per second */
  readonly bbrBandwidth: number
  /** the stream is being (or was) destroyed */
  readonly destroying: boolean
  /** udx-native `destroy(err)`: the connection goes with it (the peer sees ECONNRESET). */
  destroy(err?: Error): void
  /** udx-native's shape */
  toJSON(): {
    id: number
    connected: boolean
    destroying: boolean
    destroyed: boolean
    remoteId: number
    remoteHost: string | null
    remoteFamily: number
    remotePort: number
    mtu: number
    rtt: number
    cwnd: number
    inflight: number
    socket: { bound: boolean; closing: boolean; address: { host: string; family: number; port: number } | null } | null
  }
}

interface NoiseSecretStreamEvents extends DuplexEvents {
  /** the handshake completed (keys, `handshakeHash` and `rawStream` are set); right after `connect` */
  open: []
  connect: []
  data: [data: Buffer]
  /** an unordered datagram from the peer's `send`/`trySend` */
  message: [data: Buffer]
  error: [err: DHTErrorLike]
}

/** An encrypted connection, shaped like @hyperswarm/secret-stream's NoiseSecretStream. */
interface NoiseSecretStream extends Duplex<NoiseSecretStreamEvents> {
  readonly dht: HyperDHT
  readonly isInitiator: boolean
  /** this stream itself (NoiseSecretStream's `noiseStream`) */
  readonly noiseStream: NoiseSecretStream
  /** our key; set from the start on dialed connections, once open on accepted ones */
  readonly publicKey: Buffer | null
  readonly remotePublicKey: Buffer | null
  /** the same on both ends of a connection; set once open */
  readonly handshakeHash: Buffer | null
  readonly connected: boolean
  readonly rawStream: ConnectionRawStream | null
  /** How the connection was made (not in hyperdht); null before it opened. Live: shows a relay upgrade. */
  readonly path: ConnectionPath | null
  readonly rawBytesRead: number
  readonly rawBytesWritten: number
  /** resolves true once open, false when destroyed first */
  readonly opened: Promise<boolean>
  readonly keepAlive: number
  readonly timeout: number
  userData: any
  /** Resolves true once opened and every write so far was handed on; false if destroyed first. */
  flush(): Promise<boolean>
  setKeepAlive(ms: number): void
  sendKeepAlive(): void
  /** the stream fails when nothing arrives for `ms` (0 = off) */
  setTimeout(ms: number): void
  /**
   * An unordered encrypted datagram (the peer's `message` event; may be lost, reordered or
   * duplicated): resolves to whether it was sent; undefined before the connection opened.
   */
  send(data: Uint8Array | string): Promise<boolean> | undefined
  /** `send` without the promise */
  trySend(data: Uint8Array | string): void
  /** false: the peer's datagrams are not emitted as `message` (secret-stream's `enableSend`) */
  enableSend: boolean
  /** secret-stream `alloc(len)`: a buffer of `len` bytes to fill and write (protomux uses it) */
  alloc(len: number): Buffer
  write(data: Uint8Array | string): boolean
  /** streamx `end(data)`: writes `data` (a Uint8Array or string) if given, then ends */
  end(data?: unknown): this
  read(): Buffer | null
  [Symbol.asyncIterator](): AsyncIterator<Buffer>
  toJSON(): object
}

/**
 * A server's firewall: return (or resolve) true to reject; the client then gets no answer, as in
 * hyperdht. A throwing firewall rejects too.
 */
type Firewall = (remotePublicKey: Buffer, remotePayload: messages.NoisePayload, clientAddress: Address) => boolean | Promise<boolean>

interface ServerOptions {
  firewall?: Firewall | undefined
  /** `false` never punches; a function vetoes each punch (see HolepunchVeto). */
  holepunch?: false | HolepunchVeto | undefined
  /** default true: offer our LAN addresses to clients behind the same NAT */
  shareLocalAddress?: boolean | undefined
  reusableSocket?: boolean | undefined
  /** Accepted connections join this pool (hyperdht `dht.pool()`). */
  pool?: ConnectionPool | undefined
  onconnection?: ((socket: NoiseSecretStream) => void) | undefined
  /** ms a finished handshake is remembered for retransmits (default 10000) */
  handshakeClearWait?: number | undefined
  /** pair punched connections through this blind relay (see ConnectOptions.relayThrough) */
  relayThrough?: RelayThrough | undefined
  relayKeepAlive?: number | undefined
  /** Your own handshake objects (one per incoming handshake) do the Noise messages: with a signer, the server's secret key never reaches the node. */
  createHandshake?: CreateHandshake | undefined
  /**
   * Run your own secret-stream over each accepted connection's raw UDX stream:
   * `createSecretStream(false, rawStream, {handshake, keepAlive})` (with `createHandshake`,
   * `handshake` is what its object's `final()` returned).
   */
  createSecretStream?: ((isInitiator: boolean, rawStream: RawStream, opts: { handshake: SecretStreamHandshake; keepAlive: number }) => NoiseSecretStream | Duplex) | undefined
}

interface ServerEvents {
  listening: []
  /** an encrypted connection passed the firewall; it is open */
  connection: [socket: NoiseSecretStream]
  close: []
}

interface Server extends TypedEventEmitter<ServerEvents> {
  readonly dht: HyperDHT
  /** null until `listen()` */
  readonly keyPair: KeyPair | null
  readonly publicKey: Buffer | null
  /** hash(publicKey) once listening: the topic the server is announced under */
  readonly target: Buffer | null
  /** the DHT nodes the announcement currently sits on */
  readonly relayAddresses: Address[]
  readonly listening: boolean
  readonly closed: boolean
  readonly suspended: boolean
  readonly pool: ConnectionPool | null
  /** read per handshake, as in hyperdht: assign a new one at any time (default: lets everyone in) */
  firewall: Firewall
  /** read per punch (default: always punch) */
  holepunch: HolepunchVeto
  /** read per handshake, as in hyperdht: the blind relay punched connections pair through */
  relayThrough: RelayThrough | null
  relayKeepAlive: number
  readonly handshakeClearWait: number
  /**
   * Announces under `keyPair` (default: the node's `defaultKeyPair`); rejects ALREADY_LISTENING,
   * KEYPAIR_ALREADY_USED, NODE_DESTROYED. Non-custodial: a key pair without its secret key needs
   * the server's `createHandshake` and a signer (`keyPair.sign` or `opts.signAnnounce`).
   */
  listen(keyPair?: KeyPairInput | SignerKeyPair, opts?: ServerListenOptions): Promise<this>
  listen(keyPair: PublicKeyOnly, opts: ServerListenOptions & { signAnnounce: SignAnnounce }): Promise<this>
  /** re-announce now */
  refresh(): void
  /** hyperdht's hook for the node coming back online (the announcer notices by itself) */
  notifyOnline(): void
  /** called with every accepted connection; emits `connection` (override in a subclass) */
  onconnection(socket: NoiseSecretStream): void
  address(): { host: string | null; port: number; publicKey: Buffer } | null
  close(): Promise<void>
  /** unannounces; `log` gets hyperdht's progress lines */
  suspend(opts?: { log?: ((msg: string) => void) | undefined }): Promise<void>
  resume(): Promise<void>
}

interface HyperDHTEvents {
  /** bootstrapped */
  ready: []
  /** the socket is bound */
  listening: []
  /** the node became persistent (non-ephemeral) */
  persistent: []
  /** the node went back to ephemeral */
  ephemeral: []
  /** woke up after the event loop was blocked (or the machine slept) */
  wakeup: []
  /** `online` / `degraded` changed */
  'network-update': []
  /** our address as the network sees it changed */
  'nat-update': [host: string, port: number]
  /** a node entered the routing table */
  'add-node': [node: RoutingNode]
  /** a node left the routing table */
  'remove-node': [node: RoutingNode]
  /** the interface list changed (checked every 5 s); `network-update` follows */
  'network-change': [interfaces: NetworkInterface[]]
  suspend: []
  resume: []
  close: []
}

declare class HyperDHT extends TypedEventEmitter<HyperDHTEvents> {
  constructor(opts?: DHTOptions)
  /** A persistent, non-firewalled node on `host:port` (an IPv4 address) with no bootstrap list. */
  static bootstrapper(port: number, host: string, opts?: DHTOptions): HyperDHT
  /** Ed25519 key pair; deterministic with a 32-byte seed. */
  static keyPair(seed?: Uint8Array | null): KeyPair
  /** BLAKE2b-256 (a string is hashed as its UTF-8 bytes). */
  static hash(data: Uint8Array | string): Buffer
  /** Connects `rawStream` to `remoteId` over the path of `encryptedStream`; throws STREAM_NOT_CONNECTED if it is not connected. */
  static connectRawStream(encryptedStream: NoiseSecretStream, rawStream: RawStream, remoteId: number): void
  /** A 32-byte key from a Buffer, 64-char hex or 52-char z-base32 string. */
  static toKey(key: Uint8Array | string, name?: string): Buffer
  static readonly BOOTSTRAP: typeof constants.BOOTSTRAP_NODES
  static readonly FIREWALL: typeof constants.FIREWALL
  static readonly COMMANDS: typeof constants.COMMANDS
  static readonly DEFAULTS: Readonly<{ concurrency: number; maxWindow: number; maxPingDelay: number; connectionKeepAlive: number; randomPunchInterval: number }>
  /** dht-rpc reply error codes: 0, UNKNOWN_COMMAND (1), INVALID_TOKEN (2) */
  static readonly OK: 0
  static readonly ERROR_UNKNOWN_COMMAND: 1
  static readonly ERROR_INVALID_TOKEN: 2

  readonly defaultKeyPair: KeyPair
  /** servers listening on this node */
  readonly listening: Set<Server>
  readonly destroyed: boolean
  readonly bootstrapped: boolean
  readonly suspended: boolean
  readonly concurrency: number
  /** ms; 0 = off */
  readonly connectionKeepAlive: number
  readonly plugins: Map<string, DHTPlugin>
  /** our DHT id; null while ephemeral */
  readonly id: Buffer | null
  readonly ephemeral: boolean
  readonly firewalled: boolean
  /** our public address as the network sees it (null while unknown) */
  readonly host: string | null
  readonly port: number
  /** behind a NAT that randomizes ports */
  readonly randomized: boolean
  /** dht-rpc network health: false after responses stopped */
  readonly online: boolean
  readonly degraded: boolean
  /** hyperdht 6.34's `stats`, read from the engine at each access; `io` is ours (frames, socket datagrams/bytes). */
  readonly stats: Stats
  /** udx-native's UDX object as far as hyperdht code uses it: raw datagram sockets. */
  readonly udx: UDX
  /** dht-rpc io internals callers read: portRange, and _tid (grows with every request sent) */
  readonly io: { readonly portRange: [number, number]; readonly _tid: number; readonly serverSocket: DHTSocket; readonly networkInterfaces: { readonly interfaces: NetworkInterface[] } }
  /** the longest DELAYED_PING (ms) this node answers or asks for */
  maxPingDelay: number
  /** the routing table's nodes, most recently heard = `latest` */
  readonly nodes: NodeSet
  readonly table: RoutingTable
  /** the window behind `online` / `degraded` */
  readonly health: NetworkHealth
  /** The socket every UDX stream of this node lives on. */
  readonly socket: DHTSocket
  /** The counters in the Prometheus text format 0.0.4 (README "Metrics"); `labels` are added to every sample. */
  metrics(opts?: { labels?: Record<string, string> | undefined }): string

  /** Resolves once bootstrapped (same as `fullyBootstrapped()`); rejects if the socket cannot bind. */
  ready(): Promise<void>
  fullyBootstrapped(): Promise<void>
  /** resolves once the socket is bound; rejects with the bind error (EADDRINUSE, ...) */
  bind(): Promise<void>
  /** the bootstrap list as given, as `{host, port}` */
  readonly bootstrapNodes: Address[]
  /** whether the node may switch between ephemeral and persistent by itself */
  readonly adaptive: boolean
  /** dht-rpc's settings view */
  readonly config: { concurrency: number; maxWindow: number; randomPunchInterval: number; connectionKeepAlive: number; sendDownHints: boolean; downHintsRateLimit: number }
  /** Closes servers first (unannouncing) unless `force`; connections close, dials fail with DESTROYED. */
  destroy(opts?: { force?: boolean | undefined }): Promise<void>
  /** The bound socket's address; null before it is bound. */
  address(): SocketAddress | null
  localAddress(): Address | null
  remoteAddress(): Address | null
  /** Routing table nodes. */
  toArray(opts?: { limit?: number | undefined }): Address[]
  addNode(node: Address): void
  /** `size` zero bytes go along as the value */
  ping(node: Address, opts?: { session?: Session | undefined; size?: number | undefined; retry?: boolean | undefined }): Promise<PingReply>
  /** DELAYED_PING: answered after `delayMs` (never past the node's maxPingDelay); throws if above ours */
  delayedPing(node: Address, delayMs: number, opts?: { session?: Session | undefined; retry?: boolean | undefined }): Promise<PingReply>
  session(): Session
  rttStats(): Promise<RttStats>
  /** those addresses whose host a local socket can bind and reach itself on (cached per host) */
  validateLocalAddresses<T extends Address>(addresses: T[]): Promise<T[]>
  /**
   * Requests for commands the node does not handle itself. Override it (subclass or assignment) to
   * answer custom commands; `false` answers UNKNOWN_COMMAND, anything else leaves the request to you.
   */
  onrequest(req: DHTRequest): boolean | void
  refresh(): void
  suspend(opts?: { log?: ((msg: string) => void) | undefined }): Promise<void>
  resume(opts?: { log?: ((msg: string) => void) | undefined }): Promise<void>
  /** hyperdht: PLUGIN requests for `name` at plugin.version reach plugin.onrequest on persistent nodes */
  register(name: string, plugin: DHTPlugin): void
  /** dht-rpc: one request to one node. */
  request(req: { token?: Uint8Array | null | undefined; target?: Uint8Array | null | undefined; command: number; value?: Uint8Array | null | undefined }, to: Address, opts?: { retry?: boolean | undefined; session?: Session | undefined }): Promise<RpcReply>
  findNode<T = RpcReply>(target: Uint8Array, opts?: RawQueryOptions<T>): Query<T>
  query<T = RpcReply>(q: { target: Uint8Array; command: number; value?: Uint8Array | null | undefined }, opts?: RawQueryOptions<T>): Query<T>

  /** Finds the announcement of a key (`hash: false` = `publicKey` is already the target). */
  findPeer(publicKey: Uint8Array, opts?: QueryOptions<FindPeerReply> & { hash?: boolean | undefined }): Query<FindPeerReply>
  lookup(topic: Uint8Array, opts?: QueryOptions<LookupReply>): Query<LookupReply>
  announce(topic: Uint8Array, keyPair: KeyPairInput | SignerKeyPair, relayAddresses?: Address[] | null, opts?: AnnounceOptions): Query<LookupReply>
  announce(topic: Uint8Array, keyPair: PublicKeyOnly, relayAddresses: Address[] | null | undefined, opts: AnnounceOptions & { signAnnounce: SignAnnounce }): Query<LookupReply>
  unannounce(topic: Uint8Array, keyPair: KeyPairInput | SignerKeyPair, opts?: UnannounceOptions): Promise<void>
  unannounce(topic: Uint8Array, keyPair: PublicKeyOnly, opts: UnannounceOptions & { signUnannounce: SignAnnounce }): Promise<void>
  lookupAndUnannounce(topic: Uint8Array, keyPair: KeyPairInput | SignerKeyPair, opts?: UnannounceOptions): Query<LookupReply>
  lookupAndUnannounce(topic: Uint8Array, keyPair: PublicKeyOnly, opts: UnannounceOptions & { signUnannounce: SignAnnounce }): Query<LookupReply>
  immutablePut(value: Uint8Array | string, opts?: BaseQueryOptions): Promise<{ hash: Buffer; closestNodes: NodeRef[] }>
  immutableGet(hash: Uint8Array, opts?: BaseQueryOptions): Promise<ImmutableGetResult | null>
  mutablePut(keyPair: KeyPairInput | SignerKeyPair, value: Uint8Array | string, opts?: MutablePutOptions): Promise<MutablePutResult>
  mutablePut(keyPair: PublicKeyOnly, value: Uint8Array | string, opts: MutablePutOptions & { signMutable: SignMutable }): Promise<MutablePutResult>
  mutableGet(publicKey: Uint8Array, opts?: MutableGetOptions): Promise<MutableGetResult | null>

  /**
   * Returns the encrypted stream synchronously; `open` fires once connected. Keys may be Buffer,
   * hex, z-base32, a `pear://` link or a hyperdht-address Buffer; others throw `Invalid Hypercore key`.
   */
  connect<T extends AppSecretStream>(remotePublicKey: Uint8Array | string, opts: ConnectOptions & { createSecretStream: (isInitiator: boolean, rawStream: null, opts: { publicKey: Buffer; remotePublicKey: Buffer; autoStart: false; keepAlive: number }) => T }): T
  connect(remotePublicKey: Uint8Array | string, opts?: ConnectOptions): NoiseSecretStream
  createServer(opts?: ServerOptions, onconnection?: (socket: NoiseSecretStream) => void): Server
  createServer(onconnection: (socket: NoiseSecretStream) => void): Server
  pool(): ConnectionPool
  /** A raw UDX stream on this node's socket (`framed` is accepted); connect it with `DHT.connectRawStream`. */
  /**
   * `firewall(socket, port, host)` (udx-native): asked about the first datagram's source while
   * unconnected; connect the stream there and return false, or true to reject.
   */
  createRawStream(opts?: { framed?: boolean | undefined; firewall?: ((socket: DHTSocket, port: number, host: string) => boolean) | undefined }): RawStream
  /** hyperdht `dht.rawStreams`: each open connection's `rawStream` and every `createRawStream()` stream not yet closed */
  readonly rawStreams: RawStreamSet
}

declare namespace HyperDHT {
  export {
    Address, NodeRef, SocketAddress, KeyPair, KeyPairInput, SignerKeyPair, PublicKeyOnly, RecordKeyPair, DHTOptions, HolepunchVeto, Firewall,
    BaseQueryOptions, Commit, QueryOptions, RawQueryOptions, Announcement, SignAnnounce, SignMutable,
    AnnounceOptions, UnannounceOptions, MutablePutOptions, MutableGetOptions,
    DHTPlugin, PluginRequest, PluginOuterRequest, QueryEvents, Query,
    PeerRecord, RecordReply, LookupReply, FindPeerReply, ImmutableGetResult, MutableGetResult, MutablePutResult, RpcReply, PingReply,
    Stats, CommandStats, DHTErrorLike, ConnectOptions, HandshakeObject, CreateHandshake, ServerListenOptions, SecretStreamHandshake, AppSecretStream, ConnectionPoolEvents, ConnectionPool, ConnectionRef,
    DHTSocketEvents, DHTSocket, UDXSocketEvents, UDXSocket, UDX, RawStreamEvents, RawStream, ConnectionRawStream, RawStreamSet,
    NoiseSecretStreamEvents, NoiseSecretStream, ServerOptions, ServerEvents, Server, HyperDHTEvents,
    ConnectionPath, PathCounts, FirewallName, RelayThrough,
    NetworkInterface, RoutingNode, NodeSet, RoutingTable, HealthStats, NetworkHealth, RttStats, Session, ReplyOptions, DHTRequest
  }
}

export = HyperDHT
