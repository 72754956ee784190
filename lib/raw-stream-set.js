'use strict'
// hyperdht lib/raw-stream-set.js: `dht.rawStreams`, the node's UDX streams. Upstream keeps every
// stream `createRawStream()` made, encrypted connections' included, until it closes; here the
// engine owns the streams, so this is a view over what the node tracks: each connection's
// `rawStream` while the connection lives, and every `createRawStream()` stream not yet closed.
class RawStreamSet {
  constructor (dht) {
    this._dht = dht
  }

  get size () {
    let n = this._dht._rawStreams.size
    for (const c of this._dht._conns) if (c.rawStream !== null) n++
    return n
  }

  * [Symbol.iterator] () {
    for (const c of [...this._dht._conns]) if (c.rawStream !== null) yield c.rawStream
    yield * [...this._dht._rawStreams]
  }

  /** Upstream `add(opts)`: a new raw stream (`dht.createRawStream(opts)`). */
  add (opts) {
    return this._dht.createRawStream(opts)
  }

  /** Upstream `clear()`: destroys every stream and resolves once they closed. */
  clear () {
    return RawStreamSet.destroyAll(this)
  }

  /** Destroys each of `streams` and resolves once they all closed (one closed already counts). */
  static async destroyAll (streams) {
    const closing = []
    for (const s of streams) {
      closing.push(new Promise((resolve) => {
        if (s.destroyed) return resolve()
        s.once('close', resolve)
        s.destroy()
      }))
    }
    await Promise.allSettled(closing)
  }
}

module.exports = RawStreamSet
