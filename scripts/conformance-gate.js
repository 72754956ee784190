'use strict'
// CI gate for drop-in fidelity: runs the upstream hyperdht + hyperswarm suites
// (../shared/conformance, when it exists) against this package and fails if fewer tests pass
// than the floor in .ci/conformance-floor, so later work cannot lose ground silently.
// The runner's own output goes to a log file; this prints the failing tests and one verdict line.
const { spawnSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const root = path.join(__dirname, '..')
const runner = path.join(root, '..', 'shared', 'conformance', 'run.sh')
if (!fs.existsSync(runner)) {
  console.log('conformance gate: ../shared/conformance not present, not run')
  process.exit(0)
}
const floor = Number(fs.readFileSync(path.join(root, '.ci', 'conformance-floor'), 'utf8').trim())
const out = path.join(root, '.conformance-results')
const log = path.join(out, 'gate.log')
fs.mkdirSync(out, { recursive: true })
const before = new Set(fs.readdirSync(out))
const fd = fs.openSync(log, 'w')
const r = spawnSync('bash', [runner, '.', '--suite', 'all'], {
  cwd: root,
  stdio: ['ignore', fd, fd],
  env: { ...process.env, CONFORMANCE_OUT: out }
})
fs.closeSync(fd)
const run = fs.readdirSync(out).find((d) => !before.has(d) && fs.existsSync(path.join(out, d, 'summary.json')))
if (!run) {
  console.log(`conformance gate: the runner produced no summary (exit ${r.status}); see ${log}`)
  process.exit(1)
}
const summary = JSON.parse(fs.readFileSync(path.join(out, run, 'summary.json'), 'utf8'))
for (const f of summary.files) {
  for (const t of f.tests || []) {
    if (t.status !== 'pass' && t.status !== 'skip') console.log(`  not passing: [${f.suite}] ${f.file} :: ${t.name} (${t.status})`)
  }
}
const passed = summary.totals.passed
const verdict = passed >= floor ? 'ok' : 'BELOW FLOOR'
console.log(`conformance gate ${verdict}: ${passed} upstream tests pass (floor ${floor}); details in ${path.join(out, run)}`)
process.exit(passed >= floor ? 0 : 1)
