'use strict'
// Where a small-message round trip spends its time: 32-byte echoes on one encrypted connection,
// echo server and client in separate processes, JS hyperdht vs ours. For N sequential round
// trips it counts, per process and thread, context switches (/proc/<pid>/task/*/status) and
// CPU time, and with --strace the syscalls of both processes (strace -f -c attached for the
// measured round trips only; strace slows everything, so its run is separate from the timed one).
// Usage: node bench/echo-wakeups.js [N] [--strace]   (re-runs itself in a loopback netns)
const { fork, spawn, spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')
const { once } = require('events')

const impls = { js: () => require('hyperdht'), rs: () => require('..') }

async function child (role, impl) {
  const DHT = impls[impl]()
  const [{ bootstrap, publicKey }] = await once(process, 'message')
  const node = new DHT({ bootstrap, host: '127.0.0.1' })
  if (role === 'server') {
    const server = node.createServer((c) => { c.on('data', (d) => c.write(d)); c.on('error', () => {}) })
    await server.listen()
    process.send({ publicKey: server.publicKey.toString('hex') })
    await once(process, 'message')
  } else {
    const c = node.connect(Buffer.from(publicKey, 'hex'))
    c.on('error', () => {})
    await once(c, 'open')
    const msg = Buffer.alloc(32, 1)
    const echo = async (n) => { for (let i = 0; i < n; i++) { c.write(msg); await once(c, 'data') } }
    await echo(2000) // warm-up (JIT, allocator, UDX MTU probing)
    process.send({ ready: true })
    const [{ n }] = await once(process, 'message')
    const t0 = process.hrtime.bigint()
    await echo(n)
    process.send({ us: Number(process.hrtime.bigint() - t0) / 1e3 / n })
    await once(process, 'message')
    c.destroy()
  }
  await node.destroy()
  process.disconnect()
}

/** Per thread name: voluntary + involuntary context switches and CPU time (schedstat, ns). */
function threads (pid) {
  const out = {}
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf-8')
      const ns = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf-8').split(' ')[0])
      const name = status.match(/^Name:\s*(.*)$/m)[1]
      const v = Number(status.match(/^voluntary_ctxt_switches:\s*(\d+)/m)[1])
      const nv = Number(status.match(/^nonvoluntary_ctxt_switches:\s*(\d+)/m)[1])
      const o = (out[name] = out[name] || { cs: 0, ncs: 0, ns: 0 })
      o.cs += v; o.ncs += nv; o.ns += ns
    } catch {} // a thread that ended in between
  }
  return out
}

function diff (a, b, n) {
  const rows = []
  for (const [name, x] of Object.entries(b)) {
    const y = a[name] || { cs: 0, ncs: 0, ns: 0 }
    const cs = (x.cs - y.cs) / n
    const ncs = (x.ncs - y.ncs) / n
    const cpuUs = (x.ns - y.ns) / 1e3 / n
    if (cs + ncs > 0.01 || cpuUs > 1) rows.push({ name, cs, ncs, cpuUs })
  }
  return rows
}

async function measure (impl, n, withStrace) {
  const testnet = await require(impl === 'js' ? 'hyperdht/testnet' : '../testnet.js')(4, { host: '127.0.0.1' })
  const server = fork(__filename, ['child', 'server', impl])
  const client = fork(__filename, ['child', 'client', impl])
  server.send({ bootstrap: testnet.bootstrap })
  const [{ publicKey }] = await once(server, 'message')
  client.send({ bootstrap: testnet.bootstrap, publicKey })
  await once(client, 'message')
  const tracers = []
  if (withStrace) {
    for (const [label, p] of [['client', client], ['server', server]]) {
      const out = `/tmp/echo-strace-${impl}-${label}.txt`
      const s = spawn('strace', ['-f', '-c', '-o', out, '-p', String(p.pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
      let seen = ''
      s.stderr.on('data', (d) => { seen += d })
      while (!/attached/.test(seen)) await once(s.stderr, 'data')
      tracers.push({ label, s, out })
    }
  }
  const before = [threads(client.pid), threads(server.pid)]
  client.send({ n })
  const [{ us }] = await once(client, 'message')
  const after = [threads(client.pid), threads(server.pid)]
  const syscalls = {}
  for (const t of tracers) {
    t.s.kill('SIGINT')
    await once(t.s, 'exit')
    const text = fs.readFileSync(t.out, 'utf-8')
    // rows: % time, seconds, usecs/call, calls, [errors], syscall; the last row is the total
    const rows = text.split('\n').filter((l) => /^\s*\d+\.\d+\s/.test(l)).map((l) => l.trim().split(/\s+/))
      .map((f) => ({ name: f[f.length - 1], calls: Number(f[3]) / n }))
    const total = rows.find((r) => r.name === 'total')
    const top = rows.filter((r) => r.name !== 'total' && r.calls >= 0.05).sort((a, b) => b.calls - a.calls)
      .map((r) => `${r.name} ${r.calls.toFixed(2)}`)
    syscalls[t.label] = { perMsg: total ? total.calls : NaN, top }
  }
  client.send({ end: true }); server.send({ end: true })
  await Promise.all([once(client, 'exit'), once(server, 'exit')])
  await testnet.destroy()
  return { us, client: diff(before[0], after[0], n), server: diff(before[1], after[1], n), syscalls }
}

async function main () {
  const n = Number(process.argv.find((a) => /^\d+$/.test(a))) || 10000
  const withStrace = process.argv.includes('--strace')
  for (const impl of ['js', 'rs']) {
    const r = await measure(impl, n, withStrace)
    console.log(`\n${impl === 'js' ? 'JS hyperdht' : 'ours'}: ${n} round trips, ${r.us.toFixed(1)} µs each${withStrace ? ' (under strace)' : ''}`)
    for (const side of ['client', 'server']) {
      for (const t of r[side]) {
        console.log(`  ${side.padEnd(6)} ${t.name.padEnd(16)} ctx switches/msg ${t.cs.toFixed(2)} voluntary + ${t.ncs.toFixed(2)} involuntary, CPU ${t.cpuUs.toFixed(1)} µs/msg`)
      }
      const s = r.syscalls[side]
      if (s) console.log(`  ${side.padEnd(6)} syscalls/msg ${s.perMsg.toFixed(2)}: ${s.top.join(', ')}`)
    }
  }
}

if (process.argv[2] === 'child') {
  child(process.argv[3], process.argv[4]).catch((err) => { console.error(err); process.exit(1) })
} else if (process.env.HYPERDHT_RS_NETNS !== '1') {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'netns.js'), process.execPath, __filename, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(r.status === null ? 1 : r.status)
} else {
  main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
}
