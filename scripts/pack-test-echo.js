#!/usr/bin/env node
'use strict'
// Run by scripts/pack-test.js inside the loopback namespace: `require('hyperdht-rs')` from an installed
// scratch project (argv[2]), a 4-node testnet from its testnet.js, and an encrypted echo of 1 MiB
// between two of its nodes. argv[3] is the one addon file the process may have loaded.
const path = require('path')
const assert = require('assert')
const crypto = require('crypto')
const { once } = require('events')
const { createRequire } = require('module')
const { loadedAddons } = require('./pack-test-addons.js')

const [project, expectedAddon] = process.argv.slice(2)
const projectRequire = createRequire(path.join(project, 'package.json'))

async function main () {
  const entry = projectRequire.resolve('hyperdht-rs')
  assert.ok(entry.startsWith(path.join(project, 'node_modules', 'hyperdht-rs') + path.sep), entry)
  const DHT = projectRequire('hyperdht-rs')
  const createTestnet = projectRequire('hyperdht-rs/testnet')
  assert.deepStrictEqual(loadedAddons(), [expectedAddon], 'the addon comes from ' + expectedAddon)

  const testnet = await createTestnet(4)
  const a = testnet.createNode()
  const b = testnet.createNode()
  await Promise.all([a.fullyBootstrapped(), b.fullyBootstrapped()])

  const server = a.createServer((conn) => {
    conn.on('data', (d) => conn.write(d))
    conn.on('end', () => conn.end())
    conn.on('error', () => {})
  })
  const serverSide = once(server, 'connection')
  await server.listen(DHT.keyPair())
  const conn = b.connect(server.publicKey)
  await once(conn, 'open')
  const [sconn] = await serverSide
  assert.ok(conn.remotePublicKey.equals(server.publicKey), 'client authenticated the server key')
  assert.ok(sconn.remotePublicKey.equals(b.defaultKeyPair.publicKey), 'server authenticated the client key')
  assert.ok(conn.handshakeHash.length === 64 && conn.handshakeHash.equals(sconn.handshakeHash), 'both ends share one Noise handshake hash')

  const payload = crypto.randomBytes(1024 * 1024)
  const chunks = []
  let got = 0
  const echoed = new Promise((resolve, reject) => {
    conn.on('data', (d) => {
      chunks.push(d)
      got += d.length
      if (got >= payload.length) resolve()
    })
    conn.on('error', reject)
  })
  for (let off = 0; off < payload.length; off += 65536) conn.write(payload.subarray(off, off + 65536))
  await echoed
  assert.ok(Buffer.concat(chunks).equals(payload), 'echoed byte-exact')

  const closed = once(conn, 'close')
  conn.end()
  await closed
  await server.close()
  await testnet.destroy()
  console.log('pack echo ok: ' + payload.length + ' bytes through ' + path.relative(project, expectedAddon))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
