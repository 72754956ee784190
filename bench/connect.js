'use strict'
// Encrypted connections, JS hyperdht vs hyperdht-rs, each in its own child process, same run:
// connect latency p50/p95, one-connection throughput + CPU-seconds per GB, 200 concurrent
// connections (time, RSS per connection), echo messages/s and RTT p50/p99.
// Usage: npm run bench   or: node scripts/netns.js node bench/connect.js [MiB] [connects]
// Implementations: BENCH_IMPLS (default js,rs,rs-jsloop; rs = ours with HYPERDHT_RS_JSLOOP=0,
// receiving on tokio workers; rs-jsloop = ours as shipped: the socket read on the JS thread).
const { spawnSync } = require('child_process')
const { once } = require('events')
const { twoNodes, bulk } = require('./common')

const ECHOES = 10000
const ECHO_WARMUP = 1000

if (process.argv[2] === 'child') {
  child(process.argv[3], Number(process.argv[4]), Number(process.argv[5])).then(
    (r) => { console.log(JSON.stringify(r)); process.exit(0) },
    (err) => { console.error(err); process.exit(1) }
  )
} else {
  const mib = Number(process.argv[2]) || 128
  const connects = Number(process.argv[3]) || 50
  const res = {}
  const impls = (process.env.BENCH_IMPLS || 'js,rs,rs-jsloop').split(',')
  for (const impl of impls) {
    const env = { ...process.env, HYPERDHT_RS_JSLOOP: impl === 'rs-jsloop' ? '1' : '0' }
    const r = spawnSync(process.execPath, ['--expose-gc', __filename, 'child', impl === 'js' ? 'js' : 'rs', String(mib), String(connects)], { encoding: 'utf-8', timeout: 600000, env })
    if (r.status !== 0) {
      console.error(`${impl} failed:`, r.stderr || r.error)
      continue
    }
    res[impl] = JSON.parse(r.stdout.trim().split('\n').pop())
  }
  const rows = [
    ['connect p50 (ms)', 'connectP50'],
    ['connect p95 (ms)', 'connectP95'],
    [`throughput ${mib} MiB (MB/s)`, 'mbps'],
    ['CPU-s per GB', 'cpuPerGB'],
    ['200 conns time (ms)', 'manyMs'],
    ['RSS per conn, both ends (KiB)', 'rssPerConnKiB'],
    ['echo msg/s', 'echoPerSec'],
    ['echo RTT p50 (ms)', 'rttP50'],
    ['echo RTT p99 (ms)', 'rttP99'],
    ['echo CPU per msg (µs)', 'echoCpuUs']
  ]
  console.log('\nencrypted connections (client and server in one process, 8-node testnet)')
  const ours = impls.filter((i) => i !== 'js')
  console.log('metric                    ' + impls.map((i) => i.padStart(11)).join(' ') + ours.map((i) => (i + '/js').padStart(14)).join(''))
  for (const [label, k] of rows) {
    const v = (impl) => res[impl] && res[impl][k]
    const f = (x) => (x === undefined ? '-' : x.toFixed(x < 1 ? 3 : 2)).padStart(11)
    const ratio = (impl) => (v('js') && v(impl) ? (v(impl) / v('js')).toFixed(3) : '-').padStart(14)
    console.log(`${label.padEnd(26)}${impls.map((i) => f(v(i))).join(' ')}${ours.map(ratio).join('')}`)
  }
}

function pct (arr, p) {
  const s = [...arr].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

function gcRss () {
  if (global.gc) global.gc()
  return process.memoryUsage().rss
}

async function child (impl, mib, connects) {
  const { DHT, testnet, sNode, cNode } = await twoNodes(impl, 8)
  const sinkServer = sNode.createServer((conn) => {
    conn.on('error', () => {})
    conn.on('data', (d) => { if (d.length <= 64) conn.write(d) }) // echo small messages, sink bulk data
    conn.on('end', () => conn.end())
  })
  await sinkServer.listen(DHT.keyPair())
  const out = {}

  // warm-up: the first connections pay one-time costs (lazy statics, JIT, first FIND_PEER)
  for (let i = 0; i < 5; i++) {
    const c = cNode.connect(sinkServer.publicKey, { keyPair: DHT.keyPair() })
    c.on('error', () => {})
    await once(c, 'open')
    c.destroy()
  }

  // 200 concurrent connections first, while the heap is still clean (after the bulk transfer
  // both allocators keep freed buffers and the RSS growth says nothing): time until all open,
  // RSS growth per connection (client and server side both live in this process)
  {
    const rss0 = gcRss()
    const t0 = process.hrtime.bigint()
    const conns = []
    for (let i = 0; i < 200; i++) {
      const c = cNode.connect(sinkServer.publicKey, { keyPair: DHT.keyPair() })
      c.on('error', () => {})
      conns.push(c)
    }
    await Promise.all(conns.map((c) => once(c, 'open')))
    out.manyMs = Number(process.hrtime.bigint() - t0) / 1e6
    out.rssPerConnKiB = (gcRss() - rss0) / 200 / 1024
    for (const c of conns) c.destroy()
    await Promise.all(conns.map((c) => once(c, 'close').catch(() => {})))
  }

  // connect latency: sequential connects until open, each closed before the next
  const lat = []
  for (let i = 0; i < connects; i++) {
    const t0 = process.hrtime.bigint()
    const c = cNode.connect(sinkServer.publicKey, { keyPair: DHT.keyPair() })
    await once(c, 'open')
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6)
    c.on('error', () => {})
    c.destroy()
  }
  out.connectP50 = pct(lat, 50)
  out.connectP95 = pct(lat, 95)

  // throughput: one connection, client writes `mib` MiB, server counts
  Object.assign(out, await bulk({ DHT, sNode, cNode }, mib))

  // echo: 10,000 sequential 32-byte round trips on one connection (after 1,000 not measured:
  // MTU probing, JIT), with the process's CPU time per round trip (both ends are in this
  // process; long enough that what the earlier phases left running weighs little)
  {
    const c = cNode.connect(sinkServer.publicKey)
    c.on('error', () => {})
    await once(c, 'open')
    const msg = Buffer.alloc(32, 1)
    for (let i = 0; i < ECHO_WARMUP; i++) {
      c.write(msg)
      await once(c, 'data')
    }
    const rtts = []
    const cpu0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < ECHOES; i++) {
      const s = process.hrtime.bigint()
      c.write(msg)
      await once(c, 'data')
      rtts.push(Number(process.hrtime.bigint() - s) / 1e6)
    }
    out.echoPerSec = ECHOES / (Number(process.hrtime.bigint() - t0) / 1e9)
    const cpu = process.cpuUsage(cpu0)
    out.echoCpuUs = (cpu.user + cpu.system) / ECHOES
    out.rttP50 = pct(rtts, 50)
    out.rttP99 = pct(rtts, 99)
    c.destroy()
  }

  await sinkServer.close()
  await testnet.destroy()
  return out
}
