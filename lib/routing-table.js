'use strict'
// Read-only views of the engine's routing table shaped like dht-rpc's: `dht.nodes` (a
// time-ordered-set: latest/oldest/length, prev = older, next = newer) and `dht.table` (a
// kademlia-routing-table: id, k, size, get/has/closest/random/toArray). Each read is a snapshot:
// node objects are fresh copies (upstream hands out its live entries), so mutating them changes
// nothing in the engine.
const K = 20

// dht-rpc's node entry: {id, port, host, to, sampled, added, pinged, seen, downHints, prev, next}
// (tick fields count dht-rpc's 5 s ticks; `to` is how the node saw us when last sampled)
function toNode (n) {
  return {
    id: n.id,
    port: n.port,
    host: n.host,
    to: n.to ? { id: null, host: n.to.host, port: n.to.port } : null,
    sampled: n.sampled,
    added: n.added,
    pinged: n.pinged,
    seen: n.seen,
    downHints: n.downHints,
    prev: null,
    next: null
  }
}

// a table read takes the add-node / remove-node changes its snapshot includes: the node reports
// them before the read returns (index.js _reportNodeChanges)
function read (dht, value) {
  dht._reportNodeChanges(0)
  return value
}

class Nodes {
  constructor (dht) {
    this._dht = dht
    this._list = null
  }

  // most recently heard first, linked like time-ordered-set
  _all () {
    if (this._list !== null) return this._list
    const list = this._dht.destroyed ? [] : read(this._dht, this._dht._native.tableNodes(0)).map(toNode)
    for (let i = 0; i < list.length; i++) {
      list[i].prev = list[i + 1] || null
      list[i].next = list[i - 1] || null
    }
    return (this._list = list)
  }

  get length () {
    return this._all().length
  }

  get latest () {
    return this._all()[0] || null
  }

  get oldest () {
    const list = this._all()
    return list[list.length - 1] || null
  }

  has (node) {
    return !!node && this._all().some((n) => n.id.equals(node.id))
  }

  toArray ({ limit = Infinity, reverse = false } = {}) {
    const list = reverse ? this._all().slice() : this._all().slice().reverse()
    return list.slice(0, Math.max(0, limit))
  }
}

class Table {
  constructor (dht) {
    this._dht = dht
    this.k = K
  }

  get id () {
    return this._dht._native.tableId()
  }

  get size () {
    return this._dht.destroyed ? 0 : read(this._dht, this._dht._native.tableNodes(0)).length
  }

  get (id) {
    if (this._dht.destroyed) return null
    const n = read(this._dht, this._dht._native.tableGet(id))
    return n ? toNode(n) : null
  }

  has (id) {
    return this.get(id) !== null
  }

  random () {
    if (this._dht.destroyed) return null
    const n = read(this._dht, this._dht._native.tableRandom())
    return n ? toNode(n) : null
  }

  closest (id, k = this.k) {
    if (this._dht.destroyed) return []
    return read(this._dht, this._dht._native.tableClosest(id, Math.min(k, 0xffffffff))).map(toNode)
  }

  toArray () {
    return this.closest(this.id, Infinity)
  }
}

// dht-rpc lib/health.js NetworkHealth, read from the engine's window
class NetworkHealth {
  constructor (dht) {
    this._dht = dht
  }

  get stats () {
    if (this._dht.destroyed) {
      return { online: true, degraded: false, cold: true, idle: true, responses: 0, timeouts: 0, timeoutsRate: 0 }
    }
    const h = this._dht._native.health()
    return { online: h.online, degraded: h.degraded, cold: h.cold, idle: h.idle, responses: h.responses, timeouts: h.timeouts, timeoutsRate: h.timeoutsRate }
  }

  get online () { return this.stats.online }
  get degraded () { return this.stats.degraded }
  get cold () { return this.stats.cold }
  get idle () { return this.stats.idle }
  get responses () { return this.stats.responses }
  get timeouts () { return this.stats.timeouts }
  get timeoutsRate () { return this.stats.timeoutsRate }
}

module.exports = { Nodes, Table, NetworkHealth, toNode, K }
