#!/usr/bin/env node
'use strict'
// Throughput across a rate-limited link, the closest this machine gets to two hosts on a real
// NIC: the NAT rig's two `open` peers (separate namespaces, veths through a bridge) with a token
// bucket on each peer's egress (`tc qdisc tbf rate R burst 64kbit latency L`; the kernels here
// have no netem, so no added delay or loss). A client echoes MiB through a server, both ends
// in separate processes; JS→JS, rs→rs, rs→js and js→rs back to back per try. Prints Mbit/s of
// application data each way (the echo runs both directions at once).
//   node bench/link.js [--tries 3] [--rates 100mbit,1gbit] [--latency 50ms] [--burst 64kbit]
//                      [--pairs js-js,rs-rs,rs-js,js-rs]
// A rate of `none` removes the token bucket (the veths alone: what the CPU allows).
// Re-executes itself inside `unshare -rn`.
const { reexecInOuter } = require('../scripts/nat-rig/outer')

reexecInOuter()

const { createRig } = require('../scripts/nat-rig')
const { runCell } = require('../scripts/nat-rig/cell')

const PAIRS = [['js', 'js'], ['rs', 'rs'], ['rs', 'js'], ['js', 'rs']]

function parseArgs (argv) {
  const o = { tries: 3, rates: ['100mbit', '1gbit'], latency: '50ms', burst: '64kbit', pairs: PAIRS }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--tries') o.tries = Number(argv[++i])
    else if (a === '--rates') o.rates = argv[++i].split(',')
    else if (a === '--latency') o.latency = argv[++i]
    else if (a === '--burst') o.burst = argv[++i]
    else if (a === '--pairs') o.pairs = argv[++i].split(',').map((p) => p.split('-'))
    else throw new Error('unknown option ' + a)
  }
  return o
}

/** MiB to echo at `rate`: about 1.5 s of transfer. */
function mibFor (rate) {
  if (rate === 'none') return 512
  const m = /^(\d+)(k|m|g)bit$/.exec(rate)
  if (!m) throw new Error('rate like 100mbit or 1gbit: ' + rate)
  const mbit = Number(m[1]) * { k: 0.001, m: 1, g: 1000 }[m[2]]
  return Math.max(1, Math.round(mbit / 8 * 1.5))
}

function shape (rig, rate, latency, burst) {
  for (const side of ['client', 'server']) {
    const ns = rig.slot(side, 'open').peer
    if (rate === 'none') {
      try { ns.run('tc', ['qdisc', 'del', 'dev', 'eth0', 'root']) } catch {} // none to delete
    } else ns.run('tc', ['qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', rate, 'burst', burst, 'latency', latency])
  }
}

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const rig = await createRig({ relay: false, slots: [['client', 'open'], ['server', 'open']] })
  const rows = []
  try {
    for (const rate of o.rates) {
      shape(rig, rate, o.latency, o.burst)
      const mib = mibFor(rate)
      const got = Object.fromEntries(o.pairs.map(([c, s]) => [`${c}→${s}`, []]))
      for (let t = 0; t < o.tries; t++) {
        for (const [c, s] of o.pairs) {
          const r = await runCell(rig, { clientImpl: c, serverImpl: s, clientKind: 'open', serverKind: 'open', bytes: mib * 1048576, timeoutMs: 120_000 })
          const mbps = r.echoOk ? mib * 8 * 1.048576 / (r.echoMs / 1000) : 0
          got[`${c}→${s}`].push(r.echoOk ? mbps.toFixed(0) : `✗ ${r.error}`)
          console.error(`${rate} ${c}→${s}: ${r.echoOk ? mbps.toFixed(1) + ' Mbit/s' : 'FAIL ' + r.error}`)
        }
      }
      rows.push(`| ${rate} (${mib} MiB each way) | ${Object.values(got).map((v) => v.join(', ')).join(' | ')} |`)
    }
  } finally {
    await rig.destroy()
  }
  console.log(`\nMbit/s of echoed data each way across a tbf-limited link (burst ${o.burst}, latency ${o.latency}), ${o.tries} tries`)
  console.log(`| link | ${o.pairs.map(([c, s]) => `${c}→${s}`).join(' | ')} |`)
  console.log(`|---|${o.pairs.map(() => '---').join('|')}|`)
  for (const r of rows) console.log(r)
}

main().catch((err) => {
  console.error(err.stack || String(err))
  process.exit(1)
})
