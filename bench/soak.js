'use strict'
// Soak (issue 14): a mixed JS/Rust testnet under churn for N minutes. This process hosts only
// Rust nodes (so its RSS is ours); a child process hosts the JS side (bootstrap, persistent
// nodes, a JS echo server and JS clients dialling our server). Churn: Rust persistent nodes are
// replaced, Rust clients connect to the JS and Rust servers and abort at every step, records are
// announced / looked up / put / got. Reports RSS every interval, the RSS slope after warm-up
// (least squares), error counts by code, and the engine's internal map sizes after a drain.
//
//   node scripts/netns.js node bench/soak.js [--minutes 30] [--interval 10] [--json out.json]
const { fork } = require('child_process')
const path = require('path')
const fs = require('fs')
const RS = require('..')

const args = process.argv.slice(2)
const arg = (name, def) => {
  const i = args.indexOf('--' + name)
  return i === -1 ? def : args[i + 1]
}
const MINUTES = Number(arg('minutes', 30))
const INTERVAL = Number(arg('interval', 10)) * 1000
const JSON_OUT = arg('json', null)

// an expected outcome of churn is not an error worth reporting
const EXPECTED = new Set(['DESTROYED', 'ECONNRESET', 'PEER_NOT_FOUND', 'REQUEST_DESTROYED', 'SERVER_CLOSED'])
const errors = new Map()
function count (err) {
  const code = (err && err.code) || (err && err.message) || String(err)
  if (EXPECTED.has(code)) return
  errors.set(code, (errors.get(code) || 0) + 1)
}

