// An ES module consumer (`import DHT from 'hyperdht-rs'`: the CommonJS export is the default
// import), deep imports with their `.js` extension. Never run (see api.ts).
import DHT from 'hyperdht-rs'
import createTestnet from 'hyperdht-rs/testnet.js'
import DHTError from 'hyperdht-rs/lib/errors.js'
import { peer } from 'hyperdht-rs/lib/messages.js'
import { FIREWALL } from 'hyperdht-rs/lib/constants.js'
import type { NoiseSecretStream, LookupReply } from 'hyperdht-rs'

const testnet = await createTestnet(3)
const node: DHT = testnet.createNode()
const replies: LookupReply[] = []
for await (const reply of node.lookup(DHT.hash(Buffer.from('topic')))) replies.push(reply)
const socket: NoiseSecretStream = node.connect(DHT.keyPair().publicKey)
socket.on('error', (err) => {
  if (err instanceof DHTError && err.code === 'PEER_NOT_FOUND') console.log('no such peer')
})
void [peer, FIREWALL.OPEN]
// @ts-expect-error connect needs a key
node.connect()
await testnet.destroy()
