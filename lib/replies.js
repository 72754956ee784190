'use strict'
// Engine replies (src/events.rs JsReply: flat, closer nodes packed) shaped as JS hyperdht hands
// them out: dht-rpc replies (lib/io.js), ping replies, and hyperdht's per-query maps
// (mapLookup / mapFindPeer / mapImmutable / mapMutable in lib/messages.js' users).
const binding = require('../binding.js')

// dht-rpc ping/delayedPing reply: a reply as lib/io.js decodes it (closer nodes without ids)
function pingReply (r) {
  return requestReply(r)
}

// dht-rpc request() reply: lib/io.js decodes closer nodes as {id: null, host, port} (lib/peer.js
// ipv4.decode); only a query fills their ids in
function requestReply (r) {
  return new RawReply(r, fromOf(r), toOf(r), r.token || null, false)
}

function fromOf (r) {
  return { id: r.fromId || null, host: r.fromHost, port: r.fromPort }
}

function toOf (r) {
  return r.toHost ? { id: null, host: r.toHost, port: r.toPort } : null
}

/** Shapes a reply of a query of `kind` (null when that kind drops it); other kinds are raw dht-rpc replies. */
function mapReply (kind, r) {
  if (!r) return null
  const from = fromOf(r)
  const to = toOf(r)
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
      return new RawReply(r, from, to, token, true)
  }
}

// dht-rpc lib/io.js: a reply carries closer nodes only when it has some (flag 4), else
// `closerNodes` is null. In a query (lib/query.js _onvisit) each gets its id, peer.id(host, port):
// blake2b-256 of the 6-byte ipv4 address + uint16le port, which is the packed form here.
function decodeNodes (packed, ids) {
  const n = Math.floor(packed.byteLength / 6)
  if (n === 0) return null
  const nodes = new Array(n)
  for (let i = 0, j = 0; j < n; i += 6, j++) {
    nodes[j] = {
      id: ids ? binding.hash(packed.subarray(i, i + 6)) : null,
      host: `${packed[i]}.${packed[i + 1]}.${packed[i + 2]}.${packed[i + 3]}`,
      port: packed[i + 4] | (packed[i + 5] << 8)
    }
  }
  return nodes
}

// `closerNodes`: an own enumerable property (spread, JSON and Object.keys see it, as in JS), an
// accessor decoding the packed nodes (and hashing their ids) on first read, since most callers
// never look at them
let CLOSER_NODES = null

// A dht-rpc reply (lib/io.js: tid, rtt, from, to, token, closerNodes, error, value).
class RawReply {
  #closer // packed nodes until first read, then the decoded list (or what was assigned)
  #packed
  #ids

  constructor (r, from, to, token, ids) {
    this.tid = r.tid || 0
    this.rtt = r.rtt || 0
    this.from = from
    this.to = to
    this.token = token
    this.#closer = r.closerNodes || null
    this.#packed = this.#closer !== null
    this.#ids = ids
    Object.defineProperty(this, 'closerNodes', CLOSER_NODES)
    this.error = r.error || 0
    this.value = r.value || null
  }

  static {
    CLOSER_NODES = {
      enumerable: true,
      configurable: true,
      get () {
        if (this.#packed) {
          this.#packed = false
          this.#closer = decodeNodes(this.#closer, this.#ids)
        }
        return this.#closer
      },
      set (v) {
        this.#packed = false
        this.#closer = v
      }
    }
  }
}

function mapPeer (p) {
  return { publicKey: p.publicKey, relayAddresses: p.relayAddresses || [] }
}

module.exports = { pingReply, requestReply, mapReply }
