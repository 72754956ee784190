'use strict'
// The NAT rig: createRig() builds the topology (topology.js), starts the public DHT (dht-nodes.js)
// and optionally the blind relay (relay-node.js), and gives every requested (side, kind) a slot.
// Call from inside an outer `unshare -rn` (outer.js); destroy() in a finally.
const { Topology, preflight } = require('./topology')
const { KINDS } = require('./nat-rules')
const NodeChild = require('./child')
const A = require('./addresses')

const START_TIMEOUT = 30_000

class Rig {
  constructor (topo) {
    this.topo = topo
    this.bootstrap = []
    this.dhtNodes = []
    this.relay = null // { publicKey, host, port }
    this.slots = new Map() // `${side}:${kind}` -> slot
    this.delay = null
    this._dht = null
    this._relay = null
  }

  slot (side, kind) {
    const s = this.slots.get(`${side}:${kind}`)
    if (!s) throw new Error(`no ${kind} slot on side ${side}`)
    return s
  }

  /** Forget every NAT mapping and firewall pinhole (conntrack -F in each router). */
  resetNat () {
    for (const s of this.slots.values()) {
      if (s.router) s.router.run('conntrack', ['-F'])
    }
  }

  /**
   * Every router's UDP conntrack timeouts in seconds (Linux: 30 unreplied, 120 once both ways
   * carried traffic): a NAT mapping or pinhole without traffic for that long is gone.
   */
  setUdpTimeouts (unreplied, stream) {
    for (const s of this.slots.values()) {
      if (!s.router) continue
      s.router.sysctl('net.netfilter.nf_conntrack_udp_timeout', unreplied)
      s.router.sysctl('net.netfilter.nf_conntrack_udp_timeout_stream', stream)
    }
  }

  /** Starts `script` (a file of this directory) in the namespace of `ns`. */
  start (ns, script, args, name) {
    return new NodeChild(ns, script, args, name)
  }

  async destroy () {
    const stops = []
    if (this._relay) stops.push(this._relay.stop(2000))
    if (this._dht) stops.push(this._dht.stop(2000))
    await Promise.all(stops)
    this.topo.destroy()
  }
}

/**
 * opts: sides (e.g. ['client', 'server']) × kinds (subset of KINDS), or slots ([[side, kind]]),
 * sharedLans ([kind]: a client and a server slot `lan-<kind>` on one LAN behind one NAT router),
 * dhtNodes (5),
 * bootstrapDelayMs (2) and dhtDelayMs (20): send delays of the bootstrap node and the others,
 * relay (false).
 */
async function createRig (opts = {}) {
  const problems = preflight()
  if (problems.length) {
    const err = new Error('NAT rig unavailable: ' + problems.join('; '))
    err.code = 'RIG_UNAVAILABLE'
    throw err
  }
  const sides = opts.sides || ['client', 'server']
  const kinds = opts.kinds || KINDS
  const dhtNodes = opts.dhtNodes || 5
  const bootMs = opts.bootstrapDelayMs === undefined ? 2 : opts.bootstrapDelayMs
  const delayMs = opts.dhtDelayMs === undefined ? 20 : opts.dhtDelayMs
  const topo = new Topology()
  const rig = new Rig(topo)
  try {
    await topo.buildPublic()
    const dht = await topo.buildDht(dhtNodes)
    rig.delay = { bootstrapMs: bootMs, dhtMs: delayMs }
    rig._dht = rig.start(dht.ns, 'dht-nodes.js', [dhtNodes, A.DHT_PORT, bootMs, delayMs].map(String), 'dht-nodes')
    rig.dhtNodes = (await rig._dht.waitFor('ready', START_TIMEOUT)).nodes
    // peers bootstrap off node 0 alone and find the rest through it
    rig.bootstrap = rig.dhtNodes.slice(0, 1)
    if (opts.relay) {
      const ns = await topo.buildRelay()
      rig._relay = rig.start(ns, 'relay-node.js', [rig.bootstrap.join(','), A.RELAY_HOST], 'relay')
      const r = await rig._relay.waitFor('ready', START_TIMEOUT)
      rig.relay = { publicKey: r.publicKey, host: A.RELAY_HOST, port: r.port }
    }
    const wanted = opts.slots || sides.flatMap((side) => kinds.map((kind) => [side, kind]))
    let s = 0
    for (const [side, kind] of wanted) rig.slots.set(`${side}:${kind}`, { side, ...(await topo.buildSlot(s++, kind)) })
    for (const kind of opts.sharedLans || []) {
      const [c, sv] = await topo.buildSharedLan(s++, kind, 2)
      rig.slots.set(`client:lan-${kind}`, { side: 'client', ...c })
      rig.slots.set(`server:lan-${kind}`, { side: 'server', ...sv })
    }
    return rig
  } catch (err) {
    await rig.destroy().catch(() => {})
    throw err
  }
}

module.exports = { createRig, preflight, KINDS, addresses: A }
