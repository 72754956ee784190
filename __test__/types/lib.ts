// Type-checks the lib modules upstream exposes by path (hyperdht/lib/*) and testnet.js, as a
// CommonJS TypeScript program requires them. Never run (see api.ts).
import DHT = require('hyperdht-rs')
import createTestnet = require('hyperdht-rs/testnet')
import DHTError = require('hyperdht-rs/lib/errors')
import m = require('hyperdht-rs/lib/messages')
import constants = require('hyperdht-rs/lib/constants')
import crypto = require('hyperdht-rs/lib/crypto')
import encode = require('hyperdht-rs/lib/encode')
import Nat = require('hyperdht-rs/lib/nat')
import Holepuncher = require('hyperdht-rs/lib/holepuncher')
import Plugin = require('hyperdht-rs/lib/plugin')
import NoiseWrap = require('hyperdht-rs/lib/noise-wrap')
import Persistent = require('hyperdht-rs/lib/persistent')
import c = require('compact-encoding')

async function testnet (): Promise<void> {
  const net = await createTestnet(3, { host: '127.0.0.1', teardown: (fn, opts) => { void fn; void opts.order } })
  await createTestnet(0, (fn) => { void fn })
  await createTestnet()
  // @ts-expect-error unknown option
  await createTestnet(3, { hosts: [] })
  const node: DHT = net.createNode({ firewalled: false })
  const nodes: DHT[] = [...net]
  const bootstrap: DHT.DHTOptions['bootstrap'] = net.bootstrap
  void [node, nodes, bootstrap, net.nodes.length]
  await net.destroy()
}

function errors (err: unknown): void {
  const e = DHTError.PEER_NOT_FOUND()
  const named: 'DHTError' = e.name
  const code: string = e.code
  DHTError.DESTROYED('custom message')
  void [named, code]
  if (err instanceof DHTError && err.code === 'PEER_CONNECTION_FAILED') err.message.trim()
  const fromEngine = DHTError.fromNative('ECONNRESET: connection reset by peer')
  const maybe: string | undefined = fromEngine.code
  const codes: DHTError.Code[] = ['SEQ_TOO_LOW', 'REQUEST_TIMEOUT']
  void [maybe, codes]
  // @ts-expect-error not a hyperdht error code
  DHTError.NOT_A_CODE()
  // @ts-expect-error not a hyperdht error code
  const bad: DHTError.Code = 'NOT_A_CODE'
  void bad
}

function messages (): void {
  const peer = { publicKey: Buffer.alloc(32), relayAddresses: [{ host: '127.0.0.1', port: 1 }] }
  const encoded: Uint8Array = c.encode(m.peer, peer)
  const decoded = c.decode(m.peer, encoded)
  const key: Buffer = decoded.publicKey
  void key
  const ann = c.decode(m.announce, c.encode(m.announce, { peer, signature: Buffer.alloc(64), bump: 2 }))
  if (ann.peer) ann.peer.relayAddresses.map((a) => a.port)
  const payload = c.decode(m.noisePayload, c.encode(m.noisePayload, { error: constants.ERROR.NONE, firewall: constants.FIREWALL.OPEN, addresses4: [] }))
  const addresses: m.Address[] = payload.addresses4
  const udx: m.UdxInfo | null = payload.udx
  void [addresses, udx]
  c.encode(m.handshake, { mode: 0, noise: Buffer.alloc(0) })
  c.encode(m.holepunch, { mode: 0, id: 1, payload: Buffer.alloc(0), peerAddress: null })
  c.encode(m.holepunchPayload, { error: 0, firewall: 1, round: 0, connected: false, punching: true })
  c.encode(m.peers, [peer])
  c.encode(m.lookupRawReply, { peers: [c.encode(m.peer, peer)], bump: 0 })
  c.encode(m.mutableSignable, { seq: 1, value: Buffer.from('v') })
  c.encode(m.mutablePutRequest, { publicKey: Buffer.alloc(32), seq: 1, value: Buffer.from('v'), signature: Buffer.alloc(64) })
  c.encode(m.mutableGetResponse, { seq: 1, value: Buffer.from('v'), signature: Buffer.alloc(64) })
  const plugin: m.PluginRequest = c.decode(m.pluginRequest, c.encode(m.pluginRequest, { plugin: 'p', version: 1, command: 2 }))
  void plugin
  const owned: Buffer = encode.encodeUnslab(m.peer, peer)
  void owned
  // @ts-expect-error a peer needs its relay addresses
  c.encode(m.peer, { publicKey: Buffer.alloc(32) })
  // @ts-expect-error the encoding's value type is checked
  encode.encodeUnslab(m.mutableSignable, { seq: 'one', value: Buffer.alloc(1) })
}

function constantsAndCrypto (): void {
  const handshakeCommand: 0 = constants.COMMANDS.PEER_HANDSHAKE
  const random: 3 = constants.FIREWALL.RANDOM
  const mismatch: 2 = constants.ERROR.VERSION_MISMATCH
  const ns: Buffer = constants.NS.ANNOUNCE
  const boot: readonly string[] = constants.BOOTSTRAP_NODES
  const port: number = constants.DEFAULT_PORT
  void [handshakeCommand, random, mismatch, ns, boot, port]
  // @ts-expect-error not a namespace
  void constants.NS.LOOKUP
  const h: Buffer = crypto.hash(Buffer.from('x'))
  const u: Buffer = crypto.unslabbedHash(new Uint16Array(2))
  const kp: DHT.KeyPair = crypto.createKeyPair(Buffer.alloc(32))
  crypto.createKeyPair()
  void [h, u, kp]
  // @ts-expect-error hashes take typed arrays
  crypto.hash('x')
}

