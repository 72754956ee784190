'use strict'
// An application request as dht-rpc's lib/io.js `Request` hands it to `dht.onrequest(req)`:
// tid, from, to, token, internal, command, target, value; reply(value, {token, closerNodes, to})
// and error(code, {token, closerNodes, to}) answer it (once here; later answers are ignored),
// relay(value, to) forwards it with the same tid so `to` answers the requester directly.
const b4a = require('b4a')

class Request {
  constructor (dht, r) {
    this.tid = r.tid
    this.from = { id: r.fromId || null, host: r.fromHost, port: r.fromPort }
    this.to = { id: null, host: r.toHost, port: r.toPort }
    this.token = r.token || null
    this.internal = false
    this.command = r.command
    this.target = r.target || null
    this.value = r.value || null
    this._dht = dht
    this._id = r.id
  }

  reply (value, opts = {}) {
    this._send(0, value || null, opts.token !== false, opts.closerNodes !== false, opts.to)
  }

  error (code, opts = {}) {
    this._send(code, null, opts.token === true, opts.closerNodes !== false, opts.to)
  }

  // dht-rpc: sendReply(error, value, token, hasCloserNodes)
  sendReply (error, value, token, hasCloserNodes) {
    this._send(error, value, token, hasCloserNodes, null)
  }

  relay (value, to) {
    if (this._dht.destroyed) return
    this._dht._native.requestRelay(this._id, value ? b4a.toBuffer(value) : undefined, `${to.host}:${to.port}`)
  }

  _send (error, value, token, closerNodes, to) {
    if (this._dht.destroyed) return
    const v = value ? b4a.toBuffer(value) : undefined
    this._dht._native.requestReply(this._id, v, error, !!token, !!closerNodes, to ? `${to.host}:${to.port}` : undefined)
  }
}

module.exports = Request
