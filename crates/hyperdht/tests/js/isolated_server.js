'use strict'
// A JS hyperdht echo server on a node that is its own one-node network (bootstrap: []): its
// record is on no other node, so a client can reach it only through an address it is given.
// Prints READY {publicKey, address}, then one CONN line per connection. Exits when stdin closes.
const path = require('path')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
const DHT = require(path.join(root, 'hyperdht'))

;(async () => {
  const node = new DHT({ ephemeral: false, firewalled: false, bootstrap: [], host: '127.0.0.1' })
  await node.fullyBootstrapped()
  const keyPair = DHT.keyPair()
  const server = node.createServer((conn) => {
    console.log('CONN ' + JSON.stringify({ remotePublicKey: conn.remotePublicKey.toString('hex') }))
    conn.on('data', (d) => conn.write(Buffer.concat([Buffer.from('echo:'), d])))
    conn.on('end', () => conn.end())
    conn.on('error', () => {})
  })
  await server.listen(keyPair)
  const a = node.address()
  console.log('READY ' + JSON.stringify({ publicKey: keyPair.publicKey.toString('hex'), address: '127.0.0.1:' + a.port }))
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await server.close()
    await node.destroy()
    process.exit(0)
  })
})()
