// Code written for JS hyperdht that a TypeScript user moving to this package must be able to
// compile unchanged (found by compiling real programs against our declarations): Node-stream
// piping, the README's options, key pairs made of plain Uint8Arrays, readonly bootstrap lists,
// and the types of values the API returns being nameable (declaration emit needs that). Never
// run; __test__/types.test.js compiles it with the rest.
import DHT = require('hyperdht-rs')
import createTestnet = require('hyperdht-rs/testnet')
import net = require('net')
import { pipeline } from 'stream'

async function pipes (dht: DHT): Promise<void> {
  const socket = dht.connect(Buffer.alloc(32))
  // the README's example, and a TCP proxy: NoiseSecretStream is a streamx Duplex, which Node's
  // pipe() and pipeline() accept
  process.stdin.pipe(socket).pipe(process.stdout)
  const tcp = net.connect(8080)
  tcp.pipe(socket).pipe(tcp)
  pipeline(socket, tcp, (err) => { if (err) socket.destroy() })
  pipeline(tcp, socket, (err) => { if (err) tcp.destroy() })
  socket.end()
  socket.end('bye')
  socket.end(Buffer.from('bye'))
  const raw = dht.createRawStream()
  tcp.pipe(raw)
  raw.end()
}

async function options (): Promise<void> {
  // DHT.BOOTSTRAP is readonly; so are `as const` lists
  const a = new DHT({ bootstrap: DHT.BOOTSTRAP })
  const list = ['127.0.0.1:49737', { host: '127.0.0.1', port: 1 }] as const
  const b = new DHT({ bootstrap: list, nodes: [{ host: '127.0.0.1', port: 2 }] as const })
  // the README's randomPunchInterval, hyperswarm's deferRandomPunch, dht-rpc's tuning options
  const c = new DHT({ randomPunchInterval: 20000, deferRandomPunch: true, maxWindow: 40, sendDownHints: false, downHintsRateLimit: -1 })
  const tn = await createTestnet(3, { bootstrap: DHT.BOOTSTRAP })
  // options forwarded from the app's own, possibly unset (exactOptionalPropertyTypes)
  const mine: { port?: number | undefined; host?: string | undefined } = {}
  const d = new DHT({ port: mine.port, host: mine.host, keyPair: undefined })
  await d.destroy()
  // @ts-expect-error an option neither hyperdht nor dht-rpc has
  void new DHT({ randomPunchIntervall: 1 })
  await Promise.all([a.destroy(), b.destroy(), c.destroy(), tn.destroy()])
}

async function uint8KeyPairs (dht: DHT): Promise<void> {
  // a key pair from elsewhere (sodium, a key store) is plain Uint8Arrays
  const kp = { publicKey: new Uint8Array(32), secretKey: new Uint8Array(64) }
  const node = new DHT({ keyPair: kp })
  const server = dht.createServer()
  await server.listen(kp)
  dht.connect(server.publicKey!, { keyPair: kp })
  await dht.mutablePut(kp, Buffer.from('value'))
  await dht.announce(Buffer.alloc(32), kp).finished()
  await dht.unannounce(Buffer.alloc(32), kp)
  // what the API gives back is still Buffers
  const made: DHT.KeyPair = DHT.keyPair()
  const given: DHT.KeyPairInput = made
  void given
  await node.destroy()
}

// values the API returns, named through the namespace (a declaration file can refer to them)
export function pathOf (dht: DHT): DHT.ConnectionPath | null {
  return dht.connect(Buffer.alloc(32)).path
}
export function countsOf (dht: DHT): DHT.PathCounts {
  return dht.stats.connections.clientOpened
}
export function firewallName (p: DHT.ConnectionPath): DHT.FirewallName {
  return p.localFirewall
}
export const relayThrough: DHT.RelayThrough = () => null

function listenerEvents (dht: DHT): void {
  // every EventEmitter's own events
  dht.on('newListener', (event, listener) => { void event; void listener })
  dht.on('removeListener', (event) => { void event })
  // @ts-expect-error an event the node never emits
  dht.on('conection', () => {})
}

void pipes
void options
void uint8KeyPairs
void listenerEvents
