'use strict'
// `dht.createRawStream(opts)`: a plaintext UDX stream on the DHT's socket, shaped like udx-native's
// UDXStream (udx-native lib/stream.js), which is what hyperdht's RawStreamSet (lib/raw-stream-set.js)
// hands out. Its native half is its own NativeRawStream (src/raw_stream.rs); once connected, that
// object's events (`data`, `end`, `drain`, `message`, `close`) arrive at `_onevent`.
// * `id` is chosen by the engine: random and unused on the DHT socket, so it never collides with
//   the streams of encrypted connections there.
// * `connect(socket, remoteId, port, host)` emits `connect` synchronously, as udx-native does.
//   `socket` must be the DHT's socket (`encryptedStream.rawStream.socket`, `dht.io.serverSocket`):
//   here every UDX stream lives on it.
// * Writes are queued in Rust (bounded; a full queue holds the write until `drain`); reads pause
//   the native task when the readable buffer is full, so UDX's receive window slows the peer.
// * Unlike udx-native, datagrams that arrive before `connect()` are kept (up to 16) instead of
//   being dropped until the peer retransmits. `framed` is accepted and has no effect: libudx uses
//   it for its own packet handling, data is delivered the same. A stream that ended both ways
//   closes once UDX has delivered everything (udx-native's auto-destroy sends a DESTROY then).
const { Duplex } = require('streamx')
const net = require('net')
const errors = require('./errors')
const udxStreamJSON = require('./udx-stream-json')
const { defineCounters, EMPTY_STATS } = udxStreamJSON
const { ReadFlow, READ_HWM, setWriteHighWaterMark } = require('./read-flow')

class RawStream extends Duplex {
  constructor (dht, handle, opts = {}) {
    super({ highWaterMark: READ_HWM, mapWritable: toBuffer, eagerOpen: true })
    setWriteHighWaterMark(this)
    this.udx = dht.udx
    this.socket = null
    this._stats = null
    this.id = handle.id
    this.remoteId = 0
    this.remoteHost = null
    this.remoteFamily = 0
    this.remotePort = 0
    this.userData = null
    this.framed = !!opts.framed

    this._dht = dht
    this._handle = handle // the NativeRawStream
    this._closed = false // the native stream is gone
    this._pendingWrite = null
    this._flow = new ReadFlow({
      setPaused: (paused) => this._handle.setPaused(paused),
      live: () => this._live()
    })
    this._destroyDone = null
    this._ended = false
    this._finished = false
    this.once('end', () => { this._ended = true })
    this.once('finish', () => { this._finished = true })
    this._relayTo = null
    // udx-native `firewall(socket, port, host)`: asked about the first datagram's source while
    // unconnected; it usually connects the stream there (blind-relay servers do) and returns
    // false, true rejects
    if (typeof opts.firewall === 'function') {
      const firewall = opts.firewall
      handle.watchFirstDatagram(({ host, port }) => {
        if (this.connected || this.destroying) return
        try {
          firewall(this._dht._socket, port, host)
        } catch (err) {
          this.destroy(err)
        }
      })
    }
  }

  /** udx-native `relayTo(destination)`: forward this stream's datagrams to `destination`'s peer. */
  relayTo (destination) {
    if (this._relayTo) throw new Error('Stream is already relaying')
    this._relayTo = destination
    if (!this._closed && !this._dht.destroyed) this._handle.relayTo(destination._handle)
    return this
  }

  get connected () {
    return this.socket !== null
  }

  get rtt () {
    return this._live() ? this._handle.rtt() : 0
  }

  get mtu () {
    return this._closed || this._dht.destroyed ? 0 : this._handle.mtu()
  }

  get localHost () {
    return this.socket ? this.socket.address().host : null
  }

  get localFamily () {
    return this.socket ? this.socket.address().family : 0
  }

  get localPort () {
    return this.socket ? this.socket.address().port : 0
  }

  setInteractive () {}

  setKeepalive (ms) {
    if (this._live()) this._handle.setKeepAlive(ms || 0)
  }

