'use strict'
// What the connection benchmarks share: loading an implementation, a testnet with a server and a
// client node, one bulk transfer, and running JS and ours alternately in fresh child processes
// inside a loopback network namespace.
const { spawnSync } = require('child_process')
const path = require('path')
const { once } = require('events')

const ROOT = path.join(__dirname, '..')

/** `impl` ('js' or 'rs'): the DHT class and its testnet factory. */
function load (impl) {
  return {
    DHT: require(impl === 'js' ? 'hyperdht' : ROOT),
    createTestnet: require(impl === 'js' ? 'hyperdht/testnet' : path.join(ROOT, 'testnet.js'))
  }
}

/** An `nodes`-node testnet of `impl` plus a server and a client node, both bootstrapped. */
async function twoNodes (impl, nodes) {
  const { DHT, createTestnet } = load(impl)
  const testnet = await createTestnet(nodes)
  const sNode = testnet.createNode()
  const cNode = testnet.createNode()
  await Promise.all([sNode.fullyBootstrapped(), cNode.fullyBootstrapped()])
  return { DHT, testnet, sNode, cNode }
}

/**
 * One connection from `cNode` to a fresh server on `sNode` carrying `mib` MiB in 64 KiB writes;
 * `before(conn)` runs once it is open. Returns MB/s and CPU-seconds per GB of this process.
 */
async function bulk ({ DHT, sNode, cNode }, mib, before = () => {}) {
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
  before(c)
  const chunk = Buffer.alloc(64 * 1024, 0xab)
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!c.write(chunk)) await once(c, 'drain')
  }
  await finished
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(cpu0)
  c.destroy()
  await server.close()
  return { mbps: total / 1e6 / secs, cpuPerGB: ((cpu.user + cpu.system) / 1e6) / (total / 1e9) }
}

/**
 * Sequential round trips of `bytes`-byte messages on `c` (whose peer echoes): `warm` unmeasured,
 * then batches of `batch` for `seconds`. Returns messages/s, RTT p50/p99 in µs and this
 * process's CPU per round trip in µs.
 */
async function echoRounds (c, bytes, seconds, warm, batch) {
  const msg = Buffer.alloc(bytes, 1)
  for (let i = 0; i < warm; i++) {
    c.write(msg)
    await once(c, 'data')
  }
  const rtts = []
  const end = Date.now() + seconds * 1000
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  while (Date.now() < end) {
    for (let i = 0; i < batch; i++) {
      const s = process.hrtime.bigint()
      c.write(msg)
      await once(c, 'data')
      rtts.push(Number(process.hrtime.bigint() - s) / 1e3)
    }
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(cpu0)
  rtts.sort((a, b) => a - b)
  return {
    perSec: rtts.length / wall,
    p50: rtts[rtts.length >> 1],
    p99: rtts[Math.floor(rtts.length * 0.99)],
    cpuUs: (cpu.user + cpu.system) / rtts.length
  }
}

/**
 * Runs `file child <impl> ...args` `runs` times per implementation, JS and ours alternating;
 * each child prints its result as the last JSON line. Returns {js: [...], rs: [...]}.
 */
function alternate (file, runs, args) {
  const res = { js: [], rs: [] }
  for (let run = 0; run < runs; run++) {
    for (const impl of ['js', 'rs']) {
      const r = spawnSync(process.execPath, [file, 'child', impl, ...args.map(String)], { encoding: 'utf-8', timeout: 600000 })
      if (r.status !== 0) {
        console.error(`${impl} failed:`, r.stderr || r.error)
        process.exitCode = 1
        continue
      }
      res[impl].push(JSON.parse(r.stdout.trim().split('\n').pop()))
    }
  }
  return res
}

/**
 * The entry point of a benchmark file: `child(impl, ...numbers)` in a child (its result printed as
 * JSON), else `main()` inside a loopback-only network namespace (re-running the file there).
 */
function entry (file, child, main) {
  if (process.argv[2] === 'child') {
    child(process.argv[3], ...process.argv.slice(4).map(Number)).then(
      (r) => { console.log(JSON.stringify(r)); process.exit(0) },
      (err) => { console.error(err); process.exit(1) }
    )
  } else if (process.env.HYPERDHT_RS_NETNS !== '1') {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'netns.js'), process.execPath, file, ...process.argv.slice(2)], { stdio: 'inherit' })
    process.exit(r.status === null ? 1 : r.status)
  } else {
    main()
  }
}

module.exports = { load, twoNodes, bulk, echoRounds, alternate, entry }
