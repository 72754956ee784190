'use strict'
// One network namespace of the rig = one holder process started with `unshare -n`. The holder is
// `sh -c 'read _'`: it lives until its stdin pipe closes, so the namespace also goes away when the
// controlling process dies without cleaning up. Processes placed in it (nsenter -t PID -n) are
// tracked and killed by PID before the holder on destroy().
const fs = require('fs')
const { spawn } = require('child_process')
const { inNs, ipBatch, nsArgs, ENV } = require('./exec')

const READY_TIMEOUT = 5000

class Netns {
  constructor (name) {
    this.name = name
    this.pid = 0
    this.children = new Set()
    this._holder = null
  }

  static async create (name) {
    const ns = new Netns(name)
    await ns._start()
    return ns
  }

  async _start () {
    const self = fs.readlinkSync('/proc/self/ns/net')
    const holder = spawn('unshare', ['-n', 'sh', '-c', 'read _ || true'], { stdio: ['pipe', 'ignore', 'pipe'], env: ENV })
    this._holder = holder
    let stderr = ''
    holder.stderr.on('data', (d) => { stderr += d })
    holder.on('error', () => {})
    this.pid = holder.pid
    // unshare execs the shell in place (no fork), so the PID is the namespace's; wait until its
    // network namespace differs from ours, i.e. unshare(2) has run
    const deadline = Date.now() + READY_TIMEOUT
    while (true) {
      let link = null
      try { link = fs.readlinkSync(`/proc/${this.pid}/ns/net`) } catch {}
      if (link && link !== self) break
      if (holder.exitCode !== null || Date.now() > deadline) {
        this.destroy()
        throw new Error(`netns ${this.name}: unshare -n did not start: ${stderr.trim() || 'timeout'}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    this.ip(['link set lo up'])
  }

  /** Runs a command in this namespace (bounded). */
  run (cmd, args, opts) {
    return inNs(this.pid, cmd, args, opts)
  }

  /** `ip -batch` in this namespace. */
  ip (lines, opts) {
    return ipBatch(this.pid, lines, opts)
  }

  sysctl (key, value) {
    this.run('sysctl', ['-q', '-w', `${key}=${value}`])
  }

  /** Spawns a long-running process in this namespace; it is killed on destroy(). */
  spawn (cmd, args, opts = {}) {
    const child = spawn('nsenter', nsArgs(this.pid, cmd, args), { stdio: ['pipe', 'pipe', 'pipe'], env: ENV, ...opts })
    this.children.add(child)
    child.on('exit', () => this.children.delete(child))
    child.on('error', () => this.children.delete(child))
    return child
  }

  destroy () {
    for (const child of this.children) kill(child)
    this.children.clear()
    if (this._holder) {
      kill(this._holder)
      this._holder = null
    }
  }
}

function kill (child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  try { child.stdin.destroy() } catch {}
  try { process.kill(child.pid, 'SIGKILL') } catch {}
}

module.exports = Netns
