'use strict'
// One encrypted connection moving `MiB` (default 256) in 64 KiB writes, nothing else in the
// process (4-node testnet, client and server in the same process): JS hyperdht vs ours,
// alternating, each run a fresh child. Reports MB/s, CPU-seconds per GB and the process's peak
// RSS (maxRSS: both ends, the testnet and the runtime), and the peak minus the RSS before the
// transfer.
// Usage: node bench/bulk.js [runs=3] [MiB=256]   (re-runs itself in a loopback netns)
const { spawnSync } = require('child_process')
const path = require('path')
const { once } = require('events')

async function child (impl, mib) {
  const DHT = require(impl === 'js' ? 'hyperdht' : path.join(__dirname, '..'))
  const createTestnet = require(impl === 'js' ? 'hyperdht/testnet' : path.join(__dirname, '..', 'testnet.js'))
  const testnet = await createTestnet(4)
  const sNode = testnet.createNode()
  const cNode = testnet.createNode()
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  const total = mib * 1024 * 1024
  let got = 0
  let done
  const finished = new Promise((resolve) => { done = resolve })
  const server = sNode.createServer((conn) => {
    conn.on('error', () => {})
    conn.on('data', (d) => { got += d.length; if (got >= total) done() })
  })
  await server.listen(DHT.keyPair())
  const c = cNode.connect(server.publicKey)
  c.on('error', () => {})
  await once(c, 'open')
  const rssBefore = process.memoryUsage().rss
  const chunk = Buffer.alloc(64 * 1024, 0xab)
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!c.write(chunk)) await once(c, 'drain')
  }
  await finished
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(cpu0)
  const peak = process.resourceUsage().maxRSS * 1024
  c.destroy()
  await server.close()
  await testnet.destroy()
  return {
    mbps: total / 1e6 / secs,
    cpuPerGB: ((cpu.user + cpu.system) / 1e6) / (total / 1e9),
    peakMiB: peak / 1048576,
    growthMiB: (peak - rssBefore) / 1048576
  }
}

function main () {
  const runs = Number(process.argv[2]) || 3
  const mib = Number(process.argv[3]) || 256
  const res = { js: [], rs: [] }
  for (let run = 0; run < runs; run++) {
    for (const impl of ['js', 'rs']) {
      const r = spawnSync(process.execPath, [__filename, 'child', impl, String(mib)], { encoding: 'utf-8', timeout: 600000 })
      if (r.status !== 0) {
        console.error(`${impl} failed:`, r.stderr || r.error)
        process.exitCode = 1
        continue
      }
      res[impl].push(JSON.parse(r.stdout.trim().split('\n').pop()))
    }
  }
  const col = (impl, k, d) => res[impl].map((x) => x[k].toFixed(d)).join(', ')
  console.log(`\none connection, ${mib} MiB in 64 KiB writes, nothing else in the process (${runs} runs each, alternating)`)
  console.log('| metric | JS | ours |\n|---|---|---|')
  console.log(`| MB/s | ${col('js', 'mbps', 0)} | ${col('rs', 'mbps', 0)} |`)
  console.log(`| CPU-s per GB | ${col('js', 'cpuPerGB', 2)} | ${col('rs', 'cpuPerGB', 2)} |`)
  console.log(`| peak RSS MiB | ${col('js', 'peakMiB', 0)} | ${col('rs', 'peakMiB', 0)} |`)
  console.log(`| peak RSS - RSS before the transfer, MiB | ${col('js', 'growthMiB', 0)} | ${col('rs', 'growthMiB', 0)} |`)
}

if (process.argv[2] === 'child') {
  child(process.argv[3], Number(process.argv[4])).then(
    (r) => { console.log(JSON.stringify(r)); process.exit(0) },
    (err) => { console.error(err); process.exit(1) }
  )
} else if (process.env.HYPERDHT_RS_NETNS !== '1') {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'netns.js'), process.execPath, __filename, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status === null ? 1 : r.status)
} else {
  main()
}
