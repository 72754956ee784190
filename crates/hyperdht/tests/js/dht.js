'use strict'
// A JS hyperdht testnet plus one client node; prints READY {bootstrap}. Each stdin line is JSON:
//   {"op":"findPeer","publicKey":hex}  -> FINDPEER [{from, publicKey, relayAddresses}]
//   {"op":"lookup","topic":hex}        -> LOOKUP [{from, peers:[{publicKey, relayAddresses}]}]
// Exits when stdin closes.
const path = require('path')
const readline = require('readline')
const root = path.join(__dirname, '..', '..', '..', '..', 'node_modules')
const createTestnet = require(path.join(root, 'hyperdht', 'testnet.js'))

const addr = (a) => a.host + ':' + a.port

;(async () => {
  const testnet = await createTestnet(Number(process.argv[2] || 6))
  const node = testnet.createNode()
  await node.fullyBootstrapped()
  console.log('READY ' + JSON.stringify({ bootstrap: testnet.bootstrap[0].port }))
  const rl = readline.createInterface({ input: process.stdin })
  for await (const line of rl) {
    const req = JSON.parse(line)
    const out = []
    if (req.op === 'findPeer') {
      for await (const r of node.findPeer(Buffer.from(req.publicKey, 'hex'))) {
        out.push({ from: addr(r.from), publicKey: r.peer.publicKey.toString('hex'), relayAddresses: r.peer.relayAddresses.map(addr) })
      }
      console.log('FINDPEER ' + JSON.stringify(out))
    } else if (req.op === 'lookup') {
      for await (const r of node.lookup(Buffer.from(req.topic, 'hex'))) {
        out.push({ from: addr(r.from), peers: r.peers.map((p) => ({ publicKey: p.publicKey.toString('hex'), relayAddresses: p.relayAddresses.map(addr) })) })
      }
      console.log('LOOKUP ' + JSON.stringify(out))
    }
  }
  await testnet.destroy()
  process.exit(0)
})()
