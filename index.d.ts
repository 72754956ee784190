// Hand-written public types for hyperdht-rs (a drop-in for hyperdht 6.x).
import { EventEmitter } from 'events'
import { Readable, Duplex } from 'streamx'

interface KeyPair { publicKey: Buffer; secretKey: Buffer }
interface Address { host: string; port: number }
interface NodeRef extends Address { id: Buffer | null }

interface DHTOptions {
  /** 'host:port', 'suggestedIP@host:port' (the IP if it answers a ping, else the host name), {host, port}, or a port on 127.0.0.1 */
  bootstrap?: Array<string | number | Address>
  /** a port (tried as [port, port + 5)) or a range [start, end) tried in order (dht-rpc io.portRange) */
  port?: number | [number, number]
  host?: string
  ephemeral?: boolean
  firewalled?: boolean
  anyPort?: boolean
  keyPair?: KeyPair
  seed?: Buffer
  nodes?: Address[]
  concurrency?: number
  maxSize?: number
  maxAge?: number
  connectionKeepAlive?: number | false
  /** dht-rpc's quickFirewall (default true); false keeps a firewalled node firewalled until NAT sampling says otherwise. */
  quickFirewall?: boolean
}

/**
 * hyperdht's holepunch veto: asked once both NATs are known and the other side wants to punch;
 * a falsy return aborts with HOLEPUNCH_ABORTED. Firewalls are hyperdht's FIREWALL codes.
 */
type HolepunchVeto = (remoteFirewall: number, localFirewall: number, remoteAddresses: Address[], localAddresses: Address[] | null) => boolean

interface QueryOptions {
  nodes?: Address[]; closestNodes?: Address[]; replies?: Array<{ from: Address }>; closestReplies?: Array<{ from: Address }>; concurrency?: number
  /** dht-rpc: runs per closest reply once the query is done (true = repeat the request with the token); the query fails if every commit fails */
  commit?: true | ((reply: RpcReply, dht: HyperDHT, query: Query<any>) => Promise<unknown>)
}
/** dht-rpc query()/findNode() also take `map`: what the stream yields per reply (falsy = skipped). */
interface RawQueryOptions<T> extends QueryOptions { map?: (reply: RpcReply) => T | null }

/** hyperdht's plugin contract (`require('hyperdht/lib/plugin')` is a base class for it). */
interface DHTPlugin {
  readonly name: string
  readonly version: number
  onregister(dht: HyperDHT): void
  onrequest(req: { plugin: string; version: number; command: number; value: Buffer | null }, outerReq: PluginOuterRequest): void
  onpersistent(): void
  destroy(): void
}
interface PluginOuterRequest {
  tid: number; from: NodeRef; to: NodeRef; token: Buffer | null; internal: false; command: number; target: Buffer | null; value: Buffer | null
  reply(value: Buffer | null, opts?: { token?: boolean; closerNodes?: boolean }): void
  error(code: number, opts?: { token?: boolean; closerNodes?: boolean }): void
}

interface Query<T> extends Readable<T>, AsyncIterable<T> {
  readonly closestNodes: NodeRef[]
  readonly closestReplies: T[]
  finished(): Promise<void>
}

interface PeerRecord { publicKey: Buffer; relayAddresses: Address[] }
interface LookupReply { token: Buffer | null; from: NodeRef; to: NodeRef | null; peers: PeerRecord[]; bump: number }
interface FindPeerReply { token: Buffer | null; from: NodeRef; to: NodeRef | null; peer: PeerRecord }
interface ImmutableResult { token: Buffer | null; from: NodeRef; to: NodeRef | null; value: Buffer }
interface MutableResult { token: Buffer | null; from: NodeRef; to: NodeRef | null; seq: number; value: Buffer; signature: Buffer }
interface RpcReply {
  tid: number; from: NodeRef; to: NodeRef | null; token: Buffer | null
  closerNodes: Address[]; error: number; value: Buffer | null
}

