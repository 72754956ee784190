'use strict'
// bench/bulk.js with the two ends in separate processes, as on two machines: a receiver process
// (one DHT node and a server) and a sender process (one DHT node, one connection writing `MiB`
// in 64 KiB writes); the 4-node testnet of the same implementation runs in this process. JS
// hyperdht vs ours, alternating, fresh processes each run. Reports MB/s (sender's view: first
// write to the receiver's last byte), CPU-seconds per GB and the peak RSS of each end.
// Usage: node bench/bulk-split.js [runs=3] [MiB=256]   (re-runs itself in a loopback netns)
const { fork } = require('child_process')
const { once } = require('events')
const { load, entry } = require('./common')

/** One end in its own process: `recv` listens and counts, `send` connects and writes. */
async function end (role, impl, port, mib, key) {
  const { DHT } = load(impl)
  const node = new DHT({ bootstrap: [{ host: '127.0.0.1', port }], host: '127.0.0.1' })
  await node.fullyBootstrapped()
  const total = mib * 1024 * 1024
  const cpu0 = process.cpuUsage()
  if (role === 'recv') {
    let got = 0
    const server = node.createServer((conn) => {
      conn.on('error', () => {})
      conn.on('data', (d) => {
        got += d.length
        if (got >= total) process.send({ done: true, ...usage(cpu0, total) })
      })
    })
    await server.listen(DHT.keyPair())
    process.send({ key: server.publicKey.toString('hex') })
    await once(process, 'message') // told to stop
  } else {
    const c = node.connect(Buffer.from(key, 'hex'))
    c.on('error', () => {})
    await once(c, 'open')
    const chunk = Buffer.alloc(64 * 1024, 0xab)
    process.send({ open: true })
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (!c.write(chunk)) await once(c, 'drain')
    }
    process.send({ written: true, ...usage(cpu0, total) })
    await once(process, 'message')
    c.destroy()
  }
  await node.destroy()
  process.exit(0)
}

function usage (cpu0, total) {
  const cpu = process.cpuUsage(cpu0)
  return { cpuPerGB: ((cpu.user + cpu.system) / 1e6) / (total / 1e9), peakMiB: process.resourceUsage().maxRSS / 1024 }
}

function next (child, pred) {
  return new Promise((resolve, reject) => {
    child.on('message', function onmessage (m) {
      if (!pred(m)) return
      child.off('message', onmessage)
      resolve(m)
    })
    child.once('exit', (code) => reject(new Error('child exited ' + code)))
  })
}

async function runOnce (impl, mib) {
  const { createTestnet } = load(impl)
  const testnet = await createTestnet(4, { host: '127.0.0.1' })
  const port = testnet.bootstrap[0].port
  // BULK_SPLIT_HEAPTRACK=recv|send runs that end under heaptrack (its profile lands in the cwd)
  const traced = (role) => process.env.BULK_SPLIT_HEAPTRACK === role ? { execPath: 'heaptrack', execArgv: [process.execPath] } : {}
  const recv = fork(__filename, ['end', 'recv', impl, port, mib], traced('recv'))
  try {
    const { key } = await next(recv, (m) => m.key)
    const send = fork(__filename, ['end', 'send', impl, port, mib, key], traced('send'))
    await next(send, (m) => m.open)
    const t0 = process.hrtime.bigint()
    const [r, s] = await Promise.all([next(recv, (m) => m.done), next(send, (m) => m.written)])
    const secs = Number(process.hrtime.bigint() - t0) / 1e9
    send.send('stop')
    recv.send('stop')
    await Promise.all([once(send, 'exit'), once(recv, 'exit')])
    return { mbps: (mib * 1048576) / 1e6 / secs, sendCpu: s.cpuPerGB, recvCpu: r.cpuPerGB, sendPeak: s.peakMiB, recvPeak: r.peakMiB }
  } finally {
    recv.kill()
    await testnet.destroy()
  }
}

async function main () {
  const runs = Number(process.argv[2]) || 3
  const mib = Number(process.argv[3]) || 256
  const res = { js: [], rs: [] }
  for (let i = 0; i < runs; i++) {
    for (const impl of ['js', 'rs']) res[impl].push(await runOnce(impl, mib))
  }
  const col = (impl, k, d) => res[impl].map((x) => x[k].toFixed(d)).join(', ')
  console.log(`\none connection, ${mib} MiB in 64 KiB writes, sender and receiver in separate processes (${runs} runs each, alternating)`)
  console.log('| metric | JS | ours |\n|---|---|---|')
  console.log(`| MB/s | ${col('js', 'mbps', 0)} | ${col('rs', 'mbps', 0)} |`)
  console.log(`| sender CPU-s per GB | ${col('js', 'sendCpu', 2)} | ${col('rs', 'sendCpu', 2)} |`)
  console.log(`| receiver CPU-s per GB | ${col('js', 'recvCpu', 2)} | ${col('rs', 'recvCpu', 2)} |`)
  console.log(`| sender peak RSS MiB | ${col('js', 'sendPeak', 0)} | ${col('rs', 'sendPeak', 0)} |`)
  console.log(`| receiver peak RSS MiB | ${col('js', 'recvPeak', 0)} | ${col('rs', 'recvPeak', 0)} |`)
  process.exit(0)
}

if (process.argv[2] === 'end') {
  const [role, impl, port, mib, key] = process.argv.slice(3)
  end(role, impl, Number(port), Number(mib), key).catch((err) => { console.error(err); process.exit(1) })
} else {
  entry(__filename, null, main)
}
