'use strict'
// Issue 5 drop-in smoke: an unmodified hyperswarm, with hyperdht aliased to this package via
// `file:` + `overrides` (scratch project made by scripts/hyperswarm-smoke-setup.js, run by
// `pretest`), joins a topic on a local testnet, connects, exchanges data and leaves cleanly.
const test = require('node:test')
const assert = require('node:assert')
const path = require('path')
const fs = require('fs')
const { spawn } = require('child_process')

const dir = path.join(__dirname, '..', 'target', 'hyperswarm-smoke')

test('hyperswarm runs unchanged on hyperdht-rs', { timeout: 60000 }, async () => {
  assert.ok(fs.existsSync(path.join(dir, 'node_modules', 'hyperswarm')), 'run `npm run pretest` (scripts/hyperswarm-smoke-setup.js) first')
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'hyperswarm-smoke.js')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { out += d })
  const code = await new Promise((resolve) => child.on('exit', resolve))
  assert.strictEqual(code, 0, out)
  assert.match(out, /hyperswarm smoke ok/)
})