interface ConnectOptions {
  keyPair?: KeyPair
  relayAddresses?: Address[]
  localConnection?: boolean
  fastOpen?: boolean
  reusableSocket?: boolean
  holepunch?: HolepunchVeto
  /** Reuse the pool's connection to this key if it has one (hyperdht `dht.pool()`). */
  pool?: ConnectionPool
}

/** hyperdht's ConnectionPool: at most one connection per remote key. */
declare class ConnectionPool extends EventEmitter {
  readonly connecting: number
  readonly connections: IterableIterator<ConnectionRef>
  has(publicKey: Buffer): boolean
  get(publicKey: Buffer): NoiseSecretStream | null
  on(event: 'connection', listener: (stream: NoiseSecretStream, ref: ConnectionRef) => void): this
}

interface ConnectionRef {
  active(): void
  inactive(): void
  release(): void
}

/** The DHT's UDP socket (udx-native UDXSocket subset): one object per socket. */
interface DHTSocket extends EventEmitter {
  readonly bound: boolean
  readonly closing: boolean
  address(): { host: string; family: number; port: number } | null
  on(event: 'close', listener: () => void): this
  on(event: string, listener: (...args: any[]) => void): this
}

/** `dht.createRawStream()`: shaped like udx-native's UDXStream (plaintext, on the DHT socket). */
interface RawStream extends Duplex<Buffer> {
  readonly id: number
  readonly connected: boolean
  socket: DHTSocket | null
  remoteId: number
  remoteHost: string | null
  remotePort: number
  remoteFamily: number
  userData: any
  readonly rtt: number
  readonly mtu: number
  readonly localHost: string | null
  readonly localPort: number
  readonly localFamily: number
  connect(socket: DHTSocket, remoteId: number, port: number, host?: string): void
  setKeepalive(ms: number): void
  send(buffer: Buffer): Promise<boolean>
  trySend(buffer: Buffer): void
  on(event: 'connect' | 'end' | 'finish' | 'close' | 'drain', listener: () => void): this
  on(event: 'data' | 'message', listener: (data: Buffer) => void): this
  on(event: 'error', listener: (err: Error & { code?: string }) => void): this
  on(event: string, listener: (...args: any[]) => void): this
}

/** Shaped like @hyperswarm/secret-stream's NoiseSecretStream. */
interface NoiseSecretStream extends Duplex<Buffer> {
  readonly isInitiator: boolean
  publicKey: Buffer | null
  remotePublicKey: Buffer | null
  handshakeHash: Buffer | null
  connected: boolean
  userData: any
  keepAlive: number
  timeout: number
  rawBytesRead: number
  rawBytesWritten: number
  rawStream: { remoteHost: string | null; remotePort: number; remoteFamily: number; rtt: number; mtu: number; connected: boolean; bytesRead: number; bytesWritten: number; socket: DHTSocket | null } | null
  readonly opened: Promise<boolean>
  /** Resolves true once opened and every write so far was handed on; false if destroyed first. */
  flush(): Promise<boolean>
  setKeepAlive(ms: number): void
  sendKeepAlive(): void
  setTimeout(ms: number): void
  on(event: 'open' | 'connect' | 'end' | 'finish' | 'close' | 'drain', listener: () => void): this
  on(event: 'data', listener: (data: Buffer) => void): this
  on(event: 'error', listener: (err: Error & { code?: string }) => void): this
  on(event: string, listener: (...args: any[]) => void): this
}

interface ServerOptions {
  /** Return (or resolve) true to reject: the client then gets no answer, as in hyperdht. */
  firewall?: (remotePublicKey: Buffer, remotePayload: any, clientAddress: Address) => boolean | Promise<boolean>
  /** `false` never punches; a function vetoes each punch (see HolepunchVeto). */
  holepunch?: false | HolepunchVeto
  shareLocalAddress?: boolean
  reusableSocket?: boolean
  /** Accepted connections join this pool (hyperdht `dht.pool()`). */
  pool?: ConnectionPool
  onconnection?: (conn: NoiseSecretStream) => void
  handshakeClearWait?: number
}

