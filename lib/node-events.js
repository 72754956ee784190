'use strict'
// The node's own engine events as JS sees them (each server, connection, query and raw stream
// gets its own): the dispatch behind `dht._onevent`, the `add-node` / `remove-node` reports and
// plugin requests. index.js keeps the methods and calls these with the node.
const PluginOuterRequest = require('./outer-request')
const { toNode } = require('./routing-table')

function onevent (dht, ev) {
  switch (ev.type) {
    case 'plugin-request':
      dht._onpluginrequest(ev.plugin)
      return
    case 'node-changes':
      dht._reportNodeChanges(ev.upto)
      return
    case 'app-request':
      dht._onapprequest(ev.request)
      return
    case 'nat-update':
      dht._state = null
      // dht-rpc: (null, 0) while the NAT samples disagree
      dht.emit('nat-update', ev.host || null, ev.port)
      return
    case 'ready':
      dht._state = null
      dht._onready()
      return
    case 'ephemeral':
    case 'wakeup':
      dht._state = null
      if (dht._resumeEvents[ev.type] > 0) dht._resumeEvents[ev.type]--
      else dht.emit(ev.type)
      return
    default:
      dht._state = null
      dht.emit(ev.type)
  }
}

// `add-node` / `remove-node`, in the order the table changed. Changes wait in the engine until
// taken: here on their event (up to the change it names), or right after a table read with
// `upto` 0 (only those the read took with its snapshot), so what was reported always matches
// what the app reads, as in dht-rpc. A listener that reads the table queues what it took
// behind the changes being reported.
function reportNodeChanges (dht, upto) {
  const taken = dht._native.takeNodeChanges(upto)
  if (taken.length === 0) return
  for (const c of taken) dht._nodeChanges.push(c)
  if (dht._reportingNodes) return
  dht._reportingNodes = true
  try {
    while (dht._nodeChanges.length > 0) {
      const c = dht._nodeChanges.shift()
      dht.emit(c.added ? 'add-node' : 'remove-node', toNode(c.node))
    }
  } finally {
    dht._reportingNodes = false
  }
}

// hyperdht persistent.js onplugin: the engine already dropped requests without a value, that
// do not decode or are for a plugin not registered at that version
function onpluginrequest (dht, p) {
  const plugin = dht.plugins.get(p.plugin)
  if (!plugin || plugin.version !== p.version) return
  const req = { plugin: p.plugin, version: p.version, command: p.command, value: p.value || null }
  try {
    plugin.onrequest(req, new PluginOuterRequest(dht, p))
  } catch (err) {
    // upstream throws out of the socket's message handler; here the request stays unanswered
    queueMicrotask(() => { throw err })
  }
}

module.exports = { onevent, reportNodeChanges, onpluginrequest }
