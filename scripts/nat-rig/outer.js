'use strict'
// The rig builds its namespaces as children of the current user namespace, which needs root
// there. A plain user command re-executes itself inside `unshare -rn` (a new user + network
// namespace, as scripts/netns.js does for the test suite); nothing is changed in the caller's
// own network namespace either way.
const { spawnSync } = require('child_process')

const MARK = 'HYPERDHT_RS_NAT_RIG'

function inOuter () {
  return process.env[MARK] === '1' || process.env.HYPERDHT_RS_NETNS === '1'
}

/** Re-runs this process (same script and arguments) under `unshare -rn` unless already there. */
function reexecInOuter () {
  if (inOuter()) return
  const script = 'ip link set lo up && exec "$@"'
  const args = [...process.execArgv, process.argv[1], ...process.argv.slice(2)]
  const r = spawnSync('unshare', ['-rn', 'sh', '-c', script, 'sh', process.execPath, ...args], {
    stdio: 'inherit',
    env: { ...process.env, [MARK]: '1' }
  })
  if (r.error) {
    console.error('nat-rig: cannot run unshare -rn: ' + r.error.message)
    process.exit(1)
  }
  process.exit(r.status === null ? 1 : r.status)
}

module.exports = { reexecInOuter, inOuter }
