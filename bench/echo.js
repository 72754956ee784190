'use strict'
// Small-message round trips on one encrypted connection and nothing else in the process: JS
// hyperdht vs ours, alternating, each run a fresh child process (4-node testnet, client and
// server in the same process, 2,000 round trips of warm-up, then sequential round trips for
// `seconds`). Reports messages/s, RTT p50/p99 and the process's CPU per round trip.
// bench/connect.js measures the same echo after its other phases (235 connections and a bulk
// transfer in the same process), which costs both implementations.
// Usage: node bench/echo.js [runs=3] [bytes=32] [seconds=2]   (re-runs itself in a loopback netns)
const { once } = require('events')
const { twoNodes, echoRounds, alternate, entry } = require('./common')

async function child (impl, bytes, seconds) {
  const { DHT, testnet, sNode, cNode } = await twoNodes(impl, 4)
  const server = sNode.createServer((conn) => {
    conn.on('error', () => {})
    conn.on('data', (d) => conn.write(d))
  })
  await server.listen(DHT.keyPair())
  const c = cNode.connect(server.publicKey)
  c.on('error', () => {})
  await once(c, 'open')
  const out = await echoRounds(c, bytes, seconds, 2000, 1000)
  c.destroy()
  await server.close()
  await testnet.destroy()
  return out
}

function main () {
  const runs = Number(process.argv[2]) || 3
  const bytes = Number(process.argv[3]) || 32
  const seconds = Number(process.argv[4]) || 2
  const res = alternate(__filename, runs, [bytes, seconds])
  const col = (impl, k, d) => res[impl].map((x) => x[k].toFixed(d)).join(', ')
  console.log(`\n${bytes}-byte echo, one connection, nothing else in the process (${runs} runs each, alternating)`)
  console.log('| metric | JS | ours |\n|---|---|---|')
  console.log(`| msg/s | ${col('js', 'perSec', 0)} | ${col('rs', 'perSec', 0)} |`)
  console.log(`| RTT p50 µs | ${col('js', 'p50', 1)} | ${col('rs', 'p50', 1)} |`)
  console.log(`| RTT p99 µs | ${col('js', 'p99', 1)} | ${col('rs', 'p99', 1)} |`)
  console.log(`| CPU per round trip µs | ${col('js', 'cpuUs', 1)} | ${col('rs', 'cpuUs', 1)} |`)
  const ratios = res.rs.map((r, i) => res.js[i] ? (r.perSec / res.js[i].perSec).toFixed(2) : '-')
  console.log(`ours/JS msg/s per run: ${ratios.join(', ')}`)
}

entry(__filename, child, main)
