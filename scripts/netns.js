#!/usr/bin/env node
'use strict'
// Runs a command inside a loopback-only network namespace (unshare -rn + `ip link set lo up`).
// hyperdht treats this machine's 192.0.2.x NIC address as public, which breaks its LAN path,
// so every networked test and benchmark runs where only 127.0.0.1 exists.
// If we are already in such a namespace, the command runs directly.
const os = require('os')
const { spawnSync } = require('child_process')

const args = process.argv.slice(2)
if (args.length === 0) {
  console.error('usage: netns.js <command> [args...]')
  process.exit(2)
}

function loopbackOnly () {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list) if (!a.internal) return false
  }
  return true
}

let r
if (loopbackOnly() && process.env.HYPERDHT_RS_NETNS === '1') {
  r = spawnSync(args[0], args.slice(1), { stdio: 'inherit' })
} else {
  const script = 'ip link set lo up && exec "$@"'
  r = spawnSync('unshare', ['-rn', 'sh', '-c', script, 'sh', ...args], {
    stdio: 'inherit',
    env: { ...process.env, HYPERDHT_RS_NETNS: '1' }
  })
}
if (r.error) {
  console.error('netns.js: ' + r.error.message)
  process.exit(1)
}
process.exit(r.status === null ? 1 : r.status)
