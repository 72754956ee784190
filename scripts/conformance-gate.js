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
/** Runs the upstream suites (all, or one file) and returns the new run's summary, or null. */
function runSuites (args) {
  const before = new Set(fs.readdirSync(out))
  const fd = fs.openSync(log, 'a')
  const r = spawnSync('bash', [runner, '.', ...args], {
    cwd: root,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, CONFORMANCE_OUT: out }
  })
  fs.closeSync(fd)
  const run = fs.readdirSync(out).find((d) => !before.has(d) && fs.existsSync(path.join(out, d, 'summary.json')))
  if (!run) {
    console.log(`conformance gate: the runner produced no summary (exit ${r.status}); see ${log}`)
    return null
  }
  return { dir: path.join(out, run), summary: JSON.parse(fs.readFileSync(path.join(out, run, 'summary.json'), 'utf8')) }
}

const failing = (summary) => summary.files.flatMap((f) =>
  (f.tests || []).filter((t) => t.status !== 'pass' && t.status !== 'skip').map((t) => ({ f, t })))

fs.writeFileSync(log, '')
const first = runSuites(['--suite', 'all'])
if (!first) process.exit(1)
let passed = first.summary.totals.passed
// Below the floor: each file with a failing test runs once more on its own, and a test that
// passes there counts (a timing flake on a loaded 2-core machine is not lost ground; a test that
// fails twice is). The retries are listed, so a flaky test stays visible.
if (passed < floor) {
  const files = [...new Map(failing(first.summary).map(({ f }) => [f.suite + ' ' + f.file, f])).values()]
  for (const f of files) {
    const again = runSuites(['--suite', f.suite, '--file', path.basename(f.file, '.js')])
    if (!again) continue
    const nowPassing = new Set(again.summary.files.flatMap((g) => (g.tests || []).filter((t) => t.status === 'pass').map((t) => t.name)))
    for (const t of f.tests || []) {
      if (t.status !== 'pass' && t.status !== 'skip' && nowPassing.has(t.name)) {
        t.status = 'pass'
        passed++
        console.log(`  passed on retry: [${f.suite}] ${f.file} :: ${t.name}`)
      }
    }
  }
}
for (const { f, t } of failing(first.summary)) console.log(`  not passing: [${f.suite}] ${f.file} :: ${t.name} (${t.status})`)
const verdict = passed >= floor ? 'ok' : 'BELOW FLOOR'
console.log(`conformance gate ${verdict}: ${passed} upstream tests pass (floor ${floor}); details in ${first.dir}`)
process.exit(passed >= floor ? 0 : 1)
