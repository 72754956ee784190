'use strict'
// A node process the rig runs inside one of its namespaces, with its JSON lines and a bounded stop.
const path = require('path')
const { Lines } = require('./jsonl')

class NodeChild {
  constructor (ns, script, args, name) {
    this.name = name
    this.proc = ns.spawn(process.execPath, [path.join(__dirname, script), ...args])
    this.lines = new Lines(this.proc, name)
  }

  waitFor (event, ms) {
    return this.lines.waitFor((l) => l.event === event || l.event === 'error', ms, `"${event}" line`)
      .then((l) => {
        if (l.event === 'error' && event !== 'error') throw new Error(`${this.name}: ${l.error}`)
        return l
      })
  }

  /** Lines seen so far with this event. */
  all (event) {
    return this.lines.items.filter((l) => l.event === event)
  }

  send (obj) {
    if (!this.proc.stdin.destroyed) this.proc.stdin.write(JSON.stringify(obj) + '\n')
  }

  /** Closes stdin (the child cleans up and exits); SIGKILL if it is still there after `ms`. */
  stop (ms = 3000) {
    const p = this.proc
    if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        try { process.kill(p.pid, 'SIGKILL') } catch {}
      }, ms)
      p.once('exit', () => { clearTimeout(timer); resolve() })
      try { p.stdin.end() } catch {}
    })
  }
}

module.exports = NodeChild
