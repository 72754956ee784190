'use strict'
const b4a = require('b4a')
const { COMMANDS } = require('./constants')

// The outer request a plugin's onrequest(req, outerReq) gets (dht-rpc io.js Request):
// reply(value, {token, closerNodes}) and error(code, {token, closerNodes}) answer it once.
class PluginOuterRequest {
  constructor (dht, p) {
    this.tid = p.tid
    this.from = { id: p.fromId || null, host: p.fromHost, port: p.fromPort }
    this.to = { id: null, host: p.toHost, port: p.toPort }
    this.token = p.token || null
    this.internal = false
    this.command = COMMANDS.PLUGIN
    this.target = p.target || null
    this.value = p.outerValue || null
    this._dht = dht
    this._id = p.id
  }

  reply (value, opts = {}) {
    if (this._dht.destroyed) return
    const v = value ? b4a.toBuffer(value) : undefined
    this._dht._native.pluginReply(this._id, v, 0, opts.token !== false, opts.closerNodes !== false)
  }

  error (code, opts = {}) {
    if (this._dht.destroyed) return
    this._dht._native.pluginReply(this._id, undefined, code, opts.token === true, opts.closerNodes !== false)
  }
}

module.exports = PluginOuterRequest
