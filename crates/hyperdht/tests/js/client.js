'use strict'
// A JS hyperdht testnet plus a client node; prints READY {bootstrap, publicKey}. Each stdin line
// is a server public key (hex) or JSON {publicKey, localConnection, fastOpen}. argv: testnet
// size, then `firewalled` to keep the client node firewalled: connects, sends
// "hello", prints RESULT {data | error, elapsed, ...}. Exits when stdin closes.
const path = require('path')
const readline = require('readline')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
const createTestnet = require(path.join(root, 'hyperdht', 'testnet.js'))

;(async () => {
  const size = Number(process.argv[2] || 6)
  const testnet = await createTestnet(size)
  // `firewalled`: no quick firewall check, so the node stays firewalled and must holepunch
  const node = testnet.createNode(process.argv[3] === 'firewalled' ? { quickFirewall: false } : {})
  await node.fullyBootstrapped()
  console.log('READY ' + JSON.stringify({ bootstrap: testnet.bootstrap[0].port, publicKey: node.defaultKeyPair.publicKey.toString('hex'), firewalled: node.firewalled }))
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
        remoteAddress: conn.rawStream ? conn.rawStream.remoteHost + ':' + conn.rawStream.remotePort : null,
        localPort: conn.rawStream ? conn.rawStream.socket.address().port : null,
        dhtPorts: [node.io.serverSocket.address().port, node.io.clientSocket.address().port]
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
