'use strict'
// `npm start`: a local testnet of hyperdht-rs nodes, with timings. Runs on 127.0.0.1 only.
const DHT = require('..')
const createTestnet = require('../testnet')

const ms = (t) => (Number(process.hrtime.bigint() - t) / 1e6).toFixed(1) + ' ms'

async function main () {
  const size = Number(process.env.DEMO_NODES) || 10
  let t = process.hrtime.bigint()
  const testnet = await createTestnet(size)
  console.log(`testnet: ${size} nodes bootstrapped in ${ms(t)} (bootstrap ${testnet.bootstrap.map((b) => b.host + ':' + b.port).join(', ')})`)
  for (const node of testnet.nodes) {
    const id = node.id ? node.id.toString('hex').slice(0, 16) : '(ephemeral)'
    console.log(`  node ${node.address().host}:${node.address().port} id ${id}… table ${node.toArray().length}`)
  }

  const client = testnet.createNode()
  t = process.hrtime.bigint()
  await client.fullyBootstrapped()
  console.log(`ephemeral client ready in ${ms(t)}`)

  t = process.hrtime.bigint()
  const target = DHT.hash(Buffer.from('hyperdht-rs demo'))
  let replies = 0
  for await (const r of client.findNode(target)) if (r) replies++
  console.log(`findNode: ${replies} replies in ${ms(t)}`)

  t = process.hrtime.bigint()
  await client.ping(testnet.bootstrap[0])
  console.log(`ping bootstrap: ${ms(t)}`)

  if (typeof client.announce === 'function') await records(client, testnet)
  await echo(testnet)

  t = process.hrtime.bigint()
  await testnet.destroy()
  console.log(`destroyed in ${ms(t)}`)
}

async function records (client, testnet) {
  const other = testnet.createNode()
  await other.fullyBootstrapped()
  const keyPair = DHT.keyPair()
  const topic = DHT.hash(Buffer.from('demo topic'))

  let t = process.hrtime.bigint()
  await client.announce(topic, keyPair).finished()
  console.log(`announce: ${ms(t)}`)

  t = process.hrtime.bigint()
  const found = new Set()
  for await (const r of other.lookup(topic)) for (const p of r.peers) found.add(p.publicKey.toString('hex'))
  console.log(`lookup: found ${found.size} announced peer(s) in ${ms(t)}`)

  t = process.hrtime.bigint()
  const { hash } = await client.immutablePut(Buffer.from('hello immutable'))
  const imm = await other.immutableGet(hash)
  console.log(`immutable put+get: ${imm && imm.value.toString()} in ${ms(t)}`)

  t = process.hrtime.bigint()
  await client.mutablePut(keyPair, Buffer.from('hello mutable'), { seq: 1 })
  const mut = await other.mutableGet(keyPair.publicKey)
  console.log(`mutable put+get: ${mut && mut.value.toString()} seq ${mut && mut.seq} in ${ms(t)}`)
}

async function echo (testnet) {
  const serverNode = testnet.createNode()
  const clientNode = testnet.createNode()
  await Promise.all([serverNode.fullyBootstrapped(), clientNode.fullyBootstrapped()])
  const server = serverNode.createServer((conn) => {
    conn.on('error', () => {})
    conn.pipe(conn) // encrypted echo
  })
  await server.listen(DHT.keyPair())
  console.log(`server listening on ${server.publicKey.toString('hex').slice(0, 16)}...`)

  let t = process.hrtime.bigint()
  const conn = clientNode.connect(server.publicKey)
  await new Promise((resolve, reject) => { conn.once('open', resolve); conn.once('error', reject) })
  console.log(`connect (FIND_PEER + Noise IK handshake + UDX): ${ms(t)}, handshakeHash ${conn.handshakeHash.toString('hex').slice(0, 16)}...`)

  const total = 32 * 1024 * 1024
  const chunk = Buffer.alloc(64 * 1024, 0x42)
  let got = 0
  const done = new Promise((resolve) => conn.on('data', (d) => { got += d.length; if (got >= total) resolve() }))
  t = process.hrtime.bigint()
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!conn.write(chunk)) await new Promise((resolve) => conn.once('drain', resolve))
  }
  await done
  const secs = Number(process.hrtime.bigint() - t) / 1e9
  console.log(`encrypted echo: ${total >> 20} MiB there and back in ${(secs * 1000).toFixed(0)} ms (${(total / 1e6 / secs).toFixed(1)} MB/s each way)`)
  conn.destroy()
  await server.close()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
