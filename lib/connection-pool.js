'use strict'
// hyperdht's ConnectionPool (lib/connection-pool.js): at most one live connection per remote
// public key, shared by `connect(key, {pool})` and servers created with `{pool}`. When two peers
// dial each other at the same moment, both apply the same rule to the pair of connections and
// keep the same one; the other is destroyed with DUPLICATE_CONNECTION.
const { EventEmitter } = require('events')
const b4a = require('b4a')
const errors = require('./errors')

class ConnectionPool extends EventEmitter {
  constructor (dht) {
    super()
    this._dht = dht
    this._servers = new Map() // hex server key -> Server
    this._connecting = new Map() // hex remote key -> ConnectionRef, not open yet
    this._connections = new Map() // hex remote key -> ConnectionRef, open
  }

  get connecting () {
    return this._connecting.size
  }

  get connections () {
    return this._connections.values()
  }

  has (publicKey) {
    const key = hex(publicKey)
    return this._connections.has(key) || this._connecting.has(key)
  }

  get (publicKey) {
    const key = hex(publicKey)
    const ref = this._connections.get(key) || this._connecting.get(key)
    return ref ? ref._stream : null
  }

  _attachServer (server) {
    const key = hex(server.publicKey)
    this._servers.set(key, server)
    server.on('close', () => {
      if (this._servers.get(key) === server) this._servers.delete(key)
    })
    server.on('connection', (socket) => this._attachStream(socket, true))
  }

  // Registers `stream` (opened: an accepted connection; else one still dialing). Returns its
  // ConnectionRef, or nothing when a connection to the same key already existed.
  _attachStream (stream, opened) {
    const existing = this.get(stream.remotePublicKey)
    if (existing) {
      this._duplicate(existing, stream, opened)
      return
    }
    const key = hex(stream.remotePublicKey)
    const ref = new ConnectionRef(this, stream)
    if (opened) {
      this._opened(key, ref)
      return ref
    }
    // like hyperdht, a pooled dial's errors before it opens are the pool's business
    let isOpen = false
    this._connecting.set(key, ref)
    stream.on('error', noop)
    stream.on('open', () => {
      isOpen = true
      if (this._connecting.get(key) === ref) this._connecting.delete(key)
      stream.off('error', noop)
      this._opened(key, ref)
    })
    stream.on('close', () => {
      if (!isOpen && this._connecting.get(key) === ref) this._connecting.delete(key)
    })
    return ref
  }

  _opened (key, ref) {
    this._connections.set(key, ref)
    ref._stream.on('close', () => {
      if (this._connections.get(key) === ref) this._connections.delete(key)
    })
    this.emit('connection', ref._stream, ref)
  }

  // Two connections to one peer. Same direction: the newer wins. Crossed dials: the side whose
  // own key sorts higher keeps the new one, so both ends keep the same connection.
  _duplicate (existing, stream, opened) {
    const keepNew = stream.isInitiator === existing.isInitiator ||
      b4a.compare(stream.publicKey, stream.remotePublicKey) > 0
    if (!keepNew) {
      stream.on('error', noop)
      stream.destroy(errors.DUPLICATE_CONNECTION())
      return
    }
    let newClosed = false
    const onNewClose = () => { newClosed = true }
    stream.on('error', noop)
    stream.on('close', onNewClose)
    existing.on('error', noop)
    existing.on('close', () => {
      if (newClosed) return
      stream.off('error', noop)
      stream.off('close', onNewClose)
      this._attachStream(stream, opened)
    })
    existing.destroy(errors.DUPLICATE_CONNECTION())
  }
}

/** A handle on a pooled connection (hyperdht's ConnectionRef). */
class ConnectionRef {
  constructor (pool, stream) {
    this._pool = pool
    this._stream = stream
    this._refs = 0
  }

  active () {
    this._refs++
  }

  inactive () {
    this._refs--
  }

  release () {
    this._stream.destroy()
  }
}

function hex (key) {
  return b4a.toString(key, 'hex')
}

function noop () {}

module.exports = ConnectionPool
