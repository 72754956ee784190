import DHT from 'hyperdht-rs'
import createTestnet from 'hyperdht-rs/testnet'

async function main (): Promise<void> {
  const testnet = await createTestnet(3) // a local DHT (use the public one with `new DHT()`)
  const alice = testnet.createNode()
  const bob = testnet.createNode()

  // an echo server, announced under a topic
  const server = alice.createServer((socket) => {
    socket.on('data', (data) => socket.write(data))
    socket.on('end', () => socket.end())
  })
  const keyPair = DHT.keyPair()
  await server.listen(keyPair)
  const topic = DHT.hash(Buffer.from('echo servers'))
  await alice.announce(topic, keyPair).finished()

  // find it and connect to it
  for await (const { peers } of bob.lookup(topic)) {
    for (const peer of peers) {
      const socket = bob.connect(peer.publicKey)
      socket.on('open', () => console.log('connected to', socket.remotePublicKey?.toString('hex')))
      socket.end('hello')
      for await (const data of socket) console.log('echo:', data.toString())
    }
    if (peers.length > 0) break
  }

  await testnet.destroy()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
