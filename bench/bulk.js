'use strict'
// One encrypted connection moving `MiB` (default 256) in 64 KiB writes, nothing else in the
// process (4-node testnet, client and server in the same process): JS hyperdht vs ours,
// alternating, each run a fresh child. Reports MB/s, CPU-seconds per GB and the process's peak
// RSS (maxRSS: both ends, the testnet and the runtime), and the peak minus the RSS before the
// transfer.
// Usage: node bench/bulk.js [runs=3] [MiB=256]   (re-runs itself in a loopback netns)
const { twoNodes, bulk, alternate, entry } = require('./common')

async function child (impl, mib) {
  const net = await twoNodes(impl, 4)
  let rssBefore = 0
  const r = await bulk(net, mib, () => { rssBefore = process.memoryUsage().rss })
  const peak = process.resourceUsage().maxRSS * 1024
  await net.testnet.destroy()
  return { ...r, peakMiB: peak / 1048576, growthMiB: (peak - rssBefore) / 1048576 }
}

function main () {
  const runs = Number(process.argv[2]) || 3
  const mib = Number(process.argv[3]) || 256
  const res = alternate(__filename, runs, [mib])
  const col = (impl, k, d) => res[impl].map((x) => x[k].toFixed(d)).join(', ')
  console.log(`\none connection, ${mib} MiB in 64 KiB writes, nothing else in the process (${runs} runs each, alternating)`)
  console.log('| metric | JS | ours |\n|---|---|---|')
  console.log(`| MB/s | ${col('js', 'mbps', 0)} | ${col('rs', 'mbps', 0)} |`)
  console.log(`| CPU-s per GB | ${col('js', 'cpuPerGB', 2)} | ${col('rs', 'cpuPerGB', 2)} |`)
  console.log(`| peak RSS MiB | ${col('js', 'peakMiB', 0)} | ${col('rs', 'peakMiB', 0)} |`)
  console.log(`| peak RSS - RSS before the transfer, MiB | ${col('js', 'growthMiB', 0)} | ${col('rs', 'growthMiB', 0)} |`)
}

entry(__filename, child, main)