declare class Server extends EventEmitter {
  readonly publicKey: Buffer | null
  readonly relayAddresses: Address[]
  readonly closed: boolean
  readonly suspended: boolean
  /** ms a finished handshake is remembered for retransmits (`handshakeClearWait`, default 10000). */
  readonly handshakeClearWait: number
  listen(keyPair?: KeyPair): Promise<this>
  refresh(): void
  address(): { host: string | null; port: number; publicKey: Buffer } | null
  close(): Promise<void>
  suspend(): Promise<void>
  resume(): Promise<void>
  on(event: 'listening' | 'close', listener: () => void): this
  on(event: 'connection', listener: (conn: NoiseSecretStream) => void): this
  on(event: string, listener: (...args: any[]) => void): this
}

declare class HyperDHT extends EventEmitter {
  constructor(opts?: DHTOptions)
  static bootstrapper(port: number, host: string, opts?: DHTOptions): HyperDHT
  static keyPair(seed?: Buffer): KeyPair
  static hash(data: Buffer): Buffer
  static BOOTSTRAP: string[]
  static FIREWALL: { UNKNOWN: 0; OPEN: 1; CONSISTENT: 2; RANDOM: 3 }
  /** Connects `rawStream` to `remoteId` over the path of `encryptedStream`; throws STREAM_NOT_CONNECTED if it is not connected. */
  static connectRawStream(encryptedStream: NoiseSecretStream, rawStream: RawStream, remoteId: number): void

  readonly defaultKeyPair: KeyPair
  readonly destroyed: boolean
  /** udx-native's UDX object as far as hyperdht code uses it: raw datagram sockets. */
  readonly udx: {
    createSocket(opts?: { ipv6Only?: boolean; reuseAddress?: boolean }): {
      bind(port?: number, host?: string): void
      send(buffer: Buffer, port: number, host?: string, ttl?: number): Promise<boolean>
      trySend(buffer: Buffer, port: number, host?: string, ttl?: number): void
      address(): { host: string; family: number; port: number } | null
      close(): Promise<void>
      on(event: 'message', listener: (buf: Buffer, from: { host: string; family: number; port: number }) => void): unknown
    }
    networkInterfaces(): Array<{ name: string; host: string; family: number; internal: boolean }>
  }
  readonly bootstrapped: boolean
  readonly id: Buffer | null
  readonly ephemeral: boolean
  readonly firewalled: boolean
  readonly host: string | null
  readonly port: number
  readonly randomized: boolean
  readonly suspended: boolean
  readonly plugins: Map<string, DHTPlugin>
  /** dht-rpc io internals callers read: portRange, and _tid (grows with every request sent) */
  readonly io: { portRange: [number, number]; readonly _tid: number; readonly serverSocket: DHTSocket }
  /** The socket every UDX stream of this node lives on. */
  readonly socket: DHTSocket
  /** hyperdht 6.34's `stats`, read from the engine at each access; `io` is ours (frames, socket datagrams/bytes). */
  readonly stats: {
    punches: { consistent: number; random: number; open: number; tryLater: number; tryLaterRelayedHandshakesAtLeastOnce: number }
    relaying: { attempts: number; successes: number; aborts: number }
    socketPool: { socketsAdded: number; socketsRemoved: number }
    queries: { active: number; total: number }
    requests: { active: number; total: number; responses: number; timeouts: number; retries: number }
    commands: Record<'ping' | 'pingNat' | 'findNode' | 'downHint', { tx: number; rx: number }>
    io: { received: number; dropped: number; requests: number; responses: number; sent: number; timeouts: number; datagramsIn: number; bytesIn: number; datagramsOut: number; bytesOut: number }
  }
  /** The counters in the Prometheus text format 0.0.4 (README "Metrics"); `labels` are added to every sample. */
  metrics(opts?: { labels?: Record<string, string> }): string

