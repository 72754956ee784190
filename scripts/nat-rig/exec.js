'use strict'
// Bounded command execution for the NAT rig: every call has a timeout and fails loudly with the
// command line and its stderr. `inNs(pid, ...)` runs the command in the network namespace held by
// process `pid` (nsenter -t PID -n), which is how the rig addresses namespaces: `ip netns add`
// needs mount rights these machines do not grant, so each namespace is just a holder process.
const { execFileSync } = require('child_process')

const DEFAULT_TIMEOUT = 10_000

// ip, nft, conntrack live in /usr/sbin, which a normal user's PATH may lack
const PATH = [...new Set([...(process.env.PATH || '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin'])].join(':')
const ENV = { ...process.env, PATH }

function run (cmd, args, { timeout = DEFAULT_TIMEOUT, input } = {}) {
  try {
    return execFileSync(cmd, args, { timeout, input, env: ENV, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
  } catch (err) {
    const stderr = err.stderr ? String(err.stderr).trim() : ''
    const why = err.code === 'ETIMEDOUT' ? `timed out after ${timeout} ms` : stderr || err.message
    const e = new Error(`${cmd} ${args.join(' ')}: ${why}`)
    e.stderr = stderr
    throw e
  }
}

function nsArgs (pid, cmd, args) {
  return ['-t', String(pid), '-n', cmd, ...args]
}

function inNs (pid, cmd, args, opts) {
  return run('nsenter', nsArgs(pid, cmd, args), opts)
}

/** Runs `ip` with one command per line through `ip -batch -` (one process for many changes). */
function ipBatch (pid, lines, opts) {
  if (lines.length === 0) return ''
  const input = lines.join('\n') + '\n'
  return pid ? inNs(pid, 'ip', ['-batch', '-'], { ...opts, input }) : run('ip', ['-batch', '-'], { ...opts, input })
}

module.exports = { run, inNs, nsArgs, ipBatch, DEFAULT_TIMEOUT, ENV }