function startJsSide () {
  const child = fork(path.join(__dirname, 'soak-js.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, ...m }))
    child.once('exit', (code) => reject(new Error('JS side exited ' + code)))
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function connectOnce (client, key, step) {
  const s = client.connect(key)
  const closed = new Promise((resolve) => s.once('close', resolve))
  s.on('error', count)
  switch (step % 5) {
    case 0: s.destroy(); break
    case 1: s.once('open', () => s.destroy()); break
    case 2: await new Promise((resolve) => setImmediate(resolve)); s.destroy(); break
    case 3: s.end(Buffer.alloc(64 * 1024, step & 0xff)); s.resume(); break
    default: s.write('ping'); s.once('data', () => s.end()); s.resume()
  }
  await closed
}

async function main () {
  const js = await startJsSide()
  const bootstrap = [{ host: '127.0.0.1', port: js.bootstrapPort }]
  const persistent = []
  const spawnPersistent = async () => {
    const n = new RS({ bootstrap, host: '127.0.0.1', port: 0, ephemeral: false, firewalled: false })
    await n.fullyBootstrapped()
    persistent.push(n)
  }
  for (let i = 0; i < 3; i++) await spawnPersistent()
  const serverNode = new RS({ bootstrap, host: '127.0.0.1', port: 0, ephemeral: false, firewalled: false })
  await serverNode.fullyBootstrapped()
  const server = serverNode.createServer({ reusableSocket: true }, (conn) => {
    conn.on('error', count)
    conn.on('data', (d) => conn.write(d))
    conn.on('end', () => conn.end())
  })
  await server.listen()
  js.child.send({ rustServer: server.publicKey.toString('hex') })
  const client = new RS({ bootstrap, host: '127.0.0.1', port: 0 })
  await client.fullyBootstrapped()

  const jsKey = Buffer.from(js.serverKey, 'hex')
  const deadline = Date.now() + MINUTES * 60000
  let stop = false
  const counters = { connects: 0, records: 0, nodeSwaps: 0 }

  const connectLoop = async (key) => {
    for (let step = 0; !stop; step++) {
      await connectOnce(client, key, step).catch(count)
      counters.connects++
    }
  }
  const recordLoop = async () => {
    const kp = RS.keyPair()
    for (let seq = 0; !stop; seq++) {
      try {
        const topic = RS.hash(Buffer.from('soak-topic-' + (seq % 50)))
        await client.announce(topic, kp).finished()
        for await (const _ of client.lookup(topic)) { if (stop) break } // eslint-disable-line no-unused-vars
        await client.mutablePut(kp, Buffer.from('v' + seq), { seq })
        await client.mutableGet(kp.publicKey, { latest: false })
        const { hash } = await client.immutablePut(Buffer.from('imm-' + seq))
        await client.immutableGet(hash)
        await client.unannounce(topic, kp)
        counters.records++
      } catch (err) { count(err) }
    }
  }
  const churnLoop = async () => {
    while (!stop) {
      await sleep(30000)
      if (stop) break
      const old = persistent.shift()
      await old.destroy().catch(count)
      await spawnPersistent().catch(count)
      counters.nodeSwaps++
    }
  }

  const samples = []
  const t0 = Date.now()
  const sample = () => {
    const mem = process.memoryUsage()
    const rss = mem.rss / 1048576
    const heap = mem.heapUsed / 1048576
    const min = (Date.now() - t0) / 60000
    samples.push({ min, rss, heap })
    const errs = [...errors.values()].reduce((a, b) => a + b, 0)
    console.log(`${min.toFixed(1)} min  rss ${rss.toFixed(1)} MiB  js heap ${heap.toFixed(1)} MiB  connects ${counters.connects}  record rounds ${counters.records}  node swaps ${counters.nodeSwaps}  errors ${errs}`)
    if (process.env.SOAK_COUNTS) console.log('   ', JSON.stringify([client, serverNode].map((n) => n._internalCounts())))
  }
  sample()
  const timer = setInterval(sample, INTERVAL)
  const loops = [connectLoop(server.publicKey), connectLoop(jsKey), recordLoop(), churnLoop()]
  while (Date.now() < deadline) await sleep(1000)
  stop = true
  clearInterval(timer)
  await Promise.all(loops)
  await new Promise((resolve) => {
    js.child.on('message', (m) => { if (m.stoppedDialing) resolve() })
    js.child.send({ stopDialing: true })
  })
  sample()

  // drain: handshakes are kept ~10-30 s for retransmits, routes 3 s after their stream
  let counts
  for (let i = 0; i < 60; i++) {
    counts = [client, serverNode].map((n) => n._internalCounts())
    const busy = counts.some((c) => Object.entries(c).some(([k, v]) => k !== 'relayCache' && v !== 0))
    if (!busy) break
    await sleep(1000)
  }

  const warm = samples.filter((s) => s.min >= MINUTES * 0.2)
  const slope = leastSquaresSlope(warm)
  const result = {
    minutes: MINUTES,
    ...counters,
    rssStartMiB: round(samples[0].rss),
    rssAfterWarmupMiB: round(warm[0] ? warm[0].rss : NaN),
    rssEndMiB: round(samples[samples.length - 1].rss),
    rssMaxMiB: round(Math.max(...samples.map((s) => s.rss))),
    rssSlopeMiBPerMin: round(slope, 3),
    errors: Object.fromEntries(errors),
    internalCountsAfterDrain: { client: counts[0], server: counts[1] }
  }
  console.log(JSON.stringify(result, null, 2))
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ ...result, samples }, null, 2))

  await server.close()
  for (const n of [client, serverNode, ...persistent]) await n.destroy()
  js.child.send({ exit: true })
}

function leastSquaresSlope (pts) {
  if (pts.length < 2) return NaN
  const n = pts.length
  const mx = pts.reduce((a, p) => a + p.min, 0) / n
  const my = pts.reduce((a, p) => a + p.rss, 0) / n
  let num = 0
  let den = 0
  for (const p of pts) {
    num += (p.min - mx) * (p.rss - my)
    den += (p.min - mx) ** 2
  }
  return num / den
}

function round (x, d = 1) {
  return Math.round(x * 10 ** d) / 10 ** d
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
