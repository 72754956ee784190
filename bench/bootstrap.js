'use strict'
// Bootstrap time and RSS per node, JS hyperdht vs hyperdht-rs, same run, separate child processes.
// Usage: npm run bench  (runs inside a loopback-only netns)   or: node bench/bootstrap.js [sizes...]
const { spawnSync } = require('child_process')
const path = require('path')

if (process.argv[2] === 'child') {
  child(process.argv[3], Number(process.argv[4])).catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else {
  const sizes = process.argv.slice(2).map(Number).filter(Boolean)
  main(sizes.length ? sizes : [25, 100])
}

function main (sizes) {
  const rows = []
  for (const n of sizes) {
    for (const impl of ['js', 'rs']) {
      const r = spawnSync(process.execPath, ['--expose-gc', __filename, 'child', impl, String(n)], { encoding: 'utf-8', timeout: 300000 })
      if (r.status !== 0) {
        console.error(`${impl} n=${n} failed:`, r.stderr || r.error)
        continue
      }
      rows.push(JSON.parse(r.stdout.trim().split('\n').pop()))
    }
  }
  console.log('\nbootstrap benchmark (one bootstrapper + n nodes bootstrapping concurrently)')
  console.log('impl  nodes  bootstrap-ms  rss-per-node-KiB  rss-total-MiB')
  for (const r of rows) {
    console.log(`${r.impl.padEnd(4)}  ${String(r.n).padStart(5)}  ${r.ms.toFixed(0).padStart(12)}  ${r.rssPerNodeKiB.toFixed(0).padStart(16)}  ${(r.rss / 1048576).toFixed(1).padStart(13)}`)
  }
  for (const n of sizes) {
    const js = rows.find((r) => r.impl === 'js' && r.n === n)
    const rs = rows.find((r) => r.impl === 'rs' && r.n === n)
    if (js && rs) {
      console.log(`n=${n}: rss/node rs/js = ${(rs.rssPerNodeKiB / js.rssPerNodeKiB).toFixed(3)}, bootstrap time rs/js = ${(rs.ms / js.ms).toFixed(3)}`)
    }
  }
}

async function child (impl, n) {
  const DHT = impl === 'js' ? require('hyperdht') : require(path.join(__dirname, '..'))
  const boot = DHT.bootstrapper(40000 + Math.floor(Math.random() * 1000), '127.0.0.1')
  await boot.fullyBootstrapped()
  // the baseline is taken with the bootstrapper up, so one-time costs of each implementation
  // (module code, the native runtime's threads) are not charged to the n nodes
  global.gc()
  await new Promise((resolve) => setTimeout(resolve, 100))
  const base = process.memoryUsage().rss
  const bootstrap = [{ host: '127.0.0.1', port: boot.address().port }]
  const start = process.hrtime.bigint()
  const nodes = []
  for (let i = 0; i < n; i++) nodes.push(new DHT({ bootstrap, host: '127.0.0.1', ephemeral: false, firewalled: false }))
  await Promise.all(nodes.map((d) => d.fullyBootstrapped()))
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  global.gc()
  await new Promise((resolve) => setTimeout(resolve, 500))
  global.gc()
  const rss = process.memoryUsage().rss
  for (const d of nodes) await d.destroy()
  await boot.destroy()
  console.log(JSON.stringify({ impl, n, ms, rss, rssPerNodeKiB: (rss - base) / n / 1024 }))
}
