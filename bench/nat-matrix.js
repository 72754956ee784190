#!/usr/bin/env node
'use strict'
// Connect matrix on the real-kernel NAT rig (scripts/nat-rig): client NAT × server NAT (open,
// firewalled, consistent, random) for JS→JS (the reference), rs→rs, rs→JS server and JS→rs server,
// plus random→random with relayThrough a blind relay, and client and server on one LAN behind one
// consistent or random NAT (`lan-consistent→lan-consistent`: no hairpinning). Each try is a fresh pair of processes after a
// conntrack flush; it records connected, error code, path, time to open and a 1 MiB byte-exact
// echo. Prints a markdown table and writes every record as JSON.
//   node bench/nat-matrix.js [--tries 1] [--timeout 30] [--kinds open,firewalled,consistent,random]
//        [--pairings js-js,rs-rs,rs-js,js-rs] [--no-relay] [--bytes 1048576] [--out file.json]
// Re-executes itself inside `unshare -rn`; use `nice -n 19` on shared machines.
const fs = require('fs')
const os = require('os')
const path = require('path')
const { reexecInOuter } = require('../scripts/nat-rig/outer')

reexecInOuter()

const { createRig, KINDS } = require('../scripts/nat-rig')
const { runCell } = require('../scripts/nat-rig/cell')
const report = require('../scripts/nat-rig/report')

function parseArgs (argv) {
  const o = { tries: 1, timeout: 30, kinds: KINDS, pairings: ['js-js', 'rs-rs', 'rs-js', 'js-rs'], relay: true, bytes: 1024 * 1024, out: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => argv[++i]
    if (a === '--tries') o.tries = Number(next())
    else if (a === '--timeout') o.timeout = Number(next())
    else if (a === '--kinds') o.kinds = next().split(',')
    else if (a === '--pairings') o.pairings = next().split(',')
    else if (a === '--no-relay') o.relay = false
    else if (a === '--bytes') o.bytes = Number(next())
    else if (a === '--out') o.out = next()
    else throw new Error('unknown option ' + a)
  }
  for (const k of o.kinds) if (!KINDS.includes(k)) throw new Error('unknown kind ' + k)
  return o
}

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const pairs = o.pairings.map((p) => p.split('-'))
  const cells = []
  for (const ck of o.kinds) for (const sk of o.kinds) cells.push({ clientKind: ck, serverKind: sk, relayThrough: false })
  const relay = o.relay && o.kinds.includes('random')
  if (relay) cells.push({ clientKind: 'random', serverKind: 'random', relayThrough: true })
  const sharedLans = o.kinds.filter((k) => k === 'consistent' || k === 'random')
  for (const k of sharedLans) cells.push({ clientKind: `lan-${k}`, serverKind: `lan-${k}`, relayThrough: false })

  const t0 = Date.now()
  const rig = await createRig({ kinds: o.kinds, relay, sharedLans })
  const records = []
  const stop = () => { rig.destroy().finally(() => process.exit(130)) }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    console.error(`rig up in ${Date.now() - t0} ms: DHT ${rig.dhtNodes.join(' ')} (delays ${JSON.stringify(rig.delay)})${rig.relay ? ', relay ' + rig.relay.host : ''}`)
    const total = o.tries * cells.length * pairs.length
    for (let t = 0; t < o.tries; t++) {
      for (const cell of cells) {
        // all pairings of a cell back to back, so the reference runs under the same conditions
        for (const [c, s] of pairs) {
          const r = await runCell(rig, { ...cell, clientImpl: c, serverImpl: s, timeoutMs: o.timeout * 1000, bytes: o.bytes })
          r.try = t
          records.push(r)
          const what = r.connected ? `${r.path} ${r.openMs} ms echo ${r.echoOk ? 'ok' : 'BAD'}` : `FAIL ${r.error}`
          console.error(`[${records.length}/${total}] ${c}→${s} ${report.cellKey(r)}: ${what}`)
        }
      }
    }
  } finally {
    await rig.destroy()
  }
  const names = pairs.map(([c, s]) => `${c}→${s}`)
  const md = report.markdown(records, names)
  const regress = report.regressions(records, 'js→js', names)
  console.log(md)
  console.log('')
  if (regress.length === 0) console.log('Every cell JS→JS connects in, the other pairings connect in too.')
  for (const r of regress) console.log(`JS→JS connects but ${r.pairing} never does: ${r.cell} (${r.errors})`)
  const out = o.out || path.join(os.tmpdir(), `nat-matrix-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), options: o, delay: rig.delay, records, markdown: md }, null, 2) + '\n')
  console.log(`\nrecords: ${out} (${records.length} runs in ${Math.round((Date.now() - t0) / 1000)} s)`)
}

main().catch((err) => {
  console.error(err.stack || String(err))
  process.exit(1)
})
