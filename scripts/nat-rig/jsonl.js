'use strict'
// Line-delimited JSON between the rig and the processes it runs in namespaces: the child prints
// one JSON object per line on stdout; `waitFor` resolves with the first one a predicate accepts.

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

class Lines {
  constructor (child, name) {
    this.name = name
    this.items = []
    this.stderr = ''
    this.exited = false
    this._waiters = []
    let buf = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, i).trim()
        buf = buf.slice(i + 1)
        if (!line) continue
        let obj
        try { obj = JSON.parse(line) } catch { obj = { event: 'stdout', line } }
        this.items.push(obj)
        this._check()
      }
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (d) => { if (this.stderr.length < 20000) this.stderr += d })
    child.on('exit', (code, signal) => {
      this.exited = true
      this.exitCode = code
      this.exitSignal = signal
      this._check()
    })
  }

  _check () {
    for (const w of [...this._waiters]) {
      const hit = this.items.find(w.pred)
      if (hit || this.exited) {
        this._waiters.splice(this._waiters.indexOf(w), 1)
        clearTimeout(w.timer)
        if (hit) w.resolve(hit)
        else w.reject(new Error(`${this.name} exited (${this.exitCode ?? this.exitSignal}) before ${w.what}: ${this.stderr.trim().slice(-2000)}`))
      }
    }
  }

  /** The first line `pred` accepts, or a rejection after `ms` / when the process exits. */
  waitFor (pred, ms, what = 'the expected line') {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject, what, timer: null }
      w.timer = setTimeout(() => {
        this._waiters.splice(this._waiters.indexOf(w), 1)
        reject(new Error(`${this.name}: no ${what} within ${ms} ms; stderr: ${this.stderr.trim().slice(-2000)}`))
      }, ms)
      this._waiters.push(w)
      this._check()
    })
  }
}

module.exports = { emit, Lines }
