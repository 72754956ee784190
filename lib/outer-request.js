'use strict'
const b4a = require('b4a')
const Request = require('./request')
const { COMMANDS } = require('./constants')

// The outer request a plugin's onrequest(req, outerReq) gets (dht-rpc io.js Request): an
// application request of command PLUGIN whose value is the whole plugin message; reply(value,
// {token, closerNodes}) and error(code, {token, closerNodes}) answer it once, through the
// engine's plugin table rather than its application requests.
class PluginOuterRequest extends Request {
  constructor (dht, p) {
    super(dht, { ...p, command: COMMANDS.PLUGIN, value: p.outerValue })
  }

  relay () {
    throw new TypeError('a plugin request cannot be relayed')
  }

  _send (error, value, token, closerNodes) {
    if (this._dht.destroyed) return
    this._dht._native.pluginReply(this._id, value ? b4a.toBuffer(value) : undefined, error, !!token, !!closerNodes)
  }
}

module.exports = PluginOuterRequest
