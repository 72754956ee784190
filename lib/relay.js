'use strict'
// hyperdht's blind-relay pairing (lib/connect.js `relayConnection`, lib/server.js
// `_relayConnection`, lib/relay-connection.js) for the engine's relay requests. The engine decides
// when a stream pairs through a relay and connects it once paired (src/relay.rs); this side opens
// the connection to the relay node, speaks the npm `blind-relay` protocol over it, and answers
// with where the relay's stream for us is (the relay connection's remote, and the stream id the
// relay paired us with). A relay connection ends when the engine says so (`relay-close`: an
// upgrade to a direct path was confirmed, or the pairing was dropped) or with the object it
// serves.
const { toKey } = require('./keys')

// blind-relay is loaded on the first pairing: it pulls in sodium-native (~9 MiB of RSS in a
// process that never relays, e.g. a bootstrap node)
let blindRelay = null

class RelayPairings {
  /**
   * @param dht the HyperDHT the relay connections are made with
   * @param keepAlive `relayKeepAlive` (ms)
   * @param reply `(id, host, port, remoteId) => bool`: the native `relayReply`
   */
  constructor (dht, keepAlive, reply) {
    this.dht = dht
    this.keepAlive = keepAlive
    this._reply = reply
    this._pairings = new Map()
    // the blind-relay error of the last pairing that failed: a connect that ends with
    // RELAY_ABORTED fails with it instead, like hyperdht's `onabort(err)`
    this.failure = null
  }

  /** A `relay` event: `{id, isInitiator, publicKey, token, streamId}`. */
  pair (request) {
    const { id } = request
    if (this.dht.destroyed) {
      this._reply(id, null, 0, 0)
      return
    }
    const socket = this.dht.connect(request.publicKey)
    socket.setKeepAlive(this.keepAlive)
    socket.on('error', noop)
    const entry = { socket, paired: false, settled: false }
    this._pairings.set(id, entry)

    const settle = (host, port, remoteId) => {
      if (entry.settled) return
      entry.settled = true
      const wanted = this._reply(id, host, port, remoteId)
      if (host === null || !wanted) this.close(id, false)
    }
    const onabort = () => settle(null, 0, 0)

    let client
    try {
      if (blindRelay === null) blindRelay = require('blind-relay')
      client = blindRelay.Client.from(socket, { id: socket.publicKey })
      client
        .pair(request.isInitiator, request.token, { id: request.streamId })
        .on('error', (err) => {
          this.failure = err
          onabort()
        })
        .on('data', (remoteId) => {
          const raw = socket.rawStream
          if (!raw || !raw.remoteHost) return onabort()
          entry.paired = true
          settle(raw.remoteHost, raw.remotePort, remoteId)
        })
    } catch {
      onabort()
    }
  }

  /** Ends relay connection `id`: gracefully once an upgrade made it useless, else destroyed. */
  close (id, graceful) {
    const entry = this._pairings.get(id)
    if (!entry) return
    this._pairings.delete(id)
    if (graceful) entry.socket.end()
    else entry.socket.destroy()
  }

  /** The object these relays served is gone. */
  closeAll () {
    for (const id of [...this._pairings.keys()]) this.close(id, false)
  }
}

/** upstream `selectRelay`: a key, a function returning one (or null), or an array to pick from. */
function selectRelay (relayThrough) {
  if (typeof relayThrough === 'function') relayThrough = relayThrough()
  if (relayThrough === null || relayThrough === undefined) return null
  if (Array.isArray(relayThrough)) return relayThrough[Math.floor(Math.random() * relayThrough.length)] || null
  return relayThrough
}

/** The relay key `relayThrough` selects now, as a Buffer; null for none (or an unusable key). */
function relayKey (relayThrough) {
  try {
    const key = selectRelay(relayThrough || null)
    return key === null ? null : toKey(key, 'relayThrough')
  } catch {
    return null
  }
}

function noop () {}

module.exports = { RelayPairings, selectRelay, relayKey }
