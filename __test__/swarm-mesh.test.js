'use strict'
// Ten Hyperswarm peers on one topic (`new Hyperswarm({ dht })`), all on JS hyperdht, all on ours,
// and alternating on a mixed network: each joins once the previous one's join flushed, as apps
// that start one after another do, and every swarm must end with exactly one connection to each of
// the other nine (hyperswarm's duplicate handling keeps one of crossed dials), each carrying data.
const test = require('node:test')
const assert = require('node:assert')
const Hyperswarm = require('hyperswarm')
const { RS, JS, mixedNet, nothingKeepsNodeAlive } = require('./helpers')

const PEERS = 10
const TOPIC = Buffer.alloc(32, 7)

for (const [name, implOf] of [['JS', () => JS], ['Rust', () => RS], ['mixed', (i) => (i % 2 ? RS : JS)]]) {
  test(`swarm mesh: ${PEERS} hyperswarm peers on one topic, ${name} nodes, full mesh with data both ways`, { timeout: 60000 }, async (t) => {
    const net = await mixedNet(t)
    const swarms = []
    t.after(() => Promise.all(swarms.map((s) => s.destroy())))
    const heard = new Map() // swarm -> set of remote keys it got data from
    for (let i = 0; i < PEERS; i++) {
      const sw = new Hyperswarm({ dht: net.client(implOf(i)) })
      heard.set(sw, new Set())
      sw.on('connection', (conn) => {
        conn.on('error', () => {})
        conn.on('data', () => heard.get(sw).add(conn.remotePublicKey.toString('hex')))
        conn.write('hi')
      })
      swarms.push(sw)
      await sw.join(TOPIC).flushed()
    }
    const full = () => swarms.every((s) => s.connections.size === PEERS - 1 && heard.get(s).size === PEERS - 1)
    const until = Date.now() + 30000
    while (!full() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.deepStrictEqual(swarms.map((s) => s.connections.size), swarms.map(() => PEERS - 1), 'one connection to every other peer')
    for (const s of swarms) {
      const others = swarms.filter((o) => o !== s).map((o) => o.keyPair.publicKey.toString('hex')).sort()
      assert.deepStrictEqual([...heard.get(s)].sort(), others, 'data from every other peer')
    }
  })
}

nothingKeepsNodeAlive(test)
