// @ts-check
// A JavaScript program type-checked through the declarations (checkJs): `require('hyperdht-rs')`
// gets the `export =` class. Never run (see api.ts).
'use strict'
const DHT = require('hyperdht-rs')
const createTestnet = require('hyperdht-rs/testnet')
const { COMMANDS } = require('hyperdht-rs/lib/constants')

async function main () {
  const testnet = await createTestnet(3)
  const node = new DHT({ bootstrap: testnet.bootstrap })
  const server = node.createServer((socket) => socket.end())
  await server.listen()
  for await (const reply of node.lookup(DHT.hash(Buffer.from('topic')))) {
    /** @type {Buffer[]} */
    const keys = reply.peers.map((p) => p.publicKey)
    void keys
  }
  void COMMANDS.LOOKUP
  // @ts-expect-error unknown option
  node.connect(server.publicKey || Buffer.alloc(32), { keypair: null })
  await node.destroy()
  await testnet.destroy()
}

main()
