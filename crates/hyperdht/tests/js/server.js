'use strict'
// A JS hyperdht testnet with an echo server; prints the bootstrap port and the server's key,
// then one line per connection. Exits when stdin closes.
const path = require('path')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
const DHT = require(path.join(root, 'hyperdht'))
const createTestnet = require(path.join(root, 'hyperdht', 'testnet.js'))

;(async () => {
  // argv: testnet size, then `firewalled` to keep the server node firewalled (it must punch);
  // `reusable` anywhere after the size creates the server with `reusableSocket: true`
  const testnet = await createTestnet(Number(process.argv[2] || 6))
  const node = testnet.createNode(process.argv[3] === 'firewalled' ? { quickFirewall: false } : {})
  await node.fullyBootstrapped()
  const keyPair = DHT.keyPair()
  const reusableSocket = process.argv.slice(3).includes('reusable')
  const server = node.createServer({ reusableSocket }, (conn) => {
    console.log('CONN ' + JSON.stringify({ remotePublicKey: conn.remotePublicKey.toString('hex'), handshakeHash: conn.handshakeHash.toString('hex'), localPort: conn.rawStream.socket.address().port, dhtPorts: [node.io.serverSocket.address().port, node.io.clientSocket.address().port] }))
    conn.on('data', (d) => conn.write(Buffer.concat([Buffer.from('echo:'), d])))
    conn.on('end', () => conn.end())
    conn.on('error', () => {})
  })
  await server.listen(keyPair)
  console.log('READY ' + JSON.stringify({ bootstrap: testnet.bootstrap[0].port, publicKey: keyPair.publicKey.toString('hex'), firewalled: node.firewalled, relayAddresses: server.relayAddresses.map((a) => a.host + ':' + a.port) }))
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await server.close()
    await testnet.destroy()
    process.exit(0)
  })
})()
