'use strict'
// A JS hyperdht testnet with an echo server; prints the bootstrap port and the server's key,
// then one line per connection. Exits when stdin closes.
const path = require('path')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
const DHT = require(path.join(root, 'hyperdht'))
const createTestnet = require(path.join(root, 'hyperdht', 'testnet.js'))

;(async () => {
  const testnet = await createTestnet(6)
  const node = testnet.createNode()
  await node.fullyBootstrapped()
  const keyPair = DHT.keyPair()
  const server = node.createServer((conn) => {
    console.log('CONN ' + JSON.stringify({ remotePublicKey: conn.remotePublicKey.toString('hex'), handshakeHash: conn.handshakeHash.toString('hex') }))
    conn.on('data', (d) => conn.write(Buffer.concat([Buffer.from('echo:'), d])))
    conn.on('end', () => conn.end())
    conn.on('error', () => {})
  })
  await server.listen(keyPair)
  console.log('READY ' + JSON.stringify({ bootstrap: testnet.bootstrap[0].port, publicKey: keyPair.publicKey.toString('hex') }))
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await server.close()
    await testnet.destroy()
    process.exit(0)
  })
})()
