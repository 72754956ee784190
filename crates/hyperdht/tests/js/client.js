'use strict'
// A JS hyperdht testnet plus a client node; prints READY {bootstrap, publicKey}. Each stdin line
// is a server public key (hex) or JSON {publicKey, localConnection, fastOpen}: connects, sends
// "hello", prints RESULT {data | error, elapsed, ...}. Exits when stdin closes.
const path = require('path')
const readline = require('readline')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
const createTestnet = require(path.join(root, 'hyperdht', 'testnet.js'))

;(async () => {
  const size = Number(process.argv[2] || 6)
  const testnet = await createTestnet(size)
  const node = testnet.createNode()
  await node.fullyBootstrapped()
  console.log('READY ' + JSON.stringify({ bootstrap: testnet.bootstrap[0].port, publicKey: node.defaultKeyPair.publicKey.toString('hex') }))
  const rl = readline.createInterface({ input: process.stdin })
  for await (const line of rl) {
    const req = line.trim().startsWith('{') ? JSON.parse(line) : { publicKey: line.trim() }
    const opts = {}
    if (req.localConnection === false) opts.localConnection = false
    if (req.fastOpen === false) opts.fastOpen = false
    const start = Date.now()
    const conn = node.connect(Buffer.from(req.publicKey, 'hex'), opts)
    const result = await new Promise((resolve) => {
      conn.on('error', (err) => resolve({ error: err.code || err.message }))
      conn.on('data', (d) => resolve({
        data: d.toString(),
        remotePublicKey: conn.remotePublicKey.toString('hex'),
        handshakeHash: conn.handshakeHash.toString('hex'),
        remoteAddress: conn.rawStream ? conn.rawStream.remoteHost + ':' + conn.rawStream.remotePort : null
      }))
      conn.write(Buffer.from('hello'))
    })
    result.elapsed = Date.now() - start
    console.log('RESULT ' + JSON.stringify(result))
    conn.on('error', () => {})
    conn.end()
    conn.destroy()
  }
  await testnet.destroy()
  process.exit(0)
})()
