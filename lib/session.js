'use strict'
// dht-rpc lib/session.js: requests made through a session can be destroyed together. Here each
// in-flight entry stands for one engine request tagged with the session's id; destroy() fails
// them in the engine (their congestion slots free up) and rejects their promises right away
// with `err` (default REQUEST_DESTROYED), like upstream's `req.destroy(err)`.
const errors = require('./errors')

class SessionRequest {
  constructor (session) {
    this.session = session
    this.index = -1
    this.destroyed = false
    this._reject = null
  }

  destroy (err) {
    if (this.destroyed) return
    this.destroyed = true
    this.session._detach(this)
    this._reject(err || errors.fromNative('REQUEST_DESTROYED: Request destroyed'))
  }
}

class Session {
  constructor (dht) {
    this.dht = dht
    this.inflight = []
    this._id = dht.destroyed ? 0 : dht._native.session()
  }

  _attach (req) {
    req.index = this.inflight.push(req) - 1
  }

  _detach (req) {
    const i = req.index
    if (i === -1) return
    req.index = -1
    if (i === this.inflight.length - 1) this.inflight.pop()
    else {
      const last = (this.inflight[i] = this.inflight.pop())
      last.index = i
    }
  }

  // Runs `start(sessionId)` (a promise of the engine's answer) as one of this session's requests.
  _track (start) {
    const req = new SessionRequest(this)
    return new Promise((resolve, reject) => {
      req._reject = reject
      this._attach(req)
      start(this._id).then((value) => {
        if (req.destroyed) return
        this._detach(req)
        req.destroyed = true
        resolve(value)
      }, (err) => {
        if (req.destroyed) return
        this._detach(req)
        req.destroyed = true
        reject(err)
      })
    })
  }

  query ({ target, command, value }, opts = {}) {
    return this.dht.query({ target, command, value }, { ...opts, session: this })
  }

  request ({ token, command, target, value }, { host, port }, opts = {}) {
    return this.dht.request({ token, command, target, value }, { host, port }, { ...opts, session: this })
  }

  ping ({ host, port }, opts = {}) {
    return this.dht.ping({ host, port }, { ...opts, session: this })
  }

  destroy (err) {
    if (this.inflight.length === 0) return
    if (!this.dht.destroyed) this.dht._native.sessionDestroy(this._id)
    while (this.inflight.length) this.inflight[0].destroy(err)
  }
}

module.exports = Session
