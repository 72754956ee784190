#!/usr/bin/env node
'use strict'
// Run by scripts/pack-test.js inside the loopback namespace: an unmodified hyperswarm from the
// scratch project (argv[2]), whose require('hyperdht') resolves to the packed hyperdht-rs through
// `"hyperdht": "file:<tarball>"` + `overrides`, joins a topic on a local testnet and exchanges data.
// argv[3] is the one addon file the process may have loaded.
const path = require('path')
const assert = require('assert')
const { createRequire } = require('module')
const { loadedAddons } = require('./pack-test-addons.js')

const [project, expectedAddon] = process.argv.slice(2)
const projectRequire = createRequire(path.join(project, 'package.json'))

async function main () {
  const Hyperswarm = projectRequire('hyperswarm')
  const swarmRequire = createRequire(projectRequire.resolve('hyperswarm'))
  const hyperdhtEntry = swarmRequire.resolve('hyperdht')
  const hyperdhtDir = path.join(project, 'node_modules', 'hyperdht')
  assert.ok(hyperdhtEntry.startsWith(hyperdhtDir + path.sep), 'hyperswarm resolves hyperdht to ' + hyperdhtEntry)
  assert.strictEqual(swarmRequire('hyperdht/package.json').name, 'hyperdht-rs', 'hyperswarm\'s hyperdht is hyperdht-rs')
  const DHT = swarmRequire('hyperdht')
  const createTestnet = swarmRequire('hyperdht/testnet')
  assert.deepStrictEqual(loadedAddons(), [expectedAddon], 'the addon comes from ' + expectedAddon)

  const testnet = await createTestnet(4)
  const a = new Hyperswarm({ bootstrap: testnet.bootstrap })
  const b = new Hyperswarm({ bootstrap: testnet.bootstrap })
  assert.ok(a.dht instanceof DHT, 'the swarm runs on the packed DHT')
  const topic = Buffer.alloc(32, 'hyperdht-rs pack test')

  const received = (swarm, text) => new Promise((resolve) => swarm.on('connection', (conn) => {
    conn.on('error', () => {})
    conn.once('data', (d) => resolve({ data: d.toString(), remote: conn.remotePublicKey }))
    conn.write(text)
  }))
  const gotA = received(a, 'hello from a')
  const gotB = received(b, 'hello from b')

  const discovery = a.join(topic, { server: true, client: false })
  await discovery.flushed()
  b.join(topic, { server: false, client: true })
  await b.flush()

  const [ra, rb] = await Promise.all([gotA, gotB])
  assert.strictEqual(ra.data, 'hello from b')
  assert.strictEqual(rb.data, 'hello from a')
  assert.ok(ra.remote.equals(b.keyPair.publicKey))
  assert.ok(rb.remote.equals(a.keyPair.publicKey))

  await a.leave(topic)
  await b.leave(topic)
  await a.destroy()
  await b.destroy()
  await testnet.destroy()
  console.log('pack hyperswarm ok: topic joined, data exchanged both ways')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
