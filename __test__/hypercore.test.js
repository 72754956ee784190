'use strict'
// Hypercore replication (corestore 7 / hypercore 11) over hyperswarm between JS hyperdht and
// ours in every writer/reader pairing: one writer, one reader, 4,000 x 1 KiB + 256 x 64 KiB
// blocks, every block verified. Hyperswarm takes the DHT instance (`new Hyperswarm({ dht })`),
// so each side runs on whichever implementation it is given. The reported bug: with ours on
// the writer's side the download never completed (responses above 64 KiB were split into
// several secret-stream frames, see framing.test.js).
const test = require('node:test')
const assert = require('node:assert')
const path = require('path')
const { once } = require('events')
const Corestore = require('corestore')
const Hyperswarm = require('hyperswarm')
const { RS, JS, mixedNet, tmpDir, nothingKeepsNodeAlive } = require('./helpers')

const SMALL = 4000
const BIG = 256

function block (i) {
  const size = i < SMALL ? 1024 : 65536
  const b = Buffer.alloc(size)
  for (let j = 0; j < size; j += 512) b.writeUInt32LE(i * 131 + j, j)
  return b
}

/** A swarm on `dht` that replicates `store` over each connection (counted). */
function swarm (teardown, dht, store) {
  const sw = new Hyperswarm({ dht })
  const side = { sw, connections: 0 }
  sw.on('connection', (conn) => {
    side.connections++
    conn.on('error', () => {})
    store.replicate(conn)
  })
  teardown.push(() => sw.destroy())
  return side
}

for (const [W, R] of [[JS, JS], [JS, RS], [RS, JS], [RS, RS]]) {
  const name = `${W === RS ? 'ours' : 'JS'} writer -> ${R === RS ? 'ours' : 'JS'} reader`
  test(`hypercore: ${SMALL} x 1 KiB + ${BIG} x 64 KiB replicate, ${name}`, { timeout: 120000 }, async (t) => {
    // t.after hooks run in the order registered: swarms and stores go first (last added,
    // first closed), then the DHT nodes, then the storage directory
    const teardown = []
    t.after(async () => {
      for (const close of teardown.reverse()) await close()
    })
    const net = await mixedNet(t)
    const dir = tmpDir(t)
    const wdht = net.client(W)
    const rdht = net.client(R)
    await Promise.all([wdht.fullyBootstrapped(), rdht.fullyBootstrapped()])

    const wstore = new Corestore(path.join(dir, 'writer'))
    teardown.push(() => wstore.close())
    const wcore = wstore.get({ name: 'blocks' })
    await wcore.ready()
    const blocks = []
    for (let i = 0; i < SMALL + BIG; i++) blocks.push(block(i))
    await wcore.append(blocks)

    const rstore = new Corestore(path.join(dir, 'reader'))
    teardown.push(() => rstore.close())
    const rcore = rstore.get({ key: wcore.key })
    await rcore.ready()

    const writer = swarm(teardown, wdht, wstore)
    const reader = swarm(teardown, rdht, rstore)
    await writer.sw.join(wcore.discoveryKey, { server: true, client: false }).flushed()
    const started = Date.now()
    reader.sw.join(wcore.discoveryKey, { server: false, client: true })
    // the reader learns the length from the writer's first sync message
    while (rcore.length < SMALL + BIG) await once(rcore, 'append')
    assert.strictEqual(rcore.length, SMALL + BIG)
    const synced = Date.now()
    await rcore.download({ start: 0, end: rcore.length }).done()
    const end = Date.now()
    t.diagnostic(`${name}: ${end - synced} ms download, ${end - started} ms with discovery and connect`)

    for (let i = 0; i < SMALL + BIG; i++) {
      const b = await rcore.get(i, { wait: false })
      assert.ok(b !== null && b.equals(blocks[i]), `block ${i} verified`)
    }
    // one connection, emitted once on each side (NoiseSecretStream opens exactly once)
    assert.strictEqual(writer.connections, 1, 'writer connections')
    assert.strictEqual(reader.connections, 1, 'reader connections')
  })
}

nothingKeepsNodeAlive(test)
