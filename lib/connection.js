'use strict'
// The JS face of an encrypted connection: a streamx Duplex with the lifecycle of
// @hyperswarm/secret-stream's NoiseSecretStream (index.js there), which is what hyperdht hands out:
// * `open` is emitted once, after the handshake (streamx `_open` waits for the native open), with
//   `connect` just before it; `publicKey`, `remotePublicKey`, `handshakeHash`, `rawStream` are set
//   by then. `write()`/`end()` before open are held by streamx and run after it.
// * `opened` resolves true on open, false when the stream is destroyed before it.
// * the stream closes when both sides ended (streamx auto-destroy after `end` + `finish`), or on
//   destroy/error; `close` waits for the native connection to be gone.
// * `keepAlive` is set from the constructor (hyperdht passes dht.connectionKeepAlive) and applied
//   to the native stream on open; `setKeepAlive`/`setTimeout` before open are remembered.
// Bytes move through the owning DHT's native object by connection id; writes are queued in Rust
// (bounded) and `conn-drain` releases a held write.
const { Duplex, Writable } = require('streamx')
const errors = require('./errors')
const { ReadFlow, READ_HWM } = require('./read-flow')

// secretstream's per-message overhead: NoiseSecretStream counts raw bytes as the encrypted message
// (rawBytesRead: plaintext + ABYTES) and the whole frame (rawBytesWritten: + 3-byte length)
const ABYTES = 17
const FRAME_HEADER = 3

class Connection extends Duplex {
  constructor (dht, isInitiator, { publicKey = null, remotePublicKey = null, keepAlive = 0, cid = 0 } = {}) {
    super({ highWaterMark: READ_HWM, mapWritable: toBuffer })
    this.dht = dht
    this.isInitiator = isInitiator
    this.noiseStream = this
    this.publicKey = publicKey
    this.remotePublicKey = remotePublicKey
    this.handshakeHash = null
    this.connected = false
    this.keepAlive = keepAlive || 0
    this.timeout = 0
    this.userData = null
    this.rawBytesRead = 0
    this.rawBytesWritten = 0
    this.rawStream = null
    // metadata hyperdht sets
    this.relay = null
    this.puncher = null

    this._cid = cid
    this._native = null // the open event's details, once the native connection exists
    this._openDone = null
    this._pendingWrite = null
    this._nativeClosed = false
    this._flow = new ReadFlow({
      ack: (bytes) => this.dht._native.connAck(this._cid, bytes),
      setPaused: (paused) => this.dht._native.connSetPaused(this._cid, paused),
      live: () => this._live()
    })
    this._destroyDone = null
    this._openedDone = null
    this.opened = new Promise((resolve) => { this._openedDone = resolve })

    // like NoiseSecretStream: wiggle the stream so streamx calls _open right away
    this.resume()
    this.pause()
  }

  // streamx: runs once, on the next tick; open completes when the native connection is open
  _open (cb) {
    if (this._native !== null) return this._completeOpen(cb)
    this._openDone = cb
  }

  /** The native connection is open (client: handshake done; server: accepted). */
  _onopen (ev) {
    if (this.destroying) {
      // destroyed while the handshake was still running: the native side goes too
      this.dht._native.connDestroy(ev.cid)
      return
    }
    this._cid = ev.cid
    this._native = ev
    this.remotePublicKey = ev.remotePublicKey
    this.publicKey = ev.publicKey
    this.handshakeHash = ev.handshakeHash
    this.rawStream = new RawStreamInfo(this, ev)
    if (this.keepAlive) this.dht._native.connSetKeepAlive(this._cid, this.keepAlive)
    if (this.timeout) this.dht._native.connSetTimeout(this._cid, this.timeout)
    if (this._openDone !== null) {
      const cb = this._openDone
      this._openDone = null
      this._completeOpen(cb)
    }
  }

  _completeOpen (cb) {
    this._resolveOpened(true)
    cb(null)
  }

