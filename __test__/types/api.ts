// Type-checks every part of the public API (index.d.ts) the way a CommonJS TypeScript program
// uses it (`import DHT = require('hyperdht-rs')`). Never run: __test__/types.test.js compiles it
// with `tsc --strict` (no skipLibCheck) and wants no diagnostics. Each `@ts-expect-error` line
// must be an error (tsc reports an unused directive), so those lines are the negative tests.
import DHT = require('hyperdht-rs')
import m = require('hyperdht-rs/lib/messages')
import { Readable, Duplex, Writable, pipeline } from 'streamx'
import c = require('compact-encoding')

// Fails to compile unless `T` is exactly `Expected` (mutual assignability, incl. any-ness).
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<Expected> () {
  return <T>(value: T & (Equals<T, Expected> extends true ? unknown : never)) => value
}

async function dhtLayer (): Promise<void> {
  const opts: DHT.DHTOptions = {
    bootstrap: ['127.0.0.1:49737', '1.2.3.4@node.example:49737', { host: '127.0.0.1', port: 1 }, 20000],
    port: [49737, 49740],
    host: '127.0.0.1',
    ephemeral: false,
    firewalled: false,
    anyPort: true,
    adaptive: true,
    keyPair: DHT.keyPair(),
    seed: Buffer.alloc(32),
    nodes: [{ host: '127.0.0.1', port: 1 }],
    concurrency: 16,
    maxSize: 1000,
    maxAge: 60000,
    connectionKeepAlive: false,
    quickFirewall: true
  }
  const dht = new DHT(opts)
  new DHT()
  new DHT({ port: 0, connectionKeepAlive: 1000 })
  // @ts-expect-error unknown option
  new DHT({ bootstrapp: [] })
  // @ts-expect-error port is a number or a [start, end] range
  new DHT({ port: '49737' })
  // @ts-expect-error bootstrap entries are strings, ports or {host, port}
  new DHT({ bootstrap: [true] })

  const boot = DHT.bootstrapper(49737, '127.0.0.1', { host: '127.0.0.1' })
  // @ts-expect-error the host comes second
  DHT.bootstrapper('127.0.0.1', 49737)

  const kp = DHT.keyPair(Buffer.alloc(32))
  expectType<DHT.KeyPair>()(kp)
  expectType<Buffer>()(kp.secretKey)
  DHT.keyPair(null)
  // @ts-expect-error a seed is bytes
  DHT.keyPair('seed')
  expectType<Buffer>()(DHT.hash(Buffer.from('x')))
  DHT.hash('a string is hashed as UTF-8')
  // @ts-expect-error data is bytes or a string
  DHT.hash(42)
  expectType<Buffer>()(DHT.toKey('a'.repeat(64)))
  expectType<readonly string[]>()(DHT.BOOTSTRAP)
  const open: 1 = DHT.FIREWALL.OPEN
  const lookupCommand: 3 = DHT.COMMANDS.LOOKUP
  const defaults: number[] = [DHT.DEFAULTS.connectionKeepAlive, DHT.DEFAULTS.concurrency, DHT.DEFAULTS.maxWindow, DHT.DEFAULTS.randomPunchInterval]
  void [open, lookupCommand, defaults]
  // @ts-expect-error constants are read-only
  DHT.FIREWALL.OPEN = 2

  dht.on('ready', () => {})
  dht.on('listening', () => {})
  dht.on('persistent', () => {})
  dht.on('ephemeral', () => {})
  dht.on('wakeup', () => {})
  dht.on('network-update', () => {})
  dht.once('nat-update', (host, port) => {
    expectType<string>()(host)
    expectType<number>()(port)
  })
  dht.on('suspend', () => {}).on('resume', () => {}).off('close', () => {})
  dht.prependListener('close', () => {}).prependOnceListener('ready', () => {}).addListener('wakeup', () => {})
  dht.removeListener('ready', () => {})
  dht.emit('nat-update', '1.2.3.4', 5)
  // @ts-expect-error nat-update hands over (host, port)
  dht.on('nat-update', (host: number) => {})
  // @ts-expect-error not an event of the DHT
  dht.on('readdy', () => {})
  // @ts-expect-error nat-update needs its arguments
  dht.emit('nat-update')

  await dht.ready()
  await dht.fullyBootstrapped()
  expectType<Buffer | null>()(dht.id)
  const flags: boolean[] = [dht.ephemeral, dht.firewalled, dht.randomized, dht.online, dht.degraded, dht.destroyed, dht.bootstrapped, dht.suspended]
  const numbers: number[] = [dht.port, dht.concurrency, dht.connectionKeepAlive, dht.io._tid, dht.io.portRange[0]]
  expectType<string | null>()(dht.host)
  expectType<DHT.KeyPair>()(dht.defaultKeyPair)
  expectType<Set<DHT.Server>>()(dht.listening)
  expectType<Map<string, DHT.DHTPlugin>>()(dht.plugins)
  void [flags, numbers]
  // @ts-expect-error read-only
  dht.destroyed = true

  const address = dht.address()
  if (address) expectType<number>()(address.family)
  const local: DHT.Address | null = dht.localAddress()
  const remote: DHT.Address | null = dht.remoteAddress()
  void [local, remote]
  expectType<DHT.Address[]>()(dht.toArray({ limit: 5 }))
  dht.toArray()
  dht.addNode({ host: '127.0.0.1', port: 1 })
  // @ts-expect-error a node is {host, port}
  dht.addNode('127.0.0.1:1')
  const pong = await dht.ping({ host: '127.0.0.1', port: 1 })
  expectType<number>()(pong.rtt)
  expectType<DHT.NodeRef[] | null>()(pong.closerNodes)
  expectType<DHT.NodeRef>()(pong.from)
  dht.refresh()
  await dht.bind()
  expectType<DHT.Address[]>()(dht.bootstrapNodes)
  expectType<boolean>()(dht.adaptive)
  expectType<number>()(dht.config.concurrency)
  await dht.suspend({ log: (msg) => expectType<string>()(msg) })
  await dht.resume()

  const stats = dht.stats
  const counters: number[] = [
    stats.punches.consistent, stats.punches.random, stats.punches.open, stats.punches.tryLater,
    stats.punches.tryLaterRelayedHandshakesAtLeastOnce, stats.relaying.attempts, stats.relaying.successes,
    stats.relaying.aborts, stats.socketPool.socketsAdded, stats.socketPool.socketsRemoved, stats.queries.active,
    stats.queries.total, stats.requests.active, stats.requests.total, stats.requests.responses,
    stats.requests.timeouts, stats.requests.retries, stats.commands.ping.tx, stats.commands.pingNat.rx,
    stats.commands.findNode.tx, stats.commands.downHint.rx, stats.io.received, stats.io.dropped,
    stats.io.requests, stats.io.responses, stats.io.sent, stats.io.timeouts
  ]
  void counters
  expectType<string>()(dht.metrics())

  // dht.socket / io.serverSocket / udx
  const socket = dht.socket
  expectType<DHT.DHTSocket>()(dht.io.serverSocket)
  const bound: boolean[] = [socket.bound, socket.closing, socket.idle, socket.busy]
  void bound
  expectType<DHT.SocketAddress | null>()(socket.address())
  socket.on('close', () => {})
  expectType<DHT.UDX>()(socket.udx)
  expectType<DHT.SocketAddress | null>()(socket.toJSON().address)
  // @ts-expect-error the DHT socket emits no messages to JS
  socket.on('message', () => {})
  const udp = dht.udx.createSocket({ reuseAddress: true })
  udp.bind(0, '127.0.0.1')
  udp.on('message', (buf, from) => {
    expectType<Buffer>()(buf)
    expectType<number>()(from.port)
  })
  udp.on('listening', () => {}).on('error', (err) => expectType<Error>()(err)).on('close', () => {})
  // @ts-expect-error message listeners get (buffer, from)
  udp.on('message', (buf: string) => {})
  expectType<boolean>()(await udp.send(Buffer.from('x'), 1, '127.0.0.1', 64))
  udp.trySend(Buffer.from('x'), 1)
  udp.setTTL(5)
  const transmitted: number = udp.bytesTransmitted + udp.packetsTransmitted + udp.bytesReceived + udp.packetsReceived
  void transmitted
  await udp.close()
  for (const nic of dht.udx.networkInterfaces()) expectType<boolean>()(nic.internal)
  expectType<number>()(dht.udx.bytesTransmitted + dht.udx.packetsTransmitted + dht.udx.bytesReceived + dht.udx.packetsReceived + dht.udx.packetsDroppedByKernel)

  await boot.destroy()
  await dht.destroy({ force: true })
  await dht.destroy()
  // @ts-expect-error destroy takes {force}
  await dht.destroy(true)
}