  ready(): Promise<void>
  fullyBootstrapped(): Promise<void>
  destroy(opts?: { force?: boolean }): Promise<void>
  address(): Address | null
  localAddress(): Address | null
  remoteAddress(): Address | null
  toArray(opts?: { limit?: number }): Address[]
  addNode(node: Address): void
  ping(node: Address): Promise<RpcReply>
  findNode<T = RpcReply>(target: Buffer, opts?: RawQueryOptions<T>): Query<T>
  query<T = RpcReply>(q: { target: Buffer; command: number; value?: Buffer | null }, opts?: RawQueryOptions<T>): Query<T>
  request(q: { token?: Buffer | null; target?: Buffer | null; command: number; value?: Buffer | null }, to: Address, opts?: { retry?: boolean }): Promise<RpcReply>
  refresh(): void
  suspend(opts?: { log?: (msg: string) => void }): Promise<void>
  resume(opts?: { log?: (msg: string) => void }): Promise<void>
  /** hyperdht: PLUGIN requests for `name` at plugin.version reach plugin.onrequest on persistent nodes */
  register(name: string, plugin: DHTPlugin): void

  findPeer(publicKey: Buffer, opts?: QueryOptions & { hash?: boolean }): Query<FindPeerReply>
  lookup(topic: Buffer, opts?: QueryOptions): Query<LookupReply>
  announce(topic: Buffer, keyPair: KeyPair, relayAddresses?: Address[], opts?: QueryOptions & { bump?: number; clear?: boolean }): Query<LookupReply>
  unannounce(topic: Buffer, keyPair: KeyPair, opts?: QueryOptions): Promise<void>
  lookupAndUnannounce(topic: Buffer, keyPair: KeyPair, opts?: QueryOptions): Query<LookupReply>
  immutablePut(value: Buffer, opts?: QueryOptions): Promise<{ hash: Buffer; closestNodes: NodeRef[] }>
  immutableGet(hash: Buffer, opts?: QueryOptions): Promise<ImmutableResult | null>
  mutablePut(keyPair: KeyPair, value: Buffer, opts?: QueryOptions & { seq?: number }): Promise<{ publicKey: Buffer; closestNodes: NodeRef[]; seq: number; signature: Buffer }>
  mutableGet(publicKey: Buffer, opts?: QueryOptions & { seq?: number; latest?: boolean }): Promise<MutableResult | null>

  /** Returns the encrypted stream synchronously; `open` fires once connected. Keys may be Buffer, hex or z-base32. */
  connect(remotePublicKey: Buffer | string, opts?: ConnectOptions): NoiseSecretStream
  createServer(opts?: ServerOptions | ((conn: NoiseSecretStream) => void), onconnection?: (conn: NoiseSecretStream) => void): Server
  pool(): ConnectionPool
  /** A raw UDX stream on this node's socket (`framed` is accepted); connect it with `DHT.connectRawStream`. */
  createRawStream(opts?: { framed?: boolean; firewall?: (...args: any[]) => boolean }): RawStream

  on(event: 'ready' | 'listening' | 'persistent' | 'close' | 'wakeup' | 'suspend' | 'resume' | 'network-change' | 'network-update', listener: () => void): this
  on(event: 'nat-update', listener: (host: string, port: number) => void): this
  on(event: string, listener: (...args: any[]) => void): this
}

declare namespace HyperDHT {
  export { ConnectOptions, NoiseSecretStream, RawStream, DHTSocket, ServerOptions, Server, KeyPair, Address, NodeRef, DHTOptions, QueryOptions, RawQueryOptions, DHTPlugin, PluginOuterRequest, Query, PeerRecord, LookupReply, FindPeerReply, ImmutableResult, MutableResult, RpcReply }
}

export = HyperDHT