  _resolveOpened (val) {
    if (this._openedDone === null) return
    const done = this._openedDone
    this._openedDone = null
    done(val)
    if (!val) return
    this.connected = true
    this.emit('connect')
  }

  /** The connect failed before the stream opened. */
  _onfail (err) {
    this.destroy(err)
  }

  _ondata (data) {
    this.rawBytesRead += data.byteLength + ABYTES
    this._flow.push(this, data)
  }

  _read (cb) {
    this._flow.read()
    cb(null)
  }

  _onend () {
    this.push(null)
  }

  _ondrain () {
    if (this._pendingWrite) this._flushPending()
  }

  /** The native connection is gone (error = why, null after a clean end of both sides). */
  _onclose (error) {
    this.dht._conns.delete(this._cid)
    this._nativeClosed = true
    if (error) this.destroy(errors.fromNative(error))
    else if (this._pendingWrite !== null) this.destroy(errors.DESTROYED())
    // a clean close: streamx auto-destroys once `end` and `finish` were both emitted
    const cb = this._destroyDone
    this._destroyDone = null
    if (cb) cb(null)
  }

  _flushPending () {
    const { data, cb } = this._pendingWrite
    if (this.dht._native.connWrite(this._cid, data)) {
      this._pendingWrite = null
      this.rawBytesWritten += data.byteLength + FRAME_HEADER + ABYTES
      cb(null)
    }
  }

  _write (data, cb) {
    if (!this._live()) return cb(errors.DESTROYED())
    this._pendingWrite = { data, cb }
    this._flushPending()
  }

  _final (cb) {
    // NoiseSecretStream clears its keep-alive when it ends
    this.keepAlive = 0
    if (this._live()) this.dht._native.connEnd(this._cid)
    cb(null)
  }

  _predestroy () {
    if (this._cid !== 0 && !this._nativeClosed) this.dht._native.connDestroy(this._cid)
    if (this._openDone !== null) {
      const cb = this._openDone
      this._openDone = null
      cb(new Error('Stream destroyed'))
    }
    if (this._pendingWrite !== null) {
      const { cb } = this._pendingWrite
      this._pendingWrite = null
      cb(new Error('Stream destroyed'))
    }
  }

  _destroy (cb) {
    this._resolveOpened(false)
    if (this._native !== null) {
      // NoiseSecretStream clears its running keep-alive and timeout timers (and their values)
      this.keepAlive = 0
      this.timeout = 0
      // like NoiseSecretStream, `close` waits for the underlying stream to close
      if (!this._nativeClosed) {
        this._destroyDone = cb
        return
      }
    }
    this.dht._conns.delete(this._cid)
    cb(null)
  }


  /** Resolves true once every byte written so far was handed on (NoiseSecretStream.flush). */
  async flush () {
    if ((await this.opened) === false) return false
    if ((await Writable.drained(this)) === false) return false
    if (this.destroying) return false
    return true
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
    return this._native !== null && !this._nativeClosed
  }

  toJSON () {
    return {
      isInitiator: this.isInitiator,
      publicKey: this.publicKey && this.publicKey.toString('hex'),
      remotePublicKey: this.remotePublicKey && this.remotePublicKey.toString('hex'),
      connected: this.connected,
      destroying: this.destroying,
      destroyed: this.destroyed,
      rawStream: this.rawStream && this.rawStream.toJSON()
    }
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

  // the UDP socket the stream runs on (one object per socket: the engine runs every stream on the
  // DHT's socket); null once closed, like udx-native
  get socket () {
    return this._conn._live() ? this._conn.dht._socket : null
  }

  get bytesRead () {
    return this._conn.rawBytesRead
  }

  get bytesWritten () {
    return this._conn.rawBytesWritten
  }

  toJSON () {
    return { remoteHost: this.remoteHost, remotePort: this.remotePort, connected: this.connected }
  }
}

function toBuffer (data) {
  return typeof data === 'string' ? Buffer.from(data) : data
}

module.exports = Connection
