'use strict'
// The JS face of an encrypted connection: a streamx Duplex shaped like @hyperswarm/secret-stream's
// NoiseSecretStream (events open/connect/data/drain/end/finish/close/error, remotePublicKey,
// publicKey, handshakeHash, isInitiator, opened, userData, rawStream info). Bytes move through
// the owning DHT's native object; writes are queued in Rust (bounded) and `drain` releases us.
const { Duplex } = require('streamx')
const errors = require('./errors')

const READ_HWM = 1024 * 1024

class Connection extends Duplex {
  constructor (dht, isInitiator, { publicKey = null, remotePublicKey = null } = {}) {
    // a 1 MiB readable buffer: the native side pauses reading (and UDX's window slows the peer)
    // only when JS falls that far behind
    super({ highWaterMark: READ_HWM, mapWritable: (b) => (typeof b === 'string' ? Buffer.from(b) : b) })
    this.dht = dht
    this.isInitiator = isInitiator
    this.noiseStream = this
    this.publicKey = publicKey
    this.remotePublicKey = remotePublicKey
    this.handshakeHash = null
    this.connected = false
    this.userData = null
    this.rawBytesRead = 0
    this.rawBytesWritten = 0
    this.keepAlive = 0
    this.timeout = 0
    this.rawStream = null
    this.relay = null
    this.puncher = null
    this._cid = 0
    this._pendingWrite = null
    this._nativeClosed = false
    this._paused = false
    this._destroyCallback = null
    this._openedResolve = null
    this.opened = new Promise((resolve) => { this._openedResolve = resolve })
    this.on('error', noop)
  }

  _onopen (ev) {
    if (this.destroying) {
      // destroyed while the handshake was still running: the native side must go too, and a
      // closed stream does not open
      this.dht._native.connDestroy(ev.cid)
      return
    }
    this._cid = ev.cid
    this.remotePublicKey = ev.remotePublicKey
    this.publicKey = ev.publicKey
    this.handshakeHash = ev.handshakeHash
    this.connected = true
    this.rawStream = new RawStreamInfo(this, ev)
    this.dht._conns.set(ev.cid, this)
    this._openedResolve(true)
    this.emit('connect')
    this.emit('open')
    // hyperdht opens every NoiseSecretStream with keepAlive = dht.connectionKeepAlive
    const keepAlive = this.keepAlive || this.dht.connectionKeepAlive
    if (keepAlive) this.setKeepAlive(keepAlive)
    if (this.timeout) this.setTimeout(this.timeout)
    if (this._pendingWrite) this._flushPending()
  }

  _ondata (data) {
    this.rawBytesRead += data.byteLength
    if (!this.push(data) && !this._paused && this._live()) {
      this._paused = true
      this.dht._native.connSetPaused(this._cid, true)
    }
  }

  _read (cb) {
    if (this._paused) {
      this._paused = false
      if (this._live()) this.dht._native.connSetPaused(this._cid, false)
    }
    cb(null)
  }

  _onend () {
    this.push(null)
  }

  _ondrain () {
    if (this._pendingWrite) this._flushPending()
  }

  _onclose (error) {
    this.dht._conns.delete(this._cid)
    this._nativeClosed = true
    if (error) this.destroy(errors.fromNative(error))
    else if (!this.destroying) this.destroy()
    // like NoiseSecretStream, `close` waits for the underlying stream to close
    const cb = this._destroyCallback
    this._destroyCallback = null
    if (cb) cb(null)
  }

  _onfail (err) {
    this._openedResolve(false)
    this.destroy(err)
  }

  _flushPending () {
    const { data, cb } = this._pendingWrite
    if (this.dht._native.connWrite(this._cid, data)) {
      this._pendingWrite = null
      this.rawBytesWritten += data.byteLength
      cb(null)
    }
  }

  _write (data, cb) {
    this._pendingWrite = { data, cb }
    if (this.connected) this._flushPending()
  }

  _final (cb) {
    if (this.connected) this.dht._native.connEnd(this._cid)
    cb(null)
  }

  _destroy (cb) {
    if (this.connected && !this._nativeClosed) this._destroyCallback = cb
    else cb(null)
  }

  _predestroy () {
    if (this.connected) this.dht._native.connDestroy(this._cid)
    this._openedResolve(false)
  }

  setKeepAlive (ms) {
    this.keepAlive = ms || 0
    if (this._live()) this.dht._native.connSetKeepAlive(this._cid, this.keepAlive)
  }

  sendKeepAlive () {
    if (this._live()) this.dht._native.connSendKeepAlive(this._cid)
  }

  setTimeout (ms) {
    this.timeout = ms || 0
    if (this._live()) this.dht._native.connSetTimeout(this._cid, this.timeout)
  }

  _live () {
    return this.connected && !this._nativeClosed
  }
}

/** What NoiseSecretStream users read from `rawStream` (a UDX stream in hyperdht). */
class RawStreamInfo {
  constructor (conn, ev) {
    this._conn = conn
    this.remoteHost = ev.remoteHost || null
    this.remotePort = ev.remotePort || 0
    this.remoteFamily = 4
  }

  get rtt () {
    return this._conn._live() ? this._conn.dht._native.connRtt(this._conn._cid) : 0
  }

  get mtu () {
    return this._conn._live() ? this._conn.dht._native.connMtu(this._conn._cid) : 0
  }

  get connected () {
    return this._conn._live()
  }

  get bytesRead () {
    return this._conn.rawBytesRead
  }

  get bytesWritten () {
    return this._conn.rawBytesWritten
  }
}

function noop () {}

module.exports = Connection