  /** udx-native `connect(socket, remoteId, port, [host], [opts])`. */
  connect (socket, remoteId, port, host, opts = {}) {
    if (this._closed) return
    if (this.connected) throw new Error('Already connected')
    if (socket.closing) throw new Error('Socket is closed')
    if (typeof host === 'object' && host !== null) {
      opts = host
      host = null
    }
    if (!host) host = '127.0.0.1'
    const family = net.isIP(host)
    if (!family) throw new Error(`${host} is not a valid IP address`)
    if (family !== 4) throw new Error(`${host}: IPv6 is not supported by hyperdht-rs`)
    if (!(port > 0 && port < 65536)) throw new Error(`${port} is not a valid port`)
    if (socket !== this._dht._socket) throw new Error('hyperdht-rs raw streams connect on the DHT socket only')
    if (this._dht.destroyed) throw new Error('Socket is closed')

    this.remoteId = remoteId
    this.remotePort = port
    this.remoteHost = host
    this.remoteFamily = family
    this.socket = socket
    this._handle.connect(remoteId >>> 0, host, port, (ev) => this._onevent(ev))
    this.emit('connect')
  }

  changeRemote () {
    return Promise.reject(new Error('changeRemote is not supported by hyperdht-rs raw streams'))
  }

  /** An unreliable UDX message; resolves false when it could not be sent. */
  async send (buffer) {
    if (!this.connected || this._closed) return false
    return this._handle.send(buffer)
  }

  trySend (buffer) {
    if (!this.connected || this._closed) return
    this._handle.send(buffer)
  }

  toJSON () {
    return udxStreamJSON(this)
  }

  // udx-native's stream counters; the last values once closed
  _counters () {
    if (this._live()) this._stats = this._handle.rawStats()
    return this._stats || EMPTY_STATS
  }

  _live () {
    return this.socket !== null && !this._closed && !this._dht.destroyed
  }

  _read (cb) {
    this._flow.read()
    cb(null)
  }

  _write (data, cb) {
    if (!this.connected) return cb(customError('Writing while not connected not currently supported', 'ERR_ASSERTION'))
    if (!this._live()) return cb(null) // closing: udx-native lets writes after destroy pass
    this._pendingWrite = { data, cb }
    this._flushPending()
  }

  _flushPending () {
    const { data, cb } = this._pendingWrite
    if (this._handle.write(data)) {
      this._pendingWrite = null
      cb(null)
    }
  }

  _final (cb) {
    if (this._live()) this._handle.end()
    cb(null)
  }

  _predestroy () {
    // ended both ways: let UDX deliver what is in flight and close by itself
    const clean = this._ended && this._finished
    if (!this._closed && !clean && !this._dht.destroyed) this._handle.destroy()
    if (!this.connected) this._closed = true
    if (this._pendingWrite !== null) {
      const { cb } = this._pendingWrite
      this._pendingWrite = null
      cb(null)
    }
  }

  _destroy (cb) {
    if (this.connected && !this._closed) this._destroyDone = cb
    else {
      this._dht._rawStreams.delete(this)
      cb(null)
    }
  }

  /** Test hook: the native stream's task panics (supervision tests). Not public API. */
  _injectPanic () {
    this._handle.injectPanic()
  }

  // native events

  _onevent (ev) {
    switch (ev.type) {
      case 'data': return this._ondata(ev.data)
      case 'end': return this._onend()
      case 'drain': return this._ondrain()
      case 'message': return this._onmessage(ev.data)
      case 'close': return this._onclose(ev.error)
    }
  }

  _ondata (data) {
    this._flow.push(this, data)
  }

  _onend () {
    this.push(null)
  }

  _ondrain () {
    if (this._pendingWrite !== null) this._flushPending()
  }

  _onmessage (data) {
    this.emit('message', data)
  }

  _onclose (error) {
    if (this._closed && this.socket === null) return // closed already (node destroy)
    this._closed = true
    this.socket = null
    this._dht._rawStreams.delete(this)
    const cb = this._destroyDone
    this._destroyDone = null
    // destroyed here first: a local destroy closes without an error in libudx, whatever raced it
    // (e.g. the peer's DESTROY); so does a close after both sides ended
    if (cb) return cb(null)
    const err = error && !(this._ended && this._finished) ? errors.fromNative(error) : null
    // a clean close (both ways ended) leaves the rest to streamx's auto-destroy, as udx-native
    if (err) this.destroy(err)
  }
}

function toBuffer (data) {
  return typeof data === 'string' ? Buffer.from(data) : data
}

function customError (message, code) {
  const error = new Error(message)
  error.code = code
  return error
}

defineCounters(RawStream)

module.exports = RawStream
