'use strict'
// The public DHT of the rig, run inside the `dht` namespace: like hyperdht's testnet.js (first
// node bootstraps alone, the rest bootstrap off it, all persistent and not firewalled), except
// that node i binds its own address (198.18.1.<i+1>) instead of sharing 127.0.0.1, so nodes look
// like separate hosts to hyperdht's per-host checks.
// Latency (delay.js): node 0, the one peers bootstrap from, answers after `bootMs`; the others
// after `delayMs`, so a peer's bootstrap query takes longer than one round trip to node 0.
// usage: node dht-nodes.js <count> <port> <bootMs> <delayMs>
// prints {"event":"ready","nodes":["198.18.1.1:49737",...]} and runs until stdin closes.
const DHT = require('hyperdht')
const { dhtHost } = require('./addresses')
const { delayNode } = require('./delay')
const { emit } = require('./jsonl')
const exitWithStdin = require('./stdin-exit')

async function main () {
  const [count, port, bootMs, delayMs] = process.argv.slice(2).map(Number)
  const nodes = []
  exitWithStdin(6 * 3600_000, () => Promise.all(nodes.map((n) => n.destroy())))
  const bootstrap = []
  for (let i = 0; i < count; i++) {
    const host = dhtHost(i)
    const node = new DHT({ ephemeral: false, firewalled: false, bootstrap: [...bootstrap], host, port })
    await node.fullyBootstrapped()
    nodes.push(node)
    if (i === 0) bootstrap.push({ host, port })
  }
  nodes.forEach((node, i) => {
    const ms = i === 0 ? bootMs : delayMs
    if (ms > 0) delayNode(node, ms)
  })
  emit({ event: 'ready', nodes: nodes.map((n, i) => `${dhtHost(i)}:${n.address().port}`) })
}

main().catch((err) => {
  emit({ event: 'error', error: err.stack || String(err) })
  process.exit(1)
})