async function records (dht: DHT): Promise<void> {
  const topic = DHT.hash(Buffer.from('topic'))
  const kp = DHT.keyPair()

  // lookup: a Readable of LookupReply, async-iterable
  for await (const reply of dht.lookup(topic)) {
    expectType<DHT.LookupReply>()(reply)
    expectType<Buffer>()(reply.peers[0].publicKey)
    expectType<DHT.Address[]>()(reply.peers[0].relayAddresses)
    expectType<number>()(reply.bump)
    expectType<Buffer | null>()(reply.token)
    expectType<Buffer | null>()(reply.from.id)
    expectType<DHT.NodeRef | null>()(reply.to)
  }
  const q = dht.lookup(topic, { concurrency: 4, nodes: [{ host: '127.0.0.1', port: 1 }], onlyClosestNodes: true, force: true })
  q.on('data', (reply) => expectType<DHT.LookupReply>()(reply))
  q.on('end', () => {}).on('close', () => {}).on('error', (err) => expectType<string | undefined>()(err.code))
  // @ts-expect-error data listeners get a LookupReply
  q.on('data', (reply: string) => {})
  await q.finished()
  expectType<DHT.RpcReply[]>()(q.closestReplies)
  expectType<DHT.NodeRef[]>()(q.closestNodes)
  expectType<Buffer>()(q.target)
  expectType<DHT>()(q.dht)
  expectType<number>()(q.successes + q.errors)
  expectType<DHT.LookupReply | null>()(q.read())
  q.destroy()
  const asReadable: Readable = q
  void asReadable
  dht.lookup(topic, { replies: q.closestReplies, closestNodes: q.closestNodes, closestReplies: q.closestReplies })
  dht.lookup(topic, {
    commit: async (reply, node, query) => {
      expectType<DHT.RpcReply>()(reply)
      expectType<DHT>()(node)
      expectType<DHT.Query<DHT.LookupReply>>()(query)
      return node.request({ token: reply.token, target: query.target, command: DHT.COMMANDS.LOOKUP }, reply.from)
    }
  })
  dht.lookup(topic, { commit: true })
  // @ts-expect-error topics are bytes
  dht.lookup('topic')
  // @ts-expect-error unknown option
  dht.lookup(topic, { limit: 3 })
  // @ts-expect-error commit is true or a function
  dht.lookup(topic, { commit: false })

  // announce / unannounce
  await dht.announce(topic, kp).finished()
  await dht.announce(topic, kp, [{ host: '127.0.0.1', port: 1 }], { bump: 1, clear: true }).finished()
  await dht.announce(topic, kp, null, {
    signAnnounce: async (target, token, id, ann, keyPair) => {
      expectType<Buffer>()(target)
      expectType<DHT.PeerRecord>()(ann.peer)
      expectType<DHT.RecordKeyPair>()(keyPair)
      return Buffer.alloc(64)
    }
  }).finished()
  // non-custodial: the key pair signs
  const signer: DHT.SignerKeyPair = { publicKey: kp.publicKey, sign: async (signable) => DHT.hash(signable) }
  dht.announce(topic, signer)
  // @ts-expect-error a key pair has a secretKey or a sign function
  dht.announce(topic, { publicKey: kp.publicKey })
  // ... or the signing hook signs for it
  const publicOnly = { publicKey: kp.publicKey }
  dht.announce(topic, publicOnly, [], { signAnnounce: async () => Buffer.alloc(64) })
  dht.lookupAndUnannounce(topic, publicOnly, { signUnannounce: () => Buffer.alloc(64) })
  await dht.unannounce(topic, publicOnly, { signUnannounce: () => Buffer.alloc(64) })
  await dht.mutablePut(publicOnly, 'v', { signMutable: async () => Buffer.alloc(64) })
  // @ts-expect-error without a secret key, mutablePut needs signMutable
  await dht.mutablePut(publicOnly, 'v', { seq: 1 })
  // @ts-expect-error without a secret key, lookupAndUnannounce needs signUnannounce
  dht.lookupAndUnannounce(topic, publicOnly)
  // @ts-expect-error relay addresses are {host, port}
  dht.announce(topic, kp, ['127.0.0.1:1'])
  // @ts-expect-error announce runs its own commit
  dht.announce(topic, kp, [], { commit: true })
  const unannounced: Promise<void> = dht.unannounce(topic, kp, { signUnannounce: () => Buffer.alloc(64) })
  await unannounced
  for await (const reply of dht.lookupAndUnannounce(topic, kp, { commit: true })) expectType<DHT.LookupReply>()(reply)

  // findPeer
  for await (const reply of dht.findPeer(kp.publicKey, { hash: false })) {
    expectType<DHT.FindPeerReply>()(reply)
    expectType<Buffer>()(reply.peer.publicKey)
  }

  // immutable / mutable records
  const put = await dht.immutablePut(Buffer.from('value'))
  expectType<{ hash: Buffer; closestNodes: DHT.NodeRef[] }>()(put)
  await dht.immutablePut('strings are stored as UTF-8', { concurrency: 2 })
  const got = await dht.immutableGet(put.hash)
  if (got) expectType<Buffer>()(got.value)
  // @ts-expect-error the result may be null
  got.value
  const mput = await dht.mutablePut(kp, Buffer.from('v'), { seq: 2, signMutable: (seq, value, keyPair) => Buffer.alloc(64) })
  expectType<DHT.MutablePutResult>()(mput)
  const mget = await dht.mutableGet(kp.publicKey, { seq: 1, latest: false, refresh: (result) => result.seq < 3 })
  if (mget) {
    expectType<number>()(mget.seq)
    expectType<Buffer>()(mget.value)
    expectType<Buffer>()(mget.signature)
  }
  // @ts-expect-error seq is a number
  dht.mutablePut(kp, Buffer.from('v'), { seq: '2' })
  // @ts-expect-error mutableGet takes the public key, not the key pair
  dht.mutableGet(kp)

  // dht-rpc: findNode / query / request
  for await (const reply of dht.findNode(topic)) {
    expectType<DHT.RpcReply>()(reply)
    expectType<DHT.NodeRef[] | null>()(reply.closerNodes)
    expectType<number>()(reply.error)
    expectType<Buffer | null>()(reply.value)
  }
  const mapped = dht.findNode(topic, { map: (reply) => reply.from.port })
  for await (const port of mapped) expectType<number>()(port)
  const custom = dht.query({ target: topic, command: 42, value: Buffer.from('q') }, {
    map: (reply) => reply.value && { value: reply.value },
    commit: async (reply, node, query) => {
      expectType<DHT.Query<{ value: Buffer }>>()(query)
    }
  })
  for await (const item of custom) expectType<{ value: Buffer }>()(item)
  const res = await dht.request({ token: null, target: topic, command: 42, value: null }, { host: '127.0.0.1', port: 1 }, { retry: false })
  expectType<DHT.RpcReply>()(res)
  // @ts-expect-error a request needs a command
  dht.request({ target: topic }, { host: '127.0.0.1', port: 1 })
}

