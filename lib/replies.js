'use strict'
// Engine replies (src/events.rs JsReply: flat, closer nodes packed) shaped as JS hyperdht hands
// them out: dht-rpc replies (lib/io.js), ping replies, and hyperdht's per-query maps
// (mapLookup / mapFindPeer / mapImmutable / mapMutable in lib/messages.js' users).

// dht-rpc ping/delayedPing reply
function pingReply (r) {
  return {
    tid: r.tid || 0,
    rtt: r.rtt || 0,
    from: fromOf(r),
    to: r.toHost ? { id: null, host: r.toHost, port: r.toPort } : null,
    token: r.token || null,
    closerNodes: r.closerNodes ? decodeNodes(r.closerNodes) : null,
    error: r.error || 0,
    value: r.value || null
  }
}

function fromOf (r) {
  return { id: r.fromId || null, host: r.fromHost, port: r.fromPort }
}

/** Shapes a reply of a query of `kind` (null when that kind drops it); other kinds are raw dht-rpc replies. */
function mapReply (kind, r) {
  if (!r) return null
  const from = fromOf(r)
  const to = r.toHost ? { id: null, host: r.toHost, port: r.toPort } : null
  const token = r.token || null
  switch (kind) {
    case 'lookup':
    case 'announce':
    case 'lookupAndUnannounce':
      if (!r.peers) return null
      return { token, from, to, peers: r.peers.map(mapPeer), bump: r.bump || 0 }
    case 'findPeer':
      return r.peer ? { token, from, to, peer: mapPeer(r.peer) } : null
    case 'immutableGet':
    case 'immutablePut':
      return r.value ? { token, from, to, value: r.value } : null
    case 'mutableGet':
    case 'mutablePut':
      return r.signature ? { token, from, to, seq: r.seq, value: r.value, signature: r.signature } : null
    default:
      return new RawReply(r, from, to, token)
  }
}

/** A query's closest replies: raw dht-rpc replies, whatever the query kind. */
function mapClosest (list) {
  return (list || []).map((r) => mapReply('query', r))
}

function decodeNodes (packed) {
  const nodes = []
  for (let i = 0; i + 6 <= packed.byteLength; i += 6) {
    nodes.push({ host: `${packed[i]}.${packed[i + 1]}.${packed[i + 2]}.${packed[i + 3]}`, port: packed[i + 4] | (packed[i + 5] << 8) })
  }
  return nodes
}

// A dht-rpc reply; closerNodes arrive packed (6 bytes per node) and are decoded on first read,
// since most callers never look at them.
class RawReply {
  constructor (r, from, to, token) {
    this.tid = r.tid || 0
    this.rtt = r.rtt || 0
    this.from = from
    this.to = to
    this.token = token
    this._closerNodes = r.closerNodes || null
    this.error = r.error || 0
    this.value = r.value || null
  }

  get closerNodes () {
    const packed = this._closerNodes
    if (packed === null || Array.isArray(packed)) return packed || []
    return (this._closerNodes = decodeNodes(packed))
  }

  set closerNodes (v) {
    this._closerNodes = v
  }
}

function mapPeer (p) {
  return { publicKey: p.publicKey, relayAddresses: p.relayAddresses || [] }
}

module.exports = { pingReply, mapReply, mapClosest }
