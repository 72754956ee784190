'use strict'
// Base class for `dht.register(name, plugin)` plugins, as hyperdht 6.34's lib/plugin.js.
// A plugin speaks through the DHT's PLUGIN command: its own commands travel inside a
// `pluginRequest` value ({ plugin: name, version, command, value }) that the receiving node routes
// to the plugin registered under that name (calling its onrequest(req, outerReq)).
// Subclasses implement onrequest, onpersistent and destroy.

const c = require('compact-encoding')
const { pluginRequest } = require('./messages')
const { COMMANDS } = require('./constants')

class Plugin {
  constructor (name, version) {
    this.name = name
    this.version = version
    this.dht = null
  }

  onregister (dht) {
    this.dht = dht
  }

  onrequest (req, outerReq) {
    throw new Error('onrequest() must be implemented')
  }

  onpersistent () {
    throw new Error('onpersistent() must be implemented')
  }

  destroy () {
    throw new Error('destroy() must be implemented')
  }

  /** One plugin command to one node: dht.request({ command: PLUGIN, ... }, to, opts). */
  request ({ token = null, command, target = null, value = null }, to, opts) {
    const req = { token, target, command: COMMANDS.PLUGIN, value: wrap(this, command, value) }
    return this.dht.request(req, to, opts)
  }

  /** A plugin command sent along a DHT query towards `target`: dht.query({ command: PLUGIN, ... }, opts). */
  query ({ command, target = null, value = null }, opts) {
    const q = { target, command: COMMANDS.PLUGIN, value: wrap(this, command, value) }
    return this.dht.query(q, opts)
  }
}

// (a module function rather than a method, so subclasses cannot clash with it)
function wrap (plugin, command, value) {
  return c.encode(pluginRequest, { plugin: plugin.name, version: plugin.version, command, value })
}

module.exports = Plugin
