'use strict'
// A JS hyperdht testnet; prints its bootstrap port, reads a server public key (hex) from stdin,
// connects to it, sends "hello", prints what came back plus the connection's keys.
const path = require('path')
const readline = require('readline')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
const createTestnet = require(path.join(root, 'hyperdht', 'testnet.js'))

;(async () => {
  const testnet = await createTestnet(6)
  const node = testnet.createNode()
  await node.fullyBootstrapped()
  console.log('READY ' + JSON.stringify({ bootstrap: testnet.bootstrap[0].port, publicKey: node.defaultKeyPair.publicKey.toString('hex') }))
  const rl = readline.createInterface({ input: process.stdin })
  for await (const line of rl) {
    const key = Buffer.from(line.trim(), 'hex')
    const conn = node.connect(key)
    const result = await new Promise((resolve) => {
      conn.on('error', (err) => resolve({ error: err.code || err.message }))
      conn.on('data', (d) => resolve({
        data: d.toString(),
        remotePublicKey: conn.remotePublicKey.toString('hex'),
        handshakeHash: conn.handshakeHash.toString('hex')
      }))
      conn.write(Buffer.from('hello'))
    })
    console.log('RESULT ' + JSON.stringify(result))
    conn.end()
    conn.destroy()
    break
  }
  await testnet.destroy()
  process.exit(0)
})()
