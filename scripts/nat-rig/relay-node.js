'use strict'
// A blind relay on the public segment (the `relay` namespace): a JS hyperdht server whose
// connections are handed to blind-relay's Server, as in hyperdht's test/relaying.js. Peers pass
// its public key as `relayThrough`. blind-relay is hyperdht's own dependency, resolved from there.
// usage: node relay-node.js <bootstrap host:port,...> <host>
// prints {"event":"ready","publicKey":"<hex>","host":...,"port":...}; runs until stdin closes.
const path = require('path')
const DHT = require('hyperdht')
const { emit } = require('./jsonl')
const exitWithStdin = require('./stdin-exit')

const hyperdhtDir = path.dirname(require.resolve('hyperdht/package.json'))
const { Server: RelayServer } = require(require.resolve('blind-relay', { paths: [hyperdhtDir] }))

async function main () {
  const [bootstrapArg, host] = process.argv.slice(2)
  const bootstrap = bootstrapArg.split(',')
  // the relay host is public: it says so rather than waiting for the NAT checks to conclude it
  const dht = new DHT({ bootstrap, host, firewalled: false })
  let relay = null
  let server = null
  exitWithStdin(6 * 3600_000, async () => {
    if (relay) await relay.close()
    if (server) await server.close()
    await dht.destroy()
  })
  await dht.fullyBootstrapped()
  relay = new RelayServer({ createStream: (opts) => dht.createRawStream({ ...opts, framed: true }) })
  server = dht.createServer((socket) => {
    const session = relay.accept(socket, { id: socket.remotePublicKey })
    session.on('error', () => {})
    socket.on('error', () => {})
  })
  await server.listen()
  const addr = dht.address()
  emit({ event: 'ready', publicKey: server.publicKey.toString('hex'), host: addr.host, port: addr.port, firewalled: dht.firewalled })
}

main().catch((err) => {
  emit({ event: 'error', error: err.stack || String(err) })
  process.exit(1)
})
