'use strict'
// Hypercore replication (corestore 7 / hypercore 11) over hyperswarm, JS hyperdht vs
// hyperdht-rs at both ends and mixed, in one run. Writer and reader are separate child
// processes (bench/replication/peer.js); the testnet (8 nodes, of the pair's kinds) runs here.
// Per run: time to first block (reader's join() to block 0 verified), sequential single-block
// get latency (1,000 x 1 KiB, each requested after the previous arrived, none local before),
// full download of 4,000 x 1 KiB + 256 x 64 KiB, every block compared, CPU-s of both ends
// (writer: from reader start to end; reader: join to download done), peak RSS of each end.
// The `tcp` row is the baseline: the same replication over one TCP socket on loopback with
// hypercore's own (JS) secret-stream and no DHT: what hypercore itself allows (its per-block
// verification and storage work bounds the download, not the transport).
// Usage: node bench/replication.js [runs] [js/rs]   (re-runs itself in a loopback netns; the
// optional writer/reader pair runs that config only)
const { fork, spawnSync } = require('child_process')
const path = require('path')
const os = require('os')
const { once } = require('events')

// [writer, reader]; `tcp`: the baseline without any DHT, hypercore over one TCP socket
const CONFIGS = [['js', 'js'], ['rs', 'rs'], ['js', 'rs'], ['rs', 'js'], ['tcp', 'tcp']]
const PEER = path.join(__dirname, 'replication', 'peer.js')
const name = (impl) => (impl === 'rs' ? 'ours' : impl === 'tcp' ? 'TCP (no DHT)' : 'JS')

async function createTestnet ([w, r]) {
  if (w === 'tcp') return { bootstrap: [], destroy: async () => {} }
  const js = require('hyperdht/testnet')
  const rs = require('../testnet.js')
  if (w === r) return (w === 'rs' ? rs : js)(8, { host: '127.0.0.1' })
  const a = await js(4, { host: '127.0.0.1' })
  const b = await rs(4, { host: '127.0.0.1', bootstrap: a.bootstrap })
  return { bootstrap: a.bootstrap, destroy: async () => { await b.destroy(); await a.destroy() } }
}

function peer (role, impl) {
  const child = fork(PEER, [role, impl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const timer = setTimeout(() => child.kill('SIGKILL'), 180000)
  const exited = once(child, 'exit').finally(() => clearTimeout(timer))
  const next = () => Promise.race([
    once(child, 'message').then(([m]) => m),
    exited.then(([code, sig]) => { throw new Error(`${role} (${impl}) exited ${code ?? sig}`) })
  ])
  return { child, next, exited }
}

async function runOnce (config) {
  const testnet = await createTestnet(config)
  const bootstrap = testnet.bootstrap
  const w = peer('writer', config[0])
  const r = peer('reader', config[1])
  try {
    w.child.send({ bootstrap })
    const { keys, result: wFail } = await w.next()
    if (wFail) throw new Error('writer: ' + wFail.error)
    r.child.send({ bootstrap, keys })
    const { result: rr } = await r.next()
    w.child.send({ done: true })
    const { result: wr } = await w.next()
    if (rr.error) throw new Error('reader: ' + rr.error)
    if (wr.error) throw new Error('writer: ' + wr.error)
    // the swarms must have run on the DHT classes asked for, and ours must have carried the data
    for (const [impl, res] of [[config[0], wr], [config[1], rr]]) {
      const c = res.check
      if (c.dht !== impl || c.conn.split(',').length !== 1) throw new Error('unexpected swarm: ' + JSON.stringify(c))
      const carried = res === rr ? c.bytesIn : c.bytesOut // the bulk data, ~20.9 MB
      if (impl === 'rs' && (c.opened < 1 || carried < 20e6)) {
        throw new Error('our DHT did not carry the connection: ' + JSON.stringify(c))
      }
    }
    return { ...rr, cpuS: rr.cpuS + wr.cpuS, rss: [wr.maxRssKiB, rr.maxRssKiB], checks: [wr.check, rr.check] }
  } finally {
    // both exit by themselves once they sent their result; a stuck one is killed after 5 s
    for (const p of [w, r]) {
      if (p.child.exitCode !== null) continue
      const t = setTimeout(() => p.child.kill(), 5000)
      await p.exited.catch(() => {})
      clearTimeout(t)
    }
    await testnet.destroy()
  }
}

function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

function table (results, runs) {
  const cols = [
    ['first block ms', (x) => x.firstBlockMs, 1],
    ['get p50 ms', (x) => x.getP50, 3],
    ['get p95 ms', (x) => x.getP95, 3],
    ['download MB/s', (x) => x.mbps, 1],
    ['CPU-s', (x) => x.cpuS, 2],
    ['peak RSS MiB (writer / reader)', null]
  ]
  const lines = [
    `| config (writer → reader) | ${cols.map((c) => c[0]).join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`
  ]
  for (const [config, rs] of results) {
    const cells = cols.map(([, get, digits]) => {
      if (get === null) {
        const mib = (i) => median(rs.map((x) => x.rss[i])) / 1024
        return `${mib(0).toFixed(0)} / ${mib(1).toFixed(0)} (${rs.map((x) => x.rss.map((k) => (k / 1024).toFixed(0)).join('/')).join(', ')})`
      }
      const v = rs.map(get)
      return `**${median(v).toFixed(digits)}** (${v.map((x) => x.toFixed(digits)).join(', ')})`
    })
    const [w, r] = config.split('/')
    lines.push(`| ${name(w)} → ${name(r)} | ${cells.join(' | ')} |`)
  }
  return `${runs} runs per config, median in bold, then each run in order\n\n${lines.join('\n')}`
}

async function main (runs, only) {
  const configs = only ? CONFIGS.filter((c) => c.join('/') === only) : CONFIGS
  const results = new Map(configs.map((c) => [c.join('/'), []]))
  const load = [os.loadavg()[0]]
  // configs interleaved, so load changes on the shared machine spread over all of them
  for (let run = 1; run <= runs; run++) {
    for (const config of configs) {
      const r = await runOnce(config)
      results.get(config.join('/')).push(r)
      const rss = r.rss.map((k) => (k / 1024).toFixed(0)).join('/')
      console.error(`run ${run} ${name(config[0])} -> ${name(config[1])}: first ${r.firstBlockMs.toFixed(1)} ms, ` +
        `get p50 ${r.getP50.toFixed(3)} p95 ${r.getP95.toFixed(3)} ms, ${r.mbps.toFixed(1)} MB/s, ` +
        `${r.cpuS.toFixed(2)} CPU-s, RSS ${rss} MiB, ${r.verified} blocks verified`)
    }
    load.push(os.loadavg()[0])
  }
  console.log('\nhypercore replication over hyperswarm (writer and reader in separate processes, 8-node testnet)')
  console.log(`1-min load average at start and after each round: ${load.map((l) => l.toFixed(2)).join(', ')} (${os.cpus().length} CPUs)\n`)
  console.log(table(results, runs))
}

if (process.env.HYPERDHT_RS_NETNS !== '1') {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'netns.js'), process.execPath, __filename, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status === null ? 1 : r.status)
} else {
  main(Number(process.argv[2]) || 3, process.argv[3]).then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
}