async function connections (dht: DHT): Promise<void> {
  const kp = DHT.keyPair()

  // servers
  const server = dht.createServer({
    firewall: async (remotePublicKey, remotePayload, clientAddress) => {
      expectType<Buffer>()(remotePublicKey)
      expectType<number>()(remotePayload.firewall)
      expectType<DHT.Address[]>()(remotePayload.addresses4)
      expectType<string>()(clientAddress.host)
      return false
    },
    holepunch: (remoteFirewall, localFirewall, remoteAddresses, localAddresses) => remoteFirewall !== DHT.FIREWALL.RANDOM,
    shareLocalAddress: false,
    reusableSocket: true,
    handshakeClearWait: 5000,
    pool: dht.pool(),
    onconnection: (socket) => expectType<DHT.NoiseSecretStream>()(socket)
  }, (socket) => socket.end())
  dht.createServer((socket) => socket.end())
  dht.createServer()
  dht.createServer({ holepunch: false })
  // @ts-expect-error holepunch is false or a veto function
  dht.createServer({ holepunch: true })
  // @ts-expect-error unknown option
  dht.createServer({ firewal: () => true })

  server.on('connection', (socket) => {
    expectType<DHT.NoiseSecretStream>()(socket)
    expectType<Buffer | null>()(socket.remotePublicKey)
  })
  server.on('listening', () => {}).on('close', () => {})
  // @ts-expect-error connection listeners get the socket
  server.on('connection', (socket: string) => {})
  // @ts-expect-error not a server event
  server.on('open', () => {})
  expectType<DHT.Server>()(await server.listen(kp))
  await server.listen()
  // @ts-expect-error a key pair needs its secret key to listen
  await server.listen({ publicKey: kp.publicKey })
  const addr = server.address()
  if (addr) expectType<Buffer>()(addr.publicKey)
  expectType<Buffer | null>()(server.publicKey)
  expectType<DHT.KeyPair | null>()(server.keyPair)
  expectType<Buffer | null>()(server.target)
  expectType<DHT.Address[]>()(server.relayAddresses)
  const state: boolean[] = [server.listening, server.closed, server.suspended]
  void state
  expectType<number>()(server.handshakeClearWait)
  expectType<DHT>()(server.dht)
  expectType<DHT.ConnectionPool | null>()(server.pool)
  expectType<DHT.HolepunchVeto>()(server.holepunch)
  expectType<DHT.Firewall>()(server.firewall)
  server.firewall = (remotePublicKey) => remotePublicKey.byteLength !== 32
  await server.firewall(Buffer.alloc(32), c.decode(m.noisePayload, Buffer.alloc(4)), { host: '127.0.0.1', port: 1 })
  server.refresh()
  server.notifyOnline()
  server.onconnection = function (socket) { this.emit('connection', socket) }
  await server.suspend()
  await server.resume()
  await server.close()

  // connecting: the stream is returned synchronously
  const socket = dht.connect(kp.publicKey, {
    keyPair: DHT.keyPair(),
    relayAddresses: [{ host: '127.0.0.1', port: 1 }],
    nodes: [{ host: '127.0.0.1', port: 1 }],
    localConnection: false,
    fastOpen: false,
    reusableSocket: true,
    holepunch: () => true
  })
  dht.connect('a'.repeat(64))
  // @ts-expect-error keys are bytes or strings
  dht.connect(42)
  // @ts-expect-error unknown option
  dht.connect(kp.publicKey, { keypair: kp })
  // @ts-expect-error relay addresses are {host, port}
  dht.connect(kp.publicKey, { relayAddresses: ['127.0.0.1:1'] })

  // the app's own secret-stream: connect returns it, a server hands it to `connection`
  class AppStream extends Duplex {
    start (rawStream: DHT.RawStream, opts: { handshake: DHT.SecretStreamHandshake }): void {
      void [rawStream, opts.handshake.tx]
    }
  }
  const own = dht.connect(kp.publicKey, {
    createSecretStream: (isInitiator, rawStream, opts) => {
      expectType<Buffer>()(opts.remotePublicKey)
      expectType<null>()(rawStream)
      return new AppStream()
    }
  })
  expectType<AppStream>()(own)
  dht.createServer({
    createSecretStream: (isInitiator, rawStream, opts) => {
      expectType<Buffer>()(opts.handshake.rx)
      expectType<DHT.RawStream>()(rawStream)
      return new AppStream()
    }
  })
  // @ts-expect-error the app's stream must be startable
  dht.connect(kp.publicKey, { createSecretStream: () => new Duplex() })

  socket.on('open', () => {})
  socket.on('connect', () => {})
  socket.on('data', (data) => expectType<Buffer>()(data))
  socket.on('end', () => {}).on('finish', () => {}).on('close', () => {}).on('drain', () => {})
  socket.on('error', (err) => expectType<string | undefined>()(err.code))
  socket.once('open', () => {})
  // @ts-expect-error data is a Buffer
  socket.on('data', (data: string) => {})
  // @ts-expect-error open has no arguments
  socket.on('open', (x: number) => {})

  expectType<boolean>()(await socket.opened)
  expectType<boolean>()(await socket.flush())
  expectType<Buffer | null>()(socket.publicKey)
  expectType<Buffer | null>()(socket.remotePublicKey)
  expectType<Buffer | null>()(socket.handshakeHash)
  const info: boolean[] = [socket.isInitiator, socket.connected, socket.destroyed, socket.destroying, socket.readable, socket.writable]
  const sizes: number[] = [socket.rawBytesRead, socket.rawBytesWritten, socket.keepAlive, socket.timeout]
  void [info, sizes]
  socket.userData = { anything: true }
  expectType<DHT.NoiseSecretStream>()(socket.noiseStream)
  expectType<DHT>()(socket.dht)
  expectType<object>()(socket.toJSON())
  const raw = socket.rawStream
  if (raw) {
    expectType<string | null>()(raw.remoteHost)
    const path: number[] = [raw.remotePort, raw.remoteFamily, raw.rtt, raw.mtu, raw.bytesRead, raw.bytesWritten,
      raw.bytesTransmitted, raw.packetsTransmitted, raw.bytesReceived, raw.packetsReceived, raw.retransmits,
      raw.rtoCount, raw.fastRecoveries, raw.cwnd, raw.inflight]
    void path
    expectType<boolean>()(raw.connected)
    const ids: number[] = [raw.id, raw.remoteId, raw.localPort, raw.localFamily]
    void ids
    expectType<string | null>()(raw.localHost)
    expectType<boolean>()(raw.destroyed)
    raw.userData = { any: 'thing' }
    expectType<DHT.DHTSocket | null>()(raw.socket)
    expectType<boolean>()(raw.toJSON().connected)
    raw.on('remote-changed', () => {})
  }
  socket.setKeepAlive(5000)
  socket.sendKeepAlive()
  expectType<Promise<boolean> | undefined>()(socket.send(Buffer.from('datagram')))
  socket.trySend('datagram')
  socket.on('message', (m) => expectType<Buffer>()(m))
  socket.setTimeout(10000)
  socket.write(Buffer.from('hello'))
  socket.write('strings are sent as UTF-8')
  // @ts-expect-error writes are bytes or strings
  socket.write(42)
  expectType<Buffer | null>()(socket.read())
  socket.pause().resume()
  socket.end()
  socket.end(Buffer.from('bye'))
  socket.destroy()
  socket.destroy(new Error('boom'))
  for await (const chunk of socket) expectType<Buffer>()(chunk)
  // a streamx Duplex: pipeline and friends accept it
  const asDuplex: Duplex = socket
  const asReadable: Readable = socket
  const asWritable: Writable = socket
  void [asDuplex, asReadable, asWritable]
  pipeline(socket, socket)
  // @ts-expect-error read-only: set by the handshake
  socket.remotePublicKey = null

  // pools
  const pool = dht.pool()
  pool.on('connection', (stream, ref) => {
    expectType<DHT.NoiseSecretStream>()(stream)
    ref.active()
    ref.inactive()
    ref.release()
  })
  // @ts-expect-error pool connection listeners get (stream, ref)
  pool.on('connection', (stream: number) => {})
  const pooled = dht.connect(kp.publicKey, { pool })
  expectType<boolean>()(pool.has(kp.publicKey))
  expectType<DHT.NoiseSecretStream | null>()(pool.get(kp.publicKey))
  expectType<number>()(pool.connecting)
  for (const ref of pool.connections) ref.release()
  pooled.destroy()

  // raw streams
  const rawStream = dht.createRawStream({ framed: true })
  dht.createRawStream()
  dht.createRawStream({ firewall: () => false })
  const streams: number = dht.rawStreams.size
  for (const s of dht.rawStreams) void [s.id, s.remotePort, streams]
  const added: DHT.RawStream = dht.rawStreams.add({ framed: true })
  const cleared: Promise<void> = dht.rawStreams.clear()
  void [added, cleared]
  // @ts-expect-error unknown option
  dht.createRawStream({ fast: true })
  DHT.connectRawStream(socket, rawStream, 42)
  // @ts-expect-error the raw stream comes second
  DHT.connectRawStream(rawStream, socket, 42)
  rawStream.connect(dht.socket, 7, 49737, '127.0.0.1')
  rawStream.on('connect', () => {})
  rawStream.on('message', (msg) => expectType<Buffer>()(msg))
  rawStream.on('data', (data) => expectType<Buffer>()(data))
  rawStream.on('error', (err) => expectType<string | undefined>()(err.code))
  // @ts-expect-error message listeners get a Buffer
  rawStream.on('message', (msg: number) => {})
  expectType<boolean>()(await rawStream.send(Buffer.from('m')))
  rawStream.trySend(Buffer.from('m'))
  rawStream.setKeepalive(1000)
  rawStream.setInteractive(true)
  rawStream.userData = 1
  const ids: number[] = [rawStream.id, rawStream.remoteId, rawStream.remotePort, rawStream.remoteFamily, rawStream.rtt, rawStream.mtu, rawStream.localPort, rawStream.localFamily]
  void ids
  expectType<boolean>()(rawStream.connected)
  expectType<boolean>()(rawStream.framed)
  expectType<string | null>()(rawStream.remoteHost)
  expectType<string | null>()(rawStream.localHost)
  expectType<DHT.DHTSocket | null>()(rawStream.socket)
  expectType<DHT.UDX>()(rawStream.udx)
  expectType<object>()(rawStream.toJSON())
  rawStream.write(Buffer.from('x'))
  rawStream.end()
  // @ts-expect-error connect needs the socket first
  rawStream.connect(7, 49737)
}

function plugins (dht: DHT): void {
  const plugin: DHT.DHTPlugin = {
    name: 'echo',
    version: 1,
    onregister (node) { expectType<DHT>()(node) },
    onrequest (req, outerReq) {
      expectType<string>()(req.plugin)
      expectType<Buffer | null>()(req.value)
      expectType<DHT.NodeRef>()(outerReq.from)
      outerReq.reply(req.value, { token: false })
      outerReq.error(1, { closerNodes: false })
    },
    onpersistent () {},
    destroy () {}
  }
  dht.register('echo', plugin)
  // @ts-expect-error a plugin implements the whole contract
  dht.register('half', { name: 'half', version: 1 })
}

void [dhtLayer, records, connections, plugins]
