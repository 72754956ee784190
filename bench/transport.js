'use strict'
// One encrypted stream (secret-stream over UDX), 256 MiB: JS↔JS (udx-native + @hyperswarm/secret-stream,
// both ends in one process), Rust↔Rust and Rust→JS (cargo example), same run. MB/s and CPU-seconds per GB.
// Usage: npm run bench   or: node bench/transport.js [MiB]
const { spawnSync } = require('child_process')
const path = require('path')

const mib = Number(process.argv[2]) || 256

if (process.argv[2] === 'js-child') {
  jsPair(Number(process.argv[3])).then((r) => console.log(JSON.stringify(r)))
} else {
  main()
}

function main () {
  const rows = []
  const js = spawnSync(process.execPath, [__filename, 'js-child', String(mib)], { encoding: 'utf-8', timeout: 600000 })
  if (js.status === 0) rows.push(JSON.parse(js.stdout.trim().split('\n').pop()))
  else console.error('js pair failed', js.stderr)
  const root = path.join(__dirname, '..')
  const build = spawnSync('cargo', ['build', '--release', '-q', '-p', 'hyperdht-secret-stream', '--example', 'transport_bench'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) {
    console.error('cargo build failed')
  } else {
    for (const mode of ['rr', 'rj']) {
      const r = spawnSync(path.join(root, 'target', 'release', 'examples', 'transport_bench'), [mode, String(mib)], { encoding: 'utf-8', timeout: 600000 })
      if (r.status === 0) rows.push(JSON.parse(r.stdout.trim().split('\n').pop()))
      else console.error(mode, 'failed', r.stderr)
    }
  }
  console.log(`\nencrypted stream throughput, ${mib} MiB, loopback`)
  console.log('pair        MB/s      CPU s/GB')
  const names = { js: 'JS<->JS', rr: 'Rust<->Rust', rj: 'Rust->JS' }
  for (const r of rows) console.log(`${names[r.mode].padEnd(10)} ${r.mbps.toFixed(0).padStart(6)}    ${r.cpuPerGB.toFixed(2).padStart(8)}`)
  const j = rows.find((r) => r.mode === 'js')
  const rr = rows.find((r) => r.mode === 'rr')
  if (j && rr) console.log(`Rust<->Rust vs JS<->JS: throughput ${(rr.mbps / j.mbps).toFixed(2)}x, CPU/GB ${(rr.cpuPerGB / j.cpuPerGB).toFixed(2)}x`)
}

async function jsPair (mib) {
  const UDX = require('udx-native')
  const NoiseSecretStream = require('@hyperswarm/secret-stream')
  const u = new UDX()
  const a = u.createSocket()
  const b = u.createSocket()
  a.bind(0, '127.0.0.1')
  b.bind(0, '127.0.0.1')
  const ra = u.createStream(1)
  const rb = u.createStream(2)
  ra.connect(a, 2, b.address().port, '127.0.0.1')
  rb.connect(b, 1, a.address().port, '127.0.0.1')
  const kpA = NoiseSecretStream.keyPair()
  const kpB = NoiseSecretStream.keyPair()
  const sa = new NoiseSecretStream(true, ra, { keyPair: kpA })
  const sb = new NoiseSecretStream(false, rb, { keyPair: kpB })
  await Promise.all([sa.opened, sb.opened])
  const bytes = mib * 1024 * 1024
  const chunk = Buffer.alloc(65536, 0x5a)
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  let got = 0
  const done = new Promise((resolve) => {
    sb.on('data', (d) => { got += d.length })
    sb.on('end', resolve)
  })
  let sent = 0
  await new Promise((resolve) => {
    const write = () => {
      while (sent < bytes) {
        sent += chunk.length
        if (!sa.write(chunk)) return sa.once('drain', write)
      }
      sa.end()
      resolve()
    }
    write()
  })
  await done
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const cpu = process.cpuUsage(cpu0)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  sb.end()
  sa.destroy()
  sb.destroy()
  await a.close().catch(() => {})
  await b.close().catch(() => {})
  if (got !== bytes) throw new Error('short transfer')
  return { mode: 'js', bytes, seconds: secs, mbps: bytes / 1e6 / secs, cpuSeconds, cpuPerGB: cpuSeconds / (bytes / 1e9) }
}