async function natAndHolepuncher (dht: DHT): Promise<void> {
  const nat = new Nat(dht, null, null)
  nat.add({ host: '1.2.3.4', port: 5 }, { host: '5.6.7.8', port: 9 })
  nat.autoSample()
  nat.update()
  nat.freeze()
  nat.unfreeze()
  await nat.analyzing
  const firewall: number = nat.firewall
  if (nat.addresses) nat.addresses.map((s) => s.hits)
  void [firewall, nat.sampled]
  nat.destroy()
  // @ts-expect-error the first argument is the DHT
  new Nat(null, null, null)

  const local = [{ host: '192.168.1.2', port: 1 }]
  const match = Holepuncher.matchAddress(local, [{ host: '192.168.1.9', port: 2, extra: true }])
  if (match) void match.extra
  const socket = dht.udx.createSocket()
  socket.bind(0, '127.0.0.1')
  const sent: boolean = await Holepuncher.ping(socket, { host: '127.0.0.1', port: 1 })
  const lan: Array<{ host: string; port: number }> = Holepuncher.localAddresses(dht.socket)
  void [sent, lan]
  const puncher = new Holepuncher(dht, null, true, constants.FIREWALL.CONSISTENT)
  puncher.updateRemote({ punching: true, firewall: constants.FIREWALL.OPEN, addresses: local, verified: null })
  puncher.remoteAddresses.map((a) => a.verified)
  const punched: boolean = await puncher.punch()
  const stable: boolean = await puncher.analyze(false)
  await puncher.ping({ host: '127.0.0.1', port: 1 }, socket)
  await puncher.openSession({ host: '127.0.0.1', port: 1 })
  void [punched, stable, puncher.nat.firewall]
  puncher.destroy()
  await socket.close()
}

class Echo extends Plugin {
  constructor () {
    super('echo', 1)
  }

  onrequest (req: DHT.PluginRequest, outerReq: DHT.PluginOuterRequest): void {
    outerReq.reply(req.value)
  }

  onpersistent (): void {}
  destroy (): void {}
}

async function plugins (dht: DHT): Promise<void> {
  const echo = new Echo()
  dht.register(echo.name, echo)
  const reply: DHT.RpcReply = await echo.request({ command: 1, value: Buffer.from('hi') }, { host: '127.0.0.1', port: 1 })
  void reply
  for await (const r of echo.query({ command: 1, target: Buffer.alloc(32) })) void r.value
  const values = echo.query({ command: 1, target: Buffer.alloc(32) }, { map: (r) => r.value })
  for await (const v of values) void v.byteLength
  // @ts-expect-error a plugin request needs a command
  echo.request({ value: null }, { host: '127.0.0.1', port: 1 })
}

function noiseWrap (): void {
  const server = DHT.keyPair()
  const initiator = new NoiseWrap(DHT.keyPair(), server.publicKey)
  const responder = new NoiseWrap(server, null)
  const first: Buffer = initiator.send({ error: 0, firewall: constants.FIREWALL.OPEN })
  const payload: m.NoisePayload = responder.recv(first)
  const second = responder.send({ error: 0, firewall: payload.firewall, udx: { reusableSocket: false, id: 1, seq: 0 } })
  initiator.recv(second)
  const done = initiator.final()
  const keys: Buffer[] = [done.hash, done.rx, done.tx, done.remoteId, done.holepunchSecret, done.publicKey]
  void [keys, initiator.isInitiator]
  // @ts-expect-error a payload has error and firewall
  initiator.send({ version: 1 })
}

// non-custodial: the app's handshake objects and signatures, the node sees public keys only
async function nonCustodial (dht: DHT): Promise<void> {
  const kp = DHT.keyPair()
  const server = dht.createServer({ createHandshake: (keyPair, remote) => new NoiseWrap(kp, remote) })
  await server.listen({ publicKey: kp.publicKey }, {
    signAnnounce: (target, token, id, ann) => Persistent.signAnnounce(target, token, id, ann, kp.secretKey),
    signUnannounce: (target, token, id, ann) => Persistent.signUnannounce(target, token, id, ann, kp)
  })
  await server.listen({ publicKey: kp.publicKey, sign: (signable) => Persistent.signMutable(0, signable, kp) })
  const ok: boolean = Persistent.verifyMutable(Buffer.alloc(64), 1, Buffer.from('v'), kp.publicKey)
  const socket = dht.connect(kp.publicKey, { keyPair: { publicKey: kp.publicKey }, createHandshake: (keyPair, remote) => new NoiseWrap(kp, remote) })
  void [ok, socket]
  // @ts-expect-error Persistent only has static helpers
  void new Persistent()
}

void [testnet, errors, messages, constantsAndCrypto, natAndHolepuncher, plugins, noiseWrap, nonCustodial]
