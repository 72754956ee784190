'use strict'
// Record operation latency (announce, lookup, immutable/mutable put+get) on a 50-node local
// testnet, JS hyperdht vs hyperdht-rs, each in its own child process, same run. Two layouts:
// the testnet in the measuring process (every node on the same threads), and the testnet in a
// process of its own (like a real network: the client's process runs only the clients).
// Usage: npm run bench   or: node scripts/netns.js node bench/records.js [nodes] [iterations]
const { spawnSync, spawn } = require('child_process')
const path = require('path')

const OPS = ['announce', 'lookup', 'immutablePut', 'immutableGet', 'mutablePut', 'mutableGet']

if (process.argv[2] === 'child') {
  child(process.argv[3], Number(process.argv[4]), Number(process.argv[5]), process.argv[6]).catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else if (process.argv[2] === 'testnet') {
  serveTestnet(process.argv[3], Number(process.argv[4])).catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}

async function main () {
  const nodes = Number(process.argv[2]) || 50
  const iterations = Number(process.argv[3]) || 40
  for (const layout of ['one process', 'testnet in its own process']) {
    const res = {}
    for (const impl of ['js', 'rs']) {
      let net = null
      let bootstrap = ''
      if (layout !== 'one process') {
        net = spawn(process.execPath, [__filename, 'testnet', impl, String(nodes)], { stdio: ['pipe', 'pipe', 'inherit'] })
        bootstrap = await new Promise((resolve, reject) => {
          net.stdout.once('data', (d) => resolve(d.toString().trim()))
          net.once('exit', () => reject(new Error('testnet process exited')))
        })
      }
      const r = spawnSync(process.execPath, [__filename, 'child', impl, String(nodes), String(iterations), bootstrap], { encoding: 'utf-8', timeout: 600000 })
      if (net) {
        net.stdin.end()
        await new Promise((resolve) => net.once('exit', resolve))
      }
      if (r.status !== 0) {
        console.error(`${impl} failed:`, r.stderr || r.error)
        continue
      }
      res[impl] = JSON.parse(r.stdout.trim().split('\n').pop())
    }
    console.log(`\nrecord latency, ${nodes}-node testnet (${layout}), ${iterations} iterations (ms)`)
    console.log('op             js p50   js p95   rs p50   rs p95   rs/js p50')
    for (const op of OPS) {
      const js = res.js && res.js[op]
      const rs = res.rs && res.rs[op]
      const f = (x) => (x === undefined ? '-' : x.toFixed(2)).padStart(8)
      console.log(`${op.padEnd(13)} ${f(js && js.p50)} ${f(js && js.p95)} ${f(rs && rs.p50)} ${f(rs && rs.p95)}   ${js && rs ? (rs.p50 / js.p50).toFixed(3) : '-'}`)
    }
  }
}

/** The testnet alone: prints its bootstrap "host:port", runs until stdin closes. */
async function serveTestnet (impl, size) {
  const createTestnet = require(impl === 'js' ? 'hyperdht/testnet' : path.join(__dirname, '..', 'testnet.js'))
  const testnet = await createTestnet(size)
  const b = testnet.bootstrap[0]
  process.stdout.write(`${b.host}:${b.port}\n`)
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await testnet.destroy()
    process.exit(0)
  })
}

function pct (arr, p) {
  const s = [...arr].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

async function child (impl, size, iterations, remote) {
  const root = impl === 'js' ? 'hyperdht' : path.join(__dirname, '..')
  const DHT = require(root)
  const createTestnet = require(impl === 'js' ? 'hyperdht/testnet' : path.join(__dirname, '..', 'testnet.js'))
  let testnet
  if (remote) {
    const [host, port] = remote.split(':')
    const bootstrap = [{ host, port: Number(port) }]
    const made = []
    testnet = {
      createNode: () => { const n = new DHT({ ephemeral: true, bootstrap, host: '127.0.0.1' }); made.push(n); return n },
      destroy: async () => { for (const n of made) await n.destroy() }
    }
  } else {
    testnet = await createTestnet(size)
  }
  const a = testnet.createNode()
  const b = testnet.createNode()
  await a.fullyBootstrapped()
  await b.fullyBootstrapped()
  const times = Object.fromEntries(OPS.map((o) => [o, []]))
  const time = async (op, fn) => {
    const t = process.hrtime.bigint()
    const r = await fn()
    times[op].push(Number(process.hrtime.bigint() - t) / 1e6)
    return r
  }
  for (let i = 0; i < iterations; i++) {
    const topic = DHT.hash(Buffer.from('bench topic ' + i))
    const kp = DHT.keyPair()
    await time('announce', () => a.announce(topic, kp).finished())
    await time('lookup', async () => {
      let n = 0
      for await (const r of b.lookup(topic)) n += r.peers.length
      if (n === 0) throw new Error('lookup found nothing')
    })
    const value = Buffer.from('bench value ' + i)
    const { hash } = await time('immutablePut', () => a.immutablePut(value))
    const got = await time('immutableGet', () => b.immutableGet(hash))
    if (!got) throw new Error('immutableGet found nothing')
    await time('mutablePut', () => a.mutablePut(kp, value, { seq: i }))
    const m = await time('mutableGet', () => b.mutableGet(kp.publicKey))
    if (!m) throw new Error('mutableGet found nothing')
  }
  await testnet.destroy()
  const out = {}
  for (const op of OPS) out[op] = { p50: pct(times[op], 50), p95: pct(times[op], 95) }
  console.log(JSON.stringify(out))
}
